/*
 * httpd_export.c — GET …/jobs/{job_id}/export?format=ndjson|csv&type=
 * posts|comments: a job's posts or comments as one chunked response, in
 * constant memory whatever the job's size.
 *
 * The export pages through jobd by keyset (post.list / comment.list with
 * count false), one page at a time: a page is formatted into one chunk,
 * handed to libevent with evhttp_send_reply_chunk_with_cb(), and the next
 * page is asked for only when that callback says the connection's output
 * buffer has drained to the socket. A slow reader therefore holds one
 * page in httpd, never the export.
 *
 * Lifetime. The first page goes through gw_call() like any request, so a
 * missing job or an absent jobd is an ordinary JSON error. Once the 200
 * has started, the export owns the request:
 *   - the client leaves: libevent detaches the request from its
 *     connection and frees the connection; export_closed() notes it, and
 *     the export ends at the next callback, freeing the detached request
 *     with evhttp_send_reply_end() (what libevent asks of its owner);
 *   - jobd fails mid-way: the status line is gone, so the connection is
 *     closed without the last chunk: the client sees a truncated body,
 *     never a short export that looks complete.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "proto/proto.h"

#define EXPORT_POSTS_PAGE	500
#define EXPORT_COMMENTS_PAGE	1000

static const char *const post_cols[] = { "id", "subreddit", "title",
	"author", "created_utc", "score", "upvote_ratio", "num_comments",
	"post_type", "url", "permalink", "domain", "flair", "over_18",
	"is_video", "stickied", "selftext", "sentiment_label",
	"sentiment_score", NULL };
static const char *const comment_cols[] = { "id", "post_id", "parent_id",
	"depth", "author", "body", "score", "created_utc", "is_deleted",
	"is_removed", "permalink", "sentiment_label", "sentiment_score", NULL };

struct gw_export {
	struct gw_req		*gr;
	struct evhttp_request	*req;	/* ours once the reply started */
	struct evhttp_connection *evcon;
	int			 csv;
	int			 comments;
	int			 started;
	int			 closed;	/* the client went away */
	int			 cut;		/* ended short: jobd failed */
	int			 calling;	/* a jobd call in flight */
	int			 last;		/* the page sent was the last */
	char			 ws[64];
	char			 job[64];
	char			*cursor;
	int64_t			 rows;
	uint64_t		 started_ms;
	struct evbuffer		*buf;
};

/* RFC 4180: quote a field holding a comma, quote, CR or LF */
void
gw_csv_field(struct evbuffer *buf, const cJSON *v)
{
	const char	*s, *p;
	double		 d;

	if (v == NULL || cJSON_IsNull(v))
		return;
	if (cJSON_IsBool(v)) {
		evbuffer_add_printf(buf, "%s", cJSON_IsTrue(v) ? "true" :
		    "false");
		return;
	}
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			evbuffer_add_printf(buf, "%lld", (long long)d);
		else
			evbuffer_add_printf(buf, "%.15g", d);
		return;
	}
	if (!cJSON_IsString(v))
		return;
	s = v->valuestring;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		evbuffer_add(buf, s, strlen(s));
		return;
	}
	evbuffer_add(buf, "\"", 1);
	while ((p = strchr(s, '"')) != NULL) {
		evbuffer_add(buf, s, (size_t)(p - s + 1));
		evbuffer_add(buf, "\"", 1);
		s = p + 1;
	}
	evbuffer_add(buf, s, strlen(s));
	evbuffer_add(buf, "\"", 1);
}

static const char *const *
columns(const struct gw_export *x)
{
	return x->comments ? comment_cols : post_cols;
}

static void
csv_header(struct gw_export *x)
{
	const char *const *c;

	for (c = columns(x); *c; c++)
		evbuffer_add_printf(x->buf, "%s%s", c == columns(x) ? "" : ",",
		    *c);
	evbuffer_add(x->buf, "\r\n", 2);
}

static void
format_page(struct gw_export *x, const cJSON *items)
{
	const cJSON		*it;
	const char *const	*c;
	char			*s;

	cJSON_ArrayForEach(it, items) {
		x->rows++;
		if (!x->csv) {
			if ((s = cJSON_PrintUnformatted(it)) == NULL)
				continue;
			evbuffer_add(x->buf, s, strlen(s));
			evbuffer_add(x->buf, "\n", 1);
			cJSON_free(s);
			continue;
		}
		for (c = columns(x); *c; c++) {
			if (c != columns(x))
				evbuffer_add(x->buf, ",", 1);
			gw_csv_field(x->buf,
			    cJSON_GetObjectItemCaseSensitive(it, *c));
		}
		evbuffer_add(x->buf, "\r\n", 2);
	}
}

