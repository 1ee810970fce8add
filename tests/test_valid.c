/*
 * test_valid.c - validation of values on their way into the inventory
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_util.h"
#include "valid.h"

/*
 * An error text is one line, names the field, and carries no raw control
 * character or non-ASCII byte.
 */
static void
assert_clean(const struct bootd_error *err, const char *field)
{
	size_t i;

	ck_assert_str_ne(err->text, "");
	ck_assert_msg(strstr(err->text, field) != NULL,
	    "\"%s\" does not name %s", err->text, field);
	for (i = 0; err->text[i] != '\0'; i++)
		ck_assert_msg((unsigned char)err->text[i] >= 0x20 &&
		    (unsigned char)err->text[i] < 0x7f,
		    "raw byte 0x%02x in \"%s\"", (unsigned char)err->text[i],
		    err->text);
}

/* FQDNs -------------------------------------------------------------- */

static const char *const good_fqdn[] = {
	"a",
	"web1",
	"web1.example.org",
	"WEB1.Example.ORG",
	"a-b.c-d.e",
	"0.1.2.3",
	"xn--bcher-kva.example",
	/* 63-character label */
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
};

static const char *const bad_fqdn[] = {
	"",
	".",
	"a..b",
	".a.b",
	"a.b.",
	"-a.b",
	"a-.b",
	"a.-b",
	"a_b.c",
	"a b.c",
	"a\tb",
	"a\nb",
	"a\rb",
	"web1\x01",
	"a;shell",
	"a${x}.org",
	"525400abcdef",			/* names that read as MACs */
	"52-54-00-AA-BB-CC",
	"cafe.beef.face",
	"a#b",
	"a/b",
	"caf\xc3\xa9.example",
	("a\x7f" "b"),	/* two literals: \x7fb would be one escape */
	/* 64-character label */
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
};

START_TEST(test_fqdn_good)
{
	struct bootd_error err = { "" };

	ck_assert_msg(valid_fqdn(good_fqdn[_i], &err) == BOOTD_OK, "%s: %s",
	    good_fqdn[_i], err.text);
}
END_TEST

START_TEST(test_fqdn_bad)
{
	struct bootd_error err = { "" };

	ck_assert_int_eq(valid_fqdn(bad_fqdn[_i], &err), BOOTD_EINVAL);
	assert_clean(&err, "FQDN");
}
END_TEST

START_TEST(test_fqdn_messages)
{
	struct bootd_error err;

	ck_assert_int_eq(valid_fqdn("a..b", &err), BOOTD_EINVAL);
	ck_assert_str_eq(err.text, "invalid FQDN \"a..b\": empty label");
	ck_assert_int_eq(valid_fqdn("ab\x01" "c", &err), BOOTD_EINVAL);
	ck_assert_str_eq(err.text, "invalid FQDN \"ab\\x01c\": control "
	    "character at position 3");
	ck_assert_int_eq(valid_fqdn(NULL, &err), BOOTD_EINVAL);
	ck_assert_int_eq(valid_fqdn(NULL, NULL), BOOTD_EINVAL);
}
END_TEST

START_TEST(test_fqdn_length)
{
	char s[300];
	size_t i;

	/* 4 labels of 63 + 3 dots = 255 > 253; 252 + "a" ok. */
	for (i = 0; i < 255; i++)
		s[i] = (i % 64 == 63) ? '.' : 'a';
	s[255] = '\0';
	ck_assert_int_eq(valid_fqdn(s, NULL), BOOTD_EINVAL);
	s[253] = '\0';
	ck_assert_int_eq(valid_fqdn(s, NULL), BOOTD_OK);
	s[252] = '\0';
	ck_assert_int_eq(valid_fqdn(s, NULL), BOOTD_OK);
	s[252] = 'a';
	s[253] = 'a';
	s[254] = '\0';
	ck_assert_int_eq(valid_fqdn(s, NULL), BOOTD_EINVAL);
}
END_TEST

/* Attribute keys and values ------------------------------------------ */

