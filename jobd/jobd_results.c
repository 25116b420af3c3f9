/*
 * jobd_results.c — reading what jobs stored: comment.list, media.list and
 * media.file (proto.h, RESULTS), and the helpers every results handler
 * shares (jobd_posts.c has post.list and post.get).
 *
 * Pages are keysets, not offsets: a page is "the next limit items after
 * the cursor" in a total order (for posts the sort column, then the
 * Reddit id; for comments and media the row id, i.e. the order they were
 * stored). Rows inserted meanwhile land before or after the cursor but
 * never shift it, so paging visits every item once. The cursor is
 * base64url text that names the sort it belongs to and the last item's
 * sort key. The SQL is assembled from fixed fragments (every value is a
 * bound parameter) and prepared per request.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/jobd.h"
#include "lib/daemon.h"
#include "lib/log.h"

#define REDDIT_BASE	"https://www.reddit.com"

/* ---- small helpers ------------------------------------------------- */

void
res_sql_add(struct res_sql *b, const char *s)
{
	size_t	 n = strlen(s);

	if (b->n + n >= sizeof(b->s))
		log_panic("%s: SQL over %zu bytes", __func__, sizeof(b->s));
	memcpy(b->s + b->n, s, n + 1);
	b->n += n;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding; out must hold 4/3 n + 1 */
void
res_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t		 i;
	uint32_t	 v;
	char		*o = out;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = b64[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
	}
	*o = '\0';
}

/* decoded length, or -1 */
int
res_b64url_decode(const char *in, char *out, size_t outlen)
{
	uint32_t	 v = 0;
	size_t		 n = 0, bits = 0;
	const char	*p;
	const char	*c;

	for (p = in; *p; p++) {
		if ((c = strchr(b64, *p)) == NULL || *p == '\0')
			return -1;
		v = v << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= outlen)
				return -1;
			out[n++] = (char)(v >> bits & 0xff);
		}
	}
	out[n] = '\0';
	return (int)n;
}

void
res_bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int	 i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

void
res_bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int	 i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_int64(st, i, v);
}

void
res_add_text(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, jobd_col_text(st, col));
}

void
res_add_int(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key,
		    (double)sqlite3_column_int64(st, col));
}

void
res_add_real(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, sqlite3_column_double(st, col));
}

/* created_utc columns hold seconds */
void
res_add_secs(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	char	 buf[40];

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	daemon_fmt_time(sqlite3_column_int64(st, col) * 1000, buf,
	    sizeof(buf));
	cJSON_AddStringToObject(o, key, buf);
}

void
res_add_permalink(cJSON *o, const char *key, const char *path)
{
	char	*s;
	size_t	 n;

	if (path == NULL || *path == '\0') {
		cJSON_AddNullToObject(o, key);
		return;
	}
	if (path[0] != '/') {
		cJSON_AddStringToObject(o, key, path);
		return;
	}
	n = sizeof(REDDIT_BASE) + strlen(path);
	if ((s = malloc(n)) == NULL) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	snprintf(s, n, "%s%s", REDDIT_BASE, path);
	cJSON_AddStringToObject(o, key, s);
	free(s);
}


static const struct res_extra comment_extra[] = {
	{ "$.edited", "edited", RES_EX_EDITED },
	{ "$.stickied", "stickied", RES_EX_BOOL },
	{ "$.distinguished", "distinguished", RES_EX_COPY },
	{ "$.is_submitter", "is_submitter", RES_EX_BOOL },
	{ "$.controversiality", "controversiality", RES_EX_COPY },
	{ "$.author_flair_text", "author_flair", RES_EX_COPY },
	{ "$.permalink", "permalink", RES_EX_COPY },
	{ NULL, NULL, 0 }
};

void
res_sql_extract(struct res_sql *b, const char *col, const struct res_extra *f)
{
	char	 buf[64];

	res_sql_add(b, "CASE WHEN json_valid(");
	res_sql_add(b, col);
	res_sql_add(b, ") THEN json_extract(");
	res_sql_add(b, col);
	for (; f->path; f++) {
		snprintf(buf, sizeof(buf), ", '%s'", f->path);
		res_sql_add(b, buf);
	}
	res_sql_add(b, ") END");
}

