/*
 * inv_host.c - hosts, their NICs and attributes: resolving a host by FQDN, MAC
 * or short name, the authorizer, adding, changing, listing
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "inv.h"
#include "inv_int.h"
#include "mac.h"
#include "valid.h"

/* Host resolution ----------------------------------------------------- */

/*
 * Find the host that statement id (S_HOST_BY_FQDN or S_HOST_BY_MAC) finds
 * by key (a lowercase FQDN or a canonical MAC) into ref.  Returns
 * BOOTD_OK, BOOTD_ENOTFOUND (no row, err untouched) or a database error.
 */
static enum bootd_err
find_ref(struct inv *inv, enum stmt id, const char *key, struct href *ref,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if ((s = stmt(inv, id, err)) == NULL)
		return BOOTD_EDB;
	bind_text(s, 1, key);
	if ((rc = first_row(inv, s, "find host", err)) == BOOTD_OK) {
		fill_ref(s, ref, NULL);
		db_reset(s);
	}
	return rc;
}

/*
 * The FQDN that name spells first, lowercased into low: FQDN_EXACT for
 * a name ending in one dot, which is that FQDN (without the dot) and
 * nothing else, FQDN_FIRST for another dotted name, looked up as an FQDN
 * first; else FQDN_NONE.
 */
enum fqdn_kind { FQDN_NONE, FQDN_FIRST, FQDN_EXACT };

static enum fqdn_kind
fqdn_of(const char *name, char low[FQDN_BUF])
{
	size_t len = strlen(name);

	/*
	 * A name ending in one dot is a whole FQDN, as in DNS: "db1." is the
	 * host named db1, never db1.example.org.  So bootctl names the hosts
	 * it selected (inv_exact_name()): a dotless FQDN is otherwise looked
	 * up among the short names, where another host's makes it
	 * ambiguous, and a change of that host could never be made.
	 */
	if (len > 1 && name[len - 1] == '.' && name[len - 2] != '.' &&
	    lower_copy(name, low, FQDN_BUF) == 0) {
		low[len - 1] = '\0';
		return FQDN_EXACT;
	}
	/*
	 * A dotted name is an FQDN; a dotless one is looked up among short
	 * names, which include dotless FQDNs, so that a host named "db1"
	 * cannot silently shadow db1.example.org: both make it ambiguous.
	 * valid_fqdn() keeps MAC-shaped names out of the FQDNs.
	 */
	if (strchr(name, '.') != NULL && lower_copy(name, low, FQDN_BUF) == 0)
		return FQDN_FIRST;
	return FQDN_NONE;
}

/*
 * What resolve() does after its FQDN lookup: name (k and low as fqdn_of()
 * gave them) spells no FQDN, or one no host has.  A whole FQDN ("db1.")
 * is then not found; any other name is tried as a MAC, then as a short
 * name.  inv_host_get() looks the FQDN up its own way and goes on here,
 * so that a name no host has costs one FQDN lookup, not two.
 */
static enum bootd_err
resolve_rest(struct inv *inv, const char *name, enum fqdn_kind k,
    const char *low, struct href *ref, struct bootd_error *err)
{
	char shortn[FQDN_BUF], canon[MAC_STRLEN + 1], qn[QBUF];
	struct buf list = { 0 };
	struct db_stmt *s;
	enum bootd_err rc;
	int n, src;

	if (name == NULL || *name == '\0')
		return bootd_error_set(err, BOOTD_EINVAL, "host name is empty");
	if (k == FQDN_EXACT)
		return bootd_error_set(err, BOOTD_ENOTFOUND, "no host with the "
		    "FQDN \"%s\"", q(low, qn));
	if (mac_canon(name, canon, NULL) == BOOTD_OK &&
	    (rc = find_ref(inv, S_HOST_BY_MAC, canon, ref, err)) !=
	    BOOTD_ENOTFOUND)
		return rc;
	if (strchr(name, '.') == NULL &&
	    lower_copy(name, shortn, sizeof(shortn)) == 0) {
		if ((s = stmt(inv, S_HOST_BY_SHORT, err)) == NULL)
			return inv->dbrc;
		bind_text(s, 1, shortn);
		n = 0;
		rc = BOOTD_OK;
		while ((src = step(inv, s)) > 0) {
			if (n++ == 0)
				fill_ref(s, ref, NULL);
			if (n <= 3)
				buf_printf(&list, "%s%s", n > 1 ? ", " : "",
				    db_column_text(s, 1));
			else
				buf_puts(&list, ", ...");
		}
		if (src < 0)
			rc = dberr(inv, "find host", err);
		db_reset(s);
		if (rc == BOOTD_OK && n > 1)
			rc = bootd_error_set(err, BOOTD_EINVAL, "host name "
			    "\"%s\" is ambiguous: %s", q(name, qn),
			    buf_str(&list));
		buf_free(&list);
		if (rc != BOOTD_OK || n == 1)
			return rc;
	}
	return bootd_error_set(err, BOOTD_ENOTFOUND, "no host \"%s\" (by "
	    "FQDN, MAC or short name)", q(name, qn));
}

enum bootd_err
resolve(struct inv *inv, const char *name, struct href *ref,
    struct bootd_error *err)
{
	char low[FQDN_BUF];
	enum fqdn_kind k = FQDN_NONE;
	enum bootd_err rc;

	if (name != NULL && (k = fqdn_of(name, low)) != FQDN_NONE &&
	    (rc = find_ref(inv, S_HOST_BY_FQDN, low, ref, err)) !=
	    BOOTD_ENOTFOUND)
		return rc;
	return resolve_rest(inv, name, k, low, ref, err);
}

