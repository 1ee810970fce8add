/*
 * output.c - what bootctl prints: one-line messages, tables, "key: value"
 * lines, JSON documents
 *
 * Colour is used only on a terminal, and never when NO_COLOR is set
 * (https://no-color.org) or TERM is "dumb": table headers in bold, error
 * messages in red.  Nothing else changes with it, so output read by a
 * program is the same whether a terminal is attached or not.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootctl.h"

/*
 * Copy s into b with control characters and non-ASCII bytes shown as
 * \xNN, so that nothing printed can move the cursor or split a line.
 * Backslashes pass as they are: libboot's messages already quote values
 * that way (valid_quote()).
 */
void
safe_append(struct buf *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL)
		return;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_append(b, (const char *)p, 1);
	}
}

#define SGR_BOLD	"\033[1m"
#define SGR_RED		"\033[31m"
#define SGR_RESET	"\033[0m"

/* Whether to colour what is written to f (see the top of this file). */
bool
color_on(FILE *f)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (nc != NULL && nc[0] != '\0')
		return false;
	if (term != NULL && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f)) == 1;
}

/* Print "bootctl: MESSAGE" on stderr, made safe, on one line. */
void
warnmsg(const char *fmt, ...)
{
	struct buf raw = { 0 }, out = { 0 };
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_puts(&raw, line);
	safe_append(&out, buf_str(&raw));
	if (color_on(stderr))
		fprintf(stderr, "bootctl: " SGR_RED "%s" SGR_RESET "\n",
		    buf_str(&out));
	else
		fprintf(stderr, "bootctl: %s\n", buf_str(&out));
	buf_free(&raw);
	buf_free(&out);
}

/*
 * The pid of the process holding the inventory's write lock, or 0 when
 * none is found.  In WAL mode SQLite's writer holds a POSIX lock on byte
 * 120 of the -shm file (WAL_WRITE_LOCK, the first of the locks after
 * the shm header); F_GETLK names the holder.  A guess, for the message
 * only: the lock may be gone by the time it is printed.
 */
