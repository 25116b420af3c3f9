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
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "lib/bridge.h"
#include "lib/daemon.h"
#include "lib/log.h"
#include "lib/sockclose.h"

enum call_state { CALL_SEND, CALL_RECV, CALL_DONE };

/*
 * Messages on the wire at once. jobd answers one message at a time, so
 * more than two buy no parallelism: one is served while the next waits.
 * Calls made meanwhile stay queued and leave together when one comes
 * back, so under load the batches grow instead of the messages (each
 * costs both daemons several nng thread hand-offs), and more identical
 * reads meet in the queue. Waiting here costs no latency: the same calls
 * would otherwise wait in jobd's receive queue.
 */
#define BRIDGE_OUTSTANDING	2

/*
 * A call is what a caller asked for. Calls made while the loop handles one
 * round of events are queued and sent together when the round ends
 * (bridge_flush): alone as themselves, or, when there are several, as the
 * members of one "batch" carrier call — under load one nng round trip then
 * serves many HTTP requests instead of one.
 */
struct call {
	struct bridge	*b;
	nng_ctx		 ctx;
	nng_aio		*aio;		/* only calls that go on the wire */
	enum call_state	 state;
	int		 rv;
	nng_msg		*reply;
	bridge_cb	 cb;
	void		*arg;
	int64_t		 deadline_ms;
	char		 reqid[PROTO_REQID_MAX + 1];
	char		*buf;		/* encoded envelope, until sent */
	size_t		 len;
	nng_msg		*msg;		/* or, with an attachment, the message */
	struct call	*members;	/* a batch carrier's calls, in order */
	int		 nmembers;
	struct call	*next;		/* done queue, pending queue, members */
	/* on the wire (loop thread only): what bridge_close must stop */
	struct call	*wire_prev, *wire_next;
	int		 on_wire;
	/* a read others may join while queued: its envelope after the id */
	int		 read;
	int		 solo;		/* with an attachment: never batched */
	size_t		 key_off;
	struct follower	*followers;	/* callers answered with this reply */
};

/* a caller whose identical read joined a queued call (bridge_call_read) */
struct follower {
	bridge_cb	 cb;
	void		*arg;
	struct follower	*next;
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
	/* calls made this round, sent by bridge_flush */
	struct call	*pend_head, *pend_tail;
	int		 npend;
	struct event	*flush_ev;
	struct event	*expire_ev;	/* held-back calls' deadlines */
	struct call	*wire;
	int		 nwire;
};

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

/* loop thread */
static void
wire_add(struct bridge *b, struct call *c)
{
	c->wire_prev = NULL;
	c->wire_next = b->wire;
	if (b->wire != NULL)
		b->wire->wire_prev = c;
	b->wire = c;
	c->on_wire = 1;
	b->nwire++;
}

/* loop thread */
static void
wire_remove(struct bridge *b, struct call *c)
{
	if (!c->on_wire)
		return;
	if (c->wire_prev != NULL)
		c->wire_prev->wire_next = c->wire_next;
	else
		b->wire = c->wire_next;
	if (c->wire_next != NULL)
		c->wire_next->wire_prev = c->wire_prev;
	c->on_wire = 0;
	b->nwire--;
}

/* nng thread (or the loop thread once the aio is stopped) */
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
		left = c->deadline_ms - daemon_mono_ms();
		if (left < 1)
			left = 1;
		nng_aio_set_timeout(c->aio, (nng_duration)left);
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	c->reply = nng_aio_get_msg(c->aio);
	call_complete(c, 0);
}

static void
call_free(struct call *c)
{
	struct follower	*f;

	while ((f = c->followers) != NULL) {
		c->followers = f->next;
		free(f);
	}
	if (c->reply)
		nng_msg_free(c->reply);
	if (c->msg)
		nng_msg_free(c->msg);
	if (c->aio != NULL) {
		nng_ctx_close(c->ctx);
		nng_aio_free(c->aio);
	}
	free(c->buf);
	free(c);
}

/* loop thread: hand one reply (or failure) to the caller and followers */
static void
call_answer(struct call *c, struct proto_reply *rep, const char *err)
{
	struct proto_memo	 memo = { NULL, NULL, 0 };
	struct follower		*f;

	c->b->inflight--;
	if (rep != NULL && strcmp(rep->id, c->reqid) != 0) {
		log_warnx("call %s: reply for %s", c->reqid, rep->id);
		rep = NULL;
		err = "bad reply";
	}
	if (rep == NULL)
		log_debug("call %s: %s", c->reqid, err);
	if (rep != NULL && c->followers != NULL)
		rep->memo = &memo;
	c->cb(rep, rep ? NULL : err, c->arg);
	for (f = c->followers; f != NULL; f = f->next) {
		c->b->inflight--;
		f->cb(rep, rep ? NULL : err, f->arg);
	}
	if (rep != NULL)
		rep->memo = NULL;
	free(memo.json);
}

