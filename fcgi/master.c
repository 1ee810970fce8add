/*
 * master.c - the bootd prefork master: fork workers, supervise, reload,
 * drain
 *
 * The master keeps its signals blocked and takes them one at a time with
 * sigtimedwait(2), so there is no asynchronous handler and no race:
 *   SIGCHLD         reap; a worker of the current generation that died is
 *                   replaced (with back-off when workers die in a loop);
 *   SIGHUP          reload the configuration; on success start a new
 *                   generation of workers with it and tell the old one to
 *                   stop (each finishes its current request first); on
 *                   error keep the old configuration;
 *   SIGTERM/SIGINT  tell every worker to stop, wait up to drain_timeout
 *                   seconds, SIGKILL the stragglers, exit 0.
 * The master never opens the database.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootd.h"
#include "dbdir.h"

#define MAX_CHILDREN	512	/* current generation plus draining ones */
#define DEATH_WINDOW	10	/* seconds: deaths counted over this... */
#define DEATH_LIMIT	5	/* ...above this many means back off */
#define BACKOFF_MAX	30	/* seconds */

struct child {
	pid_t		pid;		/* 0: free slot */
	unsigned	gen;		/* configuration generation */
	int		stopping;	/* told to stop (SIGTERM sent) */
};

struct master {
	struct cfg	*cfg;
	const char	*cfgpath;
	int		 fd;
	unsigned	 gen;
	int		 want;		/* workers of the current generation */
	struct child	 children[MAX_CHILDREN];
	time_t		 deaths[DEATH_LIMIT + 1]; /* ring of death times */
	size_t		 ndeaths;
	int		 backoff;	/* seconds; 0 = none */
	time_t		 next_spawn;	/* no spawning before this... */
	time_t		 next_floor;	/* ...but for one worker, after this */
	int		 draining;
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
	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* Live workers of the current generation not told to stop. */
static int
count_current(const struct master *m)
{
	int i, n = 0;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (m->children[i].pid != 0 && m->children[i].gen == m->gen &&
		    !m->children[i].stopping)
			n++;
	return n;
}

static int
count_all(const struct master *m)
{
	int i, n = 0;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (m->children[i].pid != 0)
			n++;
	return n;
}

/* Fork one worker.  Returns 0, or -1 (logged) when that failed. */
static int
spawn(struct master *m)
{
	struct child *c = NULL;
	pid_t pid;
	int i;

	for (i = 0; i < MAX_CHILDREN && c == NULL; i++)
		if (m->children[i].pid == 0)
			c = &m->children[i];
	if (c == NULL) {
		blog_err("fork: %d workers still running; not starting more",
		    MAX_CHILDREN);
		return -1;
	}
	if ((pid = fork()) == -1) {
		blog_err("fork: %s", strerror(errno));
		metrics_inc(METRICS_ERRORS);
		return -1;
	}
	if (pid == 0)
		_exit(worker_run(m->cfg, m->fd));
	c->pid = pid;
	c->gen = m->gen;
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
	time_t now = now_mono();

	if (m->draining)
		return;
	if (now < m->next_spawn) {
		if (count_current(m) == 0 && now >= m->next_floor) {
			m->next_floor = now + 1;
			blog_notice("backing off, but keeping one worker");
			spawn(m);
		}
	} else
		while (count_current(m) < m->want)
			if (spawn(m) == -1)
				break;
	metrics_set_workers(count_current(m));
}

/* Send sig to every worker not of generation keep (0: to all). */
static void
signal_workers(struct master *m, int sig, unsigned keep)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++) {
		struct child *c = &m->children[i];

		if (c->pid == 0 || (keep != 0 && c->gen == keep))
			continue;
		if (sig == SIGTERM)
			c->stopping = 1;
		kill(c->pid, sig);
	}
}

/* A worker died unexpectedly: count it and back off if it keeps up. */
static void
note_death(struct master *m)
{
	time_t now = now_mono(), oldest;

	metrics_inc(METRICS_WORKER_RESTARTS);
	m->deaths[m->ndeaths++ % (DEATH_LIMIT + 1)] = now;
	if (m->ndeaths <= DEATH_LIMIT) {
		m->backoff = 0;
		return;
	}
	oldest = m->deaths[m->ndeaths % (DEATH_LIMIT + 1)];
	if (now - oldest > DEATH_WINDOW) {
		m->backoff = 0;
		return;
	}
	m->backoff = m->backoff == 0 ? 1 : m->backoff * 2;
	if (m->backoff > BACKOFF_MAX)
		m->backoff = BACKOFF_MAX;
	m->next_spawn = now + m->backoff;
	blog_err("more than %d workers died within %d s; waiting %d s "
	    "before starting another", DEATH_LIMIT, DEATH_WINDOW, m->backoff);
}

/* Reap every exited child. */
static void
reap(struct master *m)
{
	struct child *c;
	pid_t pid;
	int i, st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (c = NULL, i = 0; i < MAX_CHILDREN && c == NULL; i++)
			if (m->children[i].pid == pid)
				c = &m->children[i];
		if (c == NULL)
			continue;
		c->pid = 0;
		if (c->stopping || m->draining) {
			blog_debug("worker %ld stopped", (long)pid);
			continue;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			blog_debug("worker %ld recycled", (long)pid);
			continue;
		}
		if (WIFSIGNALED(st))
			blog_err("worker %ld killed by signal %d; replacing it",
			    (long)pid, WTERMSIG(st));
		else
			blog_err("worker %ld exited with status %d; replacing "
			    "it", (long)pid, WEXITSTATUS(st));
		note_death(m);
	}
	metrics_set_workers(count_current(m));
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
	/* A new database path passes the check a start makes (main.c). */
	if (dbdir_check(ncfg->database, NULL, &e) != BOOTD_OK) {
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
	m->next_spawn = 0;
	m->backoff = 0;
	/* New workers first, so that someone always accepts. */
	fill(m);
	signal_workers(m, SIGTERM, m->gen);
	blog_info("configuration reloaded; %d workers started", count_current(m));
}

int
master_run(struct cfg *cfg, const char *cfgpath, int fd)
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
	m.gen = 1;
	m.want = nworkers(cfg->daemon.workers);

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
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Not ours to act on (log rotation hooks send them): no death. */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	blog_info("starting %d workers", m.want);
	fill(&m);

	for (;;) {
		now = now_mono();
		ts.tv_nsec = 0;
		ts.tv_sec = 1;
		if (m.draining)
			ts.tv_sec = m.deadline > now ? m.deadline - now : 0;
		else if (m.next_spawn > now)
			ts.tv_sec = m.next_spawn - now;
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
				    count_all(&m));
				m.draining = 1;
				m.deadline = now_mono() +
				    m.cfg->daemon.drain_timeout;
				signal_workers(&m, SIGTERM, 0);
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
		if (count_all(&m) == 0)
			break;
		if (now_mono() >= m.deadline) {
			blog_warn("%d workers still busy after %d s; killing "
			    "them", count_all(&m), m.cfg->daemon.drain_timeout);
			signal_workers(&m, SIGKILL, 0);
			while (waitpid(-1, NULL, 0) > 0)
				;
			break;
		}
	}
	metrics_set_workers(0);
	blog_info("stopped");
	cfg_free(m.cfg);
	return 0;
}
