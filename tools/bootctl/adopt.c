/*
 * adopt.c - discovered adopt, discovered forget
 *
 * The discovered list is in the events database, which bootd's recorder
 * alone writes; bootctl opens it read-only and never writes it.  What an
 * operator does about a discovered MAC is therefore kept in the
 * inventory:
 *   - adopt makes the MAC a host.  The listing already leaves out MACs
 *     that belong to a host (discovered_cb() in history.c); adopt also
 *     notes the MAC as dealt with (discovered_forgotten, sql/004), so
 *     that removing the host later does not bring back the old entry;
 *   - forget notes the MAC as dealt with at this time: the listing
 *     leaves it out until it asks again.
 *
 * Who may adopt: the members of the environment the host goes into (the
 * group of --env, "default" without it: admins only), and admins, which
 * is who may `host add` there.  A discovered MAC belongs to no
 * environment, so there is no one else to ask; allowing less than
 * host add would not protect anything (host add with the same MAC does
 * the same), and allowing more would let anyone put machines into an
 * environment they cannot manage.  The claim is audited on the new host
 * ("discovered-adopt", with what the boot network reported: first and
 * last seen, requests, address, parameters), and an adopted host boots
 * locally: adopting alone never installs anything.  Forgetting hides a
 * MAC from every operator, and a MAC is in no environment: admins only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bootctl.h"
#include "mac.h"

/* "first-seen=... last-seen=... requests=N addr=A params=P" of d. */
static int
evidence_cb(const struct events_discovered *d, void *arg)
{
	struct buf *b = arg;
	char first[32], last[32];

	buf_printf(b, "first-seen=%s last-seen=%s requests=%lld",
	    fmt_time(d->first_seen, first), fmt_time(d->last_seen, last),
	    (long long)d->count);
	if (d->addr != NULL && d->addr[0] != '\0')
		buf_printf(b, " addr=%s", d->addr);
	if (d->params != NULL && d->params[0] != '\0')
		buf_printf(b, " params=%s", d->params);
	return 0;
}

/*
 * What the boot network reported about mac (canonical), into b.  Returns
 * BOOTD_ENOTFOUND, with a message in ctx->err, when it is not in the
 * discovered list (or nothing was recorded yet).
 */
static enum bootd_err
evidence(struct ctx *ctx, const char *mac, struct buf *b)
{
	struct events *ev;

	if ((ev = events_db(ctx)) == NULL)
		return bootd_error_set(&ctx->err, BOOTD_ENOTFOUND, "MAC %s is "
		    "not in the discovered list (nothing was recorded)", mac);
	return events_discovered_get(ev, mac, evidence_cb, b, &ctx->err);
}

