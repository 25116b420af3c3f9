/*
 * jobd_vfs.c — the VFS jobd opens its database with: the system's own
 * (unix), except that a transaction's WAL frames reach the file in a few
 * large writes instead of two write(2)s per page.
 *
 * SQLite writes each WAL frame as two calls, its 24-byte header and then
 * the page; a full job's report of about a megabyte is some 150 frames, a
 * job of 100 posts about 8 000 pwrite(2)s, each a system call and a pass
 * through the file system for a piece of a page. Here the frames of a
 * transaction are gathered in a buffer and written when the transaction's
 * commit frame is complete, in pieces of WB_PIECE bytes. Replaying the
 * reports of a 100-post job into jobd's handler (three alternating runs
 * of 15 rounds): loop CPU at the 25th percentile 87 -> 79, 86 -> 74, 100
 * -> 103 ms; minimum 84 -> 70, 79 -> 71, 87 -> 77 ms (bench/README.md).
 *
 * What a commit has written is in the file (the kernel's page cache, as
 * before) when SQLite's commit returns, and before SQLite publishes its
 * frames in the wal-index where other connections look for them: only a
 * frame header whose commit field is zero, and the page right after it,
 * are ever held back. Any other write (the commit frame's header and its
 * page, the WAL header, a page or a header SQLite rewrites in place)
 * writes out what is held, then itself, at once; so does every other
 * call on the file (read, sync, size, truncate, close, ...), so SQLite
 * reading its own frames back mid-transaction (a spilled cache) reads
 * what it wrote. Were SQLite ever to write a frame in one call, nothing
 * would be held. The file's format is SQLite's, unchanged: sqlite3(1),
 * Python's sqlite3 and rscrapectl open the database as before.
 *
 * Files other than the WAL are opened by the unix VFS straight into the
 * sqlite3_file SQLite gave us (it is sized for the larger of the two), so
 * their calls never pass through here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "jobd/jobd.h"

/* held back before a write is forced: a report's frames fit in one */
#define WB_CAP		(2 * 1024 * 1024)
/* per write: the unix VFS masks a write's length to 17 bits */
#define WB_PIECE	65536
#define WAL_FRAME_HDR	24

struct wb_file {
	sqlite3_file	 base;		/* first: SQLite's view of it */
	sqlite3_file	*real;		/* the unix VFS's file, after us */
	char		*buf;
	size_t		 len;
	sqlite3_int64	 off;		/* of buf[0] in the file */
	sqlite3_int64	 page_at;	/* where a held header's page goes */
};

static sqlite3_vfs	 wb_vfs;
static sqlite3_vfs	*wb_base;
static unsigned long	 wb_writes;	/* write calls on WAL files, for tests */

#define WB(f)	((struct wb_file *)(void *)(f))
#define REAL(f)	(WB(f)->real)

static int
wb_flush(struct wb_file *w)
{
	size_t	 at, n;
	int	 rc = SQLITE_OK;

	for (at = 0; at < w->len && rc == SQLITE_OK; at += n) {
		n = w->len - at < WB_PIECE ? w->len - at : WB_PIECE;
		rc = w->real->pMethods->xWrite(w->real, w->buf + at, (int)n,
		    w->off + (sqlite3_int64)at);
		__atomic_add_fetch(&wb_writes, 1, __ATOMIC_RELAXED);
	}
	w->len = 0;
	w->page_at = -1;
	return rc;
}

static int
wb_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	struct wb_file		*w = WB(f);
	const unsigned char	*h = p;
	int			 hdr, hold, rc;

	/* bytes 4-7 of a frame's header: the database's size after a
	 * commit, else 0 */
	hdr = n == WAL_FRAME_HDR && off >= 32 && (h[4] | h[5] | h[6] | h[7]) == 0;
	hold = hdr || off == w->page_at;
	if (w->len > 0 && (w->off + (sqlite3_int64)w->len != off ||
	    w->len + (size_t)n > WB_CAP))
		if ((rc = wb_flush(w)) != SQLITE_OK)
			return rc;
	if ((size_t)n > WB_CAP) {
		__atomic_add_fetch(&wb_writes, 1, __ATOMIC_RELAXED);
		return w->real->pMethods->xWrite(w->real, p, n, off);
	}
	if (w->len == 0)
		w->off = off;
	memcpy(w->buf + w->len, p, (size_t)n);
	w->len += (size_t)n;
	w->page_at = hdr ? off + WAL_FRAME_HDR : -1;
	return hold ? SQLITE_OK : wb_flush(w);
}

static int
wb_close(sqlite3_file *f)
{
	struct wb_file	*w = WB(f);
	int		 rc, rc2;

	rc = wb_flush(w);
	rc2 = w->real->pMethods->xClose(w->real);
	free(w->buf);
	return rc != SQLITE_OK ? rc : rc2;
}