/* loop thread: a batch carrier is done; answer each member */
static void
batch_answer(struct call *c, struct proto_reply *rep, const char *err)
{
	struct proto_reply	 mrep;
	struct call		*m, *next;
	cJSON			*replies = NULL, *it = NULL;
	const char		*merr;

	if (rep != NULL && !rep->ok) {
		log_warnx("batch %s: %s: %s", c->reqid, rep->err_code,
		    rep->err_message);
		rep = NULL;
		err = "bad reply";
	}
	if (rep != NULL) {
		replies = cJSON_GetObjectItemCaseSensitive(rep->body, "replies");
		if (!cJSON_IsArray(replies) ||
		    cJSON_GetArraySize(replies) != c->nmembers) {
			log_warnx("batch %s: replies do not match calls",
			    c->reqid);
			replies = NULL;
			err = "bad reply";
		} else
			it = replies->child;
	}
	for (m = c->members; m != NULL; m = next) {
		next = m->next;
		if (replies == NULL)
			call_answer(m, NULL, err);
		else if (proto_reply_parse_json(it, &mrep, &merr) == -1) {
			log_warnx("call %s: bad reply: %s", m->reqid, merr);
			call_answer(m, NULL, "bad reply");
		} else
			call_answer(m, &mrep, NULL);
		if (it != NULL)
			it = it->next;
		call_free(m);
	}
}

/* loop thread */
static void
bridge_drain(evutil_socket_t fd, short what, void *arg)
{
	struct bridge		*b = arg;
	struct call		*c, *next;
	struct proto_reply	 rep, *rp;
	const char		*err = NULL;
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
		wire_remove(b, c);
		rp = NULL;
		memset(&rep, 0, sizeof(rep));
		if (c->rv != 0)
			err = c->rv == NNG_ETIMEDOUT ? "timeout" :
			    nng_strerror(c->rv);
		else if (proto_reply_parse(nng_msg_body(c->reply),
		    nng_msg_len(c->reply), &rep, &err) == -1) {
			log_warnx("call %s: bad reply: %s", c->reqid, err);
			err = "bad reply";
		} else
			rp = &rep;
		if (c->members != NULL)
			batch_answer(c, rp, err);
		else
			call_answer(c, rp, err);
		proto_reply_free(&rep);
		call_free(c);
	}
	/* room on the wire: what waited goes when this round ends */
	if (b->pend_head != NULL && b->nwire < BRIDGE_OUTSTANDING)
		event_active(b->flush_ev, 0, 0);
}

/* loop thread: put one call (single or carrier) on the wire */
static int
call_send(struct bridge *b, struct call *c)
{
	nng_msg		*msg;
	int64_t		 left;

	if (c->msg != NULL) {
		msg = c->msg;
		c->msg = NULL;
	} else if (nng_msg_alloc(&msg, 0) != 0)
		return -1;
	else if (nng_msg_append(msg, c->buf, c->len) != 0) {
		nng_msg_free(msg);
		return -1;
	}
	if (nng_ctx_open(&c->ctx, b->sock) != 0) {
		nng_msg_free(msg);
		return -1;
	}
	if (nng_aio_alloc(&c->aio, call_aio_cb, c) != 0) {
		nng_ctx_close(c->ctx);
		nng_msg_free(msg);
		return -1;
	}
	free(c->buf);
	c->buf = NULL;
	c->state = CALL_SEND;
	left = c->deadline_ms - daemon_mono_ms();
	nng_aio_set_timeout(c->aio, (nng_duration)(left < 1 ? 1 : left));
	nng_aio_set_msg(c->aio, msg);
	wire_add(b, c);
	nng_ctx_send(c->ctx, c->aio);
	return 0;
}

/* loop thread: a call that could not be sent fails like a timeout would */
static void
call_fail_now(struct bridge *b, struct call *c)
{
	c->rv = NNG_ENOMEM;
	pthread_mutex_lock(&b->mtx);
	c->next = NULL;
	if (b->done_tail)
		b->done_tail->next = c;
	else
		b->done_head = c;
	b->done_tail = c;
	pthread_mutex_unlock(&b->mtx);
	event_active(b->ev, EV_READ, 0);
}

