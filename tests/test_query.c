/*
 * test_query.c - tests of bootd's request parameter decoding and validator
 * table (fcgi/query.c)
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../fcgi/bootd.h"
#include "check_util.h"

/* Parse s (as a C string) into q; returns the code, reason in err. */
static enum bootd_err
parse(const char *s, struct query *q, struct bootd_error *err)
{
	memset(err, 0, sizeof(*err));
	return query_parse(s, strlen(s), q, err);
}

START_TEST(test_ipxe_escaped_mac)
{
	struct bootd_error err;
	struct query q;

	ck_assert_int_eq(parse("mac=52%3A54%3A00%3A12%3A34%3A56", &q, &err),
	    BOOTD_OK);
	ck_assert_int_eq(q.set[QUERY_MAC], 1);
	ck_assert_str_eq(q.v[QUERY_MAC], "52:54:00:12:34:56");
}
END_TEST

START_TEST(test_mac_spellings_canonical)
{
	static const char *const in[] = {
		"mac=52-54-00-AB-cd-EF", "mac=525400abcdef",
		"mac=52%3a54%3a00%3aab%3acd%3aef", "mac=5254.00ab.cdef",
	};
	struct bootd_error err;
	struct query q;
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_assert_int_eq(parse(in[i], &q, &err), BOOTD_OK);
		ck_assert_str_eq(q.v[QUERY_MAC], "52:54:00:ab:cd:ef");
	}
}
END_TEST

START_TEST(test_all_params)
{
	struct bootd_error err;
	struct query q;

	ck_assert_int_eq(parse("mac=52:54:00:12:34:56&platform=efi"
	    "&buildarch=x86_64&uuid=8c4e1f5a-0b1e-4c3a-9d5e-6f7a8b9c0d1e"
	    "&serial=SN+123&asset=A%2F7&manufacturer=QEMU"
	    "&product=Standard+PC+(Q35+%2B+ICH9,+2009)&hostname=web1.example.org",
	    &q, &err), BOOTD_OK);
	ck_assert_str_eq(q.v[QUERY_PLATFORM], "efi");
	ck_assert_str_eq(q.v[QUERY_BUILDARCH], "x86_64");
	ck_assert_str_eq(q.v[QUERY_UUID],
	    "8c4e1f5a-0b1e-4c3a-9d5e-6f7a8b9c0d1e");
	ck_assert_str_eq(q.v[QUERY_SERIAL], "SN 123");
	ck_assert_str_eq(q.v[QUERY_ASSET], "A/7");
	ck_assert_str_eq(q.v[QUERY_PRODUCT], "Standard PC (Q35 + ICH9, 2009)");
	ck_assert_str_eq(q.v[QUERY_HOSTNAME], "web1.example.org");
	ck_assert_int_eq(q.set[QUERY_TOKEN], 0);
}
END_TEST

START_TEST(test_unknown_ignored)
{
	struct bootd_error err;
	struct query q;

	ck_assert_int_eq(parse("&&foo=%zz&mac=525400123456&bar&"
	    "averyveryveryverylongparameternamethatisignored=1&x=%00&",
	    &q, &err), BOOTD_OK);
	ck_assert_str_eq(q.v[QUERY_MAC], "52:54:00:12:34:56");
}
END_TEST

/*
 * Names match literally: nginx logs mac="$arg_mac" by the literal name,
 * so a decoded name would be served under a log line saying mac="-".
 */
START_TEST(test_escaped_name_refused)
{
	static const char *const in[] = {
		"ma%63=52:54:00:12:34:57", "%6dac=525400123457",
		"m%61c=525400123457", "mac%00=525400123457",
		"token%3D=0123456789abcdef0123456789abcdef",
		"mac=525400123456&plat%66orm=efi", "my+name=x&mac=525400123456",
		"%zz=1&mac=525400123456", "mac=525400123456&%=1",
	};
	struct bootd_error err;
	struct query q;
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_assert_msg(parse(in[i], &q, &err) == BOOTD_EINVAL,
		    "\"%s\" was accepted", in[i]);
		ck_assert_ptr_nonnull(strstr(err.text, "literally"));
		ck_assert_ptr_null(strchr(err.text, '\n'));
	}
	/* Shown cut and printable. */
	ck_assert_int_eq(parse("a%0a%0d%1bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb=1",
	    &q, &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "\"a%0a%0d%1b"));
	ck_assert_ptr_nonnull(strstr(err.text, "...\""));
	/* Escapes in values stay fine; so does a literal unknown name. */
	ck_assert_int_eq(parse("mac=52%3A54%3A00%3A12%3A34%3A56&x.y-z_1=%41",
	    &q, &err), BOOTD_OK);
	ck_assert_str_eq(q.v[QUERY_MAC], "52:54:00:12:34:56");
}
END_TEST

