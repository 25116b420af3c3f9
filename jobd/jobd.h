/*
 * jobd.h — the state daemon: one SQLite database, a rep socket serving the
 * messages of proto/proto.h, a pub socket for events.
 *
 * Everything runs on the loop thread; handlers use SQLite directly with
 * statements prepared once at start (jobd_db.c). Every function that looks
 * at leases takes the time as an argument so tests can inject a clock.
 */
#ifndef RSCRAPE_JOBD_H
#define RSCRAPE_JOBD_H

#include <stdint.h>

#include <nng/nng.h>
#include <sqlite3.h>

#include "lib/bridge.h"
#include "proto/proto.h"

/* the prepared statements; SQL text in jobd_db.c */
enum jobd_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_WS_INSERT,
	ST_WS_GET,
	ST_WS_LIST,
	ST_KEY_INSERT,
	ST_KEY_GET,
	ST_KEY_LIST,
	ST_KEY_REVOKE,
	ST_KEY_BY_HASH,
	ST_KEY_TOUCH,
	ST_JOB_INSERT,
	ST_JOB_GET,
	ST_JOB_GET_JID,
	ST_JOB_LIST,
	ST_JOB_LIST_STATUS,
	ST_JOB_COUNT,
	ST_JOB_COUNT_STATUS,
	ST_JOB_COUNTS,
	ST_JOB_NSTATUS,
	ST_JOB_SET_STATUS,
	ST_JOB_START,
	ST_JOB_SET_PROGRESS,
	ST_JOB_ADD_COUNTS,
	ST_JOB_MEDIA_COUNTS,
	ST_TASK_INSERT,
	ST_TASK_QUEUED,
	ST_TASK_LEASE,
	ST_POST_MAX_PID,
	ST_POST_FTS_NEW,
	ST_TASK_REPORT_SEQ,
	ST_TASK_REPORT_SKIP,
	ST_TASK_GET,
	ST_TASK_EXTEND,
	ST_TASK_SET_STATE,
	ST_TASK_REQUEUE,
	ST_TASK_EXPIRED,
	ST_TASK_CANCEL_QUEUED,
	ST_TASK_FETCH_DONE,
	ST_TASK_LEASED_BY_WORKER,
	ST_TASK_COUNT_LEASED,
	ST_TASK_RESET_FAILURES,
	ST_TASK_REASSIGN,
	ST_TASK_CANCEL_URL,
	ST_POST_INSERT,
	ST_POST_UPDATE,
	ST_POST_SUPERSEDE,
	ST_COMMENT_INSERT,
	ST_COMMENT_UPDATE,
	ST_MEDIA_INSERT,
	ST_MEDIA_SET_URL,
	ST_MEDIA_PENDING_JOB,
	ST_MEDIA_JOBS_OF_URL,
	ST_MEDIA_RESOLVE_URL,
	ST_MEDIA_URLS_OF_JOB,
	ST_MEDIA_CANCEL_JOB,
	ST_MEDIA_LIVE_OF_URL,
	ST_MEDIA_FIRST_OF_URL,
	ST_URL_INSERT,
	ST_URL_GET,
	ST_URL_GET_ID,
	ST_URL_SET_STATE,
	ST_URL_SET_RESULT,
	ST_CHECKPOINT_PASSIVE,
	ST_CHECKPOINT_TRUNCATE,
	ST__COUNT
};

/* task states (columns, not wire strings) */
#define TASK_QUEUED	0
#define TASK_LEASED	1
#define TASK_DONE	2
#define TASK_FAILED	3
#define TASK_CANCELLED	4

/* media row / media url states */
#define MEDIA_PENDING	0
#define MEDIA_DOWNLOADED 1
#define MEDIA_FAILED	2
#define MEDIA_SKIPPED	3
#define MEDIA_CANCELLED	4
#define URL_IDLE	0	/* no task outstanding, no result */
#define URL_QUEUED	1	/* a media task is outstanding */

