/*
 * events_record.c - recording a batch of boot events: the boot_event
 * rows, the discovered MACs and what the batch changes in their counts,
 * in runs of different MACs, a few statements a run, in one transaction
 * with the caps enforced before its commit
 *
 * The file's share of the module described in events.c and events_int.h:
 * events_record() and its helpers.  Each run's known MACs go to
 * events_seen.c (seen_hold(), seen_write()); the statements, the
 * transaction, the caps and the counts row are events.c's (ev_evict(),
 * ev_add_counts()).
 */
#include <string.h>

#include "events_int.h"
#include "hash.h"

/*
 * The upsert of "discovered" (record_discovered()): the rows, then this.
 * Each row's count comes back: 1 when the MAC is new (inserted), more
 * when it was there (updated), so the caller knows which without a
 * second statement.  Columns of the table are named with it: PostgreSQL
 * finds a bare name ambiguous beside "excluded".
 */
#define DISC_HEAD	"INSERT INTO discovered " \
	"(mac, first_seen, last_seen, count, params, addr) VALUES "
#define DISC_TAIL	" ON CONFLICT (mac) DO UPDATE SET " \
	"last_seen = CASE WHEN excluded.last_seen > discovered.last_seen " \
	"THEN excluded.last_seen ELSE discovered.last_seen END, " \
	"count = discovered.count + 1, params = excluded.params, " \
	"addr = excluded.addr RETURNING count"

/* How often a batch is tried on PostgreSQL: PG_TXN (events.c) says why. */
#define PG_TRIES	3

/*
 * Add or update the "discovered" rows of unknown[0..n) (n <= CHUNK, MACs
 * all different), unknown MACs' events, with one statement, and count
 * in d those new to the list.  Inside a transaction.
 */
static enum bootd_err
record_discovered(struct events *ev, const struct events_event *const *unknown,
    size_t n, struct delta *d, struct bootd_error *err)
{
	struct db_stmt *s;
	size_t i, rows = 0;
	int row;

	if ((s = ev_rows_stmt(ev, &ev->disc_k[n], DISC_HEAD, (int)n, 6,
	    DISC_TAIL, err)) == NULL)
		return BOOTD_EDB;
	for (i = 0; i < n; i++) {
		bind_ref(s, (int)i * 6 + 1, unknown[i]->mac);
		bind_int(s, (int)i * 6 + 2, unknown[i]->time);
		bind_int(s, (int)i * 6 + 3, unknown[i]->time);
		bind_int(s, (int)i * 6 + 4, 1);
		bind_ref(s, (int)i * 6 + 5, unknown[i]->params);
		bind_ref(s, (int)i * 6 + 6, unknown[i]->addr);
	}
	/* A row back for each, its count: 1 for a MAC new to the list. */
	while ((row = ev_step(ev, s)) > 0) {
		rows++;
		if (db_column_int64(s, 0) == 1)
			d->discovered++;
	}
	db_reset(s);
	if (row < 0)
		return ev_dberr(ev, "record discovered MACs", err);
	if (rows != n)
		return bootd_error_set(err, BOOTD_EDB, "record discovered "
		    "MACs: %zu rows returned for %zu", rows, n);
	return BOOTD_OK;
}

/*
 * How many of evs[0..n), at most CHUNK, from the first on, have MACs all
 * different: record_rows() takes them together.  The MACs taken so far
 * are kept in a small hash table (open addressing, RUN_SLOTS slots, each
 * an index + 1, 0 when empty): comparing each MAC with all before it
 * made CHUNK * CHUNK / 2 string compares a run.
 */
#define RUN_SLOTS	(2 * CHUNK)	/* a power of two, CHUNK < 256 */

static size_t
distinct_run(const struct events_event *evs, size_t n)
{
	unsigned char slot[RUN_SLOTS];
	uint32_t h;
	size_t i;

	memset(slot, 0, sizeof(slot));
	for (i = 0; i < n && i < CHUNK; i++) {
		for (h = str_hash(evs[i].mac) & (RUN_SLOTS - 1); slot[h] != 0;
		    h = (h + 1) & (RUN_SLOTS - 1))
			if (strcmp(evs[slot[h] - 1].mac, evs[i].mac) == 0)
				return i;
		slot[h] = (unsigned char)(i + 1);
	}
	return i;
}

/* What an event served, as stored. */
const char *
ev_served(const struct events_event *e)
{
	return e->served != NULL ? e->served : "unknown";
}

/*
 * Store evs[0..n) (MACs checked, all different, n <= CHUNK), adding the
 * rows they inserted and deleted to d: one INSERT of their boot events
 * (in order, so ids ascend as they came), one upsert of "seen" (or
 * they are held to be written later: events_defer_seen()) and one
 * delete from "discovered" for the known MACs among them (a MAC that
 * boots as a host's is no longer discovered), and one upsert of
 * "discovered" for the unknown ones: at most four statements for CHUNK
 * events.  On PostgreSQL each statement is a round trip to the server,
 * and with CHUNK 16 and an upsert per unknown MAC a batch of 256 boots
 * took about 70 of them: on two busy cores, where the server waits for
 * one too, the recorder fell behind a bootd-pg under wrk and dropped
 * events.  With every MAC different no two statements touch the same
 * row, so their order does not matter; events_record() splits the batch
 * before a MAC met again (a host that booted twice, or was added or
 * deleted, within the batch), so each event is stored after the ones
 * before it.  PostgreSQL would refuse an upsert that met the same row
 * twice.  Inside a transaction.
 */
