/*
 * test_xfer.c - the inventory document: parsing, problems with their
 * paths, writing, checking against an inventory and planning an import
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_util.h"
#include "xfer.h"

#define HEAD	"{\"format\": \"bootd-inventory\", \"version\": 1, "

/* The inventory documents are checked against. */
static const char cur_text[] = HEAD
    "\"environments\": [{\"name\": \"default\", \"group\": \"\"},"
    " {\"name\": \"lab\", \"group\": \"lab\"}],"
    "\"distributions\": [{\"name\": \"debian-12\", \"kernel\": \"http://x/k\","
    " \"initrds\": [\"http://x/i\"], \"cmdline\": \"quiet\"}],"
    "\"hosts\": ["
    "{\"fqdn\": \"web1.example.org\", \"environment\": \"lab\","
    " \"action\": \"install\", \"distribution\": \"debian-12\","
    " \"macs\": [\"52:54:00:00:00:01\"], \"attributes\": {\"role\": \"web\"}},"
    "{\"fqdn\": \"db1.example.org\", \"macs\": [\"52:54:00:00:00:02\","
    " \"52:54:00:00:00:03\"]}]}";

static struct xfer_doc *
parse_ok(const char *text)
{
	struct xfer_problems p = { 0 };
	struct xfer_doc *d = NULL;
	enum bootd_err rc;

	rc = xfer_parse(text, strlen(text), &d, &p);
	ck_assert_msg(rc == BOOTD_OK, "%s: %s", p.n ? p.v[0].path : "",
	    p.n ? p.v[0].text : "");
	ck_assert_uint_eq(p.n, 0);
	ck_assert_ptr_nonnull(d);
	xfer_problems_free(&p);
	return d;
}

/* Is there a problem at path whose text contains text? */
static int
has(const struct xfer_problems *p, const char *path, const char *text)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].path, path) == 0 &&
		    strstr(p->v[i].text, text) != NULL)
			return 1;
	return 0;
}

static void
dump_problems(const struct xfer_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		fprintf(stderr, "  %s: %s\n", p->v[i].path, p->v[i].text);
}

START_TEST(test_parse_normalises_and_sorts)
{
	struct xfer_doc *d = parse_ok(HEAD "\"hosts\": ["
	    "{\"fqdn\": \"Zeta.Example.org\", \"macs\": [\"52-54-00-AA-00-02\","
	    " \"525400aa0001\"], \"attributes\": {\"b\": \"2\", \"a\": \"1\"}},"
	    "{\"fqdn\": \"alpha.example.org\", \"macs\": [\"52:54:00:aa:00:03\"],"
	    " \"distribution\": null}]}");

	ck_assert_int_eq(d->has_hosts, 1);
	ck_assert_int_eq(d->has_dists, 0);
	ck_assert_uint_eq(d->nhosts, 2);
	ck_assert_str_eq(d->hosts[0].fqdn, "alpha.example.org");
	ck_assert_uint_eq(d->host_pos[0], 1);
	ck_assert_str_eq(d->hosts[1].fqdn, "zeta.example.org");
	ck_assert_uint_eq(d->host_pos[1], 0);
	ck_assert_str_eq(d->hosts[1].env, "default");
	ck_assert_int_eq(d->hosts[1].action, INV_ACTION_LOCAL);
	ck_assert_ptr_null(d->hosts[0].dist);
	ck_assert_uint_eq(d->hosts[1].nmacs, 2);
	ck_assert_str_eq(d->hosts[1].macs[0], "52:54:00:aa:00:01");
	ck_assert_str_eq(d->hosts[1].macs[1], "52:54:00:aa:00:02");
	ck_assert_str_eq(d->hosts[1].attrs[0].key, "a");
	ck_assert_str_eq(d->hosts[1].attrs[1].key, "b");
	xfer_doc_free(d);
}
END_TEST

