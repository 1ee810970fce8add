/*
 * cfg.c - load the bootd.json configuration with Jansson
 *
 * The loader walks a table of settings per JSON object, so every key the
 * file may hold is listed once, with its type and where it goes.  Anything
 * else is an error naming the key.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "cfg.h"
#include "db.h"
#include "events.h"
#include "valid.h"

enum cfg_type {
	CFG_STRING,	/* char *, copied */
	CFG_INT,	/* int, within [min, max] */
	CFG_LONG,	/* long, within [min, max] */
	CFG_BOOL,	/* int 0/1 */
	CFG_OBJECT,	/* nested table */
	CFG_CUSTOM	/* parsed by fn */
};

struct cfg_key;
typedef enum bootd_err (*cfg_fn)(struct cfg *, const struct cfg_key *,
    json_t *, const char *, struct bootd_error *);

struct cfg_key {
	const char		*name;
	enum cfg_type		 type;
	size_t			 off;	/* offset into struct cfg */
	long			 min, max;
	const struct cfg_key	*sub;	/* CFG_OBJECT */
	cfg_fn			 fn;	/* CFG_CUSTOM */
};

static enum bootd_err	parse_listen(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_mode(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_log(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_level(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_base_url(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_image_path(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_dists(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_unknown(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_account(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	parse_accounts(struct cfg *, const struct cfg_key *,
			    json_t *, const char *, struct bootd_error *);
static enum bootd_err	derive_databases(struct cfg *, struct bootd_error *);

#define OFF(f)	offsetof(struct cfg, f)

static const struct cfg_key daemon_keys[] = {
	{ "listen", CFG_CUSTOM, OFF(daemon.listen), 0, 0, NULL, parse_listen },
	{ "socket_mode", CFG_CUSTOM, OFF(daemon.socket_mode), 0, 0, NULL,
	    parse_mode },
	{ "socket_owner", CFG_CUSTOM, OFF(daemon.socket_owner), 0, 0, NULL,
	    parse_account },
	{ "socket_group", CFG_CUSTOM, OFF(daemon.socket_group), 0, 0, NULL,
	    parse_account },
	{ "user", CFG_CUSTOM, OFF(daemon.user), 0, 0, NULL, parse_account },
	{ "group", CFG_CUSTOM, OFF(daemon.group), 0, 0, NULL, parse_account },
	{ "peer_users", CFG_CUSTOM, OFF(daemon.peer_users), 0, 0, NULL,
	    parse_accounts },
	{ "peer_groups", CFG_CUSTOM, OFF(daemon.peer_groups), 0, 0, NULL,
	    parse_accounts },
	{ "workers", CFG_INT, OFF(daemon.workers), 0, CFG_WORKERS_MAX, NULL,
	    NULL },
	{ "max_requests", CFG_LONG, OFF(daemon.max_requests), 0, 1000000000L,
	    NULL, NULL },
	{ "drain_timeout", CFG_INT, OFF(daemon.drain_timeout), 1, 3600, NULL,
	    NULL },
	{ "event_wait_ms", CFG_INT, OFF(daemon.event_wait_ms), 0, 10000, NULL,
	    NULL },
	{ "event_retention_days", CFG_INT, OFF(daemon.event_retention_days), 0,
	    36500, NULL, NULL },
	{ "done_requires_fetch_address", CFG_BOOL,
	    OFF(daemon.done_requires_fetch_address), 0, 0, NULL, NULL },
	{ "done_rate", CFG_INT, OFF(daemon.done_rate), 0, 60000, NULL, NULL },
	{ "done_burst", CFG_INT, OFF(daemon.done_burst), 1, 10000, NULL, NULL },
	{ "events_max", CFG_LONG, OFF(daemon.events_max), 0, 1000000000L, NULL,
	    NULL },
	{ "discovered_max", CFG_LONG, OFF(daemon.discovered_max), 0,
	    100000000L, NULL, NULL },
	{ "event_batch_ms", CFG_INT, OFF(daemon.event_batch_ms), 1, 10000,
	    NULL, NULL },
	{ "event_batch_max", CFG_INT, OFF(daemon.event_batch_max), 1,
	    CFG_EVENT_BATCH_MAX, NULL, NULL },
	{ "log", CFG_CUSTOM, OFF(daemon.log), 0, 0, NULL, parse_log },
	{ "log_level", CFG_CUSTOM, OFF(daemon.log_level), 0, 0, NULL,
	    parse_level },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct cfg_key menu_keys[] = {
	{ "base_url", CFG_CUSTOM, OFF(menu.base_url), 0, 0, NULL,
	    parse_base_url },
	{ "timeout", CFG_INT, OFF(menu.timeout), 0, 3600, NULL, NULL },
	{ "shell", CFG_BOOL, OFF(menu.shell), 0, 0, NULL, NULL },
	{ "memtest", CFG_BOOL, OFF(menu.memtest), 0, 0, NULL, NULL },
	{ "memtest_bios", CFG_CUSTOM, OFF(menu.memtest_bios), 0, 0, NULL,
	    parse_image_path },
	{ "memtest_efi", CFG_CUSTOM, OFF(menu.memtest_efi), 0, 0, NULL,
	    parse_image_path },
	{ "manual_dists", CFG_CUSTOM, 0, 0, 0, NULL, parse_dists },
	{ "unknown", CFG_CUSTOM, OFF(menu.unknown), 0, 0, NULL, parse_unknown },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct cfg_key top_keys[] = {
	{ "database", CFG_STRING, OFF(database), 1, 4096, NULL, NULL },
	{ "database_write", CFG_STRING, OFF(database_write), 1, 4096, NULL,
	    NULL },
	{ "events_database", CFG_STRING, OFF(events_database), 1, 4096, NULL,
	    NULL },
	{ "admin_group", CFG_CUSTOM, OFF(admin_group), 0, 0, NULL,
	    parse_account },
	{ "token_ttl", CFG_LONG, OFF(token_ttl), 60, 30L * 86400, NULL, NULL },
	{ "daemon", CFG_OBJECT, 0, 0, 0, daemon_keys, NULL },
	{ "menu", CFG_OBJECT, 0, 0, 0, menu_keys, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static char **
strp(struct cfg *cfg, const struct cfg_key *k)
{
	return (char **)(void *)((char *)cfg + k->off);
}

static int *
intp(struct cfg *cfg, const struct cfg_key *k)
{
	return (int *)(void *)((char *)cfg + k->off);
}

/* Replace the string at k with a copy of s. */
static enum bootd_err
set_str(struct cfg *cfg, const struct cfg_key *k, const char *s,
    struct bootd_error *err)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	free(*strp(cfg, k));
	*strp(cfg, k) = p;
	return BOOTD_OK;
}

/*
 * A printable ASCII string of at most max bytes, or an error naming key
 * (*out is then NULL).
 */
static enum bootd_err
want_string(json_t *v, const char *key, size_t max, const char **out,
    struct bootd_error *err)
{
	const char *s;
	size_t i, len;

	*out = NULL;
	if (!json_is_string(v))
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected a string", key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len > max)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: longer than %zu bytes", key, max);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "%s: control or non-ASCII character at position %zu",
			    key, i + 1);
	*out = s;
	return BOOTD_OK;
}

enum bootd_err
cfg_listen_parse(const char *s, struct cfg_listen *la, struct bootd_error *err)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&la->ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&la->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&la->ss;
	char host[64];
	const char *colon;
	char *end;
	long port;
	size_t hlen;

	memset(la, 0, sizeof(*la));
	if (strncmp(s, "unix:", 5) == 0) {
		la->path = s + 5;
		if (la->path[0] != '/' ||
		    strlen(la->path) >= sizeof(sun->sun_path))
			return bootd_error_set(err, BOOTD_EINVAL,
			    "daemon.listen: a unix socket needs an absolute "
			    "path shorter than %zu bytes, as in "
			    "\"unix:/run/bootd/bootd.sock\": %s",
			    sizeof(sun->sun_path), s);
		la->family = sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, la->path, strlen(la->path) + 1);
		la->sslen = sizeof(*sun);
		return BOOTD_OK;
	}
	if ((colon = strrchr(s, ':')) == NULL || colon == s ||
	    (hlen = (size_t)(colon - s)) >= sizeof(host))
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 ||
	    port > 65535)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "daemon.listen: port must be a number from 1 to 65535: %s",
		    s);
	if (s[0] == '[' && hlen > 2 && s[hlen - 1] == ']') {
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		la->family = sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		la->sslen = sizeof(*sin6);
		return BOOTD_OK;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		goto bad;
	la->family = sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	la->sslen = sizeof(*sin);
	return BOOTD_OK;
bad:
	return bootd_error_set(err, BOOTD_EINVAL,
	    "daemon.listen: expected \"unix:/PATH\", \"ADDRESS:PORT\" or "
	    "\"[IPV6-ADDRESS]:PORT\" with a numeric address (host names are "
	    "not resolved): %s", s);
}

static enum bootd_err
parse_listen(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	struct cfg_listen la;
	const char *s;
	enum bootd_err rc;

	if ((rc = want_string(v, key, 107, &s, err)) != BOOTD_OK ||
	    (rc = cfg_listen_parse(s, &la, err)) != BOOTD_OK)
		return rc;
	return set_str(cfg, k, s, err);
}

static enum bootd_err
parse_mode(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	const char *s;
	char *end;
	long mode;
	enum bootd_err rc;

	if ((rc = want_string(v, key, 8, &s, err)) != BOOTD_OK)
		return rc;
	errno = 0;
	mode = strtol(s, &end, 8);
	if (*s == '\0' || *end != '\0' || errno != 0 || mode < 0 ||
	    mode > 0777)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected an octal mode such as \"0660\"", key);
	*(unsigned *)(void *)((char *)cfg + k->off) = (unsigned)mode;
	return BOOTD_OK;
}

static enum bootd_err
parse_log(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	const char *s;
	enum bootd_err rc;

	if ((rc = want_string(v, key, 16, &s, err)) != BOOTD_OK)
		return rc;
	if (strcmp(s, "stderr") == 0)
		cfg->daemon.log = CFG_LOG_STDERR;
	else if (strcmp(s, "syslog") == 0)
		cfg->daemon.log = CFG_LOG_SYSLOG;
	else
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected \"stderr\" or \"syslog\"", key);
	return BOOTD_OK;
}

static enum bootd_err
parse_level(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "err", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	const char *s;
	size_t i;
	enum bootd_err rc;

	if ((rc = want_string(v, key, 16, &s, err)) != BOOTD_OK)
		return rc;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(s, levels[i].name) == 0) {
			cfg->daemon.log_level = levels[i].level;
			return BOOTD_OK;
		}
	return bootd_error_set(err, BOOTD_EINVAL,
	    "%s: expected one of err, warning, notice, info, debug", key);
}

/*
 * The base URL ends up in every script: http(s)://, then only characters
 * that are safe as one iPXE argument, no "${", no trailing slash.
 */
static enum bootd_err
parse_base_url(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	const char *s, *p;
	size_t len;
	enum bootd_err rc;

	if ((rc = want_string(v, key, 512, &s, err)) != BOOTD_OK)
		return rc;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: must start with http:// or https://", key);
	len = strlen(s);
	if (s[len - 1] == '/')
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: must not end with '/'", key);
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) &&
		    strchr(":/.-_~%[]@!+,=", *p) == NULL)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "%s: character '%c' is not allowed in the base URL",
			    key, *p);
	return set_str(cfg, k, s, err);
}

/* A relative path under BASE/images/: [A-Za-z0-9._+-/], no "..". */
static enum bootd_err
parse_image_path(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	const char *s, *p;
	enum bootd_err rc;

	if ((rc = want_string(v, key, 255, &s, err)) != BOOTD_OK)
		return rc;
	if (*s == '\0' || *s == '/' || strstr(s, "..") != NULL)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected a relative path under images/ without \"..\"",
		    key);
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._+-/", *p) == NULL)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "%s: character '%c' is not allowed in a path", key,
			    *p);
	return set_str(cfg, k, s, err);
}

