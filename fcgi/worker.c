/*
 * worker.c - a bootd worker: the FastCGI accept loop and the database
 * handles
 *
 * A worker keeps SIGTERM, SIGINT and SIGHUP blocked except while it waits
 * for a connection in epoll_pwait(2), so a signal never interrupts a
 * request half-way (libfcgi does not retry an interrupted read) and a
 * worker told to stop finishes its in-flight request, then exits.  A stop
 * that comes while the worker serves stays pending, and epoll_pwait(2)
 * does not deliver it when a connection is already waiting: a signalfd
 * of SIGTERM and SIGINT in the same epoll set shows it there, so that a
 * backlog that never empties (a boot storm) does not keep a worker of
 * the old configuration serving after a reload, or one told to stop
 * serving until the master kills it.  Each
 * worker waits on its own epoll instance holding the listening socket,
 * which is non-blocking: when another worker took the connection,
 * accept4(2) fails with EAGAIN and the loop waits again.  A new
 * connection wakes every idle worker (not EPOLLEXCLUSIVE, which wakes
 * one): a worker with requests in hand accepts only after them, and the
 * one woken under EPOLLEXCLUSIVE could be such a worker while another sat
 * idle, the connection then waiting behind a request that may wait
 * seconds on a lock (an install report).  With nginx keeping the
 * connections of the boots open, new connections are few, and so are the
 * wake-ups (under SCHED_BATCH the one woken does not preempt nginx:
 * master.c, run_as_batch()).
 *
 * The same epoll instance holds every FastCGI connection the worker has
 * accepted (struct conns, up to MAX_CONNS): a connection is read when it
 * is readable, one request at a time, whichever connection it comes on.
 * nginx keeps the boot lookups' connections open (fastcgi_keep_conn, an
 * upstream keepalive pool: nginx/bootd.conf) and sends the next request
 * on any idle one, which spares a connect, an accept4(2), the peer check,
 * two setsockopt(2) and a close(2) per boot on bootd's side and as much
 * on nginx's (bench/README.md).  A request never waits for its connection
 * to be served, only for the request in hand: a loop that read a kept
 * connection to its end before accepting the next would park every other
 * request meanwhile.  Each connection has a FCGX_Request of its own;
 * libfcgi is given no listening socket (-1): it reads the connection it
 * is handed, and when that one fails it closes it and returns instead of
 * accepting the next connection itself, which would skip the peer check
 * and the timeouts below.
 * FCGX_ShutdownPending() is not used: libfcgi then reads EOF on every
 * read, which would cut the request in hand short instead of finishing it.
 * A new connection that stays silent for FIRST_BYTE_MS, or a kept one
 * idle for IDLE_MS, is closed by conn_sweep(); neither holds the worker
 * meanwhile.  A request that stalls half-way holds it for CONN_TIMEOUT at
 * most (libfcgi reads with blocking reads).  On a stop the worker answers
 * the requests already waiting on its connections, then closes them: nginx
 * sends a request that meets a kept connection closed under it again, on
 * another connection.
 * A connection the web server does not keep is closed after its request.
 * On a unix socket it is closed at once: libfcgi's lingering
 * close (shutdown(2), then wait up to 2 s for the web server to close
 * its end) guards against a TCP reset discarding an answer not yet read,
 * and a unix socket has none: what was written stays readable.  It cost
 * three system calls a request and held the worker until nginx had read
 * the answer.  On TCP the lingering close stays.
 *
 * Each worker opens the inventory itself, lazily: one read-only handle for
 * lookups on "database" (its prepared statements are kept by lib/inv.c) and,
 * only when an installer reports completion, a read-write handle on
 * "database_write" for that, kept from then on.  For SQLite both are the
 * same file, reopened when it was deleted or replaced.  For PostgreSQL they
 * are two connections, typically the local standby
 * (target_session_attrs=prefer-standby) and the primary (read-write): a
 * handle whose server went away, or that found a standby where it writes, is
 * closed (worker_db_failed()) and the next use connects again, libpq picking
 * the server anew: the standby back, or after a promotion the new primary;
 * inv prepares its statements again on the new connection.  A connection
 * that failed is retried at most once a second (WORKER_REOPEN_MS), answering
 * "unavailable" meanwhile.  When the database cannot be opened the request
 * gets the fail-safe answer (a lookup) or 503 (an install report).  A worker
 * never writes boot events: it hands them to the recorder (recorder.c),
 * which owns the events database, creates it, and prunes old events; a
 * worker reads that file only for the metrics.
 */
