/*
 * events_int.h - what the files of the events database share: private to
 * lib/events*.c
 *
 * The events database is one module, prefix events_, in three files:
 * events.c (open, close, schema and migrations, the statement table and
 * the helpers that run statements, the counts row, the caps, pruning,
 * the legacy import and the listings), events_record.c (recording a
 * batch: events_record()) and events_seen.c (hosts' last seen times: the
 * "seen" rows a batch writes, or holds for a sweep to write later, the
 * mark of how far "seen" is complete, and what readers read past it).
 * The functions below are what one file uses of another; everything else
 * in each file is static.  Those of events.c and events_record.c are
 * prefixed ev_: the inventory's helpers (inv_int.h) have the plain names
 * in the same library.
 */
#ifndef BOOTD_EVENTS_INT_H
#define BOOTD_EVENTS_INT_H

#include <stdint.h>

#include "db.h"
#include "events.h"
#include "mac.h"

#define QBUF		 72		/* a path quoted in a message */
#define CHUNK		 64		/* events written by one statement */

/* Every statement of the module, prepared at most once per handle. */
enum stmt {
	S_COUNTS,
	S_COUNTS_ADD,
	S_EVENT_EVICT,
	S_DISC_EVICT,
	S_EVENT_PRUNE,
	S_DISC_PRUNE,
	S_SEEN_GET,
	S_DISC_PAGE,
	S_DISC_GET,
	S_BOOT_PAGE,
	S_SEEN_UPTO,
	S_SEEN_MARK,
	S_SEEN_MARK_ALL,
	S_SEEN_TAIL,
	S_SEEN_FOLD,
	S__MAX
};

/* A known MAC's boot held for "seen" (events_defer_seen()). */
struct held {
	char		 mac[MAC_STRLEN + 1];
	char		 served[16];
	int64_t		 time;
	size_t		 host;		/* its FQDN: offset in the list's text */
};

/* A held boot's MAC as a number, for the sweep's sort (sweep_begin()). */
struct sweep_key {
	uint64_t	 mac;		/* its 48 bits: the canonical text's order */
	size_t		 i;		/* the boot: its index in sweep.v */
};

/* Boots held in the order they came, and their FQDNs one after another. */
struct held_list {
	struct held	*v;
	size_t		 n;
	size_t		 cap;
	char		*text;
	size_t		 len;
	size_t		 size;
};

/* A MAC's newest boot past "seen"'s mark. */
struct tail_row {
	char		 mac[MAC_STRLEN + 1];
	char		 served[16];
	int64_t		 time;
};

/*
 * What a transaction changed in the row counts of boot_event and
 * discovered.  Its statements add up here what they inserted and deleted,
 * and ev_add_counts() writes the sum to "counts" once, before the commit:
 * one update of that row per batch, where triggers made one per row.
 */
struct delta {
	int64_t		 events;
	int64_t		 discovered;
};

struct events {
	struct db	*db;
	char		*path;		/* as given to events_open() */
	char		 name[QBUF];	/* path, or URI without secrets: q() */
	int		 pg;		/* on PostgreSQL (schema "events") */
	int		 rdonly;
	enum db_errclass lastclass;	/* of the last failure: unavailable */
	struct db_stmt	*st[S__MAX];	/* prepared on first use */
	/* record_rows()'s statements, by their number of rows: prepared
	 * on first use. */
	struct db_stmt	*insert_k[CHUNK + 1];
	struct db_stmt	*seen_k[CHUNK + 1];
	struct db_stmt	*forget_k[CHUNK + 1];
	struct db_stmt	*disc_k[CHUNK + 1];
	void		(*pause)(void *); /* between a batch's statements */
	void		*pause_arg;
	enum bootd_err	 dbrc;		/* the last failure of a db_ call */
	struct bootd_error dbe;		/* and its text (dberr()) */
	/*
	 * Last seen times held (events_defer_seen()): the boots held since
	 * the sweep began, and those the sweep (events_write_seen()) is
	 * writing: sweep.v in the order held, each MAC's newest boot of it
	 * in order[0..sweep_n) sorted by MAC, written from sweep_next on;
	 * the newest boot event when it began.
	 */
	int		 defer_seen;
	struct held_list held;
	struct held_list sweep;
	struct sweep_key *order;
	struct sweep_key *order_tmp;	/* the sort's other half */
	size_t		 order_cap;	/* of both */
	size_t		 sweep_n;
	size_t		 sweep_next;
	int		 sweeping;
	int64_t		 sweep_upto;
	/*
	 * A reader's copy of the boots past "seen"'s mark (events_seen()),
	 * by MAC, each MAC's newest; taken for the mark and newest event
	 * tail_upto and tail_max.
	 */
	struct tail_row	*tail;
	size_t		 ntail;
	int		 tail_taken;
	int64_t		 tail_upto;
	int64_t		 tail_max;
};

/* events.c: running statements (each keeps a failure for ev_dberr()) */
enum bootd_err
ev_dberr(struct events *ev, const char *what, struct bootd_error *err);
int
ev_step(struct events *ev, struct db_stmt *s);
struct db_stmt *
ev_stmt(struct events *ev, enum stmt id, struct bootd_error *err);
enum bootd_err
ev_run(struct events *ev, struct db_stmt *s, const char *what,
    struct bootd_error *err);
enum bootd_err
ev_tx_begin(struct events *ev, struct bootd_error *err);
enum bootd_err
ev_tx_end(struct events *ev, enum bootd_err rc, struct bootd_error *err);
struct db_stmt *
ev_rows_stmt(struct events *ev, struct db_stmt **sp, const char *head,
    int rows, int cols, const char *tail, struct bootd_error *err);

/* events.c: the counts row and the caps, for a batch (events_record.c) */
enum bootd_err
ev_add_counts(struct events *ev, const struct delta *d,
    struct bootd_error *err);
enum bootd_err
ev_evict(struct events *ev, const struct events_limits *lim, struct delta *d,
    long *evicted, struct bootd_error *err);

/* events_record.c: what an event served, as stored */
const char *
ev_served(const struct events_event *e);

/* Bind parameter i of s (binding fails only for a mistake here). */
static inline void
bind_text(struct db_stmt *s, int i, const char *v)
{
	db_bind_text(s, i, v, NULL);
}

/* bind_text() without a copy: v stays as it is until s is reset. */
static inline void
bind_ref(struct db_stmt *s, int i, const char *v)
{
	db_bind_text_ref(s, i, v, NULL);
}

static inline void
bind_int(struct db_stmt *s, int i, int64_t v)
{
	db_bind_int64(s, i, v, NULL);
}

/* events_seen.c: what a batch does about "seen"; the handle's lists */
int
seen_hold(struct events *ev, const struct events_event *const *known,
    size_t k);
enum bootd_err
seen_write(struct events *ev, const struct events_event *const *known,
    size_t k, struct bootd_error *err);
enum bootd_err
seen_mark_was_complete(struct events *ev, int *complete,
    struct bootd_error *err);
enum bootd_err
seen_mark_complete(struct events *ev, struct bootd_error *err);
enum bootd_err
seen_mark_pruned(struct events *ev, struct bootd_error *err);
void
seen_held_free(struct held_list *l);

#endif /* BOOTD_EVENTS_INT_H */
