/*
 * intake.c - the recorder's intake: a thread that keeps the queue's pipe
 * from filling while the recorder writes
 *
 * Why.  Workers hand boot events to the recorder through a pipe of at
 * most 1 MiB (fs.pipe-max-size for an unprivileged process), which holds
 * about 150 ms of boots at bench/run's load on 2 cores.  The recorder is
 * one thread that both reads the pipe and writes the events database, so
 * whenever it did not read for that long the pipe was full and workers
 * dropped boot events.  It does not, now and then: a checkpoint of the
 * events WAL waits on fsync(2) (11 ms on average, 53 ms at most,
 * measured), a slice of last seen times, a batch, and the recorder
 * waiting for a core behind four busy workers, one after another.  Full
 * bench/run runs dropped up to half a percent of their events at
 * 100,000 hosts that way, in one run of three.  No single cause is the
 * whole of it, so rather than chase each stall the reading of the pipe
 * no longer waits for any of them: this thread moves what the pipe holds
 * into memory (INTAKE_BYTES) while the recorder's own thread writes, and
 * the recorder takes its records from there (intake_read()).
 *
 * It wakes once every INTAKE_MS while events come, not once per event
 * (that cost bootd 15% of its requests/s: recorder.c), and sleeps in
 * poll(2) while none do.  When its memory is full it stops reading: the
 * pipe fills behind it and workers drop and count, as before.
 *
 * What it holds counts as held (metrics_recorder_held()), like the
 * recorder's batch: a recorder killed loses it, and the master counts it
 * as dropped.  It frames the bytes it reads into records with the
 * recorder's own test of a record head (the frame function), so it can
 * count them, but it hands the recorder the very bytes the pipe gave, in
 * order, garbage included: the recorder's parse() sees the same stream as
 * when it read the pipe itself.
 *
 * Threads.  The intake thread touches only the pipe, its stage and, under
 * the lock, the ring and the counts; it never logs, never touches the
 * databases, and has every signal blocked, so signals reach the
 * recorder's thread as before.  The recorder wakes on ready, an eventfd
 * the intake sets when the ring gets something and the recorder clears,
 * under the lock, when it finds the ring empty: no wake-up is lost.
 */
#define _GNU_SOURCE		/* pipe2() for nothing; eventfd, ppoll */

#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootd.h"

#define INTAKE_MS	5		/* while events come, a read this often */
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
	int		 ready;		/* eventfd: the ring has something */
	int		 quit;		/* eventfd: intake_stop() */
	size_t		 head_size;	/* bytes frame() looks at */
	intake_frame_fn	 frame;
	pthread_t	 thread;
	int		 started;	/* the thread was created */
	pthread_mutex_t	 lock;		/* the rest, shared */
	pthread_cond_t	 room;		/* the ring has room again */
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
	int		 done;		/* the thread has ended: eof, an error
					 * or stop; the stage is the caller's */
	unsigned char	 stage[STAGE_MAX]; /* read, not in the ring yet */
	size_t		 stlen;
	size_t		 stgiven;	/* of it, given out after done */
};

