/*
 * test_inv_hosts.c - hosts: adding, reading and resolving them by name
 * or MAC, their NICs and attributes (each change audited), the boot
 * lookup, counts and listings (sorted by bytes on both engines), an
 * import, and adopting or forgetting a discovered MAC.
 * One of the test_inv_*.c programs: fixture and helpers in inv_fixture.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "buf.h"
#include "db.h"
#include "inv.h"
#include "inv_fixture.h"

/*
 * Every db_step() counted: this program is linked with
 * -Wl,--wrap=db_step (tests/CMakeLists.txt), so the library's calls come
 * here.  What a call costs is the difference of steps around it.
 */
enum bootd_err	__real_db_step(struct db_stmt *, int *, struct bootd_error *);
enum bootd_err	__wrap_db_step(struct db_stmt *, int *, struct bootd_error *);

static long steps;

enum bootd_err
__wrap_db_step(struct db_stmt *st, int *row, struct bootd_error *err)
{
	steps++;
	return __real_db_step(st, row, err);
}

/* The db_step() calls of inv_set_local(host), its code into *rc. */
static long
set_local_steps(const char *host, enum bootd_err *rc,
    struct bootd_error *err)
{
	long before = steps;

	*rc = inv_set_local(inv, host, err);
	return steps - before;
}

/*
 * name resolves to the host fqdn; inv_host_get(), which reads an FQDN
 * with its host, finds the same one.
 */
