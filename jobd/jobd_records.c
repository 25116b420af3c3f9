/*
 * jobd_records.c — task.report (posts, comments, media records of a batch)
 * and the results of media work.
 *
 * Idempotence comes from the keys: posts and comments are unique per
 * (job, fullname), media per (job, post, index); the job's counters grow
 * by what an insert actually added, so a batch delivered twice changes
 * nothing. The batch, the task's progress and its checkpoint are written
 * in one transaction: a re-leased task resumes from a checkpoint that
 * matches what is stored.
 *
 * Media work is per URL, not per record (media_urls): the same URL in two
 * posts or two jobs is downloaded once, and a URL already downloaded
 * completes a new record at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/jobd.h"
#include "lib/log.h"

static void
bind_str_item(sqlite3_stmt *st, int idx, const cJSON *it)
{
	if (cJSON_IsString(it))
		sqlite3_bind_text(st, idx, it->valuestring, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

static void
bind_num_item(sqlite3_stmt *st, int idx, const cJSON *it)
{
	if (cJSON_IsNumber(it))
		sqlite3_bind_int64(st, idx, (int64_t)it->valuedouble);
	else
		sqlite3_bind_null(st, idx);
}

static void
bind_str(sqlite3_stmt *st, int idx, const cJSON *o, const char *key)
{
	bind_str_item(st, idx, cJSON_GetObjectItemCaseSensitive(o, key));
}

static void
bind_num(sqlite3_stmt *st, int idx, const cJSON *o, const char *key)
{
	bind_num_item(st, idx, cJSON_GetObjectItemCaseSensitive(o, key));
}

static void
bind_bool(sqlite3_stmt *st, int idx, const cJSON *o, const char *key)
{
	sqlite3_bind_int(st, idx,
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key)));
}

/*
 * A comment's members, found in one walk of the object (a report holds
 * thousands; looking each up by name walked the object a dozen times).
 * The first member of a name counts, as cJSON's lookup would have it.
 */
enum cfield {
	CF_ID, CF_POST_ID, CF_PARENT_ID, CF_DEPTH, CF_AUTHOR, CF_BODY,
	CF_SCORE, CF_CREATED_UTC, CF_DELETED, CF_REMOVED, CF_RAW,
	CF_RAW_LEN, CF__COUNT
};

static const char *const cfield_names[CF__COUNT] = {
	"id", "post_id", "parent_id", "depth", "author", "body", "score",
	"created_utc", "deleted", "removed", PROTO_F_RAW, PROTO_F_RAW_LEN
};

struct cfields {
	const cJSON	*f[CF__COUNT];
	const char	*raw;		/* its bytes of the attachment */
	size_t		 rawlen;
};

static void
cfields_of(const cJSON *o, struct cfields *cf)
{
	const cJSON	*it;
	int		 i;

	memset(cf, 0, sizeof(*cf));
	cJSON_ArrayForEach(it, o) {
		if (it->string == NULL)
			continue;
		for (i = 0; i < CF__COUNT; i++)
			if (cf->f[i] == NULL &&
			    strcmp(it->string, cfield_names[i]) == 0) {
				cf->f[i] = it;
				break;
			}
	}
}

/*
 * A record's raw: its bytes of the request's attachment as they came
 * (checked JSON: Reddit's own text or what fetchd printed), or the
 * inline object printed back.
 */
struct raw_cursor {
	const char	*att;
	size_t		 left;
};

/* p/n: the raw's attachment bytes, if it has any; else raw, printed */
static void
bind_raw_text(sqlite3_stmt *st, int idx, const char *p, size_t n,
    const cJSON *raw)
{
	char	*s;

	if (p != NULL) {
		sqlite3_bind_text(st, idx, p, (int)n, SQLITE_STATIC);
		return;
	}
	s = raw ? cJSON_PrintUnformatted(raw) : NULL;
	if (s)
		sqlite3_bind_text(st, idx, s, -1, cJSON_free);
	else
		sqlite3_bind_null(st, idx);
}

static void
bind_raw(sqlite3_stmt *st, int idx, const cJSON *o, struct raw_cursor *rc)
{
	const char	*p, *err;
	size_t		 n;

	/* checked by raw_ok() before anything was written; p NULL: none */
	(void)proto_att_take(o, &rc->att, &rc->left, &p, &n, &err);
	bind_raw_text(st, idx, p, n,
	    cJSON_GetObjectItemCaseSensitive(o, PROTO_F_RAW));
}

