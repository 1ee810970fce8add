/*
 * xfer.c - export and import: the inventory as one JSON document
 *
 * The document, its parsing and validation live in libboot (lib/xfer.c),
 * where fuzz/fuzz_import.c reaches them.  Here: reading the file, the
 * caller's permissions, and applying the changes.
 *
 * An import does everything that can fail before it takes the write
 * lock: read the whole document (main() does, as the caller, before it
 * opens the inventory: a bootctl stopped while reading stdin holds
 * nothing), parse and validate it, read the inventory, check the
 * document against it, plan the changes and check the caller may make
 * every one.  A plan with no change ends there ("nothing to change"):
 * nobody takes the write lock to do nothing, least of all a caller who
 * may change nothing.  Only then inv_begin(), and the inventory is read
 * again in the transaction: if it is no longer what the plan was made
 * from, nothing is changed.  Each change goes through the same
 * inv_ function the single verb uses (with its validation, its
 * authorizer call and its audit row), and inv_commit() makes them durable
 * together.  A change that fails there rolls all of them back.  What a
 * distribution's update needs of the hosts that install it is checked by
 * inv_commit(), on the inventory as the import leaves it
 * (inv_defer_dist_checks()): the plan updates distributions before it
 * sets the attributes their new templates use.  So is the install script
 * of every host marked install the import changes, before the commit
 * (installs_render()), as attr set and host set-dist check theirs.
 *
 * A host marked install is exported as "action": "install" without its
 * token; importing it into an inventory where it is not marked install
 * marks it with a fresh token, as set-reinstall would.  An operator who
 * moves an inventory in the middle of a reinstall campaign expects the
 * hosts that were still to be installed to install at their next boot;
 * the old token could not be carried anyway (it is a secret of the old
 * inventory, and an installer running with it reports to the old
 * server).  A host already marked install keeps its token.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootctl.h"
#include "xfer.h"

int
verb_export(struct ctx *ctx, struct args *a)
{
	struct xfer_doc *doc = NULL;
	struct buf b = { 0 };
	enum bootd_err rc;
	int ret = EXIT_OK;

	if ((rc = xfer_from_inv(ctx->inv, a->env, &doc, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	if ((rc = xfer_dump(doc, &b, &ctx->err)) != BOOTD_OK)
		ret = fail(ctx, rc);
	else if (fwrite(buf_str(&b), 1, b.len, stdout) != b.len) {
		warnmsg("writing output: %s", strerror(errno));
		ret = EXIT_FAIL;
	}
	buf_free(&b);
	xfer_doc_free(doc);
	return ret;
}

/*
 * Read all of path ("-": stdin) into *out (*len bytes, NUL-terminated;
 * the caller frees).  At most XFER_MAX_BYTES.  The file is opened as the
 * caller (open_as_caller()).  Returns the exit status.
 */
