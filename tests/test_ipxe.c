/*
 * test_ipxe.c - tests of the iPXE script renderer (lib/ipxe.c)
 *
 * Golden scripts (tests/golden/NAME.ipxe) are compared byte for byte; run
 * with BOOTD_UPDATE_GOLDEN=1 to rewrite them after an intended change
 * (then read the diff).  Every script is also read back with the test
 * checker (ipxe_check.c), which splits it as iPXE does, and hostile values
 * in every field must either fail the render with BOOTD_ERENDER or leave
 * the script's structure exactly as with a benign value.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "ipxe.h"
#include "ipxe_check.h"

#define MAC1	"52:54:00:12:34:56"

/* Settings a bootd script uses of its own. */
static const char *const own_settings[] = {
	"${platform}", "${target}", NULL
};

/* A host, its distributions and the configuration, all editable. */
struct scen {
	struct cfg	 cfg;
	struct inv_host	 host;
	struct inv_dist	 dist;
	struct inv_dist	 man1, man2;
	struct inv_dist	*manual[2];
	struct inv_boot	 boot;
	struct inv_kv	 attrs[3];
	char		*initrds[2];
	char		*man_initrds[1];
	char		*macs[1];
	const char	*mac;
};

static void
scen_init(struct scen *s)
{
	memset(s, 0, sizeof(*s));
	s->cfg.menu.base_url = "http://boot.example.org";
	s->cfg.menu.timeout = 5;
	s->cfg.menu.shell = 1;
	s->cfg.menu.memtest = 1;
	s->cfg.menu.memtest_bios = "memtest86+x64.bin";
	s->cfg.menu.memtest_efi = "memtest86+x64.efi";
	s->cfg.menu.unknown = CFG_UNKNOWN_LOCAL;

	s->initrds[0] = "{{base_url}}/images/debian-12/initrd.gz";
	s->initrds[1] = "{{base_url}}/images/firmware/firmware.cpio.gz";
	s->dist.name = "debian-12";
	s->dist.kernel = "{{base_url}}/images/debian-12/linux";
	s->dist.initrds = s->initrds;
	s->dist.ninitrds = 1;
	s->dist.cmdline = "auto=true priority=critical "
	    "url={{base_url}}/preseed/{{hostname}}.cfg "
	    "bootd_token={{token}} ---";

	s->man_initrds[0] = "http://mirror.example.org/rhel-9.4/initrd.img";
	s->man1.name = "rhel-9.4";
	s->man1.kernel = "http://mirror.example.org/rhel-9.4/vmlinuz";
	s->man1.initrds = s->man_initrds;
	s->man1.ninitrds = 1;
	s->man1.cmdline = "inst.ks={{base_url}}/ks/{{fqdn}}.cfg "
	    "ip=${net0/ip}";
	s->man2 = s->dist;
	s->man2.name = "debian-11";
	s->man2.kernel = "{{base_url}}/images/debian-11/linux";
	s->manual[0] = &s->man1;
	s->manual[1] = &s->man2;

	s->attrs[0].key = "bootd.menu_timeout";
	s->attrs[0].value = "x";		/* unusable: ignored */
	s->attrs[1].key = "puppet_role";
	s->attrs[1].value = "webserver";
	s->attrs[2].key = "rack";
	s->attrs[2].value = "r12";
	s->macs[0] = MAC1;
	s->host.fqdn = "web1.dc1.example.org";
	s->host.env = "prod";
	s->host.action = INV_ACTION_LOCAL;
	s->host.dist = "debian-12";
	s->host.macs = s->macs;
	s->host.nmacs = 1;
	s->host.attrs = s->attrs;
	s->host.nattrs = 3;
	s->boot.host = &s->host;
	s->mac = MAC1;
}

/* Mark s for install of its distribution (with a token). */
static void
scen_install(struct scen *s)
{
	s->host.action = INV_ACTION_INSTALL;
	s->host.token = "0123456789abcdef0123456789abcdef";
	s->host.token_expires = 1700000000;
	s->boot.dist = &s->dist;
}

static enum bootd_err
scen_render(struct scen *s, struct buf *out, struct bootd_error *err)
{
	buf_reset(out);
	return ipxe_render_host(&s->cfg, &s->boot, s->mac, out, err);
}

static char *
slurp(const char *path)
{
	FILE *f;
	char *data;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(fread(data, 1, (size_t)n, f), n);
	data[n] = '\0';
	fclose(f);
	return data;
}

/*
 * Check a script with the reader: "#!ipxe" first, no dangling line, only
 * allowed commands, only bootd's own settings and those in extra.
 */
static void
check_script(const char *script, const char *const *extra)
{
	const char *allowed[16];
	struct ic_script ic;
	const char *bad;
	size_t n, i;

	n = 0;
	for (i = 0; own_settings[i] != NULL; i++)
		allowed[n++] = own_settings[i];
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		allowed[n++] = extra[i];
	allowed[n] = NULL;
	ck_assert_int_eq(ic_parse(script, &ic), 0);
	ck_assert_msg(ic.magic, "no #!ipxe line");
	ck_assert_int_eq(ic.dangling, 0);
	bad = ic_unknown_command(&ic, NULL);
	ck_assert_msg(bad == NULL, "command %s in\n%s", bad, script);
	bad = ic_unknown_setting(&ic, allowed);
	ck_assert_msg(bad == NULL, "setting %s in\n%s", bad, script);
	/* Every script can reach local boot and never ends in a shell loop. */
	ck_assert_uint_eq(ic_count(&ic.labels, "local"), 1);
	ck_assert_uint_eq(ic_count(&ic.commands, "sanboot"), 1);
	ic_free(&ic);
}

/* Compare script with tests/golden/NAME.ipxe (or rewrite it). */
static void
golden(const char *name, const char *script)
{
	char path[512];
	const char *update;
	char *want;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/golden/%s.ipxe",
	    BOOTD_SOURCE_DIR, name);
	update = getenv("BOOTD_UPDATE_GOLDEN");
	if (update != NULL && strcmp(update, "1") == 0) {
		f = fopen(path, "wb");
		ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
		ck_assert_int_eq(fputs(script, f) >= 0, 1);
		ck_assert_int_eq(fclose(f), 0);
	}
	want = slurp(path);
	ck_assert_msg(want != NULL, "%s: %s (BOOTD_UPDATE_GOLDEN=1 writes it)",
	    path, strerror(errno));
	ck_assert_str_eq(script, want);
	free(want);
}

