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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "proto/proto.h"

static const struct gw_route gw_routes[] = {
	{ "healthz", EVHTTP_REQ_GET, GW_PATH_HEALTHZ, 0, gw_h_healthz },
	{ "jobs.create", EVHTTP_REQ_POST, GW_PATH_JOBS, GW_SCOPE_WRITE,
	    gw_h_job_create },
	{ "jobs.list", EVHTTP_REQ_GET, GW_PATH_JOBS, GW_SCOPE_READ,
	    gw_h_job_list },
	{ "jobs.get", EVHTTP_REQ_GET, GW_PATH_JOB, GW_SCOPE_READ,
	    gw_h_job_get },
	{ "jobs.cancel", EVHTTP_REQ_DELETE, GW_PATH_JOB, GW_SCOPE_WRITE,
	    gw_h_job_cancel },
	{ "jobs.events", EVHTTP_REQ_GET, GW_PATH_JOB_EVENTS, GW_SCOPE_READ,
	    gw_h_job_events },
	{ NULL, 0, 0, 0, NULL }
};

/*
 * Split /api/v1/workspaces/{ws}/jobs[/{job}] (or /healthz). A segment that
 * is not an id still matches the route: it is answered 404 "not found"
 * like an id that does not exist, never 400.
 */
int
gw_path_parse(const char *path, char *ws, int *ws_ok, char *job, int *job_ok)
{
	static const char pfx[] = "/api/v1/workspaces/";
	char		 seg[4][128];
	const char	*p, *slash;
	size_t		 n;
	int		 nseg = 0;

	*ws_ok = *job_ok = 0;
	if (strcmp(path, "/healthz") == 0)
		return GW_PATH_HEALTHZ;
	if (strncmp(path, pfx, sizeof(pfx) - 1) != 0)
		return GW_PATH_NONE;
	for (p = path + sizeof(pfx) - 1; *p && nseg < 4; nseg++) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n >= sizeof(seg[0]))
			return GW_PATH_NONE;
		memcpy(seg[nseg], p, n);
		seg[nseg][n] = '\0';
		p += n;
		if (*p == '/') {
			p++;
			if (*p == '\0')	/* trailing slash */
				return GW_PATH_NONE;
		}
	}
	if (*p != '\0' || nseg < 2 || strcmp(seg[1], "jobs") != 0)
		return GW_PATH_NONE;
	*ws_ok = proto_id_parse(seg[0], PROTO_PFX_WORKSPACE, ws) == 0;
	if (nseg == 2)
		return GW_PATH_JOBS;
	*job_ok = proto_id_parse(seg[2], PROTO_PFX_JOB, job) == 0;
	if (nseg == 3)
		return GW_PATH_JOB;
	return strcmp(seg[3], "events") == 0 ? GW_PATH_JOB_EVENTS :
	    GW_PATH_NONE;
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

void
gw_call(struct gw_req *gr, const char *type, cJSON *body, gw_cont cont)
{
	if (bridge_connected(gr->gw->jobd) == 0) {
		cJSON_Delete(body);
		gw_unavailable(gr, "not connected");
		return;
	}
	gr->cont = cont;
	if (bridge_call(gr->gw->jobd, type, body, gr->gw->timeout_ms,
	    gw_call_done, gr) == -1) {
		gw_unavailable(gr, "cannot send");
		return;
	}
	gr->gw->inflight++;
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

static void
gw_allow_header(struct evhttp_request *req, int pattern)
{
	const struct gw_route	*r;
	char			 allow[64] = "";
	size_t			 n = 0;

	for (r = gw_routes; r->name && n < sizeof(allow); r++) {
		if (r->pattern != pattern)
			continue;
		n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s",
		    n ? ", " : "", r->method == EVHTTP_REQ_GET ? "GET" :
		    r->method == EVHTTP_REQ_POST ? "POST" : "DELETE");
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
	int			 pattern, method;

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
	pattern = gw_path_parse(path, gr->ws, &gr->ws_ok, gr->job, &gr->job_ok);
	if (pattern == GW_PATH_NONE) {
		gw_error(gr, 404, "Not Found");
		return;
	}
	method = evhttp_request_get_command(req);
	if (method == EVHTTP_REQ_HEAD)
		method = EVHTTP_REQ_GET;
	for (r = gw_routes; r->name; r++)
		if (r->pattern == pattern && r->method == method)
			break;
	if (r->name == NULL) {
		gw_allow_header(req, pattern);
		gw_error(gr, 405, "Method Not Allowed");
		return;
	}
	gr->route = r;
	if (r->scope == 0) {
		r->fn(gr);
		return;
	}
	gw_authenticate(gr);
}
