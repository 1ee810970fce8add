/*
 * recorder.c - the recorder: one process that writes boot events in batches
 *
 * Why.  Recording a boot used to be a write transaction in the worker that
 * answered it, after the answer.  Every worker then queued on SQLite's one
 * write lock: measured, 7.5k requests/s against 26k with recording switched
 * off, and 4 workers no faster than 2.  Now a worker only hands each event
 * over, without ever waiting, and one process, the recorder, writes them
 * many to a transaction.  The answer never shares a transaction with, nor
 * waits for, the record of the boot.
 *
 * The hand-over.  The master makes one pipe before it forks anything
 * (recorder_queue()) and keeps both ends for its whole life: workers
 * inherit the writing end, the recorder the reading end.  Each event is one
 * record of at most PIPE_BUF bytes, written with one non-blocking write(2):
 * the kernel writes such a record whole or not at all, never interleaved
 * with another worker's.  When the pipe is full (EAGAIN) the event is
 * counted in bootd_events_dropped_total and the worker goes on.  Because
 * the master holds the reading end, the pipe and what is queued in it
 * survive the recorder: a recorder that dies loses only what it holds, and
 * its replacement reads on where it stopped.
 *
 * Why a pipe and not a unix datagram socket (both measured, 2 writers,
 * 200-byte events, this 2-core machine).  Speed does not decide: a pipe
 * moves about 1.1M events/s, datagrams 0.6M/s, both far above what the
 * workers answer.  The queue's size does.  A queued datagram is charged
 * its whole sk_buff to the sender's SO_SNDBUF, about 1.3 KB however short
 * the event, and SO_SNDBUF is capped by net.core.wmem_max unless the
 * process has CAP_NET_ADMIN, which bootd under systemd does not: with
 * Debian's default (208 KiB) that is about 330 events, and bootd under wrk
 * on 2 cores dropped 40% of its events (33.9k of 85.3k), the recorder not
 * being scheduled often enough to keep such a short queue empty.  A pipe
 * is charged bytes: an unprivileged process may grow it to fs.pipe-max-size
 * (1 MiB by default), about 7000 events of 150 bytes, and the same run
 * dropped none.  The price is framing: a pipe is a byte stream, so a
 * malformed record could hide where the next one starts.  Workers cannot
 * write one (records are whole, and built by one function); against
 * anything else the recorder checks every record and, after a bad one,
 * skips to the next head that is a well-formed record (see parse()).
 *
 * The intake.  The pipe holds about 200 ms of bench/run's load, and a
 * recorder that read it only between its writes let it fill now and
 * then: a checkpoint waiting on fsync(2), a slice of last seen times and
 * a wait for a core in a row, and full bench/run runs dropped up to half
 * a percent of their events.  So a thread of the recorder's, the intake
 * (intake.c), reads the pipe into up to INTAKE_BYTES of memory whenever
 * this thread has not read it for a while (STALL_MS, 25 ms), and take()
 * reads through intake_read(): what the intake holds first, then the
 * pipe, the same bytes in the same order, so everything below reads as
 * if it read the pipe itself.  The intake only moves bytes; this thread
 * does everything else.
 *
 * The batches.  The recorder writes a batch when it holds
 * daemon.event_batch_max events or its oldest event is
 * daemon.event_batch_ms old, whichever comes first, through the one call
 * of events_record() in flush().  Idle, it sleeps until an event
 * arrives; then it sleeps again until that batch is due and takes what
 * gathered in the pipe meanwhile: one wake-up per batch, not one per
 * boot.  Waking for every event spent a quarter of the recorder's time
 * switching context (perf) and cost bootd about 15% of its requests/s
 * under wrk on 2 cores (8.7k against 10.7k, a noisy shared machine).
 * A batch the database refuses, or that waits longer than
 * daemon.event_wait_ms on a busy database, is dropped and counted; so
 * are the events a killed recorder held (metrics_recorder_died()).
 * Nothing is lost without being counted.
 *
 * PostgreSQL.  With the events there (events_database a URI), a server
 * can go away and come back: restarted, or the primary down and a
 * standby promoted in its place.  A batch that finds no server to take
 * it (events_unavailable(), or no connection at all) is therefore kept,
 * not dropped: hold() closes the handle, the recorder stops taking events
 * and tries a new connection after RETRY_MIN_MS, doubling up to
 * RETRY_MAX_MS, until a server takes the batch; then it reads on.  The
 * queue is bounded meanwhile by the batch, one read (in[]), the intake's
 * memory and the pipe;
 * past that the workers drop and count, as for any full queue.  At
 * SIGTERM it tries for STOP_WAIT_MS at most, then drops and counts.  On
 * SQLite a file that cannot be written is no passing outage: its
 * batches are dropped and counted as before.
 *
 * Hosts' last seen times (SQLite).  The recorder holds them in memory
 * (events_defer_seen()) and writes them in sweeps: SEEN_MS after the
 * first boot held, sorted by MAC, SEEN_SLICE MACs per transaction, a
 * slice at each turn of the main loop (write_seen()): one or more per
 * batch under load.  128 MACs a slice, not 1024: at 1,000,000 hosts under
 * bench/run's load, interleaved rounds, the boots' p99 was 5.1 ms against
 * 5.9 (p99.9 8.5 against 11.5) at the same req/s and recorder CPU, as a
 * worker woken on the recorder's core waits less for it (32 cost the
 * recorder a third more CPU for no better p99).  Written with each batch, a row
 * picked at random in a large b-tree for nearly every boot, they cost
 * the recorder 17.5% of a core against 13.7% now (1,000,000 hosts, under
 * bench/run's load, interleaved runs).  Readers stay exact and a killed
 * recorder loses none of them: see lib/events_seen.c.
 *
 * Retention pruning (daemon.event_retention_days) is done here too: the
 * recorder is the only writer of boot events.
 *
 * At most lost.  SIGKILL of the recorder: what it holds, counted as dropped:
 * its batch (at most daemon.event_batch_max events, daemon.event_batch_ms of
 * boots) and the records it has read from the pipe but not yet put in the
 * batch (at most one read, IN_MAX bytes, and what the intake holds, at most
 * INTAKE_BYTES: nothing unless this thread has not read for STALL_MS);
 * and the fetch notes it holds, at
 * most NOTE_MS of them (write_notes()); not the last seen times it holds,
 * which the next recorder takes again.  Both count as held from the moment
 * they are read (held_from()), except in the instant between the read(2) and
 * that count: a recorder killed there loses what the read took without
 * counting it.  One killed between a batch's commit and its count leaves the
 * batch stored and counted as dropped: the counts err on that side only.
 * SIGKILL or crash of all of bootd, or a power loss: that batch plus what
 * is in the pipe (at most its size, logged at start), plus whatever the
 * database's synchronous=NORMAL may lose on a power cut.
 *
 * Signals.  The recorder blocks SIGTERM and SIGINT except while it waits
 * in ppoll(2), so a signal never cuts a transaction short.  On SIGTERM it
 * reads what the pipe holds at that moment, writes every batch, and exits
 * 0: at shutdown the master sends it only after the workers have exited,
 * so nothing handed over is left behind.  On a reload the master stops
 * the old recorder and starts the new one, with the new configuration,
 * once the old one has exited: one reader at a time, so no record is
 * split between two, and the pipe holds what comes in between.
 *
 * The record: struct wire, then the fields present, without NULs, in the
 * order of enum field.  The recorder trusts nothing in it: a worker is
 * less trusted than nothing.  The magic's bytes are not printable, so it
 * cannot occur inside a field; lengths are checked against each field's
 * maximum, text must be printable ASCII, the MAC must be canonical and
 * "served" one of four words; anything else is counted in
 * bootd_events_malformed_total and skipped.
 */
