/*
 * inv_int.h - what the files of the inventory share: private to lib/inv*.c
 *
 * The inventory is one module, prefix inv_, in one file per concept:
 * inv.c (open, close, schema and migrations, transactions, the statement
 * table and the helpers that run statements), inv_host.c (hosts, NICs,
 * attributes), inv_dist.c (distributions), inv_env.c (environments),
 * inv_token.c (install tokens and completion), inv_boot.c (the boot
 * lookup), inv_audit.c (the audit log) and inv_discovered.c (forgotten
 * discovered MACs).  The functions below are what one file uses of
 * another; everything else in each file is static.
 *
 * Every call of db.h goes through the helpers of inv.c (stmt(), step(),
 * exec_sql(), first_row(), read_rows()...), which keep the last failure
 * in struct inv for dberr(): the callers name what failed, as before.
 */
#ifndef BOOTD_INV_INT_H
#define BOOTD_INV_INT_H

#include <sys/types.h>

#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "inv.h"

#define FQDN_BUF	254	/* 253 characters and the NUL */
#define QBUF		72	/* a user-supplied value quoted in a message */
#define NAME_BUF	65	/* a distribution's name (64) and the NUL */

#define AUDIT_BATCH	16	/* audit rows a group writes at once */
#define INSTALL_BATCH	64	/* hosts a group marks install at once */

/* Every statement this module runs, prepared at most once per handle. */
enum stmt {
	S_AUDIT,
	S_AUDIT_BATCH,
	S_HOST_BY_FQDN,
	S_HOST_BY_MAC,
	S_HOST_BY_SHORT,
	S_HOST_FULL,
	S_HOST_FULL_BY_FQDN,
	S_HOST_ENV,
	S_HOST_ENV_BY_FQDN,
	S_LOOKUP,
	S_LOOKUP_DIST,
	S_HOST_MACS,
	S_HOST_ATTRS,
	S_HOST_IDS,
	S_HOST_INSERT,
	S_HOST_DELETE,
	S_HOST_RENAME,
	S_HOST_SET_ENV,
	S_HOST_SET_DIST,
	S_HOST_SET_ACTION,
	S_HOST_SET_INSTALL,
	S_HOST_SET_INSTALL_BATCH,
	S_NIC_INSERT,
	S_NIC_DELETE,
	S_NIC_COUNT,
	S_ATTR_GET,
	S_ATTR_SET,
	S_ATTR_DELETE,
	S_ENV_GET,
	S_ENV_ALL,
	S_ENV_INSERT,
	S_ENV_DELETE,
	S_ENV_SET_GROUP,
	S_ENV_USERS,
	S_DIST_NAMES,
	S_DIST_INSERT,
	S_DIST_UPDATE,
	S_DIST_DELETE,
	S_DIST_USERS,
	S_DIST_INSTALLING,
	S_INITRD_INSERT,
	S_INITRD_DELETE,
	S_TOKEN_REVOKE,
	S_TOKEN_INSERT,
	S_TOKEN_GET,
	S_TOKEN_USE,
	S_TOKEN_FETCH_GET,
	S_TOKEN_FETCH_SET,
	S_AUDIT_ALL,
	S_AUDIT_OBJ,
	S_COUNTS,
	S_FORGET_SET,
	S_FORGET_GET,
	S__MAX
};

#define HOST_COLS \
	"h.id, h.fqdn, h.env, h.action, h.dist, t.token, t.expires"
/* A host's live token, if any, at the time bound to placeholder p. */
#define LIVE_TOKEN_AT(p) \
	"LEFT JOIN token t ON t.host = h.id AND t.used_at IS NULL " \
	"AND t.revoked = 0 AND t.expires > " p " "
#define LIVE_TOKEN	LIVE_TOKEN_AT("$2")

/* An audit row a group has yet to write (audit()). */
struct audit_row {
	int64_t	time;
	size_t	at[5];		/* actor, op, object, old, new: offsets in
				   inv->audit_text; AUDIT_NULL for NULL */
};
#define AUDIT_NULL	((size_t)-1)

