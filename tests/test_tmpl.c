/*
 * test_tmpl.c - tests of {{variable}} templates (lib/tmpl.c)
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "tmpl.h"

static struct inv_kv test_attrs[] = {
	{ "puppet_role", "webserver" },
	{ "rack", "r12" },
	{ "x.y-z", "" },
};

static const struct tmpl_vars test_vars = {
	.fqdn = "web1.dc1.example.org",
	.mac = "52:54:00:12:34:56",
	.env = "prod",
	.dist = "debian-12",
	.token = "0123456789abcdef0123456789abcdef",
	.base_url = "http://boot.example.org",
	.attrs = test_attrs,
	.nattrs = sizeof(test_attrs) / sizeof(test_attrs[0]),
};

/* Render tmpl with vars into a static string; NULL and err on failure. */
static const char *
render(const char *tmpl, const struct tmpl_vars *vars, enum bootd_err *rcp,
    struct bootd_error *err)
{
	static struct buf out;

	buf_free(&out);
	*rcp = tmpl_render(tmpl, vars, &out, err);
	return *rcp == BOOTD_OK ? buf_str(&out) : NULL;
}

START_TEST(test_render_vars)
{
	struct bootd_error err;
	enum bootd_err rc;
	const char *s;

	s = render("{{fqdn}} {{hostname}} {{domain}} {{mac}} {{env}} "
	    "{{dist}} {{token}} {{base_url}} {{attr.puppet_role}} "
	    "{{attr.rack}}[{{attr.x.y-z}}]", &test_vars, &rc, &err);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_str_eq(s, "web1.dc1.example.org web1 dc1.example.org "
	    "52:54:00:12:34:56 prod debian-12 "
	    "0123456789abcdef0123456789abcdef http://boot.example.org "
	    "webserver r12[]");
}
END_TEST

START_TEST(test_render_blanks_and_literals)
{
	struct bootd_error err;
	enum bootd_err rc;
	const char *s;

	s = render("{{ fqdn }}|{{\tmac}}|{{dist\t }}", &test_vars, &rc, &err);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_str_eq(s, "web1.dc1.example.org|52:54:00:12:34:56|debian-12");

	/* iPXE settings, single braces and a stray "}}" pass through. */
	s = render("ip=${net0/ip} a{b}c }} {x} $ {{hostname}}}", &test_vars,
	    &rc, &err);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_str_eq(s, "ip=${net0/ip} a{b}c }} {x} $ web1}");
}
END_TEST

START_TEST(test_render_hostname_domain)
{
	struct tmpl_vars v = test_vars;
	struct bootd_error err;
	enum bootd_err rc;
	const char *s;

	v.fqdn = "solo";
	s = render("[{{hostname}}][{{domain}}]", &v, &rc, &err);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_str_eq(s, "[solo][]");
	v.fqdn = NULL;
	v.token = NULL;
	s = render("[{{hostname}}][{{domain}}][{{fqdn}}][{{token}}]", &v, &rc,
	    &err);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_str_eq(s, "[][][][]");
}
END_TEST

START_TEST(test_render_missing_attr)
{
	struct bootd_error err;
	struct buf out = { 0 };
	enum bootd_err rc;

	buf_puts(&out, "keep");
	rc = tmpl_render("a {{attr.nosuch}} b", &test_vars, &out, &err);
	ck_assert_int_eq(rc, BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "nosuch"));
	/* The output is left as it was. */
	ck_assert_str_eq(buf_str(&out), "keep");
	buf_free(&out);
}
END_TEST

static const struct {
	const char	*tmpl;
	const char	*needle;	/* expected in the error text */
} bad[] = {
	{ "{{fqdn", "unterminated" },
	{ "a {{fqdn} b", "unterminated" },
	{ "{{nosuch}}", "nosuch" },
	{ "{{FQDN}}", "FQDN" },
	{ "{{}}", "empty" },
	{ "{{  }}", "empty" },
	{ "{{attr.}}", "attr." },
	{ "{{attr.Upper}}", "attr.Upper" },
	{ "{{attr.a/b}}", "attr.a/b" },
	{ "{{attr}}", "attr" },
	{ "{{fqdn mac}}", "malformed" },
	{ "{{a}b}}", "malformed" },
	{ "{{{fqdn}}", "{fqdn" },
	{ "ok {{fqdn}} then {{", "offset 17" },
};

