/*
 * httpd_jobs.c — the job routes of DESIGN.md §4 and /healthz. jobd's job
 * object is already the public shape (proto.h), so replies pass through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "proto/proto.h"

static char gw_ws_buf[64], gw_job_buf[64];

static const char *
ws_id(struct gw_req *gr)
{
	proto_id_format(PROTO_PFX_WORKSPACE, gr->ws, gw_ws_buf,
	    sizeof(gw_ws_buf));
	return gw_ws_buf;
}

static const char *
job_id(struct gw_req *gr)
{
	proto_id_format(PROTO_PFX_JOB, gr->job, gw_job_buf, sizeof(gw_job_buf));
	return gw_job_buf;
}

/* reply with one member of jobd's reply body */
static void
reply_member(struct gw_req *gr, const struct proto_reply *rep, int status,
    const char *member)
{
	const cJSON	*it;

	if (!rep->ok) {
		gw_reply_proto_error(gr, rep->err_code, rep->err_message);
		return;
	}
	it = member ? cJSON_GetObjectItemCaseSensitive(rep->body, member) :
	    rep->body;
	if (it == NULL) {
		log_warnx("jobd reply without \"%s\"", member ? member : "body");
		gw_error(gr, 500, "internal error");
		return;
	}
	gw_reply_shared(gr, status, it, rep->memo);
}

/* healthz */

static void
healthz_reply(struct gw_req *gr, const cJSON *jobd, const char *err)
{
	cJSON	*o = cJSON_CreateObject();
	cJSON	*c = cJSON_AddObjectToObject(o, "components");
	cJSON	*h = cJSON_AddObjectToObject(c, "httpd");
	cJSON	*j;

	cJSON_AddStringToObject(o, "status", jobd ? "ok" : "unavailable");
	cJSON_AddStringToObject(h, "status", "ok");
	cJSON_AddNumberToObject(h, "pid", (double)getpid());
	cJSON_AddNumberToObject(h, "inflight", gr->gw->inflight);
	cJSON_AddNumberToObject(h, "event_streams",
	    gw_events_streams(gr->gw));
	if (jobd) {
		j = cJSON_Duplicate(jobd, 1);
		cJSON_AddStringToObject(j, "status", "ok");
		cJSON_AddItemToObject(c, "jobd", j);
	} else {
		j = cJSON_AddObjectToObject(c, "jobd");
		cJSON_AddStringToObject(j, "status", "unreachable");
		cJSON_AddStringToObject(j, "error", err);
		if (gr->req)
			evhttp_add_header(evhttp_request_get_output_headers(
			    gr->req), "Retry-After", "1");
	}
	gw_reply_json(gr, jobd ? 200 : 503, o);
	cJSON_Delete(o);
}

static void
healthz_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct gw_req	*gr = arg;

	gr->gw->inflight--;
	if (gr->req == NULL)
		gw_req_done(gr);
	else if (rep == NULL)
		healthz_reply(gr, NULL, err);
	else if (!rep->ok)
		healthz_reply(gr, NULL, rep->err_message);
	else
		healthz_reply(gr, rep->body, NULL);
}

void
gw_h_healthz(struct gw_req *gr)
{
	if (bridge_connected(gr->gw->jobd) == 0) {
		healthz_reply(gr, NULL, "not connected");
		return;
	}
	if (bridge_call(gr->gw->jobd, PROTO_PING, proto_ping_req(),
	    gr->gw->timeout_ms, healthz_done, gr) == -1) {
		healthz_reply(gr, NULL, "cannot send");
		return;
	}
	gr->gw->inflight++;
}

/* POST /jobs */

