/*
 * test_db.c - the SQL drivers (db.h), the same cases on every engine
 *
 * Every case runs on SQLite (a fresh file under /tmp, the real inventory
 * migrations) and, when BOOTD_TEST_PG holds a PostgreSQL URI, on PostgreSQL
 * too (the public schema dropped and made again from sql/postgresql/, as
 * compiled in).  tests/integration/test_db_pg.py starts a throw-away primary
 * and hot standby with tests/pg.py and runs this program with:
 *   BOOTD_TEST_PG          the primary's URI
 *   BOOTD_TEST_PG_STANDBY  the standby's URI (standby cases)
 *   BOOTD_TEST_PG_BOTH     a multi-host URI: standby first, then primary
 *   BOOTD_TEST_PG_RESTART  a shell command restarting the primary
 *   BOOTD_TEST_PG_FAILOVER a shell command stopping the primary and
 *                          promoting the standby (the "failover" case,
 *                          run alone by CK_INCLUDE_TAGS=failover)
 * Without them the PostgreSQL cases are not run (and say so).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check_util.h"
#include "db.h"
#include "db_driver.h"
#include "migrations.h"

#define MAC	"52:54:00:12:34:56"

static char		 dir[64];
static char		 path[128];
static struct db	*db;		/* the case's handle */
static int		 engine;	/* the case's engine, DB_SQLITE... */

/* call fails with code and the handle h says class; the text is a line. */
#define FAILS(h, call, code, class) do {				\
	struct bootd_error err_ = { "" };				\
	enum bootd_err rc_ = (call);					\
	ck_assert_msg(rc_ == (code), "%s: %s, not %s (%s)", #call,	\
	    bootd_strerror(rc_), bootd_strerror(code), err_.text);	\
	ck_assert_msg(db_errclass(h) == (class), "%s: class %s, not "	\
	    "%s (%s)", #call, db_errclass_name(db_errclass(h)),	\
	    db_errclass_name(class), err_.text);			\
	ck_assert_msg(err_.text[0] != '\0' &&				\
	    strchr(err_.text, '\n') == NULL, "%s: text \"%s\"", #call,	\
	    err_.text);							\
} while (0)

/* Fixture -------------------------------------------------------------- */

static const char *
pg_uri(void)
{
	const char *u = getenv("BOOTD_TEST_PG");

	return u != NULL && *u != '\0' ? u : NULL;
}

/* The engines to run the cases on: SQLite, and PostgreSQL if given. */
static int
nengines(void)
{
	return pg_uri() != NULL ? 2 : 1;
}

static int64_t	one_int(struct db *, const char *);

/*
 * Apply the real schema, as compiled in: the SQLite migrations as inv.c
 * does, or sql/postgresql/ (inventory and events) on a public schema made
 * empty.
 */
static void
schema(struct db *h)
{
	int k;

	if (db_engine(h) == DB_SQLITE) {
		OK(db_begin(h, DB_TXN_WRITE, &err_));
		for (k = 0; k < inv_nmigrations; k++)
			OK(db_exec(h, inv_migrations[k].sql, &err_));
		OK(db_commit(h, &err_));
		return;
	}
	OK(db_exec(h, "DROP SCHEMA IF EXISTS events CASCADE; "
	    "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public",
	    &err_));
	OK(db_begin(h, DB_TXN_WRITE, &err_));
	for (k = 0; k < pg_inv_nmigrations; k++)
		OK(db_exec(h, pg_inv_migrations[k].sql, &err_));
	for (k = 0; k < pg_events_nmigrations; k++)
		OK(db_exec(h, pg_events_migrations[k].sql, &err_));
	OK(db_commit(h, &err_));
	ck_assert_int_eq(one_int(h, "SELECT version FROM schema_version"),
	    pg_inv_migrations[pg_inv_nmigrations - 1].version);
	ck_assert_int_eq(one_int(h, "SELECT version FROM events.schema_version"),
	    pg_events_migrations[pg_events_nmigrations - 1].version);
	/* The same version as SQLite's newest. */
	ck_assert_int_eq(pg_inv_migrations[pg_inv_nmigrations - 1].version,
	    inv_migrations[inv_nmigrations - 1].version);
}

/* One statement without rows, with up to three text parameters. */
static void
run3(struct db *h, const char *sql, const char *a, const char *b,
    const char *c)
{
	struct db_stmt *st;
	int row;

	OK(db_prepare(h, sql, &st, &err_));
	if (a != NULL)
		OK(db_bind_text(st, 1, a, &err_));
	if (b != NULL)
		OK(db_bind_text(st, 2, b, &err_));
	if (c != NULL)
		OK(db_bind_text(st, 3, c, &err_));
	OK(db_step(st, &row, &err_));
	db_finalize(st);
}