START_TEST(test_check_bad)
{
	struct bootd_error err;
	struct buf out = { 0 };

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(tmpl_check(bad[_i].tmpl, &err), BOOTD_EINVAL);
	ck_assert_msg(strstr(err.text, bad[_i].needle) != NULL,
	    "\"%s\": error \"%s\" lacks \"%s\"", bad[_i].tmpl, err.text,
	    bad[_i].needle);
	/* Render fails the same way. */
	ck_assert_int_eq(tmpl_render(bad[_i].tmpl, &test_vars, &out, NULL),
	    BOOTD_EINVAL);
	ck_assert_str_eq(buf_str(&out), "");
	buf_free(&out);
}
END_TEST

START_TEST(test_check_good)
{
	static const char *const good[] = {
		"",
		"plain text",
		"http://{{base_url}}/{{dist}}/vmlinuz",
		"${net0/ip} ${platform}",
		"}} }",
		"{ {",
		"{{attr.a}}{{attr.0-9_.z}}",
	};
	struct bootd_error err;
	char t[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(tmpl_check(good[i], &err) == BOOTD_OK,
		    "\"%s\": %s", good[i], err.text);
	ck_assert_int_eq(tmpl_check(NULL, &err), BOOTD_EINVAL);

	/* Attribute keys are 1-64 characters, as valid_attr_key(). */
	strcpy(t, "{{attr.");
	memset(t + 7, 'k', 64);
	strcpy(t + 7 + 64, "}}");
	ck_assert_int_eq(tmpl_check(t, &err), BOOTD_OK);
	strcpy(t + 7 + 64, "k}}");
	ck_assert_int_eq(tmpl_check(t, &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "unknown"));
	/* err may be NULL. */
	ck_assert_int_eq(tmpl_check("{{x}}", NULL), BOOTD_EINVAL);
}
END_TEST

struct keys {
	char	text[256];
	int	stop_at;	/* stop (non-zero) at this call, 0 = never */
	int	calls;
};

static int
collect(const char *key, void *arg)
{
	struct keys *k = arg;

	k->calls++;
	strcat(k->text, key);
	strcat(k->text, ",");
	return k->calls == k->stop_at;
}

START_TEST(test_each_attr)
{
	struct bootd_error err;
	struct keys k;

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(tmpl_each_attr("{{fqdn}} r={{attr.role}} "
	    "{{ attr.rack }} {{attr.role}} ${attr.no}", collect, &k, &err),
	    BOOTD_OK);
	ck_assert_str_eq(k.text, "role,rack,role,");

	memset(&k, 0, sizeof(k));
	k.stop_at = 2;
	ck_assert_int_eq(tmpl_each_attr("{{attr.a}}{{attr.b}}{{attr.c}}",
	    collect, &k, &err), BOOTD_EINVAL);
	ck_assert_int_eq(k.calls, 2);
	ck_assert_ptr_nonnull(strstr(err.text, "\"b\""));

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(tmpl_each_attr("{{attr.a}} {{bad}}", collect, &k,
	    &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "bad"));
}
END_TEST

START_TEST(test_error_text_safe)
{
	struct bootd_error err;
	const char *p;

	/* Control characters in a bad name are not copied to the text. */
	ck_assert_int_eq(tmpl_check("{{a\nb\x01\xff}}", &err), BOOTD_EINVAL);
	for (p = err.text; *p != '\0'; p++)
		ck_assert((unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f);
}
END_TEST

START_TEST(test_values_copied_verbatim)
{
	struct tmpl_vars v = test_vars;
	struct bootd_error err;
	enum bootd_err rc;
	const char *s;

	/* tmpl_render does not judge values: its callers do. */
	v.fqdn = "{{mac}} ${x}";
	s = render("<{{fqdn}}>", &v, &rc, &err);
	ck_assert_int_eq(rc, BOOTD_OK);
	ck_assert_str_eq(s, "<{{mac}} ${x}>");
}
END_TEST

static Suite *
tmpl_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("tmpl");
	tc = tcase_create("core");
	tcase_add_test(tc, test_render_vars);
	tcase_add_test(tc, test_render_blanks_and_literals);
	tcase_add_test(tc, test_render_hostname_domain);
	tcase_add_test(tc, test_each_attr);
	tcase_add_test(tc, test_values_copied_verbatim);
	suite_add_tcase(s, tc);
	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, test_check_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_check_good);
	tcase_add_test(tc, test_render_missing_attr);
	tcase_add_test(tc, test_error_text_safe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(tmpl_suite());
}