#define _GNU_SOURCE		/* accept4() */

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootd.h"
#include "db.h"

/* Longest a boot lookup waits on a locked inventory before failing safe. */
#define LOOKUP_WAIT_MS	500
/* Longest an install report waits on a locked inventory. */
#define DONE_WAIT_MS	5000
/* Reads on a PostgreSQL primary look for a standby again this often. */
#define READ_RECHECK_MS	60000
/* A standby's replay is checked this often (replay_stuck()). */
#define LAG_CHECK_MS	5000
/* Seconds a FastCGI connection may stall reading or writing. */
#define CONN_TIMEOUT	10
/*
 * Milliseconds a new connection may stay silent before it is dropped.
 * nginx writes the whole request as soon as it has connected, so 2 s of
 * silence is no web server at work but a client holding this worker
 * (anyone in the socket's group can connect); the worker serves nobody
 * else meanwhile, and with signals blocked a stop waits for it too.
 */
#define FIRST_BYTE_MS	2000
/*
 * Milliseconds a kept FastCGI connection may stay idle before the worker
 * closes it: longer than the keepalive_timeout of nginx's upstream block
 * (30 s in nginx/bootd.conf), so that nginx, which knows when it is about
 * to send, is the one that closes.
 */
#define IDLE_MS		60000
/* FastCGI connections a worker holds at most, kept ones included. */
#define MAX_CONNS	256
/* Events a worker takes from one epoll_pwait(2). */
#define MAX_EVENTS	32
/*
 * A worker's nice value above the master's (and the recorder's): see
 * yield_to_recorder().
 */
#define WORKER_NICE	3

static volatile sig_atomic_t	stop_requested;

static void
on_stop(int sig)
{
	stop_requested = 1;
}

/*
 * May a handle on where be opened now?  A file always (an open costs
 * little and a replaced file should be seen at once); a PostgreSQL URI
 * once *next has passed, so that a server that is down costs a
 * connection attempt a second, not one per request.
 */
static int
may_open(const char *where, int64_t next)
{
	return !db_is_uri(where) || now_ms() >= next;
}

/* An open of where failed: no new attempt on a URI for a while. */
static void
open_failed(const char *where, int64_t *next)
{
	if (db_is_uri(where))
		*next = now_ms() + WORKER_REOPEN_MS;
}

/*
 * An open of where failed with e: keep why in reason (size bytes) and
 * log it once, not on every request while it lasts.
 */
static void
db_failed(char *reason, size_t size, const char *where,
    const struct bootd_error *e)
{
	char prev[512], name[256];

	snprintf(prev, sizeof(prev), "%s", reason);
	db_where_print(where, name, sizeof(name));
	snprintf(reason, size, "%.200s: %s", name, e->text);
	if (strcmp(prev, reason) != 0)
		blog_err("inv_open(%s): %s", name, e->text);
}

static const char	*events_read_where(const struct cfg *);

/* Like db_failed(), for the events database: logged once while it lasts. */
static void
events_failed(struct worker *w, const struct bootd_error *e)
{
	char name[256];

	if (strcmp(w->everr, e->text) == 0)
		return;
	snprintf(w->everr, sizeof(w->everr), "%s", e->text);
	blog_err("events_open(%s): %s", db_where_print(events_read_where(w->cfg),
	    name, sizeof(name)), e->text);
}

