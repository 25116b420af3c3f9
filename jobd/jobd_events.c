/*
 * jobd_events.c — the pub socket. Events that describe a state change are
 * queued while the transaction runs and sent only after it commits, so a
 * subscriber that reacts by asking jobd always sees the new state. Every
 * event carries seq (one more per event) and the epoch of this jobd run,
 * so subscribers can tell that they missed something (proto.h EVENTS).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "jobd/jobd.h"
#include "lib/daemon.h"
#include "lib/log.h"
#include "lib/sockclose.h"

/*
 * work.available is a hint to idle workers, and they lease everything
 * queued when they wake: one per kind every 25 ms is as good as one per
 * commit. Under a stream of job creations one per commit (batch) was 6%
 * of jobd, a pub message to every subscriber each time.
 */
#define EVENTS_WORK_GAP_MS	25

const char *const events_work_kinds[2] = { PROTO_KIND_FETCH,
	PROTO_KIND_MEDIA };

static void
work_publish(struct jobd *jd, int i, int64_t now)
{
	cJSON	*ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, PROTO_F_KIND, events_work_kinds[i]);
	jd->work_sent_ms[i] = now;
	jd->work_due[i] = 0;
	events_publish(jd, PROTO_EV_WORK, ev);
}

/* the cron's re-hint: now, whatever the gap */
void
events_work_now(struct jobd *jd, int i)
{
	work_publish(jd, i, daemon_mono_ms());
}

static void
work_due_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jobd	*jd = arg;
	int64_t		 now = daemon_mono_ms();
	int		 i;

	(void)fd;
	(void)what;
	for (i = 0; i < 2; i++)
		if (jd->work_due[i])
			work_publish(jd, i, now);
}

/* a wake-up for kind i now, or when the gap since the last one is over */
static void
work_wake(struct jobd *jd, int i)
{
	int64_t		 now = daemon_mono_ms(), wait;
	struct timeval	 tv;

	wait = jd->work_sent_ms[i] + EVENTS_WORK_GAP_MS - now;
	if (jd->work_ev == NULL || jd->work_sent_ms[i] == 0 || wait <= 0) {
		work_publish(jd, i, now);
		return;
	}
	jd->work_due[i] = 1;
	if (!evtimer_pending(jd->work_ev, NULL)) {
		tv.tv_sec = 0;
		tv.tv_usec = (suseconds_t)(wait * 1000);
		evtimer_add(jd->work_ev, &tv);
	}
}

int
events_open(struct jobd *jd, struct event_base *base, const char *url,
    const char **errp)
{
	int	 rv;

	if (base != NULL &&
	    (jd->work_ev = evtimer_new(base, work_due_cb, jd)) == NULL) {
		*errp = "cannot make a timer";
		return -1;
	}

	if ((rv = nng_pub0_open(&jd->pub)) != 0) {
		*errp = nng_strerror(rv);
		return -1;
	}
	/* a slow subscriber loses events rather than slowing jobd down */
	nng_socket_set_int(jd->pub, NNG_OPT_SENDBUF, 1024);
	if ((rv = nng_listen(jd->pub, url, NULL, 0)) != 0) {
		*errp = nng_strerror(rv);
		nng_close(jd->pub);
		return -1;
	}
	jd->pub_open = 1;
	return 0;
}

void
events_close(struct jobd *jd)
{
	events_discard(jd);
	if (jd->work_ev != NULL)
		event_free(jd->work_ev);
	jd->work_ev = NULL;
	if (jd->pub_open)
		(void)sock_close_bounded(jd->pub, SOCK_CLOSE_WAIT_MS);
	jd->pub_open = 0;
}

/* Stamp and send one event now. Takes ownership of body. */
void
events_publish(struct jobd *jd, const char *topic, cJSON *body)
{
	char	*msg;
	size_t	 len;
	int	 rv;

	cJSON_AddNumberToObject(body, "v", PROTO_VERSION);
	cJSON_AddNumberToObject(body, PROTO_F_SEQ, (double)++jd->seq);
	cJSON_AddStringToObject(body, PROTO_F_EPOCH, jd->epoch);
	if (jd->pub_open &&
	    (msg = proto_event_encode(topic, body, &len)) != NULL) {
		if ((rv = nng_send(jd->pub, msg, len, NNG_FLAG_NONBLOCK)) != 0)
			log_debug("%s: %s: %s", __func__, topic,
			    nng_strerror(rv));
		free(msg);
	}
	if (jd->ev_hook)
		jd->ev_hook(topic, body, jd->ev_hook_arg);
	cJSON_Delete(body);
}

/* Queue an event for the current transaction. Takes ownership of body. */
void
events_queue(struct jobd *jd, const char *topic, cJSON *body)
{
	cJSON	*pair;

	if (jd->pending_ev == NULL)
		jd->pending_ev = cJSON_CreateArray();
	pair = cJSON_CreateArray();
	cJSON_AddItemToArray(pair, cJSON_CreateString(topic));
	cJSON_AddItemToArray(pair, body);
	cJSON_AddItemToArray(jd->pending_ev, pair);
}

/* "work" only wakes idle workers: see work_wake() */
static int
work_kind(const char *topic, const cJSON *body)
{
	const cJSON	*k;

	if (strcmp(topic, PROTO_EV_WORK) != 0)
		return -1;
	k = cJSON_GetObjectItemCaseSensitive(body, PROTO_F_KIND);
	return cJSON_IsString(k) && strcmp(k->valuestring, PROTO_KIND_MEDIA) ==
	    0 ? 1 : 0;
}

void
events_flush(struct jobd *jd)
{
	cJSON		*q = jd->pending_ev, *pair, *body;
	const char	*topic;
	int		 seen[2] = { 0, 0 }, i;

	jd->pending_ev = NULL;
	if (q == NULL)
		return;
	while ((pair = cJSON_DetachItemFromArray(q, 0)) != NULL) {
		body = cJSON_DetachItemFromArray(pair, 1);
		topic = cJSON_GetArrayItem(pair, 0)->valuestring;
		if ((i = work_kind(topic, body)) >= 0) {
			if (!seen[i]++)
				work_wake(jd, i);
			cJSON_Delete(body);
		} else
			events_publish(jd, topic, body);
		cJSON_Delete(pair);
	}
	cJSON_Delete(q);
}

void
events_discard(struct jobd *jd)
{
	cJSON_Delete(jd->pending_ev);
	jd->pending_ev = NULL;
}
