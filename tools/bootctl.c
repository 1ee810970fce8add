/*
 * bootctl.c - the operator CLI: manage the bootd inventory
 *
 * bootctl dispatches a static table of noun-verb commands ("host add",
 * "set-reinstall", ...).  The dispatcher parses the global options, finds
 * the verb, parses the verb's options, checks the argument count, loads
 * the configuration, decides who the caller is, opens the inventory,
 * checks the caller may change the host a one-host verb names, and calls
 * the verb.  Every change goes through libboot, which validates it
 * and applies it in one transaction with its audit row.
 *
 * The early check by name gives a clear message before anything is
 * rendered or changed; the check that counts runs again inside each
 * change's transaction, on the host by row id as it is then
 * (inv_set_authorizer(), authorize() below), so a host renamed or moved
 * to another environment meanwhile cannot be changed by someone who may
 * not change it there.
 *
 * What the boot network reported (last seen times, discovered MACs) is
 * read from the events database, opened read-only and only by the verbs
 * that show it; bootctl never creates or writes that file (bootd does),
 * and a missing one means nothing was seen yet.
 *
 * bootctl is meant to be installed setgid bootd.  It identifies the caller
 * by real uid and groups and lets it change only hosts in environments
 * whose unix group it is in; root and the configured admin group may change
 * everything.  A caller that points bootctl at another configuration or
 * database loses the setgid privilege first, so a configuration of its own
 * cannot make it an administrator of the real inventory.
 *
 * Before it opens a database, bootctl checks who may change the path
 * (dbdir_check()); run by root it becomes the owner of the database's
 * directory (the service user), and run setgid it refuses unless the
 * -wal and -shm files already belong to that owner (open_inventory()).
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "dbdir.h"
#include "err.h"
#include "events.h"
#include "inv.h"
#include "ipxe.h"
#include "mac.h"

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

static int	verb_init(struct ctx *, struct args *);
static int	verb_host_add(struct ctx *, struct args *);
static int	verb_host_remove(struct ctx *, struct args *);
static int	verb_host_rename(struct ctx *, struct args *);
static int	verb_host_show(struct ctx *, struct args *);
static int	verb_host_list(struct ctx *, struct args *);
static int	verb_host_set_env(struct ctx *, struct args *);
static int	verb_host_set_dist(struct ctx *, struct args *);
static int	verb_nic_add(struct ctx *, struct args *);
static int	verb_nic_remove(struct ctx *, struct args *);
static int	verb_attr_set(struct ctx *, struct args *);
static int	verb_attr_unset(struct ctx *, struct args *);
static int	verb_env_add(struct ctx *, struct args *);
static int	verb_env_remove(struct ctx *, struct args *);
static int	verb_env_list(struct ctx *, struct args *);
static int	verb_dist_add(struct ctx *, struct args *);
static int	verb_dist_update(struct ctx *, struct args *);
static int	verb_dist_list(struct ctx *, struct args *);
static int	verb_dist_show(struct ctx *, struct args *);
static int	verb_dist_remove(struct ctx *, struct args *);
static int	verb_set_reinstall(struct ctx *, struct args *);
static int	verb_set_local(struct ctx *, struct args *);
static int	verb_status(struct ctx *, struct args *);
static int	verb_render(struct ctx *, struct args *);
static int	verb_discovered_list(struct ctx *, struct args *);
static int	verb_audit(struct ctx *, struct args *);
static int	verb_help(struct ctx *, struct args *);

static const struct verb verbs[] = {
	{ "init", 0, 0, VF_WRITE | VF_CREATE | VF_ADMIN, 0, verb_init,
	    "",
	    "create the inventory database, or upgrade its schema" },
	{ "host add", 2, ARGS_ANY, VF_WRITE, OPT_ENV | OPT_DIST,
	    verb_host_add,
	    "FQDN MAC [MAC ...] [--env ENV] [--dist DIST]",
	    "add a host with its NICs (environment \"default\" unless --env)" },
	{ "host remove", 1, ARGS_ANY, VF_WRITE, 0, verb_host_remove,
	    "HOST ...",
	    "remove hosts with their NICs, attributes and tokens" },
	{ "host rename", 2, 2, VF_WRITE | VF_HOST, 0, verb_host_rename,
	    "HOST NEWFQDN",
	    "change the FQDN of a host" },
	{ "host show", 1, 1, 0, 0, verb_host_show,
	    "HOST",
	    "show every field of a host" },
	{ "host list", 0, 0, 0, OPT_ENV, verb_host_list,
	    "[--env ENV]",
	    "list hosts" },
	{ "host set-env", 2, 2, VF_WRITE | VF_HOST, 0, verb_host_set_env,
	    "HOST ENV",
	    "move a host to another environment" },
	{ "host set-dist", 2, 2, VF_WRITE | VF_HOST, 0, verb_host_set_dist,
	    "HOST DIST|-",
	    "set the distribution of a host (\"-\" clears it)" },
	{ "nic add", 2, 2, VF_WRITE | VF_HOST, 0, verb_nic_add,
	    "HOST MAC",
	    "add a NIC to a host" },
	{ "nic remove", 1, 1, VF_WRITE, 0, verb_nic_remove,
	    "MAC",
	    "remove a NIC (a host keeps at least one)" },
	{ "attr set", 3, 3, VF_WRITE | VF_HOST, 0, verb_attr_set,
	    "HOST KEY VALUE",
	    "set an attribute of a host ({{attr.KEY}} in templates)" },
	{ "attr unset", 2, 2, VF_WRITE | VF_HOST, 0, verb_attr_unset,
	    "HOST KEY",
	    "remove an attribute of a host" },
	{ "env add", 1, 1, VF_WRITE | VF_ADMIN, OPT_GROUP, verb_env_add,
	    "NAME [--group GROUP]",
	    "add an environment managed by GROUP (none: admins only)" },
	{ "env remove", 1, 1, VF_WRITE | VF_ADMIN, 0, verb_env_remove,
	    "NAME",
	    "remove an environment no host uses" },
	{ "env list", 0, 0, 0, 0, verb_env_list,
	    "",
	    "list environments" },
	{ "dist add", 1, 1, VF_WRITE | VF_ADMIN,
	    OPT_KERNEL | OPT_INITRD | OPT_CMDLINE, verb_dist_add,
	    "NAME --kernel URL --initrd URL [--initrd URL ...] "
	    "--cmdline TEMPLATE",
	    "add a distribution" },
	{ "dist update", 1, 1, VF_WRITE | VF_ADMIN,
	    OPT_KERNEL | OPT_INITRD | OPT_CMDLINE, verb_dist_update,
	    "NAME [--kernel URL] [--initrd URL ...] [--cmdline TEMPLATE]",
	    "change a distribution (--initrd replaces all initrds)" },
	{ "dist list", 0, 0, 0, 0, verb_dist_list,
	    "",
	    "list distributions" },
	{ "dist show", 1, 1, 0, 0, verb_dist_show,
	    "NAME",
	    "show a distribution" },
	{ "dist remove", 1, 1, VF_WRITE | VF_ADMIN, 0, verb_dist_remove,
	    "NAME",
	    "remove a distribution no host uses" },
	{ "set-reinstall", 1, ARGS_ANY, VF_WRITE, OPT_DIST,
	    verb_set_reinstall,
	    "HOST ... [--dist DIST]",
	    "install hosts at their next boot, with a fresh one-shot token" },
	{ "set-local", 1, ARGS_ANY, VF_WRITE, 0, verb_set_local,
	    "HOST ...",
	    "boot hosts from their local disk; revokes their tokens" },
	{ "status", 0, ARGS_ANY, 0, 0, verb_status,
	    "[HOST ...]",
	    "show boot action, token expiry and last boot of hosts" },
	{ "render", 1, 1, 0, 0, verb_render,
	    "HOST|MAC",
	    "print the iPXE script bootd serves to a host or MAC" },
	{ "discovered list", 0, 0, 0, OPT_LIMIT, verb_discovered_list,
	    "[--limit N]",
	    "list MACs that asked for a script but belong to no host" },
	{ "audit", 0, 1, 0, 0, verb_audit,
	    "[HOST]",
	    "show the audit log, of all changes or of one host" },
	{ "help", 0, 2, VF_NODB, 0, verb_help,
	    "[VERB]",
	    "show this help, or the help of one verb" },
};

#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

/* Nouns that take a second word. */
static const char *const nouns[] = {
	"host", "nic", "attr", "env", "dist", "discovered"
};

