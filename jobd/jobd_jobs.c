/*
 * jobd_jobs.c — the job object and its life: job.create, job.get,
 * job.list, job.cancel, and the status changes the worker protocol makes
 * (running, completed, failed, cancelled), each published as job.status
 * after its transaction commits.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/jobd.h"
#include "lib/daemon.h"
#include "lib/log.h"

static const char *const target_types[] = { PROTO_TARGET_SUBREDDIT,
	PROTO_TARGET_USER, NULL };
static const char *const modes[] = { PROTO_MODE_FULL, PROTO_MODE_HISTORY,
	PROTO_MODE_MONITOR, NULL };

int
jobd_status_terminal(const char *status)
{
	return strcmp(status, PROTO_ST_COMPLETED) == 0 ||
	    strcmp(status, PROTO_ST_FAILED) == 0 ||
	    strcmp(status, PROTO_ST_CANCELLED) == 0;
}

/*
 * progress: {} until the job starts; then the worker's last progress
 * object with the counts jobd knows to be true written over it.
 */
static cJSON *
job_progress_json(sqlite3_stmt *st)
{
	cJSON	*p, *pl;

	if (sqlite3_column_type(st, JC_PROGRESS) == SQLITE_NULL)
		return cJSON_CreateObject();
	p = cJSON_Parse(jobd_col_text(st, JC_PROGRESS));
	if (!cJSON_IsObject(p)) {
		cJSON_Delete(p);
		p = cJSON_CreateObject();
	}
#define SETN(k, col) do {						\
	cJSON_DeleteItemFromObjectCaseSensitive(p, k);			\
	cJSON_AddNumberToObject(p, k, (double)sqlite3_column_int64(st, col)); \
} while (0)
	SETN("posts", JC_POSTS);
	SETN("comments", JC_NCOMMENTS);
	SETN("media", JC_MTOTAL);
	SETN("media_downloaded", JC_MDOWN);
	SETN("media_failed", JC_MFAIL);
#undef SETN
	if ((pl = plugins_progress(st)) != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(p, "plugins");
		cJSON_AddItemToObject(p, "plugins", pl);
	}
	return p;
}

/* The job's effective options, as the job object and leased tasks show
 * them. */
cJSON *
jobd_job_config_json(sqlite3_stmt *st)
{
	cJSON	*cf = cJSON_CreateObject(), *pl;

	cJSON_AddNumberToObject(cf, "limit",
	    (double)sqlite3_column_int64(st, JC_LIMIT));
	cJSON_AddBoolToObject(cf, "download_media",
	    sqlite3_column_int(st, JC_MEDIA));
	cJSON_AddBoolToObject(cf, "scrape_comments",
	    sqlite3_column_int(st, JC_COMMENTS));
	pl = cJSON_Parse(jobd_col_text(st, JC_PLUGINS));
	if (!cJSON_IsArray(pl)) {
		cJSON_Delete(pl);
		pl = cJSON_CreateArray();
	}
	cJSON_AddItemToObject(cf, "plugins", pl);
	return cf;
}

