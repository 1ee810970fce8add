/*
 * test_cfg.c - loading bootd.json: valid, missing, malformed, wrong type,
 * unknown key
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>

#include "cfg.h"
#include "check_util.h"
#include "db.h"

static char dir[] = "/tmp/bootd-test-cfg-XXXXXX";
static char path[512];

static void
setup(void)
{
	/* A fresh template each time: CK_FORK=no (valgrind) runs all here. */
	snprintf(dir, sizeof(dir), "/tmp/bootd-test-cfg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bootd.json", dir);
	unsetenv("BOOTD_CONFIG");
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Load text as a config file; returns the code, the message in err. */
static enum bootd_err
load_text(const char *text, struct cfg **cfg, struct bootd_error *err)
{
	write_file(text);
	return cfg_load(path, cfg, err);
}

START_TEST(test_defaults)
{
	struct cfg *cfg;

	ck_assert_int_eq(cfg_defaults(&cfg, NULL), BOOTD_OK);
	ck_assert_str_eq(cfg->database, "/var/lib/bootd/db/bootd.db");
	ck_assert_str_eq(cfg->daemon.listen, "unix:/run/bootd/bootd.sock");
	ck_assert_uint_eq(cfg->daemon.socket_mode, 0660);
	ck_assert_int_gt(cfg->daemon.workers, 0);
	ck_assert_int_eq(cfg->menu.timeout, 5);
	ck_assert_uint_eq(cfg->daemon.peer_users.n, 0);
	ck_assert_uint_eq(cfg->daemon.peer_groups.n, 0);
	ck_assert_int_eq(cfg->menu.shell, 1);
	ck_assert_int_eq(cfg->menu.memtest, 1);
	ck_assert_int_eq(cfg->menu.unknown, CFG_UNKNOWN_LOCAL);
	ck_assert_int_eq(cfg->token_ttl, 21600);
	ck_assert_int_eq(cfg->daemon.event_retention_days, 90);
	ck_assert_int_eq(cfg->daemon.done_requires_fetch_address, 0);
	ck_assert_int_eq(cfg->daemon.done_rate, 6);
	ck_assert_int_eq(cfg->daemon.done_burst, 10);
	ck_assert_str_eq(cfg->events_database,
	    "/var/lib/bootd/db/bootd-events.db");
	ck_assert_int_eq(cfg->daemon.events_max, 1000000);
	ck_assert_int_eq(cfg->daemon.discovered_max, 10000);
	ck_assert_int_eq(cfg->daemon.event_batch_ms, 10);
	ck_assert_int_eq(cfg->daemon.event_batch_max, 256);
	ck_assert_ptr_null(cfg->path);
	cfg_free(cfg);
	cfg_free(NULL);
}
END_TEST

