/*
 * test_inv.c - the inventory, on real SQLite files under /tmp and, when
 * BOOTD_TEST_PG holds a PostgreSQL URI (tests/pg.py exec), on a database
 * of that server: bootd_test_icu, made with ICU en-US as its default
 * collation, so that nothing bootd sorts depends on the database's.  Each
 * test then starts from it emptied (its schemas public and events
 * dropped) instead of a new file.  Tests about what only an SQLite
 * file has (modes, WAL, a replaced file, PRAGMAs, the SQLite migrations)
 * skip themselves there, saying so.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "inv.h"
#include "inv_int.h"	/* stmt(): test_statements_prepare */
#include "migrations.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define NOW	1700000000LL

static char		 dir[64];
static char		 dbpath[512];	/* the file, or the URI */
static const char	*pguri;		/* on PostgreSQL: use_icu_db()'s
					   URI, else NULL */
static const char	*sburi;		/* the same database on a hot
					   standby of it, or NULL */
static struct inv	*inv;

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

/* Fixture -------------------------------------------------------------- */

static void
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

static void
setup_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bootd-test-inv-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/inv.db", dir);
}

static void
teardown_dir(void)
{
	char p[256];

	inv_close(inv);
	inv = NULL;
	rm_db(dbpath);
	snprintf(p, sizeof(p), "%s/other.db", dir);
	rm_db(p);
	snprintf(p, sizeof(p), "%s/moved.db", dir);
	rm_db(p);
	rmdir(dir);
}

/* Empty the PostgreSQL database: nothing of bootd's left in it. */
static void
pg_reset(void)
{
	struct bootd_error err = { "" };
	struct db *db;

	ck_assert_msg(db_open(pguri, DB_RDWR, &db, &err) == BOOTD_OK, "%s",
	    err.text);
	ck_assert_msg(db_exec(db, "DROP SCHEMA IF EXISTS events CASCADE; "
	    "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public",
	    &err) == BOOTD_OK, "%s", err.text);
	db_close(db);
}

static void
setup(void)
{
	struct bootd_error err = { "" };

	setup_dir();
	if (pguri != NULL) {
		pg_reset();
		snprintf(dbpath, sizeof(dbpath), "%s", pguri);
	}
	ck_assert_msg(inv_open(dbpath, INV_CREATE, &inv, &err) == BOOTD_OK,
	    "%s", err.text);
}

/* Helpers -------------------------------------------------------------- */

/* An error text is one line of printable ASCII. */
static void
assert_clean(const struct bootd_error *err)
{
	size_t i;

	ck_assert_str_ne(err->text, "");
	for (i = 0; err->text[i] != '\0'; i++)
		ck_assert_msg((unsigned char)err->text[i] >= 0x20 &&
		    (unsigned char)err->text[i] < 0x7f,
		    "raw byte 0x%02x in \"%s\"", (unsigned char)err->text[i],
		    err->text);
}

#define OK(call) do {							\
	struct bootd_error err_ = { "" };				\
	enum bootd_err rc_ = (call);					\
	ck_assert_msg(rc_ == BOOTD_OK, "%s: %s (%s)", #call,		\
	    bootd_strerror(rc_), err_.text);				\
} while (0)

static void
host(const char *fqdn, const char *mac)
{
	const char *macs[1] = { mac };
	struct bootd_error err = { "" };

	ck_assert_msg(inv_host_add(inv, fqdn, macs, 1, NULL, &err) ==
	    BOOTD_OK, "%s", err.text);
}

static void
dist(const char *name, const char *kernel, const char *initrd,
    const char *cmdline)
{
	char *initrds[1] = { (char *)initrd };
	struct inv_dist d = { (char *)name, (char *)kernel, initrds, 1,
	    (char *)cmdline };
	struct bootd_error err = { "" };

	ck_assert_msg(inv_dist_add(inv, &d, &err) == BOOTD_OK, "%s",
	    err.text);
}

static void
std_dist(const char *name)
{
	dist(name, "http://boot/images/{{dist}}/linux",
	    "http://boot/images/{{dist}}/initrd.gz",
	    "auto=true url={{base_url}}/preseed/{{fqdn}}");
}

/* The schema version, as SQL for the engine under test. */
#define VERSION_SQL() (pguri != NULL ? \
	"SELECT version FROM schema_version" : "PRAGMA user_version")

/*
 * SQL counting the tables called name (a literal) of the database under
 * test (SQLite: sqlite_master has no "schema_version": counted as if it
 * had, for the tests' sake, as PRAGMA user_version is always there).
 */
#define TABLE_COUNT(name) (pguri != NULL ?				\
	"SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "	\
	"AND tablename = '" name "'" :					\
	strcmp(name, "schema_version") == 0 ? "SELECT 1" :		\
	"SELECT count(*) FROM sqlite_master WHERE name = '" name "'")

/* A connection of the test's own to the database under test. */
static struct db *
own_db(const char *path)
{
	struct bootd_error err = { "" };
	struct db *db;

	ck_assert_msg(db_open(path, DB_CREATE, &db, &err) == BOOTD_OK, "%s",
	    err.text);
	return db;
}

/* Everything in the database, as text, in a fixed order. */
static char *
dump(void)
{
	static const char *const q[] = {
		"SELECT name, unix_group FROM env ORDER BY name",
		"SELECT name, kernel, cmdline FROM dist ORDER BY name",
		"SELECT dist, pos, url FROM dist_initrd ORDER BY dist, pos",
		"SELECT id, fqdn, env, action, dist FROM host ORDER BY id",
		"SELECT mac, host FROM nic ORDER BY mac",
		"SELECT host, key, value FROM host_attr ORDER BY host, key",
		("SELECT token, host, created, expires, used_at, "
		    "revoked, fetched_from, fetched_at "
		    "FROM token ORDER BY token"),
		("SELECT id, time, actor, op, object, old, new "
		    "FROM audit ORDER BY id"),
		NULL,	/* the schema version */
	};
	struct bootd_error err = { "" };
	struct buf b = { 0 };
	struct db *db = own_db(dbpath);
	struct db_stmt *s;
	const char *t;
	size_t i;
	int c, row;

	for (i = 0; i < N(q); i++) {
		ck_assert_msg(db_prepare(db, q[i] != NULL ? q[i] :
		    VERSION_SQL(), &s, &err) == BOOTD_OK, "%s", err.text);
		buf_printf(&b, "[%zu]\n", i);
		while (db_step(s, &row, &err) == BOOTD_OK && row) {
			for (c = 0; c < db_column_count(s); c++) {
				t = db_column_text(s, c);
				buf_printf(&b, "%s|", t != NULL ? t : "NULL");
			}
			buf_puts(&b, "\n");
		}
		db_finalize(s);
	}
	db_close(db);
	ck_assert(!buf_failed(&b));
	return b.data;
}

static long long
sql_int(const char *sql)
{
	struct bootd_error err = { "" };
	struct db *db = own_db(dbpath);
	struct db_stmt *s;
	long long v = -1;
	int row;

	ck_assert_msg(db_prepare(db, sql, &s, &err) == BOOTD_OK, "%s: %s",
	    sql, err.text);
	if (db_step(s, &row, &err) == BOOTD_OK && row)
		v = db_column_int64(s, 0);
	db_close(db);
	return v;
}

/*
 * Run sql on the database with a connection of our own (foreign keys
 * on): 0 (SQLITE_OK), or 1 when it fails.
 */
static int
sql_exec(const char *path, const char *sql)
{
	struct db *db = own_db(path);
	int rc;

	rc = db_exec(db, sql, NULL) == BOOTD_OK ? 0 : 1;
	db_close(db);
	return rc;
}

/*
 * Make every op (INSERT, UPDATE...) on table fail with msg, by a trigger
 * called name; refusal_drop() removes it.
 */
static void
refusal(const char *name, const char *op, const char *table, const char *msg)
{
	char sql[512];

	if (pguri != NULL)
		snprintf(sql, sizeof(sql), "CREATE FUNCTION %s() RETURNS "
		    "trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION "
		    "'%s'; END$$; CREATE TRIGGER %s BEFORE %s ON %s FOR EACH "
		    "ROW EXECUTE FUNCTION %s()", name, msg, name, op, table,
		    name);
	else
		snprintf(sql, sizeof(sql), "CREATE TRIGGER %s BEFORE %s ON %s "
		    "BEGIN SELECT RAISE(ABORT, '%s'); END", name, op, table,
		    msg);
	ck_assert_int_eq(sql_exec(dbpath, sql), 0);
}

static void
refusal_drop(const char *name, const char *table)
{
	char sql[256];

	if (pguri != NULL)
		snprintf(sql, sizeof(sql), "DROP TRIGGER %s ON %s; DROP "
		    "FUNCTION %s()", name, table, name);
	else
		snprintf(sql, sizeof(sql), "DROP TRIGGER %s", name);
	ck_assert_int_eq(sql_exec(dbpath, sql), 0);
}

struct audit_seen {
	int	 n;
	char	 last[512];	/* "actor|op|object|old|new" */
};

static int
audit_cb(const struct inv_audit *a, void *arg)
{
	struct audit_seen *as = arg;

	as->n++;
	snprintf(as->last, sizeof(as->last), "%s|%s|%s|%s|%s", a->actor,
	    a->op, a->object, a->old_value ? a->old_value : "NULL",
	    a->new_value ? a->new_value : "NULL");
	return 0;
}

/* The last audit row (about object, or any), and the number of rows. */
static int
last_audit(const char *object, char *out, size_t size)
{
	struct audit_seen as = { 0, "" };

	OK(inv_audit_each(inv, object, audit_cb, &as, &err_));
	snprintf(out, size, "%s", as.last);
	return as.n;
}

/* Core ----------------------------------------------------------------- */

START_TEST(test_open_create)
{
	struct inv_counts c;
	struct inv_env *e;
	int v;

	OK(inv_schema_version(inv, &v, &err_));
	ck_assert_int_eq(v, inv_schema_latest());
	ck_assert_int_ge(inv_schema_latest(), 1);
	OK(inv_env_get(inv, "default", &e, &err_));
	ck_assert_str_eq(e->name, "default");
	ck_assert_str_eq(e->group, "");
	inv_env_free(e);
	OK(inv_counts(inv, &c, &err_));
	ck_assert_int_eq(c.hosts, 0);
	ck_assert_int_eq(c.envs, 1);
	ck_assert_int_eq(c.dists, 0);
	ck_assert_int_eq(sql_int(VERSION_SQL()), inv_schema_latest());
	if (pguri == NULL)
		ck_assert_int_eq(sql_int("SELECT count(*) FROM "
		    "pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	ck_assert_int_eq(inv_stale(inv), 0);
	/* A second open of the same file neither migrates nor fails. */
	{
		struct inv *i2;

		OK(inv_open(dbpath, INV_RDWR, &i2, &err_));
		inv_close(i2);
		OK(inv_open(dbpath, INV_RDONLY, &i2, &err_));
		inv_close(i2);
	}
	inv_close(NULL);
}
END_TEST

/*
 * A change opened on an SQLite file that is no inventory refuses and
 * leaves the file as it was: the events database named by mistake took
 * the inventory's later migrations (its versions count from 1 too), and
 * bootd then refused it as newer than its own; another program's file
 * took the whole schema.  A new, empty file is still made an inventory.
 */
START_TEST(test_open_not_an_inventory)
{
	struct bootd_error err;
	struct inv *i2 = NULL;
	char other[600];
	struct db *db;
	struct db_stmt *s;
	int row, k;
	static const char *const made[] = {
		"CREATE TABLE boot_event (id INTEGER PRIMARY KEY); "
		    "PRAGMA user_version = 3",
		"CREATE TABLE t (x); PRAGMA user_version = 0",
	};
	static const char *const why[] = {
		"(schema version 3 without its tables)",
		"(tables of another schema)",
	};

	snprintf(other, sizeof(other), "%s/other.db", dir);
	for (k = 0; k < 2; k++) {
		rm_db(other);
		ck_assert_int_eq(sql_exec(other, made[k]), 0);
		ck_assert_int_eq(inv_open(other, INV_RDWR, &i2, &err),
		    BOOTD_EDB);
		ck_assert_ptr_null(i2);
		ck_assert_msg(strstr(err.text, "is not a bootd inventory") &&
		    strstr(err.text, why[k]), "%s", err.text);
		db = own_db(other);
		OK(db_prepare(db, "SELECT (SELECT user_version FROM "
		    "pragma_user_version), (SELECT count(*) FROM sqlite_schema)",
		    &s, &err_));
		OK(db_step(s, &row, &err_));
		ck_assert_int_eq(db_column_int64(s, 0), k == 0 ? 3 : 0);
		ck_assert_int_eq(db_column_int64(s, 1), 1);
		db_close(db);
	}
	rm_db(other);
	ck_assert_int_eq(close(open(other, O_WRONLY | O_CREAT | O_EXCL,
	    0600)), 0);
	OK(inv_open(other, INV_RDWR, &i2, &err_));	/* empty: made one */
	inv_close(i2);
	OK(inv_open(other, INV_RDWR, &i2, &err_));
	inv_close(i2);
}
END_TEST

/* Foreign keys are on for a handle that did not migrate, too. */
START_TEST(test_fk_on_reopen)
{
	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_attr_set(inv, "web1", "k", "v", &err_));
	inv_close(inv);
	OK(inv_open(dbpath, INV_RDWR, &inv, &err_));
	OK(inv_host_remove(inv, "web1", &err_));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM nic"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM host_attr"), 0);
}
END_TEST

/* PRAGMA cache_size of inv's own connection (SQLite). */
static int64_t
cache_size(void)
{
	struct bootd_error err = { "" };
	struct db_stmt *s;
	int64_t v;
	int row;

	ck_assert_int_eq(db_prepare(inv->db, "PRAGMA cache_size", &s, &err),
	    BOOTD_OK);
	ck_assert_int_eq(db_step(s, &row, &err), BOOTD_OK);
	ck_assert_int_eq(row, 1);
	v = db_column_int64(s, 0);
	db_finalize(s);
	return v;
}

/* inv_cache_mib() sizes the handle's own page cache (SQLite only). */
START_TEST(test_cache_mib)
{
	if (inv->pg)
		return;		/* nothing to size: the server caches */
	ck_assert_int_eq(cache_size(), -2000);	/* SQLite's default */
	inv_cache_mib(inv, 16);
	ck_assert_int_eq(cache_size(), -16 * 1024);
	inv_cache_mib(inv, 0);	/* no size: left as it was */
	ck_assert_int_eq(cache_size(), -16 * 1024);
	host("web1.example.org", "52:54:00:00:00:01");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM host"), 1);
}
END_TEST

/*
 * A PostgreSQL URI that names no reachable server, or that libpq cannot
 * parse, fails with one line that names the URI with its password
 * masked and never holds the password itself; nothing is created (no
 * file named after it).  Needs no server: runs on both engines.
 */
START_TEST(test_open_uri_errors)
{
	static const char *const uris[] = {
		/* No server there (a socket directory that does not exist). */
		"postgresql://bootd:Sekr1tPw@/bootd?host=/nonexistent-bootd",
		"postgres:///bootd?host=/nonexistent-bootd&password=Sekr1tPw",
		/* libpq quotes what it cannot parse: the password, here. */
		"postgresql://bootd:Sekr1tPw%zz@localhost/bootd",
		"postgresql://bootd:Sekr1tPw@[::1/bootd",
		"postgresql:///bootd?password=Sekr1tPw%00",
	};
	struct bootd_error err;
	struct inv *i2;
	size_t k;
	enum inv_mode m;

	for (k = 0; k < N(uris); k++) {
		for (m = INV_RDONLY; m <= INV_CREATE; m++) {
			i2 = (struct inv *)&err;  /* set to NULL on failure */
#ifdef BOOTD_WITH_POSTGRESQL
			ck_assert_int_eq(inv_open(uris[k], m, &i2, &err),
			    BOOTD_EDB);
			ck_assert_ptr_nonnull(strstr(err.text,
			    "cannot open database"));
			ck_assert_ptr_nonnull(strstr(err.text, "***"));
#else
			ck_assert_int_eq(inv_open(uris[k], m, &i2, &err),
			    BOOTD_EINVAL);
#endif
			ck_assert_ptr_null(i2);
			assert_clean(&err);
			ck_assert_msg(strstr(err.text, "Sekr1t") == NULL,
			    "password in \"%s\"", err.text);
			ck_assert_int_eq(access("postgresql:", F_OK), -1);
			ck_assert_int_eq(access("postgres:", F_OK), -1);
		}
	}
}
END_TEST

/*
 * Every statement of the inventory's table prepares on the engine under
 * test: PostgreSQL refuses at prepare time what SQLite takes (a parameter
 * whose type it cannot tell, a function it lacks), also in statements no
 * other test happens to run.
 */
START_TEST(test_statements_prepare)
{
	struct bootd_error err = { "" };
	int id;

	for (id = 0; id < S__MAX; id++) {
		ck_assert_ptr_nonnull(sqltab[id]);
		ck_assert_msg(stmt(inv, id, &err) != NULL, "statement %d (%s): "
		    "%s", id, stmt_sql(inv, id), err.text);
	}
}
END_TEST

START_TEST(test_host_add_get)
{
	const char *macs[] = { "52-54-00-AB-CD-EF", "5254.0012.3456" };
	struct inv_host *h;
	char a[512];

	OK(inv_host_add(inv, "Web1.Example.ORG", macs, 2, NULL, &err_));
	OK(inv_host_get(inv, "web1.example.org", &h, &err_));
	ck_assert_str_eq(h->fqdn, "web1.example.org");
	ck_assert_str_eq(h->env, "default");
	ck_assert_int_eq(h->action, INV_ACTION_LOCAL);
	ck_assert_ptr_null(h->dist);
	ck_assert_uint_eq(h->nmacs, 2);
	ck_assert_str_eq(h->macs[0], "52:54:00:12:34:56");
	ck_assert_str_eq(h->macs[1], "52:54:00:ab:cd:ef");
	ck_assert_uint_eq(h->nattrs, 0);
	ck_assert_ptr_null(h->token);
	inv_host_free(h);
	inv_host_free(NULL);
	ck_assert_int_eq(last_audit("web1.example.org", a, sizeof(a)), 1);
	ck_assert_str_eq(a, "unknown|host-add|web1.example.org|NULL|"
	    "env=default action=local dist=- "
	    "macs=52:54:00:12:34:56,52:54:00:ab:cd:ef");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM nic"), 2);
}
END_TEST

