/*
 * events.h - the events database: boot events, discovered MACs and when
 * each host's MACs last booted, in an SQLite file of their own or in the
 * schema "events" of the inventory's PostgreSQL database
 *
 * The inventory (inv.h) holds what operators decide; this file holds what
 * the boot network reports.  bootd writes it (events_record() after each
 * answer, events_prune() for retention); bootctl only reads it.  Its size
 * is capped: daemon.events_max boot events and daemon.discovered_max
 * discovered MACs, the oldest going first.  See lib/events.c for why it is
 * a file of its own.
 *
 * Strings handed to callbacks are borrowed: valid during the call only.
 */
#ifndef BOOTD_EVENTS_H
#define BOOTD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define EVENTS_FILE_MODE	0660	/* a file events_open() creates */

struct events;				/* opaque handle */

struct events_event {			/* one answered boot request */
	const char	*mac;		/* canonical */
	const char	*fqdn;		/* NULL for an unknown MAC */
	const char	*served;	/* "install","local","unknown","failsafe" */
	const char	*params;	/* "k=v k=v" or NULL */
	const char	*addr;		/* client address (REMOTE_ADDR) or NULL */
	int64_t		 time;
};

struct events_limits {			/* from cfg; 0 = unlimited */
	long		 max_events;	/* cfg daemon.events_max */
	long		 max_discovered; /* cfg daemon.discovered_max */
	long		 retention_days; /* cfg daemon.event_retention_days */
};

struct events_stats {			/* filled by events_record */
	long		 written;	/* events stored */
	long		 evicted;	/* old rows removed to stay under a cap */
};

struct events_discovered {		/* one discovered MAC */
	const char	*mac;		/* canonical */
	int64_t		 first_seen;
	int64_t		 last_seen;
	int64_t		 count;		/* requests seen */
	const char	*params;	/* of the last request, or NULL */
	const char	*addr;		/* of the last request, or NULL */
};

struct events_counts {
	int64_t		 events;	/* boot events stored */
	int64_t		 discovered;	/* discovered MACs stored */
};

/* Open, close, schema ------------------------------------------------- */

/*
 * Open the events database at path read-write.  With create set, a
 * missing file is created (mode EVENTS_FILE_MODE whatever the umask,
 * never through a symbolic link); without it a missing file is an error.
 * The schema is created or migrated in one transaction; a schema newer
 * than this binary is refused with BOOTD_EVERSION.  WAL,
 * synchronous=NORMAL, a bounded WAL, temporary storage in memory.  The
 * caller closes *out with events_close().
 *
 * path may be a PostgreSQL URI (db_is_uri()): the events are then the
 * schema "events" of that database (sql/postgresql/events/), created or
 * migrated, under an advisory lock, only when create is set (bootctl
 * init); without it a missing or older schema is an error, since the
 * database is every site's; the connection's search_path is "events".
 * BOOTD_EDB when no server
 * is reachable; messages never show the URI's password.
 */
enum bootd_err	 events_open(const char *path, int create, struct events **out,
		    struct bootd_error *err);
/*
 * Open the events database at path for reading only (bootctl): never
 * creates or migrates anything.  BOOTD_ENOTFOUND when the file does not
 * exist or has no schema yet (nothing was recorded yet: the recorder
 * makes it), BOOTD_EVERSION when its schema is
 * newer than this binary, BOOTD_EDB when it is older.  A PostgreSQL URI
 * is opened read-only (a hot standby does); a database without the
 * schema "events" is BOOTD_ENOTFOUND.
 */
enum bootd_err	 events_open_readonly(const char *path, struct events **out,
		    struct bootd_error *err);
void		 events_close(struct events *ev);	/* accepts NULL */

/* Schema version this binary writes.  This function can't fail. */
int		 events_schema_latest(void);

/*
 * Milliseconds to wait on a locked events file (PostgreSQL: a locked
 * row) before BOOTD_EBUSY.
 */