#define JOBD_MAX_WORKERS 64

struct jobd_wal;
struct jobd_check;

/* a raw's bytes in a request's attachment */
struct raw_span {
	const char	*p;
	size_t		 n;
};

struct jobd_worker {
	char		 name[128];
	char		 kind[16];
	int64_t		 last_seen_ms;
};

struct jobd {
	sqlite3		*db;
	sqlite3_stmt	*st[ST__COUNT];
	char		 db_path[1024];
	struct rep_server *rep;
	int		 pub_open;
	nng_socket	 pub;
	char		 epoch[37];
	uint64_t	 seq;
	cJSON		*pending_ev;	/* events queued inside a transaction */
	/*
	 * A batch (proto.h BATCHES) runs in one transaction, committed once:
	 * jobd_begin/commit/rollback then work on a savepoint per call, and
	 * a call's rollback drops only its own queued events (ev_mark on).
	 */
	int		 batch_tx;
	int		 in_savepoint;
	int		 ev_mark;
	/*
	 * work.available goes out at most once per kind every
	 * EVENTS_WORK_GAP_MS (jobd_events.c); one due meanwhile waits for
	 * work_ev. [fetch, media]
	 */
	int64_t		 work_sent_ms[2];
	int		 work_due[2];
	struct event	*work_ev;	/* NULL: publish at once (unit tests) */
	/* tests watch events here; called after each publish */
	void		(*ev_hook)(const char *topic, const cJSON *body, void *arg);
	void		*ev_hook_arg;
	struct plugins	*plugins;	/* NULL: none run (unit tests) */
	int64_t		 lease_ms;
	int64_t		 started_ms;
	int64_t		 (*clock)(void);	/* wall clock in ms; tests inject */
	int64_t		 lease_expiries;
	int64_t		 releases;
	int64_t		 last_checkpoint_ms;
	struct jobd_wal	*wal;		/* the checkpoint thread (jobd_wal.c) */
	struct jobd_check *check;	/* the raw check thread (jobd_check.c) */
	long		 check_bad;	/* its verdict when inline */
	int		 work_hint[2];	/* queued fetch/media work seen */
	struct jobd_worker workers[JOBD_MAX_WORKERS];
};

/* jobd_db.c */
int	 jobd_db_open(struct jobd *jd, const char *path);
void	 jobd_db_close(struct jobd *jd);
int	 jobd_batch_begin(void *jd);
int	 jobd_batch_end(void *jd);
sqlite3_stmt *jobd_stmt(struct jobd *jd, enum jobd_stmt which);
int	 jobd_begin(struct jobd *jd);
int	 jobd_commit(struct jobd *jd);
void	 jobd_rollback(struct jobd *jd);
int	 jobd_step_done(struct jobd *jd, sqlite3_stmt *st);
int	 jobd_health(struct jobd *jd);
int	 jobd_schema_version(void);

/* jobd_wal.c */
int	 jobd_wal_start(struct jobd *jd);
void	 jobd_wal_stop(struct jobd *jd);
void	 jobd_wal_checkpoint(struct jobd *jd, int truncate);
long	 jobd_wal_settle(struct jobd *jd);
void	 jobd_wal_tick(struct jobd *jd);
int	 jobd_wal_frames(struct jobd *jd);

/* jobd_vfs.c: the unix VFS with a transaction's WAL frames written together */
#define JOBD_VFS	"rscrape-jobd"
const char	*jobd_vfs(void);
unsigned long	 jobd_vfs_writes(void);

/* jobd_check.c */
int	 jobd_check_start(struct jobd *jd);
void	 jobd_check_stop(struct jobd *jd);
void	 jobd_check_submit(struct jobd *jd, const struct raw_span *s,
	    size_t n);
long	 jobd_check_wait(struct jobd *jd);

/* jobd_server.c: the daemon around the state */
extern const struct rep_route jobd_routes[];
int	 jobd_state_init(struct jobd *jd, const char *db_path,
	    int64_t lease_seconds);
