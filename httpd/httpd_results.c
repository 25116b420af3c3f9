/*
 * httpd_results.c — what jobs stored: the workspace's posts, one post with
 * its media, a job's posts, comments and media, and media files.
 *
 * jobd's replies are already the public shape (proto.h, RESULTS); httpd
 * adds only what is about HTTP: each downloaded media item's file_url.
 * Media files leave with evbuffer_add_file(), which libevent writes with
 * sendfile(2): the bytes never pass through a userspace buffer.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "proto/proto.h"

static void
ws_id(struct gw_req *gr, char *buf, size_t len)
{
	proto_id_format(PROTO_PFX_WORKSPACE, gr->ws, buf, len);
}

static void
job_id(struct gw_req *gr, char *buf, size_t len)
{
	proto_id_format(PROTO_PFX_JOB, gr->job, buf, len);
}

void
gw_query_error(struct gw_req *gr, int status, cJSON *detail)
{
	if (status == 400) {
		gw_error(gr, 400, "%s", cJSON_GetStringValue(detail));
		cJSON_Delete(detail);
	} else
		gw_error_list(gr, 422, detail);
}

/* jobd's "invalid" says "<field>: why": a 422 on that query parameter */
static void
reply_invalid(struct gw_req *gr, const char *message)
{
	cJSON		*detail = cJSON_CreateArray();
	const char	*colon = strchr(message, ':');
	char		 field[32];
	size_t		 n = colon ? (size_t)(colon - message) : 0;

	if (n > 0 && n < sizeof(field)) {
		memcpy(field, message, n);
		field[n] = '\0';
		message = colon + 1;
		while (*message == ' ')
			message++;
		gw_detail_add(detail, "query", field, message, "value_error");
	} else
		gw_detail_add(detail, "query", NULL, message, "value_error");
	gw_error_list(gr, 422, detail);
}

/* each downloaded item gets the URL of its file on this API */
static void
add_url(cJSON *m, const char *ws, const char *member, const char *key)
{
	cJSON	*sha = cJSON_GetObjectItemCaseSensitive(m, member);
	char	 url[256];

	if (cJSON_IsString(sha)) {
		snprintf(url, sizeof(url), "/api/v1/workspaces/%s/media/%s", ws,
		    sha->valuestring);
		cJSON_AddStringToObject(m, key, url);
	} else
		cJSON_AddNullToObject(m, key);
}

/* each downloaded item gets the URL of its file(s) on this API */
static void
add_file_urls(struct gw_req *gr, cJSON *media)
{
	cJSON		*m;
	char		 ws[64];

	ws_id(gr, ws, sizeof(ws));
	cJSON_ArrayForEach(m, media) {
		add_url(m, ws, PROTO_F_SHA256, "file_url");
		add_url(m, ws, PROTO_F_AUDIO_SHA256, "audio_file_url");
	}
}

static void
list_reply(struct gw_req *gr, const struct proto_reply *rep)
{
	cJSON	*post;

	if (!rep->ok) {
		if (strcmp(rep->err_code, PROTO_E_NOT_FOUND) == 0)
			gw_error(gr, 404, "%s", gr->route->fn == gw_h_post_get ?
			    "Post not found" : "Job not found");
		else if (strcmp(rep->err_code, PROTO_E_INVALID) == 0)
			reply_invalid(gr, rep->err_message);
		else
			gw_reply_proto_error(gr, rep->err_code,
			    rep->err_message);
		return;
	}
	add_file_urls(gr, cJSON_GetObjectItemCaseSensitive(rep->body,
	    PROTO_F_MEDIA));
	if ((post = cJSON_GetObjectItemCaseSensitive(rep->body,
	    PROTO_F_POST)) != NULL) {
		add_file_urls(gr, cJSON_GetObjectItemCaseSensitive(post,
		    PROTO_F_MEDIA));
		gw_reply_json(gr, 200, post);
		return;
	}
	gw_reply_json(gr, 200, rep->body);
}

