/*
 * test_intake.c - tests of the recorder's intake (fcgi/intake.c): while
 * its caller does not read, it reads the pipe into memory; the bytes come
 * out of intake_read() as they went in, in order, junk included, through
 * a ring small enough to fill and wrap; what it holds is published as
 * held; a full ring leaves the pipe unread; an idle caller keeps it
 * asleep; after intake_stop() what is left is still read.  Records here
 * are framed by a test format of their own: "RE", a length byte (the
 * whole record), a byte, then the rest.  Effects are waited for a bounded
 * number of times, never timed.
 */
#define _GNU_SOURCE		/* pipe2() */

#include <sys/ioctl.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../fcgi/bootd.h"
#include "check_util.h"

#define HEAD	4		/* bytes the test's frame() looks at */
#define SLOT	0		/* the recorder slot the tests publish in */
#define TRIES	2000		/* bounded waits: 2000 x 5 ms */

static size_t
frame(const unsigned char *p)
{
	return p[0] == 'R' && p[1] == 'E' && p[2] >= HEAD ? p[2] : 0;
}

/* Append a record of len bytes (HEAD..255), its body from seed. */
static size_t
put_record(unsigned char *buf, size_t len, unsigned seed)
{
	size_t i;

	buf[0] = 'R';
	buf[1] = 'E';
	buf[2] = (unsigned char)len;
	buf[3] = 0;
	for (i = HEAD; i < len; i++)
		buf[i] = (unsigned char)('a' + (seed + i) % 26);
	return len;
}

/* Append len bytes that hold no record head. */
static size_t
put_junk(unsigned char *buf, size_t len)
{
	memset(buf, 'x', len);
	return len;
}

static void
nap(void)
{
	struct timespec ts = { 0, 5 * 1000000L };

	nanosleep(&ts, NULL);
}

