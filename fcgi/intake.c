/*
 * intake.c - the recorder's intake: a thread that reads the queue's pipe
 * for the recorder while the recorder cannot
 *
 * Why.  Workers hand boot events to the recorder through a pipe of at
 * most 1 MiB (fs.pipe-max-size for an unprivileged process), about 200 ms
 * of boots at bench/run's load on 2 cores.  The recorder is one thread
 * that both reads the pipe and writes the events database, so whenever it
 * did not read for that long the pipe was full and workers dropped boot
 * events.  Now and then it does not: a checkpoint of the events WAL waits
 * on fsync(2) (11 ms on average, 53 ms at most, measured), a slice of
 * last seen times, a batch, and the recorder waiting for a core behind
 * four busy workers, one after another.  Full bench/run runs dropped up
 * to half a percent of their events at 100,000 hosts that way, in one
 * run of three.  No single cause is the whole of it, so rather than chase
 * each stall, this thread reads the pipe into memory (INTAKE_BYTES)
 * whenever the recorder has not read it for STALL_MS, every INTAKE_MS,
 * until the recorder reads again; the recorder takes what it holds first
 * (intake_read()).  When that memory is full it stops reading: the pipe
 * fills behind it and workers drop and count, as before.
 *
 * Why only then.  A first version read the pipe every 5 ms, always, and
 * the recorder took everything from its memory: in interleaved rounds at
 * 100,000 hosts (bench/run's load, bootd alone) the boots' p99 was 21%
 * above the recorder reading the pipe itself (7.95 against 6.54 ms, p99.9
 * 14.0 against 10.5), for no event more recorded: each wake-up of a
 * thread is a moment a busy worker may lose its core.  This one sleeps on
 * a condition variable while the recorder waits on the pipe itself
 * (intake_idle()) and wakes once every STALL_MS while it does not.
 *
 * What it holds counts as held (metrics_recorder_held()), like the
 * recorder's batch: a recorder killed loses it, and the master counts it
 * as dropped.  It frames the bytes it reads into records with the
 * recorder's own test of a record head (the frame function), so it can
 * count them, but it hands the recorder the very bytes the pipe gave, in
 * order, garbage included: the recorder's parse() sees the same stream as
 * when it read the pipe itself.  Every read(2) of the pipe, the
 * recorder's through intake_read() too, is made under the lock, so bytes
 * in memory always come before those still in the pipe.
 *
 * Threads.  The intake thread touches only the pipe and, under the lock,
 * its memory and the counts; it never logs, never touches the databases,
 * and has every signal blocked, so signals reach the recorder's thread as
 * before.
 */
#define _GNU_SOURCE		/* pthread_condattr_setclock() */

#include <sys/ioctl.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootd.h"

#define STALL_MS	25		/* the recorder has not read this long:
					 * the intake reads for it... */
#define INTAKE_MS	5		/* ...this often, until it reads again */
#define STAGE_MAX	(64 * 1024)	/* one read(2) at most */
#define ENTRY_MAX	(32 * 1024)	/* an entry in the ring, at most: half
					 * of what the recorder reads into */
#define ENTRY_RECORD	0x80000000u	/* the entry is one whole record */

/* An entry in the ring: its head, then its bytes. */
struct entry {
	uint32_t	 len;		/* bytes, | ENTRY_RECORD for a record */
};

struct intake {
	int		 fd;		/* the pipe's reading end */
	int		 slot;		/* metrics_recorder_held() */
	size_t		 head_size;	/* bytes frame() looks at */
	intake_frame_fn	 frame;
	pthread_t	 thread;
	int		 started;	/* the thread was created */
	pthread_mutex_t	 lock;		/* the rest, shared; held around
					 * every read(2) of the pipe */
	pthread_cond_t	 wake;		/* idle ended, room, or stop */
	struct timespec	 last_read;	/* the recorder's last intake_read() */
	int		 idle;		/* the recorder waits on the pipe */
	int		 sleeping;	/* and the thread waits for it */
	unsigned char	*ring;		/* entries, circular */
	size_t		 cap;		/* its size */
	size_t		 first;		/* offset of the oldest entry */
	size_t		 used;		/* bytes in it */
	size_t		 bytes;		/* of them, the pipe's (no heads) */
	uint64_t	 records;	/* whole records in it */
	uint64_t	 held;		/* what the recorder itself holds */
	int		 full;		/* the ring refused an entry: reading
					 * waits until there is room */
	int		 stop;		/* intake_stop() asked the thread */
	unsigned char	 stage[STAGE_MAX]; /* read, not in the ring yet */
	size_t		 stlen;
};