void		 events_set_busy_timeout(struct events *ev, int ms);

/*
 * pause(arg) is called between the statements that store a batch
 * (events_record(), at most every CHUNK events), inside its transaction;
 * NULL (the default): nothing.  The recorder gives up its core there
 * while it keeps up, so that a batch is stored in short turns
 * (recorder.c, pause_batch()).
 */
void		 events_set_pause(struct events *ev, void (*pause)(void *),
		    void *arg);

/*
 * PostgreSQL: milliseconds one statement may wait for the server before
 * the connection is given up (db_set_deadline(); 0, the default: no
 * bound); events_unavailable() is then 1, as it is when the server
 * cancels a statement that ran a tenth shorter than that (its
 * statement_timeout).  Nothing for SQLite.
 */
void		 events_set_deadline(struct events *ev, int ms);

/*
 * After a call on ev failed: 1 when the failure means that this server
 * cannot serve it now (the connection is lost, no server is reachable,
 * a write met a read-only server, a hot standby whose primary is down,
 * or the server cancelled a statement that ran past its
 * statement_timeout: slow, as a primary in a storm of writes can be),
 * else 0.  The caller then closes ev and opens a new handle
 * later: libpq picks the server again, after a failover the promoted
 * one.  For SQLite: the file cannot be opened, or is read-only.  ev may
 * be NULL (0).  This function can't fail.
 */
int		 events_unavailable(const struct events *ev);

/*
 * The default events database for the inventory at database: the same
 * directory, the basename's trailing ".db" replaced by "-events.db"
 * ("-events.db" appended when it has none); for a PostgreSQL URI the
 * same URI (the schema "events" of the same database).  Returns a new
 * string the caller frees, or NULL when out of memory.
 */
char		*events_default_path(const char *database);

/* Writing ------------------------------------------------------------- */

/*
 * Store the n events of evs in one transaction, with statements prepared
 * once per handle: a boot event row each; for a known MAC (fqdn set) its
 * last seen time and what was served, and it leaves the discovered list;
 * for an unknown MAC the discovered list (first/last seen, count, last
 * parameters and address).  Then the caps of lim (NULL: none) are
 * enforced, oldest first: boot events by record order, discovered MACs by
 * last seen.  st (may be NULL) receives the counts.  Any invalid event
 * (MAC not canonical, no time) refuses the whole batch with BOOTD_EINVAL
 * and stores nothing.  Waits at most the busy timeout; BOOTD_EBUSY then.
 */
enum bootd_err	 events_record(struct events *ev,
		    const struct events_event *evs, size_t n,
		    const struct events_limits *lim, struct events_stats *st,
		    struct bootd_error *err);

/*
 * From now on, the last seen times of ev's batches are held in memory
 * and written to the file later, by events_write_seen(), until ev is
 * closed; first it takes again what a handle closed or killed before
 * writing held (the boots past the mark: see events.c).  events_seen()
 * stays exact meanwhile.  For the recorder: "seen" is then written once
 * per page for many boots, not once per boot.  At most EVENTS_HELD_MAX
 * are held; past that, batches write theirs themselves.  SQLite only; on
 * PostgreSQL nothing changes (BOOTD_OK).
 *
 * The recorder begins a sweep when half of EVENTS_HELD_MAX are held, and
 * at 45k boots a second that must not come much sooner than its ten
 * seconds: a sweep of few boots against a large "seen" finds few of them
 * on the same page, and a recorder that cannot keep up ends up writing
 * with each batch.  At 65536, under bench/run's load, the recorder came
 * to 7 to 9 us an event after its first seconds at 100,000 hosts (4 to 5
 * at 1,000,000) and dropped events in most full runs; at 262144, 2.5 to
 * 3 (3 to 5), with more requests answered and none dropped in the same
 * rounds, for about 25 MiB more of its memory (a boot held is about 80
 * bytes, in two lists: the sweep's and the next; the sweep's sorted index
 * takes 32 more a boot, events_seen.c).
 */
