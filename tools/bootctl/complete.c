/*
 * complete.c - what bash completion asks bootctl: the hidden verbs
 * "__complete" and "__names"
 *
 * tools/completion/bootctl completes from these, so the words it offers
 * are always those of the binary that runs:
 *
 *   bootctl __complete verbs           nouns and one-word verbs
 *   bootctl __complete nouns           the nouns (words with verbs after)
 *   bootctl __complete verbs NOUN      the verbs of NOUN
 *   bootctl __complete options VERB... the long options of a verb
 *   bootctl __names hosts [PREFIX]     FQDNs starting with PREFIX (one
 *                                      range of the FQDN index: fast on
 *                                      any number of hosts)
 *   bootctl __names envs|dists         environment or distribution names
 *
 * They print one word a line and nothing else; __names reads the
 * inventory read-only, as any read verb does.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"

/* The verb named by words argv[0] (and argv[1]), or NULL. */
static const struct verb *
complete_find(int argc, char **argv)
{
	const struct verb *v;
	char name[64];
	size_t i, n;

	snprintf(name, sizeof(name), "%s%s%s", argv[0], argc > 1 ? " " : "",
	    argc > 1 ? argv[1] : "");
	v = verb_table(&n);
	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

int
verb_complete(struct ctx *ctx, struct args *a)
{
	struct option opts[VERB_NOPTS];
	const struct verb *v;
	size_t i, n, len;
	const char *sp;

	v = verb_table(&n);
	if (strcmp(a->argv[0], "verbs") == 0 && a->argc == 1) {
		for (i = 0; i < n; i++) {
			if (v[i].flags & VF_HIDDEN)
				continue;
			/* A noun once, at its first verb. */
			if ((sp = strchr(v[i].name, ' ')) == NULL)
				printf("%s\n", v[i].name);
			else if (i == 0 || strncmp(v[i - 1].name, v[i].name,
			    (size_t)(sp - v[i].name) + 1) != 0)
				printf("%.*s\n", (int)(sp - v[i].name),
				    v[i].name);
		}
		return EXIT_OK;
	}
	if (strcmp(a->argv[0], "nouns") == 0 && a->argc == 1) {
		for (i = 0; i < n; i++)
			if ((sp = strchr(v[i].name, ' ')) != NULL && (i == 0 ||
			    strncmp(v[i - 1].name, v[i].name,
			    (size_t)(sp - v[i].name) + 1) != 0))
				printf("%.*s\n", (int)(sp - v[i].name),
				    v[i].name);
		return EXIT_OK;
	}
	if (strcmp(a->argv[0], "verbs") == 0 && a->argc == 2) {
		len = strlen(a->argv[1]);
		for (i = 0; i < n; i++)
			if (strncmp(v[i].name, a->argv[1], len) == 0 &&
			    v[i].name[len] == ' ')
				printf("%s\n", v[i].name + len + 1);
		return EXIT_OK;
	}
	if (strcmp(a->argv[0], "options") == 0 && a->argc >= 2 &&
	    a->argc <= 3) {
		if ((v = complete_find(a->argc - 1, a->argv + 1)) == NULL)
			return EXIT_FAIL;
		verb_options(v, opts);
		for (i = 0; opts[i].name != NULL; i++)
			printf("--%s\n", opts[i].name);
		return EXIT_OK;
	}
	warnmsg("__complete: expected verbs [NOUN], nouns or options "
	    "VERB");
	return EXIT_USAGE;
}

static int
name_cb(const char *name, void *arg)
{
	printf("%s\n", name);
	return ferror(stdout);
}

static int
env_name_cb(const struct inv_env *e, void *arg)
{
	return name_cb(e->name, arg);
}

static int
dist_name_cb(const struct inv_dist *d, void *arg)
{
	return name_cb(d->name, arg);
}

int
verb_names(struct ctx *ctx, struct args *a)
{
	const char *prefix = a->argc > 1 ? a->argv[1] : "";
	enum bootd_err rc;

	if (strcmp(a->argv[0], "hosts") == 0)
		rc = inv_host_names(ctx->inv, prefix, name_cb, NULL,
		    &ctx->err);
	else if (strcmp(a->argv[0], "envs") == 0)
		rc = inv_env_each(ctx->inv, env_name_cb, NULL, &ctx->err);
	else if (strcmp(a->argv[0], "dists") == 0)
		rc = inv_dist_each(ctx->inv, dist_name_cb, NULL, &ctx->err);
	else {
		warnmsg("__names: expected hosts, envs or dists");
		return EXIT_USAGE;
	}
	return rc == BOOTD_OK ? EXIT_OK : fail(ctx, rc);
}