/* Close h and set it to NULL when its file was deleted or replaced. */
static void
drop_stale(struct inv **h, const char *path)
{
	if (*h != NULL && inv_stale(*h)) {
		blog_notice("database %s was replaced or removed; reopening",
		    path);
		inv_close(*h);
		*h = NULL;
	}
}

/*
 * After a call on inv, opened on where, failed with rc: can that handle
 * serve no more?  PostgreSQL: its server went away, none is reachable, or
 * it is a standby asked to write (inv_unavailable()).  SQLite: any
 * database error, as the file may have been replaced or damaged.
 */
static int
lost(struct inv *inv, const char *where, enum bootd_err rc)
{
	if (db_is_uri(where))
		return inv_unavailable(inv);
	return rc == BOOTD_EDB;
}

int
worker_manual_dists_check(struct inv *inv, const struct cfg *cfg,
    struct bootd_error *e)
{
	struct inv_dist *d;
	enum bootd_err rc;
	size_t i;
	char name[256];

	for (i = 0; i < cfg->menu.nmanual_dists; i++) {
		rc = inv_dist_get(inv, cfg->menu.manual_dists[i], &d, e);
		inv_dist_free(d);
		if (rc == BOOTD_ENOTFOUND)
			bootd_error_set(e, rc, "menu.manual_dists: no "
			    "distribution \"%s\" in %s",
			    cfg->menu.manual_dists[i], db_where_print(cfg->database,
			    name, sizeof(name)));
		if (rc != BOOTD_OK)
			return -1;
	}
	return 0;
}

/*
 * Is w->ro on a standby whose replay stands still behind what it has
 * received (paused, or held back by a conflicting query)?  Checked every
 * LAG_CHECK_MS: stuck when the replayed position has not moved since the
 * last check while log waits to be replayed.  (A standby cut off from its
 * primary receives nothing either, and looks current: only the primary
 * could tell; doc/scale-out.md says so.)
 */
static int
replay_stuck(struct worker *w)
{
	struct bootd_error e;
	int64_t replayed, behind, now = now_ms();
	int stuck;

	if (now < w->lag_check)
		return 0;
	w->lag_check = now + LAG_CHECK_MS;
	if (inv_standby_replay(w->ro, &replayed, &behind, &e) != BOOTD_OK) {
		blog_warn("standby replay: %s", e.text);
		return 0;
	}
	stuck = behind > 0 && replayed == w->lag_replayed;
	w->lag_replayed = replayed;
	return stuck;
}

