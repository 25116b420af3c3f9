/*
 * jobd_lease.c — the task state machine of the worker protocol (proto.h).
 *
 *   queued --lease--> leased --finish--> done
 *                       |  \--fail(retry=false) or too many failures--> failed
 *                       |--fail(retry)/release/expiry--> queued (checkpoint kept)
 *
 * A lease is named by a fresh lease_id; any call that names another one
 * gets lease_lost, so a worker that was presumed dead cannot write over
 * its successor. "failures" counts retries and expiries since the last
 * sign of progress (a heartbeat or report resets it): a task that kills
 * every worker that takes it fails its job after PROTO_MAX_ATTEMPTS,
 * while a long job whose workers are restarted now and then goes on.
 *
 * Every function takes now_ms, so the unit tests run it on a fake clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/jobd.h"
#include "lib/daemon.h"
#include "lib/log.h"

static cJSON *
json_col(sqlite3_stmt *st, int col)
{
	cJSON	*o = NULL;

	if (sqlite3_column_type(st, col) != SQLITE_NULL)
		o = cJSON_Parse(jobd_col_text(st, col));
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
	}
	return o;
}

static int
bind_json(sqlite3_stmt *st, int idx, const cJSON *o)
{
	char	*s;

	if (o == NULL)
		return sqlite3_bind_null(st, idx);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, cJSON_free);
}

/* The job part of a leased task: what the worker needs to do the work. */
static int
task_job_json(struct jobd *jd, int64_t jid, cJSON *task, char *status,
    size_t statuslen)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_JOB_GET_JID);
	cJSON		*j;

	sqlite3_bind_int64(st, 1, jid);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	jobd_add_prefixed(task, PROTO_F_JOB_ID, PROTO_PFX_JOB, jobd_col_text(st,
	    JC_ID));
	j = cJSON_AddObjectToObject(task, PROTO_F_JOB);
	jobd_add_prefixed(j, "workspace_id", PROTO_PFX_WORKSPACE,
	    jobd_col_text(st, JC_WS));
	cJSON_AddStringToObject(j, "target", jobd_col_text(st, JC_TARGET));
	cJSON_AddStringToObject(j, "target_type", jobd_col_text(st, JC_TTYPE));
	cJSON_AddStringToObject(j, "mode", jobd_col_text(st, JC_MODE));
	cJSON_AddItemToObject(j, "config", jobd_job_config_json(st));
	snprintf(status, statuslen, "%s", jobd_col_text(st, JC_STATUS));
	sqlite3_reset(st);
	return 0;
}

