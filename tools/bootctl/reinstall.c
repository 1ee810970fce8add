/*
 * reinstall.c - what hosts boot: set-reinstall, set-local, status, render
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bootctl.h"
#include "ipxe.h"
#include "mac.h"

/*
 * The distributions set-reinstall installs, each loaded once however many
 * hosts install it (a fleet has few).
 */
struct dist_cache {
	struct inv_dist	**v;
	size_t		  n;
};

static void
dist_cache_free(struct dist_cache *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		inv_dist_free(c->v[i]);
	free(c->v);
}

/* The distribution called name, loaded on first use; NULL: reported. */
static struct inv_dist *
dist_cached(struct ctx *ctx, struct dist_cache *c, const char *name)
{
	struct inv_dist **v, *d;
	enum bootd_err rc;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i]->name, name) == 0)
			return c->v[i];
	if ((rc = inv_dist_get(ctx->inv, name, &d, &ctx->err)) != BOOTD_OK) {
		fail(ctx, rc);
		return NULL;
	}
	if ((v = reallocarray(c->v, c->n + 1, sizeof(*v))) == NULL) {
		inv_dist_free(d);
		warnmsg("out of memory");
		return NULL;
	}
	c->v = v;
	c->v[c->n++] = d;
	return d;
}

/*
 * Render the install script h would get with distribution d, with a
 * stand-in token: a value that cannot be placed safely would make bootd
 * serve the fail-safe (local boot) script instead, so a change that
 * leads there is refused, and says why (in ctx->err).  h is restored;
 * out is the caller's scratch buffer (one for all hosts: no allocation
 * each).
 */
static enum bootd_err
render_check(struct ctx *ctx, struct inv_host *h, struct inv_dist *d,
    struct buf *out)
{
	static char token[] = "00000000000000000000000000000000";
	struct inv_boot b = { 0 };
	struct bootd_error e;
	enum inv_action action = h->action;
	char *htoken = h->token, *hdist = h->dist;
	enum bootd_err rc;

	if (h->nmacs == 0)
		return BOOTD_OK;	/* never boots: nothing to render */
	h->action = INV_ACTION_INSTALL;
	h->token = token;
	h->dist = d->name;
	b.host = h;
	b.dist = d;
	buf_reset(out);
	rc = ipxe_render_host(ctx->cfg, &b, h->macs[0], out, &e);
	h->action = action;
	h->token = htoken;
	h->dist = hdist;
	if (rc != BOOTD_OK)
		return bootd_error_set(&ctx->err, rc, "the install script for "
		    "%s cannot be made safely, so the host would boot "
		    "locally: %s", d->name, e.text);
	return BOOTD_OK;
}

/* render_check() before marking h, the reason named after it. */
static int
trial_render(struct ctx *ctx, struct inv_host *h, struct inv_dist *d,
    struct buf *out)
{
	char why[sizeof(ctx->err.text)];
	enum bootd_err rc;

	if ((rc = render_check(ctx, h, d, out)) == BOOTD_OK)
		return EXIT_OK;
	snprintf(why, sizeof(why), "%s", ctx->err.text);
	return fail(ctx, bootd_error_set(&ctx->err, rc, "%s: %s", h->fqdn,
	    why));
}

enum bootd_err
install_renders(struct ctx *ctx, const struct inv_host *sel)
{
	char x[INV_EXACT_NAME_MAX];
	struct inv_host *h;
	struct inv_dist *d = NULL;
	struct buf out = { 0 };
	enum bootd_err rc;

	if ((rc = inv_host_get(ctx->inv, inv_exact_name(sel->fqdn, x), &h,
	    &ctx->err)) != BOOTD_OK)
		return rc;
	if (h->action == INV_ACTION_INSTALL && h->dist != NULL &&
	    (rc = inv_dist_get(ctx->inv, h->dist, &d, &ctx->err)) ==
	    BOOTD_OK)
		rc = render_check(ctx, h, d, &out);
	buf_free(&out);
	inv_dist_free(d);
	inv_host_free(h);
	return rc;
}