START_TEST(test_resolve)
{
	const char *names[] = {
		"web1.a.org", "WEB1.A.ORG", "db1", "DB1", "52:54:00:00:00:01",
		"52-54-00-00-00-01", "525400000001", "5254.0000.0001",
		"52:54:00:00:00:0A", "xyz.a.org", "xyz.b.org",
	};
	const char *want[] = {
		"web1.a.org", "web1.a.org", "db1.a.org", "db1.a.org",
		"web1.a.org", "web1.a.org", "web1.a.org", "web1.a.org",
		"web2.b.org", "xyz.a.org", "xyz.b.org",
	};
	struct bootd_error err;
	struct inv_host *h;
	char *fqdn;
	size_t i;

	host("web1.a.org", "52:54:00:00:00:01");
	host("web1.b.org", "52:54:00:00:00:02");
	host("db1.a.org", "52:54:00:00:00:03");
	host("web2.b.org", "52:54:00:00:00:0a");
	host("xyz.b.org", "52:54:00:00:00:0b");
	host("xyz.a.org", "52:54:00:00:00:0c");
	for (i = 0; i < N(names); i++) {
		OK(inv_host_resolve(inv, names[i], &fqdn, &err_));
		ck_assert_str_eq(fqdn, want[i]);
		free(fqdn);
		/* inv_host_get() reads an FQDN with its host: the same. */
		OK(inv_host_get(inv, names[i], &h, &err_));
		ck_assert_str_eq(h->fqdn, want[i]);
		inv_host_free(h);
	}
	/* And fails as resolving does, with the same reason. */
	{
		const char *bad[] = { "db1.", "web2..", "web1.a", "nope",
		    "5254.0000.0099", "xyz.a.org.x" };
		struct bootd_error e2;

		for (i = 0; i < N(bad); i++) {
			ck_assert_int_eq(inv_host_resolve(inv, bad[i], &fqdn,
			    &err), BOOTD_ENOTFOUND);
			ck_assert_int_eq(inv_host_get(inv, bad[i], &h, &e2),
			    BOOTD_ENOTFOUND);
			ck_assert_ptr_null(h);
			ck_assert_str_eq(e2.text, err.text);
		}
	}
	ck_assert_int_eq(inv_host_resolve(inv, "web1", &fqdn, &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_null(fqdn);
	ck_assert_ptr_nonnull(strstr(err.text, "ambiguous"));
	ck_assert_ptr_nonnull(strstr(err.text, "web1.a.org"));
	ck_assert_ptr_nonnull(strstr(err.text, "web1.b.org"));
	/* A dotless host name cannot shadow another host's short name:
	 * both are ambiguous then, whoever named them. */
	host("web2", "52:54:00:00:00:0d");
	ck_assert_int_eq(inv_host_resolve(inv, "web2", &fqdn, &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "ambiguous"));
	ck_assert_ptr_nonnull(strstr(err.text, "web2.b.org"));
	OK(inv_host_resolve(inv, "52:54:00:00:00:0d", &fqdn, &err_));
	ck_assert_str_eq(fqdn, "web2");
	free(fqdn);
	/* A name ending in a dot is a whole FQDN, and nothing else. */
	{
		char x[INV_EXACT_NAME_MAX];

		ck_assert_str_eq(inv_exact_name("web2", x), "web2.");
		ck_assert_str_eq(inv_exact_name("web2.b.org", x), "web2.b.org");
		OK(inv_host_resolve(inv, "WEB2.", &fqdn, &err_));
		ck_assert_str_eq(fqdn, "web2");
		free(fqdn);
		OK(inv_host_resolve(inv, "web2.b.org.", &fqdn, &err_));
		ck_assert_str_eq(fqdn, "web2.b.org");
		free(fqdn);
		OK(inv_set_local(inv, inv_exact_name("web2", x), &err_));
		ck_assert_int_eq(inv_host_resolve(inv, "db1.", &fqdn, &err),
		    BOOTD_ENOTFOUND);
		ck_assert_ptr_nonnull(strstr(err.text, "FQDN \"db1\""));
		ck_assert_int_eq(inv_host_resolve(inv, "web2..", &fqdn, &err),
		    BOOTD_ENOTFOUND);
	}
	/* A name that reads as a MAC is never an FQDN. */
	{
		const char *m[] = { "52:54:00:00:00:0e" };

		ck_assert_int_eq(inv_host_add(inv, "525400000001", m, 1, NULL,
		    &err), BOOTD_EINVAL);
		ck_assert_ptr_nonnull(strstr(err.text, "reads as a MAC"));
	}
	ck_assert_int_eq(inv_host_resolve(inv, "nope", &fqdn, &err),
	    BOOTD_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.text, "nope"));
	ck_assert_int_eq(inv_host_resolve(inv, "52:54:00:00:00:99", &fqdn,
	    &err), BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_host_resolve(inv, "web1.a", &fqdn, &err),
	    BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_host_resolve(inv, "", &fqdn, &err),
	    BOOTD_EINVAL);
	ck_assert_int_eq(inv_host_resolve(inv, NULL, &fqdn, &err),
	    BOOTD_EINVAL);
	ck_assert_int_eq(inv_host_resolve(inv, "web\n1", &fqdn, &err),
	    BOOTD_ENOTFOUND);
	assert_clean(&err);
	ck_assert_ptr_nonnull(strstr(err.text, "web\\x0a1"));
}
END_TEST

START_TEST(test_host_changes_audited)
{
	struct inv_host *h;
	char a[512];

	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_set_actor(inv, "alice (uid 1000)"));
	OK(inv_env_add(inv, "prod", "ops", &err_));
	std_dist("debian-12");

	OK(inv_host_set_env(inv, "web1", "prod", &err_));
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "alice (uid 1000)|host-set-env|web1.example.org|"
	    "env=default|env=prod");

	OK(inv_host_set_dist(inv, "52:54:00:00:00:01", "debian-12", &err_));
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "alice (uid 1000)|host-set-dist|"
	    "web1.example.org|dist=-|dist=debian-12");

	OK(inv_host_rename(inv, "web1", "Web9.Example.Org", &err_));
	last_audit("web9.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "alice (uid 1000)|host-rename|web9.example.org|"
	    "web1.example.org|web9.example.org");
	OK(inv_host_get(inv, "web9", &h, &err_));
	ck_assert_str_eq(h->env, "prod");
	ck_assert_str_eq(h->dist, "debian-12");
	inv_host_free(h);

	OK(inv_host_set_dist(inv, "web9", NULL, &err_));
	last_audit("web9.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "alice (uid 1000)|host-set-dist|"
	    "web9.example.org|dist=debian-12|dist=-");

	OK(inv_host_remove(inv, "web9", &err_));
	last_audit("web9.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "alice (uid 1000)|host-remove|web9.example.org|"
	    "env=prod action=local dist=- macs=52:54:00:00:00:01|NULL");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM host"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM nic"), 0);
}
END_TEST

START_TEST(test_nics)
{
	struct inv_host *h;
	struct bootd_error err;
	char a[512];

	host("web1.example.org", "52:54:00:00:00:01");
	host("web2.example.org", "52:54:00:00:00:02");
	OK(inv_nic_add(inv, "web1", "52-54-00-00-00-AA", &err_));
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "unknown|nic-add|web1.example.org|NULL|"
	    "52:54:00:00:00:aa");
	OK(inv_host_get(inv, "52:54:00:00:00:aa", &h, &err_));
	ck_assert_str_eq(h->fqdn, "web1.example.org");
	ck_assert_uint_eq(h->nmacs, 2);
	inv_host_free(h);

	ck_assert_int_eq(inv_nic_add(inv, "web2", "525400000001", &err),
	    BOOTD_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.text, "52:54:00:00:00:01"));
	ck_assert_ptr_nonnull(strstr(err.text, "web1.example.org"));

	OK(inv_nic_remove(inv, "52:54:00:00:00:01", &err_));
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "unknown|nic-remove|web1.example.org|"
	    "52:54:00:00:00:01|NULL");
	ck_assert_int_eq(inv_nic_remove(inv, "52:54:00:00:00:aa", &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "last"));
	ck_assert_int_eq(inv_nic_remove(inv, "52:54:00:00:00:77", &err),
	    BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_nic_remove(inv, "nonsense", &err), BOOTD_EINVAL);
	/* The freed MAC can go to another host. */
	OK(inv_nic_add(inv, "web2", "52:54:00:00:00:01", &err_));
}
END_TEST

START_TEST(test_attrs)
{
	struct inv_host *h;
	struct bootd_error err;
	char a[512];

	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_attr_set(inv, "web1", "puppet_role", "webserver", &err_));
	last_audit(NULL, a, sizeof(a));
	ck_assert_str_eq(a, "unknown|attr-set|web1.example.org|NULL|"
	    "puppet_role=webserver");
	OK(inv_attr_set(inv, "web1", "puppet_role", "db", &err_));
	last_audit(NULL, a, sizeof(a));
	ck_assert_str_eq(a, "unknown|attr-set|web1.example.org|"
	    "puppet_role=webserver|puppet_role=db");
	OK(inv_attr_set(inv, "web1", "a.key", "", &err_));
	OK(inv_host_get(inv, "web1", &h, &err_));
	ck_assert_uint_eq(h->nattrs, 2);
	ck_assert_str_eq(h->attrs[0].key, "a.key");
	ck_assert_str_eq(h->attrs[0].value, "");
	ck_assert_str_eq(h->attrs[1].key, "puppet_role");
	ck_assert_str_eq(h->attrs[1].value, "db");
	inv_host_free(h);
	OK(inv_attr_unset(inv, "web1", "a.key", &err_));
	last_audit(NULL, a, sizeof(a));
	ck_assert_str_eq(a, "unknown|attr-unset|web1.example.org|a.key=|"
	    "NULL");
	ck_assert_int_eq(inv_attr_unset(inv, "web1", "a.key", &err),
	    BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_attr_set(inv, "nohost", "k", "v", &err),
	    BOOTD_ENOTFOUND);
}
END_TEST

START_TEST(test_attr_unset_used_by_dist)
{
	struct bootd_error err;

	host("web1.example.org", "52:54:00:00:00:01");
	dist("d1", "http://boot/{{attr.kver}}/linux", "http://boot/initrd",
	    "role={{attr.role}}");
	OK(inv_attr_set(inv, "web1", "role", "web", &err_));
	OK(inv_attr_set(inv, "web1", "kver", "6.1", &err_));
	OK(inv_attr_set(inv, "web1", "other", "x", &err_));
	OK(inv_host_set_dist(inv, "web1", "d1", &err_));
	ck_assert_int_eq(inv_attr_unset(inv, "web1", "role", &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "d1"));
	ck_assert_int_eq(inv_attr_unset(inv, "web1", "kver", &err),
	    BOOTD_EINVAL);
	OK(inv_attr_unset(inv, "web1", "other", &err_));
	OK(inv_host_set_dist(inv, "web1", NULL, &err_));
	OK(inv_attr_unset(inv, "web1", "role", &err_));
}
END_TEST

static int
env_cb(const struct inv_env *e, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s:%s,", e->name, e->group);
	return 0;
}

START_TEST(test_envs)
{
	struct buf b = { 0 };
	struct bootd_error err;
	struct inv_env *e;
	char a[512];

	OK(inv_env_add(inv, "prod", "ops", &err_));
	OK(inv_env_add(inv, "lab", NULL, &err_));
	last_audit("lab", a, sizeof(a));
	ck_assert_str_eq(a, "unknown|env-add|lab|NULL|group=");
	OK(inv_env_each(inv, env_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "default:,lab:,prod:ops,");
	buf_free(&b);
	ck_assert_int_eq(inv_env_add(inv, "prod", "", &err), BOOTD_EEXIST);
	ck_assert_int_eq(inv_env_get(inv, "nope", &e, &err),
	    BOOTD_ENOTFOUND);
	ck_assert_ptr_null(e);

	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_host_set_env(inv, "web1", "prod", &err_));
	ck_assert_int_eq(inv_env_remove(inv, "prod", &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "used by 1 host"));
	ck_assert_int_eq(inv_env_remove(inv, "default", &err), BOOTD_EINVAL);
	ck_assert_int_eq(inv_env_remove(inv, "nope", &err), BOOTD_ENOTFOUND);
	OK(inv_env_remove(inv, "lab", &err_));
	last_audit("lab", a, sizeof(a));
	ck_assert_str_eq(a, "unknown|env-remove|lab|group=|NULL");
	ck_assert_int_eq(inv_host_set_env(inv, "web1", "lab", &err),
	    BOOTD_ENOTFOUND);
	inv_env_free(NULL);
}
END_TEST

static int
dist_cb(const struct inv_dist *d, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s:%zu,", d->name, d->ninitrds);
	return 0;
}

START_TEST(test_dists)
{
	char *initrds[] = { "http://b/one", "http://b/two", "http://b/three" };
	struct inv_dist d = { "rhel-9.4", "http://b/vmlinuz", initrds, 3,
	    "inst.ks={{base_url}}/ks/{{fqdn}}" };
	struct inv_dist *got;
	struct buf b = { 0 };
	struct bootd_error err;
	char a[1024];

	OK(inv_dist_add(inv, &d, &err_));
	last_audit("rhel-9.4", a, sizeof(a));
	ck_assert_str_eq(a, "unknown|dist-add|rhel-9.4|NULL|"
	    "kernel=http://b/vmlinuz initrds=http://b/one,http://b/two,"
	    "http://b/three cmdline=inst.ks={{base_url}}/ks/{{fqdn}}");
	OK(inv_dist_get(inv, "rhel-9.4", &got, &err_));
	ck_assert_str_eq(got->kernel, "http://b/vmlinuz");
	ck_assert_uint_eq(got->ninitrds, 3);
	ck_assert_str_eq(got->initrds[0], "http://b/one");
	ck_assert_str_eq(got->initrds[1], "http://b/two");
	ck_assert_str_eq(got->initrds[2], "http://b/three");
	ck_assert_str_eq(got->cmdline, "inst.ks={{base_url}}/ks/{{fqdn}}");
	inv_dist_free(got);
	ck_assert_int_eq(inv_dist_add(inv, &d, &err), BOOTD_EEXIST);

	d.ninitrds = 1;
	d.initrds = initrds + 2;
	d.cmdline = NULL;
	OK(inv_dist_update(inv, &d, &err_));
	OK(inv_dist_get(inv, "rhel-9.4", &got, &err_));
	ck_assert_uint_eq(got->ninitrds, 1);
	ck_assert_str_eq(got->initrds[0], "http://b/three");
	ck_assert_str_eq(got->cmdline, "");
	inv_dist_free(got);
	last_audit("rhel-9.4", a, sizeof(a));
	ck_assert_ptr_nonnull(strstr(a, "|dist-update|rhel-9.4|kernel="));
	ck_assert_ptr_nonnull(strstr(a, "initrds=http://b/three cmdline="));

	std_dist("alpine");
	OK(inv_dist_each(inv, dist_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "alpine:1,rhel-9.4:1,");
	buf_free(&b);

	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_host_set_dist(inv, "web1", "rhel-9.4", &err_));
	ck_assert_int_eq(inv_dist_remove(inv, "rhel-9.4", &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "web1.example.org"));
	ck_assert_int_eq(inv_dist_remove(inv, "nope", &err), BOOTD_ENOTFOUND);
	d.name = "nope";
	ck_assert_int_eq(inv_dist_update(inv, &d, &err), BOOTD_ENOTFOUND);
	OK(inv_dist_remove(inv, "alpine", &err_));
	last_audit("alpine", a, sizeof(a));
	ck_assert_ptr_nonnull(strstr(a, "|dist-remove|alpine|kernel="));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM dist_initrd WHERE "
	    "dist = 'alpine'"), 0);
	ck_assert_int_eq(inv_host_set_dist(inv, "web1", "alpine", &err),
	    BOOTD_ENOTFOUND);
}
END_TEST

/*
 * Tokens come from random bytes a handle fetches 64 tokens' worth at a
 * time (make_token()): over several fetches, and from two handles, every
 * token is new, none is made of bytes already used and wiped (zeros).
 */
START_TEST(test_tokens_from_fetched_bytes)
{
	enum { N = 150 };
	static char tok[N + 1][INV_TOKEN_LEN + 1];
	static const char zeros[INV_TOKEN_LEN / 2 + 1] = "0000000000000000";
	char fqdn[64], mac[32];
	struct inv *other;
	int i, j;

	std_dist("debian-12");
	for (i = 0; i < N; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%d.example.org", i);
		snprintf(mac, sizeof(mac), "52:54:00:00:%02x:%02x", i / 256,
		    i % 256);
		host(fqdn, mac);
	}
	OK(inv_begin(inv, &err_));
	for (i = 0; i < N; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%d.example.org", i);
		OK(inv_set_reinstall(inv, fqdn, "debian-12", NOW, 3600, tok[i],
		    &err_));
	}
	OK(inv_commit(inv, &err_));
	OK(inv_open(dbpath, INV_RDWR, &other, &err_));
	OK(inv_set_reinstall(other, "h0.example.org", NULL, NOW, 3600, tok[N],
	    &err_));
	inv_close(other);
	for (i = 0; i <= N; i++) {
		ck_assert_uint_eq(strspn(tok[i], "0123456789abcdef"),
		    INV_TOKEN_LEN);
		ck_assert_ptr_null(strstr(tok[i], zeros));
		for (j = 0; j < i; j++)
			ck_assert_str_ne(tok[i], tok[j]);
	}
}
END_TEST

/* inv_dist_installing()'s call: append fqdn and a space; stop at "b." */
static int
installing_cb(const char *fqdn, void *arg)
{
	buf_printf(arg, "%s ", fqdn);
	return strncmp(fqdn, "b.", 2) == 0;
}