#define _GNU_SOURCE		/* ppoll(), pipe2(), F_SETPIPE_SZ */

#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootd.h"
#include "db.h"
#include "events.h"
#include "mac.h"

#define QUEUE_BYTES	(4 << 20)	/* pipe size asked for (privileged)... */
#define QUEUE_BYTES_USER (1 << 20)	/* ...else fs.pipe-max-size's default */
#define QUEUE_BEHIND	4		/* behind: 1/4 of the queue waits */
#define EVENT_TYPICAL	150		/* bytes of a typical record, for logs */
#define WIRE_MAGIC	0xb007e7e1u	/* no byte of it is printable */
#define PARAMS_MAX	3200		/* query.c's 8 parameters fit (3146) */
#define IN_MAX		(64 * 1024)	/* read buffer */
#define INTAKE_BYTES	(8 << 20)	/* read ahead of the batches: about
					 * 55,000 typical events (intake.c) */
#define TAKE_MAX	(1 << 20)	/* bytes read at most in one take() */
#define PRUNE_INTERVAL	3600		/* seconds between retention runs */
#define PRUNE_BATCH	10000L		/* rows deleted per run, at most */
#define NOTE_WAIT_MS	5000		/* fetch notes: wait on a busy inventory */
#define NOTE_MS		1000		/* fetch notes: written this long after
					 * the oldest one noted, at most... */
#define NOTES_MAX	1024		/* ...or when this many are held */
#define SEEN_MS		10000		/* last seen times: a sweep begins this
					 * long after the first boot held... */
#define SEEN_SLICE	128L		/* ...and writes this many MACs per
					 * transaction (events_write_seen()):
					 * a short turn on a core, which a
					 * woken worker may have to wait out */
#define SEEN_RETRY_MS	1000		/* after a failed slice, the next try */
#define RETRY_MIN_MS	100		/* PostgreSQL unavailable: first retry */
#define RETRY_MAX_MS	2000		/* ...doubling up to this */
#define STOP_WAIT_MS	3000		/* at SIGTERM, retrying at most this,
					 * and half of daemon.drain_timeout */

enum field {
	FIELD_MAC,
	FIELD_FQDN,
	FIELD_SERVED,
	FIELD_PARAMS,
	FIELD_ADDR,
	FIELD__MAX
};

/* Longest accepted value of each field, in bytes. */
static const size_t field_max[FIELD__MAX] = {
	[FIELD_MAC] = MAC_STRLEN,
	[FIELD_FQDN] = 255,
	[FIELD_SERVED] = 16,
	[FIELD_PARAMS] = PARAMS_MAX,
	[FIELD_ADDR] = 64,
};

/* Where the text of one event lives: every field and its NUL. */
#define TEXT_MAX	(MAC_STRLEN + 255 + 16 + PARAMS_MAX + 64 + FIELD__MAX)

/* The head of a record, in host byte order (it never leaves the host). */
struct wire {
	uint32_t	magic;		/* WIRE_MAGIC */
	uint16_t	present;	/* bit (1 << field): field sent */
	uint16_t	len[FIELD__MAX]; /* its length; 0 when absent */
	int64_t		time;		/* unix time of the boot */
};

/* The longest record; a pipe writes at most PIPE_BUF bytes atomically. */
#define RECORD_MAX	(sizeof(struct wire) + TEXT_MAX - FIELD__MAX)
_Static_assert(RECORD_MAX <= PIPE_BUF, "a record is written atomically");

static const char *const served_words[] = {
	"install", "local", "unknown", "failsafe"
};

/* A fetch note held for write_notes(): an install script's fetch. */
struct note {
	char		 mac[MAC_STRLEN + 1];
	char		 addr[64 + 1];	/* field_max[FIELD_ADDR] */
	int64_t		 time;
};

/* The recorder's state: one per process. */
struct recorder {
	const struct cfg *cfg;
	int		 queue_bytes;	/* its size (F_GETPIPE_SZ) */
	int		 slot;		/* names its counters in metrics.c */
	struct events	*ev;		/* events database; NULL until opened */
	struct inv	*inv;		/* inventory, for fetch notes; NULL
					   until needed */
	char		 inverr[512];	/* its last failure, logged once */
	struct note	 notes[NOTES_MAX]; /* fetch notes not written yet */
	size_t		 nnotes;
	struct timespec	 notes_due;	/* when they are written (NOTE_MS) */
	struct events_limits limits;	/* caps and retention, from cfg */
	int		 imported;	/* legacy events moved (events_import) */
	int		 import_failed;	/* its failure was logged */
	char		 dberr[512];	/* last open failure, logged once */
	int		 pg;		/* events on PostgreSQL: may hold */
	int		 holding;	/* database unavailable: batch kept */
	int		 give_up;	/* stopping: drop rather than hold */
	int		 backoff_ms;	/* until the next retry */
	struct timespec	 retry_at;	/* when to try again (monotonic) */
	struct intake	*q;		/* what reads the pipe (intake.c) */
	struct events_event *evs;		/* the batch: event_batch_max slots */
	char		(*text)[TEXT_MAX]; /* their strings */
	size_t		 n;		/* events in the batch */
	struct timespec	 first;		/* when the oldest one came */
	time_t		 pruned;	/* last retention run */
	int		 seen_held;	/* last seen times held, not swept */
	struct timespec	 seen_due;	/* when their sweep begins (SEEN_MS) */
	int		 sweeping;	/* a sweep has MACs left */
	struct timespec	 seen_retry;	/* after a failure, not before this */
	char		 seenerr[512];	/* its last failure, logged once */
	uint64_t	 dropping;	/* events dropped since the last batch
					 * written; 0 while all is well */
	unsigned char	 in[IN_MAX];	/* bytes read, not yet parsed */
	size_t		 inlen;
	int		 partial;	/* in[] ends with part of a record */
	int		 lost_sync;	/* skipping bytes after a bad record */
};

