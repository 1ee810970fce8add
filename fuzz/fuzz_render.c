/*
 * fuzz_render.c - hostile inventory values through the script renderer
 *
 * The input is split at NUL bytes into values for the FQDN, an attribute
 * used in the command line, the distribution name, the token, an attribute
 * used in an initrd URL and the environment name; the templates are fixed
 * (they are the administrator's, checked when they enter the inventory).
 * The renderer must either refuse (BOOTD_ERENDER, or BOOTD_EINVAL) or
 * produce a script with
 * exactly the structure of the same render with benign values, read the
 * way iPXE reads it (tests/ipxe_check.c): no extra command, label or
 * setting can be smuggled in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ipxe.h"
#include "ipxe_check.h"

#define NFIELDS	6

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_render: %s\n", what);
	abort();
}

/* Render with the given values; returns the code, the script in out. */
static enum bootd_err
render(char *const v[NFIELDS], struct buf *out)
{
	struct cfg cfg;
	struct inv_host host;
	struct inv_dist dist;
	struct inv_boot boot;
	struct inv_kv attrs[2];
	char *initrds[1], *macs[1];

	memset(&cfg, 0, sizeof(cfg));
	cfg.menu.base_url = "http://boot.example.org";
	cfg.menu.timeout = 5;
	cfg.menu.shell = 1;
	cfg.menu.memtest = 1;
	cfg.menu.memtest_bios = "memtest86+x64.bin";
	cfg.menu.memtest_efi = "memtest86+x64.efi";

	memset(&host, 0, sizeof(host));
	macs[0] = "52:54:00:12:34:56";
	attrs[0].key = "extra";
	attrs[0].value = v[4];
	attrs[1].key = "role";
	attrs[1].value = v[1];
	host.fqdn = v[0];
	host.env = v[5];
	host.action = INV_ACTION_INSTALL;
	host.dist = v[2];
	host.macs = macs;
	host.nmacs = 1;
	host.attrs = attrs;
	host.nattrs = 2;
	host.token = v[3];

	initrds[0] = "{{base_url}}/images/{{dist}}/initrd.gz?x={{attr.extra}}";
	dist.name = v[2];
	dist.kernel = "{{base_url}}/images/{{dist}}/linux";
	dist.initrds = initrds;
	dist.ninitrds = 1;
	dist.cmdline = "role={{attr.role}} host={{fqdn}} h={{hostname}} "
	    "d={{domain}} env={{env}} bootd.token={{token}}";

	boot.host = &host;
	boot.dist = &dist;
	boot.manual = NULL;
	boot.nmanual = 0;
	buf_reset(out);
	return ipxe_render_host(&cfg, &boot, macs[0], out, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *benign[NFIELDS] = {
		"web1.example.org", "web", "debian-12",
		"0123456789abcdef0123456789abcdef", "x1", "lab",
	};
	static const char *const allowed[] = {
		"${platform}", "${target}", NULL
	};
	static struct ic_script want;
	static int have_want;
	struct buf out = { 0 };
	struct ic_script got;
	char *copy, *v[NFIELDS], *p;
	size_t i;
	enum bootd_err rc;

	if (!have_want) {
		if (render(benign, &out) != BOOTD_OK ||
		    ic_parse(buf_str(&out), &want) != 0)
			fuzz_fail("benign render failed");
		have_want = 1;
	}
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	/* Fields the input does not reach keep their benign value. */
	for (i = 0, p = copy; i < NFIELDS; i++) {
		if (p <= copy + size) {
			v[i] = p;
			p += strlen(p) + 1;
		} else
			v[i] = benign[i];
	}
	rc = render(v, &out);
	if (rc == BOOTD_OK) {
		if (ic_parse(buf_str(&out), &got) != 0)
			fuzz_fail("out of memory");
		if (!got.magic || got.dangling)
			fuzz_fail("script lost #!ipxe or ends in a continuation");
		if (strcmp(buf_str(&got.shape), buf_str(&want.shape)) != 0)
			fuzz_fail("script structure changed by a value");
		if (ic_unknown_command(&got, NULL) != NULL)
			fuzz_fail("unexpected command");
		if (ic_unknown_setting(&got, allowed) != NULL)
			fuzz_fail("unexpected setting");
		ic_free(&got);
	} else if (rc != BOOTD_ERENDER && rc != BOOTD_EINVAL)
		fuzz_fail("unexpected error code");
	buf_free(&out);
	free(copy);
	return 0;
}
