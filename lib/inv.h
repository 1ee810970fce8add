/*
 * inv.h - the inventory: hosts, NICs, environments, distributions,
 * attributes, install tokens and the audit log, in an SQLite file or a
 * PostgreSQL database
 *
 * All access to the database goes through this API (see DESIGN.md: keeping
 * every inventory access behind inv_ is what lets another storage engine
 * stand behind it).  The schema lives in sql/NNN-*.sql (SQLite) and
 * sql/postgresql/NNN-*.sql (PostgreSQL), compiled into the binaries;
 * inv_open() creates or migrates it.
 *
 * Hosts are named by FQDN, by short name when unambiguous, or by any of
 * their MACs (any spelling mac_parse() accepts): every function below that
 * takes "host" resolves it that way.
 *
 * Every change writes an audit row (actor, time, what, old -> new) in the
 * same transaction as the change.  Values are validated on the way in (see
 * valid.h); a refused change leaves the database unchanged.
 *
 * Strings in returned structs are owned by the struct and freed with its
 * *_free() function.
 *
 * Boot events, discovered MACs and hosts' last seen times are not in the
 * inventory: see events.h.
 */
#ifndef BOOTD_INV_H
#define BOOTD_INV_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define INV_TOKEN_LEN	32	/* install token: 32 lowercase hex chars */
#define INV_FQDN_MAX	253	/* longest FQDN */
#define INV_ADDR_MAX	45	/* longest client address (IPv6 text) */
#define INV_FILE_MODE	0660	/* a database file inv_open() creates */
#define INV_DEFAULT_ENV	"default"	/* exists in every database */

struct inv;			/* opaque database handle */

enum inv_mode {
	INV_RDONLY,		/* lookups only; the file must exist */
	INV_RDWR,		/* changes; the file must exist, is migrated
				   (on PostgreSQL: must be current) */
	INV_CREATE		/* as INV_RDWR, creating the file (the schema,
				   on PostgreSQL) if missing */
};

enum inv_action {
	INV_ACTION_LOCAL,	/* boot from local disk */
	INV_ACTION_INSTALL	/* install the host's distribution */
};

struct inv_kv {
	char	*key;
	char	*value;
};

struct inv_dist {
	char	 *name;		/* e.g. "debian-12" */
	char	 *kernel;	/* URL template */
	char	**initrds;	/* URL templates, at least one */
	size_t	  ninitrds;
	char	 *cmdline;	/* kernel command-line template */
};

struct inv_host {
	char		 *fqdn;
	char		 *env;		/* environment name */
	enum inv_action	  action;
	char		 *dist;		/* distribution name, or NULL */
	char		**macs;		/* canonical MACs, sorted */
	size_t		  nmacs;
	struct inv_kv	 *attrs;	/* sorted by key */
	size_t		  nattrs;
	char		 *token;	/* live install token, or NULL */
	int64_t		  token_expires; /* unix time; 0 when no token */
	int64_t		  id;		/* its row, as read; 0 when not read
					   from the inventory */
};

/* Everything needed to answer one boot request. */
struct inv_boot {
	struct inv_host	 *host;
	/*
	 * The distribution to install: set only when the host is marked
	 * install, names a distribution, and has an unexpired, unused token.
	 * NULL otherwise, and then the answer is local boot.
	 */
	struct inv_dist	 *dist;
	struct inv_dist	**manual;	/* distributions offered by name in the
					 * menu (cfg menu.manual_dists) */
	size_t		  nmanual;
};

struct inv_env {
	char	*name;
	char	*group;		/* unix group allowed to manage it; "" = admins */
};

struct inv_audit {
	int64_t	 id;
	int64_t	 time;
	char	*actor;		/* e.g. "alice (uid 1000)" */
	char	*op;		/* e.g. "set-reinstall" */
	char	*object;	/* e.g. the FQDN */
	char	*old_value;	/* may be NULL */
	char	*new_value;	/* may be NULL */
};

