/*
 * test_mac.c - MAC parsing and formatting
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_util.h"
#include "mac.h"

static const struct {
	const char *in;
	const char *canon;
} valid[] = {
	{ "52:54:00:ab:cd:ef", "52:54:00:ab:cd:ef" },
	{ "52:54:00:AB:cd:EF", "52:54:00:ab:cd:ef" },
	{ "52-54-00-ab-cd-ef", "52:54:00:ab:cd:ef" },
	{ "52-54-00-AB-CD-EF", "52:54:00:ab:cd:ef" },
	{ "5254.00ab.cdef", "52:54:00:ab:cd:ef" },
	{ "5254.00AB.CDEF", "52:54:00:ab:cd:ef" },
	{ "525400abcdef", "52:54:00:ab:cd:ef" },
	{ "525400ABCDEF", "52:54:00:ab:cd:ef" },
	{ "00:00:00:00:00:00", "00:00:00:00:00:00" },
	{ "ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff" },
};

static const char *const invalid[] = {
	"",
	"52:54:00:ab:cd",		/* too short */
	"52:54:00:ab:cd:ef:01",		/* too long */
	"52:54:00-ab:cd:ef",		/* mixed separators */
	"52:54:00:ab:cd:eg",		/* not hex */
	"52:54:00:ab:cd:e",
	"5254:00ab:cdef",		/* colon in dotted form */
	"52.54.00.ab.cd.ef",		/* dots between bytes */
	"525400abcde",			/* 11 digits */
	"525400abcdef0",		/* 13 digits */
	"525400abcdeg",
	" 52:54:00:ab:cd:ef",		/* leading space */
	"52:54:00:ab:cd:ef ",		/* trailing space */
	"52:54:00:ab:cd:ef\n",
	"52:54:00:ab:cd:e\n",
	"52%3A54%3A00%3Aab%3Acd%3Aef",	/* still percent-encoded */
	"52::54:00:ab:cd:ef",
	":52:54:00:ab:cd:e",
	"5254.00ab.cde.",
	"52:54:00:ab:cd:ef;shell",
	"0x525400abcdef",
	"${net0/mac}",
	"zzzzzzzzzzzzzzzzz",
};

START_TEST(test_valid)
{
	struct mac mac;
	struct bootd_error err;
	char out[MAC_STRLEN + 1];

	ck_assert_int_eq(mac_parse(valid[_i].in, &mac, &err), BOOTD_OK);
	ck_assert_str_eq(mac_format(&mac, out), valid[_i].canon);
	ck_assert_int_eq(mac_canon(valid[_i].in, out, NULL), BOOTD_OK);
	ck_assert_str_eq(out, valid[_i].canon);
}
END_TEST

START_TEST(test_invalid)
{
	struct mac mac;
	struct bootd_error err = { "" };

	ck_assert_int_eq(mac_parse(invalid[_i], &mac, &err), BOOTD_EINVAL);
	ck_assert_str_ne(err.text, "");
	ck_assert_ptr_null(strchr(err.text, '\n'));
}
END_TEST

START_TEST(test_null_and_long)
{
	struct mac mac;
	char big[4096];

	ck_assert_int_eq(mac_parse(NULL, &mac, NULL), BOOTD_EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(mac_parse(big, &mac, NULL), BOOTD_EINVAL);
}
END_TEST

/* Every byte value in every position of a valid MAC is handled. */
START_TEST(test_every_byte)
{
	char s[] = "52:54:00:ab:cd:ef";
	struct mac mac;
	size_t pos;
	int c;
	enum bootd_err rc;

	for (pos = 0; pos < sizeof(s) - 1; pos++) {
		char saved = s[pos];

		for (c = 1; c < 256; c++) {
			s[pos] = (char)c;
			rc = mac_parse(s, &mac, NULL);
			if (pos % 3 == 2)
				ck_assert_int_eq(rc,
				    c == ':' ? BOOTD_OK : BOOTD_EINVAL);
			else
				ck_assert_int_eq(rc,
				    strchr("0123456789abcdefABCDEF", c) ?
				    BOOTD_OK : BOOTD_EINVAL);
		}
		s[pos] = saved;
	}
}
END_TEST

/*
 * A canonical MAC as a number (mac_canon_number()): its 48 bits, in the
 * text's order; any other spelling, or text that is no MAC, is refused.
 */
START_TEST(test_canon_number)
{
	static const char *const refused[] = {
		"52:54:00:AB:cd:ef", "52-54-00-ab-cd-ef", "525400abcdef",
		"52:54:00:ab:cd", "52:54:00:ab:cd:ef0", "52:54:00:ab:cd:eg",
		"52:54:00:ab:cd-ef", "",
	};
	uint64_t v = 7, w;
	size_t i;

	ck_assert_int_eq(mac_canon_number("52:54:00:ab:cd:ef", &v), 0);
	ck_assert_uint_eq(v, 0x525400abcdefULL);
	ck_assert_int_eq(mac_canon_number("00:00:00:00:00:00", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(mac_canon_number("ff:ff:ff:ff:ff:ff", &v), 0);
	ck_assert_uint_eq(v, 0xffffffffffffULL);
	/* The text's order: a digit before a letter, position by position. */
	ck_assert_int_eq(mac_canon_number("0a:00:00:00:00:00", &v), 0);
	ck_assert_int_eq(mac_canon_number("a0:00:00:00:00:00", &w), 0);
	ck_assert_uint_lt(v, w);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		v = 7;
		ck_assert_msg(mac_canon_number(refused[i], &v) == -1 && v == 7,
		    "%s taken", refused[i]);
	}
	ck_assert_int_eq(mac_canon_number(NULL, &v), -1);
}
END_TEST

static Suite *
mac_suite(void)
{
	Suite *s = suite_create("mac");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_loop_test(tc, test_valid, 0, sizeof(valid) / sizeof(valid[0]));
	tcase_add_test(tc, test_canon_number);
	suite_add_tcase(s, tc);
	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, test_invalid, 0,
	    sizeof(invalid) / sizeof(invalid[0]));
	tcase_add_test(tc, test_null_and_long);
	tcase_add_test(tc, test_every_byte);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(mac_suite());
}
