/*
 * httpd_events.c — GET /api/v1/workspaces/{ws}/jobs/{job}/events: a job's
 * progress and status changes as Server-Sent Events, from jobd's pub
 * socket (proto.h EVENTS).
 *
 * The stream:
 *   event: job       the whole job object (the first event, and again
 *                    whenever httpd may have missed an event)
 *   event: progress  {job_id, workspace_id, progress, posts_scraped,
 *                    comments_scraped, media_downloaded}
 *   event: status    {job_id, workspace_id, status, error_message, and the
 *                    counts}; after a terminal status the stream ends
 *   ": keepalive"    a comment every [httpd] sse_keepalive_seconds of quiet
 * Every event has "id: <jobd epoch>/<seq>", jobd's own sequence numbers, so
 * the ids mean the same in every httpd. A client that reconnects with
 * Last-Event-ID gets the events it missed from a ring of recent events
 * when the ring still holds all of them (same jobd epoch, no gap since);
 * otherwise it gets a fresh "job" event, which says everything.
 *
 * Pub/sub drops events when a subscriber lags; httpd subscribes to every
 * topic so that jobd's seq must grow by exactly one. A jump, or a new
 * epoch (jobd restarted), makes every open stream re-read its job from
 * jobd (job.get) and send it as a "job" event.
 *
 * Lifetime: a stream owns its evhttp request from the first reply to
 * evhttp_send_reply_end() or the client's close; a job.get in flight for
 * it holds a reference, so a stream whose client left is freed when the
 * last call returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "proto/proto.h"

#define EV_RING		4096	/* recent job events kept for resuming */
#define EV_JOBID_MAX	48
#define GW_SSE_WRITE_TIMEOUT_S 60	/* a client that stops reading */
#define GW_SSE_REREAD_MS	30000	/* a quiet stream re-reads its job */

struct ring_ev {
	uint64_t	 seq;
	char		 job[EV_JOBID_MAX];	/* "job_<uuid>" */
	const char	*name;			/* SSE event name */
	int		 terminal;
	char		*data;			/* JSON text */
};

struct gw_stream {
	struct gw_stream	*next;
	struct gw_events	*ge;
	struct evhttp_request	*req;		/* NULL once ended or gone */
	struct evhttp_connection *evcon;
	char			 ws[64];	/* "ws_<uuid>" */
	char			 job[EV_JOBID_MAX];
	int			 refs;		/* job.get calls in flight */
	int			 resync;	/* a job.get is due */
	uint64_t		 last_write_ms;
	uint64_t		 last_read_ms;	/* the job last read from jobd */
};

struct gw_events {
	struct gw		*gw;
	struct sub		*sub;
	char			 epoch[37];	/* "" until the first event */
	uint64_t		 seq;		/* last seen */
	uint64_t		 covered;	/* ring holds every event > this */
	struct ring_ev		 ring[EV_RING];
	struct gw_stream	*streams;
	int			 nstreams;
	int64_t			 gaps;
	int			 connects;	/* sub_connects() last seen */
};

/* a stream being opened: the request's state until job.get answers */
struct stream_open {
	char		 epoch[37];
	uint64_t	 from;		/* resume after this seq; 0: snapshot */
	int		 resume;
	uint64_t	 snap_seq;	/* seq when job.get was sent */
};

static void	 stream_send(struct gw_stream *s, const char *name,
		    const char *id, const char *data);
static void	 stream_end(struct gw_stream *s);
static void	 stream_resync(struct gw_stream *s);

int
gw_event_id_parse(const char *s, char epoch[37], uint64_t *seq)
{
	const char		*slash;
	char			*end;
	unsigned long long	 v;

	if (s == NULL || (slash = strchr(s, '/')) == NULL || slash - s != 36)
		return -1;
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	v = strtoull(slash + 1, &end, 10);
	if (*end != '\0')
		return -1;
	memcpy(epoch, s, 36);
	epoch[36] = '\0';
	*seq = v;
	return 0;
}

static void
event_id(struct gw_events *ge, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%llu", *ge->epoch ? ge->epoch :
	    "00000000-0000-0000-0000-000000000000", (unsigned long long)seq);
}

static int
status_terminal(const char *st)
{
	return st != NULL && (strcmp(st, PROTO_ST_COMPLETED) == 0 ||
	    strcmp(st, PROTO_ST_FAILED) == 0 ||
	    strcmp(st, PROTO_ST_CANCELLED) == 0);
}

