/*
 * jobd_wal.c — WAL checkpoints on a thread of their own.
 *
 * SQLite's autocheckpoint runs inside the commit that crosses its
 * threshold: on jobd's loop, it copies the WAL into the database and
 * waits for two fdatasync(2)s, and every request in flight waits with it
 * (about a quarter of jobd's time while a full job streams comments in,
 * and fetchd stalls behind jobd meanwhile). Here the main connection's
 * WAL hook only wakes a thread that checkpoints through a connection of
 * its own, PASSIVE: it never takes the writer's lock, so the loop goes on
 * committing while the pages are copied and synced.
 *
 * A burst of writes (a full job's reports) is not checkpointed while it
 * goes on, unless the WAL passes WAL_KICK_BYTES: the thread's copying and
 * syncing took the CPU and the disk the loop was storing the burst with
 * (a 100-post job, 33 MB of WAL: 0.175 -> 0.136 s with its checkpoint
 * after it; a 1000-post job, 1.61 -> 1.55 s). The cron's tick kicks the thread once jobd has been idle for
 * a tick (jobd_wal_tick), and every CHECKPOINT_MS anyway.
 *
 * The WAL can be reset only when a write begins with every frame already
 * copied; under a steady stream of commits the thread's pass rarely ends
 * in such a gap, so the file grows through a long burst and is reset
 * after it (journal_size_limit then truncates it). The loop still
 * checkpoints itself past WAL_BOUND_BYTES, so a burst that never pauses
 * grows the file to a bound, not to the size of its data; by then the
 * thread has copied nearly everything and the loop's pass is short.
 *
 * The thread touches nothing of jobd but this struct and its own
 * connection.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/jobd.h"
#include "lib/log.h"

/* wake the thread during a burst: a 100-post job's reports fit under it */
#define WAL_KICK_BYTES	(32 * 1024 * 1024)
/* checkpoint on the loop (the thread has the margin to the kick) */
#define WAL_BOUND_BYTES	(96 * 1024 * 1024)
/* written ahead at start: a 100-post job's burst is about 30 MB */
#define WAL_PRESIZE_BYTES	(32 * 1024 * 1024)

struct jobd_wal {
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	int		 want;		/* a pass is due */
	int		 running;	/* a pass is under way */
	long		 passes;	/* passes done */
	int		 quit;
	int		 kick, bound;	/* in frames (pages) */
	sqlite3		*db;		/* the thread's connection */
	/* the loop's own: commits seen by the hook, and at the last tick */
	unsigned long	 commits, commits_seen;
	int		 unsettled;	/* frames written since the last kick */
	int		 frames;	/* in the WAL after the last commit */
};