void	 jobd_state_fini(struct jobd *jd);
void	 jobd_cron_run(struct jobd *jd, int64_t now_ms);
int64_t	 jobd_now(struct jobd *jd);
void	 jobd_worker_seen(struct jobd *jd, const char *worker,
	    const char *kind, int64_t now_ms);
struct daemon;
int	 jobd_daemon_init(struct daemon *d);
void	 jobd_daemon_cron(struct daemon *d);
void	 jobd_daemon_stop(struct daemon *d);
void	 jobd_daemon_fini(struct daemon *d);

/* jobd_api.c: workspaces, keys, jobs */
int	 jobd_h_ping(struct rep_ctx *ctx, void *arg);
int	 jobd_h_workspace_create(struct rep_ctx *ctx, void *arg);
int	 jobd_h_workspace_list(struct rep_ctx *ctx, void *arg);
int	 jobd_h_key_create(struct rep_ctx *ctx, void *arg);
int	 jobd_h_key_list(struct rep_ctx *ctx, void *arg);
int	 jobd_h_key_revoke(struct rep_ctx *ctx, void *arg);
int	 jobd_h_key_auth(struct rep_ctx *ctx, void *arg);
int	 jobd_h_job_create(struct rep_ctx *ctx, void *arg);
int	 jobd_h_job_get(struct rep_ctx *ctx, void *arg);
int	 jobd_h_job_list(struct rep_ctx *ctx, void *arg);
int	 jobd_h_job_cancel(struct rep_ctx *ctx, void *arg);
cJSON	*jobd_job_json(struct jobd *jd, sqlite3_stmt *row, int64_t now_ms);
cJSON	*jobd_job_config_json(sqlite3_stmt *row);
int	 jobd_key_hash(const char *secret, char out[65]);

/* jobd_lease.c: the task state machine */
struct lease_ref {
	int64_t		 task_id;
	const char	*lease_id;
};
struct task_row {
	int64_t		 task_id;
	int64_t		 jid;
	int		 kind_media;
	int		 state;
	int		 attempt;
	int		 failures;
	int64_t		 url_id;	/* media tasks */
	char		 job_status[16];
	char		 job_id[37];
	char		 ws_id[37];
	int64_t		 report_seq;	/* the last report applied (seq) */
};
/* A lease_* function returns 0, or -1 after rep_error(ctx, ...). */
int	 lease_acquire(struct jobd *jd, struct rep_ctx *ctx,
	    const char *worker, const char *kind, int max, int64_t now_ms,
	    cJSON *tasks);
int	 lease_check(struct jobd *jd, struct rep_ctx *ctx,
	    const struct lease_ref *ref, int64_t now_ms, struct task_row *t);
int	 lease_heartbeat(struct jobd *jd, struct rep_ctx *ctx,
	    const struct lease_ref *ref, const cJSON *progress,
	    const cJSON *checkpoint, int64_t now_ms, int64_t *expiresp,
	    int *cancelledp);
int	 lease_finish(struct jobd *jd, struct rep_ctx *ctx,
	    const struct lease_ref *ref, const cJSON *progress,
	    const cJSON *result, int64_t now_ms, const char **job_statusp);
int	 lease_fail(struct jobd *jd, struct rep_ctx *ctx,
	    const struct lease_ref *ref, const char *error, int retry,
	    int64_t now_ms, const char **job_statusp);
int	 lease_release(struct jobd *jd, struct rep_ctx *ctx,
	    const struct lease_ref *ref, int64_t now_ms);
int	 lease_expire(struct jobd *jd, int64_t now_ms);
/* job state changes inside an open transaction */
int	 job_set_terminal(struct jobd *jd, int64_t jid, const char *status,
	    const char *error, int64_t now_ms);