static enum bootd_err
parse_dists(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	char **names, sub[64];
	size_t i, n;
	const char *s;
	enum bootd_err rc;

	if (!json_is_array(v))
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected an array of distribution names", key);
	n = json_array_size(v);
	if (n > 32)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: at most 32 distributions", key);
	if ((names = calloc(n + 1, sizeof(*names))) == NULL)
		return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
		if ((rc = want_string(json_array_get(v, i), sub, 64, &s,
		    err)) != BOOTD_OK ||
		    (rc = valid_name(sub, s, err)) != BOOTD_OK)
			goto fail;
		if ((names[i] = strdup(s)) == NULL) {
			rc = bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
			goto fail;
		}
	}
	for (i = 0; i < cfg->menu.nmanual_dists; i++)
		free(cfg->menu.manual_dists[i]);
	free(cfg->menu.manual_dists);
	cfg->menu.manual_dists = names;
	cfg->menu.nmanual_dists = n;
	return BOOTD_OK;
fail:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static enum bootd_err
parse_unknown(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	const char *s;
	enum bootd_err rc;

	if ((rc = want_string(v, key, 16, &s, err)) != BOOTD_OK)
		return rc;
	if (strcmp(s, "local") == 0)
		cfg->menu.unknown = CFG_UNKNOWN_LOCAL;
	else if (strcmp(s, "shell") == 0)
		cfg->menu.unknown = CFG_UNKNOWN_SHELL;
	else
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected \"local\" or \"shell\"", key);
	return BOOTD_OK;
}

