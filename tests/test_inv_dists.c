/*
 * test_inv_dists.c - environments and distributions: adding, changing
 * and removing them, the attributes a distribution uses, the hosts
 * installing one; a host's action: set-reinstall (its attributes and
 * distribution checked) and set-local.
 * One of the test_inv_*.c programs: fixture and helpers in inv_fixture.c.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"
#include "inv.h"
#include "inv_fixture.h"

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

static Suite *
inv_dists_suite(void)
{
	Suite *s = suite_create("inv");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_attr_unset_used_by_dist);
	tcase_add_test(tc, test_envs);
	tcase_add_test(tc, test_dists);
	tcase_add_test(tc, test_dist_installing);
	tcase_add_test(tc, test_reinstall_needs_attrs);
	tcase_add_test(tc, test_reinstall_without_dist);
	tcase_add_test(tc, test_set_local_when_local);
	tcase_add_test(tc, test_env_set_group);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return inv_test_main(inv_dists_suite);
}
