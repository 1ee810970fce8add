/*
 * bootd.h - the bootd FastCGI daemon: declarations shared by its modules
 *
 * main.c    command line, configuration, socket, privileges
 * master.c  prefork master: fork, supervise, reload, drain
 * worker.c  a worker: accept loop and database handles
 * peer.c    which local processes may connect (peer credentials)
 * route.c   routing and the request handlers
 * query.c   URL decoding and the parameter validator table
 * recorder.c the recorder process: boot events handed over, batched
 * metrics.c counters in shared memory and their exposition
 * ratelimit.c per-address buckets for failed install reports (done)
 * log.c     the logger (stderr or syslog)
 *
 * Only the functions declared here leave their file; everything else is
 * static.
 */
#ifndef BOOTD_DAEMON_H
#define BOOTD_DAEMON_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

#include <fcgiapp.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "events.h"
#include "inv.h"

/* log.c ---------------------------------------------------------------- */

/*
 * Select the destination and threshold from cfg (NULL: stderr, info).
 * May be called again after a reload.  This function can't fail.
 */
void	 blog_init(const struct cfg *cfg);
/*
 * A worker or the recorder, just forked: remember its pid for the log
 * lines it writes (one getpid(2) less per line).  Can't fail.
 */
void	 blog_forked(void);
/* Would a line at syslog priority prio be logged?  Can't fail. */
int	 blog_enabled(int prio);
/*
 * Log one line at syslog priority prio.  Every byte that is not printable
 * ASCII (control characters, DEL, 0x80 and up) becomes '?'.
 */
void	 blog_line(int prio, const char *msg);	/* no formatting */
/*
 * As blog_line(), but to stderr the line may be held and written later
 * with others (log.c says when): for the line of each boot.
 */
void	 blog_held(int prio, const char *msg);
/* Write the lines held now; whether any are.  Can't fail. */
void	 blog_flush(void);
int	 blog_pending(void);
/*
 * As blog_line(), the message formatted as printf(3) does; a NUL that
 * formatting writes ("%c" of 0) becomes '?' too, the line whole.
 */
