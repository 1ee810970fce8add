/*
 * master.c - the bootd prefork master: fork workers and the recorder,
 * supervise, reload, drain
 *
 * The master's children are daemon.workers workers and one recorder
 * (recorder.c), which writes the boot events the workers hand it through
 * the pipe the master made before forking and holds for its whole life.
 * The master keeps its signals blocked and takes them one at a time with
 * sigtimedwait(2), so there is no asynchronous handler and no race:
 *   SIGCHLD         reap; a worker or recorder of the current generation
 *                   that died is replaced (with back-off when they die in
 *                   a loop: workers and the recorder each have their own);
 *                   the events a dead recorder held are counted as dropped;
 *   SIGHUP          reload the configuration; on success start a new
 *                   generation of workers with it and tell the old ones
 *                   to stop (a worker finishes its current request, the
 *                   recorder writes what it read); the new recorder
 *                   starts once the old one has exited, the pipe holding
 *                   the events in between; on error keep the old
 *                   configuration;
 *   SIGTERM/SIGINT  tell every worker to stop, wait up to drain_timeout
 *                   seconds, SIGKILL the stragglers; only then tell the
 *                   recorder to stop, so that it writes every event the
 *                   workers handed over, wait for it up to drain_timeout
 *                   seconds, exit 0.
 * The master never opens the database.
 *
 * bootd runs under SCHED_BATCH (run_as_batch()), its children with it.
 */
#define _GNU_SOURCE		/* SCHED_BATCH */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootd.h"
#include "db.h"
#include "dbdir.h"

#define DEATH_WINDOW	10	/* seconds: deaths counted over this... */
#define DEATH_LIMIT	5	/* ...above this many means back off */
#define BACKOFF_MAX	30	/* seconds */

_Static_assert(MASTER_CHILDREN >= 2 * CFG_WORKERS_MAX + 1,
    "a reload at the largest daemon.workers fits: two generations and the "
    "recorder");
_Static_assert(MASTER_CHILDREN <= METRICS_RECORDER_SLOTS,
    "every child slot has its recorder counters");

enum role {
	ROLE_WORKER,
	ROLE_RECORDER
};

static const char *const role_names[] = { "worker", "recorder" };

struct child {
	pid_t		pid;		/* 0: free slot */
	unsigned	gen;		/* configuration generation */
	enum role	role;
	int		stopping;	/* told to stop (SIGTERM sent) */
};

/* Deaths of one role, and when it may be started again. */
struct backoff {
	time_t		 deaths[DEATH_LIMIT + 1]; /* ring of death times */
	size_t		 ndeaths;
	int		 wait;		/* seconds; 0 = none */
	time_t		 next_spawn;	/* no spawning before this... */
	time_t		 next_floor;	/* ...but for one worker, after this */
};

struct master {
	struct cfg	*cfg;
	const char	*cfgpath;
	int		 fd;
	int		 events[2];	/* recorder queue: reading, writing end */
	unsigned	 gen;
	int		 want;		/* workers of the current generation */
	struct child	 children[MASTER_CHILDREN];
	struct backoff	 bo[2];		/* by enum role */
	int		 draining;	/* 1: workers, 2: then the recorder */
	time_t		 deadline;	/* draining: SIGKILL after this */
};

static time_t
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int
nworkers(int configured)
{
	long n;

	if (configured > 0)
		return configured;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CFG_WORKERS_MAX ? CFG_WORKERS_MAX : (int)n;
}

/* Live children of role of the current generation not told to stop. */
static int
count_current(const struct master *m, enum role role)
{
	int i, n = 0;

	for (i = 0; i < MASTER_CHILDREN; i++)
		if (m->children[i].pid != 0 && m->children[i].gen == m->gen &&
		    m->children[i].role == role && !m->children[i].stopping)
			n++;
	return n;
}

/* Live children of role, of any generation. */
static int
count_all(const struct master *m, enum role role)
{
	int i, n = 0;

	for (i = 0; i < MASTER_CHILDREN; i++)
		if (m->children[i].pid != 0 && m->children[i].role == role)
			n++;
	return n;
}

