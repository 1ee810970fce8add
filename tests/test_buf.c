/*
 * test_buf.c - the growable byte buffer
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"
#include "check_util.h"

START_TEST(test_printf_empty)
{
	struct buf b = { 0 };

	buf_printf(&b, "%s=%d", "a", 1);
	ck_assert_str_eq(buf_str(&b), "a=1");
	ck_assert_uint_eq(b.len, 3);
	buf_free(&b);
}
END_TEST

/* Output that fits the free space, just fills it, and overflows it. */
START_TEST(test_printf_boundaries)
{
	struct buf b = { 0 };
	char want[1024], chunk[300];
	size_t len, n;

	buf_puts(&b, "x");		/* capacity now 256 */
	ck_assert_uint_eq(b.cap, 256);
	for (n = 250; n <= 258; n++) {
		buf_reset(&b);
		buf_puts(&b, "x");
		memset(chunk, 'a' + (int)(n % 26), n);
		chunk[n] = '\0';
		buf_printf(&b, "%s|%zu", chunk, n);
		len = (size_t)snprintf(want, sizeof(want), "x%s|%zu", chunk, n);
		ck_assert_uint_eq(b.len, len);
		ck_assert_str_eq(buf_str(&b), want);
		ck_assert_int_eq(buf_failed(&b), 0);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_many)
{
	struct buf b = { 0 };
	char want[64];
	size_t i, off = 0;

	for (i = 0; i < 2000; i++)
		buf_printf(&b, "line %zu\n", i);
	for (i = 0; i < 2000; i++) {
		snprintf(want, sizeof(want), "line %zu\n", i);
		ck_assert_int_eq(strncmp(buf_str(&b) + off, want,
		    strlen(want)), 0);
		off += strlen(want);
	}
	ck_assert_uint_eq(b.len, off);
	ck_assert_int_eq(buf_str(&b)[off], '\0');
	buf_free(&b);
}
END_TEST

START_TEST(test_putu)
{
	struct buf b = { 0 };
	char want[64];

	buf_putu(&b, 0);
	buf_puts(&b, " ");
	buf_putu(&b, 5000);
	buf_puts(&b, " ");
	buf_putu(&b, ULONG_MAX);
	snprintf(want, sizeof(want), "0 5000 %lu", ULONG_MAX);
	ck_assert_str_eq(buf_str(&b), want);
	buf_free(&b);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_printf_empty);
	tcase_add_test(tc, test_printf_boundaries);
	tcase_add_test(tc, test_printf_many);
	tcase_add_test(tc, test_putu);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(buf_suite());
}