/* The hosts marked install with a distribution, and only those. */
START_TEST(test_dist_installing)
{
	struct buf b = { 0 };

	std_dist("d1");
	std_dist("d2");
	host("c.example.org", "52:54:00:00:00:03");
	host("a.example.org", "52:54:00:00:00:01");
	host("b.example.org", "52:54:00:00:00:02");
	host("d.example.org", "52:54:00:00:00:04");
	host("e.example.org", "52:54:00:00:00:05");
	OK(inv_set_reinstall(inv, "c", "d1", NOW, 60, NULL, &err_));
	OK(inv_set_reinstall(inv, "a", "d1", NOW, 60, NULL, &err_));
	OK(inv_set_reinstall(inv, "d", "d2", NOW, 60, NULL, &err_));
	OK(inv_host_set_dist(inv, "e", "d1", &err_));	/* boots locally */
	OK(inv_dist_installing(inv, "d1", installing_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "a.example.org c.example.org ");
	OK(inv_set_reinstall(inv, "b", "d1", NOW, 60, NULL, &err_));
	buf_reset(&b);
	OK(inv_dist_installing(inv, "d1", installing_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "a.example.org b.example.org ");
	buf_reset(&b);
	OK(inv_dist_installing(inv, "none", installing_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "");
	buf_free(&b);
}
END_TEST

START_TEST(test_token_lifecycle)
{
	char tok[INV_TOKEN_LEN + 1], tok2[INV_TOKEN_LEN + 1], a[512];
	struct bootd_error err;
	struct inv_boot b;
	struct inv_host *h;
	struct inv_done d;
	size_t i;

	host("web1.example.org", "52:54:00:00:00:01");
	std_dist("debian-12");
	OK(inv_set_actor(inv, "bob (uid 1001)"));
	OK(inv_set_reinstall(inv, "web1", "debian-12", NOW, 3600, tok,
	    &err_));
	ck_assert_uint_eq(strlen(tok), INV_TOKEN_LEN);
	for (i = 0; i < INV_TOKEN_LEN; i++)
		ck_assert_ptr_nonnull(strchr("0123456789abcdef", tok[i]));
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "bob (uid 1001)|set-reinstall|web1.example.org|"
	    "action=local dist=-|action=install dist=debian-12 "
	    "expires=2023-11-14T23:13:20Z");
	ck_assert_ptr_null(strstr(a, tok));	/* the token is not logged */

	OK(inv_lookup(inv, "52:54:00:00:00:01", NOW + 10, NULL, 0, &b,
	    &err_));
	ck_assert_int_eq(b.host->action, INV_ACTION_INSTALL);
	ck_assert_str_eq(b.host->token, tok);
	ck_assert_int_eq(b.host->token_expires, NOW + 3600);
	ck_assert_ptr_nonnull(b.dist);
	ck_assert_str_eq(b.dist->name, "debian-12");
	inv_boot_free(&b);

	/* A fresh mark invalidates the earlier token. */
	OK(inv_set_reinstall(inv, "web1", NULL, NOW + 20, 3600, tok2,
	    &err_));
	ck_assert_str_ne(tok, tok2);
	ck_assert_int_eq(inv_install_done(inv, tok, "10.0.0.1", 0, NOW + 30,
	    &d, &err), BOOTD_EEXPIRED);
	ck_assert_str_eq(d.fqdn, "web1.example.org");
	ck_assert_int_eq(d.mismatch, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM token WHERE "
	    "used_at IS NULL AND revoked = 0"), 1);

	OK(inv_set_actor(inv, "bootd (install done)"));
	OK(inv_install_done(inv, tok2, "10.0.0.1", 0, NOW + 40, &d, &err_));
	ck_assert_str_eq(d.fqdn, "web1.example.org");
	ck_assert_str_eq(d.fetched_from, "");
	ck_assert_int_eq(d.mismatch, 1);	/* never fetched */
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "bootd (install done)|install-done|"
	    "web1.example.org|action=install dist=debian-12|action=local "
	    "done_from=10.0.0.1 fetched_from=-");
	OK(inv_host_get(inv, "web1", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_LOCAL);
	ck_assert_str_eq(h->dist, "debian-12");
	ck_assert_ptr_null(h->token);
	inv_host_free(h);
	ck_assert_int_eq(sql_int("SELECT used_at FROM token WHERE used_at "
	    "IS NOT NULL"), NOW + 40);

	/* Used: refused, nothing changes. */
	ck_assert_int_eq(inv_install_done(inv, tok2, NULL, 0, NOW + 50, NULL,
	    &err), BOOTD_EEXPIRED);
	ck_assert_ptr_nonnull(strstr(err.text, "already used"));
	ck_assert_int_eq(inv_install_done(inv,
	    "0123456789abcdef0123456789abcdef", NULL, 0, NOW, NULL, &err),
	    BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_install_done(inv, "", NULL, 0, NOW, NULL, &err),
	    BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_install_done(inv, "x\x1b[2J", NULL, 0, NOW, NULL,
	    &err), BOOTD_ENOTFOUND);
	assert_clean(&err);

	/* Expired via now. */
	OK(inv_set_reinstall(inv, "web1", NULL, NOW, 60, tok, &err_));
	OK(inv_lookup(inv, "52:54:00:00:00:01", NOW + 61, NULL, 0, &b,
	    &err_));
	ck_assert_int_eq(b.host->action, INV_ACTION_INSTALL);
	ck_assert_ptr_null(b.host->token);
	ck_assert_ptr_null(b.dist);
	inv_boot_free(&b);
	ck_assert_int_eq(inv_install_done(inv, tok, NULL, 0, NOW + 60, NULL,
	    &err), BOOTD_EEXPIRED);
	ck_assert_ptr_nonnull(strstr(err.text, "expired"));

	/* set-local revokes. */
	OK(inv_set_reinstall(inv, "web1", NULL, NOW, 60, tok, &err_));
	OK(inv_set_local(inv, "web1", &err_));
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "bootd (install done)|set-local|"
	    "web1.example.org|action=install|action=local");
	ck_assert_int_eq(inv_install_done(inv, tok, NULL, 0, NOW + 1, NULL,
	    &err), BOOTD_EEXPIRED);
	ck_assert_ptr_nonnull(strstr(err.text, "revoked"));
	OK(inv_lookup(inv, "52:54:00:00:00:01", NOW + 1, NULL, 0, &b,
	    &err_));
	ck_assert_int_eq(b.host->action, INV_ACTION_LOCAL);
	ck_assert_ptr_null(b.dist);
	inv_boot_free(&b);
}
END_TEST

/*
 * The address that fetched the install script is noted on the token, once
 * per address; done compares with it, and with bind_addr refuses another
 * address without changing anything.
 */
START_TEST(test_token_fetch_address)
{
	struct bootd_error err;
	struct inv_done d;
	char tok[INV_TOKEN_LEN + 1], tok2[INV_TOKEN_LEN + 1], a[512];
	char canon[INV_ADDR_MAX + 1], *before, *after;
	int n;

	host("web1.example.org", "52:54:00:00:00:01");
	host("web2.example.org", "52:54:00:00:00:02");
	std_dist("debian-12");
	OK(inv_set_actor(inv, "bootd"));
	/* No live token: nothing to note. */
	ck_assert_int_eq(inv_token_fetched(inv, "52:54:00:00:00:01",
	    "10.0.0.1", NOW, &err), BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_token_fetched(inv, "52:54:00:00:00:09",
	    "10.0.0.1", NOW, &err), BOOTD_ENOTFOUND);
	OK(inv_set_reinstall(inv, "web1", "debian-12", NOW, 3600, tok,
	    &err_));
	OK(inv_set_reinstall(inv, "web2", "debian-12", NOW, 3600, tok2,
	    &err_));
	/* Malformed input is refused. */
	ck_assert_int_eq(inv_token_fetched(inv, "52:54:00:00:00:01",
	    "10.0.0.1; DROP", NOW, &err), BOOTD_EINVAL);
	assert_clean(&err);
	ck_assert_int_eq(inv_token_fetched(inv, "52:54:00:00:00:01", "",
	    NOW, &err), BOOTD_EINVAL);
	ck_assert_int_eq(inv_token_fetched(inv, "nonsense", "10.0.0.1", NOW,
	    &err), BOOTD_EINVAL);

	/* First fetch: written, with an audit row. */
	n = last_audit(NULL, a, sizeof(a));
	OK(inv_token_fetched(inv, "52-54-00-00-00-01", "10.0.0.1", NOW + 1,
	    &err_));
	ck_assert_int_eq(last_audit(NULL, a, sizeof(a)), n + 1);
	ck_assert_str_eq(a, "bootd|install-fetch|web1.example.org|NULL|"
	    "fetched_from=10.0.0.1");
	ck_assert_int_eq(sql_int("SELECT fetched_at FROM token WHERE "
	    "fetched_from = '10.0.0.1'"), NOW + 1);
	/* The same address again: no write at all (data_version stays). */
	before = dump();
	refusal("no_write", "UPDATE", "token", "written");
	OK(inv_token_fetched(inv, "52:54:00:00:00:01", "10.0.0.1", NOW + 2,
	    &err_));
	OK(inv_token_fetched(inv, "52:54:00:00:00:01", "::ffff:10.0.0.1",
	    NOW + 3, &err_));
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	refusal_drop("no_write", "token");
	/* Another address within a minute of the last change: kept, no
	 * audit row, so alternating fetches cannot grow the inventory. */
	before = dump();
	OK(inv_token_fetched(inv, "52:54:00:00:00:01", "2001:DB8::0:1",
	    NOW + 4, &err_));
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* A minute on, another address replaces it, audited old -> new. */
	OK(inv_token_fetched(inv, "52:54:00:00:00:01", "2001:DB8::0:1",
	    NOW + 61, &err_));
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "bootd|install-fetch|web1.example.org|"
	    "fetched_from=10.0.0.1|fetched_from=2001:db8::1");
	OK(inv_token_fetched(inv, "52:54:00:00:00:01", "10.0.0.1", NOW + 122,
	    &err_));

	/* Bound: a done from another address is refused, nothing changes. */
	OK(inv_set_actor(inv, "bootd (install done)"));
	before = dump();
	ck_assert_int_eq(inv_install_done(inv, tok, "10.0.0.2", 1, NOW + 10,
	    &d, &err), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(err.text, "from 10.0.0.2"));
	ck_assert_ptr_nonnull(strstr(err.text, "fetched from 10.0.0.1"));
	ck_assert_str_eq(d.fqdn, "web1.example.org");
	ck_assert_str_eq(d.fetched_from, "10.0.0.1");
	ck_assert_int_eq(d.mismatch, 1);
	/* An unknown or unusable address never matches. */
	ck_assert_int_eq(inv_install_done(inv, tok, NULL, 1, NOW + 10, &d,
	    &err), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(err.text, "an unknown address"));
	ck_assert_int_eq(inv_install_done(inv, tok, "garbage", 1, NOW + 10,
	    &d, &err), BOOTD_EPERM);
	/* A script never fetched cannot be bound either. */
	ck_assert_int_eq(inv_install_done(inv, tok2, "10.0.0.1", 1, NOW + 10,
	    &d, &err), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(err.text, "never fetched"));
	ck_assert_str_eq(d.fetched_from, "");
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	/* Matching (any spelling): accepted and audited with both. */
	OK(inv_install_done(inv, tok, "::ffff:10.0.0.1", 1, NOW + 11, &d,
	    &err_));
	ck_assert_int_eq(d.mismatch, 0);
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "bootd (install done)|install-done|"
	    "web1.example.org|action=install dist=debian-12|action=local "
	    "done_from=10.0.0.1 fetched_from=10.0.0.1");

	/* Unbound: another address is let through, flagged and audited. */
	OK(inv_set_reinstall(inv, "web1", "debian-12", NOW + 20, 3600, tok,
	    &err_));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM token WHERE "
	    "used_at IS NULL AND revoked = 0 AND host = 1 AND "
	    "fetched_from IS NULL"), 1);	/* a new token starts unfetched */
	OK(inv_token_fetched(inv, "52:54:00:00:00:01", "10.0.0.1", NOW + 21,
	    &err_));
	OK(inv_install_done(inv, tok, "10.0.0.2", 0, NOW + 30, &d, &err_));
	ck_assert_int_eq(d.mismatch, 1);
	ck_assert_str_eq(d.fetched_from, "10.0.0.1");
	last_audit("web1.example.org", a, sizeof(a));
	ck_assert_str_eq(a, "bootd (install done)|install-done|"
	    "web1.example.org|action=install dist=debian-12|action=local "
	    "done_from=10.0.0.2 fetched_from=10.0.0.1");

	/* Addresses. */
	OK(inv_addr_canon("127.0.0.1", canon, &err_));
	ck_assert_str_eq(canon, "127.0.0.1");
	{
		/* Every byte value in every position, as inet_ntop(3). */
		char ip[32], want[INET_ADDRSTRLEN];
		struct in_addr in;
		int v, pos;

		for (v = 0; v < 256; v++)
			for (pos = 0; pos < 4; pos++) {
				snprintf(ip, sizeof(ip), "%d.%d.%d.%d",
				    pos == 0 ? v : 7, pos == 1 ? v : 0,
				    pos == 2 ? v : 255, pos == 3 ? v : 10);
				ck_assert_int_eq(inet_pton(AF_INET, ip, &in),
				    1);
				inet_ntop(AF_INET, &in, want, sizeof(want));
				if (inv_addr_canon(ip, canon, NULL) !=
				    BOOTD_OK || strcmp(canon, want) != 0)
					ck_abort_msg("%s: %s, not %s", ip,
					    canon, want);
			}
	}
	OK(inv_addr_canon("::ffff:10.200.3.255", canon, &err_));
	ck_assert_str_eq(canon, "10.200.3.255");
	OK(inv_addr_canon("FE80:0:0::1", canon, &err_));
	ck_assert_str_eq(canon, "fe80::1");
	OK(inv_addr_canon("::ffff:192.0.2.7", canon, &err_));
	ck_assert_str_eq(canon, "192.0.2.7");
	ck_assert_int_eq(inv_addr_canon("fe80::1%eth0", canon, &err),
	    BOOTD_EINVAL);
	ck_assert_int_eq(inv_addr_canon("1.2.3", canon, &err), BOOTD_EINVAL);
	ck_assert_int_eq(inv_addr_canon(NULL, canon, &err), BOOTD_EINVAL);
	ck_assert_int_eq(inv_addr_canon("unix:", canon, &err), BOOTD_EINVAL);
}
END_TEST

/* An authorizer that lets environment "a" be changed, nothing else. */
static enum bootd_err
only_env_a(const char *fqdn, const char *env, const char *group, void *arg,
    struct bootd_error *err)
{
	int *calls = arg;

	(*calls)++;
	if (strcmp(env, "a") == 0 && strcmp(group, "ga") == 0)
		return BOOTD_OK;
	return bootd_error_set(err, BOOTD_EPERM, "permission denied: %s, "
	    "environment %s (group %s)", fqdn, env, group);
}

/*
 * The authorizer judges the host by row id inside the write transaction:
 * a host moved or renamed by another connection after the caller's own
 * check (as between bootctl's check by name and its write) is judged as
 * it is when written, and a refusal changes nothing.
 */
START_TEST(test_authorizer_in_transaction)
{
	const char *macs_a[] = { "52:54:00:00:00:01", "52:54:00:00:00:03" };
	const char *macs_new[] = { "52:54:00:00:00:09" };
	struct bootd_error err;
	char *before, *after;
	int calls = 0;
	size_t i;
	enum bootd_err rc;

	OK(inv_env_add(inv, "a", "ga", &err_));
	OK(inv_env_add(inv, "b", "gb", &err_));
	std_dist("d1");
	OK(inv_host_add(inv, "web1.example.org", macs_a, 2, "a", &err_));
	host("web2.example.org", "52:54:00:00:00:02");
	OK(inv_host_set_env(inv, "web2", "b", &err_));
	OK(inv_attr_set(inv, "web1", "role", "x", &err_));
	OK(inv_host_set_dist(inv, "web1", "d1", &err_));
	inv_set_authorizer(inv, only_env_a, &calls);

	/* Allowed as it is. */
	OK(inv_set_local(inv, "web1", &err_));
	ck_assert_int_eq(calls, 1);
	OK(inv_attr_set(inv, "web1", "role", "y", &err_));

	/* Moved to "b" by another connection after the caller looked. */
	ck_assert_int_eq(sql_exec(dbpath, "UPDATE host SET env = 'b' WHERE "
	    "fqdn = 'web1.example.org'"), SQLITE_OK);
	before = dump();
	for (i = 0; i < 11; i++) {
		switch (i) {
		case 0: rc = inv_set_local(inv, "web1", &err); break;
		case 1: rc = inv_set_reinstall(inv, "web1.example.org", "d1",
		    NOW, 60, NULL, &err); break;
		case 2: rc = inv_attr_set(inv, "web1", "role", "z", &err);
		    break;
		case 3: rc = inv_attr_unset(inv, "web1", "role", &err); break;
		case 4: rc = inv_host_rename(inv, "web1", "web7.example.org",
		    &err); break;
		case 5: rc = inv_host_set_dist(inv, "web1", NULL, &err); break;
		case 6: rc = inv_nic_add(inv, "web1", "52:54:00:00:00:04",
		    &err); break;
		case 7: rc = inv_nic_remove(inv, "52:54:00:00:00:03", &err);
		    break;
		case 8: rc = inv_host_remove(inv, "52:54:00:00:00:01", &err);
		    break;
		case 9: rc = inv_host_set_env(inv, "web1", "a", &err); break;
		default: rc = inv_host_add_dist(inv, "web1.example.org",
		    macs_new, 1, "b", NULL, &err); break;
		}
		ck_assert_msg(rc == BOOTD_EPERM,
		    "change %zu: %s (%s)", i, bootd_strerror(rc), err.text);
		ck_assert_ptr_nonnull(strstr(err.text, "environment b"));
		assert_clean(&err);
	}
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	/*
	 * Renamed: the name the caller checked now belongs to a host in "b"
	 * (web1 became web8, web2 took its name).
	 */
	ck_assert_int_eq(sql_exec(dbpath, "UPDATE host SET env = 'a', fqdn = "
	    "'web8.example.org' WHERE fqdn = 'web1.example.org'; UPDATE host "
	    "SET fqdn = 'web1.example.org' WHERE fqdn = 'web2.example.org'"),
	    SQLITE_OK);
	before = dump();
	ck_assert_int_eq(inv_set_local(inv, "web1.example.org", &err),
	    BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(err.text, "environment b"));
	/* Moving an allowed host into "b", or adding one there: refused. */
	ck_assert_int_eq(inv_host_set_env(inv, "web8", "b", &err),
	    BOOTD_EPERM);
	ck_assert_int_eq(inv_host_add(inv, "new.example.org", macs_new, 1,
	    "b", &err), BOOTD_EPERM);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	OK(inv_host_add_dist(inv, "new.example.org", macs_new, 1, "a", "d1",
	    &err_));
	OK(inv_set_local(inv, "web8", &err_));

	/* No authorizer: everything allowed again. */
	inv_set_authorizer(inv, NULL, NULL);
	OK(inv_set_local(inv, "web1.example.org", &err_));
}
END_TEST