static void
resolves_to(const char *name, const char *fqdn)
{
	struct inv_host *h;
	char *got;

	OK(inv_host_resolve(inv, name, &got, &err_));
	ck_assert_str_eq(got, fqdn);
	free(got);
	OK(inv_host_get(inv, name, &h, &err_));
	ck_assert_str_eq(h->fqdn, fqdn);
	inv_host_free(h);
}

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
	for (i = 0; i < N(names); i++)
		resolves_to(names[i], want[i]);
	/*
	 * And fails as resolving does, with the same reason: no such host,
	 * an empty name, an ambiguous short name; so does a change by name.
	 */
	{
		const char *bad[] = { "db1.", "web2..", "web1.a", "nope",
		    "5254.0000.0099", "xyz.a.org.x", "", "web1" };
		const enum bootd_err why[] = { BOOTD_ENOTFOUND,
		    BOOTD_ENOTFOUND, BOOTD_ENOTFOUND, BOOTD_ENOTFOUND,
		    BOOTD_ENOTFOUND, BOOTD_ENOTFOUND, BOOTD_EINVAL,
		    BOOTD_EINVAL };
		struct bootd_error e2;

		for (i = 0; i < N(bad); i++) {
			ck_assert_int_eq(inv_host_resolve(inv, bad[i], &fqdn,
			    &err), why[i]);
			ck_assert_int_eq(inv_host_get(inv, bad[i], &h, &e2),
			    why[i]);
			ck_assert_ptr_null(h);
			ck_assert_str_eq(e2.text, err.text);
			ck_assert_int_eq(inv_set_local(inv, bad[i], &e2),
			    why[i]);
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

START_TEST(test_resolve_for_change_steps)
{
	struct bootd_error err;
	enum bootd_err rc;
	long fqdn, mac;

	host("web1.a.org", "52:54:00:00:00:01");
	host("web2", "52:54:00:00:00:02");
	/*
	 * A name no host has costs one lookup by FQDN (it cost two: one with
	 * the host's environment, then resolve()'s), and a dotted MAC one
	 * by FQDN and one by MAC.  Codes and texts are resolving's.
	 */
	ck_assert_int_eq(set_local_steps("nope.a.org", &rc, &err), 1);
	ck_assert_int_eq(rc, BOOTD_ENOTFOUND);
	ck_assert_str_eq(err.text, "no host \"nope.a.org\" (by FQDN, MAC or "
	    "short name)");
	ck_assert_int_eq(set_local_steps("nope.", &rc, &err), 1);
	ck_assert_int_eq(rc, BOOTD_ENOTFOUND);
	ck_assert_str_eq(err.text, "no host with the FQDN \"nope\"");
	ck_assert_int_eq(set_local_steps("5254.0000.0099", &rc, &err), 2);
	ck_assert_int_eq(rc, BOOTD_ENOTFOUND);
	/*
	 * A host found costs as much by FQDN with or without the final dot
	 * (with it, the dot was kept in a first lookup that could never
	 * match), and by a dotless FQDN's exact name ("web2.", as bootctl
	 * names such a host in every change).  A dotted MAC costs one
	 * lookup by FQDN more than the MAC in colons.
	 */
	fqdn = set_local_steps("web1.a.org", &rc, &err);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_int_eq(set_local_steps("WEB1.A.ORG.", &rc, &err), fqdn);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_int_eq(set_local_steps("web2.", &rc, &err), fqdn);
	ck_assert_int_eq(rc, BOOTD_OK);
	mac = set_local_steps("52:54:00:00:00:01", &rc, &err);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_int_eq(set_local_steps("5254.0000.0001", &rc, &err),
	    mac + 1);
	ck_assert_int_eq(rc, BOOTD_OK);
}
END_TEST

START_TEST(test_whole_fqdn)
{
	const char *names[] = { "WEB1.A.ORG.", "db1." };
	const char *want[] = { "web1.a.org", "db1" };
	char x[INV_EXACT_NAME_MAX], a[512], b[512];
	struct bootd_error err;
	size_t i;
	int n;

	/*
	 * A name ending in a dot is that FQDN, as in DNS, wherever a host
	 * is named: db1. is the dotless host, which plain db1 cannot name
	 * beside db1.a.org.
	 */
	host("web1.a.org", "52:54:00:00:00:01");
	host("db1", "52:54:00:00:00:02");
	host("db1.a.org", "52:54:00:00:00:03");
	std_dist("debian-12");
	for (i = 0; i < N(names); i++) {
		resolves_to(names[i], want[i]);
		OK(inv_attr_set(inv, names[i], "k", "v", &err_));
		OK(inv_attr_unset(inv, names[i], "k", &err_));
		OK(inv_host_set_dist(inv, names[i], "debian-12", &err_));
		OK(inv_host_set_env(inv, names[i], "default", &err_));
		OK(inv_nic_add(inv, names[i], i == 0 ? "52:54:00:00:00:11" :
		    "52:54:00:00:00:12", &err_));
		OK(inv_set_reinstall(inv, names[i], NULL, NOW, 60, NULL,
		    &err_));
		OK(inv_set_local(inv, names[i], &err_));
		/* By its FQDN, whole: plain "db1" is ambiguous here. */
		last_audit(inv_exact_name(want[i], x), a, sizeof(a));
		ck_assert_ptr_nonnull(strstr(a, "|set-local|"));
	}
	ck_assert_int_eq(inv_host_remove(inv, "nope.a.org.", &err),
	    BOOTD_ENOTFOUND);
	ck_assert_str_eq(err.text, "no host with the FQDN \"nope.a.org\"");

	/*
	 * The FQDN a name spells: lowercased, without the final dot, when
	 * it is a valid FQDN, dotted or whole; else the name as given.
	 */
	ck_assert_str_eq(inv_name_fqdn("Web1.A.Org.", x), "web1.a.org");
	ck_assert_str_eq(inv_name_fqdn("Web1.A.Org", x), "web1.a.org");
	ck_assert_str_eq(inv_name_fqdn("DB1.", x), "db1");
	{
		const char *same[] = { "DB1", "web2..", "5254.0000.0001",
		    "bad_name.a.org." };

		for (i = 0; i < N(same); i++)
			ck_assert_ptr_eq(inv_name_fqdn(same[i], x), same[i]);
		ck_assert_ptr_null(inv_name_fqdn(NULL, x));
	}

	/*
	 * A host that is gone is found in the audit log by that FQDN too,
	 * all its rows; plain db1 now names db1.a.org.
	 */
	OK(inv_host_remove(inv, "web1.a.org.", &err_));
	OK(inv_host_remove(inv, "db1.", &err_));
	for (i = 0; i < N(names); i++) {
		n = last_audit(names[i], a, sizeof(a));
		ck_assert_int_gt(n, 1);
		snprintf(b, sizeof(b), "|host-remove|%s|", want[i]);
		ck_assert_ptr_nonnull(strstr(a, b));
	}
	ck_assert_int_eq(last_audit("web1.a.org", b, sizeof(b)),
	    last_audit("WEB1.A.ORG.", a, sizeof(a)));
	ck_assert_int_eq(last_audit("db1", a, sizeof(a)), 1);
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

static Suite *
inv_hosts_suite(void)
{
	Suite *s = suite_create("inv");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_host_add_get);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_resolve_for_change_steps);
	tcase_add_test(tc, test_whole_fqdn);
	tcase_add_test(tc, test_host_changes_audited);
	tcase_add_test(tc, test_nics);
	tcase_add_test(tc, test_attrs);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_lookup_install);
	tcase_add_test(tc, test_lookup_repeated_statements);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_each_sorted);
	tcase_add_test(tc, test_host_list);
	tcase_add_test(tc, test_sort_bytes);
	tcase_add_test(tc, test_host_import);
	tcase_add_test(tc, test_discovered_forget);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return inv_test_main(inv_hosts_suite);
}