/* every call but a write first writes out what is held */
#define WB_FLUSHED(f)	do {						\
	int rc_ = wb_flush(WB(f));					\
	if (rc_ != SQLITE_OK)						\
		return rc_;						\
} while (0)

static int
wb_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int
wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
wb_sync(sqlite3_file *f, int flags)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
wb_size(sqlite3_file *f, sqlite3_int64 *size)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
wb_lock(sqlite3_file *f, int level)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int
wb_unlock(sqlite3_file *f, int level)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int
wb_reserved(sqlite3_file *f, int *out)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
wb_control(sqlite3_file *f, int op, void *arg)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
wb_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
wb_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
wb_shm_map(sqlite3_file *f, int i, int size, int extend, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), i, size, extend, p);
}

static int
wb_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
wb_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
wb_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
wb_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
	WB_FLUSHED(f);
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, p);
}

static int
wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods wb_methods = {
	3, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_size,
	wb_lock, wb_unlock, wb_reserved, wb_control, wb_sector, wb_device,
	wb_shm_map, wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch,
	wb_unfetch
};

static int
wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
    int *out)
{
	struct wb_file	*w = WB(f);
	int		 rc;

	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return wb_base->xOpen(wb_base, name, f, flags, out);
	memset(w, 0, sizeof(*w));
	w->real = (sqlite3_file *)(void *)(w + 1);
	w->page_at = -1;
	if ((w->buf = malloc(WB_CAP)) == NULL)
		return SQLITE_NOMEM;
	rc = wb_base->xOpen(wb_base, name, w->real, flags, out);
	if (rc == SQLITE_OK && w->real->pMethods != NULL &&
	    w->real->pMethods->iVersion < wb_methods.iVersion) {
		/* an older unix VFS than ours knows: used as it is */
		w->real->pMethods->xClose(w->real);
		free(w->buf);
		return wb_base->xOpen(wb_base, name, f, flags, out);
	}
	if (rc != SQLITE_OK || w->real->pMethods == NULL) {
		if (w->real->pMethods != NULL)
			w->real->pMethods->xClose(w->real);
		free(w->buf);
		f->pMethods = NULL;
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	f->pMethods = &wb_methods;
	return SQLITE_OK;
}

/* the rest is the unix VFS's */

static int
wb_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	return wb_base->xDelete(wb_base, name, sync);
}

static int
wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return wb_base->xAccess(wb_base, name, flags, out);
}

static int
wb_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return wb_base->xFullPathname(wb_base, name, n, out);
}

static void *
wb_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return wb_base->xDlOpen(wb_base, name);
}

static void
wb_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	wb_base->xDlError(wb_base, n, msg);
}

static void
(*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return wb_base->xDlSym(wb_base, h, sym);
}

static void
wb_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	wb_base->xDlClose(wb_base, h);
}

static int
wb_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return wb_base->xRandomness(wb_base, n, out);
}

static int
wb_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return wb_base->xSleep(wb_base, us);
}

static int
wb_time(sqlite3_vfs *v, double *t)
{
	(void)v;
	return wb_base->xCurrentTime(wb_base, t);
}

static int
wb_last_error(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	return wb_base->xGetLastError(wb_base, n, msg);
}

static int
wb_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
	(void)v;
	return wb_base->xCurrentTimeInt64(wb_base, t);
}

/*
 * Once per process, after sqlite3_config() and before the first open;
 * jobd's loop and its checkpoint thread open with JOBD_VFS. NULL (the
 * default VFS) when it cannot be registered: jobd works as before.
 */
const char *
jobd_vfs(void)
{
	static int	 state;		/* 0 not yet, 1 registered, -1 failed */
	sqlite3_vfs	*base;

	if (state == 0) {
		state = -1;
		if ((base = sqlite3_vfs_find("unix")) != NULL &&
		    base->iVersion >= 2 && base->szOsFile > 0) {
			wb_base = base;
			wb_vfs = (sqlite3_vfs){
				.iVersion = 2,
				.szOsFile = (int)sizeof(struct wb_file) +
				    base->szOsFile,
				.mxPathname = base->mxPathname,
				.zName = JOBD_VFS,
				.xOpen = wb_open,
				.xDelete = wb_delete,
				.xAccess = wb_access,
				.xFullPathname = wb_fullpath,
				.xDlOpen = wb_dlopen,
				.xDlError = wb_dlerror,
				.xDlSym = wb_dlsym,
				.xDlClose = wb_dlclose,
				.xRandomness = wb_random,
				.xSleep = wb_sleep,
				.xCurrentTime = wb_time,
				.xGetLastError = wb_last_error,
				.xCurrentTimeInt64 = wb_time64,
			};
			if (sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK)
				state = 1;
		}
	}
	return state == 1 ? JOBD_VFS : NULL;
}

/* write calls made on WAL files so far (tests) */
unsigned long
jobd_vfs_writes(void)
{
	return __atomic_load_n(&wb_writes, __ATOMIC_RELAXED);
}
