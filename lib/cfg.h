/*
 * cfg.h - the bootd.json configuration
 *
 * Every setting has a default, so no file is needed to start.  The file is
 * JSON (read with Jansson); an unknown key, a wrong type or malformed JSON is
 * an error naming the key, or the line and column.  See bootd.json(5).
 *
 *   {
 *     "database": "/var/lib/bootd/db/bootd.db",   (or a postgresql:// URI)
 *     "database_write": "postgresql://...",       (only with a URI;
 *                         default: "database" with
 *                         target_session_attrs=read-write)
 *     "events_database": "/var/lib/bootd/db/bootd-events.db",  (default:
 *                         from "database", ".db" -> "-events.db"; for a
 *                         URI "database", "database_write")
 *     "admin_group": "bootadm",
 *     "token_ttl": 21600,
 *     "daemon": {
 *       "listen": "unix:/run/bootd/bootd.sock",   (or "127.0.0.1:9000",
 *                                                   "[::1]:9000")
 *       "socket_mode": "0660", "socket_owner": "", "socket_group": "www-data",
 *       "user": "bootd", "group": "bootd",
 *       "peer_users": [], "peer_groups": [],  (default: the socket's
 *                         owner and group may connect; root always)
 *       "workers": 0, "max_requests": 0, "drain_timeout": 10,
 *       "event_wait_ms": 50, "event_retention_days": 90,
 *       "done_requires_fetch_address": false,
 *       "done_rate": 6, "done_burst": 10,
 *       "events_max": 1000000, "discovered_max": 10000,
 *       "event_batch_ms": 10, "event_batch_max": 256,
 *       "log": "stderr", "log_level": "info"
 *     },
 *     "menu": {
 *       "base_url": "http://127.0.0.1", "timeout": 5,
 *       "shell": true, "memtest": true,
 *       "memtest_bios": "memtest86+x64.bin", "memtest_efi": "memtest86+x64.efi",
 *       "manual_dists": [], "unknown": "local"
 *     }
 *   }
 */
#ifndef BOOTD_CFG_H
#define BOOTD_CFG_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>

#include "err.h"

#define CFG_DEFAULT_PATH	"/etc/bootd/bootd.json"
/*
 * Caps of the events database (bootd.json(5) gives the reasoning): a
 * million boot events is 90 days of a 10,000-host fleet that reboots
 * daily, about 260 MB with the parameters a real iPXE sends (measured:
 * 257 bytes a row), 2.1 GB at most when every parameter has its longest
 * value (2,068 bytes a row); ten thousand discovered MACs is more unknown
 * machines than a site racks at once, 21 MB at most.
 */
#define CFG_EVENTS_MAX		1000000L
#define CFG_DISCOVERED_MAX	10000L
#define CFG_EVENT_BATCH_MAX	4096	/* largest daemon.event_batch_max */
#define CFG_WORKERS_MAX		256	/* largest daemon.workers */

enum cfg_log {
	CFG_LOG_STDERR,
	CFG_LOG_SYSLOG
};

enum cfg_unknown {
	CFG_UNKNOWN_LOCAL,	/* unknown MAC: menu defaulting to local boot */
	CFG_UNKNOWN_SHELL,	/* unknown MAC: menu defaulting to the shell */
};

/* A list of user or group names. */
struct cfg_names {
	char		**v;		/* n names, then NULL */
	size_t		 n;
};

#define CFG_NAMES_MAX	32		/* longest peer_users, peer_groups */

