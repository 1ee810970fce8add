/*
 * inv_token.c - install tokens: marking a host for reinstall or local boot, the
 * install script's fetch, and the installer's "done"
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inv.h"
#include "inv_int.h"
#include "mac.h"
#include "valid.h"

/* Reinstall ----------------------------------------------------------- */

/* Fill buf with len bytes from the kernel's random number generator. */
static enum bootd_err
random_bytes(unsigned char *buf, size_t len, struct bootd_error *err)
{
	size_t got = 0;
	ssize_t r;
	int fd;

	while (got < len) {
		r = getrandom(buf + got, len - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	if (got == len)
		return BOOTD_OK;
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
		return bootd_error_set(err, BOOTD_ESYS, "/dev/urandom: %s",
		    strerror(errno));
	while (got < len) {
		r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(fd);
			return bootd_error_set(err, BOOTD_ESYS, "/dev/urandom: "
			    "%s", r < 0 ? strerror(errno) : "short read");
		}
		got += (size_t)r;
	}
	close(fd);
	return BOOTD_OK;
}

/*
 * Fill out with INV_TOKEN_LEN random lowercase hex digits and a NUL, from
 * the random bytes inv holds, fetched again when they run out.  Bytes
 * are wiped once used: none serves twice, and no token's bytes stay
 * behind it.  The bytes live as long as the handle, which, like SQLite's,
 * never crosses a fork(2).
 */
static enum bootd_err
make_token(struct inv *inv, char out[INV_TOKEN_LEN + 1],
    struct bootd_error *err)
{
	static const char hex[] = "0123456789abcdef";
	const size_t need = INV_TOKEN_LEN / 2;
	unsigned char *raw;
	enum bootd_err rc;
	size_t i;

	if (inv->nrnd < need) {
		if ((rc = random_bytes(inv->rnd, sizeof(inv->rnd), err)) !=
		    BOOTD_OK) {
			explicit_bzero(inv->rnd, sizeof(inv->rnd));
			inv->nrnd = 0;
			return rc;
		}
		inv->nrnd = sizeof(inv->rnd);
	}
	inv->nrnd -= need;
	raw = inv->rnd + inv->nrnd;
	for (i = 0; i < need; i++) {
		out[i * 2] = hex[raw[i] >> 4];
		out[i * 2 + 1] = hex[raw[i] & 0xf];
	}
	out[INV_TOKEN_LEN] = '\0';
	explicit_bzero(raw, need);
	return BOOTD_OK;
}

static enum bootd_err
revoke_tokens(struct inv *inv, int64_t host, struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = stmt(inv, S_TOKEN_REVOKE, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, host);
	return run(inv, s, "revoke tokens", err);
}

/*
 * Join the strings that follow size, up to a NULL, into out, cut to fit:
 * an audit value made for every host of a bulk change, without the cost
 * of snprintf().  Returns out.
 */
static const char *
join(char *out, size_t size, ...)
{
	va_list ap;
	const char *s;
	size_t n = 0, k;

	va_start(ap, size);
	while ((s = va_arg(ap, const char *)) != NULL) {
		k = strlen(s);
		if (k > size - 1 - n)
			k = size - 1 - n;
		memcpy(out + n, s, k);
		n += k;
	}
	va_end(ap);
	out[n] = '\0';
	return out;
}

/* Set the boot action of host, keeping its distribution. */
static enum bootd_err
set_action(struct inv *inv, int64_t host, const char *action,
    struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = stmt(inv, S_HOST_SET_ACTION, err)) == NULL)
		return inv->dbrc;
	bind_int(s, 1, host);
	bind_ref(s, 2, action);
	return run(inv, s, "set boot action", err);
}

