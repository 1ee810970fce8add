/*
 * dbdir.h - the database directory: who may change it, and the files
 * SQLite keeps beside each database in it
 *
 * The inventory (and any other SQLite file bootd keeps next to it) lives in
 * a directory of its own, e.g. /var/lib/bootd/db, that belongs to the
 * service user and its group, mode 0770, inside a state directory that
 * belongs to root.  Whoever can write that directory or one of its parents
 * can swap the database for one of their own, or plant a link that a more
 * privileged process then follows.  bootd (at start) and bootctl (before
 * it opens a database) therefore check the path first, as sshd's
 * StrictModes checks a user's authorized_keys: dbdir_check().
 *
 * bootctl runs setgid bootd, so SQLite would give any -wal or -shm file it
 * creates to the calling user, who could then rewrite WAL pages at leisure.
 * Every connection keeps those files (SQLITE_FCNTL_PERSIST_WAL, see
 * inv_open()), the service user or root makes them exist first, and a
 * setgid bootctl checks that they belong to the directory's owner before
 * it opens anything: dbdir_check_files().
 */
#ifndef BOOTD_DBDIR_H
#define BOOTD_DBDIR_H

#include <sys/types.h>

#include "err.h"

/* The directory holding a database, as dbdir_check() found it. */
struct dbdir {
	uid_t	uid;		/* its owner: the service user */
	gid_t	gid;		/* its group */
};

/*
 * Check the directory holding the database file path, and every directory
 * above it up to "/" (after resolving symbolic links), for the ways a less
 * privileged user could change what path names:
 *   - the directory itself grants nothing to others (no o+rwx bits), and
 *     when it belongs to root its group may not write it either (a member
 *     could then plant a link for root to follow);
 *   - every parent belongs to root (or, when the caller is not root, to
 *     the directory's owner), and neither its group nor others may write
 *     it, unless it is sticky and belongs to root (as /tmp: nobody else may
 *     rename what lies in it).  Run as root, a parent the service user owns
 *     would let it swap the directory for a link between this check and
 *     the open; run as anyone else, that user is the one at risk.
 * The file path itself need not exist.  Fills *dir (when not NULL) with the
 * directory's owner and group.  Returns BOOTD_OK, BOOTD_ENOTFOUND when the
 * directory does not exist, BOOTD_EPERM with a one-line reason naming the
 * directory at fault and what is wrong with it, or BOOTD_ESYS.
 */
enum bootd_err	 dbdir_check(const char *path, struct dbdir *dir,
		    struct bootd_error *err);

/*
 * For a process with more privilege than its caller (setgid bootctl):
 * the database file path, path-wal and path-shm must all exist as regular
 * files with one link each, owned by uid (the directory's owner, from
 * dbdir_check()), and the database must be in WAL mode (in rollback mode
 * SQLite would create a -journal file for the caller).  Returns BOOTD_OK,
 * or BOOTD_EPERM with a one-line reason saying which file is missing or
 * wrong and what to run.  Works for any SQLite file in the directory (the
 * inventory, the events database).
 */
enum bootd_err	 dbdir_check_files(const char *path, uid_t uid,
		    struct bootd_error *err);

#endif /* BOOTD_DBDIR_H */