/* One invalid document each, the path and words of one problem. */
static const struct {
	const char	*doc;
	const char	*path;
	const char	*text;
} bad[] = {
	{ "{\"format\": \"bootd-inventory\", \"version\": 1, \"hosts\": [",
	    "", "line 1" },
	{ "[1]", "", "expected an object, got an array" },
	{ "{\"version\": 1}", "", "missing \"format\"" },
	{ "{\"format\": \"other\", \"version\": 1}", "format",
	    "not a bootd inventory" },
	{ "{\"format\": \"bootd-inventory\"}", "", "missing \"version\"" },
	{ "{\"format\": \"bootd-inventory\", \"version\": \"1\"}", "version",
	    "expected an integer, got a string" },
	{ "{\"format\": \"bootd-inventory\", \"version\": 2, \"x\": 1}",
	    "version", "newer than this bootctl reads" },
	{ HEAD "\"colour\": 1}", "colour", "unknown key" },
	{ HEAD "\"version\": 1}", "", "duplicate object key" },
	{ HEAD "\"hosts\": {}}", "hosts", "expected an array, got an object" },
	{ HEAD "\"hosts\": [17]}", "hosts[0]", "expected an object" },
	{ HEAD "\"hosts\": [{\"macs\": [\"52:54:00:00:00:01\"]}]}",
	    "hosts[0]", "missing \"fqdn\"" },
	{ HEAD "\"hosts\": [{\"fqdn\": 5, \"macs\": [\"52:54:00:00:00:01\"]}]}",
	    "hosts[0].fqdn", "expected a string, got an integer" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\"],"
	    " \"colour\": \"red\"}]}", "hosts[0].colour", "unknown key" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": []}]}",
	    "hosts[0].macs", "an empty array" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\","
	    " \"52:54:00:zz:00:01\"]}]}", "hosts[0].macs[1]",
	    "52:54:00:zz:00:01 is not a MAC address" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\","
	    " \"52-54-00-00-00-01\"]}]}", "hosts[0].macs[1]", "given twice" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\"]},"
	    "{\"fqdn\": \"c.d\", \"macs\": [\"52:54:00:00:00:09\","
	    " \"525400000001\"]}]}", "hosts[1].macs[1]",
	    "also at hosts[0].macs[0]" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\"]},"
	    "{\"fqdn\": \"A.B\", \"macs\": [\"52:54:00:00:00:02\"]}]}",
	    "hosts[1].fqdn", "also at hosts[0]" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a\\u0001b.c\", \"macs\": "
	    "[\"52:54:00:00:00:01\"]}]}", "hosts[0].fqdn", "control character" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\"],"
	    " \"attributes\": {\"k\": \"${x}\"}}]}", "hosts[0].attributes.k",
	    "invalid attribute value" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\"],"
	    " \"attributes\": {\"bootd.menu_timeout\": \"30s\"}}]}",
	    "hosts[0].attributes.bootd.menu_timeout",
	    "expected whole seconds from 0 to 3600" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\"],"
	    " \"attributes\": {\"bootd.other\": \"1\"}}]}",
	    "hosts[0].attributes.bootd.other", "are bootd's own" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\"],"
	    " \"action\": \"install\"}]}", "hosts[0].action",
	    "install needs a distribution" },
	{ HEAD "\"hosts\": [{\"fqdn\": \"a.b\", \"macs\": [\"52:54:00:00:00:01\"],"
	    " \"action\": \"wipe\"}]}", "hosts[0].action", "not an action" },
	{ HEAD "\"distributions\": [{\"name\": \"d\", \"kernel\": \"ftp://k\","
	    " \"initrds\": [\"http://i\"]}]}", "distributions[0].kernel",
	    "invalid URL template" },
	{ HEAD "\"distributions\": [{\"name\": \"d\", \"kernel\": \"http://k\","
	    " \"initrds\": [\"http://i\", 3]}]}", "distributions[0].initrds[1]",
	    "expected a string" },
	{ HEAD "\"distributions\": [{\"name\": \"d\", \"kernel\": \"http://k\","
	    " \"initrds\": [\"http://i\"], \"cmdline\": \"a ; reboot\"}]}",
	    "distributions[0].cmdline", "invalid" },
	{ HEAD "\"environments\": [{\"name\": \"lab\", \"group\": \"Bad\"}]}",
	    "environments[0].group", "invalid unix group" },
	{ HEAD "\"environments\": [{\"name\": \"lab\"}, {\"name\": \"lab\"}]}",
	    "environments[1].name", "also at environments[0]" },
};