static cJSON *
page_req(struct gw_export *x)
{
	struct proto_post_query	 pq;

	if (x->comments)
		return proto_item_list_req(x->ws, x->job, NULL,
		    EXPORT_COMMENTS_PAGE, x->cursor, 0);
	memset(&pq, 0, sizeof(pq));
	pq.workspace_id = x->ws;
	pq.job_id = x->job;
	pq.sort_by = PROTO_SORT_CREATED;
	pq.sort_order = PROTO_ORDER_ASC;
	pq.cursor = x->cursor;
	pq.limit = EXPORT_POSTS_PAGE;
	pq.no_count = 1;
	return proto_post_list_req(&pq);
}

/* an export that never started */
static void
export_discard(void *arg)
{
	struct gw_export	*x = arg;

	evbuffer_free(x->buf);
	free(x->cursor);
	free(x);
}

static void
export_free(struct gw_export *x)
{
	struct gw_req	*gr = x->gr;

	if (x->started) {
		gr->gw->streams--;
		log_info("export %s %s: %lld rows in %.1f s%s", x->job,
		    x->comments ? PROTO_F_COMMENTS : PROTO_F_POSTS,
		    (long long)x->rows,
		    (double)(daemon_now_ms() - x->started_ms) / 1000.0,
		    x->cut ? " (cut short)" : x->closed ? " (client left)" :
		    "");
	}
	if (x->evcon != NULL)
		evhttp_connection_set_closecb(x->evcon, NULL, NULL);
	gr->evcon = NULL;
	evbuffer_free(x->buf);
	free(x->cursor);
	free(x);
	gw_req_done(gr);
}

static void
export_closed(struct evhttp_connection *evcon, void *arg)
{
	struct gw_export	*x = arg;

	(void)evcon;
	x->closed = 1;
	x->evcon = NULL;
	x->gr->evcon = NULL;
	/*
	 * A request libevent has detached (the client left mid-reply) is
	 * ours to free; one still on the connection (httpd is shutting
	 * down) goes with it.
	 */
	if (x->req != NULL && evhttp_request_get_connection(x->req) != NULL)
		x->req = NULL;
	if (!x->calling) {
		if (x->req != NULL)
			evhttp_send_reply_end(x->req);
		x->req = NULL;
		export_free(x);
	}
}

/* jobd failed after the 200: end the body short, so it reads as broken */
static void
export_abort(struct gw_export *x, const char *why)
{
	struct evhttp_connection *evcon = x->evcon;

	log_warnx("export %s: stopped after %lld rows: %s", x->job,
	    (long long)x->rows, why);
	x->closed = 1;
	x->cut = 1;
	x->req = NULL;
	x->evcon = NULL;
	if (evcon != NULL) {
		evhttp_connection_set_closecb(evcon, NULL, NULL);
		evhttp_connection_free(evcon);	/* frees the request too */
	}
	export_free(x);
}

static void export_next(struct gw_export *);

static void
export_drained(struct evhttp_connection *evcon, void *arg)
{
	struct gw_export	*x = arg;

	(void)evcon;
	if (x->calling || x->closed)
		return;
	if (x->last) {
		evhttp_send_reply_end(x->req);
		x->req = NULL;
		export_free(x);
		return;
	}
	export_next(x);
}

/* a page is in: write it, then wait for it to drain */
static void
export_write(struct gw_export *x, const cJSON *body)
{
	const cJSON	*items, *cur, *more;

	items = cJSON_GetObjectItemCaseSensitive(body, x->comments ?
	    PROTO_F_COMMENTS : PROTO_F_POSTS);
	cur = cJSON_GetObjectItemCaseSensitive(body, PROTO_F_CURSOR);
	more = cJSON_GetObjectItemCaseSensitive(body, PROTO_F_HAS_MORE);
	if (!cJSON_IsArray(items)) {
		export_abort(x, "jobd reply without items");
		return;
	}
	free(x->cursor);
	x->cursor = NULL;
	x->last = !cJSON_IsTrue(more) || !cJSON_IsString(cur);
	if (!x->last && (x->cursor = strdup(cur->valuestring)) == NULL) {
		export_abort(x, "out of memory");
		return;
	}
	format_page(x, items);
	if (evbuffer_get_length(x->buf) == 0) {
		export_drained(x->evcon, x);
		return;
	}
	evhttp_send_reply_chunk_with_cb(x->req, x->buf, export_drained, x);
}