/* Is s a well-formed user or group name ("" included)? */
static int
account_name(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++)
		if (!(islower((unsigned char)*p) || *p == '_' ||
		    (p != s && (isdigit((unsigned char)*p) || *p == '-'))))
			return 0;
	return 1;
}

/* A user or group name, or "" for none. */
static enum bootd_err
parse_account(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	const char *s;
	enum bootd_err rc;

	if ((rc = want_string(v, key, 32, &s, err)) != BOOTD_OK)
		return rc;
	if (!account_name(s))
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: not a valid user or group name", key);
	return set_str(cfg, k, s, err);
}

static void
names_free(struct cfg_names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * An array of at most CFG_NAMES_MAX user or group names, none empty.
 * Whether they exist is the daemon's business (fcgi/peer.c): this file
 * is read by bootctl too, on machines without the web server's user.
 */
static enum bootd_err
parse_accounts(struct cfg *cfg, const struct cfg_key *k, json_t *v,
    const char *key, struct bootd_error *err)
{
	struct cfg_names l = { NULL, 0 };
	char sub[160];
	const char *s;
	size_t i, n;
	enum bootd_err rc;

	if (!json_is_array(v))
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected an array of names", key);
	if ((n = json_array_size(v)) > CFG_NAMES_MAX)
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: at most %d names", key, CFG_NAMES_MAX);
	if ((l.v = calloc(n + 1, sizeof(*l.v))) == NULL)
		return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
		if ((rc = want_string(json_array_get(v, i), sub, 32, &s,
		    err)) != BOOTD_OK)
			goto fail;
		if (*s == '\0' || !account_name(s)) {
			rc = bootd_error_set(err, BOOTD_EINVAL,
			    "%s: not a valid user or group name", sub);
			goto fail;
		}
		if ((l.v[i] = strdup(s)) == NULL) {
			rc = bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
			goto fail;
		}
		l.n = i + 1;
	}
	names_free((struct cfg_names *)(void *)((char *)cfg + k->off));
	*(struct cfg_names *)(void *)((char *)cfg + k->off) = l;
	return BOOTD_OK;
fail:
	names_free(&l);
	return rc;
}

