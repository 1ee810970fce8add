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
 * Render the install script h would get with distribution dist, with a
 * stand-in token, before marking it: a value that cannot be placed safely
 * would make bootd serve the fail-safe (local boot) script instead, so
 * refuse the change up front and say why.  h is restored.
 */
static int
trial_render(struct ctx *ctx, struct inv_host *h, const char *dist)
{
	static char token[] = "00000000000000000000000000000000";
	struct inv_boot b = { 0 };
	struct buf out = { 0 };
	struct bootd_error e;
	enum inv_action action = h->action;
	char *htoken = h->token, *hdist = h->dist;
	enum bootd_err rc;

	if (h->nmacs == 0)
		return EXIT_OK;		/* never boots: nothing to render */
	if ((rc = inv_dist_get(ctx->inv, dist, &b.dist, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	h->action = INV_ACTION_INSTALL;
	h->token = token;
	h->dist = b.dist->name;
	b.host = h;
	rc = ipxe_render_host(ctx->cfg, &b, h->macs[0], &out, &e);
	h->action = action;
	h->token = htoken;
	h->dist = hdist;
	inv_dist_free(b.dist);
	buf_free(&out);
	if (rc != BOOTD_OK)
		return fail(ctx, bootd_error_set(&ctx->err, rc, "%s: the install "
		    "script for %s cannot be made safely, so the host would "
		    "boot locally: %s", h->fqdn, dist, e.text));
	return EXIT_OK;
}

int
verb_set_reinstall(struct ctx *ctx, struct args *a)
{
	char token[INV_TOKEN_LEN + 1], t[32];
	struct inv_host **hs;
	enum bootd_err rc;
	time_t now = time(NULL);
	int i, status;

	if (a->dist != NULL && dist_exists(ctx, a->dist) != EXIT_OK)
		return EXIT_FAIL;
	if (hosts_for_change(ctx, a, &hs) != EXIT_OK)
		return EXIT_FAIL;
	for (i = 0; i < a->argc; i++) {
		if (a->dist == NULL && hs[i]->dist == NULL) {
			warnmsg("%s has no distribution; use --dist DIST or "
			    "bootctl host set-dist", hs[i]->fqdn);
			hosts_free(hs, a->argc);
			return EXIT_FAIL;
		}
		if (trial_render(ctx, hs[i], a->dist != NULL ? a->dist :
		    hs[i]->dist) != EXIT_OK) {
			hosts_free(hs, a->argc);
			return EXIT_FAIL;
		}
	}
	/* All hosts in one transaction; say what changed once it is in. */
	if ((status = group_begin(ctx)) != EXIT_OK) {
		hosts_free(hs, a->argc);
		return status;
	}
	for (i = 0; i < a->argc; i++) {
		rc = inv_set_reinstall(ctx->inv, hs[i]->fqdn, a->dist,
		    (int64_t)now, ctx->cfg->token_ttl, token, &ctx->err);
		if (rc != BOOTD_OK) {
			status = group_fail(ctx, rc, hs[i]->fqdn, a->argc);
			hosts_free(hs, a->argc);
			return status;
		}
	}
	if ((status = group_commit(ctx)) == EXIT_OK)
		for (i = 0; i < a->argc; i++)
			printf("%s: install %s at next boot, token expires "
			    "%s\n", hs[i]->fqdn, a->dist != NULL ? a->dist :
			    hs[i]->dist,
			    fmt_time((int64_t)now + ctx->cfg->token_ttl, t));
	hosts_free(hs, a->argc);
	return status;
}

int
verb_set_local(struct ctx *ctx, struct args *a)
{
	return change_hosts(ctx, a, inv_set_local);
}

int
verb_status(struct ctx *ctx, struct args *a)
{
	struct table t;
	struct host_list_arg la = { ctx, &t, NULL, true };
	struct inv_host *h;
	enum bootd_err rc = BOOTD_OK;
	int i;

	table_head(&t, "HOST", "ACTION", "DIST", "TOKEN-EXPIRES", "LAST-SEEN",
	    "LAST-SERVED", NULL);
	if (a->argc == 0)
		rc = inv_host_each(ctx->inv, host_list_cb, &la, &ctx->err);
	for (i = 0; rc == BOOTD_OK && i < a->argc; i++) {
		rc = inv_host_get(ctx->inv, a->argv[i], &h, &ctx->err);
		if (rc == BOOTD_OK) {
			host_row(ctx, &t, h, true);
			inv_host_free(h);
		}
	}
	return table_done(ctx, &t, rc);
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
	enum bootd_err rc;
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
	rc = inv_lookup(ctx->inv, mac, (int64_t)time(NULL),
	    (const char *const *)ctx->cfg->menu.manual_dists,
	    ctx->cfg->menu.nmanual_dists, &boot, &ctx->err);
	/*
	 * The install token is shown, as in `host show`, only to who may
	 * change the host; others see the script with a stand-in token.
	 */
	if (rc == BOOTD_OK && boot.host->token != NULL &&
	    env_allowed(ctx, boot.host->env, NULL) != BOOTD_OK) {
		free(boot.host->token);
		if ((boot.host->token = strdup(TOKEN_HIDDEN)) == NULL)
			rc = bootd_error_set(&ctx->err, BOOTD_ENOMEM,
			    "out of memory");
		else
			fprintf(stderr, "bootctl: install token of %s hidden: "
			    "you may not change it\n", boot.host->fqdn);
	}
	if (rc == BOOTD_OK) {
		rc = ipxe_render_host(ctx->cfg, &boot, mac, &out, &ctx->err);
		if (rc == BOOTD_OK && ctx->err.text[0] != '\0')
			fprintf(stderr, "bootctl: %s\n", ctx->err.text);
	} else if (rc == BOOTD_ENOTFOUND) {
		ctx->err.text[0] = '\0';
		rc = ipxe_render_unknown(ctx->cfg, mac, &out, &ctx->err);
	}
	inv_boot_free(&boot);
	if (rc == BOOTD_OK && buf_failed(&out))
		rc = bootd_error_set(&ctx->err, BOOTD_ENOMEM, "out of memory");
	if (rc != BOOTD_OK) {
		ret = fail(ctx, rc);
		buf_reset(&out);
		ipxe_render_failsafe(ctx->cfg, ctx->err.text, &out);
	}
	fwrite(buf_str(&out), 1, out.len, stdout);
	buf_free(&out);
	return ret;
}