static volatile sig_atomic_t	stop_requested;
static int			queue_full;	/* sender: last write failed */

static void
on_stop(int sig)
{
	stop_requested = 1;
}

int
recorder_queue(int fds[2])
{
	int size;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	/* Beyond fs.pipe-max-size only with CAP_SYS_RESOURCE. */
	if (fcntl(fds[1], F_SETPIPE_SZ, QUEUE_BYTES) == -1)
		(void)fcntl(fds[1], F_SETPIPE_SZ, QUEUE_BYTES_USER);
	size = fcntl(fds[1], F_GETPIPE_SZ);
	blog_info("boot event queue: a pipe of %d bytes, about %d events",
	    size, size / EVENT_TYPICAL);
	return 0;
}

/* Append field f of value s (NULL: absent) to the record being built. */
static int
put(unsigned char *buf, size_t *off, struct wire *h, enum field f,
    const char *s)
{
	size_t len;

	if (s == NULL)
		return 0;
	if ((len = strlen(s)) > field_max[f])
		return -1;
	memcpy(buf + *off, s, len);
	*off += len;
	h->len[f] = (uint16_t)len;
	h->present |= (uint16_t)(1u << f);
	return 0;
}

int
recorder_send(int fd, const struct events_event *ev)
{
	unsigned char buf[RECORD_MAX];
	struct wire h;
	size_t off = sizeof(h);

	memset(&h, 0, sizeof(h));
	h.magic = WIRE_MAGIC;
	h.time = ev->time;
	/* In the order of enum field: the recorder reads them so. */
	if (put(buf, &off, &h, FIELD_MAC, ev->mac) == -1 ||
	    put(buf, &off, &h, FIELD_FQDN, ev->fqdn) == -1 ||
	    put(buf, &off, &h, FIELD_SERVED, ev->served) == -1) {
		blog_err("boot event of %s dropped: a field is too long",
		    ev->mac);
		metrics_inc(METRICS_EVENTS_DROPPED);
		return -1;
	}
	if (put(buf, &off, &h, FIELD_PARAMS, ev->params) == -1)
		blog_warn("boot event of %s: parameters too long, left out",
		    ev->mac);
	if (put(buf, &off, &h, FIELD_ADDR, ev->addr) == -1)
		blog_warn("boot event of %s: address too long, left out",
		    ev->mac);
	memcpy(buf, &h, sizeof(h));
	if (write(fd, buf, off) == (ssize_t)off) {
		metrics_inc(METRICS_EVENTS_HANDED);
		if (queue_full)
			blog_notice("recorder queue accepts events again");
		queue_full = 0;
		return 0;
	}
	metrics_inc(METRICS_EVENTS_DROPPED);
	/* Say it once per episode, not once per boot of a storm. */
	if (!queue_full) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			blog_warn("recorder queue full; dropping boot events "
			    "(counted in bootd_events_dropped_total)");
		else
			blog_err("write(recorder queue): %s", strerror(errno));
	}
	queue_full = 1;
	return -1;
}

/* Is s[0..len-1] printable ASCII (space too when space is set)? */
static int
printable(const char *s, size_t len, int space)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < (space ? 0x20 : 0x21) || s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Move what an upgraded inventory set aside into the events database,
 * once (events_import() finds nothing after the first success).  The
 * recorder never migrates the inventory nor waits on its write lock
 * beyond daemon.event_wait_ms: opening it read-only succeeds only once
 * its schema is current (the workers migrate it when they start), and
 * events_import() waits on the lock of both files no longer than the
 * events database's busy timeout, daemon.event_wait_ms.  Until then,
 * and after a failure (the inventory locked by an operator's long or
 * stopped transaction, say), the next batch tries again; a failure of
 * the import itself is logged once.  The batch is written either way.
 */
static void
import_legacy(struct recorder *r)
{
	struct bootd_error e;
	struct inv *inv;
	int64_t moved;

	if (inv_open(r->cfg->database, INV_RDONLY, &inv, &e) != BOOTD_OK) {
		blog_debug("recorder: inventory %s not ready for moving boot "
		    "events: %s", r->cfg->database, e.text);
		return;
	}
	inv_close(inv);
	if (events_import(r->ev, r->cfg->database, &r->limits, &moved, &e) ==
	    BOOTD_OK) {
		r->imported = 1;
		if (moved > 0)
			blog_notice("moved %jd boot events, discovered MACs "
			    "and last seen times from %s to %s",
			    (intmax_t)moved, r->cfg->database,
			    r->cfg->events_database);
		return;
	}
	if (!r->import_failed)
		blog_err("recorder: moving boot events out of %s: %s",
		    r->cfg->database, e.text);
	r->import_failed = 1;
}