struct inv_counts {
	int64_t	hosts, nics, dists, envs, installing;
};

/* Open, close, schema ------------------------------------------------- */

/*
 * Open the database at path: an SQLite file, or a PostgreSQL database
 * when path is a postgresql:// or postgres:// URI (db_is_uri()).
 * INV_CREATE creates the file (mode INV_FILE_MODE, whatever the umask) and
 * schema; INV_RDWR and INV_CREATE migrate an older schema in one
 * transaction; INV_RDONLY refuses an outdated schema.  A schema newer than
 * this binary is refused with BOOTD_EVERSION.  Foreign keys on, WAL, busy
 * timeout, synchronous=FULL (a change is durable once committed), and
 * SQLITE_FCNTL_PERSIST_WAL: the -wal and -shm files stay when the
 * connection closes (dbdir.h says why).  inv_open() does not check the
 * directory: callers run dbdir_check() first.  The caller closes *out with
 * inv_close().
 *
 * On PostgreSQL, INV_RDONLY is a read-only connection (a hot standby serves
 * it); INV_RDWR needs the schema there at this binary's version (a database
 * without the table schema_version, or with an older schema, is refused:
 * "bootctl init" makes or upgrades it, never a bootd of one site under the
 * others); INV_CREATE makes it in a database that has none (the database
 * itself must exist) and migrates an older one.  Schema versions mean the
 * same on both engines.  Migrations take an advisory lock, so that processes
 * opening at once migrate one after the other.  A server that cannot be
 * reached is BOOTD_EDB, with a one-line error that never holds the URI's
 * password.
 */
enum bootd_err	 inv_open(const char *path, enum inv_mode mode, struct inv **out,
		    struct bootd_error *err);
void		 inv_close(struct inv *inv);	/* accepts NULL */

/*
 * Let inv's page cache grow to mib MiB (SQLite; nothing on PostgreSQL,
 * whose server caches).  For a process that changes many hosts at once:
 * SQLite's default of 2 MiB held a fifth of the pages a set-reinstall of
 * 10,000 hosts touches, and the rest went through the kernel again and
 * again (inv.c says more).  Memory is taken only as pages are read.
 */
void		 inv_cache_mib(struct inv *inv, int mib);

/* Schema version this binary writes. This function can't fail. */
int		 inv_schema_latest(void);

/* Read the schema version from the database (a real query). */
enum bootd_err	 inv_schema_version(struct inv *inv, int *version,
		    struct bootd_error *err);

/*
 * Group the changes that follow into one transaction, all or nothing:
 * inv_begin() takes the write lock (waiting at most the busy timeout),
 * every change until inv_commit() joins it, inv_commit() makes them durable
 * together and inv_rollback() discards them all.  A change that fails
 * returns its error as usual and fails the group: it may have written part
 * of itself, so inv_commit() then rolls back and refuses (BOOTD_EDB).  A
 * read that fails (a host not found) does not.  The group's audit rows
 * are written a few at a time, the last by inv_commit(), and so are the
 * hosts its set-reinstalls give a new distribution, whatever of the group
 * reads or changes hosts next seeing them written: a failure to write
 * them fails that later change or read of the group, or the commit, and
 * nothing is changed either way.  Without inv_begin() every change is a
 * transaction of its own.
 */
enum bootd_err	 inv_begin(struct inv *inv, struct bootd_error *err);
enum bootd_err	 inv_commit(struct inv *inv, struct bootd_error *err);
void		 inv_rollback(struct inv *inv);	/* no-op when none is open */

/*
 * In the group of changes open (inv_begin()), check each distribution
 * inv_dist_update() changes as the group ends instead of at once: every
 * host then marked install with it must have each attribute its
 * templates use.  A group that updates a distribution and gives its
 * hosts what the new templates use (or moves them off it, or sets them
 * to local boot) is consistent in the end though not after each change:
 * bootctl import.  inv_commit() makes the checks and refuses the group
 * (rolled back, the host and the attribute named, BOOTD_EINVAL) when a
 * host lacks one.  BOOTD_EINVAL when no group of changes is open.
 */