/*
 * A record's raw off the attachment: its raw_len against what is left of
 * it; the bytes join the spans the check thread reads (jobd_check.c).
 */
struct raw_spans {
	struct raw_span	*s;
	size_t		 n, cap;
};

static int
span_add(struct raw_spans *sp, const char *p, size_t n, const char **why)
{
	struct raw_span	*ns;
	size_t		 cap;

	if (p == NULL)
		return 1;	/* an inline raw, or none */
	if (sp->n == sp->cap) {
		cap = sp->cap ? sp->cap * 2 : 1024;
		if ((ns = reallocarray(sp->s, cap, sizeof(*ns))) == NULL) {
			*why = "out of memory";
			return 0;
		}
		sp->s = ns;
		sp->cap = cap;
	}
	sp->s[sp->n].p = p;
	sp->s[sp->n].n = n;
	sp->n++;
	return 1;
}

static int
raw_ok(const cJSON *o, struct raw_cursor *rc, struct raw_spans *sp,
    const char **why)
{
	const char	*p;
	size_t		 n;

	if (proto_att_take(o, &rc->att, &rc->left, &p, &n, why) == -1)
		return 0;
	return span_add(sp, p, n, why);
}

/* the same for a comment, whose raw stays taken in cf */
static int
comment_raw_ok(struct cfields *cf, struct raw_cursor *rc,
    struct raw_spans *sp, const char **why)
{
	if (proto_att_take_members(cf->f[CF_RAW_LEN], cf->f[CF_RAW],
	    &rc->att, &rc->left, &cf->raw, &cf->rawlen, why) == -1)
		return 0;
	return span_add(sp, cf->raw, cf->rawlen, why);
}

/* the fields a record must have, checked before anything is written */
static int
record_ok(const cJSON *o, const char *id_prefix, const char **why)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");

	if (!cJSON_IsObject(o)) {
		*why = "record is not an object";
		return 0;
	}
	if (id_prefix == NULL)
		return 1;
	if (!cJSON_IsString(id) || strncmp(id->valuestring, id_prefix, 3) != 0) {
		*why = "record id missing or of the wrong kind";
		return 0;
	}
	return 1;
}

static int
store_post(struct jobd *jd, int64_t jid, const char *ws, const cJSON *p,
    int64_t now_ms, int *added, struct raw_cursor *rc)
{
	struct raw_cursor again = *rc;

	sqlite3_stmt	*st = jobd_stmt(jd, ST_POST_INSERT);

	sqlite3_bind_int64(st, 1, jid);
	bind_str(st, 2, p, "id");
	sqlite3_bind_text(st, 3, ws, -1, SQLITE_STATIC);
	bind_str(st, 4, p, "subreddit");
	bind_str(st, 5, p, "author");
	bind_str(st, 6, p, "title");
	bind_num(st, 7, p, "created_utc");
	bind_num(st, 8, p, "score");
	bind_num(st, 9, p, "num_comments");
	bind_str(st, 10, p, "url");
	bind_str(st, 11, p, "permalink");
	bind_str(st, 12, p, "selftext");
	bind_str(st, 13, p, "post_type");
	bind_raw(st, 14, p, rc);
	sqlite3_bind_int64(st, 15, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	if (sqlite3_changes(jd->db) > 0) {
		(*added)++;
		st = jobd_stmt(jd, ST_POST_SUPERSEDE);
		sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
		bind_str(st, 2, p, "id");
		sqlite3_bind_int64(st, 3, sqlite3_last_insert_rowid(jd->db));
		return jobd_step_done(jd, st);
	}
	st = jobd_stmt(jd, ST_POST_UPDATE);
	sqlite3_bind_int64(st, 1, jid);
	bind_str(st, 2, p, "id");
	bind_str(st, 3, p, "title");
	bind_num(st, 4, p, "score");
	bind_num(st, 5, p, "num_comments");
	bind_str(st, 6, p, "selftext");
	bind_raw(st, 7, p, &again);
	return jobd_step_done(jd, st);
}

/*
 * A report's posts, then the new ones into the full-text index at once
 * (schema 9: one FTS5 statement, so one segment, for the lot).
 */
static int
store_posts(struct jobd *jd, const struct task_row *t, const cJSON *posts,
    int64_t now_ms, int *added, struct raw_cursor *rc)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_POST_MAX_PID);
	const cJSON	*it;
	int64_t		 before;
	int		 n0 = *added;

	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	before = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	cJSON_ArrayForEach(it, posts)
		if (store_post(jd, t->jid, t->ws_id, it, now_ms, added,
		    rc) == -1)
			return -1;
	if (*added == n0)
		return 0;
	st = jobd_stmt(jd, ST_POST_FTS_NEW);
	sqlite3_bind_int64(st, 1, before);
	return jobd_step_done(jd, st);
}

