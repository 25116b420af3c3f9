/*
 * curlev.c — see curlev.h. The shape is curl's own hiperfifo example: a
 * socket callback that keeps one libevent event per curl socket, a timer
 * callback that arms one libevent timer, and a drain of curl's message
 * queue after every action, where finished transfers call back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libdeflate.h>

#include "lib/curlev.h"
#include "lib/log.h"

#define CURLEV_DEF_TIMEOUT_MS	30000L
#define CURLEV_DEF_CONNECT_MS	10000L
#define CURLEV_DEF_MAX_BYTES	(16u << 20)

struct curlev {
	struct event_base *base;
	CURLM		*multi;
	struct event	*timer;
	int		 running;
	struct libdeflate_decompressor *inflater;	/* made on first use */
};

struct curlev_sock {
	struct curlev	*cv;
	curl_socket_t	 fd;
	struct event	*ev;
	int		 what;
};

static void	curlev_drain(struct curlev *cv);

static void
curlev_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct curlev	*cv = arg;
	int		 action = 0, running;

	if (kind & EV_READ)
		action |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cv->multi, fd, action, &running);
	curlev_drain(cv);
	if (cv->running == 0 && evtimer_pending(cv->timer, NULL))
		evtimer_del(cv->timer);
}

static void
curlev_timer_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct curlev	*cv = arg;
	int		 running;

	(void)fd;
	(void)kind;
	curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_drain(cv);
}

static int
curlev_multi_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct curlev	*cv = arg;
	struct timeval	 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(cv->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(cv->timer, &tv);
	return 0;
}

static int
curlev_multi_socket(CURL *easy, curl_socket_t s, int what, void *arg,
    void *sockp)
{
	struct curlev		*cv = arg;
	struct curlev_sock	*cs = sockp;
	short			 kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			if (cs->ev != NULL)
				event_free(cs->ev);
			free(cs);
		}
		curl_multi_assign(cv->multi, s, NULL);
		return 0;
	}
	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return -1;
		cs->cv = cv;
		cs->fd = s;
		curl_multi_assign(cv->multi, s, cs);
	}
	if (cs->ev != NULL && cs->what == what)
		return 0;
	if (cs->ev != NULL)
		event_free(cs->ev);
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	cs->what = what;
	cs->ev = event_new(cv->base, s, kind, curlev_event_cb, cv);
	if (cs->ev == NULL || event_add(cs->ev, NULL) == -1)
		return -1;
	return 0;
}

static size_t
curlev_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct curlev_req	*r = arg;
	size_t			 len = size * nmemb, ncap;
	char			*nb;

	if (r->write_cb != NULL)
		return r->write_cb(ptr, len, r->write_arg);
	if (r->resplen + len > r->max_bytes) {
		r->too_big = 1;
		return 0;
	}
	if (r->resplen + len + 1 > r->respcap) {
		ncap = r->respcap ? r->respcap : 16384;
		while (ncap < r->resplen + len + 1)
			ncap *= 2;
		if ((nb = realloc(r->resp, ncap)) == NULL)
			return 0;
		r->resp = nb;
		r->respcap = ncap;
	}
	memcpy(r->resp + r->resplen, ptr, len);
	r->resplen += len;
	r->resp[r->resplen] = '\0';
	return len;
}

/*
 * Decode a complete gzip body in place of r->resp. The trailer's ISIZE
 * (the size mod 2^32) sizes the output, which grows when it lies; gzip
 * members that follow one another are decoded one after the other, as
 * zlib does. 0, or -1 with r->errbuf or r->too_big set.
 */