static enum bootd_err
load_object(struct cfg *cfg, const struct cfg_key *keys, json_t *obj,
    const char *prefix, struct bootd_error *err)
{
	const struct cfg_key *k;
	const char *name, *s;
	json_t *v;
	json_int_t n;
	char key[128];
	enum bootd_err rc;

	if (!json_is_object(obj))
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s: expected an object", *prefix ? prefix : "top level");
	json_object_foreach(obj, name, v) {
		snprintf(key, sizeof(key), "%s%s%.64s", prefix,
		    *prefix ? "." : "", name);
		for (k = keys; k->name != NULL; k++)
			if (strcmp(k->name, name) == 0)
				break;
		if (k->name == NULL)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "%s: unknown setting", key);
		switch (k->type) {
		case CFG_STRING:
			if ((rc = want_string(v, key, (size_t)k->max, &s,
			    err)) != BOOTD_OK)
				return rc;
			if (strlen(s) < (size_t)k->min)
				return bootd_error_set(err, BOOTD_EINVAL,
				    "%s: must not be empty", key);
			if ((rc = set_str(cfg, k, s, err)) != BOOTD_OK)
				return rc;
			break;
		case CFG_INT:
		case CFG_LONG:
			if (!json_is_integer(v))
				return bootd_error_set(err, BOOTD_EINVAL,
				    "%s: expected an integer", key);
			n = json_integer_value(v);
			if (n < k->min || n > k->max)
				return bootd_error_set(err, BOOTD_EINVAL,
				    "%s: must be from %ld to %ld", key, k->min,
				    k->max);
			if (k->type == CFG_INT)
				*intp(cfg, k) = (int)n;
			else
				*(long *)(void *)((char *)cfg + k->off) =
				    (long)n;
			break;
		case CFG_BOOL:
			if (!json_is_boolean(v))
				return bootd_error_set(err, BOOTD_EINVAL,
				    "%s: expected true or false", key);
			*intp(cfg, k) = json_is_true(v);
			break;
		case CFG_OBJECT:
			if ((rc = load_object(cfg, k->sub, v, key, err)) !=
			    BOOTD_OK)
				return rc;
			break;
		case CFG_CUSTOM:
			if ((rc = k->fn(cfg, k, v, key, err)) != BOOTD_OK)
				return rc;
			break;
		}
	}
	return BOOTD_OK;
}