START_TEST(test_full)
{
	struct cfg *cfg;
	struct bootd_error err = { "" };

	ck_assert_int_eq(load_text("{\n"
	    "  \"database\": \"/tmp/x.db\",\n"
	    "  \"events_database\": \"/tmp/ev/y.db\",\n"
	    "  \"admin_group\": \"wheel\",\n"
	    "  \"token_ttl\": 3600,\n"
	    "  \"daemon\": {\"listen\": \"127.0.0.1:9000\", \"workers\": 3,\n"
	    "    \"socket_mode\": \"0600\", \"socket_owner\": \"root\",\n"
	    "    \"socket_group\": \"www-data\", \"user\": \"nobody\",\n"
	    "    \"group\": \"nogroup\", \"max_requests\": 1000,\n"
	    "    \"peer_users\": [\"www-data\"],\n"
	    "    \"peer_groups\": [\"www-data\", \"_nginx\"],\n"
	    "    \"drain_timeout\": 5, \"event_wait_ms\": 20,\n"
	    "    \"event_retention_days\": 0,\n"
	    "    \"done_requires_fetch_address\": true,\n"
	    "    \"done_rate\": 0, \"done_burst\": 3,\n"
	    "    \"events_max\": 0, \"discovered_max\": 50,\n"
	    "    \"event_batch_ms\": 3, \"event_batch_max\": 1000,\n"
	    "    \"log\": \"syslog\", \"log_level\": \"debug\"},\n"
	    "  \"menu\": {\"base_url\": \"https://boot.example.org:8443\",\n"
	    "    \"timeout\": 0, \"shell\": false, \"memtest\": false,\n"
	    "    \"memtest_bios\": \"mt/memtest.bin\",\n"
	    "    \"memtest_efi\": \"mt/memtest.efi\",\n"
	    "    \"manual_dists\": [\"debian-12\", \"rocky-9\"],\n"
	    "    \"unknown\": \"shell\"}\n"
	    "}\n", &cfg, &err), BOOTD_OK);
	ck_assert_str_eq(cfg->path, path);
	ck_assert_str_eq(cfg->database, "/tmp/x.db");
	ck_assert_str_eq(cfg->events_database, "/tmp/ev/y.db");
	ck_assert_int_eq(cfg->daemon.events_max, 0);
	ck_assert_int_eq(cfg->daemon.discovered_max, 50);
	ck_assert_str_eq(cfg->admin_group, "wheel");
	ck_assert_int_eq(cfg->token_ttl, 3600);
	ck_assert_str_eq(cfg->daemon.listen, "127.0.0.1:9000");
	ck_assert_int_eq(cfg->daemon.workers, 3);
	ck_assert_uint_eq(cfg->daemon.socket_mode, 0600);
	ck_assert_str_eq(cfg->daemon.socket_owner, "root");
	ck_assert_str_eq(cfg->daemon.user, "nobody");
	ck_assert_str_eq(cfg->daemon.group, "nogroup");
	ck_assert_uint_eq(cfg->daemon.peer_users.n, 1);
	ck_assert_str_eq(cfg->daemon.peer_users.v[0], "www-data");
	ck_assert_ptr_null(cfg->daemon.peer_users.v[1]);
	ck_assert_uint_eq(cfg->daemon.peer_groups.n, 2);
	ck_assert_str_eq(cfg->daemon.peer_groups.v[1], "_nginx");
	ck_assert_int_eq(cfg->daemon.max_requests, 1000);
	ck_assert_int_eq(cfg->daemon.drain_timeout, 5);
	ck_assert_int_eq(cfg->daemon.event_wait_ms, 20);
	ck_assert_int_eq(cfg->daemon.event_retention_days, 0);
	ck_assert_int_eq(cfg->daemon.done_requires_fetch_address, 1);
	ck_assert_int_eq(cfg->daemon.done_rate, 0);
	ck_assert_int_eq(cfg->daemon.done_burst, 3);
	ck_assert_int_eq(cfg->daemon.event_batch_ms, 3);
	ck_assert_int_eq(cfg->daemon.event_batch_max, 1000);
	ck_assert_int_eq(cfg->daemon.log, CFG_LOG_SYSLOG);
	ck_assert_int_eq(cfg->daemon.log_level, LOG_DEBUG);
	ck_assert_str_eq(cfg->menu.base_url, "https://boot.example.org:8443");
	ck_assert_int_eq(cfg->menu.timeout, 0);
	ck_assert_int_eq(cfg->menu.shell, 0);
	ck_assert_int_eq(cfg->menu.memtest, 0);
	ck_assert_str_eq(cfg->menu.memtest_bios, "mt/memtest.bin");
	ck_assert_uint_eq(cfg->menu.nmanual_dists, 2);
	ck_assert_str_eq(cfg->menu.manual_dists[1], "rocky-9");
	ck_assert_int_eq(cfg->menu.unknown, CFG_UNKNOWN_SHELL);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_partial_keeps_defaults)
{
	struct cfg *cfg;

	ck_assert_int_eq(load_text("{\"menu\": {\"timeout\": 9}}", &cfg, NULL),
	    BOOTD_OK);
	ck_assert_int_eq(cfg->menu.timeout, 9);
	ck_assert_int_eq(cfg->menu.shell, 1);
	ck_assert_str_eq(cfg->database, "/var/lib/bootd/db/bootd.db");
	cfg_free(cfg);
}
END_TEST

START_TEST(test_env_path)
{
	struct cfg *cfg;

	write_file("{\"database\": \"/from/env.db\"}");
	setenv("BOOTD_CONFIG", path, 1);
	ck_assert_int_eq(cfg_load(NULL, &cfg, NULL), BOOTD_OK);
	ck_assert_str_eq(cfg->database, "/from/env.db");
	/* The events file follows the inventory unless named. */
	ck_assert_str_eq(cfg->events_database, "/from/env-events.db");
	cfg_free(cfg);
	/* An explicit argument wins over the environment. */
	setenv("BOOTD_CONFIG", "/nonexistent/bootd.json", 1);
	ck_assert_int_eq(cfg_load(path, &cfg, NULL), BOOTD_OK);
	cfg_free(cfg);
	/* A file named in the environment must exist. */
	ck_assert_int_eq(cfg_load(NULL, &cfg, NULL), BOOTD_EINVAL);
	ck_assert_ptr_null(cfg);
	unsetenv("BOOTD_CONFIG");
}
END_TEST