static int
store_comment(struct jobd *jd, int64_t jid, const struct cfields *cf,
    int64_t now_ms, int *added)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_COMMENT_INSERT);

	sqlite3_bind_int64(st, 1, jid);
	bind_str_item(st, 2, cf->f[CF_ID]);
	bind_str_item(st, 3, cf->f[CF_POST_ID]);
	bind_str_item(st, 4, cf->f[CF_PARENT_ID]);
	bind_num_item(st, 5, cf->f[CF_DEPTH]);
	bind_str_item(st, 6, cf->f[CF_AUTHOR]);
	bind_str_item(st, 7, cf->f[CF_BODY]);
	bind_num_item(st, 8, cf->f[CF_SCORE]);
	bind_num_item(st, 9, cf->f[CF_CREATED_UTC]);
	sqlite3_bind_int(st, 10, cJSON_IsTrue(cf->f[CF_DELETED]));
	sqlite3_bind_int(st, 11, cJSON_IsTrue(cf->f[CF_REMOVED]));
	bind_raw_text(st, 12, cf->raw, cf->rawlen, cf->f[CF_RAW]);
	sqlite3_bind_int64(st, 13, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	if (sqlite3_changes(jd->db) > 0) {
		(*added)++;
		return 0;
	}
	st = jobd_stmt(jd, ST_COMMENT_UPDATE);
	sqlite3_bind_int64(st, 1, jid);
	bind_str_item(st, 2, cf->f[CF_ID]);
	bind_str_item(st, 3, cf->f[CF_BODY]);
	bind_num_item(st, 4, cf->f[CF_SCORE]);
	sqlite3_bind_int(st, 5, cJSON_IsTrue(cf->f[CF_DELETED]));
	sqlite3_bind_int(st, 6, cJSON_IsTrue(cf->f[CF_REMOVED]));
	bind_raw_text(st, 7, cf->raw, cf->rawlen, cf->f[CF_RAW]);
	return jobd_step_done(jd, st);
}

static int
media_status_code(const char *s)
{
	if (s == NULL)
		return MEDIA_FAILED;
	if (strcmp(s, PROTO_MEDIA_DOWNLOADED) == 0)
		return MEDIA_DOWNLOADED;
	if (strcmp(s, PROTO_MEDIA_SKIPPED) == 0)
		return MEDIA_SKIPPED;
	return MEDIA_FAILED;
}

/*
 * A new media record: attach it to its URL's work. Records without a URL
 * (a gallery item Reddit could not process, a video still transcoding)
 * are failed at once: counted, never silently skipped.
 */