struct cfg_daemon {
	char		*listen;	/* "unix:PATH" or "HOST:PORT" */
	unsigned	 socket_mode;	/* mode of a unix socket, e.g. 0660 */
	char		*socket_owner;	/* user owning the socket, "" = as is */
	char		*socket_group;	/* group of the socket, "" = as is */
	char		*user;		/* drop to this user when root */
	char		*group;		/* drop to this group when root */
	struct cfg_names peer_users;	/* users who may connect to the
					 * FastCGI socket; with peer_groups
					 * empty too: the socket's owner and
					 * group (fcgi/peer.c) */
	struct cfg_names peer_groups;	/* groups who may connect */
	int		 workers;	/* worker processes; 0 = number of CPUs */
	long		 max_requests;	/* recycle a worker after this; 0 = never */
	int		 drain_timeout;	/* seconds to finish in-flight requests */
	int		 event_wait_ms;	/* bound on waiting to record a batch */
	int		 event_retention_days; /* keep boot events this long;
					 * 0 = forever */
	int		 done_requires_fetch_address; /* refuse a done from
					 * another address than the one
					 * that fetched the install script */
	int		 done_rate;	/* failed dones per minute and client
					 * address, refilled; 0 = no limit */
	int		 done_burst;	/* failed dones an address may make
					 * at once */
	long		 events_max;	/* boot events kept; 0 = unlimited */
	long		 discovered_max; /* discovered MACs kept; 0 = unlimited */
	int		 event_batch_ms; /* the recorder commits a batch at
					 * most this long after its first event */
	int		 event_batch_max; /* ...or when it holds this many */
	enum cfg_log	 log;		/* where log lines go */
	int		 log_level;	/* syslog priority: LOG_ERR..LOG_DEBUG */
};

struct cfg_menu {
	char		*base_url;	/* {{base_url}}; images at BASE/images/ */
	int		 timeout;	/* menu timeout in seconds; 0 = no menu */
	int		 shell;		/* offer the iPXE shell entry */
	int		 memtest;	/* offer the memory test entry */
	char		*memtest_bios;	/* path under BASE/images/ (BIOS) */
	char		*memtest_efi;	/* path under BASE/images/ (UEFI) */
	char		**manual_dists;	/* extra install entries, by name */
	size_t		 nmanual_dists;
	enum cfg_unknown unknown;	/* what unknown MACs get */
};

struct cfg {
	char		*path;		/* file read, or NULL for defaults */
	char		*database;	/* where bootd reads the inventory: an
					 * SQLite path or a PostgreSQL URI */
	char		*database_write; /* where the inventory is written:
					 * the same path for SQLite; for a
					 * URI "database_write", by default
					 * "database" with
					 * target_session_attrs=read-write.
					 * Never NULL once loaded. */
	char		*events_database; /* the events database: a path, or
					 * a URI (schema "events"; by default
					 * database_write) */
	char		*admin_group;	/* group that may change every host */
	long		 token_ttl;	/* install token lifetime, seconds */
	struct cfg_daemon daemon;
	struct cfg_menu	 menu;
};

/*
 * Load the configuration.  path is the file to read; if NULL, the
 * BOOTD_CONFIG environment variable names it, else CFG_DEFAULT_PATH.
 * A missing file is not an error when path was not given explicitly
 * (neither argument nor environment): defaults apply.
 * On success *out is a new struct cfg the caller frees with cfg_free().
 */
enum bootd_err	 cfg_load(const char *path, struct cfg **out,
		    struct bootd_error *err);

/* Defaults only.  The caller frees the result with cfg_free(). */
enum bootd_err	 cfg_defaults(struct cfg **out, struct bootd_error *err);

/* Release cfg.  Accepts NULL.  This function can't fail. */
void		 cfg_free(struct cfg *cfg);

/* A daemon.listen setting, parsed. */
struct cfg_listen {
	int			 family;	/* AF_UNIX, AF_INET, AF_INET6 */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*path;		/* AF_UNIX: the socket file,
						 * inside the string parsed */
};

/*
 * Parse a daemon.listen value: "unix:/PATH", "A.B.C.D:PORT" or
 * "[V6]:PORT", addresses numeric (a host name such as "localhost" is
 * refused, not resolved: what bootd binds must not depend on the resolver
 * at start).  cfg_load() refuses what this refuses, with the same reason;
 * bootd uses it to bind.  Returns BOOTD_OK or BOOTD_EINVAL with a reason
 * naming "daemon.listen" and the value.
 */
enum bootd_err	 cfg_listen_parse(const char *s, struct cfg_listen *out,
		    struct bootd_error *err);

/*
 * The PostgreSQL URI uri with its target_session_attrs parameter set to
 * value (every other spelling of it removed, one appended), e.g. the
 * default "database_write" of a "database" URI with value "read-write".
 * Returns a new string the caller frees, or NULL when out of memory.
 */
char		*cfg_uri_set_attrs(const char *uri, const char *value);

#endif /* BOOTD_CFG_H */