/* inv_host_add_dist(): a refused distribution leaves no host behind. */
START_TEST(test_host_add_dist_atomic)
{
	const char *macs[] = { "52:54:00:00:00:01" };
	struct inv_host *h;
	struct bootd_error err;
	char *before, *after;

	std_dist("d1");
	before = dump();
	ck_assert_int_eq(inv_host_add_dist(inv, "web1.example.org", macs, 1,
	    NULL, "nodist", &err), BOOTD_ENOTFOUND);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	OK(inv_host_add_dist(inv, "Web1.Example.org", macs, 1, NULL, "d1",
	    &err_));
	OK(inv_host_get(inv, "web1", &h, &err_));
	ck_assert_str_eq(h->dist, "d1");
	inv_host_free(h);
}
END_TEST

START_TEST(test_grouped_transaction)
{
	struct inv_boot b;
	const char *m1[] = { "52:54:00:00:00:01" };
	const char *m2[] = { "52:54:00:00:00:02" };
	struct inv_host *h;
	struct bootd_error err;
	char *before, *after;

	std_dist("d1");
	OK(inv_host_add(inv, "a.example.org", m1, 1, NULL, &err_));
	OK(inv_host_add(inv, "b.example.org", m2, 1, NULL, &err_));

	/* A failure part way, then rollback: nothing changed. */
	before = dump();
	OK(inv_begin(inv, &err_));
	ck_assert_int_eq(inv_begin(inv, &err), BOOTD_EINVAL);
	OK(inv_set_reinstall(inv, "a", "d1", 1000, 3600, NULL, &err_));
	ck_assert_int_eq(inv_set_reinstall(inv, "nosuch", "d1", 1000, 3600,
	    NULL, &err), BOOTD_ENOTFOUND);
	/* Inside the group, a's change is seen. */
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	inv_host_free(h);
	inv_rollback(inv);
	after = dump();
	ck_assert_str_eq(before, after);
	free(after);

	/* A failed change fails the group: commit refuses, rolls back. */
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "a", "d1", 1000, 3600, NULL, &err_));
	ck_assert_int_eq(inv_set_reinstall(inv, "b", "nosuch", 1000, 3600,
	    NULL, &err), BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_commit(inv, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, "nothing was changed"));
	inv_rollback(inv);		/* already rolled back: no-op */
	after = dump();
	ck_assert_str_eq(before, after);
	free(after);

	/* A failed read does not: the recorder's fetch of a token gone. */
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "a", "d1", 1000, 3600, NULL, &err_));
	ck_assert_int_eq(inv_token_fetched(inv, "52:54:00:00:00:02",
	    "192.0.2.9", 1000, &err), BOOTD_ENOTFOUND);
	OK(inv_commit(inv, &err_));
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	inv_host_free(h);
	OK(inv_set_local(inv, "a", &err_));
	free(before);

	/* Commit: both changes, audited, in one go; a lookup in between
	 * sees the group's change and leaves the group open. */
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "a", "d1", 1000, 3600, NULL, &err_));
	memset(&b, 0, sizeof(b));
	OK(inv_lookup(inv, "52:54:00:00:00:01", 1000, NULL, 0, &b, &err_));
	ck_assert_ptr_nonnull(b.dist);
	inv_boot_free(&b);
	OK(inv_set_reinstall(inv, "b", "d1", 1000, 3600, NULL, &err_));
	OK(inv_commit(inv, &err_));
	ck_assert_int_eq(inv_commit(inv, &err), BOOTD_EINVAL);
	OK(inv_host_get(inv, "b", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	inv_host_free(h);
	inv_rollback(inv);		/* none open: no-op */
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	inv_host_free(h);
}
END_TEST

/*
 * A group of reads (bootctl's selection) sees the inventory as at its
 * first read, and changes nothing: a change inside it is refused, and
 * neither inv_begin() nor inv_commit() mistake it for a group of changes.
 */
START_TEST(test_read_group)
{
	const char *m1[] = { "52:54:00:00:00:01" };
	struct inv *other;
	struct inv_host *h;
	struct bootd_error err;
	char *after;

	std_dist("d1");
	OK(inv_host_add(inv, "a.example.org", m1, 1, NULL, &err_));
	OK(inv_open(dbpath, INV_RDWR, &other, &err_));

	OK(inv_read_begin(inv, &err_));
	ck_assert_int_eq(inv_read_begin(inv, &err), BOOTD_EINVAL);
	ck_assert_int_eq(inv_begin(inv, &err), BOOTD_EINVAL);
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_LOCAL);
	inv_host_free(h);
	/* Another connection's change is not seen until the end... */
	OK(inv_set_reinstall(other, "a", "d1", 1000, 3600, NULL, &err_));
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_LOCAL);
	inv_host_free(h);
	/* ...and one of its own is refused, leaving the group open. */
	ck_assert_int_eq(inv_set_local(inv, "a", &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "group of reads"));
	ck_assert_int_eq(inv_commit(inv, &err), BOOTD_EINVAL);
	inv_read_end(inv);
	inv_read_end(inv);		/* none open: no-op */
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	inv_host_free(h);

	/* After it, changes and groups of changes go on as usual. */
	OK(inv_set_local(inv, "a", &err_));
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "a", "d1", 1000, 3600, NULL, &err_));
	OK(inv_commit(inv, &err_));
	OK(inv_set_local(inv, "a", &err_));
	inv_close(other);
	after = dump();
	ck_assert_ptr_nonnull(strstr(after, "set-reinstall"));
	free(after);
}
END_TEST

/*
 * A group's set-reinstalls load their distribution once (inv_token.c);
 * a change of that distribution in the same group is seen by the next.
 */
START_TEST(test_group_dist_changed)
{
	char *initrds[] = { "http://boot/initrd" };
	struct inv_dist d = { "d1", "http://boot/{{attr.role}}/linux",
	    initrds, 1, "" };
	struct inv_host *h;
	struct bootd_error err;

	host("a.example.org", "52:54:00:00:00:01");
	host("b.example.org", "52:54:00:00:00:02");
	host("c.example.org", "52:54:00:00:00:03");
	std_dist("d1");
	OK(inv_attr_set(inv, "a", "role", "web", &err_));
	OK(inv_attr_set(inv, "c", "role", "db", &err_));
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "a", "d1", NOW, 60, NULL, &err_));
	OK(inv_set_reinstall(inv, "b", "d1", NOW, 60, NULL, &err_));
	OK(inv_set_local(inv, "b", &err_));
	/* a, installing d1, has the attribute the new kernel URL uses. */
	OK(inv_dist_update(inv, &d, &err_));
	ck_assert_int_eq(inv_set_reinstall(inv, "b", "d1", NOW, 60, NULL,
	    &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "lacks attribute \"role\""));
	inv_rollback(inv);

	/* The same without the failure: committed, and c installs d1. */
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "a", "d1", NOW, 60, NULL, &err_));
	OK(inv_dist_update(inv, &d, &err_));
	OK(inv_set_reinstall(inv, "c", "d1", NOW, 60, NULL, &err_));
	OK(inv_commit(inv, &err_));
	OK(inv_host_get(inv, "c", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	ck_assert_str_eq(h->dist, "d1");
	inv_host_free(h);
	/* Outside a group nothing is kept: b is refused again. */
	ck_assert_int_eq(inv_set_reinstall(inv, "b", "d1", NOW, 60, NULL,
	    &err), BOOTD_EINVAL);
	/* And inside one, after a host that has the attribute. */
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "c", "d1", NOW, 60, NULL, &err_));
	ck_assert_int_eq(inv_set_reinstall(inv, "b", "d1", NOW, 60, NULL,
	    &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "lacks attribute \"role\""));
	inv_rollback(inv);
}
END_TEST

/* The action and distribution of host, as "install d1" or "local -". */
static const char *
boots(const char *fqdn, char *out, size_t size)
{
	struct inv_host *h;

	OK(inv_host_get(inv, fqdn, &h, &err_));
	snprintf(out, size, "%s %s", h->action == INV_ACTION_INSTALL ?
	    "install" : "local", h->dist != NULL ? h->dist : "-");
	inv_host_free(h);
	return out;
}

/*
 * A group's set-reinstalls that give hosts a new distribution write them
 * INSTALL_BATCH (64) at a time (inv_token.c): whatever the group reads or
 * changes next sees them written, a host marked twice is read as the
 * first change left it, a failure to write them fails the group, and a
 * rollback writes none of them.
 */
START_TEST(test_group_install_held)
{
	char fqdn[64], mac[32], a[512], want[32];
	struct inv_counts c;
	struct inv_boot b;
	struct bootd_error err;
	char *before, *after;
	int i;

	std_dist("d1");
	std_dist("d2");
	for (i = 0; i < 70; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%d.example.org", i);
		snprintf(mac, sizeof(mac), "52:54:00:00:01:%02x", i);
		host(fqdn, mac);
	}

	/* A rollback writes none, and leaves none for the next group. */
	before = dump();
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "h0", "d1", NOW, 60, NULL, &err_));
	inv_rollback(inv);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "h1", "d1", NOW, 60, NULL, &err_));
	OK(inv_commit(inv, &err_));
	ck_assert_str_eq(boots("h0", a, sizeof(a)), "local -");
	ck_assert_str_eq(boots("h1", a, sizeof(a)), "install d1");

	/* Failing to write them fails the read that needed them... */
	refusal("no_host_update", "UPDATE", "host", "no update");
	before = dump();
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "h2", "d1", NOW, 60, NULL, &err_));
	ck_assert_int_ne(inv_counts(inv, &c, &err), BOOTD_OK);
	ck_assert_int_eq(inv_commit(inv, &err), BOOTD_EDB);
	/* ...or the commit. */
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "h2", "d1", NOW, 60, NULL, &err_));
	ck_assert_int_ne(inv_commit(inv, &err), BOOTD_OK);
	ck_assert_ptr_nonnull(strstr(err.text, "no update"));
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	refusal_drop("no_host_update", "host");

	/* More than a batch, the distribution changing on the way. */
	OK(inv_begin(inv, &err_));
	for (i = 2; i < 70; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%d.example.org", i);
		OK(inv_set_reinstall(inv, fqdn, i < 60 || i % 2 ? "d1" : "d2",
		    NOW, 60, NULL, &err_));
	}
	/* Marked again, its own distribution: read as the first left it. */
	OK(inv_set_reinstall(inv, "h69", NULL, NOW, 60, NULL, &err_));
	ck_assert_int_eq(last_audit("h69.example.org", a, sizeof(a)), 3);
	ck_assert_ptr_nonnull(strstr(a, "|action=install dist=d1|"));
	/* A lookup, a count and a change of another kind see them. */
	OK(inv_set_reinstall(inv, "h67", "d2", NOW, 60, NULL, &err_));
	memset(&b, 0, sizeof(b));
	OK(inv_lookup(inv, "52:54:00:00:01:43", NOW, NULL, 0, &b, &err_));
	ck_assert_ptr_nonnull(b.dist);
	ck_assert_str_eq(b.dist->name, "d2");
	inv_boot_free(&b);
	OK(inv_set_reinstall(inv, "h65", "d2", NOW, 60, NULL, &err_));
	OK(inv_counts(inv, &c, &err_));
	ck_assert_int_eq(c.installing, 69);
	OK(inv_set_reinstall(inv, "h63", "d2", NOW, 60, NULL, &err_));
	OK(inv_set_local(inv, "h63", &err_));
	OK(inv_set_reinstall(inv, "h61", "d2", NOW, 60, NULL, &err_));
	OK(inv_commit(inv, &err_));
	for (i = 0; i < 70; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%d.example.org", i);
		snprintf(want, sizeof(want), "%s", i == 0 ? "local -" :
		    i == 63 ? "local d2" : i < 60 || (i % 2 && i != 67 &&
		    i != 65 && i != 61) ? "install d1" : "install d2");
		ck_assert_str_eq(boots(fqdn, a, sizeof(a)), want);
	}
}
END_TEST

/*
 * inv_set_reinstall_host(): the host as the caller read it, found by its
 * row while the row still has its FQDN, else by that FQDN; judged by the
 * authorizer and changed as inv_set_reinstall() changes it.
 */
START_TEST(test_set_reinstall_host)
{
	char a[512], tok[INV_TOKEN_LEN + 1];
	struct inv_host *h, *ha, *hb, **hs;
	struct bootd_error err, e2;
	char *before, *after;
	int calls = 0;
	size_t i, n;

	OK(inv_env_add(inv, "a", "ga", &err_));
	OK(inv_env_add(inv, "b", "gb", &err_));
	std_dist("d1");
	host("a.example.org", "52:54:00:00:00:01");
	host("b.example.org", "52:54:00:00:00:02");
	OK(inv_host_get(inv, "a", &ha, &err_));
	OK(inv_host_get(inv, "b", &hb, &err_));
	ck_assert(ha->id != 0 && hb->id != 0 && ha->id != hb->id);
	OK(inv_host_list(inv, &hs, &n, &err_));
	ck_assert_uint_eq(n, 2);
	for (i = 0; i < n; i++)
		ck_assert(hs[i]->id == (strcmp(hs[i]->fqdn, ha->fqdn) == 0 ?
		    ha->id : hb->id));
	inv_host_list_free(hs, n);

	/* As it was read: marked, its token given, audited. */
	OK(inv_set_reinstall_host(inv, ha, "d1", (int64_t)time(NULL), 3600,
	    tok, &err_));
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	ck_assert_str_eq(h->dist, "d1");
	ck_assert_str_eq(h->token, tok);
	inv_host_free(h);
	ck_assert_int_eq(last_audit("a.example.org", a, sizeof(a)), 2);
	ck_assert_ptr_nonnull(strstr(a, "|set-reinstall|a.example.org|"
	    "action=local dist=-|action=install dist=d1 expires="));

	/* Renamed since: its old name is gone, and nothing changes. */
	OK(inv_host_rename(inv, "a", "c.example.org", &err_));
	before = dump();
	ck_assert_int_eq(inv_set_reinstall(inv, "a.example.org", "d1", NOW,
	    60, NULL, &err), BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_set_reinstall_host(inv, ha, "d1", NOW, 60, NULL,
	    &e2), BOOTD_ENOTFOUND);
	ck_assert_str_eq(e2.text, err.text);
	/* Removed, and its row (SQLite) or its name given to another. */
	OK(inv_host_remove(inv, "b", &err_));
	host("d.example.org", "52:54:00:00:00:02");
	ck_assert_int_eq(inv_set_reinstall_host(inv, hb, "d1", NOW, 60, NULL,
	    &err), BOOTD_ENOTFOUND);
	ck_assert_str_eq(boots("d.example.org", a, sizeof(a)), "local -");
	host("b.example.org", "52:54:00:00:00:03");
	OK(inv_set_reinstall_host(inv, hb, "d1", NOW, 60, NULL, &err_));
	ck_assert_str_eq(boots("b.example.org", a, sizeof(a)), "install d1");
	after = dump();
	ck_assert_ptr_null(strstr(before, "|set-reinstall|b.example.org|"));
	ck_assert_ptr_nonnull(strstr(after, "|set-reinstall|b.example.org|"));
	ck_assert_ptr_null(strstr(after, "|set-reinstall|d.example.org|"));
	free(before);
	free(after);

	/* Judged as it is now: moved to an environment not allowed. */
	OK(inv_host_get(inv, "c", &h, &err_));
	OK(inv_host_set_env(inv, "c", "b", &err_));
	inv_set_authorizer(inv, only_env_a, &calls);
	before = dump();
	ck_assert_int_eq(inv_set_reinstall_host(inv, h, "d1", NOW, 60, NULL,
	    &err), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(err.text, "environment b"));
	ck_assert_int_eq(calls, 1);
	after = dump();
	ck_assert_str_eq(before, after);
	inv_set_authorizer(inv, NULL, NULL);
	free(before);
	free(after);
	inv_host_free(h);
	inv_host_free(ha);
	inv_host_free(hb);
}
END_TEST

/*
 * inv_defer_dist_checks(): a distribution update is checked against the
 * hosts marked install with it as the group ends, not at once.
 */
START_TEST(test_group_dist_checked_at_commit)
{
	char *initrds[] = { "http://boot/initrd" };
	struct inv_dist d = { "d1", "http://boot/{{attr.role}}/linux",
	    initrds, 1, "" };
	struct inv_host *h;
	struct bootd_error err;
	char *before, *after;

	host("a.example.org", "52:54:00:00:00:01");
	host("b.example.org", "52:54:00:00:00:02");
	std_dist("d1");
	OK(inv_set_reinstall(inv, "a", "d1", NOW, 60, NULL, &err_));
	OK(inv_set_reinstall(inv, "b", "d1", NOW, 60, NULL, &err_));
	ck_assert_int_eq(inv_defer_dist_checks(inv, &err), BOOTD_EINVAL);
	/* The update before a gets what it uses, and b set local: kept. */
	OK(inv_begin(inv, &err_));
	OK(inv_defer_dist_checks(inv, &err_));
	OK(inv_dist_update(inv, &d, &err_));
	OK(inv_attr_set(inv, "a", "role", "web", &err_));
	OK(inv_set_local(inv, "b", &err_));
	OK(inv_commit(inv, &err_));
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	inv_host_free(h);
	/* a lacks what the next update uses: the group is refused whole,
	 * at its end. */
	d.kernel = "http://boot/{{attr.rack}}/linux";
	before = dump();
	OK(inv_begin(inv, &err_));
	OK(inv_defer_dist_checks(inv, &err_));
	OK(inv_dist_update(inv, &d, &err_));
	OK(inv_attr_set(inv, "b", "rack", "r1", &err_));
	ck_assert_int_eq(inv_commit(inv, &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "host a.example.org lacks "
	    "attribute \"rack\""));
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* Without the deferral the update is checked at once. */
	OK(inv_begin(inv, &err_));
	ck_assert_int_eq(inv_dist_update(inv, &d, &err), BOOTD_EINVAL);
	inv_rollback(inv);
}
END_TEST

/*
 * inv_mark() and inv_unchanged(): on SQLite, any commit since the mark,
 * by this handle or another connection, and nothing else, counts; on
 * PostgreSQL the mark is unknown and the answer always "changed".
 */