/* Milliseconds from now until t (monotonic), 0 when past. */
static int
ms_until(const struct timespec *t)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* *t = now + ms (monotonic). */
static void
after_ms(struct timespec *t, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/*
 * Between the statements that store a batch (events_set_pause()): give
 * the core to whoever waits for it, while the recorder keeps up.  bootd
 * runs under SCHED_BATCH (master.c), where nothing takes the core from a
 * task before the next scheduler tick (4 ms at HZ=250) unless it sleeps,
 * and a batch of 256 events took the recorder about a millisecond at a
 * stretch: a worker, or nginx, waiting on its core waited that long, and
 * boots answered by it waited with it.  That was the tail of the boots'
 * latency: at 1,000,000 hosts under bench/run's load (interleaved
 * rounds), a stopped recorder brought their p99 from 5.3 to 3.1 ms.
 * Yielding every CHUNK (64) events brought it from 5.2 to 4.3 ms, at the
 * same req/s, for a quarter more of the recorder's CPU (4.2 to 5.3 us an
 * event: it finds its caches cold after the others ran).  With no task
 * waiting the call returns at once.  But a recorder that yields waits
 * behind every busy worker each time, and in full bench/run runs it fell
 * behind now and then until the queue was full (up to 37,094 of 643,989
 * events dropped): so it yields only while less than a quarter of the
 * pipe's size waits, in the pipe and the intake's memory together
 * (QUEUE_BEHIND), and when behind it keeps the core until it has caught
 * up.  A late boot is slower; a dropped event is lost.
 * SQLite only: on PostgreSQL each statement waits for the server, and
 * the recorder sleeps there anyway.
 */
static void
pause_batch(void *arg)
{
	const struct recorder *r = arg;

	if (intake_waiting(r->q) < (size_t)r->queue_bytes / QUEUE_BEHIND)
		sched_yield();
}

/*
 * The events database, opened (and created) as needed; NULL on failure.
 * The recorder is its one writer.
 */
static struct events *
db(struct recorder *r)
{
	struct bootd_error e;
	char prev[sizeof(r->dberr)];

	if (r->ev == NULL) {
		/* A file is made here; a PostgreSQL schema by bootctl init. */
		if (events_open(r->cfg->events_database,
		    !db_is_uri(r->cfg->events_database), &r->ev, &e) !=
		    BOOTD_OK) {
			r->ev = NULL;
			memcpy(prev, r->dberr, sizeof(prev));
			snprintf(r->dberr, sizeof(r->dberr), "%s", e.text);
			/* e.text names it; a URI without its password. */
			if (strcmp(prev, r->dberr) != 0)
				blog_err("recorder: %s", e.text);
			return NULL;
		}
		/* After holding, flush() says so, with what it writes. */
		if (r->dberr[0] != '\0' && !r->holding)
			blog_notice("recorder: events database available "
			    "again");
		r->dberr[0] = '\0';
		events_set_busy_timeout(r->ev, r->cfg->daemon.event_wait_ms);
		events_set_deadline(r->ev, WRITE_DEADLINE_MS);
		if (!r->pg)
			events_set_pause(r->ev, pause_batch, r);
		/*
		 * Last seen times written by write_seen(), and what a
		 * recorder before this one held taken again; should that
		 * fail, each batch writes them itself, as on PostgreSQL.
		 */
		if (events_defer_seen(r->ev, &e) != BOOTD_OK)
			blog_warn("recorder: last seen times written with "
			    "each batch: %s", e.text);
		else if (!r->pg && !r->seen_held) {
			r->seen_held = 1;
			after_ms(&r->seen_due, SEEN_MS);
		}
		r->sweeping = 0;
	}
	if (!r->imported)
		import_legacy(r);
	return r->ev;
}

/*
 * The events database on PostgreSQL cannot take the batch now (no server
 * reachable, the connection lost, only a read-only standby answering):
 * keep the batch, close the handle, and try again in backoff_ms,
 * doubling from RETRY_MIN_MS up to RETRY_MAX_MS.  Meanwhile the recorder
 * takes no more from the pipe, which its intake reads until its memory is
 * full; then the pipe is the rest of the queue and, once full, workers
 * count what they cannot hand over as dropped.
 */
static void
hold(struct recorder *r, const char *why)
{
	if (!r->holding) {
		blog_warn("recorder: events database unavailable (%s); "
		    "holding the boot events queued, retrying", why);
		r->backoff_ms = RETRY_MIN_MS;
	} else if ((r->backoff_ms *= 2) > RETRY_MAX_MS)
		r->backoff_ms = RETRY_MAX_MS;
	r->holding = 1;
	events_close(r->ev);
	r->ev = NULL;
	after_ms(&r->retry_at, r->backoff_ms);
}

/* Log a failure of the inventory for fetch notes once while it lasts. */
static void
note_failed(struct recorder *r, const char *what, const char *text)
{
	char line[sizeof(r->inverr)];

	snprintf(line, sizeof(line), "%s: %s", what, text);
	if (strcmp(line, r->inverr) != 0)
		blog_err("recorder: fetch notes not written: %s", line);
	memcpy(r->inverr, line, sizeof(line));
	metrics_inc(METRICS_ERRORS);
}

/*
 * Note, on each host's install token, the address that fetched its
 * install script: every "install" event is one such fetch.  done
 * compares it with its own (daemon.done_requires_fetch_address), and the
 * audit log shows it.  The note is a write of the inventory, durable
 * (synchronous=FULL, or a PostgreSQL commit) and through database_write:
 * done by the worker that served the script, after the answer, it made
 * every install boot wait for a commit, one writer at a time, and at
 * 100,000 hosts, 5% of them installing, bootd's p99 was 2.5 times
 * fcgi-hello's (bench/run).  Here the notes of NOTE_MS (a second) are
 * one transaction (write_notes()), and an address already noted (the
 * usual repeat) is a read.  Not one per batch: each was a commit of the
 * inventory, which takes its write lock (bootctl waited on it, and a
 * set-reinstall of 10,000 hosts under load took 2.4 s) and makes every
 * worker drop its page cache of the inventory (SQLite does on any
 * change; db_sqlite_map.c keeps the mapping) to read the pages again.
 * A note is late by that second at most; an installer reports done
 * minutes after its script.
 * An event dropped before it got here (a full queue), or a note held by
 * a recorder killed, leaves no note, as a worker's failed write did; a
 * done that requires the address is then refused and the host installs
 * again at its next boot.  write_notes() writes those held, in one
 * transaction.
 */
static void
write_notes(struct recorder *r)
{
	struct bootd_error e;
	enum bootd_err rc;
	size_t i, n = r->nnotes;

	r->nnotes = 0;
	/* Given up on an unavailable server at stop: no more tries. */
	if (n == 0 || (r->give_up && r->holding))
		return;
	if (r->inv != NULL && inv_stale(r->inv)) {
		inv_close(r->inv);	/* the file was replaced */
		r->inv = NULL;
	}
	if (r->inv == NULL) {
		if (inv_open(r->cfg->database_write, INV_RDWR, &r->inv, &e) !=
		    BOOTD_OK) {
			r->inv = NULL;
			note_failed(r, "cannot open the inventory", e.text);
			return;
		}
		inv_set_busy_timeout(r->inv, NOTE_WAIT_MS);
		inv_set_deadline(r->inv, WRITE_DEADLINE_MS);
		inv_set_actor(r->inv, "bootd");
	}
	if ((rc = inv_begin(r->inv, &e)) != BOOTD_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		rc = inv_token_fetched(r->inv, r->notes[i].mac,
		    r->notes[i].addr, r->notes[i].time, &e);
		/*
		 * ENOTFOUND: the token went meanwhile (done, set-local).
		 * EINVAL: a MAC or address the inventory refuses, found
		 * before any write (workers send canonical ones: a broken
		 * record), so that note alone is skipped; one refused by a
		 * write would fail the group, which inv_commit() refuses.
		 */
		if (rc != BOOTD_OK && rc != BOOTD_ENOTFOUND &&
		    rc != BOOTD_EINVAL) {
			inv_rollback(r->inv);
			goto fail;
		}
	}
	if ((rc = inv_commit(r->inv, &e)) != BOOTD_OK)
		goto fail;
	metrics_add(METRICS_FETCH_NOTES, n);
	if (r->inverr[0] != '\0')
		blog_notice("recorder: fetch notes are written again");
	r->inverr[0] = '\0';
	return;
fail:
	note_failed(r, "inventory", e.text);
	if (rc == BOOTD_EDB || inv_unavailable(r->inv)) {
		inv_close(r->inv);	/* open anew for the next batch */
		r->inv = NULL;
	}
}

/* Milliseconds until the fetch notes are due (0: now), -1 when none. */
static int
notes_due_ms(const struct recorder *r)
{
	return r->nnotes == 0 ? -1 : ms_until(&r->notes_due);
}

/* Hold the fetch notes of the batch, writing those held when full. */
static void
hold_notes(struct recorder *r)
{
	struct note *nt;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->evs[i].served, "install") != 0 ||
		    r->evs[i].addr == NULL)
			continue;
		if (r->nnotes == NOTES_MAX)
			write_notes(r);
		if (r->nnotes == 0)
			after_ms(&r->notes_due, NOTE_MS);
		nt = &r->notes[r->nnotes++];
		snprintf(nt->mac, sizeof(nt->mac), "%s", r->evs[i].mac);
		snprintf(nt->addr, sizeof(nt->addr), "%s", r->evs[i].addr);
		nt->time = r->evs[i].time;
	}
}

