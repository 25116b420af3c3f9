/*
 * fetchd_archive.c — the archive client of fetchd.h, for history mode's
 * reach beyond Reddit's listing caps ([history] archive_url).
 *
 * The API expected is Arctic Shift's post search (README "History
 * mode"): GET {archive_url}/api/posts/search with subreddit= or author=,
 * before= (epoch seconds, exclusive), limit= (1..100) and sort=desc,
 * answering {"data": [post objects]} newest first. It is not Reddit: no
 * token, no Reddit rate budget, no ".json". Requests run one at a time
 * per job (the caller's), transient failures (transport errors, 5xx,
 * 408, 429, a 2xx that is not JSON) are retried with fetchd_retry.c's
 * back-off, RD_MAX_RETRIES times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"
#include "lib/log.h"

#define AR_PATH		"/api/posts/search"
#define AR_TIMEOUT_MS	30000L
#define AR_MAX_BODY	(32u << 20)

struct ar_client {
	struct event_base *base;
	struct curlev	*cv;
	char		*url;		/* without a trailing '/' */
	char		*ua;
};

struct ar_req {
	struct ar_client *a;
	char		*url;
	struct curlev_req *cr;
	struct event	*ev_retry;
	int		 attempts;
	rd_done_cb	 cb;
	void		*arg;
};

struct ar_client *
ar_client_new(struct event_base *base, const char *url,
    const char *user_agent)
{
	struct ar_client *a;
	size_t		 n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->url = strndup(url, n)) == NULL ||
	    (a->ua = strdup(user_agent)) == NULL ||
	    (a->cv = curlev_new(base)) == NULL) {
		if (a != NULL) {
			free(a->url);
			free(a->ua);
		}
		free(a);
		return NULL;
	}
	a->base = base;
	log_info("archive: %s%s", a->url, AR_PATH);
	return a;
}

void
ar_client_free(struct ar_client *a)
{
	if (a == NULL)
		return;
	curlev_free(a->cv);
	free(a->url);
	free(a->ua);
	free(a);
}

void
ar_cancel(struct ar_req *q)
{
	if (q == NULL)
		return;
	curlev_req_free(q->cr);
	if (q->ev_retry)
		event_free(q->ev_retry);
	free(q->url);
	free(q);
}

static void	ar_attempt_done(struct curlev_req *cr, void *arg);

static void
ar_start(struct ar_req *q)
{
	struct curlev_req *cr;
	CURL		*e;

	if ((cr = curlev_req_new("GET", q->url)) == NULL)
		fatalx("%s: out of memory", __func__);
	e = curlev_req_easy(cr);
	curl_easy_setopt(e, CURLOPT_USERAGENT, q->a->ua);
	cr->gunzip = 1;
	curlev_req_header(cr, "Accept: application/json");
	cr->timeout_ms = AR_TIMEOUT_MS;
	cr->max_bytes = AR_MAX_BODY;
	cr->follow = 1;
	q->cr = cr;
	if (curlev_start(q->a->cv, cr, ar_attempt_done, q) == -1)
		fatalx("%s: curl refused a request", __func__);
}

static void
ar_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ar_start(arg);
}

static void
ar_attempt_done(struct curlev_req *cr, void *arg)
{
	struct ar_req	*q = arg;
	struct rd_result res;
	cJSON		*json = NULL;
	const char	*err = NULL;
	char		 why[400];
	struct timeval	 tv;
	double		 wait;
	rd_done_cb	 cb = q->cb;
	void		*cbarg = q->arg;

	if (cr->curl_code == CURLE_OK && cr->status >= 200 && cr->status < 300)
		json = rd_json_parse(cr->resp, cr->resplen, &err);
	memset(&res, 0, sizeof(res));
	switch (retry_classify(cr, 1, json != NULL, 0)) {
	case RD_RETRY:
	case RD_WAIT:
		retry_describe(cr, json != NULL, why, sizeof(why));
		cJSON_Delete(json);
		if (++q->attempts <= RD_MAX_RETRIES) {
			wait = retry_backoff(q->attempts);
			log_warnx("archive: GET %s: %s; retry %d in %.1f s",
			    q->url, why, q->attempts, wait);
			q->cr = NULL;
			curlev_req_free(cr);
			if (q->ev_retry == NULL)
				q->ev_retry = evtimer_new(q->a->base,
				    ar_retry_cb, q);
			tv.tv_sec = (time_t)wait;
			tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) *
			    1e6);
			evtimer_add(q->ev_retry, &tv);
			return;
		}
		res.failed = 1;
		res.body = "";
		snprintf(res.error, sizeof(res.error), "archive: GET %.250s: "
		    "%.200s (after %d attempts)", q->url, why, q->attempts);
		break;
	default:
		res.status = cr->status;
		res.body = cr->resp ? cr->resp : "";
		res.len = cr->resplen;
		res.json = json;
		break;
	}
	res.attempts = q->attempts + 1;
	cb(&res, cbarg);
	cJSON_Delete(res.json);
	ar_cancel(q);
}

struct ar_req *
ar_posts(struct ar_client *a, int user, const char *name, int64_t before,
    int limit, rd_done_cb cb, void *arg)
{
	struct ar_req	*q;
	char		 b[32] = "";

	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatalx("out of memory");
	q->a = a;
	q->cb = cb;
	q->arg = arg;
	if (before > 0)
		snprintf(b, sizeof(b), "&before=%lld", (long long)before);
	if (asprintf(&q->url, "%s%s?%s=%s%s&limit=%d&sort=desc", a->url,
	    AR_PATH, user ? "author" : "subreddit", name, b, limit) == -1)
		fatalx("out of memory");
	ar_start(q);
	return q;
}
