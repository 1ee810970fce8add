/*
 * test_log.c - tests of bootd's logger (fcgi/log.c): what a line holds on
 * stderr and what reaches syslog(3)
 *
 * This program is linked with -Wl,--wrap for openlog, syslog and
 * __syslog_chk (the name syslog takes with _FORTIFY_SOURCE), see
 * tests/CMakeLists.txt: log.c's calls come here, and what it hands to
 * syslog(3) is kept in logged[], nothing sent to the system's log.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fcgi/bootd.h"
#include "check_util.h"

static char	logged[2048];	/* the last message handed to syslog(3) */
static int	logged_prio = -1;

void	__wrap_openlog(const char *, int, int);
void	__wrap_syslog(int, const char *, ...);
void	__wrap___syslog_chk(int, int, const char *, ...);

void
__wrap_openlog(const char *ident, int option, int facility)
{
}

/* Keep what syslog(3) was handed: both of its names come here. */
static void
keep(int prio, const char *fmt, va_list ap)
{
	vsnprintf(logged, sizeof(logged), fmt, ap);
	logged_prio = prio;
}

void
__wrap_syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	keep(prio, fmt, ap);
	va_end(ap);
}

void
__wrap___syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	keep(prio, fmt, ap);
	va_end(ap);
}

/* stderr, captured: a temporary file in its place (capture()), read back. */
static FILE	*captured;
static int	 saved_stderr = -1;

static void
capture(void)
{
	ck_assert_ptr_nonnull(captured = tmpfile());
	ck_assert_int_ge(saved_stderr = dup(STDERR_FILENO), 0);
	ck_assert_int_ge(dup2(fileno(captured), STDERR_FILENO), 0);
}

/*
 * Put stderr back and return what was written to it since capture(),
 * every byte that is not printable ASCII but '\n' shown as "\xNN" (in
 * buf, size bytes), so that failures print it and a NUL does not end it.
 */
static const char *
captured_text(char *buf, size_t size)
{
	size_t n = 0;
	int c;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(captured);
	while ((c = fgetc(captured)) != EOF && n + 5 < size) {
		if (c == '\n' || (c >= 0x20 && c < 0x7f))
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	buf[n] = '\0';
	fclose(captured);
	return buf;
}

/* The prefix of a stderr line of this process at level ("warning"). */
static const char *
prefix(const char *level, char *buf, size_t size)
{
	snprintf(buf, size, "bootd[%ld]: %s ", (long)getpid(), level);
	return buf;
}

static void
to_syslog(void)
{
	struct cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.daemon.log = CFG_LOG_SYSLOG;
	cfg.daemon.log_level = LOG_INFO;
	blog_init(&cfg);
}

/*
 * A NUL that a conversion puts in a message ("%c" of 0: a "%s" argument
 * ends at its own) is a control character as any other: '?', and the
 * line goes on, whole and one line, to stderr and to syslog alike.
 */
START_TEST(test_nul_to_stderr)
{
	char buf[256], want[128], p[64];

	blog_init(NULL);
	capture();
	blog(LOG_WARNING, "a%cb\n%s", 0, "c");
	snprintf(want, sizeof(want), "%sa?b?c\n", prefix("warning", p,
	    sizeof(p)));
	ck_assert_str_eq(captured_text(buf, sizeof(buf)), want);
}
END_TEST

START_TEST(test_nul_to_syslog)
{
	to_syslog();
	blog(LOG_WARNING, "a%cb\n%s", 0, "c");
	ck_assert_int_eq(logged_prio, LOG_WARNING);
	ck_assert_str_eq(logged, "a?b?c");
}
END_TEST

START_TEST(test_nul_in_a_fatal_line)
{
	char buf[256], want[128], p[64];

	blog_init(NULL);
	capture();
	blog_fatal("x%cy", 0);
	snprintf(want, sizeof(want), "%sx?y\n", prefix("error", p,
	    sizeof(p)));
	ck_assert_str_eq(captured_text(buf, sizeof(buf)), want);

	/* To syslog, and "bootd: " with it on stderr. */
	to_syslog();
	capture();
	blog_fatal("x%cy", 0);
	ck_assert_str_eq(captured_text(buf, sizeof(buf)), "bootd: x?y\n");
	ck_assert_int_eq(logged_prio, LOG_ERR);
	ck_assert_str_eq(logged, "x?y");
}
END_TEST

/* What was escaped before: control characters, DEL, bytes 0x80 and up. */
START_TEST(test_unprintable_bytes)
{
	char buf[256], want[128], p[64];

	blog_init(NULL);
	capture();
	blog(LOG_INFO, "%s", "t\tn\ne\x1b" "d\x7f" "8\x80\xff.");
	snprintf(want, sizeof(want), "%st?n?e?d?8??.\n", prefix("info", p,
	    sizeof(p)));
	ck_assert_str_eq(captured_text(buf, sizeof(buf)), want);
	to_syslog();
	blog(LOG_INFO, "%s", "t\tn\ne\x1b" "d\x7f" "8\x80\xff.");
	ck_assert_str_eq(logged, "t?n?e?d?8??.");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("malformed");

	tcase_add_test(tc, test_nul_to_stderr);
	tcase_add_test(tc, test_nul_to_syslog);
	tcase_add_test(tc, test_nul_in_a_fatal_line);
	tcase_add_test(tc, test_unprintable_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(log_suite());
}
