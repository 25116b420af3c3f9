/*
 * httpd_reply.c — every answer leaves through here: JSON bodies with
 * Content-Type application/json, errors as {"detail": ...} in the anchor
 * API's convention, 503 with Retry-After when jobd cannot answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/jtext.h"
#include "lib/log.h"
#include "proto/proto.h"

const char *
gw_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default:  return "Status";
	}
}

void
gw_reply_raw(struct gw_req *gr, int status, const char *json, size_t len)
{
	struct evkeyvalq	*h;

	if (gr->req != NULL) {
		h = evhttp_request_get_output_headers(gr->req);
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(gr->req), json,
		    len);
		log_debug("%s %s -> %d",
		    gr->route ? gr->route->name : "-",
		    evhttp_request_get_uri(gr->req), status);
		evhttp_send_reply(gr->req, status, gw_status_text(status),
		    NULL);
	}
	gw_metrics_observe(gr->route ? gr->route->name : "none", status,
	    gr->started_ms);
	gw_req_done(gr);
}

void
gw_reply_json(struct gw_req *gr, int status, const cJSON *body)
{
	size_t	 len;
	char	*s = jtext_print(body, &len);

	if (s == NULL) {
		gw_reply_raw(gr, 500, "{\"detail\":\"out of memory\"}", 26);
		return;
	}
	gw_reply_raw(gr, status, s, len);
	free(s);
}

/* body as the first caller sharing a reply rendered it (memo may be NULL) */
void
gw_reply_shared(struct gw_req *gr, int status, const cJSON *body,
    struct proto_memo *memo)
{
	if (memo == NULL) {
		gw_reply_json(gr, status, body);
		return;
	}
	if (memo->of != body || memo->json == NULL) {
		free(memo->json);
		memo->of = body;
		if ((memo->json = jtext_print(body, &memo->len)) == NULL) {
			gw_reply_raw(gr, 500, "{\"detail\":\"out of memory\"}",
			    26);
			return;
		}
	}
	gw_reply_raw(gr, status, memo->json, memo->len);
}

void
gw_error(struct gw_req *gr, int status, const char *fmt, ...)
{
	char	 msg[512];
	cJSON	*o;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "detail", msg);
	gw_reply_json(gr, status, o);
	cJSON_Delete(o);
}

void
gw_error_list(struct gw_req *gr, int status, cJSON *detail)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "detail", detail);
	gw_reply_json(gr, status, o);
	cJSON_Delete(o);
}

void
gw_unavailable(struct gw_req *gr, const char *why)
{
	if (gr->req != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(gr->req),
		    "Retry-After", "1");
	gw_error(gr, 503, "jobd unavailable: %s", why);
}

/* jobd's error codes (proto.h) to HTTP */
void
gw_reply_proto_error(struct gw_req *gr, const char *code, const char *message)
{
	cJSON	*detail;

	if (strcmp(code, PROTO_E_NOT_FOUND) == 0)
		gw_error(gr, 404, "%s", message);
	else if (strcmp(code, PROTO_E_CONFLICT) == 0)
		gw_error(gr, 409, "%s", message);
	else if (strcmp(code, PROTO_E_UNAUTHORIZED) == 0)
		gw_error(gr, 401, "%s", message);
	else if (strcmp(code, PROTO_E_INVALID) == 0) {
		detail = cJSON_CreateArray();
		gw_detail_add(detail, "body", NULL, message, "value_error");
		gw_error_list(gr, 422, detail);
	} else if (strcmp(code, PROTO_E_INTERNAL) == 0)
		gw_unavailable(gr, message);
	else {
		/* bad_request/unknown_type from jobd means we built it wrong */
		log_warnx("jobd refused our request: %s: %s", code, message);
		gw_error(gr, 500, "internal error");
	}
}

/*
 * libevent 2.1 answers some protocol errors from inside evhttp, before any
 * callback of ours runs, with evhttp_send_error() and an HTML page: an
 * unparsable request line or header, headers over max_headers_size, a body
 * over max_body_size, an unknown method (501), an Expect other than
 * 100-continue (417). 2.1 has no hook
 * for them (evhttp_set_errorcb is 2.2). libevent calls evhttp_send_error
 * through its PLT (checked on Debian's 2.1.12: objdump shows
 * "call evhttp_send_error@plt"), so this definition in the httpd
 * executable interposes on those calls too, and every error leaves as
 * JSON. The parser's state is unknown after such an error, so the
 * connection closes, as libevent's own page does.
 */
void
evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf = evhttp_request_get_output_buffer(req);
	const char		*detail;

	switch (error) {
	case 400:
		detail = "Malformed request line or headers, or headers over "
		    "the size limit";
		break;
	case 413:
		detail = "Request body over the size limit";
		break;
	case 417:
		detail = "Only \"Expect: 100-continue\" is supported";
		break;
	case 501:
		detail = "Method not implemented";
		break;
	default:
		detail = reason ? reason : gw_status_text(error);
		break;
	}
	evhttp_clear_headers(h);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Connection", "close");
	evbuffer_drain(buf, evbuffer_get_length(buf));
	evbuffer_add_printf(buf, "{\"detail\":\"%s\"}", detail);
	log_debug("libevent error %d answered as JSON", error);
	evhttp_send_reply(req, error, reason, NULL);
	gw_metrics_observe("protocol", error, daemon_now_ms());
}
