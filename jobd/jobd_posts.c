/*
 * jobd_posts.c — post.list and post.get (proto.h, RESULTS): the
 * workspace's or a job's posts with full-text search, filters and keyset
 * pages, and one post with its media.
 *
 * post.list's filters combine freely, so its SQL is assembled per request
 * from fixed fragments (no input is ever pasted into it: every value is a
 * bound parameter) and prepared for that request. Every sort has an index
 * ending in the post id (schema 4), so a page reads about limit rows; the
 * workspace view reads the rows marked latest (each Reddit post once).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/jobd.h"
#include "lib/log.h"

static const struct res_extra post_extra[] = {
	{ "$.upvote_ratio", "upvote_ratio", RES_EX_COPY },
	{ "$.domain", "domain", RES_EX_COPY },
	{ "$.link_flair_text", "flair", RES_EX_COPY },
	{ "$.author_flair_text", "author_flair", RES_EX_COPY },
	{ "$.over_18", "over_18", RES_EX_BOOL },
	{ "$.spoiler", "spoiler", RES_EX_BOOL },
	{ "$.stickied", "stickied", RES_EX_BOOL },
	{ "$.locked", "locked", RES_EX_BOOL },
	{ "$.is_video", "is_video", RES_EX_BOOL },
	{ "$.edited", "edited", RES_EX_EDITED },
	{ "$.distinguished", "distinguished", RES_EX_COPY },
	{ "$.removed_by_category", "removed_by", RES_EX_COPY },
	{ "$.num_crossposts", "num_crossposts", RES_EX_COPY },
	{ "$.thumbnail", "thumbnail", RES_EX_URL },
	{ NULL, NULL, 0 }
};

/* ---- post.list ----------------------------------------------------- */

/* columns of a post row, in POST_COLS order */
enum { PC_PID, PC_ID, PC_JOB, PC_SUB, PC_AUTHOR, PC_TITLE, PC_CREATED,
	PC_SCORE, PC_NCOMMENTS, PC_URL, PC_PERMALINK, PC_SELFTEXT, PC_TYPE,
	PC_STORED, PC_SLABEL, PC_SSCORE, PC_JID, PC_ANNOT, PC_EXTRA,
	PC_SORTVAL };
#define POST_COLS "p.pid, p.id, (SELECT id FROM jobs WHERE jid = p.jid), " \
	"p.subreddit, p.author, p.title, " \
	"p.created_utc, p.score, p.num_comments, p.url, p.permalink, " \
	"p.selftext, p.post_type, p.stored_at, p.sentiment_label, " \
	"p.sentiment_score, p.jid, p.annotations, "

static cJSON *
post_json(sqlite3_stmt *st)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", jobd_col_text(st, PC_ID));
	jobd_add_prefixed(o, "job_id", PROTO_PFX_JOB, jobd_col_text(st, PC_JOB));
	res_add_text(o, "subreddit", st, PC_SUB);
	res_add_text(o, "title", st, PC_TITLE);
	res_add_text(o, "author", st, PC_AUTHOR);
	res_add_secs(o, "created_utc", st, PC_CREATED);
	res_add_int(o, "score", st, PC_SCORE);
	res_add_int(o, "num_comments", st, PC_NCOMMENTS);
	res_add_text(o, "selftext", st, PC_SELFTEXT);
	res_add_text(o, "url", st, PC_URL);
	res_add_permalink(o, "permalink", (const char *)sqlite3_column_text(st,
	    PC_PERMALINK));
	res_add_text(o, "post_type", st, PC_TYPE);
	res_add_extras(o, post_extra, st, PC_EXTRA);
	jobd_add_time(o, "scraped_at", st, PC_STORED);
	res_add_text(o, "sentiment_label", st, PC_SLABEL);
	res_add_real(o, "sentiment_score", st, PC_SSCORE);
	res_add_annotations(o, st, PC_ANNOT);
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

/* plain columns (never NULL, schema 4), so their indexes give the order */
static const char *
sort_expr(char sort)
{
	switch (sort) {
	case 's':	return "p.score";
	case 'n':	return "p.num_comments";
	default:	return "p.created_utc";
	}
}

/* FROM and WHERE of post.list, the keyset aside */
static void
post_where(struct res_sql *b, const struct post_query *pq)
{
	/* a job's posts are its workspace's (res_job_of checked) */
	if (pq->jid != 0)
		res_sql_add(b, " FROM posts p WHERE p.jid = :jid");
	else		/* each Reddit post once: the copy stored last */
		res_sql_add(b, " FROM posts p WHERE p.workspace_id = :ws"
		    " AND p.latest = 1");
	if (pq->q)
		res_sql_add(b, " AND p.pid IN (SELECT rowid FROM posts_fts"
		    " WHERE posts_fts MATCH :q)");
	if (pq->subreddit)
		res_sql_add(b, " AND p.subreddit = :sub COLLATE NOCASE");
	if (pq->author)
		res_sql_add(b, " AND p.author = :author COLLATE NOCASE");
	if (pq->has_min)
		res_sql_add(b, " AND p.score >= :min");
	if (pq->has_max)
		res_sql_add(b, " AND p.score <= :max");
	if (pq->post_type)
		res_sql_add(b, " AND p.post_type = :ptype");
	if (pq->sentiment)
		res_sql_add(b, " AND p.sentiment_label = :sent");
}