/* Render s, check it and compare it with its golden file. */
static void
golden_host(struct scen *s, const char *name, const char *const *extra,
    struct buf *out)
{
	struct bootd_error err;
	enum bootd_err rc;
	struct buf again = { 0 };

	rc = scen_render(s, out, &err);
	ck_assert_msg(rc == BOOTD_OK, "%s: %s", name, err.text);
	check_script(buf_str(out), extra);
	golden(name, buf_str(out));
	/* Deterministic: the same input gives the same bytes. */
	ck_assert_int_eq(ipxe_render_host(&s->cfg, &s->boot, s->mac, &again,
	    &err), BOOTD_OK);
	ck_assert_str_eq(buf_str(&again), buf_str(out));
	buf_free(&again);
}

static int
has_line(const char *script, const char *line)
{
	const char *p;
	size_t len = strlen(line);

	for (p = script; (p = strstr(p, line)) != NULL; p++)
		if ((p == script || p[-1] == '\n') && p[len] == '\n')
			return 1;
	return 0;
}

/* Golden scripts -------------------------------------------------------- */

START_TEST(test_golden_install)
{
	struct scen s;
	struct buf out = { 0 };
	const char *sc;

	scen_init(&s);
	scen_install(&s);
	golden_host(&s, "install", NULL, &out);
	sc = buf_str(&out);
	ck_assert(has_line(sc, "menu web1.dc1.example.org (" MAC1 ")"));
	ck_assert(has_line(sc, "choose --default install --timeout 5000 "
	    "target || goto local"));
	ck_assert(has_line(sc, "kernel http://boot.example.org/images/"
	    "debian-12/linux initrd=initrd0.img auto=true priority=critical "
	    "url=http://boot.example.org/preseed/web1.cfg bootd_token="
	    "0123456789abcdef0123456789abcdef --- || goto failed"));
	ck_assert(has_line(sc, "initrd --name initrd0.img http://boot."
	    "example.org/images/debian-12/initrd.gz || goto failed"));
	/* BIOS and UEFI paths in the one script. */
	ck_assert(has_line(sc, "iseq ${platform} efi && goto local_efi ||"));
	ck_assert(has_line(sc, "sanboot --no-describe --drive 0x80 || "
	    "goto local_efi"));
	ck_assert(has_line(sc, "chain http://boot.example.org/images/"
	    "memtest86+x64.efi console=ttyS0,115200 || goto failed"));
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_local)
{
	struct scen s;
	struct buf out = { 0 };
	struct ic_script ic;

	scen_init(&s);
	golden_host(&s, "local", NULL, &out);
	ck_assert(has_line(buf_str(&out), "choose --default local --timeout "
	    "5000 target || goto local"));
	/* No installer: the only kernel is the memory test. */
	ck_assert_int_eq(ic_parse(buf_str(&out), &ic), 0);
	ck_assert_uint_eq(ic_count(&ic.commands, "kernel"), 1);
	ck_assert_uint_eq(ic_count(&ic.commands, "initrd"), 0);
	ck_assert_uint_eq(ic_count(&ic.labels, "install"), 0);
	ic_free(&ic);
	ck_assert_ptr_null(strstr(buf_str(&out), "debian"));
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_unknown)
{
	struct scen s;
	struct buf out = { 0 };
	struct bootd_error err;
	struct ic_script ic;

	scen_init(&s);
	ck_assert_int_eq(ipxe_render_unknown(&s.cfg, MAC1, &out, &err),
	    BOOTD_OK);
	check_script(buf_str(&out), NULL);
	golden("unknown", buf_str(&out));
	ck_assert(has_line(buf_str(&out), "menu unknown host (" MAC1 ")"));
	ck_assert(has_line(buf_str(&out), "choose --default local --timeout "
	    "5000 target || goto local"));
	ck_assert_int_eq(ic_parse(buf_str(&out), &ic), 0);
	ck_assert_uint_eq(ic_count(&ic.commands, "initrd"), 0);
	ic_free(&ic);

	/* Shell default for unknown MACs, when configured. */
	s.cfg.menu.unknown = CFG_UNKNOWN_SHELL;
	buf_reset(&out);
	ck_assert_int_eq(ipxe_render_unknown(&s.cfg, MAC1, &out, &err),
	    BOOTD_OK);
	check_script(buf_str(&out), NULL);
	golden("unknown-shell", buf_str(&out));
	ck_assert(has_line(buf_str(&out), "choose --default shell --timeout "
	    "5000 target || goto local"));

	/* No menu: straight to the shell, which returns to local boot. */
	s.cfg.menu.timeout = 0;
	buf_reset(&out);
	ck_assert_int_eq(ipxe_render_unknown(&s.cfg, MAC1, &out, &err),
	    BOOTD_OK);
	check_script(buf_str(&out), NULL);
	golden("timeout0-unknown-shell", buf_str(&out));
	ck_assert(has_line(buf_str(&out), "goto shell"));
	ck_assert(has_line(buf_str(&out), ":shell"));
	ck_assert_ptr_null(strstr(buf_str(&out), "memtest"));
	s.cfg.menu.timeout = 5;

	/* ...but not when the shell is switched off: local boot. */
	s.cfg.menu.shell = 0;
	buf_reset(&out);
	ck_assert_int_eq(ipxe_render_unknown(&s.cfg, MAC1, &out, &err),
	    BOOTD_OK);
	check_script(buf_str(&out), NULL);
	ck_assert(has_line(buf_str(&out), "choose --default local --timeout "
	    "5000 target || goto local"));
	ck_assert_ptr_null(strstr(buf_str(&out), "shell"));

	/* A MAC that could change the script is refused. */
	buf_reset(&out);
	ck_assert_int_eq(ipxe_render_unknown(&s.cfg, "x\nshell", &out, &err),
	    BOOTD_ERENDER);
	ck_assert_str_eq(buf_str(&out), "");
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_failsafe)
{
	struct buf out = { 0 };
	struct ic_script ic;

	ipxe_render_failsafe(NULL, "database is locked", &out);
	check_script(buf_str(&out), NULL);
	golden("failsafe", buf_str(&out));
	ck_assert(has_line(buf_str(&out), "echo bootd: database is locked"));

	/* A hostile reason is reduced; the structure does not change. */
	buf_reset(&out);
	ipxe_render_failsafe(NULL, "x\n#!ipxe\nshell || ${a} && b ; c \\",
	    &out);
	check_script(buf_str(&out), NULL);
	ck_assert(has_line(buf_str(&out),
	    "echo bootd: x?" "?!ipxe?shell ?? ??a? ?? b ? c ?"));
	ck_assert_int_eq(ic_parse(buf_str(&out), &ic), 0);
	ck_assert_uint_eq(ic.ncommands, 7);
	ck_assert_uint_eq(ic_count(&ic.commands, "shell"), 0);
	ck_assert_uint_eq(ic.waits.len, 0);	/* nobody need be there */
	ic_free(&ic);

	/* No reason at all. */
	buf_reset(&out);
	ipxe_render_failsafe(NULL, NULL, &out);
	check_script(buf_str(&out), NULL);
	ck_assert(has_line(buf_str(&out), "echo bootd: internal error"));
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_options)
{
	static const char *const names[4] = {
		"opt-none", "opt-memtest", "opt-shell", "opt-shell-memtest"
	};
	struct scen s;
	struct buf out = { 0 };
	struct ic_script ic;

	scen_init(&s);
	s.cfg.menu.shell = (_i & 2) != 0;
	s.cfg.menu.memtest = (_i & 1) != 0;
	golden_host(&s, names[_i], NULL, &out);
	ck_assert_int_eq(ic_parse(buf_str(&out), &ic), 0);
	ck_assert_uint_eq(ic_count(&ic.commands, "shell"), (_i & 2) != 0);
	ck_assert_uint_eq(ic_count(&ic.labels, "shell"), (_i & 2) != 0);
	ck_assert_uint_eq(ic_count(&ic.labels, "memtest"), (_i & 1) != 0);
	ck_assert_uint_eq(ic_count(&ic.commands, "chain"), (_i & 1) != 0);
	ic_free(&ic);
	ck_assert_int_eq(strstr(buf_str(&out), "item shell") != NULL,
	    (_i & 2) != 0);
	ck_assert_int_eq(strstr(buf_str(&out), "item memtest") != NULL,
	    (_i & 1) != 0);
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_manual)
{
	static const char *const extra[] = { "${net0/ip}", NULL };
	struct scen s;
	struct buf out = { 0 };

	scen_init(&s);
	s.boot.manual = s.manual;
	s.boot.nmanual = 2;
	golden_host(&s, "manual", extra, &out);
	ck_assert(has_line(buf_str(&out), "item manual_1 Install rhel-9.4 "
	    "(manual)"));
	ck_assert(has_line(buf_str(&out), "item manual_2 Install debian-11 "
	    "(manual)"));
	/* Still local boot by default. */
	ck_assert(has_line(buf_str(&out), "choose --default local --timeout "
	    "5000 target || goto local"));
	ck_assert(has_line(buf_str(&out), "kernel http://mirror.example.org/"
	    "rhel-9.4/vmlinuz initrd=initrd0.img inst.ks=http://boot.example"
	    ".org/ks/web1.dc1.example.org.cfg ip=${net0/ip} || goto failed"));
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_multi_initrd)
{
	struct scen s;
	struct buf out = { 0 };

	scen_init(&s);
	scen_install(&s);
	s.dist.ninitrds = 2;
	golden_host(&s, "multi-initrd", NULL, &out);
	ck_assert(has_line(buf_str(&out), "kernel http://boot.example.org/"
	    "images/debian-12/linux initrd=initrd0.img initrd=initrd1.img "
	    "auto=true priority=critical url=http://boot.example.org/preseed/"
	    "web1.cfg bootd_token=0123456789abcdef0123456789abcdef --- || "
	    "goto failed"));
	ck_assert(has_line(buf_str(&out), "initrd --name initrd1.img http://"
	    "boot.example.org/images/firmware/firmware.cpio.gz || goto "
	    "failed"));
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_attrs)
{
	static const char *const extra[] = { "${net0/ip}", "${netmask}",
		NULL };
	struct scen s;
	struct buf out = { 0 };

	scen_init(&s);
	scen_install(&s);
	s.dist.kernel = "{{base_url}}/images/{{dist}}/{{attr.rack}}/linux";
	s.dist.cmdline = "hostname={{hostname}} domain={{domain}} "
	    "role={{ attr.puppet_role }} mac={{mac}} env={{env}} "
	    "ip=${net0/ip}::${netmask} ---";
	golden_host(&s, "attrs", extra, &out);
	ck_assert(has_line(buf_str(&out), "kernel http://boot.example.org/"
	    "images/debian-12/r12/linux initrd=initrd0.img hostname=web1 "
	    "domain=dc1.example.org role=webserver mac=" MAC1 " env=prod "
	    "ip=${net0/ip}::${netmask} --- || goto failed"));
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_timeout0)
{
	struct scen s;
	struct buf out = { 0 };
	struct ic_script ic;

	/* No menu: straight to the install. */
	scen_init(&s);
	scen_install(&s);
	s.cfg.menu.timeout = 0;
	s.boot.manual = s.manual;
	s.boot.nmanual = 2;
	golden_host(&s, "timeout0-install", NULL, &out);
	ck_assert_int_eq(ic_parse(buf_str(&out), &ic), 0);
	ck_assert_uint_eq(ic_count(&ic.commands, "menu"), 0);
	ck_assert_uint_eq(ic_count(&ic.commands, "choose"), 0);
	ck_assert_uint_eq(ic_count(&ic.labels, "manual_1"), 0);
	ic_free(&ic);
	ck_assert(has_line(buf_str(&out), "goto install"));

	/* Straight to the local disk. */
	scen_init(&s);
	s.cfg.menu.timeout = 0;
	golden_host(&s, "timeout0-local", NULL, &out);
	ck_assert(has_line(buf_str(&out), "goto local"));
	ck_assert_ptr_null(strstr(buf_str(&out), "choose"));
	ck_assert_ptr_null(strstr(buf_str(&out), "kernel"));
	buf_free(&out);
}
END_TEST

