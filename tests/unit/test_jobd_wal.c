/*
 * test_jobd_wal.c — jobd's WAL checkpoints run on a thread of their own
 * (jobd_wal.c): the WAL is copied back and reused while the loop goes on
 * committing, a burst is folded once jobd is idle, the file stays bounded
 * when commits never pause, and what was committed is all there after a
 * restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobd/jobd.h"

#define MB	(1024 * 1024)

static char	 dbdir[] = "/tmp/rs-wal-XXXXXX";
static char	 path[300], walpath[310];

static off_t
wal_size(void)
{
	struct stat	 sb;

	return stat(walpath, &sb) == -1 ? 0 : sb.st_size;
}

static void
open_state(struct jobd *jd)
{
	sqlite3_stmt	*st;

	memset(jd, 0, sizeof(*jd));
	assert_int_equal(jobd_state_init(jd, path, 30), 0);
	assert_non_null(jd->wal);
	/* a database jobd creates has pages of 8 KiB */
	assert_int_equal(sqlite3_prepare_v2(jd->db, "PRAGMA page_size", -1,
	    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 8192);
	sqlite3_finalize(st);
}

/* one commit of a blob of n bytes (random: SQLite stores it as it is) */
static void
insert_blob(struct jobd *jd, int n)
{
	char	 sql[128];

	snprintf(sql, sizeof(sql), "INSERT INTO filler(b) VALUES "
	    "(randomblob(%d))", n);
	assert_int_equal(sqlite3_exec(jd->db, sql, NULL, NULL, NULL),
	    SQLITE_OK);
}

