/*
 * timeline.c - history: what was changed on hosts and what they booted,
 * one timeline per host, newest last
 *
 * Two sources, merged by time: the audit log of the inventory (who
 * changed what; it follows a host across renames, see inv_audit_each())
 * and the boot events of the events database (what bootd served, to
 * which MAC, with the client's platform and build architecture from the
 * parameters iPXE sent).  Boot events are read in one pass over the time
 * range through the events database's time index and handed to hosts by
 * MAC, so `history --env lab --since 1h` reads one hour of events
 * whatever the number of hosts.  A NIC's boots count for its host only
 * from the time it joined the host (the audit row that added it: host
 * add, nic add, import, discovered adopt): a NIC moved from another
 * host, or a MAC registered again, does not bring the boots it made
 * before.  A host that is gone is still found by the name given: its
 * audit rows, and the boots recorded under that name during its
 * lifetime (from its first audit row on).
 */
#define _XOPEN_SOURCE	700	/* strptime() */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bootctl.h"
#include "mac.h"

/* One line of a timeline. */
struct entry {
	int64_t	 time;
	size_t	 seq;		/* order of reading: audit rows, then boots */
	bool	 boot;
	char	*actor;		/* change: who */
	char	*op;		/* change: what; boot: what was served */
	char	*old_value;
	char	*new_value;
	char	*mac;		/* boot */
	char	*params;	/* boot: "k=v k=v" as recorded */
	char	*addr;		/* boot: client address */
};

struct timeline {
	struct inv_host	*host;		/* NULL for a host that is gone */
	char		*name;		/* FQDN, or the name given */
	int64_t		 start;		/* time of its first audit row, or 0 */
	struct entry	*v;
	size_t		 n;
	size_t		 cap;
};

struct history {
	struct ctx	*ctx;
	struct timeline	*tl;		/* sorted by name */
	size_t		 ntl;
	int64_t		 since;
	int64_t		 until;		/* 0: now */
	size_t		 seq;
	bool		 nomem;
	/* Every MAC of the selected hosts, sorted, with its timeline. */
	struct macref {
		const char	*mac;
		size_t		 tl;
		int64_t		 joined; /* joined the host; 0: unknown */
	}		*macs;
	size_t		 nmacs;
};

/*
 * Parse TIME for --since/--until: RFC 3339 ("2026-01-02T03:04:05Z",
 * "...+02:00", fractions ignored), a date ("2026-01-02", midnight UTC),
 * or a time ago ("30s", "30m", "1h", "7d", "2w").  0 or -1.
 */
int
parse_time(const char *s, int64_t now, int64_t *out)
{
	struct tm tm;
	const char *p;
	char *end;
	long long n;
	int sign, hh, mm;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end != s && *s != '-' && *s != '+' && errno == 0 && n >= 0 &&
	    end[0] != '\0' && end[1] == '\0' && strchr("smhdw", end[0])) {
		static const struct { char c; int64_t secs; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 },
			{ 'd', 86400 }, { 'w', 604800 }
		};
		size_t i;

		for (i = 0; units[i].c != end[0]; i++)
			;
		if (n > INT64_MAX / units[i].secs)
			return -1;
		*out = now - (int64_t)n * units[i].secs;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*p == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	if ((*p != 'T' && *p != 't' && *p != ' ') ||
	    (p = strptime(p + 1, "%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	*out = (int64_t)timegm(&tm);
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 0;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) ==
	    2 && strlen(p) == 6 && hh < 24 && mm < 60) {
		sign = *p == '+' ? 1 : -1;
		*out -= sign * (int64_t)(hh * 3600 + mm * 60);
		return 0;
	}
	return -1;
}

static struct entry *
entry_new(struct history *hi, struct timeline *t)
{
	struct entry *n;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		if ((n = realloc(t->v, cap * sizeof(*n))) == NULL) {
			hi->nomem = true;
			return NULL;
		}
		t->v = n;
		t->cap = cap;
	}
	n = &t->v[t->n++];
	memset(n, 0, sizeof(*n));
	n->seq = hi->seq++;
	return n;
}

static char *
dup_check(struct history *hi, const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		hi->nomem = true;
	return d;
}

struct audit_arg {
	struct history	*hi;
	struct timeline	*t;
};

static int	cmp_macref(const void *, const void *);

