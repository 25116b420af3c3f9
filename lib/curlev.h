/*
 * curlev.h — libcurl's multi interface driven by a libevent loop.
 *
 * One struct curlev per loop: CURLMOPT_SOCKETFUNCTION turns curl's sockets
 * into libevent events, CURLMOPT_TIMERFUNCTION into one timer, and every
 * transfer runs on the loop's thread. A request is a small generic object
 * (method, url, headers, body, timeout, response cap); its completion
 * callback runs on the loop, once, unless the request is cancelled first.
 *
 *   struct curlev_req *r = curlev_req_new("GET", url);
 *   curlev_req_header(r, "Accept: application/json");
 *   curlev_start(cv, r, done, arg);
 *     ... done(r, arg): look at r->curl_code, r->status, r->body ...
 *   curlev_req_free(r);		(the callback's caller owns r)
 *
 * Bodies are buffered up to max_bytes (over the cap the transfer is aborted
 * and r->too_big is set); a streaming user (mediad) sets a write callback
 * instead and gets every chunk as it arrives.
 *
 * With gunzip set (a buffered request), Accept-Encoding is gzip and the
 * body is buffered as it came and decoded once complete, with libdeflate,
 * rather than by curl through zlib chunk by chunk: 3-4 times faster on
 * Reddit's answers (bench/README.md, ingest). max_bytes bounds both the
 * gzip and what it decodes to; a body that does not decode fails the
 * request with CURLE_BAD_CONTENT_ENCODING, as curl's own decoder would.
 */
#ifndef RSCRAPE_CURLEV_H
#define RSCRAPE_CURLEV_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>

struct curlev;
struct curlev_req;

typedef void	(*curlev_done_cb)(struct curlev_req *r, void *arg);
/* Return len to go on; anything else aborts the transfer (CURLE_WRITE_ERROR). */
typedef size_t	(*curlev_write_cb)(const char *buf, size_t len, void *arg);

struct curlev_req {
	/* set before curlev_start() (use the setters below) */
	char		*method;
	char		*url;
	struct curl_slist *headers;
	char		*body;		/* request body, owned */
	size_t		 bodylen;
	long		 timeout_ms;	/* whole transfer; 0: 30 s */
	long		 connect_timeout_ms;	/* 0: 10 s */
	size_t		 max_bytes;	/* response cap; 0: 16 MiB */
	int		 follow;	/* follow redirects (http/https only) */
	curlev_write_cb	 write_cb;	/* streaming: body is not buffered */
	void		*write_arg;
	int		 gunzip;	/* ask for gzip, decode it here (below) */

	/* results, valid in the completion callback */
	CURLcode	 curl_code;	/* CURLE_OK: a complete HTTP answer */
	long		 status;	/* HTTP status, 0 when none */
	char		*resp;		/* buffered body, NUL-terminated */
	size_t		 resplen;
	int		 too_big;	/* aborted at max_bytes */
	double		 elapsed_s;
	char		 errbuf[CURL_ERROR_SIZE];

	/* private */
	CURL		*easy;
	struct curlev	*cv;
	curlev_done_cb	 done;
	void		*done_arg;
	size_t		 respcap;
	int		 running;
};

struct curlev	*curlev_new(struct event_base *base);
/* Cancels every running request (no callbacks) and frees the multi. */
void		 curlev_free(struct curlev *cv);
/* transfers currently running */
int		 curlev_running(const struct curlev *cv);

struct curlev_req *curlev_req_new(const char *method, const char *url);
/* Cancels the request first when it is still running. */
void		 curlev_req_free(struct curlev_req *r);
/* "Name: value"; 0 or -1 */
int		 curlev_req_header(struct curlev_req *r, const char *line);
/* copies the body */
int		 curlev_req_body(struct curlev_req *r, const char *body,
		    size_t len);
/* The easy handle, for options this API does not cover (e.g. USERPWD). */
CURL		*curlev_req_easy(struct curlev_req *r);
/*
 * A response header of a finished request (case-insensitive name), or
 * NULL. The string lives until the request is freed or restarted.
 */
const char	*curlev_req_resp_header(struct curlev_req *r, const char *name);
/* Drop the results so the same request can be started again (retry). */
void		 curlev_req_reset(struct curlev_req *r);

/* 0: running, done will be called once; -1: not started (no callback). */
int		 curlev_start(struct curlev *cv, struct curlev_req *r,
		    curlev_done_cb done, void *arg);
/* Stop a running request; its callback is not called. */
void		 curlev_cancel(struct curlev_req *r);

/* A short description of a failed request: "HTTP 503", "timeout", ... */
void		 curlev_describe(const struct curlev_req *r, char *buf,
		    size_t len);

#endif
