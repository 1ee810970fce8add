/*
 * main.c - bootd: the FastCGI daemon that answers iPXE boot requests
 *
 * Startup order, in main():
 *   0. signals: SIGHUP held for the master, which reloads (signals_start())
 *   1. command line, configuration (cfg_load), logger
 *   2. -t: check configuration and database, then exit
 *   3. the database directory, for a path (dbdir_check(): nobody but
 *      its owner and group may change what the database path names; a
 *      PostgreSQL URI has none)
 *   4. the listening socket: systemd's (LISTEN_FDS) or our own, created
 *      while still root with its owner, group and mode (unix_bind()), and
 *      who may connect to it (peer_config(), peer.c)
 *   5. the shared metrics segment and the done rate-limit table; the pipe
 *      workers hand boot events to the recorder through, made while still
 *      root so that it may exceed fs.pipe-max-size
 *   6. privileges dropped to daemon.user/daemon.group (the only place)
 *   7. the prefork master (master.c), which never opens the database
 * Any failure before serving is fatal with a one-line reason naming the
 * failing call and object; exit status 1.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootd.h"
#include "db.h"

#define SD_LISTEN_FDS_START	3	/* first fd passed by systemd */
/*
 * Connections nginx may have waiting for a worker.  In a boot storm nginx
 * opens one per request in flight (256 clients and more); a short queue
 * makes its connect() fail with EAGAIN and the machine gets nginx's
 * fall-back local-boot script instead of its own.  As bootd.socket's
 * Backlog=; the kernel caps it at net.core.somaxconn.
 */
#define LISTEN_BACKLOG		1024

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: bootd [-ht] [-c file]\n");
}

/*
 * Parse daemon.listen into la (cfg_listen_parse(), which cfg_load() has
 * already applied).  Returns 0, or -1 after logging why.
 */
static int
listen_parse(const char *s, struct cfg_listen *la)
{
	struct bootd_error e;

	if (cfg_listen_parse(s, la, &e) != BOOTD_OK) {
		blog_fatal("%s", e.text);
		return -1;
	}
	return 0;
}

/*
 * The socket systemd passed (LISTEN_PID/LISTEN_FDS), or -1 when there is
 * none.  The variables are removed so workers do not see them.
 */
static int
listen_inherited(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	struct stat st;
	long n;

	if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != getpid())
		return -1;
	n = strtol(fds, NULL, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n < 1)
		return -1;
	if (n > 1)
		blog_warn("systemd passed %ld sockets; using the first", n);
	if (fstat(SD_LISTEN_FDS_START, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		blog_fatal("LISTEN_FDS: fd %d is not a socket",
		    SD_LISTEN_FDS_START);
		return -2;
	}
	return SD_LISTEN_FDS_START;
}

/*
 * Remove a stale socket file at path (left by a server that died), but
 * refuse when a live server answers on it or it is not a socket.
 * Returns 0 or -1 after logging why.
 */
