/*
 * tmpl.h - {{variable}} templates for distribution URLs and command lines
 *
 * Variables: {{fqdn}} {{hostname}} {{domain}} {{mac}} {{env}} {{dist}}
 * {{token}} {{base_url}} {{attr.KEY}}.  Anything else inside {{ }} is an
 * error.  iPXE's own ${...} settings pass through untouched.
 */
#ifndef BOOTD_TMPL_H
#define BOOTD_TMPL_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "inv.h"

struct tmpl_vars {
	const char		*fqdn;
	const char		*mac;		/* canonical */
	const char		*env;
	const char		*dist;
	const char		*token;		/* "" when there is none */
	const char		*base_url;
	const struct inv_kv	*attrs;		/* sorted by key */
	size_t			 nattrs;
};

/* Check syntax and variable names.  BOOTD_EINVAL names the problem. */
enum bootd_err	 tmpl_check(const char *tmpl, struct bootd_error *err);

/*
 * Call fn(key, arg) for every {{attr.KEY}} in tmpl (key is NUL-terminated,
 * borrowed for the call).  A non-zero return from fn stops and is returned
 * as BOOTD_EINVAL.  tmpl must pass tmpl_check().
 */
enum bootd_err	 tmpl_each_attr(const char *tmpl,
		    int (*fn)(const char *key, void *arg), void *arg,
		    struct bootd_error *err);

/*
 * Append tmpl with variables substituted to out.  A missing attribute is
 * BOOTD_EINVAL naming it.  Values are copied as they are: the caller
 * checks the result for its placement.
 */
enum bootd_err	 tmpl_render(const char *tmpl, const struct tmpl_vars *vars,
		    struct buf *out, struct bootd_error *err);

#endif /* BOOTD_TMPL_H */
