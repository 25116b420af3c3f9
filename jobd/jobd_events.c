/*
 * jobd_events.c — the pub socket. Events that describe a state change are
 * queued while the transaction runs and sent only after it commits, so a
 * subscriber that reacts by asking jobd always sees the new state. Every
 * event carries seq (one more per event) and the epoch of this jobd run,
 * so subscribers can tell that they missed something (proto.h EVENTS).
 */
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "jobd/jobd.h"
#include "lib/log.h"

int
events_open(struct jobd *jd, const char *url, const char **errp)
{
	int	 rv;

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
	if (jd->pub_open)
		nng_close(jd->pub);
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

/*
 * "work" only wakes idle workers: one per kind per commit is enough, however
 * many jobs a batch created.
 */
static int
work_seen(const char *topic, const cJSON *body, int seen[2])
{
	const cJSON	*k;
	int		 i;

	if (strcmp(topic, PROTO_EV_WORK) != 0)
		return 0;
	k = cJSON_GetObjectItemCaseSensitive(body, PROTO_F_KIND);
	i = cJSON_IsString(k) && strcmp(k->valuestring, PROTO_KIND_MEDIA) == 0;
	return seen[i]++ > 0;
}

void
events_flush(struct jobd *jd)
{
	cJSON		*q = jd->pending_ev, *pair, *body;
	const char	*topic;
	int		 seen[2] = { 0, 0 };

	jd->pending_ev = NULL;
	if (q == NULL)
		return;
	while ((pair = cJSON_DetachItemFromArray(q, 0)) != NULL) {
		body = cJSON_DetachItemFromArray(pair, 1);
		topic = cJSON_GetArrayItem(pair, 0)->valuestring;
		if (work_seen(topic, body, seen))
			cJSON_Delete(body);
		else
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
