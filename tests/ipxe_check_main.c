/*
 * ipxe_check_main.c - the script reader of ipxe_check.c as a program, for
 * the Python integration tests
 *
 * Usage: ipxe_check [-u] [-c COMMAND]... [-s SETTING]... FILE...
 *
 * Reads each file as iPXE reads a script and prints one line per file:
 *
 *   FILE ok SHAPE
 *   FILE bad REASON
 *
 * "ok" when the script starts with #!ipxe, does not end in a
 * continuation, uses only the commands a bootd script may use and each
 * -c COMMAND (as "dhcp": one build-ipxe's embedded script uses), no
 * "${...}" setting but ${platform}, ${target} and each -s SETTING (as
 * "${net0/ip}": one an administrator's template uses), has exactly one
 * ":local" label and, with -u (a script for machines nobody attends), no
 * command that can wait for a key for ever (ipxe_check.h, waits); SHAPE
 * is its structure (ipxe_check.h) with each line ended by '|' instead of
 * a newline, so that two scripts can be compared.  Exit status 0 when
 * every file is ok, 1 otherwise, 2 on a usage or I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipxe_check.h"

#define EXTRA_MAX	16

static const char *allowed[EXTRA_MAX + 3] = { "${platform}", "${target}" };
static const char *commands[EXTRA_MAX + 1];
static int unattended;

/* Read path whole, NUL-terminated; NULL on failure. */
static char *
slurp(const char *path)
{
	struct buf b = { 0 };
	char chunk[4096], *text;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	text = buf_failed(&b) ? NULL : strdup(buf_str(&b)); /* "" if empty */
	buf_free(&b);
	return text;
}

/* Print why s is not a script bootd may serve, or its shape. */
static int
check(const char *path, const char *text)
{
	struct ic_script s;
	const char *bad = NULL, *p;
	char why[300];

	if (ic_parse(text, &s) != 0) {
		fprintf(stderr, "ipxe_check: out of memory\n");
		exit(2);
	}
	if (!s.magic)
		bad = "no #!ipxe line";
	else if (s.dangling)
		bad = "ends inside a continuation";
	else if ((p = ic_unknown_command(&s, commands)) != NULL) {
		snprintf(why, sizeof(why), "command %.200s", p);
		bad = why;
	} else if ((p = ic_unknown_setting(&s, allowed)) != NULL) {
		snprintf(why, sizeof(why), "setting %.200s", p);
		bad = why;
	} else if (ic_count(&s.labels, "local") != 1)
		bad = "not exactly one :local label";
	else if (unattended && s.waits.len > 0) {
		snprintf(why, sizeof(why), "waits for a key for ever: %.*s",
		    (int)strcspn(buf_str(&s.waits), "\n"), buf_str(&s.waits));
		bad = why;
	}
	if (bad != NULL)
		printf("%s bad %s\n", path, bad);
	else {
		printf("%s ok ", path);
		for (p = buf_str(&s.shape); *p != '\0'; p++)
			putchar(*p == '\n' ? '|' : *p);
		putchar('\n');
	}
	ic_free(&s);
	return bad != NULL;
}

int
main(int argc, char *argv[])
{
	int i, n = 2, nc = 0, bad = 0;
	char *text;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-u") == 0)
			unattended = 1;
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc &&
		    n < EXTRA_MAX + 2)
			allowed[n++] = argv[++i];
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc &&
		    nc < EXTRA_MAX)
			commands[nc++] = argv[++i];
		else
			break;
	}
	if (i >= argc || argv[i][0] == '-') {
		fprintf(stderr, "usage: ipxe_check [-u] [-c COMMAND]... "
		    "[-s SETTING]... FILE...\n");
		return 2;
	}
	for (; i < argc; i++) {
		if ((text = slurp(argv[i])) == NULL) {
			perror(argv[i]);
			return 2;
		}
		bad |= check(argv[i], text);
		free(text);
	}
	return bad ? 1 : 0;
}