START_TEST(test_golden_timeout_attr)
{
	static const struct {
		const char	*value;
		const char	*choose;	/* NULL: no menu */
	} t[] = {
		{ "30", "choose --default install --timeout 30000 target "
		    "|| goto local" },
		{ "3600", "choose --default install --timeout 3600000 target "
		    "|| goto local" },
		{ "0", NULL },
		{ "00", NULL },
		/* Unusable: the configured 5 seconds. */
		{ "3601", "choose --default install --timeout 5000 target "
		    "|| goto local" },
		{ "-1", "choose --default install --timeout 5000 target "
		    "|| goto local" },
		{ "", "choose --default install --timeout 5000 target "
		    "|| goto local" },
		{ "10s", "choose --default install --timeout 5000 target "
		    "|| goto local" },
		{ "999999999999", "choose --default install --timeout 5000 "
		    "target || goto local" },
	};
	struct scen s;
	struct buf out = { 0 };
	struct bootd_error err;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		scen_init(&s);
		scen_install(&s);
		s.attrs[0].value = (char *)t[i].value;
		ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_OK);
		check_script(buf_str(&out), NULL);
		if (t[i].choose != NULL)
			ck_assert_msg(has_line(buf_str(&out), t[i].choose),
			    "%s:\n%s", t[i].value, buf_str(&out));
		else
			ck_assert_msg(strstr(buf_str(&out), "choose") == NULL,
			    "%s:\n%s", t[i].value, buf_str(&out));
		if (i == 0)
			golden("timeout-attr", buf_str(&out));
	}
	buf_free(&out);
}
END_TEST

