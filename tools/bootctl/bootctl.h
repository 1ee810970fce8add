/*
 * bootctl.h - what the files of bootctl share
 *
 * bootctl is split by noun, so a verb's code is found from its name:
 *   main.c       the verb table, usage and option parsing, opening the
 *                inventory, main()
 *   output.c     messages, tables and "key: value" lines
 *   access.c     who the caller is and what it may change
 *   select.c     resolving the hosts a change names; all-or-nothing
 *                transactions over several hosts
 *   host.c       host, nic and attr verbs
 *   dist.c       dist and env verbs
 *   reinstall.c  set-reinstall, set-local, status, render
 *   history.c    discovered list, audit
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
#define OPT_FORCE	0x8000	/* --force */

/* Verb flags. */
#define VF_NODB		0x01	/* needs neither configuration nor database */
#define VF_WRITE	0x02	/* opens the database read-write */
#define VF_CREATE	0x04	/* creates the database (init) */
#define VF_ADMIN	0x08	/* root or the admin group only */
#define VF_HOST		0x10	/* changes the host argv[0]: see ctx->host */

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
	bool		  force;	/* --force */
	int		  argc;		/* positional arguments */
	char		**argv;
};

/* Who runs bootctl and on what. */
struct ctx {
	struct cfg	*cfg;		/* loaded configuration */
	struct inv	*inv;		/* open inventory */
	const char	*dbpath;	/* path of the inventory */
	char		*evpath;	/* path of the events database */
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

struct host_list_arg {
	struct ctx	*ctx;
	struct table	*t;
	const char	*env;
	bool		 status;	/* status columns, else list columns */
};

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

/* output.c */
void	safe_append(struct buf *, const char *);
void	warnmsg(const char *, ...) __attribute__((format(printf, 1, 2)));
int	fail(struct ctx *, enum bootd_err);
const char *fmt_time(int64_t, char[32]);
const char *action_name(enum inv_action);
void	table_add(struct table *, const char *);
void	table_free(struct table *);
void	table_head(struct table *, ...) __attribute__((sentinel));
int	table_print(struct table *);
int	table_done(struct ctx *, struct table *, enum bootd_err);
void	show_line(const char *, const char *);
int	json_emit(json_t *);
int	json_set_time(json_t *, const char *, int64_t);

/* access.c */
bool	in_group(const struct ctx *, const char *);
int	identify(struct ctx *);
void	actor_name(uid_t, char *, size_t);
enum bootd_err env_allowed(struct ctx *, const char *, char **);
const char *group_label(const char *);
enum bootd_err authorize(const char *, const char *, const char *, void *,
	    struct bootd_error *);
int	host_for_change(struct ctx *, const char *, struct inv_host **);
int	env_for_change(struct ctx *, const char *);
int	dist_exists(struct ctx *, const char *);

/* select.c */
void	hosts_free(struct inv_host **, int);
int	hosts_for_change(struct ctx *, struct args *, struct inv_host ***);
int	group_begin(struct ctx *);
int	group_fail(struct ctx *, enum bootd_err, const char *, int);
int	group_commit(struct ctx *);
int	change_hosts(struct ctx *, struct args *,
	    enum bootd_err (*)(struct inv *, const char *,
	    struct bootd_error *));

/* host.c */
struct events *events_db(struct ctx *);
void	host_row(struct ctx *, struct table *, const struct inv_host *, bool);
int	host_list_cb(const struct inv_host *, void *);

#endif /* BOOTCTL_H */
