/*
 * main.c - bootctl, the operator CLI: manage the bootd inventory
 *
 * bootctl dispatches a static table of noun-verb commands ("host add",
 * "set-reinstall", ...).  The dispatcher parses the global options, finds
 * the verb (or suggests the closest, as git does), parses the verb's
 * options, checks the argument count, splits the hosts of a verb that
 * takes many from its values and reads --from (select.c), loads the
 * configuration, decides who the caller is, opens the inventory, checks
 * the caller may change the host a one-host verb names, and calls the
 * verb.  A verb that takes hosts selects them with hosts_select() and
 * changes them with change_apply() (select.c), which takes the write
 * lock only once everything is checked and confirmed.  Every change goes
 * through libboot, which validates it and applies it in one transaction
 * with its audit row.
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
 * The inventory may be a PostgreSQL database instead (a URI in the
 * configuration or --db): bootctl then connects with
 * target_session_attrs=read-write, to the primary, whose schema
 * "events" holds the events; nothing is checked on the file system, and
 * run setgid it drops the caller's PG* environment first (its password
 * comes from a service file of its group's: bootctl(8), POSTGRESQL).
 *
 * Before it opens an SQLite database, bootctl checks who may change the
 * path (dbdir_check()); run by root it becomes the owner of the
 * database's directory (the service user), and run setgid it refuses
 * unless the -wal and -shm files already belong to that owner
 * (open_inventory()).
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error.
 *
 * The files beside this one are listed in bootctl.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootctl.h"
#include "db.h"
#include "dbdir.h"

/* The page cache of an SQLite inventory, in MiB (inv_cache_mib()). */
#define BOOTCTL_CACHE_MIB	16

/* The options of a verb that takes hosts by selector (see select.c). */
#define SEL	(OPT_ENV | OPT_DIST | OPT_SELECT)

