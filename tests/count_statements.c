/*
 * count_statements.c - a library the bootctl tests preload into bootctl
 * to count the statements it runs against its inventory
 *
 * Usage: LD_PRELOAD=.../libcount_statements.so BOOTD_COUNT_FILE=FILE
 * bootctl ...  At exit the number of sqlite3_step() calls (SQLite: one a
 * statement that returns a row or none, one more a further row) plus
 * PQsendQueryPrepared() calls (PostgreSQL: one a prepared statement run)
 * is written to FILE as a decimal line.  A count is only comparable with
 * another of the same engine: what two runs cost, not what one does.
 */
#define _GNU_SOURCE	/* RTLD_NEXT */

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* The two entry points, as sqlite3.h and libpq-fe.h declare them. */
int	sqlite3_step(void *);
int	PQsendQueryPrepared(void *, const char *, int, const char *const *,
	    const int *, const int *, int);

static long count;

/* The next definition of name after this library's: the real one. */
static void *
real(const char *name)
{
	void *fn;

	if ((fn = dlsym(RTLD_NEXT, name)) == NULL) {
		fprintf(stderr, "count_statements: no %s\n", name);
		abort();
	}
	return fn;
}

int
sqlite3_step(void *st)
{
	static int (*fn)(void *);

	if (fn == NULL)
		*(void **)&fn = real("sqlite3_step");
	count++;
	return fn(st);
}

int
PQsendQueryPrepared(void *conn, const char *name, int n,
    const char *const *values, const int *lengths, const int *formats,
    int result_format)
{
	static int (*fn)(void *, const char *, int, const char *const *,
	    const int *, const int *, int);

	if (fn == NULL)
		*(void **)&fn = real("PQsendQueryPrepared");
	count++;
	return fn(conn, name, n, values, lengths, formats, result_format);
}

static void __attribute__((destructor))
write_count(void)
{
	const char *path = getenv("BOOTD_COUNT_FILE");
	FILE *f;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "%ld\n", count);
	fclose(f);
}
