/*
 * fuzz_mac.c - mac_parse() on arbitrary bytes
 *
 * Whatever it accepts must format canonically and parse back to the same
 * address; whatever it refuses must come with a one-line reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mac.h"

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_mac: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64], out[MAC_STRLEN + 1];
	struct mac a, b;
	struct bootd_error err = { "" };

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mac_parse(s, &a, &err) != BOOTD_OK) {
		if (err.text[0] == '\0' || strchr(err.text, '\n') != NULL)
			fuzz_fail("refusal without a one-line reason");
		return 0;
	}
	mac_format(&a, out);
	if (mac_parse(out, &b, NULL) != BOOTD_OK ||
	    memcmp(a.b, b.b, sizeof(a.b)) != 0)
		fuzz_fail("canonical form does not parse back");
	return 0;
}