/*
 * Whether the list of MACs at s (up to a space or the end, separated by
 * commas) holds mac.
 */
static bool
list_has_mac(const char *s, const char *mac)
{
	size_t n, len = strlen(mac);

	while (*s != '\0' && *s != ' ') {
		n = strcspn(s, ", ");
		if (n == len && strncasecmp(s, mac, len) == 0)
			return true;
		s += n;
		if (*s == ',')
			s++;
	}
	return false;
}

/*
 * Whether audit row au gave its host NIC mac: "nic-add" (new: the MAC),
 * "host-add" (new: "... macs=M1,M2", from add, import and adopt) or
 * "discovered-adopt" (new: "mac=M ...").
 */
static bool
row_adds_mac(const struct inv_audit *au, const char *mac)
{
	const char *v = au->new_value, *p;

	if (v == NULL)
		return false;
	if (strcmp(au->op, "nic-add") == 0)
		return strcasecmp(v, mac) == 0;
	if (strcmp(au->op, "discovered-adopt") == 0)
		return strncmp(v, "mac=", 4) == 0 && list_has_mac(v + 4, mac);
	if (strcmp(au->op, "host-add") == 0)
		for (p = v; (p = strstr(p, "macs=")) != NULL; p += 5)
			if ((p == v || p[-1] == ' ') &&
			    list_has_mac(p + 5, mac))
				return true;
	return false;
}

/*
 * Note when the NICs of the timeline's host joined it: the time of the
 * last row (rows come oldest first) that added each.
 */
static void
note_joins(struct history *hi, struct timeline *t,
    const struct inv_audit *au)
{
	struct macref key = { NULL, 0, 0 }, *m;
	size_t k;

	if (t->start == 0)
		t->start = au->time;
	for (k = 0; t->host != NULL && k < t->host->nmacs; k++) {
		if (!row_adds_mac(au, t->host->macs[k]))
			continue;
		key.mac = t->host->macs[k];
		if ((m = bsearch(&key, hi->macs, hi->nmacs, sizeof(*hi->macs),
		    cmp_macref)) != NULL)
			m->joined = au->time;
	}
}

static int
audit_entry(const struct inv_audit *au, void *arg)
{
	struct audit_arg *aa = arg;
	struct entry *e;

	note_joins(aa->hi, aa->t, au);
	if (au->time < aa->hi->since ||
	    (aa->hi->until > 0 && au->time > aa->hi->until))
		return 0;
	if ((e = entry_new(aa->hi, aa->t)) == NULL)
		return 1;
	e->time = au->time;
	e->actor = dup_check(aa->hi, au->actor);
	e->op = dup_check(aa->hi, au->op);
	e->old_value = dup_check(aa->hi, au->old_value);
	e->new_value = dup_check(aa->hi, au->new_value);
	return 0;
}

static int
cmp_macref(const void *a, const void *b)
{
	return strcmp(((const struct macref *)a)->mac,
	    ((const struct macref *)b)->mac);
}

static int
cmp_timeline(const void *a, const void *b)
{
	return strcmp(((const struct timeline *)a)->name,
	    ((const struct timeline *)b)->name);
}

/* The timeline a boot event belongs to, or NULL. */
static struct timeline *
boot_owner(struct history *hi, const struct events_event *ev)
{
	struct macref key = { ev->mac, 0, 0 }, *m;
	struct timeline k = { 0 };

	/* The host that has the MAC now, once the MAC joined it. */
	if (hi->nmacs > 0 && (m = bsearch(&key, hi->macs, hi->nmacs,
	    sizeof(*hi->macs), cmp_macref)) != NULL && ev->time >= m->joined)
		return &hi->tl[m->tl];
	/* A host that is gone: the boots recorded under its name while it
	 * had it. */
	if (ev->fqdn == NULL)
		return NULL;
	k.name = (char *)ev->fqdn;
	{
		struct timeline *t = bsearch(&k, hi->tl, hi->ntl,
		    sizeof(*hi->tl), cmp_timeline);

		return t != NULL && t->host == NULL && ev->time >= t->start ?
		    t : NULL;
	}
}

