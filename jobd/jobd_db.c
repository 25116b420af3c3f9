/*
 * jobd_db.c — the database: open, migrate by PRAGMA user_version, and every
 * statement jobd runs, prepared once at start.
 *
 * Times are integer milliseconds since the epoch. Wire strings (statuses,
 * kinds) are never written in the SQL: they are bound as parameters, so
 * proto.h stays the one place that spells them. Task and media states are
 * small integers (jobd.h) because they never leave jobd.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jobd/jobd.h"
#include "lib/daemon.h"
#include "lib/log.h"

/*
 * Migration steps: step i takes the schema from user_version i to i + 1.
 * Never edit a step that has shipped; append a new one.
 */
static const char *const migrations[] = {
	/* 1: workspaces, keys, jobs, tasks, records */
	"CREATE TABLE workspaces ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE api_keys ("
	"  id TEXT PRIMARY KEY,"
	"  workspace_id TEXT NOT NULL REFERENCES workspaces(id),"
	"  key_hash TEXT NOT NULL UNIQUE,"
	"  prefix TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  scopes TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  last_used_at INTEGER,"
	"  revoked_at INTEGER);"
	"CREATE INDEX api_keys_workspace ON api_keys(workspace_id, created_at);"
	/* jid orders jobs by creation: newest first is jid DESC */
	"CREATE TABLE jobs ("
	"  jid INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  workspace_id TEXT NOT NULL REFERENCES workspaces(id),"
	"  target TEXT NOT NULL,"
	"  target_type TEXT NOT NULL,"
	"  mode TEXT NOT NULL,"
	"  lim INTEGER NOT NULL,"
	"  download_media INTEGER NOT NULL,"
	"  scrape_comments INTEGER NOT NULL,"
	"  plugins TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  started_at INTEGER,"
	"  completed_at INTEGER,"
	"  posts_scraped INTEGER NOT NULL DEFAULT 0,"
	"  comments_scraped INTEGER NOT NULL DEFAULT 0,"
	"  media_total INTEGER NOT NULL DEFAULT 0,"
	"  media_downloaded INTEGER NOT NULL DEFAULT 0,"
	"  media_failed INTEGER NOT NULL DEFAULT 0,"
	"  error_message TEXT,"
	"  progress TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX jobs_workspace ON jobs(workspace_id, jid);"
	"CREATE INDEX jobs_workspace_status ON jobs(workspace_id, status, jid);"
	"CREATE INDEX jobs_status ON jobs(status);"
	/*
	 * One fetch task per job; one media task per distinct media URL
	 * outstanding at a time (tasks_url_open), whatever the number of
	 * posts and jobs that refer to it.
	 */
	"CREATE TABLE media_urls ("
	"  url_id INTEGER PRIMARY KEY,"
	"  url TEXT NOT NULL UNIQUE,"
	"  audio_url TEXT,"
	"  kind TEXT,"
	"  state INTEGER NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  bytes INTEGER,"
	"  sha256 TEXT,"
	"  content_type TEXT,"
	"  path TEXT,"
	"  error TEXT,"
	"  audio_merged INTEGER,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE tasks ("
	"  task_id INTEGER PRIMARY KEY,"
	"  jid INTEGER NOT NULL REFERENCES jobs(jid),"
	"  kind TEXT NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL DEFAULT 0,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  lease_id TEXT,"
	"  worker TEXT,"
	"  lease_expires_at INTEGER,"
	"  checkpoint TEXT,"
	"  progress TEXT,"
	"  url_id INTEGER REFERENCES media_urls(url_id),"
	"  error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX tasks_queue ON tasks(state, kind, task_id);"
	"CREATE INDEX tasks_lease ON tasks(state, lease_expires_at);"
	"CREATE INDEX tasks_job ON tasks(jid, kind, state);"
	"CREATE UNIQUE INDEX tasks_url_open ON tasks(url_id)"
	"  WHERE url_id IS NOT NULL AND state IN (0, 1);"
	"CREATE TABLE posts ("
	"  pid INTEGER PRIMARY KEY,"
	"  jid INTEGER NOT NULL REFERENCES jobs(jid),"
	"  id TEXT NOT NULL,"
	"  workspace_id TEXT NOT NULL,"
	"  subreddit TEXT,"
	"  author TEXT,"
	"  title TEXT,"
	"  created_utc INTEGER,"
	"  score INTEGER,"
	"  num_comments INTEGER,"
	"  url TEXT,"
	"  permalink TEXT,"
	"  selftext TEXT,"
	"  post_type TEXT,"
	"  raw TEXT NOT NULL,"
	"  stored_at INTEGER NOT NULL,"
	"  UNIQUE (jid, id));"
	"CREATE INDEX posts_job_created ON posts(jid, created_utc);"
	"CREATE INDEX posts_ws_created ON posts(workspace_id, created_utc);"
	"CREATE INDEX posts_ws_score ON posts(workspace_id, score);"
	"CREATE INDEX posts_ws_comments ON posts(workspace_id, num_comments);"
	"CREATE INDEX posts_ws_subreddit ON posts(workspace_id, subreddit,"
	"  created_utc);"
	"CREATE INDEX posts_ws_author ON posts(workspace_id, author,"
	"  created_utc);"
	"CREATE INDEX posts_ws_id ON posts(workspace_id, id);"
	"CREATE VIRTUAL TABLE posts_fts USING fts5(title, selftext,"
	"  content='posts', content_rowid='pid');"
	"CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN"
	"  INSERT INTO posts_fts(rowid, title, selftext)"
	"  VALUES (new.pid, new.title, new.selftext); END;"
	"CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN"
	"  INSERT INTO posts_fts(posts_fts, rowid, title, selftext)"
	"  VALUES ('delete', old.pid, old.title, old.selftext); END;"
	"CREATE TRIGGER posts_fts_au AFTER UPDATE OF title, selftext ON posts"
	"  BEGIN"
	"  INSERT INTO posts_fts(posts_fts, rowid, title, selftext)"
	"  VALUES ('delete', old.pid, old.title, old.selftext);"
	"  INSERT INTO posts_fts(rowid, title, selftext)"
	"  VALUES (new.pid, new.title, new.selftext); END;"
	"CREATE TABLE comments ("
	"  cid INTEGER PRIMARY KEY,"
	"  jid INTEGER NOT NULL REFERENCES jobs(jid),"
	"  id TEXT NOT NULL,"
	"  post_id TEXT NOT NULL,"
	"  parent_id TEXT,"
	"  depth INTEGER,"
	"  author TEXT,"
	"  body TEXT,"
	"  score INTEGER,"
	"  created_utc INTEGER,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  removed INTEGER NOT NULL DEFAULT 0,"
	"  raw TEXT NOT NULL,"
	"  stored_at INTEGER NOT NULL,"
	"  UNIQUE (jid, id));"
	"CREATE INDEX comments_job ON comments(jid);"
	"CREATE INDEX comments_job_post ON comments(jid, post_id, created_utc);"
	"CREATE TABLE media ("
	"  mid INTEGER PRIMARY KEY,"
	"  jid INTEGER NOT NULL REFERENCES jobs(jid),"
	"  post_id TEXT NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  kind TEXT,"
	"  url TEXT NOT NULL,"
	"  audio_url TEXT,"
	"  extra TEXT,"
	"  url_id INTEGER REFERENCES media_urls(url_id),"
	"  status INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (jid, post_id, idx));"
	"CREATE INDEX media_job ON media(jid, status);"
	"CREATE INDEX media_url ON media(url_id, status);",
	/* 2: a video's audio track kept beside it (mediad without ffmpeg) */
	"ALTER TABLE media_urls ADD COLUMN audio_path TEXT;"
	"ALTER TABLE media_urls ADD COLUMN audio_sha256 TEXT;"
	"ALTER TABLE media_urls ADD COLUMN audio_bytes INTEGER;",
	/*
	 * 3: reading results. Sentiment per post and comment (the sentiment
	 * plugin fills them; the posts API filters on the label), media
	 * files found by content hash.
	 */
	"ALTER TABLE posts ADD COLUMN sentiment_label TEXT;"
	"ALTER TABLE posts ADD COLUMN sentiment_score REAL;"
	"ALTER TABLE comments ADD COLUMN sentiment_label TEXT;"
	"ALTER TABLE comments ADD COLUMN sentiment_score REAL;"
	"CREATE INDEX media_urls_sha ON media_urls(sha256) "
	"  WHERE sha256 IS NOT NULL;"
	"CREATE INDEX media_urls_audio_sha ON media_urls(audio_sha256) "
	"  WHERE audio_sha256 IS NOT NULL;",
	/*
	 * 4: the posts API reads in index order. latest marks the copy of a
	 * Reddit post that a workspace shows (the one stored last, by
	 * whichever job); every sort has an index ending in id (the keyset
	 * tie-break) so a page reads limit rows, not the workspace; sort
	 * columns are never NULL (a keyset comparison with NULL is false);
	 * names compare without case, as Reddit's do.
	 */
	"ALTER TABLE posts ADD COLUMN latest INTEGER NOT NULL DEFAULT 1;"
	"UPDATE posts SET latest = 0 WHERE EXISTS (SELECT 1 FROM posts p2"
	"  WHERE p2.workspace_id = posts.workspace_id AND p2.id = posts.id"
	"  AND p2.pid > posts.pid);"
	"UPDATE posts SET created_utc = 0 WHERE created_utc IS NULL;"
	"UPDATE posts SET score = 0 WHERE score IS NULL;"
	"UPDATE posts SET num_comments = 0 WHERE num_comments IS NULL;"
	"DROP INDEX posts_job_created;"
	"DROP INDEX posts_ws_created;"
	"DROP INDEX posts_ws_score;"
	"DROP INDEX posts_ws_comments;"
	"DROP INDEX posts_ws_subreddit;"
	"DROP INDEX posts_ws_author;"
	"CREATE INDEX posts_job_created ON posts(jid, created_utc, id);"
	"CREATE INDEX posts_job_score ON posts(jid, score, id);"
	"CREATE INDEX posts_job_comments ON posts(jid, num_comments, id);"
	"CREATE INDEX posts_ws_created ON posts(workspace_id, created_utc, id)"
	"  WHERE latest = 1;"
	"CREATE INDEX posts_ws_score ON posts(workspace_id, score, id)"
	"  WHERE latest = 1;"
	"CREATE INDEX posts_ws_comments ON posts(workspace_id, num_comments, id)"
	"  WHERE latest = 1;"
	"CREATE INDEX posts_ws_subreddit ON posts(workspace_id,"
	"  subreddit COLLATE NOCASE, created_utc) WHERE latest = 1;"
	"CREATE INDEX posts_ws_author ON posts(workspace_id,"
	"  author COLLATE NOCASE, created_utc) WHERE latest = 1;",
	/*
	 * 5: plugins. Each plugin's state per job (progress.plugins), and
	 * the annotations plugins wrote per post and comment, by plugin name.
	 */
	"ALTER TABLE jobs ADD COLUMN plugin_state TEXT;"
	"ALTER TABLE posts ADD COLUMN annotations TEXT;"
	"ALTER TABLE comments ADD COLUMN annotations TEXT;",
	/*
	 * 6: tasks_lease holds leased tasks only. Every queued task went
	 * into it too, with a NULL expiry: one B-tree insert per job.create
	 * that no query reads. Lease expiry and the lease counts ask for
	 * state = 1, written as a literal so that the planner can use this
	 * index.
	 */
	"DROP INDEX tasks_lease;"
	"CREATE INDEX tasks_lease ON tasks(lease_expires_at) WHERE state = 1;",
	/*
	 * 7: the number of jobs of each workspace in each status, and of
	 * tasks of each kind in each state, kept by triggers in the
	 * transaction that changes them. Counting the rows themselves read
	 * a whole index on the loop, at 390 000 queued jobs: every ping's
	 * GROUP BY 38 ms (the self-probe sends one every 2 s: that was
	 * bench/api's GET p99 after POST rounds), a job list's total 32 ms,
	 * /metrics' task counts 58 ms.
	 */
	"CREATE TABLE job_counts ("
	"  workspace_id TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (workspace_id, status)) WITHOUT ROWID;"
	"INSERT INTO job_counts SELECT workspace_id, status, count(*) FROM jobs"
	"  GROUP BY workspace_id, status;"
	"CREATE TRIGGER job_counts_ai AFTER INSERT ON jobs BEGIN"
	"  INSERT INTO job_counts VALUES (new.workspace_id, new.status, 1)"
	"  ON CONFLICT (workspace_id, status) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER job_counts_au AFTER UPDATE OF status ON jobs"
	"  WHEN old.status IS NOT new.status BEGIN"
	"  UPDATE job_counts SET n = n - 1"
	"  WHERE workspace_id = old.workspace_id AND status = old.status;"
	"  INSERT INTO job_counts VALUES (new.workspace_id, new.status, 1)"
	"  ON CONFLICT (workspace_id, status) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER job_counts_ad AFTER DELETE ON jobs BEGIN"
	"  UPDATE job_counts SET n = n - 1"
	"  WHERE workspace_id = old.workspace_id AND status = old.status; END;"
	"CREATE TABLE task_counts ("
	"  kind TEXT NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, state)) WITHOUT ROWID;"
	"INSERT INTO task_counts SELECT kind, state, count(*) FROM tasks"
	"  GROUP BY kind, state;"
	"CREATE TRIGGER task_counts_ai AFTER INSERT ON tasks BEGIN"
	"  INSERT INTO task_counts VALUES (new.kind, new.state, 1)"
	"  ON CONFLICT (kind, state) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER task_counts_au AFTER UPDATE OF kind, state ON tasks"
	"  WHEN old.kind IS NOT new.kind OR old.state IS NOT new.state BEGIN"
	"  UPDATE task_counts SET n = n - 1"
	"  WHERE kind = old.kind AND state = old.state;"
	"  INSERT INTO task_counts VALUES (new.kind, new.state, 1)"
	"  ON CONFLICT (kind, state) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER task_counts_ad AFTER DELETE ON tasks BEGIN"
	"  UPDATE task_counts SET n = n - 1"
	"  WHERE kind = old.kind AND state = old.state; END;",
	/*
	 * 8: the number (seq) of the last report applied under the task's
	 * lease, so that a worker may have several reports in flight and
	 * jobd still applies them in order (proto.h, task.report), across a
	 * restart of either side. A new lease starts again at 0.
	 */
	"ALTER TABLE tasks ADD COLUMN report_seq INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 9: a report's new posts go into posts_fts in one statement
	 * (ST_POST_FTS_NEW), not one per post by this trigger: FTS5 writes
	 * out its pending terms at every statement's savepoint, so each post
	 * cost a segment of its own (half of storing a post; 100 segments a
	 * listing page for FTS5 to merge).
	 */
	"DROP TRIGGER IF EXISTS posts_fts_ai;",
	/*
	 * 10: an update re-indexes a post only when its words changed: a
	 * monitor job updates every post it sees again (score, comments),
	 * and each such update cost two FTS5 writes and a segment.
	 */
	"DROP TRIGGER IF EXISTS posts_fts_au;"
	"CREATE TRIGGER posts_fts_au AFTER UPDATE OF title, selftext ON posts"
	"  WHEN old.title IS NOT new.title OR old.selftext IS NOT new.selftext"
	"  BEGIN"
	"  INSERT INTO posts_fts(posts_fts, rowid, title, selftext)"
	"  VALUES ('delete', old.pid, old.title, old.selftext);"
	"  INSERT INTO posts_fts(rowid, title, selftext)"
	"  VALUES (new.pid, new.title, new.selftext); END;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define JOB_COLS "jid, id, workspace_id, target, target_type, mode, lim, " \
	"download_media, scrape_comments, plugins, status, started_at, " \
	"completed_at, posts_scraped, comments_scraped, media_total, " \
	"media_downloaded, media_failed, error_message, progress, created_at, " \
	"plugin_state"
#define KEY_COLS "id, workspace_id, name, prefix, scopes, created_at, " \
	"last_used_at, revoked_at"

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT call",
	[ST_RELEASE] = "RELEASE call",
	[ST_ROLLBACK_TO] = "ROLLBACK TO call",
	[ST_WS_INSERT] = "INSERT INTO workspaces(id, name, created_at) "
	    "VALUES (?1, ?2, ?3)",
	[ST_WS_GET] = "SELECT id, name, created_at FROM workspaces "
	    "WHERE id = ?1",
	[ST_WS_LIST] = "SELECT id, name, created_at FROM workspaces "
	    "ORDER BY created_at, id",
	[ST_KEY_INSERT] = "INSERT INTO api_keys(id, workspace_id, key_hash, "
	    "prefix, name, scopes, created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_KEY_GET] = "SELECT " KEY_COLS " FROM api_keys WHERE id = ?1",
	[ST_KEY_LIST] = "SELECT " KEY_COLS " FROM api_keys "
	    "WHERE workspace_id = ?1 ORDER BY created_at, id",
	[ST_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ?2 "
	    "WHERE id = ?1 AND revoked_at IS NULL",
	[ST_KEY_BY_HASH] = "SELECT id, workspace_id, scopes, revoked_at, "
	    "last_used_at FROM api_keys WHERE key_hash = ?1",
	[ST_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = ?2 "
	    "WHERE id = ?1",
	[ST_JOB_INSERT] = "INSERT INTO jobs(id, workspace_id, target, "
	    "target_type, mode, lim, download_media, scrape_comments, plugins, "
	    "status, created_at, updated_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
	[ST_JOB_GET] = "SELECT " JOB_COLS " FROM jobs "
	    "WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)",
	[ST_JOB_GET_JID] = "SELECT " JOB_COLS " FROM jobs WHERE jid = ?1",
	[ST_JOB_LIST] = "SELECT " JOB_COLS " FROM jobs "
	    "WHERE workspace_id = ?1 ORDER BY jid DESC LIMIT ?2 OFFSET ?3",
	[ST_JOB_LIST_STATUS] = "SELECT " JOB_COLS " FROM jobs "
	    "WHERE workspace_id = ?1 AND status = ?4 "
	    "ORDER BY jid DESC LIMIT ?2 OFFSET ?3",
	[ST_JOB_COUNT] = "SELECT coalesce(sum(n), 0) FROM job_counts "
	    "WHERE workspace_id = ?1",
	[ST_JOB_COUNT_STATUS] = "SELECT coalesce(sum(n), 0) FROM job_counts "
	    "WHERE workspace_id = ?1 AND status = ?2",
	[ST_JOB_COUNTS] = "SELECT status, sum(n) FROM job_counts "
	    "GROUP BY status HAVING sum(n) > 0",
	[ST_JOB_NSTATUS] = "SELECT coalesce(sum(n), 0) FROM job_counts "
	    "WHERE status = ?1",
	[ST_JOB_SET_STATUS] = "UPDATE jobs SET status = ?2, "
	    "completed_at = ?3, error_message = coalesce(?4, error_message), "
	    "updated_at = ?5 WHERE jid = ?1",
	[ST_JOB_START] = "UPDATE jobs SET status = ?2, started_at = ?3, "
	    "progress = coalesce(progress, '{}'), updated_at = ?3 "
	    "WHERE jid = ?1 AND status = ?4",
	[ST_JOB_SET_PROGRESS] = "UPDATE jobs SET progress = ?2, "
	    "updated_at = ?3 WHERE jid = ?1",
	[ST_JOB_ADD_COUNTS] = "UPDATE jobs SET "
	    "posts_scraped = posts_scraped + ?2, "
	    "comments_scraped = comments_scraped + ?3, "
	    "media_total = media_total + ?4, updated_at = ?5 WHERE jid = ?1",
	[ST_JOB_MEDIA_COUNTS] = "UPDATE jobs SET "
	    "media_downloaded = (SELECT count(*) FROM media "
	    "  WHERE jid = ?1 AND status = ?2), "
	    "media_failed = (SELECT count(*) FROM media "
	    "  WHERE jid = ?1 AND status = ?3), updated_at = ?4 "
	    "WHERE jid = ?1",
	[ST_TASK_INSERT] = "INSERT INTO tasks(jid, kind, state, url_id, "
	    "created_at, updated_at) VALUES (?1, ?2, 0, ?3, ?4, ?4)",
	/* a point lookup per kind: GROUP BY kind read every queued task */
	[ST_TASK_QUEUED] = "SELECT 1 FROM tasks WHERE state = 0 AND kind = ?1 "
	    "LIMIT 1",
	[ST_TASK_LEASE] = "UPDATE tasks SET state = 1, attempt = attempt + 1, "
	    "lease_id = ?2, worker = ?3, lease_expires_at = ?4, report_seq = 0, "
	    "updated_at = ?5 WHERE task_id = (SELECT task_id FROM tasks "
	    "WHERE state = 0 AND kind = ?1 ORDER BY task_id LIMIT 1) "
	    "RETURNING task_id, jid, attempt, checkpoint, progress, url_id",
	[ST_TASK_GET] = "SELECT t.task_id, t.jid, t.kind, t.state, t.attempt, "
	    "t.failures, t.lease_id, t.lease_expires_at, t.url_id, j.status, "
	    "j.id, j.workspace_id, t.report_seq FROM tasks t "
	    "JOIN jobs j ON j.jid = t.jid WHERE t.task_id = ?1",
	[ST_TASK_REPORT_SEQ] = "UPDATE tasks SET report_seq = ?2 "
	    "WHERE task_id = ?1",
	/* a report refused as bad_request still takes its number */
	[ST_TASK_REPORT_SKIP] = "UPDATE tasks SET report_seq = ?3 "
	    "WHERE task_id = ?1 AND lease_id = ?2 AND state = 1 "
	    "AND report_seq = ?3 - 1",
	[ST_TASK_EXTEND] = "UPDATE tasks SET lease_expires_at = ?2, "
	    "progress = coalesce(?3, progress), "
	    "checkpoint = coalesce(?4, checkpoint), updated_at = ?5 "
	    "WHERE task_id = ?1",
	[ST_TASK_SET_STATE] = "UPDATE tasks SET state = ?2, lease_id = NULL, "
	    "lease_expires_at = NULL, error = coalesce(?3, error), "
	    "progress = coalesce(?4, progress), updated_at = ?5 "
	    "WHERE task_id = ?1",
	[ST_TASK_REQUEUE] = "UPDATE tasks SET state = 0, lease_id = NULL, "
	    "lease_expires_at = NULL, failures = failures + ?2, "
	    "error = coalesce(?3, error), updated_at = ?4 WHERE task_id = ?1",
	[ST_TASK_EXPIRED] = "SELECT task_id FROM tasks "
	    "WHERE state = 1 AND lease_expires_at <= ?1 LIMIT 256",
	[ST_TASK_CANCEL_QUEUED] = "UPDATE tasks SET state = 4, "
	    "updated_at = ?2 WHERE jid = ?1 AND kind = ?3 AND state = 0",
	[ST_TASK_FETCH_DONE] = "SELECT EXISTS (SELECT 1 FROM tasks "
	    "WHERE jid = ?1 AND kind = ?2 AND state = 2)",
	[ST_TASK_LEASED_BY_WORKER] = "SELECT worker, count(*) FROM tasks "
	    "WHERE state = 1 GROUP BY worker",
	[ST_TASK_COUNT_LEASED] = "SELECT coalesce(sum(n), 0) FROM task_counts "
	    "WHERE state = 1",
	[ST_TASK_RESET_FAILURES] = "UPDATE tasks SET failures = 0 "
	    "WHERE task_id = ?1 AND failures <> 0",
	[ST_TASK_REASSIGN] = "UPDATE tasks SET jid = ?2 "
	    "WHERE url_id = ?1 AND state IN (0, 1) AND jid = ?3",
	[ST_TASK_CANCEL_URL] = "UPDATE tasks SET state = 4, updated_at = ?2 "
	    "WHERE url_id = ?1 AND state = 0",
	[ST_POST_INSERT] = "INSERT INTO posts(jid, id, workspace_id, "
	    "subreddit, author, title, created_utc, score, num_comments, url, "
	    "permalink, selftext, post_type, raw, stored_at) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ifnull(?7, 0), ifnull(?8, 0), ifnull(?9, 0), "
	    "?10, ?11, ?12, ?13, ?14, ?15) "
	    "ON CONFLICT (jid, id) DO NOTHING",
	/* the report's new posts are those after the largest pid before it */
	[ST_POST_MAX_PID] = "SELECT coalesce(max(pid), 0) FROM posts",
	[ST_POST_FTS_NEW] = "INSERT INTO posts_fts(rowid, title, selftext) "
	    "SELECT pid, title, selftext FROM posts WHERE pid > ?1",
	/* a new copy of a post is the one its workspace shows */
	[ST_POST_SUPERSEDE] = "UPDATE posts SET latest = 0 "
	    "WHERE workspace_id = ?1 AND id = ?2 AND pid <> ?3 AND latest = 1",
	/* a re-fetched post keeps its row; its mutable fields follow Reddit */
	[ST_POST_UPDATE] = "UPDATE posts SET title = ?3, "
	    "score = ifnull(?4, 0), num_comments = ifnull(?5, 0), "
	    "selftext = ?6, raw = ?7 "
	    "WHERE jid = ?1 AND id = ?2 AND raw IS NOT ?7",
	[ST_COMMENT_INSERT] = "INSERT INTO comments(jid, id, post_id, "
	    "parent_id, depth, author, body, score, created_utc, deleted, "
	    "removed, raw, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "?9, ?10, ?11, ?12, ?13) ON CONFLICT (jid, id) DO NOTHING",
	[ST_COMMENT_UPDATE] = "UPDATE comments SET body = ?3, score = ?4, "
	    "deleted = ?5, removed = ?6, raw = ?7 "
	    "WHERE jid = ?1 AND id = ?2 AND raw IS NOT ?7",
	[ST_MEDIA_INSERT] = "INSERT INTO media(jid, post_id, idx, kind, url, "
	    "audio_url, extra, status, created_at, updated_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) "
	    "ON CONFLICT (jid, post_id, idx) DO NOTHING RETURNING mid",
	[ST_MEDIA_SET_URL] = "UPDATE media SET url_id = ?2, status = ?3, "
	    "updated_at = ?4 WHERE mid = ?1",
	[ST_MEDIA_PENDING_JOB] = "SELECT EXISTS (SELECT 1 FROM media "
	    "WHERE jid = ?1 AND status = 0)",
	[ST_MEDIA_JOBS_OF_URL] = "SELECT DISTINCT jid FROM media "
	    "WHERE url_id = ?1 AND status = 0",
	[ST_MEDIA_RESOLVE_URL] = "UPDATE media SET status = ?2, "
	    "updated_at = ?3 WHERE url_id = ?1 AND status = 0",
	[ST_MEDIA_URLS_OF_JOB] = "SELECT DISTINCT url_id FROM media "
	    "WHERE jid = ?1 AND status = 0 AND url_id IS NOT NULL",
	[ST_MEDIA_CANCEL_JOB] = "UPDATE media SET status = 4, "
	    "updated_at = ?2 WHERE jid = ?1 AND status = 0",
	[ST_MEDIA_LIVE_OF_URL] = "SELECT jid, mid FROM media "
	    "WHERE url_id = ?1 AND status = 0 ORDER BY mid LIMIT 1",
	[ST_MEDIA_FIRST_OF_URL] = "SELECT mid, post_id, idx, kind, extra "
	    "FROM media WHERE url_id = ?1 ORDER BY status <> 0, mid LIMIT 1",
	[ST_URL_INSERT] = "INSERT INTO media_urls(url, audio_url, kind, state, "
	    "status, updated_at) VALUES (?1, ?2, ?3, 0, 0, ?4) "
	    "ON CONFLICT (url) DO NOTHING",
	[ST_URL_GET] = "SELECT url_id, state, status FROM media_urls "
	    "WHERE url = ?1",
	[ST_URL_GET_ID] = "SELECT url, audio_url, kind FROM media_urls "
	    "WHERE url_id = ?1",
	[ST_URL_SET_STATE] = "UPDATE media_urls SET state = ?2, "
	    "updated_at = ?3 WHERE url_id = ?1",
	[ST_URL_SET_RESULT] = "UPDATE media_urls SET state = 0, status = ?2, "
	    "bytes = ?3, sha256 = ?4, content_type = ?5, path = ?6, "
	    "error = ?7, audio_merged = ?8, updated_at = ?9, audio_path = ?10, "
	    "audio_sha256 = ?11, audio_bytes = ?12 WHERE url_id = ?1",
	[ST_CHECKPOINT_PASSIVE] = "PRAGMA wal_checkpoint(PASSIVE)",
	[ST_CHECKPOINT_TRUNCATE] = "PRAGMA wal_checkpoint(TRUNCATE)",
};

int
jobd_schema_version(void)
{
	return NMIGRATIONS;
}

static int
db_exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("sqlite: %s", err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
db_user_version(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
db_migrate(sqlite3 *db, const char *path)
{
	char	 sql[64];
	int	 v;

	if ((v = db_user_version(db)) < 0)
		return -1;
	if (v > NMIGRATIONS) {
		log_warnx("%s: schema version %d is newer than this jobd (%d)",
		    path, v, NMIGRATIONS);
		return -1;
	}
	for (; v < NMIGRATIONS; v++) {
		/* each step and its version bump commit together */
		if (db_exec(db, "BEGIN IMMEDIATE") == -1)
			return -1;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, migrations[v]) == -1 ||
		    db_exec(db, sql) == -1 || db_exec(db, "COMMIT") == -1) {
			db_exec(db, "ROLLBACK");
			log_warnx("%s: migration to version %d failed", path,
			    v + 1);
			return -1;
		}
		log_info("%s: schema migrated to version %d", path, v + 1);
	}
	return 0;
}

int
jobd_db_open(struct jobd *jd, const char *path)
{
	int	 i;

	snprintf(jd->db_path, sizeof(jd->db_path), "%s", path);
	/*
	 * SQLite's memory statistics take a global mutex on every malloc
	 * and free (~5% of jobd under a stream of job creations); jobd never
	 * reads them. Must precede the first use of SQLite in the process.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &jd->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, jobd_vfs()) !=
	    SQLITE_OK) {
		log_warnx("%s: %s", path, jd->db ? sqlite3_errmsg(jd->db) :
		    "cannot open");
		return -1;
	}
	/*
	 * A larger lookaside (SQLite's per-connection pool for its small
	 * allocations: 400 slots of 1200 bytes instead of the default 40)
	 * keeps statement steps, savepoints and cursors out of malloc.
	 */
	if (sqlite3_db_config(jd->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 1200,
	    400) != SQLITE_OK)
		log_warnx("%s: lookaside: %s", path, sqlite3_errmsg(jd->db));
	sqlite3_busy_timeout(jd->db, 5000);
	/*
	 * 8 KiB pages for a new database (an existing one keeps its own):
	 * a commit writes each page it changed as one WAL frame of two
	 * write calls, and a full job's comments (about 2 KB of raw each)
	 * fill pages one after another. Alternating bench100 runs: jobd CPU
	 * 0.195 -> 0.155 s per job; POST /jobs, whose commits change a few
	 * rows in many pages, about a tenth slower (bench/README.md).
	 */
	if (db_exec(jd->db, "PRAGMA page_size = 8192;") == -1)
		return -1;
	if (db_exec(jd->db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;"
	    /*
	     * Checkpoint every 1000 pages: a WAL left to grow between the
	     * cron's checkpoints makes every commit extend the file, and the
	     * file system zeroes each new block (measured: job.create 3 700/s
	     * with autocheckpoint off, 8 400/s with it). jobd_wal_start()
	     * moves these checkpoints to a thread; this is what stays if it
	     * cannot. journal_size_limit truncates a WAL that a burst made
	     * large.
	     */
	    "PRAGMA wal_autocheckpoint = 1000;"
	    "PRAGMA journal_size_limit = 67108864;") == -1)
		return -1;
	if (db_migrate(jd->db, path) == -1)
		return -1;
	/* on failure, SQLite's autocheckpoint stays, inline */
	(void)jobd_wal_start(jd);
	for (i = 0; i < ST__COUNT; i++) {
		if (stmt_sql[i] == NULL)
			log_panic("%s: statement %d has no SQL", __func__, i);
		if (sqlite3_prepare_v3(jd->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &jd->st[i], NULL) != SQLITE_OK) {
			log_warnx("%s: prepare %d: %s", path, i,
			    sqlite3_errmsg(jd->db));
			return -1;
		}
	}
	return 0;
}

void
jobd_db_close(struct jobd *jd)
{
	int	 i;

	jobd_wal_stop(jd);
	for (i = 0; i < ST__COUNT; i++) {
		sqlite3_finalize(jd->st[i]);
		jd->st[i] = NULL;
	}
	if (jd->db != NULL && sqlite3_close(jd->db) != SQLITE_OK)
		log_warnx("%s: close: %s", jd->db_path, sqlite3_errmsg(jd->db));
	jd->db = NULL;
}

/* A statement ready to bind: reset and cleared. */
sqlite3_stmt *
jobd_stmt(struct jobd *jd, enum jobd_stmt which)
{
	sqlite3_stmt	*st = jd->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Step a statement that returns no rows (or ignore its rows); 0 or -1. */
int
jobd_step_done(struct jobd *jd, sqlite3_stmt *st)
{
	int	 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("sqlite: %s: %s", sqlite3_sql(st),
		    sqlite3_errmsg(jd->db));
		return -1;
	}
	return 0;
}

int
jobd_begin(struct jobd *jd)
{
	if (jd->batch_tx) {
		jd->ev_mark = cJSON_GetArraySize(jd->pending_ev);
		if (jobd_step_done(jd, jobd_stmt(jd, ST_SAVEPOINT)) == -1)
			return -1;
		jd->in_savepoint = 1;
		return 0;
	}
	events_discard(jd);
	return jobd_step_done(jd, jobd_stmt(jd, ST_BEGIN));
}

/* Commit, then publish the events the transaction queued. */
int
jobd_commit(struct jobd *jd)
{
	if (jd->batch_tx) {
		/* published when the whole batch commits */
		if (jobd_step_done(jd, jobd_stmt(jd, ST_RELEASE)) == -1) {
			jobd_rollback(jd);
			return -1;
		}
		jd->in_savepoint = 0;
		return 0;
	}
	if (jobd_step_done(jd, jobd_stmt(jd, ST_COMMIT)) == -1) {
		jobd_rollback(jd);
		return -1;
	}
	events_flush(jd);
	return 0;
}

/* Drop the events queued since index mark. */
static void
events_truncate(struct jobd *jd, int mark)
{
	while (jd->pending_ev != NULL &&
	    cJSON_GetArraySize(jd->pending_ev) > mark)
		cJSON_DeleteItemFromArray(jd->pending_ev,
		    cJSON_GetArraySize(jd->pending_ev) - 1);
}

void
jobd_rollback(struct jobd *jd)
{
	int	 i;

	/* statements still mid-step would keep the transaction open */
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_reset(jd->st[i]);
	if (jd->batch_tx) {
		/* undo this call only; the batch's other calls stand */
		if (!jd->in_savepoint)
			return;
		events_truncate(jd, jd->ev_mark);
		(void)jobd_step_done(jd, jobd_stmt(jd, ST_ROLLBACK_TO));
		(void)jobd_step_done(jd, jobd_stmt(jd, ST_RELEASE));
		jd->in_savepoint = 0;
		return;
	}
	events_discard(jd);
	if (sqlite3_get_autocommit(jd->db))
		return;
	(void)jobd_step_done(jd, jobd_stmt(jd, ST_ROLLBACK));
}

/*
 * rep.c's batch hooks: one transaction for all the calls of a batch, so a
 * burst of job.create costs one commit (one WAL append) instead of one
 * each. Returns -1 when no batch transaction could be opened (the calls
 * then run one transaction each, as if they had come alone).
 */
int
jobd_batch_begin(void *arg)
{
	struct jobd	*jd = arg;

	events_discard(jd);
	if (jobd_step_done(jd, jobd_stmt(jd, ST_BEGIN)) == -1)
		return -1;
	jd->batch_tx = 1;
	jd->in_savepoint = 0;
	return 0;
}

/* -1: the commit failed and nothing of the batch was stored */
int
jobd_batch_end(void *arg)
{
	struct jobd	*jd = arg;
	int		 i;

	jd->batch_tx = 0;
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_reset(jd->st[i]);
	if (jobd_step_done(jd, jobd_stmt(jd, ST_COMMIT)) == -1) {
		jobd_rollback(jd);
		return -1;
	}
	events_flush(jd);
	return 0;
}

/* The real check ping asks for: can we take the write lock? */
int
jobd_health(struct jobd *jd)
{
	if (jd->batch_tx)
		return 0;	/* we hold it already */
	if (jobd_step_done(jd, jobd_stmt(jd, ST_BEGIN)) == -1)
		return -1;
	return jobd_step_done(jd, jobd_stmt(jd, ST_ROLLBACK));
}

const char *
jobd_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s ? (const char *)s : "";
}

/* A nullable ms column as an RFC 3339 string or JSON null. */
void
jobd_add_time(cJSON *obj, const char *key, sqlite3_stmt *st, int col)
{
	char	 buf[40];

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		cJSON_AddNullToObject(obj, key);
		return;
	}
	daemon_fmt_time(sqlite3_column_int64(st, col), buf, sizeof(buf));
	cJSON_AddStringToObject(obj, key, buf);
}