START_TEST(test_parse_problems)
{
	struct xfer_problems p = { 0 };
	struct xfer_doc *d = NULL;
	enum bootd_err rc;

	rc = xfer_parse(bad[_i].doc, strlen(bad[_i].doc), &d, &p);
	ck_assert_int_eq(rc, BOOTD_EINVAL);
	if (!has(&p, bad[_i].path, bad[_i].text)) {
		dump_problems(&p);
		ck_abort_msg("case %d: no problem at \"%s\" with \"%s\"", _i,
		    bad[_i].path, bad[_i].text);
	}
	xfer_doc_free(d);
	xfer_problems_free(&p);
}
END_TEST

START_TEST(test_parse_reports_every_problem)
{
	static const char text[] = HEAD "\"hosts\": ["
	    "{\"fqdn\": \"-x.b\", \"macs\": [\"zz\"]},"
	    "{\"fqdn\": \"c.d\", \"macs\": [1], \"environment\": \"\"}]}";
	struct xfer_problems p = { 0 };
	struct xfer_doc *d = NULL;

	ck_assert_int_eq(xfer_parse(text, strlen(text), &d, &p), BOOTD_EINVAL);
	ck_assert(has(&p, "hosts[0].fqdn", "invalid FQDN"));
	ck_assert(has(&p, "hosts[0].macs[0]", "not a MAC address"));
	ck_assert(has(&p, "hosts[1].macs[0]", "expected a string"));
	ck_assert(has(&p, "hosts[1].environment", "invalid environment"));
	ck_assert_uint_eq(p.n, 4);
	xfer_doc_free(d);
	xfer_problems_free(&p);
}
END_TEST

START_TEST(test_dump_is_stable)
{
	static const char want[] =
	    "{\"format\": \"bootd-inventory\", \"version\": 1,\n"
	    "\"environments\": [\n"
	    " {\"name\": \"default\", \"group\": \"\"},\n"
	    " {\"name\": \"lab\", \"group\": \"lab\"}\n"
	    "],\n"
	    "\"distributions\": [\n"
	    " {\"name\": \"debian-12\", \"kernel\": \"http://x/k\", "
	    "\"initrds\": [\"http://x/i\"], \"cmdline\": \"quiet\"}\n"
	    "],\n"
	    "\"hosts\": [\n"
	    " {\"fqdn\": \"db1.example.org\", \"environment\": \"default\", "
	    "\"action\": \"local\", \"distribution\": null, \"macs\": "
	    "[\"52:54:00:00:00:02\", \"52:54:00:00:00:03\"], "
	    "\"attributes\": {}},\n"
	    " {\"fqdn\": \"web1.example.org\", \"environment\": \"lab\", "
	    "\"action\": \"install\", \"distribution\": \"debian-12\", "
	    "\"macs\": [\"52:54:00:00:00:01\"], \"attributes\": "
	    "{\"role\": \"web\"}}\n"
	    "]}\n";
	struct xfer_doc *d = parse_ok(cur_text), *e;
	struct buf b = { 0 }, c = { 0 };

	ck_assert_int_eq(xfer_dump(d, &b, NULL), BOOTD_OK);
	ck_assert_str_eq(buf_str(&b), want);
	e = parse_ok(buf_str(&b));
	ck_assert_int_eq(xfer_dump(e, &c, NULL), BOOTD_OK);
	ck_assert_str_eq(buf_str(&c), want);
	buf_free(&b);
	buf_free(&c);
	xfer_doc_free(d);
	xfer_doc_free(e);
}
END_TEST