static int64_t
count_rows(struct jobd *jd)
{
	sqlite3_stmt	*st;
	int64_t		 n;

	assert_int_equal(sqlite3_prepare_v2(jd->db, "SELECT count(*) FROM "
	    "filler", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * 160 MB in commits of 1 MB, each followed by a pause long enough for the
 * thread: the thread makes the passes (about one per 32 MB, the kick),
 * and the WAL is reused from its start after each, so it never holds much
 * more than 32 MB. Had the loop checkpointed, the thread would count no
 * pass; had nobody, the WAL would hold all 160 MB.
 */
static void
test_the_thread_checkpoints_and_the_wal_is_reused(void **state)
{
	struct jobd	 jd;
	off_t		 most = 0;
	long		 passes = 0;
	int		 i;

	(void)state;
	open_state(&jd);
	assert_int_equal(sqlite3_exec(jd.db, "CREATE TABLE filler(b BLOB)",
	    NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < 160; i++) {
		insert_blob(&jd, MB);
		passes = jobd_wal_settle(&jd);
		if (wal_size() > most)
			most = wal_size();
	}
	assert_true(passes >= 4);
	assert_true(most < 36 * MB);
	assert_int_equal(count_rows(&jd), 160);

	/* at stop: the thread ends, the WAL is folded and truncated */
	jobd_wal_stop(&jd);
	assert_null(jd.wal);
	jobd_wal_checkpoint(&jd, 1);
	assert_int_equal(wal_size(), 0);
	jobd_state_fini(&jd);

	open_state(&jd);
	assert_int_equal(count_rows(&jd), 160);
	jobd_state_fini(&jd);
}

/*
 * A burst under the kick is not checkpointed while it goes on, but once
 * jobd is idle: the first cron tick after the last commit only notes it,
 * the next one (no commit since) has the thread fold the WAL, and the
 * next write starts the WAL over instead of growing it.
 */
static void
test_an_idle_jobd_checkpoints_what_a_burst_left(void **state)
{
	struct jobd	 jd;
	long		 passes;
	off_t		 burst;
	int		 i;

	(void)state;
	open_state(&jd);
	for (i = 0; i < 8; i++)
		insert_blob(&jd, MB);
	passes = jobd_wal_settle(&jd);
	burst = wal_size();
	assert_true(jobd_wal_frames(&jd) >= 8 * MB / 8192);
	jobd_wal_tick(&jd);		/* commits since the last tick */
	assert_int_equal(jobd_wal_settle(&jd), passes);
	jobd_wal_tick(&jd);		/* none: idle */
	assert_int_equal(jobd_wal_settle(&jd), passes + 1);
	jobd_wal_tick(&jd);		/* nothing new: no pass */
	assert_int_equal(jobd_wal_settle(&jd), passes + 1);
	insert_blob(&jd, MB);
	/* reused from its start: a megabyte's frames, the file no larger */
	assert_true(jobd_wal_frames(&jd) < MB / 8192 + 32);
	assert_int_equal(wal_size(), burst);
	assert_int_equal(count_rows(&jd), 169);
	jobd_state_fini(&jd);
}

/*
 * 200 MB in commits of 1 MB with no pause between them: the thread's
 * passes may never see the WAL whole, and the loop's own checkpoint past
 * 96 MB keeps the file from growing with the data.
 */
static void
test_the_wal_stays_bounded_when_commits_never_pause(void **state)
{
	struct jobd	 jd;
	off_t		 most = 0;
	int		 i;

	(void)state;
	open_state(&jd);
	for (i = 0; i < 200; i++) {
		insert_blob(&jd, MB);
		if (wal_size() > most)
			most = wal_size();
	}
	assert_true(most <= 100 * MB);
	assert_int_equal(count_rows(&jd), 369);
	jobd_state_fini(&jd);

	open_state(&jd);
	assert_int_equal(count_rows(&jd), 369);
	jobd_state_fini(&jd);
}

/*
 * A WAL written ahead at start (zeros to 32 MiB) past the frames a
 * process left when it died without closing the database: they are read
 * back whole, by the same jobd and the next.
 */
static void
test_the_wal_is_written_ahead_past_what_it_holds(void **state)
{
	struct jobd	 jd;
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 shm[320];
	pid_t		 pid;
	int		 status;
	off_t		 left;

	(void)state;
	/* a database of its own, not the earlier tests' */
	unlink(path);
	unlink(walpath);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(shm);
	if ((pid = fork()) == 0) {
		db = NULL;
		if (sqlite3_open(path, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "PRAGMA page_size = 8192;"
		    "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
		    "CREATE TABLE filler(b BLOB);"
		    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		    "FROM c WHERE i < 300) INSERT INTO filler(b) "
		    "SELECT randomblob(10000) FROM c", NULL, NULL, NULL) !=
		    SQLITE_OK)
			_exit(2);
		_exit(0);	/* no close: the frames stay in the WAL */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	left = wal_size();
	assert_true(left > 2 * MB && left < 8 * MB);
	unlink(shm);		/* recovered from the WAL's own frames */

	open_state(&jd);
	assert_true(wal_size() >= 32 * MB);
	assert_int_equal(count_rows(&jd), 300);
	assert_int_equal(sqlite3_prepare_v2(jd.db, "SELECT sum(length(b)) "
	    "FROM filler", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 300 * 10000);
	sqlite3_finalize(st);
	insert_blob(&jd, MB);
	jobd_state_fini(&jd);

	open_state(&jd);
	assert_int_equal(count_rows(&jd), 301);
	assert_int_equal(sqlite3_prepare_v2(jd.db, "PRAGMA integrity_check",
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	jobd_state_fini(&jd);
}

static int
teardown(void **state)
{
	char	 cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dbdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_the_thread_checkpoints_and_the_wal_is_reused),
		cmocka_unit_test(
		    test_an_idle_jobd_checkpoints_what_a_burst_left),
		cmocka_unit_test(
		    test_the_wal_stays_bounded_when_commits_never_pause),
		cmocka_unit_test(
		    test_the_wal_is_written_ahead_past_what_it_holds),
	};

	assert_non_null(mkdtemp(dbdir));
	snprintf(path, sizeof(path), "%s/rscrape.db", dbdir);
	snprintf(walpath, sizeof(walpath), "%s-wal", path);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
