/*
 * ipxe_check.c - read a script the way iPXE does, for the tests
 *
 * Follows iPXE's image/script.c (process_script) and core/exec.c
 * (split_command, command_terminator); see ipxe_check.h.
 */
#include <stdlib.h>
#include <string.h>

#include "ipxe_check.h"

/* Commands a bootd script may contain. */
static const char *const ic_allowed[] = {
	"menu", "item", "choose", "goto", "kernel", "initrd", "imgfetch",
	"boot", "sanboot", "exit", "chain", "shell", "echo", "sleep", "iseq",
	"isset", "set", NULL
};

/* Commands whose arguments may carry values: shown as counts. */
static const char *const ic_valued[] = {
	"kernel", "initrd", "imgfetch", "chain", "menu", "item", "echo",
	"prompt", NULL
};

/* Options of those commands that take an argument. */
static const char *const ic_optarg[] = {
	"--name", "-n", "--timeout", "-t", "--menu", "-m", "--key", "-k", NULL
};

/* Options of choose and prompt taking an argument (dynui_cmd.c, script.c). */
static const char *const ic_keyopt[] = {
	"--timeout", "-t", "--key", "-k", "--default", "-d", "--retimeout",
	"-r", "--menu", "-m", NULL
};

/* isspace() of iPXE's core/ctype.c */
static int
ic_space(int c)
{
	return c == ' ' || c == '\f' || c == '\n' || c == '\r' ||
	    c == '\t' || c == '\v';
}

static int
ic_in(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* Record every "${..." of token tok. */
static void
ic_settings(struct ic_script *s, const char *tok)
{
	const char *p, *end;

	for (p = tok; (p = strstr(p, "${")) != NULL; p += 2) {
		end = strchr(p, '}');
		if (end == NULL)
			end = p + strlen(p) - 1;
		buf_append(&s->settings, p, (size_t)(end - p + 1));
		buf_puts(&s->settings, "\n");
	}
}

/*
 * The timeout of choose or prompt argv[0..argc), in milliseconds as iPXE
 * reads it (parse_timeout(): an integer, "0x" for hex), or 0 when it has
 * none, a zero one or one that is not a plain number (a setting, say).
 * Options end at the first other argument or "--", as iPXE's getopt.
 */
static unsigned long
ic_timeout(char **argv, size_t argc)
{
	const char *v;
	char *end;
	unsigned long ms;
	size_t i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		v = NULL;
		if (strncmp(argv[i], "--timeout=", 10) == 0)
			v = argv[i] + 10;
		else if (strcmp(argv[i], "--timeout") == 0 ||
		    strcmp(argv[i], "-t") == 0)
			v = i + 1 < argc ? argv[++i] : NULL;
		else if (ic_in(ic_keyopt, argv[i]))
			i++;
		if (v == NULL)
			continue;
		if (*v < '0' || *v > '9')
			return 0;
		ms = strtoul(v, &end, 0);
		return *end == '\0' ? ms : 0;
	}
	return 0;
}

/*
 * One command: argv[0..argc); after is non-zero after a terminator, and
 * guarded when that terminator is "&&" after a prompt with a timeout.
 * Returns non-zero when the command is such a prompt.
 */
static int
ic_command(struct ic_script *s, char **argv, size_t argc, int after,
    int guarded)
{
	size_t i, n;
	int valued, item, positional, options;

	if (argc == 0) {
		if (after)
			buf_puts(&s->shape, "()");
		return 0;
	}
	s->ncommands++;
	/* Waits for a key for ever: see ic_script.waits. */
	if ((strcmp(argv[0], "shell") == 0 && !guarded) ||
	    ((strcmp(argv[0], "prompt") == 0 ||
	    strcmp(argv[0], "choose") == 0) && ic_timeout(argv, argc) == 0))
		buf_printf(&s->waits, "%s\n", argv[0]);
	buf_puts(&s->commands, argv[0]);
	buf_puts(&s->commands, "\n");
	ic_settings(s, argv[0]);
	buf_puts(&s->shape, argv[0]);
	valued = ic_in(ic_valued, argv[0]);
	item = strcmp(argv[0], "item") == 0;
	options = 1;
	positional = 0;
	n = 0;
	for (i = 1; i < argc; i++) {
		ic_settings(s, argv[i]);
		if (!valued) {
			buf_puts(&s->shape, " ");
			buf_puts(&s->shape, argv[i]);
			continue;
		}
		/* getopt: options until the first other argument or "--". */
		if (options && argv[i][0] == '-') {
			buf_puts(&s->shape, " ");
			buf_puts(&s->shape, argv[i]);
			if (strcmp(argv[i], "--") == 0)
				options = 0;
			else if (ic_in(ic_optarg, argv[i]) && i + 1 < argc) {
				ic_settings(s, argv[++i]);
				buf_puts(&s->shape, " <arg>");
			}
			continue;
		}
		options = 0;
		if (item && !positional) {
			/* An item's label (or a gap's first word). */
			buf_puts(&s->shape, " ");
			buf_puts(&s->shape, argv[i]);
			positional = 1;
			continue;
		}
		positional = 1;
		n++;
	}
	if (valued)
		buf_printf(&s->shape, " <%zu>", n);
	return strcmp(argv[0], "prompt") == 0 && ic_timeout(argv, argc) > 0;
}