/* media tasks carry what mediad needs to fetch the URL */
static int
task_media_json(struct jobd *jd, int64_t url_id, cJSON *task)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_URL_GET_ID);
	cJSON		*m = cJSON_AddObjectToObject(task, "media");
	cJSON		*extra;

	cJSON_AddNumberToObject(m, "url_id", (double)url_id);
	sqlite3_bind_int64(st, 1, url_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	cJSON_AddStringToObject(m, "url", jobd_col_text(st, 0));
	if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		cJSON_AddStringToObject(m, "audio_url", jobd_col_text(st, 1));
	cJSON_AddStringToObject(m, PROTO_F_KIND, jobd_col_text(st, 2));
	sqlite3_reset(st);
	st = jobd_stmt(jd, ST_MEDIA_FIRST_OF_URL);
	sqlite3_bind_int64(st, 1, url_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		cJSON_AddNumberToObject(m, "media_id",
		    (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(m, "post_id", jobd_col_text(st, 1));
		cJSON_AddNumberToObject(m, "index",
		    (double)sqlite3_column_int64(st, 2));
		extra = json_col(st, 4);
		cJSON_AddItemToObject(m, "extra", extra);
	}
	sqlite3_reset(st);
	return 0;
}

static int
start_job(struct jobd *jd, int64_t jid, int64_t now_ms)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_JOB_START);

	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_text(st, 2, PROTO_ST_RUNNING, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_text(st, 4, PROTO_ST_PENDING, -1, SQLITE_STATIC);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	if (sqlite3_changes(jd->db) > 0)
		return job_publish_status(jd, jid);
	return 0;
}

int
lease_acquire(struct jobd *jd, struct rep_ctx *ctx, const char *worker,
    const char *kind, int max, int64_t now_ms, cJSON *tasks)
{
	sqlite3_stmt	*st;
	cJSON		*t;
	char		 lease_id[37], status[16];
	int64_t		 task_id, jid, url_id;
	int		 n, attempt, is_media = strcmp(kind, PROTO_KIND_MEDIA) == 0;

	if (jobd_begin(jd) == -1)
		return jobd_db_error(jd, ctx, "begin");
	for (n = 0; n < max; n++) {
		proto_uuid_new(lease_id);
		st = jobd_stmt(jd, ST_TASK_LEASE);
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, lease_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, worker, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, now_ms + jd->lease_ms);
		sqlite3_bind_int64(st, 5, now_ms);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_reset(st);
			break;
		}
		task_id = sqlite3_column_int64(st, 0);
		jid = sqlite3_column_int64(st, 1);
		attempt = sqlite3_column_int(st, 2);
		url_id = sqlite3_column_int64(st, 5);
		t = cJSON_CreateObject();
		cJSON_AddNumberToObject(t, PROTO_F_TASK_ID, (double)task_id);
		cJSON_AddStringToObject(t, PROTO_F_LEASE_ID, lease_id);
		cJSON_AddStringToObject(t, PROTO_F_KIND, kind);
		cJSON_AddNumberToObject(t, PROTO_F_ATTEMPT, attempt);
		cJSON_AddNumberToObject(t, PROTO_F_EXPIRES,
		    (double)(now_ms + jd->lease_ms));
		cJSON_AddItemToObject(t, PROTO_F_CHECKPOINT, json_col(st, 3));
		cJSON_AddItemToObject(t, PROTO_F_PROGRESS, json_col(st, 4));
		sqlite3_reset(st);
		if (task_job_json(jd, jid, t, status, sizeof(status)) == -1 ||
		    (is_media && task_media_json(jd, url_id, t) == -1)) {
			cJSON_Delete(t);
			return jobd_db_error(jd, ctx, "task read");
		}
		if (strcmp(status, PROTO_ST_PENDING) == 0 &&
		    start_job(jd, jid, now_ms) == -1) {
			cJSON_Delete(t);
			return jobd_db_error(jd, ctx, "job start");
		}
		cJSON_AddItemToArray(tasks, t);
		log_info("request %s: task %lld (%s, job %lld, attempt %d) "
		    "leased to %s", ctx->req->id, (long long)task_id, kind,
		    (long long)jid, attempt, worker);
	}
	if (jobd_commit(jd) == -1)
		return jobd_db_error(jd, ctx, "commit");
	return 0;
}

/* Inside a transaction: the task row if ref names its current lease. */
int
lease_check(struct jobd *jd, struct rep_ctx *ctx, const struct lease_ref *ref,
    int64_t now_ms, struct task_row *t)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_TASK_GET);
	int		 rc;

	(void)now_ms;
	memset(t, 0, sizeof(*t));
	sqlite3_bind_int64(st, 1, ref->task_id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return jobd_db_error(jd, ctx, "task read");
		jobd_rollback(jd);
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such task");
	}
	t->task_id = sqlite3_column_int64(st, 0);
	t->jid = sqlite3_column_int64(st, 1);
	t->kind_media = strcmp(jobd_col_text(st, 2), PROTO_KIND_MEDIA) == 0;
	t->state = sqlite3_column_int(st, 3);
	t->attempt = sqlite3_column_int(st, 4);
	t->failures = sqlite3_column_int(st, 5);
	t->url_id = sqlite3_column_int64(st, 8);
	snprintf(t->job_status, sizeof(t->job_status), "%s",
	    jobd_col_text(st, 9));
	snprintf(t->job_id, sizeof(t->job_id), "%s", jobd_col_text(st, 10));
	snprintf(t->ws_id, sizeof(t->ws_id), "%s", jobd_col_text(st, 11));
	t->report_seq = sqlite3_column_int64(st, 12);
	if (t->state != TASK_LEASED || sqlite3_column_type(st, 6) ==
	    SQLITE_NULL || strcmp(jobd_col_text(st, 6), ref->lease_id) != 0) {
		sqlite3_reset(st);
		jobd_rollback(jd);
		return rep_error(ctx, PROTO_E_LEASE_LOST, "task %lld is not "
		    "leased under %s", (long long)ref->task_id, ref->lease_id);
	}
	sqlite3_reset(st);
	return 0;
}