/* Output helpers ------------------------------------------------------ */

/*
 * Copy s into b with control characters and non-ASCII bytes shown as
 * \xNN, so that nothing printed can move the cursor or split a line.
 * Backslashes pass as they are: libboot's messages already quote values
 * that way (valid_quote()).
 */
static void
safe_append(struct buf *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL)
		return;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_append(b, (const char *)p, 1);
	}
}

/* Print "bootctl: MESSAGE" on stderr, made safe, on one line. */
static void __attribute__((format(printf, 1, 2)))
warnmsg(const char *fmt, ...)
{
	struct buf raw = { 0 }, out = { 0 };
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_puts(&raw, line);
	safe_append(&out, buf_str(&raw));
	fprintf(stderr, "bootctl: %s\n", buf_str(&out));
	buf_free(&raw);
	buf_free(&out);
}

/* Report the libboot error held in ctx; returns EXIT_FAIL. */
static int
fail(struct ctx *ctx, enum bootd_err rc)
{
	if (ctx->err.text[0] != '\0')
		warnmsg("%s", ctx->err.text);
	else
		warnmsg("%s", bootd_strerror(rc));
	return EXIT_FAIL;
}

/* Format a unix time as UTC "2026-01-02T03:04:05Z", or "-" for 0. */
static const char *
fmt_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return strcpy(out, "-");
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

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

static void
table_add(struct table *t, const char *s)
{
	struct buf b = { 0 };
	char **n;

	if (t->failed)
		return;
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		n = realloc(t->cells, t->cap * sizeof(*n));
		if (n == NULL) {
			t->failed = true;
			return;
		}
		t->cells = n;
	}
	safe_append(&b, s != NULL && s[0] != '\0' ? s : "-");
	if (buf_failed(&b)) {
		t->failed = true;
		buf_free(&b);
		return;
	}
	t->cells[t->ncells++] = strdup(buf_str(&b));
	if (t->cells[t->ncells - 1] == NULL)
		t->failed = true;
	buf_free(&b);
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/*
 * Start t with a row of the column titles given, which end with NULL;
 * their number is t's number of columns.
 */
static void __attribute__((sentinel))
table_head(struct table *t, ...)
{
	const char *title;
	va_list ap;

	memset(t, 0, sizeof(*t));
	va_start(ap, t);
	while ((title = va_arg(ap, const char *)) != NULL) {
		table_add(t, title);
		t->ncols++;
	}
	va_end(ap);
}

/* Print t; returns EXIT_FAIL when building it ran out of memory. */
static int
table_print(struct table *t)
{
	size_t w[16] = { 0 }, i, c, len;

	if (t->failed) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < t->ncells; i++) {
		c = i % t->ncols;
		len = strlen(t->cells[i]);
		if (c < 16 && len > w[c])
			w[c] = len;
	}
	for (i = 0; i < t->ncells; i++) {
		c = i % t->ncols;
		if (c + 1 == t->ncols)
			printf("%s\n", t->cells[i]);
		else
			printf("%-*s  ", (int)w[c], t->cells[i]);
	}
	return EXIT_OK;
}

/*
 * End a listing verb: print t when filling it succeeded (rc is BOOTD_OK),
 * else report rc.  Frees t; returns the exit status.
 */
static int
table_done(struct ctx *ctx, struct table *t, enum bootd_err rc)
{
	int ret;

	ret = rc == BOOTD_OK ? table_print(t) : fail(ctx, rc);
	table_free(t);
	return ret;
}

/* Print "key: value" lines for show verbs, value made safe. */
static void
show_line(const char *key, const char *value)
{
	struct buf b = { 0 };

	safe_append(&b, value != NULL && value[0] != '\0' ? value : "-");
	printf("%-14s %s\n", key, buf_str(&b));
	buf_free(&b);
}

/* Usage --------------------------------------------------------------- */

/* Usage of v; with full, its options too. */
static void
verb_usage(FILE *f, const struct verb *v, bool full)
{
	static const struct {
		unsigned	 bit;
		const char	*text;
	} ohelp[] = {
		{ OPT_ENV, "  --env ENV          environment" },
		{ OPT_DIST, "  --dist DIST        distribution" },
		{ OPT_GROUP, "  --group GROUP      unix group whose members "
		    "manage its hosts" },
		{ OPT_KERNEL, "  --kernel URL       kernel URL template" },
		{ OPT_INITRD, "  --initrd URL       initrd URL template; "
		    "repeat for more, in load order" },
		{ OPT_CMDLINE, "  --cmdline TEMPLATE kernel command-line "
		    "template" },
		{ OPT_LIMIT, "  --limit N          show at most N rows" },
	};
	size_t i;

	fprintf(f, "usage: bootctl [--db PATH] [-c FILE] %s%s%s\n", v->name,
	    v->usage[0] != '\0' ? " " : "", v->usage);
	fprintf(f, "  %s\n", v->help);
	if (!full)
		return;
	fprintf(f, "Options:\n");
	for (i = 0; i < sizeof(ohelp) / sizeof(ohelp[0]); i++)
		if (v->opts & ohelp[i].bit)
			fprintf(f, "%s\n", ohelp[i].text);
	fprintf(f, "  -h, --help         show this help\n");
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: bootctl [--db PATH] [-c FILE] VERB [ARGS ...]\n"
	    "       bootctl --help | --version\n"
	    "       bootctl VERB --help\n"
	    "\n"
	    "Manage the bootd inventory: hosts, NICs, attributes, environments,\n"
	    "distributions and what each host boots.\n"
	    "\n"
	    "Global options (before the verb):\n"
	    "  --db PATH     inventory database (default: \"database\" in the\n"
	    "                configuration, /var/lib/bootd/db/bootd.db)\n"
	    "  -c FILE       configuration file (default: $BOOTD_CONFIG, else\n"
	    "                " CFG_DEFAULT_PATH ")\n"
	    "  -h, --help    show this help\n"
	    "  -V, --version show the version\n"
	    "\n"
	    "A HOST is an FQDN, a short name when unambiguous, or one of its "
	    "MACs.\n"
	    "\n"
	    "Verbs:\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %s%s%s\n      %s\n", verbs[i].name,
		    verbs[i].usage[0] != '\0' ? " " : "", verbs[i].usage,
		    verbs[i].help);
	fprintf(f,
	    "\n"
	    "Exit status: 0 success, 1 the operation failed, 2 usage error.\n"
	    "See bootctl(8).\n");
}