START_TEST(test_mark)
{
	struct bootd_error err = { "" };
	struct inv_host *h;
	struct inv_mark m;
	struct db *db;

	host("a.example.org", "52:54:00:00:00:01");
	inv_mark(inv, &m);
	if (pguri != NULL) {
		ck_assert_int_eq(m.known, 0);
		ck_assert_int_eq(inv_unchanged(inv, &m), 0);
		return;
	}
	ck_assert_int_eq(inv_unchanged(inv, &m), 1);
	/* Reads, and a group rolled back, change nothing. */
	OK(inv_host_get(inv, "a", &h, &err_));
	inv_host_free(h);
	OK(inv_begin(inv, &err_));
	OK(inv_attr_set(inv, "a", "k", "v", &err_));
	inv_rollback(inv);
	ck_assert_int_eq(inv_unchanged(inv, &m), 1);
	/* A change through this handle does. */
	OK(inv_attr_set(inv, "a", "k", "v", &err_));
	ck_assert_int_eq(inv_unchanged(inv, &m), 0);
	/* One through another connection, seen inside a group. */
	inv_mark(inv, &m);
	OK(inv_begin(inv, &err_));
	ck_assert_int_eq(inv_unchanged(inv, &m), 1);
	inv_rollback(inv);
	db = own_db(dbpath);
	ck_assert_msg(db_exec(db, "UPDATE host_attr SET value = 'w'", &err) ==
	    BOOTD_OK, "%s", err.text);
	db_close(db);
	OK(inv_begin(inv, &err_));
	ck_assert_int_eq(inv_unchanged(inv, &m), 0);
	inv_rollback(inv);
}
END_TEST

START_TEST(test_reinstall_needs_attrs)
{
	char tok[INV_TOKEN_LEN + 1];
	struct bootd_error err;
	char *before, *after;

	host("web1.example.org", "52:54:00:00:00:01");
	dist("d1", "http://boot/linux", "http://boot/{{attr.kver}}/initrd",
	    "role={{attr.role}}");
	OK(inv_attr_set(inv, "web1", "role", "web", &err_));
	before = dump();
	ck_assert_int_eq(inv_set_reinstall(inv, "web1", "d1", NOW, 60, tok,
	    &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "kver"));
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* And no host lacking attributes may get d1 by an update either. */
	OK(inv_attr_set(inv, "web1", "kver", "6.1", &err_));
	OK(inv_set_reinstall(inv, "web1", "d1", NOW, 60, tok, &err_));
	{
		char *initrds[] = { "http://boot/initrd" };
		struct inv_dist d = { "d1", "http://b/{{attr.newkey}}",
		    initrds, 1, "" };

		ck_assert_int_eq(inv_dist_update(inv, &d, &err),
		    BOOTD_EINVAL);
		ck_assert_ptr_nonnull(strstr(err.text, "newkey"));
	}
}
END_TEST

START_TEST(test_reinstall_without_dist)
{
	char tok[INV_TOKEN_LEN + 1];
	struct bootd_error err;
	char *before, *after;

	host("web1.example.org", "52:54:00:00:00:01");
	before = dump();
	ck_assert_int_eq(inv_set_reinstall(inv, "web1", NULL, NOW, 60, tok,
	    &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "no distribution"));
	ck_assert_int_eq(inv_set_reinstall(inv, "web1", "nope", NOW, 60, tok,
	    &err), BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_set_reinstall(inv, "nohost", NULL, NOW, 60, tok,
	    &err), BOOTD_ENOTFOUND);
	std_dist("d1");
	free(before);
	before = dump();
	ck_assert_int_eq(inv_set_reinstall(inv, "web1", "d1", NOW, 0, tok,
	    &err), BOOTD_EINVAL);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* While installing, the distribution cannot be cleared. */
	OK(inv_set_reinstall(inv, "web1", "d1", NOW, 60, NULL, &err_));
	ck_assert_int_eq(inv_host_set_dist(inv, "web1", NULL, &err),
	    BOOTD_EINVAL);
	ck_assert_int_eq(inv_dist_remove(inv, "d1", &err), BOOTD_EINVAL);
}
END_TEST

START_TEST(test_lookup)
{
	const char *spell[] = {
		"52:54:00:ab:cd:ef", "52:54:00:AB:CD:EF", "52-54-00-ab-cd-ef",
		"5254.00ab.cdef", "525400ABCDEF",
	};
	const char *manual[] = { "d2", "missing", "d1" };
	struct bootd_error err;
	struct inv_boot b;
	size_t i;

	host("web1.example.org", "52:54:00:ab:cd:ef");
	std_dist("d1");
	std_dist("d2");
	OK(inv_attr_set(inv, "web1", "role", "web", &err_));
	OK(inv_host_set_dist(inv, "web1", "d1", &err_));
	for (i = 0; i < N(spell); i++) {
		OK(inv_lookup(inv, spell[i], NOW, manual, N(manual), &b,
		    &err_));
		ck_assert_str_eq(b.host->fqdn, "web1.example.org");
		ck_assert_str_eq(b.host->env, "default");
		ck_assert_str_eq(b.host->dist, "d1");
		ck_assert_int_eq(b.host->action, INV_ACTION_LOCAL);
		ck_assert_uint_eq(b.host->nattrs, 1);
		ck_assert_str_eq(b.host->attrs[0].value, "web");
		ck_assert_ptr_null(b.dist);	/* local: no installer */
		ck_assert_uint_eq(b.nmanual, 2);
		ck_assert_str_eq(b.manual[0]->name, "d2");
		ck_assert_str_eq(b.manual[1]->name, "d1");
		inv_boot_free(&b);
	}
	ck_assert_int_eq(inv_lookup(inv, "52:54:00:ab:cd:00", NOW, NULL, 0,
	    &b, &err), BOOTD_ENOTFOUND);
	ck_assert_ptr_null(b.host);
	ck_assert_int_eq(inv_lookup(inv, "52:54:00:ab:cd", NOW, NULL, 0, &b,
	    &err), BOOTD_EINVAL);
	ck_assert_int_eq(inv_lookup(inv, "${net0/mac}", NOW, NULL, 0, &b,
	    &err), BOOTD_EINVAL);
	inv_boot_free(&b);
	inv_boot_free(NULL);
}
END_TEST

START_TEST(test_lookup_install)
{
	char *initrds[] = { "http://boot/i0", "http://boot/i1",
	    "http://boot/i2" };
	struct inv_dist d = { "d3", "http://boot/linux", initrds, 3,
	    "role={{attr.role}}" };
	const char *manual[] = { "d3" };
	char tok[INV_TOKEN_LEN + 1];
	struct inv_boot b;
	size_t i;

	/* Attributes come sorted, initrds in their order, each dist whole. */
	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_attr_set(inv, "web1", "zone", "z1", &err_));
	OK(inv_attr_set(inv, "web1", "role", "web", &err_));
	OK(inv_attr_set(inv, "web1", "arch", "x86", &err_));
	OK(inv_dist_add(inv, &d, &err_));
	OK(inv_set_reinstall(inv, "web1", "d3", NOW, 60, tok, &err_));
	OK(inv_lookup(inv, "52:54:00:00:00:01", NOW, manual, N(manual), &b,
	    &err_));
	ck_assert_int_eq(b.host->action, INV_ACTION_INSTALL);
	ck_assert_str_eq(b.host->token, tok);
	ck_assert_int_eq(b.host->token_expires, NOW + 60);
	ck_assert_uint_eq(b.host->nattrs, 3);
	ck_assert_str_eq(b.host->attrs[0].key, "arch");
	ck_assert_str_eq(b.host->attrs[1].key, "role");
	ck_assert_str_eq(b.host->attrs[2].key, "zone");
	ck_assert_str_eq(b.host->attrs[2].value, "z1");
	ck_assert_ptr_nonnull(b.dist);
	ck_assert_uint_eq(b.nmanual, 1);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(b.dist->initrds[i], initrds[i]);
		ck_assert_str_eq(b.manual[0]->initrds[i], initrds[i]);
	}
	ck_assert_uint_eq(b.dist->ninitrds, 3);
	ck_assert_str_eq(b.dist->kernel, "http://boot/linux");
	ck_assert_str_eq(b.dist->cmdline, "role={{attr.role}}");
	inv_boot_free(&b);
}
END_TEST

START_TEST(test_lookup_repeated_statements)
{
	struct inv_boot b;
	int i;

	/* Many lookups on one handle reuse the prepared statements. */
	host("web1.example.org", "52:54:00:00:00:01");
	for (i = 0; i < 500; i++) {
		OK(inv_lookup(inv, "52:54:00:00:00:01", NOW, NULL, 0, &b,
		    &err_));
		inv_boot_free(&b);
	}
}
END_TEST

START_TEST(test_counts)
{
	struct inv_counts c;
	const char *macs[] = { "52:54:00:00:00:02", "52:54:00:00:00:03" };

	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_host_add(inv, "web2.example.org", macs, 2, NULL, &err_));
	std_dist("d1");
	OK(inv_env_add(inv, "prod", "", &err_));
	OK(inv_set_reinstall(inv, "web2", "d1", NOW, 60, NULL, &err_));
	OK(inv_counts(inv, &c, &err_));
	ck_assert_int_eq(c.hosts, 2);
	ck_assert_int_eq(c.nics, 3);
	ck_assert_int_eq(c.dists, 1);
	ck_assert_int_eq(c.envs, 2);
	ck_assert_int_eq(c.installing, 1);
}
END_TEST

struct each_ctx {
	struct buf	b;
	int		stop_after;
	int		calls;
};

static int
host_cb(const struct inv_host *h, void *arg)
{
	struct each_ctx *c = arg;
	struct inv_host *again;
	struct bootd_error err;

	c->calls++;
	buf_printf(&c->b, "%s,", h->fqdn);
	/* The handle is usable from inside the callback. */
	ck_assert_int_eq(inv_host_get(inv, h->macs[0], &again, &err),
	    BOOTD_OK);
	ck_assert_str_eq(again->fqdn, h->fqdn);
	inv_host_free(again);
	return c->stop_after > 0 && c->calls >= c->stop_after;
}

START_TEST(test_each_sorted)
{
	struct each_ctx c = { { 0 }, 0, 0 };

	host("c.example.org", "52:54:00:00:00:01");
	host("a.example.org", "52:54:00:00:00:02");
	host("b.example.org", "52:54:00:00:00:03");
	OK(inv_host_each(inv, host_cb, &c, &err_));
	ck_assert_str_eq(buf_str(&c.b), "a.example.org,b.example.org,"
	    "c.example.org,");
	buf_free(&c.b);
	c.stop_after = 2;
	c.calls = 0;
	OK(inv_host_each(inv, host_cb, &c, &err_));
	ck_assert_int_eq(c.calls, 2);
	buf_free(&c.b);
}
END_TEST

/* Every field of a and b is the same. */
static void
host_eq(const struct inv_host *a, const struct inv_host *b)
{
	size_t i;

	ck_assert_str_eq(a->fqdn, b->fqdn);
	ck_assert_str_eq(a->env, b->env);
	ck_assert_int_eq(a->action, b->action);
	ck_assert_pstr_eq(a->dist, b->dist);
	ck_assert_pstr_eq(a->token, b->token);
	ck_assert_int_eq(a->token_expires, b->token_expires);
	ck_assert_uint_eq(a->nmacs, b->nmacs);
	for (i = 0; i < a->nmacs; i++)
		ck_assert_str_eq(a->macs[i], b->macs[i]);
	ck_assert_uint_eq(a->nattrs, b->nattrs);
	for (i = 0; i < a->nattrs; i++) {
		ck_assert_str_eq(a->attrs[i].key, b->attrs[i].key);
		ck_assert_str_eq(a->attrs[i].value, b->attrs[i].value);
	}
}

static int
name_cb(const char *name, void *arg)
{
	buf_printf(arg, "%s,", name);
	return 0;
}

/*
 * Listings sort text by its bytes (SQLite's BINARY), on PostgreSQL too
 * whatever the database's collation (a language's would put "web-2"
 * before "web1"), and completion's range of the FQDN index holds every
 * name with the prefix and nothing else.
 */
START_TEST(test_sort_bytes)
{
	struct each_ctx c = { { 0 }, 0, 0 };
	struct buf b = { 0 };
	struct inv_host *h;

	host("web3.example.org", "52:54:00:00:00:01");
	host("web-2.example.org", "52:54:00:00:00:02");
	host("web10.example.org", "52:54:00:00:00:03");
	host("web1.example.org", "52:54:00:00:00:04");
	host("web.example.org", "52:54:00:00:00:05");
	OK(inv_host_each(inv, host_cb, &c, &err_));
	ck_assert_str_eq(buf_str(&c.b), "web-2.example.org,web.example.org,"
	    "web1.example.org,web10.example.org,web3.example.org,");
	buf_free(&c.b);
	OK(inv_host_names(inv, "web1", name_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "web1.example.org,web10.example.org,");
	buf_free(&b);
	OK(inv_host_names(inv, "web-", name_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "web-2.example.org,");
	buf_free(&b);
	OK(inv_attr_set(inv, "web1", "a_b", "1", &err_));
	OK(inv_attr_set(inv, "web1", "ab", "2", &err_));
	OK(inv_attr_set(inv, "web1", "a-b", "3", &err_));
	OK(inv_attr_set(inv, "web1", "a.b", "4", &err_));
	OK(inv_host_get(inv, "web1", &h, &err_));
	ck_assert_uint_eq(h->nattrs, 4);
	ck_assert_str_eq(h->attrs[0].key, "a-b");
	ck_assert_str_eq(h->attrs[1].key, "a.b");
	ck_assert_str_eq(h->attrs[2].key, "a_b");
	ck_assert_str_eq(h->attrs[3].key, "ab");
	inv_host_free(h);
	OK(inv_env_add(inv, "Zed", "", &err_));
	OK(inv_env_add(inv, "alpha", "", &err_));
	OK(inv_env_add(inv, "a-1", "", &err_));
	OK(inv_env_each(inv, env_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "Zed:,a-1:,alpha:,default:,");
	buf_free(&b);
}
END_TEST

START_TEST(test_host_list)
{
	struct inv_host **hs, *h;
	struct buf b = { 0 };
	size_t n, i;

	OK(inv_host_list(inv, &hs, &n, &err_));
	ck_assert_uint_eq(n, 0);
	inv_host_list_free(hs, n);
	std_dist("debian-12");
	host("c.example.org", "52:54:00:00:00:05");
	host("a.example.org", "52:54:00:00:00:02");
	host("b.example.org", "52:54:00:00:00:03");
	host("ab.example.org", "52:54:00:00:00:04");
	OK(inv_nic_add(inv, "c", "52:54:00:00:00:01", &err_));
	OK(inv_attr_set(inv, "c", "rack", "r1", &err_));
	OK(inv_attr_set(inv, "c", "puppet_role", "web", &err_));
	OK(inv_attr_set(inv, "a", "rack", "r2", &err_));
	OK(inv_set_reinstall(inv, "b", "debian-12", (int64_t)time(NULL), 60,
	    NULL, &err_));
	/* The same hosts, fields and order as inv_host_each() and
	 * inv_host_get() give. */
	OK(inv_host_list(inv, &hs, &n, &err_));
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(hs[0]->fqdn, "a.example.org");
	ck_assert_str_eq(hs[1]->fqdn, "ab.example.org");
	ck_assert_str_eq(hs[3]->fqdn, "c.example.org");
	ck_assert_uint_eq(hs[3]->nmacs, 2);
	ck_assert_str_eq(hs[3]->attrs[0].key, "puppet_role");
	ck_assert_ptr_nonnull(hs[2]->token);
	for (i = 0; i < n; i++) {
		OK(inv_host_get(inv, hs[i]->fqdn, &h, &err_));
		host_eq(hs[i], h);
		inv_host_free(h);
	}
	inv_host_list_free(hs, n);
	/* Names by prefix: one range of the FQDN index. */
	OK(inv_host_names(inv, "a", name_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "a.example.org,ab.example.org,");
	buf_reset(&b);
	OK(inv_host_names(inv, "", name_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "a.example.org,ab.example.org,"
	    "b.example.org,c.example.org,");
	buf_reset(&b);
	OK(inv_host_names(inv, "z", name_cb, &b, &err_));
	ck_assert_str_eq(buf_str(&b), "");
	buf_free(&b);
}
END_TEST

START_TEST(test_audit_object_filter)
{
	char a[512];

	host("web1.example.org", "52:54:00:00:00:01");
	host("web2.example.org", "52:54:00:00:00:02");
	OK(inv_attr_set(inv, "web1", "k", "v", &err_));
	ck_assert_int_eq(last_audit("web1", a, sizeof(a)), 2);
	ck_assert_int_eq(last_audit("52-54-00-00-00-02", a, sizeof(a)), 1);
	ck_assert_int_eq(last_audit(NULL, a, sizeof(a)), 3);
	ck_assert_int_eq(last_audit("nothing", a, sizeof(a)), 0);
	ck_assert_int_eq(inv_set_actor(inv, "bad\nactor"), BOOTD_EINVAL);
}
END_TEST

/* fill for inv_audit_each(): "op new,op new,..." into a struct buf. */
static int
ops_cb(const struct inv_audit *a, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s%s %s", buf_str(b)[0] != '\0' ? "," : "", a->op,
	    a->new_value != NULL ? a->new_value : "-");
	return 0;
}

/* The rows about object as "op new,..."; the caller frees it. */
static char *
audit_ops(const char *object)
{
	struct buf b = { 0 };
	char *s;

	OK(inv_audit_each(inv, object, ops_cb, &b, &err_));
	s = strdup(buf_str(&b));
	ck_assert_ptr_nonnull(s);
	buf_free(&b);
	return s;
}

START_TEST(test_audit_follows_rename)
{
	char a[512];

	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_attr_set(inv, "web1", "k", "v", &err_));
	OK(inv_host_rename(inv, "web1", "web9.example.org", &err_));
	OK(inv_attr_set(inv, "web9", "k", "w", &err_));
	/* add, attr, rename, attr: the old name's rows come along. */
	ck_assert_int_eq(last_audit("web9.example.org", a, sizeof(a)), 4);
	/* A new host under the old name has its own rows only; the
	 * renamed one keeps its rows. */
	host("web1.example.org", "52:54:00:00:00:02");
	ck_assert_int_eq(last_audit("web9.example.org", a, sizeof(a)), 4);
	ck_assert_int_eq(last_audit("web1.example.org", a, sizeof(a)), 1);
	/* Renamed twice: every row once. */
	OK(inv_host_rename(inv, "web9", "web8.example.org", &err_));
	ck_assert_int_eq(last_audit("web8.example.org", a, sizeof(a)), 5);
}
END_TEST

/*
 * A name that passes from one host to another: each host's rows are its
 * own, from the row that gave it the name (add or rename), following
 * its renames back only within its own lifetime.
 */
START_TEST(test_audit_name_reused)
{
	char *s;

	/* Renamed away, and the name taken by a new host. */
	host("lab3.example.org", "52:54:00:00:00:01");
	OK(inv_attr_set(inv, "lab3", "k", "v", &err_));
	OK(inv_host_rename(inv, "lab3", "prod9.example.org", &err_));
	host("lab3.example.org", "52:54:00:00:00:02");
	OK(inv_attr_set(inv, "lab3", "k", "new", &err_));
	s = audit_ops("lab3.example.org");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:02,attr-set k=new");
	free(s);
	s = audit_ops("prod9.example.org");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:01,attr-set k=v,"
	    "host-rename prod9.example.org");
	free(s);

	/* The new one renamed into a name that an earlier host had and
	 * left (removed): that host's rows stay out. */
	host("db1.example.org", "52:54:00:00:00:03");
	OK(inv_attr_set(inv, "db1", "k", "db", &err_));
	OK(inv_host_remove(inv, "db1", &err_));
	OK(inv_host_rename(inv, "lab3", "db1.example.org", &err_));
	s = audit_ops("db1.example.org");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:02,attr-set k=new,"
	    "host-rename db1.example.org");
	free(s);

	/* Removed, then added again: the new host starts afresh; the
	 * name of one that is gone shows its last holder, to its end. */
	OK(inv_host_remove(inv, "prod9", &err_));
	s = audit_ops("prod9.example.org");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:01,attr-set k=v,"
	    "host-rename prod9.example.org,host-remove -");
	free(s);
	host("prod9.example.org", "52:54:00:00:00:04");
	s = audit_ops("prod9.example.org");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:04");
	free(s);

	/* Renamed away and back: both stretches, and only them. */
	OK(inv_host_rename(inv, "prod9", "tmp.example.org", &err_));
	host("prod9.example.org", "52:54:00:00:00:05");
	OK(inv_host_remove(inv, "prod9", &err_));
	OK(inv_host_rename(inv, "tmp", "prod9.example.org", &err_));
	s = audit_ops("prod9.example.org");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:04,host-rename tmp.example.org,"
	    "host-rename prod9.example.org");
	free(s);
	/* Names no host had are not bounded: all their rows. */
	OK(inv_env_add(inv, "lab", "lab", &err_));
	OK(inv_env_set_group(inv, "lab", "ops", &err_));
	s = audit_ops("lab");
	ck_assert_str_eq(s, "env-add group=lab,env-set-group group=ops");
	free(s);
}
END_TEST

