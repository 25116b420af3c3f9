/*
 * bridge.h — nng and libevent, without crossing threads.
 *
 * nng's aio callbacks run on nng's own threads; nothing there may touch
 * libevent, evhttp or SQLite. The bridge therefore only records a finished
 * call on a locked queue and writes an eventfd; the loop thread drains the
 * queue and runs the caller's callback.
 *
 *   bridge_*  async req client (httpd, fetchd, mediad): many calls in
 *             flight, each on its own nng context, each with a deadline.
 *   rep_*     the serving side (jobd): NNG_OPT_RECVFD as a libevent read
 *             event, envelope parsing and table dispatch, fail closed.
 *   sub_*     event subscriber: NNG_OPT_RECVFD as a read event.
 */
#ifndef RSCRAPE_BRIDGE_H
#define RSCRAPE_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "proto/proto.h"

struct bridge;

/*
 * Runs on the loop thread exactly once per call. On success rep is the
 * parsed reply (ok or error envelope; freed after the callback returns) and
 * err NULL; on failure rep is NULL and err says why ("timeout": jobd did
 * not answer in time; "unreachable": no connection to jobd).
 */
typedef void (*bridge_cb)(const struct proto_reply *rep, const char *err,
    void *arg);

struct bridge	*bridge_open(struct event_base *base, const char *url,
		    const char **errp);
void		 bridge_close(struct bridge *b);
/* Takes ownership of body. Returns 0, or -1 (the callback is not called). */
int		 bridge_call(struct bridge *b, const char *type, cJSON *body,
		    int timeout_ms, bridge_cb cb, void *arg);
/* The same, leaving body with the caller (it is printed before return). */
int		 bridge_call_ref(struct bridge *b, const char *type,
		    const cJSON *body, int timeout_ms, bridge_cb cb, void *arg);
/*
 * A call that only reads. When an identical call (same type and body) is
 * still queued in this round of the loop, this caller joins it and both
 * get its one reply (rep->memo lets them share a rendering of it). Only
 * queued calls are joined, never one already sent, so every answer is
 * read after the request it answers arrived. Takes ownership of body.
 */
int		 bridge_call_read(struct bridge *b, const char *type,
		    cJSON *body, int timeout_ms, bridge_cb cb, void *arg);
/*
 * The same with an attachment after the envelope (proto.h, ATTACHMENTS;
 * task.report only): queued like the others but sent on its own, never
 * inside a batch. body and att stay the caller's.
 */
int		 bridge_call_att(struct bridge *b, const char *type,
		    const cJSON *body, const void *att, size_t attlen,
		    int timeout_ms, bridge_cb cb, void *arg);
/* connected pipes (0: jobd is not there) */
int		 bridge_connected(struct bridge *b);
int		 bridge_inflight(struct bridge *b);

/* serving side */
struct rep_server;
struct rep_ctx {
	const struct proto_request *req;
	cJSON		*reply;		/* handler fills on success */
	const char	*err_code;	/* handler sets via rep_error() */
	char		 err_msg[512];
};
typedef int (*rep_handler)(struct rep_ctx *ctx, void *arg);
struct rep_route {
	const char	*type;
	rep_handler	 fn;
};
/* routes: terminated by {NULL, NULL}; kept by pointer */
struct rep_server *rep_listen(struct event_base *base, const char *url,
		    const struct rep_route *routes, void *arg,
		    const char **errp);
void		 rep_close(struct rep_server *s);
/*
 * Optional: called around the calls of each batch (on the loop thread).
 * begin returns -1 to run the calls without the hooks; end returns -1 when
 * what the calls did was lost (every call is then answered "internal").
 */
void		 rep_batch_hooks(struct rep_server *s, int (*begin)(void *),
		    int (*end)(void *));
/* call from the cron: self-probe and re-listen (nng 1.5.2 bug #1518) */
void		 rep_probe(struct rep_server *s, uint64_t now_ms);
/* for handlers: record an error reply; always returns -1 */
int		 rep_error(struct rep_ctx *ctx, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Dispatch one request buffer through routes; returns malloc'd reply. */
char		*rep_dispatch(const struct rep_route *routes, void *arg,
		    const void *buf, size_t len, size_t *outlen);
/* the same, with batch hooks (NULL: none) */
char		*rep_dispatch_hooked(const struct rep_route *routes, void *arg,
		    int (*begin)(void *), int (*end)(void *), const void *buf,
		    size_t len, size_t *outlen);

/* subscriber */
struct sub;
typedef void (*sub_cb)(const char *topic, cJSON *body, void *arg);
/* topics: NULL-terminated prefixes ("" for all) */
struct sub	*sub_open(struct event_base *base, const char *url,
		    const char *const *topics, sub_cb cb, void *arg,
		    const char **errp);
void		 sub_close(struct sub *s);
/* connections made so far (each may follow lost events) */
int		 sub_connects(struct sub *s);

#endif