/*
 * Write the batch in one transaction, or drop and count it, or (events on
 * PostgreSQL, the server unavailable) keep it for a retry: hold().  The
 * one place boot events reach the database.  after: the events this
 * recorder holds besides the batch (read, not yet in a batch), published
 * as held once the batch is counted.
 */
static void
flush(struct recorder *r, uint64_t after)
{
	struct bootd_error e = { "" };
	struct events_stats st = { 0, 0 };
	struct events *ev = NULL;
	enum bootd_err rc = BOOTD_EDB;
	size_t n = r->n;

	if (n == 0)
		return;
	/* Given up (stopping, still unavailable): no more tries. */
	if (!(r->give_up && r->holding) && (ev = db(r)) != NULL)
		rc = events_record(ev, r->evs, n, &r->limits, &st, &e);
	if (rc != BOOTD_OK && r->pg && !r->give_up &&
	    (ev == NULL || events_unavailable(ev))) {
		hold(r, ev != NULL ? e.text : r->dberr);
		return;
	}
	metrics_recorder_batch(r->slot, n, rc == BOOTD_OK);
	hold_notes(r);
	r->n = 0;
	metrics_recorder_held(r->slot, after);
	if (rc == BOOTD_OK) {
		if (!r->pg && !r->seen_held) {
			r->seen_held = 1;
			after_ms(&r->seen_due, SEEN_MS);
		}
		if (r->holding)
			blog_notice("recorder: events database available "
			    "again; writing the boot events held");
		r->holding = 0;
		if (st.evicted > 0)
			metrics_add(METRICS_EVENTS_EVICTED,
			    (uint64_t)st.evicted);
		if (r->dropping > 0)
			blog_notice("recorder: boot events are written again; "
			    "%ju were dropped meanwhile",
			    (uintmax_t)r->dropping);
		r->dropping = 0;
		return;
	}
	if (rc == BOOTD_EDB && ev != NULL) {
		events_close(r->ev);	/* reopen for the next batch */
		r->ev = NULL;
	}
	/* Say why once per episode, not once per batch. */
	if (r->dropping == 0) {
		if (ev == NULL)
			blog_warn("boot events dropped: events database "
			    "unavailable");
		else if (rc == BOOTD_EBUSY)
			blog_warn("boot events dropped: events database busy "
			    "for %d ms", r->cfg->daemon.event_wait_ms);
		else
			blog_err("events_record: %s; boot events dropped",
			    e.text);
	}
	r->dropping += n;
}

/*
 * Milliseconds until the next slice of last seen times is due (0: now),
 * -1 when none is coming.  A sweep under way writes a slice at each turn
 * of the main loop under load (one or more per batch), one per
 * event_batch_ms when idle, none before seen_retry after a failure: never
 * a transaction long enough to hold the batches up.
 */
static int
seen_due_ms(const struct recorder *r)
{
	int ms, retry = ms_until(&r->seen_retry);

	if (r->sweeping)
		ms = r->cfg->daemon.event_batch_ms;
	else if (r->seen_held)
		ms = ms_until(&r->seen_due);
	else
		return -1;
	return retry > ms ? retry : ms;
}

/*
 * The next slice of the last seen times held (events_write_seen()), when
 * due: SEEN_MS after the first boot held since the last sweep began, or
 * sooner when half of EVENTS_HELD_MAX are held.  A sweep writes every MAC
 * held when it began, SEEN_SLICE per transaction in MAC order; a page of
 * "seen" is then written once for all the boots of the last SEEN_MS, not
 * once for each boot.  A failure leaves them held (and readers exact):
 * the next call after SEEN_RETRY_MS tries again, so that a database that
 * keeps failing (a full disk) is not retried in a busy loop.  Returns 1
 * when it wrote a slice.
 */