enum bootd_err	 inv_defer_dist_checks(struct inv *inv,
		    struct bootd_error *err);

/*
 * Group the reads that follow into one read transaction, until
 * inv_read_end(): they see the inventory as it was at the first of them,
 * and pay for one transaction instead of one each (thousands of hosts
 * named to bootctl: on SQLite a lock and an unlock of the WAL each, and
 * the page cache dropped whenever bootd had committed in between).  A
 * change inside fails (BOOTD_EINVAL).  inv_read_end() without a group of
 * reads open does nothing.
 */
enum bootd_err	 inv_read_begin(struct inv *inv, struct bootd_error *err);
void		 inv_read_end(struct inv *inv);

/* A mark of the inventory as one handle saw it (inv_mark()). */
struct inv_mark {
	int64_t	version;	/* SQLite's PRAGMA data_version */
	long	commits;	/* the handle's own commits */
	int	known;		/* 0: none could be taken */
};

/*
 * Mark the inventory as inv sees it now, before reading what a later
 * change depends on.  On PostgreSQL, or when the mark cannot be read, the
 * mark is unknown.  This function can't fail.
 */
void		 inv_mark(struct inv *inv, struct inv_mark *m);

/*
 * Return 1 when nothing has been committed to the inventory since m was
 * taken, by inv or by any other connection: what was read after the mark
 * is still what the inventory holds, and inside inv_begin()'s transaction
 * stays so until its end.  0 when something was, or when that cannot be
 * told (an unknown mark, a failure): the caller then reads again.
 */
int		 inv_unchanged(struct inv *inv, const struct inv_mark *m);

/* Milliseconds to wait on a locked database before BOOTD_EBUSY. */
void		 inv_set_busy_timeout(struct inv *inv, int ms);

/*
 * PostgreSQL: milliseconds one statement may wait for the server before
 * the connection is given up (db_set_deadline(); 0, the default: no
 * bound); inv_unavailable() is then 1.  Nothing for SQLite.
 */
void		 inv_set_deadline(struct inv *inv, int ms);

/* Who is making changes, for the audit log.  Copied. */
enum bootd_err	 inv_set_actor(struct inv *inv, const char *actor);

/*
 * Return 1 when the file at the path inv was opened from is gone or is no
 * longer the file that was opened (deleted, replaced), else 0.  Used by the
 * daemon to reopen.  Always 0 for a PostgreSQL inventory (see
 * inv_unavailable()).  This function can't fail.
 */
int		 inv_stale(struct inv *inv);

/*
 * Return 1 when the last failure of a call on inv means that this server
 * cannot serve it: the connection is lost or no server is reachable
 * (db.h's DB_ERR_CONN), or a change was refused because the server is
 * read-only (DB_ERR_READONLY: a PostgreSQL hot standby); else 0, also once
 * a statement has run on inv since.  The caller then closes inv and opens
 * it again later: for a URI, libpq picks the server again (after a
 * failover, the promoted one).  inv may be NULL.  This function can't
 * fail.
 */
int		 inv_unavailable(const struct inv *inv);

/*
 * Return 1 when inv reads from a PostgreSQL hot standby (it replays the
 * primary's changes, a moment late); 0 for SQLite, a primary and NULL.
 * This function can't fail.
 */
int		 inv_is_standby(const struct inv *inv);

/*
 * For inv on a PostgreSQL hot standby: into *replayed the position of the
 * primary's log it has replayed, into *behind the bytes of log it has
 * received and not replayed yet (bytes; 0 when not streaming).  A standby
 * whose replay stands still while *behind is above 0 serves old answers:
 * paused, or held back by a query that conflicts.  BOOTD_EINVAL for
 * SQLite or a primary.
 */