void
res_add_extras(cJSON *o, const struct res_extra *f, sqlite3_stmt *st, int col)
{
	const char	*s = (const char *)sqlite3_column_text(st, col);
	cJSON		*arr = s ? cJSON_Parse(s) : NULL, *it;
	int		 i;

	for (i = 0; f[i].path; i++) {
		it = cJSON_GetArrayItem(arr, i);
		switch (f[i].kind) {
		case RES_EX_EDITED:
			cJSON_AddBoolToObject(o, f[i].name, it != NULL &&
			    (cJSON_IsNumber(it) || cJSON_IsTrue(it)));
			break;
		case RES_EX_BOOL:
			cJSON_AddBoolToObject(o, f[i].name, cJSON_IsTrue(it));
			break;
		case RES_EX_URL:
			if (cJSON_IsString(it) &&
			    strncmp(it->valuestring, "http", 4) == 0)
				cJSON_AddStringToObject(o, f[i].name,
				    it->valuestring);
			else
				cJSON_AddNullToObject(o, f[i].name);
			break;
		default:
			if (it == NULL || (!cJSON_IsString(it) &&
			    !cJSON_IsNumber(it) && !cJSON_IsBool(it)))
				cJSON_AddNullToObject(o, f[i].name);
			else
				cJSON_AddItemToObject(o, f[i].name,
				    cJSON_Duplicate(it, 0));
			break;
		}
	}
	cJSON_Delete(arr);
}

int
res_job_of(struct jobd *jd, struct rep_ctx *ctx, const char *ws,
    const char *job, int64_t *jid)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_JOB_GET);
	int		 rc;

	sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*jid = sqlite3_column_int64(st, JC_JID);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such job");
	return jobd_db_error(jd, ctx, "job");
}

sqlite3_stmt *
res_prepare(struct jobd *jd, const char *sql)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(jd->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("sqlite: res_prepare: %s: %s", sqlite3_errmsg(jd->db),
		    sql);
		return NULL;
	}
	return st;
}

