/*
 * events_seen.c - hosts' last seen times: the "seen" rows of the events
 * database, written with each batch or held and swept in later (SQLite),
 * the mark of how far they are complete, and what readers read past it
 *
 * The file's share of the module described in events.c and events_int.h:
 * events_record() (events_record.c) hands each chunk's known MACs here,
 * to hold (seen_hold()) or to write now (seen_write()); everything else
 * about "seen" is in this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events_int.h"

/* The upsert that keeps a MAC's newest boot: the later one of a tie. */
#define NEWEST(table) " ON CONFLICT (mac) DO UPDATE SET " \
	"host = excluded.host, last_seen = excluded.last_seen, " \
	"last_served = excluded.last_served " \
	"WHERE excluded.last_seen >= " table ".last_seen"

void
seen_held_free(struct held_list *l)
{
	free(l->v);
	free(l->text);
	memset(l, 0, sizeof(*l));
}

/*
 * Upsert k (<= CHUNK) rows of "seen" with one statement: mac[i] booted
 * as host[i] at when[i] and got what[i], unless it booted later.  Inside
 * a transaction.
 */
static enum bootd_err
upsert_seen(struct events *ev, size_t k, const char *const *mac,
    const char *const *host, const int64_t *when, const char *const *what,
    struct bootd_error *err)
{
	struct db_stmt *s;
	size_t i;

	if ((s = ev_rows_stmt(ev, &ev->seen_k[k], "INSERT INTO seen "
	    "(mac, host, last_seen, last_served) VALUES ", (int)k, 4,
	    NEWEST("seen"), err)) == NULL)
		return BOOTD_EDB;
	for (i = 0; i < k; i++) {
		bind_ref(s, (int)i * 4 + 1, mac[i]);
		bind_ref(s, (int)i * 4 + 2, host[i]);
		bind_int(s, (int)i * 4 + 3, when[i]);
		bind_ref(s, (int)i * 4 + 4, what[i]);
	}
	return ev_run(ev, s, "record last seen", err);
}

/* Upsert the last seen times of known[0..k) (k <= CHUNK) now. */
enum bootd_err
seen_write(struct events *ev, const struct events_event *const *known,
    size_t k, struct bootd_error *err)
{
	const char *mac[CHUNK], *host[CHUNK], *what[CHUNK];
	int64_t when[CHUNK];
	size_t i;

	for (i = 0; i < k; i++) {
		mac[i] = known[i]->mac;
		host[i] = known[i]->fqdn;
		when[i] = known[i]->time;
		what[i] = ev_served(known[i]);
	}
	return upsert_seen(ev, k, mac, host, when, what, err);
}

