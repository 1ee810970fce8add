/*
 * log.c - the bootd logger: one line per message to stderr or syslog(3)
 *
 * stderr lines look like "bootd[PID]: LEVEL message" and are written with
 * one write(2) each, so lines from several workers never interleave.
 * The exception is the line a worker logs for each boot (blog_held()):
 * those are held, whole, and written together, up to HOLD_MAX bytes at a
 * time (PIPE_BUF: one write(2) to a pipe is never split), when no more
 * fit, when the worker has nothing left to answer (blog_flush(), before
 * it waits) and before any other line.  Written one by one to a file,
 * they cost bootd 58.8 µs of processor time an answer against 56.9 held
 * (100,000 hosts, 64 connections, 6 rounds interleaved on one stack);
 * no log line at all saves about 4 µs.  A worker killed outright loses
 * at most the HOLD_MAX bytes held, about 30 lines, which the boot
 * events database records anyway.
 * Every byte of a message that is not printable ASCII (control characters,
 * DEL, and bytes 0x80 and up: whatever a client, a database error or a
 * path holds) becomes '?', so nothing can forge a log line or put text
 * that is not ASCII, valid UTF-8 or not, into it.  That includes a NUL
 * that formatting writes ("%c" of 0): it neither ends the message early
 * (syslog(3) and blog_fatal() would have cut it there) nor reaches a
 * stderr line, which would have kept what follows it unescaped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "bootd.h"

#define LOG_LINE_MAX	1024	/* a message, with its NUL or newline */
#define LOG_PREFIX_MAX	64	/* "bootd[PID]: warning " */
#define HOLD_MAX	4096	/* boot lines held (PIPE_BUF) */

static enum cfg_log	log_dest = CFG_LOG_STDERR;
static int		log_level = LOG_INFO;
static int		log_opened;
static pid_t		log_pid;	/* 0: ask getpid() */
static char		held[HOLD_MAX];	/* blog_held()'s lines, whole */
static size_t		nheld;

static const char *
level_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
blog_init(const struct cfg *cfg)
{
	log_dest = cfg != NULL ? cfg->daemon.log : CFG_LOG_STDERR;
	log_level = cfg != NULL ? cfg->daemon.log_level : LOG_INFO;
	if (log_dest == CFG_LOG_SYSLOG && !log_opened) {
		openlog("bootd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_opened = 1;
	}
}

/*
 * Replace every byte of the n at s that is not printable ASCII, NUL
 * included, by '?'.
 */
static void
sanitize(char *s, size_t n)
{
	for (; n > 0; s++, n--)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/*
 * Format fmt and ap into msg (LOG_LINE_MAX bytes) as vsnprintf(3) does
 * and return the length of what msg holds, cut to fit; -1 when it cannot
 * be formatted.  A NUL a conversion writes counts in it.
 */
static int
format_msg(char *msg, const char *fmt, va_list ap)
{
	int n;

	if ((n = vsnprintf(msg, LOG_LINE_MAX, fmt, ap)) < 0)
		return -1;
	return n < LOG_LINE_MAX ? n : LOG_LINE_MAX - 1;
}

static void
write_stderr(const char *line, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(STDERR_FILENO, line, len);
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

/*
 * Put "bootd[PID]: LEVEL " at the start of line (LOG_PREFIX_MAX bytes at
 * least) and return its length; none for syslog(3), which adds its own.
 */
static size_t
prefix(char *line, int prio)
{
	int n;

	if (log_dest == CFG_LOG_SYSLOG)
		return 0;
	n = snprintf(line, LOG_PREFIX_MAX, "bootd[%ld]: %s ",
	    (long)(log_pid != 0 ? log_pid : getpid()), level_name(prio));
	return n > 0 && n < LOG_PREFIX_MAX ? (size_t)n : 0;
}

void
blog_flush(void)
{
	if (nheld > 0)
		write_stderr(held, nheld);
	nheld = 0;
}

int
blog_pending(void)
{
	return nheld > 0;
}

/*
 * Log the message of n bytes at line + p (any bytes, sanitize()d here;
 * line has room for a newline after it) to syslog, or with the prefix
 * already in line[0..p) as one line to stderr: at once, after the lines
 * held, or, with hold set, added to them.
 */
static void
emit(int prio, char *line, size_t p, size_t n, int hold)
{
	sanitize(line + p, n);
	line[p + n] = '\0';
	if (log_dest == CFG_LOG_SYSLOG) {
		syslog(prio, "%s", line + p);
		return;
	}
	line[p + n] = '\n';
	n += p + 1;
	if (!hold || nheld + n > sizeof(held))
		blog_flush();
	if (!hold) {
		write_stderr(line, n);
		return;
	}
	memcpy(held + nheld, line, n);
	nheld += n;
}

static void
vblog(int prio, const char *fmt, va_list ap)
{
	char line[LOG_PREFIX_MAX + LOG_LINE_MAX];
	size_t p;
	int n;

	if (prio > log_level)
		return;
	p = prefix(line, prio);
	if ((n = format_msg(line + p, fmt, ap)) < 0)
		return;
	emit(prio, line, p, (size_t)n, 0);
}

/* One line of msg, not formatted; held with hold set. */
static void
line_of(int prio, const char *msg, int hold)
{
	char line[LOG_PREFIX_MAX + LOG_LINE_MAX];
	size_t p, n;

	if (prio > log_level)
		return;
	p = prefix(line, prio);
	if ((n = strlen(msg)) >= LOG_LINE_MAX)
		n = LOG_LINE_MAX - 1;
	memcpy(line + p, msg, n);
	emit(prio, line, p, n, hold);
}

void
blog_line(int prio, const char *msg)
{
	line_of(prio, msg, 0);
}

void
blog_held(int prio, const char *msg)
{
	line_of(prio, msg, 1);
}

void
blog_forked(void)
{
	log_pid = getpid();
	nheld = 0;	/* the parent's to write, not a second time */
}

int
blog_enabled(int prio)
{
	return prio <= log_level;
}

void
blog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vblog(prio, fmt, ap);
	va_end(ap);
}

void
blog_fatal(const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 16];
	va_list ap;
	int n;

	va_start(ap, fmt);
	if ((n = format_msg(msg, fmt, ap)) < 0)
		n = 0;
	va_end(ap);
	sanitize(msg, (size_t)n);
	msg[n] = '\0';
	blog_line(LOG_ERR, msg);
	if (log_dest == CFG_LOG_SYSLOG || log_level < LOG_ERR) {
		n = snprintf(line, sizeof(line), "bootd: %s\n", msg);
		if (n > 0 && (size_t)n < sizeof(line))
			write_stderr(line, (size_t)n);
	}
}
