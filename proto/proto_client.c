/*
 * proto_client.c — the synchronous req client of proto.h, for rscrapectl
 * and tests. Daemons with an event loop use lib/bridge.h instead.
 */
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "lib/sockclose.h"
#include "proto/proto.h"

struct proto_client {
	nng_socket	 sock;
};

struct proto_client *
proto_client_open(const char *url, const char **errp)
{
	struct proto_client	*c;
	int			 rv;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*errp = "out of memory";
		return NULL;
	}
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		*errp = nng_strerror(rv);
		free(c);
		return NULL;
	}
	/* A resent request could be applied twice; the caller decides. */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 500);
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 64 << 20);
	/* non-blocking dial: a jobd that is not up yet is retried */
	if ((rv = nng_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		*errp = nng_strerror(rv);
		nng_close(c->sock);
		free(c);
		return NULL;
	}
	return c;
}

void
proto_client_close(struct proto_client *c)
{
	if (c == NULL)
		return;
	(void)sock_close_bounded(c->sock, SOCK_CLOSE_WAIT_MS);
	free(c);
}

int
proto_client_call(struct proto_client *c, const char *type, cJSON *body,
    int timeout_ms, struct proto_reply *rep, const char **errp)
{
	char		 reqid[PROTO_REQID_MAX + 1];
	char		*buf;
	size_t		 len;
	nng_msg		*msg;
	int		 rv;

	memset(rep, 0, sizeof(*rep));
	proto_new_reqid(reqid);
	buf = proto_request_encode(reqid, type, body, &len);
	cJSON_Delete(body);
	if (buf == NULL) {
		*errp = "cannot encode request";
		return -1;
	}
	nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms);
	nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, timeout_ms);
	rv = nng_send(c->sock, buf, len, 0);
	free(buf);
	if (rv != 0) {
		*errp = rv == NNG_ETIMEDOUT ? "jobd did not answer in time" :
		    nng_strerror(rv);
		return -1;
	}
	if ((rv = nng_recvmsg(c->sock, &msg, 0)) != 0) {
		*errp = rv == NNG_ETIMEDOUT ? "jobd did not answer in time" :
		    nng_strerror(rv);
		return -1;
	}
	rv = proto_reply_parse(nng_msg_body(msg), nng_msg_len(msg), rep, errp);
	nng_msg_free(msg);
	if (rv == -1) {
		proto_reply_free(rep);
		return -1;
	}
	if (strcmp(rep->id, reqid) != 0) {
		*errp = "reply id does not match request";
		proto_reply_free(rep);
		return -1;
	}
	return 0;
}