/* Hold one boot at the end of l; -1 when out of memory. */
static int
held_add(struct held_list *l, const char *mac, const char *host,
    const char *what, int64_t when)
{
	struct held *h;
	size_t need = strlen(host) + 1, cap;
	void *p;

	if (l->n == l->cap) {
		cap = l->cap > 0 ? l->cap * 2 : 256;
		if ((p = realloc(l->v, cap * sizeof(*l->v))) == NULL)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	if (l->size - l->len < need) {
		cap = l->size > 0 ? l->size * 2 : 8192;
		while (cap - l->len < need)
			cap *= 2;
		if ((p = realloc(l->text, cap)) == NULL)
			return -1;
		l->text = p;
		l->size = cap;
	}
	h = &l->v[l->n];
	snprintf(h->mac, sizeof(h->mac), "%s", mac);
	snprintf(h->served, sizeof(h->served), "%s", what);
	h->time = when;
	h->host = l->len;
	l->n++;
	memcpy(l->text + l->len, host, need);
	l->len += need;
	return 0;
}

/*
 * Hold the last seen times of known[0..k) for the sweep: 1 when held, 0
 * when they are to be written now (not deferred, EVENTS_HELD_MAX held
 * already, out of memory, or a "served" too long to hold).
 */
int
seen_hold(struct events *ev, const struct events_event *const *known,
    size_t k)
{
	struct held_list *l = &ev->held;
	size_t i, n = l->n, len = l->len;

	if (!ev->defer_seen || l->n + k > EVENTS_HELD_MAX)
		return 0;
	for (i = 0; i < k; i++)
		if (strlen(ev_served(known[i])) >= sizeof(l->v->served) ||
		    held_add(l, known[i]->mac, known[i]->fqdn,
		    ev_served(known[i]), known[i]->time) == -1) {
			l->n = n;	/* none of them */
			l->len = len;
			return 0;
		}
	return 1;
}

/*
 * Where "seen" is complete up to (*upto, counts.seen_upto) and the newest
 * boot event (*max, 0 when none).  SQLite only: PostgreSQL has no mark.
 */
static enum bootd_err
read_mark(struct events *ev, int64_t *upto, int64_t *max,
    struct bootd_error *err)
{
	struct db_stmt *s;
	int row;

	*upto = *max = 0;
	if ((s = ev_stmt(ev, S_SEEN_UPTO, err)) == NULL)
		return BOOTD_EDB;
	if ((row = ev_step(ev, s)) > 0) {
		*upto = db_column_int64(s, 0);
		*max = db_column_int64(s, 1);
	}
	db_reset(s);
	if (row == 0)
		return bootd_error_set(err, BOOTD_EDB, "read last seen mark: "
		    "the counts row is missing");
	return row > 0 ? BOOTD_OK : ev_dberr(ev, "read last seen mark", err);
}

/*
 * A handle that writes "seen" with each batch (not deferred, on SQLite)
 * keeps its mark complete, so that readers have no boots past it to read
 * (events_seen()): *complete is 1 when the mark is at the newest boot
 * event, before the batch; then seen_mark_complete() moves it past the batch.
 * A mark behind means boots held by a recorder: it stays for its sweep.
 */
enum bootd_err
seen_mark_was_complete(struct events *ev, int *complete,
    struct bootd_error *err)
{
	enum bootd_err rc;
	int64_t upto, max;

	*complete = 0;
	if (ev->pg || ev->defer_seen)
		return BOOTD_OK;
	if ((rc = read_mark(ev, &upto, &max, err)) == BOOTD_OK)
		*complete = upto == max;
	return rc;
}

enum bootd_err
seen_mark_complete(struct events *ev, struct bootd_error *err)
{
	struct db_stmt *s;

	if ((s = ev_stmt(ev, S_SEEN_MARK_ALL, err)) == NULL)
		return BOOTD_EDB;
	return ev_run(ev, s, "mark last seen times written", err);
}

/*
 * After boot events were deleted, inside the transaction that deleted
 * them (events_prune()).  SQLite numbers a new row one past the newest
 * left, so a prune that took the newest boots (all of them, after a
 * quiet spell longer than the retention) would give the next boots
 * numbers at or below the mark, and readers, and the next handle that
 * takes the boots past the mark, would count them as written.  So the
 * mark, and the end of a sweep under way, go back to the newest boot
 * left: every boot at or below it is in "seen" or in that sweep.
 */
enum bootd_err
seen_mark_pruned(struct events *ev, struct bootd_error *err)
{
	enum bootd_err rc;
	int64_t upto, max;

	if (ev->pg)
		return BOOTD_OK;
	if ((rc = read_mark(ev, &upto, &max, err)) != BOOTD_OK)
		return rc;
	if (ev->sweeping && ev->sweep_upto > max)
		ev->sweep_upto = max;
	return upto > max ? seen_mark_complete(ev, err) : BOOTD_OK;
}

/*
 * Hosts' last seen times written later (SQLite).  A recorder that wrote
 * "seen" with each batch changed a row of it picked at random for nearly
 * every boot, in a b-tree of a row per MAC.  At 1,000,000 hosts under
 * bench/run's load, before the boot events reached their cap, a recorder
 * that skipped it spent 8.5% of a core against 17%.  The same upserts
 * into a temporary table were hardly cheaper (14 to 16%): the cost is
 * the random place in a large b-tree, not the file.  So the boots of
 * known MACs are held in memory as they come (seen_hold(), an append),
 * and a sweep writes them some seconds later (events_write_seen()):
 * sorted by MAC, only each MAC's newest boot, in slices of rows, one
 * transaction each, so that consecutive rows land on the same pages and
 * no transaction is long enough to hold the batches up.  Measured against
 * writing with each batch, interleaved, at 1,000,000 hosts with the boot
 * events at their cap: the recorder 13.7% of a core against 17.5%, bootd
 * 13.1k requests a second against 11.5k, p99 12.1 ms against 15.4.
 *
 * Nothing is lost and nothing is late for a reader.  counts.seen_upto
 * marks how far "seen" is complete: a sweep notes the newest boot event
 * when it begins and, with its last slice, moves the mark there.
 * events_seen() reads the boots past the mark from boot_event itself.
 * A recorder killed with boots held loses only its copy: the next
 * handle that defers takes the boots past the mark again (S_SEEN_FOLD).
 * Were boot events evicted (daemon.events_max) before a sweep wrote
 * them, a recorder killed then would lose those boots' last seen times:
 * with the default cap that takes a million boots within a sweep's few
 * seconds.  At most EVENTS_HELD_MAX boots are held: past that (a sweep
 * that cannot keep up), batches write their own, as before.  PostgreSQL
 * keeps writing "seen" with each batch: the recorders of several sites
 * share its tables, and one's mark could not cover what another holds.
 */
enum bootd_err
events_defer_seen(struct events *ev, struct bootd_error *err)
{
	struct db_stmt *s;
	enum bootd_err rc;
	const char *mac, *host, *what;
	int64_t upto, max;
	int row;

	if (ev->pg || ev->defer_seen)
		return BOOTD_OK;
	if ((rc = read_mark(ev, &upto, &max, err)) != BOOTD_OK)
		return rc;
	if ((s = ev_stmt(ev, S_SEEN_FOLD, err)) == NULL)
		return BOOTD_EDB;
	bind_int(s, 1, upto);
	while ((row = ev_step(ev, s)) > 0) {
		mac = db_column_text(s, 0);
		host = db_column_text(s, 1);
		what = db_column_text(s, 3);
		if (mac == NULL || host == NULL)
			continue;
		if (held_add(&ev->held, mac, host, what != NULL ? what : "",
		    db_column_int64(s, 2)) == -1) {
			db_reset(s);
			ev->held.n = ev->held.len = 0;
			return bootd_error_set(err, BOOTD_ENOMEM, "hold last "
			    "seen times: out of memory");
		}
	}
	db_reset(s);
	if (row < 0) {
		ev->held.n = ev->held.len = 0;
		return ev_dberr(ev, "read boot events past the last seen mark",
		    err);
	}
	ev->defer_seen = 1;
	return BOOTD_OK;
}

size_t
events_seen_held(const struct events *ev)
{
	return ev->held.n;
}

/*
 * Sort a[0..n) by MAC, keeping the order of equal ones: a radix sort, a
 * byte of the 48 bits at a time, through tmp; six passes leave it in a.
 */
static void
sort_by_mac(struct sweep_key *a, struct sweep_key *tmp, size_t n)
{
	struct sweep_key *src = a, *dst = tmp, *t;
	size_t count[256], pos, k, i;
	int shift, c;

	for (shift = 0; shift < 48; shift += 8) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[src[i].mac >> shift & 255]++;
		for (pos = 0, c = 0; c < 256; c++) {
			k = count[c];
			count[c] = pos;
			pos += k;
		}
		for (i = 0; i < n; i++)
			dst[count[src[i].mac >> shift & 255]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
}

/*
 * Begin a sweep: what is held becomes the sweep's, each MAC's newest
 * boot of it in ev->order sorted by MAC, and the newest boot event now
 * is where the mark goes when it is all written.
 *
 * Sorted by a radix sort of the MACs as numbers, not by qsort(3) of the
 * held boots (64 bytes each then) by their text.  At 100,000 hosts under
 * bench/run's load the qsort() of a sweep's boots took the recorder 45
 * to 60 ms of CPU at a stretch, 100 to 145 ms in time while the workers
 * had the cores: as long as the boots' queue (a pipe of 1 MiB, about
 * 150 ms of that load) lasts, and full runs dropped 0.3% to 2.8% of a
 * steady run's events now and then.  With the queue cut to 128 KiB (an
 * experiment, to see it every time), 3 rounds of 8 s in two series
 * each: 2,186 to 5,340 events dropped a round with qsort(), none with
 * this.  Every MAC held is canonical: events_record() takes no other,
 * and boot_event's CHECK keeps any other out of what a handle takes
 * again (events_defer_seen()).
 */
static enum bootd_err
sweep_begin(struct events *ev, struct bootd_error *err)
{
	struct held_list t;
	struct sweep_key *o, *tmp;
	enum bootd_err rc;
	int64_t upto;
	size_t i, n, m, cap;

	if ((rc = read_mark(ev, &upto, &ev->sweep_upto, err)) != BOOTD_OK)
		return rc;
	if (ev->held.n > ev->order_cap) {
		cap = ev->held.n;
		if ((o = realloc(ev->order, cap * sizeof(*o))) != NULL)
			ev->order = o;
		if ((tmp = realloc(ev->order_tmp, cap * sizeof(*tmp))) != NULL)
			ev->order_tmp = tmp;
		if (o == NULL || tmp == NULL)
			return bootd_error_set(err, BOOTD_ENOMEM, "sort last "
			    "seen times: out of memory");
		ev->order_cap = cap;
	}
	/* The sweep's empty list, and its memory, take the next boots. */
	t = ev->sweep;
	ev->sweep = ev->held;
	ev->held = t;
	ev->held.n = ev->held.len = 0;
	o = ev->order;
	for (i = n = 0; i < ev->sweep.n; i++)
		if (mac_canon_number(ev->sweep.v[i].mac, &o[n].mac) == 0)
			o[n++].i = i;
	sort_by_mac(o, ev->order_tmp, n);
	/* Each MAC's newest boot; of a tie, the one held later. */
	for (i = m = 0; i < n; i++) {
		if (m > 0 && o[m - 1].mac == o[i].mac) {
			if (ev->sweep.v[o[i].i].time >=
			    ev->sweep.v[o[m - 1].i].time)
				o[m - 1] = o[i];
			continue;
		}
		o[m++] = o[i];
	}
	ev->sweep_n = m;
	ev->sweep_next = 0;
	ev->sweeping = 1;
	return BOOTD_OK;
}

/*
 * Write the next at most rows MACs of the sweep, CHUNK to a statement,
 * in one transaction; the last slice moves the mark too.
 */
static enum bootd_err
write_slice(struct events *ev, long rows, struct bootd_error *err)
{
	const char *mac[CHUNK], *host[CHUNK], *what[CHUNK];
	const struct held *h;
	struct db_stmt *s;
	enum bootd_err rc;
	int64_t when[CHUNK];
	size_t i, k, end = ev->sweep_next + (size_t)rows;

	if (end > ev->sweep_n)
		end = ev->sweep_n;
	if ((rc = ev_tx_begin(ev, err)) != BOOTD_OK)
		return rc;
	for (i = ev->sweep_next; i < end && rc == BOOTD_OK; i += k) {
		for (k = 0; k < CHUNK && i + k < end; k++) {
			h = &ev->sweep.v[ev->order[i + k].i];
			mac[k] = h->mac;
			host[k] = ev->sweep.text + h->host;
			when[k] = h->time;
			what[k] = h->served;
		}
		rc = upsert_seen(ev, k, mac, host, when, what, err);
	}
	if (rc == BOOTD_OK && end == ev->sweep_n) {
		if ((s = ev_stmt(ev, S_SEEN_MARK, err)) == NULL)
			rc = BOOTD_EDB;
		else {
			bind_int(s, 1, ev->sweep_upto);
			rc = ev_run(ev, s, "mark last seen times written", err);
		}
	}
	if ((rc = ev_tx_end(ev, rc, err)) != BOOTD_OK)
		return rc;
	ev->sweep_next = end;
	if (end == ev->sweep_n) {
		ev->sweeping = 0;
		ev->sweep.n = ev->sweep.len = ev->sweep_n = 0;
	}
	return BOOTD_OK;
}

enum bootd_err
events_write_seen(struct events *ev, long rows, int *more,
    struct bootd_error *err)
{
	enum bootd_err rc;

	*more = 0;
	if (!ev->defer_seen)
		return BOOTD_OK;
	if (!ev->sweeping && (rc = sweep_begin(ev, err)) != BOOTD_OK)
		return rc;
	if ((rc = write_slice(ev, rows < 1 ? 1 : rows, err)) != BOOTD_OK)
		return rc;
	*more = ev->sweeping;
	return BOOTD_OK;
}

/*
 * Take ev's copy of the boots past "seen"'s mark (SQLite; on PostgreSQL
 * "seen" is complete), unless the mark and the newest boot are where
 * they were when it was taken.  These are the few seconds of boots the
 * recorder holds (events_defer_seen()): one read of them for all the
 * hosts of a listing, not one per host.
 */
static enum bootd_err
take_tail(struct events *ev, struct bootd_error *err)
{
	struct tail_row *t, *grown;
	struct db_stmt *s;
	enum bootd_err rc;
	const char *mac, *served;
	size_t cap = 0;
	int64_t upto, max;
	int row;

	if (ev->pg)
		return BOOTD_OK;
	if ((rc = read_mark(ev, &upto, &max, err)) != BOOTD_OK)
		return rc;
	if (ev->tail_taken && upto == ev->tail_upto && max == ev->tail_max)
		return BOOTD_OK;
	ev->tail_taken = 0;
	ev->ntail = 0;
	if ((s = ev_stmt(ev, S_SEEN_TAIL, err)) == NULL)
		return BOOTD_EDB;
	bind_int(s, 1, upto);
	free(ev->tail);
	ev->tail = NULL;
	while ((row = ev_step(ev, s)) > 0) {
		if ((mac = db_column_text(s, 0)) == NULL)
			continue;
		served = db_column_text(s, 2);
		/* Rows come by MAC, each MAC's newest last. */
		if (ev->ntail == 0 ||
		    strcmp(ev->tail[ev->ntail - 1].mac, mac) != 0) {
			if (ev->ntail == cap) {
				cap = cap > 0 ? cap * 2 : 64;
				if ((grown = realloc(ev->tail, cap *
				    sizeof(*grown))) == NULL) {
					db_reset(s);
					ev->ntail = 0;
					return bootd_error_set(err,
					    BOOTD_ENOMEM, "read last seen "
					    "times: out of memory");
				}
				ev->tail = grown;
			}
			ev->ntail++;
		}
		t = &ev->tail[ev->ntail - 1];
		snprintf(t->mac, sizeof(t->mac), "%s", mac);
		snprintf(t->served, sizeof(t->served), "%s",
		    served != NULL ? served : "");
		t->time = db_column_int64(s, 1);
	}
	db_reset(s);
	if (row < 0) {
		ev->ntail = 0;
		return ev_dberr(ev, "read last seen times", err);
	}
	ev->tail_taken = 1;
	ev->tail_upto = upto;
	ev->tail_max = max;
	return BOOTD_OK;
}

static int
tail_cmp(const void *key, const void *row)
{
	return strcmp(key, ((const struct tail_row *)row)->mac);
}

enum bootd_err
events_seen(struct events *ev, const char *const *macs, size_t n,
    int64_t *last_seen, char *served, size_t size, struct bootd_error *err)
{
	const struct tail_row *t;
	struct db_stmt *s;
	enum bootd_err rc;
	const char *what;
	char mserved[sizeof(t->served)];
	int64_t when;
	size_t i;
	int src;

	*last_seen = 0;
	if (size > 0)
		served[0] = '\0';
	if ((rc = take_tail(ev, err)) != BOOTD_OK)
		return rc;
	for (i = 0; i < n; i++) {
		/* The MAC's newest boot: in "seen", or past its mark. */
		if ((s = ev_stmt(ev, S_SEEN_GET, err)) == NULL)
			return BOOTD_EDB;
		bind_text(s, 1, macs[i]);
		when = 0;
		mserved[0] = '\0';
		if ((src = ev_step(ev, s)) > 0) {
			when = db_column_int64(s, 0);
			what = db_column_text(s, 1);
			snprintf(mserved, sizeof(mserved), "%s",
			    what != NULL ? what : "");
		}
		db_reset(s);
		if (src < 0)
			return ev_dberr(ev, "read last seen", err);
		t = ev->ntail > 0 ? bsearch(macs[i], ev->tail, ev->ntail,
		    sizeof(*ev->tail), tail_cmp) : NULL;
		if (t != NULL && t->time >= when) {
			when = t->time;
			memcpy(mserved, t->served, sizeof(mserved));
		}
		/* The host's: the newest of its MACs'. */
		if (when > *last_seen) {
			*last_seen = when;
			if (size > 0)
				snprintf(served, size, "%s", mserved);
		}
	}
	return BOOTD_OK;
}
