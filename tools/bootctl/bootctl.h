/*
 * bootctl.h - what the files of bootctl share
 *
 * bootctl is split by noun, so a verb's code is found from its name:
 *   main.c       the verb table, usage and option parsing, opening the
 *                inventory, main()
 *   output.c     messages, tables and "key: value" lines
 *   access.c     who the caller is and what it may change
 *   select.c     the hosts a verb names or selects (--env, --attr,
 *                --from ...), confirmation, --dry-run, and applying a
 *                change to all of them in one transaction
 *   complete.c   the hidden "__complete" verb behind bash completion and
 *                "did you mean" suggestions
 *   host.c       host, nic and attr verbs
 *   dist.c       dist and env verbs
 *   reinstall.c  set-reinstall, set-local, status, render
 *   history.c    discovered list, audit
 *   xfer.c       export, import (the document itself: lib/xfer.c)
 *   timeline.c   history: audit rows and boot events of hosts, merged
 *   adopt.c      discovered adopt, discovered forget
 */
#ifndef BOOTCTL_H
#define BOOTCTL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "events.h"
#include "inv.h"

#include <jansson.h>

#ifndef BOOTD_VERSION
#define BOOTD_VERSION	"0.1.0"
#endif

#define EXIT_OK		0	/* done */
#define EXIT_FAIL	1	/* the operation failed */
#define EXIT_USAGE	2	/* bad command line */
#define TOKEN_HIDDEN	"HIDDEN"	/* stands in for a token in render */

#define ARGS_ANY	INT_MAX	/* no upper bound on arguments */

/* Verb options (bit mask in struct verb). */
#define OPT_ENV		0x01	/* --env E */
#define OPT_DIST	0x02	/* --dist D */
#define OPT_GROUP	0x04	/* --group G */
#define OPT_KERNEL	0x08	/* --kernel URL */
#define OPT_INITRD	0x10	/* --initrd URL, repeatable */
#define OPT_CMDLINE	0x20	/* --cmdline TEMPLATE */
#define OPT_LIMIT	0x40	/* --limit N */
#define OPT_SELECT	0x80	/* selectors: --attr, --action, --name, --all,
				 * --from, --with-dist (and --env, --dist) */
#define OPT_CHANGE	0x100	/* -n/--dry-run, -y/--yes */
#define OPT_JSON	0x200	/* --json */
#define OPT_DRY_RUN	0x400	/* -n/--dry-run alone (import) */
#define OPT_REPLACE	0x800	/* --replace */
#define OPT_SINCE	0x1000	/* --since TIME, --until TIME */
#define OPT_ATTR	0x2000	/* --attr KEY=VALUE to set, repeatable */
#define OPT_OLDER	0x4000	/* --older-than DAYS */
#define OPT_FORCE	0x8000	/* --force */

/* Verb flags. */
#define VF_NODB		0x01	/* needs neither configuration nor database */
#define VF_WRITE	0x02	/* opens the database read-write */
#define VF_CREATE	0x04	/* creates the database (init) */
#define VF_ADMIN	0x08	/* root or the admin group only */
#define VF_HOST		0x10	/* changes the host argv[0]: see ctx->host */
#define VF_SELECT	0x20	/* takes hosts, or selectors: see select.c */
#define VF_DISTVAL	0x40	/* --dist is what to install, not a selector */
#define VF_HIDDEN	0x80	/* not listed in the usage */
/* VF_SELECT: the verb's own values that follow its hosts (ENV, KEY VALUE). */
#define VF_VALUES(n)	((unsigned)(n) << 8)
#define VF_NVALUES(f)	((int)(((f) >> 8) & 3))
#define VF_INPUT	0x400	/* reads the file argv[0] ("-": stdin) first,
				 * as the caller: see args.input */