const char *
inv_exact_name(const char *fqdn, char buf[INV_EXACT_NAME_MAX])
{
	if (fqdn == NULL || strchr(fqdn, '.') != NULL)
		return fqdn;
	snprintf(buf, INV_EXACT_NAME_MAX, "%s.", fqdn);
	return buf;
}

const char *
inv_name_fqdn(const char *name, char buf[INV_EXACT_NAME_MAX])
{
	if (name == NULL || fqdn_of(name, buf) == FQDN_NONE ||
	    valid_fqdn(buf, NULL) != BOOTD_OK)
		return name;
	return buf;
}

enum bootd_err
inv_host_resolve(struct inv *inv, const char *host, char **fqdn,
    struct bootd_error *err)
{
	struct href ref;
	enum bootd_err rc;

	*fqdn = NULL;
	if ((rc = resolve(inv, host, &ref, err)) != BOOTD_OK)
		return rc;
	if ((*fqdn = strdup(ref.fqdn)) == NULL)
		return nomem(err);
	return BOOTD_OK;
}

/* Authorization ------------------------------------------------------- */

void
inv_set_authorizer(struct inv *inv, inv_authorizer fn, void *arg)
{
	inv->authz = fn;
	inv->authz_arg = arg;
}

/*
 * Ask the authorizer whether host fqdn may be put into (or changed in)
 * environment env, with env's group as this transaction reads it.
 */
static enum bootd_err
authorize_env(struct inv *inv, const char *fqdn, const char *env,
    struct bootd_error *err)
{
	struct inv_env *e = NULL;
	enum bootd_err rc;

	if (inv->authz == NULL)
		return BOOTD_OK;
	if ((rc = env_get(inv, env, &e, err)) != BOOTD_OK)
		return rc;
	rc = inv->authz(fqdn, e->name, e->group, inv->authz_arg, err);
	inv_env_free(e);
	return rc;
}

/*
 * The row of S_HOST_ENV or S_HOST_ENV_BY_FQDN that s is on: the host into
 * ref, what it boots into hb (when not NULL), then the authorizer's
 * answer for its environment and group.  Resets s.
 */
static enum bootd_err
authorize_row(struct inv *inv, struct db_stmt *s, struct href *ref,
    struct hboot *hb, struct bootd_error *err)
{
	const char *action;
	char env[80], group[40];

	fill_ref(s, ref, NULL);
	col_copy(s, 2, env, sizeof(env));
	col_copy(s, 3, group, sizeof(group));
	if (hb != NULL) {
		action = db_column_text(s, 4);
		hb->action = action != NULL && strcmp(action, "install") == 0 ?
		    INV_ACTION_INSTALL : INV_ACTION_LOCAL;
		col_copy(s, 5, hb->dist, sizeof(hb->dist));
	}
	db_reset(s);
	if (inv->authz == NULL)
		return BOOTD_OK;
	return inv->authz(ref->fqdn, env, group, inv->authz_arg, err);
}

/*
 * Ask the authorizer about the host ref, by its row id: its environment
 * and group as this transaction reads them, so that a host renamed or
 * moved since the caller looked is judged as it is now.  When hb is not
 * NULL, what the host boots is read into it by the same statement.
 */
