/*
 * test_dbdir.c - the database directory check and the files beside a
 * database (dbdir.h), on real directories under a fresh temporary one
 *
 * mkdtemp() makes a directory only its owner may use, in /tmp (sticky and
 * root's): the layout every case starts from is TOP/state/db, 0755 and
 * 0750 (not 0770: run as root, a directory of root's that its group may
 * write is refused).  Ownership cases need root and are in
 * tests/integration/test_privileges.py.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check_util.h"
#include "dbdir.h"

static char	top[64], state[128], dir[192], db[256];

static void
touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0660);

	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void
setup(void)
{
	snprintf(top, sizeof(top), "/tmp/test_dbdir.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(state, sizeof(state), "%s/state", top);
	snprintf(dir, sizeof(dir), "%s/db", state);
	snprintf(db, sizeof(db), "%s/bootd.db", dir);
	ck_assert_int_eq(mkdir(state, 0755), 0);
	ck_assert_int_eq(chmod(state, 0755), 0);
	ck_assert_int_eq(mkdir(dir, 0750), 0);
	ck_assert_int_eq(chmod(dir, 0750), 0);
}

static void
teardown(void)
{
	rm_db(db);
	rmdir(dir);
	rmdir(state);
	rmdir(top);
}

START_TEST(test_layout_ok)
{
	struct bootd_error e = { "" };
	struct dbdir d;

	ck_assert_int_eq(dbdir_check(db, &d, &e), BOOTD_OK);
	ck_assert_uint_eq(d.uid, geteuid());
	ck_assert_str_eq(e.text, "");
	/* The database file itself need not exist yet. */
	ck_assert_int_eq(access(db, F_OK), -1);
}
END_TEST

START_TEST(test_open_to_others)
{
	struct bootd_error e;

	ck_assert_int_eq(chmod(dir, 0771), 0);
	ck_assert_int_eq(dbdir_check(db, NULL, &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, dir));
	ck_assert_ptr_nonnull(strstr(e.text, "open to others (mode 0771)"));
	ck_assert_ptr_null(strchr(e.text, '\n'));
}
END_TEST

START_TEST(test_parent_writable)
{
	struct bootd_error e;

	ck_assert_int_eq(chmod(state, 0757), 0);
	ck_assert_int_eq(dbdir_check(db, NULL, &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, state));
	ck_assert_ptr_nonnull(strstr(e.text, "written by anyone (mode 0757)"));
	ck_assert_int_eq(chmod(state, 0775), 0);
	ck_assert_int_eq(dbdir_check(db, NULL, &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, "written by its group"));
}
END_TEST

START_TEST(test_missing)
{
	struct bootd_error e;

	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(dbdir_check(db, NULL, &e), BOOTD_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(e.text, "does not exist"));
}
END_TEST

START_TEST(test_not_a_directory)
{
	struct bootd_error e;
	char p[300];

	/* "db" a file, not a directory: db/bootd.db cannot be. */
	touch(db);
	snprintf(p, sizeof(p), "%s/bootd.db", db);
	ck_assert_int_eq(dbdir_check(p, NULL, &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, "is not a directory"));
	ck_assert_int_eq(dbdir_check("", NULL, &e), BOOTD_EINVAL);
}
END_TEST

/* A database file whose header says file format version v (18, 19). */
static void
header(const char *path, unsigned char v)
{
	unsigned char h[100] = "SQLite format 3";
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0660);

	ck_assert_int_ge(fd, 0);
	h[18] = h[19] = v;
	ck_assert_int_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
}

START_TEST(test_files)
{
	struct bootd_error e;
	char wal[300], shm[300];

	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(shm, sizeof(shm), "%s-shm", db);
	ck_assert_int_eq(dbdir_check_files(db, geteuid(), &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, "bootd.db\" does not exist"));
	header(db, 1);		/* rollback mode */
	touch(wal);
	ck_assert_int_eq(dbdir_check_files(db, geteuid(), &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, "bootd.db\" is not in WAL mode"));
	ck_assert_int_eq(unlink(db), 0);
	header(db, 2);		/* WAL mode */
	ck_assert_int_eq(dbdir_check_files(db, geteuid(), &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, "bootd.db-shm\" does not exist: "
	    "run bootctl as root"));
	ck_assert_int_eq(symlink(wal, shm), 0);
	ck_assert_int_eq(dbdir_check_files(db, geteuid(), &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, "bootd.db-shm\" is not a plain "
	    "file with a single name"));
	ck_assert_int_eq(unlink(shm), 0);
	ck_assert_int_eq(link(wal, shm), 0);
	ck_assert_int_eq(dbdir_check_files(db, geteuid(), &e), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, "bootd.db-wal\" is not a plain"));
	ck_assert_int_eq(unlink(shm), 0);
	touch(shm);
	ck_assert_int_eq(dbdir_check_files(db, geteuid(), &e), BOOTD_OK);
	ck_assert_int_eq(dbdir_check_files(db, geteuid() + 1, &e),
	    BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(e.text, "not to the service user"));
}
END_TEST

static Suite *
dbdir_suite(void)
{
	Suite *s = suite_create("dbdir");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_layout_ok);
	tcase_add_test(tc, test_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_to_others);
	tcase_add_test(tc, test_parent_writable);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_not_a_directory);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(dbdir_suite());
}