/* The parsed command line of one verb. */
struct args {
	const char	 *env;		/* --env, or NULL */
	const char	 *dist;		/* --dist, or NULL */
	const char	 *group;	/* --group, or NULL */
	const char	 *kernel;	/* --kernel, or NULL */
	const char	 *cmdline;	/* --cmdline, or NULL */
	const char	 *limit;	/* --limit, or NULL */
	char		**initrds;	/* --initrd values, in order */
	size_t		  ninitrds;
	const char	 *since;	/* --since, or NULL */
	const char	 *until;	/* --until, or NULL */
	const char	 *older_than;	/* --older-than, or NULL */
	bool		  replace;	/* --replace */
	char		 *input;	/* VF_INPUT: the file's bytes,
					 * NUL-ended */
	size_t		  input_len;
	bool		  force;	/* --force */
	int		  argc;		/* positional arguments */
	char		**argv;
	/* Selectors (OPT_SELECT; --env and --dist above). */
	char		**attrs;	/* --attr key=value, in order (a
					 * selector; for discovered adopt,
					 * to set) */
	size_t		  nattrs;
	const char	 *action;	/* --action install|local, or NULL */
	const char	 *name;		/* --name GLOB, or NULL */
	const char	 *with_dist;	/* --with-dist D, or NULL */
	const char	 *from;		/* --from FILE, or NULL */
	bool		  all;		/* --all */
	char		**from_names;	/* the hosts --from named, read before
					 * the inventory is opened */
	int		 *from_lines;	/* line of each in the file */
	int		  nfrom;
	/* VF_SELECT: argv is hosts, then the verb's nvalues values. */
	int		  nhosts;
	char		**values;
	bool		  yes;		/* -y, --yes */
	bool		  dry_run;	/* -n, --dry-run */
	bool		  json;		/* --json */
	bool		  quiet;	/* -q, --quiet */
	bool		  verbose;	/* -v, --verbose */
	unsigned	  vflags;	/* the verb's VF_* flags */
};

/* Who runs bootctl and on what. */
struct ctx {
	struct cfg	*cfg;		/* loaded configuration */
	struct inv	*inv;		/* open inventory */
	char		*dbpath;	/* the inventory: a path, or a
					 * PostgreSQL URI (read-write) */
	char		*evpath;	/* the events database: a path, or a
					 * URI (its schema "events") */
	bool		 uri;		/* dbpath is a URI */
	char		 dbname[512];	/* dbpath for messages (no password) */
	uid_t		 dbuid;		/* owner of the database directory */
	bool		 setid;		/* running setgid (or setuid) */
	struct events	*ev;		/* open events database, or NULL */
	bool		 ev_tried;	/* opening ev was attempted */
	const char	*verb;		/* name of the running verb */
	uid_t		 uid;		/* real uid of the caller */
	gid_t		*groups;	/* real gid and supplementary groups */
	int		 ngroups;
	bool		 admin;		/* root or in cfg->admin_group */
	struct inv_host	*host;		/* VF_HOST: argv[0], authorized */
	const struct verb *v;		/* the running verb */
	bool		 quiet;		/* -q: say nothing on success */
	bool		 verbose;	/* -v: say what changed */
	int64_t		 now;		/* time of the invocation */
	char		 note[256];	/* change_apply(): said with the dry
					 * run's summary and the prompt */
	struct inv_mark	 selected;	/* the inventory when hosts_select()
					 * began reading (change_apply()) */
	char		*authz_group;	/* authorize(): the last group asked */
	bool		 authz_ok;	/* and its answer */
	struct bootd_error err;		/* last libboot error */
};

struct verb {
	const char	*name;		/* "host add" */
	int		 min_args;	/* positional arguments */
	int		 max_args;
	unsigned	 flags;		/* VF_* */
	unsigned	 opts;		/* OPT_* accepted */
	int		(*fn)(struct ctx *, struct args *);
	const char	*usage;		/* arguments, as in the man page */
	const char	*help;		/* one line */
};

/*
 * An aligned text table: every cell is a made-safe copy owned by the
 * table; table_print() pads all columns but the last.  A listing verb
 * starts one with table_head() and ends it with table_done().
 */
struct table {
	size_t	  ncols;
	size_t	  ncells;
	size_t	  cap;
	char	**cells;
	bool	  failed;
};


/* A --json listing being built: {"KEY": [...]} (output.c). */
struct json_list {
	json_t	*doc;
	json_t	*list;		/* borrowed from doc */
	bool	 failed;	/* an object could not be made */
};

/*
 * A change applied to every selected host by change_apply(): describe
 * says what it would do to h (for --dry-run, --verbose and the prompt),
 * apply does it inside the one transaction.  skip (may be NULL) says a
 * host has nothing to change: it is described, never applied.
 */
struct change {
	void		(*describe)(struct ctx *, struct args *,
			    const struct inv_host *, struct buf *);
	enum bootd_err	(*apply)(struct ctx *, struct args *,
			    const struct inv_host *);
	bool		(*skip)(struct ctx *, struct args *,
			    const struct inv_host *);
	/* The change may spoil a host's install script: install_renders(). */
	bool		 rerender;
};

/*
 * A host marked install has an install script that can be made safely,
 * as changed (inside the change's transaction): else BOOTD_EINVAL or the
 * like with the reason in ctx->err, and the change is refused, as
 * set-reinstall refuses up front.  reinstall.c.
 */
enum bootd_err	install_renders(struct ctx *, const struct inv_host *);