/* "install debian-12" or "local": what a host boots now. */
static void
describe_action(struct buf *b, const struct inv_host *h)
{
	if (h->action == INV_ACTION_INSTALL)
		buf_printf(b, "install %s", h->dist != NULL ? h->dist : "-");
	else
		buf_puts(b, "local");
}

static void
reinstall_describe(struct ctx *ctx, struct args *a, const struct inv_host *h,
    struct buf *b)
{
	buf_puts(b, "action ");
	describe_action(b, h);
	buf_printf(b, " -> install %s, new token",
	    a->dist != NULL ? a->dist : h->dist);
}

static enum bootd_err
reinstall_apply(struct ctx *ctx, struct args *a, const struct inv_host *h)
{
	return inv_set_reinstall_host(ctx->inv, h, a->dist, ctx->now,
	    ctx->cfg->token_ttl, NULL, &ctx->err);
}

/*
 * A selection that holds hosts already marked install re-tokens them, as
 * documented: their old token is revoked, so an install in progress
 * cannot report done and installs again at the next boot.  Say so (not
 * for hosts named one by one: the operator chose each): change_apply()
 * gives ctx->note with the dry run, with the prompt, or else as a warning
 * unless -q.
 */
static void
note_installing(struct ctx *ctx, struct args *a, struct inv_host **hs, int n)
{
	int i, k = 0;

	if (!selectors_given(a))
		return;
	for (i = 0; i < n; i++)
		if (hs[i]->action == INV_ACTION_INSTALL)
			k++;
	if (k == 0)
		return;
	snprintf(ctx->note, sizeof(ctx->note), "%d of the %d selected hosts "
	    "%s already marked install: %s token%s revoked, an install in "
	    "progress starts again (--action local leaves them alone)", k, n,
	    k == 1 ? "is" : "are", k == 1 ? "its" : "their",
	    k == 1 ? " is" : "s are");
}

int
verb_set_reinstall(struct ctx *ctx, struct args *a)
{
	static const struct change c = { reinstall_describe,
	    reinstall_apply, NULL, false };
	struct dist_cache dc = { NULL, 0 };
	struct buf script = { 0 };
	struct inv_host **hs;
	struct inv_dist *d;
	char t[32];
	int i, n, status = EXIT_FAIL;

	if (a->dist != NULL && dist_exists(ctx, a->dist) != EXIT_OK)
		return EXIT_FAIL;
	if (hosts_select(ctx, a, true, &hs, &n) != EXIT_OK)
		return EXIT_FAIL;
	for (i = 0; i < n; i++) {
		if (a->dist == NULL && hs[i]->dist == NULL) {
			warnmsg("%s has no distribution; use --dist DIST or "
			    "bootctl host set-dist", hs[i]->fqdn);
			goto out;
		}
		if ((d = dist_cached(ctx, &dc, a->dist != NULL ? a->dist :
		    hs[i]->dist)) == NULL || trial_render(ctx, hs[i], d,
		    &script) != EXIT_OK)
			goto out;
	}
	buf_free(&script);
	note_installing(ctx, a, hs, n);
	status = change_apply(ctx, a, hs, n, &c);
	/*
	 * Say what changed once it is in.  Every token expires at the same
	 * time: formatted once, not for each host.
	 */
	if (status == EXIT_OK && !a->dry_run && !ctx->quiet &&
	    !ctx->verbose) {
		fmt_time(ctx->now + ctx->cfg->token_ttl, t);
		for (i = 0; i < n; i++)
			printf("%s: install %s at next boot, token expires "
			    "%s\n", hs[i]->fqdn, a->dist != NULL ? a->dist :
			    hs[i]->dist, t);
	}
out:
	buf_free(&script);
	dist_cache_free(&dc);
	hosts_free(hs, n);
	return status;
}

static void
local_describe(struct ctx *ctx, struct args *a, const struct inv_host *h,
    struct buf *b)
{
	buf_puts(b, "action ");
	describe_action(b, h);
	buf_puts(b, " -> local");
}

static enum bootd_err
local_apply(struct ctx *ctx, struct args *a, const struct inv_host *h)
{
	return inv_set_local_host(ctx->inv, h, &ctx->err);
}