/* Refusals ---------------------------------------------------------------- */

static const struct {
	const char	*kernel;
	const char	*cmdline;
	const char	*rack;		/* value of attribute rack */
	const char	*needle;	/* in the error text */
} refuse[] = {
	/* A value bringing "${" (alone, or next to the template's text). */
	{ NULL, "r={{attr.rack}}", "${net0/ip}", "${" },
	{ NULL, "r=${{attr.rack}}", "{net0/ip}", "${" },
	{ NULL, "r={{attr.rack}}{net0/ip}", "$", "${" },
	{ NULL, "r=${{attr.rack}}{net0/ip}", "", "${" },
	/* A variable choosing which setting iPXE reads. */
	{ NULL, "r=${net0/{{attr.rack}}}", "ip", "inside" },
	{ "http://x/${a{{attr.rack}}}", NULL, "password", "inside" },
	/* Values that would change the command structure. */
	{ NULL, "{{attr.rack}} x", "#", "comment" },
	{ NULL, "a {{attr.rack}} x", "||", "chain" },
	{ NULL, "a {{attr.rack}} x", "&&", "chain" },
	{ NULL, "a {{attr.rack}} x", ";", "chain" },
	{ NULL, "a r={{attr.rack}}", "x\\", "trailing" },
	{ NULL, "r={{attr.rack}}", "a b", "space" },
	{ NULL, "r={{attr.rack}}", "a\nshell", "0x0a" },
	{ NULL, "r={{attr.rack}}", "a\rb", "0x0d" },
	{ NULL, "r={{attr.rack}}", "a\x7f", "0x7f" },
	{ NULL, "r={{attr.rack}}", "\xc3\xa9", "0xc3" },
	{ "{{base_url}}/{{attr.rack}}", NULL, "a\tb", "0x09" },
	{ "{{attr.rack}}/linux", NULL, "-x", "URL" },
	{ "{{attr.rack}}", NULL, "#http://x", "comment" },
	/* Templates that do not render. */
	{ NULL, "r={{attr.nosuch}}", "r12", "nosuch" },
	{ NULL, "r={{nosuch}}", "r12", "nosuch" },
	{ "http://x/{{fqdn", NULL, "r12", "unterminated" },
	{ "ftp://x/linux", NULL, "r12", "URL" },
	{ "", NULL, "r12", "empty" },
};

START_TEST(test_refuse)
{
	struct scen s;
	struct buf out = { 0 };
	struct bootd_error err;

	scen_init(&s);
	scen_install(&s);
	if (refuse[_i].kernel != NULL)
		s.dist.kernel = (char *)refuse[_i].kernel;
	if (refuse[_i].cmdline != NULL)
		s.dist.cmdline = (char *)refuse[_i].cmdline;
	s.attrs[2].value = (char *)refuse[_i].rack;
	buf_puts(&out, "before");
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ipxe_render_host(&s.cfg, &s.boot, s.mac, &out, &err),
	    BOOTD_ERENDER);
	ck_assert_msg(strstr(err.text, refuse[_i].needle) != NULL,
	    "case %d: \"%s\" lacks \"%s\"", _i, err.text, refuse[_i].needle);
	/* Nothing half-rendered is left behind. */
	ck_assert_str_eq(buf_str(&out), "before");
	/* The error text is one printable line. */
	for (const char *p = err.text; *p != '\0'; p++)
		ck_assert((unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f);
	buf_free(&out);
}
END_TEST

