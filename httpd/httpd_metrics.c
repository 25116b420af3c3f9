/*
 * httpd_metrics.c — GET /metrics in Prometheus' text format (0.0.4), on a
 * listener of its own ([httpd] metrics_listen; empty: not served), so the
 * public API port never shows it.
 *
 * httpd's own series (requests by route and status, a latency histogram)
 * live in lib/stats.h; everything else comes from one "metrics" call to
 * jobd: jobs, tasks, media and leases from the database, and the last
 * stats.report of every worker, whose series get daemon and instance
 * labels. When jobd does not answer, httpd's own series and
 * rscrape_daemon_up{daemon="jobd"} 0 are served (200: the scrape worked).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "proto/proto.h"

#define M_CTYPE		"text/plain; version=0.0.4; charset=utf-8"
#define HIST		"rscrape_http_request_duration_seconds"

static const double	buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
			    0.5, 1, 2.5, 5, 10 };
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

/*
 * Every answer of the API: by route and status, and how long it took.
 * Kept here in fixed tables rather than lib/stats' keyed series: this runs
 * once per request, and formatting a dozen label strings and searching
 * for each cost httpd more CPU than answering a GET did.
 */
#define OBS_ROUTES	48
#define OBS_STATUSES	12

struct obs_route {
	const char	*route;		/* a route's constant name */
	uint64_t	 le[NBUCKETS];	/* answers within buckets[i], cumulative */
	uint64_t	 count;
	double		 sum;
	int		 nstatus;
	struct {
		int		 status;
		uint64_t	 n;
	}		 status[OBS_STATUSES];
};

static struct obs_route	obs[OBS_ROUTES];
static int		nobs;

static struct obs_route *
obs_find(const char *route)
{
	int	i;

	for (i = 0; i < nobs; i++)
		if (obs[i].route == route || strcmp(obs[i].route, route) == 0)
			return &obs[i];
	if (nobs == OBS_ROUTES)
		return NULL;
	obs[nobs].route = route;
	return &obs[nobs++];
}

void
gw_metrics_observe(const char *route, int status, uint64_t started_ms)
{
	struct obs_route *o;
	double		 secs = (double)(daemon_now_ms() - started_ms) / 1000.0;
	size_t		 i;
	int		 j;

	if ((o = obs_find(route)) == NULL)
		return;
	for (i = NBUCKETS; i > 0 && secs <= buckets[i - 1]; i--)
		o->le[i - 1]++;
	o->count++;
	o->sum += secs;
	for (j = 0; j < o->nstatus; j++)
		if (o->status[j].status == status)
			break;
	if (j == o->nstatus) {
		if (j == OBS_STATUSES)
			return;
		o->status[j].status = status;
		o->status[j].n = 0;
		o->nstatus++;
	}
	o->status[j].n++;
}

/* ---------------------------------------------------------------- */
/* rendering: series collected, sorted by key, one # TYPE per family  */

struct series {
	char	*key;
	double	 v;
};

struct render {
	struct series	*s;
	size_t		 n, cap;
};

static void
put(struct render *r, const char *key, double v)
{
	struct series	*ns;

	if (!stats_key_ok(key))
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		if ((ns = realloc(r->s, r->cap * sizeof(*ns))) == NULL)
			fatalx("%s: out of memory", __func__);
		r->s = ns;
	}
	if ((r->s[r->n].key = strdup(key)) == NULL)
		fatalx("%s: out of memory", __func__);
	r->s[r->n++].v = v;
}