START_TEST(test_missing_explicit)
{
	struct cfg *cfg;
	struct bootd_error err = { "" };
	char missing[600];

	snprintf(missing, sizeof(missing), "%s/nope.json", dir);
	ck_assert_int_eq(cfg_load(missing, &cfg, &err), BOOTD_EINVAL);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(err.text, "nope.json"));
}
END_TEST

/* A bad file: the code is EINVAL and the message names what is wrong. */
static const struct {
	const char *text;
	const char *needle;	/* must appear in the message */
} bad[] = {
	{ "{", ":1:" },				/* malformed: line */
	{ "{\n\"database\": \"x\",\n}", ":3:" },	/* trailing comma */
	{ "[]", "expected an object" },
	{ "{\"databse\": \"/x\"}", "databse: unknown setting" },
	{ "{\"daemon\": {\"wrkers\": 2}}", "daemon.wrkers: unknown setting" },
	{ "{\"database\": 5}", "database: expected a string" },
	{ "{\"database\": \"\"}", "database: must not be empty" },
	{ "{\"daemon\": {\"workers\": \"4\"}}", "daemon.workers: expected an integer" },
	{ "{\"daemon\": {\"workers\": -1}}", "daemon.workers: must be from" },
	{ "{\"daemon\": {\"workers\": 100000}}", "daemon.workers: must be from" },
	{ "{\"menu\": {\"shell\": 1}}", "menu.shell: expected true or false" },
	{ "{\"menu\": {\"timeout\": 1.5}}", "menu.timeout: expected an integer" },
	{ "{\"menu\": []}", "menu: expected an object" },
	{ "{\"menu\": {\"base_url\": \"ftp://x\"}}", "menu.base_url: must start" },
	{ "{\"menu\": {\"base_url\": \"http://x/${net0/mac}\"}}", "not allowed" },
	{ "{\"menu\": {\"base_url\": \"http://x y\"}}", "not allowed" },
	{ "{\"menu\": {\"base_url\": \"http://x/#a\"}}", "not allowed" },
	{ "{\"menu\": {\"base_url\": \"http://x/\"}}", "must not end" },
	{ "{\"menu\": {\"base_url\": \"http://x\\n\"}}", "control" },
	{ "{\"menu\": {\"memtest_bios\": \"../etc/passwd\"}}", "menu.memtest_bios" },
	{ "{\"menu\": {\"memtest_efi\": \"/abs\"}}", "menu.memtest_efi" },
	{ "{\"menu\": {\"manual_dists\": \"debian\"}}", "expected an array" },
	{ "{\"menu\": {\"manual_dists\": [\"a b\"]}}", "menu.manual_dists[0]" },
	{ "{\"menu\": {\"unknown\": \"install\"}}", "menu.unknown" },
	{ "{\"daemon\": {\"listen\": \"unix:relative\"}}", "absolute path" },
	{ "{\"daemon\": {\"listen\": \"127.0.0.1:99999\"}}", "port" },
	{ "{\"daemon\": {\"listen\": \"nonsense\"}}", "daemon.listen" },
	{ "{\"daemon\": {\"listen\": \"localhost:9000\"}}",
	    "daemon.listen: expected \"unix:/PATH\", \"ADDRESS:PORT\" or "
	    "\"[IPV6-ADDRESS]:PORT\" with a numeric address (host names are "
	    "not resolved): localhost:9000" },
	{ "{\"daemon\": {\"listen\": \"::1:9000\"}}", "numeric address" },
	{ "{\"daemon\": {\"listen\": \"[::g]:9000\"}}", "numeric address" },
	{ "{\"daemon\": {\"socket_mode\": \"999\"}}", "octal" },
	{ "{\"daemon\": {\"log\": \"file\"}}", "daemon.log" },
	{ "{\"daemon\": {\"log_level\": \"loud\"}}", "daemon.log_level" },
	{ "{\"daemon\": {\"user\": \"Root;rm\"}}", "daemon.user" },
	{ "{\"daemon\": {\"peer_users\": \"www-data\"}}",
	    "daemon.peer_users: expected an array" },
	{ "{\"daemon\": {\"peer_users\": [\"\"]}}",
	    "daemon.peer_users[0]: not a valid user or group name" },
	{ "{\"daemon\": {\"peer_groups\": [\"www-data\", \"a b\"]}}",
	    "daemon.peer_groups[1]: not a valid" },
	{ "{\"daemon\": {\"peer_groups\": [5]}}",
	    "daemon.peer_groups[0]: expected a string" },
	{ ("{\"daemon\": {\"peer_groups\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	    "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	    "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
	    "\"a\",\"a\",\"a\"]}}"), "daemon.peer_groups: at most 32" },
	{ "{\"token_ttl\": 1}", "token_ttl: must be from" },
	{ "{\"daemon\": {\"event_retention_days\": -1}}",
	    "daemon.event_retention_days: must be from" },
	{ "{\"daemon\": {\"done_burst\": 0}}",
	    "daemon.done_burst: must be from 1" },
	{ "{\"daemon\": {\"done_requires_fetch_address\": 1}}",
	    "daemon.done_requires_fetch_address: expected true or false" },
	{ "{\"daemon\": {\"event_batch_ms\": 0}}",
	    "daemon.event_batch_ms: must be from" },
	{ "{\"daemon\": {\"event_batch_max\": 4097}}",
	    "daemon.event_batch_max: must be from" },
	{ "{\"database\": \"a\", \"database\": \"b\"}", "duplicate" },
	{ "{\"daemon\": {\"events_max\": -1}}",
	    "daemon.events_max: must be from 0" },
	{ "{\"daemon\": {\"discovered_max\": \"10\"}}",
	    "daemon.discovered_max: expected an integer" },
	{ "{\"events_database\": \"\"}", "events_database: must not be empty" },
	{ "{\"database\": \"/a.db\", \"events_database\": \"/a.db\"}",
	    "events_database: must not be the inventory" },
	{ "{\"database\": \"/a.db\", \"database_write\": "
	    "\"postgresql://h/db\"}", "database_write: only for a PostgreSQL" },
	{ "{\"database\": \"postgresql://h/db\", \"database_write\": "
	    "\"/a.db\"}", "database_write: expected a postgresql:// URI" },
	{ "{\"database_write\": \"\"}", "database_write: must not be empty" },
	/* One engine for both: no events file beside a PostgreSQL
	 * inventory, no PostgreSQL events beside an SQLite one. */
	{ "{\"database\": \"postgresql://h/db\", \"events_database\": "
	    "\"/e.db\"}", "events_database: expected a postgresql:// URI" },
	{ "{\"database\": \"/a.db\", \"events_database\": "
	    "\"postgresql://h/db\"}", "events_database: a PostgreSQL URI only" },
	/* Found by fuzz_config: an escaped line break in a key went into
	 * the message; control characters now show as '?'. */
	{ "{\"d\\u000a0h\": \"d\"}", "d?0h: unknown setting" },
	{ "{\"da\\u001btabase\": 1}", "da?tabase: unknown setting" },
	{ "{\"database\": \"a\n\"}", ":1:" },
};