static const struct verb verbs[] = {
	{ "init", 0, 0, VF_WRITE | VF_CREATE | VF_ADMIN, 0, verb_init,
	    "",
	    "create the inventory database, or upgrade its schema" },
	{ "host add", 2, ARGS_ANY, VF_WRITE, OPT_ENV | OPT_DIST,
	    verb_host_add,
	    "FQDN MAC [MAC ...] [--env ENV] [--dist DIST]",
	    "add a host with its NICs (environment \"default\" unless --env)" },
	{ "host remove", 0, ARGS_ANY, VF_WRITE | VF_SELECT, SEL | OPT_CHANGE,
	    verb_host_remove,
	    "HOST ...|SELECTORS",
	    "remove hosts with their NICs, attributes and tokens" },
	{ "host rename", 2, 2, VF_WRITE | VF_HOST, 0, verb_host_rename,
	    "HOST NEWFQDN",
	    "change the FQDN of a host" },
	{ "host show", 1, 1, 0, OPT_JSON, verb_host_show,
	    "HOST [--json]",
	    "show every field of a host" },
	{ "host list", 0, 0, VF_SELECT, SEL | OPT_JSON, verb_host_list,
	    "[SELECTORS] [--json]",
	    "list hosts" },
	{ "host set-env", 1, ARGS_ANY, VF_WRITE | VF_SELECT | VF_VALUES(1),
	    SEL | OPT_CHANGE, verb_host_set_env,
	    "HOST ...|SELECTORS ENV",
	    "move hosts to another environment" },
	{ "host set-dist", 1, ARGS_ANY, VF_WRITE | VF_SELECT | VF_VALUES(1),
	    SEL | OPT_CHANGE, verb_host_set_dist,
	    "HOST ...|SELECTORS DIST|-",
	    "set the distribution of hosts (\"-\" clears it)" },
	{ "nic add", 2, 2, VF_WRITE | VF_HOST, 0, verb_nic_add,
	    "HOST MAC",
	    "add a NIC to a host" },
	{ "nic remove", 1, 1, VF_WRITE, 0, verb_nic_remove,
	    "MAC",
	    "remove a NIC (a host keeps at least one)" },
	{ "attr set", 2, ARGS_ANY, VF_WRITE | VF_SELECT | VF_VALUES(2),
	    SEL | OPT_CHANGE, verb_attr_set,
	    "HOST ...|SELECTORS KEY VALUE",
	    "set an attribute of hosts ({{attr.KEY}} in templates)" },
	{ "attr unset", 1, ARGS_ANY, VF_WRITE | VF_SELECT | VF_VALUES(1),
	    SEL | OPT_CHANGE, verb_attr_unset,
	    "HOST ...|SELECTORS KEY",
	    "remove an attribute of hosts" },
	{ "env add", 1, 1, VF_WRITE | VF_ADMIN, OPT_GROUP | OPT_FORCE,
	    verb_env_add,
	    "NAME [--group GROUP [--force]]",
	    "add an environment managed by GROUP (none: admins only)" },
	{ "env remove", 1, 1, VF_WRITE | VF_ADMIN, 0, verb_env_remove,
	    "NAME",
	    "remove an environment no host uses" },
	{ "env list", 0, 0, 0, OPT_JSON, verb_env_list,
	    "[--json]",
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
	{ "dist list", 0, 0, 0, OPT_JSON, verb_dist_list,
	    "[--json]",
	    "list distributions" },
	{ "dist show", 1, 1, 0, OPT_JSON, verb_dist_show,
	    "NAME [--json]",
	    "show a distribution" },
	{ "dist remove", 1, 1, VF_WRITE | VF_ADMIN, 0, verb_dist_remove,
	    "NAME",
	    "remove a distribution no host uses" },
	{ "set-reinstall", 0, ARGS_ANY, VF_WRITE | VF_SELECT | VF_DISTVAL,
	    SEL | OPT_CHANGE, verb_set_reinstall,
	    "HOST ...|SELECTORS [--dist DIST]",
	    "install hosts at their next boot, with a fresh one-shot token" },
	{ "set-local", 0, ARGS_ANY, VF_WRITE | VF_SELECT, SEL | OPT_CHANGE,
	    verb_set_local,
	    "HOST ...|SELECTORS",
	    "boot hosts from their local disk; revokes their tokens" },
	{ "status", 0, ARGS_ANY, VF_SELECT, SEL | OPT_JSON, verb_status,
	    "[HOST ...|SELECTORS] [--json]",
	    "show boot action, token expiry and last boot of hosts" },
	{ "render", 1, 1, 0, OPT_JSON, verb_render,
	    "HOST|MAC [--json]",
	    "print the iPXE script bootd serves to a host or MAC" },
	{ "discovered list", 0, 0, 0, OPT_LIMIT | OPT_JSON,
	    verb_discovered_list,
	    "[--limit N] [--json]",
	    "list MACs that asked for a script but belong to no host" },
	{ "audit", 0, 1, 0, OPT_JSON, verb_audit,
	    "[HOST] [--json]",
	    "show the audit log, of all changes or of one host" },
	{ "discovered adopt", 2, 2, VF_WRITE, OPT_ENV | OPT_DIST | OPT_ATTR,
	    verb_discovered_adopt,
	    "MAC FQDN [--env ENV] [--dist DIST] [--attr KEY=VALUE ...]",
	    "make a discovered MAC a host, and take it off the list" },
	{ "discovered forget", 0, ARGS_ANY, VF_WRITE | VF_ADMIN, OPT_OLDER,
	    verb_discovered_forget,
	    "MAC ... | --older-than DAYS",
	    "take discovered MACs off the list until they ask again" },
	{ "history", 0, ARGS_ANY, VF_SELECT, SEL | OPT_SINCE | OPT_LIMIT |
	    OPT_JSON, verb_history,
	    "[HOST ...|SELECTORS] [--since TIME] [--until TIME] [--limit N] "
	    "[--json]",
	    "changes and boots of hosts, one timeline per host, newest last" },
	{ "export", 0, 0, 0, OPT_ENV, verb_export,
	    "[--env ENV]",
	    "write the inventory as one JSON document (no tokens or events)" },
	{ "import", 1, 1, VF_WRITE | VF_INPUT,
	    OPT_ENV | OPT_DRY_RUN | OPT_REPLACE,
	    verb_import,
	    "FILE|- [--dry-run] [--replace [--env ENV]]",
	    "check a JSON document whole, then apply it in one transaction" },
	{ "help", 0, 2, VF_NODB, 0, verb_help,
	    "[VERB]",
	    "show this help, or the help of one verb" },
	/* For bash completion (tools/completion/bootctl): complete.c. */
	{ "__complete", 1, ARGS_ANY, VF_NODB | VF_HIDDEN, 0, verb_complete,
	    "verbs [NOUN] | options VERB",
	    "print the words that may follow, one a line" },
	{ "__names", 1, 2, VF_HIDDEN, 0, verb_names,
	    "hosts|envs|dists [PREFIX]",
	    "print the names of hosts, environments or distributions" },
};

#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

/* Nouns that take a second word. */
static const char *const nouns[] = {
	"host", "nic", "attr", "env", "dist", "discovered"
};

/* Usage --------------------------------------------------------------- */

/* Usage of v; with full, its options too. */
static void
verb_usage(FILE *f, const struct verb *v, bool full)
{
	static const struct {
		unsigned	 bit;
		const char	*text;
	} ohelp[] = {
		{ OPT_GROUP, "  --group GROUP      unix group whose members "
		    "manage its hosts" },
		{ OPT_KERNEL, "  --kernel URL       kernel URL template" },
		{ OPT_INITRD, "  --initrd URL       initrd URL template; "
		    "repeat for more, in load order" },
		{ OPT_CMDLINE, "  --cmdline TEMPLATE kernel command-line "
		    "template" },
		{ OPT_LIMIT, "  --limit N          show at most N rows" },
		{ OPT_JSON, "  --json             one JSON document (see "
		    "bootctl(8), JSON OUTPUT)" },
		{ OPT_CHANGE, "  -n, --dry-run      print what would change; "
		    "change nothing" },
		{ OPT_CHANGE, "  -y, --yes          change several hosts "
		    "without asking" },
		{ OPT_DRY_RUN, "  -n, --dry-run      print what would change; "
		    "change nothing" },
		{ OPT_REPLACE, "  --replace          remove what the document "
		    "lacks (with --env: hosts of ENV only)" },
		{ OPT_SINCE, "  --since TIME       from TIME (RFC 3339, or "
		    "30m, 1h, 7d ago)\n"
		    "  --until TIME       up to TIME" },
		{ OPT_ATTR, "  --attr KEY=VALUE   set an attribute; "
		    "repeatable" },
		{ OPT_OLDER, "  --older-than DAYS  every MAC last seen more "
		    "than DAYS days ago" },
		{ OPT_FORCE, "  --force            a group this system does "
		    "not have (yet)" },
	};
	size_t i;

	fprintf(f, "usage: bootctl [--db PATH|URI] [-c FILE] %s%s%s\n", v->name,
	    v->usage[0] != '\0' ? " " : "", v->usage);
	fprintf(f, "  %s\n", v->help);
	if (!full)
		return;
	fprintf(f, "Options:\n");
	if ((v->opts & OPT_ENV) && !(v->opts & OPT_SELECT))
		fprintf(f, "  --env ENV          environment\n");
	if ((v->opts & OPT_DIST) &&
	    (!(v->opts & OPT_SELECT) || (v->flags & VF_DISTVAL)))
		fprintf(f, "  --dist DIST        distribution%s\n",
		    (v->flags & VF_DISTVAL) ? " to install (default: the "
		    "host's)" : "");
	for (i = 0; i < sizeof(ohelp) / sizeof(ohelp[0]); i++)
		if (v->opts & ohelp[i].bit)
			fprintf(f, "%s\n", ohelp[i].text);
	fprintf(f, "  -q, --quiet        say nothing on success\n");
	fprintf(f, "  -v, --verbose      say what changed\n");
	fprintf(f, "  -h, --help         show this help\n");
	if (!(v->opts & OPT_SELECT))
		return;
	fprintf(f, "Selectors (instead of HOST ...; all must match):\n");
	fprintf(f, "  --env ENV          hosts in environment ENV\n");
	if (!(v->flags & VF_DISTVAL))
		fprintf(f, "  --dist DIST        hosts with distribution DIST "
		    "(\"-\": none)\n");
	fprintf(f, "  --with-dist DIST   hosts with distribution DIST "
	    "(\"-\": none)\n");
	fprintf(f, "  --attr KEY=VALUE   hosts with that attribute; "
	    "repeat for more\n");
	fprintf(f, "  --action ACTION    hosts whose boot action is install "
	    "or local\n");
	fprintf(f, "  --name GLOB        hosts whose FQDN matches GLOB\n");
	fprintf(f, "  --all              every host\n");
	fprintf(f, "  --from FILE        hosts named in FILE, one a line "
	    "(\"-\": standard input)\n");
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: bootctl [--db PATH|URI] [-c FILE] VERB [ARGS ...]\n"
	    "       bootctl --help | --version\n"
	    "       bootctl VERB --help\n"
	    "\n"
	    "Manage the bootd inventory: hosts, NICs, attributes, "
	    "environments,\n"
	    "distributions and what each host boots.\n"
	    "\n"
	    "Global options (before the verb):\n"
	    "  --db PATH|URI inventory database: an SQLite file or a PostgreSQL\n"
	    "                URI (default: \"database\" in the configuration,\n"
	    "                /var/lib/bootd/db/bootd.db)\n"
	    "  -c FILE       configuration file (default: $BOOTD_CONFIG, else\n"
	    "                " CFG_DEFAULT_PATH ")\n"
	    "  -q, --quiet   say nothing on success\n"
	    "  -v, --verbose say what changed\n"
	    "  -h, --help    show this help\n"
	    "  -V, --version show the version\n"
	    "\n"
	    "A HOST is an FQDN, a short name when unambiguous, or one of its "
	    "MACs.\n"
	    "Verbs that take hosts also select them: --env, --dist, --attr, "
	    "--action,\n"
	    "--name, --all, --from (see VERB --help).\n"
	    "\n"
	    "Verbs:\n");
	for (i = 0; i < NVERBS; i++)
		if (!(verbs[i].flags & VF_HIDDEN))
			fprintf(f, "  %s%s%s\n      %s\n", verbs[i].name,
			    verbs[i].usage[0] != '\0' ? " " : "",
			    verbs[i].usage, verbs[i].help);
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

bool
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

int
verb_init(struct ctx *ctx, struct args *a)
{
	struct events *ev = NULL;
	enum bootd_err rc;
	int version;

	if ((rc = inv_schema_version(ctx->inv, &version, &ctx->err)) !=
	    BOOTD_OK)
		return fail(ctx, rc);
	/*
	 * On PostgreSQL the events live in schema "events" of the same
	 * database, which nobody but bootctl init creates or migrates
	 * ahead of bootd (an SQLite events file is bootd's to make).
	 */
	if (ctx->uri) {
		if ((rc = events_open(ctx->evpath, 1, &ev, &ctx->err)) !=
		    BOOTD_OK)
			return fail(ctx, rc);
		events_close(ev);
	}
	printf("%s: schema version %d\n", ctx->dbname, version);
	return EXIT_OK;
}

int
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

/* "Did you mean" ------------------------------------------------------ */

/*
 * The optimal string alignment distance between a and b: insertions,
 * deletions, substitutions and swaps of neighbours each cost one
 * ("stauts" is one away from "status").  Words are short: a and b longer
 * than 63 bytes are simply far apart.
 */
size_t
edit_distance(const char *a, const char *b)
{
	size_t d[64][64], la = strlen(a), lb = strlen(b), i, j, c, m;

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			c = a[i - 1] == b[j - 1] ? 0 : 1;
			m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + c < m)
				m = d[i - 1][j - 1] + c;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1;
			d[i][j] = m;
		}
	}
	return d[la][lb];
}