static int
boot_entry(const struct events_event *ev, void *arg)
{
	struct history *hi = arg;
	struct timeline *t;
	struct entry *e;

	if ((t = boot_owner(hi, ev)) == NULL)
		return 0;
	if ((e = entry_new(hi, t)) == NULL)
		return 1;
	e->boot = true;
	e->time = ev->time;
	e->op = dup_check(hi, ev->served);
	e->mac = dup_check(hi, ev->mac);
	e->params = dup_check(hi, ev->params);
	e->addr = dup_check(hi, ev->addr);
	return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The value of key in recorded parameters "k=v k=v" into out, or "".
 * Values were written percent-encoded outside [A-Za-z0-9_.-:/]
 * (query_format_params()), so they hold no space.
 */
static const char *
param(const char *params, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key), n;
	const char *p = params;

	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			n = strcspn(p, " ");
			snprintf(out, size, "%.*s", (int)n, p);
			return out;
		}
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	}
	return out;
}

static void
entry_free(struct entry *e)
{
	free(e->actor);
	free(e->op);
	free(e->old_value);
	free(e->new_value);
	free(e->mac);
	free(e->params);
	free(e->addr);
}

static void
history_free(struct history *hi)
{
	size_t i, j;

	for (i = 0; i < hi->ntl; i++) {
		for (j = 0; j < hi->tl[i].n; j++)
			entry_free(&hi->tl[i].v[j]);
		free(hi->tl[i].v);
		free(hi->tl[i].name);
		inv_host_free(hi->tl[i].host);
	}
	free(hi->tl);
	free(hi->macs);
}

struct select_arg {
	struct history	*hi;
	size_t		 cap;
};

static int
add_timeline(struct history *hi, size_t *cap, struct inv_host *h,
    const char *name)
{
	struct timeline *n;

	if (hi->ntl == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((n = realloc(hi->tl, *cap * sizeof(*n))) == NULL) {
			inv_host_free(h);
			return -1;
		}
		hi->tl = n;
	}
	memset(&hi->tl[hi->ntl], 0, sizeof(hi->tl[0]));
	hi->tl[hi->ntl].host = h;
	if ((hi->tl[hi->ntl].name = strdup(h != NULL ? h->fqdn : name)) ==
	    NULL) {
		inv_host_free(h);
		return -1;
	}
	hi->ntl++;
	return 0;
}

static int
count_cb(const struct inv_audit *au, void *arg)
{
	(void)au;
	return ++*(int *)arg > 0;	/* one is enough */
}

/* Whether the audit log has rows about name (a host that is gone). */
static bool
in_audit(struct ctx *ctx, const char *name)
{
	int n = 0;

	return inv_audit_each(ctx->inv, name, count_cb, &n, NULL) ==
	    BOOTD_OK && n > 0;
}

/*
 * The hosts whose history is shown: those named, else those the
 * selectors choose (hosts_select(); none: all).  A name that is no host
 * (any more) is kept as the FQDN it spells (inv_name_fqdn()), for the
 * audit rows and boots of a host that is gone.
 * Returns the exit status.
 */