/* Publish what this recorder holds in all.  Called with the lock held. */
static void
publish(const struct intake *q)
{
	uint64_t begun = 0;

	/* A record begun in the stage is held too: the pipe gave it up. */
	if (q->stgiven == 0 && q->stlen >= q->head_size &&
	    q->frame(q->stage) != 0)
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

/* Wait in poll(2) for the pipe, or for quit; 0, or -1 when told to stop. */
static int
wait_readable(struct intake *q)
{
	struct pollfd pfd[2];

	pfd[0].fd = q->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = q->quit;
	pfd[1].events = POLLIN;
	while (poll(pfd, 2, -1) == -1)
		if (errno != EINTR)
			return 0;	/* read(2) will say what is wrong */
	return pfd[1].revents != 0 ? -1 : 0;
}

/*
 * Move what the stage holds into the ring (frame_stage()), publish what
 * is held and wake the recorder if anything moved.  Called with the lock
 * held; returns whether the ring is full.  What frame_stage() leaves in
 * the stage is less than half of it (a record begun, or a run of bytes
 * that are no record, shorter than ENTRY_MAX), so while the ring has
 * room a read(2) always has room too.
 */
static int
settle(struct intake *q)
{
	static const uint64_t one = 1;
	size_t moved = frame_stage(q);

	memmove(q->stage, q->stage + moved, q->stlen - moved);
	q->stlen -= moved;
	publish(q);
	if (moved > 0)
		(void)write(q->ready, &one, sizeof(one));
	return q->full;
}

static void *
intake_main(void *arg)
{
	struct intake *q = arg;
	struct timespec nap = { 0, INTAKE_MS * 1000000L };
	ssize_t len;
	int eof = 0, full;

	for (;;) {
		pthread_mutex_lock(&q->lock);
		/* Full: the pipe fills behind, and workers count drops. */
		while (!q->stop && settle(q))	/* room: move the stage */
			pthread_cond_wait(&q->room, &q->lock);
		if (q->stop || eof) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		pthread_mutex_unlock(&q->lock);
		if (wait_readable(q) == -1)
			break;
		/* Let a few milliseconds of events gather: one wake-up. */
		nanosleep(&nap, NULL);
		do {
			len = read(q->fd, q->stage + q->stlen,
			    sizeof(q->stage) - q->stlen);
			if (len <= 0) {
				/* EAGAIN: drained.  0: no writer left.  An
				 * error: the recorder's read(2) will say. */
				eof = len == 0 || (errno != EAGAIN &&
				    errno != EWOULDBLOCK && errno != EINTR);
				break;
			}
			pthread_mutex_lock(&q->lock);
			q->stlen += (size_t)len;
			full = settle(q);
			pthread_mutex_unlock(&q->lock);
		} while (!full);
	}
	pthread_mutex_lock(&q->lock);
	q->done = 1;
	publish(q);
	(void)write(q->ready, &(uint64_t){ 1 }, sizeof(uint64_t));
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct intake *
intake_start(int fd, int slot, size_t cap, size_t head_size,
    intake_frame_fn frame)
{
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
	q->ready = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->quit = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->room, NULL);
	if (q->ready == -1 || q->quit == -1 ||
	    (q->ring = malloc(cap)) == NULL) {
		intake_free(q);
		return NULL;
	}
	/* Signals are the recorder thread's: the intake takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->thread, NULL, intake_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		intake_free(q);
		return NULL;
	}
	q->started = 1;
	return q;
}

int
intake_ready_fd(const struct intake *q)
{
	return q->ready;
}

ssize_t
intake_read(struct intake *q, unsigned char *buf, size_t size)
{
	struct entry h;
	size_t got = 0, len, records = 0;
	uint64_t drain;

	pthread_mutex_lock(&q->lock);
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
	if (got > 0) {
		/* Now the recorder's to hold, until parse() counts them. */
		q->records -= records;
		q->held += records;
		publish(q);
		pthread_cond_signal(&q->room);
	} else if (q->used > 0) {
		errno = EAGAIN;		/* no room in buf: the caller parses */
		pthread_mutex_unlock(&q->lock);
		return -1;
	} else if (!q->done) {
		/* Empty: clear ready; the intake sets it with the next. */
		(void)read(q->ready, &drain, sizeof(drain));
		errno = EAGAIN;
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	if (got == 0 && q->stgiven < q->stlen) {
		/* The thread has ended: its stage, then the pipe itself. */
		if (q->stgiven == 0 && q->stlen >= q->head_size &&
		    q->frame(q->stage) != 0)
			q->held++;	/* the record begun, now the caller's */
		got = q->stlen - q->stgiven;
		if (got > size)
			got = size;
		memcpy(buf, q->stage + q->stgiven, got);
		q->stgiven += got;
	}
	pthread_mutex_unlock(&q->lock);
	if (got > 0)
		return (ssize_t)got;
	return read(q->fd, buf, size);
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
	n = q->bytes + q->stlen - q->stgiven;
	pthread_mutex_unlock(&q->lock);
	if (ioctl(q->fd, FIONREAD, &avail) == 0 && avail > 0)
		n += (size_t)avail;
	return n;
}

void
intake_stop(struct intake *q)
{
	uint64_t one = 1;

	if (!q->started)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_signal(&q->room);
	pthread_mutex_unlock(&q->lock);
	(void)write(q->quit, &one, sizeof(one));
	pthread_join(q->thread, NULL);
	q->started = 0;
}

void
intake_free(struct intake *q)
{
	if (q == NULL)
		return;
	intake_stop(q);
	if (q->ready != -1)
		close(q->ready);
	if (q->quit != -1)
		close(q->quit);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->room);
	free(q->ring);
	free(q);
}
