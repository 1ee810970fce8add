/*
 * xfer.h - the inventory as one JSON document: export, parse, validate,
 * and the changes an import makes
 *
 * The document ("bootd-inventory", version XFER_VERSION) holds what
 * operators decide and nothing the boot network reported: environments
 * with their groups, distributions, hosts with NICs, attributes, action
 * and distribution.  No tokens, events or audit rows.  Everything is
 * sorted by name (hosts by FQDN, MACs, attribute keys), and xfer_dump()
 * writes one element per line, so identical inventories give identical
 * bytes and a diff of two exports reads as a list of changed objects.
 *
 *   {"format": "bootd-inventory", "version": 1,
 *    "environments": [
 *     {"name": "default", "group": ""},
 *     {"name": "lab", "group": "lab"}
 *    ],
 *    "distributions": [
 *     {"name": "debian-12", "kernel": "http://...", "initrds": ["..."],
 *      "cmdline": "..."}
 *    ],
 *    "hosts": [
 *     {"fqdn": "web1.example.org", "environment": "lab",
 *      "action": "local", "distribution": "debian-12",
 *      "macs": ["52:54:00:00:00:01"], "attributes": {"role": "web"}}
 *    ]}
 *
 * Parsing (xfer_parse()) and checking against an inventory
 * (xfer_check()) never stop at the first problem: every problem is added
 * to a struct xfer_problems with the JSON path of the value
 * ("hosts[17].macs[1]") and one line of text, so an operator fixes a
 * document in one pass.  Both are pure (no I/O), which is what lets
 * fuzz/fuzz_import.c run them on any bytes.  xfer_plan() lists, in the
 * order they must be applied, the changes that turn an inventory into
 * what the document says; the caller applies them through the inv_
 * functions, each with its audit row, in one transaction.
 *
 * Strings in these structs are owned by their struct and freed with it.
 */
#ifndef BOOTD_XFER_H
#define BOOTD_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "inv.h"

#define XFER_FORMAT	"bootd-inventory"
#define XFER_VERSION	1		/* the version this binary writes */
#define XFER_MAX_BYTES	(512L * 1024 * 1024)	/* largest document read */

struct xfer_problem {
	char	*path;		/* "hosts[17].macs[1]"; "" for the document */
	char	*text;		/* one line, no trailing period */
};

struct xfer_problems {
	struct xfer_problem	*v;
	size_t			 n;
	size_t			 cap;
	int			 nomem;	/* a problem could not be stored */
};

/*
 * One inventory as a document holds it, sorted.  The has_* flags say
 * which sections a parsed document has: import --replace replaces only
 * those (a document of hosts alone leaves distributions alone).
 */
struct xfer_doc {
	struct inv_env	 *envs;		/* sorted by name */
	size_t		  nenvs;
	struct inv_dist	 *dists;	/* sorted by name */
	size_t		  ndists;
	struct inv_host	 *hosts;	/* sorted by FQDN; token unused */
	size_t		  nhosts;
	int		  has_envs, has_dists, has_hosts;
	/* Parsed documents: the index of each element in the document, so
	 * that a problem found after sorting names the right path. */
	size_t		 *env_pos, *dist_pos, *host_pos;
};

/* Problems ------------------------------------------------------------ */

/* Add a problem at path, bytes that are not printable ASCII written as
 * \xNN so it stays one line; out of memory sets p->nomem.  Can't fail. */