START_TEST(test_check_against_inventory)
{
	static const char text[] = HEAD "\"hosts\": ["
	    "{\"fqdn\": \"new.example.org\", \"environment\": \"prod\","
	    " \"distribution\": \"rocky-9\", \"macs\": [\"52:54:00:00:00:02\"]}]}";
	struct xfer_doc *cur = parse_ok(cur_text), *d = parse_ok(text);
	struct xfer_problems p = { 0 };
	struct xfer_opts o = { 0, 1, NULL };

	ck_assert_uint_eq(xfer_check(cur, d, &o, &p), 3);
	ck_assert(has(&p, "hosts[0].environment", "no environment prod"));
	ck_assert(has(&p, "hosts[0].distribution", "no distribution rocky-9"));
	ck_assert(has(&p, "hosts[0].macs", "belongs to host db1.example.org"));
	xfer_problems_free(&p);
	/* --replace removes db1 (not in the document): its MAC is free. */
	o.replace = 1;
	xfer_check(cur, d, &o, &p);
	ck_assert(!has(&p, "hosts[0].macs", "belongs to"));
	/* ... but not with --env lab: db1 is in default, and stays. */
	xfer_problems_free(&p);
	o.env = "lab";
	xfer_check(cur, d, &o, &p);
	ck_assert(has(&p, "hosts[0].macs", "belongs to host db1.example.org"));
	ck_assert(has(&p, "hosts[0].environment", "import --env lab"));
	xfer_problems_free(&p);
	xfer_doc_free(d);
	xfer_doc_free(cur);
}
END_TEST

START_TEST(test_check_replace_keeps_what_stays_usable)
{
	static const char text[] = HEAD "\"distributions\": [],"
	    "\"environments\": [{\"name\": \"default\", \"group\": \"\"}]}";
	struct xfer_doc *cur = parse_ok(cur_text), *d = parse_ok(text);
	struct xfer_problems p = { 0 };
	struct xfer_opts o = { 1, 1, NULL };

	/* Hosts of lab stay (no hosts section), and use debian-12 and lab. */
	xfer_check(cur, d, &o, &p);
	ck_assert(has(&p, "distributions", "remove distribution debian-12"));
	ck_assert(has(&p, "environments", "remove environment lab"));
	xfer_problems_free(&p);
	xfer_doc_free(d);
	xfer_doc_free(cur);
}
END_TEST

/* The plan as "op name key" lines. */
static void
plan_text(const struct xfer_doc *cur, const struct xfer_doc *d,
    const struct xfer_opts *o, struct buf *b)
{
	struct xfer_problems p = { 0 };
	struct xfer_plan pl;
	size_t i;

	ck_assert_uint_eq(xfer_check(cur, d, o, &p), 0);
	ck_assert_int_eq(xfer_plan(cur, d, o, &pl, NULL), BOOTD_OK);
	for (i = 0; i < pl.n; i++)
		buf_printf(b, "%s %s%s%s\n", xfer_op_name(pl.v[i].op),
		    pl.v[i].name, pl.v[i].key != NULL ? " " : "",
		    pl.v[i].key != NULL ? pl.v[i].key : "");
	xfer_plan_free(&pl);
	xfer_problems_free(&p);
}

/* The plan that makes cur_text what text says under o is want. */
static void
assert_plan(const char *text, const struct xfer_opts *o, const char *want)
{
	struct xfer_doc *cur = parse_ok(cur_text), *d = parse_ok(text);
	struct buf b = { 0 };

	plan_text(cur, d, o, &b);
	ck_assert_str_eq(buf_str(&b), want);
	buf_free(&b);
	xfer_doc_free(d);
	xfer_doc_free(cur);
}

START_TEST(test_plan_same_inventory_changes_nothing)
{
	struct xfer_opts o = { 1, 1, NULL };

	assert_plan(cur_text, &o, "");
}
END_TEST