int
read_input(const char *path, char **out, size_t *len)
{
	FILE *f;
	char *data = NULL, *n;
	size_t cap = 0, got = 0, r;

	*out = NULL;
	if ((f = open_as_caller(path, "import")) == NULL)
		return EXIT_FAIL;
	for (;;) {
		if (got + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 1 << 20;
			if (cap > (size_t)XFER_MAX_BYTES + 65536 + 1 ||
			    (n = realloc(data, cap)) == NULL) {
				warnmsg("import: %s: larger than %ld bytes, or "
				    "out of memory", path, XFER_MAX_BYTES);
				goto fail;
			}
			data = n;
		}
		r = fread(data + got, 1, 65536, f);
		got += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		warnmsg("import: reading %s: %s", path, strerror(errno));
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	data[got] = '\0';
	*out = data;
	*len = got;
	return EXIT_OK;
fail:
	if (f != stdin)
		fclose(f);
	free(data);
	return EXIT_FAIL;
}

/*
 * Print every problem, "bootctl: import: PATH: TEXT", one a line, then
 * their number; a single problem is one line.
 */
static int
report(struct xfer_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		warnmsg("import: %s%s%s%s", p->v[i].path,
		    p->v[i].path[0] != '\0' ? ": " : "", p->v[i].text,
		    p->n == 1 && !p->nomem ? "; nothing was changed" : "");
	if (p->n == 1 && !p->nomem)
		return EXIT_FAIL;
	if (p->nomem)
		warnmsg("import: out of memory (more problems may be missing)");
	warnmsg("import: %zu problem%s; nothing was changed", p->n,
	    p->n == 1 ? "" : "s");
	return EXIT_FAIL;
}

/* May the caller change hosts in environment env? Cached per name. */
struct env_perm {
	const char	*env;
	char		*group;
	enum bootd_err	 rc;
};

static enum bootd_err
env_perm(struct ctx *ctx, struct env_perm *cache, size_t *n, size_t cap,
    const char *env, const char **group)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(cache[i].env, env) == 0)
			break;
	if (i == *n) {
		if (*n == cap) {
			/* More environments than the cache: ask again. */
			i = cap - 1;
			free(cache[i].group);
		} else
			(*n)++;
		cache[i].env = env;
		cache[i].rc = env_allowed(ctx, env, &cache[i].group);
		/* An environment the import itself adds: admins only. */
		if (cache[i].rc == BOOTD_ENOTFOUND)
			cache[i].rc = ctx->admin ? BOOTD_OK : BOOTD_EPERM;
	}
	*group = cache[i].group;
	return cache[i].rc;
}

/* Whether op changes an environment or a distribution, not a host. */
static bool
admin_change(enum xfer_op op)
{
	switch (op) {
	case XFER_ENV_ADD:
	case XFER_ENV_SET_GROUP:
	case XFER_DIST_ADD:
	case XFER_DIST_UPDATE:
	case XFER_DIST_REMOVE:
	case XFER_ENV_REMOVE:
		return true;
	default:
		return false;
	}
}

/*
 * Check the caller may make every change of plan; each refusal is a
 * problem naming the document's path, the host and the group it needs.
 */
static void
check_permissions(struct ctx *ctx, const struct xfer_doc *doc,
    const struct xfer_plan *plan, struct xfer_problems *probs)
{
	struct env_perm cache[64];
	const struct xfer_change *c;
	const char *group, *envs[2];
	char path[64];
	size_t i, j, n = 0;

	memset(cache, 0, sizeof(cache));
	for (i = 0; i < plan->n; i++) {
		c = &plan->v[i];
		xfer_path(doc, c->op, c->idx, path, sizeof(path));
		if (admin_change(c->op)) {
			if (!ctx->admin)
				xfer_problem(probs, path, "permission denied: "
				    "%s %s needs root or group %s",
				    xfer_op_name(c->op), c->name,
				    group_label(ctx->cfg->admin_group));
			continue;
		}
		envs[0] = c->env;
		envs[1] = c->new_env;
		for (j = 0; j < 2; j++) {
			if (envs[j] == NULL || (j == 1 && c->env != NULL &&
			    strcmp(c->env, c->new_env) == 0))
				continue;
			if (env_perm(ctx, cache, &n, 64, envs[j], &group) ==
			    BOOTD_OK)
				continue;
			xfer_problem(probs, path, "permission denied: %s %s "
			    "%s environment %s (group %s)", xfer_op_name(c->op),
			    c->name, j == 0 && c->op != XFER_HOST_ADD ? "in" :
			    "into", envs[j], group_label(group));
			/* One refusal per host is enough to read. */
			while (i + 1 < plan->n &&
			    strcmp(plan->v[i + 1].name, c->name) == 0)
				i++;
			break;
		}
	}
	for (i = 0; i < n; i++)
		free(cache[i].group);
}

