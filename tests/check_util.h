/*
 * check_util.h - what the Check programs of tests/ share: the number of
 * elements of an array, a fixed time, OK() for a call that must succeed,
 * and check_run(), the end of every main().
 */
#ifndef BOOTD_CHECK_UTIL_H
#define BOOTD_CHECK_UTIL_H

#include <check.h>
#include <stdlib.h>

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