/* One line, label already removed. */
static int
ic_line(struct ic_script *s, char *cmd)
{
	char **tok = NULL, **ntok;
	size_t ntoks = 0, i, start;
	int timed = 0;
	char *p;

	for (p = cmd; ; ) {
		while (ic_space((unsigned char)*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if ((ntok = realloc(tok, (ntoks + 1) * sizeof(*tok))) == NULL) {
			free(tok);
			return -1;
		}
		tok = ntok;
		tok[ntoks++] = p;
		while (*p != '\0' && !ic_space((unsigned char)*p))
			p++;
	}
	start = 0;
	for (i = 0; i <= ntoks; i++) {
		if (i == ntoks || tok[i][0] == '#') {
			/* End of line or comment: the rest is ignored.  An
			 * empty line has no token array at all. */
			ic_command(s, tok != NULL ? tok + start : NULL,
			    i - start, start > 0, timed && start > 0 &&
			    strcmp(tok[start - 1], "&&") == 0);
			break;
		}
		if (strcmp(tok[i], "||") == 0 || strcmp(tok[i], "&&") == 0 ||
		    strcmp(tok[i], ";") == 0) {
			timed = ic_command(s, tok + start, i - start, start > 0,
			    timed && start > 0 &&
			    strcmp(tok[start - 1], "&&") == 0);
			buf_printf(&s->shape, " %s ", tok[i]);
			start = i + 1;
		}
	}
	free(tok);
	return 0;
}

int
ic_parse(const char *script, struct ic_script *s)
{
	struct buf line = { 0 };
	const char *p, *eol;
	char *l, *cmd, *label;
	size_t flen, mark;

	memset(s, 0, sizeof(*s));
	s->magic = strncmp(script, "#!ipxe", 6) == 0 &&
	    ic_space((unsigned char)script[6]);
	p = script;
	while (*p != '\0') {
		eol = strchr(p, '\n');
		flen = eol != NULL ? (size_t)(eol - p) : strlen(p);
		buf_append(&line, p, flen);
		p += flen + (eol != NULL);
		if (line.len > 0 && line.data[line.len - 1] == '\r')
			line.data[--line.len] = '\0';
		if (line.len > 0 && line.data[line.len - 1] == '\\') {
			line.data[--line.len] = '\0';
			if (*p == '\0')
				s->dangling = 1;	/* iPXE drops it */
			continue;
		}
		s->nlines++;
		if ((l = strdup(buf_str(&line))) == NULL)
			goto fail;
		buf_reset(&line);
		cmd = l;
		while (ic_space((unsigned char)*cmd))
			cmd++;
		label = NULL;
		if (*cmd == ':') {
			label = ++cmd;
			while (*cmd != '\0' && !ic_space((unsigned char)*cmd))
				cmd++;
			if (*cmd != '\0')
				*cmd++ = '\0';
		}
		mark = s->shape.len;
		if (label != NULL) {
			buf_printf(&s->shape, ":%s", label);
			buf_printf(&s->labels, "%s\n", label);
		}
		if (label != NULL)
			buf_puts(&s->shape, " ");
		if (ic_line(s, cmd) == -1) {
			free(l);
			goto fail;
		}
		/* Drop the blank after a lone label. */
		if (label != NULL && s->shape.len > 0 &&
		    s->shape.data[s->shape.len - 1] == ' ')
			s->shape.data[--s->shape.len] = '\0';
		/* Lines that do nothing ("#" comments, blanks) have no shape. */
		if (s->shape.len > mark)
			buf_puts(&s->shape, "\n");
		free(l);
	}
	buf_free(&line);
	if (buf_failed(&s->shape) || buf_failed(&s->commands) ||
	    buf_failed(&s->settings) || buf_failed(&s->labels) ||
	    buf_failed(&s->waits))
		return -1;
	return 0;
fail:
	buf_free(&line);
	return -1;
}

void
ic_free(struct ic_script *s)
{
	buf_free(&s->shape);
	buf_free(&s->commands);
	buf_free(&s->settings);
	buf_free(&s->labels);
	buf_free(&s->waits);
}

/*
 * The first line of list (a "\n"-separated list) in neither allowed nor
 * also (which may be NULL), or NULL.  Points into a static buffer.
 */
static const char *
ic_first_not_in(const struct buf *list, const char *const *allowed,
    const char *const *also)
{
	static char name[256];
	const char *p, *nl;
	size_t len;

	for (p = buf_str(list); *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		len = (size_t)(nl - p);
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, p, len);
		name[len] = '\0';
		if (!ic_in(allowed, name) && (also == NULL || !ic_in(also, name)))
			return name;
	}
	return NULL;
}

const char *
ic_unknown_command(const struct ic_script *s, const char *const *extra)
{
	return ic_first_not_in(&s->commands, ic_allowed, extra);
}

const char *
ic_unknown_setting(const struct ic_script *s, const char *const *allowed)
{
	return ic_first_not_in(&s->settings, allowed, NULL);
}

size_t
ic_count(const struct buf *list, const char *line)
{
	const char *p, *nl;
	size_t n, len;

	n = 0;
	len = strlen(line);
	for (p = buf_str(list); *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		if ((size_t)(nl - p) == len && memcmp(p, line, len) == 0)
			n++;
	}
	return n;
}