/*
 * Random bytes fetched at once for install tokens: a set-reinstall of
 * 10,000 hosts made 10,000 getrandom(2) calls, 16 bytes each.
 */
#define INV_RND_BYTES	(64 * (INV_TOKEN_LEN / 2))

struct inv {
	struct db	*db;
	char		*path;		/* as given to inv_open(), a
					   URI's password masked */
	int		 pg;		/* db is PostgreSQL (a URI) */
	enum inv_mode	 mode;
	int		 have_ident;	/* dev/ino below are valid */
	dev_t		 dev;
	ino_t		 ino;
	char		*actor;		/* for the audit log */
	struct db_stmt	*st[S__MAX];	/* prepared on first use */
	enum bootd_err	 dbrc;		/* the last failure of a db_ call */
	struct bootd_error dbe;		/* and its text (dberr()) */
	enum db_errclass dbclass;	/* and its class; DB_ERR_NONE once a
					   statement has run since
					   (inv_unavailable()) */
	inv_authorizer	 authz;		/* NULL: every change allowed */
	void		*authz_arg;
	int		 grouped;	/* inside inv_begin() ... inv_commit(),
					   or inv_read_begin() ... _end() */
	int		 group_read;	/* the group is inv_read_begin()'s */
	long		 group_writes;	/* changes begun in the group so far */
	int		 group_change;	/* the group's current step is a change,
					   not a read (tx_begin(), tx_read()) */
	int		 group_failed;	/* a change in the group failed */
	time_t		 analyzed;	/* when inv_commit() last ran ANALYZE */
	long		 commits;	/* write transactions committed
					   (inv_mark()) */
	int		 writing;	/* the transaction open is one */
	struct audit_row audit_rows[AUDIT_BATCH]; /* the group's audit rows
					   not written yet, in order */
	size_t		 naudit;
	struct buf	 audit_text;	/* their text */
	struct inv_dist	*group_dist;	/* the distribution the group's last
					   set-reinstall loaded; forgotten
					   by any other change and at the
					   group's end (inv_token.c) */
	int		 group_dist_plain; /* its templates are well formed
					   and use no attribute */
	int		 group_defer;	/* inv_defer_dist_checks(): the
					   distributions updated are checked
					   by inv_commit() */
	char		**group_updated; /* their names, each once */
	size_t		 ngroup_updated;
	int64_t		 install_ids[INSTALL_BATCH]; /* hosts the group's
					   set-reinstalls mark install with
					   install_dist, not written yet
					   (inv_token.c) */
	size_t		 ninstall;
	char		 install_dist[NAME_BUF];
	unsigned char	 rnd[INV_RND_BYTES]; /* random bytes for tokens, one
					   getrandom(2) for many (inv_token.c) */
	size_t		 nrnd;		/* how many at the start are unused */
};

/* A resolved host: its row id and FQDN. */
struct href {
	int64_t	id;
	char	fqdn[FQDN_BUF];
};

/* What a host boots, as resolve_for_change() reads it. */
struct hboot {
	enum inv_action	action;
	char		dist[NAME_BUF];	/* "" when it has none */
};

extern const char *const sqltab[S__MAX];
extern const char *const sqltab_pg[S__MAX];

/* inv.c */
enum bootd_err
dberr(struct inv *inv, const char *what, struct bootd_error *err);
int
step(struct inv *inv, struct db_stmt *s);
struct db_stmt *
prepare_once(struct inv *inv, const char *sql, struct bootd_error *err);
enum bootd_err
exec_sql(struct inv *inv, const char *sql);
enum bootd_err
nomem(struct bootd_error *err);
const char *
stmt_sql(const struct inv *inv, enum stmt id);
struct db_stmt *
stmt(struct inv *inv, enum stmt id, struct bootd_error *err);
void
bind_text(struct db_stmt *s, int i, const char *v);
/* bind_text() of a v that stays until s is reset (db_bind_text_ref()). */
void
bind_ref(struct db_stmt *s, int i, const char *v);
void
bind_int(struct db_stmt *s, int i, int64_t v);
enum bootd_err
run(struct inv *inv, struct db_stmt *s, const char *what,
    struct bootd_error *err);
