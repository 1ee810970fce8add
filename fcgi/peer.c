/*
 * peer.c - which local processes may speak FastCGI to bootd
 *
 * Whoever can connect to bootd's unix socket hands its requests straight
 * to libfcgi's parameter parsing, which trusts its peer (a malformed
 * record could crash a worker).  So a worker asks the kernel who is at
 * the other end of each connection it accepts (SO_PEERCRED: the peer's
 * uid and gid when it connected; SO_PEERGROUPS: its supplementary
 * groups) and closes it unanswered, counted in bootd_peers_refused_total,
 * unless the peer is
 *   - root (uid 0): root can read the database and trace the workers
 *     anyway, and refusing it would only get in an operator's way;
 *   - a user in daemon.peer_users, or a member (its gid or a
 *     supplementary group) of a group in daemon.peer_groups;
 *   - when both lists are empty (the default): the socket file's owner,
 *     or a member of its group.  That is whom the file's mode (0660) lets
 *     connect at all, and the group is the web server's: nginx's workers
 *     run as www-data:www-data (its "user" directive), the socket is
 *     root:www-data (daemon.socket_group, or SocketGroup= in
 *     bootd.socket).  The check then refuses what the mode already
 *     refuses, plus a process that got hold of the socket another way
 *     (an inherited descriptor, a too wide mode set by hand).
 * The daemon's own user is not let in unless listed, or the socket's
 * owner (bootd not started as root): nothing of bootd's connects to its
 * own socket.
 *
 * A TCP socket has no peer credentials: nothing is checked there, and
 * the lists are refused (peer_config()).
 *
 * Refusals are logged at most once every PEER_LOG_INTERVAL seconds per
 * worker, with the number left unlogged since, so that a local process
 * connecting in a loop cannot flood the log.
 *
 * The names are resolved when bootd starts, at every reload and by
 * bootd -t (an unknown name is an error that names it); the result lives
 * in this file and workers inherit it when forked.
 */
#define _GNU_SOURCE		/* struct ucred */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bootd.h"

#define PEER_LOG_INTERVAL	10	/* seconds between refusal lines */
#define PEER_GROUPS_MAX		1024	/* supplementary groups looked at */

/* Whom connections are accepted from; root always. */
struct peer_policy {
	int		check;			/* 0: TCP, nothing to check */
	uid_t		uid[CFG_NAMES_MAX + 1];
	size_t		nuid;
	gid_t		gid[CFG_NAMES_MAX + 1];
	size_t		ngid;
};

static struct peer_policy	policy;
static time_t			last_log;	/* of a refusal, this process */
static unsigned long		unlogged;	/* refusals since */
/* The socket file's owner and group, as found once at start. */
static int			sock_known;
static uid_t			sock_uid;
static gid_t			sock_gid;

/*
 * Resolve cfg's lists into p.  Returns BOOTD_OK, or BOOTD_EINVAL naming
 * the first unknown user or group.
 */
static enum bootd_err
resolve(const struct cfg *cfg, struct peer_policy *p, struct bootd_error *err)
{
	const struct cfg_names *u = &cfg->daemon.peer_users;
	const struct cfg_names *g = &cfg->daemon.peer_groups;
	struct passwd *pw;
	struct group *gr;
	size_t i;

	for (i = 0; i < u->n && i < CFG_NAMES_MAX; i++) {
		if ((pw = getpwnam(u->v[i])) == NULL)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "daemon.peer_users: no such user: %s", u->v[i]);
		p->uid[p->nuid++] = pw->pw_uid;
	}
	for (i = 0; i < g->n && i < CFG_NAMES_MAX; i++) {
		if ((gr = getgrnam(g->v[i])) == NULL)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "daemon.peer_groups: no such group: %s", g->v[i]);
		p->gid[p->ngid++] = gr->gr_gid;
	}
	return BOOTD_OK;
}

/*
 * The default: the owner and group of the unix socket fd's file, looked
 * up the first time (bootd's start, right after it made the socket or
 * got it from systemd) and kept: a reload does not depend on the file
 * still being there, nor on what its name holds by then.  Returns
 * BOOTD_OK, or an error saying why they are unknown.
 */