/* write one event (or a comment when name is NULL) */
static void
stream_send(struct gw_stream *s, const char *name, const char *id,
    const char *data)
{
	struct evbuffer	*b;

	if (s->req == NULL)
		return;
	if ((b = evbuffer_new()) == NULL)
		return;
	if (name == NULL)
		evbuffer_add_printf(b, ": %s\n\n", data);
	else
		evbuffer_add_printf(b, "id: %s\nevent: %s\ndata: %s\n\n", id,
		    name, data);
	evhttp_send_reply_chunk(s->req, b);
	evbuffer_free(b);
	s->last_write_ms = daemon_now_ms();
}

/* free the streams that have ended and wait for no call */
static void
stream_reap(struct gw_events *ge)
{
	struct gw_stream	**pp = &ge->streams, *s;

	while ((s = *pp) != NULL) {
		if (s->req == NULL && s->refs == 0) {
			*pp = s->next;
			ge->nstreams--;
			free(s);
		} else
			pp = &s->next;
	}
}

/* the client closed the connection (or it failed) */
static void
stream_closed(struct evhttp_connection *evcon, void *arg)
{
	struct gw_stream	*s = arg;

	(void)evcon;
	log_debug("events %s: client left", s->job);
	/*
	 * libevent detaches a request that is still being sent from its
	 * failed connection and leaves it to us: ending it frees it.
	 */
	if (s->req != NULL && evhttp_request_get_connection(s->req) == NULL)
		evhttp_send_reply_end(s->req);
	s->req = NULL;
	s->evcon = NULL;
	stream_reap(s->ge);
}

/* the stream is over: s stays allocated until stream_reap() */
static void
stream_end(struct gw_stream *s)
{
	if (s->req != NULL) {
		evhttp_connection_set_closecb(s->evcon, NULL, NULL);
		evhttp_send_reply_end(s->req);
		s->req = NULL;
		s->evcon = NULL;
	}
}

/* the job object as a "job" event; ends the stream when it is terminal */
static void
stream_send_job(struct gw_stream *s, const cJSON *job, uint64_t seq)
{
	char	 id[64], *data;

	event_id(s->ge, seq, id, sizeof(id));
	if ((data = cJSON_PrintUnformatted(job)) != NULL) {
		stream_send(s, "job", id, data);
		cJSON_free(data);
	}
	if (status_terminal(cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(job, "status"))))
		stream_end(s);
}

static void
stream_deliver(struct gw_stream *s, const struct ring_ev *e)
{
	char	 id[64];

	event_id(s->ge, e->seq, id, sizeof(id));
	stream_send(s, e->name, id, e->data);
	if (e->terminal)
		stream_end(s);
}

/* events for s's job with seq > from, oldest first; the ring covers it */
static void
stream_replay(struct gw_stream *s, uint64_t from)
{
	struct gw_events	*ge = s->ge;
	uint64_t		 q;
	struct ring_ev		*e;

	for (q = from + 1; q <= ge->seq && s->req != NULL; q++) {
		e = &ge->ring[q % EV_RING];
		if (e->seq == q && e->data != NULL &&
		    strcmp(e->job, s->job) == 0)
			stream_deliver(s, e);
	}
}

/* job.get answered for a stream that exists (gap resync) */
static void
stream_resynced(const struct proto_reply *rep, const char *err, void *arg)
{
	struct gw_stream	*s = arg;
	const cJSON		*job;

	s->ge->gw->inflight--;
	s->refs--;
	if (s->req == NULL) {
		stream_reap(s->ge);
		return;
	}
	if (rep == NULL || !rep->ok || (job = cJSON_GetObjectItemCaseSensitive(
	    rep->body, "job")) == NULL) {
		/* jobd away: try again on the next event or cron */
		log_debug("events %s: resync: %s", s->job, err ? err :
		    rep->ok ? "no job" : rep->err_message);
		if (rep != NULL && !rep->ok &&
		    strcmp(rep->err_code, PROTO_E_NOT_FOUND) == 0)
			stream_end(s);
		else
			s->resync = 1;
		stream_reap(s->ge);
		return;
	}
	s->last_read_ms = daemon_now_ms();
	stream_send_job(s, job, s->ge->seq);
	stream_reap(s->ge);
}

static void
stream_resync(struct gw_stream *s)
{
	struct gw	*gw = s->ge->gw;

	s->resync = 1;
	if (s->refs > 0 || s->req == NULL || bridge_connected(gw->jobd) == 0)
		return;
	if (bridge_call(gw->jobd, PROTO_JOB_GET, proto_job_get_req(s->ws,
	    s->job), gw->timeout_ms, stream_resynced, s) == -1)
		return;
	s->resync = 0;
	s->last_read_ms = daemon_now_ms();
	s->refs++;
	gw->inflight++;
}

