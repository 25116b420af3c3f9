/*
 * rep.c — the serving side of bridge.h: a rep0 socket whose NNG_OPT_RECVFD
 * is a libevent read event. Requests are drained without blocking and
 * answered on the loop thread, so handlers may use SQLite freely.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "lib/bridge.h"
#include "lib/log.h"
#include "lib/sockclose.h"

#define REP_SEND_TIMEOUT_MS	100
#define RSCRAPE_XSTR(x)		#x
#define RSCRAPE_STR(x)		RSCRAPE_XSTR(x)

struct rep_server {
	nng_socket		 sock;
	nng_listener		 listener;
	char			 url[512];
	/* the self-probe (see rep_probe) */
	nng_socket		 probe;
	nng_aio			*probe_aio;
	int			 probing;
	int			 probe_sent;
	atomic_int		 probe_ok;
	uint64_t		 probe_started_ms;
	uint64_t		 probe_last_ms;
	struct event		*ev;
	const struct rep_route	*routes;
	void			*arg;
	int			(*batch_begin)(void *);
	int			(*batch_end)(void *);
};

int
rep_error(struct rep_ctx *ctx, const char *code, const char *fmt, ...)
{
	va_list	 ap;

	ctx->err_code = code;
	va_start(ap, fmt);
	vsnprintf(ctx->err_msg, sizeof(ctx->err_msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* One parsed request through the routes; returns the encoded reply. */
static char *
dispatch_one(const struct rep_route *routes, void *arg,
    const struct proto_request *req, size_t *outlen)
{
	struct rep_ctx		 ctx;
	const struct rep_route	*r;
	char			*out;

	for (r = routes; r->type != NULL; r++)
		if (strcmp(r->type, req->type) == 0)
			break;
	if (r->type == NULL) {
		log_warnx("request %s: unknown type \"%.64s\"", req->id,
		    req->type);
		return proto_reply_err_encode(req->id, PROTO_E_UNKNOWN_TYPE,
		    "unknown message type", outlen);
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.req = req;
	log_debug("request %s: %s", req->id, req->type);
	if (r->fn(&ctx, arg) == 0) {
		out = proto_reply_ok_encode(req->id, ctx.reply, outlen);
	} else {
		if (ctx.err_code == NULL)
			log_panic("request %s: %s failed without an error code",
			    req->id, req->type);
		if (strcmp(ctx.err_code, PROTO_E_INTERNAL) == 0)
			log_warnx("request %s: %s: %s", req->id, req->type,
			    ctx.err_msg);
		else
			log_debug("request %s: %s: %s: %s", req->id, req->type,
			    ctx.err_code, ctx.err_msg);
		out = proto_reply_err_encode(req->id, ctx.err_code, ctx.err_msg,
		    outlen);
	}
	cJSON_Delete(ctx.reply);
	return out;
}

/* A batch: every call answered as if alone, the replies sent as one. */
static char *
dispatch_batch(const struct rep_route *routes, void *arg,
    int (*begin)(void *), int (*end)(void *),
    const struct proto_request *batch, size_t *outlen)
{
	struct proto_request	 req;
	cJSON			*calls, *it;
	char			*parts[PROTO_BATCH_MAX], *out;
	size_t			 lens[PROTO_BATCH_MAX];
	const char		*err;
	int			 n = 0, i, hooked = 0;

	calls = cJSON_GetObjectItemCaseSensitive(batch->body, "calls");
	if (!cJSON_IsArray(calls) || cJSON_GetArraySize(calls) < 1 ||
	    cJSON_GetArraySize(calls) > PROTO_BATCH_MAX) {
		log_warnx("request %s: batch calls missing or too many",
		    batch->id);
		return proto_reply_err_encode(batch->id, PROTO_E_BAD_REQUEST,
		    "batch calls must be an array of 1.." 
		    RSCRAPE_STR(PROTO_BATCH_MAX) " requests", outlen);
	}
	if (begin != NULL && end != NULL)
		hooked = begin(arg) == 0;
	cJSON_ArrayForEach(it, calls) {
		if (proto_request_parse_json(it, &req, &err) == -1)
			parts[n] = proto_reply_err_encode(req.id,
			    PROTO_E_BAD_REQUEST, err, &lens[n]);
		else if (strcmp(req.type, PROTO_BATCH) == 0)
			parts[n] = proto_reply_err_encode(req.id,
			    PROTO_E_BAD_REQUEST, "batch inside a batch",
			    &lens[n]);
		else
			parts[n] = dispatch_one(routes, arg, &req, &lens[n]);
		if (parts[n] == NULL)
			break;
		n++;
	}
	if (hooked && end(arg) == -1) {
		/* nothing the calls did was kept: say so to each of them */
		log_warnx("request %s: batch of %d lost at commit", batch->id,
		    n);
		for (i = 0; i < n; i++) {
			cJSON *c = cJSON_GetArrayItem(calls, i);
			cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");

			free(parts[i]);
			parts[i] = proto_reply_err_encode(cJSON_IsString(id) ?
			    id->valuestring : "-", PROTO_E_INTERNAL,
			    "database error: the commit failed", &lens[i]);
			if (parts[i] == NULL) {
				n = i;
				break;
			}
		}
	}
	out = n == cJSON_GetArraySize(calls) ?
	    proto_batch_encode(batch->id, 1, parts, lens, n, outlen) : NULL;
	for (i = 0; i < n; i++)
		free(parts[i]);
	return out;
}

char *
rep_dispatch(const struct rep_route *routes, void *arg, const void *buf,
    size_t len, size_t *outlen)
{
	return rep_dispatch_hooked(routes, arg, NULL, NULL, buf, len, outlen);
}

/* req: parsed here and the caller's to free, even when parsing failed */
static char *
dispatch_msg(const struct rep_route *routes, void *arg,
    int (*begin)(void *), int (*end)(void *), const void *buf, size_t len,
    struct proto_request *req, size_t *outlen)
{
	const char	*err;

	if (proto_request_parse(buf, len, req, &err) == -1) {
		/* rejected before any handler sees it */
		log_warnx("request %s: %s", req->id, err);
		return proto_reply_err_encode(req->id, PROTO_E_BAD_REQUEST,
		    err, outlen);
	}
	if (req->attlen > 0 && strcmp(req->type, PROTO_TASK_REPORT) != 0) {
		log_warnx("request %s: %.64s with an attachment", req->id,
		    req->type);
		return proto_reply_err_encode(req->id, PROTO_E_BAD_REQUEST,
		    "only task.report takes an attachment", outlen);
	}
	if (strcmp(req->type, PROTO_BATCH) == 0)
		return dispatch_batch(routes, arg, begin, end, req, outlen);
	return dispatch_one(routes, arg, req, outlen);
}

char *
rep_dispatch_hooked(const struct rep_route *routes, void *arg,
    int (*begin)(void *), int (*end)(void *), const void *buf, size_t len,
    size_t *outlen)
{
	struct proto_request	 req;
	char			*out;

	out = dispatch_msg(routes, arg, begin, end, buf, len, &req, outlen);
	proto_request_free(&req);
	return out;
}

static void
rep_readable(evutil_socket_t fd, short what, void *arg)
{
	struct rep_server	*s = arg;
	struct proto_request	 req;
	nng_msg			*msg, *rmsg;
	char			*out;
	size_t			 outlen;
	int			 rv, n;

	(void)fd;
	(void)what;
	/* bounded per wake so that timers and other events still run */
	for (n = 0; n < 256; n++) {
		rv = nng_recvmsg(s->sock, &msg, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN)
			return;
		if (rv != 0) {
			log_warnx("%s: recv: %s", __func__, nng_strerror(rv));
			return;
		}
		out = dispatch_msg(s->routes, s->arg, s->batch_begin,
		    s->batch_end, nng_msg_body(msg), nng_msg_len(msg), &req,
		    &outlen);
		/*
		 * The request (a tree of thousands of nodes for a report)
		 * is freed once its reply is on its way: the caller waits
		 * for the reply, not for our cleanup.
		 */
		if (out != NULL && nng_msg_alloc(&rmsg, 0) == 0) {
			if (nng_msg_append(rmsg, out, outlen) != 0) {
				nng_msg_free(rmsg);
				rmsg = NULL;
			}
		} else
			rmsg = NULL;
		if (rmsg != NULL) {
			/*
			 * rep0 sends one reply at a time per pipe; a
			 * non-blocking send to a pipe still writing the
			 * previous reply fails (and the caller would time
			 * out). So wait, briefly: REP_SEND_TIMEOUT_MS bounds
			 * what a peer that stopped reading can cost us.
			 */
			if ((rv = nng_sendmsg(s->sock, rmsg, 0)) != 0) {
				log_debug("%s: send: %s", __func__,
				    nng_strerror(rv));
				nng_msg_free(rmsg);
			}
		}
		free(out);
		proto_request_free(&req);	/* its attachment is in msg */
		nng_msg_free(msg);
	}
}

struct rep_server *
rep_listen(struct event_base *base, const char *url,
    const struct rep_route *routes, void *arg, const char **errp)
{
	struct rep_server	*s;
	int			 rv, fd;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*errp = "out of memory";
		return NULL;
	}
	s->routes = routes;
	s->arg = arg;
	if ((rv = nng_rep0_open(&s->sock)) != 0)
		goto fail;
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, 64 << 20);
	nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, 1024);
	nng_socket_set_ms(s->sock, NNG_OPT_SENDTIMEO, REP_SEND_TIMEOUT_MS);
	snprintf(s->url, sizeof(s->url), "%s", url);
	if ((rv = nng_listen(s->sock, url, &s->listener, 0)) != 0)
		goto fail;
	if ((rv = nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &fd)) != 0)
		goto fail;
	s->ev = event_new(base, fd, EV_READ | EV_PERSIST, rep_readable, s);
	event_add(s->ev, NULL);
	return s;
fail:
	*errp = nng_strerror(rv);
	nng_close(s->sock);
	free(s);
	return NULL;
}