START_TEST(test_set_local_when_local)
{
	char a[512];

	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_set_local(inv, "web1", &err_));
	ck_assert_int_eq(last_audit("web1", a, sizeof(a)), 1);
}
END_TEST

START_TEST(test_env_set_group)
{
	struct bootd_error e = { "" };
	char a[512];

	OK(inv_set_actor(inv, "test"));
	OK(inv_env_add(inv, "lab", "lab", &err_));
	OK(inv_env_set_group(inv, "lab", "ops", &err_));
	ck_assert_int_eq(last_audit("lab", a, sizeof(a)), 2);
	ck_assert_str_eq(a, "test|env-set-group|lab|group=lab|group=ops");
	OK(inv_env_set_group(inv, "lab", "ops", &err_));
	ck_assert_int_eq(last_audit("lab", a, sizeof(a)), 2);
	ck_assert_int_eq(inv_env_set_group(inv, "lab", "Bad", &e),
	    BOOTD_EINVAL);
	ck_assert_int_eq(inv_env_set_group(inv, "nope", "ops", &e),
	    BOOTD_ENOTFOUND);
}
END_TEST

START_TEST(test_host_import)
{
	struct bootd_error e = { "" };
	char *macs[] = { "52:54:00:00:00:02", "52:54:00:00:00:01" };
	struct inv_kv attrs[] = { { "a", "1" }, { "b", "2" } };
	struct inv_host h = { 0 }, *got = NULL;
	char a[512];

	OK(inv_set_actor(inv, "test"));
	h.fqdn = "web1.example.org";
	h.env = "default";
	h.macs = macs;
	h.nmacs = 2;
	h.attrs = attrs;
	h.nattrs = 2;
	OK(inv_host_import(inv, &h, &err_));
	OK(inv_host_get(inv, "web1", &got, &err_));
	ck_assert_uint_eq(got->nmacs, 2);
	ck_assert_uint_eq(got->nattrs, 2);
	inv_host_free(got);
	ck_assert_int_eq(last_audit("web1", a, sizeof(a)), 1);
	ck_assert_str_eq(a, "test|host-add|web1.example.org|NULL|env=default "
	    "action=local dist=- macs=52:54:00:00:00:02,52:54:00:00:00:01 "
	    "attrs=a=1,b=2");
	/* A bad attribute refuses the whole host. */
	h.fqdn = "web2.example.org";
	macs[0] = "52:54:00:00:00:03";
	h.nmacs = 1;
	attrs[1].value = "${x}";
	ck_assert_int_eq(inv_host_import(inv, &h, &e), BOOTD_EINVAL);
	ck_assert_int_eq(inv_host_get(inv, "web2.example.org", &got, &e),
	    BOOTD_ENOTFOUND);
}
END_TEST

START_TEST(test_discovered_forget)
{
	struct bootd_error e = { "" };
	int64_t at = 1;
	char a[512];

	OK(inv_set_actor(inv, "test"));
	OK(inv_discovered_forgotten(inv, "52:54:00:00:00:09", &at, &err_));
	ck_assert_int_eq(at, 0);
	OK(inv_discovered_forget(inv, "52-54-00-00-00-09", NULL, "seen", 100,
	    &err_));
	OK(inv_discovered_forget(inv, "52:54:00:00:00:09", NULL, NULL, 50,
	    &err_));
	OK(inv_discovered_forgotten(inv, "52:54:00:00:00:09", &at, &err_));
	ck_assert_int_eq(at, 100);
	ck_assert_int_eq(last_audit("52:54:00:00:00:09", a, sizeof(a)), 2);
	ck_assert_str_eq(a, "test|discovered-forget|52:54:00:00:00:09|NULL|"
	    "NULL");
	OK(inv_discovered_forget(inv, "52:54:00:00:00:08", "web1.example.org",
	    "x=y", 200, &err_));
	ck_assert_int_eq(last_audit("web1.example.org", a, sizeof(a)), 1);
	ck_assert_str_eq(a, "test|discovered-adopt|web1.example.org|NULL|"
	    "mac=52:54:00:00:00:08 x=y");
	ck_assert_int_eq(inv_discovered_forget(inv, "zz", NULL, NULL, 1,
	    &e), BOOTD_EINVAL);
}
END_TEST

START_TEST(test_stale)
{
	char moved[160];

	ck_assert_int_eq(inv_stale(inv), 0);
	SQLITE_ONLY("a database on a server has no file to replace");
	snprintf(moved, sizeof(moved), "%s/moved.db", dir);
	ck_assert_int_eq(rename(dbpath, moved), 0);
	ck_assert_int_eq(inv_stale(inv), 1);
	/* Another file at the same path is not the one opened. */
	{
		struct inv *other;

		OK(inv_open(dbpath, INV_CREATE, &other, &err_));
		inv_close(other);
	}
	ck_assert_int_eq(inv_stale(inv), 1);
}
END_TEST

/*
 * Two writers change the same host at once: whichever loses is told
 * BOOTD_EBUSY, nothing half-done stays, and the grouped transaction of
 * the other goes on.  The second writer waits for the first's lock
 * (SQLite's write lock; on PostgreSQL the inventory's advisory lock),
 * then gives up.
 */
START_TEST(test_write_conflict)
{
	struct bootd_error err;
	struct inv *other;
	struct inv_host *h;
	enum bootd_err rc;

	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_env_add(inv, "e2", "", &err_));
	OK(inv_env_add(inv, "e3", "", &err_));
	OK(inv_open(dbpath, INV_RDWR, &other, &err_));
	inv_set_busy_timeout(inv, 20);
	inv_set_busy_timeout(other, 20);
	OK(inv_begin(inv, &err_));
	OK(inv_attr_set(inv, "web1", "k", "v", &err_));
	/*
	 * One writer at a time on both engines (on PostgreSQL an advisory
	 * lock: tx_start()): the other waits its busy timeout and is
	 * refused as busy, nothing of it done; the group commits.
	 */
	rc = inv_host_set_env(other, "web1", "e2", &err);
	ck_assert_int_eq(rc, BOOTD_EBUSY);
	assert_clean(&err);
	ck_assert_int_eq(inv_unavailable(other), 0);
	OK(inv_commit(inv, &err_));
	OK(inv_host_get(other, "web1", &h, &err_));
	ck_assert_str_eq(h->env, "default");
	ck_assert_uint_eq(h->nattrs, 1);
	inv_host_free(h);
	inv_close(other);
}
END_TEST

/*
 * The PostgreSQL schema: its migrations start at version 3 and reach the
 * SQLite inventory's latest.  A database without bootd's schema is
 * refused by INV_RDONLY and INV_RDWR (nothing made), a schema of every
 * older version is refused by INV_RDONLY and INV_RDWR and migrated by
 * INV_CREATE.
 */
START_TEST(test_migrate_pg)
{
	struct bootd_error err;
	struct inv *i2;
	struct inv_env *e;
	char want[160];
	int j, k, latest = inv_schema_latest();

	ck_assert_int_ge(pg_inv_nmigrations, 1);
	for (j = 0; j < pg_inv_nmigrations; j++)
		ck_assert_int_eq(pg_inv_migrations[j].version, j + 3);
	ck_assert_int_eq(pg_inv_migrations[pg_inv_nmigrations - 1].version,
	    latest);
	PG_ONLY("PostgreSQL's migrations need a server");
	inv_close(inv);
	inv = NULL;
	pg_reset();
	snprintf(want, sizeof(want), "has no bootd schema yet (schema "
	    "version 0): create it with \"bootctl init\"");
	ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, want));
	ck_assert_int_eq(inv_open(dbpath, INV_RDWR, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, want));
	ck_assert_int_eq(sql_int(TABLE_COUNT("schema_version")), 0);
	ck_assert_int_eq(sql_int(TABLE_COUNT("env")), 0);
	for (k = 0; k < pg_inv_nmigrations - 1; k++) {
		pg_reset();
		for (j = 0; j <= k; j++)
			ck_assert_int_eq(sql_exec(dbpath,
			    pg_inv_migrations[j].sql), 0);
		ck_assert_int_eq(sql_int(VERSION_SQL()),
		    pg_inv_migrations[k].version);
		snprintf(want, sizeof(want), "database schema version %d is "
		    "older than this bootd (%d): upgrade it with \"bootctl "
		    "init\"", pg_inv_migrations[k].version, latest);
		ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err),
		    BOOTD_EDB);
		ck_assert_str_eq(err.text, want);
		/*
		 * Only INV_CREATE (bootctl init) migrates a shared
		 * database: bootd's writers (INV_RDWR) must not upgrade
		 * the schema under the other sites' older bootd.
		 */
		ck_assert_int_eq(inv_open(dbpath, INV_RDWR, &i2, &err),
		    BOOTD_EDB);
		ck_assert_str_eq(err.text, want);
		ck_assert_int_eq(sql_int(VERSION_SQL()),
		    pg_inv_migrations[k].version);
		OK(inv_open(dbpath, INV_CREATE, &i2, &err_));
		OK(inv_env_get(i2, INV_DEFAULT_ENV, &e, &err_));
		inv_env_free(e);
		OK(inv_discovered_forget(i2, "52:54:00:00:00:01", NULL, NULL,
		    NOW, &err_));
		inv_close(i2);
		ck_assert_int_eq(sql_int(VERSION_SQL()), latest);
	}
}
END_TEST

/*
 * A large group refreshes PostgreSQL's statistics when it commits: the
 * planner must not take tables a bulk change filled for empty (the
 * lookup of an install token then read every open token).
 */
START_TEST(test_group_analyze_pg)
{
	char fqdn[64], mac[18];
	int i;

	PG_ONLY("SQLite plans without statistics of its own here");
	OK(inv_begin(inv, &err_));
	for (i = 0; i < 120; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%03d.example.org", i);
		snprintf(mac, sizeof(mac), "52:54:00:00:10:%02x", i);
		host(fqdn, mac);
	}
	ck_assert_int_lt(sql_int("SELECT reltuples FROM pg_class WHERE "
	    "relname = 'nic'"), 120);
	OK(inv_commit(inv, &err_));
	ck_assert_int_eq(sql_int("SELECT reltuples FROM pg_class WHERE "
	    "relname = 'nic'"), 120);
	ck_assert_int_eq(sql_int("SELECT reltuples FROM pg_class WHERE "
	    "relname = 'host'"), 120);
}
END_TEST

/*
 * Processes that open an empty database with INV_CREATE at once make
 * its schema once: each waits for the migration before it, then finds
 * nothing to do.
 */
START_TEST(test_create_concurrent)
{
	pid_t pid[4];
	size_t i;
	int status;

	PG_ONLY("SQLite's BEGIN IMMEDIATE serializes migrations");
	inv_close(inv);
	inv = NULL;
	pg_reset();
	for (i = 0; i < N(pid); i++) {
		ck_assert_int_ne(pid[i] = fork(), -1);
		if (pid[i] == 0) {
			struct bootd_error err = { "" };
			struct inv *i2;

			if (inv_open(dbpath, INV_CREATE, &i2, &err) !=
			    BOOTD_OK) {
				fprintf(stderr, "child: %s\n", err.text);
				_exit(1);
			}
			inv_close(i2);
			_exit(0);
		}
	}
	for (i = 0; i < N(pid); i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "an INV_CREATE failed (status %d)", status);
	}
	ck_assert_int_eq(sql_int(VERSION_SQL()), inv_schema_latest());
	ck_assert_int_eq(sql_int("SELECT count(*) FROM env"), 1);
}
END_TEST

/*
 * A lost connection and a write refused by a read-only server make
 * inv_unavailable() say so; the next statement that runs clears it.
 */
START_TEST(test_unavailable)
{
	struct bootd_error err;
	struct inv_boot b;
	struct inv_counts c;
	struct inv *ro;
	char uri[600];

	ck_assert_int_eq(inv_unavailable(NULL), 0);
	ck_assert_int_eq(inv_unavailable(inv), 0);
	PG_ONLY("connections and read-only servers are PostgreSQL's");
	host("web1.example.org", "52:54:00:00:00:01");
	/*
	 * Another session ends inv's and waits until it has ended (OFFSET 0
	 * keeps the filter on pid before the call, not after).
	 */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM (SELECT pid FROM "
	    "pg_stat_activity WHERE datname = current_database() AND "
	    "pid <> pg_backend_pid() AND backend_type = 'client backend' "
	    "OFFSET 0) a WHERE pg_terminate_backend(a.pid, 10000)"), 1);
	ck_assert_int_eq(inv_lookup(inv, "52:54:00:00:00:01", NOW, NULL, 0, &b,
	    &err), BOOTD_EDB);
	assert_clean(&err);
	ck_assert_int_eq(inv_unavailable(inv), 1);
	inv_close(inv);
	OK(inv_open(dbpath, INV_RDWR, &inv, &err_));
	ck_assert_int_eq(inv_unavailable(inv), 0);
	OK(inv_lookup(inv, "52:54:00:00:00:01", NOW, NULL, 0, &b, &err_));
	inv_boot_free(&b);

	/* A server whose every transaction is read-only, as a standby's. */
	snprintf(uri, sizeof(uri), "%s&options=-c%%20default_transaction_"
	    "read_only%%3Don", dbpath);
	OK(inv_open(uri, INV_RDWR, &ro, &err_));
	ck_assert_int_ne(inv_env_add(ro, "x", "", &err), BOOTD_OK);
	assert_clean(&err);
	ck_assert_int_eq(inv_unavailable(ro), 1);
	OK(inv_counts(ro, &c, &err_));
	ck_assert_int_eq(inv_unavailable(ro), 0);
	ck_assert_int_eq(c.envs, 1);
	inv_close(ro);
}
END_TEST

/*
 * A hot standby serves boots: an INV_RDONLY handle on it reads what the
 * primary wrote once replayed, a lookup with distributions too (its read
 * transaction is READ ONLY); a change through an INV_RDWR handle on it is
 * refused as needing the primary, and inv_unavailable() says so.
 */
START_TEST(test_standby)
{
	static const char *const manual[] = { "d1" };
	struct bootd_error err;
	struct inv *sb = NULL;
	struct inv_boot b;
	char tok[INV_TOKEN_LEN + 1];
	int i;

	PG_ONLY("a hot standby is PostgreSQL's");
	if (sburi == NULL) {
		fprintf(stderr, "%s: skipped: no BOOTD_TEST_PG_STANDBY\n",
		    __func__);
		return;
	}
	std_dist("d1");
	host("web1.example.org", "52:54:00:00:00:01");
	OK(inv_set_reinstall(inv, "web1", "d1", NOW, 3600, tok, &err_));
	/* Replay is asynchronous: bounded tries, no assertion on time. */
	for (i = 0; i < 400; i++) {
		if (sb == NULL && inv_open(sburi, INV_RDONLY, &sb, &err) !=
		    BOOTD_OK)
			sb = NULL;
		if (sb != NULL && inv_lookup(sb, "52:54:00:00:00:01", NOW,
		    manual, N(manual), &b, &err) == BOOTD_OK)
			break;
		usleep(50000);
	}
	ck_assert_msg(i < 400, "never replayed: %s", err.text);
	ck_assert_str_eq(b.host->fqdn, "web1.example.org");
	ck_assert_ptr_nonnull(b.dist);
	ck_assert_str_eq(b.dist->name, "d1");
	ck_assert_uint_eq(b.nmanual, 1);
	inv_boot_free(&b);
	ck_assert_int_eq(inv_unavailable(sb), 0);
	inv_close(sb);

	OK(inv_open(sburi, INV_RDWR, &sb, &err_));
	ck_assert_int_eq(inv_env_add(sb, "x", "", &err), BOOTD_EDB);
	assert_clean(&err);
	ck_assert_ptr_nonnull(strstr(err.text, "primary"));
	ck_assert_int_eq(inv_unavailable(sb), 1);
	inv_close(sb);
}
END_TEST