/*
 * The candidates closest to a mistyped word, as git suggests them: only
 * close ones (at most 2 edits, and fewer than the word is long), at most
 * three.
 */
struct suggest {
	const char	*word;
	size_t		 best;
	const char	*pick[3];
	int		 npick;
	bool		 dashes;	/* options: shown with "--" */
};

/* Consider candidate, shown as show ("list" of "host list"). */
static void
suggest_add_as(struct suggest *sg, const char *candidate, const char *show)
{
	size_t d = edit_distance(sg->word, candidate);

	if (d > 2 || d >= strlen(sg->word))
		return;
	if (d < sg->best) {
		sg->best = d;
		sg->npick = 0;
	}
	if (d == sg->best && sg->npick < 3)
		sg->pick[sg->npick++] = show;
}

static void
suggest_add(struct suggest *sg, const char *candidate)
{
	suggest_add_as(sg, candidate, candidate);
}

/* " (did you mean 'x'?)" into out, or "" when nothing is close. */
static const char *
suggest_text(const struct suggest *sg, char *out, size_t size)
{
	const char *d = sg->dashes ? "--" : "";

	out[0] = '\0';
	if (sg->npick == 1)
		snprintf(out, size, " (did you mean '%s%s'?)", d, sg->pick[0]);
	else if (sg->npick == 2)
		snprintf(out, size, " (did you mean '%s%s' or '%s%s'?)",
		    d, sg->pick[0], d, sg->pick[1]);
	else if (sg->npick == 3)
		snprintf(out, size, " (did you mean '%s%s', '%s%s' or "
		    "'%s%s'?)", d, sg->pick[0], d, sg->pick[1], d,
		    sg->pick[2]);
	return out;
}