/*
 * nng 1.5.2 (Debian 12) has a listener bug, nanomsg/nng#1518, fixed in
 * 1.6.0: a peer that hangs up before the SP handshake completes (a client
 * that gave up while we were stopped, say) can leave the listener never
 * accepting again, while established connections keep working. So the
 * server probes itself over a fresh connection every few seconds and, when
 * the probe gets no answer, closes the listener and listens again.
 */
#define REP_PROBE_EVERY_MS	2000
#define REP_PROBE_TIMEOUT_MS	1500

/* nng thread: only touches the aio and an atomic */
static void
probe_aio_cb(void *arg)
{
	struct rep_server	*s = arg;
	nng_msg			*msg;

	if (nng_aio_result(s->probe_aio) != 0) {
		if (!s->probe_sent)
			nng_msg_free(nng_aio_get_msg(s->probe_aio));
		return;
	}
	if (!s->probe_sent) {
		s->probe_sent = 1;
		nng_recv_aio(s->probe, s->probe_aio);
		return;
	}
	msg = nng_aio_get_msg(s->probe_aio);
	nng_msg_free(msg);
	atomic_store(&s->probe_ok, 1);
}

static void
probe_end(struct rep_server *s)
{
	nng_aio_stop(s->probe_aio);
	nng_aio_free(s->probe_aio);
	s->probe_aio = NULL;
	/* on the loop: a close nng cannot finish must not stop jobd */
	(void)sock_close_bounded(s->probe, SOCK_CLOSE_WAIT_MS);
	s->probing = 0;
}