/* Limits --------------------------------------------------------------- */

START_TEST(test_busy)
{
	struct bootd_error err;
	struct inv_counts c;
	struct db *db = own_db(dbpath);

	/*
	 * Another writer holds its lock: SQLite's write lock; on
	 * PostgreSQL a lock on env that refuses the insert's.
	 */
	OK(db_exec(db, pguri != NULL ? "BEGIN; INSERT INTO env (name) "
	    "VALUES ('locker'); LOCK TABLE env IN EXCLUSIVE MODE" :
	    "BEGIN IMMEDIATE; INSERT INTO env (name) VALUES ('locker')",
	    &err_));
	inv_set_busy_timeout(inv, 20);
	ck_assert_msg(inv_env_add(inv, "x", "", &err) == BOOTD_EBUSY, "%s",
	    err.text);
	assert_clean(&err);
	ck_assert_int_eq(inv_unavailable(inv), 0);
	/* Readers go on while the writer holds its lock (WAL). */
	OK(inv_counts(inv, &c, &err_));
	ck_assert_int_eq(c.envs, 1);
	OK(db_commit(db, &err_));
	db_close(db);
	OK(inv_env_add(inv, "x", "", &err_));
	OK(inv_counts(inv, &c, &err_));
	ck_assert_int_eq(c.envs, 3);
}
END_TEST

START_TEST(test_rdonly)
{
	struct inv *ro;
	struct inv_boot b;
	struct bootd_error err;
	char *before, *after;

	host("web1.example.org", "52:54:00:00:00:01");
	inv_close(inv);
	inv = NULL;
	before = dump();
	OK(inv_open(dbpath, INV_RDONLY, &ro, &err_));
	OK(inv_lookup(ro, "52:54:00:00:00:01", NOW, NULL, 0, &b, &err_));
	inv_boot_free(&b);
	ck_assert_int_eq(inv_env_add(ro, "x", "", &err), BOOTD_EPERM);
	ck_assert_int_eq(inv_host_remove(ro, "web1", &err), BOOTD_EPERM);
	inv_close(ro);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
}
END_TEST

/* A created database is group-writable whatever the umask: operators of
 * group bootd write it through the setgid bootctl. */
START_TEST(test_create_mode)
{
	struct inv *db;
	struct stat st;
	char path[300];
	mode_t old;

	SQLITE_ONLY("the mode of a database file");
	snprintf(path, sizeof(path), "%s/mode.db", dir);
	old = umask(077);
	OK(inv_open(path, INV_CREATE, &db, &err_));
	umask(old);
	inv_close(db);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, INV_FILE_MODE);
	/* An existing file keeps its mode. */
	ck_assert_int_eq(chmod(path, 0600), 0);
	OK(inv_open(path, INV_CREATE, &db, &err_));
	inv_close(db);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	rm_db(path);
}
END_TEST

START_TEST(test_missing_file)
{
	struct inv *i2 = NULL;
	struct bootd_error err;
	char p[160];

	SQLITE_ONLY("a missing file (test_open_uri_errors: no server)");
	snprintf(p, sizeof(p), "%s/other.db", dir);
	ck_assert_int_eq(inv_open(p, INV_RDONLY, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_null(i2);
	assert_clean(&err);
	ck_assert_int_eq(inv_open(p, INV_RDWR, &i2, &err), BOOTD_EDB);
	ck_assert_int_eq(access(p, F_OK), -1);
	OK(inv_open(p, INV_CREATE, &i2, &err_));
	inv_close(i2);
	ck_assert_int_eq(access(p, F_OK), 0);
	ck_assert_int_eq(inv_open(NULL, INV_RDONLY, &i2, &err), BOOTD_EINVAL);
	ck_assert_int_eq(inv_open("", INV_RDONLY, &i2, &err), BOOTD_EINVAL);
}
END_TEST

START_TEST(test_long_values)
{
	char fqdn[300], val[300];
	const char *macs[1] = { "52:54:00:00:00:01" };
	struct inv_host *h;
	struct bootd_error err;
	size_t i;

	for (i = 0; i < 253; i++)
		fqdn[i] = (i % 64 == 63) ? '.' : 'a';
	fqdn[253] = '\0';
	OK(inv_host_add(inv, fqdn, macs, 1, NULL, &err_));
	fqdn[253] = 'a';
	fqdn[254] = '\0';
	ck_assert_int_eq(inv_host_add(inv, fqdn, macs, 1, NULL, &err),
	    BOOTD_EINVAL);
	memset(val, 'v', 255);
	val[255] = '\0';
	OK(inv_attr_set(inv, "52:54:00:00:00:01", "k", val, &err_));
	OK(inv_host_get(inv, "52:54:00:00:00:01", &h, &err_));
	ck_assert_str_eq(h->attrs[0].value, val);
	inv_host_free(h);
	/* A host with many NICs. */
	for (i = 2; i < 66; i++) {
		char mac[18];

		snprintf(mac, sizeof(mac), "52:54:00:00:01:%02zx", i);
		OK(inv_nic_add(inv, "52:54:00:00:00:01", mac, &err_));
	}
	OK(inv_host_get(inv, "52:54:00:00:00:01", &h, &err_));
	ck_assert_uint_eq(h->nmacs, 65);
	inv_host_free(h);
}
END_TEST

/* Malformed ------------------------------------------------------------ */

/* A refused change leaves the database as it was, byte for byte. */
START_TEST(test_refused_unchanged)
{
	const char *dup_mac[] = { "52:54:00:00:00:01" };
	const char *twice[] = { "52:54:00:00:00:05", "52-54-00-00-00-05" };
	const char *bad_mac[] = { "52:54:00:00:00:0g" };
	const char *ctl_mac[] = { "52:54:00:00:00:01\n" };
	const char *ok_mac[] = { "52:54:00:00:00:07" };
	char *initrds[] = { "http://b/initrd" };
	char *bad_initrds[] = { "http://b/initrd", "ftp://x/y" };
	struct inv_dist bad_tmpl = { "d9", "http://b/{{nope}}", initrds, 1,
	    "" };
	struct inv_dist bad_cmd = { "d9", "http://b/linux", initrds, 1,
	    "quiet || shell" };
	struct inv_dist no_initrd = { "d9", "http://b/linux", initrds, 0, "" };
	struct inv_dist bad_ird = { "d9", "http://b/linux", bad_initrds, 2,
	    "" };
	struct inv_dist ctl_name = { "d\n9", "http://b/linux", initrds, 1,
	    "" };
	struct {
		enum bootd_err	 want;
		int		 op;
	} cases[] = {
		{ BOOTD_EEXIST, 0 }, { BOOTD_ENOTFOUND, 1 },
		{ BOOTD_EINVAL, 2 }, { BOOTD_EINVAL, 3 }, { BOOTD_EINVAL, 4 },
		{ BOOTD_EINVAL, 5 }, { BOOTD_EINVAL, 6 }, { BOOTD_EINVAL, 7 },
		{ BOOTD_EINVAL, 8 }, { BOOTD_EEXIST, 9 }, { BOOTD_EINVAL, 10 },
		{ BOOTD_EINVAL, 11 }, { BOOTD_EINVAL, 12 },
		{ BOOTD_EINVAL, 13 }, { BOOTD_EINVAL, 14 },
		{ BOOTD_EINVAL, 15 }, { BOOTD_EINVAL, 16 },
		{ BOOTD_EINVAL, 17 }, { BOOTD_ENOTFOUND, 18 },
		{ BOOTD_EINVAL, 19 }, { BOOTD_EINVAL, 20 },
		{ BOOTD_EINVAL, 21 }, { BOOTD_EEXIST, 22 },
		{ BOOTD_EINVAL, 23 }, { BOOTD_EINVAL, 24 },
		{ BOOTD_EINVAL, 25 }, { BOOTD_EINVAL, 26 },
		{ BOOTD_EEXIST, 27 },
	};
	struct bootd_error err;
	enum bootd_err rc;
	char *before, *after, tok[INV_TOKEN_LEN + 1];
	size_t i;

	host("web1.example.org", "52:54:00:00:00:01");
	host("web2.example.org", "52:54:00:00:00:02");
	std_dist("d1");
	OK(inv_env_add(inv, "prod", "ops", &err_));
	OK(inv_host_set_dist(inv, "web1", "d1", &err_));
	OK(inv_host_set_env(inv, "web1", "prod", &err_));
	before = dump();
	for (i = 0; i < N(cases); i++) {
		memset(&err, 0, sizeof(err));
		switch (cases[i].op) {
		case 0:		/* duplicate MAC */
			rc = inv_host_add(inv, "web3.example.org", dup_mac, 1,
			    NULL, &err);
			break;
		case 1:		/* unknown host */
			rc = inv_attr_set(inv, "web9", "k", "v", &err);
			break;
		case 2:		/* install without distribution */
			rc = inv_set_reinstall(inv, "web2", NULL, NOW, 60, tok,
			    &err);
			break;
		case 3:		/* bad FQDN */
			rc = inv_host_add(inv, "a..b", ok_mac, 1, NULL, &err);
			break;
		case 4:		/* control characters in an FQDN */
			rc = inv_host_add(inv, "web\x01.example.org", ok_mac,
			    1, NULL, &err);
			break;
		case 5:		/* control characters in a value */
			rc = inv_attr_set(inv, "web1", "k", "a\nchain x",
			    &err);
			break;
		case 6:		/* "${" in a value */
			rc = inv_attr_set(inv, "web1", "k", "${root}", &err);
			break;
		case 7:		/* bad key */
			rc = inv_attr_set(inv, "web1", "K\x1b", "v", &err);
			break;
		case 8:		/* removing a used distribution */
			rc = inv_dist_remove(inv, "d1", &err);
			break;
		case 9:		/* duplicate host */
			rc = inv_host_add(inv, "WEB1.example.org", ok_mac, 1,
			    NULL, &err);
			break;
		case 10:	/* removing a used environment */
			rc = inv_env_remove(inv, "prod", &err);
			break;
		case 11:	/* the last NIC */
			rc = inv_nic_remove(inv, "52:54:00:00:00:02", &err);
			break;
		case 12:	/* bad MAC */
			rc = inv_host_add(inv, "web3.example.org", bad_mac, 1,
			    NULL, &err);
			break;
		case 13:	/* MAC with a newline */
			rc = inv_host_add(inv, "web3.example.org", ctl_mac, 1,
			    NULL, &err);
			break;
		case 14:	/* no MAC at all */
			rc = inv_host_add(inv, "web3.example.org", NULL, 0,
			    NULL, &err);
			break;
		case 15:	/* the same MAC twice */
			rc = inv_host_add(inv, "web3.example.org", twice, 2,
			    NULL, &err);
			break;
		case 16:	/* bad template */
			rc = inv_dist_add(inv, &bad_tmpl, &err);
			break;
		case 17:	/* command chaining in a command line */
			rc = inv_dist_add(inv, &bad_cmd, &err);
			break;
		case 18:	/* unknown environment */
			rc = inv_host_add(inv, "web3.example.org", ok_mac, 1,
			    "nope", &err);
			break;
		case 19:	/* no initrd */
			rc = inv_dist_add(inv, &no_initrd, &err);
			break;
		case 20:	/* bad second initrd */
			rc = inv_dist_add(inv, &bad_ird, &err);
			break;
		case 21:	/* control character in a name */
			rc = inv_dist_add(inv, &ctl_name, &err);
			break;
		case 22:	/* rename onto an existing host */
			rc = inv_host_rename(inv, "web2", "web1.example.org",
			    &err);
			break;
		case 23:	/* rename to a bad FQDN */
			rc = inv_host_rename(inv, "web2", "we b", &err);
			break;
		case 24:	/* bad group */
			rc = inv_env_add(inv, "lab", "Bad Group", &err);
			break;
		case 25:	/* bad environment name */
			rc = inv_env_add(inv, "-lab", "", &err);
			break;
		case 26:	/* removing the default environment */
			rc = inv_env_remove(inv, "default", &err);
			break;
		case 27:	/* duplicate MAC by nic-add, other spelling */
			rc = inv_nic_add(inv, "web2", "5254.0000.0001", &err);
			break;
		default:
			ck_abort_msg("no case %d", cases[i].op);
			rc = BOOTD_OK;
			break;
		}
		ck_assert_msg(rc == cases[i].want, "case %d: got %s (%s), "
		    "want %s", cases[i].op, bootd_strerror(rc), err.text,
		    bootd_strerror(cases[i].want));
		assert_clean(&err);
		after = dump();
		ck_assert_msg(strcmp(before, after) == 0, "case %d changed "
		    "the database", cases[i].op);
		free(after);
	}
	free(before);
	/* An ambiguous short name changes nothing either. */
	host("web.a.org", "52:54:00:00:00:0a");
	host("web.b.org", "52:54:00:00:00:0b");
	before = dump();
	ck_assert_int_eq(inv_attr_set(inv, "web", "k", "v", &err),
	    BOOTD_EINVAL);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
}
END_TEST

/* The audit row is part of the change: no audit row, no change. */
START_TEST(test_audit_same_transaction)
{
	struct bootd_error err;
	char *before, *after, tok[INV_TOKEN_LEN + 1];

	host("web1.example.org", "52:54:00:00:00:01");
	std_dist("d1");
	refusal("no_audit", "INSERT", "audit", "audit refused");
	before = dump();
	ck_assert_int_ne(inv_attr_set(inv, "web1", "k", "v", &err), BOOTD_OK);
	ck_assert_ptr_nonnull(strstr(err.text, "audit refused"));
	ck_assert_int_ne(inv_nic_add(inv, "web1", "52:54:00:00:00:02", &err),
	    BOOTD_OK);
	ck_assert_int_ne(inv_set_reinstall(inv, "web1", "d1", NOW, 60, tok,
	    &err), BOOTD_OK);
	ck_assert_int_ne(inv_host_remove(inv, "web1", &err), BOOTD_OK);
	ck_assert_int_ne(inv_dist_remove(inv, "d1", &err), BOOTD_OK);
	after = dump();
	ck_assert_str_eq(before, after);
	free(after);
	/* In a group, the rows held back are refused at the commit. */
	OK(inv_begin(inv, &err_));
	OK(inv_set_reinstall(inv, "web1", "d1", NOW, 60, tok, &err_));
	ck_assert_int_ne(inv_commit(inv, &err), BOOTD_OK);
	ck_assert_ptr_nonnull(strstr(err.text, "audit refused"));
	after = dump();
	ck_assert_str_eq(before, after);
	free(after);
	free(before);
	refusal_drop("no_audit", "audit");
	OK(inv_attr_set(inv, "web1", "k", "v", &err_));
}
END_TEST

static int
audit_collect(const struct inv_audit *a, void *arg)
{
	struct buf *b = arg;

	buf_printf(b, "%s %s %s;", a->op, a->object, a->new_value);
	return 0;
}

/*
 * A group holds its audit rows back and writes them AUDIT_BATCH at a
 * time (inv_audit.c): every row is written, in order, seen by a reading
 * of the log inside the group, and none is written when it rolls back.
 */
START_TEST(test_audit_group_rows)
{
	struct buf want = { 0 }, got = { 0 };
	char fqdn[64], mac[32], *before, *after;
	const char *p;
	int i, n = 37;		/* two full batches and some */

	for (i = 0; i < n; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%02d.example.org", i);
		snprintf(mac, sizeof(mac), "52:54:00:00:01:%02x", i);
		host(fqdn, mac);
	}
	before = dump();
	OK(inv_begin(inv, &err_));
	for (i = 0; i < n; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%02d.example.org", i);
		OK(inv_attr_set(inv, fqdn, "k", i % 2 ? "odd" : "even",
		    &err_));
	}
	inv_rollback(inv);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	OK(inv_begin(inv, &err_));
	for (i = 0; i < n; i++) {
		snprintf(fqdn, sizeof(fqdn), "h%02d.example.org", i);
		OK(inv_attr_set(inv, fqdn, "k", i % 2 ? "odd" : "even",
		    &err_));
		buf_printf(&want, "attr-set %s k=%s;", fqdn,
		    i % 2 ? "odd" : "even");
	}
	/* Read inside the group: every row so far. */
	OK(inv_audit_each(inv, NULL, audit_collect, &got, &err_));
	ck_assert_ptr_nonnull(strstr(buf_str(&got), buf_str(&want)));
	OK(inv_set_local(inv, "h00.example.org", &err_));
	OK(inv_attr_set(inv, "h00.example.org", "k", "last", &err_));
	buf_puts(&want, "attr-set h00.example.org k=last;");
	OK(inv_commit(inv, &err_));
	buf_reset(&got);
	OK(inv_audit_each(inv, NULL, audit_collect, &got, &err_));
	/* After the hosts' own rows, these, in this order. */
	ck_assert_ptr_nonnull(strstr(buf_str(&got), buf_str(&want)));
	ck_assert_str_eq(strstr(buf_str(&got), buf_str(&want)),
	    buf_str(&want));
	/* And nothing of the group rolled back. */
	for (i = 0, p = buf_str(&got); (p = strstr(p, "attr-set")) != NULL;
	    p++)
		i++;
	ck_assert_int_eq(i, n + 1);
	buf_free(&want);
	buf_free(&got);
}
END_TEST

START_TEST(test_version_newer)
{
	struct inv *i2 = NULL;
	struct bootd_error err;
	char sql[64], want[160];

	inv_close(inv);
	inv = NULL;
	snprintf(sql, sizeof(sql), pguri != NULL ? "UPDATE schema_version "
	    "SET version = %d" : "PRAGMA user_version = %d",
	    inv_schema_latest() + 1);
	ck_assert_int_eq(sql_exec(dbpath, sql), SQLITE_OK);
	snprintf(want, sizeof(want), "database schema version %d is newer "
	    "than this bootd (%d); upgrade bootd", inv_schema_latest() + 1,
	    inv_schema_latest());
	ck_assert_int_eq(inv_open(dbpath, INV_RDWR, &i2, &err),
	    BOOTD_EVERSION);
	ck_assert_str_eq(err.text, want);
	ck_assert_ptr_null(i2);
	ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err),
	    BOOTD_EVERSION);
	ck_assert_int_eq(inv_open(dbpath, INV_CREATE, &i2, &err),
	    BOOTD_EVERSION);
	ck_assert_int_eq(sql_int(VERSION_SQL()),
	    inv_schema_latest() + 1);
}
END_TEST