static enum bootd_err
authorize_host(struct inv *inv, struct href *ref, struct hboot *hb,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if (inv->authz == NULL && hb == NULL)
		return BOOTD_OK;
	if ((s = stmt(inv, S_HOST_ENV, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, ref->id);
	if ((rc = first_row(inv, s, "read environment", err)) ==
	    BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "host vanished while reading "
		    "it");
	if (rc != BOOTD_OK)
		return rc;
	return authorize_row(inv, s, ref, hb, err);
}

/*
 * resolve() for a change: the host found must pass the authorizer.  When
 * hb is not NULL, what the host boots is read into it on the way.  A
 * name that spells an FQDN (the usual name in a bulk change, and "db1."
 * by which bootctl names a dotless host) is found with its environment
 * in one statement, without the dot a whole FQDN ends in; any other, or
 * one no host has, as resolve() goes on after its own FQDN lookup
 * (resolve_rest()), so that a name no host has costs one FQDN lookup.
 */
enum bootd_err
resolve_for_change(struct inv *inv, const char *name, struct href *ref,
    struct hboot *hb, struct bootd_error *err)
{
	char low[FQDN_BUF];
	struct db_stmt *s;
	enum bootd_err rc;
	enum fqdn_kind k = FQDN_NONE;

	if (name != NULL && (k = fqdn_of(name, low)) != FQDN_NONE) {
		if ((s = stmt(inv, S_HOST_ENV_BY_FQDN, err)) == NULL)
			return inv->dbrc;
		bind_ref(s, 1, low);
		rc = first_row(inv, s, "find host", err);
		if (rc == BOOTD_OK)
			return authorize_row(inv, s, ref, hb, err);
		if (rc != BOOTD_ENOTFOUND)
			return rc;
	}
	if ((rc = resolve_rest(inv, name, k, low, ref, err)) != BOOTD_OK)
		return rc;
	return authorize_host(inv, ref, hb, err);
}

/*
 * resolve_for_change() of the host whose row is id, if it is still called
 * fqdn (a host the caller read earlier): a search by row id instead of one
 * by name.  BOOTD_ENOTFOUND (err untouched) when no host has both.
 */
enum bootd_err
resolve_id_for_change(struct inv *inv, int64_t id, const char *fqdn,
    struct href *ref, struct hboot *hb, struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;
	const char *t;

	if ((s = stmt(inv, S_HOST_ENV, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, id);
	if ((rc = first_row(inv, s, "find host", err)) != BOOTD_OK)
		return rc;
	if ((t = db_column_text(s, 1)) == NULL || strcmp(t, fqdn) != 0) {
		db_reset(s);
		return BOOTD_ENOTFOUND;
	}
	return authorize_row(inv, s, ref, hb, err);
}

/* Loading hosts and distributions ------------------------------------- */

void
inv_host_clear(struct inv_host *h)
{
	size_t i;

	free(h->fqdn);
	free(h->env);
	free(h->dist);
	for (i = 0; i < h->nmacs; i++)
		free(h->macs[i]);
	free(h->macs);
	for (i = 0; i < h->nattrs; i++) {
		free(h->attrs[i].key);
		free(h->attrs[i].value);
	}
	free(h->attrs);
	free(h->token);
	memset(h, 0, sizeof(*h));
}

void
inv_host_free(struct inv_host *h)
{
	if (h == NULL)
		return;
	inv_host_clear(h);
	free(h);
}

/* fill for read_rows(): a struct inv_kv from columns 0 and 1. */
static enum bootd_err
fill_kv(struct db_stmt *s, void *elem, struct bootd_error *err)
{
	struct inv_kv *kv = elem;

	if (col_dup(s, 0, &kv->key))
		return nomem(err);
	if (col_dup(s, 1, &kv->value)) {
		free(kv->key);
		return nomem(err);
	}
	return BOOTD_OK;
}

/*
 * Load the host whose row s (S_HOST_FULL or _BY_FQDN, bound) returns, with
 * its MACs and attributes.  BOOTD_ENOTFOUND (err untouched) when s returns
 * no row.  The caller frees *out with inv_host_free().
 */
static enum bootd_err
load_host(struct inv *inv, struct db_stmt *s, struct inv_host **out,
    struct bootd_error *err)
{
	struct inv_host *h;
	struct db_stmt *m;
	enum bootd_err rc = BOOTD_OK;
	int64_t id;
	const char *action;

	*out = NULL;
	if ((rc = first_row(inv, s, "read host", err)) != BOOTD_OK)
		return rc;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		db_reset(s);
		return nomem(err);
	}
	h->id = id = db_column_int64(s, 0);
	action = db_column_text(s, 3);
	h->action = action != NULL && strcmp(action, "install") == 0 ?
	    INV_ACTION_INSTALL : INV_ACTION_LOCAL;
	h->token_expires = db_column_is_null(s, 5) ? 0 :
	    db_column_int64(s, 6);
	if (col_dup(s, 1, &h->fqdn) || col_dup(s, 2, &h->env) ||
	    col_dup(s, 4, &h->dist) || col_dup(s, 5, &h->token)) {
		db_reset(s);
		rc = nomem(err);
		goto fail;
	}
	db_reset(s);

	if ((m = stmt(inv, S_HOST_MACS, err)) == NULL) {
		rc = inv->dbrc;
		goto fail;
	}
	bind_int(m, 1, id);
	h->macs = read_rows(inv, m, sizeof(*h->macs), fill_text, &h->nmacs,
	    &rc, "read NICs", err);
	if (rc != BOOTD_OK)
		goto fail;

	if ((m = stmt(inv, S_HOST_ATTRS, err)) == NULL) {
		rc = inv->dbrc;
		goto fail;
	}
	bind_int(m, 1, id);
	h->attrs = read_rows(inv, m, sizeof(*h->attrs), fill_kv, &h->nattrs,
	    &rc, "read attributes", err);
	if (rc != BOOTD_OK)
		goto fail;
	*out = h;
	return BOOTD_OK;
fail:
	inv_host_free(h);
	return rc;
}

enum bootd_err
load_host_id(struct inv *inv, int64_t id, int64_t now, struct inv_host **out,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if ((s = stmt(inv, S_HOST_FULL, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, id);
	bind_int(s, 2, now);
	rc = load_host(inv, s, out, err);
	if (rc == BOOTD_ENOTFOUND)
		bootd_error_set(err, rc, "host vanished while reading it");
	return rc;
}

/*
 * "env=E action=A dist=D macs=M1,M2" for the audit log.
 */
static enum bootd_err
describe_host(struct inv *inv, int64_t id, struct buf *b,
    struct bootd_error *err)
{
	struct inv_host *h;
	enum bootd_err rc;
	size_t i;

	if ((rc = load_host_id(inv, id, (int64_t)time(NULL), &h, err)) !=
	    BOOTD_OK)
		return rc;
	buf_printf(b, "env=%s action=%s dist=%s macs=", h->env,
	    h->action == INV_ACTION_INSTALL ? "install" : "local",
	    h->dist != NULL ? h->dist : "-");
	for (i = 0; i < h->nmacs; i++)
		buf_printf(b, "%s%s", i > 0 ? "," : "", h->macs[i]);
	inv_host_free(h);
	return buf_failed(b) ? nomem(err) : BOOTD_OK;
}

/* Hosts and NICs ------------------------------------------------------ */

/*
 * Refuse mac (canonical) when a host has it: BOOTD_EEXIST naming both.
 */
static enum bootd_err
mac_free(struct inv *inv, const char *mac, struct bootd_error *err)
{
	struct href owner;
	enum bootd_err rc;

	rc = find_ref(inv, S_HOST_BY_MAC, mac, &owner, err);
	if (rc == BOOTD_ENOTFOUND)
		return BOOTD_OK;
	if (rc != BOOTD_OK)
		return rc;
	return bootd_error_set(err, BOOTD_EEXIST, "MAC %s already belongs "
	    "to host %s", mac, owner.fqdn);
}

/*
 * Refuse fqdn (lowercase) when a host has it: BOOTD_EEXIST.
 */
static enum bootd_err
fqdn_free(struct inv *inv, const char *fqdn, struct bootd_error *err)
{
	struct href dup;
	enum bootd_err rc;

	rc = find_ref(inv, S_HOST_BY_FQDN, fqdn, &dup, err);
	if (rc == BOOTD_ENOTFOUND)
		return BOOTD_OK;
	if (rc != BOOTD_OK)
		return rc;
	return bootd_error_set(err, BOOTD_EEXIST, "host %s already exists",
	    fqdn);
}

static enum bootd_err
insert_nic(struct inv *inv, int64_t host, const char *mac,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if ((rc = mac_free(inv, mac, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_NIC_INSERT, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, mac);
	bind_int(s, 2, host);
	return run(inv, s, "add NIC", err);
}

/* fill for read_rows() and env_get(): a new struct inv_env *. */

/*
 * The host and NIC rows of a new host, validated and authorized; ref
 * gets its row id and lowercase FQDN.  No audit row: the callers write
 * theirs.
 */
static enum bootd_err
host_add_row(struct inv *inv, const char *fqdn, const char *const *macs,
    size_t nmacs, const char *env, struct href *ref, struct bootd_error *err)
{
	char low[FQDN_BUF], (*canon)[MAC_STRLEN + 1] = NULL;
	struct db_stmt *s;
	enum bootd_err rc;
	int64_t id;
	size_t i, j;

	if ((rc = valid_fqdn(fqdn, err)) != BOOTD_OK)
		return rc;
	lower_copy(fqdn, low, sizeof(low));
	if (env == NULL)
		env = INV_DEFAULT_ENV;
	if ((rc = valid_name("environment", env, err)) != BOOTD_OK)
		return rc;
	if (nmacs == 0 || macs == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "host %s needs at "
		    "least one MAC", low);
	if ((canon = calloc(nmacs, sizeof(*canon))) == NULL)
		return nomem(err);
	for (i = 0; i < nmacs; i++) {
		struct bootd_error merr;
		char qm[QBUF];

		if (mac_canon(macs[i], canon[i], &merr) != BOOTD_OK) {
			rc = bootd_error_set(err, BOOTD_EINVAL, "invalid MAC "
			    "\"%s\": %s", q(macs[i], qm), merr.text);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(canon[i], canon[j]) == 0) {
				rc = bootd_error_set(err, BOOTD_EINVAL,
				    "MAC %s is given twice", canon[i]);
				goto out;
			}
	}
	if ((rc = env_get(inv, env, NULL, err)) != BOOTD_OK ||
	    (rc = authorize_env(inv, low, env, err)) != BOOTD_OK ||
	    (rc = fqdn_free(inv, low, err)) != BOOTD_OK)
		goto out;
	if ((s = stmt(inv, S_HOST_INSERT, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	bind_text(s, 1, low);
	bind_text(s, 2, env);
	if ((rc = first_row(inv, s, "add host", err)) != BOOTD_OK) {
		if (rc == BOOTD_ENOTFOUND)	/* RETURNING gives a row */
			rc = bootd_error_set(err, BOOTD_EDB, "add host: "
			    "no row id returned");
		goto out;
	}
	id = db_column_int64(s, 0);
	db_reset(s);
	for (i = 0; i < nmacs; i++)
		if ((rc = insert_nic(inv, id, canon[i], err)) != BOOTD_OK)
			goto out;
	ref->id = id;
	snprintf(ref->fqdn, sizeof(ref->fqdn), "%s", low);
out:
	free(canon);
	return rc;
}

static enum bootd_err
host_add(struct inv *inv, const char *fqdn, const char *const *macs,
    size_t nmacs, const char *env, struct bootd_error *err)
{
	struct buf b = { 0 };
	struct href ref;
	enum bootd_err rc;

	if ((rc = host_add_row(inv, fqdn, macs, nmacs, env, &ref, err)) !=
	    BOOTD_OK)
		return rc;
	if ((rc = describe_host(inv, ref.id, &b, err)) == BOOTD_OK)
		rc = audit(inv, time(NULL), "host-add", ref.fqdn, NULL,
		    buf_str(&b), err);
	buf_free(&b);
	return rc;
}

enum bootd_err
inv_host_add(struct inv *inv, const char *fqdn, const char *const *macs,
    size_t nmacs, const char *env, struct bootd_error *err)
{
	return inv_host_add_dist(inv, fqdn, macs, nmacs, env, NULL, err);
}

static enum bootd_err	host_set_dist(struct inv *, const char *,
			    const char *, struct bootd_error *);

enum bootd_err
inv_host_add_dist(struct inv *inv, const char *fqdn,
    const char *const *macs, size_t nmacs, const char *env,
    const char *dist, struct bootd_error *err)
{
	char low[FQDN_BUF], x[INV_EXACT_NAME_MAX];
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	rc = host_add(inv, fqdn, macs, nmacs, env, err);
	/* The new host by its FQDN: this transaction holds the write lock. */
	if (rc == BOOTD_OK && dist != NULL) {
		lower_copy(fqdn, low, sizeof(low));
		rc = host_set_dist(inv, inv_exact_name(low, x), dist, err);
	}
	return tx_end(inv, rc, err);
}

/*
 * inv_host_import(): one host with everything it has, in one change and
 * one audit row, for imports of many hosts.
 */
static enum bootd_err
host_import(struct inv *inv, const struct inv_host *h,
    struct bootd_error *err)
{
	struct inv_dist *d = NULL;
	struct buf b = { 0 };
	struct href ref;
	struct db_stmt *s;
	enum bootd_err rc;
	size_t i;

	if (h->action != INV_ACTION_LOCAL)
		return bootd_error_set(err, BOOTD_EINVAL, "host %s: an "
		    "imported host starts with local boot", h->fqdn);
	for (i = 0; i < h->nattrs; i++)
		if ((rc = valid_attr(h->attrs[i].key, h->attrs[i].value,
		    err)) != BOOTD_OK)
			return rc;
	if (h->dist != NULL &&
	    ((rc = valid_name("distribution", h->dist, err)) != BOOTD_OK ||
	    (rc = load_dist(inv, h->dist, &d, err)) != BOOTD_OK))
		return rc;
	inv_dist_free(d);
	/* host_add() validates, authorizes and writes host and NICs. */
	if ((rc = host_add_row(inv, h->fqdn, (const char *const *)h->macs,
	    h->nmacs, h->env, &ref, err)) != BOOTD_OK)
		return rc;
	if (h->dist != NULL && (rc = run_host(inv, S_HOST_SET_DIST, ref.id,
	    h->dist, "set distribution", err)) != BOOTD_OK)
		return rc;
	for (i = 0; i < h->nattrs; i++) {
		if ((s = stmt(inv, S_ATTR_SET, err)) == NULL)
			return inv->dbrc;
		bind_int(s, 1, ref.id);
		bind_text(s, 2, h->attrs[i].key);
		bind_text(s, 3, h->attrs[i].value);
		if ((rc = run(inv, s, "set attribute", err)) != BOOTD_OK)
			return rc;
	}
	buf_printf(&b, "env=%s action=local dist=%s macs=", h->env,
	    h->dist != NULL ? h->dist : "-");
	for (i = 0; i < h->nmacs; i++)
		buf_printf(&b, "%s%s", i > 0 ? "," : "", h->macs[i]);
	for (i = 0; i < h->nattrs; i++)
		buf_printf(&b, "%s%s=%s", i > 0 ? "," : " attrs=",
		    h->attrs[i].key, h->attrs[i].value);
	rc = buf_failed(&b) ? nomem(err) : audit(inv, time(NULL), "host-add",
	    ref.fqdn, NULL, buf_str(&b), err);
	buf_free(&b);
	return rc;
}

enum bootd_err
inv_host_import(struct inv *inv, const struct inv_host *h,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_import(inv, h, err), err);
}

static enum bootd_err
host_remove(struct inv *inv, const char *host, struct bootd_error *err)
{
	struct href ref;
	struct buf b = { 0 };
	struct db_stmt *s;
	enum bootd_err rc;

	if ((rc = resolve_for_change(inv, host, &ref, NULL, err)) != BOOTD_OK)
		return rc;
	if ((rc = describe_host(inv, ref.id, &b, err)) != BOOTD_OK)
		goto out;
	if ((s = stmt(inv, S_HOST_DELETE, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	bind_int(s, 1, ref.id);
	if ((rc = run(inv, s, "remove host", err)) != BOOTD_OK)
		goto out;
	rc = audit(inv, time(NULL), "host-remove", ref.fqdn, buf_str(&b),
	    NULL, err);
out:
	buf_free(&b);
	return rc;
}

enum bootd_err
inv_host_remove(struct inv *inv, const char *host, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_remove(inv, host, err), err);
}

static enum bootd_err
host_rename(struct inv *inv, const char *host, const char *newfqdn,
    struct bootd_error *err)
{
	char low[FQDN_BUF];
	struct href ref;
	enum bootd_err rc;

	if ((rc = valid_fqdn(newfqdn, err)) != BOOTD_OK)
		return rc;
	lower_copy(newfqdn, low, sizeof(low));
	if ((rc = resolve_for_change(inv, host, &ref, NULL, err)) != BOOTD_OK)
		return rc;
	if (strcmp(ref.fqdn, low) == 0)
		return bootd_error_set(err, BOOTD_EINVAL, "host %s is already "
		    "called %s", ref.fqdn, low);
	if ((rc = fqdn_free(inv, low, err)) != BOOTD_OK)
		return rc;
	if ((rc = run_host(inv, S_HOST_RENAME, ref.id, low, "rename host",
	    err)) != BOOTD_OK)
		return rc;
	return audit(inv, time(NULL), "host-rename", low, ref.fqdn, low, err);
}

enum bootd_err
inv_host_rename(struct inv *inv, const char *host, const char *newfqdn,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_rename(inv, host, newfqdn, err), err);
}

static enum bootd_err
host_set_env(struct inv *inv, const char *host, const char *env,
    struct bootd_error *err)
{
	struct href ref;
	struct inv_host *h;
	enum bootd_err rc;

	if ((rc = valid_name("environment", env, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, NULL, err)) != BOOTD_OK)
		return rc;
	if ((rc = env_get(inv, env, NULL, err)) != BOOTD_OK ||
	    (rc = authorize_env(inv, ref.fqdn, env, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_host_id(inv, ref.id, 0, &h, err)) != BOOTD_OK)
		return rc;
	if ((rc = run_host(inv, S_HOST_SET_ENV, ref.id, env,
	    "set environment", err)) != BOOTD_OK)
		goto out;
	{
		char o[80], n[80];

		snprintf(o, sizeof(o), "env=%s", h->env);
		snprintf(n, sizeof(n), "env=%s", env);
		rc = audit(inv, time(NULL), "host-set-env", ref.fqdn, o, n,
		    err);
	}
out:
	inv_host_free(h);
	return rc;
}

enum bootd_err
inv_host_set_env(struct inv *inv, const char *host, const char *env,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_set_env(inv, host, env, err), err);
}

static enum bootd_err
host_set_dist(struct inv *inv, const char *host, const char *dist,
    struct bootd_error *err)
{
	struct href ref;
	struct inv_host *h = NULL;
	struct inv_dist *d = NULL;
	enum bootd_err rc;
	char o[80], n[80];

	if (dist != NULL &&
	    (rc = valid_name("distribution", dist, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, NULL, err)) != BOOTD_OK)
		return rc;
	if (dist != NULL && (rc = load_dist(inv, dist, &d, err)) != BOOTD_OK)
		return rc;
	if ((rc = load_host_id(inv, ref.id, 0, &h, err)) != BOOTD_OK)
		goto out;
	if (h->action == INV_ACTION_INSTALL) {
		if (d == NULL) {
			rc = bootd_error_set(err, BOOTD_EINVAL, "host %s is "
			    "marked for reinstall; set it to local boot "
			    "before clearing its distribution", ref.fqdn);
			goto out;
		}
		if ((rc = check_attrs(inv, &ref, d, err)) != BOOTD_OK)
			goto out;
	}
	if ((rc = run_host(inv, S_HOST_SET_DIST, ref.id, dist,
	    "set distribution", err)) != BOOTD_OK)
		goto out;
	snprintf(o, sizeof(o), "dist=%s", h->dist != NULL ? h->dist : "-");
	snprintf(n, sizeof(n), "dist=%s", dist != NULL ? dist : "-");
	rc = audit(inv, time(NULL), "host-set-dist", ref.fqdn, o, n, err);
out:
	inv_host_free(h);
	inv_dist_free(d);
	return rc;
}

enum bootd_err
inv_host_set_dist(struct inv *inv, const char *host, const char *dist,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, host_set_dist(inv, host, dist, err), err);
}

static enum bootd_err
nic_add(struct inv *inv, const char *host, const char *mac,
    struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1], qm[QBUF];
	struct bootd_error merr;
	struct href ref;
	enum bootd_err rc;

	if (mac_canon(mac, canon, &merr) != BOOTD_OK)
		return bootd_error_set(err, BOOTD_EINVAL, "invalid MAC "
		    "\"%s\": %s", q(mac, qm), merr.text);
	if ((rc = resolve_for_change(inv, host, &ref, NULL, err)) != BOOTD_OK)
		return rc;
	if ((rc = insert_nic(inv, ref.id, canon, err)) != BOOTD_OK)
		return rc;
	return audit(inv, time(NULL), "nic-add", ref.fqdn, NULL, canon, err);
}

enum bootd_err
inv_nic_add(struct inv *inv, const char *host, const char *mac,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, nic_add(inv, host, mac, err), err);
}

static enum bootd_err
nic_remove(struct inv *inv, const char *mac, struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1], qm[QBUF];
	struct bootd_error merr;
	struct href ref;
	struct db_stmt *s;
	enum bootd_err rc;
	int64_t n = 0;

	if (mac_canon(mac, canon, &merr) != BOOTD_OK)
		return bootd_error_set(err, BOOTD_EINVAL, "invalid MAC "
		    "\"%s\": %s", q(mac, qm), merr.text);
	if ((rc = find_ref(inv, S_HOST_BY_MAC, canon, &ref, err)) ==
	    BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "no host has MAC %s", canon);
	if (rc != BOOTD_OK || (rc = authorize_host(inv, &ref, NULL, err)) !=
	    BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_NIC_COUNT, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, ref.id);
	if ((rc = run_int(inv, s, &n, "count NICs", err)) != BOOTD_OK)
		return rc;
	if (n <= 1)
		return bootd_error_set(err, BOOTD_EINVAL, "MAC %s is the last "
		    "NIC of host %s; remove the host instead", canon, ref.fqdn);
	if ((rc = run_text(inv, S_NIC_DELETE, canon, "remove NIC", err)) !=
	    BOOTD_OK)
		return rc;
	return audit(inv, time(NULL), "nic-remove", ref.fqdn, canon, NULL,
	    err);
}

enum bootd_err
inv_nic_remove(struct inv *inv, const char *mac, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, nic_remove(inv, mac, err), err);
}

enum bootd_err
inv_host_get(struct inv *inv, const char *host, struct inv_host **out,
    struct bootd_error *err)
{
	char low[FQDN_BUF];
	struct href ref;
	struct db_stmt *s;
	enum bootd_err rc;
	enum fqdn_kind k = FQDN_NONE;

	*out = NULL;
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	/*
	 * A name that is an FQDN first (the usual one, and every one bootctl
	 * names the hosts it selected by) is read with its host in one
	 * statement; any other, or one no host has, as resolve() goes on
	 * after its own FQDN lookup (resolve_rest()), not looked up again.
	 */
	if (host != NULL && (k = fqdn_of(host, low)) != FQDN_NONE) {
		if ((s = stmt(inv, S_HOST_FULL_BY_FQDN, err)) == NULL)
			return tx_end(inv, inv->dbrc, err);
		bind_ref(s, 1, low);
		bind_int(s, 2, (int64_t)time(NULL));
		rc = load_host(inv, s, out, err);
	} else
		rc = BOOTD_ENOTFOUND;
	if (rc == BOOTD_ENOTFOUND &&
	    (rc = resolve_rest(inv, host, k, low, &ref, err)) == BOOTD_OK)
		rc = load_host_id(inv, ref.id, (int64_t)time(NULL), out, err);
	rc = tx_end(inv, rc, err);
	if (rc != BOOTD_OK) {
		inv_host_free(*out);
		*out = NULL;
	}
	return rc;
}

enum bootd_err
inv_host_each(struct inv *inv, int (*fn)(const struct inv_host *, void *),
    void *arg, struct bootd_error *err)
{
	struct inv_host **hs = NULL;
	int64_t *ids = NULL, now = (int64_t)time(NULL);
	size_t i, n = 0;
	struct db_stmt *s;
	enum bootd_err rc;
	int stop = 0;

	/* Read everything first, so that fn may use the handle freely. */
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	if ((s = stmt(inv, S_HOST_IDS, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	ids = read_rows(inv, s, sizeof(*ids), fill_id, &n, &rc, "list hosts",
	    err);
	if (rc != BOOTD_OK)
		goto out;
	if (n > 0 && (hs = calloc(n, sizeof(*hs))) == NULL) {
		rc = nomem(err);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = load_host_id(inv, ids[i], now, &hs[i], err)) !=
		    BOOTD_OK)
			goto out;
out:
	rc = tx_end(inv, rc, err);
	for (i = 0; i < n && hs != NULL; i++) {
		if (rc == BOOTD_OK && !stop && fn(hs[i], arg) != 0)
			stop = 1;
		inv_host_free(hs[i]);
	}
	free(hs);
	free(ids);
	return rc;
}

/* qsort() order of struct inv_host pointers: by FQDN. */
static int
host_fqdn_cmp(const void *a, const void *b)
{
	const struct inv_host *const *x = a, *const *y = b;

	return strcmp((*x)->fqdn, (*y)->fqdn);
}

/*
 * Append the text of column col of s to the array *v of *n strings.
 * Returns 0, or -1 out of memory.
 */
static int
push_text(char ***v, size_t *n, struct db_stmt *s, int col)
{
	char **p;

	if ((p = reallocarray(*v, *n + 1, sizeof(**v))) == NULL)
		return -1;
	*v = p;
	if (col_dup(s, col, &p[*n]) || p[*n] == NULL)
		return -1;
	(*n)++;
	return 0;
}

/*
 * Read every host with its NICs and attributes in three statements (hosts,
 * all NICs, all attributes, each in host id order, merged as they are
 * read), one snapshot: a constant number of scans whatever the number of
 * hosts, where inv_host_each() runs three lookups per host.
 */
static enum bootd_err
host_list(struct inv *inv, struct inv_host ***out, size_t *n,
    struct bootd_error *err)
{
	static const char *const sql[3] = {
		"SELECT " HOST_COLS " FROM host h " LIVE_TOKEN_AT("$1")
		    "ORDER BY h.id",
		"SELECT host, mac FROM nic ORDER BY host, mac",
		"SELECT host, key, value FROM host_attr ORDER BY host, key",
	};
	struct db_stmt *s[3] = { NULL, NULL, NULL };
	struct inv_host **hs = NULL, *h, **p;
	int64_t *ids = NULL, *q, id, now = (int64_t)time(NULL);
	struct inv_kv *kv;
	const char *action;
	enum bootd_err rc = BOOTD_OK;
	size_t cap = 0, i, j;
	int src = 0, k;

	*out = NULL;
	*n = 0;
	for (k = 0; k < 3; k++)
		if ((s[k] = prepare_once(inv, sql[k], err)) == NULL) {
			rc = inv->dbrc;
			goto out;
		}
	bind_int(s[0], 1, now);
	while ((src = step(inv, s[0])) > 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((p = reallocarray(hs, cap, sizeof(*hs))) == NULL) {
				rc = nomem(err);
				goto out;
			}
			hs = p;
			if ((q = reallocarray(ids, cap, sizeof(*ids))) ==
			    NULL) {
				rc = nomem(err);
				goto out;
			}
			ids = q;
		}
		if ((h = calloc(1, sizeof(*h))) == NULL) {
			rc = nomem(err);
			goto out;
		}
		hs[*n] = h;
		h->id = ids[(*n)++] = db_column_int64(s[0], 0);
		action = db_column_text(s[0], 3);
		h->action = action != NULL && strcmp(action, "install") == 0 ?
		    INV_ACTION_INSTALL : INV_ACTION_LOCAL;
		h->token_expires = db_column_is_null(s[0], 5) ? 0 :
		    db_column_int64(s[0], 6);
		if (col_dup(s[0], 1, &h->fqdn) || col_dup(s[0], 2, &h->env) ||
		    col_dup(s[0], 4, &h->dist) || col_dup(s[0], 5, &h->token)) {
			rc = nomem(err);
			goto out;
		}
	}
	if (src < 0) {
		rc = dberr(inv, "list hosts", err);
		goto out;
	}
	/* Ids ascend in both lists: walk them together. */
	for (i = 0; (src = step(inv, s[1])) > 0; ) {
		id = db_column_int64(s[1], 0);
		while (i < *n && ids[i] < id)
			i++;
		if (i == *n || ids[i] != id)
			continue;
		if (push_text(&hs[i]->macs, &hs[i]->nmacs, s[1], 1)) {
			rc = nomem(err);
			goto out;
		}
	}
	if (src < 0) {
		rc = dberr(inv, "list NICs", err);
		goto out;
	}
	for (i = 0; (src = step(inv, s[2])) > 0; ) {
		id = db_column_int64(s[2], 0);
		while (i < *n && ids[i] < id)
			i++;
		if (i == *n || ids[i] != id)
			continue;
		h = hs[i];
		if ((kv = reallocarray(h->attrs, h->nattrs + 1,
		    sizeof(*kv))) == NULL) {
			rc = nomem(err);
			goto out;
		}
		h->attrs = kv;
		kv += h->nattrs;
		if (col_dup(s[2], 1, &kv->key) || kv->key == NULL) {
			rc = nomem(err);
			goto out;
		}
		if (col_dup(s[2], 2, &kv->value) || kv->value == NULL) {
			free(kv->key);
			rc = nomem(err);
			goto out;
		}
		h->nattrs++;
	}
	if (src < 0)
		rc = dberr(inv, "list attributes", err);
out:
	for (k = 0; k < 3; k++)
		db_finalize(s[k]);
	free(ids);
	if (rc != BOOTD_OK) {
		for (j = 0; j < *n; j++)
			inv_host_free(hs[j]);
		free(hs);
		*n = 0;
		return rc;
	}
	if (*n > 0)
		qsort(hs, *n, sizeof(*hs), host_fqdn_cmp);
	*out = hs;
	return BOOTD_OK;
}

enum bootd_err
inv_host_list(struct inv *inv, struct inv_host ***out, size_t *n,
    struct bootd_error *err)
{
	enum bootd_err rc;

	*out = NULL;
	*n = 0;
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	rc = host_list(inv, out, n, err);
	if ((rc = tx_end(inv, rc, err)) != BOOTD_OK) {
		inv_host_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void
inv_host_list_free(struct inv_host **hs, size_t n)
{
	size_t i;

	if (hs == NULL)
		return;
	for (i = 0; i < n; i++)
		inv_host_free(hs[i]);
	free(hs);
}

enum bootd_err
inv_host_names(struct inv *inv, const char *prefix,
    int (*fn)(const char *, void *), void *arg, struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc = BOOTD_OK;
	char hi[FQDN_BUF + 1];
	int src;

	if (strlen(prefix) > INV_FQDN_MAX)
		return BOOTD_OK;	/* no FQDN is that long */
	/* FQDNs are [a-z0-9.-]: every one starting with prefix sorts
	 * between prefix and prefix followed by '~'. */
	snprintf(hi, sizeof(hi), "%s~", prefix);
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	if ((s = prepare_once(inv, "SELECT fqdn FROM host WHERE fqdn >= $1 "
	    "AND fqdn < $2 ORDER BY fqdn", err)) == NULL)
		return tx_end(inv, inv->dbrc, err);
	bind_text(s, 1, prefix);
	bind_text(s, 2, hi);
	while ((src = step(inv, s)) > 0)
		if (fn(db_column_text(s, 0), arg) != 0)
			break;
	if (src < 0)
		rc = dberr(inv, "list host names", err);
	db_finalize(s);
	return tx_end(inv, rc, err);
}

/* Attributes ---------------------------------------------------------- */

static enum bootd_err
attr_set(struct inv *inv, const char *host, const char *key,
    const char *value, struct bootd_error *err)
{
	struct href ref;
	struct buf o = { 0 }, n = { 0 };
	struct db_stmt *s;
	enum bootd_err rc;

	if ((rc = valid_attr(key, value, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, NULL, err)) != BOOTD_OK)
		return rc;
	if ((rc = attr_get(inv, ref.id, key, &o, err)) == BOOTD_ENOTFOUND)
		rc = BOOTD_OK;
	if (rc != BOOTD_OK)
		goto out;
	if ((s = stmt(inv, S_ATTR_SET, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	bind_int(s, 1, ref.id);
	bind_text(s, 2, key);
	bind_text(s, 3, value);
	if ((rc = run(inv, s, "set attribute", err)) != BOOTD_OK)
		goto out;
	buf_printf(&n, "%s=%s", key, value);
	if (buf_failed(&o) || buf_failed(&n)) {
		rc = nomem(err);
		goto out;
	}
	rc = audit(inv, time(NULL), "attr-set", ref.fqdn,
	    o.len > 0 ? buf_str(&o) : NULL, buf_str(&n), err);
out:
	buf_free(&o);
	buf_free(&n);
	return rc;
}

enum bootd_err
inv_attr_set(struct inv *inv, const char *host, const char *key,
    const char *value, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, attr_set(inv, host, key, value, err), err);
}

static enum bootd_err
attr_unset(struct inv *inv, const char *host, const char *key,
    struct bootd_error *err)
{
	struct href ref;
	struct inv_host *h = NULL;
	struct inv_dist *d = NULL;
	struct buf o = { 0 };
	enum bootd_err rc;

	if ((rc = valid_attr_key(key, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_for_change(inv, host, &ref, NULL, err)) != BOOTD_OK)
		return rc;
	if ((rc = attr_get(inv, ref.id, key, &o, err)) == BOOTD_ENOTFOUND)
		rc = bootd_error_set(err, rc, "host %s has no attribute %s",
		    ref.fqdn, key);
	if (rc != BOOTD_OK)
		goto out;
	if ((rc = load_host_id(inv, ref.id, 0, &h, err)) != BOOTD_OK)
		goto out;
	if (h->dist != NULL) {
		if ((rc = load_dist(inv, h->dist, &d, err)) != BOOTD_OK)
			goto out;
		if (dist_uses_attr(d, key)) {
			rc = bootd_error_set(err, BOOTD_EINVAL, "attribute %s "
			    "of host %s is used by its distribution %s",
			    key, ref.fqdn, d->name);
			goto out;
		}
	}
	if ((rc = run_host(inv, S_ATTR_DELETE, ref.id, key, "unset attribute",
	    err)) != BOOTD_OK)
		goto out;
	rc = buf_failed(&o) ? nomem(err) : audit(inv, time(NULL),
	    "attr-unset", ref.fqdn, buf_str(&o), NULL, err);
out:
	buf_free(&o);
	inv_host_free(h);
	inv_dist_free(d);
	return rc;
}

enum bootd_err
inv_attr_unset(struct inv *inv, const char *host, const char *key,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, attr_unset(inv, host, key, err), err);
}
