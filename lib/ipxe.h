/*
 * ipxe.h - render the iPXE script a machine runs
 *
 * Pure: no I/O.  The daemon, `bootctl render` and the tests all use it, so
 * what bootctl prints is what bootd serves.  Output is deterministic: the
 * same inventory state and configuration give byte-identical scripts.
 * The one state kept is a small cache of what each template text gives
 * with neutral values (ipxe.c, struct ipxe_shape), keyed by the whole
 * text, for this process: a render at a time (bootd's workers are
 * processes, bootctl is one), never from two threads at once.
 *
 * iPXE has no quoting (core/exec.c): a line splits at whitespace, a token
 * starting with '#' starts a comment, "||" "&&" ";" chain commands, "${"
 * expands settings (repeatedly), a trailing '\' joins lines, CR/LF end a
 * line.  Every value from the inventory passes through one checking
 * function per placement (ipxe_check_*) at render time; a value that could
 * change the script's structure makes the render fail with BOOTD_ERENDER,
 * and the caller serves ipxe_render_failsafe() instead.
 */
#ifndef BOOTD_IPXE_H
#define BOOTD_IPXE_H

#include <stdint.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "inv.h"

/*
 * The script for a known host: a menu titled with the FQDN whose default
 * is "Install DIST" when b->dist is set, else local boot.  mac is the
 * canonical MAC the request came with.  Appends to out (which the caller
 * resets); on failure out holds no partial script worth serving.
 * A manual entry (b->manual) that cannot be rendered for this host, say a
 * template naming an attribute it does not have, is left out of the menu
 * and the rest is served: then, on BOOTD_OK, err->text says how many were
 * left out and why the first was (to be logged); else it is "".
 */
enum bootd_err	 ipxe_render_host(const struct cfg *cfg,
		    const struct inv_boot *b, const char *mac, struct buf *out,
		    struct bootd_error *err);

/* The script for an unknown MAC (cfg menu.unknown decides the default). */
enum bootd_err	 ipxe_render_unknown(const struct cfg *cfg, const char *mac,
		    struct buf *out, struct bootd_error *err);

/*
 * The fail-safe script: always local boot, never an installer, with an
 * echo of reason (reduced to safe characters).  cfg may be NULL.  This
 * function can't fail, except on allocation (see buf_failed()).
 */
void		 ipxe_render_failsafe(const struct cfg *cfg, const char *reason,
		    struct buf *out);

/*
 * The checks behind the renderer, one per placement of a value in a
 * script (exported for the tests and for callers that want to refuse a
 * value early).  Each returns BOOTD_OK or BOOTD_ERENDER with a reason
 * that names what (e.g. "FQDN") and shows the value with control
 * characters escaped.
 *
 * ipxe_check_value:   a value substituted into a template: printable
 *                     ASCII without space, no "${"; may be empty.
 * ipxe_check_arg:     exactly one argument: printable ASCII without
 *                     space, no "${", not starting with '#' or '-', not
 *                     "||" "&&" ";", no trailing '\'; not empty.
 * ipxe_check_url:     as ipxe_check_arg, "${" allowed (templates carry
 *                     iPXE settings), http:// https:// or tftp://.
 * ipxe_check_cmdline: several arguments separated by spaces: printable
 *                     ASCII and space, no argument starting with '#',
 *                     no "||" "&&" ";" argument, no trailing '\';
 *                     "${" allowed; may be empty.
 */
enum bootd_err	 ipxe_check_value(const char *what, const char *s,
		    struct bootd_error *err);
enum bootd_err	 ipxe_check_arg(const char *what, const char *s,
		    struct bootd_error *err);
enum bootd_err	 ipxe_check_url(const char *what, const char *s,
		    struct bootd_error *err);
enum bootd_err	 ipxe_check_cmdline(const char *what, const char *s,
		    struct bootd_error *err);

/*
 * Append s to out reduced to text that is safe anywhere after the first
 * word of an echo, menu or item line: letters, digits, single spaces and
 * punctuation without meaning to iPXE; anything else becomes '?'; at most
 * 200 characters.  s may be NULL.  This function can't fail, except on
 * allocation (see buf_failed()).
 */
void		 ipxe_text(const char *s, struct buf *out);

#endif /* BOOTD_IPXE_H */