static int
curlev_gunzip(struct curlev *cv, struct curlev_req *r)
{
	const unsigned char	*in = (const unsigned char *)r->resp;
	size_t			 inlen = r->resplen, cap, used, got, off, at;
	enum libdeflate_result	 rv;
	char			*out;

	if (cv->inflater == NULL &&
	    (cv->inflater = libdeflate_alloc_decompressor()) == NULL) {
		snprintf(r->errbuf, sizeof(r->errbuf), "gzip: out of memory");
		return -1;
	}
	if (inlen < 18) {
		snprintf(r->errbuf, sizeof(r->errbuf), "gzip: truncated body "
		    "(%zu bytes)", inlen);
		return -1;
	}
	cap = (size_t)in[inlen - 4] | (size_t)in[inlen - 3] << 8 |
	    (size_t)in[inlen - 2] << 16 | (size_t)in[inlen - 1] << 24;
	if (cap < inlen)
		cap = inlen * 4;
	if (cap > r->max_bytes)
		cap = r->max_bytes;
	for (;;) {
		if ((out = malloc(cap + 1)) == NULL) {
			snprintf(r->errbuf, sizeof(r->errbuf),
			    "gzip: out of memory");
			return -1;
		}
		off = at = 0;
		do {
			rv = libdeflate_gzip_decompress_ex(cv->inflater,
			    in + at, inlen - at, out + off, cap - off, &used,
			    &got);
			if (rv != LIBDEFLATE_SUCCESS)
				break;
			at += used;
			off += got;
		} while (at < inlen);
		if (rv != LIBDEFLATE_INSUFFICIENT_SPACE)
			break;
		free(out);
		if (cap >= r->max_bytes) {
			r->too_big = 1;		/* curlev_drain says so */
			return -1;
		}
		cap = cap > r->max_bytes / 2 ? r->max_bytes : cap * 2;
	}
	if (rv != LIBDEFLATE_SUCCESS) {
		free(out);
		snprintf(r->errbuf, sizeof(r->errbuf),
		    "gzip: not valid gzip data");
		return -1;
	}
	out[off] = '\0';
	free(r->resp);
	r->resp = out;
	r->resplen = off;
	r->respcap = cap + 1;
	return 0;
}

static int
gzipped(struct curlev_req *r)
{
	const char	*ce = curlev_req_resp_header(r, "Content-Encoding");

	if (ce == NULL)
		return 0;
	while (*ce == ' ' || *ce == '\t')
		ce++;
	return strncasecmp(ce, "gzip", 4) == 0 &&
	    (ce[4] == '\0' || ce[4] == ' ' || ce[4] == '\t');
}

/* Run the callbacks of finished transfers. */
static void
curlev_drain(struct curlev *cv)
{
	struct curlev_req	*r;
	CURLMsg			*msg;
	int			 left;
	char			*priv;

	while ((msg = curl_multi_info_read(cv->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		r = (struct curlev_req *)(void *)priv;
		r->curl_code = msg->data.result;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &r->elapsed_s);
		curl_multi_remove_handle(cv->multi, r->easy);
		r->running = 0;
		cv->running--;
		if (r->gunzip && r->write_cb == NULL &&
		    r->curl_code == CURLE_OK && r->resplen > 0 &&
		    gzipped(r) && curlev_gunzip(cv, r) == -1)
			r->curl_code = r->too_big ? CURLE_WRITE_ERROR :
			    CURLE_BAD_CONTENT_ENCODING;
		if (r->too_big && r->curl_code == CURLE_WRITE_ERROR)
			snprintf(r->errbuf, sizeof(r->errbuf),
			    "response larger than %zu bytes", r->max_bytes);
		r->done(r, r->done_arg);
	}
}

struct curlev *
curlev_new(struct event_base *base)
{
	struct curlev	*cv;
	static int	 global_done;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		global_done = 1;
	}
	if ((cv = calloc(1, sizeof(*cv))) == NULL)
		return NULL;
	cv->base = base;
	if ((cv->multi = curl_multi_init()) == NULL) {
		free(cv);
		return NULL;
	}
	cv->timer = evtimer_new(base, curlev_timer_cb, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION,
	    curlev_multi_socket);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION,
	    curlev_multi_timer);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	return cv;
}