/* Print the verbs of one noun; returns the number printed. */
static int
noun_usage(FILE *f, const char *noun)
{
	size_t i, len = strlen(noun);
	int n = 0;

	for (i = 0; i < NVERBS; i++) {
		if (strncmp(verbs[i].name, noun, len) == 0 &&
		    verbs[i].name[len] == ' ') {
			verb_usage(f, &verbs[i], false);
			n++;
		}
	}
	return n;
}

static bool
is_noun(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(nouns) / sizeof(nouns[0]); i++)
		if (strcmp(s, nouns[i]) == 0)
			return true;
	return false;
}

/*
 * Find the verb named by argv[0] (and argv[1] for a noun).  Sets *used to
 * the number of words consumed.  Returns NULL when there is none.
 */
static const struct verb *
verb_find(int argc, char **argv, int *used)
{
	const char *name;
	size_t i, len;

	if (argc >= 2 && is_noun(argv[0])) {
		len = strlen(argv[0]);
		for (i = 0; i < NVERBS; i++) {
			name = verbs[i].name;
			if (strncmp(name, argv[0], len) == 0 &&
			    name[len] == ' ' &&
			    strcmp(name + len + 1, argv[1]) == 0) {
				*used = 2;
				return &verbs[i];
			}
		}
		return NULL;
	}
	for (i = 0; i < NVERBS; i++) {
		if (strchr(verbs[i].name, ' ') == NULL &&
		    strcmp(verbs[i].name, argv[0]) == 0) {
			*used = 1;
			return &verbs[i];
		}
	}
	return NULL;
}

/* Caller identity and authorization ------------------------------------ */

/* Whether the caller's real groups include the group called name. */
static bool
in_group(const struct ctx *ctx, const char *name)
{
	struct group *gr;
	int i;

	if (name == NULL || name[0] == '\0')
		return false;
	if ((gr = getgrnam(name)) == NULL)
		return false;
	for (i = 0; i < ctx->ngroups; i++)
		if (ctx->groups[i] == gr->gr_gid)
			return true;
	return false;
}

