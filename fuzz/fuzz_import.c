/*
 * fuzz_import.c - the import document's parser and validator on arbitrary
 * bytes (xfer_parse(), xfer_check(), xfer_plan())
 *
 * A refused document must come with at least one problem, each one line
 * with a path that is one line too.  An accepted one must write back
 * (xfer_dump()) to a document that parses again and writes the same
 * bytes, and must check and plan against a small inventory without
 * crashing, with and without --replace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xfer.h"

/* The inventory documents are checked against. */
static const char inventory[] =
    "{\"format\": \"bootd-inventory\", \"version\": 1,"
    "\"environments\": [{\"name\": \"default\", \"group\": \"\"},"
    " {\"name\": \"lab\", \"group\": \"lab\"}],"
    "\"distributions\": [{\"name\": \"debian-12\", \"kernel\": "
    "\"http://x/k\", \"initrds\": [\"http://x/i\"], \"cmdline\": \"quiet\"}],"
    "\"hosts\": [{\"fqdn\": \"web1.example.org\", \"environment\": \"lab\","
    " \"action\": \"install\", \"distribution\": \"debian-12\","
    " \"macs\": [\"52:54:00:00:00:01\"], \"attributes\": {\"role\": \"web\"}},"
    " {\"fqdn\": \"db1.example.org\", \"macs\": [\"52:54:00:00:00:02\","
    " \"52:54:00:00:00:03\"]}]}";

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_import: %s\n", what);
	abort();
}

static void
one_line(const struct xfer_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].text[0] == '\0' || strchr(p->v[i].text, '\n') ||
		    strchr(p->v[i].path, '\n'))
			fuzz_fail("a problem that is not one line");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xfer_opts opts[] = {
		{ 0, 0, NULL }, { 1, 1, NULL }, { 1, 0, "lab" }
	};
	struct xfer_problems probs = { 0 }, again = { 0 };
	struct xfer_doc *doc = NULL, *cur = NULL, *back = NULL;
	struct xfer_plan plan;
	struct buf b1 = { 0 }, b2 = { 0 };
	enum bootd_err rc;
	size_t i;

	if (xfer_parse(inventory, sizeof(inventory) - 1, &cur, &probs) !=
	    BOOTD_OK)
		fuzz_fail("the fixed inventory does not parse");
	rc = xfer_parse((const char *)data, size, &doc, &probs);
	one_line(&probs);
	if (rc == BOOTD_EINVAL && probs.n == 0)
		fuzz_fail("refused without a problem");
	if (rc == BOOTD_OK && probs.n != 0)
		fuzz_fail("accepted with problems");
	if (doc != NULL)
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			xfer_check(cur, doc, &opts[i], &probs);
	one_line(&probs);
	if (rc == BOOTD_OK) {
		if (xfer_dump(doc, &b1, NULL) != BOOTD_OK)
			fuzz_fail("dump failed");
		if (xfer_parse(buf_str(&b1), b1.len, &back, &again) !=
		    BOOTD_OK)
			fuzz_fail("a dumped document does not parse again");
		if (xfer_dump(back, &b2, NULL) != BOOTD_OK ||
		    strcmp(buf_str(&b1), buf_str(&b2)) != 0)
			fuzz_fail("dump, parse, dump changes the bytes");
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
			struct xfer_problems p = { 0 };

			if (xfer_check(cur, doc, &opts[i], &p) == 0 &&
			    xfer_plan(cur, doc, &opts[i], &plan, NULL) ==
			    BOOTD_OK)
				xfer_plan_free(&plan);
			xfer_problems_free(&p);
		}
	}
	buf_free(&b1);
	buf_free(&b2);
	xfer_doc_free(doc);
	xfer_doc_free(back);
	xfer_doc_free(cur);
	xfer_problems_free(&probs);
	xfer_problems_free(&again);
	return 0;
}