static void
putf(struct render *r, double v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
putf(struct render *r, double v, const char *fmt, ...)
{
	char	 key[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	if (n > 0 && n < (int)sizeof(key))
		put(r, key, v);
}

/* a worker's key with daemon and instance labels in front */
static void
put_labelled(struct render *r, const char *key, const char *daemon,
    const char *instance, double v)
{
	const char	*brace = strchr(key, '{');

	if (brace == NULL)
		putf(r, v, "%s{daemon=\"%s\",instance=\"%s\"}", key, daemon,
		    instance);
	else
		putf(r, v, "%.*s{daemon=\"%s\",instance=\"%s\",%s",
		    (int)(brace - key), key, daemon, instance, brace + 1);
}

static int
series_cmp(const void *a, const void *b)
{
	const struct series *x = a, *y = b;
	size_t	lx = strcspn(x->key, "{"), ly = strcspn(y->key, "{");
	int	c;

	/* by family name first, so a family's series stay together */
	c = strncmp(x->key, y->key, lx < ly ? lx : ly);
	if (c != 0)
		return c;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->key, y->key);
}

static const char *
family_type(const char *name, size_t n, char *fam, size_t famlen)
{
	size_t	hl = sizeof(HIST) - 1;

	if (n > hl && strncmp(name, HIST, hl) == 0) {
		snprintf(fam, famlen, "%s", HIST);
		return "histogram";
	}
	snprintf(fam, famlen, "%.*s", (int)n, name);
	if (n > 6 && strncmp(name + n - 6, "_total", 6) == 0)
		return "counter";
	return "gauge";
}

static void
render_out(struct render *r, struct evbuffer *out)
{
	char		 fam[256], last[256] = "";
	const char	*type;
	size_t		 i;

	qsort(r->s, r->n, sizeof(*r->s), series_cmp);
	for (i = 0; i < r->n; i++) {
		type = family_type(r->s[i].key, strcspn(r->s[i].key, "{"), fam,
		    sizeof(fam));
		if (strcmp(fam, last) != 0) {
			evbuffer_add_printf(out, "# TYPE %s %s\n", fam, type);
			snprintf(last, sizeof(last), "%s", fam);
		}
		evbuffer_add_printf(out, "%s %.17g\n", r->s[i].key, r->s[i].v);
		free(r->s[i].key);
	}
	free(r->s);
	r->s = NULL;
	r->n = r->cap = 0;
}

static void
render_observed(struct render *r)
{
	const struct obs_route *o;
	size_t		 i;
	int		 k, j;

	for (k = 0; k < nobs; k++) {
		o = &obs[k];
		for (j = 0; j < o->nstatus; j++)
			putf(r, (double)o->status[j].n,
			    "rscrape_http_requests_total{route=\"%s\","
			    "status=\"%d\"}", o->route, o->status[j].status);
		for (i = 0; i < NBUCKETS; i++)
			putf(r, (double)o->le[i], HIST "_bucket{route=\"%s\","
			    "le=\"%g\"}", o->route, buckets[i]);
		putf(r, (double)o->count, HIST "_bucket{route=\"%s\","
		    "le=\"+Inf\"}", o->route);
		putf(r, o->sum, HIST "_sum{route=\"%s\"}", o->route);
		putf(r, (double)o->count, HIST "_count{route=\"%s\"}",
		    o->route);
	}
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON	*it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

static void
render_jobd(struct gw *gw, struct render *r, const cJSON *m)
{
	static const char *const st[] = { PROTO_ST_PENDING, PROTO_ST_RUNNING,
	    PROTO_ST_COMPLETED, PROTO_ST_FAILED, PROTO_ST_CANCELLED, NULL };
	const cJSON	*o, *it, *kv, *d, *mm;
	const char	*daemon, *inst;
	char		 host[128];
	double		 started, pid;
	int		 i;

	o = cJSON_GetObjectItemCaseSensitive(m, "jobd");
	pid = num(o, "pid");
	started = num(o, "started_at");
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	putf(r, 1, "rscrape_daemon_up{daemon=\"jobd\",instance=\"%s:%.0f\"}",
	    host, pid);
	putf(r, started / 1000.0, "rscrape_daemon_start_time_seconds{daemon="
	    "\"jobd\",instance=\"%s:%.0f\"}", host, pid);
	/* jobd's restarts as httpd saw them (a new start time) */
	if (gw->jobd_started_ms != 0 && started != 0 &&
	    (int64_t)started != gw->jobd_started_ms)
		gw->jobd_restarts++;
	if (started != 0)
		gw->jobd_started_ms = (int64_t)started;
	putf(r, (double)gw->jobd_restarts,
	    "rscrape_daemon_restarts_total{daemon=\"jobd\"}");
	it = cJSON_GetObjectItemCaseSensitive(o, "db");
	putf(r, cJSON_IsString(it) && strcmp(it->valuestring,
	    PROTO_HEALTH_OK) == 0, "rscrape_db_writable");

	o = cJSON_GetObjectItemCaseSensitive(m, "jobs");
	for (i = 0; st[i] != NULL; i++)
		putf(r, num(o, st[i]), "rscrape_jobs{status=\"%s\"}", st[i]);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "tasks"))
		cJSON_ArrayForEach(kv, it)
			putf(r, cJSON_IsNumber(kv) ? kv->valuedouble : 0,
			    "rscrape_tasks{kind=\"%s\",state=\"%s\"}",
			    it->string, kv->string);
	putf(r, num(m, "lease_expiries"), "rscrape_lease_expiries_total");
	putf(r, num(m, "releases"), "rscrape_lease_releases_total");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "media")) {
		putf(r, num(it, "items"), "rscrape_media_items{status=\"%s\"}",
		    it->string);
		putf(r, num(it, "bytes"), "rscrape_media_bytes{status=\"%s\"}",
		    it->string);
	}
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(m, "daemons")) {
		it = cJSON_GetObjectItemCaseSensitive(d, "daemon");
		kv = cJSON_GetObjectItemCaseSensitive(d, "instance");
		if (!cJSON_IsString(it) || !cJSON_IsString(kv))
			continue;
		daemon = it->valuestring;
		inst = kv->valuestring;
		if (strcmp(daemon, "httpd") == 0)
			continue;	/* itself: served from its own stats */
		putf(r, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "up")),
		    "rscrape_daemon_up{daemon=\"%s\",instance=\"%s\"}",
		    daemon, inst);
		putf(r, num(d, "started_at") / 1000.0,
		    "rscrape_daemon_start_time_seconds{daemon=\"%s\","
		    "instance=\"%s\"}", daemon, inst);
		putf(r, num(d, "last_seen_ms_ago") / 1000.0,
		    "rscrape_daemon_last_report_age_seconds{daemon=\"%s\","
		    "instance=\"%s\"}", daemon, inst);
		mm = cJSON_GetObjectItemCaseSensitive(d, "metrics");
		cJSON_ArrayForEach(kv, mm)
			if (cJSON_IsNumber(kv))
				put_labelled(r, kv->string, daemon, inst,
				    kv->valuedouble);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "starts"))
		if (cJSON_IsNumber(it) && strcmp(it->string, "jobd") != 0)
			putf(r, it->valuedouble > 1 ? it->valuedouble - 1 : 0,
			    "rscrape_daemon_restarts_total{daemon=\"%s\"}",
			    it->string);
}