int	 job_maybe_complete(struct jobd *jd, int64_t jid, int64_t now_ms);
int	 job_publish_status(struct jobd *jd, int64_t jid);
int	 job_publish_progress(struct jobd *jd, int64_t jid);
int	 task_is_cancelled(struct jobd *jd, const struct task_row *t);
int	 lease_store_progress(struct jobd *jd, const struct task_row *t,
	    const cJSON *progress, const cJSON *checkpoint, int64_t now_ms);
int	 jobd_h_task_lease(struct rep_ctx *ctx, void *arg);
int	 jobd_h_task_heartbeat(struct rep_ctx *ctx, void *arg);
int	 jobd_h_task_finish(struct rep_ctx *ctx, void *arg);
int	 jobd_h_task_fail(struct rep_ctx *ctx, void *arg);
int	 jobd_h_task_release(struct rep_ctx *ctx, void *arg);

/* jobd_stats.c */
int	 jobd_h_stats_report(struct rep_ctx *ctx, void *arg);
int	 jobd_h_metrics(struct rep_ctx *ctx, void *arg);
void	 jobd_stats_free(void);

/* jobd_records.c: task.report and media results */
int	 jobd_h_task_report(struct rep_ctx *ctx, void *arg);
int	 media_url_result(struct jobd *jd, int64_t url_id, const cJSON *result,
	    int64_t now_ms);
int	 media_job_dropped(struct jobd *jd, int64_t jid, int64_t now_ms);

/* jobd_posts.c: post.list, post.get */
int	 jobd_h_post_list(struct rep_ctx *ctx, void *arg);
int	 jobd_h_post_get(struct rep_ctx *ctx, void *arg);
/* jobd_results.c: comment.list, media.list, media.file */
int	 jobd_h_comment_list(struct rep_ctx *ctx, void *arg);
int	 jobd_h_media_list(struct rep_ctx *ctx, void *arg);
int	 jobd_h_media_file(struct rep_ctx *ctx, void *arg);

/* jobd_results.c: helpers shared by the results handlers (jobd_posts.c) */
#define RES_CURSOR_MAX	512
#define RES_SQL_MAX	4096
struct res_sql {
	char	 s[RES_SQL_MAX];
	size_t	 n;
};
/*
 * Fields picked from the raw Reddit object: one json_extract() with many
 * paths returns them as one JSON array (the object is parsed once).
 * Each becomes a member under its public name; Reddit's own JSON types
 * pass through, absent ones are null.
 */
struct res_extra {
	const char	*path;
	const char	*name;
	int		 kind;
};
#define RES_EX_COPY	0
#define RES_EX_EDITED	1	/* false or a time: a boolean */
#define RES_EX_URL	2	/* "self", "default", ...: null */
#define RES_EX_BOOL	3	/* absent: false */
void	 res_sql_add(struct res_sql *b, const char *s);
void	 res_sql_extract(struct res_sql *b, const char *col,
	    const struct res_extra *f);
void	 res_add_extras(cJSON *o, const struct res_extra *f,
	    sqlite3_stmt *st, int col);
void	 res_b64url_encode(const unsigned char *in, size_t n, char *out);
int	 res_b64url_decode(const char *in, char *out, size_t outlen);
void	 res_bind_text(sqlite3_stmt *st, const char *name, const char *v);
void	 res_bind_int(sqlite3_stmt *st, const char *name, int64_t v);
void	 res_add_text(cJSON *o, const char *key, sqlite3_stmt *st, int col);
void	 res_add_int(cJSON *o, const char *key, sqlite3_stmt *st, int col);
void	 res_add_real(cJSON *o, const char *key, sqlite3_stmt *st, int col);
void	 res_add_secs(cJSON *o, const char *key, sqlite3_stmt *st, int col);
void	 res_add_permalink(cJSON *o, const char *key, const char *path);
int	 res_job_of(struct jobd *jd, struct rep_ctx *ctx, const char *ws,
	    const char *job, int64_t *jid);