static int
write_seen(struct recorder *r)
{
	struct bootd_error e;
	struct events *ev;
	char prev[sizeof(r->seenerr)];
	int more;

	if (!r->sweeping && (!r->seen_held || (ms_until(&r->seen_due) > 0 &&
	    (r->ev == NULL || events_seen_held(r->ev) < EVENTS_HELD_MAX / 2))))
		return 0;
	if (r->holding || ms_until(&r->seen_retry) > 0)
		return 0;
	if ((ev = db(r)) == NULL) {
		after_ms(&r->seen_retry, SEEN_RETRY_MS);
		return 0;
	}
	if (events_write_seen(ev, SEEN_SLICE, &more, &e) != BOOTD_OK) {
		memcpy(prev, r->seenerr, sizeof(prev));
		snprintf(r->seenerr, sizeof(r->seenerr), "%s", e.text);
		if (strcmp(prev, r->seenerr) != 0)
			blog_warn("recorder: writing last seen times: %s; "
			    "trying again", e.text);
		after_ms(&r->seen_retry, SEEN_RETRY_MS);
		return 0;
	}
	r->seenerr[0] = '\0';
	/*
	 * What the handle holds now came after its sweep began: the next
	 * sweep's.  (Asked of the handle, not inferred from r->sweeping: a
	 * sweep whose first slice failed has begun all the same.)
	 */
	r->seen_held = events_seen_held(ev) > 0;
	r->sweeping = more;
	return 1;
}

/* Retention: at most once an hour, a bounded batch of old events. */
static void
prune(struct recorder *r)
{
	struct bootd_error e;
	struct events *ev;
	int64_t deleted;
	time_t now = time(NULL);
	int days = r->cfg->daemon.event_retention_days;

	if (days == 0 || r->holding || now - r->pruned < PRUNE_INTERVAL)
		return;
	r->pruned = now;
	if ((ev = db(r)) == NULL)
		return;
	if (events_prune(ev, (int64_t)now - (int64_t)days * 86400,
	    PRUNE_BATCH, &deleted, &e) != BOOTD_OK)
		blog_warn("pruning old boot events: %s", e.text);
	else if (deleted > 0)
		blog_info("deleted %jd boot events and discovered MACs older "
		    "than %d days", (intmax_t)deleted, days);
}

/*
 * Check the head at p (at least sizeof(struct wire) bytes): the magic and
 * lengths a record can have.  Returns its whole length, or 0 when it is
 * not a head.
 */
static size_t
head_len(const unsigned char *p, struct wire *h)
{
	size_t i, total = sizeof(*h);

	memcpy(h, p, sizeof(*h));
	if (h->magic != WIRE_MAGIC || h->present >= 1u << FIELD__MAX)
		return 0;
	for (i = 0; i < FIELD__MAX; i++) {
		if (!(h->present & (1u << i)) && h->len[i] != 0)
			return 0;
		if (h->len[i] > field_max[i])
			return 0;
		total += h->len[i];
	}
	return total;
}

/* The intake's test of a record head (intake_frame_fn). */
static size_t
frame(const unsigned char *p)
{
	struct wire h;

	return head_len(p, &h);
}

/*
 * Check the fields of the record p whose head is h and decode it into ev,
 * its strings into text.  Returns NULL, or why it is refused.
 */
static const char *
decode(const unsigned char *p, const struct wire *h, struct events_event *ev,
    char *text)
{
	const char *fields[FIELD__MAX] = { NULL };
	char canon[MAC_STRLEN + 1];
	size_t off = sizeof(*h), i;

	if (h->time <= 0)
		return "bad time";
	for (i = 0; i < FIELD__MAX; i++) {
		if (!(h->present & (1u << i)))
			continue;
		if (!printable((const char *)p + off, h->len[i],
		    i == FIELD_FQDN || i == FIELD_PARAMS))
			return "not printable";
		memcpy(text, p + off, h->len[i]);
		text[h->len[i]] = '\0';
		fields[i] = text;
		text += h->len[i] + 1;
		off += h->len[i];
	}
	if (fields[FIELD_MAC] == NULL ||
	    mac_canon(fields[FIELD_MAC], canon, NULL) != BOOTD_OK ||
	    strcmp(canon, fields[FIELD_MAC]) != 0)
		return "bad MAC";
	if (fields[FIELD_SERVED] == NULL)
		return "no served";
	for (i = 0; i < sizeof(served_words) / sizeof(served_words[0]); i++)
		if (strcmp(fields[FIELD_SERVED], served_words[i]) == 0)
			break;
	if (i == sizeof(served_words) / sizeof(served_words[0]))
		return "bad served";
	ev->mac = fields[FIELD_MAC];
	ev->fqdn = fields[FIELD_FQDN];
	ev->served = fields[FIELD_SERVED];
	ev->params = fields[FIELD_PARAMS];
	ev->addr = fields[FIELD_ADDR];
	ev->time = h->time;
	return NULL;
}

/* Count and log a refused record, or the start of bytes skipped. */
static void
refuse(struct recorder *r, const char *why)
{
	metrics_inc(METRICS_EVENTS_MALFORMED);
	blog_warn("recorder: refused a record: %s; skipping to the next",
	    why);
}

/* Publish what this recorder holds: the batch and a record half read. */
static void
publish_held(const struct recorder *r)
{
	intake_held(r->q, (uint64_t)r->n + (r->partial ? 1 : 0));
}

/*
 * The events this recorder holds when it has parsed r->in up to off: the
 * batch, and every record (whole or begun) in the bytes read but not
 * parsed yet.  Those bytes have left the pipe: a recorder killed before
 * they reach a batch loses them, so they must count as held from the
 * moment they are read, not only once parsed (a batch written in between
 * takes milliseconds).
 */
static uint64_t
held_from(const struct recorder *r, size_t off)
{
	struct wire h;
	const unsigned char *p = r->in + off;
	size_t len = r->inlen - off, rl;
	uint64_t n = r->n;

	while (len >= sizeof(h) && (rl = head_len(p, &h)) != 0) {
		n++;
		if (rl >= len)
			break;
		p += rl;
		len -= rl;
	}
	return n;
}

/*
 * Move every whole record in r->in into the batch, writing the batch
 * whenever it is full, and keep a record cut short by the read for the
 * next one, unless eof (no more bytes will come: it is refused).  After a
 * bad record, skip bytes up to the next head that starts a well-formed
 * record: each such run counts once as malformed.
 */
