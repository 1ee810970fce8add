/*
 * fuzz_query.c - the daemon's query-string decoder and validator table
 *
 * Arbitrary bytes as a query string (or form body): query_parse() must
 * accept or refuse without crashing, and an accepted MAC is canonical.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootd.h"
#include "fuzz.h"
#include "mac.h"

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_query: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query q;
	struct bootd_error err = { "" };
	struct buf params = { 0 };
	char canon[MAC_STRLEN + 1];
	const char *mac;

	if (query_parse((const char *)data, size, &q, &err) != BOOTD_OK) {
		if (err.text[0] == '\0' || strchr(err.text, '\n') != NULL)
			fuzz_fail("refusal without a one-line reason");
		return 0;
	}
	if (q.set[QUERY_MAC]) {
		mac = q.v[QUERY_MAC];
		if (mac_canon(mac, canon, NULL) != BOOTD_OK ||
		    strcmp(canon, mac) != 0)
			fuzz_fail("accepted MAC is not canonical");
	}
	for (size_t i = 0; i < QUERY__MAX; i++)
		if (q.set[i] && strpbrk(q.v[i], "\r\n") != NULL)
			fuzz_fail("accepted value holds a line break");
	query_format_params(&q, &params);
	if (strpbrk(buf_str(&params), "\r\n") != NULL)
		fuzz_fail("recorded parameters span lines");
	buf_free(&params);
	return 0;
}