static void *
wal_main(void *arg)
{
	struct jobd_wal	*w = arg;
	int		 rc;

	(void)pthread_setname_np(pthread_self(), "jobd:wal");
	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (!w->want && !w->quit)
			pthread_cond_wait(&w->cond, &w->mtx);
		if (w->quit)
			break;
		w->want = 0;
		w->running = 1;
		pthread_mutex_unlock(&w->mtx);
		rc = sqlite3_wal_checkpoint_v2(w->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		/* BUSY: the loop's own pass (or a reader) holds it; next time */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warnx("wal checkpoint: %s", sqlite3_errmsg(w->db));
		pthread_mutex_lock(&w->mtx);
		w->running = 0;
		w->passes++;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

static void
wal_kick(struct jobd_wal *w)
{
	pthread_mutex_lock(&w->mtx);
	if (!w->want) {
		w->want = 1;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mtx);
}

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct jobd_wal	*w = arg;

	w->commits++;
	w->unsettled = 1;
	w->frames = frames;
	if (frames >= w->bound) {
		/* the thread's pass would make ours give up: wait it out */
		pthread_mutex_lock(&w->mtx);
		while (w->running)
			pthread_cond_wait(&w->cond, &w->mtx);
		w->want = 0;
		pthread_mutex_unlock(&w->mtx);
		(void)sqlite3_wal_checkpoint_v2(db, name,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (frames >= w->kick) {
		wal_kick(w);
		w->unsettled = 0;
	}
	return SQLITE_OK;
}

/*
 * The cron's tick (once a second): a WAL written to since the last kick
 * and not since the last tick is checkpointed now that jobd is idle.
 */
void
jobd_wal_tick(struct jobd *jd)
{
	struct jobd_wal	*w = jd->wal;

	if (w == NULL)
		return;
	if (w->commits != w->commits_seen) {
		w->commits_seen = w->commits;
		return;
	}
	if (w->unsettled) {
		w->unsettled = 0;
		wal_kick(w);
	}
}

/*
 * A checkpoint of what the WAL holds: on the thread; on the loop when the
 * thread could not start, or to truncate (at stop, after jobd_wal_stop:
 * a pass under way would make TRUNCATE give up).
 */
void
jobd_wal_checkpoint(struct jobd *jd, int truncate)
{
	sqlite3_stmt	*st;

	if (!truncate && jd->wal != NULL) {
		wal_kick(jd->wal);
		return;
	}
	st = jobd_stmt(jd, truncate ? ST_CHECKPOINT_TRUNCATE :
	    ST_CHECKPOINT_PASSIVE);
	(void)jobd_step_done(jd, st);
}

/*
 * Waits for the thread to have nothing due or under way; the passes it
 * has made (tests).
 */
long
jobd_wal_settle(struct jobd *jd)
{
	struct jobd_wal	*w = jd->wal;
	long		 n;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->mtx);
	while (w->want || w->running)
		pthread_cond_wait(&w->cond, &w->mtx);
	n = w->passes;
	pthread_mutex_unlock(&w->mtx);
	return n;
}

/* frames in the WAL after the last commit (tests) */
int
jobd_wal_frames(struct jobd *jd)
{
	return jd->wal != NULL ? jd->wal->frames : -1;
}

static int
db_page_size(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 n = 4096;

	if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_int(st, 0) >= 512)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * The WAL's first WAL_PRESIZE_BYTES are written (zeros, past SQLite's
 * last frame) before the first burst, as PostgreSQL preallocates its WAL
 * segments: SQLite then writes its frames over pages the file system has
 * already allocated and cached, instead of extending the file a page at
 * a time (ext4 allocating a block and a page-cache page for each, about
 * a tenth of jobd's loop storing a 100-post job: alternating bench100
 * runs, loop CPU 0.087 -> 0.077 s). It costs jobd's start about 15 ms
 * (18 -> 33 ms to ready) and 32 MiB of disk. SQLite reads a WAL
 * only up to its first frame that fails the checksum, and writes over the
 * zeros from its start when it resets the log; journal_size_limit (64
 * MiB) keeps a file of this size when it truncates after a burst. Only
 * here, before the checkpoint thread or any request can write: nothing
 * else is writing the file.
 */
static void
wal_presize(struct jobd *jd)
{
	static const char	 zero[65536];
	char			 path[sizeof(jd->db_path) + 8];
	struct stat		 sb;
	off_t			 off;
	int			 fd;

	snprintf(path, sizeof(path), "%s-wal", jd->db_path);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &sb) == 0)
		for (off = sb.st_size; off < WAL_PRESIZE_BYTES;
		    off += (off_t)sizeof(zero))
			if (pwrite(fd, zero, sizeof(zero), off) !=
			    (ssize_t)sizeof(zero)) {
				log_warn("%s: presize", path);
				break;
			}
	close(fd);
}

/* After the main connection has put the database in WAL mode. */
int
jobd_wal_start(struct jobd *jd)
{
	struct jobd_wal	*w;
	int		 page;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return -1;
	}
	wal_presize(jd);
	page = db_page_size(jd->db);
	w->kick = WAL_KICK_BYTES / page;
	w->bound = WAL_BOUND_BYTES / page;
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (sqlite3_open_v2(jd->db_path, &w->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, jobd_vfs()) != SQLITE_OK ||
	    sqlite3_exec(w->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		log_warnx("%s: checkpoint connection: %s (checkpoints stay "
		    "inline)", jd->db_path,
		    w->db ? sqlite3_errmsg(w->db) : "cannot open");
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, wal_main, w) != 0) {
		log_warn("%s: checkpoint thread (checkpoints stay inline)",
		    jd->db_path);
		goto fail;
	}
	/* replaces the autocheckpoint's hook */
	sqlite3_wal_hook(jd->db, wal_hook, w);
	jd->wal = w;
	return 0;
fail:
	sqlite3_close(w->db);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mtx);
	free(w);
	return -1;
}

/* Before the main connection closes; its checkpoints go back inline. */
void
jobd_wal_stop(struct jobd *jd)
{
	struct jobd_wal	*w = jd->wal;

	if (w == NULL)
		return;
	sqlite3_wal_autocheckpoint(jd->db, w->kick);
	pthread_mutex_lock(&w->mtx);
	w->quit = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thread, NULL);
	if (sqlite3_close(w->db) != SQLITE_OK)
		log_warnx("%s: close: %s", jd->db_path, sqlite3_errmsg(w->db));
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mtx);
	free(w);
	jd->wal = NULL;
}
