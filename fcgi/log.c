/*
 * log.c - the bootd logger: one line per message to stderr or syslog(3)
 *
 * stderr lines look like "bootd[PID]: LEVEL message" and are written with
 * one write(2) each, so lines from several workers never interleave.
 * Every byte of a message that is not printable ASCII (control characters,
 * DEL, and bytes 0x80 and up: whatever a client, a database error or a
 * path holds) becomes '?', so nothing can forge a log line or put text
 * that is not ASCII, valid UTF-8 or not, into it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "bootd.h"

#define LOG_LINE_MAX	1024

static enum cfg_log	log_dest = CFG_LOG_STDERR;
static int		log_level = LOG_INFO;
static int		log_opened;
static pid_t		log_pid;	/* 0: ask getpid() */

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

/* Replace every byte of s that is not printable ASCII by '?'. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
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

static void
vblog(int prio, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 64];
	int n;

	if (prio > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	sanitize(msg);
	if (log_dest == CFG_LOG_SYSLOG) {
		syslog(prio, "%s", msg);
		return;
	}
	n = snprintf(line, sizeof(line), "bootd[%ld]: %s %s\n",
	    (long)(log_pid != 0 ? log_pid : getpid()), level_name(prio), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_stderr(line, (size_t)n);
}

void
blog_forked(void)
{
	log_pid = getpid();
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
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sanitize(msg);
	blog(LOG_ERR, "%s", msg);
	if (log_dest == CFG_LOG_SYSLOG || log_level < LOG_ERR) {
		n = snprintf(line, sizeof(line), "bootd: %s\n", msg);
		if (n > 0 && (size_t)n < sizeof(line))
			write_stderr(line, (size_t)n);
	}
}