/*
 * loop thread: calls held back while the wire is full still end at their
 * own deadline, whatever the calls ahead of them wait for
 */
static void
pending_expire(evutil_socket_t fd, short what, void *arg)
{
	struct bridge	*b = arg;
	struct call	*c, **pp, *prev = NULL;
	struct timeval	 tv;
	int64_t		 now = daemon_mono_ms(), next = INT64_MAX;

	(void)fd;
	(void)what;
	for (pp = &b->pend_head; (c = *pp) != NULL; ) {
		if (c->deadline_ms <= now) {
			*pp = c->next;
			b->npend--;
			call_complete(c, NNG_ETIMEDOUT);
			continue;
		}
		if (c->deadline_ms < next)
			next = c->deadline_ms;
		prev = c;
		pp = &c->next;
	}
	b->pend_tail = prev;
	if (b->pend_head != NULL) {
		tv.tv_sec = (time_t)((next - now) / 1000);
		tv.tv_usec = (suseconds_t)((next - now) % 1000) * 1000;
		evtimer_add(b->expire_ev, &tv);
	}
}

/* loop thread, once per round: send what the round's callers queued */
static void
bridge_flush(evutil_socket_t fd, short what, void *arg)
{
	struct bridge	*b = arg;
	struct call	*c, *carrier, *list, *tail;
	char		*parts[PROTO_BATCH_MAX];
	size_t		 lens[PROTO_BATCH_MAX];
	int		 n;

	(void)fd;
	(void)what;
	while ((list = b->pend_head) != NULL && b->nwire < BRIDGE_OUTSTANDING) {
		/* take up to PROTO_BATCH_MAX calls off the queue */
		for (n = 0, tail = NULL, c = list; c != NULL &&
		    n < PROTO_BATCH_MAX; tail = c, c = c->next) {
			if (c->solo && n > 0)
				break;
			n++;
			if (c->solo) {
				tail = c;
				c = c->next;
				break;
			}
		}
		b->pend_head = c;
		if (c == NULL)
			b->pend_tail = NULL;
		tail->next = NULL;
		b->npend -= n;
		if (n == 1) {
			if (call_send(b, list) == -1)
				call_fail_now(b, list);
			continue;
		}
		if ((carrier = calloc(1, sizeof(*carrier))) == NULL)
			goto fail;
		carrier->b = b;
		carrier->members = list;
		carrier->nmembers = n;
		carrier->deadline_ms = INT64_MAX;
		for (n = 0, c = list; c != NULL; c = c->next, n++) {
			parts[n] = c->buf;
			lens[n] = c->len;
			if (c->deadline_ms < carrier->deadline_ms)
				carrier->deadline_ms = c->deadline_ms;
		}
		proto_new_reqid(carrier->reqid);
		carrier->buf = proto_batch_encode(carrier->reqid, 0, parts,
		    lens, n, &carrier->len);
		log_debug("batch %s: %d calls", carrier->reqid, n);
		/* the carrier is no caller's call: inflight counts members */
		if (carrier->buf == NULL || call_send(b, carrier) == -1)
			call_fail_now(b, carrier);
		continue;
fail:
		for (c = list; c != NULL; c = list) {
			list = c->next;
			call_fail_now(b, c);
		}
	}
	if (b->pend_head != NULL && !evtimer_pending(b->expire_ev, NULL))
		pending_expire(-1, 0, b);
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
	b->flush_ev = event_new(base, -1, 0, bridge_flush, b);
	b->expire_ev = evtimer_new(base, pending_expire, b);
	return b;
}

void
bridge_close(struct bridge *b)
{
	struct call	*c, *next;
	int		 rv;

	if (b == NULL)
		return;
	/* what callers queued this round is not sent now: it fails closed */
	for (c = b->pend_head; c != NULL; c = next) {
		next = c->next;
		call_complete(c, NNG_ECLOSED);
	}
	b->pend_head = b->pend_tail = NULL;
	b->npend = 0;
	/*
	 * Stop every aio before the socket closes: nng 1.5.2 can hang for
	 * good in nng_close() while a req context has a receive outstanding
	 * (nanomsg/nng#1543, #1813). Once stopped, no callback runs any
	 * more; a call stopped between its send and its receive has not
	 * completed, so complete it here.
	 */
	for (c = b->wire; c != NULL; c = c->wire_next) {
		nng_aio_stop(c->aio);
		if (c->state != CALL_DONE)
			call_complete(c, NNG_ECLOSED);
	}
	rv = sock_close_bounded(b->sock, SOCK_CLOSE_WAIT_MS);
	bridge_drain(b->efd, EV_READ, b);
	event_free(b->flush_ev);
	event_free(b->expire_ev);
	event_free(b->ev);
	if (rv == -1)		/* pipe_cb may still run: b stays to exit */
		return;
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
	int	rv = bridge_call_ref(b, type, body, timeout_ms, cb, arg);

	cJSON_Delete(body);
	return rv;
}

