/*
 * fuzz_config.c - bootd.json through the configuration loader
 *
 * Arbitrary bytes as the configuration file, read by cfg_load() from a
 * memory file (memfd_create(2), named /proc/self/fd/N), the same path a
 * real file takes through Jansson.  The loader must accept or refuse
 * without crashing or leaking; a refusal has a one-line reason; an
 * accepted configuration has every string set, its numbers within the
 * bounds bootd.json(5) gives, and an events database other than the
 * inventory; and the strings of it that reach a script (menu.base_url,
 * menu.memtest_bios, menu.memtest_efi) cannot change the script's
 * structure: the unknown-MAC script rendered with them, read the way iPXE
 * reads it (tests/ipxe_check.c), has the shape of the same script with
 * benign values in their place, or the renderer refuses them.
 */
#define _GNU_SOURCE		/* memfd_create() */

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "fuzz.h"
#include "ipxe.h"
#include "ipxe_check.h"

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_config: %s\n", what);
	abort();
}

static void
check_string(const char *s, const char *what)
{
	if (s == NULL)
		fuzz_fail(what);
}

/* What every accepted configuration holds. */
static void
check_cfg(const struct cfg *c)
{
	const struct cfg_daemon *d = &c->daemon;
	size_t i;

	check_string(c->path, "path not set");
	check_string(c->database, "database not set");
	check_string(c->events_database, "events_database not set");
	check_string(c->admin_group, "admin_group not set");
	check_string(d->listen, "daemon.listen not set");
	check_string(d->socket_owner, "daemon.socket_owner not set");
	check_string(d->socket_group, "daemon.socket_group not set");
	check_string(d->user, "daemon.user not set");
	check_string(d->group, "daemon.group not set");
	check_string(c->menu.base_url, "menu.base_url not set");
	check_string(c->menu.memtest_bios, "menu.memtest_bios not set");
	check_string(c->menu.memtest_efi, "menu.memtest_efi not set");
	check_string(c->database_write, "database_write not set");
	if (!db_is_uri(c->database) &&
	    strcmp(c->database, c->events_database) == 0)
		fuzz_fail("events database is the inventory file");
	if (*c->database == '\0' || *d->listen == '\0')
		fuzz_fail("empty database or listen address");
	if (d->socket_mode > 0777)
		fuzz_fail("socket_mode out of range");
	if (d->workers < 0 || d->workers > 256 || d->max_requests < 0 || d->drain_timeout < 1 ||
	    d->event_wait_ms < 0 || d->event_retention_days < 0 ||
	    d->done_rate < 0 || d->done_burst < 1 || d->events_max < 0 ||
	    d->discovered_max < 0 || d->event_batch_ms < 1 ||
	    d->event_batch_max < 1 || d->event_batch_max > CFG_EVENT_BATCH_MAX)
		fuzz_fail("daemon number out of range");
	if (d->log_level < LOG_ERR || d->log_level > LOG_DEBUG)
		fuzz_fail("log_level out of range");
	if (c->token_ttl < 60 || c->menu.timeout < 0)
		fuzz_fail("token_ttl or menu.timeout out of range");
	if (c->menu.nmanual_dists > 0 && c->menu.manual_dists == NULL)
		fuzz_fail("manual_dists lost");
	for (i = 0; i < c->menu.nmanual_dists; i++)
		check_string(c->menu.manual_dists[i], "manual_dists hole");
}

/* The unknown-MAC script of c, read as iPXE reads it; 0 when refused. */
static int
shape(const struct cfg *c, struct ic_script *ic)
{
	struct buf out = { 0 };
	enum bootd_err rc;

	rc = ipxe_render_unknown(c, "52:54:00:12:34:56", &out, NULL);
	if (rc != BOOTD_OK) {
		if (rc != BOOTD_ERENDER && rc != BOOTD_EINVAL)
			fuzz_fail("unexpected error code from the renderer");
		buf_free(&out);
		return 0;
	}
	if (buf_failed(&out) || ic_parse(buf_str(&out), ic) != 0)
		fuzz_fail("out of memory");
	buf_free(&out);
	return 1;
}

/* Values from the file do not change the structure of a script. */
static void
check_render(struct cfg *c)
{
	static const char *const allowed[] = {
		"${platform}", "${target}", NULL
	};
	struct ic_script got, want;
	char *url = c->menu.base_url, *bios = c->menu.memtest_bios;
	char *efi = c->menu.memtest_efi;

	if (!shape(c, &got))
		return;
	if (!got.magic || got.dangling || ic_unknown_command(&got, NULL) != NULL ||
	    ic_unknown_setting(&got, allowed) != NULL)
		fuzz_fail("script with a foreign command or setting");
	c->menu.base_url = "http://boot.example.org";
	c->menu.memtest_bios = "memtest86+x64.bin";
	c->menu.memtest_efi = "memtest86+x64.efi";
	if (!shape(c, &want))
		fuzz_fail("benign values refused");
	c->menu.base_url = url;
	c->menu.memtest_bios = bios;
	c->menu.memtest_efi = efi;
	if (strcmp(buf_str(&got.shape), buf_str(&want.shape)) != 0)
		fuzz_fail("script structure changed by a configured value");
	ic_free(&got);
	ic_free(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bootd_error err = { "" };
	struct cfg *cfg = NULL;
	char path[64];
	enum bootd_err rc;
	ssize_t n;
	size_t off;
	int fd;

	if ((fd = memfd_create("bootd.json", MFD_CLOEXEC)) == -1)
		fuzz_fail("memfd_create failed");
	for (off = 0; off < size; off += (size_t)n)
		if ((n = write(fd, data + off, size - off)) <= 0)
			fuzz_fail("write to the memory file failed");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = cfg_load(path, &cfg, &err);
	close(fd);
	if (rc == BOOTD_OK) {
		if (cfg == NULL)
			fuzz_fail("accepted without a configuration");
		check_cfg(cfg);
		check_render(cfg);
		cfg_free(cfg);
		return 0;
	}
	if (cfg != NULL)
		fuzz_fail("refused, yet a configuration returned");
	if (err.text[0] == '\0' || strpbrk(err.text, "\r\n") != NULL)
		fuzz_fail("refusal without a one-line reason");
	return 0;
}