/* The first column of the first row of sql, as an integer. */
static int64_t
one_int(struct db *h, const char *sql)
{
	struct db_stmt *st;
	int64_t v;
	int row;

	OK(db_prepare(h, sql, &st, &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	v = db_column_int64(st, 0);
	db_finalize(st);
	return v;
}

static const char *
where(int e)
{
	return e == DB_SQLITE ? path : pg_uri();
}

/*
 * Open the case's database on engine e, fresh: the schema, then a
 * distribution, two environments' hosts and a NIC.
 */
static void
open_fresh(int e)
{
	engine = e;
	OK(db_open(where(e), DB_CREATE, &db, &err_));
	ck_assert_int_eq(db_engine(db), e);
	schema(db);
	OK(db_exec(db, "INSERT INTO env (name) VALUES ('lab'); "
	    "INSERT INTO dist (name, kernel) VALUES ('debian-12', 'http://x/k'); "
	    "INSERT INTO dist_initrd (dist, pos, url) VALUES "
	    "('debian-12', 0, 'http://x/i'); "
	    "INSERT INTO host (fqdn) VALUES ('web1.example.org'); "
	    "INSERT INTO host (fqdn, env, action, dist) VALUES "
	    "('db1.example.org', 'lab', 'install', 'debian-12'); "
	    "INSERT INTO nic (mac, host) SELECT '" MAC "', id FROM host "
	    "WHERE fqdn = 'web1.example.org'", &err_));
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bootd-test-db-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/inv.db", dir);
}

static void
teardown(void)
{
	db_close(db);
	db = NULL;
	rm_db(path);
	rmdir(dir);
}

/* Placeholders (no database) -------------------------------------------- */

START_TEST(test_params_rewrite)
{
	static const struct {
		const char	*in, *out;
		int		 n;
	} v[] = {
		{ "SELECT 1", "SELECT 1", 0 },
		{ "SELECT $2, $1", "SELECT ?2, ?1", 2 },
		{ "SELECT $1 || $1", "SELECT ?1 || ?1", 1 },
		{ "SELECT $12", "SELECT ?12", 12 },
		{ "SELECT '$1', $2", "SELECT '$1', ?2", 2 },
		{ "SELECT 'it''s $1', $1", "SELECT 'it''s $1', ?1", 1 },
		{ "SELECT \"$3\" FROM t WHERE x = $1",
		    "SELECT \"$3\" FROM t WHERE x = ?1", 1 },
		{ "SELECT $1 -- $9\n, $2", "SELECT ?1 -- $9\n, ?2", 2 },
		{ "SELECT /* $9 */ $1", "SELECT /* $9 */ ?1", 1 },
		{ "SELECT $$ $9 $$, $1", "SELECT $$ $9 $$, ?1", 1 },
		{ "SELECT $q$ $9 $x$ $q$, $1", "SELECT $q$ $9 $x$ $q$, ?1", 1 },
		{ "SELECT x$1, $1", "SELECT x$1, ?1", 1 },
		{ "SELECT 1+$1,($2)", "SELECT 1+?1,(?2)", 2 },
		{ "SELECT a$$b, $1", "SELECT a$$b, ?1", 1 },
		{ "SELECT '$1", "SELECT '$1", 0 },
		{ "SELECT $99", "SELECT ?99", 99 },
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_int_eq(db_params(v[i].in, out), v[i].n);
		ck_assert_str_eq(out, v[i].out);
		ck_assert_int_eq(db_params(v[i].in, NULL), v[i].n);
	}
	ck_assert_int_eq(db_params("SELECT $1000", NULL), -1);
	ck_assert_int_eq(db_params("SELECT $999", NULL), 999);
	ck_assert_int_eq(db_is_uri("postgresql:///bootd"), 1);
	ck_assert_int_eq(db_is_uri("postgres://h/bootd"), 1);
	ck_assert_int_eq(db_is_uri("/var/lib/bootd/bootd.db"), 0);
	ck_assert_int_eq(db_is_uri("postgresql.db"), 0);
}
END_TEST

/* Opening --------------------------------------------------------------- */

START_TEST(test_open_fails)
{
	struct bootd_error err = { "" };
	struct db *h = (struct db *)&h;

	engine = _i;
	ck_assert_int_eq(db_open("", DB_RDWR, &h, &err), BOOTD_EINVAL);
	ck_assert_ptr_null(h);
	if (engine == DB_SQLITE) {
		ck_assert_int_eq(db_open("/nonexistent/dir/inv.db", DB_RDWR,
		    &h, &err), BOOTD_EDB);
		ck_assert_ptr_nonnull(strstr(err.text, "cannot open"));
	} else {
		/* Nobody listens there: "every server down". */
		ck_assert_int_eq(db_open("postgresql:///bootd?"
		    "host=/nonexistent,/nonexistent2&port=1,2&user=x"
		    "&password=secret-word", DB_RDWR, &h, &err), BOOTD_EDB);
		ck_assert_ptr_nonnull(strstr(err.text, "cannot connect"));
		ck_assert_ptr_null(strstr(err.text, "secret-word"));
	}
	ck_assert_ptr_null(h);
	ck_assert_ptr_null(strchr(err.text, '\n'));
}
END_TEST

/*
 * Does text show any 8 characters in a row of secret?  (A password cut
 * short still gives its beginning away.)
 */
static int
shows(const char *text, const char *secret)
{
	char part[9];
	size_t i;

	for (i = 0; i + 8 <= strlen(secret); i++) {
		memcpy(part, secret + i, 8);
		part[8] = '\0';
		if (strstr(text, part) != NULL)
			return 1;
	}
	return 0;
}

/* Passwords never reach a message, however long, wherever libpq cuts. */
START_TEST(test_passwords_masked)
{
	struct bootd_error err = { "" };
	struct db *h = NULL;
	char pw[101], uri[256], out[256], text[256];

	memset(pw, 'p', 100);
	memcpy(pw, "Sekr3t-", 7);
	pw[100] = '\0';
	/* An unparsable URI: libpq quotes it whole in its message. */
	snprintf(uri, sizeof(uri), "postgresql://bootd:%s@[::1/bootd", pw);
	ck_assert_int_ne(db_open(uri, DB_RDWR, &h, &err), BOOTD_OK);
	ck_assert_msg(!shows(err.text, pw), "%s", err.text);
	ck_assert_msg(!shows(err.text, "Sekr3t-pp"), "%s", err.text);
	ck_assert_ptr_null(h);
	/* sslpassword (the client key's) is as secret, as written. */
	ck_assert_int_ne(db_open("postgresql://[::1/db?sslpassword=key-"
	    "Secret", DB_RDWR, &h, &err), BOOTD_OK);
	ck_assert_ptr_null(strstr(err.text, "key-Secret"));
	ck_assert_str_eq(db_where_print("postgresql://h/db?sslmode=verify-"
	    "full&sslpassword=key-Secret&ssl%70assword=x", out, sizeof(out)),
	    "postgresql://h/db?sslmode=verify-full&sslpassword=***&"
	    "ssl%70assword=***");
	snprintf(text, sizeof(text), "invalid URI: \"postgresql://h/db?"
	    "sslpassword=key-Secret\"");
	db_scrub(text, "postgresql://h/db?sslpassword=key-Secret");
	ck_assert_str_eq(text, "invalid URI: \"postgresql://h/db?"
	    "sslpassword=***\"");
	/*
	 * An "@" written as it is in the password: bootd's masking reads
	 * the password up to the last "@", libpq up to the first, and took
	 * the rest of it for the host, quoted in its message ("could not
	 * translate host name \"word-Word@nohost.invalid\"").  Refused
	 * before libpq sees it, the password masked whole.
	 */
	ck_assert_int_eq(db_open("postgresql://bootd:Sekr3t@word-Word@"
	    "nohost.invalid/bootd", DB_RDWR, &h, &err), BOOTD_EINVAL);
	ck_assert_ptr_null(h);
	ck_assert_msg(strstr(err.text, "word-Word") == NULL &&
	    strstr(err.text, "Sekr3t") == NULL, "%s", err.text);
	ck_assert_msg(strstr(err.text, "%40") != NULL, "%s", err.text);
	ck_assert_ptr_null(strchr(err.text, '\n'));
}
END_TEST

/* Statements ------------------------------------------------------------ */

START_TEST(test_placeholders_by_number)
{
	struct db_stmt *st;
	int row;

	open_fresh(_i);
	OK(db_prepare(db, "SELECT $2, $1, $2, '$1'", &st, &err_));
	OK(db_bind_text(st, 1, "a", &err_));
	OK(db_bind_text(st, 2, "b", &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	ck_assert_int_eq(db_column_count(st), 4);
	ck_assert_str_eq(db_column_text(st, 0), "b");
	ck_assert_str_eq(db_column_text(st, 1), "a");
	ck_assert_str_eq(db_column_text(st, 2), "b");
	ck_assert_str_eq(db_column_text(st, 3), "$1");
	/* Out of range reads as NULL. */
	ck_assert_ptr_null(db_column_text(st, 4));
	ck_assert_int_eq(db_column_is_null(st, -1), 1);
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 0);
	ck_assert_int_eq(db_column_count(st), 0);
	/* No $3 here; and binding a run statement needs a reset first. */
	db_reset(st);
	FAILS(db, db_bind_text(st, 3, "c", &err_), BOOTD_EINVAL,
	    DB_ERR_OTHER);
	FAILS(db, db_bind_text(st, 0, "c", &err_), BOOTD_EINVAL,
	    DB_ERR_OTHER);
	OK(db_bind_text(st, 1, "x", &err_));
	OK(db_step(st, &row, &err_));
	FAILS(db, db_bind_text(st, 1, "y", &err_), BOOTD_EINVAL,
	    DB_ERR_OTHER);
	db_finalize(st);
}
END_TEST

START_TEST(test_values_round_trip)
{
	static const char odd[] = "o'brien \"x\" \xc3\xbc $1 ${x}";
	struct db_stmt *st;
	int64_t id, big = INT64_C(9000000000000000000);
	int row;

	open_fresh(_i);
	/* RETURNING gives the new id on both engines. */
	OK(db_prepare(db, "INSERT INTO host (fqdn, env) VALUES ($1, $2) "
	    "RETURNING id", &st, &err_));
	OK(db_bind_text(st, 1, "web2.example.org", &err_));
	OK(db_bind_text(st, 2, "lab", &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	id = db_column_int64(st, 0);
	ck_assert_int_gt(id, 0);
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 0);
	ck_assert_int_eq(db_changes(st), 1);
	db_finalize(st);

	OK(db_prepare(db, "INSERT INTO audit (time, actor, op, object, old, "
	    "new) VALUES ($1, $2, $3, $4, $5, $6)", &st, &err_));
	OK(db_bind_int64(st, 1, big, &err_));
	OK(db_bind_text(st, 2, odd, &err_));
	OK(db_bind_text(st, 3, "op", &err_));
	OK(db_bind_int64(st, 4, -id, &err_));	/* an integer into text */
	OK(db_bind_null(st, 5, &err_));
	OK(db_bind_text(st, 6, "", &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 0);
	db_finalize(st);

	OK(db_prepare(db, "SELECT time, actor, object, old, new FROM audit",
	    &st, &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	ck_assert_int_eq(db_column_int64(st, 0), big);
	ck_assert_str_eq(db_column_text(st, 1), odd);
	ck_assert_int_eq(db_column_int64(st, 2), -id);
	ck_assert_int_eq(db_column_is_null(st, 3), 1);
	ck_assert_ptr_null(db_column_text(st, 3));
	ck_assert_int_eq(db_column_int64(st, 3), 0);
	ck_assert_int_eq(db_column_is_null(st, 4), 0);
	ck_assert_str_eq(db_column_text(st, 4), "");
	ck_assert_int_eq(db_column_int64(st, 1), 0);	/* no number */
	db_finalize(st);
}
END_TEST

START_TEST(test_rows_and_changes)
{
	static const char *const macs[] = { "52:54:00:00:00:03",
	    "52:54:00:00:00:01", "52:54:00:00:00:02" };
	struct db_stmt *ins, *sel, *upd;
	int i, row;

	open_fresh(_i);
	OK(db_prepare(db, "INSERT INTO nic (mac, host) SELECT $1, id "
	    "FROM host WHERE fqdn = $2", &ins, &err_));
	for (i = 0; i < 3; i++) {
		db_reset(ins);
		OK(db_bind_text(ins, 1, macs[i], &err_));
		OK(db_bind_text(ins, 2, "db1.example.org", &err_));
		OK(db_step(ins, &row, &err_));
		ck_assert_int_eq(db_changes(ins), 1);
	}
	OK(db_prepare(db, "SELECT n.mac, h.id FROM nic n JOIN host h "
	    "ON h.id = n.host WHERE h.fqdn = $1 ORDER BY n.mac", &sel, &err_));
	OK(db_bind_text(sel, 1, "db1.example.org", &err_));
	for (i = 1; i <= 3; i++) {
		OK(db_step(sel, &row, &err_));
		ck_assert_int_eq(row, 1);
		ck_assert_str_eq(db_column_text(sel, 0), macs[i % 3]);
	}
	OK(db_step(sel, &row, &err_));
	ck_assert_int_eq(row, 0);
	OK(db_step(sel, &row, &err_));	/* stays at the end */
	ck_assert_int_eq(row, 0);
	ck_assert_int_eq(db_changes(sel), 0);	/* reads change nothing */

	OK(db_prepare(db, "UPDATE host SET env = $1 WHERE env <> $1", &upd,
	    &err_));
	OK(db_bind_text(upd, 1, "default", &err_));
	OK(db_step(upd, &row, &err_));
	ck_assert_int_eq(db_changes(upd), 1);
	db_reset(upd);
	ck_assert_int_eq(db_changes(upd), 1);	/* kept until the next run */
	OK(db_bind_text(upd, 1, "default", &err_));
	OK(db_step(upd, &row, &err_));
	ck_assert_int_eq(db_changes(upd), 0);
	/* db_close() frees what is still prepared. */
}
END_TEST

START_TEST(test_reset_clears_bindings)
{
	struct db_stmt *st;
	int row;

	open_fresh(_i);
	OK(db_prepare(db, "INSERT INTO host (fqdn) VALUES ($1)", &st, &err_));
	OK(db_bind_text(st, 1, "web2.example.org", &err_));
	OK(db_step(st, &row, &err_));
	db_reset(st);
	/* Unbound is NULL: the NOT NULL constraint refuses it. */
	FAILS(db, db_step(st, &row, &err_), BOOTD_EINVAL, DB_ERR_CONSTRAINT);
	db_reset(st);
	OK(db_bind_text(st, 1, "web3.example.org", &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(db_errclass(db), DB_ERR_NONE);
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM host"), 4);
	db_finalize(st);
}
END_TEST

/*
 * db_bind_text_ref(): the value as it is at the step; a reset lets go of
 * it (a buffer changed after the reset is not seen).
 */
START_TEST(test_bind_text_ref)
{
	struct db_stmt *st;
	char name[32];
	int row;

	open_fresh(_i);
	OK(db_prepare(db, "INSERT INTO host (fqdn) VALUES ($1)", &st, &err_));
	snprintf(name, sizeof(name), "web2.example.org");
	OK(db_bind_text_ref(st, 1, name, &err_));
	OK(db_step(st, &row, &err_));
	db_reset(st);
	snprintf(name, sizeof(name), "web3.example.org");
	/* Unbound is NULL: the NOT NULL constraint refuses it. */
	FAILS(db, db_step(st, &row, &err_), BOOTD_EINVAL, DB_ERR_CONSTRAINT);
	db_reset(st);
	OK(db_bind_text_ref(st, 1, name, &err_));
	OK(db_step(st, &row, &err_));
	db_reset(st);
	OK(db_bind_text_ref(st, 1, NULL, &err_));
	FAILS(db, db_step(st, &row, &err_), BOOTD_EINVAL, DB_ERR_CONSTRAINT);
	db_finalize(st);
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM host WHERE fqdn IN "
	    "('web2.example.org', 'web3.example.org')"), 2);
}
END_TEST

START_TEST(test_reset_active)
{
	struct db_stmt *sel, *done, *bound;
	struct db *other;
	int row;

	open_fresh(_i);
	if (engine == DB_SQLITE)	/* readers beside a writer */
		OK(db_exec(db, "PRAGMA journal_mode = WAL", &err_));
	OK(db_prepare(db, "SELECT fqdn FROM host ORDER BY fqdn", &sel,
	    &err_));
	OK(db_prepare(db, "SELECT count(*) FROM host", &done, &err_));
	OK(db_prepare(db, "SELECT $1", &bound, &err_));
	OK(db_bind_text(bound, 1, "kept", &err_));
	OK(db_step(done, &row, &err_));
	OK(db_step(done, &row, &err_));
	ck_assert_int_eq(row, 0);
	OK(db_step(sel, &row, &err_));		/* active, on a row */
	ck_assert_int_eq(row, 1);
	ck_assert_str_eq(db_column_text(sel, 0), "db1.example.org");
	/* Another connection adds a host meanwhile. */
	OK(db_open(where(engine), DB_RDWR, &other, &err_));
	OK(db_exec(other, "INSERT INTO host (fqdn) VALUES "
	    "('aaa.example.org')", &err_));
	db_close(other);

	db_reset_active(db);
	ck_assert_int_eq(db_column_count(sel), 0);
	/* A new snapshot: the new host shows, first by name. */
	OK(db_step(sel, &row, &err_));
	ck_assert_int_eq(row, 1);
	ck_assert_str_eq(db_column_text(sel, 0), "aaa.example.org");
	db_reset(sel);
	/* A statement that was not active keeps its bindings. */
	OK(db_step(bound, &row, &err_));
	ck_assert_int_eq(row, 1);
	ck_assert_str_eq(db_column_text(bound, 0), "kept");
	db_finalize(sel);
	db_finalize(done);
	db_finalize(bound);
}
END_TEST

START_TEST(test_one_statement_only)
{
	struct db_stmt *st = (struct db_stmt *)&st;

	open_fresh(_i);
	FAILS(db, db_prepare(db, "SELEC 1", &st, &err_), BOOTD_EDB,
	    DB_ERR_OTHER);
	ck_assert_ptr_null(st);
	FAILS(db, db_prepare(db, "SELECT * FROM nosuchtable", &st, &err_),
	    BOOTD_EDB, DB_ERR_OTHER);
	ck_assert_int_ne(db_prepare(db, "SELECT 1; SELECT 2", &st, NULL),
	    BOOTD_OK);
	ck_assert_int_eq(db_errclass(db), DB_ERR_OTHER);
	ck_assert_int_ne(db_prepare(db, "SELECT $1000", &st, NULL), BOOTD_OK);
	OK(db_exec(db, "CREATE TABLE t1 (x bigint); INSERT INTO t1 VALUES (1);"
	    " INSERT INTO t1 VALUES (2)", &err_));
	ck_assert_int_eq(one_int(db, "SELECT sum(x) FROM t1"), 3);
}
END_TEST

/* Errors ---------------------------------------------------------------- */

START_TEST(test_constraints)
{
	struct db_stmt *nic;
	int row;

	open_fresh(_i);
	OK(db_prepare(db, "INSERT INTO nic (mac, host) VALUES ($1, $2)", &nic,
	    &err_));
	/* A check: a MAC not in canonical form. */
	OK(db_bind_text(nic, 1, "52-54-00-12-34-57", &err_));
	OK(db_bind_int64(nic, 2, 1, &err_));
	FAILS(db, db_step(nic, &row, &err_), BOOTD_EINVAL, DB_ERR_CONSTRAINT);
	/* Unique: the MAC is another NIC's. */
	db_reset(nic);
	OK(db_bind_text(nic, 1, MAC, &err_));
	OK(db_bind_int64(nic, 2, 1, &err_));
	FAILS(db, db_step(nic, &row, &err_), BOOTD_EEXIST, DB_ERR_CONSTRAINT);
	/* A foreign key to no host. */
	db_reset(nic);
	OK(db_bind_text(nic, 1, "52:54:00:12:34:57", &err_));
	OK(db_bind_int64(nic, 2, 999, &err_));
	FAILS(db, db_step(nic, &row, &err_), BOOTD_EINVAL, DB_ERR_CONSTRAINT);
	/* ON DELETE RESTRICT: a distribution a host installs. */
	FAILS(db, db_exec(db, "DELETE FROM dist", &err_), BOOTD_EINVAL,
	    DB_ERR_CONSTRAINT);
	/* Install without a distribution. */
	FAILS(db, db_exec(db, "UPDATE host SET action = 'install'", &err_),
	    BOOTD_EINVAL, DB_ERR_CONSTRAINT);
	/* The class is that of the last call only. */
	db_reset(nic);
	OK(db_bind_text(nic, 1, "52:54:00:12:34:57", &err_));
	OK(db_bind_int64(nic, 2, one_int(db, "SELECT id FROM host WHERE "
	    "fqdn = 'web1.example.org'"), &err_));
	OK(db_step(nic, &row, &err_));
	ck_assert_int_eq(db_errclass(db), DB_ERR_NONE);
	ck_assert_str_eq(db_errclass_name(DB_ERR_READONLY), "read-only");
}
END_TEST

START_TEST(test_transactions)
{
	struct db *other;
	int row;

	open_fresh(_i);
	OK(db_rollback(db, &err_));	/* none open: nothing to do */
	OK(db_begin(db, DB_TXN_WRITE, &err_));
	run3(db, "INSERT INTO host (fqdn) VALUES ($1)", "a.example.org",
	    NULL, NULL);
	OK(db_rollback(db, &err_));
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM host"), 2);

	/* A savepoint undoes a failed statement alike on both engines. */
	OK(db_begin(db, DB_TXN_WRITE, &err_));
	run3(db, "INSERT INTO host (fqdn) VALUES ($1)", "a.example.org",
	    NULL, NULL);
	OK(db_exec(db, "SAVEPOINT one", &err_));
	FAILS(db, db_exec(db, "INSERT INTO host (fqdn) VALUES ('A')", &err_),
	    BOOTD_EINVAL, DB_ERR_CONSTRAINT);
	OK(db_exec(db, "ROLLBACK TO SAVEPOINT one; RELEASE SAVEPOINT one",
	    &err_));
	run3(db, "INSERT INTO host (fqdn) VALUES ($1)", "b.example.org",
	    NULL, NULL);
	OK(db_commit(db, &err_));

	/* Committed: another connection sees both. */
	OK(db_open(where(engine), DB_RDWR, &other, &err_));
	OK(db_begin(other, DB_TXN_READ, &err_));
	ck_assert_int_eq(one_int(other, "SELECT count(*) FROM host"), 4);
	OK(db_commit(other, &err_));
	db_close(other);

	/*
	 * Without a savepoint, PostgreSQL aborts the whole transaction at a
	 * failed statement and COMMIT cannot keep the rest: db_commit()
	 * says so.  SQLite would keep the rest; callers roll back.
	 */
	if (engine == DB_POSTGRESQL) {
		OK(db_begin(db, DB_TXN_WRITE, &err_));
		run3(db, "INSERT INTO host (fqdn) VALUES ($1)", "c.example.org",
		    NULL, NULL);
		FAILS(db, db_exec(db, "INSERT INTO host (fqdn) VALUES ('C')",
		    &err_), BOOTD_EINVAL, DB_ERR_CONSTRAINT);
		FAILS(db, db_commit(db, &err_), BOOTD_EDB, DB_ERR_OTHER);
		ck_assert_int_eq(one_int(db, "SELECT count(*) FROM host"), 4);
	}
	(void)row;
}
END_TEST

START_TEST(test_busy)
{
	struct db *other;
	struct bootd_error err = { "" };
	enum bootd_err rc;

	open_fresh(_i);
	OK(db_begin(db, DB_TXN_WRITE, &err_));
	OK(db_exec(db, "UPDATE host SET env = 'lab'", &err_));
	OK(db_open(where(engine), DB_RDWR, &other, &err_));
	OK(db_set_timeout(other, 0, &err_));
	/*
	 * SQLite refuses the second writer at BEGIN IMMEDIATE; PostgreSQL
	 * at the row the first one holds (lock_timeout).
	 */
	rc = db_begin(other, DB_TXN_WRITE, &err);
	if (rc == BOOTD_OK)
		rc = db_exec(other, "UPDATE host SET env = 'default'", &err);
	ck_assert_msg(rc == BOOTD_EBUSY, "%s (%s)", bootd_strerror(rc),
	    err.text);
	ck_assert_int_eq(db_errclass(other), DB_ERR_BUSY);
	OK(db_rollback(other, &err_));
	OK(db_commit(db, &err_));
	/* The first writer gone, the second may write. */
	OK(db_begin(other, DB_TXN_WRITE, &err_));
	OK(db_exec(other, "UPDATE host SET env = 'default'", &err_));
	OK(db_commit(other, &err_));
	db_close(other);
}
END_TEST

START_TEST(test_read_only_handle)
{
	struct db *ro;
	struct db_stmt *st;
	int row;

	open_fresh(_i);
	OK(db_open(where(engine), DB_RDONLY, &ro, &err_));
	ck_assert_int_eq(db_is_standby(ro), 0);
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM host"), 2);
	OK(db_prepare(ro, "DELETE FROM host WHERE fqdn = $1", &st, &err_));
	OK(db_bind_text(st, 1, "web1.example.org", &err_));
	FAILS(ro, db_step(st, &row, &err_), BOOTD_EDB, DB_ERR_READONLY);
	db_close(ro);
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM host"), 2);
}
END_TEST

/*
 * The mapping of path in this process (/proc/self/smaps): its size and
 * what of it is resident, in KiB; 0 when there is none.
 */
static int
mapping_of(const char *file, long *size_kib, long *rss_kib)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	int in = 0, found = 0;
	size_t n = strlen(file);

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		/* A mapping's line begins with its address, in lower case
		 * hex; its fields' ("Rss:") with a capital. */
		if ((line[0] >= '0' && line[0] <= '9') ||
		    (line[0] >= 'a' && line[0] <= 'f')) {
			in = strlen(line) >= n &&
			    strcmp(line + strlen(line) - n, file) == 0;
			found |= in;
		} else if (in && sscanf(line, "Size: %ld kB", size_kib) == 1)
			;
		else if (in && sscanf(line, "Rss: %ld kB", rss_kib) == 1)
			in = 0;		/* one mapping of it */
	}
	fclose(f);
	return found;
}

/*
 * The case's SQLite file, in WAL mode, with some 2 MB of filler rows and
 * checkpointed, and a read-only handle on it, told nothing yet.
 */
static struct db *
filled_reader(void)
{
	struct db *ro;

	open_fresh(DB_SQLITE);
	OK(db_exec(db, "PRAGMA journal_mode = WAL; "
	    "CREATE TABLE filler (b BLOB); "
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	    "WHERE i < 2000) INSERT INTO filler SELECT randomblob(1000) "
	    "FROM n; PRAGMA wal_checkpoint(TRUNCATE)", &err_));
	OK(db_open(path, DB_RDONLY, &ro, &err_));
	return ro;
}

/*
 * SQLite: a read-only handle reads the file through a mapping (PRAGMA
 * mmap_size, as a worker's inventory), which another connection's
 * commit does not drop while the file keeps its size (db_sqlite_map.c):
 * pages read before stay mapped, and every read sees the commit.  A file
 * grown by less than an eighth is read whole, past the mapping; by more,
 * or shrunk, it is mapped again at its new size, and reads stay right.
 */
START_TEST(test_read_mapping_kept)
{
	struct db *ro;
	long size0, rss0, size, rss;

	ro = filled_reader();
	OK(db_exec(ro, "PRAGMA mmap_size = 1073741824", &err_));
	/* Read every page: all of the file mapped and resident. */
	ck_assert_int_eq(one_int(ro, "SELECT sum(length(b)) FROM filler"),
	    2000000);
	ck_assert(mapping_of(path, &size0, &rss0));
	ck_assert_int_ge(size0, 2000);
	ck_assert_int_ge(rss0, size0 * 9 / 10);

	/* A commit and a checkpoint that leave the size as it was. */
	OK(db_exec(db, "UPDATE host SET action = 'install', "
	    "dist = 'debian-12' WHERE fqdn = 'web1.example.org'; "
	    "PRAGMA wal_checkpoint(TRUNCATE)", &err_));
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM host "
	    "WHERE action = 'install'"), 2);
	ck_assert(mapping_of(path, &size, &rss));
	ck_assert_int_eq(size, size0);
	ck_assert_int_ge(rss, size0 * 9 / 10);	/* kept, not mapped anew */

	/* Grown by a tenth: read past the mapping, which stays. */
	OK(db_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
	    "SELECT i + 1 FROM n WHERE i < 200) INSERT INTO filler "
	    "SELECT zeroblob(1000) FROM n; PRAGMA wal_checkpoint(TRUNCATE)",
	    &err_));
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM filler"), 2200);
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM filler "
	    "WHERE b = zeroblob(1000)"), 200);
	ck_assert(mapping_of(path, &size, &rss));
	ck_assert_int_eq(size, size0);

	/* Grown by half: mapped again, whole. */
	OK(db_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
	    "SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO filler "
	    "SELECT zeroblob(1000) FROM n; PRAGMA wal_checkpoint(TRUNCATE)",
	    &err_));
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM filler "
	    "WHERE b = zeroblob(1000)"), 1200);
	ck_assert(mapping_of(path, &size, &rss));
	ck_assert_int_gt(size, size0 * 3 / 2 - 100);

	/* Shrunk to a few pages: no read past its end. */
	OK(db_exec(db, "DROP TABLE filler; VACUUM; "
	    "PRAGMA wal_checkpoint(TRUNCATE)", &err_));
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM host "
	    "WHERE action = 'install'"), 2);
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'filler'"), 0);
	if (mapping_of(path, &size, &rss))
		ck_assert_int_lt(size, 1000);
	db_close(ro);
}
END_TEST

