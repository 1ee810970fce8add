/*
 * test_inv_tokens.c - install tokens: made from random bytes fetched 64
 * tokens' worth at a time, their life (made by set-reinstall, looked up,
 * used by done, expired, revoked by set-local), and the address that
 * fetched the install script.
 * One of the test_inv_*.c programs: fixture and helpers in inv_fixture.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "inv.h"
#include "inv_fixture.h"

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

static Suite *
inv_tokens_suite(void)
{
	Suite *s = suite_create("inv");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown_dir);
	tcase_add_test(tc, test_tokens_from_fetched_bytes);
	tcase_add_test(tc, test_token_lifecycle);
	tcase_add_test(tc, test_token_fetch_address);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return inv_test_main(inv_tokens_suite);
}
