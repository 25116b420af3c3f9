/*
 * httpd_route.c — from an evhttp request to a handler: path parsing, the
 * route table (404 unknown path, 405 wrong method), authentication, scope,
 * workspace isolation, the per-key rate limit, and jobd calls.
 *
 * Lifetime: a struct gw_req lives from gw_dispatch until its reply is sent
 * (gw_req_done). If the client goes away while jobd is answering, the
 * connection's close callback clears gr->req; the call still completes
 * and only frees gr.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "proto/proto.h"

const struct gw_route gw_routes[] = {
	{ "healthz", EVHTTP_REQ_GET, "/healthz", 0, gw_h_healthz },
	{ "openapi", EVHTTP_REQ_GET, "/api/v1/openapi.json", 0,
	    gw_h_openapi },
	{ "jobs.create", EVHTTP_REQ_POST, "/api/v1/workspaces/{workspace_id}/"
	    "jobs", GW_SCOPE_WRITE, gw_h_job_create },
	{ "jobs.list", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/jobs",
	    GW_SCOPE_READ, gw_h_job_list },
	{ "jobs.get", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/jobs/"
	    "{job_id}", GW_SCOPE_READ, gw_h_job_get },
	{ "jobs.cancel", EVHTTP_REQ_DELETE, "/api/v1/workspaces/{workspace_id}/"
	    "jobs/{job_id}", GW_SCOPE_WRITE, gw_h_job_cancel },
	{ "jobs.posts", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/"
	    "jobs/{job_id}/posts", GW_SCOPE_READ, gw_h_job_posts },
	{ "jobs.comments", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/"
	    "jobs/{job_id}/comments", GW_SCOPE_READ, gw_h_job_comments },
	{ "jobs.media", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/"
	    "jobs/{job_id}/media", GW_SCOPE_READ, gw_h_job_media },
	{ "jobs.export", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/"
	    "jobs/{job_id}/export", GW_SCOPE_READ, gw_h_job_export },
	{ "jobs.events", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/"
	    "jobs/{job_id}/events", GW_SCOPE_READ, gw_h_job_events },
	{ "posts.list", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/"
	    "posts", GW_SCOPE_READ, gw_h_posts },
	{ "posts.get", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/"
	    "posts/{post_id}", GW_SCOPE_READ, gw_h_post_get },
	{ "media.file", EVHTTP_REQ_GET, "/api/v1/workspaces/{workspace_id}/"
	    "media/{sha256}", GW_SCOPE_READ, gw_h_media_file },
	{ NULL, 0, NULL, 0, NULL }
};

/* "t3_<base36>" or the bare base36 id; out gets the prefixed form */
static int
post_id_parse(const char *in, char *out, size_t outlen)
{
	size_t	 i, n;

	if (strncmp(in, "t3_", 3) == 0)
		in += 3;
	n = strlen(in);
	if (n < 1 || n > 13 || n + 4 > outlen)
		return -1;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)in[i]) &&
		    !islower((unsigned char)in[i]))
			return -1;
	snprintf(out, outlen, "t3_%s", in);
	return 0;
}

/* 64 hex digits; out gets them in lower case */
static int
sha256_parse(const char *in, char out[65])
{
	size_t	 i;

	if (strlen(in) != 64)
		return -1;
	for (i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[64] = '\0';
	return 0;
}

static void
path_param(const char *name, size_t namelen, const char *seg,
    struct gw_path *p)
{
#define IS(s)	(namelen == sizeof(s) - 1 && memcmp(name, s, namelen) == 0)
	if (IS("workspace_id"))
		p->ws_ok = proto_id_parse(seg, PROTO_PFX_WORKSPACE, p->ws) == 0;
	else if (IS("job_id"))
		p->job_ok = proto_id_parse(seg, PROTO_PFX_JOB, p->job) == 0;
	else if (IS("post_id"))
		p->post_ok = post_id_parse(seg, p->post, sizeof(p->post)) == 0;
	else if (IS("sha256"))
		p->sha_ok = sha256_parse(seg, p->sha) == 0;
	else
		log_panic("%s: unknown path parameter %.*s", __func__,
		    (int)namelen, name);
#undef IS
}

/*
 * Does path fit the template? Literal segments compare exactly; a
 * {parameter} segment takes any non-empty segment. A segment that is not a
 * valid id still matches: the handler answers 404 as for an id that does
 * not exist, never 400. No empty segments, no trailing slash. With p
 * NULL only the shape is checked: the dispatcher tries every route that
 * way and parses the parameters of the one it takes (parsing a UUID for
 * each route tried was ~5% of httpd).
 */
int
gw_path_match(const char *tmpl, const char *path, struct gw_path *p)
{
	const char	*t = tmpl, *u = path, *te, *ue;
	char		 seg[128];
	size_t		 tn, un;

	if (p != NULL)
		memset(p, 0, sizeof(*p));
	while (*t == '/' && *u == '/') {
		t++;
		u++;
		te = t + strcspn(t, "/");
		ue = u + strcspn(u, "/");
		tn = (size_t)(te - t);
		un = (size_t)(ue - u);
		if (un == 0 || un >= sizeof(seg))
			return 0;
		if (tn > 2 && t[0] == '{' && t[tn - 1] == '}') {
			if (p != NULL) {
				memcpy(seg, u, un);
				seg[un] = '\0';
				path_param(t + 1, tn - 2, seg, p);
			}
		} else if (tn != un || memcmp(t, u, tn) != 0)
			return 0;
		t = te;
		u = ue;
	}
	return *t == '\0' && *u == '\0';
}

static void
gw_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct gw_req	*gr = arg;

	(void)evcon;
	gr->req = NULL;
	gr->evcon = NULL;
}