/* Apply one change; BOOTD_OK or the error, with its reason in ctx->err. */
static enum bootd_err
apply(struct ctx *ctx, const struct xfer_doc *doc, const struct xfer_change *c,
    int64_t now)
{
	struct inv *inv = ctx->inv;
	struct bootd_error *e = &ctx->err;
	const struct inv_host *h = c->op == XFER_HOST_REMOVE ? NULL :
	    &doc->hosts[c->idx];
	char x[INV_EXACT_NAME_MAX];
	const char *host = inv_exact_name(c->name, x);	/* host changes */

	switch (c->op) {
	case XFER_ENV_ADD:
		return inv_env_add(inv, c->name, c->value, e);
	case XFER_ENV_SET_GROUP:
		return inv_env_set_group(inv, c->name, c->value, e);
	case XFER_DIST_ADD:
		return inv_dist_add(inv, &doc->dists[c->idx], e);
	case XFER_DIST_UPDATE:
		return inv_dist_update(inv, &doc->dists[c->idx], e);
	case XFER_NIC_ADD:
		return inv_nic_add(inv, host, c->key, e);
	case XFER_HOST_REMOVE:
		return inv_host_remove(inv, host, e);
	case XFER_NIC_REMOVE:
		return inv_nic_remove(inv, c->key, e);
	case XFER_HOST_ADD:
		{
			/* Added local; XFER_SET_REINSTALL follows for
			 * install. */
			struct inv_host local = *h;

			local.action = INV_ACTION_LOCAL;
			return inv_host_import(inv, &local, e);
		}
	case XFER_HOST_SET_ENV:
		return inv_host_set_env(inv, host, c->new_env, e);
	case XFER_ATTR_SET:
		return inv_attr_set(inv, host, c->key, c->value, e);
	case XFER_SET_LOCAL:
		return inv_set_local(inv, host, e);
	case XFER_HOST_SET_DIST:
		return inv_host_set_dist(inv, host, c->value, e);
	case XFER_SET_REINSTALL:
		return inv_set_reinstall(inv, host, NULL, now,
		    ctx->cfg->token_ttl, NULL, e);
	case XFER_ATTR_UNSET:
		return inv_attr_unset(inv, host, c->key, e);
	case XFER_DIST_REMOVE:
		return inv_dist_remove(inv, c->name, e);
	case XFER_ENV_REMOVE:
		return inv_env_remove(inv, c->name, e);
	default:
		return bootd_error_set(e, BOOTD_EINVAL, "unknown change");
	}
}

/* --dry-run: one line per change, in the order they would be made. */
static void
print_plan(const struct xfer_doc *doc, const struct xfer_plan *plan)
{
	const struct xfer_change *c;
	struct buf b = { 0 };
	char path[64];
	size_t i;

	for (i = 0; i < plan->n; i++) {
		c = &plan->v[i];
		buf_reset(&b);
		buf_printf(&b, "%s %s", xfer_op_name(c->op), c->name);
		if (c->op == XFER_ATTR_SET)
			buf_printf(&b, " %s=%s", c->key, c->value);
		else if (c->key != NULL)
			buf_printf(&b, " %s", c->key);
		else if (c->op == XFER_HOST_SET_ENV)
			buf_printf(&b, " %s", c->new_env);
		else if (c->op == XFER_HOST_SET_DIST ||
		    c->op == XFER_ENV_SET_GROUP)
			buf_printf(&b, " %s", c->value != NULL ? c->value :
			    "-");
		xfer_path(doc, c->op, c->idx, path, sizeof(path));
		buf_printf(&b, "  (%s)", path);
		{
			struct buf safe = { 0 };

			safe_append(&safe, buf_str(&b));
			printf("%s\n", buf_str(&safe));
			buf_free(&safe);
		}
	}
	printf("%zu change%s; nothing was changed (--dry-run)\n", plan->n,
	    plan->n == 1 ? "" : "s");
	buf_free(&b);
}

/*
 * Whether the inventory, read again inside the write transaction, is
 * still cur, the one the plan was made from: the plan depends on nothing
 * else, and the export of an inventory is the same bytes exactly when
 * what it holds is.  Returns EXIT_OK when unchanged, else the exit status
 * (reason printed).
 */
