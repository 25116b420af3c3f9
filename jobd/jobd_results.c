/*
 * jobd_results.c — reading what jobs stored: post.list, post.get,
 * comment.list, media.list and media.file (proto.h, RESULTS).
 *
 * post.list's filters combine freely, so its SQL is assembled per request
 * from fixed fragments (no input is ever pasted into it: every value is a
 * bound parameter) and prepared for that request; SQLite prepares such a
 * statement in tens of microseconds, small beside the page it reads.
 *
 * Pages are keysets, not offsets: a page is "the next limit items after
 * the cursor" in a total order (the sort column, then the Reddit id; for
 * comments and media the row id, i.e. the order they were stored). Rows
 * inserted meanwhile land before or after the cursor but never shift it,
 * so paging visits every item once. The cursor is base64url text that
 * names the sort it belongs to and the last item's sort key.
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

#define CURSOR_MAX	512
#define SQL_MAX		4096
#define REDDIT_BASE	"https://www.reddit.com"

/* ---- small helpers ------------------------------------------------- */

struct sqlbuf {
	char	 s[SQL_MAX];
	size_t	 n;
};

static void
sb_add(struct sqlbuf *b, const char *s)
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
static void
b64url_encode(const unsigned char *in, size_t n, char *out)
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
static int
b64url_decode(const char *in, char *out, size_t outlen)
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

static void
bind_name_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int	 i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void
bind_name_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int	 i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_int64(st, i, v);
}

static void
add_text(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, jobd_col_text(st, col));
}

static void
add_int(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key,
		    (double)sqlite3_column_int64(st, col));
}

static void
add_real(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, sqlite3_column_double(st, col));
}

/* created_utc columns hold seconds */
static void
add_secs(cJSON *o, const char *key, sqlite3_stmt *st, int col)
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

static void
add_permalink(cJSON *o, const char *key, const char *path)
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

/*
 * Fields picked from the raw Reddit object: one json_extract() with many
 * paths returns them as one JSON array (the object is parsed once).
 * Each becomes a member under its public name; Reddit's own JSON types
 * pass through, absent ones are null.
 */
struct extra_field {
	const char	*path;
	const char	*name;
	int		 kind;
#define EX_COPY		0
#define EX_EDITED	1	/* false or a time: a boolean */
#define EX_URL		2	/* "self", "default", ...: null */
#define EX_BOOL		3	/* absent: false */
};

static const struct extra_field post_extra[] = {
	{ "$.upvote_ratio", "upvote_ratio", EX_COPY },
	{ "$.domain", "domain", EX_COPY },
	{ "$.link_flair_text", "flair", EX_COPY },
	{ "$.author_flair_text", "author_flair", EX_COPY },
	{ "$.over_18", "over_18", EX_BOOL },
	{ "$.spoiler", "spoiler", EX_BOOL },
	{ "$.stickied", "stickied", EX_BOOL },
	{ "$.locked", "locked", EX_BOOL },
	{ "$.is_video", "is_video", EX_BOOL },
	{ "$.edited", "edited", EX_EDITED },
	{ "$.distinguished", "distinguished", EX_COPY },
	{ "$.removed_by_category", "removed_by", EX_COPY },
	{ "$.num_crossposts", "num_crossposts", EX_COPY },
	{ "$.thumbnail", "thumbnail", EX_URL },
	{ NULL, NULL, 0 }
};

static const struct extra_field comment_extra[] = {
	{ "$.edited", "edited", EX_EDITED },
	{ "$.stickied", "stickied", EX_BOOL },
	{ "$.distinguished", "distinguished", EX_COPY },
	{ "$.is_submitter", "is_submitter", EX_BOOL },
	{ "$.controversiality", "controversiality", EX_COPY },
	{ "$.author_flair_text", "author_flair", EX_COPY },
	{ "$.permalink", "permalink", EX_COPY },
	{ NULL, NULL, 0 }
};

