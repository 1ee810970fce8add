/*
 * route.c - request routing and the handlers of /ipxe/v1/
 *
 *   GET      config?mac=MAC&...   the iPXE script for a machine
 *   GET/POST done?token=T         an installer reports completion
 *   GET      health               database reachable (PostgreSQL: for
 *                                 writes too, else "degraded"), schema
 *                                 version
 *   GET      metrics              Prometheus text exposition
 *
 * A boot is recorded by handing its event to the recorder process
 * (recorder.c) just before the answer is finished: one non-blocking send,
 * so a machine never waits on the database, and whoever has read the
 * answer finds the event handed over even if this worker dies right
 * after.  For an install script, the recorder notes on the host's token
 * the client address that fetched it, from that event.  Whatever fails
 * inside, a config request gets a script that boots the local disk
 * (ipxe_render_failsafe()).
 *
 * A done names its token, and nothing a PXE client has proves who it is:
 * whoever fetched the install script could send it.  So each done is
 * compared with the address that fetched the script (logged, counted and
 * audited when they differ; refused with 403 when
 * daemon.done_requires_fetch_address is set), and failed dones are
 * rate-limited per address (429, ratelimit.c) before the inventory is
 * touched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bootd.h"
#include "db.h"
#include "ipxe.h"
#include "mac.h"

#define ROUTE_PREFIX	"/ipxe/v1/"
#define FORM_MAX	1024	/* longest done form body read */
/*
 * Retry-After of a done answered 503: the inventory cannot take the write
 * now (busy, or no PostgreSQL primary until one is promoted).
 */
#define DONE_RETRY_AFTER 10
#define CT_TEXT		"text/plain; charset=utf-8"
#define CT_METRICS	"text/plain; version=0.0.4; charset=utf-8"

/* Per-request state; lives on the stack of route_handle(). */
struct rq {
	enum metrics_route route;
	int		 status;
	const char	*ctype;		/* Content-Type */
	const char	*allow;		/* Allow: for a 405, else NULL */
	int		 retry_after;	/* Retry-After: seconds, 0 = none */
	char		 reason[200];	/* one-line reason for an error */
	char		 method[16];	/* REQUEST_METHOD (copied) */
	char		 addr[INV_ADDR_MAX + 1]; /* REMOTE_ADDR, canonical;
					 * "" when missing or not an address */
	struct query	 q;		/* decoded parameters */
	/* config only */
	int		 script;	/* a script was served */
	enum metrics_action action;
	int		 record;	/* hand a boot event to the recorder */
	char		 mac[MAC_STRLEN + 1];
	char		 host[256];	/* FQDN, "" when unknown */
};

static const char *const served_names[METRICS_ACTION__MAX] = {
	[METRICS_ACTION_INSTALL] = "install",
	[METRICS_ACTION_LOCAL] = "local",
	[METRICS_ACTION_UNKNOWN] = "unknown",
	[METRICS_ACTION_FAILSAFE] = "failsafe",
};

static void	handle_config(struct worker *, FCGX_Request *, struct rq *);
static void	handle_done(struct worker *, FCGX_Request *, struct rq *);
static void	handle_health(struct worker *, FCGX_Request *, struct rq *);
static void	handle_metrics(struct worker *, FCGX_Request *, struct rq *);

static const struct route {
	const char	*name;		/* after ROUTE_PREFIX */
	enum metrics_route id;
	const char	*allow;		/* methods, as in the Allow: header */
	void		(*handle)(struct worker *, FCGX_Request *, struct rq *);
} routes[] = {
	/* HEAD answers as GET without a body; it is no boot, and a HEAD
	 * must never consume an install token. */
	{ "config", METRICS_ROUTE_CONFIG, "GET, HEAD", handle_config },
	{ "done", METRICS_ROUTE_DONE, "GET, POST", handle_done },
	{ "health", METRICS_ROUTE_HEALTH, "GET, HEAD", handle_health },
	{ "metrics", METRICS_ROUTE_METRICS, "GET, HEAD", handle_metrics },
};

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static const char *
param(FCGX_Request *req, const char *name)
{
	const char *v = FCGX_GetParam(name, req->envp);

	return v != NULL ? v : "";
}