void		 xfer_problem(struct xfer_problems *p, const char *path,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Release the problems and empty p.  Accepts an empty p. */
void		 xfer_problems_free(struct xfer_problems *p);

/* Documents ----------------------------------------------------------- */

/* Free doc and everything in it.  Accepts NULL. */
void		 xfer_doc_free(struct xfer_doc *doc);

/*
 * Read the inventory into a new document (*out, freed with
 * xfer_doc_free()): every environment, distribution and host; with env
 * not NULL, that environment alone, its hosts, and the distributions
 * they name, so the document stands on its own.  Tokens are left out.
 * BOOTD_ENOTFOUND for an unknown env.
 */
enum bootd_err	 xfer_from_inv(struct inv *inv, const char *env,
		    struct xfer_doc **out, struct bootd_error *err);

/*
 * Write doc as the JSON document described above into b, ending in a
 * newline.  BOOTD_ENOMEM when b cannot grow.
 */
enum bootd_err	 xfer_dump(const struct xfer_doc *doc, struct buf *b,
		    struct bootd_error *err);

/*
 * Parse and validate the len bytes of text (need not be NUL-terminated)
 * as a document: JSON syntax (Jansson's line and column), the format and
 * its version (a newer one is refused alone: its fields may mean
 * something else), types, unknown and missing keys, every value through
 * the inventory's validators (valid.h, mac.h), duplicate names, FQDNs
 * and MACs within the document.  Every problem found is added to probs.
 * On BOOTD_OK *out is the document (names lowercased and MACs canonical
 * as the inventory stores them).  On BOOTD_EINVAL problems were added,
 * and *out is what could be read, for xfer_check() to find the rest
 * (elements without a usable name are left out, and values that were
 * refused are NULL or missing), or NULL when there is no document
 * (syntax, or a newer version); never apply it.  The caller frees *out
 * with xfer_doc_free() in both cases.  BOOTD_ENOMEM when memory ran
 * out (*out NULL).
 */
enum bootd_err	 xfer_parse(const char *text, size_t len,
		    struct xfer_doc **out, struct xfer_problems *probs);

/* How an import applies a document. */
struct xfer_opts {
	int		 replace;	/* remove what the document lacks */
	int		 admin;		/* may change environments and
					 * distributions; --replace removes
					 * those only for admins */
	const char	*env;		/* NULL, or --replace removes only
					 * hosts of this environment (no
					 * environment or distribution) and
					 * the document may hold no others */
};

/*
 * Check doc against the inventory cur (as xfer_from_inv() read it)
 * under opts, adding every problem to probs: environments and
 * distributions that neither the document nor what stays of the
 * inventory has, MACs that belong to a host the import leaves as it is,
 * distributions or environments --replace would remove while hosts that
 * stay use them.  Returns the number of problems added.  Can't fail
 * (out of memory shows as probs->nomem).
 */
size_t		 xfer_check(const struct xfer_doc *cur,
		    const struct xfer_doc *doc, const struct xfer_opts *opts,
		    struct xfer_problems *probs);

/*
 * One change of an import.  xfer_plan() orders them: environments and
 * distributions added or changed, hosts removed, NICs of hosts that stay
 * added and removed (interleaved so that a MAC is free when it is added
 * and a host never loses its last NIC), hosts added, each host's other
 * changes in the order below, distributions and environments removed.
 */
enum xfer_op {
	XFER_ENV_ADD,		/* doc env */
	XFER_ENV_SET_GROUP,	/* doc env */
	XFER_DIST_ADD,		/* doc dist */
	XFER_DIST_UPDATE,	/* doc dist */
	XFER_NIC_ADD,		/* doc host gets mac */
	XFER_HOST_REMOVE,	/* cur host */
	XFER_NIC_REMOVE,	/* doc host loses mac */
	XFER_HOST_ADD,		/* doc host, with its MACs, environment,
				 * distribution and attributes
				 * (inv_host_import()) */
	XFER_HOST_SET_ENV,	/* doc host */
	XFER_ATTR_SET,		/* doc host, key, value */
	XFER_SET_LOCAL,		/* doc host */
	XFER_HOST_SET_DIST,	/* doc host */
	XFER_SET_REINSTALL,	/* doc host: a fresh token */
	XFER_ATTR_UNSET,	/* doc host (an attribute only its current row has), key */
	XFER_DIST_REMOVE,	/* cur dist */
	XFER_ENV_REMOVE,	/* cur env */
	XFER_OP__MAX
};

struct xfer_change {
	enum xfer_op	 op;
	size_t		 idx;		/* into doc (or cur for removals) */
	const char	*name;		/* FQDN or name changed (borrowed) */
	const char	*env;		/* the host's environment before the
					 * change, NULL for a new host */
	const char	*new_env;	/* its environment after, or NULL */
	const char	*key;		/* MAC or attribute key, or NULL */
	const char	*value;		/* attribute value, or NULL */
};

struct xfer_plan {
	struct xfer_change	*v;
	size_t			 n;
	size_t			 cap;
};

/*
 * The changes that make cur what doc says under opts, in order (see enum
 * xfer_op), into plan (release with xfer_plan_free()).  A host marked
 * install in the document that is already marked install keeps its
 * token; one that is not gets a fresh token (XFER_SET_REINSTALL).
 * Strings are borrowed from cur and doc.  doc must have passed
 * xfer_check().  BOOTD_ENOMEM when memory ran out.
 */
enum bootd_err	 xfer_plan(const struct xfer_doc *cur,
		    const struct xfer_doc *doc, const struct xfer_opts *opts,
		    struct xfer_plan *plan, struct bootd_error *err);
void		 xfer_plan_free(struct xfer_plan *plan);

/* "add host", "set attribute"... for messages.  Can't fail. */
const char	*xfer_op_name(enum xfer_op op);

/* The JSON path of a doc element for messages: "hosts[17]".  out holds
 * at least 48 bytes.  Can't fail. */
char		*xfer_path(const struct xfer_doc *doc, enum xfer_op op,
		    size_t idx, char *out, size_t size);

#endif /* BOOTD_XFER_H */