enum bootd_err	 inv_standby_replay(struct inv *inv, int64_t *replayed,
		    int64_t *behind, struct bootd_error *err);

/* Authorization ------------------------------------------------------- */

/*
 * Decides whether host fqdn may be changed in, or put into, environment
 * env whose unix group is group ("" = administrators only).  Returns
 * BOOTD_OK to allow; anything else, with err filled (one line, e.g.
 * BOOTD_EPERM "permission denied: ..."), refuses the change.
 */
typedef enum bootd_err (*inv_authorizer)(const char *fqdn, const char *env,
		    const char *group, void *arg, struct bootd_error *err);

/*
 * Every change to a host (add, remove, rename, set-env, set-dist, NICs,
 * attributes, reinstall, local) calls fn inside its own write
 * transaction, with the host found by row id as that transaction sees it
 * (set-env also asks about the new environment, add about the new host's),
 * so a host renamed or moved since the caller last looked is judged as it
 * is when it is written.  A refusal rolls the change back.  fn NULL (the
 * default) allows everything; arg is passed to fn.  inv_install_done() is
 * not a host change made by a caller and is not asked.
 */
void		 inv_set_authorizer(struct inv *inv, inv_authorizer fn,
		    void *arg);

/* Hosts and NICs ------------------------------------------------------ */

enum bootd_err	 inv_host_add(struct inv *inv, const char *fqdn,
		    const char *const *macs, size_t nmacs, const char *env,
		    struct bootd_error *err);	/* env NULL = "default" */
/* As inv_host_add(), and sets distribution dist (NULL: none) in the same
 * transaction: a refused dist leaves no host behind. */
enum bootd_err	 inv_host_add_dist(struct inv *inv, const char *fqdn,
		    const char *const *macs, size_t nmacs, const char *env,
		    const char *dist, struct bootd_error *err);
/*
 * Add host h (fqdn, env, dist, macs, attrs; action local) in one change
 * with one audit row ("host-add", naming everything it has): what an
 * import of many hosts uses instead of host add, set-dist and attr set
 * for each.  Validated and authorized as those are.
 */
enum bootd_err	 inv_host_import(struct inv *inv, const struct inv_host *h,
		    struct bootd_error *err);
enum bootd_err	 inv_host_remove(struct inv *inv, const char *host,
		    struct bootd_error *err);
enum bootd_err	 inv_host_rename(struct inv *inv, const char *host,
		    const char *newfqdn, struct bootd_error *err);
enum bootd_err	 inv_host_set_env(struct inv *inv, const char *host,
		    const char *env, struct bootd_error *err);
enum bootd_err	 inv_host_set_dist(struct inv *inv, const char *host,
		    const char *dist, struct bootd_error *err); /* NULL clears */
enum bootd_err	 inv_nic_add(struct inv *inv, const char *host, const char *mac,
		    struct bootd_error *err);
enum bootd_err	 inv_nic_remove(struct inv *inv, const char *mac,
		    struct bootd_error *err);	/* a host keeps >= 1 NIC */

/*
 * fqdn as a name that resolves to that host alone: itself when dotted,
 * else with a dot after it ("db1." is the host named db1; plain "db1"
 * is also db1.example.org's short name, and then ambiguous).  For
 * naming a host already selected; returns fqdn or buf.
 */
#define INV_EXACT_NAME_MAX	256
const char	*inv_exact_name(const char *fqdn,
		    char buf[INV_EXACT_NAME_MAX]);
/*
 * The FQDN a host name spells, for a host that may be gone (the audit
 * log names hosts by FQDN): name lowercased, without the dot that ends a
 * whole FQDN ("Db1." is db1, "Web1.Example.ORG." web1.example.org), when
 * it is dotted or a whole FQDN and a valid FQDN; else name itself.
 * Returns name or buf.
 */
