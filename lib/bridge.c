/*
 * bridge.c — the async req client of bridge.h.
 *
 * Each call owns an nng context and an aio. The aio callback (nng thread)
 * advances send -> recv, and on completion moves the call onto the done
 * queue and writes the eventfd; bridge_drain() (loop thread) runs the user
 * callbacks. Nothing here touches libevent from an nng thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "lib/bridge.h"
#include "lib/log.h"

enum call_state { CALL_SEND, CALL_RECV, CALL_DONE };

struct call {
	struct bridge	*b;
	nng_ctx		 ctx;
	nng_aio		*aio;
	enum call_state	 state;
	int		 rv;
	nng_msg		*reply;
	bridge_cb	 cb;
	void		*arg;
	int64_t		 deadline_ms;
	char		 reqid[PROTO_REQID_MAX + 1];
	struct call	*next;
};

struct bridge {
	struct event_base *base;
	nng_socket	 sock;
	int		 efd;
	struct event	*ev;
	pthread_mutex_t	 mtx;
	struct call	*done_head, *done_tail;
	atomic_int	 pipes;
	int		 inflight;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct bridge *b = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&b->pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&b->pipes, 1);
}

/* nng thread */
static void
call_complete(struct call *c, int rv)
{
	struct bridge	*b = c->b;
	uint64_t	 one = 1;

	c->rv = rv;
	c->state = CALL_DONE;
	pthread_mutex_lock(&b->mtx);
	c->next = NULL;
	if (b->done_tail)
		b->done_tail->next = c;
	else
		b->done_head = c;
	b->done_tail = c;
	pthread_mutex_unlock(&b->mtx);
	if (write(b->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;		/* the loop will still drain on its next wake */
}

/* nng thread */
static void
call_aio_cb(void *arg)
{
	struct call	*c = arg;
	int		 rv = nng_aio_result(c->aio);
	int64_t		 left;

	if (rv != 0) {
		if (c->state == CALL_SEND)
			nng_msg_free(nng_aio_get_msg(c->aio));
		call_complete(c, rv);
		return;
	}
	if (c->state == CALL_SEND) {
		c->state = CALL_RECV;
		left = c->deadline_ms - mono_ms();
		if (left < 1)
			left = 1;
		nng_aio_set_timeout(c->aio, (nng_duration)left);
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	c->reply = nng_aio_get_msg(c->aio);
	call_complete(c, 0);
}

/* loop thread */
static void
bridge_drain(evutil_socket_t fd, short what, void *arg)
{
	struct bridge		*b = arg;
	struct call		*c, *next;
	struct proto_reply	 rep;
	const char		*err;
	uint64_t		 n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd read", __func__);
	pthread_mutex_lock(&b->mtx);
	c = b->done_head;
	b->done_head = b->done_tail = NULL;
	pthread_mutex_unlock(&b->mtx);

	for (; c != NULL; c = next) {
		next = c->next;
		b->inflight--;
		if (c->rv != 0) {
			err = c->rv == NNG_ETIMEDOUT ? "timeout" :
			    nng_strerror(c->rv);
			log_debug("call %s: %s", c->reqid, err);
			c->cb(NULL, err, c->arg);
		} else if (proto_reply_parse(nng_msg_body(c->reply),
		    nng_msg_len(c->reply), &rep, &err) == -1) {
			log_warnx("call %s: bad reply: %s", c->reqid, err);
			proto_reply_free(&rep);
			c->cb(NULL, "bad reply", c->arg);
		} else if (strcmp(rep.id, c->reqid) != 0) {
			log_warnx("call %s: reply for %s", c->reqid, rep.id);
			proto_reply_free(&rep);
			c->cb(NULL, "bad reply", c->arg);
		} else {
			c->cb(&rep, NULL, c->arg);
			proto_reply_free(&rep);
		}
		if (c->reply)
			nng_msg_free(c->reply);
		nng_ctx_close(c->ctx);
		nng_aio_free(c->aio);
		free(c);
	}
}

struct bridge *
bridge_open(struct event_base *base, const char *url, const char **errp)
{
	struct bridge	*b;
	int		 rv;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		*errp = "out of memory";
		return NULL;
	}
	b->base = base;
	pthread_mutex_init(&b->mtx, NULL);
	if ((b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		*errp = strerror(errno);
		free(b);
		return NULL;
	}
	if ((rv = nng_req0_open(&b->sock)) != 0) {
		*errp = nng_strerror(rv);
		close(b->efd);
		free(b);
		return NULL;
	}
	/* never resend: a resent job.create could be applied twice */
	nng_socket_set_ms(b->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(b->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(b->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set_size(b->sock, NNG_OPT_RECVMAXSZ, 64 << 20);
	nng_pipe_notify(b->sock, NNG_PIPE_EV_ADD_POST, pipe_cb, b);
	nng_pipe_notify(b->sock, NNG_PIPE_EV_REM_POST, pipe_cb, b);
	if ((rv = nng_dial(b->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		*errp = nng_strerror(rv);
		nng_close(b->sock);
		close(b->efd);
		free(b);
		return NULL;
	}
	b->ev = event_new(base, b->efd, EV_READ | EV_PERSIST, bridge_drain, b);
	event_add(b->ev, NULL);
	return b;
}

void
bridge_close(struct bridge *b)
{
	if (b == NULL)
		return;
	/* closing the socket completes every aio with NNG_ECLOSED */
	nng_close(b->sock);
	bridge_drain(b->efd, EV_READ, b);
	event_free(b->ev);
	close(b->efd);
	pthread_mutex_destroy(&b->mtx);
	free(b);
}

int
bridge_connected(struct bridge *b)
{
	return atomic_load(&b->pipes);
}

int
bridge_inflight(struct bridge *b)
{
	return b->inflight;
}

int
bridge_call(struct bridge *b, const char *type, cJSON *body, int timeout_ms,
    bridge_cb cb, void *arg)
{
	struct call	*c;
	nng_msg		*msg;
	char		*buf;
	size_t		 len;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cJSON_Delete(body);
		return -1;
	}
	proto_new_reqid(c->reqid);
	buf = proto_request_encode(c->reqid, type, body, &len);
	cJSON_Delete(body);
	if (buf == NULL || nng_msg_alloc(&msg, 0) != 0) {
		cJSON_free(buf);
		free(c);
		return -1;
	}
	nng_msg_append(msg, buf, len);
	cJSON_free(buf);
	if (nng_ctx_open(&c->ctx, b->sock) != 0 ||
	    nng_aio_alloc(&c->aio, call_aio_cb, c) != 0) {
		nng_msg_free(msg);
		free(c);
		return -1;
	}
	c->b = b;
	c->cb = cb;
	c->arg = arg;
	c->state = CALL_SEND;
	c->deadline_ms = mono_ms() + timeout_ms;
	b->inflight++;
	log_debug("call %s: %s", c->reqid, type);
	nng_aio_set_timeout(c->aio, timeout_ms);
	nng_aio_set_msg(c->aio, msg);
	nng_ctx_send(c->ctx, c->aio);
	return 0;
}