struct inv *
worker_db_ro(struct worker *w)
{
	const char *where = w->cfg->database;
	struct bootd_error e;
	enum bootd_err rc;
	char name[256];

	drop_stale(&w->ro, where);
	/*
	 * A standby that lags, its replay standing still, answers from the
	 * past: reads move to the primary (database_write, read-only here)
	 * and come back to a standby at the next READ_RECHECK_MS, below.
	 */
	if (w->ro != NULL && db_is_uri(where) && inv_is_standby(w->ro) &&
	    replay_stuck(w)) {
		blog_warn("the standby's replay stands still; reading from "
		    "the primary for %d s", READ_RECHECK_MS / 1000);
		inv_close(w->ro);
		w->ro = NULL;
		where = w->cfg->database_write;
	}
	/*
	 * Reads that moved to the primary (the standby was down) go back
	 * to a standby when there is one again: libpq prefers it at each
	 * connection (prefer-standby), so the handle is opened anew every
	 * READ_RECHECK_MS while it is not on a standby.  Without a standby
	 * at all, that is one new connection a worker and period.
	 */
	if (w->ro != NULL && db_is_uri(where) && !inv_is_standby(w->ro) &&
	    now_ms() >= w->ro_recheck) {
		inv_close(w->ro);
		w->ro = NULL;
	}
	if (w->ro != NULL)
		return w->ro;
	if (!may_open(where, w->ro_next))
		return NULL;		/* w->dberr still says why */
	rc = inv_open(where, INV_RDONLY, &w->ro, &e);
	if (rc != BOOTD_OK && rc != BOOTD_EVERSION && !db_is_uri(where) &&
	    worker_db_rw(w) != NULL) {
		/*
		 * Opening an SQLite file read-write migrates an older schema;
		 * retry.  Never a PostgreSQL one: bootctl init upgrades it.
		 */
		rc = inv_open(where, INV_RDONLY, &w->ro, &e);
	}
	if (rc != BOOTD_OK) {
		w->ro = NULL;
		db_failed(w->dberr, sizeof(w->dberr), where, &e);
		open_failed(where, &w->ro_next);
		return NULL;
	}
	/*
	 * In WAL mode a reader waits only on an exclusive lock or a
	 * recovery; a boot must not wait long for that: fail safe instead.
	 */
	inv_set_busy_timeout(w->ro, LOOKUP_WAIT_MS);
	inv_set_deadline(w->ro, LOOKUP_DEADLINE_MS);
	w->ro_recheck = now_ms() + READ_RECHECK_MS;
	w->lag_check = now_ms() + LAG_CHECK_MS;
	w->lag_replayed = -1;
	if (worker_manual_dists_check(w->ro, w->cfg, &e) == -1)
		blog_warn("%s: left out of every menu", e.text);
	if (w->dberr[0] != '\0')
		blog_notice("database %s is available again",
		    db_where_print(where, name, sizeof(name)));
	w->dberr[0] = '\0';
	return w->ro;
}

struct inv *
worker_db_rw(struct worker *w)
{
	const char *where = w->cfg->database_write;
	struct bootd_error e;
	char name[256];

	drop_stale(&w->rw, where);
	if (w->rw != NULL)
		return w->rw;
	if (!may_open(where, w->rw_next))
		return NULL;		/* w->rwerr still says why */
	if (inv_open(where, INV_RDWR, &w->rw, &e) != BOOTD_OK) {
		w->rw = NULL;
		db_failed(w->rwerr, sizeof(w->rwerr), where, &e);
		open_failed(where, &w->rw_next);
		return NULL;
	}
	/*
	 * Only install reports write here (done; the address that fetched
	 * an install script is the recorder's): worth waiting for, since a
	 * lost one leaves the host reinstalling.
	 */
	inv_set_busy_timeout(w->rw, DONE_WAIT_MS);
	inv_set_deadline(w->rw, WRITE_DEADLINE_MS);
	inv_set_actor(w->rw, "bootd");
	if (w->rwerr[0] != '\0')
		blog_notice("database %s takes writes again",
		    db_where_print(where, name, sizeof(name)));
	w->rwerr[0] = '\0';
	return w->rw;
}

int
worker_db_failed(struct worker *w, struct inv *inv, enum bootd_err rc)
{
	struct inv **h;
	const char *where;
	char name[256];

	if (inv == NULL)
		return 0;
	if (inv == w->ro) {
		h = &w->ro;
		where = w->cfg->database;
	} else if (inv == w->rw) {
		h = &w->rw;
		where = w->cfg->database_write;
	} else
		return 0;
	if (!lost(inv, where, rc))
		return 0;
	if (db_is_uri(where))
		blog_notice("closed the connection to %s; the next request "
		    "connects again", db_where_print(where, name, sizeof(name)));
	inv_close(*h);
	*h = NULL;
	return 1;
}

void
worker_db_close(struct worker *w)
{
	inv_close(w->ro);
	inv_close(w->rw);
	w->ro = NULL;
	w->rw = NULL;
}

/*
 * Where a worker reads the events: events_database, except when that is
 * the PostgreSQL database written to (the default): the events are then a
 * schema of the inventory's database, replicated like it, and read where
 * the inventory is read, so a worker holds no second connection to the
 * primary for the metrics.
 */
