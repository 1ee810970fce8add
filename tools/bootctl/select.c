/*
 * select.c - the hosts a verb names or selects, and changes of several
 * hosts in one transaction
 *
 * A verb that takes hosts (VF_SELECT in the verb table) takes them named
 * (HOST ...) or by selectors, never both:
 *
 *   --env E          in environment E
 *   --dist D         with distribution D ("-": none); --with-dist D on
 *                    every such verb, the only spelling on set-reinstall,
 *                    whose --dist names what to install
 *   --attr K=V       with attribute K set to V (repeatable: all of them)
 *   --action A       whose boot action is A (install or local)
 *   --name GLOB      whose FQDN matches GLOB (fnmatch(3), any case)
 *   --all            every host
 *   --from FILE      the hosts FILE names, one a line, '#' starts a
 *                    comment ("-": standard input)
 *
 * Selectors combine with AND.  The verb's own values (ENV of host
 * set-env, KEY VALUE of attr set) come last, after the hosts if any:
 * "host set-env --env lab stage" moves every host of lab to stage.
 *
 * A change runs in this order, so that the write lock is taken only once
 * nothing can stop half-way: read --from (before the inventory is even
 * opened, with the caller's own privileges), select the hosts from one
 * read of the inventory (inv_host_list(): a constant number of scans
 * whatever the size of the fleet), check the caller may change every one
 * of them, let the verb validate and trial-render, print them for
 * --dry-run or ask for confirmation, and only then open the one write
 * transaction (inv_begin()) and apply the change to every host in it;
 * libboot's authorizer checks each host again in there.  A bootctl
 * stopped at the prompt, or while it reads --from -, holds no lock.
 *
 * What was confirmed is a snapshot, and changes apply by FQDN: so inside
 * the transaction the selection is read again (selection_unchanged()),
 * and if any selected host changed, went away or another now matches,
 * nothing is changed ("the inventory changed while this change waited").
 * Changes to hosts outside the selection do not matter.
 */
#include <sys/types.h>

#include <errno.h>
#include <ctype.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bootctl.h"
#include "valid.h"

#define CONFIRM_SHOW	5	/* hosts named in the confirmation prompt */

/* Free n hosts from hosts_select().  Accepts NULL. */
void
hosts_free(struct inv_host **hs, int n)
{
	int i;

	if (hs == NULL)
		return;
	for (i = 0; i < n; i++)
		inv_host_free(hs[i]);
	free(hs);
}

/* qsort() order of struct inv_host pointers: by FQDN. */
static int
host_cmp(const void *a, const void *b)
{
	const struct inv_host *const *x = a, *const *y = b;

	return strcmp((*x)->fqdn, (*y)->fqdn);
}

/*
 * Open the one transaction a change of several hosts runs in: all of them
 * or none.  Returns the exit status.
 */