/* ---------------------------------------------------------------- */
/* the metrics listener                                               */

struct mreq {
	struct gw		*gw;
	struct evhttp_request	*req;	/* NULL once the client left */
	struct evhttp_connection *evcon;
};

static void
mreq_closed(struct evhttp_connection *evcon, void *arg)
{
	struct mreq	*mr = arg;

	(void)evcon;
	mr->req = NULL;
	mr->evcon = NULL;
}

static void
mreq_reply(struct mreq *mr, const cJSON *jobd)
{
	struct gw	*gw = mr->gw;
	struct render	 r = { NULL, 0, 0 };
	struct evbuffer	*out;
	cJSON		*own, *it;
	char		 host[128];

	if (mr->req == NULL)
		goto done;
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	own = stats_json();
	cJSON_ArrayForEach(it, own)
		put(&r, it->string, it->valuedouble);
	cJSON_Delete(own);
	render_observed(&r);
	putf(&r, 1, "rscrape_daemon_up{daemon=\"httpd\",instance=\"%s:%ld\"}",
	    host, (long)getpid());
	putf(&r, (double)gw->d->started_ms / 1000.0,
	    "rscrape_daemon_start_time_seconds{daemon=\"httpd\","
	    "instance=\"%s:%ld\"}", host, (long)getpid());
	putf(&r, gw->inflight, "rscrape_http_jobd_calls_in_flight");
	if (jobd != NULL)
		render_jobd(gw, &r, jobd);
	else {
		putf(&r, 0, "rscrape_daemon_up{daemon=\"jobd\"}");
		putf(&r, (double)gw->jobd_restarts,
		    "rscrape_daemon_restarts_total{daemon=\"jobd\"}");
	}
	out = evhttp_request_get_output_buffer(mr->req);
	render_out(&r, out);
	evhttp_add_header(evhttp_request_get_output_headers(mr->req),
	    "Content-Type", M_CTYPE);
	evhttp_send_reply(mr->req, 200, "OK", NULL);
done:
	if (mr->evcon != NULL)
		evhttp_connection_set_closecb(mr->evcon, NULL, NULL);
	free(mr);
}

