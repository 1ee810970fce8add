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
 * worker waits on its own epoll instance holding the listening socket
 * with EPOLLEXCLUSIVE, so a new connection wakes one idle worker, not all
 * of them: with pselect(2) every idle worker woke, and all but one found
 * nothing to accept, two wasted system calls and a context switch each,
 * on the cores the busy workers and nginx need (and under SCHED_BATCH the
 * one woken does not preempt nginx: master.c, run_as_batch()).  The
 * listening socket is non-blocking: when another worker took the
 * connection, accept4(2) fails with EAGAIN and the loop waits again.
 * libfcgi is given no listening socket (-1): it reads the connection
 * accept_conn() hands it, and when that one fails it returns instead of
 * accepting the next connection itself, which would skip the peer check
 * and the timeouts below.
 * FCGX_ShutdownPending() is not used: libfcgi then reads EOF on every
 * read, which would cut the request in hand short instead of finishing it.
 * A new connection that stays silent for FIRST_BYTE_MS is dropped before
 * libfcgi reads it, so an idle peer on the socket holds a worker for two
 * seconds, not for the ten of CONN_TIMEOUT.
 * The FastCGI connection is closed after each request (nginx's default,
 * fastcgi_keep_conn off); a kept connection would be read with signals
 * blocked.  On a unix socket it is closed at once: libfcgi's lingering
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
 * The epoll instance a worker waits on for connections to fd: one idle
 * worker is woken per connection (EPOLLEXCLUSIVE; kernels before 4.5
 * refuse the flag and wake every waiter, as pselect(2) did), and *sfd, a
 * signalfd of the signals in stops, for a stop that came while it was
 * busy (see the top of this file).  Returns it, or -1 with errno set.
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
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = fd;
	rc = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	if (rc == -1 && errno == EINVAL) {
		ev.events = EPOLLIN;
		rc = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	if (rc == 0 && (*sfd = signalfd(-1, stops, SFD_CLOEXEC |
	    SFD_NONBLOCK)) == -1)
		rc = -1;
	if (rc == 0) {
		ev.events = EPOLLIN;
		ev.data.fd = *sfd;
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
 * Wait until the listening socket of epoll instance ep is readable or a
 * signal arrives.  Signals are unblocked only inside epoll_pwait(2); one
 * that came before, while the worker served, shows on sfd.  The log lines
 * of boots held (log.c) are written before the worker waits, not while
 * connections wait for it.  Returns 1 when readable, 0 when stopped or
 * interrupted, -1 on error.
 */
static int
wait_readable(int ep, int sfd, const sigset_t *waitmask)
{
	struct epoll_event ev[2];
	int i, n;

	n = epoll_pwait(ep, ev, 2, blog_pending() ? 0 : -1, waitmask);
	if (n == 0) {
		blog_flush();
		n = epoll_pwait(ep, ev, 2, -1, waitmask);
	}
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (i = 0; i < n; i++)
		if (ev[i].data.fd == sfd)
			stop_requested = 1;	/* pending: left so */
	return n > 0 && !stop_requested;
}

/*
 * Accept one connection from the listen socket fd, with bounded reads and
 * writes so that a stalled peer cannot hold this worker, and wait at most
 * FIRST_BYTE_MS for its first bytes.  Returns the connection, or -1 with
 * errno set (EAGAIN also for a connection dropped as silent, or from a
 * peer that may not connect: peer.c).
 */
static int
accept_conn(int fd)
{
	struct timeval tv = { CONN_TIMEOUT, 0 };
	struct pollfd pfd;
	int c, e, n;

	if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return -1;
	if (peer_check(c) == -1) {	/* not the web server: unanswered */
		close(c);
		errno = EAGAIN;
		return -1;
	}
	if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		e = errno;
		close(c);
		errno = e;
		return -1;
	}
	pfd.fd = c;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, FIRST_BYTE_MS)) == -1 && errno == EINTR)
		;
	if (n == 0) {
		blog_warn("dropped a FastCGI connection that sent nothing for "
		    "%d ms", FIRST_BYTE_MS);
		close(c);
		errno = EAGAIN;
		return -1;
	}
	return c;		/* readable, closed or failed: libfcgi sees */
}

int
worker_run(const struct cfg *cfg, int fd, int events)
{
	static struct worker w;		/* zeroed; one per process */
	struct sigaction sa;
	sigset_t block, waitmask, stops;
	FCGX_Request req;
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	long served = 0;
	int conn, ep, sfd, rc, status = 0, unix_socket;

	w.cfg = cfg;
	w.events = events;
	blog_forked();

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

	unix_socket = getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    ss.ss_family == AF_UNIX;
	if (FCGX_InitRequest(&req, -1, 0) != 0) {
		blog_err("FCGX_InitRequest failed");
		return 1;
	}
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
		/*
		 * A connection the web server kept open (FastCGI keep-conn)
		 * carries the next request: read it from there.
		 */
		if (req.ipcFd < 0) {
			if ((rc = wait_readable(ep, sfd, &waitmask)) == 0)
				continue;
			if (rc < 0) {
				blog_err("epoll_pwait(listen socket): %s",
				    strerror(errno));
				status = 1;	/* a death: back-off */
				break;
			}
			if ((conn = accept_conn(fd)) == -1) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
				    errno == EINTR || errno == ECONNABORTED)
					continue;
				blog_err("accept: %s", strerror(errno));
				metrics_inc(METRICS_ERRORS);
				if (errno == EMFILE || errno == ENFILE ||
				    errno == ENOMEM || errno == ENOBUFS) {
					nanosleep(&pause, NULL);
					continue;
				}
				status = 1;	/* will not pass: back-off */
				break;
			}
			/*
			 * Hand the connection to libfcgi, which then reads
			 * the request from it instead of accepting one
			 * itself; keepConnection stops the FCGX_Finish_r()
			 * that FCGX_Accept_r() starts with from closing it
			 * (the request's own flag replaces it).  detached:
			 * close a unix connection without the lingering
			 * shutdown (see the top of this file).
			 */
			req.ipcFd = conn;
			req.keepConnection = 1;
			req.detached = unix_socket;
		}
		if ((rc = FCGX_Accept_r(&req)) < 0) {
			/*
			 * A broken or stalled connection, closed by libfcgi,
			 * which then finds no listening socket of its own
			 * (EBADF): the next one comes through accept_conn().
			 */
			if (rc != -EBADF && rc != -EAGAIN &&
			    rc != -EWOULDBLOCK && rc != -EINTR)
				blog_debug("FCGX_Accept_r: %s", rc < -4095 ?
				    "libfcgi error" : strerror(-rc));
			continue;
		}
		route_handle(&w, &req);
		served++;
	}
	FCGX_Finish_r(&req);
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