START_TEST(test_refuse_fields)
{
	struct scen s;
	struct buf out = { 0 };
	struct bootd_error err;

	/* Each field holding something unsafe fails the render. */
	scen_init(&s);
	scen_install(&s);
	s.host.fqdn = "web1 || shell";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "FQDN"));

	scen_init(&s);
	scen_install(&s);
	s.host.fqdn = "--name";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "option"));

	scen_init(&s);
	scen_install(&s);
	s.dist.name = "deb #1";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "distribution name"));

	/* A manual entry that cannot be placed is left out, and said so. */
	scen_init(&s);
	s.boot.manual = s.manual;
	s.boot.nmanual = 2;
	s.man2.cmdline = "a ; shell";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_OK);
	ck_assert_ptr_nonnull(strstr(err.text, "debian-11"));
	ck_assert_ptr_nonnull(strstr(err.text, "1 manual entry left out"));
	ck_assert_ptr_null(strstr(buf_str(&out), "manual_2"));
	ck_assert_ptr_null(strstr(buf_str(&out), "shell\n:"));
	ck_assert(has_line(buf_str(&out), "item manual_1 Install rhel-9.4 "
	    "(manual)"));

	scen_init(&s);
	scen_install(&s);
	s.host.token = "${x}";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "token"));

	scen_init(&s);
	s.cfg.menu.memtest_efi = "a b.efi";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "memtest_efi"));

	scen_init(&s);
	s.cfg.menu.base_url = "http://x/${y}";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "base_url"));

	/*
	 * The memtest URLs are remembered by the text of base and path, not
	 * by where it is: the same buffer changed gives the new URL, and a
	 * hostile one is refused after good ones.
	 */
	{
		char base[64];

		scen_init(&s);
		s.cfg.menu.base_url = base;
		strcpy(base, "http://a.example.org");
		ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_OK);
		ck_assert_ptr_nonnull(strstr(buf_str(&out),
		    "kernel http://a.example.org/images/memtest86+x64.bin "));
		strcpy(base, "http://b.example.org");
		ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_OK);
		ck_assert_ptr_nonnull(strstr(buf_str(&out),
		    "chain http://b.example.org/images/memtest86+x64.efi "));
		ck_assert_ptr_null(strstr(buf_str(&out), "a.example.org"));
		strcpy(base, "http://c.example.org/${x}");
		ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
		strcpy(base, "http://a.example.org");
		s.cfg.menu.memtest_efi = "m .efi";
		ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
		ck_assert_ptr_nonnull(strstr(err.text, "memtest_efi"));
	}

	scen_init(&s);
	scen_install(&s);
	s.dist.ninitrds = 0;
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "initrd"));

	/* An attribute the templates do not use does not matter. */
	scen_init(&s);
	scen_install(&s);
	s.attrs[1].value = "a b ${c} || shell";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_OK);
	ck_assert_ptr_null(strstr(buf_str(&out), "${c}"));

	/* Missing host or configuration. */
	ck_assert_int_eq(ipxe_render_host(NULL, &s.boot, MAC1, &out, &err),
	    BOOTD_EINVAL);
	ck_assert_int_eq(ipxe_render_host(&s.cfg, NULL, MAC1, &out, &err),
	    BOOTD_EINVAL);
	buf_free(&out);
}
END_TEST

/*
 * ipxe_tmpl() remembers what the neutral renders of a template text give
 * (ipxe_shape()), for the last few texts of the process.  Each render
 * must still be judged by its own text: another template of the same
 * length, the same memory with other text, more texts than are kept.
 */
START_TEST(test_shapes)
{
	static const struct {
		const char	*cmdline;
		const char	*rack;
		const char	*needle;	/* NULL: renders */
	} seq[] = {
		/* Its settings are what the next one's value makes. */
		{ "r=${v}{{attr.rack}}", "r12", NULL },
		/* The same length, a '$' next to the value. */
		{ "r=${{attr.rack}}xyz", "{v}", "makes" },
		{ "r=${v}{{attr.rack}}", "r12", NULL },
		{ "r=${{attr.rack}}xyz", "r12", NULL },
		{ "ip=${net0/ip} r={{attr.rack}}", "r12", NULL },
		{ "ip=${net0/{{attr.rack}}} r=12", "ip", "inside" },
		{ "ip=${net0/ip} r={{attr.rack}}", "r12", NULL },
		{ "ip=${net0/{{attr.rack}}} r=12", "ip", "inside" },
	};
	struct scen s;
	struct buf out = { 0 };
	struct bootd_error err;
	char text[64];
	size_t i, k;
	enum bootd_err rc;

	for (k = 0; k < 3; k++) {
		for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
			scen_init(&s);
			scen_install(&s);
			/* One buffer for every text: its address says
			 * nothing of what it holds. */
			snprintf(text, sizeof(text), "%s", seq[i].cmdline);
			s.dist.cmdline = text;
			s.attrs[2].value = (char *)seq[i].rack;
			memset(&err, 0, sizeof(err));
			rc = scen_render(&s, &out, &err);
			if (seq[i].needle == NULL) {
				ck_assert_msg(rc == BOOTD_OK, "%zu %zu: %s",
				    k, i, err.text);
				continue;
			}
			ck_assert_int_eq(rc, BOOTD_ERENDER);
			ck_assert_msg(strstr(err.text, seq[i].needle) != NULL,
			    "%zu %zu: \"%s\" lacks \"%s\"", k, i, err.text,
			    seq[i].needle);
		}
		/* More texts than are kept, between the rounds. */
		for (i = 0; i < 20; i++) {
			scen_init(&s);
			scen_install(&s);
			snprintf(text, sizeof(text), "n=%zu r={{attr.rack}}",
			    i + k * 20);
			s.dist.cmdline = text;
			ck_assert_int_eq(scen_render(&s, &out, &err),
			    BOOTD_OK);
			ck_assert_ptr_nonnull(strstr(buf_str(&out), text[2] ==
			    '0' ? "n=0 r=r12" : " r=r12"));
		}
	}
	/* A template needing an attribute the host lacks, after the same
	 * text rendered for one that has it. */
	scen_init(&s);
	scen_install(&s);
	s.dist.cmdline = "r={{attr.rack}} ip=${net0/ip}";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_OK);
	s.host.nattrs = 2;		/* rack is the third */
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "rack"));
	/* Or one whose value cannot be placed. */
	s.host.nattrs = 3;
	s.attrs[2].value = "r 12";
	ck_assert_int_eq(scen_render(&s, &out, &err), BOOTD_ERENDER);
	ck_assert_ptr_nonnull(strstr(err.text, "attribute rack"));
	buf_free(&out);
}
END_TEST

