/*
 * test_jobd_vfs.c — jobd's VFS (jobd_vfs.c) writes a transaction's WAL
 * frames together, and never holds back what a commit wrote: another
 * connection sees it at once, and a process that dies right after its
 * commit (no close, no checkpoint) leaves it in the file. Transactions
 * that spill pages into the WAL before they commit, rewrite them, or roll
 * back leave a database that reads back exactly and checks clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobd/jobd.h"

static char	 dir[] = "/tmp/rs-vfs-XXXXXX";
static char	 path[300];

static void
rm_db(void)
{
	char	 p[320];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static int64_t
one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* a fresh database in WAL mode, as jobd opens it */
static sqlite3 *
open_jobd_vfs(void)
{
	sqlite3	*db = NULL;

	rm_db();
	assert_non_null(jobd_vfs());
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, jobd_vfs()), SQLITE_OK);
	exec_ok(db, "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;"
	    "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT UNIQUE, b BLOB);");
	return db;
}

/* the same file through SQLite's own VFS */
static sqlite3 *
open_plain(void)
{
	sqlite3	*db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	return db;
}

static void
assert_clean(sqlite3 *db)
{
	sqlite3_stmt	*st;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
	    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

/* n rows of 2 KB (about what a comment's raw is), keys from `from` */
static void
insert_rows(sqlite3 *db, int from, int n)
{
	char	 sql[200];

	snprintf(sql, sizeof(sql), "WITH RECURSIVE c(i) AS (SELECT %d UNION "
	    "ALL SELECT i + 1 FROM c WHERE i < %d) INSERT INTO t(k, b) "
	    "SELECT 'k' || i, randomblob(2000) FROM c", from, from + n - 1);
	exec_ok(db, sql);
}

/*
 * A commit of 2 MB (about 260 frames: 520 write calls through the unix
 * VFS alone) takes a few dozen, and another connection sees every row
 * as soon as it returns.
 */
static void
test_commit_written_together_and_seen(void **state)
{
	sqlite3		*db, *other;
	unsigned long	 w0, writes;

	(void)state;
	db = open_jobd_vfs();
	other = open_plain();
	w0 = jobd_vfs_writes();
	insert_rows(db, 1, 1000);
	writes = jobd_vfs_writes() - w0;
	assert_true(writes >= 2);
	assert_true(writes <= 2 * 1024 * 1024 / 65536 + 8);
	assert_int_equal(one_int(other, "SELECT count(*) FROM t"), 1000);
	assert_int_equal(one_int(other, "SELECT sum(length(b)) FROM t"),
	    2000 * 1000);
	/* and the next commit, from the same file, too */
	insert_rows(db, 1001, 10);
	assert_int_equal(one_int(other, "SELECT count(*) FROM t"), 1010);
	sqlite3_close(other);
	sqlite3_close(db);
}

/*
 * A child commits and dies at once: no close, no checkpoint, nothing
 * flushed on the way out. What it committed is in the file. The second
 * transaction spills pages into the WAL before it commits (a cache of 20
 * pages) and changes them again after: SQLite rewrites those frames and
 * their checksums in place, and recovery must find the chain whole.
 */
static void
test_commit_survives_the_process(void **state)
{
	sqlite3		*db;
	pid_t		 pid;
	int		 status;
	char		 shm[320];

	(void)state;
	db = open_jobd_vfs();
	sqlite3_close(db);		/* the child opens its own */
	if ((pid = fork()) == 0) {
		db = NULL;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
		    jobd_vfs()) != SQLITE_OK ||
		    sqlite3_exec(db, "PRAGMA wal_autocheckpoint = 0;"
		    "PRAGMA cache_size = 20;", NULL, NULL, NULL) != SQLITE_OK)
			_exit(2);
		insert_rows(db, 1, 500);
		if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
			_exit(3);
		insert_rows(db, 501, 500);
		if (sqlite3_exec(db, "UPDATE t SET b = zeroblob(1500) "
		    "WHERE id % 3 = 0; COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
			_exit(4);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the wal-index gone, SQLite rebuilds it from the WAL's checksums */
	snprintf(shm, sizeof(shm), "%s-shm", path);
	assert_int_equal(unlink(shm), 0);
	db = open_plain();
	assert_clean(db);
	assert_int_equal(one_int(db, "SELECT count(*) FROM t"), 1000);
	assert_int_equal(one_int(db, "SELECT count(*) FROM t WHERE "
	    "length(b) = 1500 AND b = zeroblob(1500)"), 333);
	assert_int_equal(one_int(db, "SELECT count(*) FROM t WHERE "
	    "length(b) = 2000"), 667);
	sqlite3_close(db);
}

/*
 * A transaction larger than the cache writes frames it has not committed
 * and reads them back; rolled back, it leaves nothing, and the WAL is
 * written over by the next one.
 */
static void
test_spill_then_rollback(void **state)
{
	sqlite3	*db, *other;

	(void)state;
	db = open_jobd_vfs();
	exec_ok(db, "PRAGMA cache_size = 20");
	insert_rows(db, 1, 100);
	exec_ok(db, "BEGIN");
	insert_rows(db, 101, 800);
	/* read back through the spilled pages, within the transaction */
	assert_int_equal(one_int(db, "SELECT count(*) FROM t"), 900);
	assert_int_equal(one_int(db, "SELECT sum(length(b)) FROM t"),
	    900 * 2000);
	exec_ok(db, "ROLLBACK");
	assert_int_equal(one_int(db, "SELECT count(*) FROM t"), 100);
	insert_rows(db, 101, 50);
	other = open_plain();
	assert_int_equal(one_int(other, "SELECT count(*) FROM t"), 150);
	assert_int_equal(one_int(other, "SELECT count(*) FROM t WHERE "
	    "k = 'k150'"), 1);
	assert_clean(other);
	sqlite3_close(other);
	/* folded into the database and reused from its start */
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL), SQLITE_OK);
	insert_rows(db, 151, 10);
	sqlite3_close(db);
	db = open_plain();
	assert_int_equal(one_int(db, "SELECT count(*) FROM t"), 160);
	assert_clean(db);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_written_together_and_seen),
		cmocka_unit_test(test_commit_survives_the_process),
		cmocka_unit_test(test_spill_then_rollback),
	};
	int	 rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rm_db();
	rmdir(dir);
	return rc;
}