static void
sb_extract(struct sqlbuf *b, const char *col, const struct extra_field *f)
{
	char	 buf[64];

	sb_add(b, "CASE WHEN json_valid(");
	sb_add(b, col);
	sb_add(b, ") THEN json_extract(");
	sb_add(b, col);
	for (; f->path; f++) {
		snprintf(buf, sizeof(buf), ", '%s'", f->path);
		sb_add(b, buf);
	}
	sb_add(b, ") END");
}

static void
add_extras(cJSON *o, const struct extra_field *f, sqlite3_stmt *st, int col)
{
	const char	*s = (const char *)sqlite3_column_text(st, col);
	cJSON		*arr = s ? cJSON_Parse(s) : NULL, *it;
	int		 i;

	for (i = 0; f[i].path; i++) {
		it = cJSON_GetArrayItem(arr, i);
		switch (f[i].kind) {
		case EX_EDITED:
			cJSON_AddBoolToObject(o, f[i].name, it != NULL &&
			    (cJSON_IsNumber(it) || cJSON_IsTrue(it)));
			break;
		case EX_BOOL:
			cJSON_AddBoolToObject(o, f[i].name, cJSON_IsTrue(it));
			break;
		case EX_URL:
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

static int
job_of(struct jobd *jd, struct rep_ctx *ctx, const char *ws,
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

static sqlite3_stmt *
prepare(struct jobd *jd, const char *sql)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(jd->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("sqlite: prepare: %s: %s", sqlite3_errmsg(jd->db),
		    sql);
		return NULL;
	}
	return st;
}

/* limit and count, common to every list */
static int
page_args(struct rep_ctx *ctx, int64_t *limit, int *count)
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

static int
opt_str(struct rep_ctx *ctx, const char *key, const char **out)
{
	const char	*err;

	*out = NULL;
	if (proto_get_str(ctx->req->body, key, 0, out, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	return 0;
}

static int
opt_enum(struct rep_ctx *ctx, const char *key, const char *const *set,
    const char **out)
{
	if (opt_str(ctx, key, out) == -1)
		return -1;
	if (*out != NULL && !jobd_one_of(*out, set))
		return rep_error(ctx, PROTO_E_INVALID, "%s: not one of the "
		    "allowed values", key);
	return 0;
}

/* ---- post.list ----------------------------------------------------- */

/* columns of a post row, in POST_COLS order */
enum { PC_PID, PC_ID, PC_JOB, PC_SUB, PC_AUTHOR, PC_TITLE, PC_CREATED,
	PC_SCORE, PC_NCOMMENTS, PC_URL, PC_PERMALINK, PC_SELFTEXT, PC_TYPE,
	PC_STORED, PC_SLABEL, PC_SSCORE, PC_JID, PC_EXTRA, PC_SORTVAL };
#define POST_COLS "p.pid, p.id, j.id, p.subreddit, p.author, p.title, " \
	"p.created_utc, p.score, p.num_comments, p.url, p.permalink, " \
	"p.selftext, p.post_type, p.stored_at, p.sentiment_label, " \
	"p.sentiment_score, p.jid, "

static cJSON *
post_json(sqlite3_stmt *st)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", jobd_col_text(st, PC_ID));
	jobd_add_prefixed(o, "job_id", PROTO_PFX_JOB, jobd_col_text(st, PC_JOB));
	add_text(o, "subreddit", st, PC_SUB);
	add_text(o, "title", st, PC_TITLE);
	add_text(o, "author", st, PC_AUTHOR);
	add_secs(o, "created_utc", st, PC_CREATED);
	add_int(o, "score", st, PC_SCORE);
	add_int(o, "num_comments", st, PC_NCOMMENTS);
	add_text(o, "selftext", st, PC_SELFTEXT);
	add_text(o, "url", st, PC_URL);
	add_permalink(o, "permalink", (const char *)sqlite3_column_text(st,
	    PC_PERMALINK));
	add_text(o, "post_type", st, PC_TYPE);
	add_extras(o, post_extra, st, PC_EXTRA);
	jobd_add_time(o, "scraped_at", st, PC_STORED);
	add_text(o, "sentiment_label", st, PC_SLABEL);
	add_real(o, "sentiment_score", st, PC_SSCORE);
	return o;
}

struct post_query {
	const char	*ws_bare;
	int64_t		 jid;		/* 0: workspace */
	const char	*q;
	const char	*subreddit;
	const char	*author;
	const char	*post_type;
	const char	*sentiment;
	int		 has_min, has_max;
	int64_t		 min, max;
	char		 sort;		/* 'c', 's', 'n' */
	int		 desc;
	int		 has_cursor;
	int64_t		 cur_val;
	char		 cur_id[64];
	int64_t		 limit;
	int		 count;
};

static const char *
sort_expr(char sort)
{
	switch (sort) {
	case 's':	return "ifnull(p.score, 0)";
	case 'n':	return "ifnull(p.num_comments, 0)";
	default:	return "ifnull(p.created_utc, 0)";
	}
}

/* FROM and WHERE of post.list, the keyset aside */
static void
post_where(struct sqlbuf *b, const struct post_query *pq)
{
	sb_add(b, " FROM posts p JOIN jobs j ON j.jid = p.jid"
	    " WHERE p.workspace_id = :ws");
	if (pq->jid != 0)
		sb_add(b, " AND p.jid = :jid");
	else		/* each Reddit post once: the copy stored last */
		sb_add(b, " AND NOT EXISTS (SELECT 1 FROM posts p2"
		    " WHERE p2.workspace_id = p.workspace_id AND p2.id = p.id"
		    " AND p2.pid > p.pid)");
	if (pq->q)
		sb_add(b, " AND p.pid IN (SELECT rowid FROM posts_fts"
		    " WHERE posts_fts MATCH :q)");
	if (pq->subreddit)
		sb_add(b, " AND p.subreddit = :sub COLLATE NOCASE");
	if (pq->author)
		sb_add(b, " AND p.author = :author COLLATE NOCASE");
	if (pq->has_min)
		sb_add(b, " AND p.score >= :min");
	if (pq->has_max)
		sb_add(b, " AND p.score <= :max");
	if (pq->post_type)
		sb_add(b, " AND p.post_type = :ptype");
	if (pq->sentiment)
		sb_add(b, " AND p.sentiment_label = :sent");
}

static void
post_bind(sqlite3_stmt *st, const struct post_query *pq, const char *q)
{
	bind_name_text(st, ":ws", pq->ws_bare);
	bind_name_int(st, ":jid", pq->jid);
	if (q)
		bind_name_text(st, ":q", q);
	if (pq->subreddit)
		bind_name_text(st, ":sub", pq->subreddit);
	if (pq->author)
		bind_name_text(st, ":author", pq->author);
	bind_name_int(st, ":min", pq->min);
	bind_name_int(st, ":max", pq->max);
	if (pq->post_type)
		bind_name_text(st, ":ptype", pq->post_type);
	if (pq->sentiment)
		bind_name_text(st, ":sent", pq->sentiment);
	bind_name_int(st, ":cv", pq->cur_val);
	bind_name_text(st, ":cid", pq->cur_id);
	bind_name_int(st, ":lim", pq->limit + 1);
}

/* "p|<sort><order>|<value>|<id>" */
static void
post_cursor(const struct post_query *pq, int64_t val, const char *id,
    char *out)
{
	char	 raw[CURSOR_MAX / 2];
	int	 n;

	n = snprintf(raw, sizeof(raw), "p|%c%c|%" PRId64 "|%s", pq->sort,
	    pq->desc ? 'd' : 'a', val, id);
	if (n < 0 || (size_t)n >= sizeof(raw))
		n = (int)sizeof(raw) - 1;
	b64url_encode((const unsigned char *)raw, (size_t)n, out);
}

static int
post_cursor_parse(struct post_query *pq, const char *cursor)
{
	char		 raw[CURSOR_MAX], *p, *end;
	long long	 v;

	if (strlen(cursor) > CURSOR_MAX ||
	    b64url_decode(cursor, raw, sizeof(raw)) < 6)
		return -1;
	if (raw[0] != 'p' || raw[1] != '|' || raw[2] != pq->sort ||
	    raw[3] != (pq->desc ? 'd' : 'a') || raw[4] != '|')
		return -1;
	errno = 0;
	v = strtoll(raw + 5, &end, 10);
	if (errno != 0 || end == raw + 5 || *end != '|')
		return -1;
	p = end + 1;
	if (strncmp(p, PROTO_PFX_POST, 3) != 0 ||
	    strlen(p) >= sizeof(pq->cur_id))
		return -1;
	pq->cur_val = v;
	snprintf(pq->cur_id, sizeof(pq->cur_id), "%s", p);
	pq->has_cursor = 1;
	return 0;
}

/* every word of q as an FTS5 string: what a query FTS5 refused becomes */
static char *
fts_plain(const char *q)
{
	size_t	 n = strlen(q), i = 0;
	char	*out = malloc(n * 3 + 3), *o = out;
	int	 inword = 0;

	if (out == NULL)
		return NULL;
	for (; q[i]; i++) {
		if (isspace((unsigned char)q[i])) {
			if (inword)
				*o++ = '"';
			inword = 0;
			continue;
		}
		if (!inword) {
			if (o != out)
				*o++ = ' ';
			*o++ = '"';
			inword = 1;
		}
		if (q[i] == '"')
			*o++ = '"';
		*o++ = q[i];
	}
	if (inword)
		*o++ = '"';
	*o = '\0';
	return out;
}

/*
 * Run count and page for one spelling of q. Returns 0 with *reply set,
 * 1 when the query failed in FTS5 (retry plain), -1 on a database error.
 */
static int
post_run(struct jobd *jd, const struct post_query *pq, const char *q,
    cJSON **reply)
{
	struct sqlbuf	 b;
	sqlite3_stmt	*st;
	cJSON		*r, *arr;
	char		 cursor[CURSOR_MAX];
	int64_t		 total = -1, lastval = 0, n = 0;
	char		 lastid[64] = "";
	int		 rc, more = 0;

	if (pq->count) {
		memset(&b, 0, sizeof(b));
		sb_add(&b, "SELECT count(*)");
		post_where(&b, pq);
		if ((st = prepare(jd, b.s)) == NULL)
			return -1;
		post_bind(st, pq, q);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			return q ? 1 : -1;
	}
	memset(&b, 0, sizeof(b));
	sb_add(&b, "SELECT " POST_COLS);
	sb_extract(&b, "p.raw", post_extra);
	sb_add(&b, ", ");
	sb_add(&b, sort_expr(pq->sort));
	post_where(&b, pq);
	if (pq->has_cursor) {
		sb_add(&b, " AND (");
		sb_add(&b, sort_expr(pq->sort));
		sb_add(&b, pq->desc ? ", p.id) < (:cv, :cid)" :
		    ", p.id) > (:cv, :cid)");
	}
	sb_add(&b, " ORDER BY ");
	sb_add(&b, sort_expr(pq->sort));
	sb_add(&b, pq->desc ? " DESC, p.id DESC" : " ASC, p.id ASC");
	sb_add(&b, " LIMIT :lim");
	if ((st = prepare(jd, b.s)) == NULL)
		return -1;
	post_bind(st, pq, q);
	r = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(r, PROTO_F_POSTS);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == pq->limit) {
			more = 1;
			continue;
		}
		cJSON_AddItemToArray(arr, post_json(st));
		lastval = sqlite3_column_int64(st, PC_SORTVAL);
		snprintf(lastid, sizeof(lastid), "%s", jobd_col_text(st, PC_ID));
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(r);
		return q ? 1 : -1;
	}
	if (total >= 0)
		cJSON_AddNumberToObject(r, PROTO_F_TOTAL, (double)total);
	else
		cJSON_AddNullToObject(r, PROTO_F_TOTAL);
	if (more) {
		post_cursor(pq, lastval, lastid, cursor);
		cJSON_AddStringToObject(r, PROTO_F_CURSOR, cursor);
	} else
		cJSON_AddNullToObject(r, PROTO_F_CURSOR);
	cJSON_AddBoolToObject(r, PROTO_F_HAS_MORE, more);
	*reply = r;
	return 0;
}

int
jobd_h_post_list(struct rep_ctx *ctx, void *arg)
{
	static const char *const types[] = { PROTO_POST_LINK, PROTO_POST_SELF,
	    PROTO_POST_IMAGE, PROTO_POST_VIDEO, PROTO_POST_GALLERY, NULL };
	static const char *const sorts[] = { PROTO_SORT_CREATED,
	    PROTO_SORT_SCORE, PROTO_SORT_COMMENTS, NULL };
	static const char *const orders[] = { PROTO_ORDER_ASC, PROTO_ORDER_DESC,
	    NULL };
	static const char *const labels[] = { PROTO_SENT_POSITIVE,
	    PROTO_SENT_NEUTRAL, PROTO_SENT_NEGATIVE, NULL };
	struct jobd	*jd = arg;
	struct post_query pq;
	const cJSON	*body = ctx->req->body;
	const char	*sort_by, *order, *cursor, *err, *q;
	char		 ws[37], job[37], *plain;
	int		 rc;

	memset(&pq, 0, sizeof(pq));
	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1)
		return -1;
	pq.ws_bare = ws;
	if (cJSON_GetObjectItemCaseSensitive(body, "job_id") != NULL &&
	    jobd_body_id(ctx, "job_id", PROTO_PFX_JOB, job) == -1)
		return -1;
	if (opt_str(ctx, "q", &pq.q) == -1 ||
	    opt_str(ctx, "subreddit", &pq.subreddit) == -1 ||
	    opt_str(ctx, "author", &pq.author) == -1 ||
	    opt_str(ctx, "cursor", &cursor) == -1 ||
	    opt_enum(ctx, "post_type", types, &pq.post_type) == -1 ||
	    opt_enum(ctx, "sentiment_label", labels, &pq.sentiment) == -1 ||
	    opt_enum(ctx, "sort_by", sorts, &sort_by) == -1 ||
	    opt_enum(ctx, "sort_order", orders, &order) == -1 ||
	    page_args(ctx, &pq.limit, &pq.count) == -1)
		return -1;
	pq.has_min = cJSON_GetObjectItemCaseSensitive(body, "min_score") !=
	    NULL;
	pq.has_max = cJSON_GetObjectItemCaseSensitive(body, "max_score") !=
	    NULL;
	if (proto_get_int(body, "min_score", 0, &pq.min, &err) == -1 ||
	    proto_get_int(body, "max_score", 0, &pq.max, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (pq.q != NULL) {
		for (q = pq.q; isspace((unsigned char)*q); q++)
			;
		if (*q == '\0')
			pq.q = NULL;
	}
	pq.sort = sort_by == NULL ? 'c' : strcmp(sort_by, PROTO_SORT_SCORE) ==
	    0 ? 's' : strcmp(sort_by, PROTO_SORT_COMMENTS) == 0 ? 'n' : 'c';
	pq.desc = order == NULL || strcmp(order, PROTO_ORDER_DESC) == 0;
	if (cursor != NULL && post_cursor_parse(&pq, cursor) == -1)
		return rep_error(ctx, PROTO_E_INVALID, "cursor: not a cursor "
		    "of this listing and sort order");
	if (cJSON_GetObjectItemCaseSensitive(body, "job_id") != NULL) {
		if (job_of(jd, ctx, ws, job, &pq.jid) == -1)
			return -1;
	} else if (jobd_workspace_exists(jd, ctx, ws) == -1)
		return -1;

	rc = post_run(jd, &pq, pq.q, &ctx->reply);
	if (rc == 1) {
		/* FTS5 could not parse q: take it as plain words */
		log_debug("request %s: q as plain words after: %s",
		    ctx->req->id, sqlite3_errmsg(jd->db));
		if ((plain = fts_plain(pq.q)) == NULL)
			return rep_error(ctx, PROTO_E_INTERNAL, "out of memory");
		rc = post_run(jd, &pq, plain, &ctx->reply);
		free(plain);
		if (rc == 1)
			return rep_error(ctx, PROTO_E_INVALID, "q: %s",
			    sqlite3_errmsg(jd->db));
	}
	if (rc == -1)
		return jobd_db_error(jd, ctx, "post list");
	return 0;
}

/* ---- media rows (media.list, post.get) ----------------------------- */

enum { MC_MID, MC_JOB, MC_POST, MC_IDX, MC_KIND, MC_URL, MC_STATUS,
	MC_BYTES, MC_SHA, MC_CTYPE, MC_ERROR, MC_CREATED, MC_UPDATED,
	MC_AMERGED, MC_ASHA, MC_ABYTES };
#define MEDIA_SQL "SELECT m.mid, j.id, m.post_id, m.idx, m.kind, m.url, " \
	"m.status, u.bytes, u.sha256, u.content_type, coalesce(u.error, " \
	"CASE WHEN json_valid(m.extra) THEN json_extract(m.extra, " \
	"'$.error') END), m.created_at, m.updated_at, u.audio_merged, " \
	"u.audio_sha256, u.audio_bytes FROM media m " \
	"JOIN jobs j ON j.jid = m.jid " \
	"LEFT JOIN media_urls u ON u.url_id = m.url_id WHERE m.jid = :jid"

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

static cJSON *
media_json(sqlite3_stmt *st)
{
	cJSON	*o = cJSON_CreateObject();
	int	 status = sqlite3_column_int(st, MC_STATUS);

	cJSON_AddNumberToObject(o, "id",
	    (double)sqlite3_column_int64(st, MC_MID));
	jobd_add_prefixed(o, "job_id", PROTO_PFX_JOB, jobd_col_text(st, MC_JOB));
	add_text(o, "post_id", st, MC_POST);
	add_int(o, "index", st, MC_IDX);
	add_text(o, "type", st, MC_KIND);
	if (*jobd_col_text(st, MC_URL) == '\0')
		cJSON_AddNullToObject(o, "url");
	else
		add_text(o, "url", st, MC_URL);
	cJSON_AddStringToObject(o, PROTO_F_STATUS, media_status_name(status));
	if (status == MEDIA_DOWNLOADED) {
		add_int(o, "bytes", st, MC_BYTES);
		add_text(o, PROTO_F_SHA256, st, MC_SHA);
		add_text(o, PROTO_F_CONTENT_TYPE, st, MC_CTYPE);
		/* a video whose audio track is a file of its own */
		add_text(o, PROTO_F_AUDIO_SHA256, st, MC_ASHA);
		add_int(o, "audio_bytes", st, MC_ABYTES);
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
		add_text(o, "error", st, MC_ERROR);
	else
		cJSON_AddNullToObject(o, "error");
	jobd_add_time(o, "created_at", st, MC_CREATED);
	jobd_add_time(o, "updated_at", st, MC_UPDATED);
	return o;
}

/* ---- post.get ------------------------------------------------------ */

int
jobd_h_post_get(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	struct sqlbuf	 b;
	sqlite3_stmt	*st;
	const char	*post_id, *err;
	cJSON		*post = NULL, *media;
	char		 ws[37];
	int64_t		 jid = 0;
	int		 rc;

	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1)
		return -1;
	if (proto_get_str(ctx->req->body, "post_id", 1, &post_id, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	memset(&b, 0, sizeof(b));
	sb_add(&b, "SELECT " POST_COLS);
	sb_extract(&b, "p.raw", post_extra);
	sb_add(&b, " FROM posts p JOIN jobs j ON j.jid = p.jid"
	    " WHERE p.workspace_id = :ws AND p.id = :id"
	    " ORDER BY p.pid DESC LIMIT 1");
	if ((st = prepare(jd, b.s)) == NULL)
		return jobd_db_error(jd, ctx, "post get");
	bind_name_text(st, ":ws", ws);
	bind_name_text(st, ":id", post_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		post = post_json(st);
		jid = sqlite3_column_int64(st, PC_JID);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such post");
	if (rc != SQLITE_ROW)
		return jobd_db_error(jd, ctx, "post get");

	media = cJSON_AddArrayToObject(post, PROTO_F_MEDIA);
	if ((st = prepare(jd, MEDIA_SQL " AND m.post_id = :post "
	    "ORDER BY m.idx, m.mid LIMIT 1000")) == NULL) {
		cJSON_Delete(post);
		return jobd_db_error(jd, ctx, "post media");
	}
	bind_name_int(st, ":jid", jid);
	bind_name_text(st, ":post", post_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cJSON_AddItemToArray(media, media_json(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(post);
		return jobd_db_error(jd, ctx, "post media");
	}
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, PROTO_F_POST, post);
	return 0;
}

/* ---- comment.list and media.list ----------------------------------- */

enum { CC_CID, CC_ID, CC_JOB, CC_POST, CC_PARENT, CC_DEPTH, CC_AUTHOR,
	CC_BODY, CC_SCORE, CC_CREATED, CC_DELETED, CC_REMOVED, CC_STORED,
	CC_SLABEL, CC_SSCORE, CC_EXTRA };
#define COMMENT_COLS "c.cid, c.id, j.id, c.post_id, c.parent_id, c.depth, " \
	"c.author, c.body, c.score, c.created_utc, c.deleted, c.removed, " \
	"c.stored_at, c.sentiment_label, c.sentiment_score, "

static cJSON *
comment_json(sqlite3_stmt *st)
{
	cJSON	*o = cJSON_CreateObject(), *pl;
	char	*path;

	cJSON_AddStringToObject(o, "id", jobd_col_text(st, CC_ID));
	jobd_add_prefixed(o, "job_id", PROTO_PFX_JOB, jobd_col_text(st, CC_JOB));
	add_text(o, "post_id", st, CC_POST);
	add_text(o, "parent_id", st, CC_PARENT);
	add_int(o, "depth", st, CC_DEPTH);
	add_text(o, "author", st, CC_AUTHOR);
	add_text(o, "body", st, CC_BODY);
	add_int(o, "score", st, CC_SCORE);
	add_secs(o, "created_utc", st, CC_CREATED);
	cJSON_AddBoolToObject(o, "is_deleted", sqlite3_column_int(st,
	    CC_DELETED));
	cJSON_AddBoolToObject(o, "is_removed", sqlite3_column_int(st,
	    CC_REMOVED));
	add_extras(o, comment_extra, st, CC_EXTRA);
	/* Reddit's permalink is a path: make it a link */
	pl = cJSON_DetachItemFromObjectCaseSensitive(o, "permalink");
	path = cJSON_IsString(pl) ? pl->valuestring : NULL;
	add_permalink(o, "permalink", path);
	cJSON_Delete(pl);
	jobd_add_time(o, "scraped_at", st, CC_STORED);
	add_text(o, "sentiment_label", st, CC_SLABEL);
	add_real(o, "sentiment_score", st, CC_SSCORE);
	return o;
}

/* "k|<row id>" */
static int
key_cursor_parse(const char *cursor, int64_t *after)
{
	char		 raw[CURSOR_MAX], *end;
	long long	 v;

	if (strlen(cursor) > CURSOR_MAX ||
	    b64url_decode(cursor, raw, sizeof(raw)) < 3 ||
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

	b64url_encode((const unsigned char *)raw, (size_t)n, out);
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
	struct sqlbuf	 b;
	sqlite3_stmt	*st;
	const char	*post_id, *cursor;
	char		 ws[37], job[37], cbuf[CURSOR_MAX], frag[128];
	int64_t		 jid, limit, after = 0, total = -1, n = 0, last = 0;
	int		 count, rc, more = 0;
	cJSON		*r, *arr;

	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1 ||
	    jobd_body_id(ctx, "job_id", PROTO_PFX_JOB, job) == -1 ||
	    opt_str(ctx, "post_id", &post_id) == -1 ||
	    opt_str(ctx, "cursor", &cursor) == -1 ||
	    page_args(ctx, &limit, &count) == -1)
		return -1;
	if (cursor != NULL && key_cursor_parse(cursor, &after) == -1)
		return rep_error(ctx, PROTO_E_INVALID,
		    "cursor: not a cursor of this listing");
	if (job_of(jd, ctx, ws, job, &jid) == -1)
		return -1;

	if (count) {
		memset(&b, 0, sizeof(b));
		sb_add(&b, count_sql);
		if (post_id)
			sb_add(&b, " AND post_id = :post");
		if ((st = prepare(jd, b.s)) == NULL)
			return jobd_db_error(jd, ctx, member);
		bind_name_int(st, ":jid", jid);
		if (post_id)
			bind_name_text(st, ":post", post_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			total = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	memset(&b, 0, sizeof(b));
	sb_add(&b, sel);
	if (post_id) {
		snprintf(frag, sizeof(frag), " AND %s.post_id = :post", alias);
		sb_add(&b, frag);
	}
	snprintf(frag, sizeof(frag), " AND %s.%cid > :after ORDER BY %s.%cid "
	    "LIMIT :lim", alias, alias[0], alias, alias[0]);
	sb_add(&b, frag);
	if ((st = prepare(jd, b.s)) == NULL)
		return jobd_db_error(jd, ctx, member);
	bind_name_int(st, ":jid", jid);
	if (post_id)
		bind_name_text(st, ":post", post_id);
	bind_name_int(st, ":after", after);
	bind_name_int(st, ":lim", limit + 1);
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
	struct sqlbuf	 b;

	memset(&b, 0, sizeof(b));
	sb_add(&b, "SELECT " COMMENT_COLS);
	sb_extract(&b, "c.raw", comment_extra);
	sb_add(&b, " FROM comments c JOIN jobs j ON j.jid = c.jid"
	    " WHERE c.jid = :jid");
	return item_list(ctx, arg, b.s,
	    "SELECT count(*) FROM comments WHERE jid = :jid", "c",
	    PROTO_F_COMMENTS, comment_json);
}

int
jobd_h_media_list(struct rep_ctx *ctx, void *arg)
{
	return item_list(ctx, arg, MEDIA_SQL,
	    "SELECT count(*) FROM media WHERE jid = :jid", "m",
	    PROTO_F_MEDIA, media_json);
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
	if ((st = prepare(jd, "SELECT :sha, CASE WHEN u.sha256 = :sha THEN "
	    "u.path ELSE u.audio_path END, CASE WHEN u.sha256 = :sha THEN "
	    "u.content_type ELSE :audio END, CASE WHEN u.sha256 = :sha THEN "
	    "u.bytes ELSE u.audio_bytes END FROM media_urls u "
	    "WHERE (u.sha256 = :sha OR u.audio_sha256 = :sha) "
	    "AND u.status = :done AND EXISTS ("
	    "SELECT 1 FROM media m JOIN jobs j ON j.jid = m.jid "
	    "WHERE m.url_id = u.url_id AND j.workspace_id = :ws) "
	    "ORDER BY u.updated_at DESC LIMIT 1")) == NULL)
		return jobd_db_error(jd, ctx, "media file");
	bind_name_text(st, ":audio", "audio/mp4");
	bind_name_text(st, ":sha", sha);
	bind_name_text(st, ":ws", ws);
	bind_name_int(st, ":done", MEDIA_DOWNLOADED);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ctx->reply = cJSON_CreateObject();
		add_text(ctx->reply, PROTO_F_SHA256, st, 0);
		add_text(ctx->reply, PROTO_F_PATH, st, 1);
		add_text(ctx->reply, PROTO_F_CONTENT_TYPE, st, 2);
		add_int(ctx->reply, "bytes", st, 3);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such media file");
	if (rc != SQLITE_ROW)
		return jobd_db_error(jd, ctx, "media file");
	return 0;
}