static void
parse(struct recorder *r, int eof)
{
	struct wire h;
	const char *why;
	size_t off = 0, len;

	intake_held(r->q, held_from(r, 0));
	while (r->inlen - off >= sizeof(h)) {
		if ((len = head_len(r->in + off, &h)) == 0) {
			if (!r->lost_sync)
				refuse(r, "not a record head");
			r->lost_sync = 1;
			off++;
			continue;
		}
		if (r->inlen - off < len && !eof)
			break;			/* the rest is still to come */
		if (r->inlen - off < len) {
			if (!r->lost_sync)
				refuse(r, "cut short");
			r->lost_sync = 1;
			off++;
			continue;
		}
		why = decode(r->in + off, &h, &r->evs[r->n], r->text[r->n]);
		if (why != NULL) {
			if (!r->lost_sync)
				refuse(r, why);
			r->lost_sync = 1;
			off++;			/* its lengths may lie too */
			continue;
		}
		r->lost_sync = 0;
		off += len;
		if (r->n++ == 0)
			clock_gettime(CLOCK_MONOTONIC, &r->first);
		if (r->n == (size_t)r->cfg->daemon.event_batch_max)
			flush(r, held_from(r, off) - r->n);
		/* Kept, not written: the rest waits in in[] (held). */
		if (r->holding)
			break;
	}
	if (eof && !r->holding) {
		if (r->inlen > off && !r->lost_sync)
			refuse(r, "cut short");
		off = r->inlen;
	}
	memmove(r->in, r->in + off, r->inlen - off);
	r->inlen -= off;
	/* A record half read is held too: a recorder killed now loses it. */
	r->partial = r->inlen >= sizeof(h) && !r->lost_sync &&
	    head_len(r->in, &h) != 0;
	/* Holding: the batch, and every record in[] still has. */
	if (r->holding)
		intake_held(r->q, held_from(r, 0));
	else
		publish_held(r);
}

/*
 * Read what the pipe holds into the batch (parse()), as long as it holds
 * something, but at most TAKE_MAX bytes: under a flood the pipe may never
 * be empty, and the caller must get to look at its signals.  Returns the
 * bytes read.
 * End of file means no process holds the writing end any more: the master
 * (which holds one for its whole life) is gone, and its workers with it.
 * Nothing will come, so the recorder stops as at SIGTERM.  It must not
 * count on that SIGTERM (PR_SET_PDEATHSIG): a pipe at end of file is
 * always readable, and ppoll(2) returns at once for a readable descriptor
 * without delivering the signal it unblocks, so the recorder spun at full
 * CPU for ever with the master's SIGTERM pending.
 */
static size_t
take(struct recorder *r)
{
	size_t total = 0;
	ssize_t len;

	while (total < TAKE_MAX && !r->holding) {
		len = intake_read(r->q, r->in + r->inlen,
		    sizeof(r->in) - r->inlen);
		if (len == 0 && !stop_requested) {
			blog_warn("recorder: the boot event queue has no writer "
			    "left (the master is gone); writing what it holds "
			    "and exiting");
			stop_requested = 1;
		}
		if (len <= 0) {
			if (len < 0 && errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EINTR)
				blog_err("read(recorder queue): %s",
				    strerror(errno));
			return total;
		}
		r->inlen += (size_t)len;
		total += (size_t)len;
		parse(r, 0);
	}
	return total;
}

/*
 * Top the batch up from the pipe and write it, unless the database was
 * found unavailable meanwhile (parse() holds the batch then): what the
 * loop does once a batch is due, and the stop path first.
 */
static void
take_and_flush(struct recorder *r)
{
	take(r);
	if (!r->holding)
		flush(r, r->partial ? 1 : 0);
}