START_TEST(test_empty_is_absent)
{
	struct bootd_error err;
	struct query q;

	ck_assert_int_eq(parse("mac=&platform=&hostname", &q, &err),
	    BOOTD_OK);
	ck_assert_int_eq(q.set[QUERY_MAC], 0);
	ck_assert_int_eq(q.set[QUERY_PLATFORM], 0);
	ck_assert_int_eq(q.set[QUERY_HOSTNAME], 0);
	ck_assert_int_eq(parse("", &q, &err), BOOTD_OK);
	ck_assert_int_eq(q.set[QUERY_MAC], 0);
}
END_TEST

START_TEST(test_length_argument_bounds)
{
	struct bootd_error err;
	struct query q;
	const char *s = "mac=525400123456&platform=efi";

	/* Only the first 16 bytes: the platform is not seen. */
	ck_assert_int_eq(query_parse(s, 16, &q, &err), BOOTD_OK);
	ck_assert_int_eq(q.set[QUERY_MAC], 1);
	ck_assert_int_eq(q.set[QUERY_PLATFORM], 0);
	/* A cut escape is malformed. */
	ck_assert_int_eq(query_parse("mac=52%3A54", 6, &q, &err),
	    BOOTD_EINVAL);
}
END_TEST

START_TEST(test_repeated_mac)
{
	struct bootd_error err;
	struct query q;

	ck_assert_int_eq(parse("mac=525400123456&mac=525400123457", &q, &err),
	    BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "mac"));
	ck_assert_int_eq(parse("mac=525400123456&mac=", &q, &err),
	    BOOTD_EINVAL);
	/* An informational parameter given twice is only left out. */
	ck_assert_int_eq(parse("platform=efi&mac=525400123456&platform=efi",
	    &q, &err), BOOTD_OK);
	ck_assert_int_eq(q.set[QUERY_MAC], 1);
	ck_assert_int_eq(q.set[QUERY_PLATFORM], 0);
	ck_assert_int_eq(q.dropped[QUERY_PLATFORM], 1);
	ck_assert_str_eq(q.v[QUERY_PLATFORM], "");
	ck_assert_int_eq(parse("token=a&token=b", &q, &err), BOOTD_EINVAL);
}
END_TEST

/* Every malformed value is refused, with the parameter named. */
static const struct {
	const char	*query;
	const char	*name;		/* expected in the reason */
} bad[] = {
	{ "mac=zz:54:00:12:34:56", "mac" },
	{ "mac=52:54:00:12:34", "mac" },
	{ "mac=52:54:00:12:34:56:78", "mac" },
	{ "mac=52:54-00:12:34:56", "mac" },
	{ "mac=%", "mac" },
	{ "mac=%4", "mac" },
	{ "mac=%zz", "mac" },
	{ "mac=52%3A54%3A00%3A12%3A34%3A56%00", "mac" },
	{ "mac=525400123456&token=%00", "token" },
	{ "token=%ZZ", "token" },
};

/*
 * A malformed informational value is left out and marked dropped; the MAC
 * beside it still counts.
 */
static const struct {
	const char		*query;
	enum query_param	 param;
} dropped[] = {
	{ "mac=525400123456&platform=pc%20bios", QUERY_PLATFORM },
	{ "mac=525400123456&platform=efi%0A", QUERY_PLATFORM },
	{ "mac=525400123456&buildarch=x86_64;reboot", QUERY_BUILDARCH },
	{ "mac=525400123456&uuid=not-a-uuid", QUERY_UUID },
	{ "mac=525400123456&uuid=%ZZ", QUERY_UUID },
	{ "mac=525400123456&serial=a%0Ab", QUERY_SERIAL },
	{ "mac=525400123456&serial=%1B%5B2J", QUERY_SERIAL },
	{ "mac=525400123456&serial=%00", QUERY_SERIAL },
	{ "mac=525400123456&product=caf%C3%A9", QUERY_PRODUCT },
	{ "mac=525400123456&asset=%7F", QUERY_ASSET },
	{ "mac=525400123456&hostname=a%20b", QUERY_HOSTNAME },
	{ "mac=525400123456&hostname=$%7Bx%7D", QUERY_HOSTNAME },
	{ "mac=525400123456&manufacturer=%0D", QUERY_MANUFACTURER },
	{ "product=%&mac=525400123456", QUERY_PRODUCT },
};

START_TEST(test_dropped)
{
	struct bootd_error err;
	struct query q;
	char names[128];
	int i;

	ck_assert_int_eq(parse(dropped[_i].query, &q, &err), BOOTD_OK);
	ck_assert_int_eq(q.set[QUERY_MAC], 1);
	ck_assert_str_eq(q.v[QUERY_MAC], "52:54:00:12:34:56");
	for (i = 0; i < QUERY__MAX; i++) {
		ck_assert_int_eq(q.dropped[i], i == (int)dropped[_i].param);
		if (i != QUERY_MAC)
			ck_assert_int_eq(q.set[i], 0);
	}
	ck_assert_str_eq(q.v[dropped[_i].param], "");
	query_format_dropped(&q, names, sizeof(names));
	ck_assert_str_eq(names, query_name(dropped[_i].param));
}
END_TEST