/* Copy s into dst (n bytes), keeping printable ASCII only. */
static void
copy_printable(char *dst, size_t n, const char *s)
{
	size_t i = 0;

	for (; *s != '\0' && i + 1 < n; s++)
		dst[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	dst[i] = '\0';
}

static void
set_reason(struct rq *r, const char *s)
{
	copy_printable(r->reason, sizeof(r->reason), s);
}

/* Is s an install token in the only form bootd issues? */
static int
token_wellformed(const char *s)
{
	return strlen(s) == INV_TOKEN_LEN &&
	    strspn(s, "0123456789abcdef") == INV_TOKEN_LEN;
}

/* Mask every occurrence of token in text, so it is never logged. */
static void
mask_token(char *text, const char *token)
{
	char *p;

	if (*token == '\0')
		return;
	while ((p = strstr(text, token)) != NULL)
		memset(p, '*', strlen(token));
}

/* Serve the fail-safe script: the database or renderer failed. */
static void
serve_failsafe(struct worker *w, struct rq *r, const char *reason)
{
	buf_reset(&w->body);
	ipxe_render_failsafe(w->cfg, reason, &w->body);
	r->action = METRICS_ACTION_FAILSAFE;
	r->script = 1;
}

static void
handle_config(struct worker *w, FCGX_Request *req, struct rq *r)
{
	struct bootd_error e;
	struct inv_boot b;
	struct inv *inv;
	enum bootd_err rc;
	const char *qs = param(req, "QUERY_STRING");
	int tries;

	r->status = 200;
	if (query_parse(qs, strlen(qs), &r->q, &e) != BOOTD_OK) {
		r->status = 400;
		set_reason(r, e.text);
	} else if (!r->q.set[QUERY_MAC]) {
		r->status = 400;
		set_reason(r, "missing parameter mac");
	}
	if (r->status == 400) {
		serve_failsafe(w, r, r->reason);
		return;
	}
	memcpy(r->mac, r->q.v[QUERY_MAC], sizeof(r->mac));
	r->mac[MAC_STRLEN] = '\0';
	r->record = 1;

	/*
	 * A connection whose server went away fails once and is closed;
	 * the lookup is then made again on a new one (libpq picks another
	 * server of the URI), so a boot gets the fail-safe script only
	 * when no server answers.
	 */
	for (tries = 0;; tries++) {
		if ((inv = worker_db_ro(w)) == NULL) {
			metrics_inc(METRICS_ERRORS);
			serve_failsafe(w, r, "inventory unavailable");
			return;
		}
		memset(&b, 0, sizeof(b));
		rc = inv_lookup(inv, r->mac, (int64_t)time(NULL),
		    (const char *const *)w->cfg->menu.manual_dists,
		    w->cfg->menu.nmanual_dists, &b, &e);
		if (rc == BOOTD_OK || rc == BOOTD_ENOTFOUND || tries > 0 ||
		    !db_is_uri(w->cfg->database))
			break;
		if (!worker_db_failed(w, inv, rc))
			break;
		blog_warn("inv_lookup(%s): %s; connecting again", r->mac,
		    e.text);
	}
	/*
	 * An installer only as the primary has it.  A standby replays the
	 * primary's changes late (a moment, or long: replay paused, held
	 * back by a query, a slow link): a machine whose install was just
	 * reported done would get its installer again from a standby that
	 * has not replayed the done, and be wiped a second time.  So an
	 * "install" read on a standby is looked up again on the primary
	 * (database_write); when no primary answers, the fail-safe script
	 * boots the local disk.  Installs are few: the primary sees one
	 * lookup per install boot, the standby all the others.
	 */
	if (rc == BOOTD_OK && b.dist != NULL && inv_is_standby(inv)) {
		inv_boot_free(&b);
		if ((inv = worker_db_rw(w)) == NULL) {
			serve_failsafe(w, r, "no primary to confirm the "
			    "install with");
			return;
		}
		memset(&b, 0, sizeof(b));
		rc = inv_lookup(inv, r->mac, (int64_t)time(NULL),
		    (const char *const *)w->cfg->menu.manual_dists,
		    w->cfg->menu.nmanual_dists, &b, &e);
	}
	buf_reset(&w->body);
	if (rc == BOOTD_OK) {
		if (b.host != NULL && b.host->fqdn != NULL)
			copy_printable(r->host, sizeof(r->host), b.host->fqdn);
		rc = ipxe_render_host(w->cfg, &b, r->mac, &w->body, &e);
		if (rc == BOOTD_OK && e.text[0] != '\0')
			blog_warn("ipxe_render_host(%s, %s): %s", r->host,
			    r->mac, e.text);
		if (rc == BOOTD_OK) {
			r->action = b.dist != NULL ? METRICS_ACTION_INSTALL :
			    METRICS_ACTION_LOCAL;
			r->script = 1;
		} else {
			blog_err("ipxe_render_host(%s, %s): %s", r->host,
			    r->mac, e.text);
			metrics_inc(METRICS_ERRORS);
			serve_failsafe(w, r, "cannot render this host's script");
		}
		inv_boot_free(&b);
	} else if (rc == BOOTD_ENOTFOUND) {
		rc = ipxe_render_unknown(w->cfg, r->mac, &w->body, &e);
		if (rc == BOOTD_OK) {
			r->action = METRICS_ACTION_UNKNOWN;
			r->script = 1;
		} else {
			blog_err("ipxe_render_unknown(%s): %s", r->mac, e.text);
			metrics_inc(METRICS_ERRORS);
			serve_failsafe(w, r, "cannot render script");
		}
	} else {
		blog_err("inv_lookup(%s): %s", r->mac, e.text);
		metrics_inc(METRICS_ERRORS);
		worker_db_failed(w, inv, rc);	/* reopen on the next request */
		serve_failsafe(w, r, "inventory error");
	}
}

/*
 * Read the form body of a done POST into the query.  Returns 0, or the
 * HTTP status to answer with (reason set).
 */
static int
read_form(FCGX_Request *req, struct rq *r)
{
	char body[FORM_MAX + 1];
	struct bootd_error e;
	const char *ct = param(req, "CONTENT_TYPE");
	const char *cl = param(req, "CONTENT_LENGTH");
	char *end;
	long want;
	int n, got = 0;

	if (*ct != '\0' && strncmp(ct, "application/x-www-form-urlencoded",
	    strlen("application/x-www-form-urlencoded")) != 0) {
		set_reason(r, "expected application/x-www-form-urlencoded");
		return 415;
	}
	errno = 0;
	want = *cl != '\0' ? strtol(cl, &end, 10) : FORM_MAX + 1;
	if (*cl != '\0' && (errno != 0 || *end != '\0' || want < 0)) {
		set_reason(r, "malformed CONTENT_LENGTH");
		return 400;
	}
	if (want > FORM_MAX) {
		if (*cl != '\0') {
			set_reason(r, "form body longer than 1024 bytes");
			return 413;
		}
		want = FORM_MAX + 1;
	}
	while (got < want) {
		n = FCGX_GetStr(body + got, (int)want - got, req->in);
		if (n <= 0)
			break;
		got += n;
	}
	if (got > FORM_MAX) {
		set_reason(r, "form body longer than 1024 bytes");
		return 413;
	}
	if (query_parse(body, (size_t)got, &r->q, &e) != BOOTD_OK) {
		set_reason(r, e.text);
		return 400;
	}
	return 0;
}

/* The part of handle_done() that reads the token and asks the inventory. */
static void
done_report(struct worker *w, FCGX_Request *req, struct rq *r)
{
	struct bootd_error e;
	struct inv_done d;
	struct inv *inv;
	enum bootd_err rc;
	const char *qs = param(req, "QUERY_STRING");
	const char *token;
	int status;

	buf_reset(&w->body);
	r->status = 400;
	if (query_parse(qs, strlen(qs), &r->q, &e) != BOOTD_OK) {
		set_reason(r, e.text);
		buf_puts(&w->body, "bad request\n");
		return;
	}
	if (!r->q.set[QUERY_TOKEN] && strcmp(r->method, "POST") == 0 &&
	    (status = read_form(req, r)) != 0) {
		r->status = status;
		buf_printf(&w->body, "%s\n", status_text(status));
		return;
	}
	token = r->q.v[QUERY_TOKEN];
	if (!r->q.set[QUERY_TOKEN]) {
		/* The installer's mistake, not a token to look for. */
		set_reason(r, "missing parameter token");
		buf_puts(&w->body, "missing parameter token\n");
		return;
	}
	if (!token_wellformed(token)) {
		r->status = 404;	/* no token is ever spelled so */
		set_reason(r, "malformed token");
		buf_puts(&w->body, "unknown token\n");
		return;
	}
	if ((inv = worker_db_rw(w)) == NULL) {
		/* No primary (PostgreSQL), or no file: the installer retries. */
		r->status = 503;
		r->retry_after = DONE_RETRY_AFTER;
		set_reason(r, "inventory unavailable for writes");
		metrics_inc(METRICS_ERRORS);
		buf_puts(&w->body, "unavailable\n");
		return;
	}
	/* The handle waits up to 5 s on a locked inventory (worker.c). */
	inv_set_actor(inv, "bootd (install done)");
	rc = inv_install_done(inv, token, r->addr[0] != '\0' ? r->addr : NULL,
	    w->cfg->daemon.done_requires_fetch_address, (int64_t)time(NULL),
	    &d, &e);
	inv_set_actor(inv, "bootd");
	if (d.fqdn[0] != '\0')
		copy_printable(r->host, sizeof(r->host), d.fqdn);
	if (d.mismatch) {
		metrics_inc(METRICS_DONE_ADDRESS_MISMATCH);
		blog_warn("done for %s from %s, but its install script was "
		    "%s%s%s", d.fqdn, r->addr[0] != '\0' ? r->addr : "-",
		    d.fetched_from[0] != '\0' ? "fetched from " :
		    "never fetched", d.fetched_from,
		    rc == BOOTD_EPERM ? "; refused "
		    "(daemon.done_requires_fetch_address)" : "");
	}
	switch (rc) {
	case BOOTD_OK:
		r->status = 200;
		buf_puts(&w->body, "ok\n");
		break;
	case BOOTD_EPERM:
		r->status = 403;
		set_reason(r, "done from another address than the one that "
		    "fetched the install script");
		buf_puts(&w->body, "done from another address than the one "
		    "that fetched the install script\n");
		break;
	case BOOTD_EEXPIRED:
		r->status = 403;
		set_reason(r, "token expired or already used");
		buf_puts(&w->body, "token expired or already used\n");
		break;
	case BOOTD_ENOTFOUND:
		r->status = 404;
		set_reason(r, "unknown token");
		buf_puts(&w->body, "unknown token\n");
		break;
	default:
		r->status = 503;
		r->retry_after = DONE_RETRY_AFTER;
		mask_token(e.text, token);
		blog_err("inv_install_done: %s", e.text);
		metrics_inc(METRICS_ERRORS);
		worker_db_failed(w, inv, rc);
		set_reason(r, bootd_strerror(rc));
		buf_puts(&w->body, "unavailable\n");
		break;
	}
}

/*
 * done: refused with 429 while the client's address has no attempt left;
 * every refused report (4xx: unknown, malformed, expired or used token,
 * another address) takes one, so a flood of guessed tokens costs a lookup
 * in shared memory, not in the inventory.  The attempt is taken before
 * the report is looked at, in one step with the check, so that reports
 * from one address in flight at once cannot all pass on its last attempt;
 * a report that succeeds, or fails on our side (503), gives it back.
 */
static void
handle_done(struct worker *w, FCGX_Request *req, struct rq *r)
{
	const struct cfg_daemon *d = &w->cfg->daemon;

	if (!ratelimit_take(r->addr, d->done_rate, d->done_burst)) {
		r->status = 429;
		set_reason(r, "too many failed install reports from this "
		    "address; try again later");
		metrics_inc(METRICS_DONE_RATE_LIMITED);
		buf_reset(&w->body);
		buf_puts(&w->body, "too many failed install reports from this "
		    "address; try again later\n");
		return;
	}
	done_report(w, req, r);
	if (r->status < 400 || r->status >= 500)
		ratelimit_give_back(r->addr, d->done_rate, d->done_burst);
	memset(r->q.v[QUERY_TOKEN], 0, sizeof(r->q.v[QUERY_TOKEN]));
}

/*
 * health: 200 "ok schema=N" when the inventory can be read (and, for
 * PostgreSQL, written); 200 "degraded schema=N: why" when it can be read
 * but not written (no primary: boots are answered, install reports get
 * 503); 503 when it cannot be read (boots get the fail-safe script).
 */
static void
handle_health(struct worker *w, FCGX_Request *req, struct rq *r)
{
	struct bootd_error e;
	struct inv *inv;
	enum bootd_err rc;
	int version = 0, wversion, tries, closed;
	char name[256];

	/*
	 * The answer (body and X-Bootd-Error) says only what is wrong, in
	 * general words: paths and the engine's messages are for the log,
	 * where worker_db_ro() has put why the database cannot be opened.
	 */
	buf_reset(&w->body);
	for (tries = 0;; tries++) {
		if ((inv = worker_db_ro(w)) == NULL) {
			r->status = 503;
			set_reason(r, "inventory unavailable");
			break;
		}
		if ((rc = inv_schema_version(inv, &version, &e)) == BOOTD_OK) {
			r->status = 200;
			break;
		}
		blog_err("health: inv_schema_version(%s): %s",
		    db_where_print(w->cfg->database, name, sizeof(name)), e.text);
		r->status = 503;
		set_reason(r, "inventory unreadable");
		closed = worker_db_failed(w, inv, rc);
		if (!db_is_uri(w->cfg->database)) {
			worker_db_close(w);
			break;
		}
		if (!closed || tries > 0)
			break;		/* else once more, connected anew */
	}
	if (r->status != 200) {
		buf_printf(&w->body, "unavailable: %s\n", r->reason);
		return;
	}
	r->reason[0] = '\0';
	/*
	 * PostgreSQL: can writes reach a primary?  (SQLite: the same file.)
	 * A write connection whose server went away is opened anew once.
	 */
	for (tries = 0; db_is_uri(w->cfg->database_write); tries++) {
		if ((inv = worker_db_rw(w)) == NULL) {
			buf_printf(&w->body, "degraded schema=%d: no server "
			    "takes writes; install reports are answered 503\n",
			    version);
			return;
		}
		if ((rc = inv_schema_version(inv, &wversion, &e)) == BOOTD_OK)
			break;
		blog_err("health: inv_schema_version(%s): %s",
		    db_where_print(w->cfg->database_write, name, sizeof(name)),
		    e.text);
		if (!worker_db_failed(w, inv, rc) || tries > 0) {
			buf_printf(&w->body, "degraded schema=%d: the server "
			    "taking writes fails; install reports are answered "
			    "503\n", version);
			return;
		}
	}
	buf_printf(&w->body, "ok schema=%d\n", version);
}

static void
handle_metrics(struct worker *w, FCGX_Request *req, struct rq *r)
{
	struct inv_counts c;
	struct events_counts ec;
	struct bootd_error e;
	struct inv *inv;
	struct events *ev;
	int have = 0, have_ev = 0;

	enum bootd_err rc;

	if ((inv = worker_db_ro(w)) != NULL) {
		if ((rc = inv_counts(inv, &c, &e)) == BOOTD_OK)
			have = 1;
		else {
			blog_err("inv_counts: %s", e.text);
			worker_db_failed(w, inv, rc);
		}
	}
	if ((ev = worker_events(w)) != NULL) {
		if (events_counts(ev, &ec, &e) == BOOTD_OK)
			have_ev = 1;
		else {
			blog_err("events_counts: %s", e.text);
			worker_events_failed(w);
		}
	}
	buf_reset(&w->body);
	metrics_write(&w->body, have ? &c : NULL, have_ev ? &ec : NULL);
	r->status = 200;
	r->ctype = CT_METRICS;
}

/*
 * Write status line, headers and body; errors mean the client left.  The
 * headers are put together in w->scratch piece by piece, not by one
 * snprintf(3) of ten arguments, which cost 3,000 instructions a request.
 */
static void
respond(struct worker *w, FCGX_Request *req, struct rq *r)
{
	static const char oom[] = "#!ipxe\necho bootd: out of memory\nexit\n";
	struct buf *h = &w->scratch;
	const char *body = buf_str(&w->body);
	size_t len = w->body.len;

	if (buf_failed(&w->body)) {
		/* Even then the machine gets a script that boots locally. */
		blog_err("out of memory building the answer");
		metrics_inc(METRICS_ERRORS);
		r->status = 500;
		body = oom;
		len = sizeof(oom) - 1;
	}
	buf_reset(h);
	buf_puts(h, "Status: ");
	buf_putu(h, (unsigned long)r->status);
	buf_puts(h, " ");
	buf_puts(h, status_text(r->status));
	buf_puts(h, "\r\nContent-Type: ");
	buf_puts(h, r->ctype);
	buf_puts(h, "\r\nCache-Control: no-store\r\nContent-Length: ");
	buf_putu(h, (unsigned long)len);
	buf_puts(h, "\r\n");
	if (r->retry_after > 0) {
		buf_puts(h, "Retry-After: ");
		buf_putu(h, (unsigned long)r->retry_after);
		buf_puts(h, "\r\n");
	}
	if (r->allow != NULL) {
		buf_puts(h, "Allow: ");
		buf_puts(h, r->allow);
		buf_puts(h, "\r\n");
	}
	if (r->reason[0] != '\0') {
		buf_puts(h, "X-Bootd-Error: ");
		buf_puts(h, r->reason);
		buf_puts(h, "\r\n");
	}
	buf_puts(h, "\r\n");
	if (buf_failed(h)) {
		blog_err("out of memory building the answer's headers");
		metrics_inc(METRICS_ERRORS);
		return;
	}
	if (FCGX_PutStr(buf_str(h), (int)h->len, req->out) < 0 ||
	    (strcmp(r->method, "HEAD") != 0 &&
	    FCGX_PutStr(body, (int)len, req->out) < 0))
		blog_debug("client went away before the answer was written");
}

/*
 * Hand the boot served to r->mac over to the recorder; never waits (a
 * full queue drops the event and counts it).
 */
static void
record_boot(struct worker *w, struct rq *r)
{
	struct events_event ev;

	buf_reset(&w->scratch);
	query_format_params(&r->q, &w->scratch);
	memset(&ev, 0, sizeof(ev));
	ev.mac = r->mac;
	ev.fqdn = r->host[0] != '\0' ? r->host : NULL;
	ev.served = served_names[r->action];
	ev.params = buf_failed(&w->scratch) || w->scratch.len == 0 ? NULL :
	    buf_str(&w->scratch);
	ev.addr = r->addr[0] != '\0' ? r->addr : NULL;
	ev.time = (int64_t)time(NULL);
	recorder_send(w->events, &ev);
}


/*
 * The log line of a config request: "mac=M host=H action=A status=S us=U
 * [dropped=D] [reason=R]".  Put together in w->scratch and logged as one
 * string (blog_held(): not formatted again, and written with others):
 * formatted from nine arguments it cost 1,400 instructions more, on every
 * boot.
 */
static void
log_config(struct worker *w, const struct rq *r, uint64_t us,
    const char *dropped)
{
	struct buf *b = &w->scratch;

	if (!blog_enabled(LOG_INFO))
		return;
	buf_reset(b);
	buf_puts(b, "mac=");
	buf_puts(b, r->mac[0] != '\0' ? r->mac : "-");
	buf_puts(b, " host=");
	buf_puts(b, r->host[0] != '\0' ? r->host : "-");
	buf_puts(b, " action=");
	buf_puts(b, r->script ? served_names[r->action] : "-");
	buf_puts(b, " status=");
	buf_putu(b, (unsigned long)r->status);
	buf_puts(b, " us=");
	buf_putu(b, (unsigned long)us);
	if (dropped[0] != '\0') {
		buf_puts(b, " dropped=");
		buf_puts(b, dropped);
	}
	if (r->reason[0] != '\0') {
		buf_puts(b, " reason=");
		buf_puts(b, r->reason);
	}
	blog_held(LOG_INFO, buf_failed(b) ? "(out of memory)" : buf_str(b));
}

static uint64_t
elapsed_us(const struct timespec *start)
{
	struct timespec now;
	int64_t us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - start->tv_sec) * 1000000 +
	    (now.tv_nsec - start->tv_nsec) / 1000;
	return us < 0 ? 0 : (uint64_t)us;
}