START_TEST(test_plan_order)
{
	/* db1's MAC ...:03 moves to web1, web1 goes local and loses its
	 * attribute, new1 takes db1's other MAC after db1 is removed. */
	static const char text[] = HEAD "\"hosts\": ["
	    "{\"fqdn\": \"web1.example.org\", \"environment\": \"lab\","
	    " \"distribution\": \"debian-12\", \"macs\": [\"52:54:00:00:00:01\","
	    " \"52:54:00:00:00:03\", \"52:54:00:00:00:04\"]},"
	    "{\"fqdn\": \"new1.example.org\", \"action\": \"install\","
	    " \"distribution\": \"debian-12\", \"macs\": [\"52:54:00:00:00:02\"]}"
	    "]}";
	static const char want[] =
	    "remove host db1.example.org\n"
	    "add NIC web1.example.org 52:54:00:00:00:03\n"
	    "add NIC web1.example.org 52:54:00:00:00:04\n"
	    "add host new1.example.org\n"
	    "set reinstall new1.example.org\n"
	    "set local boot web1.example.org\n"
	    "unset attribute web1.example.org role\n";
	struct xfer_opts o = { 1, 0, NULL };

	assert_plan(text, &o, want);
}
END_TEST

START_TEST(test_plan_keeps_a_nic)
{
	/* db1 gives both its MACs to web1 and takes web1's only one: each
	 * host keeps a NIC at every step, and no MAC is added while
	 * another host has it. */
	static const char text[] = HEAD "\"hosts\": ["
	    "{\"fqdn\": \"web1.example.org\", \"environment\": \"lab\","
	    " \"action\": \"install\", \"distribution\": \"debian-12\","
	    " \"macs\": [\"52:54:00:00:00:02\", \"52:54:00:00:00:03\"],"
	    " \"attributes\": {\"role\": \"web\"}},"
	    "{\"fqdn\": \"db1.example.org\", \"macs\": [\"52:54:00:00:00:01\"]}]}";
	static const char want[] =
	    "remove NIC db1.example.org 52:54:00:00:00:02\n"
	    "add NIC web1.example.org 52:54:00:00:00:02\n"
	    "remove NIC web1.example.org 52:54:00:00:00:01\n"
	    "add NIC db1.example.org 52:54:00:00:00:01\n"
	    "remove NIC db1.example.org 52:54:00:00:00:03\n"
	    "add NIC web1.example.org 52:54:00:00:00:03\n";
	struct xfer_opts o = { 0, 1, NULL };

	assert_plan(text, &o, want);
}
END_TEST

START_TEST(test_replace_env_removes_hosts_only)
{
	static const char text[] = HEAD "\"distributions\": [],"
	    "\"environments\": [], \"hosts\": []}";
	struct xfer_opts o = { 1, 1, "lab" };

	/* web1 goes; debian-12 and lab, not in the document, stay. */
	assert_plan(text, &o, "remove host web1.example.org\n");
}
END_TEST

static Suite *
xfer_suite(void)
{
	Suite *s = suite_create("xfer");
	TCase *core = tcase_create("core"), *malformed =
	    tcase_create("malformed");

	tcase_add_test(core, test_parse_normalises_and_sorts);
	tcase_add_test(core, test_dump_is_stable);
	tcase_add_test(core, test_check_against_inventory);
	tcase_add_test(core, test_check_replace_keeps_what_stays_usable);
	tcase_add_test(core, test_plan_same_inventory_changes_nothing);
	tcase_add_test(core, test_plan_order);
	tcase_add_test(core, test_plan_keeps_a_nic);
	tcase_add_test(core, test_replace_env_removes_hosts_only);
	tcase_add_loop_test(malformed, test_parse_problems, 0, (int)N(bad));
	tcase_add_test(malformed, test_parse_reports_every_problem);
	suite_add_tcase(s, core);
	suite_add_tcase(s, malformed);
	return s;
}

int
main(void)
{
	return check_run(xfer_suite());
}