enum bootd_err
cfg_defaults(struct cfg **out, struct bootd_error *err)
{
	struct cfg *cfg;
	long ncpu;

	*out = NULL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->database = strdup("/var/lib/bootd/db/bootd.db");
	cfg->admin_group = strdup("bootadm");
	cfg->token_ttl = 6 * 3600;
	cfg->daemon.listen = strdup("unix:/run/bootd/bootd.sock");
	cfg->daemon.socket_mode = 0660;
	cfg->daemon.socket_owner = strdup("");
	cfg->daemon.socket_group = strdup("www-data");
	cfg->daemon.user = strdup("bootd");
	cfg->daemon.group = strdup("bootd");
	cfg->daemon.workers = ncpu > 0 && ncpu < 256 ? (int)ncpu : 2;
	cfg->daemon.max_requests = 0;
	cfg->daemon.drain_timeout = 10;
	cfg->daemon.event_wait_ms = 50;
	cfg->daemon.event_retention_days = 90;
	cfg->daemon.done_requires_fetch_address = 0;
	cfg->daemon.done_rate = 6;
	cfg->daemon.done_burst = 10;
	cfg->daemon.events_max = CFG_EVENTS_MAX;
	cfg->daemon.discovered_max = CFG_DISCOVERED_MAX;
	cfg->daemon.event_batch_ms = 10;
	cfg->daemon.event_batch_max = 256;
	cfg->daemon.log = CFG_LOG_STDERR;
	cfg->daemon.log_level = LOG_INFO;
	cfg->menu.base_url = strdup("http://boot.example.org");
	cfg->menu.timeout = 5;
	cfg->menu.shell = 1;
	cfg->menu.memtest = 1;
	cfg->menu.memtest_bios = strdup("memtest86+x64.bin");
	cfg->menu.memtest_efi = strdup("memtest86+x64.efi");
	cfg->menu.unknown = CFG_UNKNOWN_LOCAL;
	cfg->database_write = strdup("/var/lib/bootd/db/bootd.db");
	cfg->events_database = events_default_path(cfg->database);
	if (cfg->database == NULL || cfg->database_write == NULL ||
	    cfg->events_database == NULL ||
	    cfg->admin_group == NULL ||
	    cfg->daemon.listen == NULL || cfg->daemon.socket_owner == NULL ||
	    cfg->daemon.socket_group == NULL || cfg->daemon.user == NULL ||
	    cfg->daemon.group == NULL || cfg->menu.base_url == NULL ||
	    cfg->menu.memtest_bios == NULL || cfg->menu.memtest_efi == NULL) {
		cfg_free(cfg);
		return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	}
	*out = cfg;
	return BOOTD_OK;
}