/* parse the query, or answer 400/422; 0 when parsed */
static int
parse_query(struct gw_req *gr, enum gw_query_kind kind,
    struct gw_results_query *rq)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(gr->req);
	cJSON			*detail;
	int			 rc;

	rc = gw_parse_results_query(evhttp_uri_get_query(uri), kind, rq,
	    &detail);
	if (rc != 0) {
		gw_query_error(gr, rc, detail);
		return -1;
	}
	return 0;
}

static void
posts_list(struct gw_req *gr, int by_job)
{
	struct gw_results_query	 rq;
	struct proto_post_query	 pq;
	char			 ws[64], job[64];

	if (by_job && !gr->job_ok) {
		gw_error(gr, 404, "Job not found");
		return;
	}
	if (parse_query(gr, GW_Q_POSTS, &rq) == -1)
		return;
	ws_id(gr, ws, sizeof(ws));
	job_id(gr, job, sizeof(job));
	memset(&pq, 0, sizeof(pq));
	pq.workspace_id = ws;
	pq.job_id = by_job ? job : NULL;
	pq.q = rq.q;
	pq.subreddit = rq.subreddit;
	pq.author = rq.author;
	pq.post_type = rq.post_type;
	pq.sentiment_label = rq.sentiment_label;
	pq.sort_by = rq.sort_by;
	pq.sort_order = rq.sort_order;
	pq.cursor = rq.cursor;
	pq.has_min_score = rq.has_min_score;
	pq.has_max_score = rq.has_max_score;
	pq.min_score = rq.min_score;
	pq.max_score = rq.max_score;
	pq.limit = rq.limit;
	gw_call(gr, PROTO_POST_LIST, proto_post_list_req(&pq), list_reply);
}

void
gw_h_posts(struct gw_req *gr)
{
	posts_list(gr, 0);
}

void
gw_h_job_posts(struct gw_req *gr)
{
	posts_list(gr, 1);
}

void
gw_h_post_get(struct gw_req *gr)
{
	char	 ws[64];

	if (!gr->post_ok) {
		gw_error(gr, 404, "Post not found");
		return;
	}
	ws_id(gr, ws, sizeof(ws));
	gw_call(gr, PROTO_POST_GET, proto_post_get_req(ws, gr->post),
	    list_reply);
}

static void
items_list(struct gw_req *gr, const char *type)
{
	struct gw_results_query	 rq;
	char			 ws[64], job[64];

	if (!gr->job_ok) {
		gw_error(gr, 404, "Job not found");
		return;
	}
	if (parse_query(gr, GW_Q_ITEMS, &rq) == -1)
		return;
	ws_id(gr, ws, sizeof(ws));
	job_id(gr, job, sizeof(job));
	gw_call(gr, type, proto_item_list_req(ws, job, rq.post_id, rq.limit,
	    rq.cursor, 1), list_reply);
}

void
gw_h_job_comments(struct gw_req *gr)
{
	items_list(gr, PROTO_COMMENT_LIST);
}

void
gw_h_job_media(struct gw_req *gr)
{
	items_list(gr, PROTO_MEDIA_LIST);
}

/* GET /media/{sha256} */

/*
 * The file jobd names, which must be a regular file under state_dir (a
 * relative path is taken from state_dir, as mediad stores it). -1 when
 * there is none; the caller answers 404.
 */