static int
unchanged_since(struct ctx *ctx, const struct xfer_doc *cur)
{
	struct xfer_doc *now = NULL;
	struct buf was = { 0 }, is = { 0 };
	enum bootd_err rc;
	int ret = EXIT_OK;

	if ((rc = xfer_from_inv(ctx->inv, NULL, &now, &ctx->err)) !=
	    BOOTD_OK || (rc = xfer_dump(cur, &was, &ctx->err)) != BOOTD_OK ||
	    (rc = xfer_dump(now, &is, &ctx->err)) != BOOTD_OK)
		ret = fail(ctx, rc);
	else if (was.len != is.len || memcmp(buf_str(&was), buf_str(&is),
	    was.len) != 0) {
		warnmsg("import: the inventory changed while this change "
		    "waited; nothing was changed; run it again");
		ret = EXIT_FAIL;
	}
	buf_free(&was);
	buf_free(&is);
	xfer_doc_free(now);
	return ret;
}

/*
 * install_renders() of h, on the inventory as the import leaves it; the
 * reason printed with path, the change that touches h.  EXIT_OK or
 * EXIT_FAIL.
 */
static int
import_renders(struct ctx *ctx, const struct inv_host *h, const char *path)
{
	enum bootd_err rc;

	if ((rc = install_renders(ctx, h)) == BOOTD_OK)
		return EXIT_OK;
	warnmsg("import: %s: %s: %s; nothing was changed", path, h->fqdn,
	    ctx->err.text[0] != '\0' ? ctx->err.text : bootd_strerror(rc));
	return EXIT_FAIL;
}

/*
 * Every host marked install whose install script the applied plan may
 * change can have it made safely, as attr set and host set-dist check: a
 * host of the document marked install that the plan changes, and a host
 * marked install with a distribution the plan updates, in the document or
 * not.  Else bootd would boot it locally instead of installing it.  Run
 * inside the import's transaction.  Returns the exit status (the first
 * reason printed).
 */
static int
installs_render(struct ctx *ctx, const struct xfer_doc *cur,
    const struct xfer_doc *doc, const struct xfer_plan *plan)
{
	const struct xfer_change *c;
	const struct inv_host *h;
	char path[64];
	bool *done, *gone;
	size_t i, j;
	int ret = EXIT_OK;

	done = calloc(doc->nhosts + 1, sizeof(*done));
	gone = calloc(cur->nhosts + 1, sizeof(*gone));
	if (done == NULL || gone == NULL) {
		warnmsg("import: out of memory; nothing was changed");
		ret = EXIT_FAIL;
	}
	for (i = 0; ret == EXIT_OK && i < plan->n; i++) {
		c = &plan->v[i];
		if (c->op == XFER_HOST_REMOVE)
			gone[c->idx] = true;
		/* The other changes are of the document's hosts. */
		if (admin_change(c->op) || c->op == XFER_HOST_REMOVE ||
		    done[c->idx])
			continue;
		done[c->idx] = true;
		if (doc->hosts[c->idx].action == INV_ACTION_INSTALL)
			ret = import_renders(ctx, &doc->hosts[c->idx],
			    xfer_path(doc, c->op, c->idx, path, sizeof(path)));
	}
	for (i = 0; ret == EXIT_OK && i < plan->n; i++) {
		c = &plan->v[i];
		if (c->op != XFER_DIST_UPDATE)
			continue;
		xfer_path(doc, c->op, c->idx, path, sizeof(path));
		for (j = 0; ret == EXIT_OK && j < cur->nhosts; j++) {
			h = &cur->hosts[j];
			if (!gone[j] && h->action == INV_ACTION_INSTALL &&
			    h->dist != NULL && strcmp(h->dist, c->name) == 0)
				ret = import_renders(ctx, h, path);
		}
	}
	free(done);
	free(gone);
	return ret;
}