/*
 * A PostgreSQL "database": database_write and events_database follow it,
 * and always have target_session_attrs=read-write in place of any other
 * value.
 */
START_TEST(test_uri)
{
	struct cfg *cfg;
	struct bootd_error err;

	ck_assert_int_eq(load_text("{\"database\": \"postgresql://a,b/bootd?"
	    "target_session_attrs=prefer-standby&passfile=/etc/p\"}", &cfg,
	    &err), BOOTD_OK);
	ck_assert_str_eq(cfg->database, "postgresql://a,b/bootd?"
	    "target_session_attrs=prefer-standby&passfile=/etc/p");
	ck_assert_str_eq(cfg->database_write, "postgresql://a,b/bootd?"
	    "passfile=/etc/p&target_session_attrs=read-write");
	ck_assert_str_eq(cfg->events_database, cfg->database_write);
	cfg_free(cfg);
	/* Given separately, both get read-write all the same. */
	ck_assert_int_eq(load_text("{\"database\": \"postgres:///bootd?"
	    "host=/run/a,/run/b\", \"database_write\": \"postgresql://m/bootd"
	    "?target_session_attrs=any\", \"events_database\": "
	    "\"postgresql://e/ev\"}", &cfg, &err), BOOTD_OK);
	ck_assert_str_eq(cfg->database_write, "postgresql://m/bootd?"
	    "target_session_attrs=read-write");
	ck_assert_str_eq(cfg->events_database, "postgresql://e/ev?"
	    "target_session_attrs=read-write");
	cfg_free(cfg);
	/* An SQLite inventory is written where it is read. */
	ck_assert_int_eq(load_text("{\"database\": \"/x/i.db\"}", &cfg, &err),
	    BOOTD_OK);
	ck_assert_str_eq(cfg->database_write, "/x/i.db");
	cfg_free(cfg);
}
END_TEST