/* The request path: DOCUMENT_URI, else SCRIPT_NAME + PATH_INFO. */
static const char *
request_path(FCGX_Request *req, char *tmp, size_t n)
{
	const char *p = param(req, "DOCUMENT_URI");

	if (*p != '\0')
		return p;
	snprintf(tmp, n, "%s%s", param(req, "SCRIPT_NAME"),
	    param(req, "PATH_INFO"));
	return tmp;
}

void
route_handle(struct worker *w, FCGX_Request *req)
{
	static struct rq r;	/* large; one request at a time */
	struct timespec start;
	const struct route *rt = NULL;
	const char *path, *m;
	char tmp[512];
	uint64_t us;
	char dropped[128];
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &start);
	memset(&r, 0, sizeof(r));
	r.route = METRICS_ROUTE_OTHER;
	r.ctype = CT_TEXT;
	copy_printable(r.method, sizeof(r.method),
	    param(req, "REQUEST_METHOD"));
	if (r.method[0] == '\0')
		strcpy(r.method, "GET");
	if (inv_addr_canon(param(req, "REMOTE_ADDR"), r.addr, NULL) !=
	    BOOTD_OK)
		r.addr[0] = '\0';

	path = request_path(req, tmp, sizeof(tmp));
	if (strncmp(path, ROUTE_PREFIX, strlen(ROUTE_PREFIX)) == 0)
		for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
			if (strcmp(path + strlen(ROUTE_PREFIX),
			    routes[i].name) == 0)
				rt = &routes[i];

	buf_reset(&w->body);
	if (rt == NULL) {
		r.status = 404;
		set_reason(&r, "no such resource");
		buf_puts(&w->body, "not found\n");
	} else {
		r.route = rt->id;
		/* Is the method one of rt->allow ("GET, POST")? */
		for (m = rt->allow; m != NULL; m = strchr(m, ' ')) {
			m += *m == ' ';
			if (strncmp(m, r.method, strlen(r.method)) == 0 &&
			    (m[strlen(r.method)] == ',' ||
			    m[strlen(r.method)] == '\0'))
				break;
		}
		if (m == NULL) {
			r.status = 405;
			r.allow = rt->allow;
			set_reason(&r, "method not allowed");
			buf_puts(&w->body, "method not allowed\n");
		} else
			rt->handle(w, req, &r);
		if (strcmp(r.method, "HEAD") == 0)
			r.script = r.record = 0;	/* no boot happened */
	}

	respond(w, req, &r);
	/*
	 * Count, and hand the boot over, before the answer leaves, so that
	 * whoever has read the answer finds it counted and its event with
	 * the recorder, even if this worker is killed right after.
	 */
	us = elapsed_us(&start);
	if (r.script)
		metrics_script(r.action);
	metrics_request(r.route, r.status, us);
	if (r.record)
		record_boot(w, &r);
	/*
	 * On a connection the web server keeps, the next request follows
	 * this one's input: read what is left of it (a body not read, the
	 * closing empty record), so that libfcgi starts the next at its first
	 * record, not in the middle of this one (a protocol error that would
	 * close the connection).
	 */
	if (req->keepConnection)
		while (FCGX_GetChar(req->in) != EOF)
			;
	FCGX_Finish_r(req);		/* the answer is out */
	/* The recorder notes who fetched an install script (recorder.c). */
	if (r.script && r.action == METRICS_ACTION_INSTALL &&
	    r.addr[0] == '\0')
		blog_warn("install script of %s served to a client without a "
		    "usable REMOTE_ADDR; its done cannot be matched", r.host);

	if (r.route == METRICS_ROUTE_CONFIG) {
		query_format_dropped(&r.q, dropped, sizeof(dropped));
		log_config(w, &r, us, dropped);
	} else if (r.route == METRICS_ROUTE_DONE)
		blog_info("route=done host=%s from=%s status=%d us=%ju%s%s",
		    r.host[0] != '\0' ? r.host : "-",
		    r.addr[0] != '\0' ? r.addr : "-", r.status, (uintmax_t)us,
		    r.reason[0] != '\0' ? " reason=" : "", r.reason);
	else
		blog_info("route=%s method=%s status=%d us=%ju",
		    r.route == METRICS_ROUTE_HEALTH ? "health" :
		    r.route == METRICS_ROUTE_METRICS ? "metrics" : "other",
		    r.method, r.status, (uintmax_t)us);
	memset(&r.q, 0, sizeof(r.q));	/* no token left behind */
}