/* Publish what this recorder holds in all.  Called with the lock held. */
static void
publish(const struct intake *q)
{
	uint64_t begun = 0;

	/* A record begun in the stage is held too: the pipe gave it up. */
	if (q->stlen >= q->head_size && q->frame(q->stage) != 0)
		begun = 1;
	metrics_recorder_held(q->slot, q->held + q->records + begun);
}

/* Copy len bytes at offset off of the ring into dst, across its end. */
static void
ring_get(const struct intake *q, size_t off, void *dst, size_t len)
{
	size_t at = off % q->cap, part = q->cap - at;

	if (part >= len)
		memcpy(dst, q->ring + at, len);
	else {
		memcpy(dst, q->ring + at, part);
		memcpy((unsigned char *)dst + part, q->ring, len - part);
	}
}

/* Copy len bytes of src into the ring at offset off, across its end. */
static void
ring_put(struct intake *q, size_t off, const void *src, size_t len)
{
	size_t at = off % q->cap, part = q->cap - at;

	if (part >= len)
		memcpy(q->ring + at, src, len);
	else {
		memcpy(q->ring + at, src, part);
		memcpy(q->ring, (const unsigned char *)src + part, len - part);
	}
}

/* Append an entry of len bytes at p; 0, or -1 when the ring is full. */
static int
push(struct intake *q, const unsigned char *p, size_t len, int record)
{
	struct entry h;

	if ((q->full = q->used + sizeof(h) + len > q->cap))
		return -1;
	h.len = (uint32_t)len | (record ? ENTRY_RECORD : 0);
	ring_put(q, q->first + q->used, &h, sizeof(h));
	ring_put(q, q->first + q->used + sizeof(h), p, len);
	q->used += sizeof(h) + len;
	q->bytes += len;
	if (record)
		q->records++;
	return 0;
}

/*
 * Move what the stage holds into the ring, as entries: each whole record
 * one, each run of bytes between them that is no record one (at most
 * ENTRY_MAX).  A record begun and not whole, and a tail too short to
 * tell, stay in the stage.  Stops early when the ring is full.  Called
 * with the lock held; returns the bytes moved.
 */
static size_t
frame_stage(struct intake *q)
{
	size_t off = 0, junk = 0, rl;

	q->full = 0;
	while (q->stlen - off >= q->head_size) {
		if ((rl = q->frame(q->stage + off)) == 0) {
			if (++junk == ENTRY_MAX) {	/* long: an entry now */
				if (push(q, q->stage + off + 1 - junk, junk,
				    0) == -1)
					return off + 1 - junk;
				junk = 0;
			}
			off++;
			continue;
		}
		if (junk > 0) {
			if (push(q, q->stage + off - junk, junk, 0) == -1)
				break;
			junk = 0;
		}
		if (q->stlen - off < rl || push(q, q->stage + off, rl, 1) == -1)
			break;
		off += rl;
	}
	/* A run of junk with nothing after it yet: later, with what follows. */
	return off - junk;
}

/*
 * Move what the stage holds into the ring (frame_stage()) and publish
 * what is held.  Called with the lock held.  What frame_stage() leaves in
 * the stage is less than half of it (a record begun, or a run of bytes
 * that are no record, shorter than ENTRY_MAX), so while the ring has
 * room a read(2) always has room too.
 */
static void
settle(struct intake *q)
{
	size_t moved = frame_stage(q);

	memmove(q->stage, q->stage + moved, q->stlen - moved);
	q->stlen -= moved;
	publish(q);
}

/* Read what the pipe holds into the ring, until it is full.  Locked. */
static void
read_pipe(struct intake *q)
{
	ssize_t len;

	do {
		len = read(q->fd, q->stage + q->stlen,
		    sizeof(q->stage) - q->stlen);
		if (len <= 0)
			return;	/* drained, or the recorder's read(2) says */
		q->stlen += (size_t)len;
		settle(q);
	} while (!q->full);
}