static int
unix_clear_stale(const struct cfg_listen *la)
{
	struct stat st;
	int fd, rc, saved;

	if (lstat(la->path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		blog_fatal("stat(%s): %s", la->path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		blog_fatal("%s exists and is not a socket; refusing to "
		    "replace it", la->path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		blog_fatal("socket(AF_UNIX): %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)&la->ss, la->sslen);
	saved = errno;
	close(fd);
	if (rc == 0) {
		blog_fatal("%s is in use by a running server; refusing to "
		    "start", la->path);
		return -1;
	}
	if (saved != ECONNREFUSED && saved != ENOENT) {
		blog_fatal("connect(%s): %s", la->path, strerror(saved));
		return -1;
	}
	if (unlink(la->path) == -1 && errno != ENOENT) {
		blog_fatal("unlink(%s): %s", la->path, strerror(errno));
		return -1;
	}
	blog_info("replaced stale socket %s", la->path);
	return 0;
}

/*
 * The owner and group daemon.socket_owner and daemon.socket_group name,
 * (uid_t)-1 / (gid_t)-1 for "" (keep the creator's).  Returns 0, or -1
 * with the reason in e.  bootd -t checks the same.
 */
static int
unix_owner(const struct cfg *cfg, uid_t *uid, gid_t *gid,
    struct bootd_error *e)
{
	const struct cfg_daemon *d = &cfg->daemon;
	struct passwd *pw;
	struct group *gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (d->socket_owner[0] != '\0') {
		if ((pw = getpwnam(d->socket_owner)) == NULL) {
			bootd_error_set(e, BOOTD_ENOTFOUND, "daemon.socket_owner: "
			    "no such user: %s", d->socket_owner);
			return -1;
		}
		*uid = pw->pw_uid;
	}
	if (d->socket_group[0] != '\0') {
		if ((gr = getgrnam(d->socket_group)) == NULL) {
			bootd_error_set(e, BOOTD_ENOTFOUND, "daemon.socket_group: "
			    "no such group: %s", d->socket_group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	if (geteuid() != 0 && ((*uid != (uid_t)-1 && *uid != geteuid()) ||
	    (*gid != (gid_t)-1 && *gid != getegid()))) {
		bootd_error_set(e, BOOTD_EPERM, "daemon.socket_owner/"
		    "socket_group: only root can create the socket for another "
		    "user or group (%s:%s); set them to \"\" when bootd does not "
		    "start as root", d->socket_owner, d->socket_group);
		return -1;
	}
	return 0;
}

/*
 * Bind fd to the unix socket la, creating the socket file already with
 * its configured owner, group and mode: the umask gives the mode, and as
 * root the effective group (and user, when socket_owner is set) are
 * switched to the socket's for the bind() alone.  Nothing is changed on
 * the path afterwards, so whoever may write the socket's directory cannot
 * turn a chown() or chmod() onto another file by swapping the path.  The
 * result is then checked with lstat(): a socket with exactly the wanted
 * owner, group (when one is configured) and mode, or the start fails (a
 * setgid directory or a default ACL would change them, and so would a
 * swap).  Returns 0 or -1 after logging.
 */
static int
unix_bind(const struct cfg *cfg, int fd, const struct cfg_listen *la)
{
	mode_t want = (mode_t)cfg->daemon.socket_mode & 0777, omask;
	uid_t uid, euid = geteuid();
	gid_t gid, egid = getegid();
	struct bootd_error e;
	struct stat st;
	int rc, saved;

	if (unix_owner(cfg, &uid, &gid, &e) == -1) {
		blog_fatal("%s", e.text);
		return -1;
	}
	if (gid != (gid_t)-1 && gid != egid && setegid(gid) == -1) {
		blog_fatal("setegid(%s): %s", cfg->daemon.socket_group,
		    strerror(errno));
		return -1;
	}
	if (uid != (uid_t)-1 && uid != euid && seteuid(uid) == -1) {
		blog_fatal("seteuid(%s): %s", cfg->daemon.socket_owner,
		    strerror(errno));
		if (setegid(egid) == -1)
			blog_fatal("setegid(%ld): %s", (long)egid,
			    strerror(errno));
		return -1;
	}
	omask = umask(~want & 0777);
	rc = bind(fd, (const struct sockaddr *)&la->ss, la->sslen);
	saved = errno;
	umask(omask);
	if ((uid != (uid_t)-1 && uid != euid && seteuid(euid) == -1) ||
	    (gid != (gid_t)-1 && gid != egid && setegid(egid) == -1)) {
		blog_fatal("restoring the effective user and group after "
		    "bind(%s): %s", la->path, strerror(errno));
		return -1;
	}
	if (rc == -1) {
		blog_fatal("bind(%s): %s", cfg->daemon.listen, strerror(saved));
		return -1;
	}
	if (lstat(la->path, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    (st.st_mode & 07777) != want ||
	    st.st_uid != (uid != (uid_t)-1 ? uid : euid) ||
	    (gid != (gid_t)-1 && st.st_gid != gid)) {
		blog_fatal("%s: the socket is not what bind() should have made "
		    "(%s:%s, mode %04o): is its directory setgid, has it a "
		    "default ACL, or did something replace it?", la->path,
		    cfg->daemon.socket_owner, cfg->daemon.socket_group,
		    (unsigned)want);
		unlink(la->path);
		return -1;
	}
	return 0;
}

/* Open, bind and listen on la.  Returns the socket or -1 after logging. */
static int
listen_open(const struct cfg *cfg, const struct cfg_listen *la)
{
	const char *what = cfg->daemon.listen;
	int fd, on = 1;

	if (la->family == AF_UNIX && unix_clear_stale(la) == -1)
		return -1;
	if ((fd = socket(la->family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		blog_fatal("socket(%s): %s", what, strerror(errno));
		return -1;
	}
	if (la->family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		blog_fatal("setsockopt(%s, SO_REUSEADDR): %s", what,
		    strerror(errno));
		goto fail;
	}
	if (la->family == AF_UNIX) {
		if (unix_bind(cfg, fd, la) == -1)
			goto fail;
	} else if (bind(fd, (const struct sockaddr *)&la->ss,
	    la->sslen) == -1) {
		blog_fatal("bind(%s): %s", what, strerror(errno));
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		blog_fatal("listen(%s): %s", what, strerror(errno));
		if (la->family == AF_UNIX)
			unlink(la->path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * The uid and gid daemon.user and daemon.group name (the user's own group
 * when daemon.group is "").  Refuses uid 0.  Returns 0, or -1 with the
 * reason in e.  bootd -t checks the same.
 */
static int
daemon_ids(const struct cfg *cfg, uid_t *uid, gid_t *gid,
    struct bootd_error *e)
{
	const struct cfg_daemon *d = &cfg->daemon;
	struct passwd *pw;
	struct group *gr;

	if ((pw = getpwnam(d->user)) == NULL) {
		bootd_error_set(e, BOOTD_ENOTFOUND, "daemon.user: no such user: "
		    "%s", d->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (*uid == 0) {
		bootd_error_set(e, BOOTD_EPERM, "daemon.user: %s has uid 0; "
		    "refusing to run workers as root", d->user);
		return -1;
	}
	if (d->group[0] != '\0') {
		if ((gr = getgrnam(d->group)) == NULL) {
			bootd_error_set(e, BOOTD_ENOTFOUND, "daemon.group: no "
			    "such group: %s", d->group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/*
 * Drop root privileges to daemon.user and daemon.group: the only place
 * bootd changes its credentials.  Not root: nothing to do.  Refuses to
 * run workers as root.  Returns 0 or -1 after logging.
 */
static int
drop_privileges(const struct cfg *cfg)
{
	const struct cfg_daemon *d = &cfg->daemon;
	struct bootd_error e;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0) {
		blog_debug("not started as root; running as uid %ld",
		    (long)geteuid());
		return 0;
	}
	if (daemon_ids(cfg, &uid, &gid, &e) == -1) {
		blog_fatal("%s", e.text);
		return -1;
	}
	if (setgroups(1, &gid) == -1) {
		blog_fatal("setgroups(%ld): %s", (long)gid, strerror(errno));
		return -1;
	}
	if (setgid(gid) == -1) {
		blog_fatal("setgid(%ld): %s", (long)gid, strerror(errno));
		return -1;
	}
	if (setuid(uid) == -1) {
		blog_fatal("setuid(%s): %s", d->user, strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 || geteuid() == 0) {
		blog_fatal("setuid(%s): root privileges could be regained",
		    d->user);
		return -1;
	}
	blog_debug("running as %s (uid %ld, gid %ld)", d->user, (long)uid,
	    (long)gid);
	return 0;
}

/*
 * bootd -t: what the start checks, short of binding and serving: the
 * configuration, the listen address, the accounts it names (daemon.user
 * and daemon.group when run as root, socket_owner and socket_group for a
 * unix socket, as if bootd made it), the database directory
 * (dbdir_check(), for a path) and the database, opened as the workers
 * would, with every distribution menu.manual_dists names.  For a
 * PostgreSQL URI that is a connection to "database" (a failure is an
 * error) and one to "database_write" (a failure is a warning: bootd then
 * serves boots, and install reports wait for a primary).  Each failure is
 * one line on stderr, "bootd: " and the reason the start would log.
 */
static int
check_config(const struct cfg *cfg)
{
	struct cfg_listen la;
	struct bootd_error e;
	struct inv *inv;
	struct events *ev;
	char where[512];
	uid_t uid;
	gid_t gid;

	if (cfg_listen_parse(cfg->daemon.listen, &la, &e) != BOOTD_OK ||
	    (la.family == AF_UNIX && unix_owner(cfg, &uid, &gid, &e) == -1) ||
	    (geteuid() == 0 && daemon_ids(cfg, &uid, &gid, &e) == -1)) {
		fprintf(stderr, "bootd: %s\n", e.text);
		return 1;
	}
	if (master_dbdir_check(cfg, &e) != BOOTD_OK) {
		fprintf(stderr, "bootd: %s\n", e.text);
		return 1;
	}
	if (peer_config(cfg, -1, &e) != BOOTD_OK) {
		fprintf(stderr, "bootd: %s\n", e.text);
		return 1;
	}
	/* As the workers will: never open the database as root. */
	if (drop_privileges(cfg) == -1)
		return 1;
	if (inv_open(cfg->database, INV_RDONLY, &inv, &e) != BOOTD_OK) {
		fprintf(stderr, "bootd: inv_open(%s): %s\n",
		    db_where_print(cfg->database, where, sizeof(where)), e.text);
		return 1;
	}
	if (worker_manual_dists_check(inv, cfg, &e) == -1) {
		fprintf(stderr, "bootd: %s\n", e.text);
		inv_close(inv);
		return 1;
	}
	inv_close(inv);
	/*
	 * The write connection, as a worker opens it for an install report,
	 * but read-only here: -t changes nothing, not even an older schema.
	 */
	if (db_is_uri(cfg->database_write)) {
		if (inv_open(cfg->database_write, INV_RDONLY, &inv, &e) !=
		    BOOTD_OK)
			fprintf(stderr, "bootd: warning: database_write: "
			    "inv_open(%s): %s; install reports will answer 503 "
			    "until it can be reached\n",
			    db_where_print(cfg->database_write, where,
			    sizeof(where)), e.text);
		inv_close(inv);
	}
	/* A missing or older events database is created or upgraded by the
	 * workers; one from a newer bootd would refuse every boot event. */
	if (events_open_readonly(cfg->events_database, &ev, &e) ==
	    BOOTD_EVERSION) {
		fprintf(stderr, "bootd: events_open(%s): %s\n",
		    db_where_print(cfg->events_database, where, sizeof(where)),
		    e.text);
		return 1;
	}
	events_close(ev);
	printf("bootd: configuration ok\n");
	return 0;
}

static int
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * Signals, first thing: SIGHUP (reload) is blocked, so that one sent
 * while bootd starts (systemctl reload) waits for the master, which then
 * reloads (master_run() takes it with sigtimedwait(2)), instead of ending
 * the start; SIGPIPE, SIGUSR1 and SIGUSR2 (log rotation hooks send them)
 * are ignored, by the master and the children it forks.  SIGTERM and
 * SIGINT keep their default until master_run() blocks them: they end a
 * start, or bootd -t, at once, with nothing to drain yet.
 */
static void
signals_start(void)
{
	struct sigaction sa;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
}

int
main(int argc, char *argv[])
{
	struct cfg_listen la;
	struct bootd_error e;
	struct cfg *cfg;
	const char *cfgpath = NULL;
	char *unlink_path = NULL;
	int ch, test = 0, fd = -1, status, events[2] = { -1, -1 };

	signals_start();
	while ((ch = getopt(argc, argv, "c:ht")) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 't':
			test = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	if (cfg_load(cfgpath, &cfg, &e) != BOOTD_OK) {
		fprintf(stderr, "bootd: %s\n", e.text);
		return 1;
	}
	if (test) {
		status = check_config(cfg);
		cfg_free(cfg);
		return status;
	}
	blog_init(cfg);

	status = 1;
	if (master_dbdir_check(cfg, &e) != BOOTD_OK) {
		blog_fatal("%s", e.text);
		goto out;
	}
	if ((fd = listen_inherited()) == -2)
		goto out;
	if (fd >= 0)
		blog_info("using the socket passed by systemd");
	else {
		if (listen_parse(cfg->daemon.listen, &la) == -1 ||
		    (fd = listen_open(cfg, &la)) == -1)
			goto out;
		blog_info("listening on %s", cfg->daemon.listen);
		if (la.family == AF_UNIX &&
		    (unlink_path = strdup(la.path)) == NULL) {
			blog_fatal("strdup: out of memory");
			unlink(la.path);
			goto out;
		}
	}
	if (set_nonblock(fd) == -1) {
		blog_fatal("fcntl(listen socket, O_NONBLOCK): %s",
		    strerror(errno));
		goto out;
	}
	if (peer_config(cfg, fd, &e) != BOOTD_OK) {
		blog_fatal("%s", e.text);
		goto out;
	}
	if (metrics_init() == -1) {
		blog_fatal("mmap(metrics): %s", strerror(errno));
		goto out;
	}
	if (ratelimit_init() == -1) {
		blog_fatal("mmap(rate-limit table): %s", strerror(errno));
		goto out;
	}
	if (recorder_queue(events) == -1) {
		blog_fatal("pipe(recorder queue): %s", strerror(errno));
		goto out;
	}
	if (drop_privileges(cfg) == -1)
		goto out;

	status = master_run(cfg, cfgpath, fd, events);	/* takes cfg */
	cfg = NULL;
out:
	cfg_free(cfg);
	if (events[0] >= 0)
		close(events[0]);
	if (events[1] >= 0)
		close(events[1]);
	if (fd >= 0)
		close(fd);
	if (unlink_path != NULL && unlink(unlink_path) == -1 &&
	    errno != ENOENT)
		blog_debug("unlink(%s): %s", unlink_path, strerror(errno));
	free(unlink_path);
	return status;
}