START_TEST(test_garbage_file)
{
	struct inv *i2 = NULL;
	struct bootd_error err;
	char junk[8192];
	size_t i;
	int fd;

	SQLITE_ONLY("about files that are no SQLite database");
	inv_close(inv);
	inv = NULL;
	rm_db(dbpath);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	memcpy(junk, "not a database\n", 15);
	ck_assert_int_ne(fd = open(dbpath, O_WRONLY | O_CREAT | O_TRUNC,
	    0600), -1);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (int)sizeof(junk));
	close(fd);
	ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_null(i2);
	assert_clean(&err);
	ck_assert_ptr_nonnull(strstr(err.text, "not"));
	ck_assert_int_eq(inv_open(dbpath, INV_RDWR, &i2, &err), BOOTD_EDB);
	ck_assert_int_eq(inv_open(dbpath, INV_CREATE, &i2, &err), BOOTD_EDB);
	assert_clean(&err);
}
END_TEST

/*
 * For every version k below the latest: build a database at version k by
 * applying migrations 1..k by hand, then inv_open() migrates it.
 */
START_TEST(test_migrate_each_version)
{
	struct inv *i2;
	struct bootd_error err;
	sqlite3 *db;
	char sql[64];
	int k, j, v;

	SQLITE_ONLY("the SQLite migrations (test_migrate_pg has PostgreSQL's)");
	inv_close(inv);
	inv = NULL;
	ck_assert_int_eq(inv_nmigrations, inv_schema_latest());
	for (j = 0; j < inv_nmigrations; j++)
		ck_assert_int_eq(inv_migrations[j].version, j + 1);
	for (k = 0; k < inv_schema_latest(); k++) {
		rm_db(dbpath);
		ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
		for (j = 0; j < k; j++)
			ck_assert_int_eq(sqlite3_exec(db,
			    inv_migrations[j].sql, NULL, NULL, NULL),
			    SQLITE_OK);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", k);
		ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(db);

		/* Read-only refuses an outdated schema and changes nothing. */
		ck_assert_int_eq(inv_open(dbpath, INV_RDONLY, &i2, &err),
		    BOOTD_EDB);
		ck_assert_ptr_nonnull(strstr(err.text, k == 0 ?
		    "has no bootd schema yet" : "older"));
		ck_assert_ptr_nonnull(strstr(err.text, "\"bootctl init\""));
		ck_assert_int_eq(sql_int(VERSION_SQL()), k);

		ck_assert_msg(inv_open(dbpath, INV_RDWR, &i2, &err) ==
		    BOOTD_OK, "from version %d: %s", k, err.text);
		OK(inv_schema_version(i2, &v, &err_));
		ck_assert_int_eq(v, inv_schema_latest());
		inv = i2;
		host("web1.example.org", "52:54:00:00:00:01");
		std_dist("d1");
		OK(inv_set_reinstall(inv, "web1", "d1", NOW, 60, NULL, &err_));
		inv_close(inv);
		inv = NULL;
		ck_assert_int_eq(sql_int("SELECT count(*) FROM env WHERE "
		    "name = 'default'"), 1);
	}
}
END_TEST

/* Read a whole file under the source tree; the caller frees. */
static char *
slurp(const char *rel)
{
	char path[512];
	struct buf b = { 0 };
	char chunk[4096];
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

/* The schema objects of the database at path, as text. */
static char *
schema_of(const char *path)
{
	struct buf b = { 0 };
	sqlite3 *db;
	sqlite3_stmt *s;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, "
	    "sql FROM sqlite_master ORDER BY type, name", -1, &s, NULL),
	    SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		buf_printf(&b, "%s %s %s\n%s\n", sqlite3_column_text(s, 0),
		    sqlite3_column_text(s, 1), sqlite3_column_text(s, 2),
		    sqlite3_column_text(s, 3) ? (const char *)
		    sqlite3_column_text(s, 3) : "");
	sqlite3_finalize(s);
	sqlite3_close(db);
	return b.data;
}

/*
 * tests/data/inv-v1.sql is a populated version-1 database, frozen: its
 * schema is what migration 1 makes, and opening it read-write keeps every
 * row reachable through the API whatever migrations follow.
 */
START_TEST(test_migrate_v1_fixture)
{
	char *sql, *want, *got, other[160];
	struct inv_host *h;
	struct inv_boot b;
	struct audit_seen as = { 0, "" };
	struct inv_counts c;
	sqlite3 *db;

	SQLITE_ONLY("a version 1 inventory is an SQLite file");
	inv_close(inv);
	inv = NULL;
	rm_db(dbpath);
	sql = slurp("tests/data/inv-v1.sql");
	ck_assert_int_eq(sql_exec(dbpath, sql), SQLITE_OK);
	free(sql);
	ck_assert_int_eq(sql_int(VERSION_SQL()), 1);

	/* Migration 1 still makes exactly the frozen schema. */
	snprintf(other, sizeof(other), "%s/other.db", dir);
	ck_assert_int_eq(sqlite3_open(other, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, inv_migrations[0].sql, NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	want = schema_of(dbpath);
	got = schema_of(other);
	ck_assert_ptr_nonnull(strstr(want, "CREATE TABLE nic"));
	ck_assert_str_eq(got, want);
	free(want);
	free(got);

	OK(inv_open(dbpath, INV_RDWR, &inv, &err_));
	ck_assert_int_eq(sql_int(VERSION_SQL()), inv_schema_latest());
	OK(inv_host_get(inv, "web1", &h, &err_));
	ck_assert_str_eq(h->fqdn, "web1.example.org");
	ck_assert_str_eq(h->env, "prod");
	ck_assert_int_eq(h->action, INV_ACTION_INSTALL);
	ck_assert_uint_eq(h->nmacs, 2);
	ck_assert_str_eq(h->attrs[0].key, "role");
	inv_host_free(h);
	OK(inv_lookup(inv, "52-54-00-00-00-11", NOW, NULL, 0, &b, &err_));
	ck_assert_str_eq(b.host->token, "0123456789abcdef0123456789abcdef");
	ck_assert_ptr_nonnull(b.dist);
	ck_assert_uint_eq(b.dist->ninitrds, 2);
	ck_assert_str_eq(b.dist->initrds[1],
	    "http://boot.example.org/images/firmware.cpio.gz");
	inv_boot_free(&b);
	OK(inv_audit_each(inv, NULL, audit_cb, &as, &err_));
	ck_assert_int_ge(as.n, 2);
	OK(inv_counts(inv, &c, &err_));
	ck_assert_int_eq(c.hosts, 2);
	ck_assert_int_eq(c.nics, 3);
	ck_assert_int_eq(c.installing, 1);
	/* Boot events left the inventory (they move to the events file:
	 * test_events); what version 1 recorded waits in legacy_* tables. */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('boot_event', 'discovered')"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM legacy_boot_event"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM legacy_discovered"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM legacy_seen"), 2);
	/* The revoked token stays refused, the live one works once. */
	ck_assert_int_eq(inv_install_done(inv,
	    "00000000000000000000000000000001", NULL, 0, NOW, NULL, NULL),
	    BOOTD_EEXPIRED);
	OK(inv_install_done(inv, "0123456789abcdef0123456789abcdef", NULL, 0,
	    NOW, NULL, &err_));
	ck_assert_int_eq(inv_install_done(inv,
	    "0123456789abcdef0123456789abcdef", NULL, 0, NOW, NULL, NULL),
	    BOOTD_EEXPIRED);
}
END_TEST

/* A failing migration leaves the database at its old version. */
START_TEST(test_migrate_failure_rolls_back)
{
	struct inv *i2;
	struct bootd_error err;

	inv_close(inv);
	inv = NULL;
	if (pguri != NULL)
		pg_reset();
	else
		rm_db(dbpath);
	if (pguri != NULL) {
		/* Version 0 but a table in the way of the first migration. */
		ck_assert_int_eq(sql_exec(dbpath, "CREATE TABLE host "
		    "(x integer); CREATE TABLE keepme (y integer)"), 0);
	} else {
		/*
		 * An inventory of version 1 (a file with tables of another
		 * schema is refused before any migration:
		 * test_open_not_an_inventory) with a column in the way of
		 * the second migration.
		 */
		ck_assert_int_eq(sql_exec(dbpath, inv_migrations[0].sql), 0);
		ck_assert_int_eq(sql_exec(dbpath, "PRAGMA user_version = 1; "
		    "ALTER TABLE token ADD COLUMN fetched_from TEXT; "
		    "CREATE TABLE keepme (y integer)"), 0);
	}
	/* (PostgreSQL: only INV_CREATE makes a schema where none is.) */
	ck_assert_int_eq(inv_open(dbpath, pguri != NULL ? INV_CREATE :
	    INV_RDWR, &i2, &err), BOOTD_EDB);
	ck_assert_ptr_nonnull(strstr(err.text, "migration"));
	assert_clean(&err);
	ck_assert_int_eq(sql_int(TABLE_COUNT("schema_version")),
	    pguri != NULL ? 0 : 1);
	if (pguri == NULL) {
		ck_assert_int_eq(sql_int(VERSION_SQL()), 1);
		ck_assert_int_eq(sql_int("SELECT count(*) FROM "
		    "pragma_table_info('token') WHERE name = 'fetched_at'"), 0);
	} else
		ck_assert_int_eq(sql_int(TABLE_COUNT("env")), 0);
	ck_assert_int_eq(sql_int(TABLE_COUNT("keepme")), 1);
}
END_TEST

/* The constraints live in the schema: raw SQL cannot break them. */
START_TEST(test_schema_constraints)
{
	static const char *const bad[] = {
		"INSERT INTO nic (mac, host) VALUES ('52:54:00:AB:CD:EF', 1)",
		"INSERT INTO nic (mac, host) VALUES ('52-54-00-ab-cd-ef', 1)",
		"INSERT INTO nic (mac, host) VALUES ('525400abcdef', 1)",
		"INSERT INTO nic (mac, host) VALUES ('52:54:00:ab:cd:ef ', 1)",
		"INSERT INTO nic (mac, host) VALUES ('52:54:00:ab:cd:ef', 99)",
		"UPDATE host SET action = 'install' WHERE id = 1",
		"UPDATE host SET action = 'reboot' WHERE id = 1",
		"INSERT INTO host (fqdn) VALUES ('UPPER.example.org')",
		"INSERT INTO host (fqdn) VALUES ('web1.example.org')",
		"INSERT INTO host (fqdn, env) VALUES ('x.org', 'noenv')",
		"UPDATE host SET dist = 'nodist' WHERE id = 1",
		"DELETE FROM dist WHERE name = 'd1'",
		"DELETE FROM env WHERE name = 'default'",
		"INSERT INTO host_attr VALUES (1, 'k', 'a b')",
		"INSERT INTO host_attr VALUES (1, 'k', '${x}')",
		"INSERT INTO host_attr VALUES (1, 'K', 'v')",
		("INSERT INTO token (token, host, created, expires) VALUES "
		    "('XYZ', 1, 0, 1)"),
		"UPDATE token SET fetched_from = '10.0.0.1'",
		"UPDATE token SET fetched_from = '10.0.0.1;x', fetched_at = 1",
		"UPDATE token SET fetched_from = 'host', fetched_at = 1",
		"UPDATE token SET fetched_at = 1",
	};
	struct inv_host *h;
	struct bootd_error err;
	char *before, *after;
	struct db *db;
	size_t i;

	host("web1.example.org", "52:54:00:00:00:01");
	host("web2.example.org", "52:54:00:00:00:02");
	std_dist("d1");
	OK(inv_host_set_dist(inv, "web2", "d1", &err_));
	OK(inv_set_reinstall(inv, "web2", "d1", NOW, 60, NULL, &err_));
	before = dump();
	/* db_open() turns SQLite's foreign keys on. */
	db = own_db(dbpath);
	for (i = 0; i < N(bad); i++) {
		ck_assert_int_ne(db_exec(db, bad[i], &err), BOOTD_OK);
		ck_assert_msg(db_errclass(db) == DB_ERR_CONSTRAINT, "not "
		    "refused by a constraint: %s (%s)", bad[i], err.text);
	}
	/* A second unused token for a host: the partial unique index. */
	ck_assert_int_eq(db_exec(db, "INSERT INTO token (token, host, "
	    "created, expires) VALUES ('0123456789abcdef0123456789abcdef', "
	    "2, 0, 1)", &err), BOOTD_EEXIST);
	/* Clearing the dist of an installing host. */
	ck_assert_int_ne(db_exec(db, "UPDATE host SET dist = NULL WHERE "
	    "id = 2", &err), BOOTD_OK);
	ck_assert_int_eq(db_errclass(db), DB_ERR_CONSTRAINT);
	db_close(db);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* And removing a host cascades to its NICs. */
	OK(inv_host_remove(inv, "web2", &err_));
	ck_assert_int_eq(sql_int("SELECT count(*) FROM nic WHERE host = 2"),
	    0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM token"), 0);
	ck_assert_int_eq(inv_host_get(inv, "web2", &h, NULL),
	    BOOTD_ENOTFOUND);
}
END_TEST

static Suite *
inv_suite(void)
{
	Suite *s = suite_create("inv");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_open_create);
	tcase_add_test(tc, test_fk_on_reopen);
	tcase_add_test(tc, test_cache_mib);
	if (pguri == NULL)
		tcase_add_test(tc, test_open_not_an_inventory);
	tcase_add_test(tc, test_open_uri_errors);
	tcase_add_test(tc, test_statements_prepare);
	tcase_add_test(tc, test_host_add_get);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_host_changes_audited);
	tcase_add_test(tc, test_nics);
	tcase_add_test(tc, test_attrs);
	tcase_add_test(tc, test_attr_unset_used_by_dist);
	tcase_add_test(tc, test_envs);
	tcase_add_test(tc, test_dists);
	tcase_add_test(tc, test_dist_installing);
	tcase_add_test(tc, test_tokens_from_fetched_bytes);
	tcase_add_test(tc, test_token_lifecycle);
	tcase_add_test(tc, test_token_fetch_address);
	tcase_add_test(tc, test_authorizer_in_transaction);
	tcase_add_test(tc, test_host_add_dist_atomic);
	tcase_add_test(tc, test_grouped_transaction);
	tcase_add_test(tc, test_read_group);
	tcase_add_test(tc, test_group_dist_changed);
	tcase_add_test(tc, test_group_install_held);
	tcase_add_test(tc, test_set_reinstall_host);
	tcase_add_test(tc, test_group_dist_checked_at_commit);
	tcase_add_test(tc, test_mark);
	tcase_add_test(tc, test_audit_group_rows);
	tcase_add_test(tc, test_reinstall_needs_attrs);
	tcase_add_test(tc, test_reinstall_without_dist);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_lookup_install);
	tcase_add_test(tc, test_lookup_repeated_statements);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_each_sorted);
	tcase_add_test(tc, test_host_list);
	tcase_add_test(tc, test_sort_bytes);
	tcase_add_test(tc, test_audit_object_filter);
	tcase_add_test(tc, test_audit_follows_rename);
	tcase_add_test(tc, test_audit_name_reused);
	tcase_add_test(tc, test_set_local_when_local);
	tcase_add_test(tc, test_env_set_group);
	tcase_add_test(tc, test_host_import);
	tcase_add_test(tc, test_discovered_forget);
	tcase_add_test(tc, test_stale);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_write_conflict);
	tcase_add_test(tc, test_group_analyze_pg);
	tcase_add_test(tc, test_unavailable);
	tcase_add_test(tc, test_standby);
	tcase_add_test(tc, test_rdonly);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_create_mode);
	tcase_add_test(tc, test_long_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_refused_unchanged);
	tcase_add_test(tc, test_audit_same_transaction);
	tcase_add_test(tc, test_version_newer);
	tcase_add_test(tc, test_garbage_file);
	tcase_add_test(tc, test_migrate_each_version);
	tcase_add_test(tc, test_migrate_v1_fixture);
	tcase_add_test(tc, test_migrate_failure_rolls_back);
	tcase_add_test(tc, test_migrate_pg);
	tcase_add_test(tc, test_create_concurrent);
	tcase_add_test(tc, test_schema_constraints);
	suite_add_tcase(s, tc);
	return s;
}

/* uri with "dbname=bootd_test_icu" added, into u of size bytes. */
static void
icu_uri(const char *uri, char *u, size_t size)
{
	/* A later dbname parameter overrides the URI's path. */
	snprintf(u, size, "%s%sdbname=bootd_test_icu", uri,
	    strchr(uri, '?') != NULL ? "&" : "?");
}

/*
 * Make the tests' own database in the server of BOOTD_TEST_PG, with a
 * language's collation by default (ICU en-US: "web-2" sorts before
 * "web1"), and return its URI: what bootd sorts must not depend on it.
 */
static const char *
use_icu_db(const char *uri)
{
	static char u[512];
	struct bootd_error err = { "" };
	struct db *db;

	if (db_open(uri, DB_RDWR, &db, &err) != BOOTD_OK ||
	    db_exec(db, "DROP DATABASE IF EXISTS bootd_test_icu", &err) !=
	    BOOTD_OK || db_exec(db, "CREATE DATABASE bootd_test_icu "
	    "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
	    "LOCALE 'C'", &err) != BOOTD_OK) {
		fprintf(stderr, "test_inv: %s\n", err.text);
		exit(EXIT_FAILURE);
	}
	db_close(db);
	icu_uri(uri, u, sizeof(u));
	return u;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if ((pguri = getenv("BOOTD_TEST_PG")) != NULL && *pguri == '\0')
		pguri = NULL;
	if (pguri == NULL)
		printf("BOOTD_TEST_PG not set: SQLite only\n");
	else
		pguri = use_icu_db(pguri);
	if (pguri != NULL && (sburi = getenv("BOOTD_TEST_PG_STANDBY")) !=
	    NULL && *sburi != '\0') {
		static char u[512];

		icu_uri(sburi, u, sizeof(u));
		sburi = u;
	} else
		sburi = NULL;

	sr = srunner_create(inv_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