/* a new call joins the queue; sent when this round of events is over */
static void
call_enqueue(struct bridge *b, struct call *c, int timeout_ms, bridge_cb cb,
    void *arg)
{
	c->b = b;
	c->cb = cb;
	c->arg = arg;
	c->deadline_ms = daemon_mono_ms() + timeout_ms;
	b->inflight++;
	if (b->pend_tail)
		b->pend_tail->next = c;
	else
		b->pend_head = c;
	b->pend_tail = c;
	if (b->npend++ > 0)
		return;
	/*
	 * A call that never joins a batch (a report, about a megabyte)
	 * goes now: the flush event would run after whatever else the loop
	 * has in hand (a comment tree to read), and jobd would wait for it.
	 */
	if (c->solo && b->nwire < BRIDGE_OUTSTANDING)
		bridge_flush(-1, 0, b);
	else
		event_active(b->flush_ev, 0, 0);
}

/* an identical read queued this round, or NULL */
static struct call *
pending_read(struct bridge *b, const struct call *c)
{
	struct call	*p;
	size_t		 n = c->len - c->key_off;

	for (p = b->pend_head; p != NULL; p = p->next)
		if (p->read && p->len - p->key_off == n &&
		    memcmp(p->buf + p->key_off, c->buf + c->key_off, n) == 0)
			return p;
	return NULL;
}

static int
call_queue(struct bridge *b, const char *type, const cJSON *body,
    int timeout_ms, bridge_cb cb, void *arg, int read)
{
	struct call	*c, *lead;
	struct follower	*f;
	const char	*id;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	proto_new_reqid(c->reqid);
	/* printed at once: the caller may change or free body afterwards */
	c->buf = proto_request_encode(c->reqid, type, body, &c->len);
	if (c->buf == NULL) {
		free(c);
		return -1;
	}
	/* the envelope after the request id: type and body */
	if (read && (id = strstr(c->buf, c->reqid)) != NULL) {
		c->read = 1;
		c->key_off = (size_t)(id - c->buf) + strlen(c->reqid);
		if ((lead = pending_read(b, c)) != NULL &&
		    (f = calloc(1, sizeof(*f))) != NULL) {
			f->cb = cb;
			f->arg = arg;
			f->next = lead->followers;
			lead->followers = f;
			b->inflight++;
			log_debug("call %s: %s joins %s", c->reqid, type,
			    lead->reqid);
			call_free(c);
			return 0;
		}
	}
	log_debug("call %s: %s", c->reqid, type);
	call_enqueue(b, c, timeout_ms, cb, arg);
	return 0;
}

int
bridge_call_ref(struct bridge *b, const char *type, const cJSON *body,
    int timeout_ms, bridge_cb cb, void *arg)
{
	return call_queue(b, type, body, timeout_ms, cb, arg, 0);
}

int
bridge_call_read(struct bridge *b, const char *type, cJSON *body,
    int timeout_ms, bridge_cb cb, void *arg)
{
	int	rv = call_queue(b, type, body, timeout_ms, cb, arg, 1);

	cJSON_Delete(body);
	return rv;
}

int
bridge_call_att(struct bridge *b, const char *type, const cJSON *body,
    const void *att, size_t attlen, int timeout_ms, bridge_cb cb, void *arg)
{
	struct call	*c;
	char		*text;
	size_t		 len;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	proto_new_reqid(c->reqid);
	/*
	 * The message is built here, once: the attachment (a megabyte of
	 * Reddit's text) is copied into it and nowhere else.
	 */
	if (att == NULL)
		attlen = 0;
	if ((text = proto_request_encode(c->reqid, type, body, &len)) == NULL ||
	    nng_msg_alloc(&c->msg, proto_att_framed_len(len, attlen)) != 0) {
		free(text);
		free(c);
		return -1;
	}
	proto_att_frame(nng_msg_body(c->msg), text, len, att, attlen);
	free(text);
	/* queued like any call, but never inside a batch carrier (proto.h) */
	c->solo = 1;
	log_debug("call %s: %s (%zu bytes attached)", c->reqid, type, attlen);
	call_enqueue(b, c, timeout_ms, cb, arg);
	return 0;
}