const char	*inv_name_fqdn(const char *name,
		    char buf[INV_EXACT_NAME_MAX]);
/*
 * Resolve a host name (FQDN, short name, MAC; a name ending in a dot is
 * a whole FQDN only) to its FQDN; caller frees.
 */
enum bootd_err	 inv_host_resolve(struct inv *inv, const char *host,
		    char **fqdn, struct bootd_error *err);
/* The whole host.  The caller frees *out with inv_host_free(). */
enum bootd_err	 inv_host_get(struct inv *inv, const char *host,
		    struct inv_host **out, struct bootd_error *err);
void		 inv_host_free(struct inv_host *h);	/* accepts NULL */
/* Free what h holds, not h itself (a host in an array); h is zeroed. */
void		 inv_host_clear(struct inv_host *h);
/* Call fn for every host, sorted by FQDN; a non-zero return stops. */
enum bootd_err	 inv_host_each(struct inv *inv,
		    int (*fn)(const struct inv_host *, void *), void *arg,
		    struct bootd_error *err);

/*
 * Every host, sorted by FQDN, read from one snapshot in a constant number
 * of scans (for selecting among many hosts).  *out gets *n hosts; the
 * caller frees them with inv_host_list_free().
 */
enum bootd_err	 inv_host_list(struct inv *inv, struct inv_host ***out,
		    size_t *n, struct bootd_error *err);
void		 inv_host_list_free(struct inv_host **hs, size_t n);
/*
 * Call fn with the FQDN of every host that starts with prefix, sorted (one
 * range of the FQDN index: for completion).  A non-zero return stops.
 */
enum bootd_err	 inv_host_names(struct inv *inv, const char *prefix,
		    int (*fn)(const char *, void *), void *arg,
		    struct bootd_error *err);

/* Attributes ---------------------------------------------------------- */

enum bootd_err	 inv_attr_set(struct inv *inv, const char *host,
		    const char *key, const char *value, struct bootd_error *err);
/* Refused while the host's distribution's templates use the key. */
enum bootd_err	 inv_attr_unset(struct inv *inv, const char *host,
		    const char *key, struct bootd_error *err);

/* Environments -------------------------------------------------------- */

enum bootd_err	 inv_env_add(struct inv *inv, const char *name,
		    const char *group, struct bootd_error *err);
/* Change the unix group of environment name ("" = admins only); the
 * same group again changes nothing and writes no audit row. */
enum bootd_err	 inv_env_set_group(struct inv *inv, const char *name,
		    const char *group, struct bootd_error *err);
enum bootd_err	 inv_env_remove(struct inv *inv, const char *name,
		    struct bootd_error *err);	/* refused while hosts use it */
enum bootd_err	 inv_env_get(struct inv *inv, const char *name,
		    struct inv_env **out, struct bootd_error *err);
void		 inv_env_free(struct inv_env *e);
enum bootd_err	 inv_env_each(struct inv *inv,
		    int (*fn)(const struct inv_env *, void *), void *arg,
		    struct bootd_error *err);

/* Distributions ------------------------------------------------------- */

/* Templates are checked with tmpl_check(). */
enum bootd_err	 inv_dist_add(struct inv *inv, const struct inv_dist *d,
		    struct bootd_error *err);
/* Replace the fields of the distribution named d->name. */
enum bootd_err	 inv_dist_update(struct inv *inv, const struct inv_dist *d,
		    struct bootd_error *err);
enum bootd_err	 inv_dist_remove(struct inv *inv, const char *name,
		    struct bootd_error *err);	/* refused while hosts use it */
enum bootd_err	 inv_dist_get(struct inv *inv, const char *name,
		    struct inv_dist **out, struct bootd_error *err);
void		 inv_dist_free(struct inv_dist *d);	/* accepts NULL */
/* Free what d holds, not d itself; d is zeroed. */
void		 inv_dist_clear(struct inv_dist *d);
enum bootd_err	 inv_dist_each(struct inv *inv,
		    int (*fn)(const struct inv_dist *, void *), void *arg,
		    struct bootd_error *err);
