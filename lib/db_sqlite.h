/*
 * db_sqlite.h - what only SQLite has and SQL cannot reach, on a handle of
 * db.h: for the SQLite open paths of the inventory and the events (inv.c,
 * events.c)
 *
 * DESIGN.  Most of what is SQLite's own is SQL, and goes through db.h
 * like any statement, chosen by db_engine(): the PRAGMAs (user_version,
 * synchronous, foreign_keys, journal_mode, mmap_size, data_version,
 * foreign_key_check) and EXPLAIN QUERY PLAN run with db_exec() or
 * db_prepare(); the busy timeout is db_set_timeout().  What is left is
 * what SQLite offers only through its C API.  Those few calls are here,
 * explicit functions rather than a generic "on open" callback that would
 * hand out the sqlite3 handle: a caller sees by name what it asks of
 * SQLite, and still never includes sqlite3.h.  Each takes a handle of
 * either engine and, on a PostgreSQL one, does nothing and succeeds (or
 * answers 0), so that the caller's engine test stays about meaning.
 *
 * Process-wide settings (no memory statistics, see db_sqlite.c; the VFS
 * read-only connections open with, db_sqlite_map.c) are the driver's
 * business: it makes them before its first connection.
 */
#ifndef BOOTD_DB_SQLITE_H
#define BOOTD_DB_SQLITE_H

#include "db.h"

/*
 * Keep the -wal and -shm files of schema ("main", or the name of an
 * attached database) when the last connection to the file closes
 * (SQLITE_FCNTL_PERSIST_WAL), so that the ones the first writer made, with
 * their owner and mode, stay the only ones.  BOOTD_EDB when not connected
 * or there is no such schema.
 */
enum bootd_err	 db_sqlite_persist_wal(struct db *db, const char *schema,
		    struct bootd_error *err);

/*
 * After each commit on db that leaves pages or more in the WAL, copy the
 * WAL into the database file and make the next writer start it over
 * (a RESTART checkpoint: it waits, at most the busy timeout, for other
 * readers and writers; when it cannot, it copies what it can and the next
 * commit tries again).  SQLite's automatic checkpoint is PASSIVE: with
 * writers committing back to back the WAL is never started over and grows
 * without bound.  The commit is done whatever the checkpoint does.  pages
 * 0 turns it off.  BOOTD_EDB when not connected.
 */
enum bootd_err	 db_sqlite_checkpoint_after(struct db *db, int pages,
		    struct bootd_error *err);

/*
 * 1 when the file is open read-only: SQLite opens a file it may not write
 * that way, silently, even when asked to write (sqlite3_db_readonly()).
 * 0 otherwise, and for PostgreSQL or when not connected.  This function
 * can't fail.
 */
int		 db_sqlite_readonly(const struct db *db);

#endif /* BOOTD_DB_SQLITE_H */