static int
content_type_is_json(struct evhttp_request *req)
{
	const char	*ct = evhttp_find_header(
			    evhttp_request_get_input_headers(req),
			    "Content-Type");
	size_t		 n = strlen("application/json");

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
job_created(struct gw_req *gr, const struct proto_reply *rep)
{
	reply_member(gr, rep, 201, "job");
}

void
gw_h_job_create(struct gw_req *gr)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(gr->req);
	struct proto_job_spec	 spec;
	struct gw_job_input	*ji;
	size_t			 len = evbuffer_get_length(in);
	cJSON			*body, *detail;
	char			 ws[64];

	if (len > GW_BODY_MAX) {
		gw_error(gr, 413, "Request body over %d bytes", GW_BODY_MAX);
		return;
	}
	if (!content_type_is_json(gr->req)) {
		gw_error(gr, 415, "Content-Type must be application/json");
		return;
	}
	body = cJSON_ParseWithLength((const char *)evbuffer_pullup(in, -1),
	    len);
	if (body == NULL) {
		gw_error(gr, 400, "Malformed JSON body");
		return;
	}
	if ((ji = calloc(1, sizeof(*ji))) == NULL) {
		cJSON_Delete(body);
		gw_unavailable(gr, "out of memory");
		return;
	}
	gr->input = ji;
	if ((detail = gw_validate_job(body, gr->gw->d->cf.paths.plugin_dir,
	    ji)) != NULL) {
		cJSON_Delete(body);
		gw_error_list(gr, 422, detail);
		return;
	}
	snprintf(ws, sizeof(ws), "%s", ws_id(gr));
	memset(&spec, 0, sizeof(spec));
	spec.workspace_id = ws;
	spec.target = ji->target;
	spec.target_type = ji->target_type;
	spec.mode = ji->mode;
	spec.limit = ji->limit;
	spec.download_media = ji->download_media;
	spec.scrape_comments = ji->scrape_comments;
	spec.plugins = ji->plugins;
	spec.nplugins = ji->nplugins;
	/* plugin names point into body: build the request before freeing */
	gw_call(gr, PROTO_JOB_CREATE, proto_job_create_req(&spec), job_created);
	cJSON_Delete(body);
}

/* GET /jobs */

static void
job_listed(struct gw_req *gr, const struct proto_reply *rep)
{
	reply_member(gr, rep, 200, NULL);
}

void
gw_h_job_list(struct gw_req *gr)
{
	struct gw_list_query	 q;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(gr->req);
	cJSON			*detail;
	char			 status[16];
	int			 rc;

	rc = gw_parse_list_query(evhttp_uri_get_query(uri), &q, status,
	    sizeof(status), &detail);
	if (rc == 400) {
		gw_error(gr, 400, "%s", cJSON_GetStringValue(detail));
		cJSON_Delete(detail);
		return;
	}
	if (rc == 422) {
		gw_error_list(gr, 422, detail);
		return;
	}
	gw_call_read(gr, PROTO_JOB_LIST, proto_job_list_req(ws_id(gr), q.status,
	    q.limit, q.offset), job_listed);
}

/* GET /jobs/{id} */

static void
job_got(struct gw_req *gr, const struct proto_reply *rep)
{
	if (!rep->ok && strcmp(rep->err_code, PROTO_E_NOT_FOUND) == 0) {
		gw_error(gr, 404, "Job not found");
		return;
	}
	reply_member(gr, rep, 200, "job");
}

void
gw_h_job_get(struct gw_req *gr)
{
	char	 ws[64];

	if (!gr->job_ok) {
		gw_error(gr, 404, "Job not found");
		return;
	}
	snprintf(ws, sizeof(ws), "%s", ws_id(gr));
	gw_call_read(gr, PROTO_JOB_GET, proto_job_get_req(ws, job_id(gr)),
	    job_got);
}

/* DELETE /jobs/{id} */

static void
job_cancelled(struct gw_req *gr, const struct proto_reply *rep)
{
	cJSON	*o;

	if (!rep->ok) {
		if (strcmp(rep->err_code, PROTO_E_NOT_FOUND) == 0)
			gw_error(gr, 404, "Job not found");
		else if (strcmp(rep->err_code, PROTO_E_CONFLICT) == 0)
			gw_error(gr, 409, "Job cannot be cancelled: %s",
			    rep->err_message);
		else
			gw_reply_proto_error(gr, rep->err_code,
			    rep->err_message);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "message", "Job cancelled successfully");
	gw_reply_json(gr, 200, o);
	cJSON_Delete(o);
}

void
gw_h_job_cancel(struct gw_req *gr)
{
	char	 ws[64];

	if (!gr->job_ok) {
		gw_error(gr, 404, "Job not found");
		return;
	}
	snprintf(ws, sizeof(ws), "%s", ws_id(gr));
	gw_call(gr, PROTO_JOB_CANCEL, proto_job_cancel_req(ws, job_id(gr)),
	    job_cancelled);
}