enum bootd_err
install_flush(struct inv *inv, struct bootd_error *err)
{
	struct db_stmt *s;
	size_t i;

	if (inv->ninstall == 0)
		return BOOTD_OK;
	if ((s = stmt(inv, S_HOST_SET_INSTALL_BATCH, err)) == NULL) {
		inv->ninstall = 0;
		return inv->dbrc;
	}
	bind_ref(s, 1, inv->install_dist);
	/* Slots past the last host name it again: one row all the same. */
	for (i = 0; i < INSTALL_BATCH; i++)
		bind_int(s, (int)i + 2, inv->install_ids[i < inv->ninstall ?
		    i : inv->ninstall - 1]);
	inv->ninstall = 0;
	return run(inv, s, "set boot action", err);
}

/* Whether the group holds host back marked install. */
static int
install_held(const struct inv *inv, int64_t host)
{
	size_t i;

	for (i = 0; i < inv->ninstall; i++)
		if (inv->install_ids[i] == host)
			return 1;
	return 0;
}

/*
 * Mark host for installing dist.  Only a change of distribution writes
 * it: an UPDATE naming the column rewrites its index entry even when
 * the value stays (a quarter of the statement's cost in SQLite).
 *
 * Inside a group a change of distribution is held back and written with
 * the group's next INSTALL_BATCH - 1 (S_HOST_SET_INSTALL_BATCH), by the
 * group's next change or read of another kind, or by inv_commit()
 * (group_reads()): one UPDATE each that sets dist was a third of a bulk
 * set-reinstall, most of it SQLite's statement journal.  As with audit
 * rows, a failure to write them fails the change that filled the batch,
 * or the commit: the group is rolled back either way.
 */
static enum bootd_err
set_install(struct inv *inv, int64_t host, const struct hboot *hb,
    const char *dist, struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;

	if (strcmp(hb->dist, dist) == 0)
		return set_action(inv, host, "install", err);
	if (!inv->grouped) {
		if ((s = stmt(inv, S_HOST_SET_INSTALL, err)) == NULL)
			return inv->dbrc;
		bind_int(s, 1, host);
		bind_text(s, 2, dist);
		return run(inv, s, "set boot action", err);
	}
	if ((inv->ninstall == INSTALL_BATCH || (inv->ninstall > 0 &&
	    strcmp(inv->install_dist, dist) != 0)) &&
	    (rc = install_flush(inv, err)) != BOOTD_OK)
		return rc;
	if (inv->ninstall == 0)
		snprintf(inv->install_dist, sizeof(inv->install_dist), "%s",
		    dist);
	inv->install_ids[inv->ninstall++] = host;
	return BOOTD_OK;
}

/*
 * The distribution called name, for set_reinstall(): from inv->group_dist
 * when that is the one, else loaded (and kept there inside a group, where
 * the next host most likely installs the same).  *d is not the caller's
 * to free when *d == inv->group_dist.
 */
static enum bootd_err
reinstall_dist(struct inv *inv, const char *name, struct inv_dist **d,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if (inv->group_dist != NULL &&
	    strcmp(inv->group_dist->name, name) == 0) {
		*d = inv->group_dist;
		return BOOTD_OK;
	}
	if ((rc = load_dist(inv, name, d, err)) != BOOTD_OK)
		return rc;
	if (inv->grouped) {
		inv_dist_free(inv->group_dist);
		inv->group_dist = *d;
		inv->group_dist_plain = dist_plain(*d);
	}
	return BOOTD_OK;
}

/*
 * resolve_for_change() of host for set_reinstall() and set_local(): by
 * row id first when id is not 0 (a host the caller read, called fqdn
 * then).
 */
static enum bootd_err
resolve_host(struct inv *inv, const char *host, int64_t id,
    const char *fqdn, struct href *ref, struct hboot *hb,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if (id != 0 && fqdn != NULL && (rc = resolve_id_for_change(inv, id,
	    fqdn, ref, hb, err)) != BOOTD_ENOTFOUND)
		return rc;
	return resolve_for_change(inv, host, ref, hb, err);
}

/*
 * Mark host for reinstall of dist.  When id is not 0, host is the exact
 * name of a host the caller read with that row id: found by id while
 * the row still has that FQDN (resolve_id_for_change()), else by name.
 */
