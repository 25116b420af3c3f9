/*
 * sub.c — event subscriber of bridge.h: a sub0 socket whose RECVFD is a
 * libevent read event. Events are hints; a lost one is detected by the
 * caller through the seq/epoch fields (proto.h).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "lib/bridge.h"
#include "lib/log.h"
#include "lib/sockclose.h"

struct sub {
	nng_socket	 sock;
	atomic_int	 connects;	/* pipes added, on nng's thread */
	struct event	*ev;
	sub_cb		 cb;
	void		*arg;
};

static void
sub_readable(evutil_socket_t fd, short what, void *arg)
{
	struct sub	*s = arg;
	nng_msg		*msg;
	cJSON		*body;
	char		 topic[64];
	int		 rv, n;

	(void)fd;
	(void)what;
	for (n = 0; n < 256; n++) {
		rv = nng_recvmsg(s->sock, &msg, NNG_FLAG_NONBLOCK);
		if (rv != 0)
			return;
		if (proto_event_parse(nng_msg_body(msg), nng_msg_len(msg),
		    topic, sizeof(topic), &body) == 0) {
			s->cb(topic, body, s->arg);
			cJSON_Delete(body);
		} else
			log_warnx("%s: malformed event dropped", __func__);
		nng_msg_free(msg);
	}
}

/* nng's thread: only count; the loop reads the count */
static void
sub_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct sub	*s = arg;

	(void)p;
	(void)ev;
	atomic_fetch_add(&s->connects, 1);
}

/*
 * How many times the socket has connected to the publisher. A subscriber
 * loses every event published while it was away (a jobd restart, say),
 * and those losses show in no seq: a change here is a gap too.
 */
int
sub_connects(struct sub *s)
{
	return atomic_load(&s->connects);
}

struct sub *
sub_open(struct event_base *base, const char *url, const char *const *topics,
    sub_cb cb, void *arg, const char **errp)
{
	struct sub	*s;
	int		 rv, fd;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*errp = "out of memory";
		return NULL;
	}
	s->cb = cb;
	s->arg = arg;
	if ((rv = nng_sub0_open(&s->sock)) != 0)
		goto fail;
	for (; *topics; topics++)
		nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, *topics,
		    strlen(*topics));
	nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, 1024);
	nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, sub_pipe_added, s);
	if ((rv = nng_dial(s->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0)
		goto fail;
	if ((rv = nng_socket_get_int(s->sock, NNG_OPT_RECVFD, &fd)) != 0)
		goto fail;
	s->ev = event_new(base, fd, EV_READ | EV_PERSIST, sub_readable, s);
	event_add(s->ev, NULL);
	return s;
fail:
	*errp = nng_strerror(rv);
	nng_close(s->sock);
	free(s);
	return NULL;
}

void
sub_close(struct sub *s)
{
	if (s == NULL)
		return;
	event_free(s->ev);
	/* a socket nng could not close may still call sub_pipe_added */
	if (sock_close_bounded(s->sock, SOCK_CLOSE_WAIT_MS) == 0)
		free(s);
}