/* Fill ctx->uid, groups and admin from the real ids.  0 or EXIT_FAIL. */
static int
identify(struct ctx *ctx)
{
	int n;

	ctx->uid = getuid();
	if ((n = getgroups(0, NULL)) < 0) {
		warnmsg("getgroups: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if ((ctx->groups = calloc((size_t)n + 1, sizeof(gid_t))) == NULL) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	if ((n = getgroups(n, ctx->groups + 1)) < 0) {
		warnmsg("getgroups: %s", strerror(errno));
		return EXIT_FAIL;
	}
	ctx->groups[0] = getgid();
	ctx->ngroups = n + 1;
	ctx->admin = ctx->uid == 0 ||
	    (ctx->cfg != NULL && in_group(ctx, ctx->cfg->admin_group));
	return EXIT_OK;
}

/* "USER (uid N)" of the real uid, for the audit log. */
static void
actor_name(uid_t uid, char *out, size_t len)
{
	struct passwd *pw;

	if ((pw = getpwuid(uid)) != NULL && pw->pw_name != NULL)
		snprintf(out, len, "%s (uid %lu)", pw->pw_name,
		    (unsigned long)uid);
	else
		snprintf(out, len, "#%lu (uid %lu)", (unsigned long)uid,
		    (unsigned long)uid);
}

/*
 * May the caller change hosts in environment env?  Returns BOOTD_OK,
 * BOOTD_EPERM, or an inventory error; *group gets the environment's group
 * (caller frees) when not NULL.
 */
static enum bootd_err
env_allowed(struct ctx *ctx, const char *env, char **group)
{
	struct inv_env *e = NULL;
	enum bootd_err rc;
	bool ok;

	if (group != NULL)
		*group = NULL;
	if ((rc = inv_env_get(ctx->inv, env, &e, &ctx->err)) != BOOTD_OK)
		return rc;
	ok = ctx->admin || in_group(ctx, e->group);
	if (group != NULL && (*group = strdup(e->group)) == NULL)
		rc = BOOTD_ENOMEM;
	inv_env_free(e);
	if (rc != BOOTD_OK)
		return bootd_error_set(&ctx->err, rc, "out of memory");
	return ok ? BOOTD_OK : BOOTD_EPERM;
}

static const char *
group_label(const char *group)
{
	return group != NULL && group[0] != '\0' ? group : "none, admins only";
}

/*
 * The authorizer libboot calls inside the transaction of every change to
 * a host (inv_set_authorizer()): env_allowed()'s rule, applied to the
 * host's environment as that transaction reads it.
 */
static enum bootd_err
authorize(const char *fqdn, const char *env, const char *group, void *arg,
    struct bootd_error *err)
{
	const struct ctx *ctx = arg;

	if (ctx->admin || in_group(ctx, group))
		return BOOTD_OK;
	return bootd_error_set(err, BOOTD_EPERM, "permission denied: %s, "
	    "environment %s (group %s)", fqdn, env, group_label(group));
}

/*
 * Look up host and check the caller may change it.  On success *out is
 * the host (caller frees with inv_host_free()) and EXIT_OK is returned;
 * otherwise the reason has been printed and EXIT_FAIL is returned.
 */
static int
host_for_change(struct ctx *ctx, const char *host, struct inv_host **out)
{
	struct inv_host *h = NULL;
	enum bootd_err rc;
	char *group = NULL;

	*out = NULL;
	if ((rc = inv_host_get(ctx->inv, host, &h, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	rc = env_allowed(ctx, h->env, &group);
	if (rc == BOOTD_EPERM) {
		warnmsg("permission denied: %s is in environment %s (group %s)",
		    h->fqdn, h->env, group_label(group));
		free(group);
		inv_host_free(h);
		return EXIT_FAIL;
	}
	free(group);
	if (rc != BOOTD_OK) {
		inv_host_free(h);
		return fail(ctx, rc);
	}
	*out = h;
	return EXIT_OK;
}

/* Check the caller may put hosts into environment env. */
static int
env_for_change(struct ctx *ctx, const char *env)
{
	enum bootd_err rc;
	char *group = NULL;

	rc = env_allowed(ctx, env, &group);
	if (rc == BOOTD_EPERM)
		warnmsg("permission denied: environment %s (group %s)", env,
		    group_label(group));
	free(group);
	if (rc == BOOTD_EPERM)
		return EXIT_FAIL;
	if (rc != BOOTD_OK)
		return fail(ctx, rc);
	return EXIT_OK;
}

/* Check distribution name exists (before a change that needs it). */
static int
dist_exists(struct ctx *ctx, const char *name)
{
	struct inv_dist *d = NULL;
	enum bootd_err rc;

	if ((rc = inv_dist_get(ctx->inv, name, &d, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	inv_dist_free(d);
	return EXIT_OK;
}

/* Free n hosts from hosts_for_change().  Accepts NULL. */
static void
hosts_free(struct inv_host **hs, int n)
{
	int i;

	if (hs == NULL)
		return;
	for (i = 0; i < n; i++)
		inv_host_free(hs[i]);
	free(hs);
}

/* qsort() order of struct inv_host pointers: by FQDN. */
static int
host_cmp(const void *a, const void *b)
{
	const struct inv_host *const *x = a, *const *y = b;

	return strcmp((*x)->fqdn, (*y)->fqdn);
}

/*
 * Resolve and authorize every host named in a->argv, before any change,
 * so a list with one bad or forbidden name changes nothing.  A host named
 * twice is refused.  On success *out holds a->argc hosts (free them with
 * hosts_free()) and EXIT_OK is returned; else the reason was printed.
 */
static int
hosts_for_change(struct ctx *ctx, struct args *a, struct inv_host ***out)
{
	struct inv_host **hs, **byname;
	int i;

	*out = NULL;
	if ((hs = calloc((size_t)a->argc, sizeof(*hs))) == NULL) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < a->argc; i++) {
		if (host_for_change(ctx, a->argv[i], &hs[i]) != EXIT_OK) {
			hosts_free(hs, a->argc);
			return EXIT_FAIL;
		}
	}
	/* A host named twice (by two spellings, say): sorted, they meet. */
	if ((byname = malloc((size_t)a->argc * sizeof(*byname))) == NULL) {
		warnmsg("out of memory");
		hosts_free(hs, a->argc);
		return EXIT_FAIL;
	}
	memcpy(byname, hs, (size_t)a->argc * sizeof(*byname));
	qsort(byname, (size_t)a->argc, sizeof(*byname), host_cmp);
	for (i = 1; i < a->argc; i++) {
		if (strcmp(byname[i - 1]->fqdn, byname[i]->fqdn) == 0) {
			warnmsg("%s named twice", byname[i]->fqdn);
			free(byname);
			hosts_free(hs, a->argc);
			return EXIT_FAIL;
		}
	}
	free(byname);
	*out = hs;
	return EXIT_OK;
}

/* Verbs ---------------------------------------------------------------- */

static int
verb_init(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;
	int version;

	if ((rc = inv_schema_version(ctx->inv, &version, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	printf("%s: schema version %d\n", ctx->dbpath, version);
	return EXIT_OK;
}

static int
verb_host_add(struct ctx *ctx, struct args *a)
{
	const char *env = a->env != NULL ? a->env : INV_DEFAULT_ENV;
	enum bootd_err rc;
	int ret;

	if ((ret = env_for_change(ctx, env)) != EXIT_OK)
		return ret;
	if (a->dist != NULL && (ret = dist_exists(ctx, a->dist)) != EXIT_OK)
		return ret;
	/* Host and distribution in one transaction: a refusal leaves no
	 * host behind, and nothing needs undoing. */
	rc = inv_host_add_dist(ctx->inv, a->argv[0],
	    (const char *const *)a->argv + 1, (size_t)a->argc - 1, env,
	    a->dist, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int	change_hosts(struct ctx *, struct args *,
		    enum bootd_err (*)(struct inv *, const char *,
		    struct bootd_error *));

static int
verb_host_remove(struct ctx *ctx, struct args *a)
{
	return change_hosts(ctx, a, inv_host_remove);
}

static int
verb_host_rename(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_host_rename(ctx->inv, ctx->host->fqdn, a->argv[1], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

/*
 * The events database, opened read-only on first use.  NULL when there is
 * none yet (nothing seen: not an error); a file that cannot be read is
 * reported once on stderr and then treated the same.
 */
static struct events *
events_db(struct ctx *ctx)
{
	struct bootd_error e;
	struct dbdir dir;
	struct stat sb;
	enum bootd_err rc;

	if (ctx->ev_tried)
		return ctx->ev;
	ctx->ev_tried = true;
	/*
	 * Its directory passes the inventory's checks and has the same
	 * owner; setgid, its -wal and -shm must exist and be that owner's
	 * (lstat, not access(): the directory is the group's to search),
	 * so SQLite never makes them for the caller.
	 */
	rc = dbdir_check(ctx->evpath, &dir, &e);
	if (rc == BOOTD_ENOTFOUND)
		return NULL;
	if (rc == BOOTD_OK && dir.uid != ctx->dbuid)
		rc = bootd_error_set(&e, BOOTD_EPERM, "its directory belongs "
		    "to uid %lu, the inventory's to uid %lu",
		    (unsigned long)dir.uid, (unsigned long)ctx->dbuid);
	if (rc == BOOTD_OK && ctx->setid) {
		if (lstat(ctx->evpath, &sb) == -1 && errno == ENOENT)
			return NULL;
		rc = dbdir_check_files(ctx->evpath, ctx->dbuid, &e);
	}
	if (rc != BOOTD_OK) {
		warnmsg("last seen times and discovered MACs unavailable: %s",
		    e.text);
		return NULL;
	}
	rc = events_open_readonly(ctx->evpath, &ctx->ev, &e);
	if (rc != BOOTD_OK && rc != BOOTD_ENOTFOUND)
		warnmsg("last seen times and discovered MACs unavailable: %s",
		    e.text);
	return ctx->ev;
}

/* When host h last booted and what it got: "-" and "" when never. */
static void
host_seen(struct ctx *ctx, const struct inv_host *h, char tm[32],
    char *served, size_t size)
{
	struct events *ev;
	int64_t when = 0;

	served[0] = '\0';
	if ((ev = events_db(ctx)) != NULL &&
	    events_seen(ev, (const char *const *)h->macs, h->nmacs, &when,
	    served, size, &ctx->err) != BOOTD_OK) {
		warnmsg("%s", ctx->err.text);
		when = 0;
		served[0] = '\0';
	}
	fmt_time(when, tm);
}

static const char *
action_name(enum inv_action action)
{
	return action == INV_ACTION_INSTALL ? "install" : "local";
}

static int
verb_host_show(struct ctx *ctx, struct args *a)
{
	struct inv_host *h = NULL;
	struct buf b = { 0 };
	enum bootd_err rc;
	char t[32], served[32];
	size_t i;

	if ((rc = inv_host_get(ctx->inv, a->argv[0], &h, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	show_line("fqdn:", h->fqdn);
	show_line("environment:", h->env);
	show_line("action:", action_name(h->action));
	show_line("distribution:", h->dist);
	for (i = 0; i < h->nmacs; i++)
		show_line("mac:", h->macs[i]);
	for (i = 0; i < h->nattrs; i++) {
		buf_reset(&b);
		buf_printf(&b, "%s=%s", h->attrs[i].key, h->attrs[i].value);
		show_line("attr:", buf_str(&b));
	}
	/*
	 * The token lets its holder end the install; show it only to those
	 * who may change the host anyway.
	 */
	if (h->token != NULL && env_allowed(ctx, h->env, NULL) == BOOTD_OK)
		show_line("token:", h->token);
	show_line("token-expires:", fmt_time(h->token_expires, t));
	host_seen(ctx, h, t, served, sizeof(served));
	show_line("last-seen:", t);
	show_line("last-served:", served);
	buf_free(&b);
	inv_host_free(h);
	return EXIT_OK;
}

struct host_list_arg {
	struct ctx	*ctx;
	struct table	*t;
	const char	*env;
	bool		 status;	/* status columns, else list columns */
};

static void
host_row(struct ctx *ctx, struct table *t, const struct inv_host *h,
    bool status)
{
	struct buf macs = { 0 };
	char tm[32], served[32];
	size_t i;

	table_add(t, h->fqdn);
	if (status) {
		table_add(t, action_name(h->action));
		table_add(t, h->dist);
		table_add(t, fmt_time(h->token != NULL ? h->token_expires : 0,
		    tm));
		host_seen(ctx, h, tm, served, sizeof(served));
		table_add(t, tm);
		table_add(t, served);
		return;
	}
	table_add(t, h->env);
	table_add(t, action_name(h->action));
	table_add(t, h->dist);
	for (i = 0; i < h->nmacs; i++)
		buf_printf(&macs, "%s%s", i ? "," : "", h->macs[i]);
	if (buf_failed(&macs))
		t->failed = true;
	table_add(t, buf_str(&macs));
	buf_free(&macs);
}

static int
host_list_cb(const struct inv_host *h, void *arg)
{
	struct host_list_arg *la = arg;

	if (la->env == NULL || strcmp(la->env, h->env) == 0)
		host_row(la->ctx, la->t, h, la->status);
	return 0;
}

static int
verb_host_list(struct ctx *ctx, struct args *a)
{
	struct table t;
	struct host_list_arg la = { ctx, &t, a->env, false };
	struct inv_env *e = NULL;
	enum bootd_err rc;

	if (a->env != NULL) {
		if ((rc = inv_env_get(ctx->inv, a->env, &e, &ctx->err)) !=
		    BOOTD_OK)
			return fail(ctx, rc);
		inv_env_free(e);
	}
	table_head(&t, "HOST", "ENV", "ACTION", "DIST", "MACS", NULL);
	rc = inv_host_each(ctx->inv, host_list_cb, &la, &ctx->err);
	return table_done(ctx, &t, rc);
}

static int
verb_host_set_env(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	if (env_for_change(ctx, a->argv[1]) != EXIT_OK)
		return EXIT_FAIL;
	rc = inv_host_set_env(ctx->inv, ctx->host->fqdn, a->argv[1],
	    &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
verb_host_set_dist(struct ctx *ctx, struct args *a)
{
	const char *dist = a->argv[1];
	enum bootd_err rc;

	if (strcmp(dist, "-") == 0)
		dist = NULL;
	rc = inv_host_set_dist(ctx->inv, ctx->host->fqdn, dist, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
verb_nic_add(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_nic_add(ctx->inv, ctx->host->fqdn, a->argv[1], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
verb_nic_remove(struct ctx *ctx, struct args *a)
{
	char mac[MAC_STRLEN + 1];
	struct inv_host *h;
	enum bootd_err rc;

	if ((rc = mac_canon(a->argv[0], mac, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	if (host_for_change(ctx, mac, &h) != EXIT_OK)
		return EXIT_FAIL;
	inv_host_free(h);
	rc = inv_nic_remove(ctx->inv, mac, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
verb_attr_set(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_attr_set(ctx->inv, ctx->host->fqdn, a->argv[1], a->argv[2],
	    &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
verb_attr_unset(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_attr_unset(ctx->inv, ctx->host->fqdn, a->argv[1], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
verb_env_add(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_env_add(ctx->inv, a->argv[0],
	    a->group != NULL ? a->group : "", &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
verb_env_remove(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_env_remove(ctx->inv, a->argv[0], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
env_list_cb(const struct inv_env *e, void *arg)
{
	struct table *t = arg;

	table_add(t, e->name);
	table_add(t, e->group[0] != '\0' ? e->group : "(admins only)");
	return 0;
}

static int
verb_env_list(struct ctx *ctx, struct args *a)
{
	struct table t;
	enum bootd_err rc;

	table_head(&t, "ENV", "GROUP", NULL);
	rc = inv_env_each(ctx->inv, env_list_cb, &t, &ctx->err);
	return table_done(ctx, &t, rc);
}

static int
verb_dist_add(struct ctx *ctx, struct args *a)
{
	struct inv_dist d;
	enum bootd_err rc;

	if (a->kernel == NULL || a->ninitrds == 0 || a->cmdline == NULL) {
		warnmsg("dist add: --kernel, --initrd and --cmdline are "
		    "required (see bootctl dist add --help)");
		return EXIT_USAGE;
	}
	d.name = a->argv[0];
	d.kernel = (char *)a->kernel;
	d.initrds = a->initrds;
	d.ninitrds = a->ninitrds;
	d.cmdline = (char *)a->cmdline;
	rc = inv_dist_add(ctx->inv, &d, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
verb_dist_update(struct ctx *ctx, struct args *a)
{
	struct inv_dist *old = NULL, d;
	enum bootd_err rc;

	if (a->kernel == NULL && a->ninitrds == 0 && a->cmdline == NULL) {
		warnmsg("dist update: nothing to change (see bootctl dist "
		    "update --help)");
		return EXIT_USAGE;
	}
	if ((rc = inv_dist_get(ctx->inv, a->argv[0], &old, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	d.name = old->name;
	d.kernel = a->kernel != NULL ? (char *)a->kernel : old->kernel;
	d.initrds = a->ninitrds != 0 ? a->initrds : old->initrds;
	d.ninitrds = a->ninitrds != 0 ? a->ninitrds : old->ninitrds;
	d.cmdline = a->cmdline != NULL ? (char *)a->cmdline : old->cmdline;
	rc = inv_dist_update(ctx->inv, &d, &ctx->err);
	inv_dist_free(old);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
dist_list_cb(const struct inv_dist *d, void *arg)
{
	struct table *t = arg;
	char n[32];

	snprintf(n, sizeof(n), "%zu", d->ninitrds);
	table_add(t, d->name);
	table_add(t, n);
	table_add(t, d->kernel);
	return 0;
}

static int
verb_dist_list(struct ctx *ctx, struct args *a)
{
	struct table t;
	enum bootd_err rc;

	table_head(&t, "DIST", "INITRDS", "KERNEL", NULL);
	rc = inv_dist_each(ctx->inv, dist_list_cb, &t, &ctx->err);
	return table_done(ctx, &t, rc);
}

static int
verb_dist_show(struct ctx *ctx, struct args *a)
{
	struct inv_dist *d = NULL;
	enum bootd_err rc;
	size_t i;

	if ((rc = inv_dist_get(ctx->inv, a->argv[0], &d, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	show_line("name:", d->name);
	show_line("kernel:", d->kernel);
	for (i = 0; i < d->ninitrds; i++)
		show_line("initrd:", d->initrds[i]);
	show_line("cmdline:", d->cmdline);
	inv_dist_free(d);
	return EXIT_OK;
}

static int
verb_dist_remove(struct ctx *ctx, struct args *a)
{
	enum bootd_err rc;

	rc = inv_dist_remove(ctx->inv, a->argv[0], &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

/*
 * Open the one transaction a change of several hosts runs in: all of them
 * or none.  Returns the exit status.
 */
static int
group_begin(struct ctx *ctx)
{
	enum bootd_err rc;

	if ((rc = inv_begin(ctx->inv, &ctx->err)) != BOOTD_OK)
		return fail(ctx, rc);
	return EXIT_OK;
}

/*
 * Report the failure of the change of host fqdn on one line and roll back
 * the whole transaction: no host was changed.  Returns EXIT_FAIL.
 */
static int
group_fail(struct ctx *ctx, enum bootd_err rc, const char *fqdn, int nhosts)
{
	inv_rollback(ctx->inv);
	warnmsg("%s: %s%s", fqdn, ctx->err.text[0] != '\0' ? ctx->err.text :
	    bootd_strerror(rc), nhosts > 1 ? " (no host was changed)" : "");
	return EXIT_FAIL;
}

/* Commit the transaction of group_begin().  Returns the exit status. */
static int
group_commit(struct ctx *ctx)
{
	enum bootd_err rc;

	if ((rc = inv_commit(ctx->inv, &ctx->err)) != BOOTD_OK) {
		inv_rollback(ctx->inv);
		return fail(ctx, rc);
	}
	return EXIT_OK;
}

/*
 * Apply change (inv_host_remove, inv_set_local...) to every host named in
 * a, all resolved and authorized first, in one transaction: all or none.
 * Returns the exit status.
 */
static int
change_hosts(struct ctx *ctx, struct args *a,
    enum bootd_err (*change)(struct inv *, const char *, struct bootd_error *))
{
	struct inv_host **hs;
	enum bootd_err rc;
	int i, status;

	if (hosts_for_change(ctx, a, &hs) != EXIT_OK)
		return EXIT_FAIL;
	if ((status = group_begin(ctx)) != EXIT_OK) {
		hosts_free(hs, a->argc);
		return status;
	}
	for (i = 0; i < a->argc; i++) {
		if ((rc = change(ctx->inv, hs[i]->fqdn, &ctx->err)) !=
		    BOOTD_OK) {
			status = group_fail(ctx, rc, hs[i]->fqdn, a->argc);
			hosts_free(hs, a->argc);
			return status;
		}
	}
	hosts_free(hs, a->argc);
	return group_commit(ctx);
}

/*
 * Render the install script h would get with distribution dist, with a
 * stand-in token, before marking it: a value that cannot be placed safely
 * would make bootd serve the fail-safe (local boot) script instead, so
 * refuse the change up front and say why.  h is restored.
 */
static int
trial_render(struct ctx *ctx, struct inv_host *h, const char *dist)
{
	static char token[] = "00000000000000000000000000000000";
	struct inv_boot b = { 0 };
	struct buf out = { 0 };
	struct bootd_error e;
	enum inv_action action = h->action;
	char *htoken = h->token, *hdist = h->dist;
	enum bootd_err rc;

	if (h->nmacs == 0)
		return EXIT_OK;		/* never boots: nothing to render */
	if ((rc = inv_dist_get(ctx->inv, dist, &b.dist, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	h->action = INV_ACTION_INSTALL;
	h->token = token;
	h->dist = b.dist->name;
	b.host = h;
	rc = ipxe_render_host(ctx->cfg, &b, h->macs[0], &out, &e);
	h->action = action;
	h->token = htoken;
	h->dist = hdist;
	inv_dist_free(b.dist);
	buf_free(&out);
	if (rc != BOOTD_OK)
		return fail(ctx, bootd_error_set(&ctx->err, rc, "%s: the install "
		    "script for %s cannot be made safely, so the host would "
		    "boot locally: %s", h->fqdn, dist, e.text));
	return EXIT_OK;
}

static int
verb_set_reinstall(struct ctx *ctx, struct args *a)
{
	char token[INV_TOKEN_LEN + 1], t[32];
	struct inv_host **hs;
	enum bootd_err rc;
	time_t now = time(NULL);
	int i, status;

	if (a->dist != NULL && dist_exists(ctx, a->dist) != EXIT_OK)
		return EXIT_FAIL;
	if (hosts_for_change(ctx, a, &hs) != EXIT_OK)
		return EXIT_FAIL;
	for (i = 0; i < a->argc; i++) {
		if (a->dist == NULL && hs[i]->dist == NULL) {
			warnmsg("%s has no distribution; use --dist DIST or "
			    "bootctl host set-dist", hs[i]->fqdn);
			hosts_free(hs, a->argc);
			return EXIT_FAIL;
		}
		if (trial_render(ctx, hs[i], a->dist != NULL ? a->dist :
		    hs[i]->dist) != EXIT_OK) {
			hosts_free(hs, a->argc);
			return EXIT_FAIL;
		}
	}
	/* All hosts in one transaction; say what changed once it is in. */
	if ((status = group_begin(ctx)) != EXIT_OK) {
		hosts_free(hs, a->argc);
		return status;
	}
	for (i = 0; i < a->argc; i++) {
		rc = inv_set_reinstall(ctx->inv, hs[i]->fqdn, a->dist,
		    (int64_t)now, ctx->cfg->token_ttl, token, &ctx->err);
		if (rc != BOOTD_OK) {
			status = group_fail(ctx, rc, hs[i]->fqdn, a->argc);
			hosts_free(hs, a->argc);
			return status;
		}
	}
	if ((status = group_commit(ctx)) == EXIT_OK)
		for (i = 0; i < a->argc; i++)
			printf("%s: install %s at next boot, token expires "
			    "%s\n", hs[i]->fqdn, a->dist != NULL ? a->dist :
			    hs[i]->dist,
			    fmt_time((int64_t)now + ctx->cfg->token_ttl, t));
	hosts_free(hs, a->argc);
	return status;
}

static int
verb_set_local(struct ctx *ctx, struct args *a)
{
	return change_hosts(ctx, a, inv_set_local);
}

static int
verb_status(struct ctx *ctx, struct args *a)
{
	struct table t;
	struct host_list_arg la = { ctx, &t, NULL, true };
	struct inv_host *h;
	enum bootd_err rc = BOOTD_OK;
	int i;

	table_head(&t, "HOST", "ACTION", "DIST", "TOKEN-EXPIRES", "LAST-SEEN",
	    "LAST-SERVED", NULL);
	if (a->argc == 0)
		rc = inv_host_each(ctx->inv, host_list_cb, &la, &ctx->err);
	for (i = 0; rc == BOOTD_OK && i < a->argc; i++) {
		rc = inv_host_get(ctx->inv, a->argv[i], &h, &ctx->err);
		if (rc == BOOTD_OK) {
			host_row(ctx, &t, h, true);
			inv_host_free(h);
		}
	}
	return table_done(ctx, &t, rc);
}

/*
 * Print what bootd serves: the same lookup and renderer as the daemon.
 * A MAC that belongs to no host gets the unknown script; any failure gets
 * the fail-safe script, with the reason on stderr and exit status 1.
 */
static int
verb_render(struct ctx *ctx, struct args *a)
{
	struct inv_boot boot = { 0 };
	struct inv_host *h = NULL;
	struct buf out = { 0 };
	char mac[MAC_STRLEN + 1];
	struct bootd_error merr;
	enum bootd_err rc;
	int ret = EXIT_OK;

	if (mac_canon(a->argv[0], mac, &merr) != BOOTD_OK) {
		/* Not a MAC: a host name, rendered for its first NIC. */
		if ((rc = inv_host_get(ctx->inv, a->argv[0], &h, &ctx->err)) !=
		    BOOTD_OK)
			return fail(ctx, rc);
		if (h->nmacs == 0) {
			rc = bootd_error_set(&ctx->err, BOOTD_EINVAL,
			    "host %s has no NIC to render for", h->fqdn);
			inv_host_free(h);
			return fail(ctx, rc);
		}
		snprintf(mac, sizeof(mac), "%s", h->macs[0]);
		inv_host_free(h);
	}
	rc = inv_lookup(ctx->inv, mac, (int64_t)time(NULL),
	    (const char *const *)ctx->cfg->menu.manual_dists,
	    ctx->cfg->menu.nmanual_dists, &boot, &ctx->err);
	/*
	 * The install token is shown, as in `host show`, only to who may
	 * change the host; others see the script with a stand-in token.
	 */
	if (rc == BOOTD_OK && boot.host->token != NULL &&
	    env_allowed(ctx, boot.host->env, NULL) != BOOTD_OK) {
		free(boot.host->token);
		if ((boot.host->token = strdup(TOKEN_HIDDEN)) == NULL)
			rc = bootd_error_set(&ctx->err, BOOTD_ENOMEM,
			    "out of memory");
		else
			fprintf(stderr, "bootctl: install token of %s hidden: "
			    "you may not change it\n", boot.host->fqdn);
	}
	if (rc == BOOTD_OK)
		rc = ipxe_render_host(ctx->cfg, &boot, mac, &out, &ctx->err);
	else if (rc == BOOTD_ENOTFOUND) {
		ctx->err.text[0] = '\0';
		rc = ipxe_render_unknown(ctx->cfg, mac, &out, &ctx->err);
	}
	inv_boot_free(&boot);
	if (rc == BOOTD_OK && buf_failed(&out))
		rc = bootd_error_set(&ctx->err, BOOTD_ENOMEM, "out of memory");
	if (rc != BOOTD_OK) {
		ret = fail(ctx, rc);
		buf_reset(&out);
		ipxe_render_failsafe(ctx->cfg, ctx->err.text, &out);
	}
	fwrite(buf_str(&out), 1, out.len, stdout);
	buf_free(&out);
	return ret;
}

/*
 * Print one discovered MAC as it is read: fixed-width columns, so that
 * the listing streams instead of being held in memory.  A MAC that a host
 * has been given since it booted is left out.
 */
struct discovered_arg {
	struct ctx	*ctx;
	long		 limit;		/* rows to print; 0 = all */
	long		 printed;
};

static int
discovered_cb(const struct events_discovered *d, void *arg)
{
	struct discovered_arg *da = arg;
	struct buf b = { 0 };
	char first[32], last[32], *fqdn = NULL;

	if (inv_host_resolve(da->ctx->inv, d->mac, &fqdn, NULL) == BOOTD_OK) {
		free(fqdn);
		return 0;
	}
	safe_append(&b, d->params != NULL && d->params[0] != '\0' ?
	    d->params : "-");
	printf("%-17s  %-20s  %-20s  %8lld  %s\n", d->mac,
	    fmt_time(d->first_seen, first), fmt_time(d->last_seen, last),
	    (long long)d->count, buf_failed(&b) ? "?" : buf_str(&b));
	buf_free(&b);
	da->printed++;
	return ferror(stdout) || (da->limit > 0 && da->printed >= da->limit);
}

static int
verb_discovered_list(struct ctx *ctx, struct args *a)
{
	struct discovered_arg da = { ctx, 0, 0 };
	struct events *ev;
	enum bootd_err rc;
	char *end;

	if (a->limit != NULL) {
		errno = 0;
		da.limit = strtol(a->limit, &end, 10);
		if (errno != 0 || *end != '\0' || end == a->limit ||
		    da.limit < 1) {
			warnmsg("discovered list: --limit: expected a positive "
			    "number");
			return EXIT_USAGE;
		}
	}
	printf("%-17s  %-20s  %-20s  %8s  %s\n", "MAC", "FIRST-SEEN",
	    "LAST-SEEN", "COUNT", "PARAMS");
	if ((ev = events_db(ctx)) == NULL)
		return EXIT_OK;		/* nothing seen yet */
	rc = events_discovered_each(ev, 0, discovered_cb, &da, &ctx->err);
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}

static int
audit_cb(const struct inv_audit *au, void *arg)
{
	struct table *t = arg;
	struct buf change = { 0 };
	char tm[32];

	table_add(t, fmt_time(au->time, tm));
	table_add(t, au->actor);
	table_add(t, au->op);
	table_add(t, au->object);
	buf_printf(&change, "%s -> %s",
	    au->old_value != NULL ? au->old_value : "-",
	    au->new_value != NULL ? au->new_value : "-");
	if (buf_failed(&change))
		t->failed = true;
	table_add(t, buf_str(&change));
	buf_free(&change);
	return 0;
}

static int
verb_audit(struct ctx *ctx, struct args *a)
{
	struct table t;
	struct bootd_error ignored;
	const char *object = NULL;
	char *fqdn = NULL;
	enum bootd_err rc;

	if (a->argc == 1) {
		/* A removed host no longer resolves: use the name given. */
		object = a->argv[0];
		if (inv_host_resolve(ctx->inv, a->argv[0], &fqdn, &ignored) ==
		    BOOTD_OK)
			object = fqdn;
	}
	table_head(&t, "TIME", "ACTOR", "OP", "OBJECT", "CHANGE", NULL);
	rc = inv_audit_each(ctx->inv, object, audit_cb, &t, &ctx->err);
	free(fqdn);
	return table_done(ctx, &t, rc);
}

static int
verb_help(struct ctx *ctx, struct args *a)
{
	const struct verb *v;
	int used;

	if (a->argc == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if ((v = verb_find(a->argc, a->argv, &used)) != NULL &&
	    used == a->argc) {
		verb_usage(stdout, v, true);
		return EXIT_OK;
	}
	if (a->argc == 1 && is_noun(a->argv[0])) {
		noun_usage(stdout, a->argv[0]);
		return EXIT_OK;
	}
	warnmsg("help: unknown verb '%s%s%s'", a->argv[0],
	    a->argc > 1 ? " " : "", a->argc > 1 ? a->argv[1] : "");
	return EXIT_USAGE;
}

/* Dispatcher ----------------------------------------------------------- */

/*
 * Parse the options and arguments of verb v from argv (argv[0] is the
 * verb's last word).  Returns EXIT_OK, EXIT_USAGE, or -1 after printing
 * the verb's help on --help.
 */
static int
parse_verb_args(const struct verb *v, int argc, char **argv, struct args *a)
{
	static const struct {
		unsigned	 bit;
		struct option	 opt;
	} all[] = {
		{ OPT_ENV, { "env", required_argument, NULL, 'e' } },
		{ OPT_DIST, { "dist", required_argument, NULL, 'd' } },
		{ OPT_GROUP, { "group", required_argument, NULL, 'g' } },
		{ OPT_KERNEL, { "kernel", required_argument, NULL, 'k' } },
		{ OPT_INITRD, { "initrd", required_argument, NULL, 'i' } },
		{ OPT_CMDLINE, { "cmdline", required_argument, NULL, 'l' } },
		{ OPT_LIMIT, { "limit", required_argument, NULL, 'n' } },
	};
	struct option opts[sizeof(all) / sizeof(all[0]) + 2];
	const char **slot;
	size_t i, n = 0;
	int ch;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (v->opts & all[i].bit)
			opts[n++] = all[i].opt;
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };

	if ((a->initrds = calloc((size_t)argc + 1, sizeof(char *))) == NULL) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	optind = 0;	/* reinitialise getopt for the second pass */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		slot = NULL;
		switch (ch) {
		case 'e':
			slot = &a->env;
			break;
		case 'd':
			slot = &a->dist;
			break;
		case 'g':
			slot = &a->group;
			break;
		case 'k':
			slot = &a->kernel;
			break;
		case 'l':
			slot = &a->cmdline;
			break;
		case 'n':
			slot = &a->limit;
			break;
		case 'i':
			a->initrds[a->ninitrds++] = optarg;
			continue;
		case 'h':
			verb_usage(stdout, v, true);
			return -1;
		case ':':
			warnmsg("%s: option %s needs a value", v->name,
			    argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt != 0)
				warnmsg("%s: unknown option '-%c' (see bootctl "
				    "%s --help)", v->name, optopt, v->name);
			else
				warnmsg("%s: unknown option '%s' (see bootctl "
				    "%s --help)", v->name, argv[optind - 1],
				    v->name);
			return EXIT_USAGE;
		}
		if (*slot != NULL) {
			warnmsg("%s: option --%s given twice", v->name,
			    ch == 'e' ? "env" : ch == 'd' ? "dist" :
			    ch == 'g' ? "group" : ch == 'k' ? "kernel" :
			    ch == 'n' ? "limit" : "cmdline");
			return EXIT_USAGE;
		}
		*slot = optarg;
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	if (a->argc < v->min_args) {
		warnmsg("%s: missing arguments (usage: bootctl %s %s)",
		    v->name, v->name, v->usage);
		return EXIT_USAGE;
	}
	if (a->argc > v->max_args) {
		warnmsg("%s: too many arguments (usage: bootctl %s%s%s)",
		    v->name, v->name, v->usage[0] != '\0' ? " " : "",
		    v->usage);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/*
 * When bootctl runs with more privilege than its caller (setgid bootd)
 * and the caller chose the configuration or the database, give up the
 * privilege: the caller's own choices then only reach what the caller
 * could reach anyway.
 */
static int
drop_privilege_if_overridden(const char *cfgpath, const char *dbpath)
{
	if (getuid() == 0)
		return EXIT_OK;
	if (getegid() == getgid() && geteuid() == getuid())
		return EXIT_OK;
	if (cfgpath == NULL && dbpath == NULL && getenv("BOOTD_CONFIG") == NULL)
		return EXIT_OK;
	if (setregid(getgid(), getgid()) != 0 ||
	    setreuid(getuid(), getuid()) != 0) {
		warnmsg("dropping privileges: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/*
 * Open the inventory at ctx->dbpath for verb v, after checking who may
 * change the path (dbdir_check()):
 *   - as root, when the database directory belongs to another user (the
 *     service user), become that user and group for good first, so root
 *     never follows a name the service user could have planted, and every
 *     file SQLite creates (the database, -wal, -shm) belongs to the
 *     service user;
 *   - setgid, for a caller without the group, refuse unless the database
 *     and its -wal and -shm files already exist and belong to the
 *     directory's owner (dbdir_check_files()): SQLite would otherwise
 *     create them for the caller.
 * Returns BOOTD_OK or the error, with its reason in ctx->err.
 */
static enum bootd_err
open_inventory(struct ctx *ctx, const struct verb *v)
{
	struct dbdir dir;
	enum bootd_err rc;

	if ((rc = dbdir_check(ctx->dbpath, &dir, &ctx->err)) != BOOTD_OK)
		return rc;
	if (geteuid() == 0 && dir.uid != 0) {
		if (setgroups(1, &dir.gid) != 0 || setgid(dir.gid) != 0 ||
		    setuid(dir.uid) != 0 || setuid(0) != -1)
			return bootd_error_set(&ctx->err, BOOTD_ESYS, "becoming "
			    "uid %lu, gid %lu (the owner of the database "
			    "directory): %s", (unsigned long)dir.uid,
			    (unsigned long)dir.gid, strerror(errno));
	} else if (getegid() != getgid() || geteuid() != getuid()) {
		if ((rc = dbdir_check_files(ctx->dbpath, dir.uid, &ctx->err)) !=
		    BOOTD_OK)
			return rc;
		ctx->setid = true;
	}
	ctx->dbuid = dir.uid;
	return inv_open(ctx->dbpath, (v->flags & VF_CREATE) ? INV_CREATE :
	    (v->flags & VF_WRITE) ? INV_RDWR : INV_RDONLY, &ctx->inv,
	    &ctx->err);
}

int
main(int argc, char *argv[])
{
	static const struct option gopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfgpath = NULL, *dbpath = NULL;
	const struct verb *v;
	struct ctx ctx;
	struct args a;
	char actor[128];
	enum bootd_err rc;
	int ch, used, ret;

	memset(&ctx, 0, sizeof(ctx));
	memset(&a, 0, sizeof(a));
	/* New database, WAL and SHM files: owner and group (bootd) only. */
	umask(007);

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:hV", gopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'd':
			dbpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("bootctl (bootd) %s\n", BOOTD_VERSION);
			return EXIT_OK;
		case ':':
			warnmsg("option %s needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt != 0)
				warnmsg("unknown option '-%c' (see bootctl "
				    "--help)", optopt);
			else
				warnmsg("unknown option '%s' (see bootctl "
				    "--help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}

	if ((v = verb_find(argc, argv, &used)) == NULL) {
		if (is_noun(argv[0]) && (argc == 1 ||
		    strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0)) {
			noun_usage(argc == 1 ? stderr : stdout, argv[0]);
			return argc == 1 ? EXIT_USAGE : EXIT_OK;
		}
		if (is_noun(argv[0]))
			warnmsg("unknown verb '%s %s' (see bootctl --help)",
			    argv[0], argv[1]);
		else
			warnmsg("unknown verb '%s' (see bootctl --help)",
			    argv[0]);
		return EXIT_USAGE;
	}
	ctx.verb = v->name;
	ret = parse_verb_args(v, argc - used + 1, argv + used - 1, &a);
	if (ret != EXIT_OK) {
		free(a.initrds);
		return ret == -1 ? EXIT_OK : ret;
	}
	if (v->flags & VF_NODB) {
		ret = v->fn(&ctx, &a);
		free(a.initrds);
		return ret;
	}

	if ((ret = drop_privilege_if_overridden(cfgpath, dbpath)) != EXIT_OK)
		goto out;
	if ((rc = cfg_load(cfgpath, &ctx.cfg, &ctx.err)) != BOOTD_OK) {
		ret = fail(&ctx, rc);
		goto out;
	}
	if ((ret = identify(&ctx)) != EXIT_OK)
		goto out;
	if ((v->flags & VF_ADMIN) && !ctx.admin) {
		warnmsg("permission denied: %s needs root or group %s",
		    v->name, group_label(ctx.cfg->admin_group));
		ret = EXIT_FAIL;
		goto out;
	}
	ctx.dbpath = dbpath != NULL ? dbpath : ctx.cfg->database;
	/* --db names another inventory: its events file goes with it. */
	ctx.evpath = strcmp(ctx.dbpath, ctx.cfg->database) == 0 ?
	    strdup(ctx.cfg->events_database) :
	    events_default_path(ctx.dbpath);
	if (ctx.evpath == NULL) {
		warnmsg("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	if ((rc = open_inventory(&ctx, v)) != BOOTD_OK) {
		ret = fail(&ctx, rc);
		if (v->fn == verb_render) {
			/* What bootd serves without its inventory. */
			struct buf fs = { 0 };

			ipxe_render_failsafe(ctx.cfg, ctx.err.text, &fs);
			fwrite(buf_str(&fs), 1, fs.len, stdout);
			buf_free(&fs);
		}
		goto out;
	}
	if (v->flags & VF_WRITE) {
		actor_name(ctx.uid, actor, sizeof(actor));
		if ((rc = inv_set_actor(ctx.inv, actor)) != BOOTD_OK) {
			ret = fail(&ctx, rc);
			goto out;
		}
		inv_set_authorizer(ctx.inv, authorize, &ctx);
	}
	if ((v->flags & VF_HOST) &&
	    (ret = host_for_change(&ctx, a.argv[0], &ctx.host)) != EXIT_OK)
		goto out;
	ret = v->fn(&ctx, &a);
	if (fflush(stdout) != 0 && ret == EXIT_OK) {
		warnmsg("writing output: %s", strerror(errno));
		ret = EXIT_FAIL;
	}
out:
	inv_host_free(ctx.host);
	inv_close(ctx.inv);
	events_close(ctx.ev);
	free(ctx.evpath);
	cfg_free(ctx.cfg);
	free(ctx.groups);
	free(a.initrds);
	return ret;
}