/* The public job object: exactly the 16 fields of DESIGN.md §4. */
cJSON *
jobd_job_json(struct jobd *jd, sqlite3_stmt *st, int64_t now_ms)
{
	cJSON	*j = cJSON_CreateObject();
	int64_t	 end;

	(void)jd;
	jobd_add_prefixed(j, "id", PROTO_PFX_JOB, jobd_col_text(st, JC_ID));
	jobd_add_prefixed(j, "workspace_id", PROTO_PFX_WORKSPACE,
	    jobd_col_text(st, JC_WS));
	cJSON_AddStringToObject(j, "target", jobd_col_text(st, JC_TARGET));
	cJSON_AddStringToObject(j, "target_type", jobd_col_text(st, JC_TTYPE));
	cJSON_AddStringToObject(j, "mode", jobd_col_text(st, JC_MODE));
	cJSON_AddItemToObject(j, "config", jobd_job_config_json(st));
	cJSON_AddStringToObject(j, "status", jobd_col_text(st, JC_STATUS));
	jobd_add_time(j, "started_at", st, JC_STARTED);
	jobd_add_time(j, "completed_at", st, JC_COMPLETED);
	if (sqlite3_column_type(st, JC_STARTED) == SQLITE_NULL)
		cJSON_AddNullToObject(j, "duration_seconds");
	else {
		end = sqlite3_column_type(st, JC_COMPLETED) == SQLITE_NULL ?
		    now_ms : sqlite3_column_int64(st, JC_COMPLETED);
		end -= sqlite3_column_int64(st, JC_STARTED);
		cJSON_AddNumberToObject(j, "duration_seconds",
		    (double)(end < 0 ? 0 : end) / 1000.0);
	}
	cJSON_AddNumberToObject(j, "posts_scraped",
	    (double)sqlite3_column_int64(st, JC_POSTS));
	cJSON_AddNumberToObject(j, "comments_scraped",
	    (double)sqlite3_column_int64(st, JC_NCOMMENTS));
	cJSON_AddNumberToObject(j, "media_downloaded",
	    (double)sqlite3_column_int64(st, JC_MDOWN));
	if (sqlite3_column_type(st, JC_ERROR) == SQLITE_NULL)
		cJSON_AddNullToObject(j, "error_message");
	else
		cJSON_AddStringToObject(j, "error_message",
		    jobd_col_text(st, JC_ERROR));
	cJSON_AddItemToObject(j, "progress", job_progress_json(st));
	jobd_add_time(j, "created_at", st, JC_CREATED);
	return j;
}

/* Step ST_JOB_GET_JID for jid; SQLITE_ROW leaves the row to read. */
static int
job_row(struct jobd *jd, int64_t jid, sqlite3_stmt **stp)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_JOB_GET_JID);

	sqlite3_bind_int64(st, 1, jid);
	*stp = st;
	return sqlite3_step(st);
}