static const char *
events_read_where(const struct cfg *cfg)
{
	if (db_is_uri(cfg->events_database) && db_is_uri(cfg->database) &&
	    strcmp(cfg->events_database, cfg->database_write) == 0)
		return cfg->database;
	return cfg->events_database;
}

struct events *
worker_events(struct worker *w)
{
	const char *where = events_read_where(w->cfg);
	struct bootd_error e;
	enum bootd_err rc;

	if (w->ev != NULL)
		return w->ev;
	if (!may_open(where, w->ev_next))
		return NULL;
	/* The recorder creates it: missing means nothing recorded yet. */
	rc = events_open_readonly(where, &w->ev, &e);
	if (rc != BOOTD_OK) {
		w->ev = NULL;
		if (rc != BOOTD_ENOTFOUND)
			events_failed(w, &e);
		open_failed(where, &w->ev_next);
		return NULL;
	}
	events_set_deadline(w->ev, LOOKUP_DEADLINE_MS);
	w->everr[0] = '\0';
	return w->ev;
}

void
worker_events_failed(struct worker *w)
{
	if (w->ev != NULL && events_unavailable(w->ev))
		worker_events_close(w);
}

void
worker_events_close(struct worker *w)
{
	events_close(w->ev);
	w->ev = NULL;
}

/*
 * The FastCGI connections a worker holds: the one it reads now and those
 * nginx keeps open between requests (fastcgi_keep_conn).  A free slot has
 * req.ipcFd -1.  until is when the connection is closed if it stays
 * silent: FIRST_BYTE_MS after it was accepted, IDLE_MS after its last
 * answer.
 */
struct conn {
	FCGX_Request	 req;
	int64_t		 until;
	int		 answered;	/* requests served on it */
};

struct conns {
	struct conn	 slot[MAX_CONNS];
	int		 n;		/* slots in use */
	int64_t		 next_sweep;	/* earliest until, or INT64_MAX */
	int		 unix_socket;	/* the listening socket is AF_UNIX */
};

/* epoll data of the listening socket and the signalfd; slots are 0.. */
#define EV_LISTEN	MAX_CONNS
#define EV_STOP		(MAX_CONNS + 1)

/*
 * The epoll instance a worker waits on for connections to fd (every idle
 * worker is woken: see the top of this file), and *sfd, a
 * signalfd of the signals in stops, for a stop that came while it was
 * busy (see the top of this file).  The worker's own connections join it
 * as it accepts them (conn_add()).  Returns it, or -1 with errno set.
 */
static int
wait_open(int fd, const sigset_t *stops, int *sfd)
{
	struct epoll_event ev;
	int ep, rc, e;

	*sfd = -1;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = EV_LISTEN;
	rc = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	if (rc == 0 && (*sfd = signalfd(-1, stops, SFD_CLOEXEC |
	    SFD_NONBLOCK)) == -1)
		rc = -1;
	if (rc == 0) {
		ev.events = EPOLLIN;
		ev.data.u64 = EV_STOP;
		rc = epoll_ctl(ep, EPOLL_CTL_ADD, *sfd, &ev);
	}
	if (rc == -1) {
		e = errno;
		if (*sfd != -1)
			close(*sfd);
		*sfd = -1;
		close(ep);
		errno = e;
		return -1;
	}
	return ep;
}

/*
 * Wait until a connection of epoll instance ep is readable, a new one
 * waits on the listening socket, or a signal arrives, at most timeout ms
 * (-1: no bound).  Signals are unblocked only inside epoll_pwait(2); one
 * that came before, while the worker served, shows on the signalfd.  The
 * log lines of boots held (log.c) are written before the worker waits,
 * not while connections wait for it.  Returns the number of events in
 * ev (nev at most), 0 when none came in time or it was interrupted, -1 on
 * error.
 */