/*
 * Call fn with the FQDN of every host marked install with distribution
 * name, sorted, read from one snapshot (an index range, not every host).
 * A non-zero return stops.
 */
enum bootd_err	 inv_dist_installing(struct inv *inv, const char *name,
		    int (*fn)(const char *, void *), void *arg,
		    struct bootd_error *err);

/* Reinstall ----------------------------------------------------------- */

/*
 * Mark host for reinstall of dist (NULL: the host's current distribution;
 * none is an error) with a fresh single-use token valid for ttl seconds
 * from now.  Any earlier token of the host is invalidated.  Refused when
 * the distribution's templates use attributes the host lacks.  When token
 * is not NULL the new token is copied there.
 */
enum bootd_err	 inv_set_reinstall(struct inv *inv, const char *host,
		    const char *dist, int64_t now, long ttl,
		    char token[INV_TOKEN_LEN + 1], struct bootd_error *err);
/*
 * inv_set_reinstall() of h, a host as the caller read it (inv_host_get(),
 * inv_host_list()): found by its row (h->id) while that row still has
 * h->fqdn, a search cheaper than by name, else by that FQDN as
 * inv_set_reinstall() finds it.  What h holds besides is not used: the
 * host's environment, action and distribution are read again.
 */
enum bootd_err	 inv_set_reinstall_host(struct inv *inv,
		    const struct inv_host *h, const char *dist, int64_t now,
		    long ttl, char token[INV_TOKEN_LEN + 1],
		    struct bootd_error *err);
/* Back to local boot; the token, if any, is invalidated.  A host already
 * booting locally changes nothing and writes no audit row. */
enum bootd_err	 inv_set_local(struct inv *inv, const char *host,
		    struct bootd_error *err);
/*
 * inv_set_local() of h, a host as the caller read it: found by its row
 * while that row still has h->fqdn, else by that FQDN, as
 * inv_set_reinstall_host() finds it.  What h holds besides is not used.
 */
enum bootd_err	 inv_set_local_host(struct inv *inv,
		    const struct inv_host *h, struct bootd_error *err);
/* What inv_install_done() found out about a done request. */
struct inv_done {
	char	fqdn[INV_FQDN_MAX + 1];	/* the token's host; "" when unknown */
	char	fetched_from[INV_ADDR_MAX + 1]; /* address that fetched the
					 * install script; "" when none */
	int	mismatch;		/* live token, and the done came from
					 * another address than fetched_from
					 * (or none was recorded) */
};

/*
 * The installer reports completion with token from client address addr
 * (any spelling inv_addr_canon() accepts; NULL or not an address: unknown,
 * which never matches): the host goes back to local boot, the token is
 * consumed and the audit row names both addr and the address that fetched
 * the install script.  BOOTD_ENOTFOUND for an unknown token,
 * BOOTD_EEXPIRED for a used or expired one; nothing changes then.  When
 * bind_addr is set and addr is not the address recorded by
 * inv_token_fetched(), or none was recorded, BOOTD_EPERM and nothing
 * changes.  out (may be NULL) is filled in every case where the token was
 * found.
 */
enum bootd_err	 inv_install_done(struct inv *inv, const char *token,
		    const char *addr, int bind_addr, int64_t now,
		    struct inv_done *out, struct bootd_error *err);

/*
 * Note that client address addr fetched the install script of the host
 * owning mac: recorded on that host's live token, with the time now.  An
 * address already recorded costs one read and no write; a new one is
 * written with an audit row ("install-fetch", old -> new address), at most
 * once a minute: within a minute of the last change the recorded address
 * stays, so fetches from alternating addresses cannot grow the inventory.
 * BOOTD_ENOTFOUND when the host has no live token (or mac no host),
 * BOOTD_EINVAL for a malformed MAC or address.
 */