/* One event from jobd's pub socket. */
static void
events_received(const char *topic, cJSON *body, void *arg)
{
	struct gw_events	*ge = arg;
	struct gw_stream	*s, *next;
	struct ring_ev		*e;
	const char		*epoch, *job, *name;
	cJSON			*seqj;
	uint64_t		 seq;
	int			 gap = 0;

	epoch = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body,
	    "epoch"));
	seqj = cJSON_GetObjectItemCaseSensitive(body, "seq");
	if (epoch == NULL || strlen(epoch) != 36 || !cJSON_IsNumber(seqj) ||
	    seqj->valuedouble < 1)
		return;
	seq = (uint64_t)seqj->valuedouble;
	if (strcmp(epoch, ge->epoch) != 0) {
		if (*ge->epoch)
			log_info("events: jobd epoch %s (was %s)", epoch,
			    ge->epoch);
		memcpy(ge->epoch, epoch, sizeof(ge->epoch));
		gap = 1;
	} else if (seq <= ge->seq)
		return;		/* a duplicate: nothing new */
	else if (seq != ge->seq + 1)
		gap = 1;
	if (gap) {
		ge->covered = seq - 1;
		ge->gaps++;
	}
	ge->seq = seq;

	if (strcmp(topic, PROTO_EV_JOB_PROGRESS) == 0)
		name = "progress";
	else if (strcmp(topic, PROTO_EV_JOB_STATUS) == 0)
		name = "status";
	else
		name = NULL;
	job = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body,
	    "job_id"));
	e = &ge->ring[seq % EV_RING];
	free(e->data);
	e->data = NULL;
	e->seq = seq;
	if (seq > EV_RING && ge->covered < seq - EV_RING)
		ge->covered = seq - EV_RING;
	if (name != NULL && job != NULL && strlen(job) < sizeof(e->job)) {
		snprintf(e->job, sizeof(e->job), "%s", job);
		e->name = name;
		e->terminal = name[0] == 's' && status_terminal(
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body,
		    "status")));
		cJSON_DeleteItemFromObjectCaseSensitive(body, "v");
		cJSON_DeleteItemFromObjectCaseSensitive(body, "seq");
		cJSON_DeleteItemFromObjectCaseSensitive(body, "epoch");
		e->data = cJSON_PrintUnformatted(body);
	} else
		e->job[0] = '\0';

	for (s = ge->streams; s != NULL; s = next) {
		next = s->next;
		if (gap)
			stream_resync(s);
		else if (e->data != NULL && s->req != NULL &&
		    strcmp(e->job, s->job) == 0)
			stream_deliver(s, e);
	}
	stream_reap(ge);
}

/* job.get answered for a new stream */
static void
stream_opened(struct gw_req *gr, const struct proto_reply *rep)
{
	struct gw_events	*ge = gr->gw->events;
	struct stream_open	*so = gr->priv;
	struct evhttp_request	*req = gr->req;
	struct evkeyvalq	*h;
	struct gw_stream	*s;
	const cJSON		*job;
	const char		*id, *ws;
	struct timeval		 write_tv = { GW_SSE_WRITE_TIMEOUT_S, 0 };

	if (!rep->ok) {
		if (strcmp(rep->err_code, PROTO_E_NOT_FOUND) == 0)
			gw_error(gr, 404, "Job not found");
		else
			gw_reply_proto_error(gr, rep->err_code,
			    rep->err_message);
		return;
	}
	job = cJSON_GetObjectItemCaseSensitive(rep->body, "job");
	id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "id"));
	ws = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job,
	    "workspace_id"));
	if (id == NULL || ws == NULL || strlen(id) >= EV_JOBID_MAX ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		gw_error(gr, 500, "internal error");
		return;
	}
	s->ge = ge;
	s->req = req;
	s->evcon = gr->evcon;
	snprintf(s->job, sizeof(s->job), "%s", id);
	snprintf(s->ws, sizeof(s->ws), "%s", ws);
	s->next = ge->streams;
	ge->streams = s;
	ge->nstreams++;

	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	log_debug("%s %s -> 200 (stream)", gr->route->name,
	    evhttp_request_get_uri(req));
	/* the stream takes the request over from gr */
	{
		int		 resume = so->resume &&
				    strcmp(so->epoch, ge->epoch) == 0 &&
				    so->from >= ge->covered &&
				    so->from <= ge->seq;
		uint64_t	 from = resume ? so->from : so->snap_seq;
		int		 terminal = status_terminal(cJSON_GetStringValue(
				    cJSON_GetObjectItemCaseSensitive(job,
				    "status")));

		gw_req_done(gr);
		evhttp_connection_set_closecb(s->evcon, stream_closed, s);
		/*
		 * A listener sends nothing for hours: no read timeout (the
		 * close is still seen); a client that stops reading is
		 * dropped after the write timeout.
		 */
		bufferevent_set_timeouts(evhttp_connection_get_bufferevent(
		    s->evcon), NULL, &write_tv);
		evhttp_send_reply_start(req, 200, "OK");
		s->last_write_ms = s->last_read_ms = daemon_now_ms();
		if (!resume)
			stream_send_job(s, job, from);
		if (s->req != NULL)
			stream_replay(s, from);
		/* resumed after the end: say how it ended, once */
		if (s->req != NULL && terminal)
			stream_send_job(s, job, ge->seq);
		stream_reap(ge);
	}
}

