/*
 * test_inv_audit.c - the audit log: filtered by object, following
 * renames, a name passed from host to host, an ambiguous short name
 * refused, written in the change's own transaction, and held back by a
 * group and written in batches.
 * One of the test_inv_*.c programs: fixture and helpers in inv_fixture.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"
#include "inv.h"
#include "inv_fixture.h"

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

/*
 * Only a name that is no host falls back to the FQDN it spells (a host
 * that is gone); an ambiguous short name is refused as by every other
 * function that takes a host, not read as the dotless FQDN "db1".
 */
START_TEST(test_audit_ambiguous_name)
{
	struct bootd_error e = { "" }, r = { "" };
	struct buf b = { 0 };
	char *s = NULL;

	host("db1", "52:54:00:00:00:01");
	OK(inv_host_remove(inv, "db1", &err_));
	host("db1.example.org", "52:54:00:00:00:02");
	host("db1.lab.example.org", "52:54:00:00:00:03");
	ck_assert_int_eq(inv_audit_each(inv, "db1", ops_cb, &b, &e),
	    BOOTD_EINVAL);
	ck_assert_str_eq(e.text, "host name \"db1\" is ambiguous: "
	    "db1.example.org, db1.lab.example.org");
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_int_eq(inv_audit_each(inv, "db1", ops_cb, &b, NULL),
	    BOOTD_EINVAL);
	/* The error is the one inv_host_resolve() gives. */
	ck_assert_int_eq(inv_host_resolve(inv, "db1", &s, &r), BOOTD_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(r.text, e.text);

	/* The gone host by its whole FQDN; the others by theirs. */
	s = audit_ops("db1.");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:01,host-remove -");
	free(s);
	s = audit_ops("DB1.Example.ORG");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:02");
	free(s);
	s = audit_ops("52-54-00-00-00-03");
	ck_assert_str_eq(s, "host-add env=default action=local dist=- "
	    "macs=52:54:00:00:00:03");
	free(s);

	/* A name that is no host is no error, and leaves err empty. */
	OK(inv_audit_each(inv, "nosuch.example.org", ops_cb, &b, &e));
	ck_assert_str_eq(e.text, "");
	ck_assert_str_eq(buf_str(&b), "");
	buf_free(&b);
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

static Suite *
inv_audit_suite(void)
{
	Suite *s = suite_create("inv");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_audit_group_rows);
	tcase_add_test(tc, test_audit_object_filter);
	tcase_add_test(tc, test_audit_follows_rename);
	tcase_add_test(tc, test_audit_name_reused);
	tcase_add_test(tc, test_audit_ambiguous_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_audit_same_transaction);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return inv_test_main(inv_audit_suite);
}