static int
media_open(struct gw *gw, const char *path, struct stat *sb)
{
	char	 full[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	size_t	 n;
	int	 fd;

	if (path[0] == '/')
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s",
		    gw->d->cf.paths.state_dir, path);
	if (realpath(full, real) == NULL ||
	    realpath(gw->d->cf.paths.state_dir, root) == NULL)
		return -1;
	n = strlen(root);
	if (strncmp(real, root, n) != 0 || real[n] != '/') {
		log_warnx("media file %s is outside state_dir %s", real, root);
		return -1;
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, sb) == -1 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
media_file_got(struct gw_req *gr, const struct proto_reply *rep)
{
	struct evkeyvalq	*h;
	struct evbuffer		*buf;
	struct stat		 sb;
	const char		*path, *ctype, *inm;
	char			 etag[80], crange[96];
	int64_t			 off, len;
	int			 fd, rc, status;

	if (!rep->ok) {
		if (strcmp(rep->err_code, PROTO_E_NOT_FOUND) == 0)
			gw_error(gr, 404, "Media not found");
		else
			gw_reply_proto_error(gr, rep->err_code,
			    rep->err_message);
		return;
	}
	path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep->body,
	    PROTO_F_PATH));
	ctype = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    rep->body, PROTO_F_CONTENT_TYPE));
	if (path == NULL || (fd = media_open(gr->gw, path, &sb)) == -1) {
		log_warnx("media %s: stored file %s is missing", gr->sha,
		    path ? path : "(no path)");
		gw_error(gr, 404, "Media file not found");
		return;
	}
	h = evhttp_request_get_output_headers(gr->req);
	buf = evhttp_request_get_output_buffer(gr->req);
	snprintf(etag, sizeof(etag), "\"%s\"", gr->sha);
	evhttp_add_header(h, "ETag", etag);
	/* content-addressed: the bytes behind this URL never change */
	evhttp_add_header(h, "Cache-Control", "private, max-age=31536000, "
	    "immutable");
	evhttp_add_header(h, "Accept-Ranges", "bytes");
	inm = evhttp_find_header(evhttp_request_get_input_headers(gr->req),
	    "If-None-Match");
	if (inm != NULL && (strstr(inm, etag) != NULL ||
	    strcmp(inm, "*") == 0)) {
		close(fd);
		status = 304;
		evhttp_send_reply(gr->req, status, gw_status_text(status),
		    NULL);
		goto done;
	}
	off = 0;
	len = sb.st_size;
	rc = gw_parse_range(evhttp_find_header(evhttp_request_get_input_headers(
	    gr->req), "Range"), sb.st_size, &off, &len);
	if (rc == -1) {
		close(fd);
		snprintf(crange, sizeof(crange), "bytes */%lld",
		    (long long)sb.st_size);
		evhttp_add_header(h, "Content-Range", crange);
		gw_error(gr, 416, "Range not satisfiable: the file has %lld "
		    "bytes", (long long)sb.st_size);
		return;
	}
	status = rc == 1 ? 206 : 200;
	if (rc == 1) {
		snprintf(crange, sizeof(crange), "bytes %lld-%lld/%lld",
		    (long long)off, (long long)(off + len - 1),
		    (long long)sb.st_size);
		evhttp_add_header(h, "Content-Range", crange);
	}
	evhttp_add_header(h, "Content-Type", ctype && *ctype ? ctype :
	    "application/octet-stream");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (len > 0) {
		/* takes fd; written with sendfile(2) */
		if (evbuffer_add_file(buf, fd, off, len) == -1) {
			close(fd);
			gw_error(gr, 500, "cannot send the file");
			return;
		}
	} else
		close(fd);
	log_debug("%s %s -> %d (%lld bytes)", gr->route->name,
	    evhttp_request_get_uri(gr->req), status, (long long)len);
	evhttp_send_reply(gr->req, status, gw_status_text(status), NULL);
done:
	gw_metrics_observe(gr->route->name, status, gr->started_ms);
	gw_req_done(gr);
}

void
gw_h_media_file(struct gw_req *gr)
{
	char	 ws[64];

	if (!gr->sha_ok) {
		gw_error(gr, 404, "Media not found");
		return;
	}
	ws_id(gr, ws, sizeof(ws));
	gw_call(gr, PROTO_MEDIA_FILE, proto_media_file_req(ws, gr->sha),
	    media_file_got);
}