/* limit and count, common to every list */
int
res_page_args(struct rep_ctx *ctx, int64_t *limit, int *count)
{
	const char	*err;

	*limit = 50;
	*count = 1;
	if (proto_get_int(ctx->req->body, "limit", 0, limit, &err) == -1 ||
	    proto_get_bool(ctx->req->body, "count", 0, count, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (*limit < 1 || *limit > PROTO_PAGE_MAX)
		return rep_error(ctx, PROTO_E_INVALID,
		    "limit: must be 1 to %d", PROTO_PAGE_MAX);
	return 0;
}

int
res_opt_str(struct rep_ctx *ctx, const char *key, const char **out)
{
	const char	*err;

	*out = NULL;
	if (proto_get_str(ctx->req->body, key, 0, out, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	return 0;
}

int
res_opt_enum(struct rep_ctx *ctx, const char *key, const char *const *set,
    const char **out)
{
	if (res_opt_str(ctx, key, out) == -1)
		return -1;
	if (*out != NULL && !jobd_one_of(*out, set))
		return rep_error(ctx, PROTO_E_INVALID, "%s: not one of the "
		    "allowed values", key);
	return 0;
}

/* ---- media rows (media.list, post.get) ----------------------------- */

static const char *
media_status_name(int status)
{
	switch (status) {
	case MEDIA_PENDING:	return PROTO_MEDIA_PENDING;
	case MEDIA_DOWNLOADED:	return PROTO_MEDIA_DOWNLOADED;
	case MEDIA_FAILED:	return PROTO_MEDIA_FAILED;
	case MEDIA_SKIPPED:	return PROTO_MEDIA_SKIPPED;
	default:		return PROTO_MEDIA_CANCELLED;
	}
}

/* what plugins wrote about an item, by plugin name ({} when none) */
void
res_add_annotations(cJSON *o, sqlite3_stmt *st, int col)
{
	const char	*s = (const char *)sqlite3_column_text(st, col);
	cJSON		*a = s ? cJSON_Parse(s) : NULL;

	if (!cJSON_IsObject(a)) {
		cJSON_Delete(a);
		a = cJSON_CreateObject();
	}
	cJSON_AddItemToObject(o, "annotations", a);
}

cJSON *
res_media_json(sqlite3_stmt *st)
{
	cJSON	*o = cJSON_CreateObject();
	int	 status = sqlite3_column_int(st, MC_STATUS);

	cJSON_AddNumberToObject(o, "id",
	    (double)sqlite3_column_int64(st, MC_MID));
	jobd_add_prefixed(o, "job_id", PROTO_PFX_JOB, jobd_col_text(st, MC_JOB));
	res_add_text(o, "post_id", st, MC_POST);
	res_add_int(o, "index", st, MC_IDX);
	res_add_text(o, "type", st, MC_KIND);
	if (*jobd_col_text(st, MC_URL) == '\0')
		cJSON_AddNullToObject(o, "url");
	else
		res_add_text(o, "url", st, MC_URL);
	cJSON_AddStringToObject(o, PROTO_F_STATUS, media_status_name(status));
	if (status == MEDIA_DOWNLOADED) {
		res_add_int(o, "bytes", st, MC_BYTES);
		res_add_text(o, PROTO_F_SHA256, st, MC_SHA);
		res_add_text(o, PROTO_F_CONTENT_TYPE, st, MC_CTYPE);
		/* a video whose audio track is a file of its own */
		res_add_text(o, PROTO_F_AUDIO_SHA256, st, MC_ASHA);
		res_add_int(o, "audio_bytes", st, MC_ABYTES);
	} else {
		cJSON_AddNullToObject(o, "bytes");
		cJSON_AddNullToObject(o, PROTO_F_SHA256);
		cJSON_AddNullToObject(o, PROTO_F_CONTENT_TYPE);
		cJSON_AddNullToObject(o, PROTO_F_AUDIO_SHA256);
		cJSON_AddNullToObject(o, "audio_bytes");
	}
	if (status == MEDIA_DOWNLOADED &&
	    sqlite3_column_type(st, MC_AMERGED) != SQLITE_NULL &&
	    sqlite3_column_type(st, MC_ASHA) == SQLITE_NULL)
		cJSON_AddBoolToObject(o, "audio_merged",
		    sqlite3_column_int(st, MC_AMERGED));
	else
		cJSON_AddBoolToObject(o, "audio_merged", 0);
	if (status == MEDIA_FAILED || status == MEDIA_SKIPPED)
		res_add_text(o, "error", st, MC_ERROR);
	else
		cJSON_AddNullToObject(o, "error");
	jobd_add_time(o, "created_at", st, MC_CREATED);
	jobd_add_time(o, "updated_at", st, MC_UPDATED);
	return o;
}

/* ---- comment.list and media.list ----------------------------------- */

enum { CC_CID, CC_ID, CC_JOB, CC_POST, CC_PARENT, CC_DEPTH, CC_AUTHOR,
	CC_BODY, CC_SCORE, CC_CREATED, CC_DELETED, CC_REMOVED, CC_STORED,
	CC_SLABEL, CC_SSCORE, CC_ANNOT, CC_EXTRA };
#define COMMENT_COLS "c.cid, c.id, (SELECT id FROM jobs WHERE jid = c.jid), " \
	"c.post_id, c.parent_id, c.depth, " \
	"c.author, c.body, c.score, c.created_utc, c.deleted, c.removed, " \
	"c.stored_at, c.sentiment_label, c.sentiment_score, c.annotations, "

static cJSON *
comment_json(sqlite3_stmt *st)
{
	cJSON	*o = cJSON_CreateObject(), *pl;
	char	*path;

	cJSON_AddStringToObject(o, "id", jobd_col_text(st, CC_ID));
	jobd_add_prefixed(o, "job_id", PROTO_PFX_JOB, jobd_col_text(st, CC_JOB));
	res_add_text(o, "post_id", st, CC_POST);
	res_add_text(o, "parent_id", st, CC_PARENT);
	res_add_int(o, "depth", st, CC_DEPTH);
	res_add_text(o, "author", st, CC_AUTHOR);
	res_add_text(o, "body", st, CC_BODY);
	res_add_int(o, "score", st, CC_SCORE);
	res_add_secs(o, "created_utc", st, CC_CREATED);
	cJSON_AddBoolToObject(o, "is_deleted", sqlite3_column_int(st,
	    CC_DELETED));
	cJSON_AddBoolToObject(o, "is_removed", sqlite3_column_int(st,
	    CC_REMOVED));
	res_add_extras(o, comment_extra, st, CC_EXTRA);
	/* Reddit's permalink is a path: make it a link */
	pl = cJSON_DetachItemFromObjectCaseSensitive(o, "permalink");
	path = cJSON_IsString(pl) ? pl->valuestring : NULL;
	res_add_permalink(o, "permalink", path);
	cJSON_Delete(pl);
	jobd_add_time(o, "scraped_at", st, CC_STORED);
	res_add_text(o, "sentiment_label", st, CC_SLABEL);
	res_add_real(o, "sentiment_score", st, CC_SSCORE);
	res_add_annotations(o, st, CC_ANNOT);
	return o;
}

/* "k|<row id>" */
static int
key_cursor_parse(const char *cursor, int64_t *after)
{
	char		 raw[RES_CURSOR_MAX], *end;
	long long	 v;

	if (strlen(cursor) > RES_CURSOR_MAX ||
	    res_b64url_decode(cursor, raw, sizeof(raw)) < 3 ||
	    raw[0] != 'k' || raw[1] != '|')
		return -1;
	errno = 0;
	v = strtoll(raw + 2, &end, 10);
	if (errno != 0 || end == raw + 2 || *end != '\0' || v < 0)
		return -1;
	*after = v;
	return 0;
}

static void
key_cursor(int64_t key, char *out)
{
	char	 raw[40];
	int	 n = snprintf(raw, sizeof(raw), "k|%" PRId64, key);

	res_b64url_encode((const unsigned char *)raw, (size_t)n, out);
}

/*
 * One page of a job's comments or media: keyset on the row id. sel is the
 * SELECT ... WHERE <jid = :jid> text; keycol the row id column; member the
 * reply array's name.
 */
static int
item_list(struct rep_ctx *ctx, struct jobd *jd, const char *sel,
    const char *count_sql, const char *alias, const char *member,
    cJSON *(*to_json)(sqlite3_stmt *))
{
	struct res_sql	 b;
	sqlite3_stmt	*st;
	const char	*post_id, *cursor;
	char		 ws[37], job[37], cbuf[RES_CURSOR_MAX], frag[128];
	int64_t		 jid, limit, after = 0, total = -1, n = 0, last = 0;
	int		 count, rc, more = 0;
	cJSON		*r, *arr;

	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1 ||
	    jobd_body_id(ctx, "job_id", PROTO_PFX_JOB, job) == -1 ||
	    res_opt_str(ctx, "post_id", &post_id) == -1 ||
	    res_opt_str(ctx, "cursor", &cursor) == -1 ||
	    res_page_args(ctx, &limit, &count) == -1)
		return -1;
	if (cursor != NULL && key_cursor_parse(cursor, &after) == -1)
		return rep_error(ctx, PROTO_E_INVALID,
		    "cursor: not a cursor of this listing");
	if (res_job_of(jd, ctx, ws, job, &jid) == -1)
		return -1;

	if (count) {
		memset(&b, 0, sizeof(b));
		res_sql_add(&b, count_sql);
		if (post_id)
			res_sql_add(&b, " AND post_id = :post");
		if ((st = res_prepare(jd, b.s)) == NULL)
			return jobd_db_error(jd, ctx, member);
		res_bind_int(st, ":jid", jid);
		if (post_id)
			res_bind_text(st, ":post", post_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	memset(&b, 0, sizeof(b));
	res_sql_add(&b, sel);
	if (post_id) {
		snprintf(frag, sizeof(frag), " AND %s.post_id = :post", alias);
		res_sql_add(&b, frag);
	}
	snprintf(frag, sizeof(frag), " AND %s.%cid > :after ORDER BY %s.%cid "
	    "LIMIT :lim", alias, alias[0], alias, alias[0]);
	res_sql_add(&b, frag);
	if ((st = res_prepare(jd, b.s)) == NULL)
		return jobd_db_error(jd, ctx, member);
	res_bind_int(st, ":jid", jid);
	if (post_id)
		res_bind_text(st, ":post", post_id);
	res_bind_int(st, ":after", after);
	res_bind_int(st, ":lim", limit + 1);
	r = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(r, member);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = 1;
			continue;
		}
		cJSON_AddItemToArray(arr, to_json(st));
		last = sqlite3_column_int64(st, 0);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(r);
		return jobd_db_error(jd, ctx, member);
	}
	if (total >= 0)
		cJSON_AddNumberToObject(r, PROTO_F_TOTAL, (double)total);
	else
		cJSON_AddNullToObject(r, PROTO_F_TOTAL);
	if (more) {
		key_cursor(last, cbuf);
		cJSON_AddStringToObject(r, PROTO_F_CURSOR, cbuf);
	} else
		cJSON_AddNullToObject(r, PROTO_F_CURSOR);
	cJSON_AddBoolToObject(r, PROTO_F_HAS_MORE, more);
	ctx->reply = r;
	return 0;
}

int
jobd_h_comment_list(struct rep_ctx *ctx, void *arg)
{
	struct res_sql	 b;

	memset(&b, 0, sizeof(b));
	res_sql_add(&b, "SELECT " COMMENT_COLS);
	res_sql_extract(&b, "c.raw", comment_extra);
	res_sql_add(&b, " FROM comments c WHERE c.jid = :jid");
	return item_list(ctx, arg, b.s,
	    "SELECT count(*) FROM comments WHERE jid = :jid", "c",
	    PROTO_F_COMMENTS, comment_json);
}

int
jobd_h_media_list(struct rep_ctx *ctx, void *arg)
{
	return item_list(ctx, arg, RES_MEDIA_SQL,
	    "SELECT count(*) FROM media WHERE jid = :jid", "m",
	    PROTO_F_MEDIA, res_media_json);
}

/* ---- media.file ---------------------------------------------------- */

int
jobd_h_media_file(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	const char	*sha, *err;
	char		 ws[37];
	int		 rc;

	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1)
		return -1;
	if (proto_get_str(ctx->req->body, "sha256", 1, &sha, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	/* a file is a media item's own, or a video's separate audio track */
	if ((st = res_prepare(jd, "SELECT :sha, CASE WHEN u.sha256 = :sha THEN "
	    "u.path ELSE u.audio_path END, CASE WHEN u.sha256 = :sha THEN "
	    "u.content_type ELSE :audio END, CASE WHEN u.sha256 = :sha THEN "
	    "u.bytes ELSE u.audio_bytes END FROM media_urls u "
	    "WHERE (u.sha256 = :sha OR u.audio_sha256 = :sha) "
	    "AND u.status = :done AND EXISTS ("
	    "SELECT 1 FROM media m JOIN jobs j ON j.jid = m.jid "
	    "WHERE m.url_id = u.url_id AND j.workspace_id = :ws) "
	    "ORDER BY u.updated_at DESC LIMIT 1")) == NULL)
		return jobd_db_error(jd, ctx, "media file");
	res_bind_text(st, ":audio", "audio/mp4");
	res_bind_text(st, ":sha", sha);
	res_bind_text(st, ":ws", ws);
	res_bind_int(st, ":done", MEDIA_DOWNLOADED);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ctx->reply = cJSON_CreateObject();
		res_add_text(ctx->reply, PROTO_F_SHA256, st, 0);
		res_add_text(ctx->reply, PROTO_F_PATH, st, 1);
		res_add_text(ctx->reply, PROTO_F_CONTENT_TYPE, st, 2);
		res_add_int(ctx->reply, "bytes", st, 3);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such media file");
	if (rc != SQLITE_ROW)
		return jobd_db_error(jd, ctx, "media file");
	return 0;
}