static const char *const good_key[] = {
	"a", "puppet_role", "x.y-z_0", "0", "rack.slot",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static const char *const bad_key[] = {
	"", "A", "Role", "a b", "a=b", "a\n", "a\x01", "${x}", "a/b", "a#",
	"k\xc3\xa9",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static const char *const good_value[] = {
	"", "webserver", "Web_Server-1.2", "a=b", "http://x/y?z=1&w=2",
	"{{not-a-template}}", "$x", "a$", "#x", "||", ";", "a\\",
};

static const char *const bad_value[] = {
	"a b", " ", "a\tb", "a\nb", "a\rb", "${x}", "a${b", "${",
	"\x1b[31m", "\x7f", "caf\xc3\xa9", "trailing ",
};

START_TEST(test_key_good)
{
	struct bootd_error err = { "" };

	ck_assert_msg(valid_attr_key(good_key[_i], &err) == BOOTD_OK,
	    "%s: %s", good_key[_i], err.text);
}
END_TEST

START_TEST(test_key_bad)
{
	struct bootd_error err = { "" };

	ck_assert_int_eq(valid_attr_key(bad_key[_i], &err), BOOTD_EINVAL);
	assert_clean(&err, "attribute key");
}
END_TEST

START_TEST(test_value_good)
{
	struct bootd_error err = { "" };

	ck_assert_msg(valid_attr_value(good_value[_i], &err) == BOOTD_OK,
	    "%s: %s", good_value[_i], err.text);
}
END_TEST

START_TEST(test_value_bad)
{
	struct bootd_error err = { "" };

	ck_assert_int_eq(valid_attr_value(bad_value[_i], &err), BOOTD_EINVAL);
	assert_clean(&err, "attribute value");
}
END_TEST

/* Every control character (and DEL) is refused in keys and values. */
START_TEST(test_value_every_control)
{
	struct bootd_error err;
	char s[4];
	int c;

	for (c = 1; c < 0x20; c++) {
		snprintf(s, sizeof(s), "a%cb", c);
		ck_assert_int_eq(valid_attr_value(s, &err), BOOTD_EINVAL);
		assert_clean(&err, "attribute value");
		ck_assert_int_eq(valid_attr_key(s, &err), BOOTD_EINVAL);
		assert_clean(&err, "attribute key");
	}
	ck_assert_int_eq(valid_attr_value("a\x7f", &err), BOOTD_EINVAL);
	for (c = 0x21; c < 0x7f; c++) {
		snprintf(s, sizeof(s), "a%cb", c);
		ck_assert_int_eq(valid_attr_value(s, NULL), BOOTD_OK);
	}
}
END_TEST

START_TEST(test_value_length)
{
	char s[300];

	memset(s, 'v', sizeof(s));
	s[255] = '\0';
	ck_assert_int_eq(valid_attr_value(s, NULL), BOOTD_OK);
	s[255] = 'v';
	s[256] = '\0';
	ck_assert_int_eq(valid_attr_value(s, NULL), BOOTD_EINVAL);
	ck_assert_int_eq(valid_attr_value(NULL, NULL), BOOTD_EINVAL);
	ck_assert_int_eq(valid_attr_key(NULL, NULL), BOOTD_EINVAL);
}
END_TEST

/* Names and groups --------------------------------------------------- */

static const char *const good_name[] = {
	"debian-12", "rhel-9.4", "A", "0", "ubuntu_24.04+hwe", "Prod",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static const char *const bad_name[] = {
	"", "-x", ".x", "_x", "+x", "a b", "a/b", "a\n", "a\x01", "${x}",
	"a;b", "a#b", "\xc3\xa9t\xc3\xa9",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static const char *const good_group[] = {
	"", "wheel", "_sys", "boot-admins", "g0_1", "ops-team",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static const char *const bad_group[] = {
	"0abc", "-x", "Wheel", "a b", "a.b", "a\n", "a\x01", "a:b", "a;b",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

START_TEST(test_name_good)
{
	struct bootd_error err = { "" };

	ck_assert_msg(valid_name("distribution", good_name[_i], &err) ==
	    BOOTD_OK, "%s: %s", good_name[_i], err.text);
}
END_TEST

START_TEST(test_name_bad)
{
	struct bootd_error err = { "" };

	ck_assert_int_eq(valid_name("environment", bad_name[_i], &err),
	    BOOTD_EINVAL);
	assert_clean(&err, "environment name");
}
END_TEST

START_TEST(test_name_field)
{
	struct bootd_error err;

	ck_assert_int_eq(valid_name("distribution", "a b", &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "invalid distribution name "
	    "\"a b\""));
	ck_assert_int_eq(valid_name("distribution name", "", &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_null(strstr(err.text, "name name"));
	ck_assert_int_eq(valid_name("distribution", NULL, NULL), BOOTD_EINVAL);
}
END_TEST

START_TEST(test_group_good)
{
	struct bootd_error err = { "" };

	ck_assert_msg(valid_group(good_group[_i], &err) == BOOTD_OK, "%s: %s",
	    good_group[_i], err.text);
}
END_TEST

START_TEST(test_group_bad)
{
	struct bootd_error err = { "" };

	ck_assert_int_eq(valid_group(bad_group[_i], &err), BOOTD_EINVAL);
	assert_clean(&err, "unix group");
}
END_TEST

/* Templates ---------------------------------------------------------- */

static const char *const good_url[] = {
	"http://boot.example.org/images/debian-12/linux",
	"https://boot.example.org/images/initrd.gz",
	"{{base_url}}",
	"{{base_url}}/images/{{dist}}/linux",
	"http://x/{{dist}}/linux?mac={{mac}}&host={{fqdn}}",
	"https://x/${buildarch}/linux",
	"http://x/{{attr.puppet_role}}/{{token}}",
	"http://x/a;b||c&&d#frag",
};

static const char *const bad_url[] = {
	"",
	"ftp://x/linux",
	"tftp://x/linux",
	"x/linux",
	"http://",
	"http://x/a b",
	"http://x/a\tb",
	"http://x/a\nkernel http://evil/",
	"http://x/\x01",
	"http://x/caf\xc3\xa9",
	"http://x/{{nope}}",
	"http://x/{{attr.}}",
	"http://x/{{attr.Bad}}",
	"http://x/{{fqdn",
	"http://x/{{}}",
	"HTTP://x/linux",
	"http:///linux",
	"{{fqdn}}/linux",
	"{{ base_url }}x",
	"/images/linux",
};

START_TEST(test_url_good)
{
	struct bootd_error err = { "" };

	ck_assert_msg(valid_url_template(good_url[_i], &err) == BOOTD_OK,
	    "%s: %s", good_url[_i], err.text);
}
END_TEST

START_TEST(test_url_bad)
{
	struct bootd_error err = { "" };

	ck_assert_int_eq(valid_url_template(bad_url[_i], &err), BOOTD_EINVAL);
	assert_clean(&err, "URL template");
}
END_TEST

START_TEST(test_url_length)
{
	char s[1100];

	memcpy(s, "http://x/", 9);
	memset(s + 9, 'a', sizeof(s) - 9);
	s[1024] = '\0';
	ck_assert_int_eq(valid_url_template(s, NULL), BOOTD_OK);
	s[1024] = 'a';
	s[1025] = '\0';
	ck_assert_int_eq(valid_url_template(s, NULL), BOOTD_EINVAL);
	ck_assert_int_eq(valid_url_template(NULL, NULL), BOOTD_EINVAL);
}
END_TEST

static const char *const good_cmdline[] = {
	"",
	"console=ttyS0",
	"auto=true priority=critical url={{base_url}}/preseed/{{fqdn}}.cfg",
	"ks=http://x/ks?token={{token}} role={{attr.role}}",
	"a#b",			/* '#' inside a word is not a comment */
	"a||b a&&b a;b",	/* chained only as separate words */
	"quiet  splash ",
	"x=\\y",
	"ip=${ip} BOOTIF=${net0/mac}",
};

static const char *const bad_cmdline[] = {
	"# comment",
	"quiet #x",
	"quiet || shell",
	"quiet && shell",
	"quiet ; shell",
	";",
	"quiet\\",
	"quiet \\",
	"quiet \\  ",
	"quiet\nshell",
	"quiet\tsplash",
	"quiet\rshell",
	"quiet\x01",
	"quiet\x7f",
	"caf\xc3\xa9",
	"{{nope}}",
	"{{attr.X}}",
	"{{fqdn",
};

START_TEST(test_cmdline_good)
{
	struct bootd_error err = { "" };

	ck_assert_msg(valid_cmdline_template(good_cmdline[_i], &err) ==
	    BOOTD_OK, "%s: %s", good_cmdline[_i], err.text);
}
END_TEST

START_TEST(test_cmdline_bad)
{
	struct bootd_error err = { "" };

	ck_assert_int_eq(valid_cmdline_template(bad_cmdline[_i], &err),
	    BOOTD_EINVAL);
	assert_clean(&err, "command-line template");
}
END_TEST

START_TEST(test_cmdline_every_control)
{
	struct bootd_error err;
	char s[16];
	int c;

	for (c = 1; c < 0x20; c++) {
		snprintf(s, sizeof(s), "a=%cb", c);
		ck_assert_int_eq(valid_cmdline_template(s, &err),
		    BOOTD_EINVAL);
		assert_clean(&err, "command-line template");
		snprintf(s, sizeof(s), "http://%c", c);
		ck_assert_int_eq(valid_url_template(s, &err), BOOTD_EINVAL);
		assert_clean(&err, "URL template");
	}
}
END_TEST

START_TEST(test_cmdline_length)
{
	char s[2100];

	memset(s, 'a', sizeof(s));
	s[2048] = '\0';
	ck_assert_int_eq(valid_cmdline_template(s, NULL), BOOTD_OK);
	s[2048] = 'a';
	s[2049] = '\0';
	ck_assert_int_eq(valid_cmdline_template(s, NULL), BOOTD_EINVAL);
	ck_assert_int_eq(valid_cmdline_template(NULL, NULL), BOOTD_EINVAL);
}
END_TEST

/* Quoting ------------------------------------------------------------ */

START_TEST(test_quote)
{
	char out[64], small[8], big[600];

	ck_assert_str_eq(valid_quote("abc", out, sizeof(out)), "abc");
	ck_assert_str_eq(valid_quote("a\"b\\c", out, sizeof(out)),
	    "a\\\"b\\\\c");
	ck_assert_str_eq(valid_quote("\x01\n\x7f\xff", out, sizeof(out)),
	    "\\x01\\x0a\\x7f\\xff");
	ck_assert_str_eq(valid_quote(NULL, out, sizeof(out)), "(null)");
	ck_assert_str_eq(valid_quote("abcdefghij", small, sizeof(small)),
	    "a...");
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	valid_quote(big, out, sizeof(out));
	ck_assert_uint_lt(strlen(out), sizeof(out));
	ck_assert_ptr_null(strchr(out, '\n'));
	ck_assert_str_eq(out + strlen(out) - 3, "...");
}
END_TEST

/* Reserved attributes: bootd.menu_timeout as the renderer reads it. */
START_TEST(test_reserved_attr)
{
	static const char *const bad[] = {
		"", "10s", "3601", "-1", "+5", "1e3", "0x10", "99999",
		"000003601", " 5"
	};
	struct bootd_error err;
	size_t i;

	ck_assert_int_eq(valid_menu_timeout("0"), 0);
	ck_assert_int_eq(valid_menu_timeout("30"), 30);
	ck_assert_int_eq(valid_menu_timeout("3600"), 3600);
	ck_assert_int_eq(valid_menu_timeout("0030"), 30);
	ck_assert_int_eq(valid_menu_timeout(NULL), -1);
	for (i = 0; i < N(bad); i++) {
		ck_assert_int_eq(valid_menu_timeout(bad[i]), -1);
		ck_assert_int_eq(valid_attr(VALID_MENU_TIMEOUT, bad[i], &err),
		    BOOTD_EINVAL);
	}
	ck_assert_int_eq(valid_attr(VALID_MENU_TIMEOUT, "3601", &err),
	    BOOTD_EINVAL);
	ck_assert_str_eq(err.text, "invalid value of bootd.menu_timeout "
	    "\"3601\": expected whole seconds from 0 to 3600, digits only");
	ck_assert_int_eq(valid_attr(VALID_MENU_TIMEOUT, "10", &err), BOOTD_OK);
	ck_assert_int_eq(valid_attr("bootd.timeout", "10", &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "bootd's own"));
	ck_assert_int_eq(valid_attr("bootdx", "10s", &err), BOOTD_OK);
	ck_assert_int_eq(valid_attr("rack", "r12", &err), BOOTD_OK);
	ck_assert_int_eq(valid_attr("Rack", "r12", &err), BOOTD_EINVAL);
	ck_assert_int_eq(valid_attr("rack", "a b", &err), BOOTD_EINVAL);
}
END_TEST

static Suite *
valid_suite(void)
{
	Suite *s = suite_create("valid");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_loop_test(tc, test_fqdn_good, 0, N(good_fqdn));
	tcase_add_loop_test(tc, test_key_good, 0, N(good_key));
	tcase_add_loop_test(tc, test_value_good, 0, N(good_value));
	tcase_add_loop_test(tc, test_name_good, 0, N(good_name));
	tcase_add_loop_test(tc, test_group_good, 0, N(good_group));
	tcase_add_loop_test(tc, test_url_good, 0, N(good_url));
	tcase_add_loop_test(tc, test_cmdline_good, 0, N(good_cmdline));
	tcase_add_test(tc, test_fqdn_messages);
	tcase_add_test(tc, test_name_field);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_reserved_attr);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_fqdn_length);
	tcase_add_test(tc, test_value_length);
	tcase_add_test(tc, test_url_length);
	tcase_add_test(tc, test_cmdline_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, test_fqdn_bad, 0, N(bad_fqdn));
	tcase_add_loop_test(tc, test_key_bad, 0, N(bad_key));
	tcase_add_loop_test(tc, test_value_bad, 0, N(bad_value));
	tcase_add_test(tc, test_value_every_control);
	tcase_add_loop_test(tc, test_name_bad, 0, N(bad_name));
	tcase_add_loop_test(tc, test_group_bad, 0, N(bad_group));
	tcase_add_loop_test(tc, test_url_bad, 0, N(bad_url));
	tcase_add_loop_test(tc, test_cmdline_bad, 0, N(bad_cmdline));
	tcase_add_test(tc, test_cmdline_every_control);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(valid_suite());
}