static int
wait_events(int ep, struct epoll_event *ev, int nev, int timeout,
    const sigset_t *waitmask)
{
	int n;

	n = epoll_pwait(ep, ev, nev, blog_pending() ? 0 : timeout, waitmask);
	if (n == 0 && blog_pending()) {
		blog_flush();
		n = epoll_pwait(ep, ev, nev, timeout, waitmask);
	}
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	return n;
}

/*
 * Close connection c, whose request is finished, and free its slot (a
 * connection libfcgi closed already has ipcFd -1).
 */
static void
conn_close(struct conns *cs, struct conn *c)
{
	if (c->req.ipcFd >= 0)
		close(c->req.ipcFd);	/* leaves ep with it */
	c->req.ipcFd = -1;
	cs->n--;
}

/*
 * Has connection c input waiting?  Asked only of one about to be closed
 * as silent: its time may have passed while the worker was busy with
 * another request, and it must then be served, not closed.
 */
static int
conn_readable(const struct conn *c)
{
	struct pollfd pfd;

	pfd.fd = c->req.ipcFd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) == 1;
}

/*
 * Close the connections silent past their time; with force, also the
 * one idle longest, to free a slot for a new connection.  A connection
 * with input waiting is left to be served.  Sets cs->next_sweep to the
 * earliest time left.
 */
static void
conn_sweep(struct conns *cs, int force)
{
	struct conn *c, *oldest = NULL;
	int64_t now = now_ms();
	int i;

	cs->next_sweep = INT64_MAX;
	for (i = 0; i < MAX_CONNS; i++) {
		c = &cs->slot[i];
		if (c->req.ipcFd < 0)
			continue;
		if (c->until <= now && !conn_readable(c)) {
			if (c->answered == 0)
				blog_warn("dropped a FastCGI connection that "
				    "sent nothing for %d ms", FIRST_BYTE_MS);
			conn_close(cs, c);
			continue;
		}
		if (c->until < cs->next_sweep)
			cs->next_sweep = c->until;
		if (force && (oldest == NULL || c->until < oldest->until) &&
		    !conn_readable(c))
			oldest = c;
	}
	if (force && cs->n == MAX_CONNS && oldest != NULL) {
		blog_debug("%d FastCGI connections held; closed the one idle "
		    "longest", MAX_CONNS);
		conn_close(cs, oldest);
	}
}

/*
 * Accept one connection from the listen socket fd, with bounded reads and
 * writes so that a stalled peer cannot hold this worker, and add it to
 * ep: it is read when readable, and closed when it stays silent for
 * FIRST_BYTE_MS.  Returns 0, or -1 with errno set (EAGAIN also for a
 * peer that may not connect: peer.c).
 */