static void
post_bind(sqlite3_stmt *st, const struct post_query *pq, const char *q)
{
	res_bind_text(st, ":ws", pq->ws_bare);
	res_bind_int(st, ":jid", pq->jid);
	if (q)
		res_bind_text(st, ":q", q);
	if (pq->subreddit)
		res_bind_text(st, ":sub", pq->subreddit);
	if (pq->author)
		res_bind_text(st, ":author", pq->author);
	res_bind_int(st, ":min", pq->min);
	res_bind_int(st, ":max", pq->max);
	if (pq->post_type)
		res_bind_text(st, ":ptype", pq->post_type);
	if (pq->sentiment)
		res_bind_text(st, ":sent", pq->sentiment);
	res_bind_int(st, ":cv", pq->cur_val);
	res_bind_text(st, ":cid", pq->cur_id);
	res_bind_int(st, ":lim", pq->limit + 1);
}

/* "p|<sort><order>|<value>|<id>" */
static void
post_cursor(const struct post_query *pq, int64_t val, const char *id,
    char *out)
{
	char	 raw[RES_CURSOR_MAX / 2];
	int	 n;

	n = snprintf(raw, sizeof(raw), "p|%c%c|%" PRId64 "|%s", pq->sort,
	    pq->desc ? 'd' : 'a', val, id);
	if (n < 0 || (size_t)n >= sizeof(raw))
		n = (int)sizeof(raw) - 1;
	res_b64url_encode((const unsigned char *)raw, (size_t)n, out);
}

static int
post_cursor_parse(struct post_query *pq, const char *cursor)
{
	char		 raw[RES_CURSOR_MAX], *p, *end;
	long long	 v;

	if (strlen(cursor) > RES_CURSOR_MAX ||
	    res_b64url_decode(cursor, raw, sizeof(raw)) < 6)
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
	struct res_sql	 b;
	sqlite3_stmt	*st;
	cJSON		*r, *arr;
	char		 cursor[RES_CURSOR_MAX];
	int64_t		 total = -1, lastval = 0, n = 0;
	char		 lastid[64] = "";
	int		 rc, more = 0;

	if (pq->count) {
		memset(&b, 0, sizeof(b));
		res_sql_add(&b, "SELECT count(*)");
		post_where(&b, pq);
		if ((st = res_prepare(jd, b.s)) == NULL)
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
	res_sql_add(&b, "SELECT " POST_COLS);
	res_sql_extract(&b, "p.raw", post_extra);
	res_sql_add(&b, ", ");
	res_sql_add(&b, sort_expr(pq->sort));
	post_where(&b, pq);
	if (pq->has_cursor) {
		res_sql_add(&b, " AND (");
		res_sql_add(&b, sort_expr(pq->sort));
		res_sql_add(&b, pq->desc ? ", p.id) < (:cv, :cid)" :
		    ", p.id) > (:cv, :cid)");
	}
	res_sql_add(&b, " ORDER BY ");
	res_sql_add(&b, sort_expr(pq->sort));
	res_sql_add(&b, pq->desc ? " DESC, p.id DESC" : " ASC, p.id ASC");
	res_sql_add(&b, " LIMIT :lim");
	if ((st = res_prepare(jd, b.s)) == NULL)
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
	if (res_opt_str(ctx, "q", &pq.q) == -1 ||
	    res_opt_str(ctx, "subreddit", &pq.subreddit) == -1 ||
	    res_opt_str(ctx, "author", &pq.author) == -1 ||
	    res_opt_str(ctx, "cursor", &cursor) == -1 ||
	    res_opt_enum(ctx, "post_type", types, &pq.post_type) == -1 ||
	    res_opt_enum(ctx, "sentiment_label", labels, &pq.sentiment) == -1 ||
	    res_opt_enum(ctx, "sort_by", sorts, &sort_by) == -1 ||
	    res_opt_enum(ctx, "sort_order", orders, &order) == -1 ||
	    res_page_args(ctx, &pq.limit, &pq.count) == -1)
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
		if (res_job_of(jd, ctx, ws, job, &pq.jid) == -1)
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

/* ---- post.get ------------------------------------------------------ */

int
jobd_h_post_get(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	struct res_sql	 b;
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
	res_sql_add(&b, "SELECT " POST_COLS);
	res_sql_extract(&b, "p.raw", post_extra);
	res_sql_add(&b, " FROM posts p"
	    " WHERE p.workspace_id = :ws AND p.id = :id"
	    " ORDER BY p.pid DESC LIMIT 1");
	if ((st = res_prepare(jd, b.s)) == NULL)
		return jobd_db_error(jd, ctx, "post get");
	res_bind_text(st, ":ws", ws);
	res_bind_text(st, ":id", post_id);
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
	if ((st = res_prepare(jd, RES_MEDIA_SQL " AND m.post_id = :post "
	    "ORDER BY m.idx, m.mid LIMIT 1000")) == NULL) {
		cJSON_Delete(post);
		return jobd_db_error(jd, ctx, "post media");
	}
	res_bind_int(st, ":jid", jid);
	res_bind_text(st, ":post", post_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cJSON_AddItemToArray(media, res_media_json(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(post);
		return jobd_db_error(jd, ctx, "post media");
	}
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, PROTO_F_POST, post);
	return 0;
}