sqlite3_stmt *res_prepare(struct jobd *jd, const char *sql);
int	 res_page_args(struct rep_ctx *ctx, int64_t *limit, int *count);
int	 res_opt_str(struct rep_ctx *ctx, const char *key, const char **out);
int	 res_opt_enum(struct rep_ctx *ctx, const char *key,
	    const char *const *set, const char **out);
enum { MC_MID, MC_JOB, MC_POST, MC_IDX, MC_KIND, MC_URL, MC_STATUS,
	MC_BYTES, MC_SHA, MC_CTYPE, MC_ERROR, MC_CREATED, MC_UPDATED,
	MC_AMERGED, MC_ASHA, MC_ABYTES };
#define RES_MEDIA_SQL "SELECT m.mid, (SELECT id FROM jobs WHERE jid = m.jid), " \
	"m.post_id, m.idx, m.kind, m.url, " \
	"m.status, u.bytes, u.sha256, u.content_type, coalesce(u.error, " \
	"CASE WHEN json_valid(m.extra) THEN json_extract(m.extra, " \
	"'$.error') END), m.created_at, m.updated_at, u.audio_merged, " \
	"u.audio_sha256, u.audio_bytes FROM media m " \
	"LEFT JOIN media_urls u ON u.url_id = m.url_id WHERE m.jid = :jid"

cJSON	*res_media_json(sqlite3_stmt *st);
void	 res_add_annotations(cJSON *o, sqlite3_stmt *st, int col);

/* jobd_plugins.c: a job's plugins, after its scrape (README "Plugins") */
struct plugins;
struct event_base;
struct rs_config;
int	 plugins_open(struct jobd *jd, struct event_base *base,
	    const struct rs_config *cf);
void	 plugins_close(struct jobd *jd);
void	 plugins_cron(struct jobd *jd, int64_t now_ms);
int	 plugins_hold(struct jobd *jd, int64_t jid, sqlite3_stmt *row,
	    int64_t now_ms);
cJSON	*plugins_progress(sqlite3_stmt *row);

/* jobd_events.c: pub socket; events queue until the transaction commits */
int	 events_open(struct jobd *jd, struct event_base *base, const char *url,
	    const char **errp);
void	 events_close(struct jobd *jd);
void	 events_queue(struct jobd *jd, const char *topic, cJSON *body);
void	 events_flush(struct jobd *jd);
void	 events_discard(struct jobd *jd);
void	 events_publish(struct jobd *jd, const char *topic, cJSON *body);
/* work.available for events_work_kinds[i] now (the cron's re-hint) */
extern const char *const events_work_kinds[2];
void	 events_work_now(struct jobd *jd, int i);

/* small helpers shared by the handlers (jobd_api.c) */
extern const char *const job_statuses[];
/* columns of JOB_COLS in jobd_db.c */
enum { JC_JID, JC_ID, JC_WS, JC_TARGET, JC_TTYPE, JC_MODE, JC_LIMIT,
	JC_MEDIA, JC_COMMENTS, JC_PLUGINS, JC_STATUS, JC_STARTED,
	JC_COMPLETED, JC_POSTS, JC_NCOMMENTS, JC_MTOTAL, JC_MDOWN, JC_MFAIL,
	JC_ERROR, JC_PROGRESS, JC_CREATED, JC_PLUGIN_STATE };
int	 jobd_one_of(const char *s, const char *const *set);
void	 jobd_add_prefixed(cJSON *obj, const char *key, const char *prefix,
	    const char *uuid);
int	 jobd_body_id(struct rep_ctx *ctx, const char *key, const char *prefix,
	    char out[37]);
int	 jobd_workspace_exists(struct jobd *jd, struct rep_ctx *ctx,
	    const char *ws);
int	 jobd_status_terminal(const char *status);
int	 jobd_db_error(struct jobd *jd, struct rep_ctx *ctx, const char *what);
void	 jobd_add_time(cJSON *obj, const char *key, sqlite3_stmt *st, int col);
const char *jobd_col_text(sqlite3_stmt *st, int col);

#endif