START_TEST(test_uri_set_attrs)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "postgresql://h/db", "postgresql://h/db?"
		    "target_session_attrs=read-write" },
		{ "postgresql:///db?host=/a,/b", "postgresql:///db?host=/a,/b&"
		    "target_session_attrs=read-write" },
		{ "postgresql://h/db?target_session_attrs=any",
		    "postgresql://h/db?target_session_attrs=read-write" },
		/* Every spelling libpq reads as the same name goes. */
		{ "postgresql://h/db?a=1&target%5fsession_attrs=standby&&b=2&"
		    "target_session_attrs=primary", "postgresql://h/db?a=1&b=2&"
		    "target_session_attrs=read-write" },
		{ "postgresql://h/db?", "postgresql://h/db?"
		    "target_session_attrs=read-write" },
	};
	char *s;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s = cfg_uri_set_attrs(v[i].in, "read-write");
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s, v[i].out);
		free(s);
	}
}
END_TEST

START_TEST(test_db_print)
{
	char out[256];

	ck_assert_str_eq(db_where_print("/var/lib/bootd/db/bootd.db", out,
	    sizeof(out)), "/var/lib/bootd/db/bootd.db");
	ck_assert_str_eq(db_where_print("postgresql://bootd:s3cret@h1,h2/db?"
	    "password=other&target_session_attrs=any", out, sizeof(out)),
	    "postgresql://bootd:***@h1,h2/db?password=***&"
	    "target_session_attrs=any");
	ck_assert_str_eq(db_where_print("postgresql://bootd@h/db", out,
	    sizeof(out)), "postgresql://bootd@h/db");
	ck_assert_str_eq(db_where_print("postgres://u:p@h", out, 12),
	    "postgres://");
	/* libpq decodes parameter names: so does the mask. */
	ck_assert_str_eq(db_where_print("postgresql://h/db?pass%77ord=x&"
	    "password=yy", out, sizeof(out)),
	    "postgresql://h/db?pass%77ord=***&password=***");
}
END_TEST

/* daemon.listen: the forms bootd binds, parsed once for cfg_load and bind. */
START_TEST(test_listen_forms)
{
	struct cfg_listen la;
	struct bootd_error err;
	struct cfg *cfg;

	ck_assert_int_eq(cfg_listen_parse("unix:/run/bootd/bootd.sock", &la,
	    &err), BOOTD_OK);
	ck_assert_int_eq(la.family, AF_UNIX);
	ck_assert_str_eq(la.path, "/run/bootd/bootd.sock");
	ck_assert_int_eq(cfg_listen_parse("127.0.0.1:9000", &la, &err),
	    BOOTD_OK);
	ck_assert_int_eq(la.family, AF_INET);
	ck_assert_int_eq(cfg_listen_parse("[::1]:9000", &la, &err), BOOTD_OK);
	ck_assert_int_eq(la.family, AF_INET6);
	ck_assert_int_eq(load_text("{\"daemon\": {\"listen\": \"[::1]:9000\"}}",
	    &cfg, &err), BOOTD_OK);
	ck_assert_str_eq(cfg->daemon.listen, "[::1]:9000");
	cfg_free(cfg);
	ck_assert_int_eq(cfg_listen_parse("localhost:9000", &la, &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "host names are not resolved"));
}
END_TEST

START_TEST(test_bad)
{
	struct cfg *cfg = (struct cfg *)1;
	struct bootd_error err = { "" };

	ck_assert_int_eq(load_text(bad[_i].text, &cfg, &err), BOOTD_EINVAL);
	ck_assert_ptr_null(cfg);
	if (strstr(err.text, bad[_i].needle) == NULL)
		ck_abort_msg("case %d: message \"%s\" lacks \"%s\"", _i,
		    err.text, bad[_i].needle);
	ck_assert_ptr_nonnull(strstr(err.text, path));
	ck_assert_ptr_null(strchr(err.text, '\n'));
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_partial_keeps_defaults);
	tcase_add_test(tc, test_env_path);
	tcase_add_test(tc, test_missing_explicit);
	tcase_add_test(tc, test_listen_forms);
	tcase_add_test(tc, test_uri);
	tcase_add_test(tc, test_uri_set_attrs);
	tcase_add_test(tc, test_db_print);
	suite_add_tcase(s, tc);
	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(cfg_suite());
}