int	verb_init(struct ctx *, struct args *);
int	verb_host_add(struct ctx *, struct args *);
int	verb_host_remove(struct ctx *, struct args *);
int	verb_host_rename(struct ctx *, struct args *);
int	verb_host_show(struct ctx *, struct args *);
int	verb_host_list(struct ctx *, struct args *);
int	verb_host_set_env(struct ctx *, struct args *);
int	verb_host_set_dist(struct ctx *, struct args *);
int	verb_nic_add(struct ctx *, struct args *);
int	verb_nic_remove(struct ctx *, struct args *);
int	verb_attr_set(struct ctx *, struct args *);
int	verb_attr_unset(struct ctx *, struct args *);
int	verb_env_add(struct ctx *, struct args *);
int	verb_env_remove(struct ctx *, struct args *);
int	verb_env_list(struct ctx *, struct args *);
int	verb_dist_add(struct ctx *, struct args *);
int	verb_dist_update(struct ctx *, struct args *);
int	verb_dist_list(struct ctx *, struct args *);
int	verb_dist_show(struct ctx *, struct args *);
int	verb_dist_remove(struct ctx *, struct args *);
int	verb_set_reinstall(struct ctx *, struct args *);
int	verb_set_local(struct ctx *, struct args *);
int	verb_status(struct ctx *, struct args *);
int	verb_render(struct ctx *, struct args *);
int	verb_discovered_list(struct ctx *, struct args *);
int	verb_audit(struct ctx *, struct args *);
int	verb_help(struct ctx *, struct args *);
int	verb_complete(struct ctx *, struct args *);
int	verb_names(struct ctx *, struct args *);
int	verb_export(struct ctx *, struct args *);
int	verb_import(struct ctx *, struct args *);
int	verb_history(struct ctx *, struct args *);
int	verb_discovered_adopt(struct ctx *, struct args *);
int	verb_discovered_forget(struct ctx *, struct args *);

/* output.c */
void	safe_append(struct buf *, const char *);
void	warnmsg(const char *, ...) __attribute__((format(printf, 1, 2)));
int	fail(struct ctx *, enum bootd_err);
const char *fmt_time(int64_t, char[32]);
const char *action_name(enum inv_action);
void	append_audit_value(struct buf *, const char *, const char *);
void	table_add(struct table *, const char *);
void	table_free(struct table *);
void	table_head(struct table *, ...) __attribute__((sentinel));
int	table_print(struct table *);
int	table_done(struct ctx *, struct table *, enum bootd_err);
void	show_line(const char *, const char *);
int	json_emit(json_t *);
int	json_set_time(json_t *, const char *, int64_t);
json_t	*json_str(const char *);
void	json_list_start(struct json_list *, const char *);
void	json_list_add(struct json_list *, json_t *);
int	json_list_done(struct ctx *, struct json_list *, enum bootd_err);
bool	color_on(FILE *);
void	table_print_head(struct table *, bool);

/* access.c */
bool	in_group(const struct ctx *, const char *);
int	identify(struct ctx *);
void	actor_name(uid_t, char *, size_t);
FILE	*open_as_caller(const char *, const char *);
enum bootd_err env_allowed(struct ctx *, const char *, char **);
const char *group_label(const char *);
enum bootd_err authorize(const char *, const char *, const char *, void *,
	    struct bootd_error *);
int	host_for_change(struct ctx *, const char *, struct inv_host **);
int	env_for_change(struct ctx *, const char *);
int	dist_exists(struct ctx *, const char *);

/* select.c */
void	hosts_free(struct inv_host **, int);
bool	selectors_given(const struct args *);
int	split_hosts(struct ctx *, struct args *);
int	from_read(struct args *);
void	from_free(struct args *);
int	hosts_select(struct ctx *, struct args *, bool, struct inv_host ***,
	    int *);
int	change_apply(struct ctx *, struct args *, struct inv_host **, int,
	    const struct change *);
int	group_begin(struct ctx *);
int	group_fail(struct ctx *, enum bootd_err, const char *, int);
int	group_commit(struct ctx *);

/* xfer.c */
int	read_input(const char *, char **, size_t *);

/* timeline.c */
int	parse_time(const char *, int64_t, int64_t *);

/* host.c */
struct events *events_db(struct ctx *);
void	host_row(struct ctx *, struct table *, const struct inv_host *, bool);
json_t	*host_json(struct ctx *, const struct inv_host *, bool);

/* reinstall.c */
void	render_failsafe(struct ctx *, struct args *);

/* main.c */
#define VERB_NOPTS	32	/* room for the long options of any verb */
struct option;
const struct verb *verb_table(size_t *);
void	verb_options(const struct verb *, struct option *);
bool	is_noun(const char *);
size_t	edit_distance(const char *, const char *);

#endif /* BOOTCTL_H */