static int
select_hosts(struct ctx *ctx, struct args *a, struct history *hi)
{
	struct select_arg sa = { hi, 0 };
	char x[INV_EXACT_NAME_MAX];
	struct inv_host *h;
	struct bootd_error e;
	enum bootd_err rc;
	int i;

	for (i = 0; i < a->argc; i++) {
		h = NULL;
		rc = inv_host_get(ctx->inv, a->argv[i], &h, &e);
		if (rc == BOOTD_ENOTFOUND && in_audit(ctx, a->argv[i]))
			rc = BOOTD_OK;		/* a host that is gone */
		else if (rc == BOOTD_ENOTFOUND)
			bootd_error_set(&e, rc, "history: no host \"%s\", now "
			    "or in the audit log", a->argv[i]);
		if (rc != BOOTD_OK) {
			warnmsg("%s", e.text);
			return EXIT_FAIL;
		}
		/* A host that is gone: under the FQDN the name spells. */
		if (add_timeline(hi, &sa.cap, h, inv_name_fqdn(a->argv[i],
		    x)) == -1)
			hi->nomem = true;
	}
	if (a->argc == 0) {
		/* Selectors (select.c); none selects every host. */
		struct inv_host **hs = NULL;
		int n = 0;

		if ((i = hosts_select(ctx, a, false, &hs, &n)) != EXIT_OK)
			return i;
		for (i = 0; i < n; i++) {
			if (add_timeline(hi, &sa.cap, hs[i], NULL) == -1)
				hi->nomem = true;
			hs[i] = NULL;	/* the timeline owns it, or freed it */
		}
		hosts_free(hs, n);
	}
	if (hi->nomem) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
print_text(struct history *hi, long limit)
{
	struct table t;
	struct buf b = { 0 };
	char tm[32], v[64];
	size_t i, j, from;
	int ret = EXIT_OK;

	for (i = 0; i < hi->ntl && ret == EXIT_OK; i++) {
		struct timeline *tl = &hi->tl[i];

		buf_reset(&b);
		if (tl->host != NULL)
			buf_printf(&b, "%s (environment %s, %s%s%s)", tl->name,
			    tl->host->env, action_name(tl->host->action),
			    tl->host->dist != NULL ? " " : "",
			    tl->host->dist != NULL ? tl->host->dist : "");
		else
			buf_printf(&b, "%s (no such host now)", tl->name);
		{
			struct buf s = { 0 };

			safe_append(&s, buf_str(&b));
			printf("%s%s\n", i > 0 ? "\n" : "", buf_str(&s));
			buf_free(&s);
		}
		table_head(&t, "TIME", "WHAT", "WHO/WHERE", "DETAIL", NULL);
		from = limit > 0 && tl->n > (size_t)limit ?
		    tl->n - (size_t)limit : 0;
		for (j = from; j < tl->n; j++) {
			struct entry *e = &tl->v[j];

			table_add(&t, fmt_time(e->time, tm));
			buf_reset(&b);
			if (e->boot) {
				table_add(&t, "boot");
				table_add(&t, e->addr);
				buf_printf(&b, "served %s to %s", e->op,
				    e->mac);
				if (param(e->params, "platform", v,
				    sizeof(v))[0] != '\0')
					buf_printf(&b, ", platform %s", v);
				if (param(e->params, "buildarch", v,
				    sizeof(v))[0] != '\0')
					buf_printf(&b, ", buildarch %s", v);
			} else {
				table_add(&t, e->op);
				table_add(&t, e->actor);
				append_audit_value(&b, e->op,
				    e->old_value);
				buf_puts(&b, " -> ");
				append_audit_value(&b, e->op,
				    e->new_value);
			}
			if (buf_failed(&b))
				t.failed = true;
			table_add(&t, buf_str(&b));
		}
		ret = table_print(&t);
		table_free(&t);
	}
	buf_free(&b);
	return ret;
}

static json_t *
jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static int
print_json(struct history *hi, long limit)
{
	json_t *doc, *hosts, *h, *entries, *e;
	char v[64];
	size_t i, j, from;
	int bad;

	doc = json_object();
	hosts = json_array();
	bad = doc == NULL || hosts == NULL ||
	    json_object_set_new(doc, "hosts", hosts);
	for (i = 0; !bad && i < hi->ntl; i++) {
		struct timeline *tl = &hi->tl[i];

		h = json_object();
		entries = json_array();
		bad = h == NULL || entries == NULL ||
		    json_array_append_new(hosts, h) ||
		    json_object_set_new(h, "fqdn", json_string(tl->name)) ||
		    json_object_set_new(h, "exists",
		    json_boolean(tl->host != NULL)) ||
		    json_object_set_new(h, "environment",
		    jstr(tl->host != NULL ? tl->host->env : NULL)) ||
		    json_object_set_new(h, "entries", entries);
		from = limit > 0 && tl->n > (size_t)limit ?
		    tl->n - (size_t)limit : 0;
		for (j = from; !bad && j < tl->n; j++) {
			struct entry *en = &tl->v[j];

			e = json_object();
			bad = e == NULL || json_array_append_new(entries, e) ||
			    json_set_time(e, "time", en->time) ||
			    json_object_set_new(e, "kind",
			    json_string(en->boot ? "boot" : "change"));
			if (bad)
				break;
			if (en->boot)
				bad = json_object_set_new(e, "served",
				    jstr(en->op)) ||
				    json_object_set_new(e, "mac",
				    jstr(en->mac)) ||
				    json_object_set_new(e, "platform",
				    param(en->params, "platform", v,
				    sizeof(v))[0] ? json_string(v) :
				    json_null()) ||
				    json_object_set_new(e, "buildarch",
				    param(en->params, "buildarch", v,
				    sizeof(v))[0] ? json_string(v) :
				    json_null()) ||
				    json_object_set_new(e, "address",
				    jstr(en->addr)) ||
				    json_object_set_new(e, "params",
				    jstr(en->params));
			else
				bad = json_object_set_new(e, "op",
				    jstr(en->op)) ||
				    json_object_set_new(e, "actor",
				    jstr(en->actor)) ||
				    json_object_set_new(e, "old",
				    jstr(en->old_value)) ||
				    json_object_set_new(e, "new",
				    jstr(en->new_value));
		}
	}
	if (bad) {
		json_decref(doc);
		doc = NULL;
	}
	return json_emit(doc);
}

int
verb_history(struct ctx *ctx, struct args *a)
{
	struct history hi;
	struct audit_arg aa;
	struct events *ev;
	enum bootd_err rc;
	int64_t now = (int64_t)time(NULL);
	long limit = 0;
	size_t i, j, k, n;
	char *end, x[INV_EXACT_NAME_MAX];
	int ret;

	memset(&hi, 0, sizeof(hi));
	hi.ctx = ctx;
	if (a->since != NULL && parse_time(a->since, now, &hi.since) == -1) {
		warnmsg("history: --since: \"%s\" is not a time (RFC 3339 as "
		    "2026-01-02T03:04:05Z, a date, or 30m, 1h, 7d ago)",
		    a->since);
		return EXIT_USAGE;
	}
	if (a->until != NULL && parse_time(a->until, now, &hi.until) == -1) {
		warnmsg("history: --until: \"%s\" is not a time (RFC 3339 as "
		    "2026-01-02T03:04:05Z, a date, or 30m, 1h, 7d ago)",
		    a->until);
		return EXIT_USAGE;
	}
	if (a->limit != NULL) {
		errno = 0;
		limit = strtol(a->limit, &end, 10);
		if (errno != 0 || *end != '\0' || end == a->limit ||
		    limit < 1) {
			warnmsg("history: --limit: expected a positive number");
			return EXIT_USAGE;
		}
	}
	if ((ret = select_hosts(ctx, a, &hi)) != EXIT_OK)
		goto out;
	if (hi.ntl > 1)
		qsort(hi.tl, hi.ntl, sizeof(*hi.tl), cmp_timeline);
	/* A host named twice is shown once. */
	for (i = j = 0; i < hi.ntl; i++) {
		if (j > 0 && strcmp(hi.tl[j - 1].name, hi.tl[i].name) == 0) {
			free(hi.tl[i].name);
			inv_host_free(hi.tl[i].host);
			continue;
		}
		hi.tl[j++] = hi.tl[i];
	}
	hi.ntl = j;
	for (i = n = 0; i < hi.ntl; i++)
		n += hi.tl[i].host != NULL ? hi.tl[i].host->nmacs : 0;
	if ((hi.macs = calloc(n + 1, sizeof(*hi.macs))) == NULL) {
		warnmsg("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < hi.ntl; i++)
		for (k = 0; hi.tl[i].host != NULL && k < hi.tl[i].host->nmacs;
		    k++)
			hi.macs[hi.nmacs++] = (struct macref){
			    hi.tl[i].host->macs[k], i, 0 };
	qsort(hi.macs, hi.nmacs, sizeof(*hi.macs), cmp_macref);

	for (i = 0; i < hi.ntl; i++) {
		aa.hi = &hi;
		aa.t = &hi.tl[i];
		/* By its whole FQDN: "db1" is also db1.example.org's short
		 * name, and a gone db1's rows are not that host's. */
		if ((rc = inv_audit_each(ctx->inv, inv_exact_name(
		    hi.tl[i].name, x), audit_entry, &aa, &ctx->err)) !=
		    BOOTD_OK) {
			ret = fail(ctx, rc);
			goto out;
		}
	}
	if (hi.ntl > 0 && (ev = events_db(ctx)) != NULL &&
	    (rc = events_boots_each(ev, hi.since, hi.until, boot_entry, &hi,
	    &ctx->err)) != BOOTD_OK) {
		ret = fail(ctx, rc);
		goto out;
	}
	if (hi.nomem) {
		warnmsg("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < hi.ntl; i++)
		if (hi.tl[i].n > 1)
			qsort(hi.tl[i].v, hi.tl[i].n, sizeof(struct entry),
			    cmp_entry);
	ret = a->json ? print_json(&hi, limit) : print_text(&hi, limit);
out:
	history_free(&hi);
	return ret;
}
