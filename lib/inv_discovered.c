/*
 * inv_discovered.c - discovered MACs an operator forgot or adopted: the inventory's
 * side of discovered_forgotten (the MACs themselves are in events.c)
 */
#include "buf.h"
#include "inv.h"
#include "inv_int.h"
#include "mac.h"

/* Discovered MACs ------------------------------------------------------ */

static enum bootd_err
discovered_forget(struct inv *inv, const char *mac, const char *fqdn,
    const char *evidence, int64_t now, struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1], qm[QBUF];
	struct bootd_error merr;
	struct db_stmt *s;
	enum bootd_err rc;

	if (mac_canon(mac, canon, &merr) != BOOTD_OK)
		return bootd_error_set(err, BOOTD_EINVAL, "invalid MAC "
		    "\"%s\": %s", q(mac, qm), merr.text);
	if ((s = stmt(inv, S_FORGET_SET, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, canon);
	bind_int(s, 2, now);
	if ((rc = run(inv, s, "forget discovered MAC", err)) != BOOTD_OK)
		return rc;
	if (fqdn == NULL)
		return audit(inv, now, "discovered-forget", canon, evidence,
		    NULL, err);
	{
		struct buf b = { 0 };

		buf_printf(&b, "mac=%s%s%s", canon, evidence != NULL ? " " : "",
		    evidence != NULL ? evidence : "");
		rc = buf_failed(&b) ? nomem(err) : audit(inv, now,
		    "discovered-adopt", fqdn, NULL, buf_str(&b), err);
		buf_free(&b);
	}
	return rc;
}

enum bootd_err
inv_discovered_forget(struct inv *inv, const char *mac, const char *fqdn,
    const char *evidence, int64_t now, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = tx_begin(inv, err)) != BOOTD_OK)
		return rc;
	return tx_end(inv, discovered_forget(inv, mac, fqdn, evidence, now,
	    err), err);
}

enum bootd_err
inv_discovered_forgotten(struct inv *inv, const char *mac, int64_t *at,
    struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;
	int src;

	*at = 0;
	if ((s = stmt(inv, S_FORGET_GET, err)) == NULL)
		return inv->dbrc;
	bind_text(s, 1, mac);
	if ((src = step(inv, s)) > 0)
		*at = db_column_int64(s, 0);
	rc = src >= 0 ? BOOTD_OK :
	    dberr(inv, "read forgotten MACs", err);
	db_reset(s);
	return rc;
}