static enum bootd_err
socket_owner(int fd, struct peer_policy *p, struct bootd_error *err)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	struct stat st;

	if (sock_known) {
		p->uid[p->nuid++] = sock_uid;
		p->gid[p->ngid++] = sock_gid;
		return BOOTD_OK;
	}
	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1)
		return bootd_error_set(err, BOOTD_ESYS, "getsockname(listen "
		    "socket): %s", strerror(errno));
	if (len <= offsetof(struct sockaddr_un, sun_path) ||
	    sun.sun_path[0] == '\0')
		return bootd_error_set(err, BOOTD_EINVAL, "the listen socket "
		    "has no file to take its owner and group from; set "
		    "daemon.peer_users or daemon.peer_groups");
	sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
	/* Never through a link: the name's directory may not be ours. */
	if (lstat(sun.sun_path, &st) == -1)
		return bootd_error_set(err, BOOTD_ESYS, "lstat(%s): %s; set "
		    "daemon.peer_users or daemon.peer_groups", sun.sun_path,
		    strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return bootd_error_set(err, BOOTD_EINVAL, "%s is no longer a "
		    "socket; set daemon.peer_users or daemon.peer_groups",
		    sun.sun_path);
	sock_known = 1;
	sock_uid = st.st_uid;
	sock_gid = st.st_gid;
	p->uid[p->nuid++] = sock_uid;
	p->gid[p->ngid++] = sock_gid;
	return BOOTD_OK;
}

enum bootd_err
peer_config(const struct cfg *cfg, int fd, struct bootd_error *err)
{
	struct peer_policy p;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int is_unix, listed;
	enum bootd_err rc;

	memset(&p, 0, sizeof(p));
	listed = cfg->daemon.peer_users.n > 0 || cfg->daemon.peer_groups.n > 0;
	if (fd >= 0) {
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			return bootd_error_set(err, BOOTD_ESYS, "getsockname("
			    "listen socket): %s", strerror(errno));
		is_unix = ss.ss_family == AF_UNIX;
	} else
		is_unix = strncmp(cfg->daemon.listen, "unix:", 5) == 0;
	if (!is_unix) {
		if (listed)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "daemon.peer_users, daemon.peer_groups: a TCP "
			    "socket has no peer credentials to check; they "
			    "need a unix socket (daemon.listen \"unix:PATH\")");
		if (fd >= 0)
			policy = p;		/* check == 0 */
		return BOOTD_OK;
	}
	p.check = 1;
	if ((rc = resolve(cfg, &p, err)) != BOOTD_OK)
		return rc;
	if (fd < 0)
		return BOOTD_OK;		/* bootd -t: the names exist */
	if (!listed && (rc = socket_owner(fd, &p, err)) != BOOTD_OK)
		return rc;
	policy = p;
	return BOOTD_OK;
}

/* Is gid one of the policy's groups? */
static int
group_allowed(gid_t gid)
{
	size_t i;

	for (i = 0; i < policy.ngid; i++)
		if (policy.gid[i] == gid)
			return 1;
	return 0;
}

/* Does the peer of conn belong, by a supplementary group, to one? */
static int
groups_allowed(int conn)
{
	gid_t groups[PEER_GROUPS_MAX];
	socklen_t len = sizeof(groups);
	size_t i, n;

	if (policy.ngid == 0 ||
	    getsockopt(conn, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return 0;	/* ERANGE: more groups than we look at */
	n = len / sizeof(groups[0]);
	for (i = 0; i < n; i++)
		if (group_allowed(groups[i]))
			return 1;
	return 0;
}

/* Log a refusal, at most once every PEER_LOG_INTERVAL seconds. */
static void
log_refusal(const struct ucred *cr, const char *why)
{
	time_t now = time(NULL);

	if (last_log != 0 && now - last_log < PEER_LOG_INTERVAL &&
	    now >= last_log) {
		unlogged++;
		return;
	}
	if (cr != NULL)
		blog_warn("refused a FastCGI connection from pid %ld (uid %ld, "
		    "gid %ld): %s; %lu more refused unlogged before it",
		    (long)cr->pid, (long)cr->uid, (long)cr->gid, why, unlogged);
	else
		blog_warn("refused a FastCGI connection: %s; %lu more refused "
		    "unlogged before it", why, unlogged);
	last_log = now;
	unlogged = 0;
}

int
peer_check(int conn)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	size_t i;

	if (!policy.check)
		return 0;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1 ||
	    len != sizeof(cr)) {
		metrics_inc(METRICS_PEERS_REFUSED);
		log_refusal(NULL, "SO_PEERCRED failed");
		return -1;
	}
	if (cr.uid == 0)
		return 0;
	for (i = 0; i < policy.nuid; i++)
		if (policy.uid[i] == cr.uid)
			return 0;
	if (group_allowed(cr.gid) || groups_allowed(conn))
		return 0;
	metrics_inc(METRICS_PEERS_REFUSED);
	log_refusal(&cr, "not root, nor a user or group allowed to connect "
	    "(daemon.peer_users, daemon.peer_groups)");
	return -1;
}
