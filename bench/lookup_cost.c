/*
 * lookup_cost - N boot lookups on an inventory of many hosts, to count
 * the instructions of one inv_lookup() under callgrind:
 *
 *	lookup_cost fill PATH HOSTS	make PATH: HOSTS hosts, two
 *					attributes each, every tenth marked
 *					for install with a live token
 *	lookup_cost run PATH N		N lookups of MACs spread over them
 *
 *	valgrind --tool=callgrind --toggle-collect=inv_lookup \
 *	    build/bench/lookup_cost run inv.db 10000
 *
 * then instructions per lookup = the "Collected" total / N.  The fill
 * writes with plain SQL (sqlite3, as fcgi_naive does): the inventory API
 * would audit and check every host, which takes minutes for 100k.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "inv.h"

#define MAC_FMT	"52:54:%02x:%02x:%02x:%02x"

static int
fill(const char *path, long hosts)
{
	struct bootd_error err;
	struct inv *inv;
	sqlite3 *db;
	sqlite3_stmt *h, *n, *a, *t;
	long i;
	char fqdn[64], mac[32];
	int64_t now = (int64_t)time(NULL);

	if (inv_open(path, INV_CREATE, &inv, &err) != BOOTD_OK) {
		fprintf(stderr, "lookup_cost: %s\n", err.text);
		return 1;
	}
	inv_close(inv);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 1;
	sqlite3_exec(db, "BEGIN; INSERT OR IGNORE INTO dist (name, kernel, "
	    "cmdline) VALUES ('deb', 'http://i/{{attr.rack}}/linux', "
	    "'console=ttyS0 site={{attr.site}}'); INSERT OR IGNORE INTO "
	    "dist_initrd (dist, pos, url) VALUES ('deb', 0, "
	    "'http://i/initrd.gz')", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO host (fqdn, env, action, dist) "
	    "VALUES (?1, 'default', ?2, 'deb')", -1, &h, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO nic (mac, host) VALUES (?1, ?2)",
	    -1, &n, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO host_attr (host, key, value) "
	    "VALUES (?1, ?2, ?3)", -1, &a, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO token (token, host, created, "
	    "expires) VALUES (printf('%032x', ?1), ?1, ?2, ?3)", -1, &t, NULL);
	for (i = 0; i < hosts; i++) {
		int64_t id;

		snprintf(fqdn, sizeof(fqdn), "h%ld.example.org", i);
		snprintf(mac, sizeof(mac), MAC_FMT, (int)(i >> 24) & 0xff,
		    (int)(i >> 16) & 0xff, (int)(i >> 8) & 0xff,
		    (int)i & 0xff);
		sqlite3_bind_text(h, 1, fqdn, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(h, 2, i % 10 == 0 ? "install" : "local", -1,
		    SQLITE_STATIC);
		if (sqlite3_step(h) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(h);
		id = sqlite3_last_insert_rowid(db);
		sqlite3_bind_text(n, 1, mac, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(n, 2, id);
		if (sqlite3_step(n) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(n);
		sqlite3_bind_int64(a, 1, id);
		sqlite3_bind_text(a, 2, "rack", -1, SQLITE_STATIC);
		sqlite3_bind_text(a, 3, "r12", -1, SQLITE_STATIC);
		if (sqlite3_step(a) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(a);
		sqlite3_bind_text(a, 2, "site", -1, SQLITE_STATIC);
		sqlite3_bind_text(a, 3, "ams", -1, SQLITE_STATIC);
		if (sqlite3_step(a) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(a);
		if (i % 10 == 0) {
			sqlite3_bind_int64(t, 1, id);
			sqlite3_bind_int64(t, 2, now);
			sqlite3_bind_int64(t, 3, now + 10 * 365 * 86400);
			if (sqlite3_step(t) != SQLITE_DONE)
				goto fail;
			sqlite3_reset(t);
		}
	}
	sqlite3_finalize(h);
	sqlite3_finalize(n);
	sqlite3_finalize(a);
	sqlite3_finalize(t);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_close(db);
	return 0;
fail:
	fprintf(stderr, "lookup_cost: fill: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return 1;
}

static int
run(const char *path, long n)
{
	static const char *const manual[] = { "deb" };
	struct bootd_error err;
	struct inv_boot b;
	struct inv *inv;
	long i, hosts, found = 0, install = 0;
	struct inv_counts c;
	char mac[32];
	int64_t now = (int64_t)time(NULL);

	if (inv_open(path, INV_RDONLY, &inv, &err) != BOOTD_OK ||
	    inv_counts(inv, &c, &err) != BOOTD_OK) {
		fprintf(stderr, "lookup_cost: %s\n", err.text);
		return 1;
	}
	if ((hosts = (long)c.hosts) == 0)
		hosts = 1;
	for (i = 0; i < n; i++) {
		/* A stride through every host; each tenth lookup a MAC
		   nobody has. */
		long k = (i * 7919) % hosts + (i % 10 == 9 ? hosts : 0);

		snprintf(mac, sizeof(mac), MAC_FMT, (int)(k >> 24) & 0xff,
		    (int)(k >> 16) & 0xff, (int)(k >> 8) & 0xff, (int)k & 0xff);
		if (inv_lookup(inv, mac, now, manual, 1, &b, &err) ==
		    BOOTD_OK) {
			found++;
			install += b.dist != NULL;
			inv_boot_free(&b);
		}
	}
	printf("%ld lookups, %ld found, %ld installing\n", n, found, install);
	inv_close(inv);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "run") == 0)
		return run(argv[2], strtol(argv[3], NULL, 10));
	fprintf(stderr, "usage: lookup_cost fill PATH HOSTS | "
	    "run PATH LOOKUPS\n");
	return 2;
}