void
curlev_free(struct curlev *cv)
{
	if (cv == NULL)
		return;
	/* requests still running belong to their owners; they must have
	 * been cancelled or freed before, which is the owners' job */
	curl_multi_cleanup(cv->multi);
	event_free(cv->timer);
	if (cv->inflater != NULL)
		libdeflate_free_decompressor(cv->inflater);
	free(cv);
}

int
curlev_running(const struct curlev *cv)
{
	return cv->running;
}

struct curlev_req *
curlev_req_new(const char *method, const char *url)
{
	struct curlev_req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->method = strdup(method);
	r->url = strdup(url);
	r->easy = curl_easy_init();
	if (r->method == NULL || r->url == NULL || r->easy == NULL) {
		curlev_req_free(r);
		return NULL;
	}
	return r;
}

void
curlev_req_free(struct curlev_req *r)
{
	if (r == NULL)
		return;
	curlev_cancel(r);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->method);
	free(r->url);
	free(r->body);
	free(r->resp);
	free(r);
}

int
curlev_req_header(struct curlev_req *r, const char *line)
{
	struct curl_slist	*l;

	if ((l = curl_slist_append(r->headers, line)) == NULL)
		return -1;
	r->headers = l;
	return 0;
}

int
curlev_req_body(struct curlev_req *r, const char *body, size_t len)
{
	char	*b;

	if ((b = malloc(len + 1)) == NULL)
		return -1;
	memcpy(b, body, len);
	b[len] = '\0';
	free(r->body);
	r->body = b;
	r->bodylen = len;
	return 0;
}

CURL *
curlev_req_easy(struct curlev_req *r)
{
	return r->easy;
}

const char *
curlev_req_resp_header(struct curlev_req *r, const char *name)
{
	struct curl_header	*h;

	if (curl_easy_header(r->easy, name, 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK)
		return NULL;
	return h->value;
}

void
curlev_req_reset(struct curlev_req *r)
{
	curlev_cancel(r);
	r->curl_code = CURLE_OK;
	r->status = 0;
	r->resplen = 0;
	if (r->resp)
		r->resp[0] = '\0';
	r->too_big = 0;
	r->elapsed_s = 0;
	r->errbuf[0] = '\0';
}

static void
curlev_req_apply(struct curlev_req *r)
{
	CURL	*e = r->easy;

	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, r->follow ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    r->timeout_ms ? r->timeout_ms : CURLEV_DEF_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    r->connect_timeout_ms ? r->connect_timeout_ms :
	    CURLEV_DEF_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curlev_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	if (r->gunzip && r->write_cb == NULL) {
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
		curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	}
	if (strcmp(r->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else {
		if (strcmp(r->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->bodylen);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
		    r->body ? r->body : "");
	}
}

int
curlev_start(struct curlev *cv, struct curlev_req *r, curlev_done_cb done,
    void *arg)
{
	if (r->running)
		return -1;
	if (r->max_bytes == 0)
		r->max_bytes = CURLEV_DEF_MAX_BYTES;
	curlev_req_apply(r);
	r->cv = cv;
	r->done = done;
	r->done_arg = arg;
	if (curl_multi_add_handle(cv->multi, r->easy) != CURLM_OK)
		return -1;
	r->running = 1;
	cv->running++;
	return 0;
}

void
curlev_cancel(struct curlev_req *r)
{
	if (r == NULL || !r->running)
		return;
	curl_multi_remove_handle(r->cv->multi, r->easy);
	r->running = 0;
	r->cv->running--;
}

void
curlev_describe(const struct curlev_req *r, char *buf, size_t len)
{
	if (r->curl_code == CURLE_OPERATION_TIMEDOUT)
		snprintf(buf, len, "timeout after %.1f s", r->elapsed_s);
	else if (r->curl_code != CURLE_OK)
		snprintf(buf, len, "%s", r->errbuf[0] ? r->errbuf :
		    curl_easy_strerror(r->curl_code));
	else
		snprintf(buf, len, "HTTP %ld", r->status);
}