int
verb_discovered_adopt(struct ctx *ctx, struct args *a)
{
	const char *env = a->env != NULL ? a->env : INV_DEFAULT_ENV;
	const char *mac = a->argv[0], *fqdn = a->argv[1];
	char canon[MAC_STRLEN + 1], *eq, *key, low[INV_FQDN_MAX + 1];
	char x[INV_EXACT_NAME_MAX];
	struct buf ev = { 0 };
	enum bootd_err rc;
	size_t i;
	int ret;

	if (mac_canon(mac, canon, &ctx->err) != BOOTD_OK)
		return fail(ctx, BOOTD_EINVAL);
	for (i = 0; i < a->nattrs; i++)
		if (strchr(a->attrs[i], '=') == NULL) {
			warnmsg("discovered adopt: --attr %s: expected "
			    "KEY=VALUE", a->attrs[i]);
			return EXIT_USAGE;
		}
	if ((ret = env_for_change(ctx, env)) != EXIT_OK)
		return ret;
	if (a->dist != NULL && (ret = dist_exists(ctx, a->dist)) != EXIT_OK)
		return ret;
	if ((rc = evidence(ctx, canon, &ev)) != BOOTD_OK) {
		buf_free(&ev);
		if (rc == BOOTD_ENOTFOUND)
			warnmsg("discovered adopt: %s; to register a MAC that "
			    "never asked, use host add", ctx->err.text);
		else
			fail(ctx, rc);
		return EXIT_FAIL;
	}
	if (buf_failed(&ev)) {
		buf_free(&ev);
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	/* Host, attributes and the claim: one transaction. */
	if ((ret = group_begin(ctx)) != EXIT_OK) {
		buf_free(&ev);
		return ret;
	}
	rc = inv_host_add_dist(ctx->inv, fqdn, (const char *const *)&mac, 1,
	    env, a->dist, &ctx->err);
	snprintf(low, sizeof(low), "%s", fqdn);
	for (i = 0; low[i] != '\0'; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	/* The new host by its exact name: a dotless one is also a short
	 * name, which another host's may make ambiguous. */
	for (i = 0; rc == BOOTD_OK && i < a->nattrs; i++) {
		key = a->attrs[i];
		eq = strchr(key, '=');
		*eq = '\0';
		rc = inv_attr_set(ctx->inv, inv_exact_name(low, x), key,
		    eq + 1, &ctx->err);
		*eq = '=';
	}
	if (rc == BOOTD_OK)
		rc = inv_discovered_forget(ctx->inv, canon, low, buf_str(&ev),
		    (int64_t)time(NULL), &ctx->err);
	buf_free(&ev);
	if (rc != BOOTD_OK)
		return group_fail(ctx, rc, low, 1);
	return group_commit(ctx);
}

/* --older-than: the MACs to forget, gathered before the transaction. */
struct forget_arg {
	struct ctx	*ctx;
	int64_t		 before;
	char		(*macs)[MAC_STRLEN + 1];
	size_t		 n;
	size_t		 cap;
	bool		 nomem;
};

static int
forget_cb(const struct events_discovered *d, void *arg)
{
	struct forget_arg *fa = arg;
	char (*n)[MAC_STRLEN + 1], *fqdn = NULL;
	int64_t at = 0;

	if (d->last_seen >= fa->before)
		return 0;
	/* Already out of the list: a host's MAC, or forgotten since. */
	if (inv_host_resolve(fa->ctx->inv, d->mac, &fqdn, NULL) == BOOTD_OK) {
		free(fqdn);
		return 0;
	}
	if (inv_discovered_forgotten(fa->ctx->inv, d->mac, &at, NULL) ==
	    BOOTD_OK && at >= d->last_seen)
		return 0;
	if (fa->n == fa->cap) {
		fa->cap = fa->cap ? fa->cap * 2 : 64;
		if ((n = realloc(fa->macs, fa->cap * sizeof(*n))) == NULL) {
			fa->nomem = true;
			return 1;
		}
		fa->macs = n;
	}
	snprintf(fa->macs[fa->n++], MAC_STRLEN + 1, "%s", d->mac);
	return 0;
}

int
verb_discovered_forget(struct ctx *ctx, struct args *a)
{
	struct forget_arg fa;
	struct events *ev;
	struct buf b = { 0 };
	enum bootd_err rc;
	int64_t now = (int64_t)time(NULL);
	long long days;
	size_t i;
	char *end, **ev_text;
	int ret;

	memset(&fa, 0, sizeof(fa));
	fa.ctx = ctx;
	if ((a->argc > 0) == (a->older_than != NULL)) {
		warnmsg("discovered forget: name MACs or give --older-than, "
		    "one of the two");
		return EXIT_USAGE;
	}
	if (a->older_than != NULL) {
		errno = 0;
		days = strtoll(a->older_than, &end, 10);
		if (errno != 0 || *end != '\0' || end == a->older_than ||
		    days < 0 || days > 100000) {
			warnmsg("discovered forget: --older-than: expected a "
			    "number of days");
			return EXIT_USAGE;
		}
		fa.before = now - (int64_t)days * 86400;
		if ((ev = events_db(ctx)) == NULL)
			return EXIT_OK;		/* nothing recorded */
		if ((rc = events_discovered_each(ev, 0, forget_cb, &fa,
		    &ctx->err)) != BOOTD_OK) {
			free(fa.macs);
			return fail(ctx, rc);
		}
	} else {
		if ((fa.macs = calloc((size_t)a->argc,
		    sizeof(*fa.macs))) == NULL)
			fa.nomem = true;
		for (i = 0; !fa.nomem && i < (size_t)a->argc; i++, fa.n++)
			if (mac_canon(a->argv[i], fa.macs[i], &ctx->err) !=
			    BOOTD_OK) {
				free(fa.macs);
				return fail(ctx, BOOTD_EINVAL);
			}
	}
	if (fa.nomem) {
		free(fa.macs);
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	/* Read what each one was, then forget them all at once. */
	if ((ev_text = calloc(fa.n + 1, sizeof(char *))) == NULL) {
		free(fa.macs);
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	ret = EXIT_OK;
	for (i = 0; i < fa.n && ret == EXIT_OK; i++) {
		buf_reset(&b);
		if ((rc = evidence(ctx, fa.macs[i], &b)) != BOOTD_OK)
			ret = fail(ctx, rc);
		else if (buf_failed(&b) ||
		    (ev_text[i] = strdup(buf_str(&b))) == NULL) {
			warnmsg("out of memory");
			ret = EXIT_FAIL;
		}
	}
	buf_free(&b);
	if (ret == EXIT_OK && fa.n > 0 && (ret = group_begin(ctx)) == EXIT_OK) {
		for (i = 0; i < fa.n; i++)
			if ((rc = inv_discovered_forget(ctx->inv, fa.macs[i],
			    NULL, ev_text[i], now, &ctx->err)) != BOOTD_OK)
				break;
		ret = i < fa.n ? group_fail(ctx, rc, fa.macs[i], (int)fa.n) :
		    group_commit(ctx);
	}
	for (i = 0; i < fa.n; i++)
		free(ev_text[i]);
	free(ev_text);
	free(fa.macs);
	return ret;
}