int
verb_import(struct ctx *ctx, struct args *a)
{
	struct xfer_problems probs = { 0 };
	struct xfer_doc *doc = NULL, *cur = NULL;
	struct xfer_plan plan = { 0 };
	struct xfer_opts opts;
	enum bootd_err rc, parsed;
	char path[64];
	size_t i;
	int ret;

	if (a->env != NULL && !a->replace) {
		warnmsg("import: --env only narrows --replace");
		return EXIT_USAGE;
	}
	parsed = xfer_parse(a->input, a->input_len, &doc, &probs);
	free(a->input);
	a->input = NULL;
	if (parsed == BOOTD_ENOMEM) {
		warnmsg("import: out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	if (doc == NULL) {
		ret = report(&probs);
		goto out;
	}
	/* Checked against the inventory even with problems: all at once. */
	memset(&opts, 0, sizeof(opts));
	opts.replace = a->replace;
	opts.admin = ctx->admin;
	opts.env = a->env;
	if (a->env != NULL && (ret = env_for_change(ctx, a->env)) != EXIT_OK)
		goto out;
	if ((rc = xfer_from_inv(ctx->inv, NULL, &cur, &ctx->err)) !=
	    BOOTD_OK) {
		ret = fail(ctx, rc);
		goto out;
	}
	if (xfer_check(cur, doc, &opts, &probs) > 0 || probs.nomem ||
	    parsed != BOOTD_OK) {
		ret = report(&probs);
		goto out;
	}
	if ((rc = xfer_plan(cur, doc, &opts, &plan, &ctx->err)) != BOOTD_OK) {
		ret = fail(ctx, rc);
		goto out;
	}
	check_permissions(ctx, doc, &plan, &probs);
	if (probs.n > 0 || probs.nomem) {
		ret = report(&probs);
		goto out;
	}
	if (a->dry_run) {
		print_plan(doc, &plan);
		ret = EXIT_OK;
		goto out;
	}
	/* Nothing to apply: no write lock, whoever asks (and may change
	 * nothing). */
	if (plan.n == 0) {
		if (!ctx->quiet)
			printf("nothing to change\n");
		ret = EXIT_OK;
		goto out;
	}
	/* Everything that can be checked was: now the write lock.  What a
	 * distribution's hosts need is checked as the import leaves them. */
	if ((ret = group_begin(ctx)) != EXIT_OK)
		goto out;
	if ((rc = inv_defer_dist_checks(ctx->inv, &ctx->err)) != BOOTD_OK) {
		inv_rollback(ctx->inv);
		ret = fail(ctx, rc);
		goto out;
	}
	if ((ret = unchanged_since(ctx, cur)) != EXIT_OK) {
		inv_rollback(ctx->inv);
		goto out;
	}
	for (i = 0; i < plan.n; i++) {
		if ((rc = apply(ctx, doc, &plan.v[i], (int64_t)time(NULL))) !=
		    BOOTD_OK) {
			inv_rollback(ctx->inv);
			warnmsg("import: %s: %s %s: %s (nothing was changed)",
			    xfer_path(doc, plan.v[i].op, plan.v[i].idx, path,
			    sizeof(path)), xfer_op_name(plan.v[i].op),
			    plan.v[i].name, ctx->err.text[0] != '\0' ?
			    ctx->err.text : bootd_strerror(rc));
			ret = EXIT_FAIL;
			goto out;
		}
	}
	if ((ret = installs_render(ctx, cur, doc, &plan)) != EXIT_OK) {
		inv_rollback(ctx->inv);
		goto out;
	}
	if ((rc = inv_commit(ctx->inv, &ctx->err)) != BOOTD_OK) {
		inv_rollback(ctx->inv);
		warnmsg("import: %s; nothing was changed", ctx->err.text[0] !=
		    '\0' ? ctx->err.text : bootd_strerror(rc));
		ret = EXIT_FAIL;
	}
out:
	xfer_plan_free(&plan);
	xfer_problems_free(&probs);
	xfer_doc_free(doc);
	xfer_doc_free(cur);
	return ret;
}