long
recorder_leftover(int fd)
{
	static unsigned char buf[IN_MAX];
	struct wire h;
	size_t len = 0, off, rl;
	ssize_t got;
	long n = 0;

	while ((got = read(fd, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)got;
		off = 0;
		while (len - off >= sizeof(h)) {
			if ((rl = head_len(buf + off, &h)) == 0)
				off++;
			else if (len - off < rl)
				break;
			else {
				n++;
				off += rl;
			}
		}
		memmove(buf, buf + off, len - off);
		len -= off;
	}
	return n;
}

/*
 * How long an idle recorder may sleep: until the next retention run, at
 * least a second; NULL (for ever) without retention.  Fills ts.
 */
static struct timespec *
sleep_until_prune(const struct recorder *r, struct timespec *ts)
{
	time_t left;

	if (r->cfg->daemon.event_retention_days == 0)
		return NULL;
	left = r->pruned + PRUNE_INTERVAL - time(NULL);
	ts->tv_sec = left < 1 ? 1 : left;
	ts->tv_nsec = 0;
	return ts;
}

/*
 * How long an idle recorder may sleep: until the fetch notes are due,
 * the next slice of last seen times (seen_due_ms()) or the next retention
 * run (sleep_until_prune()); NULL (for ever) when none is coming.  Fills
 * ts.
 */
static struct timespec *
sleep_idle(const struct recorder *r, struct timespec *ts)
{
	struct timespec *t = sleep_until_prune(r, ts);
	int ms = notes_due_ms(r), seen = seen_due_ms(r);

	if (seen >= 0 && (ms < 0 || seen < ms))
		ms = seen;
	if (ms >= 0 && (t == NULL || ms < t->tv_sec * 1000)) {
		ts->tv_sec = ms / 1000;
		ts->tv_nsec = (long)(ms % 1000) * 1000000;
		t = ts;
	}
	return t;
}

/* Milliseconds until the batch is due (0: now), or -1 when empty. */
static int
due_ms(const struct recorder *r)
{
	struct timespec now;
	int64_t ms;

	if (r->n == 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - r->first.tv_sec) * 1000 +
	    (now.tv_nsec - r->first.tv_nsec) / 1000000;
	ms = r->cfg->daemon.event_batch_ms - ms;
	return ms < 0 ? 0 : (int)ms;
}

int
recorder_run(const struct cfg *cfg, int fd, int slot)
{
	static struct recorder r;	/* zeroed; one per process */
	struct sigaction sa;
	sigset_t block, waitmask;
	struct timespec ts, deadline;
	struct pollfd pfd;
	size_t got, avail;
	int ms;

	r.cfg = cfg;
	if ((r.queue_bytes = fcntl(fd, F_GETPIPE_SZ)) <= 0)
		r.queue_bytes = QUEUE_BYTES_USER;
	r.slot = slot;
	blog_forked();
	r.limits.max_events = cfg->daemon.events_max;
	r.limits.max_discovered = cfg->daemon.discovered_max;
	r.limits.retention_days = cfg->daemon.event_retention_days;
	/* PostgreSQL: a server may go away and come back (hold()). */
	r.pg = db_is_uri(cfg->events_database);
	/* An inventory there never had events of its own to move. */
	r.imported = r.pg || db_is_uri(cfg->database);
	prctl(PR_SET_NAME, "bootd-recorder");

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* reloads are the master's business */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	r.evs = calloc((size_t)cfg->daemon.event_batch_max, sizeof(*r.evs));
	r.text = calloc((size_t)cfg->daemon.event_batch_max, sizeof(*r.text));
	if (r.evs == NULL || r.text == NULL) {
		blog_err("recorder: out of memory for a batch of %d events",
		    cfg->daemon.event_batch_max);
		free(r.evs);
		free(r.text);
		return 1;
	}
	if ((r.q = intake_start(fd, slot, INTAKE_BYTES, sizeof(struct wire),
	    frame)) == NULL) {
		blog_err("recorder: cannot start reading the queue: %s",
		    strerror(errno));
		free(r.evs);
		free(r.text);
		return 1;
	}
	blog_debug("recorder started: batches of up to %d events or %d ms, "
	    "%d MiB read ahead", cfg->daemon.event_batch_max,
	    cfg->daemon.event_batch_ms, INTAKE_BYTES >> 20);
	db(&r);				/* open early; failures are retried */

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!stop_requested) {
		prune(&r);
		if (notes_due_ms(&r) == 0)
			write_notes(&r);
		write_seen(&r);
		if (r.holding) {
			/*
			 * The database is unavailable: sleep until the next
			 * try (signals wake it), then write the batch, and
			 * what in[] holds, if the server is back.
			 */
			if ((ms = ms_until(&r.retry_at)) > 0) {
				ts.tv_sec = ms / 1000;
				ts.tv_nsec = (long)(ms % 1000) * 1000000;
				ppoll(NULL, 0, &ts, &waitmask);
				continue;
			}
			flush(&r, held_from(&r, 0) - r.n);
			if (!r.holding)
				parse(&r, 0);
			continue;
		}
		if (r.n == 0) {
			/* First what the intake read while this one wrote. */
			if (!intake_idle(r.q)) {
				take(&r);
				continue;
			}
			/*
			 * Idle: wait for an event, the fetch notes or the
			 * next retention run; the intake sleeps meanwhile.
			 */
			got = ppoll(&pfd, 1, sleep_idle(&r, &ts), &waitmask) >
			    0;
			intake_busy(r.q);
			if (got)
				take(&r);
			continue;
		}
		if (r.n < (size_t)cfg->daemon.event_batch_max &&
		    (ms = due_ms(&r)) > 0) {
			if (r.nnotes > 0 && notes_due_ms(&r) < ms)
				ms = notes_due_ms(&r);
			/*
			 * Let the batch fill in the pipe and sleep until it
			 * is due, rather than wake for every event: under
			 * load that is one wake-up per batch, not per boot.
			 */
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (long)(ms % 1000) * 1000000;
			ppoll(NULL, 0, &ts, &waitmask);
			continue;
		}
		take_and_flush(&r);
	}
	/*
	 * Stopping with the database unavailable (PostgreSQL): retry for at
	 * most STOP_WAIT_MS (below the master's drain_timeout), then give
	 * up: drop and count the batch; what in[] still holds is counted
	 * by the master when this recorder ends (held), what the pipe holds
	 * by the master when it exits, or is written by the next recorder
	 * after a reload.  A batch not yet tried is tried first, as in the
	 * loop: a server found unavailable only now gets the same wait.
	 * The wait is half the master's at most (then it kills us), counted
	 * from the first try: tries begin before the deadline, and the one
	 * under way when it passes ends first (a connection attempt waits up
	 * to libpq's connect_timeout for each host).
	 */
	after_ms(&deadline, STOP_WAIT_MS < cfg->daemon.drain_timeout * 500 ?
	    STOP_WAIT_MS : cfg->daemon.drain_timeout * 500);
	intake_stop(r.q);	/* from here this thread reads the pipe */
	if (!r.holding)
		take_and_flush(&r);
	if (r.holding) {
		while (r.holding && ms_until(&deadline) > 0) {
			ms = ms_until(&r.retry_at);
			if (ms > ms_until(&deadline))
				ms = ms_until(&deadline);
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (long)(ms % 1000) * 1000000;
			nanosleep(&ts, NULL);
			flush(&r, held_from(&r, 0) - r.n);
		}
	}
	r.give_up = 1;		/* no more holding from here */
	if (r.holding) {
		blog_warn("recorder: events database still unavailable at "
		    "stop; dropping the boot events held");
		flush(&r, held_from(&r, 0) - r.n);
		write_notes(&r);
		events_close(r.ev);
		inv_close(r.inv);
		intake_free(r.q);	/* what it held is counted: held */
		free(r.evs);
		free(r.text);
		return 0;
	}
	/*
	 * Stopping: what the pipe and the intake's memory hold now, to the
	 * end of the record in hand, then the last batch.  Bounded, so that
	 * under a steady stream of boots the recorder still ends (its
	 * replacement starts only then: master.c fill()).  Records are written whole, so what is
	 * left unparsed never was one.
	 */
	avail = intake_waiting(r.q);
	while ((avail > 0 || r.partial) && (got = take(&r)) > 0)
		avail -= got < avail ? got : avail;
	parse(&r, 1);
	flush(&r, 0);
	write_notes(&r);	/* and the fetch notes held */
	/* And the last seen times held; what fails, the next one takes. */
	clock_gettime(CLOCK_MONOTONIC, &r.seen_due);	/* due: now */
	r.seen_retry = r.seen_due;			/* even after a failure */
	while ((r.seen_held || r.sweeping) && write_seen(&r))
		;
	events_close(r.ev);
	inv_close(r.inv);
	intake_free(r.q);
	free(r.evs);
	free(r.text);
	blog_debug("recorder exiting");
	return 0;
}