static void
export_page(const struct proto_reply *rep, const char *err, void *arg)
{
	struct gw_export	*x = arg;

	x->gr->gw->inflight--;
	x->calling = 0;
	if (x->closed) {
		if (x->req != NULL)
			evhttp_send_reply_end(x->req);
		x->req = NULL;
		export_free(x);
		return;
	}
	if (rep == NULL) {
		export_abort(x, err);
		return;
	}
	if (!rep->ok) {
		export_abort(x, rep->err_message);
		return;
	}
	export_write(x, rep->body);
}

static void
export_next(struct gw_export *x)
{
	struct gw	*gw = x->gr->gw;
	const char	*type = x->comments ? PROTO_COMMENT_LIST :
			    PROTO_POST_LIST;

	if (!bridge_connected(gw->jobd) ||
	    bridge_call(gw->jobd, type, page_req(x), gw->timeout_ms,
	    export_page, x) == -1) {
		export_abort(x, "jobd not connected");
		return;
	}
	gw->inflight++;
	x->calling = 1;
}

/* the first page: errors are still ordinary answers */
static void
export_first(struct gw_req *gr, const struct proto_reply *rep)
{
	struct gw_export	*x = gr->priv;
	struct evkeyvalq	*h;
	char			 disp[160];

	gr->priv = NULL;		/* the export's own from here on */
	if (!rep->ok) {
		export_discard(x);
		if (strcmp(rep->err_code, PROTO_E_NOT_FOUND) == 0)
			gw_error(gr, 404, "Job not found");
		else
			gw_reply_proto_error(gr, rep->err_code,
			    rep->err_message);
		return;
	}
	x->req = gr->req;
	x->evcon = gr->evcon;
	x->started = 1;
	x->started_ms = daemon_now_ms();
	gr->gw->streams++;
	if (x->evcon != NULL)
		evhttp_connection_set_closecb(x->evcon, export_closed, x);
	h = evhttp_request_get_output_headers(x->req);
	evhttp_add_header(h, "Content-Type", x->csv ?
	    "text/csv; charset=utf-8; header=present" :
	    "application/x-ndjson");
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s-%s.%s\"",
	    x->job, x->comments ? PROTO_F_COMMENTS : PROTO_F_POSTS,
	    x->csv ? GW_FORMAT_CSV : GW_FORMAT_NDJSON);
	evhttp_add_header(h, "Content-Disposition", disp);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply_start(x->req, 200, "OK");
	/* the latency counted is the first page's */
	gw_metrics_observe(gr->route->name, 200, gr->started_ms);
	log_debug("%s %s -> 200 (streaming)", gr->route->name,
	    evhttp_request_get_uri(x->req));
	if (evhttp_request_get_command(x->req) == EVHTTP_REQ_HEAD) {
		evhttp_send_reply_end(x->req);
		x->req = NULL;
		export_free(x);
		return;
	}
	if (x->csv)
		csv_header(x);
	export_write(x, rep->body);
}

void
gw_h_job_export(struct gw_req *gr)
{
	struct gw_results_query	 rq;
	struct gw_export	*x;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(gr->req);
	cJSON			*detail;
	int			 rc;

	if (!gr->job_ok) {
		gw_error(gr, 404, "Job not found");
		return;
	}
	rc = gw_parse_results_query(evhttp_uri_get_query(uri), GW_Q_EXPORT,
	    &rq, &detail);
	if (rc != 0) {
		gw_query_error(gr, rc, detail);
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->buf = evbuffer_new()) == NULL) {
		free(x);
		gw_unavailable(gr, "out of memory");
		return;
	}
	x->gr = gr;
	x->csv = strcmp(rq.format, GW_FORMAT_CSV) == 0;
	x->comments = strcmp(rq.type, PROTO_F_COMMENTS) == 0;
	proto_id_format(PROTO_PFX_WORKSPACE, gr->ws, x->ws, sizeof(x->ws));
	proto_id_format(PROTO_PFX_JOB, gr->job, x->job, sizeof(x->job));
	/* until the 200 starts, gw_req_done frees it with the request */
	gr->priv = x;
	gr->priv_free = export_discard;
	gw_call(gr, x->comments ? PROTO_COMMENT_LIST : PROTO_POST_LIST,
	    page_req(x), export_first);
}