#define EVENTS_HELD_MAX	262144
enum bootd_err	 events_defer_seen(struct events *ev,
		    struct bootd_error *err);

/* How many boots' last seen times ev holds for the next sweep. */
size_t		 events_seen_held(const struct events *ev);

/*
 * Write, in one transaction, the next at most rows (>= 1) last seen
 * times of a sweep (events_defer_seen()): a sweep writes, in MAC order,
 * the newest boot of every MAC held when it began, and with its last
 * slice marks "seen" complete up to the newest boot event of that
 * moment.  A call with no sweep under way begins one.  *more is 1 while
 * the sweep has MACs left, 0 when it has written them all.  Not
 * deferred: BOOTD_OK, *more 0.  On failure nothing of the slice is
 * written; the next call tries it again.
 */
enum bootd_err	 events_write_seen(struct events *ev, long rows, int *more,
		    struct bootd_error *err);

/*
 * Retention: delete at most max boot events older than before (unix
 * time), oldest first, and at most max discovered MACs last seen before
 * it.  Last seen times of hosts stay.  deleted (may be NULL) receives the
 * number of rows deleted.
 */
enum bootd_err	 events_prune(struct events *ev, int64_t before, long max,
		    int64_t *deleted, struct bootd_error *err);

/*
 * Move the boot events, discovered MACs and last seen times that an
 * inventory upgraded from schema version 1 set aside (its legacy_*
 * tables, see sql/002-events-out.sql) into this file, and drop them from
 * the inventory at inventory_path, under one lock of both files.  At
 * most lim's caps are copied, the newest.  Nothing to do (already moved,
 * or a new inventory) is BOOTD_OK with *moved = 0.  moved (may be NULL)
 * receives the rows copied.  On PostgreSQL there is never anything to
 * move (an inventory there starts at version 3): BOOTD_OK, *moved = 0.
 */
enum bootd_err	 events_import(struct events *ev, const char *inventory_path,
		    const struct events_limits *lim, int64_t *moved,
		    struct bootd_error *err);

/* Reading ------------------------------------------------------------- */

/*
 * The newest boot among the n MACs of macs (a host's): *last_seen (0 when
 * none booted) and what was served then, copied into served (size bytes,
 * "" when none).
 */
enum bootd_err	 events_seen(struct events *ev, const char *const *macs,
		    size_t n, int64_t *last_seen, char *served, size_t size,
		    struct bootd_error *err);

/*
 * Call fn for each discovered MAC, sorted by MAC, at most limit of them
 * (0: all); a non-zero return stops.  Rows are read in short pages, so
 * neither memory nor a read transaction grows with the table.
 */
enum bootd_err	 events_discovered_each(struct events *ev, long limit,
		    int (*fn)(const struct events_discovered *, void *),
		    void *arg, struct bootd_error *err);

/*
 * Call fn once with the discovered MAC mac (canonical), or return
 * BOOTD_ENOTFOUND (with a message) when it is not in the list.
 */
enum bootd_err	 events_discovered_get(struct events *ev, const char *mac,
		    int (*fn)(const struct events_discovered *, void *),
		    void *arg, struct bootd_error *err);

/*
 * Call fn for each boot event with since <= time <= until (until 0: no
 * end), oldest first (by time, then record order); a non-zero return
 * stops.  Read in short pages through the time index, as
 * events_discovered_each().
 */
enum bootd_err	 events_boots_each(struct events *ev, int64_t since,
		    int64_t until, int (*fn)(const struct events_event *, void *),
		    void *arg, struct bootd_error *err);

/* Rows stored, from counters kept in the file (no table scan). */
enum bootd_err	 events_counts(struct events *ev, struct events_counts *c,
		    struct bootd_error *err);

#endif /* BOOTD_EVENTS_H */