int
verb_set_local(struct ctx *ctx, struct args *a)
{
	static const struct change c = { local_describe,
	    local_apply, NULL, false };
	struct inv_host **hs;
	int n, status;

	if (hosts_select(ctx, a, true, &hs, &n) != EXIT_OK)
		return EXIT_FAIL;
	status = change_apply(ctx, a, hs, n, &c);
	hosts_free(hs, n);
	return status;
}

/* The status of h as JSON: see JSON OUTPUT in bootctl(8). */
static json_t *
status_json(struct ctx *ctx, const struct inv_host *h)
{
	json_t *o;
	char served[32];
	int64_t when = 0;
	struct events *ev;

	if ((o = json_object()) == NULL)
		return NULL;
	served[0] = '\0';
	if ((ev = events_db(ctx)) != NULL &&
	    events_seen(ev, (const char *const *)h->macs, h->nmacs, &when,
	    served, sizeof(served), &ctx->err) != BOOTD_OK) {
		warnmsg("%s", ctx->err.text);
		when = 0;
		served[0] = '\0';
	}
	if (json_object_set_new(o, "fqdn", json_str(h->fqdn)) ||
	    json_object_set_new(o, "environment", json_str(h->env)) ||
	    json_object_set_new(o, "action",
	    json_str(action_name(h->action))) ||
	    json_object_set_new(o, "distribution", json_str(h->dist)) ||
	    json_set_time(o, "token_expires", h->token != NULL ?
	    h->token_expires : 0) ||
	    json_set_time(o, "last_seen", when) ||
	    json_object_set_new(o, "last_served", json_str(served[0] != '\0' ?
	    served : NULL))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
verb_status(struct ctx *ctx, struct args *a)
{
	struct table t;
	struct inv_host **hs;
	json_t *doc = NULL, *list = NULL;
	int i, n, ret;

	if (hosts_select(ctx, a, false, &hs, &n) != EXIT_OK)
		return EXIT_FAIL;
	if (a->json) {
		doc = json_object();
		list = json_array();
		if (doc == NULL || list == NULL ||
		    json_object_set_new(doc, "hosts", list) != 0) {
			json_decref(doc);
			doc = NULL;
		}
		for (i = 0; doc != NULL && i < n; i++) {
			if (json_array_append_new(list, status_json(ctx, hs[i]))
			    != 0) {
				json_decref(doc);
				doc = NULL;
			}
		}
		hosts_free(hs, n);
		return json_emit(doc);
	}
	table_head(&t, "HOST", "ACTION", "DIST", "TOKEN-EXPIRES", "LAST-SEEN",
	    "LAST-SERVED", NULL);
	for (i = 0; i < n; i++)
		host_row(ctx, &t, hs[i], true);
	ret = table_done(ctx, &t, BOOTD_OK);
	hosts_free(hs, n);
	return ret;
}

/*
 * render --json: the script and the decision behind it, as one document
 * (see JSON OUTPUT in bootctl(8)).  boot.host is NULL for an unknown MAC
 * or a failure.
 */
static int
render_json(const struct inv_boot *boot, const char *mac, const char *decision,
    bool hidden, const char *error, const struct buf *script)
{
	const struct inv_host *h = boot->host;
	json_t *o;

	if ((o = json_object()) == NULL)
		return json_emit(NULL);
	if (json_object_set_new(o, "mac", json_str(mac)) ||
	    json_object_set_new(o, "fqdn", json_str(h ? h->fqdn : NULL)) ||
	    json_object_set_new(o, "environment", json_str(h ? h->env :
	    NULL)) ||
	    json_object_set_new(o, "action", json_str(h ?
	    action_name(h->action) : NULL)) ||
	    json_object_set_new(o, "distribution", json_str(boot->dist ?
	    boot->dist->name : NULL)) ||
	    json_object_set_new(o, "decision", json_str(decision)) ||
	    json_object_set_new(o, "token_hidden", json_boolean(hidden)) ||
	    json_object_set_new(o, "error", json_str(error)) ||
	    json_object_set_new(o, "script", json_stringn(buf_str(script),
	    script->len))) {
		json_decref(o);
		o = NULL;
	}
	return json_emit(o);
}

/*
 * Print what bootd serves: the same lookup and renderer as the daemon.
 * A MAC that belongs to no host gets the unknown script; any failure gets
 * the fail-safe script, with the reason on stderr and exit status 1.
 */
int
verb_render(struct ctx *ctx, struct args *a)
{
	struct inv_boot boot = { 0 };
	struct inv_host *h = NULL;
	struct buf out = { 0 };
	char mac[MAC_STRLEN + 1];
	struct bootd_error merr;
	const char *decision = "local";
	enum bootd_err rc;
	bool hidden = false;
	int ret = EXIT_OK;

	if (mac_canon(a->argv[0], mac, &merr) != BOOTD_OK) {
		/* Not a MAC: a host name, rendered for its first NIC. */
		if ((rc = inv_host_get(ctx->inv, a->argv[0], &h, &ctx->err)) !=
		    BOOTD_OK)
			return fail(ctx, rc);
		if (h->nmacs == 0) {
			rc = bootd_error_set(&ctx->err, BOOTD_EINVAL,
			    "host %s has no NIC to render for", h->fqdn);
			inv_host_free(h);
			return fail(ctx, rc);
		}
		snprintf(mac, sizeof(mac), "%s", h->macs[0]);
		inv_host_free(h);
	}
	rc = inv_lookup(ctx->inv, mac, ctx->now,
	    (const char *const *)ctx->cfg->menu.manual_dists,
	    ctx->cfg->menu.nmanual_dists, &boot, &ctx->err);
	/*
	 * The install token is shown, as in `host show`, only to who may
	 * change the host; others see the script with a stand-in token.
	 */
	if (rc == BOOTD_OK && boot.host->token != NULL &&
	    env_allowed(ctx, boot.host->env, NULL) != BOOTD_OK) {
		free(boot.host->token);
		hidden = true;
		if ((boot.host->token = strdup(TOKEN_HIDDEN)) == NULL)
			rc = bootd_error_set(&ctx->err, BOOTD_ENOMEM,
			    "out of memory");
		else if (!a->json)
			warnmsg("install token of %s hidden: you may not "
			    "change it", boot.host->fqdn);
	}
	if (rc == BOOTD_OK) {
		rc = ipxe_render_host(ctx->cfg, &boot, mac, &out, &ctx->err);
		if (boot.dist != NULL)
			decision = "install";
		if (rc == BOOTD_OK && ctx->err.text[0] != '\0')
			warnmsg("%s", ctx->err.text);
	} else if (rc == BOOTD_ENOTFOUND) {
		ctx->err.text[0] = '\0';
		decision = "unknown";
		rc = ipxe_render_unknown(ctx->cfg, mac, &out, &ctx->err);
	}
	if (rc == BOOTD_OK && buf_failed(&out))
		rc = bootd_error_set(&ctx->err, BOOTD_ENOMEM, "out of memory");
	if (rc != BOOTD_OK) {
		ret = fail(ctx, rc);
		decision = "failsafe";
		buf_reset(&out);
		ipxe_render_failsafe(ctx->cfg, ctx->err.text, &out);
	}
	if (a->json) {
		if (render_json(&boot, mac, decision, hidden, rc != BOOTD_OK ?
		    ctx->err.text : NULL, &out) != EXIT_OK)
			ret = EXIT_FAIL;
	} else
		fwrite(buf_str(&out), 1, out.len, stdout);
	inv_boot_free(&boot);
	buf_free(&out);
	return ret;
}

/*
 * What render prints when the inventory cannot be opened: the fail-safe
 * script bootd serves then, for the reason in ctx->err (already reported).
 */
void
render_failsafe(struct ctx *ctx, struct args *a)
{
	struct inv_boot none = { 0 };
	struct buf fs = { 0 };
	char mac[MAC_STRLEN + 1];
	struct bootd_error merr;

	ipxe_render_failsafe(ctx->cfg, ctx->err.text, &fs);
	if (a->json) {
		if (mac_canon(a->argv[0], mac, &merr) != BOOTD_OK)
			mac[0] = '\0';
		render_json(&none, mac[0] != '\0' ? mac : NULL, "failsafe",
		    false, ctx->err.text, &fs);
	} else
		fwrite(buf_str(&fs), 1, fs.len, stdout);
	buf_free(&fs);
}