int
group_begin(struct ctx *ctx)
{
	enum bootd_err rc;

	if ((rc = inv_begin(ctx->inv, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	return EXIT_OK;
}

/*
 * Report the failure of the change of host fqdn on one line and roll back
 * the whole transaction: no host was changed.  Returns EXIT_FAIL.
 */
int
group_fail(struct ctx *ctx, enum bootd_err rc, const char *fqdn, int nhosts)
{
	inv_rollback(ctx->inv);
	warnmsg("%s: %s%s", fqdn, ctx->err.text[0] != '\0' ? ctx->err.text :
	    bootd_strerror(rc), nhosts > 1 ? " (no host was changed)" : "");
	return EXIT_FAIL;
}

/* Commit the transaction of group_begin().  Returns the exit status. */
int
group_commit(struct ctx *ctx)
{
	enum bootd_err rc;

	if ((rc = inv_commit(ctx->inv, &ctx->err)) != BOOTD_OK) {
		inv_rollback(ctx->inv);
		return fail(ctx, rc);
	}
	return EXIT_OK;
}

/* Whether any selector was given. */
bool
selectors_given(const struct args *a)
{
	return a->env != NULL || a->with_dist != NULL || a->nattrs > 0 ||
	    a->action != NULL || a->name != NULL || a->all ||
	    a->from != NULL ||
	    (a->dist != NULL && !(a->vflags & VF_DISTVAL));
}

/* The --dist selector: --with-dist, or --dist where it selects. */
static const char *
selector_dist(const struct args *a)
{
	if (a->with_dist != NULL)
		return a->with_dist;
	return (a->vflags & VF_DISTVAL) ? NULL : a->dist;
}

/*
 * Split the arguments of a VF_SELECT verb into the hosts it names and
 * the VF_NVALUES(v->flags) values after them, and check the selectors' syntax.
 * Returns EXIT_OK or EXIT_USAGE (reason printed).
 */
int
split_hosts(struct ctx *ctx, struct args *a)
{
	const struct verb *v = ctx->v;
	size_t i;

	a->nhosts = a->argc - VF_NVALUES(v->flags);
	a->values = a->argv + a->nhosts;
	if (a->with_dist != NULL && a->dist != NULL &&
	    !(v->flags & VF_DISTVAL)) {
		warnmsg("%s: --dist and --with-dist are the same selector",
		    v->name);
		return EXIT_USAGE;
	}
	if (selectors_given(a) && a->nhosts > 0) {
		warnmsg("%s: name hosts or select them, not both (%s is "
		    "named)", v->name, a->argv[0]);
		return EXIT_USAGE;
	}
	if (!selectors_given(a) && a->nhosts == 0 && (v->flags & VF_WRITE)) {
		warnmsg("%s: missing arguments: name hosts or select them "
		    "(usage: bootctl %s %s)", v->name, v->name, v->usage);
		return EXIT_USAGE;
	}
	if (a->action != NULL && strcmp(a->action, "install") != 0 &&
	    strcmp(a->action, "local") != 0) {
		warnmsg("%s: --action: expected install or local, not '%s'",
		    v->name, a->action);
		return EXIT_USAGE;
	}
	for (i = 0; i < a->nattrs; i++) {
		if (a->attrs[i][0] == '=' || strchr(a->attrs[i], '=') ==
		    NULL) {
			warnmsg("%s: --attr: expected KEY=VALUE, not '%s'",
			    v->name, a->attrs[i]);
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

/*
 * Read the hosts --from names, one a line ('#' starts a comment, blank
 * lines and white space around a name are ignored), into a->from_names
 * (free with from_free()).  Run before the inventory is opened: a file
 * is opened with the caller's own ids, not bootctl's setgid group, so
 * --from reads nothing the caller could not.  Returns the exit status.
 */
int
from_read(struct args *a)
{
	char *line = NULL, *p, *end, **names;
	int *lines, lineno = 0, ret = EXIT_OK;
	size_t cap = 0, len;
	FILE *f;

	if ((f = open_as_caller(a->from, "--from")) == NULL)
		return EXIT_FAIL;
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		len = strlen(p);
		for (end = p + len; end > p && (end[-1] == ' ' ||
		    end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r');
		    end--)
			;
		*end = '\0';
		if (*p == '\0')
			continue;
		names = reallocarray(a->from_names, (size_t)a->nfrom + 1,
		    sizeof(*names));
		if (names != NULL)
			a->from_names = names;
		lines = reallocarray(a->from_lines, (size_t)a->nfrom + 1,
		    sizeof(*lines));
		if (lines != NULL)
			a->from_lines = lines;
		if (names == NULL || lines == NULL ||
		    (names[a->nfrom] = strdup(p)) == NULL) {
			warnmsg("out of memory");
			ret = EXIT_FAIL;
			break;
		}
		lines[a->nfrom++] = lineno;
	}
	if (ret == EXIT_OK && ferror(f)) {
		warnmsg("--from %s: %s", a->from, strerror(errno));
		ret = EXIT_FAIL;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	else
		clearerr(stdin);	/* a terminal may still answer */
	return ret;
}

void
from_free(struct args *a)
{
	int i;

	for (i = 0; i < a->nfrom; i++)
		free(a->from_names[i]);
	free(a->from_names);
	free(a->from_lines);
	a->from_names = NULL;
	a->from_lines = NULL;
	a->nfrom = 0;
}

/* Whether h has every attribute --attr asks for. */
static bool
attrs_match(const struct args *a, const struct inv_host *h)
{
	const char *eq;
	size_t i, j, klen;

	for (i = 0; i < a->nattrs; i++) {
		eq = strchr(a->attrs[i], '=');
		klen = (size_t)(eq - a->attrs[i]);
		for (j = 0; j < h->nattrs; j++)
			if (strncmp(h->attrs[j].key, a->attrs[i], klen) == 0 &&
			    h->attrs[j].key[klen] == '\0' &&
			    strcmp(h->attrs[j].value, eq + 1) == 0)
				break;
		if (j == h->nattrs)
			return false;
	}
	return true;
}

/*
 * Whether h matches every selector of a (dist: the --dist selector; glob:
 * --name lowercased, as FQDNs are stored).
 */
static bool
host_matches(const struct args *a, const char *dist, const char *glob,
    const struct inv_host *h)
{
	if (a->env != NULL && strcmp(h->env, a->env) != 0)
		return false;
	if (dist != NULL && (strcmp(dist, "-") == 0 ? h->dist != NULL :
	    h->dist == NULL || strcmp(h->dist, dist) != 0))
		return false;
	if (a->action != NULL && strcmp(action_name(h->action), a->action) !=
	    0)
		return false;
	if (glob != NULL && fnmatch(glob, h->fqdn, 0) != 0)
		return false;
	return attrs_match(a, h);
}

/* The environments, each with whether the caller may change its hosts. */
struct env_rule {
	char	*name;
	char	*group;
	bool	 allowed;
};

struct env_rules {
	struct ctx	*ctx;
	struct env_rule	*v;
	size_t		 n;
	bool		 failed;
};

static int
env_rule_cb(const struct inv_env *e, void *arg)
{
	struct env_rules *r = arg;
	struct env_rule *v;

	if ((v = reallocarray(r->v, r->n + 1, sizeof(*v))) == NULL) {
		r->failed = true;
		return 1;
	}
	r->v = v;
	v += r->n;
	v->name = strdup(e->name);
	v->group = strdup(e->group);
	v->allowed = r->ctx->admin || in_group(r->ctx, e->group);
	if (v->name == NULL || v->group == NULL) {
		free(v->name);
		free(v->group);
		r->failed = true;
		return 1;
	}
	r->n++;
	return 0;
}

static void
env_rules_free(struct env_rules *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].group);
	}
	free(r->v);
}

/*
 * Check the caller may change every host of hs, with one read of the
 * environments (a fleet has few), before anything is changed.  The first
 * host it may not change is named with its environment and that
 * environment's group.  Returns the exit status.
 */
static int
hosts_allowed(struct ctx *ctx, struct inv_host **hs, int n)
{
	struct env_rules r = { ctx, NULL, 0, false };
	enum bootd_err rc;
	size_t j;
	int i, ret = EXIT_OK;

	if (ctx->admin)
		return EXIT_OK;
	rc = inv_env_each(ctx->inv, env_rule_cb, &r, &ctx->err);
	if (rc == BOOTD_OK && r.failed)
		rc = bootd_error_set(&ctx->err, BOOTD_ENOMEM, "out of memory");
	if (rc != BOOTD_OK) {
		env_rules_free(&r);
		return fail(ctx, rc);
	}
	for (i = 0; i < n && ret == EXIT_OK; i++) {
		for (j = 0; j < r.n; j++)
			if (strcmp(r.v[j].name, hs[i]->env) == 0)
				break;
		if (j < r.n && r.v[j].allowed)
			continue;
		warnmsg("permission denied: %s is in environment %s (group "
		    "%s)%s", hs[i]->fqdn, hs[i]->env,
		    group_label(j < r.n ? r.v[j].group : NULL),
		    n > 1 ? "; no host was changed" : "");
		ret = EXIT_FAIL;
	}
	env_rules_free(&r);
	return ret;
}

/*
 * Load the hosts named one by one (HOST ... or --from): each resolved as
 * any host argument is (FQDN, short name, MAC), in the order given; a
 * host named twice is refused.  Returns the exit status; on success *out
 * holds *n hosts.
 */
static int
hosts_named(struct ctx *ctx, struct args *a, struct inv_host ***out, int *n)
{
	char **names = a->from != NULL ? a->from_names : a->argv;
	int count = a->from != NULL ? a->nfrom : a->nhosts;
	struct inv_host **hs, **byname;
	enum bootd_err rc;
	int i;

	*out = NULL;
	*n = 0;
	if ((hs = calloc((size_t)count + 1, sizeof(*hs))) == NULL ||
	    (byname = calloc((size_t)count + 1, sizeof(*byname))) == NULL) {
		free(hs);
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < count; i++) {
		if ((rc = inv_host_get(ctx->inv, names[i], &hs[i],
		    &ctx->err)) != BOOTD_OK) {
			if (a->from != NULL)
				warnmsg("%s:%d: %s", strcmp(a->from, "-") == 0 ?
				    "(standard input)" : a->from,
				    a->from_lines[i], ctx->err.text);
			else
				fail(ctx, rc);
			free(byname);
			hosts_free(hs, count);
			return EXIT_FAIL;
		}
	}
	/* A host named twice (by two spellings, say): sorted, they meet. */
	memcpy(byname, hs, (size_t)count * sizeof(*byname));
	if (count > 1)
		qsort(byname, (size_t)count, sizeof(*byname), host_cmp);
	for (i = 1; i < count; i++) {
		if (strcmp(byname[i - 1]->fqdn, byname[i]->fqdn) == 0) {
			warnmsg("%s named twice", byname[i]->fqdn);
			free(byname);
			hosts_free(hs, count);
			return EXIT_FAIL;
		}
	}
	free(byname);
	*out = hs;
	*n = count;
	return EXIT_OK;
}

/* hosts_select() inside its read transaction. */
static int
select_hosts(struct ctx *ctx, struct args *a, bool for_change,
    struct inv_host ***out, int *n)
{
	const char *dist = selector_dist(a);
	struct inv_host **hs = NULL;
	char *glob = NULL, *p;
	struct inv_env *e = NULL;
	enum bootd_err rc;
	size_t all = 0;
	int i, kept, count = 0;

	*out = NULL;
	*n = 0;
	if (a->env != NULL) {
		if ((rc = inv_env_get(ctx->inv, a->env, &e, &ctx->err)) !=
		    BOOTD_OK)
			return fail(ctx, rc);
		inv_env_free(e);
	}
	if (dist != NULL && strcmp(dist, "-") != 0 &&
	    dist_exists(ctx, dist) != EXIT_OK)
		return EXIT_FAIL;
	if (a->nhosts > 0 || a->from != NULL) {
		if (hosts_named(ctx, a, &hs, &count) != EXIT_OK)
			return EXIT_FAIL;
	} else {
		if ((rc = inv_host_list(ctx->inv, &hs, &all, &ctx->err)) !=
		    BOOTD_OK)
			return fail(ctx, rc);
		if (all > INT_MAX) {
			inv_host_list_free(hs, all);
			warnmsg("too many hosts");
			return EXIT_FAIL;
		}
		count = (int)all;
	}
	if (a->name != NULL) {
		if ((glob = strdup(a->name)) == NULL) {
			hosts_free(hs, count);
			warnmsg("out of memory");
			return EXIT_FAIL;
		}
		for (p = glob; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	for (i = kept = 0; i < count; i++) {
		if (host_matches(a, dist, glob, hs[i]))
			hs[kept++] = hs[i];
		else
			inv_host_free(hs[i]);
	}
	count = kept;
	free(glob);
	if (for_change && count == 0) {
		warnmsg("%s: no host matches the selection; nothing was "
		    "changed", ctx->verb);
		hosts_free(hs, count);
		return EXIT_FAIL;
	}
	if (for_change && hosts_allowed(ctx, hs, count) != EXIT_OK) {
		hosts_free(hs, count);
		return EXIT_FAIL;
	}
	*out = hs;
	*n = count;
	return EXIT_OK;
}

/*
 * The hosts a verb names or selects (see the top of this file), in the
 * order named, else sorted by FQDN.  No hosts and no selectors select
 * every host (a verb that changes hosts was refused that earlier, by
 * split_hosts()).  With for_change, the caller must be allowed to change
 * every host selected, and a selection of none is an error ("no host
 * matches"); without, an empty selection is an empty result.
 * Reads only, in one read transaction (inv_read_begin()), not left
 * open.  Returns the exit status; on success *out holds *n hosts, which
 * the caller frees with hosts_free(*out, *n).  Reasons are printed.
 */
int
hosts_select(struct ctx *ctx, struct args *a, bool for_change,
    struct inv_host ***out, int *n)
{
	enum bootd_err rc;
	int status;

	*out = NULL;
	*n = 0;
	inv_mark(ctx->inv, &ctx->selected);
	/* One read transaction for all of it: 10,000 hosts named, say. */
	if ((rc = inv_read_begin(ctx->inv, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	status = select_hosts(ctx, a, for_change, out, n);
	inv_read_end(ctx->inv);
	return status;
}

/* Whether two strings, either of which may be NULL, are the same. */
static bool
same_str(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	return strcmp(x, y) == 0;
}

/* Whether x and y are the same host with the same everything. */
static bool
same_host(const struct inv_host *x, const struct inv_host *y)
{
	size_t i;

	if (strcmp(x->fqdn, y->fqdn) != 0 || strcmp(x->env, y->env) != 0 ||
	    x->action != y->action || !same_str(x->dist, y->dist) ||
	    !same_str(x->token, y->token) ||
	    x->token_expires != y->token_expires ||
	    x->nmacs != y->nmacs || x->nattrs != y->nattrs)
		return false;
	for (i = 0; i < x->nmacs; i++)
		if (strcmp(x->macs[i], y->macs[i]) != 0)
			return false;
	for (i = 0; i < x->nattrs; i++)
		if (strcmp(x->attrs[i].key, y->attrs[i].key) != 0 ||
		    strcmp(x->attrs[i].value, y->attrs[i].value) != 0)
			return false;
	return true;
}

/*
 * Inside the write transaction: whether the selection is still what it
 * was when hs was read (before --dry-run, the prompt and the verb's own
 * checks): the same hosts, each as it was, and for selectors no other
 * host that matches now.  When the inventory can tell that nothing was
 * committed since hosts_select() began (inv_unchanged(): SQLite), that
 * is the answer; else the hosts are read again through the same
 * functions hosts_select() used.  Returns EXIT_OK when nothing changed,
 * else the exit status, with the reason printed.
 */
static int
selection_unchanged(struct ctx *ctx, struct args *a, struct inv_host **hs,
    int n)
{
	char x[INV_EXACT_NAME_MAX];
	const char *dist = selector_dist(a);
	struct inv_host **now = NULL, *h;
	size_t all = 0, j;
	enum bootd_err rc;
	char *glob = NULL, *p;
	bool same = true;
	int i;

	/* Nothing committed since the selection was read: no need to look. */
	if (inv_unchanged(ctx->inv, &ctx->selected))
		return EXIT_OK;
	if (a->nhosts > 0 || a->from != NULL) {
		for (i = 0; i < n && same; i++) {
			rc = inv_host_get(ctx->inv, inv_exact_name(hs[i]->fqdn, x),
			    &h, &ctx->err);
			if (rc != BOOTD_OK && rc != BOOTD_ENOTFOUND)
				return fail(ctx, rc);
			same = rc == BOOTD_OK && same_host(hs[i], h);
			inv_host_free(rc == BOOTD_OK ? h : NULL);
		}
	} else {
		if ((rc = inv_host_list(ctx->inv, &now, &all, &ctx->err)) !=
		    BOOTD_OK)
			return fail(ctx, rc);
		if (a->name != NULL && (glob = strdup(a->name)) == NULL) {
			inv_host_list_free(now, all);
			warnmsg("out of memory");
			return EXIT_FAIL;
		}
		for (p = glob; p != NULL && *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		for (i = 0, j = 0; j < all && same; j++) {
			if (!host_matches(a, dist, glob, now[j]))
				continue;
			same = i < n && same_host(hs[i], now[j]);
			i++;
		}
		same = same && i == n;
		free(glob);
		inv_host_list_free(now, all);
	}
	if (same)
		return EXIT_OK;
	warnmsg("%s: the inventory changed while this change waited; nothing "
	    "was changed; run it again", ctx->verb);
	return EXIT_FAIL;
}

/*
 * Ask on the terminal whether to change the n hosts of hs, naming the
 * first few.  Without a terminal on standard input nothing is asked and
 * the change is refused: a script says --yes.  Returns EXIT_OK to go
 * ahead, else the exit status (reason printed).
 */
static int
confirm(struct ctx *ctx, struct inv_host **hs, int n)
{
	char answer[16];
	int i;

	if (!isatty(STDIN_FILENO)) {
		warnmsg("%s: %d hosts selected and no terminal to confirm "
		    "on: add --yes (or see them with --dry-run)", ctx->verb,
		    n);
		return EXIT_USAGE;
	}
	fprintf(stderr, "%s: %d hosts: ", ctx->verb, n);
	for (i = 0; i < n && i < CONFIRM_SHOW; i++)
		fprintf(stderr, "%s%s", i > 0 ? ", " : "", hs[i]->fqdn);
	if (n > CONFIRM_SHOW)
		fprintf(stderr, " and %d more", n - CONFIRM_SHOW);
	fprintf(stderr, "\n");
	if (ctx->note[0] != '\0')
		fprintf(stderr, "%s\n", ctx->note);
	fprintf(stderr, "Change them? [y/N] ");
	fflush(stderr);
	clearerr(stdin);
	if (fgets(answer, sizeof(answer), stdin) == NULL ||
	    (strcasecmp(answer, "y\n") != 0 &&
	    strcasecmp(answer, "yes\n") != 0)) {
		if (feof(stdin))
			fputc('\n', stderr);
		warnmsg("%s: nothing was changed", ctx->verb);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Print "HOST: what c does to it" for every host of hs. */
static void
describe_all(struct ctx *ctx, struct args *a, struct inv_host **hs, int n,
    const struct change *c)
{
	struct buf b = { 0 }, line = { 0 };
	int i;

	for (i = 0; i < n; i++) {
		buf_reset(&line);
		buf_printf(&line, "%s: ", hs[i]->fqdn);
		c->describe(ctx, a, hs[i], &line);
		buf_reset(&b);
		safe_append(&b, buf_str(&line));
		printf("%s\n", buf_failed(&b) ? "?" : buf_str(&b));
	}
	buf_free(&b);
	buf_free(&line);
}

/*
 * Apply change c to the n hosts of hs (from hosts_select(), checked by
 * the verb): with --dry-run print what would change and stop; with more
 * than one host selected (not named one by one on the command line, which
 * is confirmation enough) and no --yes, ask first (confirm()); then apply
 * c to every
 * host in one transaction, all or none, and with --verbose say what
 * changed.  The write lock is taken here, after every question.  Returns
 * the exit status.
 */
int
change_apply(struct ctx *ctx, struct args *a, struct inv_host **hs, int n,
    const struct change *c)
{
	enum bootd_err rc;
	int i, status, nskip = 0;

	for (i = 0; c->skip != NULL && i < n; i++)
		if (c->skip(ctx, a, hs[i]))
			nskip++;
	if (a->dry_run) {
		describe_all(ctx, a, hs, n, c);
		if (ctx->note[0] != '\0')
			printf("%s\n", ctx->note);
		printf("dry run: %d host%s would change", n - nskip,
		    n - nskip == 1 ? "" : "s");
		if (nskip > 0)
			printf(", %d skipped", nskip);
		printf("; nothing was changed\n");
		return EXIT_OK;
	}
	/* Nothing to apply: no question, and no write lock. */
	if (nskip == n) {
		if (ctx->verbose)
			describe_all(ctx, a, hs, n, c);
		if (!ctx->quiet)
			printf("%s: nothing to change\n", ctx->verb);
		return EXIT_OK;
	}
	if (n > 1 && !a->yes && selectors_given(a)) {
		if ((status = confirm(ctx, hs, n)) != EXIT_OK)
			return status;
	} else if (ctx->note[0] != '\0' && !ctx->quiet)
		warnmsg("%s: %s", ctx->verb, ctx->note);
	if ((status = group_begin(ctx)) != EXIT_OK)
		return status;
	if ((status = selection_unchanged(ctx, a, hs, n)) != EXIT_OK) {
		inv_rollback(ctx->inv);
		return status;
	}
	for (i = 0; i < n; i++) {
		if (c->skip != NULL && c->skip(ctx, a, hs[i]))
			continue;
		if ((rc = c->apply(ctx, a, hs[i])) != BOOTD_OK ||
		    (c->rerender && (rc = install_renders(ctx, hs[i])) !=
		    BOOTD_OK))
			return group_fail(ctx, rc, hs[i]->fqdn, n);
	}
	if ((status = group_commit(ctx)) != EXIT_OK)
		return status;
	if (ctx->verbose)
		describe_all(ctx, a, hs, n, c);
	return EXIT_OK;
}