static void
metrics_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct mreq	*mr = arg;

	mr->gw->inflight--;
	if (rep == NULL || !rep->ok)
		log_debug("metrics: jobd: %s", rep ? rep->err_message : err);
	mreq_reply(mr, rep != NULL && rep->ok ? rep->body : NULL);
}

static void
metrics_dispatch(struct evhttp_request *req, void *arg)
{
	struct gw		*gw = arg;
	struct mreq		*mr;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri ? evhttp_uri_get_path(uri) : NULL;
	int			 m = evhttp_request_get_command(req);

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "application/json");
		evbuffer_add_printf(evhttp_request_get_output_buffer(req),
		    "{\"detail\":\"Not Found\"}");
		evhttp_send_reply(req, 404, "Not Found", NULL);
		return;
	}
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "application/json");
		evbuffer_add_printf(evhttp_request_get_output_buffer(req),
		    "{\"detail\":\"Method Not Allowed\"}");
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return;
	}
	if ((mr = calloc(1, sizeof(*mr))) == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	mr->gw = gw;
	mr->req = req;
	mr->evcon = evhttp_request_get_connection(req);
	if (mr->evcon != NULL)
		evhttp_connection_set_closecb(mr->evcon, mreq_closed, mr);
	if (!bridge_connected(gw->jobd) || bridge_call(gw->jobd, PROTO_METRICS,
	    proto_metrics_req(), gw->timeout_ms, metrics_done, mr) == -1) {
		mreq_reply(mr, NULL);
		return;
	}
	gw->inflight++;
}

int
gw_metrics_listen(struct gw *gw, const char *host, int port)
{
	if ((gw->mhttp = evhttp_new(gw->d->base)) == NULL)
		return -1;
	evhttp_set_allowed_methods(gw->mhttp, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(gw->mhttp, 4096);
	evhttp_set_timeout(gw->mhttp, 30);
	evhttp_set_gencb(gw->mhttp, metrics_dispatch, gw);
	if ((gw->msock = evhttp_bind_socket_with_handle(gw->mhttp, host,
	    (unsigned short)port)) == NULL)
		return -1;
	return 0;
}

void
gw_metrics_stop(struct gw *gw)
{
	if (gw->msock != NULL) {
		evhttp_del_accept_socket(gw->mhttp, gw->msock);
		gw->msock = NULL;
	}
}

void
gw_metrics_free(struct gw *gw)
{
	if (gw->mhttp != NULL)
		evhttp_free(gw->mhttp);
	gw->mhttp = NULL;
}

static void
report_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct gw	*gw = arg;

	(void)rep;
	(void)err;
	gw->report_inflight = 0;
}

/* from the cron: tell jobd httpd is there (it counts restarts) */
void
gw_metrics_cron(struct gw *gw)
{
	char	 inst[200], host[128];

	if (gw->report_inflight || !bridge_connected(gw->jobd) ||
	    daemon_now_ms() - gw->reported_ms < PROTO_STATS_EVERY_MS)
		return;
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(inst, sizeof(inst), "%s:%ld", host, (long)getpid());
	gw->reported_ms = daemon_now_ms();
	gw->report_inflight = 1;
	if (bridge_call(gw->jobd, PROTO_STATS_REPORT, proto_stats_report_req(
	    gw->d->ops->name, inst, (int64_t)gw->d->started_ms, NULL),
	    PROTO_STATS_EVERY_MS, report_done, gw) == -1)
		gw->report_inflight = 0;
}