void
gw_req_done(struct gw_req *gr)
{
	if (gr->evcon != NULL)
		evhttp_connection_set_closecb(gr->evcon, NULL, NULL);
	free(gr->input);
	if (gr->priv != NULL && gr->priv_free != NULL)
		gr->priv_free(gr->priv);
	free(gr);
}

static void
gw_call_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct gw_req	*gr = arg;

	gr->gw->inflight--;
	if (gr->req == NULL) {		/* the client left */
		gw_req_done(gr);
		return;
	}
	if (rep == NULL) {
		gw_unavailable(gr, strcmp(err, "timeout") == 0 ?
		    "no answer in time" : err);
		return;
	}
	gr->cont(gr, rep);
}

static void
call_jobd(struct gw_req *gr, const char *type, cJSON *body, gw_cont cont,
    int read)
{
	int	rv;

	if (bridge_connected(gr->gw->jobd) == 0) {
		cJSON_Delete(body);
		gw_unavailable(gr, "not connected");
		return;
	}
	gr->cont = cont;
	rv = read ? bridge_call_read(gr->gw->jobd, type, body,
	    gr->gw->timeout_ms, gw_call_done, gr) : bridge_call(gr->gw->jobd,
	    type, body, gr->gw->timeout_ms, gw_call_done, gr);
	if (rv == -1) {
		gw_unavailable(gr, "cannot send");
		return;
	}
	gr->gw->inflight++;
}

void
gw_call(struct gw_req *gr, const char *type, cJSON *body, gw_cont cont)
{
	call_jobd(gr, type, body, cont, 0);
}

/*
 * A call that changes nothing in jobd: identical ones made in the same
 * loop round (many clients polling one job) share one call and one
 * rendering of its answer (bridge_call_read).
 */
void
gw_call_read(struct gw_req *gr, const char *type, cJSON *body, gw_cont cont)
{
	call_jobd(gr, type, body, cont, 1);
}

void
gw_after_auth(struct gw_req *gr)
{
	int	 retry;
	char	 buf[16];

	/* another workspace's path looks exactly like a missing one */
	if (!gr->ws_ok || strcmp(gr->ws, gr->key_ws) != 0) {
		gw_error(gr, 404, "Workspace not found");
		return;
	}
	if ((gr->scopes & gr->route->scope) == 0) {
		gw_error(gr, 403, "This API key lacks the '%s' scope",
		    gr->route->scope == GW_SCOPE_WRITE ? PROTO_SCOPE_WRITE :
		    PROTO_SCOPE_READ);
		return;
	}
	if (gw_rate_take(gr->gw, gr->key_id, daemon_now_ms(),
	    gr->gw->d->cf.httpd.key_rate_limit, &retry) == -1) {
		snprintf(buf, sizeof(buf), "%d", retry);
		evhttp_add_header(evhttp_request_get_output_headers(gr->req),
		    "Retry-After", buf);
		gw_error(gr, 429, "Rate limit exceeded for this API key");
		return;
	}
	gr->route->fn(gr);
}

static const char *
method_name(int method)
{
	switch (method) {
	case EVHTTP_REQ_GET:	return "GET";
	case EVHTTP_REQ_POST:	return "POST";
	case EVHTTP_REQ_DELETE:	return "DELETE";
	default:		return "OTHER";
	}
}

static void
gw_allow_header(struct evhttp_request *req, const char *path)
{
	const struct gw_route	*r;
	char			 allow[64] = "";
	size_t			 n = 0;

	for (r = gw_routes; r->name && n < sizeof(allow); r++) {
		if (!gw_path_match(r->path, path, NULL))
			continue;
		n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s",
		    n ? ", " : "", method_name(r->method));
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
}

void
gw_dispatch(struct evhttp_request *req, void *arg)
{
	struct gw		*gw = arg;
	struct gw_req		*gr;
	const struct gw_route	*r;
	const struct evhttp_uri	*uri;
	const char		*path;
	struct gw_path		 p;
	int			 method, matched = 0;

	if ((gr = calloc(1, sizeof(*gr))) == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	gr->gw = gw;
	gr->req = req;
	gr->started_ms = daemon_now_ms();
	gr->evcon = evhttp_request_get_connection(req);
	if (gr->evcon != NULL)
		evhttp_connection_set_closecb(gr->evcon, gw_conn_closed, gr);
	if (gw->d->stopping)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");

	uri = evhttp_request_get_evhttp_uri(req);
	path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL) {
		gw_error(gr, 400, "Malformed request URI");
		return;
	}
	method = evhttp_request_get_command(req);
	if (method == EVHTTP_REQ_HEAD)
		method = EVHTTP_REQ_GET;
	for (r = gw_routes; r->name; r++) {
		if (!gw_path_match(r->path, path, NULL))
			continue;
		matched = 1;
		if (r->method == method)
			break;
	}
	if (r->name == NULL) {
		if (!matched) {
			gw_error(gr, 404, "Not Found");
			return;
		}
		gw_allow_header(req, path);
		gw_error(gr, 405, "Method Not Allowed");
		return;
	}
	gr->route = r;
	(void)gw_path_match(r->path, path, &p);
	memcpy(gr->ws, p.ws, sizeof(gr->ws));
	memcpy(gr->job, p.job, sizeof(gr->job));
	memcpy(gr->post, p.post, sizeof(gr->post));
	memcpy(gr->sha, p.sha, sizeof(gr->sha));
	gr->ws_ok = p.ws_ok;
	gr->job_ok = p.job_ok;
	gr->post_ok = p.post_ok;
	gr->sha_ok = p.sha_ok;
	if (r->scope == 0) {
		r->fn(gr);
		return;
	}
	gw_authenticate(gr);
}