/* Fork one worker or recorder.  Returns 0, or -1 (logged) on failure. */
static int
spawn(struct master *m, enum role role)
{
	struct child *c = NULL;
	pid_t pid, master = getpid();
	int i;

	for (i = 0; i < MASTER_CHILDREN && c == NULL; i++)
		if (m->children[i].pid == 0)
			c = &m->children[i];
	if (c == NULL) {
		blog_err("fork: all %d child slots taken (workers still "
		    "draining after a reload); not starting more",
		    MASTER_CHILDREN);
		return -1;
	}
	if ((pid = fork()) == -1) {
		blog_err("fork: %s", strerror(errno));
		metrics_inc(METRICS_ERRORS);
		return -1;
	}
	if (pid == 0) {
		/*
		 * If the master dies, do not live on with nobody watching:
		 * SIGTERM then (blocked until the child's handler is set).
		 * A master that died before the request, after fork(), sends
		 * nothing: this process was already handed to another parent.
		 */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master)
			_exit(1);
		if (role == ROLE_RECORDER) {
			close(m->fd);
			close(m->events[1]);
			_exit(recorder_run(m->cfg, m->events[0],
			    (int)(c - m->children)));
		}
		close(m->events[0]);
		_exit(worker_run(m->cfg, m->fd, m->events[1]));
	}
	c->pid = pid;
	c->gen = m->gen;
	c->role = role;
	c->stopping = 0;
	return 0;
}

/*
 * Start workers until the current generation is complete.  While backing
 * off, still keep one worker, started at most once a second: machines
 * must get answers even when something keeps killing workers.
 */
static void
fill(struct master *m)
{
	struct backoff *bo = &m->bo[ROLE_WORKER];
	time_t now = now_mono();

	if (m->draining)
		return;
	if (now < bo->next_spawn) {
		if (count_current(m, ROLE_WORKER) == 0 &&
		    now >= bo->next_floor) {
			bo->next_floor = now + 1;
			blog_notice("backing off, but keeping one worker");
			spawn(m, ROLE_WORKER);
		}
	} else
		while (count_current(m, ROLE_WORKER) < m->want)
			if (spawn(m, ROLE_WORKER) == -1)
				break;
	/*
	 * One recorder at a time, of any generation: after a reload the new
	 * one starts once the old one has written what it read and exited,
	 * so that two never split a record of the pipe between them.  While
	 * there is none (or it backs off), events queue, then drop.
	 */
	if (count_all(m, ROLE_RECORDER) == 0 &&
	    now >= m->bo[ROLE_RECORDER].next_spawn)
		spawn(m, ROLE_RECORDER);
	metrics_set_workers(count_current(m, ROLE_WORKER));
}

/*
 * Send sig to every child of role not of generation keep (0: to all of
 * that role).
 */
static void
signal_children(struct master *m, enum role role, int sig, unsigned keep)
{
	int i;

	for (i = 0; i < MASTER_CHILDREN; i++) {
		struct child *c = &m->children[i];

		if (c->pid == 0 || c->role != role ||
		    (keep != 0 && c->gen == keep))
			continue;
		if (sig == SIGTERM)
			c->stopping = 1;
		kill(c->pid, sig);
	}
}

/* A child died unexpectedly: count it and back off if it keeps up. */
static void
note_death(struct master *m, enum role role)
{
	struct backoff *bo = &m->bo[role];
	time_t now = now_mono(), oldest;

	metrics_inc(role == ROLE_WORKER ? METRICS_WORKER_RESTARTS :
	    METRICS_RECORDER_RESTARTS);
	bo->deaths[bo->ndeaths++ % (DEATH_LIMIT + 1)] = now;
	if (bo->ndeaths <= DEATH_LIMIT) {
		bo->wait = 0;
		return;
	}
	oldest = bo->deaths[bo->ndeaths % (DEATH_LIMIT + 1)];
	if (now - oldest > DEATH_WINDOW) {
		bo->wait = 0;
		return;
	}
	bo->wait = bo->wait == 0 ? 1 : bo->wait * 2;
	if (bo->wait > BACKOFF_MAX)
		bo->wait = BACKOFF_MAX;
	bo->next_spawn = now + bo->wait;
	blog_err("more than %d %ss died within %d s; waiting %d s "
	    "before starting another", DEATH_LIMIT, role_names[role],
	    DEATH_WINDOW, bo->wait);
}

/*
 * The recorder in slot c ended: what it held and did not write is lost;
 * count it.
 */
static void
recorder_gone(const struct master *m, const struct child *c, pid_t pid)
{
	uint64_t lost = metrics_recorder_died((int)(c - m->children));

	if (lost > 0)
		blog_err("recorder %ld ended holding %ju boot events; counted "
		    "as dropped", (long)pid, (uintmax_t)lost);
}

/* Reap every exited child. */
static void
reap(struct master *m)
{
	struct child *c;
	const char *what;
	pid_t pid;
	int i, st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (c = NULL, i = 0; i < MASTER_CHILDREN && c == NULL; i++)
			if (m->children[i].pid == pid)
				c = &m->children[i];
		if (c == NULL)
			continue;
		c->pid = 0;
		what = role_names[c->role];
		if (c->role == ROLE_RECORDER)
			recorder_gone(m, c, pid);
		if (c->stopping || m->draining) {
			blog_debug("%s %ld stopped", what, (long)pid);
			continue;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			blog_debug("%s %ld recycled", what, (long)pid);
			continue;
		}
		if (WIFSIGNALED(st))
			blog_err("%s %ld killed by signal %d; replacing it",
			    what, (long)pid, WTERMSIG(st));
		else
			blog_err("%s %ld exited with status %d; replacing "
			    "it", what, (long)pid, WEXITSTATUS(st));
		note_death(m, c->role);
	}
	metrics_set_workers(count_current(m, ROLE_WORKER));
}