enum bootd_err
cfg_load(const char *path, struct cfg **out, struct bootd_error *err)
{
	struct cfg *cfg;
	json_error_t jerr;
	json_t *root;
	int explicit = 1;
	enum bootd_err rc;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		path = getenv("BOOTD_CONFIG");
		if (path == NULL || *path == '\0') {
			path = CFG_DEFAULT_PATH;
			explicit = 0;
		}
	}
	if ((rc = cfg_defaults(&cfg, err)) != BOOTD_OK)
		return rc;
	if (!explicit && access(path, F_OK) == -1 && errno == ENOENT) {
		*out = cfg;
		return BOOTD_OK;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		cfg_free(cfg);
		if (jerr.line <= 0)
			return bootd_error_set(err, BOOTD_EINVAL, "%s: %s",
			    path, jerr.text);
		return bootd_error_set(err, BOOTD_EINVAL,
		    "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	}
	/* Unless the file names them, both follow "database". */
	free(cfg->database_write);
	cfg->database_write = NULL;
	free(cfg->events_database);
	cfg->events_database = NULL;
	rc = load_object(cfg, top_keys, root, "", err);
	json_decref(root);
	if (rc == BOOTD_OK)
		rc = derive_databases(cfg, err);
	if (rc != BOOTD_OK) {
		/* Prefix the file name, keeping the setting's message. */
		if (err != NULL) {
			char text[sizeof(err->text)];

			snprintf(text, sizeof(text), "%s", err->text);
			bootd_error_set(err, rc, "%s: %s", path, text);
		}
		cfg_free(cfg);
		return rc;
	}
	if ((cfg->path = strdup(path)) == NULL) {
		cfg_free(cfg);
		return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	}
	*out = cfg;
	return BOOTD_OK;
}

/*
 * After loading: database_write and events_database from "database"
 * unless the file gave them, and whether they suit it.  An SQLite
 * inventory is written where it is read, so database_write is only for a
 * URI; with a URI the events live in the database written to (schema
 * "events"), with a path in a file of their own beside the inventory.
 */
static enum bootd_err
derive_databases(struct cfg *cfg, struct bootd_error *err)
{
	char *w;

	if (db_is_uri(cfg->database)) {
		if (cfg->database_write != NULL &&
		    !db_is_uri(cfg->database_write))
			return bootd_error_set(err, BOOTD_EINVAL,
			    "database_write: expected a postgresql:// URI, as "
			    "\"database\" is one");
		if (cfg->events_database != NULL &&
		    !db_is_uri(cfg->events_database))
			return bootd_error_set(err, BOOTD_EINVAL,
			    "events_database: expected a postgresql:// URI, as "
			    "\"database\" is one");
		/*
		 * Writes need the primary whatever the file says: a
		 * database_write that could reach a standby would fail
		 * every done while health said ok.
		 */
		w = cfg_uri_set_attrs(cfg->database_write != NULL ?
		    cfg->database_write : cfg->database, "read-write");
		if (w == NULL)
			return bootd_error_set(err, BOOTD_ENOMEM,
			    "out of memory");
		free(cfg->database_write);
		cfg->database_write = w;
		w = cfg_uri_set_attrs(cfg->events_database != NULL ?
		    cfg->events_database : cfg->database_write, "read-write");
		if (w == NULL)
			return bootd_error_set(err, BOOTD_ENOMEM,
			    "out of memory");
		free(cfg->events_database);
		cfg->events_database = w;
		return BOOTD_OK;
	}
	if (cfg->events_database != NULL && db_is_uri(cfg->events_database))
		return bootd_error_set(err, BOOTD_EINVAL, "events_database: a "
		    "PostgreSQL URI only with a PostgreSQL \"database\"; "
		    "an SQLite inventory keeps its events in a file");
	if (cfg->database_write != NULL)
		return bootd_error_set(err, BOOTD_EINVAL, "database_write: only "
		    "for a PostgreSQL \"database\"; an SQLite inventory is "
		    "written where it is read");
	if ((cfg->database_write = strdup(cfg->database)) == NULL ||
	    (cfg->events_database == NULL &&
	    (cfg->events_database = events_default_path(cfg->database)) ==
	    NULL))
		return bootd_error_set(err, BOOTD_ENOMEM, "out of memory");
	if (strcmp(cfg->events_database, cfg->database) == 0)
		return bootd_error_set(err, BOOTD_EINVAL, "events_database: "
		    "must not be the inventory (\"database\")");
	return BOOTD_OK;
}

char *
cfg_uri_set_attrs(const char *uri, const char *value)
{
	static const char key[] = "target_session_attrs";
	const char *q, *p, *end, *eq;
	char *out, *o, sep = '?';
	size_t n;

	q = strchr(uri, '?');
	n = q != NULL ? (size_t)(q - uri) : strlen(uri);
	if ((out = malloc(strlen(uri) + sizeof(key) + strlen(value) + 3)) ==
	    NULL)
		return NULL;
	memcpy(out, uri, n);
	o = out + n;
	for (p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0'; p = end) {
		if ((end = strchr(p, '&')) == NULL)
			end = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL)
			eq = end;
		if (end > p && !db_uri_param_is(p, (size_t)(eq - p), key)) {
			*o++ = sep;
			sep = '&';
			memcpy(o, p, (size_t)(end - p));
			o += end - p;
		}
		if (*end == '&')
			end++;
	}
	*o++ = sep;
	memcpy(o, key, sizeof(key) - 1);
	o += sizeof(key) - 1;
	*o++ = '=';
	memcpy(o, value, strlen(value) + 1);
	return out;
}

void
cfg_free(struct cfg *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->database);
	free(cfg->database_write);
	free(cfg->events_database);
	free(cfg->admin_group);
	free(cfg->daemon.listen);
	free(cfg->daemon.socket_owner);
	free(cfg->daemon.socket_group);
	free(cfg->daemon.user);
	free(cfg->daemon.group);
	names_free(&cfg->daemon.peer_users);
	names_free(&cfg->daemon.peer_groups);
	free(cfg->menu.base_url);
	free(cfg->menu.memtest_bios);
	free(cfg->menu.memtest_efi);
	for (i = 0; i < cfg->menu.nmanual_dists; i++)
		free(cfg->menu.manual_dists[i]);
	free(cfg->menu.manual_dists);
	free(cfg);
}