START_TEST(test_check_functions)
{
	static const struct {
		enum bootd_err	(*fn)(const char *, const char *,
				    struct bootd_error *);
		const char	*s;
		int		 ok;
	} t[] = {
		{ ipxe_check_value, "", 1 },
		{ ipxe_check_value, "#x", 1 },
		{ ipxe_check_value, "||", 1 },
		{ ipxe_check_value, "a\\", 1 },
		{ ipxe_check_value, "$x{y}", 1 },
		{ ipxe_check_value, "a b", 0 },
		{ ipxe_check_value, "a${b", 0 },
		{ ipxe_check_value, "\x01", 0 },
		{ ipxe_check_value, "\x80", 0 },
		{ ipxe_check_arg, "web1.example.org", 1 },
		{ ipxe_check_arg, "a#b", 1 },
		{ ipxe_check_arg, "", 0 },
		{ ipxe_check_arg, "#a", 0 },
		{ ipxe_check_arg, "-a", 0 },
		{ ipxe_check_arg, "||", 0 },
		{ ipxe_check_arg, "&&", 0 },
		{ ipxe_check_arg, ";", 0 },
		{ ipxe_check_arg, "a;", 1 },
		{ ipxe_check_arg, "a\\", 0 },
		{ ipxe_check_arg, "a b", 0 },
		{ ipxe_check_arg, "${a}", 0 },
		{ ipxe_check_url, "http://x/${net0/ip}", 1 },
		{ ipxe_check_url, "https://x/a", 1 },
		{ ipxe_check_url, "tftp://x/a", 1 },
		{ ipxe_check_url, "file:///etc/passwd", 0 },
		{ ipxe_check_url, "http://x/a b", 0 },
		{ ipxe_check_url, "http://x/\n", 0 },
		{ ipxe_check_cmdline, "", 1 },
		{ ipxe_check_cmdline, "a b  c=\"d e\" ip=${net0/ip} ---", 1 },
		{ ipxe_check_cmdline, "a #b", 0 },
		{ ipxe_check_cmdline, "a#b", 1 },
		{ ipxe_check_cmdline, "a || b", 0 },
		{ ipxe_check_cmdline, "a ||b", 1 },
		{ ipxe_check_cmdline, "a ;", 0 },
		{ ipxe_check_cmdline, "a \\", 0 },
		{ ipxe_check_cmdline, "a\tb", 0 },
		{ ipxe_check_cmdline, "-a", 1 },
	};
	struct bootd_error err;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg((t[i].fn("field", t[i].s, &err) == BOOTD_OK) ==
		    t[i].ok, "case %zu \"%s\"", i, t[i].s);
	ck_assert_int_eq(ipxe_check_arg("field", NULL, &err), BOOTD_ERENDER);
	ck_assert_int_eq(ipxe_check_arg("field", "a b", NULL), BOOTD_ERENDER);
}
END_TEST