/* SIGKILL every child of role and reap it. */
static void
kill_all(struct master *m, enum role role)
{
	struct child *c;
	int i;

	for (i = 0; i < MASTER_CHILDREN; i++) {
		c = &m->children[i];
		if (c->pid == 0 || c->role != role)
			continue;
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
			;
		if (role == ROLE_RECORDER)
			recorder_gone(m, c, c->pid);
		c->pid = 0;
	}
}

enum bootd_err
master_dbdir_check(const struct cfg *cfg, struct bootd_error *err)
{
	enum bootd_err rc;

	if (!db_is_uri(cfg->database) &&
	    (rc = dbdir_check(cfg->database, NULL, err)) != BOOTD_OK)
		return rc;
	if (!db_is_uri(cfg->events_database) &&
	    (rc = dbdir_check(cfg->events_database, NULL, err)) != BOOTD_OK)
		return rc;
	return BOOTD_OK;
}

/* SIGHUP: reload; on success replace the workers gracefully. */
static void
reload(struct master *m)
{
	struct bootd_error e;
	struct cfg *ncfg;

	if (cfg_load(m->cfgpath, &ncfg, &e) != BOOTD_OK) {
		blog_err("reload failed, keeping the running configuration: %s",
		    e.text);
		return;
	}
	/* New database paths pass the checks a start makes (main.c). */
	if (master_dbdir_check(ncfg, &e) != BOOTD_OK ||
	    peer_config(ncfg, m->fd, &e) != BOOTD_OK) {
		blog_err("reload failed, keeping the running configuration: %s",
		    e.text);
		cfg_free(ncfg);
		return;
	}
	if (strcmp(ncfg->daemon.listen, m->cfg->daemon.listen) != 0 ||
	    strcmp(ncfg->daemon.user, m->cfg->daemon.user) != 0 ||
	    strcmp(ncfg->daemon.group, m->cfg->daemon.group) != 0)
		blog_warn("reload: daemon.listen, daemon.user and daemon.group "
		    "take effect at the next restart");
	cfg_free(m->cfg);
	m->cfg = ncfg;
	blog_init(m->cfg);
	m->gen++;
	m->want = nworkers(m->cfg->daemon.workers);
	memset(m->bo, 0, sizeof(m->bo));
	/*
	 * New workers first, so that someone always accepts; the new
	 * recorder follows the old one (fill()), the queue holding events
	 * in between.
	 */
	fill(m);
	signal_children(m, ROLE_WORKER, SIGTERM, m->gen);
	signal_children(m, ROLE_RECORDER, SIGTERM, m->gen);
	blog_info("configuration reloaded; %d workers started",
	    count_current(m, ROLE_WORKER));
}

/*
 * Count, and log, the events still queued when the master exits: nobody
 * is left to write them.
 */
static void
count_leftover(struct master *m)
{
	long n = recorder_leftover(m->events[0]);

	if (n > 0) {
		metrics_add(METRICS_EVENTS_DROPPED, (uint64_t)n);
		blog_err("%ld boot events still queued at exit were not "
		    "recorded", n);
	}
}

/* The name of a scheduling policy, for the log. */
static const char *
policy_name(int policy)
{
	switch (policy & ~SCHED_RESET_ON_FORK) {
	case SCHED_OTHER:
		return "SCHED_OTHER";
	case SCHED_BATCH:
		return "SCHED_BATCH";
	case SCHED_IDLE:
		return "SCHED_IDLE";
	case SCHED_FIFO:
		return "SCHED_FIFO";
	case SCHED_RR:
		return "SCHED_RR";
	default:
		return "(unknown)";
	}
}

