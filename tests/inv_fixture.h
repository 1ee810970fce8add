/*
 * inv_fixture.h - what the test_inv_*.c programs share: the fixture
 * (an inventory per test, on SQLite or PostgreSQL), the helpers more than
 * one of them uses, and their main(); see inv_fixture.c.
 */
#ifndef BOOTD_INV_FIXTURE_H
#define BOOTD_INV_FIXTURE_H

#include <stddef.h>
#include <stdio.h>

#include <check.h>

#include "check_util.h"
#include "db.h"
#include "inv.h"

extern char		 dir[64];
extern char		 dbpath[512];	/* the file, or the URI */
extern const char	*pguri;		/* on PostgreSQL: use_icu_db()'s
					   URI, else NULL */
extern const char	*sburi;		/* the same database on a hot
					   standby of it, or NULL */
extern struct inv	*inv;

/* Skip the rest of a test that needs a PostgreSQL server. */
#define PG_ONLY(why) do {						\
	if (pguri == NULL) {						\
		fprintf(stderr, "%s: skipped on SQLite: %s\n",		\
		    __func__, why);					\
		return;							\
	}								\
} while (0)

/* Skip the rest of a test that is about SQLite files only. */
#define SQLITE_ONLY(why) do {						\
	if (pguri != NULL) {						\
		fprintf(stderr, "%s: skipped on PostgreSQL: %s\n",	\
		    __func__, why);					\
		return;							\
	}								\
} while (0)

/* The schema version, as SQL for the engine under test. */
#define VERSION_SQL() (pguri != NULL ? \
	"SELECT version FROM schema_version" : "PRAGMA user_version")

struct audit_seen {
	int	 n;
	char	 last[512];	/* "actor|op|object|old|new" */
};

/* Fixture */
void		 pg_reset(void);
void		 setup(void);
void		 teardown_dir(void);

/* Helpers */
void		 assert_clean(const struct bootd_error *);
void		 host(const char *, const char *);
void		 dist(const char *, const char *, const char *, const char *);
void		 std_dist(const char *);
struct db	*own_db(const char *);
char		*dump(void);
long long	 sql_int(const char *);
int		 sql_exec(const char *, const char *);
void		 refusal(const char *, const char *, const char *,
		    const char *);
void		 refusal_drop(const char *, const char *);
int		 audit_cb(const struct inv_audit *, void *);
int		 last_audit(const char *, char *, size_t);
int		 env_cb(const struct inv_env *, void *);

/* main() of each program: run the Suite suite() makes. */
int		 inv_test_main(Suite *(*)(void));

#endif