enum bootd_err	 inv_token_fetched(struct inv *inv, const char *mac,
		    const char *addr, int64_t now, struct bootd_error *err);

/*
 * Write the canonical text of client address addr into out: an IPv4
 * dotted quad, or lowercase compressed IPv6; an IPv4-mapped IPv6 address
 * becomes its IPv4 address.  BOOTD_EINVAL for anything else.
 */
enum bootd_err	 inv_addr_canon(const char *addr, char out[INV_ADDR_MAX + 1],
		    struct bootd_error *err);

/* The hot path -------------------------------------------------------- */

/*
 * One indexed lookup of mac (canonical or any accepted spelling): host,
 * environment, action, distribution, attributes, token; what a script
 * needs and no more (out->host's macs, last_seen and last_served are left
 * empty: inv_host_get() has them).  manual names the distributions to
 * offer for manual install (missing ones are skipped).  Everything comes
 * from one snapshot of the database.  BOOTD_ENOTFOUND for an unknown MAC.
 * The caller frees with inv_boot_free().  Statements are prepared once
 * per handle.
 */
enum bootd_err	 inv_lookup(struct inv *inv, const char *mac, int64_t now,
		    const char *const *manual, size_t nmanual,
		    struct inv_boot *out, struct bootd_error *err);
void		 inv_boot_free(struct inv_boot *b);	/* frees members */

/*
 * Call fn with the SQL and the query plan of every statement inv_lookup()
 * runs, so that a test can check each is indexed: on SQLite EXPLAIN QUERY
 * PLAN (one line per loop, each ending in '\n'); on PostgreSQL EXPLAIN's
 * text (one line per line) of the generic plan, the one for any value of
 * the parameters, made with sequential scans and sorts priced out
 * (enable_seqscan, enable_sort off): a Seq Scan in it means that no
 * index can serve the statement, whatever the tables' sizes (the planner
 * rightly reads a table of a few rows whole), a Sort that no index gives
 * the order needed.  A non-zero return from fn stops the walk.
 */
enum bootd_err	 inv_lookup_plans(struct inv *inv,
		    int (*fn)(const char *sql, const char *plan, void *arg),
		    void *arg, struct bootd_error *err);

/* Listings ------------------------------------------------------------ */

/*
 * Audit rows, oldest first; object NULL = all, else rows about that host
 * (or, when object names no host, the FQDN it spells: a host that is
 * gone), including the rows of the names it had before a host-rename, up
 * to that rename.  An ambiguous short name is BOOTD_EINVAL, as in
 * inv_host_resolve(); name a host already selected by inv_exact_name().
 */
enum bootd_err	 inv_audit_each(struct inv *inv, const char *object,
		    int (*fn)(const struct inv_audit *, void *), void *arg,
		    struct bootd_error *err);
/*
 * Discovered MACs live in the events database, which only bootd writes;
 * what operators do about them is kept here (sql/004).  Note that mac
 * was dealt with at time now: the discovered listing leaves it out
 * unless it asks again after now.  With fqdn NULL it was forgotten
 * (audit row "discovered-forget", object the MAC, old value evidence);
 * else it was adopted as host fqdn (audit row "discovered-adopt" on the
 * host, new value "mac=MAC evidence").  evidence (may be NULL) says
 * what the boot network reported about it.
 */
enum bootd_err	 inv_discovered_forget(struct inv *inv, const char *mac,
		    const char *fqdn, const char *evidence, int64_t now,
		    struct bootd_error *err);
/* When mac was last forgotten or adopted: *at, 0 when never. */
enum bootd_err	 inv_discovered_forgotten(struct inv *inv, const char *mac,
		    int64_t *at, struct bootd_error *err);
enum bootd_err	 inv_counts(struct inv *inv, struct inv_counts *c,
		    struct bootd_error *err);

#endif /* BOOTD_INV_H */
