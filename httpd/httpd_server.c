/*
 * httpd_server.c — evhttp setup, the cron and an orderly stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "lib/notify.h"

static int
split_listen(const char *listen, char *host, size_t hostlen, int *port)
{
	const char	*colon = strrchr(listen, ':');
	size_t		 n;
	char		*end;
	long		 p;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - listen);
	if (n >= hostlen)
		return -1;
	if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
		memcpy(host, listen + 1, n - 2);
		host[n - 2] = '\0';
	} else {
		memcpy(host, listen, n);
		host[n] = '\0';
	}
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* -t and start: the listen address must parse */
int
gw_check(const struct rs_config *cf, char *err, size_t errlen)
{
	char	 host[256];
	int	 port;

	if (split_listen(cf->httpd.listen, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "%s: httpd.listen: expected host:port: "
		    "\"%s\"", cf->path, cf->httpd.listen);
		return -1;
	}
	if (cf->httpd.metrics_listen[0] != '\0' &&
	    split_listen(cf->httpd.metrics_listen, host, sizeof(host),
	    &port) == -1) {
		snprintf(err, errlen, "%s: httpd.metrics_listen: expected "
		    "host:port: \"%s\"", cf->path, cf->httpd.metrics_listen);
		return -1;
	}
	return 0;
}

int
gw_init(struct daemon *d)
{
	struct gw	*gw;
	const char	*err;
	char		 host[256];
	int		 port;

	if ((gw = calloc(1, sizeof(*gw))) == NULL)
		return -1;
	d->priv = gw;
	gw->d = d;
	gw->timeout_ms = (int)d->cf.httpd.request_timeout_ms;
	if (split_listen(d->cf.httpd.listen, host, sizeof(host), &port) == -1) {
		log_warnx("%s: httpd.listen: expected host:port: \"%s\"",
		    d->cf.path, d->cf.httpd.listen);
		return -1;
	}
	if ((gw->jobd = bridge_open(d->base, d->cf.jobd_url, &err)) == NULL) {
		log_warnx("jobd %s: %s", d->cf.jobd_url, err);
		return -1;
	}
	if (gw_events_open(gw) == -1)
		return -1;
	if ((gw->http = evhttp_new(d->base)) == NULL)
		return -1;
	/*
	 * libevent answers a few errors itself: bodies beyond max_body_size,
	 * headers beyond max_headers_size, unparsable request lines. Those
	 * answers go through evhttp_send_error(), which httpd_reply.c
	 * replaces with a JSON one. Every method is allowed (405 is ours), and
	 * gw_h_job_create answers bodies over 64 KiB with 413 itself; libevent's
	 * limit (GW_BODY_HARD_MAX) only keeps memory bounded.
	 */
	evhttp_set_allowed_methods(gw->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(gw->http, GW_BODY_HARD_MAX);
	evhttp_set_max_headers_size(gw->http, GW_HEADERS_MAX);
	evhttp_set_timeout(gw->http, 30);
	/* drain an oversized body before answering 413, so clients read it */
	evhttp_set_flags(gw->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_default_content_type(gw->http, "application/json");
	evhttp_set_gencb(gw->http, gw_dispatch, gw);
	if ((gw->sock = evhttp_bind_socket_with_handle(gw->http, host,
	    (unsigned short)port)) == NULL) {
		log_warn("listen on %s", d->cf.httpd.listen);
		return -1;
	}
	if (d->cf.httpd.metrics_listen[0] != '\0') {
		if (split_listen(d->cf.httpd.metrics_listen, host, sizeof(host),
		    &port) == -1 || gw_metrics_listen(gw, host, port) == -1) {
			log_warn("metrics: listen on %s",
			    d->cf.httpd.metrics_listen);
			return -1;
		}
		log_info("metrics on http://%s/metrics",
		    d->cf.httpd.metrics_listen);
	}
	log_info("listening on %s, jobd at %s", d->cf.httpd.listen,
	    d->cf.jobd_url);
	daemon_ready(d);
	return 0;
}

void
gw_cron(struct daemon *d)
{
	struct gw	*gw = d->priv;

	gw_events_cron(gw);
	notify_status("%d requests to jobd in flight, jobd %s, %d event "
	    "streams", gw->inflight, bridge_connected(gw->jobd) ?
	    "connected" : "not connected", gw_events_streams(gw));
	if (!d->stopping)
		gw_metrics_cron(gw);
	if (d->stopping && gw->inflight == 0 && gw->streams == 0)
		daemon_exit(d);
}

void
gw_stop(struct daemon *d)
{
	struct gw	*gw = d->priv;

	/*
	 * stop accepting; requests in flight, exports included, finish (the
	 * cron exits when none is left)
	 */
	if (gw->sock != NULL) {
		evhttp_del_accept_socket(gw->http, gw->sock);
		gw->sock = NULL;
	}
	/* ended streams get a cron tick to write their last chunk */
	gw_metrics_stop(gw);
	if (gw_events_stop(gw) == 0 && gw->inflight == 0 && gw->streams == 0)
		daemon_exit(d);
}

void
gw_fini(struct daemon *d)
{
	struct gw	*gw = d->priv;

	if (gw == NULL)
		return;
	gw_events_close(gw);
	if (gw->http)
		evhttp_free(gw->http);
	gw_metrics_free(gw);
	bridge_close(gw->jobd);
	free(gw);
}