static int
store_media(struct jobd *jd, int64_t jid, int want_media, const cJSON *m,
    int64_t now_ms, int *added, int *queued)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_MEDIA_INSERT);
	const cJSON	*url = cJSON_GetObjectItemCaseSensitive(m, "url");
	const cJSON	*extra = cJSON_GetObjectItemCaseSensitive(m, "extra");
	char		*extra_s;
	int64_t		 mid, url_id;
	int		 status, url_state, url_status, rc;

	if (!want_media)
		return 0;
	sqlite3_bind_int64(st, 1, jid);
	bind_str(st, 2, m, "post_id");
	bind_num(st, 3, m, "index");
	bind_str(st, 4, m, "kind");
	/* a record without a URL keeps "" (the column is NOT NULL) */
	sqlite3_bind_text(st, 5, cJSON_IsString(url) ? url->valuestring : "",
	    -1, SQLITE_STATIC);
	bind_str(st, 6, m, "audio_url");
	extra_s = extra ? cJSON_PrintUnformatted(extra) : NULL;
	if (extra_s)
		sqlite3_bind_text(st, 7, extra_s, -1, cJSON_free);
	sqlite3_bind_int(st, 8, cJSON_IsString(url) ? MEDIA_PENDING :
	    MEDIA_FAILED);
	sqlite3_bind_int64(st, 9, now_ms);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {	/* already known */
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	mid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	(*added)++;
	if (!cJSON_IsString(url))
		return 0;

	st = jobd_stmt(jd, ST_URL_INSERT);
	sqlite3_bind_text(st, 1, url->valuestring, -1, SQLITE_STATIC);
	bind_str(st, 2, m, "audio_url");
	bind_str(st, 3, m, "kind");
	sqlite3_bind_int64(st, 4, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	st = jobd_stmt(jd, ST_URL_GET);
	sqlite3_bind_text(st, 1, url->valuestring, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	url_id = sqlite3_column_int64(st, 0);
	url_state = sqlite3_column_int(st, 1);
	url_status = sqlite3_column_int(st, 2);
	sqlite3_reset(st);

	/*
	 * A URL already downloaded (or skipped) gives its result to this
	 * record at once; one that failed is tried again, since the failure
	 * may have been the host's and not the URL's.
	 */
	status = url_state == URL_IDLE && (url_status == MEDIA_DOWNLOADED ||
	    url_status == MEDIA_SKIPPED) ? url_status : MEDIA_PENDING;
	st = jobd_stmt(jd, ST_MEDIA_SET_URL);
	sqlite3_bind_int64(st, 1, mid);
	sqlite3_bind_int64(st, 2, url_id);
	sqlite3_bind_int(st, 3, status);
	sqlite3_bind_int64(st, 4, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	if (status != MEDIA_PENDING || url_state != URL_IDLE)
		return 0;
	st = jobd_stmt(jd, ST_TASK_INSERT);
	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_text(st, 2, PROTO_KIND_MEDIA, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, url_id);
	sqlite3_bind_int64(st, 4, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	st = jobd_stmt(jd, ST_URL_SET_STATE);
	sqlite3_bind_int64(st, 1, url_id);
	sqlite3_bind_int(st, 2, URL_QUEUED);
	sqlite3_bind_int64(st, 3, now_ms);
	(*queued)++;
	return jobd_step_done(jd, st);
}

static int
job_media_counts(struct jobd *jd, int64_t jid, int64_t now_ms)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_JOB_MEDIA_COUNTS);

	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_int(st, 2, MEDIA_DOWNLOADED);
	sqlite3_bind_int(st, 3, MEDIA_FAILED);
	sqlite3_bind_int64(st, 4, now_ms);
	return jobd_step_done(jd, st);
}

/* room for the fields of n comments; reused (jobd is one thread) */
static struct cfields *
comment_fields(const cJSON *comments)
{
	static struct cfields	*buf, none;
	static size_t		 cap;
	struct cfields		*nb;
	size_t			 n = (size_t)cJSON_GetArraySize(comments);

	if (n == 0)
		return &none;
	if (n > cap) {
		if ((nb = reallocarray(buf, n, sizeof(*nb))) == NULL)
			return NULL;
		buf = nb;
		cap = n;
	}
	return buf;
}

/* a report's parts, read and checked before anything is written */
struct report {
	struct lease_ref ref;
	const char	*batch;
	int64_t		 seq;		/* 0: none (applied as it comes) */
	int		 dup;		/* applied before: answer, change nothing */
	cJSON		*posts, *comments, *media, *progress, *checkpoint;
	struct cfields	*cf;
	int		 ncomments;
	size_t		 post_spans;	/* the first spans are the posts' */
};

static int
report_read(struct rep_ctx *ctx, struct report *r, struct raw_spans *sp)
{
	const cJSON	*body = ctx->req->body;
	struct raw_cursor rc;
	cJSON		*it;
	const char	*err, *why = NULL;
	int		 i;

	if (proto_get_int(body, "task_id", 1, &r->ref.task_id, &err) == -1 ||
	    proto_get_str(body, "lease_id", 1, &r->ref.lease_id, &err) == -1 ||
	    proto_get_str(body, "batch", 0, &r->batch, &err) == -1 ||
	    proto_get_int(body, PROTO_F_SEQ, 0, &r->seq, &err) == -1 ||
	    proto_get_arr(body, "posts", 0, &r->posts, &err) == -1 ||
	    proto_get_arr(body, "comments", 0, &r->comments, &err) == -1 ||
	    proto_get_arr(body, "media", 0, &r->media, &err) == -1 ||
	    proto_get_obj(body, "progress", 0, &r->progress, &err) == -1 ||
	    proto_get_obj(body, "checkpoint", 0, &r->checkpoint, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (r->seq < 0 || (cJSON_GetObjectItemCaseSensitive(body, PROTO_F_SEQ) &&
	    r->seq == 0))
		return rep_error(ctx, PROTO_E_BAD_REQUEST,
		    "field 'seq' must be 1 or more");
	rc.att = ctx->req->att;
	rc.left = ctx->req->attlen;
	r->ncomments = cJSON_GetArraySize(r->comments);
	cJSON_ArrayForEach(it, r->posts)
		if (!record_ok(it, "t3_", &why) || !raw_ok(it, &rc, sp, &why))
			return rep_error(ctx, PROTO_E_BAD_REQUEST, "post: %s",
			    why);
	r->post_spans = sp->n;
	if ((r->cf = comment_fields(r->comments)) == NULL)
		return rep_error(ctx, PROTO_E_INTERNAL, "out of memory");
	i = 0;
	cJSON_ArrayForEach(it, r->comments) {
		cfields_of(it, &r->cf[i]);
		if (!record_ok(it, "t1_", &why) ||
		    !comment_raw_ok(&r->cf[i], &rc, sp, &why))
			return rep_error(ctx, PROTO_E_BAD_REQUEST,
			    "comment: %s", why);
		i++;
	}
	if (rc.left > 0)
		return rep_error(ctx, PROTO_E_BAD_REQUEST,
		    "%zu attachment bytes no record takes", rc.left);
	cJSON_ArrayForEach(it, r->media)
		if (!record_ok(it, NULL, &why))
			return rep_error(ctx, PROTO_E_BAD_REQUEST, "media: %s",
			    why);
	return 0;
}

/*
 * The report's records into the open transaction: -1 with the error set
 * and the transaction rolled back, or 0 with t read and the counts in
 * n[3] (posts, comments, media new).
 */
static int
report_store(struct jobd *jd, struct rep_ctx *ctx, struct report *r,
    int64_t now, struct task_row *t, int n[3])
{
	struct raw_cursor rc;
	sqlite3_stmt	*st;
	cJSON		*it;
	int		 queued = 0, want_media = 0, i;

	if (lease_check(jd, ctx, &r->ref, now, t) == -1)
		return -1;
	if (task_is_cancelled(jd, t)) {
		/* the job ended: keep nothing more, tell the worker */
		jobd_rollback(jd);
		return rep_error(ctx, PROTO_E_CONFLICT, "job %s",
		    t->job_status);
	}
	if (r->seq > 0 && r->seq <= t->report_seq) {
		/* a resend of one applied already: its answer, nothing new */
		jobd_rollback(jd);
		r->dup = 1;
		return 0;
	}
	if (r->seq > t->report_seq + 1) {
		jobd_rollback(jd);
		return rep_error(ctx, PROTO_E_OUT_OF_ORDER, "report %lld of "
		    "task %lld came before report %lld", (long long)r->seq,
		    (long long)t->task_id, (long long)t->report_seq + 1);
	}
	st = jobd_stmt(jd, ST_JOB_GET_JID);
	sqlite3_bind_int64(st, 1, t->jid);
	if (sqlite3_step(st) == SQLITE_ROW)
		want_media = sqlite3_column_int(st, JC_MEDIA);
	sqlite3_reset(st);

	rc.att = ctx->req->att;
	rc.left = ctx->req->attlen;
	if (r->posts != NULL && store_posts(jd, t, r->posts, now, &n[0],
	    &rc) == -1)
		return jobd_db_error(jd, ctx, "post");
	for (i = 0; i < r->ncomments; i++)
		if (store_comment(jd, t->jid, &r->cf[i], now, &n[1]) == -1)
			return jobd_db_error(jd, ctx, "comment");
	cJSON_ArrayForEach(it, r->media)
		if (store_media(jd, t->jid, want_media, it, now, &n[2],
		    &queued) == -1)
			return jobd_db_error(jd, ctx, "media");
	st = jobd_stmt(jd, ST_JOB_ADD_COUNTS);
	sqlite3_bind_int64(st, 1, t->jid);
	sqlite3_bind_int(st, 2, n[0]);
	sqlite3_bind_int(st, 3, n[1]);
	sqlite3_bind_int(st, 4, n[2]);
	sqlite3_bind_int64(st, 5, now);
	if (jobd_step_done(jd, st) == -1 ||
	    (n[2] > 0 && job_media_counts(jd, t->jid, now) == -1))
		return jobd_db_error(jd, ctx, "counts");
	if (lease_store_progress(jd, t, r->progress, r->checkpoint,
	    now) == -1)
		return jobd_db_error(jd, ctx, "progress");
	if (r->progress == NULL && (n[0] || n[1] || n[2]) &&
	    job_publish_progress(jd, t->jid) == -1)
		return jobd_db_error(jd, ctx, "progress event");
	if (r->seq > 0) {
		st = jobd_stmt(jd, ST_TASK_REPORT_SEQ);
		sqlite3_bind_int64(st, 1, t->task_id);
		sqlite3_bind_int64(st, 2, r->seq);
		if (jobd_step_done(jd, st) == -1)
			return jobd_db_error(jd, ctx, "report seq");
	}
	if (queued > 0) {
		it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "kind", PROTO_KIND_MEDIA);
		events_queue(jd, PROTO_EV_WORK, it);
	}
	return 0;
}

/*
 * A numbered report refused as bad_request still takes its number (its
 * worker drops it and goes on): the reports after it must not wait for it.
 */
static void
report_skip(struct jobd *jd, const struct rep_ctx *ctx,
    const struct report *r)
{
	sqlite3_stmt	*st;

	if (r->seq <= 0 || r->ref.lease_id == NULL ||
	    strcmp(ctx->err_code, PROTO_E_BAD_REQUEST) != 0)
		return;
	st = jobd_stmt(jd, ST_TASK_REPORT_SKIP);
	sqlite3_bind_int64(st, 1, r->ref.task_id);
	sqlite3_bind_text(st, 2, r->ref.lease_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->seq);
	(void)jobd_step_done(jd, st);
}

int
jobd_h_task_report(struct rep_ctx *ctx, void *arg)
{
	static struct raw_spans spans;	/* reused: jobd is one thread */
	struct jobd	*jd = arg;
	struct report	 r;
	struct task_row	 t;
	sqlite3_stmt	*st;
	int		 n[3] = { 0, 0, 0 }, rv;
	long		 bad;
	int64_t		 now = jobd_now(jd);

	memset(&r, 0, sizeof(r));
	spans.n = 0;
	if (report_read(ctx, &r, &spans) == -1) {
		report_skip(jd, ctx, &r);
		return -1;
	}
	/*
	 * The raws are checked on jobd_check.c's thread while the records
	 * go in; the verdict is taken before anything is kept, and always
	 * (the spans point into the request).
	 */
	jobd_check_submit(jd, spans.s, spans.n);
	rv = jobd_begin(jd) == -1 ? jobd_db_error(jd, ctx, "begin") :
	    report_store(jd, ctx, &r, now, &t, n);
	bad = jobd_check_wait(jd);
	if (rv == -1)
		return -1;
	if (bad != -1 && !r.dup) {
		jobd_rollback(jd);
		rep_error(ctx, PROTO_E_BAD_REQUEST,
		    "%s: raw is not a JSON object",
		    (size_t)bad < r.post_spans ? "post" : "comment");
		report_skip(jd, ctx, &r);
		return -1;
	}
	st = jobd_stmt(jd, ST_JOB_GET_JID);
	sqlite3_bind_int64(st, 1, t.jid);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return jobd_db_error(jd, ctx, "job read");
	}
	ctx->reply = cJSON_CreateObject();
	cJSON_AddNumberToObject(ctx->reply, "posts_new", n[0]);
	cJSON_AddNumberToObject(ctx->reply, "comments_new", n[1]);
	cJSON_AddNumberToObject(ctx->reply, "media_new", n[2]);
	cJSON_AddNumberToObject(ctx->reply, "posts_scraped",
	    (double)sqlite3_column_int64(st, JC_POSTS));
	cJSON_AddNumberToObject(ctx->reply, "comments_scraped",
	    (double)sqlite3_column_int64(st, JC_NCOMMENTS));
	cJSON_AddNumberToObject(ctx->reply, "media_downloaded",
	    (double)sqlite3_column_int64(st, JC_MDOWN));
	sqlite3_reset(st);
	if (!r.dup && jobd_commit(jd) == -1) {
		cJSON_Delete(ctx->reply);
		ctx->reply = NULL;
		return jobd_db_error(jd, ctx, "commit");
	}
	log_debug("request %s: task %lld batch %s: %d posts, %d comments, "
	    "%d media new", ctx->req->id, (long long)r.ref.task_id,
	    r.batch ? r.batch : "-", n[0], n[1], n[2]);
	return 0;
}

/*
 * A media URL's work ended (inside the caller's transaction): every record
 * waiting on it takes the result, and each job concerned may complete.
 */
int
media_url_result(struct jobd *jd, int64_t url_id, const cJSON *result,
    int64_t now_ms)
{
	sqlite3_stmt	*st;
	int64_t		 jids[256];
	int		 n = 0, i, status;

	status = media_status_code(cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(result, "status")));
	st = jobd_stmt(jd, ST_URL_SET_RESULT);
	sqlite3_bind_int64(st, 1, url_id);
	sqlite3_bind_int(st, 2, status);
	bind_num(st, 3, result, "bytes");
	bind_str(st, 4, result, "sha256");
	bind_str(st, 5, result, "content_type");
	bind_str(st, 6, result, "path");
	bind_str(st, 7, result, "error");
	bind_bool(st, 8, result, "audio_merged");
	sqlite3_bind_int64(st, 9, now_ms);
	bind_str(st, 10, result, "audio_path");
	bind_str(st, 11, result, "audio_sha256");
	bind_num(st, 12, result, "audio_bytes");
	if (jobd_step_done(jd, st) == -1)
		return -1;
	st = jobd_stmt(jd, ST_MEDIA_JOBS_OF_URL);
	sqlite3_bind_int64(st, 1, url_id);
	while (n < 256 && sqlite3_step(st) == SQLITE_ROW)
		jids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = jobd_stmt(jd, ST_MEDIA_RESOLVE_URL);
	sqlite3_bind_int64(st, 1, url_id);
	sqlite3_bind_int(st, 2, status);
	sqlite3_bind_int64(st, 3, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (job_media_counts(jd, jids[i], now_ms) == -1 ||
		    job_publish_progress(jd, jids[i]) == -1 ||
		    job_maybe_complete(jd, jids[i], now_ms) == -1)
			return -1;
	}
	return 0;
}

/*
 * A job ended other than by completing: its waiting media records are
 * dropped. A URL's task goes on if another job still waits for it (it is
 * handed to that job), else a queued task is cancelled.
 */
int
media_job_dropped(struct jobd *jd, int64_t jid, int64_t now_ms)
{
	sqlite3_stmt	*st;
	int64_t		 urls[1024], other;
	int		 n = 0, i, found;

	st = jobd_stmt(jd, ST_MEDIA_URLS_OF_JOB);
	sqlite3_bind_int64(st, 1, jid);
	while (n < 1024 && sqlite3_step(st) == SQLITE_ROW)
		urls[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = jobd_stmt(jd, ST_MEDIA_CANCEL_JOB);
	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_int64(st, 2, now_ms);
	if (jobd_step_done(jd, st) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		st = jobd_stmt(jd, ST_MEDIA_LIVE_OF_URL);
		sqlite3_bind_int64(st, 1, urls[i]);
		found = sqlite3_step(st) == SQLITE_ROW;
		other = found ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (found) {
			st = jobd_stmt(jd, ST_TASK_REASSIGN);
			sqlite3_bind_int64(st, 1, urls[i]);
			sqlite3_bind_int64(st, 2, other);
			sqlite3_bind_int64(st, 3, jid);
			if (jobd_step_done(jd, st) == -1)
				return -1;
			continue;
		}
		st = jobd_stmt(jd, ST_TASK_CANCEL_URL);
		sqlite3_bind_int64(st, 1, urls[i]);
		sqlite3_bind_int64(st, 2, now_ms);
		if (jobd_step_done(jd, st) == -1)
			return -1;
		if (sqlite3_changes(jd->db) > 0) {
			st = jobd_stmt(jd, ST_URL_SET_STATE);
			sqlite3_bind_int64(st, 1, urls[i]);
			sqlite3_bind_int(st, 2, URL_IDLE);
			sqlite3_bind_int64(st, 3, now_ms);
			if (jobd_step_done(jd, st) == -1)
				return -1;
		}
	}
	return 0;
}