int
job_publish_status(struct jobd *jd, int64_t jid)
{
	sqlite3_stmt	*st;
	cJSON		*ev;

	if (job_row(jd, jid, &st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	ev = cJSON_CreateObject();
	jobd_add_prefixed(ev, "job_id", PROTO_PFX_JOB, jobd_col_text(st, JC_ID));
	jobd_add_prefixed(ev, "workspace_id", PROTO_PFX_WORKSPACE,
	    jobd_col_text(st, JC_WS));
	cJSON_AddStringToObject(ev, "status", jobd_col_text(st, JC_STATUS));
	if (sqlite3_column_type(st, JC_ERROR) == SQLITE_NULL)
		cJSON_AddNullToObject(ev, "error_message");
	else
		cJSON_AddStringToObject(ev, "error_message",
		    jobd_col_text(st, JC_ERROR));
	/* the counts too, so that a terminal status says how it ended */
	cJSON_AddNumberToObject(ev, "posts_scraped",
	    (double)sqlite3_column_int64(st, JC_POSTS));
	cJSON_AddNumberToObject(ev, "comments_scraped",
	    (double)sqlite3_column_int64(st, JC_NCOMMENTS));
	cJSON_AddNumberToObject(ev, "media_downloaded",
	    (double)sqlite3_column_int64(st, JC_MDOWN));
	sqlite3_reset(st);
	events_queue(jd, PROTO_EV_JOB_STATUS, ev);
	return 0;
}

int
job_publish_progress(struct jobd *jd, int64_t jid)
{
	sqlite3_stmt	*st;
	cJSON		*ev;

	if (job_row(jd, jid, &st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	ev = cJSON_CreateObject();
	jobd_add_prefixed(ev, "job_id", PROTO_PFX_JOB, jobd_col_text(st, JC_ID));
	jobd_add_prefixed(ev, "workspace_id", PROTO_PFX_WORKSPACE,
	    jobd_col_text(st, JC_WS));
	cJSON_AddItemToObject(ev, "progress", job_progress_json(st));
	cJSON_AddNumberToObject(ev, "posts_scraped",
	    (double)sqlite3_column_int64(st, JC_POSTS));
	cJSON_AddNumberToObject(ev, "comments_scraped",
	    (double)sqlite3_column_int64(st, JC_NCOMMENTS));
	cJSON_AddNumberToObject(ev, "media_downloaded",
	    (double)sqlite3_column_int64(st, JC_MDOWN));
	sqlite3_reset(st);
	events_queue(jd, PROTO_EV_JOB_PROGRESS, ev);
	return 0;
}

/*
 * End a job (inside the caller's transaction): its queued fetch work is
 * dropped, and its media rows still waiting are dropped too (a media task
 * that other jobs still need goes on for them).
 */
int
job_set_terminal(struct jobd *jd, int64_t jid, const char *status,
    const char *error, int64_t now_ms)
{
	sqlite3_stmt	*st;

	st = jobd_stmt(jd, ST_JOB_SET_STATUS);
	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	if (error != NULL)
		sqlite3_bind_text(st, 4, error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	st = jobd_stmt(jd, ST_TASK_CANCEL_QUEUED);
	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_text(st, 3, PROTO_KIND_FETCH, -1, SQLITE_STATIC);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	if (strcmp(status, PROTO_ST_COMPLETED) != 0 &&
	    media_job_dropped(jd, jid, now_ms) == -1)
		return -1;
	return job_publish_status(jd, jid);
}

static int
step_exists(struct jobd *jd, sqlite3_stmt *st)
{
	int	 rc = sqlite3_step(st), v = -1;

	if (rc == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		log_warnx("sqlite: %s", sqlite3_errmsg(jd->db));
	sqlite3_reset(st);
	return v;
}

/*
 * The completion rule: a running job completes when its fetch task is done
 * and none of its media rows is still waiting. 1: completed now; 0: not
 * (yet); -1: database error.
 */
int
job_maybe_complete(struct jobd *jd, int64_t jid, int64_t now_ms)
{
	sqlite3_stmt	*st;
	int		 rc, running, v;

	if ((rc = job_row(jd, jid, &st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	running = strcmp(jobd_col_text(st, JC_STATUS), PROTO_ST_RUNNING) == 0;
	sqlite3_reset(st);
	if (!running)
		return 0;
	st = jobd_stmt(jd, ST_TASK_FETCH_DONE);
	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_text(st, 2, PROTO_KIND_FETCH, -1, SQLITE_STATIC);
	if ((v = step_exists(jd, st)) != 1)
		return v;
	st = jobd_stmt(jd, ST_MEDIA_PENDING_JOB);
	sqlite3_bind_int64(st, 1, jid);
	if ((v = step_exists(jd, st)) != 0)
		return v == 1 ? 0 : -1;
	/* the scrape is complete; a job with plugins waits for them */
	if (job_row(jd, jid, &st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	v = plugins_hold(jd, jid, st, now_ms);
	sqlite3_reset(st);
	if (v != 0)
		return v == 1 ? 0 : -1;
	if (job_set_terminal(jd, jid, PROTO_ST_COMPLETED, NULL, now_ms) == -1)
		return -1;
	log_info("job %lld completed", (long long)jid);
	return 1;
}

/* job.create */

static int
name_ok(const char *s, size_t min, size_t max, const char *extra)
{
	size_t	 n = strlen(s), i;

	if (n < min || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    strchr(extra, s[i]) == NULL)
			return 0;
	return 1;
}

struct job_spec {
	char		 ws[37];
	const char	*target, *target_type, *mode;
	int64_t		 limit;
	int		 download_media, scrape_comments;
	char		*plugins;	/* JSON array text */
};

static int
job_spec_parse(struct rep_ctx *ctx, struct job_spec *js)
{
	const cJSON	*b = ctx->req->body, *it;
	cJSON		*plugins;
	const char	*err;

	js->target_type = PROTO_TARGET_SUBREDDIT;
	js->mode = PROTO_MODE_FULL;
	js->limit = 100;
	js->download_media = js->scrape_comments = 1;
	if (proto_get_str(b, "target", 1, &js->target, &err) == -1 ||
	    proto_get_str(b, "target_type", 0, &js->target_type, &err) == -1 ||
	    proto_get_str(b, "mode", 0, &js->mode, &err) == -1 ||
	    proto_get_int(b, "limit", 0, &js->limit, &err) == -1 ||
	    proto_get_bool(b, "download_media", 0, &js->download_media,
	    &err) == -1 ||
	    proto_get_bool(b, "scrape_comments", 0, &js->scrape_comments,
	    &err) == -1 ||
	    proto_get_arr(b, "plugins", 0, &plugins, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (js->target_type == NULL)
		js->target_type = PROTO_TARGET_SUBREDDIT;
	if (js->mode == NULL)
		js->mode = PROTO_MODE_FULL;
	/* httpd stripped r/ and u/ already; what is left is a bare name */
	if (!name_ok(js->target, 1, 255, "-"))
		return rep_error(ctx, PROTO_E_INVALID,
		    "target: must be a subreddit or user name");
	if (!jobd_one_of(js->target_type, target_types))
		return rep_error(ctx, PROTO_E_INVALID,
		    "target_type: must be subreddit or user");
	if (!jobd_one_of(js->mode, modes))
		return rep_error(ctx, PROTO_E_INVALID,
		    "mode: must be full, history or monitor");
	if (js->limit < 1 || js->limit > 10000)
		return rep_error(ctx, PROTO_E_INVALID,
		    "limit: must be between 1 and 10000");
	cJSON_ArrayForEach(it, plugins) {
		if (!cJSON_IsString(it))
			return rep_error(ctx, PROTO_E_BAD_REQUEST,
			    "field \"plugins\" must be an array of strings");
		if (!name_ok(it->valuestring, 1, 64, "-."))
			return rep_error(ctx, PROTO_E_INVALID,
			    "plugins: \"%.64s\" is not a plugin name",
			    it->valuestring);
	}
	js->plugins = plugins ? cJSON_PrintUnformatted(plugins) :
	    strdup("[]");
	return js->plugins ? 0 : rep_error(ctx, PROTO_E_INTERNAL,
	    "out of memory");
}

int
jobd_h_job_create(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	struct job_spec	 js;
	sqlite3_stmt	*st;
	cJSON		*ev, *job;
	char		 id[37];
	int64_t		 now = jobd_now(jd), jid;

	memset(&js, 0, sizeof(js));
	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, js.ws) == -1 ||
	    job_spec_parse(ctx, &js) == -1) {
		cJSON_free(js.plugins);
		return -1;
	}
	if (jobd_begin(jd) == -1) {
		cJSON_free(js.plugins);
		return jobd_db_error(jd, ctx, "begin");
	}
	if (jobd_workspace_exists(jd, ctx, js.ws) == -1) {
		jobd_rollback(jd);
		cJSON_free(js.plugins);
		return -1;
	}
	proto_uuid_new_ordered(id);
	st = jobd_stmt(jd, ST_JOB_INSERT);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, js.ws, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, js.target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, js.target_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, js.mode, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, js.limit);
	sqlite3_bind_int(st, 7, js.download_media);
	sqlite3_bind_int(st, 8, js.scrape_comments);
	sqlite3_bind_text(st, 9, js.plugins, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, PROTO_ST_PENDING, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, now);
	if (jobd_step_done(jd, st) == -1) {
		cJSON_free(js.plugins);
		return jobd_db_error(jd, ctx, "job insert");
	}
	cJSON_free(js.plugins);
	jid = sqlite3_last_insert_rowid(jd->db);
	st = jobd_stmt(jd, ST_TASK_INSERT);
	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_text(st, 2, PROTO_KIND_FETCH, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	if (jobd_step_done(jd, st) == -1)
		return jobd_db_error(jd, ctx, "task insert");
	/*
	 * Read back by rowid rather than INSERT ... RETURNING: RETURNING
	 * collects its row in an ephemeral table, a B-tree and pager of its
	 * own opened and closed per insert (~3% of jobd under POSTs).
	 */
	if (job_row(jd, jid, &st) != SQLITE_ROW)
		return jobd_db_error(jd, ctx, "job read");
	job = jobd_job_json(jd, st, now);
	sqlite3_reset(st);
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, "job", job);
	/*
	 * No event per created job: nothing needs one (a new job is pending
	 * and nobody can be watching it yet), and under a stream of POSTs
	 * publishing them cost jobd ~11% of its time and every subscriber a
	 * message per job. Idle fetch workers get one wake-up per commit.
	 */
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "kind", PROTO_KIND_FETCH);
	events_queue(jd, PROTO_EV_WORK, ev);
	if (jobd_commit(jd) == -1)
		return jobd_db_error(jd, ctx, "commit");
	log_debug("request %s: job %s created", ctx->req->id, id);
	return 0;
}

/* job.get */

int
jobd_h_job_get(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	char		 ws[37], id[37];
	int		 rc, any_ws;

	/* without workspace_id (rscrapectl): the job of any workspace */
	any_ws = cJSON_GetObjectItemCaseSensitive(ctx->req->body,
	    "workspace_id") == NULL;
	if ((!any_ws && jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE,
	    ws) == -1) || jobd_body_id(ctx, "job_id", PROTO_PFX_JOB, id) == -1)
		return -1;
	st = jobd_stmt(jd, ST_JOB_GET);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (!any_ws)
		sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return rep_error(ctx, PROTO_E_NOT_FOUND, "no such job");
		return jobd_db_error(jd, ctx, "job read");
	}
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, "job",
	    jobd_job_json(jd, st, jobd_now(jd)));
	sqlite3_reset(st);
	return 0;
}

/* job.list */

int
jobd_h_job_list(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	const cJSON	*b = ctx->req->body;
	cJSON		*arr;
	const char	*status, *err;
	char		 ws[37];
	int64_t		 limit = 50, offset = 0, total, n = 0, now;

	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1)
		return -1;
	if (proto_get_str(b, "status", 0, &status, &err) == -1 ||
	    proto_get_int(b, "limit", 0, &limit, &err) == -1 ||
	    proto_get_int(b, "offset", 0, &offset, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (status != NULL && !jobd_one_of(status, job_statuses))
		return rep_error(ctx, PROTO_E_INVALID,
		    "status: not a job status");
	if (limit < 1 || limit > 200)
		return rep_error(ctx, PROTO_E_INVALID,
		    "limit: must be between 1 and 200");
	if (offset < 0)
		return rep_error(ctx, PROTO_E_INVALID, "offset: must be >= 0");
	if (jobd_workspace_exists(jd, ctx, ws) == -1)
		return -1;
	st = jobd_stmt(jd, status ? ST_JOB_COUNT_STATUS : ST_JOB_COUNT);
	sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
	if (status)
		sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return jobd_db_error(jd, ctx, "job count");
	total = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);

	st = jobd_stmt(jd, status ? ST_JOB_LIST_STATUS : ST_JOB_LIST);
	sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	if (status)
		sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
	now = jobd_now(jd);
	ctx->reply = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ctx->reply, "jobs");
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON_AddItemToArray(arr, jobd_job_json(jd, st, now));
		n++;
	}
	sqlite3_reset(st);
	cJSON_AddNumberToObject(ctx->reply, "total", (double)total);
	cJSON_AddBoolToObject(ctx->reply, "has_more", offset + n < total);
	return 0;
}

/* job.cancel */

int
jobd_h_job_cancel(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	cJSON		*ev;
	char		 ws[37], id[37], status[16];
	int64_t		 jid, now = jobd_now(jd);
	int		 rc;

	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1 ||
	    jobd_body_id(ctx, "job_id", PROTO_PFX_JOB, id) == -1)
		return -1;
	if (jobd_begin(jd) == -1)
		return jobd_db_error(jd, ctx, "begin");
	st = jobd_stmt(jd, ST_JOB_GET);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			return jobd_db_error(jd, ctx, "job read");
		jobd_rollback(jd);
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such job");
	}
	jid = sqlite3_column_int64(st, JC_JID);
	snprintf(status, sizeof(status), "%s", jobd_col_text(st, JC_STATUS));
	sqlite3_reset(st);
	if (jobd_status_terminal(status)) {
		jobd_rollback(jd);
		return rep_error(ctx, PROTO_E_CONFLICT, "job already %s",
		    status);
	}
	if (job_set_terminal(jd, jid, PROTO_ST_CANCELLED, NULL, now) == -1)
		return jobd_db_error(jd, ctx, "cancel");
	ev = cJSON_CreateObject();
	jobd_add_prefixed(ev, "job_id", PROTO_PFX_JOB, id);
	events_queue(jd, PROTO_EV_JOB_CANCEL, ev);
	if (job_row(jd, jid, &st) != SQLITE_ROW)
		return jobd_db_error(jd, ctx, "job read");
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, "job", jobd_job_json(jd, st, now));
	sqlite3_reset(st);
	if (jobd_commit(jd) == -1) {
		cJSON_Delete(ctx->reply);
		ctx->reply = NULL;
		return jobd_db_error(jd, ctx, "commit");
	}
	log_info("request %s: job %s cancelled", ctx->req->id, id);
	return 0;
}