/*
 * The suggestion for an unknown verb: argv[0] among the nouns and
 * one-word verbs, or, after a noun, argv[1] among that noun's verbs,
 * suggested whole ("host list"), as it is typed.
 */
static const char *
suggest_verb(int argc, char **argv, char *out, size_t size)
{
	struct suggest sg = { NULL, SIZE_MAX, { NULL }, 0, false };
	size_t i, len;

	if (argc >= 2 && is_noun(argv[0])) {
		sg.word = argv[1];
		len = strlen(argv[0]);
		for (i = 0; i < NVERBS; i++)
			if (strncmp(verbs[i].name, argv[0], len) == 0 &&
			    verbs[i].name[len] == ' ')
				suggest_add_as(&sg, verbs[i].name + len + 1,
				    verbs[i].name);
		return suggest_text(&sg, out, size);
	}
	sg.word = argv[0];
	for (i = 0; i < sizeof(nouns) / sizeof(nouns[0]); i++)
		suggest_add(&sg, nouns[i]);
	for (i = 0; i < NVERBS; i++)
		if (strchr(verbs[i].name, ' ') == NULL &&
		    !(verbs[i].flags & VF_HIDDEN))
			suggest_add(&sg, verbs[i].name);
	return suggest_text(&sg, out, size);
}