enum bootd_err
run_int(struct inv *inv, struct db_stmt *s, int64_t *v, const char *what,
    struct bootd_error *err);
enum bootd_err
run_text(struct inv *inv, enum stmt id, const char *text, const char *what,
    struct bootd_error *err);
enum bootd_err
run_host(struct inv *inv, enum stmt id, int64_t host, const char *text,
    const char *what, struct bootd_error *err);
enum bootd_err
first_row(struct inv *inv, struct db_stmt *s, const char *what,
    struct bootd_error *err);
int
col_dup(struct db_stmt *s, int i, char **out);
/* Copy the text of column i of s into out of size bytes, cut to fit;
 * "" for NULL. */
void
col_copy(struct db_stmt *s, int i, char *out, size_t size);
void *
read_rows(struct inv *inv, struct db_stmt *s, size_t size,
    enum bootd_err (*fill)(struct db_stmt *, void *, struct bootd_error *),
    size_t *n, enum bootd_err *rc, const char *what, struct bootd_error *err);
enum bootd_err
fill_text(struct db_stmt *s, void *elem, struct bootd_error *err);
enum bootd_err
fill_id(struct db_stmt *s, void *elem, struct bootd_error *err);
enum bootd_err
fill_ref(struct db_stmt *s, void *elem, struct bootd_error *err);
int
lower_copy(const char *s, char *out, size_t size);
const char *
q(const char *s, char *buf);
enum bootd_err
tx_begin(struct inv *inv, struct bootd_error *err);
enum bootd_err
tx_read(struct inv *inv, struct bootd_error *err);
enum bootd_err
tx_end(struct inv *inv, enum bootd_err rc, struct bootd_error *err);

/*
 * The hosts a group holds back marked install (set_reinstall()) are
 * written by every change and read of the group but set-reinstall's own
 * (tx_begin(), tx_read()), and by what reads hosts outside those
 * (group_reads()) and inv_commit().
 */
enum bootd_err
group_reads(struct inv *inv, struct bootd_error *err);

/* inv_audit.c */
const char *
audit_time(int64_t t, char out[32]);
enum bootd_err
audit(struct inv *inv, int64_t now, const char *op, const char *object,
    const char *old, const char *new_, struct bootd_error *err);
/* Write the audit rows the group holds back (audit()). */
enum bootd_err
audit_flush(struct inv *inv, struct bootd_error *err);
/* Forget them: the group is rolled back. */
void
audit_drop(struct inv *inv);

/* inv_host.c */
enum bootd_err
resolve(struct inv *inv, const char *name, struct href *ref,
    struct bootd_error *err);
enum bootd_err
resolve_for_change(struct inv *inv, const char *name, struct href *ref,
    struct hboot *hb, struct bootd_error *err);
enum bootd_err
resolve_id_for_change(struct inv *inv, int64_t id, const char *fqdn,
    struct href *ref, struct hboot *hb, struct bootd_error *err);
enum bootd_err
load_host_id(struct inv *inv, int64_t id, int64_t now, struct inv_host **out,
    struct bootd_error *err);

/* inv_token.c */
/* Write the hosts the group holds back marked install. */
enum bootd_err
install_flush(struct inv *inv, struct bootd_error *err);

/* inv_dist.c */
enum bootd_err
load_dist(struct inv *inv, const char *name, struct inv_dist **out,
    struct bootd_error *err);
enum bootd_err
attr_get(struct inv *inv, int64_t id, const char *key, struct buf *o,
    struct bootd_error *err);
enum bootd_err
check_attrs(struct inv *inv, const struct href *ref, const struct inv_dist *d,
    struct bootd_error *err);
int
dist_uses_attr(const struct inv_dist *d, const char *key);
int
dist_plain(const struct inv_dist *d);
/* The checks inv_defer_dist_checks() held back, on the inventory as the
 * group leaves it. */
enum bootd_err
dist_check_deferred(struct inv *inv, struct bootd_error *err);

/* inv_env.c */
enum bootd_err
env_get(struct inv *inv, const char *name, struct inv_env **out,
    struct bootd_error *err);

#endif /* BOOTD_INV_INT_H */
