/*
 * test_inv_limits.c - an inventory under contention and at its limits:
 * a busy database, two writers at once, statistics after a large group
 * (PostgreSQL), a lost connection, a hot standby, read-only handles, a
 * missing file, the mode of a new file, long values.
 * One of the test_inv_*.c programs: fixture and helpers in inv_fixture.c.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "db.h"
#include "inv.h"
#include "inv_fixture.h"

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

static Suite *
inv_limits_suite(void)
{
	Suite *s = suite_create("inv");
	TCase *tc;

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
	return s;
}

int
main(void)
{
	return inv_test_main(inv_limits_suite);
}