/* The suggestion for an unknown long option arg ("--jsn") among opts. */
static const char *
suggest_option(const char *arg, const struct option *opts, char *out,
    size_t size)
{
	struct suggest sg = { NULL, SIZE_MAX, { NULL }, 0, true };
	char word[64];
	size_t i;

	out[0] = '\0';
	if (strncmp(arg, "--", 2) != 0)
		return out;
	snprintf(word, sizeof(word), "%s", arg + 2);
	word[strcspn(word, "=")] = '\0';
	sg.word = word;
	for (i = 0; opts[i].name != NULL; i++)
		suggest_add(&sg, opts[i].name);
	return suggest_text(&sg, out, size);
}

/* Dispatcher ----------------------------------------------------------- */

/* The verb table, for complete.c. */
const struct verb *
verb_table(size_t *n)
{
	*n = NVERBS;
	return verbs;
}

/*
 * Fill opts with the long options of verb v, in the order of its help,
 * ending with a zeroed entry; every verb takes -q, -v and -h.
 */
void
verb_options(const struct verb *v, struct option *opts)
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
		{ OPT_LIMIT, { "limit", required_argument, NULL, 'm' } },
		{ OPT_SELECT, { "with-dist", required_argument, NULL, 'W' } },
		{ OPT_SELECT, { "attr", required_argument, NULL, 'A' } },
		{ OPT_SELECT, { "action", required_argument, NULL, 'a' } },
		{ OPT_SELECT, { "name", required_argument, NULL, 'N' } },
		{ OPT_SELECT, { "all", no_argument, NULL, 'L' } },
		{ OPT_SELECT, { "from", required_argument, NULL, 'F' } },
		{ OPT_CHANGE, { "dry-run", no_argument, NULL, 'n' } },
		{ OPT_CHANGE, { "yes", no_argument, NULL, 'y' } },
		{ OPT_JSON, { "json", no_argument, NULL, 'j' } },
		{ OPT_DRY_RUN, { "dry-run", no_argument, NULL, 'n' } },
		{ OPT_REPLACE, { "replace", no_argument, NULL, 'R' } },
		{ OPT_SINCE, { "since", required_argument, NULL, 's' } },
		{ OPT_SINCE, { "until", required_argument, NULL, 'u' } },
		{ OPT_ATTR, { "attr", required_argument, NULL, 'A' } },
		{ OPT_OLDER, { "older-than", required_argument, NULL, 'o' } },
		{ OPT_FORCE, { "force", no_argument, NULL, 'f' } },
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (v->opts & all[i].bit)
			opts[n++] = all[i].opt;
	opts[n++] = (struct option){ "quiet", no_argument, NULL, 'q' };
	opts[n++] = (struct option){ "verbose", no_argument, NULL, 'v' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
}

