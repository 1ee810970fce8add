/*
 * ipxe_check.h - read a script the way iPXE does, for the tests
 *
 * A small model of iPXE's script reader (image/script.c process_script)
 * and command splitter (core/exec.c split_command, command_terminator):
 * lines end at '\n', one '\r' before it is dropped, a trailing '\' joins
 * the next line, an optional ":label" starts a line, arguments split at
 * whitespace (space \t \n \v \f \r), an argument starting with '#' starts
 * a comment, and "||" "&&" ";" arguments end a command.  Settings "${"
 * are left as they are (iPXE expands them after splitting).
 *
 * The result is a "shape": one text line per script line with its label
 * and commands, so that tests can compare the structure of two scripts
 * and list the commands and settings a script can reach, and the commands
 * that would keep a machine nobody attends waiting for a key for ever.
 */
#ifndef BOOTD_IPXE_CHECK_H
#define BOOTD_IPXE_CHECK_H

#include <stddef.h>

#include "buf.h"

struct ic_script {
	int		magic;		/* first line is "#!ipxe" */
	int		dangling;	/* ends inside a '\' continuation */
	size_t		nlines;		/* lines after joining */
	size_t		ncommands;	/* non-empty commands */
	struct buf	shape;		/* one line per line with a command
					 * or a label */
	struct buf	commands;	/* command names, one per line */
	struct buf	settings;	/* each "${...}", one per line */
	struct buf	labels;		/* each ":label", one per line */
	struct buf	waits;		/* each command that can wait for a
					 * key for ever, one per line: a
					 * shell not right after "prompt
					 * --timeout N ... &&" (N > 0), a
					 * prompt or choose without such a
					 * timeout */
};

/*
 * Read script into s (zeroed by the call).  The shape of a line is its label
 * (":name "), then its commands joined by their terminators; a command is
 * its name, then its arguments: verbatim for commands whose arguments are
 * all fixed text (goto, iseq, sanboot...), else its options as iPXE's getopt
 * sees them (arguments starting with '-' before the first other argument or
 * "--"; an option's own argument shows as "<arg>") plus "<N>" for the number
 * of other arguments (kernel, initrd, chain, menu, item, echo; item also
 * keeps its label).  An empty command (after a trailing "||") shows as "()".
 * Returns 0, or -1 on allocation failure.  Free with ic_free().
 */
int		 ic_parse(const char *script, struct ic_script *s);
void		 ic_free(struct ic_script *s);

/*
 * The first command of s neither in the list of commands a bootd script
 * may use nor in extra (a NULL-terminated list, or NULL), or NULL when
 * all are allowed.  Points into a static buffer.
 */
const char	*ic_unknown_command(const struct ic_script *s,
		    const char *const *extra);

/*
 * The first "${...}" of s that is not in allowed (a NULL-terminated list
 * of "${name}" strings), or NULL.  Points into a static buffer.
 */
const char	*ic_unknown_setting(const struct ic_script *s,
		    const char *const *allowed);

/* Number of lines of text equal to line in list (a "\n"-separated list). */
size_t		 ic_count(const struct buf *list, const char *line);

#endif /* BOOTD_IPXE_CHECK_H */