static enum bootd_err
set_reinstall(struct inv *inv, const char *host, int64_t id,
    const char *fqdn, const char *dist, int64_t now, long ttl,
    char token[INV_TOKEN_LEN + 1], struct bootd_error *err)
{
	char tok[INV_TOKEN_LEN + 1], o[160], n[160], when[32];
	struct href ref;
	struct hboot hb;
	struct inv_dist *d = NULL;
	struct db_stmt *s;
	enum bootd_err rc;

	if (ttl <= 0)
		return bootd_error_set(err, BOOTD_EINVAL, "token lifetime "
		    "must be positive, not %ld", ttl);
	/* The group's distribution came from the inventory: a valid name. */
	if (dist != NULL && (inv->group_dist == NULL ||
	    strcmp(inv->group_dist->name, dist) != 0) &&
	    (rc = valid_name("distribution", dist, err)) != BOOTD_OK)
		return rc;
	if ((rc = resolve_host(inv, host, id, fqdn, &ref, &hb, err)) !=
	    BOOTD_OK)
		return rc;
	/* Marked install earlier in the group: its row as it is to be. */
	if (install_held(inv, ref.id) &&
	    ((rc = install_flush(inv, err)) != BOOTD_OK ||
	    (rc = resolve_host(inv, host, id, fqdn, &ref, &hb, err)) !=
	    BOOTD_OK))
		return rc;
	if (dist == NULL && hb.dist[0] != '\0')
		dist = hb.dist;
	if (dist == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "host %s has no "
		    "distribution; name one to install", ref.fqdn);
	if ((rc = reinstall_dist(inv, dist, &d, err)) != BOOTD_OK)
		goto out;
	/* Any host has what the group's plain distribution needs. */
	if ((d != inv->group_dist || !inv->group_dist_plain) &&
	    (rc = check_attrs(inv, &ref, d, err)) != BOOTD_OK)
		goto out;
	if ((rc = make_token(inv, tok, err)) != BOOTD_OK ||
	    (rc = revoke_tokens(inv, ref.id, err)) != BOOTD_OK)
		goto out;
	if ((s = stmt(inv, S_TOKEN_INSERT, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	bind_ref(s, 1, tok);
	bind_int(s, 2, ref.id);
	bind_int(s, 3, now);
	bind_int(s, 4, now + (int64_t)ttl);
	if ((rc = run(inv, s, "store token", err)) != BOOTD_OK ||
	    (rc = set_install(inv, ref.id, &hb, d->name, err)) != BOOTD_OK)
		goto out;
	join(o, sizeof(o), "action=", hb.action == INV_ACTION_INSTALL ?
	    "install" : "local", " dist=", hb.dist[0] != '\0' ? hb.dist : "-",
	    (char *)NULL);
	join(n, sizeof(n), "action=install dist=", d->name, " expires=",
	    audit_time(now + (int64_t)ttl, when), (char *)NULL);
	if ((rc = audit(inv, now, "set-reinstall", ref.fqdn, o, n, err)) !=
	    BOOTD_OK)
		goto out;
	if (token != NULL)
		memcpy(token, tok, sizeof(tok));
out:
	if (d != inv->group_dist)
		inv_dist_free(d);
	return rc;
}

/* inv_set_reinstall() and _host(): set_reinstall() in a transaction. */
static enum bootd_err
reinstall(struct inv *inv, const char *host, int64_t id, const char *fqdn,
    const char *dist, int64_t now, long ttl, char token[INV_TOKEN_LEN + 1],
    struct bootd_error *err)
{
	struct inv_dist *keep;
	enum bootd_err rc;
	size_t held;

	/*
	 * tx_begin() forgets the group's distribution, as any change might
	 * alter it, and writes the hosts the group holds back marked
	 * install, as any change might read them: this one does neither
	 * (set_reinstall() writes a host it holds back before reading it
	 * again), so both are kept across.
	 */
	keep = inv->group_dist;
	held = inv->ninstall;
	inv->group_dist = NULL;
	inv->ninstall = 0;
	rc = tx_begin(inv, err);
	inv->ninstall = held;
	if (rc != BOOTD_OK) {
		inv_dist_free(keep);
		return rc;
	}
	inv->group_dist = keep;
	return tx_end(inv, set_reinstall(inv, host, id, fqdn, dist, now, ttl,
	    token, err), err);
}

enum bootd_err
inv_set_reinstall(struct inv *inv, const char *host, const char *dist,
    int64_t now, long ttl, char token[INV_TOKEN_LEN + 1],
    struct bootd_error *err)
{
	return reinstall(inv, host, 0, NULL, dist, now, ttl, token, err);
}

enum bootd_err
inv_set_reinstall_host(struct inv *inv, const struct inv_host *h,
    const char *dist, int64_t now, long ttl, char token[INV_TOKEN_LEN + 1],
    struct bootd_error *err)
{
	char x[INV_EXACT_NAME_MAX];

	return reinstall(inv, inv_exact_name(h->fqdn, x), h->id, h->fqdn,
	    dist, now, ttl, token, err);
}

/*
 * Set host back to local boot.  When id is not 0, host is the exact name
 * of a host the caller read with that row id, found as set_reinstall()
 * finds it.
 */
static enum bootd_err
set_local(struct inv *inv, const char *host, int64_t id, const char *fqdn,
    struct bootd_error *err)
{
	struct href ref;
	struct hboot hb;
	enum bootd_err rc;

	if ((rc = resolve_host(inv, host, id, fqdn, &ref, &hb, err)) !=
	    BOOTD_OK)
		return rc;
	/*
	 * Already booting locally: a token it may still hold (an expired
	 * or used one counts for nothing) is revoked, but nothing changes
	 * that an operator would read, so no "local -> local" row.
	 */
	if (hb.action == INV_ACTION_LOCAL)
		return revoke_tokens(inv, ref.id, err);
	if ((rc = revoke_tokens(inv, ref.id, err)) != BOOTD_OK ||
	    (rc = set_action(inv, ref.id, "local", err)) != BOOTD_OK)
		return rc;
	return audit(inv, time(NULL), "set-local", ref.fqdn, "action=install",
	    "action=local", err);
}

/* inv_set_local() and _host(): set_local() in a transaction. */
static enum bootd_err
to_local(struct inv *inv, const char *host, int64_t id, const char *fqdn,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, set_local(inv, host, id, fqdn, err), err);
}

enum bootd_err
inv_set_local(struct inv *inv, const char *host, struct bootd_error *err)
{
	return to_local(inv, host, 0, NULL, err);
}

enum bootd_err
inv_set_local_host(struct inv *inv, const struct inv_host *h,
    struct bootd_error *err)
{
	char x[INV_EXACT_NAME_MAX];

	return to_local(inv, inv_exact_name(h->fqdn, x), h->id, h->fqdn, err);
}

/*
 * a as inet_ntop(3) writes it, "192.0.2.1", into out (16 bytes at least):
 * glibc's goes through sprintf, a twentieth of every boot's answer.
 */
static void
ipv4_text(const struct in_addr *a, char *out)
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;
	char *o = out;
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			*o++ = '.';
		if (b[i] >= 100)
			*o++ = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			*o++ = (char)('0' + b[i] / 10 % 10);
		*o++ = (char)('0' + b[i] % 10);
	}
	*o = '\0';
}