START_TEST(test_text)
{
	struct buf out = { 0 };
	char big[1000];
	int c;

	ipxe_text("  a  b\t\tc ", &out);
	ck_assert_str_eq(buf_str(&out), "a b c");
	buf_reset(&out);
	ipxe_text("${x} #y || z && ; \\ \x01\xff", &out);
	ck_assert_str_eq(buf_str(&out), "??x? ?y ?? z ?? ? ? ??");
	/* Every byte maps to itself or '?'; none of # $ { } | & ; \. */
	for (c = 1; c < 256; c++) {
		char in[2] = { (char)c, '\0' };

		buf_reset(&out);
		ipxe_text(in, &out);
		ck_assert(strchr("#${}|&;\\", c) == NULL ||
		    strcmp(buf_str(&out), "?") == 0);
		ck_assert(out.len <= 1);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_reset(&out);
	ipxe_text(big, &out);
	ck_assert_uint_eq(out.len, 200);
	buf_free(&out);
}
END_TEST

/* Hostile values in every field -------------------------------------------- */

enum field {
	F_FQDN, F_ATTR, F_DIST, F_MANUAL, F_TOKEN, F_MAC, F_ENV, F_BASE,
	F_MEMTEST, F_KERNEL, F_INITRD, F_CMDLINE, F_REASON, F__MAX
};

static const char *const field_names[F__MAX] = {
	"fqdn", "attribute value", "distribution name", "manual name",
	"token", "mac", "environment", "base_url", "memtest path",
	"kernel template", "initrd template", "cmdline template",
	"fail-safe reason"
};

/*
 * Render with value v in field f (install host with a manual entry and a
 * template using everything, or the fail-safe script).  Returns the
 * render status; out holds the script.
 */
static enum bootd_err
render_field(enum field f, const char *v, struct buf *out, char *tmpl,
    size_t tmplsz, struct bootd_error *err)
{
	struct scen s;

	scen_init(&s);
	scen_install(&s);
	s.boot.manual = s.manual;
	s.boot.nmanual = 1;
	s.dist.kernel = "{{base_url}}/images/{{dist}}/{{attr.rack}}/linux";
	s.dist.cmdline = "h={{hostname}} d={{domain}} f={{fqdn}} m={{mac}} "
	    "e={{env}} t={{token}} r={{attr.rack}} ip=${net0/ip}";
	tmpl[0] = '\0';
	switch (f) {
	case F_FQDN:
		s.host.fqdn = (char *)v;
		break;
	case F_ATTR:
		s.attrs[2].value = (char *)v;
		break;
	case F_DIST:
		s.dist.name = (char *)v;
		break;
	case F_MANUAL:
		s.man1.name = (char *)v;
		break;
	case F_TOKEN:
		s.host.token = (char *)v;
		break;
	case F_MAC:
		s.mac = v;
		break;
	case F_ENV:
		s.host.env = (char *)v;
		break;
	case F_BASE:
		snprintf(tmpl, tmplsz, "http://b/%s", v);
		s.cfg.menu.base_url = tmpl;
		break;
	case F_MEMTEST:
		s.cfg.menu.memtest_bios = (char *)v;
		break;
	case F_KERNEL:
		snprintf(tmpl, tmplsz, "http://x/%s/{{attr.rack}}", v);
		s.dist.kernel = tmpl;
		break;
	case F_INITRD:
		snprintf(tmpl, tmplsz, "{{base_url}}/i/%s", v);
		s.initrds[0] = tmpl;
		break;
	case F_CMDLINE:
		snprintf(tmpl, tmplsz, "a=1 %s r={{attr.rack}}", v);
		s.dist.cmdline = tmpl;
		break;
	case F_REASON:
		buf_reset(out);
		ipxe_render_failsafe(&s.cfg, v, out);
		return BOOTD_OK;
	case F__MAX:
		break;
	}
	return scen_render(&s, out, err);
}

/* Replace every "<N>" count by "<>". */
static void
uncount(char *s)
{
	char *p, *q;

	for (p = q = s; *p != '\0'; ) {
		*q++ = *p;
		if (*p++ == '<')
			while (*p >= '0' && *p <= '9')
				p++;
	}
	*q = '\0';
}

struct prop {
	char		 base_shape[8192];	/* benign render's shape */
	char		 base_settings[1024];
	unsigned long	 ok, refused;
};

/*
 * Render v in field f: it must be refused with BOOTD_ERENDER, or give a
 * script with the benign shape, only allowed commands, and settings that
 * are bootd's own or written in a template by hand.
 */
static void
prop_one(enum field f, const char *v, struct prop *p, struct buf *out)
{
	char tmpl[512], shape[8192];
	struct ic_script ic;
	const char *st, *nl;
	enum bootd_err rc;

	struct bootd_error err;

	rc = render_field(f, v, out, tmpl, sizeof(tmpl), &err);
	if (rc == BOOTD_ERENDER) {
		p->refused++;
		return;
	}
	ck_assert_msg(rc == BOOTD_OK, "%s: rc %d", field_names[f], rc);
	if (f == F_MANUAL && err.text[0] != '\0') {
		/* The manual entry refused, the rest served without it. */
		ck_assert_ptr_null(strstr(buf_str(out), "manual_1"));
		ck_assert_int_eq(ic_parse(buf_str(out), &ic), 0);
		ck_assert(ic.magic && !ic.dangling);
		ck_assert(ic_unknown_command(&ic, NULL) == NULL);
		ic_free(&ic);
		p->refused++;
		return;
	}
	ck_assert_msg(err.text[0] == '\0', "%s: %s", field_names[f], err.text);
	p->ok++;
	/*
	 * Only printable ASCII and LF; no line joined to the next.  (One
	 * assertion after the loop: each ck_assert() is a write to Check's
	 * parent process, and this runs for every byte of 50,000 scripts.)
	 */
	for (st = buf_str(out); *st != '\0'; st++)
		if (!((*st >= 0x20 && *st < 0x7f) || *st == '\n') ||
		    (st[0] == '\\' && st[1] == '\n'))
			break;
	ck_assert_msg(*st == '\0', "%s: byte 0x%02x%s in the script",
	    field_names[f], (unsigned char)*st, *st == '\\' ?
	    " (a line ending in '\\')" : "");
	ck_assert_int_eq(ic_parse(buf_str(out), &ic), 0);
	ck_assert(ic.magic && !ic.dangling);
	ck_assert_msg(ic_unknown_command(&ic, NULL) == NULL, "%s: command %s",
	    field_names[f], ic_unknown_command(&ic, NULL));
	snprintf(shape, sizeof(shape), "%s", buf_str(&ic.shape));
	if (f == F_CMDLINE || f == F_REASON)
		uncount(shape);	/* text written with spaces by hand */
	ck_assert_msg(strcmp(shape, p->base_shape) == 0,
	    "%s: value changes the script:\n%s\n--- benign:\n%s\n--- "
	    "script:\n%s", field_names[f], shape, p->base_shape,
	    buf_str(out));
	/* Settings: the benign ones, or written into a template. */
	for (st = buf_str(&ic.settings); *st != '\0'; st = nl + 1) {
		char one[512];

		nl = strchr(st, '\n');
		snprintf(one, sizeof(one), "%.*s", (int)(nl - st), st);
		ck_assert_msg(strstr(p->base_settings, one) != NULL ||
		    (tmpl[0] != '\0' && strstr(tmpl, one) != NULL),
		    "%s: setting %s from a value:\n%s", field_names[f], one,
		    buf_str(out));
	}
	ic_free(&ic);
}

START_TEST(test_hostile_values)
{
	static const char *const fixed[] = {
		"", "${", "${x}", "$", "{", "}", "{x}", "x$", "#", "#x", "||",
		"&&", ";", "|| shell", "&& shell", "; shell", "x\\", "\\",
		"\n", "\r", "\r\n", "a\nshell", "a\r\nshell", "x\\\nshell",
		" ", "a b", "\t", "-x", "--name", ":label", "\x7f", "\xff",
		"${platform}", "${target}", "{{fqdn}}", "}}", "{{", "a #b",
		"${net0/ip}", "$${x}}", "${${x}}", "%24%7B", "x\f", "x\v",
	};
	enum field f = (enum field)_i;
	struct buf out = { 0 };
	struct ic_script ic;
	struct prop p;
	struct bootd_error err;
	char v[64], tmpl[512];
	unsigned seed = 1234567u + (unsigned)f;
	size_t i, len, k;
	int c;

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(render_field(f, "benign", &out, tmpl, sizeof(tmpl),
	    &err), BOOTD_OK);
	ck_assert_int_eq(ic_parse(buf_str(&out), &ic), 0);
	snprintf(p.base_shape, sizeof(p.base_shape), "%s",
	    buf_str(&ic.shape));
	if (f == F_CMDLINE || f == F_REASON)
		uncount(p.base_shape);
	snprintf(p.base_settings, sizeof(p.base_settings), "%s",
	    buf_str(&ic.settings));
	ic_free(&ic);

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		prop_one(f, fixed[i], &p, &out);
	/* Every byte, alone and inside a word. */
	for (c = 1; c < 256; c++) {
		snprintf(v, sizeof(v), "%c", c);
		prop_one(f, v, &p, &out);
		snprintf(v, sizeof(v), "ab%ccd", c);
		prop_one(f, v, &p, &out);
	}
	/* Random strings, mostly of the characters that matter to iPXE. */
	for (i = 0; i < 3000; i++) {
		static const char special[] = " ${}#|&;\\\n\r\t-:x.";

		len = (size_t)(rand_r(&seed) % 16);
		for (k = 0; k < len; k++) {
			if (rand_r(&seed) % 2)
				v[k] = special[rand_r(&seed) %
				    (sizeof(special) - 1)];
			else
				v[k] = (char)(1 + rand_r(&seed) % 255);
		}
		v[len] = '\0';
		prop_one(f, v, &p, &out);
	}
	/* The test saw both outcomes (the fail-safe reason is never refused). */
	ck_assert_msg(p.ok > 100, "%s: only %lu accepted", field_names[f],
	    p.ok);
	if (f != F_REASON)
		ck_assert_msg(p.refused > 100, "%s: only %lu refused",
		    field_names[f], p.refused);
	buf_free(&out);
}
END_TEST

/* The reader itself --------------------------------------------------------- */

START_TEST(test_reader)
{
	struct ic_script ic;

	ck_assert_int_eq(ic_parse("#!ipxe\r\n"
	    "  :a echo x # y || shell\r\n"
	    "kernel --name k http://x/\\\n"
	    "y a b || goto failed\n"
	    "iseq a b && goto c ||\n"
	    "item --gap -- Boot options\n"
	    "item local Boot from local disk\n"
	    "\n"
	    "# comment ; shell\n"
	    "echo a\\", &ic), 0);
	ck_assert(ic.magic);
	ck_assert(ic.dangling);
	ck_assert_str_eq(buf_str(&ic.shape),
	    ":a echo <1>\n"
	    "kernel --name <arg> <3> || goto failed\n"
	    "iseq a b && goto c || ()\n"
	    "item --gap -- Boot <1>\n"
	    "item local <4>\n");
	ck_assert_str_eq(buf_str(&ic.commands),
	    "echo\nkernel\ngoto\niseq\ngoto\nitem\nitem\n");
	ck_assert_str_eq(buf_str(&ic.labels), "a\n");
	ck_assert_ptr_null(ic_unknown_command(&ic, NULL));
	ic_free(&ic);

	ck_assert_int_eq(ic_parse("#!ipxe\necho ${a}${b\n${x}y z\n", &ic), 0);
	ck_assert_str_eq(buf_str(&ic.settings), "${a}\n${b\n${x}\n");
	ck_assert_str_eq(ic_unknown_command(&ic, NULL), "${x}y");
	ic_free(&ic);

	ck_assert_int_eq(ic_parse("#!ipxes\n", &ic), 0);
	ck_assert(!ic.magic);
	ic_free(&ic);
}
END_TEST

/*
 * What can keep a machine nobody attends waiting for a key for ever: a
 * shell iPXE reaches without a key pressed within a prompt's timeout, a
 * prompt or a menu without a timeout.
 */
static const struct {
	const char	*script;
	const char	*waits;		/* ic_script.waits */
} waits[] = {
	{ "shell\n", "shell\n" },
	{ "shell ||\ngoto local\n", "shell\n" },
	{ "prompt --key 0x02 --timeout 10000 Press Ctrl-B && shell ||\n",
	    "" },
	{ "prompt -k 0x02 -t 0x10 x && shell ||\n", "" },
	{ "prompt --timeout=5000 x && shell ||\n", "" },
	/* No key within the timeout runs the shell. */
	{ "prompt --timeout 10000 x || shell\n", "shell\n" },
	/* The shell must come right after the prompt. */
	{ "prompt --timeout 10000 x && echo y && shell\n", "shell\n" },
	{ "prompt --timeout 10000 x\nshell\n", "shell\n" },
	/* No timeout, a zero one, one iPXE only knows at run time. */
	{ "prompt --key 0x02 Press Ctrl-B && shell ||\n",
	    "prompt\nshell\n" },
	{ "prompt --timeout 0 x && shell ||\n", "prompt\nshell\n" },
	{ "prompt --timeout ${t} x && shell ||\n", "prompt\nshell\n" },
	/* A number in the prompt's text is no option. */
	{ "prompt x --timeout 10000 && shell ||\n", "prompt\nshell\n" },
	{ "choose --default local --timeout 5000 target || goto local\n",
	    "" },
	{ "choose -d local -t 5000 target || goto local\n", "" },
	{ "choose --default local target || goto local\n", "choose\n" },
	{ "# shell\necho shell\nsleep 3\n", "" },
};

START_TEST(test_reader_waits)
{
	struct buf script = { 0 };
	struct ic_script ic;

	buf_puts(&script, "#!ipxe\n");
	buf_puts(&script, waits[_i].script);
	ck_assert_int_eq(ic_parse(buf_str(&script), &ic), 0);
	ck_assert_msg(strcmp(buf_str(&ic.waits), waits[_i].waits) == 0,
	    "%s: waits \"%s\", want \"%s\"", waits[_i].script,
	    buf_str(&ic.waits), waits[_i].waits);
	ic_free(&ic);
	buf_free(&script);
}
END_TEST

static Suite *
ipxe_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("ipxe");
	tc = tcase_create("golden");
	tcase_add_test(tc, test_golden_install);
	tcase_add_test(tc, test_golden_local);
	tcase_add_test(tc, test_golden_unknown);
	tcase_add_test(tc, test_golden_failsafe);
	tcase_add_loop_test(tc, test_golden_options, 0, 4);
	tcase_add_test(tc, test_golden_manual);
	tcase_add_test(tc, test_golden_multi_initrd);
	tcase_add_test(tc, test_golden_attrs);
	tcase_add_test(tc, test_golden_timeout0);
	tcase_add_test(tc, test_golden_timeout_attr);
	suite_add_tcase(s, tc);
	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, test_refuse, 0,
	    sizeof(refuse) / sizeof(refuse[0]));
	tcase_add_test(tc, test_refuse_fields);
	tcase_add_test(tc, test_shapes);
	tcase_add_test(tc, test_check_functions);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_reader);
	tcase_add_loop_test(tc, test_reader_waits, 0,
	    sizeof(waits) / sizeof(waits[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	/* Thousands of renders of the same paths: not under valgrind. */
	tcase_set_tags(tc, "slow");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_hostile_values, 0, F__MAX);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(ipxe_suite());
}
