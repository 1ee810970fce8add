/*
 * check_util.h - what the Check programs of tests/ share: the number of
 * elements of an array, a fixed time, OK() for a call that must succeed,
 * rm_db() and source_file() for files, and check_run(), the end of every
 * main().
 */
#ifndef BOOTD_CHECK_UTIL_H
#define BOOTD_CHECK_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define NOW	1700000000LL	/* a fixed "now" (2023-11-14T22:13:20Z) */

/*
 * call (a libboot function given &err_ for its error) returns BOOTD_OK;
 * else the test fails, naming the call, its code and its error's text.
 */
#define OK(call) do {							\
	struct bootd_error err_ = { "" };				\
	enum bootd_err rc_ = (call);					\
	ck_assert_msg(rc_ == BOOTD_OK, "%s: %s (%s)", #call,		\
	    bootd_strerror(rc_), err_.text);				\
} while (0)

/* Remove the SQLite file path and its -wal, -shm and -journal files. */
static inline void
rm_db(const char *path)
{
	char p[512];		/* paths here are shorter than 300 bytes */

	unlink(path);
	if (snprintf(p, sizeof(p), "%s-wal", path) < (int)sizeof(p))
		unlink(p);
	if (snprintf(p, sizeof(p), "%s-shm", path) < (int)sizeof(p))
		unlink(p);
	if (snprintf(p, sizeof(p), "%s-journal", path) < (int)sizeof(p))
		unlink(p);
}

/* The whole file rel of the source tree (BOOTD_SOURCE_DIR); caller frees. */
static inline char *
source_file(const char *rel)
{
	char path[512], chunk[4096];
	struct buf b = { 0 };
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", BOOTD_SOURCE_DIR, rel);
	ck_assert_msg((f = fopen(path, "r")) != NULL, "%s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	ck_assert(!buf_failed(&b));
	return b.data;
}

/* Run suite s; the exit status of the program that runs it. */
static inline int
check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