/*
 * Parse the options and arguments of verb v from argv (argv[0] is the
 * verb's last word).  Returns EXIT_OK, EXIT_USAGE, or -1 after printing
 * the verb's help on --help.
 */
static int
parse_verb_args(const struct verb *v, int argc, char **argv, struct args *a)
{
	struct option opts[VERB_NOPTS];
	const char **slot;
	char hint[160], shorts[16];
	size_t i;
	int ch;

	memset(a, 0, sizeof(*a));
	a->vflags = v->flags;
	verb_options(v, opts);
	if ((a->initrds = calloc((size_t)argc + 1, sizeof(char *))) == NULL ||
	    (a->attrs = calloc((size_t)argc + 1, sizeof(char *))) == NULL) {
		warnmsg("out of memory");
		return EXIT_FAIL;
	}
	optind = 0;	/* reinitialise getopt for the second pass */
	opterr = 0;
	/* The short options follow the verb's option bits, as the long. */
	snprintf(shorts, sizeof(shorts), ":hqv%s%s",
	    (v->opts & (OPT_CHANGE | OPT_DRY_RUN)) ? "n" : "",
	    (v->opts & OPT_CHANGE) ? "y" : "");
	while ((ch = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
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
		case 'm':
			slot = &a->limit;
			break;
		case 'W':
			slot = &a->with_dist;
			break;
		case 'a':
			slot = &a->action;
			break;
		case 'N':
			slot = &a->name;
			break;
		case 'F':
			slot = &a->from;
			break;
		case 'i':
			a->initrds[a->ninitrds++] = optarg;
			continue;
		case 'A':
			a->attrs[a->nattrs++] = optarg;
			continue;
		case 'L':
			a->all = true;
			continue;
		case 'n':
			a->dry_run = true;
			continue;
		case 'y':
			a->yes = true;
			continue;
		case 'R':
			a->replace = true;
			continue;
		case 'j':
			a->json = true;
			continue;
		case 'q':
			a->quiet = true;
			continue;
		case 'v':
			a->verbose = true;
			continue;
		case 's':
			slot = &a->since;
			break;
		case 'u':
			slot = &a->until;
			break;
		case 'o':
			slot = &a->older_than;
			break;
		case 'f':
			a->force = true;
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
				warnmsg("%s: unknown option '%s'%s (see "
				    "bootctl %s --help)", v->name,
				    argv[optind - 1], suggest_option(
				    argv[optind - 1], opts, hint, sizeof(hint)),
				    v->name);
			return EXIT_USAGE;
		}
		if (*slot != NULL) {
			for (i = 0; opts[i].name != NULL; i++)
				if (opts[i].val == ch)
					break;
			warnmsg("%s: option --%s given twice", v->name,
			    opts[i].name != NULL ? opts[i].name : "?");
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
 * Run with more privilege than the caller, bootctl connects to
 * PostgreSQL with what the configuration says only: libpq would take
 * the caller's PG* environment variables (another passfile or service
 * file, PGOPTIONS setting search_path or session parameters) for
 * whatever the URI leaves out.  Returns EXIT_OK or EXIT_FAIL.
 */
static int
scrub_pg_environment(void)
{
	extern char **environ;
	char name[64];
	size_t i, len;

	if (getegid() == getgid() && geteuid() == getuid())
		return EXIT_OK;
	for (i = 0; environ[i] != NULL; ) {
		if (strncmp(environ[i], "PG", 2) != 0) {
			i++;
			continue;
		}
		len = strcspn(environ[i], "=");
		if (len >= sizeof(name) || environ[i][len] != '=') {
			warnmsg("a PG environment variable too long to remove");
			return EXIT_FAIL;
		}
		memcpy(name, environ[i], len);
		name[len] = '\0';
		if (unsetenv(name) != 0) {
			warnmsg("unsetenv %s: %s", name, strerror(errno));
			return EXIT_FAIL;
		}
	}
	return EXIT_OK;
}

/*
 * Where this run reads and writes: --db (a path, or a URI, then with
 * target_session_attrs=read-write: bootctl writes, and reads its own
 * writes), else the configuration's "database_write" (for a URI
 * "database", where bootd reads, by default the same URI with
 * read-write; for SQLite the same file).  The events go with the
 * inventory: beside a --db file, in the schema "events" of a --db URI's
 * database, else the configuration's "events_database".  Returns EXIT_OK
 * or EXIT_FAIL.
 */
static int
choose_database(struct ctx *ctx, const char *dbopt)
{
	const struct cfg *cfg = ctx->cfg;

	if (dbopt == NULL || strcmp(dbopt, cfg->database) == 0) {
		ctx->dbpath = strdup(cfg->database_write);
		ctx->evpath = strdup(cfg->events_database);
	} else if (db_is_uri(dbopt)) {
		ctx->dbpath = cfg_uri_set_attrs(dbopt, "read-write");
		ctx->evpath = ctx->dbpath != NULL ? strdup(ctx->dbpath) : NULL;
	} else {
		ctx->dbpath = strdup(dbopt);
		ctx->evpath = ctx->dbpath != NULL ?
		    events_default_path(ctx->dbpath) : NULL;
	}
	if (ctx->dbpath == NULL || ctx->evpath == NULL)
		goto nomem;
	ctx->uri = db_is_uri(ctx->dbpath);
	db_where_print(ctx->dbpath, ctx->dbname, sizeof(ctx->dbname));
	return EXIT_OK;
nomem:
	warnmsg("out of memory");
	return EXIT_FAIL;
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
	enum inv_mode mode = (v->flags & VF_CREATE) ? INV_CREATE :
	    (v->flags & VF_WRITE) ? INV_RDWR : INV_RDONLY;
	struct dbdir dir;
	enum bootd_err rc;

	/*
	 * A server makes no files here: nothing to check, no one to
	 * become.  What the caller may do there is the database role's
	 * business (bootctl(8), DATABASE ROLES).
	 */
	if (ctx->uri) {
		ctx->setid = getegid() != getgid() || geteuid() != getuid();
		return inv_open(ctx->dbpath, mode, &ctx->inv, &ctx->err);
	}
	if ((rc = dbdir_check(ctx->dbpath, &dir, &ctx->err)) != BOOTD_OK)
		return rc;
	if (geteuid() == 0 && dir.uid != 0) {
		if (setgroups(1, &dir.gid) != 0 || setgid(dir.gid) != 0 ||
		    setuid(dir.uid) != 0 || setuid(0) != -1)
			return bootd_error_set(&ctx->err, BOOTD_ESYS,
			    "becoming uid %lu, gid %lu (the owner of the "
			    "database directory): %s", (unsigned long)dir.uid,
			    (unsigned long)dir.gid, strerror(errno));
	} else if (getegid() != getgid() || geteuid() != getuid()) {
		if ((rc = dbdir_check_files(ctx->dbpath, dir.uid, &ctx->err)) !=
		    BOOTD_OK)
			return rc;
		ctx->setid = true;
	}
	ctx->dbuid = dir.uid;
	if ((rc = inv_open(ctx->dbpath, mode, &ctx->inv, &ctx->err)) ==
	    BOOTD_OK)
		inv_cache_mib(ctx->inv, BOOTCTL_CACHE_MIB);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option gopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfgpath = NULL, *dbpath = NULL;
	bool quiet = false, verbose = false;
	char hint[160];
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
	while ((ch = getopt_long(argc, argv, "+:c:hqvV", gopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
		case 'd':
			/* "" would mean the default file: say so instead. */
			if (optarg[0] == '\0') {
				warnmsg("%s: empty file name", ch == 'c' ?
				    "-c" : "--db");
				return EXIT_FAIL;
			}
			if (ch == 'c')
				cfgpath = optarg;
			else
				dbpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("bootctl (bootd) %s\n", BOOTD_VERSION);
			return EXIT_OK;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose = true;
			break;
		case ':':
			warnmsg("option %s needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt != 0)
				warnmsg("unknown option '-%c' (see bootctl "
				    "--help)", optopt);
			else
				warnmsg("unknown option '%s'%s (see bootctl "
				    "--help)", argv[optind - 1],
				    suggest_option(argv[optind - 1], gopts,
				    hint, sizeof(hint)));
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
		suggest_verb(argc, argv, hint, sizeof(hint));
		if (is_noun(argv[0]))
			warnmsg("unknown verb '%s %s'%s (see bootctl --help)",
			    argv[0], argv[1], hint);
		else
			warnmsg("unknown verb '%s'%s (see bootctl --help)",
			    argv[0], hint);
		return EXIT_USAGE;
	}
	ctx.verb = v->name;
	ctx.v = v;
	ctx.now = (int64_t)time(NULL);
	ret = parse_verb_args(v, argc - used + 1, argv + used - 1, &a);
	ctx.quiet = quiet || a.quiet;
	ctx.verbose = (verbose || a.verbose) && !ctx.quiet;
	if (ret == EXIT_OK && (v->flags & VF_SELECT))
		ret = split_hosts(&ctx, &a);
	/* --from - is read before anything is opened or locked. */
	if (ret == EXIT_OK && a.from != NULL)
		ret = from_read(&a);
	if (ret != EXIT_OK || (v->flags & VF_NODB)) {
		if (ret == EXIT_OK)
			ret = v->fn(&ctx, &a);
		from_free(&a);
		free(a.initrds);
		free(a.attrs);
		return ret == -1 ? EXIT_OK : ret;
	}
	/*
	 * A document is read first: as the caller (not with the setgid
	 * group, nor as the service user root becomes to open the
	 * database), and before the inventory is opened, so a bootctl
	 * waiting on its standard input holds nothing.
	 */
	if ((v->flags & VF_INPUT) &&
	    (ret = read_input(a.argv[0], &a.input, &a.input_len)) != EXIT_OK) {
		free(a.initrds);
		free(a.attrs);
		return ret;
	}

	if ((ret = drop_privilege_if_overridden(cfgpath, dbpath)) != EXIT_OK ||
	    (ret = scrub_pg_environment()) != EXIT_OK)
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
	if ((ret = choose_database(&ctx, dbpath)) != EXIT_OK)
		goto out;
	if ((rc = open_inventory(&ctx, v)) != BOOTD_OK) {
		ret = fail(&ctx, rc);
		if (v->fn == verb_render)
			render_failsafe(&ctx, &a);	/* what bootd serves */
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
	free(ctx.dbpath);
	cfg_free(ctx.cfg);
	free(ctx.groups);
	free(ctx.authz_group);
	from_free(&a);
	free(a.initrds);
	free(a.attrs);
	free(a.input);
	return ret;
}