int
task_is_cancelled(struct jobd *jd, const struct task_row *t)
{
	(void)jd;
	return jobd_status_terminal(t->job_status) &&
	    strcmp(t->job_status, PROTO_ST_COMPLETED) != 0;
}

static int
set_task_state(struct jobd *jd, int64_t task_id, int state, const char *err,
    const cJSON *progress, int64_t now_ms)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_TASK_SET_STATE);

	sqlite3_bind_int64(st, 1, task_id);
	sqlite3_bind_int(st, 2, state);
	if (err)
		sqlite3_bind_text(st, 3, err, -1, SQLITE_TRANSIENT);
	bind_json(st, 4, progress);
	sqlite3_bind_int64(st, 5, now_ms);
	return jobd_step_done(jd, st);
}

static int
requeue(struct jobd *jd, int64_t task_id, int failed, const char *err,
    int64_t now_ms)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_TASK_REQUEUE);

	sqlite3_bind_int64(st, 1, task_id);
	sqlite3_bind_int(st, 2, failed);
	if (err)
		sqlite3_bind_text(st, 3, err, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now_ms);
	return jobd_step_done(jd, st);
}

/* a fetch task's progress becomes the job's (counters stay jobd's own) */
int
lease_store_progress(struct jobd *jd, const struct task_row *t,
    const cJSON *progress, const cJSON *checkpoint, int64_t now_ms)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_TASK_EXTEND);

	sqlite3_bind_int64(st, 1, t->task_id);
	sqlite3_bind_int64(st, 2, now_ms + jd->lease_ms);
	bind_json(st, 3, progress);
	bind_json(st, 4, checkpoint);
	sqlite3_bind_int64(st, 5, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	st = jobd_stmt(jd, ST_TASK_RESET_FAILURES);
	sqlite3_bind_int64(st, 1, t->task_id);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	if (progress == NULL || t->kind_media || task_is_cancelled(jd, t))
		return 0;
	st = jobd_stmt(jd, ST_JOB_SET_PROGRESS);
	sqlite3_bind_int64(st, 1, t->jid);
	bind_json(st, 2, progress);
	sqlite3_bind_int64(st, 3, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	return job_publish_progress(jd, t->jid);
}

int
lease_heartbeat(struct jobd *jd, struct rep_ctx *ctx,
    const struct lease_ref *ref, const cJSON *progress,
    const cJSON *checkpoint, int64_t now_ms, int64_t *expiresp,
    int *cancelledp)
{
	struct task_row	 t;

	if (jobd_begin(jd) == -1)
		return jobd_db_error(jd, ctx, "begin");
	if (lease_check(jd, ctx, ref, now_ms, &t) == -1)
		return -1;
	if (lease_store_progress(jd, &t, progress, checkpoint, now_ms) == -1)
		return jobd_db_error(jd, ctx, "heartbeat");
	if (jobd_commit(jd) == -1)
		return jobd_db_error(jd, ctx, "commit");
	*expiresp = now_ms + jd->lease_ms;
	*cancelledp = task_is_cancelled(jd, &t);
	return 0;
}

static const char *
job_status_now(struct jobd *jd, int64_t jid)
{
	static char	 status[16];
	sqlite3_stmt	*st = jobd_stmt(jd, ST_JOB_GET_JID);

	status[0] = '\0';
	sqlite3_bind_int64(st, 1, jid);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(status, sizeof(status), "%s", jobd_col_text(st,
		    JC_STATUS));
	sqlite3_reset(st);
	return status;
}

int
lease_finish(struct jobd *jd, struct rep_ctx *ctx,
    const struct lease_ref *ref, const cJSON *progress, const cJSON *result,
    int64_t now_ms, const char **job_statusp)
{
	struct task_row	 t;

	if (jobd_begin(jd) == -1)
		return jobd_db_error(jd, ctx, "begin");
	if (lease_check(jd, ctx, ref, now_ms, &t) == -1)
		return -1;
	if (t.kind_media && result == NULL) {
		jobd_rollback(jd);
		return rep_error(ctx, PROTO_E_BAD_REQUEST,
		    "field \"result\" is required for a media task");
	}
	if (progress && lease_store_progress(jd, &t, progress, NULL,
	    now_ms) == -1)
		return jobd_db_error(jd, ctx, "progress");
	if (set_task_state(jd, t.task_id, TASK_DONE, NULL, progress,
	    now_ms) == -1)
		return jobd_db_error(jd, ctx, "finish");
	if (t.kind_media) {
		if (media_url_result(jd, t.url_id, result, now_ms) == -1)
			return jobd_db_error(jd, ctx, "media result");
	} else if (job_maybe_complete(jd, t.jid, now_ms) == -1)
		return jobd_db_error(jd, ctx, "completion");
	*job_statusp = job_status_now(jd, t.jid);
	if (jobd_commit(jd) == -1)
		return jobd_db_error(jd, ctx, "commit");
	return 0;
}

int
lease_fail(struct jobd *jd, struct rep_ctx *ctx, const struct lease_ref *ref,
    const char *error, int retry, int64_t now_ms, const char **job_statusp)
{
	struct task_row	 t;
	cJSON		*res;
	char		 msg[600];
	int		 rc;

	if (jobd_begin(jd) == -1)
		return jobd_db_error(jd, ctx, "begin");
	if (lease_check(jd, ctx, ref, now_ms, &t) == -1)
		return -1;
	if (retry && t.failures + 1 < PROTO_MAX_ATTEMPTS) {
		if (requeue(jd, t.task_id, 1, error, now_ms) == -1)
			return jobd_db_error(jd, ctx, "requeue");
		log_info("task %lld: retry after: %s", (long long)t.task_id,
		    error);
	} else {
		if (set_task_state(jd, t.task_id, TASK_FAILED, error, NULL,
		    now_ms) == -1)
			return jobd_db_error(jd, ctx, "fail");
		if (retry)
			snprintf(msg, sizeof(msg), "%s (gave up after %d "
			    "attempts)", error, PROTO_MAX_ATTEMPTS);
		else
			snprintf(msg, sizeof(msg), "%s", error);
		if (t.kind_media) {
			res = cJSON_CreateObject();
			cJSON_AddStringToObject(res, "status",
			    PROTO_MEDIA_FAILED);
			cJSON_AddStringToObject(res, "error", msg);
			rc = media_url_result(jd, t.url_id, res, now_ms);
			cJSON_Delete(res);
			if (rc == -1)
				return jobd_db_error(jd, ctx, "media");
		} else if (!jobd_status_terminal(t.job_status) &&
		    job_set_terminal(jd, t.jid, PROTO_ST_FAILED, msg,
		    now_ms) == -1)
			return jobd_db_error(jd, ctx, "job fail");
		log_info("task %lld failed: %s", (long long)t.task_id, msg);
	}
	*job_statusp = job_status_now(jd, t.jid);
	if (jobd_commit(jd) == -1)
		return jobd_db_error(jd, ctx, "commit");
	return 0;
}

int
lease_release(struct jobd *jd, struct rep_ctx *ctx,
    const struct lease_ref *ref, int64_t now_ms)
{
	struct task_row	 t;

	if (jobd_begin(jd) == -1)
		return jobd_db_error(jd, ctx, "begin");
	if (lease_check(jd, ctx, ref, now_ms, &t) == -1)
		return -1;
	if (requeue(jd, t.task_id, 0, NULL, now_ms) == -1)
		return jobd_db_error(jd, ctx, "release");
	if (jobd_commit(jd) == -1)
		return jobd_db_error(jd, ctx, "commit");
	jd->releases++;
	return 0;
}

/* cron: leases past their deadline go back to the queue */
/*
 * One expired lease (inside the cron's transaction). The task goes back to
 * the queue with its checkpoint, unless its job has ended meanwhile (the
 * task is dropped) or it has now lost PROTO_MAX_ATTEMPTS workers in a row
 * without a sign of progress (the job, or the media item, fails).
 */
static int
expire_one(struct jobd *jd, int64_t task_id, int64_t now_ms)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_TASK_GET);
	struct task_row	 t;
	cJSON		*res;
	char		 msg[128];
	int		 rc;

	memset(&t, 0, sizeof(t));
	sqlite3_bind_int64(st, 1, task_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	t.task_id = task_id;
	t.jid = sqlite3_column_int64(st, 1);
	t.kind_media = strcmp(jobd_col_text(st, 2), PROTO_KIND_MEDIA) == 0;
	t.failures = sqlite3_column_int(st, 5);
	t.url_id = sqlite3_column_int64(st, 8);
	snprintf(t.job_status, sizeof(t.job_status), "%s",
	    jobd_col_text(st, 9));
	sqlite3_reset(st);

	if (task_is_cancelled(jd, &t)) {
		if (set_task_state(jd, task_id, TASK_CANCELLED, NULL, NULL,
		    now_ms) == -1)
			return -1;
		if (!t.kind_media)
			return 0;
		st = jobd_stmt(jd, ST_URL_SET_STATE);
		sqlite3_bind_int64(st, 1, t.url_id);
		sqlite3_bind_int(st, 2, URL_IDLE);
		sqlite3_bind_int64(st, 3, now_ms);
		return jobd_step_done(jd, st);
	}
	if (t.failures + 1 < PROTO_MAX_ATTEMPTS)
		return requeue(jd, task_id, 1, "lease expired", now_ms);

	snprintf(msg, sizeof(msg), "the worker was lost %d times in a row "
	    "(lease expired)", PROTO_MAX_ATTEMPTS);
	if (set_task_state(jd, task_id, TASK_FAILED, msg, NULL, now_ms) == -1)
		return -1;
	log_info("task %lld failed: %s", (long long)task_id, msg);
	if (t.kind_media) {
		res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "status", PROTO_MEDIA_FAILED);
		cJSON_AddStringToObject(res, "error", msg);
		rc = media_url_result(jd, t.url_id, res, now_ms);
		cJSON_Delete(res);
		return rc;
	}
	if (jobd_status_terminal(t.job_status))
		return 0;
	return job_set_terminal(jd, t.jid, PROTO_ST_FAILED, msg, now_ms);
}