/*
 * A reader that read before it was told to map the file (bootd's
 * workers check the schema first) sees no change to drop a mapping for
 * until the first commit after it mapped the file: that commit too
 * leaves the mapping as it is, as a worker started anew (a restart)
 * keeps it over the first set-reinstall it sees.
 */
START_TEST(test_read_mapping_kept_first_commit)
{
	struct db *ro;
	long size0, rss0, size, rss;

	ro = filled_reader();
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM host"), 2);
	OK(db_exec(ro, "PRAGMA mmap_size = 1073741824", &err_));
	ck_assert_int_eq(one_int(ro, "SELECT sum(length(b)) FROM filler"),
	    2000000);
	ck_assert(mapping_of(path, &size0, &rss0));
	ck_assert_int_ge(rss0, size0 * 9 / 10);

	OK(db_exec(db, "UPDATE host SET action = 'install', "
	    "dist = 'debian-12' WHERE fqdn = 'web1.example.org'", &err_));
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM host "
	    "WHERE action = 'install'"), 2);
	ck_assert(mapping_of(path, &size, &rss));
	ck_assert_int_eq(size, size0);
	ck_assert_int_ge(rss, size0 * 9 / 10);	/* kept, not mapped anew */
	db_close(ro);
}
END_TEST

/* The current value of the server setting name on h, in buf. */
static const char *
setting(struct db *h, const char *name, char *buf, size_t size)
{
	struct db_stmt *st;
	int row;

	OK(db_prepare(h, "SELECT current_setting($1)", &st, &err_));
	OK(db_bind_text(st, 1, name, &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	snprintf(buf, size, "%s", db_column_text(st, 0));
	db_finalize(st);
	return buf;
}

/*
 * A database (or role) made asynchronous, a common tuning: a writer's
 * connection commits durably all the same, a reader's keeps the setting.
 */
START_TEST(test_writers_commit_durably)
{
	struct db *rw, *ro;
	char buf[64];

	if (pg_uri() == NULL)
		return;
	OK(db_open(pg_uri(), DB_RDWR, &db, &err_));
	OK(db_exec(db, "DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET "
	    "synchronous_commit = off', current_database()); END$$", &err_));
	OK(db_open(pg_uri(), DB_RDONLY, &ro, &err_));
	OK(db_open(pg_uri(), DB_RDWR, &rw, &err_));
	ck_assert_str_eq(setting(ro, "synchronous_commit", buf, sizeof(buf)),
	    "off");
	ck_assert_str_eq(setting(rw, "synchronous_commit", buf, sizeof(buf)),
	    "on");
	OK(db_reconnect(rw, &err_));
	ck_assert_str_eq(setting(rw, "synchronous_commit", buf, sizeof(buf)),
	    "on");
	db_close(rw);
	db_close(ro);
	OK(db_exec(db, "DO $$BEGIN EXECUTE format('ALTER DATABASE %I RESET "
	    "synchronous_commit', current_database()); END$$", &err_));
}
END_TEST

/* Reconnecting ---------------------------------------------------------- */

START_TEST(test_reconnect)
{
	const char *restart = getenv("BOOTD_TEST_PG_RESTART");
	struct db_stmt *st, *ins;
	int row;

	open_fresh(_i);
	OK(db_prepare(db, "SELECT fqdn FROM host WHERE id = $1", &st, &err_));
	OK(db_prepare(db, "INSERT INTO host (fqdn) VALUES ($1)", &ins,
	    &err_));
	OK(db_bind_int64(st, 1, 1, &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	db_reset(st);

	if (engine == DB_POSTGRESQL) {
		if (restart == NULL) {
			fprintf(stderr, "test_reconnect: no "
			    "BOOTD_TEST_PG_RESTART, server not restarted\n");
			return;
		}
		/* The server restarts under an open transaction. */
		OK(db_begin(db, DB_TXN_WRITE, &err_));
		ck_assert_int_eq(system(restart), 0);
		OK(db_bind_int64(st, 1, 1, &err_));
		FAILS(db, db_step(st, &row, &err_), BOOTD_EDB, DB_ERR_CONN);
		db_reset(st);
	}
	OK(db_reconnect(db, &err_));
	/* The transaction went with the connection. */
	OK(db_rollback(db, &err_));
	/* The same statements run again, prepared on the new connection. */
	OK(db_bind_int64(st, 1, 1, &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	ck_assert_str_eq(db_column_text(st, 0), "web1.example.org");
	OK(db_bind_text(ins, 1, "web9.example.org", &err_));
	OK(db_step(ins, &row, &err_));
	ck_assert_int_eq(db_changes(ins), 1);
	/* A second reconnect on a good connection changes nothing. */
	OK(db_reconnect(db, &err_));
	db_reset(st);
	OK(db_bind_int64(st, 1, 1, &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
}
END_TEST

/*
 * A migration under prepared statements.  SQLite prepares a statement
 * again by itself.  PostgreSQL refuses to run a prepared statement whose
 * result type changed ("cached plan must not change result type"): the
 * handle is then as good as lost (DB_ERR_CONN), so that its user
 * connects again (the worker's lost()) and the statements are prepared
 * anew on the new session.
 */
START_TEST(test_schema_changed)
{
	struct db *other;
	struct db_stmt *st;
	int row;

	open_fresh(_i);
	OK(db_prepare(db, "SELECT fqdn FROM host WHERE id = $1", &st, &err_));
	OK(db_bind_int64(st, 1, 1, &err_));
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	db_reset(st);
	OK(db_open(where(engine), DB_RDWR, &other, &err_));
	OK(db_exec(other, engine == DB_POSTGRESQL ?
	    "ALTER TABLE host ALTER COLUMN fqdn TYPE varchar(253)" :
	    "ALTER TABLE host ADD COLUMN note TEXT", &err_));
	db_close(other);
	OK(db_bind_int64(st, 1, 1, &err_));
	if (engine == DB_POSTGRESQL) {
		FAILS(db, db_step(st, &row, &err_), BOOTD_EDB, DB_ERR_CONN);
		db_reset(st);
		OK(db_reconnect(db, &err_));
		OK(db_bind_int64(st, 1, 1, &err_));
	}
	OK(db_step(st, &row, &err_));
	ck_assert_int_eq(row, 1);
	ck_assert_str_eq(db_column_text(st, 0), "web1.example.org");
}
END_TEST

/* Deadlines (PostgreSQL only) --------------------------------------------- */

/*
 * poll(2) as libboot calls it in this program, linked with
 * -Wl,--wrap=poll (tests/CMakeLists.txt): the real one, unless poll_fails
 * is set; then it fails once with that errno.  libpq's own calls, in its
 * shared library, are not wrapped.
 */
static int	poll_fails;

int	__real_poll(struct pollfd *, nfds_t, int);
int	__wrap_poll(struct pollfd *, nfds_t, int);

int
__wrap_poll(struct pollfd *fds, nfds_t nfds, int ms)
{
	if (poll_fails != 0) {
		errno = poll_fails;
		poll_fails = 0;
		return -1;
	}
	return __real_poll(fds, nfds, ms);
}

/*
 * Stop the server process pid (SIGSTOP) for the rest of the case: its
 * kernel still takes every packet, it answers none.  A child continues
 * it once the case's process has exited, however (the pipe's end that
 * process holds is closed then), so that no case, failed or killed on
 * its timeout, leaves a server stopped.
 */
static void
stop_for_the_case(pid_t pid)
{
	int p[2];
	char c;

	ck_assert_int_eq(pipe(p), 0);
	switch (fork()) {
	case -1:
		ck_abort_msg("fork: %s", strerror(errno));
		break;
	case 0:
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		kill(pid, SIGCONT);
		_exit(0);
	default:
		close(p[0]);		/* p[1] stays open until exit */
		ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	}
}

/* The pid of the server process of h's connection. */
static pid_t
backend(struct db *h)
{
	return (pid_t)one_int(h, "SELECT pg_backend_pid()");
}

/*
 * Open the case's handle on PostgreSQL with a deadline of ms and return
 * the pid of its server process; 0 without BOOTD_TEST_PG (not run).
 */
static pid_t
open_with_deadline(int ms)
{
	if (pg_uri() == NULL)
		return 0;
	OK(db_open(pg_uri(), DB_RDONLY, &db, &err_));
	OK(db_set_deadline(db, ms, &err_));
	return backend(db);
}

/*
 * poll(2) failing while the server is silent (a backend stopped): the
 * call fails at once, the connection given up, where it used to wait in
 * PQgetResult() for an answer that never came (this case then hung until
 * its timeout).
 */
START_TEST(test_poll_fails_on_a_silent_server)
{
	struct bootd_error err = { "" };
	pid_t pid;

	if ((pid = open_with_deadline(1500)) == 0)
		return;
	stop_for_the_case(pid);
	poll_fails = ENOMEM;
	ck_assert_int_eq(db_exec(db, "SELECT 1", &err), BOOTD_EDB);
	ck_assert_int_eq(db_errclass(db), DB_ERR_CONN);
	ck_assert_msg(strstr(err.text, "exec: cannot wait for the server: "
	    "poll: ") != NULL && strstr(err.text, ": connection closed") !=
	    NULL, "%s", err.text);
	ck_assert_ptr_null(db->conn);
	kill(pid, SIGCONT);
	OK(db_reconnect(db, &err_));
	ck_assert_int_ne(backend(db), pid);
}
END_TEST

/*
 * A statement merely slow: the server cancels it (statement_timeout,
 * shorter than the deadline) and the connection stays, where the client
 * used to give it up first (both equal) and connect again.
 */
START_TEST(test_slow_statement_cancelled_by_the_server)
{
	struct bootd_error err = { "" };
	pid_t pid;

	if ((pid = open_with_deadline(5000)) == 0)
		return;
	ck_assert_int_eq(db_exec(db, "SELECT pg_sleep(60)", &err), BOOTD_EDB);
	ck_assert_msg(db_errclass(db) == DB_ERR_CANCELLED &&
	    strstr(err.text, "statement timeout") != NULL, "class %s: %s",
	    db_errclass_name(db_errclass(db)), err.text);
	ck_assert_ptr_nonnull(db->conn);
	ck_assert_int_eq(backend(db), pid);
}
END_TEST

/* A hot standby (PostgreSQL only) ------------------------------------------ */

static const char *
env_or_skip(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		fprintf(stderr, "%s not set: standby case not run\n", name);
	return v != NULL && *v != '\0' ? v : NULL;
}

START_TEST(test_standby)
{
	const char *sb = env_or_skip("BOOTD_TEST_PG_STANDBY");
	const char *both = env_or_skip("BOOTD_TEST_PG_BOTH");
	struct db *s;
	struct db_stmt *st;
	char uri[1024];
	int i, row = 0;

	if (sb == NULL || both == NULL || pg_uri() == NULL)
		return;
	open_fresh(DB_POSTGRESQL);
	ck_assert_int_eq(db_is_standby(db), 0);
	OK(db_open(sb, DB_RDWR, &s, &err_));
	ck_assert_int_eq(db_is_standby(s), 1);
	/*
	 * The fixture reaches the standby (bounded wait): first the tables,
	 * then the row.
	 */
	st = NULL;
	for (i = 0; i < 600 && !row; i++) {
		if (st == NULL && db_prepare(s, "SELECT fqdn FROM host "
		    "WHERE fqdn = $1", &st, NULL) != BOOTD_OK) {
			usleep(50 * 1000);
			continue;
		}
		db_reset(st);
		OK(db_bind_text(st, 1, "web1.example.org", &err_));
		if (db_step(st, &row, NULL) != BOOTD_OK || !row)
			usleep(50 * 1000);
	}
	ck_assert_int_eq(row, 1);
	/* Reads in a read transaction; writes refused as read-only. */
	OK(db_begin(s, DB_TXN_READ, &err_));
	ck_assert_int_ge(one_int(s, "SELECT count(*) FROM host"), 2);
	OK(db_commit(s, &err_));
	FAILS(s, db_exec(s, "DELETE FROM nic", &err_), BOOTD_EDB,
	    DB_ERR_READONLY);
	FAILS(s, db_begin(s, DB_TXN_WRITE, &err_), BOOTD_EDB,
	    DB_ERR_READONLY);
	db_close(s);

	/* target_session_attrs reaches libpq: the same two hosts, chosen. */
	snprintf(uri, sizeof(uri), "%s&target_session_attrs=read-write", both);
	OK(db_open(uri, DB_RDWR, &s, &err_));
	ck_assert_int_eq(db_is_standby(s), 0);
	OK(db_exec(s, "DELETE FROM host_attr", &err_));
	db_close(s);
	snprintf(uri, sizeof(uri), "%s&target_session_attrs=prefer-standby",
	    both);
	OK(db_open(uri, DB_RDWR, &s, &err_));
	ck_assert_int_eq(db_is_standby(s), 1);
	db_close(s);
	snprintf(uri, sizeof(uri), "%s&target_session_attrs=primary", both);
	OK(db_open(uri, DB_RDWR, &s, &err_));
	ck_assert_int_eq(db_is_standby(s), 0);
	db_close(s);
}
END_TEST

/*
 * A failover (PostgreSQL only; run alone, last: it stops the primary):
 * BOOTD_TEST_PG_FAILOVER stops the primary and promotes the standby.  A
 * read-write handle over both hosts loses its connection, reconnects to
 * the promoted server and writes with the statements it had; a handle
 * open on the standby all along sees it become a primary.
 */
START_TEST(test_failover)
{
	const char *both = getenv("BOOTD_TEST_PG_BOTH");
	const char *sb = getenv("BOOTD_TEST_PG_STANDBY");
	const char *failover = getenv("BOOTD_TEST_PG_FAILOVER");
	struct db *rw, *ro;
	struct db_stmt *ins;
	char uri[1024];
	int row;

	if (both == NULL || sb == NULL || failover == NULL) {
		fprintf(stderr, "BOOTD_TEST_PG_FAILOVER unset: no failover\n");
		return;
	}
	snprintf(uri, sizeof(uri), "%s&target_session_attrs=read-write", both);
	OK(db_open(uri, DB_RDWR, &rw, &err_));
	ck_assert_int_eq(db_is_standby(rw), 0);
	OK(db_open(sb, DB_RDWR, &ro, &err_));
	ck_assert_int_eq(db_is_standby(ro), 1);
	OK(db_exec(rw, "CREATE TABLE IF NOT EXISTS failover (x text)", &err_));
	OK(db_prepare(rw, "INSERT INTO failover (x) VALUES ($1)", &ins,
	    &err_));
	OK(db_bind_text(ins, 1, "before", &err_));
	OK(db_step(ins, &row, &err_));

	ck_assert_int_eq(system(failover), 0);

	/* The primary is gone: the write fails as a lost connection. */
	db_reset(ins);
	OK(db_bind_text(ins, 1, "lost", &err_));
	FAILS(rw, db_step(ins, &row, &err_), BOOTD_EDB, DB_ERR_CONN);
	/* libpq finds the promoted server among the hosts. */
	OK(db_reconnect(rw, &err_));
	ck_assert_int_eq(db_is_standby(rw), 0);
	OK(db_bind_text(ins, 1, "after", &err_));
	OK(db_step(ins, &row, &err_));
	ck_assert_int_eq(db_changes(ins), 1);
	ck_assert_int_eq(one_int(rw, "SELECT count(*) FROM failover"), 2);
	/* The standby's own session survived the promotion. */
	ck_assert_int_eq(one_int(ro, "SELECT count(*) FROM failover"), 2);
	ck_assert_int_eq(db_is_standby(ro), 0);
	OK(db_exec(ro, "INSERT INTO failover (x) VALUES ('ro')", &err_));
	db_close(ro);
	db_close(rw);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc;
	int n = nengines();

	tc = tcase_create("placeholders");
	tcase_add_test(tc, test_params_rewrite);
	suite_add_tcase(s, tc);

	tc = tcase_create("masking");
	tcase_add_test(tc, test_passwords_masked);
	suite_add_tcase(s, tc);

	tc = tcase_create("engines");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_open_fails, 0, n);
	tcase_add_loop_test(tc, test_placeholders_by_number, 0, n);
	tcase_add_loop_test(tc, test_values_round_trip, 0, n);
	tcase_add_loop_test(tc, test_rows_and_changes, 0, n);
	tcase_add_loop_test(tc, test_reset_clears_bindings, 0, n);
	tcase_add_loop_test(tc, test_bind_text_ref, 0, n);
	tcase_add_loop_test(tc, test_reset_active, 0, n);
	tcase_add_loop_test(tc, test_one_statement_only, 0, n);
	tcase_add_loop_test(tc, test_constraints, 0, n);
	tcase_add_loop_test(tc, test_transactions, 0, n);
	tcase_add_loop_test(tc, test_busy, 0, n);
	tcase_add_loop_test(tc, test_read_only_handle, 0, n);
	tcase_add_loop_test(tc, test_reconnect, 0, n);
	tcase_add_loop_test(tc, test_schema_changed, 0, n);
	tcase_add_test(tc, test_standby);
	tcase_add_test(tc, test_writers_commit_durably);
	tcase_add_test(tc, test_read_mapping_kept);
	tcase_add_test(tc, test_read_mapping_kept_first_commit);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlines");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_poll_fails_on_a_silent_server);
	tcase_add_test(tc, test_slow_statement_cancelled_by_the_server);
	suite_add_tcase(s, tc);

	tc = tcase_create("failover");
	tcase_set_tags(tc, "failover");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_failover);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (pg_uri() == NULL)
		printf("BOOTD_TEST_PG not set: SQLite only "
		    "(tests/integration/test_db_pg.py runs PostgreSQL)\n");
	return check_run(db_suite());
}