START_TEST(test_format_dropped)
{
	struct bootd_error err;
	struct query q;
	char names[128], small[12];

	ck_assert_int_eq(parse("mac=525400123456&serial=%01&product=%02"
	    "&platform=a%20b", &q, &err), BOOTD_OK);
	query_format_dropped(&q, names, sizeof(names));
	ck_assert_str_eq(names, "platform,serial,product");
	/* Cut at the last whole name that fits. */
	query_format_dropped(&q, small, sizeof(small));
	ck_assert_str_eq(small, "platform");
	ck_assert_int_eq(parse("mac=525400123456", &q, &err), BOOTD_OK);
	query_format_dropped(&q, names, sizeof(names));
	ck_assert_str_eq(names, "");
}
END_TEST

START_TEST(test_malformed)
{
	struct bootd_error err;
	struct query q;

	ck_assert_int_eq(parse(bad[_i].query, &q, &err), BOOTD_EINVAL);
	ck_assert_msg(strstr(err.text, bad[_i].name) != NULL,
	    "reason \"%s\" for \"%s\" does not name %s", err.text,
	    bad[_i].query, bad[_i].name);
	ck_assert_ptr_null(strchr(err.text, '\n'));
}
END_TEST

START_TEST(test_value_length_limit)
{
	struct bootd_error err;
	struct query q;
	char s[512];

	/* 128 bytes decoded: accepted; 129: refused. */
	memcpy(s, "serial=", 7);
	memset(s + 7, 'x', QUERY_VALUE_MAX);
	s[7 + QUERY_VALUE_MAX] = '\0';
	ck_assert_int_eq(parse(s, &q, &err), BOOTD_OK);
	ck_assert_uint_eq(strlen(q.v[QUERY_SERIAL]), QUERY_VALUE_MAX);
	memcpy(s + 7 + QUERY_VALUE_MAX, "x", 2);
	ck_assert_int_eq(parse(s, &q, &err), BOOTD_OK);	/* left out */
	ck_assert_int_eq(q.set[QUERY_SERIAL], 0);
	ck_assert_int_eq(q.dropped[QUERY_SERIAL], 1);
	/* The same length refuses a strict parameter. */
	memcpy(s, "token=", 6);
	memset(s + 6, 'x', QUERY_VALUE_MAX + 1);
	s[6 + QUERY_VALUE_MAX + 1] = '\0';
	ck_assert_int_eq(parse(s, &q, &err), BOOTD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "longer than 128"));
	/* The limit counts decoded bytes: 128 escapes are 128 bytes. */
	strcpy(s, "serial=");
	for (int i = 0; i < QUERY_VALUE_MAX; i++)
		strcat(s, "%41");
	ck_assert_int_eq(parse(s, &q, &err), BOOTD_OK);
	ck_assert_uint_eq(strlen(q.v[QUERY_SERIAL]), QUERY_VALUE_MAX);
}
END_TEST

START_TEST(test_format_params)
{
	struct bootd_error err;
	struct query q;
	struct buf b = { 0 };

	ck_assert_int_eq(parse("token=0123456789abcdef0123456789abcdef"
	    "&mac=525400123456&product=Standard+PC&platform=efi"
	    "&serial=100%25", &q, &err), BOOTD_OK);
	query_format_params(&q, &b);
	/* Table order; mac and token never recorded; space and % escaped. */
	ck_assert_str_eq(buf_str(&b),
	    "platform=efi serial=100%25 product=Standard%20PC");
	buf_reset(&b);
	/* Runs of safe bytes between escapes; ':' and '/' kept. */
	ck_assert_int_eq(parse("mac=525400123456&product=x1:a/b~~c_d.e-f",
	    &q, &err), BOOTD_OK);
	query_format_params(&q, &b);
	ck_assert_str_eq(buf_str(&b), "product=x1:a/b%7E%7Ec_d.e-f");
	buf_reset(&b);
	ck_assert_int_eq(parse("mac=525400123456", &q, &err), BOOTD_OK);
	query_format_params(&q, &b);
	ck_assert_str_eq(buf_str(&b), "");
	buf_free(&b);
	ck_assert_str_eq(query_name(QUERY_MAC), "mac");
	ck_assert_str_eq(query_name(QUERY_TOKEN), "token");
}
END_TEST

static Suite *
query_suite(void)
{
	Suite *s = suite_create("query");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, test_ipxe_escaped_mac);
	tcase_add_test(tc, test_mac_spellings_canonical);
	tcase_add_test(tc, test_all_params);
	tcase_add_test(tc, test_unknown_ignored);
	tcase_add_test(tc, test_empty_is_absent);
	tcase_add_test(tc, test_format_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_length_argument_bounds);
	tcase_add_test(tc, test_value_length_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_test(tc, test_repeated_mac);
	tcase_add_test(tc, test_escaped_name_refused);
	tcase_add_loop_test(tc, test_malformed, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_dropped, 0,
	    sizeof(dropped) / sizeof(dropped[0]));
	tcase_add_test(tc, test_format_dropped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(query_suite());
}
