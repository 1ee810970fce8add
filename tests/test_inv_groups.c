/*
 * test_inv_groups.c - changes in transactions: the authorizer judging
 * inside the write transaction, groups of changes and of reads
 * (inv_begin(), inv_commit()), set-reinstalls in a group (their
 * distribution loaded once, hosts written in batches, checks at commit),
 * inv_set_reinstall_host(), inv_set_local_host(), inv_mark(), and refused
 * changes leaving the database as it was.
 * One of the test_inv_*.c programs: fixture and helpers in inv_fixture.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <sqlite3.h>	/* SQLITE_OK: sql_exec() */

#include "db.h"
#include "inv.h"
#include "inv_fixture.h"

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
 * change (inv_set_reinstall_host(), inv_set_local_host()) of h, a host
 * read before it moved to environment b: refused by the authorizer, asked
 * once, and nothing changes.
 */
static void
refused_after_move(struct inv_host *h, enum bootd_err (*change)(struct inv *,
    const struct inv_host *, struct bootd_error *))
{
	struct bootd_error err;
	char *before, *after;
	int calls = 0;

	inv_set_authorizer(inv, only_env_a, &calls);
	before = dump();
	ck_assert_int_eq(change(inv, h, &err), BOOTD_EPERM);
	ck_assert_ptr_nonnull(strstr(err.text, "environment b"));
	ck_assert_int_eq(calls, 1);
	after = dump();
	ck_assert_str_eq(before, after);
	inv_set_authorizer(inv, NULL, NULL);
	free(before);
	free(after);
}

/* inv_set_reinstall_host() of h with distribution d1, for a minute. */
static enum bootd_err
reinstall_d1(struct inv *i, const struct inv_host *h, struct bootd_error *err)
{
	return inv_set_reinstall_host(i, h, "d1", NOW, 60, NULL, err);
}

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
	refused_after_move(h, reinstall_d1);
	inv_host_free(h);
	inv_host_free(ha);
	inv_host_free(hb);
}
END_TEST

/*
 * inv_set_local_host(): the host as the caller read it, found by its row
 * while the row still has its FQDN, else by that FQDN; judged by the
 * authorizer and changed as inv_set_local() changes it.
 */
START_TEST(test_set_local_host)
{
	char a[512];
	struct inv_host *h, *ha, *hb;
	struct bootd_error err, e2;
	char *before, *after;
	int64_t now = (int64_t)time(NULL);

	OK(inv_env_add(inv, "a", "ga", &err_));
	OK(inv_env_add(inv, "b", "gb", &err_));
	std_dist("d1");
	host("a.example.org", "52:54:00:00:00:01");
	host("b.example.org", "52:54:00:00:00:02");
	host("e.example.org", "52:54:00:00:00:05");
	OK(inv_set_reinstall(inv, "a", "d1", now, 3600, NULL, &err_));
	OK(inv_set_reinstall(inv, "b", "d1", now, 3600, NULL, &err_));
	OK(inv_set_reinstall(inv, "e", "d1", now, 3600, NULL, &err_));
	OK(inv_host_get(inv, "a", &ha, &err_));
	OK(inv_host_get(inv, "b", &hb, &err_));
	ck_assert_ptr_nonnull(ha->token);

	/* As it was read: local, its token revoked, audited as by name. */
	OK(inv_set_local_host(inv, ha, &err_));
	OK(inv_set_local(inv, "e.example.org", &err_));
	OK(inv_host_get(inv, "a", &h, &err_));
	ck_assert_int_eq(h->action, INV_ACTION_LOCAL);
	ck_assert_ptr_null(h->token);
	inv_host_free(h);
	ck_assert_int_eq(last_audit("a.example.org", a, sizeof(a)), 3);
	ck_assert_str_eq(a, "unknown|set-local|a.example.org|action=install|"
	    "action=local");
	ck_assert_int_eq(last_audit("e.example.org", a, sizeof(a)), 3);
	ck_assert_str_eq(a, "unknown|set-local|e.example.org|action=install|"
	    "action=local");
	/* Already local: nothing to read in the audit log. */
	OK(inv_set_local_host(inv, ha, &err_));
	ck_assert_int_eq(last_audit("a.example.org", a, sizeof(a)), 3);

	/* Renamed since: its old name is gone, and nothing changes. */
	OK(inv_host_rename(inv, "a", "c.example.org", &err_));
	before = dump();
	ck_assert_int_eq(inv_set_local(inv, "a.example.org", &err),
	    BOOTD_ENOTFOUND);
	ck_assert_int_eq(inv_set_local_host(inv, ha, &e2), BOOTD_ENOTFOUND);
	ck_assert_str_eq(e2.text, err.text);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* Removed, and its row (SQLite) or its name given to another. */
	OK(inv_host_remove(inv, "b", &err_));
	host("d.example.org", "52:54:00:00:00:02");
	OK(inv_set_reinstall(inv, "d", "d1", now, 3600, NULL, &err_));
	ck_assert_int_eq(inv_set_local_host(inv, hb, &err), BOOTD_ENOTFOUND);
	ck_assert_str_eq(boots("d.example.org", a, sizeof(a)), "install d1");
	host("b.example.org", "52:54:00:00:00:03");
	OK(inv_set_reinstall(inv, "b", "d1", now, 3600, NULL, &err_));
	OK(inv_set_local_host(inv, hb, &err_));
	ck_assert_str_eq(boots("b.example.org", a, sizeof(a)), "local d1");
	ck_assert_str_eq(boots("d.example.org", a, sizeof(a)), "install d1");
	ck_assert_int_eq(last_audit("d.example.org", a, sizeof(a)), 2);
	ck_assert_ptr_null(strstr(a, "|set-local|"));

	/* Judged as it is now: moved to an environment not allowed. */
	OK(inv_set_reinstall(inv, "c", "d1", now, 3600, NULL, &err_));
	OK(inv_host_get(inv, "c", &h, &err_));
	OK(inv_host_set_env(inv, "c", "b", &err_));
	refused_after_move(h, inv_set_local_host);
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

static Suite *
inv_groups_suite(void)
{
	Suite *s = suite_create("inv");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_authorizer_in_transaction);
	tcase_add_test(tc, test_host_add_dist_atomic);
	tcase_add_test(tc, test_grouped_transaction);
	tcase_add_test(tc, test_read_group);
	tcase_add_test(tc, test_group_dist_changed);
	tcase_add_test(tc, test_group_install_held);
	tcase_add_test(tc, test_set_reinstall_host);
	tcase_add_test(tc, test_set_local_host);
	tcase_add_test(tc, test_group_dist_checked_at_commit);
	tcase_add_test(tc, test_mark);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_refused_unchanged);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return inv_test_main(inv_groups_suite);
}