int
lease_expire(struct jobd *jd, int64_t now_ms)
{
	sqlite3_stmt	*st;
	int64_t		 ids[256];
	int		 n = 0, i;

	st = jobd_stmt(jd, ST_TASK_EXPIRED);
	sqlite3_bind_int64(st, 1, now_ms);
	while (n < 256 && sqlite3_step(st) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (n == 0)
		return 0;
	if (jobd_begin(jd) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (expire_one(jd, ids[i], now_ms) == -1) {
			jobd_rollback(jd);
			return -1;
		}
	if (jobd_commit(jd) == -1)
		return -1;
	jd->lease_expiries += n;
	log_info("%d expired lease(s) returned to the queue", n);
	return n;
}

/* handlers */

static int
lease_ref_parse(struct rep_ctx *ctx, struct lease_ref *ref)
{
	const char	*err;

	if (proto_get_int(ctx->req->body, PROTO_F_TASK_ID, 1, &ref->task_id,
	    &err) == -1 ||
	    proto_get_str(ctx->req->body, PROTO_F_LEASE_ID, 1, &ref->lease_id,
	    &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	return 0;
}

int
jobd_h_task_lease(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	const char	*worker, *kind, *err;
	int64_t		 max = 1, now = jobd_now(jd);
	cJSON		*tasks;

	if (proto_get_str(ctx->req->body, "worker", 1, &worker, &err) == -1 ||
	    proto_get_str(ctx->req->body, PROTO_F_KIND, 1, &kind, &err) == -1 ||
	    proto_get_int(ctx->req->body, "max", 0, &max, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (strcmp(kind, PROTO_KIND_FETCH) != 0 &&
	    strcmp(kind, PROTO_KIND_MEDIA) != 0)
		return rep_error(ctx, PROTO_E_INVALID, "unknown task kind");
	if (max < 1 || max > 64)
		return rep_error(ctx, PROTO_E_INVALID, "max must be 1..64");
	if (strlen(worker) == 0 || strlen(worker) > 120)
		return rep_error(ctx, PROTO_E_INVALID, "worker name 1..120");
	jobd_worker_seen(jd, worker, kind, now);
	tasks = cJSON_CreateArray();
	if (lease_acquire(jd, ctx, worker, kind, (int)max, now, tasks) == -1) {
		cJSON_Delete(tasks);
		return -1;
	}
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, "tasks", tasks);
	return 0;
}

int
jobd_h_task_heartbeat(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	struct lease_ref ref;
	cJSON		*progress, *checkpoint;
	const char	*err;
	int64_t		 expires;
	int		 cancelled;

	if (lease_ref_parse(ctx, &ref) == -1)
		return -1;
	if (proto_get_obj(ctx->req->body, PROTO_F_PROGRESS, 0, &progress,
	    &err) == -1 ||
	    proto_get_obj(ctx->req->body, PROTO_F_CHECKPOINT, 0, &checkpoint,
	    &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (lease_heartbeat(jd, ctx, &ref, progress, checkpoint,
	    jobd_now(jd), &expires, &cancelled) == -1)
		return -1;
	ctx->reply = cJSON_CreateObject();
	cJSON_AddNumberToObject(ctx->reply, "lease_expires_at",
	    (double)expires);
	cJSON_AddBoolToObject(ctx->reply, "cancelled", cancelled);
	return 0;
}

int
jobd_h_task_finish(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	struct lease_ref ref;
	cJSON		*progress, *result;
	const char	*err, *status;

	if (lease_ref_parse(ctx, &ref) == -1)
		return -1;
	if (proto_get_obj(ctx->req->body, PROTO_F_PROGRESS, 0, &progress,
	    &err) == -1 ||
	    proto_get_obj(ctx->req->body, "result", 0, &result, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (lease_finish(jd, ctx, &ref, progress, result, jobd_now(jd),
	    &status) == -1)
		return -1;
	ctx->reply = cJSON_CreateObject();
	cJSON_AddStringToObject(ctx->reply, "job_status", status);
	return 0;
}

int
jobd_h_task_fail(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	struct lease_ref ref;
	const char	*err, *error, *status;
	int		 retry = 0;

	if (lease_ref_parse(ctx, &ref) == -1)
		return -1;
	if (proto_get_str(ctx->req->body, "error", 1, &error, &err) == -1 ||
	    proto_get_bool(ctx->req->body, "retry", 0, &retry, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (lease_fail(jd, ctx, &ref, error, retry, jobd_now(jd),
	    &status) == -1)
		return -1;
	ctx->reply = cJSON_CreateObject();
	cJSON_AddStringToObject(ctx->reply, "job_status", status);
	return 0;
}

int
jobd_h_task_release(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	struct lease_ref ref;

	if (lease_ref_parse(ctx, &ref) == -1)
		return -1;
	if (lease_release(jd, ctx, &ref, jobd_now(jd)) == -1)
		return -1;
	ctx->reply = cJSON_CreateObject();
	return 0;
}