void	 blog(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * A startup failure: logged at err level and, when the log goes to
 * syslog, also printed to stderr as "bootd: MESSAGE".
 */
void	 blog_fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#define blog_err(...)	blog(LOG_ERR, __VA_ARGS__)
#define blog_warn(...)	blog(LOG_WARNING, __VA_ARGS__)
#define blog_notice(...) blog(LOG_NOTICE, __VA_ARGS__)
#define blog_info(...)	blog(LOG_INFO, __VA_ARGS__)
#define blog_debug(...)	blog(LOG_DEBUG, __VA_ARGS__)

/* metrics.c ------------------------------------------------------------ */

enum metrics_route {
	METRICS_ROUTE_CONFIG,
	METRICS_ROUTE_DONE,
	METRICS_ROUTE_HEALTH,
	METRICS_ROUTE_METRICS,
	METRICS_ROUTE_OTHER,
	METRICS_ROUTE__MAX
};

enum metrics_action {
	METRICS_ACTION_INSTALL,
	METRICS_ACTION_LOCAL,
	METRICS_ACTION_UNKNOWN,
	METRICS_ACTION_FAILSAFE,
	METRICS_ACTION__MAX
};

enum metrics_counter {
	METRICS_WORKER_RESTARTS,	/* workers that died and were replaced */
	METRICS_RECORDER_RESTARTS,	/* recorders that died and were replaced */
	METRICS_EVENTS_HANDED,		/* boot events handed to the recorder */
	METRICS_EVENTS_RECORDED,	/* boot events written by the recorder */
	METRICS_EVENTS_DROPPED,		/* boot events not recorded (any stage) */
	METRICS_EVENTS_LOST,		/* of those, dropped after handover */
	METRICS_EVENTS_MALFORMED,	/* datagrams the recorder refused */
	METRICS_EVENTS_EVICTED,		/* stored rows removed by a cap */
	METRICS_FETCH_NOTES,		/* install fetches noted on tokens */
	METRICS_ERRORS,			/* inventory, render, system errors */
	METRICS_DONE_ADDRESS_MISMATCH,	/* done from another address than
					 * the install script's fetch */
	METRICS_DONE_RATE_LIMITED,	/* done refused with 429 */
	METRICS_CONNECTIONS,		/* FastCGI connections accepted */
	METRICS_PEERS_REFUSED,		/* FastCGI connections closed: the
					 * peer may not connect (peer.c) */
	METRICS_COUNTER__MAX
};

/*
 * Map the shared segment (before any fork).  Returns -1 with errno set
 * when mmap(2) fails.
 */
int	 metrics_init(void);
/* One answered request: its route, HTTP status and duration. */
void	 metrics_request(enum metrics_route route, int status, uint64_t usec);
void	 metrics_script(enum metrics_action action);
void	 metrics_inc(enum metrics_counter counter);
void	 metrics_add(enum metrics_counter counter, uint64_t n);
void	 metrics_set_workers(int n);
#define METRICS_RECORDER_SLOTS	MASTER_CHILDREN	/* one per child slot */
/*
 * The recorder in slot (its child slot in the master, 0 to
 * METRICS_RECORDER_SLOTS - 1) now holds n events it took from the queue
 * and has not written yet; a batch of n events was written (recorded) or
 * not (dropped).
 */
void	 metrics_recorder_held(int slot, uint64_t n);
void	 metrics_recorder_batch(int slot, uint64_t n, int recorded);
/*
 * The recorder in slot ended: the events it still held are lost, counted
 * as dropped.  Returns how many.  Called by the master after reaping it.
 */
uint64_t metrics_recorder_died(int slot);
/*
 * Append the Prometheus text exposition (format 0.0.4) to out.  counts
 * (inventory) and ecounts (events database) may be NULL when that file
 * cannot be read: its gauges are left out.
 */
void	 metrics_write(struct buf *out, const struct inv_counts *counts,
	    const struct events_counts *ecounts);

/* ratelimit.c ---------------------------------------------------------- */

/* Now on CLOCK_MONOTONIC, in milliseconds (workers' pacing too). */
int64_t	 now_ms(void);

/*
 * Map the shared table of per-address buckets (before any fork).  Returns
 * -1 with errno set when mmap(2) or the lock's setup fails.  Until it is
 * called nothing is limited.
 */
int	 ratelimit_init(void);
/*
 * Take one attempt from the bucket of client address addr (REMOTE_ADDR;
 * NULL or "" share one bucket), checking and taking in one step under the
 * table's lock.  Each address holds at most burst attempts, refilled at
 * rate a minute; rate 0 means no limit.  Returns 1 when it may go on (an
 * attempt was taken, or nothing is limited), 0 when its bucket is empty
 * (nothing taken).  An attempt that did not fail on the client's side is
 * handed back with ratelimit_give_back().
 */
int	 ratelimit_take(const char *addr, int rate, int burst);
/*
 * Give back to addr's bucket the attempt ratelimit_take() took, never
 * beyond burst.  This function can't fail.
 */
void	 ratelimit_give_back(const char *addr, int rate, int burst);

/* query.c -------------------------------------------------------------- */

#define QUERY_VALUE_MAX	128	/* longest accepted decoded value */

/* The parameters bootd knows; everything else is ignored. */
enum query_param {
	QUERY_MAC,
	QUERY_PLATFORM,
	QUERY_BUILDARCH,
	QUERY_UUID,
	QUERY_SERIAL,
	QUERY_ASSET,
	QUERY_MANUFACTURER,
	QUERY_PRODUCT,
	QUERY_HOSTNAME,
	QUERY_TOKEN,
	QUERY__MAX
};

/* A decoded query: fixed storage, no allocation. */
struct query {
	char		v[QUERY__MAX][QUERY_VALUE_MAX + 1]; /* decoded values */
	unsigned char	set[QUERY__MAX];	/* parameter seen, non-empty */
	unsigned char	dropped[QUERY__MAX];	/* informational parameter
						 * refused and left out */
};

/*
 * Decode the application/x-www-form-urlencoded string s of len bytes
 * ("a=1&b=%3A+x") into q.  Known parameters are checked by their validator
 * (the MAC is stored in canonical form); unknown ones are ignored; an empty
 * value counts as absent.  mac and token are strict: a malformed escape, a
 * NUL, a value too long or not printable, a value the validator refuses,
 * or the parameter given twice makes the call return BOOTD_EINVAL with a
 * one-line reason in err.  The other parameters only describe the client
 * (platform, SMBIOS strings...) and are recorded, never placed in a
 * script: such a value is left out and marked in q->dropped instead, so
 * that an odd SMBIOS string cannot keep a machine from booting.  Names are
 * never decoded: a name holding '%' or '+' ("ma%63=...") is BOOTD_EINVAL.
 */
enum bootd_err	 query_parse(const char *s, size_t len, struct query *q,
		    struct bootd_error *err);
/* The name of a parameter, e.g. "mac".  This function can't fail. */
const char	*query_name(enum query_param p);
/*
 * Append the client parameters worth recording ("platform=efi
 * product=Standard%20PC" ...: every set parameter except mac and token,
 * space and '%' percent-encoded) to out.
 */
void		 query_format_params(const struct query *q, struct buf *out);
/*
 * Write the names of the dropped parameters, comma-separated, into out
 * (size bytes, at least 1); "" when none were dropped.  Can't fail.
 */
void		 query_format_dropped(const struct query *q, char *out,
		    size_t size);

/* peer.c --------------------------------------------------------------- */

/*
 * Resolve daemon.peer_users and daemon.peer_groups for the listen socket
 * fd (their default, both empty: the socket file's owner and group) and
 * make them the policy peer_check() applies in this process and the
 * workers it forks from now on.  fd -1 (bootd -t): only check that the
 * names exist and suit daemon.listen, changing nothing.  Returns BOOTD_OK,
 * or an error with a one-line reason (an unknown name, the lists with a
 * TCP socket), the policy then unchanged.
 */
enum bootd_err	 peer_config(const struct cfg *cfg, int fd,
		    struct bootd_error *err);
/*
 * May the peer of the accepted unix connection conn speak FastCGI to us?
 * Returns 0 yes, -1 no: counted (bootd_peers_refused_total) and logged
 * at a bounded rate; the caller closes conn.  Always 0 on a TCP socket.
 */
int		 peer_check(int conn);

/* worker.c ------------------------------------------------------------- */

/* One worker's state: configuration, database handles, reused buffers. */
struct worker {
	const struct cfg *cfg;		/* borrowed from the master's copy */
	int		 events;	/* writing end of the recorder queue */
	struct inv	*ro;		/* lookups, from cfg->database; NULL
					 * until opened */
	struct inv	*rw;		/* install reports, to
					 * cfg->database_write; NULL until
					 * opened */
	struct events	*ev;		/* events database, read-only, for the
					 * metrics; NULL until opened */
	/*
	 * A PostgreSQL handle that failed to open is not tried again
	 * before this time (CLOCK_MONOTONIC, milliseconds).
	 */
	int64_t		 ro_next;
	int64_t		 rw_next;
	int64_t		 ev_next;
	/*
	 * When the read handle, open on a PostgreSQL primary rather than
	 * a standby (the standby was down), is closed to look for a
	 * standby again (CLOCK_MONOTONIC, milliseconds).
	 */
	int64_t		 ro_recheck;
	/* A read handle on a standby: when its replay is checked next, and
	 * the position it had then (worker.c, replay_stuck()). */
	int64_t		 lag_check;
	int64_t		 lag_replayed;
	struct buf	 body;		/* response body, reset per request */
	struct buf	 scratch;	/* boot event parameters etc. */
	char		 dberr[512];	/* why reads are unavailable, "" */
	char		 rwerr[512];	/* why writes are unavailable, "" */
	char		 everr[256];	/* why the events database is, "" */
};

/*
 * Run the accept loop on listen fd until told to stop (SIGTERM, SIGINT)
 * or after cfg->daemon.max_requests requests, handing boot events to the
 * recorder over events (recorder_send()).  Returns the exit status for
 * the worker process.
 */
int		 worker_run(const struct cfg *cfg, int fd, int events);
/*
 * The read handle (cfg->database), opened or reopened as needed (deleted
 * or replaced file, connection closed by worker_db_failed()).  NULL when
 * the database cannot be opened; w->dberr says why.  For a PostgreSQL
 * URI, an open that failed is tried again at most once a second
 * (WORKER_REOPEN_MS): until then NULL at once, so that a server that is
 * down does not cost every request a connection attempt.
 */
struct inv	*worker_db_ro(struct worker *w);
/*
 * The write handle (cfg->database_write), likewise, opened when first
 * needed and kept: for install reports only, so it waits up to 5 s on a
 * locked inventory.  NULL with the reason in w->rwerr.
 */
struct inv	*worker_db_rw(struct worker *w);
#define WORKER_REOPEN_MS	1000
/*
 * PostgreSQL: how long one statement may wait for its server before the
 * connection is given up and the next use connects again, libpq picking
 * among the URI's servers (inv_set_deadline()).  A boot's reads are one
 * indexed lookup, well under a millisecond, with at most LOOKUP_WAIT_MS on
 * a lock: past 1.5 s the machine boots its disk (the fail-safe script)
 * rather than wait.  Writes (done, the recorder's batches) wait up to
 * 5 s on the writers' lock and then commit, maybe for a synchronous
 * standby: 10 s, under nginx's fastcgi_read_timeout (15 s), so that an
 * installer gets bootd's 503 and retries.
 */
#define LOOKUP_DEADLINE_MS	1500
#define WRITE_DEADLINE_MS	10000
/*
 * A call on inv (w->ro or w->rw) failed with rc: close that handle when
 * it can no longer serve (a PostgreSQL connection lost, no server, or a
 * write on a standby: inv_unavailable(); any BOOTD_EDB for SQLite), so
 * that the next use opens a new one, on the server libpq then picks.
 * Returns 1 when it closed the handle, else 0.  Can't fail.
 */
int		 worker_db_failed(struct worker *w, struct inv *inv,
		    enum bootd_err rc);
/* Close both handles, so that the next request reopens them. */
void		 worker_db_close(struct worker *w);
/*
 * Whether every name of menu.manual_dists is a distribution of inv.
 * Returns 0, or -1 with the reason in e: the first name missing
 * ("menu.manual_dists: no distribution ..."), or why inv could not be
 * read.  bootd -t refuses on -1; a worker logs it when it opens the
 * inventory, and menus leave that entry out.
 */
int		 worker_manual_dists_check(struct inv *inv,
		    const struct cfg *cfg, struct bootd_error *e);
/*
 * The events database, opened read-only on first use, for the metrics (the
 * recorder creates and writes it); with PostgreSQL, where the inventory is
 * read when the events are in its database (the default).  NULL when it does
 * not exist yet or cannot be opened; the next call tries again (for a URI at
 * most once a second).
 */
struct events	*worker_events(struct worker *w);
/*
 * A call on the events handle failed: close it when it can no longer
 * serve (events_unavailable()), so that the next use reopens it.
 */
void		 worker_events_failed(struct worker *w);
/* Close the events handle, so that the next use reopens it. */
void		 worker_events_close(struct worker *w);

/* recorder.c ----------------------------------------------------------- */

/*
 * Make the queue boot events travel through, a pipe: fds[0] is the
 * reading end (the recorder's), fds[1] the writing end (the workers'),
 * both non-blocking, as large as the kernel lets this process make it.
 * Returns -1 with errno set on failure.
 */
int		 recorder_queue(int fds[2]);
/*
 * Hand ev over to the recorder through the writing end fd, never waiting.
 * Returns 0 when handed over, -1 when dropped (queue full, a field too
 * long); either way it is counted.  This function never blocks.
 */
int		 recorder_send(int fd, const struct events_event *ev);
/*
 * Count, and take out, the records still in the queue's reading end fd:
 * the master calls it when it exits with nobody left to write them.
 */
long		 recorder_leftover(int fd);
/*
 * The recorder process: read events from the reading end fd and write
 * them in batches until SIGTERM/SIGINT, then write what is left in the
 * queue and exit.  slot names its counters (metrics_recorder_held()).
 * Returns the exit status for the process.
 */
int		 recorder_run(const struct cfg *cfg, int fd, int slot);

/* intake.c ------------------------------------------------------------- */

/*
 * The length of the record whose head is at p (the intake hands it
 * head_size bytes at least), or 0 when p is not a record head.
 */
typedef size_t	(*intake_frame_fn)(const unsigned char *p);
struct intake;
/*
 * Start a thread that reads the pipe's reading end fd into cap bytes of
 * memory, framed by frame, whenever its caller has not read for a while,
 * and publishes the records it holds, with the caller's (intake_held()),
 * in slot.  NULL on failure, errno set.
 */
struct intake	*intake_start(int fd, int slot, size_t cap, size_t head_size,
		    intake_frame_fn frame);
/*
 * As read(2) of the pipe: the next bytes the pipe gave, in order, at
 * most size, from memory first; -1 with EAGAIN when none are waiting; 0
 * at the pipe's end of file.  Whole records it takes from memory count
 * as the caller's held until the next intake_held().
 */
ssize_t		 intake_read(struct intake *q, unsigned char *buf, size_t size);
/*
 * The caller is about to wait on the pipe itself: 1, and the intake
 * sleeps until intake_busy(); or 0 when the intake holds bytes the
 * caller has not read yet, to be read first.
 */
int		 intake_idle(struct intake *q);
/* The caller is done waiting on the pipe. */
void		 intake_busy(struct intake *q);
/* The caller now holds n events: publish them with the intake's. */
void		 intake_held(struct intake *q, uint64_t n);
/* Bytes waiting for intake_read(): in memory and in the pipe. */
size_t		 intake_waiting(struct intake *q);
/* End the thread; what it holds is still read by intake_read(). */
void		 intake_stop(struct intake *q);
/* Stop, and free q and what it holds.  q may be NULL. */
void		 intake_free(struct intake *q);

/* route.c -------------------------------------------------------------- */

/*
 * Answer one accepted request: route, handle, respond, hand the boot event
 * to the recorder (never waiting), finish the request (FCGX_Finish_r), log
 * one line and count it.
 */
void		 route_handle(struct worker *w, FCGX_Request *req);

/* master.c ------------------------------------------------------------- */

/*
 * The master's child slots: the most children it can have at once is
 * during a reload at the largest daemon.workers, when the new generation
 * starts while every worker of the old one is still running, beside the
 * one recorder (the new one starts only once the old one has exited:
 * master.c fill()).  A reload while an earlier one is still draining
 * starts the rest of its workers as the older ones exit.
 */
#define MASTER_CHILDREN		(2 * CFG_WORKERS_MAX + 1)

/*
 * Supervise workers on listen fd and the recorder on the event socket
 * events (from recorder_socket()) until SIGTERM/SIGINT, reloading the
 * configuration from cfgpath (may be NULL: environment, then default) on
 * SIGHUP.  Takes ownership of cfg.  Returns the process exit status.
 */
int		 master_run(struct cfg *cfg, const char *cfgpath, int fd,
		    const int events[2]);
/*
 * dbdir_check() of the database and the events database that are paths
 * (a PostgreSQL URI has no directory to check): what a start and a
 * reload require.  Returns BOOTD_OK or dbdir_check()'s error.
 */
enum bootd_err	 master_dbdir_check(const struct cfg *cfg,
		    struct bootd_error *err);

#endif /* BOOTD_DAEMON_H */
