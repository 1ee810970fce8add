/*
 * db_sqlite_map.c - the "bootd-map" VFS: SQLite's own, except that a
 * read-only connection keeps its mapping of the file (PRAGMA mmap_size)
 * when another connection has changed it
 *
 * A connection in WAL mode that finds, at the start of a read
 * transaction, that another has committed since its last one drops its
 * page cache and its mapping of the file, whatever changed (SQLite's
 * pagerBeginReadTransaction() calls xUnfetch(0, NULL)): munmap(2) of
 * the whole file, mmap(2) again, and every page it reads after that
 * faults back in.  A bootd worker reads the inventory through such a
 * mapping, and the inventory changes with every bootctl command, every
 * done and every second of install fetch notes: at 1,000,000 hosts
 * under bench/run's load a set-reinstall of 10,000 hosts cost each
 * worker five such remappings and some 16,000 page faults a second for
 * the next three seconds, and the boots' p99 rose to 2.9 to 5.0 times
 * its quiet value.  Reading with pread(2) instead avoided that, but cost
 * a lookup at 1,000,000 hosts about 3 us more all the time.
 *
 * Why SQLite drops the mapping: the file may have been truncated and
 * extended back to the same size meanwhile, leaving a mapping that looks
 * right and is not.  On Linux a MAP_SHARED mapping is the file's page
 * cache itself: what other processes write (a checkpoint) is seen
 * through it at once, and a truncation removes the pages cut off from
 * every mapping, to be read again if the file grows back.  So the
 * mapping only has to stay within the file: xUnfetch(0, NULL) here
 * passes the call on (unmap; the next read maps the file at its new
 * size) only when the file is now shorter than when it was mapped, or
 * longer by more than an eighth (MAP_GROWTH), and otherwise keeps the
 * mapping.  SQLite reads the pages past a mapping with xRead(), so a
 * file grown meanwhile (a set-reinstall of 10,000 hosts adds 4 MB to one
 * of 1,000,000) is read whole all the same; it is mapped again once it
 * has grown by an eighth.
 *
 * "When it was mapped" is taken when xFetch() first returns a page of a
 * new mapping, not at an xUnfetch(0, NULL): a connection told to map the
 * file after its first read (a worker checks the schema first) sees no
 * change, and makes no such call, until the first commit after it
 * mapped the file.  Taken there, that first commit cost every worker
 * started anew (a restart) its whole mapping, in the middle of the
 * load.  Everything else is the default VFS's ("unix"), called through.
 */
#include <string.h>

#include <sqlite3.h>

#include "db_driver.h"

#define MAP_GROWTH	8	/* mapped again past 1/8 of growth */

struct map_file {
	sqlite3_file	 base;		/* pMethods: &map_io */
	sqlite3_int64	 size;		/* when mapped; -1: not mapped */
	sqlite3_file	*real;		/* the default VFS's, just after */
};

static sqlite3_vfs	*real_vfs;

#define REAL(f)	(((struct map_file *)(f))->real)

static int
map_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods->xClose(REAL(f));

	f->pMethods = NULL;
	return rc;
}

static int
map_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
map_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
map_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
map_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
map_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
map_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int
map_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int
map_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

/* PRAGMA mmap_size maps the file anew, at its size then. */
static int
map_file_control(sqlite3_file *f, int op, void *arg)
{
	int rc = REAL(f)->pMethods->xFileControl(REAL(f), op, arg);

	if (op == SQLITE_FCNTL_MMAP_SIZE)
		((struct map_file *)f)->size = -1;
	return rc;
}

static int
map_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
map_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
map_shm_map(sqlite3_file *f, int region, int size, int extend,
    void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, pp);
}

static int
map_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
map_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
map_shm_unmap(sqlite3_file *f, int delete)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete);
}

/* The file's size once a page came from a new mapping: see the top. */
static int
map_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	struct map_file *mf = (struct map_file *)f;
	sqlite3_int64 size;
	int rc = REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);

	if (rc == SQLITE_OK && *pp != NULL && mf->size < 0 &&
	    map_file_size(f, &size) == SQLITE_OK)
		mf->size = size;
	return rc;
}

/* The one change: see the top of the file. */
static int
map_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	struct map_file *mf = (struct map_file *)f;
	sqlite3_int64 size;

	if (p == NULL) {
		if (mf->size >= 0 && map_file_size(f, &size) == SQLITE_OK &&
		    size >= mf->size &&
		    size - mf->size <= mf->size / MAP_GROWTH)
			return SQLITE_OK;	/* kept */
		mf->size = -1;
	}
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods map_io = {
	3,
	map_close, map_read, map_write, map_truncate, map_sync,
	map_file_size, map_lock, map_unlock, map_check_reserved,
	map_file_control, map_sector_size, map_device,
	map_shm_map, map_shm_lock, map_shm_barrier, map_shm_unmap,
	map_fetch, map_unfetch
};

/* For a file whose own methods are of version 1: no WAL, no mapping. */
static const sqlite3_io_methods map_io_v1 = {
	1,
	map_close, map_read, map_write, map_truncate, map_sync,
	map_file_size, map_lock, map_unlock, map_check_reserved,
	map_file_control, map_sector_size, map_device,
	NULL, NULL, NULL, NULL, NULL, NULL
};

static int
map_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	struct map_file *mf = (struct map_file *)f;
	int rc;

	(void)vfs;
	memset(mf, 0, sizeof(*mf));
	mf->size = -1;
	mf->real = (sqlite3_file *)&mf[1];
	rc = real_vfs->xOpen(real_vfs, name, mf->real, flags, out);
	if (mf->real->pMethods == NULL)
		f->pMethods = NULL;	/* nothing to close */
	else if (mf->real->pMethods->iVersion >= 3)
		f->pMethods = &map_io;
	else
		f->pMethods = &map_io_v1;
	return rc;
}

/*
 * Register the VFS (once; the caller holds no lock: bootd's processes
 * are single-threaded).  Returns SQLITE_OK, or SQLite's failure.
 */
int
db_sqlite_map_register(void)
{
	static sqlite3_vfs vfs;

	if (real_vfs != NULL)
		return SQLITE_OK;
	if ((real_vfs = sqlite3_vfs_find(NULL)) == NULL)
		return SQLITE_ERROR;
	vfs = *real_vfs;
	vfs.szOsFile = (int)sizeof(struct map_file) + real_vfs->szOsFile;
	vfs.zName = DB_SQLITE_MAP_VFS;
	vfs.pNext = NULL;
	vfs.xOpen = map_open;
	return sqlite3_vfs_register(&vfs, 0);
}