/* *t = t0 + ms. */
static void
add_ms(struct timespec *t, const struct timespec *t0, int ms)
{
	t->tv_sec = t0->tv_sec + ms / 1000;
	t->tv_nsec = t0->tv_nsec + (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Is a before b? */
static int
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * The thread: asleep while the recorder waits on the pipe itself (idle);
 * else it wakes when the recorder has not read for STALL_MS and then
 * reads the pipe every INTAKE_MS until the recorder reads again.
 */
static void *
intake_main(void *arg)
{
	struct intake *q = arg;
	struct timespec now, due;

	pthread_mutex_lock(&q->lock);
	while (!q->stop) {
		if (q->idle) {
			q->sleeping = 1;
			pthread_cond_wait(&q->wake, &q->lock);
			q->sleeping = 0;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		add_ms(&due, &q->last_read, STALL_MS);
		if (before(&now, &due)) {
			pthread_cond_timedwait(&q->wake, &q->lock, &due);
			continue;
		}
		/* The recorder is writing, or waiting: read for it. */
		if (!q->full)
			read_pipe(q);
		else
			settle(q);	/* room again? */
		add_ms(&due, &now, INTAKE_MS);
		pthread_cond_timedwait(&q->wake, &q->lock, &due);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct intake *
intake_start(int fd, int slot, size_t cap, size_t head_size,
    intake_frame_fn frame)
{
	pthread_condattr_t ca;
	struct intake *q;
	sigset_t all, old;
	int rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->fd = fd;
	q->slot = slot;
	q->cap = cap;
	q->head_size = head_size;
	q->frame = frame;
	clock_gettime(CLOCK_MONOTONIC, &q->last_read);
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->wake, &ca);
	pthread_condattr_destroy(&ca);
	if ((q->ring = malloc(cap)) == NULL) {
		intake_free(q);
		return NULL;
	}
	/* Signals are the recorder thread's: the intake takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->thread, NULL, intake_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		intake_free(q);
		errno = rc;
		return NULL;
	}
	q->started = 1;
	return q;
}

ssize_t
intake_read(struct intake *q, unsigned char *buf, size_t size)
{
	struct entry h;
	size_t got = 0, len;
	uint64_t records = 0, begun = 0;
	ssize_t n;

	pthread_mutex_lock(&q->lock);
	clock_gettime(CLOCK_MONOTONIC, &q->last_read);
	settle(q);		/* the stage first into the ring, if room */
	while (q->used > 0) {
		ring_get(q, q->first, &h, sizeof(h));
		len = h.len & ~ENTRY_RECORD;
		if (got + len > size)
			break;
		ring_get(q, q->first + sizeof(h), buf + got, len);
		q->first = (q->first + sizeof(h) + len) % q->cap;
		q->used -= sizeof(h) + len;
		q->bytes -= len;
		got += len;
		if (h.len & ENTRY_RECORD)
			records++;
	}
	if (got == 0 && q->used == 0 && q->stlen > 0) {
		/* Then the stage: the bytes the pipe gave after the ring's. */
		if (q->stlen >= q->head_size && q->frame(q->stage) != 0)
			begun = 1;	/* a record begun: the caller's now */
		got = q->stlen < size ? q->stlen : size;
		memcpy(buf, q->stage, got);
		memmove(q->stage, q->stage + got, q->stlen - got);
		q->stlen -= got;
	}
	if (got > 0) {
		/* Now the recorder's to hold, until parse() counts them. */
		q->records -= records;
		q->held += records + begun;
		publish(q);
		pthread_cond_signal(&q->wake);	/* room */
		pthread_mutex_unlock(&q->lock);
		return (ssize_t)got;
	}
	if (q->used > 0) {
		pthread_mutex_unlock(&q->lock);
		errno = EAGAIN;		/* no room in buf: the caller parses */
		return -1;
	}
	/* Nothing in memory: the pipe itself, read under the lock. */
	n = read(q->fd, buf, size);
	pthread_mutex_unlock(&q->lock);
	return n;
}

int
intake_idle(struct intake *q)
{
	int idle;

	pthread_mutex_lock(&q->lock);
	idle = q->idle = q->used == 0 && q->stlen == 0;
	pthread_mutex_unlock(&q->lock);
	return idle;
}

void
intake_busy(struct intake *q)
{
	pthread_mutex_lock(&q->lock);
	q->idle = 0;
	clock_gettime(CLOCK_MONOTONIC, &q->last_read);
	if (q->sleeping)
		pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

void
intake_held(struct intake *q, uint64_t n)
{
	pthread_mutex_lock(&q->lock);
	q->held = n;
	publish(q);
	pthread_mutex_unlock(&q->lock);
}

size_t
intake_waiting(struct intake *q)
{
	size_t n;
	int avail;

	pthread_mutex_lock(&q->lock);
	n = q->bytes + q->stlen;
	pthread_mutex_unlock(&q->lock);
	if (ioctl(q->fd, FIONREAD, &avail) == 0 && avail > 0)
		n += (size_t)avail;
	return n;
}

void
intake_stop(struct intake *q)
{
	if (!q->started)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	q->started = 0;
}

void
intake_free(struct intake *q)
{
	if (q == NULL)
		return;
	intake_stop(q);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->wake);
	free(q->ring);
	free(q);
}