enum bootd_err
inv_addr_canon(const char *addr, char out[INV_ADDR_MAX + 1],
    struct bootd_error *err)
{
	struct in6_addr a6;
	struct in_addr a4;
	char qa[QBUF];

	if (addr == NULL || *addr == '\0')
		return bootd_error_set(err, BOOTD_EINVAL, "no client address");
	if (strlen(addr) > INV_ADDR_MAX)
		return bootd_error_set(err, BOOTD_EINVAL, "client address "
		    "\"%s\" is too long", q(addr, qa));
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		ipv4_text(&a4, out);
		return BOOTD_OK;
	}
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return bootd_error_set(err, BOOTD_EINVAL, "client address "
		    "\"%s\" is not an IPv4 or IPv6 address", q(addr, qa));
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		ipv4_text(&a4, out);
	} else
		inet_ntop(AF_INET6, &a6, out, INV_ADDR_MAX + 1);
	return BOOTD_OK;
}

/*
 * Read the live token of the host owning MAC canon into tok, its host
 * into fqdn and its recorded fetch address into from ("" when none).
 * BOOTD_ENOTFOUND (err untouched) when there is none.
 */
static enum bootd_err
fetch_get(struct inv *inv, const char *canon, int64_t now,
    char tok[INV_TOKEN_LEN + 1], char fqdn[FQDN_BUF],
    char from[INV_ADDR_MAX + 1], struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;
	const char *t;

	if ((s = stmt(inv, S_TOKEN_FETCH_GET, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, canon);
	bind_int(s, 2, now);
	if ((rc = first_row(inv, s, "read token", err)) != BOOTD_OK)
		return rc;
	snprintf(tok, INV_TOKEN_LEN + 1, "%s",
	    db_column_text(s, 0));
	snprintf(fqdn, FQDN_BUF, "%s", db_column_text(s, 1));
	t = db_column_text(s, 2);
	snprintf(from, INV_ADDR_MAX + 1, "%s", t != NULL ? t : "");
	db_reset(s);
	return BOOTD_OK;
}

/* The write half of inv_token_fetched(), inside its transaction. */
static enum bootd_err
token_fetched(struct inv *inv, const char *canon, const char *addr,
    int64_t now, struct bootd_error *err)
{
	char tok[INV_TOKEN_LEN + 1], fqdn[FQDN_BUF], from[INV_ADDR_MAX + 1];
	char o[64], n[64];
	struct db_stmt *s;
	enum bootd_err rc;

	/* Read again: the token may have changed since the first look. */
	if ((rc = fetch_get(inv, canon, now, tok, fqdn, from, err)) != BOOTD_OK)
		return rc == BOOTD_ENOTFOUND ? bootd_error_set(err, rc,
		    "no live install token for MAC %s", canon) : rc;
	if (strcmp(from, addr) == 0)
		return BOOTD_OK;
	if ((s = stmt(inv, S_TOKEN_FETCH_SET, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, tok);
	bind_text(s, 2, addr);
	bind_int(s, 3, now);
	if ((rc = run(inv, s, "record install script fetch", err)) != BOOTD_OK)
		return rc;
	/*
	 * Changed less than a minute ago: keep the address (and write no
	 * audit row), so that fetching from alternating addresses cannot
	 * grow the inventory by more than one row a minute and token.
	 */
	if (db_changes(s) == 0)
		return BOOTD_OK;
	snprintf(o, sizeof(o), "fetched_from=%s", from);
	snprintf(n, sizeof(n), "fetched_from=%s", addr);
	return audit(inv, now, "install-fetch", fqdn, from[0] != '\0' ? o :
	    NULL, n, err);
}

enum bootd_err
inv_token_fetched(struct inv *inv, const char *mac, const char *addr,
    int64_t now, struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1], a[INV_ADDR_MAX + 1];
	char tok[INV_TOKEN_LEN + 1], fqdn[FQDN_BUF], from[INV_ADDR_MAX + 1];
	enum bootd_err rc;

	if ((rc = mac_canon(mac, canon, err)) != BOOTD_OK ||
	    (rc = inv_addr_canon(addr, a, err)) != BOOTD_OK)
		return rc;
	/* The same address again (the usual case): a read, no write. */
	if ((rc = tx_read(inv, err)) != BOOTD_OK)
		return rc;
	rc = tx_end(inv, fetch_get(inv, canon, now, tok, fqdn, from, err), err);
	if (rc == BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "no live install token for "
		    "MAC %s", canon);
	if (rc != BOOTD_OK || strcmp(from, a) == 0)
		return rc;
	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, token_fetched(inv, canon, a, now, err), err);
}

static enum bootd_err
install_done(struct inv *inv, const char *token, const char *addr,
    int bind_addr, int64_t now, struct inv_done *out,
    struct bootd_error *err)
{
	struct href ref;
	struct db_stmt *s;
	enum bootd_err rc = BOOTD_OK;
	int64_t expires;
	int used, revoked;
	char qt[QBUF], o[160], n[160], *dist = NULL;
	const char *from;

	if ((s = stmt(inv, S_TOKEN_GET, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, token);
	if ((rc = first_row(inv, s, "read token", err)) == BOOTD_ENOTFOUND)
		return bootd_error_set(err, rc, "unknown install token \"%s\"",
		    q(token, qt));
	if (rc != BOOTD_OK)
		return rc;
	fill_ref(s, &ref, NULL);
	snprintf(out->fqdn, sizeof(out->fqdn), "%s", ref.fqdn);
	from = db_column_text(s, 7);
	snprintf(out->fetched_from, sizeof(out->fetched_from), "%s",
	    from != NULL ? from : "");
	expires = db_column_int64(s, 2);
	used = !db_column_is_null(s, 3);
	revoked = db_column_int64(s, 4) != 0;
	if (col_dup(s, 6, &dist))
		rc = nomem(err);
	db_reset(s);
	if (rc != BOOTD_OK)
		return rc;
	if (used)
		rc = bootd_error_set(err, BOOTD_EEXPIRED, "install token of "
		    "host %s was already used", ref.fqdn);
	else if (revoked)
		rc = bootd_error_set(err, BOOTD_EEXPIRED, "install token of "
		    "host %s was revoked", ref.fqdn);
	else if (expires <= now)
		rc = bootd_error_set(err, BOOTD_EEXPIRED, "install token of "
		    "host %s expired", ref.fqdn);
	if (rc != BOOTD_OK)
		goto out;
	out->mismatch = addr == NULL || strcmp(addr, out->fetched_from) != 0;
	if (out->mismatch && bind_addr) {
		rc = bootd_error_set(err, BOOTD_EPERM, "done for host %s from "
		    "%s, but its install script was %s%s", ref.fqdn,
		    addr != NULL ? addr : "an unknown address",
		    out->fetched_from[0] != '\0' ? "fetched from " :
		    "never fetched", out->fetched_from);
		goto out;
	}
	if ((s = stmt(inv, S_TOKEN_USE, err)) == NULL) {
		rc = inv->dbrc;
		goto out;
	}
	bind_text(s, 1, token);
	bind_int(s, 2, now);
	if ((rc = run(inv, s, "use token", err)) != BOOTD_OK ||
	    (rc = set_action(inv, ref.id, "local", err)) != BOOTD_OK)
		goto out;
	snprintf(o, sizeof(o), "action=install dist=%s",
	    dist != NULL ? dist : "-");
	snprintf(n, sizeof(n), "action=local done_from=%s fetched_from=%s",
	    addr != NULL ? addr : "-",
	    out->fetched_from[0] != '\0' ? out->fetched_from : "-");
	rc = audit(inv, now, "install-done", ref.fqdn, o, n, err);
out:
	free(dist);
	return rc;
}

enum bootd_err
inv_install_done(struct inv *inv, const char *token, const char *addr,
    int bind_addr, int64_t now, struct inv_done *out,
    struct bootd_error *err)
{
	struct inv_done scratch;
	char a[INV_ADDR_MAX + 1];
	enum bootd_err rc;

	if (out == NULL)
		out = &scratch;
	memset(out, 0, sizeof(*out));
	if (token == NULL || *token == '\0')
		return bootd_error_set(err, BOOTD_ENOTFOUND, "no install "
		    "token given");
	/* An address that is none counts as unknown: never a match. */
	if (addr != NULL && inv_addr_canon(addr, a, NULL) == BOOTD_OK)
		addr = a;
	else
		addr = NULL;
	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, install_done(inv, token, addr, bind_addr, now, out,
	    err), err);
}