static int
conn_add(struct conns *cs, int ep, int fd)
{
	struct timeval tv = { CONN_TIMEOUT, 0 };
	struct epoll_event ev;
	struct conn *c;
	int i, nc, e;

	if ((nc = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return -1;
	if (peer_check(nc) == -1) {	/* not the web server: unanswered */
		close(nc);
		errno = EAGAIN;
		return -1;
	}
	metrics_inc(METRICS_CONNECTIONS);
	if (cs->n == MAX_CONNS)
		conn_sweep(cs, 1);
	if (cs->n == MAX_CONNS) {	/* every one has a request waiting */
		close(nc);
		errno = EAGAIN;
		return -1;
	}
	for (i = 0; cs->slot[i].req.ipcFd >= 0; i++)
		;
	c = &cs->slot[i];
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)i;
	if (setsockopt(nc, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(nc, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    FCGX_InitRequest(&c->req, -1, 0) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, nc, &ev) == -1) {
		e = errno;
		close(nc);
		c->req.ipcFd = -1;
		errno = e;
		return -1;
	}
	/*
	 * libfcgi reads the request from this connection instead of
	 * accepting one itself; keepConnection stops the FCGX_Finish_r()
	 * that FCGX_Accept_r() starts with from closing it (the request's
	 * own flag replaces it).  detached: close a unix connection without
	 * the lingering shutdown (see the top of this file).
	 */
	c->req.ipcFd = nc;
	c->req.keepConnection = 1;
	c->req.detached = cs->unix_socket;
	c->until = now_ms() + FIRST_BYTE_MS;
	c->answered = 0;
	cs->n++;
	if (c->until < cs->next_sweep)
		cs->next_sweep = c->until;
	return 0;
}

/*
 * Serve the request waiting on connection c.  libfcgi reads it (a
 * connection at end of file or broken is closed there), the router
 * answers, and the connection is closed unless the web server keeps it
 * (FCGI_KEEP_CONN), to be read again when the next request comes on it.
 * Returns 1 when a request was answered, 0 when there was none.
 */
static int
conn_serve(struct worker *w, struct conns *cs, struct conn *c)
{
	int rc;

	if ((rc = FCGX_Accept_r(&c->req)) < 0) {
		/*
		 * Closed by libfcgi (end of file, a broken or stalled
		 * request), which then finds no listening socket of its own
		 * (EBADF).
		 */
		if (rc != -EBADF && rc != -EAGAIN && rc != -EWOULDBLOCK &&
		    rc != -EINTR)
			blog_debug("FCGX_Accept_r: %s", rc < -4095 ?
			    "libfcgi error" : strerror(-rc));
		conn_close(cs, c);
		return 0;
	}
	route_handle(w, &c->req);	/* answers, and finishes it */
	if (c->req.ipcFd < 0)		/* closed: not kept, or broken */
		conn_close(cs, c);
	else {
		c->until = now_ms() + IDLE_MS;
		c->answered++;
	}
	return 1;
}

/*
 * Serve the connections among the n events in ev that have a request
 * waiting; the listening socket and the signalfd are the caller's.
 * Returns the requests answered.
 */
static int
conns_serve(struct worker *w, struct conns *cs, const struct epoll_event *ev,
    int n)
{
	int i, served = 0;

	for (i = 0; i < n; i++)
		if (ev[i].data.u64 < MAX_CONNS)
			served += conn_serve(w, cs, &cs->slot[ev[i].data.u64]);
	return served;
}

/*
 * Give the recorder the first claim on bootd's share of the processors.
 * With nginx keeping its connections, a worker under load always has a
 * request waiting and never sleeps; at equal weights the recorder then
 * gets a fifth of what 4 workers and it are given (systemd puts the
 * whole service in one group, as the kernel's autogroup puts a session),
 * about what it needs at bootd's rate, and whenever it fell behind for
 * 150 ms the queue filled and workers dropped events: 15,014 of 201,734
 * in one of four rounds at 100,000 hosts, 4 workers.  At nice 3 (weight
 * 526 against 1024) it gets what it needs, the workers take the rest,
 * and none was dropped in the rounds beside it, at the same req/s; nice
 * 6 lost a tenth of the req/s where nginx shares the group (bench/run).
 * A process may always raise its own nice value; bootd.service's system
 * call filter lets it through.  Failing, the worker says so and runs on.
 */
static void
yield_to_recorder(void)
{
	errno = 0;
	if (nice(WORKER_NICE) == -1 && errno != 0)
		blog_notice("nice(%d): %s; the recorder shares the processors "
		    "with the workers equally, and may fall behind them",
		    WORKER_NICE, strerror(errno));
}

int
worker_run(const struct cfg *cfg, int fd, int events)
{
	static struct worker w;		/* zeroed; one per process */
	static struct conns cs;
	struct sigaction sa;
	sigset_t block, waitmask, stops;
	struct epoll_event ev[MAX_EVENTS];
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	long served = 0;
	int64_t now;
	int ep, sfd, i, n, e, timeout, listen_ready, status = 0;

	w.cfg = cfg;
	w.events = events;
	blog_forked();
	yield_to_recorder();

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);

	if (FCGX_Init() != 0) {
		blog_err("FCGX_Init failed");
		return 1;
	}
	/* After FCGX_Init(), which installs handlers of its own. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: epoll_pwait returns */
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* reloads are the master's business */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);	/* nginx went away: EPIPE instead */
	/* libfcgi's SIGUSR1 handler would stop accepting for good. */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);

	for (i = 0; i < MAX_CONNS; i++)
		cs.slot[i].req.ipcFd = -1;
	cs.next_sweep = INT64_MAX;
	cs.unix_socket = getsockname(fd, (struct sockaddr *)&ss,
	    &sslen) == 0 && ss.ss_family == AF_UNIX;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	if ((ep = wait_open(fd, &stops, &sfd)) == -1) {
		blog_err("epoll(listen socket): %s", strerror(errno));
		return 1;
	}
	blog_debug("worker started");
	worker_db_ro(&w);		/* open early; failures are retried */

	while (!stop_requested) {
		if (cfg->daemon.max_requests > 0 &&
		    served >= cfg->daemon.max_requests) {
			blog_info("worker served %ld requests; recycling",
			    served);
			break;
		}
		timeout = -1;
		if (cs.n > 0) {
			now = now_ms();
			timeout = cs.next_sweep <= now ? 0 :
			    (int)(cs.next_sweep - now < 60000 ?
			    cs.next_sweep - now : 60000);
		}
		if ((n = wait_events(ep, ev, MAX_EVENTS, timeout,
		    &waitmask)) < 0) {
			blog_err("epoll_pwait(listen socket): %s",
			    strerror(errno));
			status = 1;		/* a death: back-off */
			break;
		}
		/*
		 * A stop that came while the worker served, first: the
		 * requests already waiting on its connections are still
		 * answered (below), but no new connection is taken.
		 */
		listen_ready = 0;
		for (i = 0; i < n; i++)
			if (ev[i].data.u64 == EV_STOP)
				stop_requested = 1;
			else if (ev[i].data.u64 == EV_LISTEN)
				listen_ready = 1;
		served += conns_serve(&w, &cs, ev, n);
		/*
		 * A new connection after the requests in hand: an idle
		 * worker, woken too, takes it meanwhile (EAGAIN here), so
		 * that a connection goes to a worker with nothing to do
		 * rather than wait behind this one's requests.
		 */
		e = 0;
		if (listen_ready && !stop_requested &&
		    conn_add(&cs, ep, fd) == -1)
			e = errno;	/* blog_err() may change errno */
		if (e != 0 && e != EAGAIN && e != EWOULDBLOCK && e != EINTR &&
		    e != ECONNABORTED) {
			blog_err("accept: %s", strerror(e));
			metrics_inc(METRICS_ERRORS);
			if (e == EMFILE || e == ENFILE || e == ENOMEM ||
			    e == ENOBUFS)
				nanosleep(&pause, NULL);
			else {
				status = 1;	/* will not pass: back-off */
				break;
			}
		}
		if (cs.n > 0 && now_ms() >= cs.next_sweep)
			conn_sweep(&cs, 0);
	}
	/*
	 * Requests nginx has already written on a kept connection are
	 * answered; the connections are closed then (nginx retries a
	 * request it sends on a kept connection that closes under it).
	 */
	if (status == 0 && cs.n > 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		n = epoll_wait(ep, ev, MAX_EVENTS, 0);
		served += conns_serve(&w, &cs, ev, n);
	}
	for (i = 0; i < MAX_CONNS; i++)
		if (cs.slot[i].req.ipcFd >= 0)
			conn_close(&cs, &cs.slot[i]);
	blog_flush();
	close(sfd);
	close(ep);
	worker_db_close(&w);
	worker_events_close(&w);
	buf_free(&w.body);
	buf_free(&w.scratch);
	blog_debug("worker exiting after %ld requests", served);
	return status;
}