static void
probe_start(struct rep_server *s, uint64_t now_ms)
{
	char	 reqid[PROTO_REQID_MAX + 1];
	char	*buf;
	size_t	 len;
	nng_msg	*msg;

	s->probe_last_ms = now_ms;
	if (nng_req0_open(&s->probe) != 0)
		return;
	if (nng_aio_alloc(&s->probe_aio, probe_aio_cb, s) != 0) {
		nng_close(s->probe);
		return;
	}
	nng_dial(s->probe, s->url, NULL, NNG_FLAG_NONBLOCK);
	proto_new_reqid(reqid);
	buf = proto_request_encode(reqid, PROTO_PING, NULL, &len);
	if (buf == NULL || nng_msg_alloc(&msg, 0) != 0) {
		free(buf);
		nng_aio_free(s->probe_aio);
		s->probe_aio = NULL;
		nng_close(s->probe);
		return;
	}
	nng_msg_append(msg, buf, len);
	free(buf);
	atomic_store(&s->probe_ok, 0);
	s->probe_sent = 0;
	s->probing = 1;
	s->probe_started_ms = now_ms;
	nng_aio_set_timeout(s->probe_aio, REP_PROBE_TIMEOUT_MS);
	nng_aio_set_msg(s->probe_aio, msg);
	nng_send_aio(s->probe, s->probe_aio);
}

void
rep_probe(struct rep_server *s, uint64_t now_ms)
{
	int	 rv;

	if (!s->probing) {
		if (now_ms - s->probe_last_ms >= REP_PROBE_EVERY_MS)
			probe_start(s, now_ms);
		return;
	}
	if (atomic_load(&s->probe_ok)) {
		probe_end(s);
		return;
	}
	if (now_ms - s->probe_started_ms < REP_PROBE_TIMEOUT_MS + 500)
		return;
	probe_end(s);
	log_warnx("%s: no answer to a self-probe on %s; listening anew "
	    "(nng#1518)", __func__, s->url);
	nng_listener_close(s->listener);
	if ((rv = nng_listen(s->sock, s->url, &s->listener, 0)) != 0)
		log_panic("re-listen on %s: %s", s->url, nng_strerror(rv));
}

void
rep_batch_hooks(struct rep_server *s, int (*begin)(void *),
    int (*end)(void *))
{
	s->batch_begin = begin;
	s->batch_end = end;
}

void
rep_close(struct rep_server *s)
{
	if (s == NULL)
		return;
	if (s->probing)
		probe_end(s);
	event_free(s->ev);
	(void)sock_close_bounded(s->sock, SOCK_CLOSE_WAIT_MS);
	free(s);
}