/* A pipe in fds and an intake of cap bytes reading it. */
static struct intake *
start(int fds[2], size_t cap)
{
	struct intake *q;

	ck_assert_int_eq(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	q = intake_start(fds[0], SLOT, cap, HEAD, frame);
	ck_assert_ptr_nonnull(q);
	return q;
}

/* Free q and close what is open of its pipe. */
static void
finish(struct intake *q, int fds[2])
{
	intake_free(q);
	close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
}

/* Read from q until want bytes came, or end of file; the bytes read. */
static size_t
drain(struct intake *q, unsigned char *out, size_t want, size_t chunk)
{
	size_t got = 0;
	ssize_t n;
	int tries = 0;

	while (got < want && tries < TRIES) {
		n = intake_read(q, out + got, chunk);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		ck_assert_int_eq(errno, EAGAIN);
		nap();
		tries++;
	}
	return got;
}

/* Wait until the pipe fd holds at most left bytes; what it holds. */
static int
pipe_down_to(int fd, int left)
{
	int avail = -1, tries;

	for (tries = 0; tries < TRIES; tries++) {
		ck_assert_int_eq(ioctl(fd, FIONREAD, &avail), 0);
		if (avail <= left)
			break;
		nap();
	}
	return avail;
}

/* Read what q has now, without waiting, into out; the bytes read. */
static size_t
pull(struct intake *q, unsigned char *out, size_t chunk)
{
	size_t got = 0;
	ssize_t n;

	while ((n = intake_read(q, out + got, chunk)) > 0)
		got += (size_t)n;
	return got;
}

/* What the intake and its caller hold now, as published. */
static uint64_t
held_now(struct intake *q, uint64_t caller)
{
	intake_held(q, caller);
	return metrics_recorder_died(SLOT);
}

START_TEST(test_bytes_in_order_through_a_small_ring)
{
	enum { N = 400 };
	unsigned char *in = malloc(N * 300), *out = malloc(N * 300);
	size_t len = 0, off, got;
	struct intake *q;
	int fds[2], i;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	/* Records of every length, and junk: short runs, and one long. */
	for (i = 0; i < N; i++) {
		len += put_record(in + len, HEAD + (size_t)(i * 7) % 200,
		    (unsigned)i);
		if (i % 37 == 0)
			len += put_junk(in + len, 1 + (size_t)i % 9);
	}
	/* 1000 bytes: the ring fills and wraps many times over. */
	q = start(fds, 1000);
	for (off = 0, got = 0; off < len; ) {
		ssize_t w = write(fds[1], in + off, len - off > 2000 ?
		    2000 : len - off);

		ck_assert_int_gt(w, 0);
		off += (size_t)w;
		/* Not read by us: the intake reads it, as much as fits. */
		ck_assert_int_eq(pipe_down_to(fds[0], 0), 0);
		/* Read in small pieces: a record may not fit at once. */
		got += pull(q, out + got, 300);
	}
	close(fds[1]);
	fds[1] = -1;
	got += drain(q, out + got, len - got, 300);
	ck_assert_uint_eq(got, len);
	ck_assert_int_eq(memcmp(in, out, len), 0);
	/* End of file: the pipe has no writer left. */
	ck_assert_int_eq(intake_read(q, out, 300), 0);
	finish(q, fds);
	free(in);
	free(out);
}
END_TEST

START_TEST(test_what_it_holds_is_published)
{
	unsigned char buf[1024], out[1024];
	size_t len = 0;
	struct intake *q;
	int fds[2], i;

	for (i = 0; i < 5; i++)
		len += put_record(buf + len, 40, (unsigned)i);
	len += put_junk(buf + len, 3);
	len += put_record(buf + len, 40, 9) - 10;	/* begun: 30 of 40 */
	q = start(fds, 1 << 16);
	ck_assert_int_eq(write(fds[1], buf, len), (ssize_t)len);
	ck_assert_int_eq(pipe_down_to(fds[0], 0), 0);
	/* Five whole records in memory and one begun: six, with ours. */
	ck_assert_uint_eq(held_now(q, 7), 13);
	ck_assert_int_eq(intake_idle(q), 0);	/* those first */
	/* Taken: the caller's until it says otherwise. */
	ck_assert_int_eq(intake_read(q, out, sizeof(out)), 5 * 40 + 3);
	/* Taken, not parsed yet: still counted, now as the caller's. */
	ck_assert_uint_eq(metrics_recorder_died(SLOT), 7 + 5 + 1);
	ck_assert_uint_eq(held_now(q, 5), 5 + 1);
	ck_assert_uint_eq(intake_waiting(q), 30);
	/* Stopped: the begun record comes out, then the pipe's rest. */
	intake_stop(q);
	ck_assert_int_eq(write(fds[1], buf + len, 10), 10);
	ck_assert_int_eq(intake_read(q, out, sizeof(out)), 30);
	ck_assert_int_eq(intake_read(q, out + 30, sizeof(out)), 10);
	ck_assert_int_eq(memcmp(out, buf + 5 * 40 + 3, 40), 0);
	ck_assert_int_eq(intake_read(q, out, sizeof(out)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	finish(q, fds);
}
END_TEST

START_TEST(test_full_ring_stops_reading)
{
	unsigned char buf[4096], out[8192];
	size_t len = 0, got;
	struct intake *q;
	int fds[2], i, avail = 0;

	for (i = 0; i < 40; i++)
		len += put_record(buf + len, 100, (unsigned)i);
	/* Room for 9 entries of 104 bytes; the stage takes the rest. */
	q = start(fds, 1000);
	ck_assert_int_eq(write(fds[1], buf, len), (ssize_t)len);
	/* The intake reads the pipe dry into ring and stage, no further. */
	ck_assert_int_eq(pipe_down_to(fds[0], 0), 0);
	ck_assert_uint_eq(intake_waiting(q), len);
	/* Ring full, the intake waits for room: this stays in the pipe. */
	ck_assert_int_eq(write(fds[1], buf, 1000), 1000);
	ck_assert_int_eq(ioctl(fds[0], FIONREAD, &avail), 0);
	ck_assert_int_eq(avail, 1000);
	ck_assert_uint_eq(intake_waiting(q), len + 1000);
	got = drain(q, out, len + 1000, 3000);
	ck_assert_uint_eq(got, len + 1000);
	ck_assert_int_eq(memcmp(out, buf, len), 0);
	ck_assert_int_eq(memcmp(out + len, buf, 1000), 0);
	finish(q, fds);
}
END_TEST

START_TEST(test_idle_caller_reads_itself)
{
	unsigned char buf[256], out[256];
	size_t len = 0;
	struct intake *q;
	int fds[2], i, avail = 0;

	for (i = 0; i < 4; i++)
		len += put_record(buf + len, 50, (unsigned)i);
	q = start(fds, 1 << 16);
	/* Nothing held: the caller waits on the pipe, the intake sleeps. */
	ck_assert_int_eq(intake_idle(q), 1);
	ck_assert_int_eq(write(fds[1], buf, len), (ssize_t)len);
	for (i = 0; i < 20; i++)	/* 100 ms: four times STALL_MS */
		nap();
	ck_assert_int_eq(ioctl(fds[0], FIONREAD, &avail), 0);
	ck_assert_int_eq(avail, (int)len);
	/* Busy again and not reading: the intake reads for it. */
	intake_busy(q);
	ck_assert_int_eq(pipe_down_to(fds[0], 0), 0);
	ck_assert_uint_eq(drain(q, out, len, sizeof(out)), len);
	ck_assert_int_eq(memcmp(out, buf, len), 0);
	ck_assert_int_eq(intake_idle(q), 1);
	finish(q, fds);
}
END_TEST

static Suite *
intake_suite(void)
{
	Suite *s = suite_create("intake");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bytes_in_order_through_a_small_ring);
	tcase_add_test(tc, test_what_it_holds_is_published);
	tcase_add_test(tc, test_full_ring_stops_reading);
	tcase_add_test(tc, test_idle_caller_reads_itself);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(intake_suite());
}