static long
lock_holder(const char *dbpath)
{
	struct flock fl;
	char shm[4096];
	int fd;

	if (dbpath == NULL || (size_t)snprintf(shm, sizeof(shm), "%s-shm",
	    dbpath) >= sizeof(shm))
		return 0;
	if ((fd = open(shm, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 120;
	fl.l_len = 1;
	if (fcntl(fd, F_GETLK, &fl) == -1 || fl.l_type == F_UNLCK)
		fl.l_pid = 0;
	close(fd);
	return (long)fl.l_pid;
}

/*
 * Report the libboot error held in ctx; returns EXIT_FAIL.  A busy
 * inventory ("database is locked", or SQLite's "locking protocol" after
 * a writer was stopped mid-transaction) is said in the operator's words.
 */
int
fail(struct ctx *ctx, enum bootd_err rc)
{
	long pid;

	if (rc == BOOTD_EBUSY || strstr(ctx->err.text, "locking protocol") !=
	    NULL) {
		if (!ctx->uri && (pid = lock_holder(ctx->dbpath)) > 0)
			warnmsg("the inventory is locked by another process "
			    "(pid %ld); nothing was changed, try again later",
			    pid);
		else
			warnmsg("the inventory is locked by another process; "
			    "nothing was changed, try again later");
		return EXIT_FAIL;
	}
	if (ctx->err.text[0] != '\0')
		warnmsg("%s", ctx->err.text);
	else
		warnmsg("%s", bootd_strerror(rc));
	return EXIT_FAIL;
}

/* Format a unix time as UTC "2026-01-02T03:04:05Z", or "-" for 0. */
const char *
fmt_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return strcpy(out, "-");
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

/*
 * Append s, a value of an audit row of operation op, to b.  The value
 * set-reinstall rows end with, "expires=UNIXTIME" in rows written before
 * times were stored as RFC 3339, is given as RFC 3339, so the audit log
 * shows one kind of time whatever wrote the row.  Nothing else is
 * touched: other values are what a user typed ("attr set h note
 * expires=1796206351" stays as typed).
 */
void
append_audit_value(struct buf *b, const char *op, const char *s)
{
	const char *p, *digits;
	char when[32];
	long long t;
	size_t len;

	if (s == NULL) {
		buf_puts(b, "-");
		return;
	}
	len = strlen(s);
	for (p = s + len; p > s && p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	digits = p;
	if (op == NULL || strcmp(op, "set-reinstall") != 0 ||
	    (size_t)(digits - s) < 8 || strncmp(digits - 8, "expires=", 8) ||
	    (digits - 8 != s && digits[-9] != ' ') ||
	    len - (size_t)(digits - s) < 9 || len - (size_t)(digits - s) > 12 ||
	    sscanf(digits, "%lld", &t) != 1) {
		buf_puts(b, s);
		return;
	}
	buf_append(b, s, (size_t)(digits - s));
	buf_puts(b, fmt_time((int64_t)t, when));
}

const char *
action_name(enum inv_action action)
{
	return action == INV_ACTION_INSTALL ? "install" : "local";
}

void
table_add(struct table *t, const char *s)
{
	struct buf b = { 0 };
	char **n;

	if (t->failed)
		return;
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		n = realloc(t->cells, t->cap * sizeof(*n));
		if (n == NULL) {
			t->failed = true;
			return;
		}
		t->cells = n;
	}
	safe_append(&b, s != NULL && s[0] != '\0' ? s : "-");
	if (buf_failed(&b)) {
		t->failed = true;
		buf_free(&b);
		return;
	}
	t->cells[t->ncells++] = strdup(buf_str(&b));
	if (t->cells[t->ncells - 1] == NULL)
		t->failed = true;
	buf_free(&b);
}

void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/*
 * Start t with a row of the column titles given, which end with NULL;
 * their number is t's number of columns.
 */
void
table_head(struct table *t, ...)
{
	const char *title;
	va_list ap;

	memset(t, 0, sizeof(*t));
	va_start(ap, t);
	while ((title = va_arg(ap, const char *)) != NULL) {
		table_add(t, title);
		t->ncols++;
	}
	va_end(ap);
}

/* Print t; returns EXIT_FAIL when building it ran out of memory. */
int
table_print(struct table *t)
{
	size_t w[16] = { 0 }, i, c, len;
	bool bold = color_on(stdout);

	if (t->failed) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < t->ncells; i++) {
		c = i % t->ncols;
		len = strlen(t->cells[i]);
		if (c < 16 && len > w[c])
			w[c] = len;
	}
	for (i = 0; i < t->ncells; i++) {
		c = i % t->ncols;
		/* The first row holds the column titles. */
		if (bold && i < t->ncols)
			printf(SGR_BOLD);
		if (c + 1 == t->ncols)
			printf("%s", t->cells[i]);
		else
			printf("%-*s", (int)w[c], t->cells[i]);
		if (bold && i < t->ncols)
			printf(SGR_RESET);
		printf(c + 1 == t->ncols ? "\n" : "  ");
	}
	return EXIT_OK;
}

/*
 * End a listing verb: print t when filling it succeeded (rc is BOOTD_OK),
 * else report rc.  Frees t; returns the exit status.
 */
int
table_done(struct ctx *ctx, struct table *t, enum bootd_err rc)
{
	int ret;

	ret = rc == BOOTD_OK ? table_print(t) : fail(ctx, rc);
	table_free(t);
	return ret;
}

/* Print "key: value" lines for show verbs, value made safe. */
void
show_line(const char *key, const char *value)
{
	struct buf b = { 0 };

	safe_append(&b, value != NULL && value[0] != '\0' ? value : "-");
	printf("%-14s %s\n", key, buf_str(&b));
	buf_free(&b);
}

/*
 * Print doc as one JSON document on stdout (keys in the order they were
 * set, two-space indent, a final newline) and release it.  Every --json
 * output goes through here.  Returns EXIT_OK, or EXIT_FAIL when doc is
 * NULL (it could not be built) or cannot be written.
 */
int
json_emit(json_t *doc)
{
	int rc;

	if (doc == NULL) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII);
	json_decref(doc);
	if (rc != 0 || fputc('\n', stdout) == EOF) {
		warnmsg("writing output failed");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/*
 * Set a time in obj the way every JSON output gives times: key is the
 * RFC 3339 UTC string ("2026-01-02T03:04:05Z") and key_unix the unix
 * seconds, both null when t is 0 (never).  Returns 0, or -1 out of memory.
 */
int
json_set_time(json_t *obj, const char *key, int64_t t)
{
	char when[32], unixkey[128];

	snprintf(unixkey, sizeof(unixkey), "%s_unix", key);
	if (t <= 0)
		return json_object_set_new(obj, key, json_null()) |
		    json_object_set_new(obj, unixkey, json_null());
	return json_object_set_new(obj, key, json_string(fmt_time(t, when))) |
	    json_object_set_new(obj, unixkey, json_integer((json_int_t)t));
}

/*
 * A --json listing: json_list_start() makes {"KEY": []}, json_list_add()
 * appends one object per row (NULL: out of memory), json_list_done()
 * emits it, or reports the error that ended the listing.
 */
void
json_list_start(struct json_list *jl, const char *key)
{
	jl->failed = false;
	jl->doc = json_object();
	jl->list = json_array();
	if (jl->doc == NULL || jl->list == NULL ||
	    json_object_set_new(jl->doc, key, jl->list) != 0)
		jl->failed = true;
}

void
json_list_add(struct json_list *jl, json_t *o)
{
	if (jl->failed || o == NULL || json_array_append_new(jl->list, o))
		jl->failed = true;
}

/* Emit the listing when rc is BOOTD_OK, else report rc.  Exit status. */
int
json_list_done(struct ctx *ctx, struct json_list *jl, enum bootd_err rc)
{
	if (rc != BOOTD_OK) {
		json_decref(jl->doc);
		return fail(ctx, rc);
	}
	if (jl->failed) {
		json_decref(jl->doc);
		jl->doc = NULL;
	}
	return json_emit(jl->doc);
}

/*
 * A JSON string of s, or null when s is NULL.  Text that is not UTF-8
 * (what a boot client sent, say) is given with its odd bytes as \\xNN,
 * as in the text output.  NULL when out of memory.
 */
json_t *
json_str(const char *s)
{
	struct buf b = { 0 };
	json_t *j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	safe_append(&b, s);
	j = buf_failed(&b) ? NULL : json_string(buf_str(&b));
	buf_free(&b);
	return j;
}