void
gw_h_job_events(struct gw_req *gr)
{
	struct gw_events	*ge = gr->gw->events;
	struct stream_open	*so;
	const char		*last;
	char			 ws[64], job[64];

	if (!gr->job_ok) {
		gw_error(gr, 404, "Job not found");
		return;
	}
	if ((so = calloc(1, sizeof(*so))) == NULL) {
		gw_unavailable(gr, "out of memory");
		return;
	}
	gr->priv = so;
	gr->priv_free = free;
	so->snap_seq = ge->seq;
	last = evhttp_find_header(evhttp_request_get_input_headers(gr->req),
	    "Last-Event-ID");
	if (last != NULL && gw_event_id_parse(last, so->epoch, &so->from) == 0)
		so->resume = 1;
	proto_id_format(PROTO_PFX_WORKSPACE, gr->ws, ws, sizeof(ws));
	proto_id_format(PROTO_PFX_JOB, gr->job, job, sizeof(job));
	gw_call(gr, PROTO_JOB_GET, proto_job_get_req(ws, job), stream_opened);
}

int
gw_events_open(struct gw *gw)
{
	static const char *const topics[] = { "", NULL };
	struct gw_events	*ge;
	const char		*err;

	if ((ge = calloc(1, sizeof(*ge))) == NULL)
		return -1;
	ge->gw = gw;
	gw->events = ge;
	if ((ge->sub = sub_open(gw->d->base, gw->d->cf.events_url, topics,
	    events_received, ge, &err)) == NULL) {
		log_warnx("events %s: %s", gw->d->cf.events_url, err);
		return -1;
	}
	return 0;
}

/* once a second: keepalives, and resyncs that could not be sent */
void
gw_events_cron(struct gw *gw)
{
	struct gw_events	*ge = gw->events;
	struct gw_stream	*s, *next;
	uint64_t		 now = daemon_now_ms(), every;
	int			 reconnected;

	if (ge == NULL)
		return;
	every = (uint64_t)gw->d->cf.httpd.sse_keepalive_seconds * 1000;
	/*
	 * Events published while the subscriber was away (jobd restarting)
	 * leave no trace in seq when nothing follows them: a new connection
	 * is a gap. And a stream re-reads its job every GW_SSE_REREAD_MS
	 * regardless, so a lost last event cannot hold it open for ever.
	 */
	reconnected = sub_connects(ge->sub) != ge->connects;
	ge->connects = sub_connects(ge->sub);
	for (s = ge->streams; s != NULL; s = next) {
		next = s->next;
		if (s->req == NULL)
			continue;
		if (s->resync || reconnected ||
		    now - s->last_read_ms >= GW_SSE_REREAD_MS)
			stream_resync(s);
		if (now - s->last_write_ms + 500 >= every)
			stream_send(s, NULL, NULL, "keepalive");
	}
	stream_reap(ge);
}

/*
 * SIGTERM: end every stream; clients reconnect elsewhere with their id.
 * Returns how many were ended (their last chunk is still to be written).
 */
int
gw_events_stop(struct gw *gw)
{
	struct gw_events	*ge = gw->events;
	struct gw_stream	*s, *next;
	int			 n = 0;

	if (ge == NULL)
		return 0;
	for (s = ge->streams; s != NULL; s = next) {
		next = s->next;
		if (s->req != NULL) {
			stream_end(s);
			n++;
		}
	}
	stream_reap(ge);
	return n;
}

int
gw_events_streams(struct gw *gw)
{
	return gw->events ? gw->events->nstreams : 0;
}

void
gw_events_close(struct gw *gw)
{
	struct gw_events	*ge = gw->events;
	struct gw_stream	*s, *next;
	size_t			 i;

	if (ge == NULL)
		return;
	sub_close(ge->sub);
	for (s = ge->streams; s != NULL; s = next) {
		next = s->next;
		if (s->evcon != NULL)
			evhttp_connection_set_closecb(s->evcon, NULL, NULL);
		free(s);
	}
	for (i = 0; i < EV_RING; i++)
		free(ge->ring[i].data);
	free(ge);
	gw->events = NULL;
}
