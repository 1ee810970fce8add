/*
 * dbdir.c - the database directory: who may change it, and the files
 * SQLite keeps beside each database in it
 *
 * Both checks only look (stat, lstat, realpath); neither changes anything.
 * See dbdir.h for the rules and why.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbdir.h"
#include "valid.h"

#define QPATH	100	/* bytes of a path quoted in a message */

/* The directory part of path ("." when it has none), into buf. */
static int
dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return snprintf(buf, size, ".") >= (int)size ? -1 : 0;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		return -1;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

/* Check one parent p of the database directory owned by owner. */
static enum bootd_err
check_parent(const char *p, uid_t owner, const char *dir,
    struct bootd_error *err)
{
	char qp[QPATH], qd[QPATH];
	struct stat sb;

	if (stat(p, &sb) == -1)
		return bootd_error_set(err, BOOTD_ESYS, "stat(\"%s\"): %s",
		    valid_quote(p, qp, sizeof(qp)), strerror(errno));
	/* Root trusts root's directories only (dbdir.h says why). */
	if (sb.st_uid != 0 && (geteuid() == 0 || sb.st_uid != owner))
		return bootd_error_set(err, BOOTD_EPERM, "\"%s\", above the "
		    "database directory \"%s\", belongs to uid %lu, %s",
		    valid_quote(p, qp, sizeof(qp)),
		    valid_quote(dir, qd, sizeof(qd)), (unsigned long)sb.st_uid,
		    geteuid() == 0 ? "not root (chown root: the state "
		    "directory is root's, only the database's own directory "
		    "the service user's)" :
		    "neither root nor the directory's owner");
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    !((sb.st_mode & S_ISVTX) != 0 && sb.st_uid == 0))
		return bootd_error_set(err, BOOTD_EPERM, "\"%s\", above the "
		    "database directory \"%s\", may be written by %s (mode "
		    "%04o): others could replace the database",
		    valid_quote(p, qp, sizeof(qp)),
		    valid_quote(dir, qd, sizeof(qd)),
		    (sb.st_mode & S_IWOTH) ? "anyone" : "its group",
		    (unsigned)(sb.st_mode & 07777));
	return BOOTD_OK;
}

enum bootd_err
dbdir_check(const char *path, struct dbdir *dir, struct bootd_error *err)
{
	char d[PATH_MAX], real[PATH_MAX], qd[QPATH];
	struct stat sb;
	enum bootd_err rc;
	char *slash;

	if (path == NULL || *path == '\0')
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no database path given");
	if (dir_of(path, d, sizeof(d)) == -1)
		return bootd_error_set(err, BOOTD_EINVAL, "database path too "
		    "long: \"%s\"", valid_quote(path, qd, sizeof(qd)));
	if (realpath(d, real) == NULL) {
		if (errno == ENOENT)
			return bootd_error_set(err, BOOTD_ENOTFOUND, "database "
			    "directory \"%s\" does not exist",
			    valid_quote(d, qd, sizeof(qd)));
		return bootd_error_set(err, BOOTD_ESYS, "database directory "
		    "\"%s\": %s", valid_quote(d, qd, sizeof(qd)),
		    strerror(errno));
	}
	if (stat(real, &sb) == -1)
		return bootd_error_set(err, BOOTD_ESYS, "stat(\"%s\"): %s",
		    valid_quote(real, qd, sizeof(qd)), strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return bootd_error_set(err, BOOTD_EPERM, "database directory "
		    "\"%s\" is not a directory",
		    valid_quote(real, qd, sizeof(qd)));
	if ((sb.st_mode & S_IRWXO) != 0)
		return bootd_error_set(err, BOOTD_EPERM, "database directory "
		    "\"%s\" is open to others (mode %04o): allow its owner and "
		    "group only (chmod o-rwx)",
		    valid_quote(real, qd, sizeof(qd)),
		    (unsigned)(sb.st_mode & 07777));
	if (sb.st_uid == 0 && (sb.st_mode & S_IWGRP) != 0)
		return bootd_error_set(err, BOOTD_EPERM, "database directory "
		    "\"%s\" belongs to root and its group may write it (mode "
		    "%04o): give it to the service user (chown bootd:bootd)",
		    valid_quote(real, qd, sizeof(qd)),
		    (unsigned)(sb.st_mode & 07777));
	if (dir != NULL) {
		dir->uid = sb.st_uid;
		dir->gid = sb.st_gid;
	}

	/* Every directory above it, up to and including "/". */
	strcpy(d, real);
	while (strcmp(d, "/") != 0) {
		slash = strrchr(d, '/');
		if (slash == d)
			slash[1] = '\0';
		else
			*slash = '\0';
		if ((rc = check_parent(d, sb.st_uid, real, err)) != BOOTD_OK)
			return rc;
	}
	return BOOTD_OK;
}

/* Check one SQLite file: a regular file, one link, owned by uid. */
static enum bootd_err
check_file(const char *path, uid_t uid, struct bootd_error *err)
{
	char qp[QPATH];
	struct stat sb;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return bootd_error_set(err, BOOTD_EPERM, "\"%s\" does "
			    "not exist: run bootctl as root once (or start "
			    "bootd) to create it for the service user",
			    valid_quote(path, qp, sizeof(qp)));
		return bootd_error_set(err, BOOTD_EPERM, "lstat(\"%s\"): %s",
		    valid_quote(path, qp, sizeof(qp)), strerror(errno));
	}
	if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1)
		return bootd_error_set(err, BOOTD_EPERM, "\"%s\" is not a "
		    "plain file with a single name",
		    valid_quote(path, qp, sizeof(qp)));
	if (sb.st_uid != uid)
		return bootd_error_set(err, BOOTD_EPERM, "\"%s\" belongs to "
		    "uid %lu, not to the service user (uid %lu, the owner of "
		    "its directory): as root, chown it to the service user",
		    valid_quote(path, qp, sizeof(qp)), (unsigned long)sb.st_uid,
		    (unsigned long)uid);
	return BOOTD_OK;
}

/*
 * Is the SQLite database at path in WAL mode?  Bytes 18 and 19 of its
 * header (the file format write and read versions) are 2 in WAL mode, 1
 * in rollback mode (https://www.sqlite.org/fileformat2.html).  In rollback
 * mode a setgid bootctl would create a -journal file for its caller, who
 * could leave it behind to be played back.
 */
static enum bootd_err
check_wal_mode(const char *path, struct bootd_error *err)
{
	unsigned char h[20];
	char qp[QPATH];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return bootd_error_set(err, BOOTD_EPERM, "open(\"%s\"): %s",
		    valid_quote(path, qp, sizeof(qp)), strerror(errno));
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n != (ssize_t)sizeof(h) || h[18] != 2 || h[19] != 2)
		return bootd_error_set(err, BOOTD_EPERM, "\"%s\" is not in WAL "
		    "mode: run bootctl init as root (or start bootd) to switch "
		    "it", valid_quote(path, qp, sizeof(qp)));
	return BOOTD_OK;
}

enum bootd_err
dbdir_check_files(const char *path, uid_t uid, struct bootd_error *err)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[PATH_MAX], qp[QPATH];
	enum bootd_err rc;
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, suffix[i]) >=
		    sizeof(p))
			return bootd_error_set(err, BOOTD_EINVAL, "database "
			    "path too long: \"%s\"",
			    valid_quote(path, qp, sizeof(qp)));
		if ((rc = check_file(p, uid, err)) != BOOTD_OK)
			return rc;
		if (i == 0 && (rc = check_wal_mode(p, err)) != BOOTD_OK)
			return rc;
	}
	return BOOTD_OK;
}