static enum bootd_err
record_rows(struct events *ev, const struct events_event *evs, size_t n,
    struct delta *d, struct bootd_error *err)
{
	const struct events_event *known[CHUNK], *unknown[CHUNK];
	struct db_stmt *s;
	enum bootd_err rc = BOOTD_OK;
	size_t i, k = 0, u = 0;

	if ((s = ev_rows_stmt(ev, &ev->insert_k[n], "INSERT INTO boot_event "
	    "(time, mac, host, served, params, addr) VALUES ", (int)n, 6, "",
	    err)) == NULL)
		return BOOTD_EDB;
	for (i = 0; i < n; i++) {
		bind_int(s, (int)i * 6 + 1, evs[i].time);
		bind_ref(s, (int)i * 6 + 2, evs[i].mac);
		bind_ref(s, (int)i * 6 + 3, evs[i].fqdn);
		bind_ref(s, (int)i * 6 + 4, ev_served(&evs[i]));
		bind_ref(s, (int)i * 6 + 5, evs[i].params);
		bind_ref(s, (int)i * 6 + 6, evs[i].addr);
		if (evs[i].fqdn != NULL)
			known[k++] = &evs[i];
		else
			unknown[u++] = &evs[i];
	}
	if ((rc = ev_run(ev, s, "record boot", err)) != BOOTD_OK)
		return rc;
	d->events += (int64_t)n;
	if (k > 0) {
		if (!seen_hold(ev, known, k) &&
		    (rc = seen_write(ev, known, k, err)) != BOOTD_OK)
			return rc;
		if ((s = ev_rows_stmt(ev, &ev->forget_k[k], "DELETE FROM "
		    "discovered WHERE mac IN (", (int)k, 1, ")", err)) == NULL)
			return BOOTD_EDB;
		for (i = 0; i < k; i++)
			bind_ref(s, (int)i + 1, known[i]->mac);
		if ((rc = ev_run(ev, s, "update discovered MACs", err)) !=
		    BOOTD_OK)
			return rc;
		d->discovered -= db_changes(s);
	}
	if (u > 0)
		rc = record_discovered(ev, unknown, u, d, err);
	return rc;
}

enum bootd_err
events_record(struct events *ev, const struct events_event *evs, size_t n,
    const struct events_limits *lim, struct events_stats *st,
    struct bootd_error *err)
{
	char canon[MAC_STRLEN + 1];
	struct events_stats local = { 0, 0 };
	struct delta d = { 0, 0 };
	enum bootd_err rc = BOOTD_OK;
	size_t i, k, held_n, held_len;
	int try, complete;

	if (st == NULL)
		st = &local;
	st->written = st->evicted = 0;
	if (n > 0 && evs == NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "no boot events");
	for (i = 0; i < n; i++)
		if (evs[i].mac == NULL || mac_canon(evs[i].mac, canon, NULL) !=
		    BOOTD_OK || strcmp(canon, evs[i].mac) != 0)
			return bootd_error_set(err, BOOTD_EINVAL, "boot event "
			    "%zu: MAC not in canonical form", i);
	/*
	 * PostgreSQL: a batch that met another writer's on the same rows
	 * (a deadlock, PG_TXN) is done again, at most PG_TRIES times.
	 */
	for (try = 1; ; try++) {
		d.events = d.discovered = 0;
		st->evicted = 0;
		if ((rc = ev_tx_begin(ev, err)) != BOOTD_OK)
			return rc;
		held_n = ev->held.n;
		held_len = ev->held.len;
		rc = seen_mark_was_complete(ev, &complete, err);
		if (rc != BOOTD_OK)
			return ev_tx_end(ev, rc, err);
		for (i = 0; i < n && rc == BOOTD_OK; i += k) {
			k = distinct_run(&evs[i], n - i);
			if (i > 0 && ev->pause != NULL)
				ev->pause(ev->pause_arg);
			rc = record_rows(ev, &evs[i], k, &d, err);
		}
		if (rc == BOOTD_OK && complete)
			rc = seen_mark_complete(ev, err);
		if (rc == BOOTD_OK)
			rc = ev_evict(ev, lim, &d, &st->evicted, err);
		if (rc == BOOTD_OK)
			rc = ev_add_counts(ev, &d, err);
		if ((rc = ev_tx_end(ev, rc, err)) == BOOTD_OK) {
			st->written = (long)n;
			return BOOTD_OK;
		}
		ev->held.n = held_n;	/* their boots were not stored */
		ev->held.len = held_len;
		st->evicted = 0;
		if (rc != BOOTD_EBUSY || !ev->pg || try >= PG_TRIES)
			return rc;
	}
}