/*
 * Run bootd, and so every child forked from here on, under SCHED_BATCH
 * (sched(7)), unless it was started under another policy: bootd.service
 * sets the same with CPUSchedulingPolicy=batch, as its system call filter
 * refuses this call, and an operator's chrt(1) is kept.  A reset-on-fork
 * flag it was given stays set (a process that is not root may not clear
 * it).  A task of SCHED_BATCH does not preempt the running one when it
 * wakes.  A worker wakes for every connection that finds it idle, and
 * under SCHED_OTHER it took the core from nginx at once, in the middle of
 * nginx's event loop: nginx's other requests waited for the answer, the
 * worker often found the request not yet written and slept again, and
 * every worker beyond the number of cores added such wake-ups.  Measured
 * with bench/run's load (100,000 hosts, 64 connections, 2 cores): nginx
 * was preempted 0.57 times an answer with 4 workers, 0.16 with 2, and 4
 * workers answered about 10% fewer requests than 2; under SCHED_BATCH
 * 0.17 and 0.09, and 4 workers as fast as 2.  A woken worker still runs
 * at once on an idle core; on a busy one it waits until the running task
 * sleeps or its time slice ends.  This cannot stop bootd: when the policy
 * cannot be set, bootd says so and runs on under the one it has.
 */
static void
run_as_batch(void)
{
	struct sched_param sp = { 0 };
	int policy;

	if ((policy = sched_getscheduler(0)) == -1) {
		blog_notice("sched_getscheduler: %s", strerror(errno));
		return;
	}
	if ((policy & ~SCHED_RESET_ON_FORK) != SCHED_OTHER) {
		blog_info("scheduling policy %s kept, as started",
		    policy_name(policy));
		return;
	}
	if (sched_setscheduler(0, SCHED_BATCH | (policy & SCHED_RESET_ON_FORK),
	    &sp) == -1)
		blog_notice("sched_setscheduler(SCHED_BATCH): %s; a woken "
		    "worker may preempt the web server", strerror(errno));
}

int
master_run(struct cfg *cfg, const char *cfgpath, int fd,
    const int events[2])
{
	static struct master m;
	struct sigaction sa;
	struct timespec ts;
	sigset_t set;
	time_t now;
	int sig;

	m.cfg = cfg;
	m.cfgpath = cfgpath;
	m.fd = fd;
	m.events[0] = events[0];
	m.events[1] = events[1];
	m.gen = 1;
	m.want = nworkers(cfg->daemon.workers);

	/*
	 * SIGHUP has been blocked since main() began: one sent while bootd
	 * started is taken below, a reload.  SIGPIPE, SIGUSR1 and SIGUSR2
	 * are ignored since then too (main.c signals_start()).
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* SIGCHLD must not be ignored, or there is nothing to wait for. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);

	run_as_batch();
	blog_info("starting %d workers", m.want);
	fill(&m);

	for (;;) {
		now = now_mono();
		ts.tv_nsec = 0;
		ts.tv_sec = 1;
		if (m.draining)
			ts.tv_sec = m.deadline > now ? m.deadline - now : 0;
		if (ts.tv_sec > 1)
			ts.tv_sec = 1;
		sig = sigtimedwait(&set, NULL, &ts);
		reap(&m);
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			if (!m.draining) {
				blog_info("%s: stopping; draining %d workers",
				    sig == SIGTERM ? "SIGTERM" : "SIGINT",
				    count_all(&m, ROLE_WORKER));
				m.draining = 1;
				m.deadline = now_mono() +
				    m.cfg->daemon.drain_timeout;
				signal_children(&m, ROLE_WORKER, SIGTERM, 0);
			}
			break;
		case SIGHUP:
			if (!m.draining)
				reload(&m);
			break;
		default:
			break;
		}
		if (!m.draining) {
			fill(&m);
			continue;
		}
		if (m.draining == 1 && count_all(&m, ROLE_WORKER) > 0 &&
		    now_mono() >= m.deadline) {
			blog_warn("%d workers still busy after %d s; killing "
			    "them", count_all(&m, ROLE_WORKER),
			    m.cfg->daemon.drain_timeout);
			kill_all(&m, ROLE_WORKER);
		}
		if (m.draining == 1 && count_all(&m, ROLE_WORKER) == 0) {
			/*
			 * Nobody hands events over any more: the recorder
			 * writes what is queued, and one is started for that
			 * if none runs (it died, or backs off).
			 */
			m.draining = 2;
			m.deadline = now_mono() + m.cfg->daemon.drain_timeout;
			if (count_all(&m, ROLE_RECORDER) == 0)
				spawn(&m, ROLE_RECORDER);
			signal_children(&m, ROLE_RECORDER, SIGTERM, 0);
			blog_info("workers stopped; the recorder writes the "
			    "boot events queued");
		}
		if (m.draining == 2 && count_all(&m, ROLE_RECORDER) == 0)
			break;
		if (m.draining == 2 && now_mono() >= m.deadline) {
			blog_warn("the recorder is still writing after %d s; "
			    "killing it", m.cfg->daemon.drain_timeout);
			kill_all(&m, ROLE_RECORDER);
			break;
		}
	}
	count_leftover(&m);
	metrics_set_workers(0);
	blog_info("stopped");
	cfg_free(m.cfg);
	return 0;
}
