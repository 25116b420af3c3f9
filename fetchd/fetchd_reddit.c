/*
 * fetchd_reddit.c — the Reddit client of fetchd.h: one per process, since
 * Reddit's budget belongs to one OAuth client.
 *
 * Requests wait in one FIFO; rd_pump() starts them on the curl multi when
 * the governor allows, at most RD_INFLIGHT at once and only one
 * /api/morechildren. Each finished attempt is classified (fetchd_retry.c):
 * retried after a back-off, retried after a new token (401, once), held
 * back until the rate window reopens (429), or handed to the caller. With
 * client_id set, requests go to api_url with a bearer token from token_url
 * (client_credentials, or the password grant when username/password are
 * set); without it, to public_url with ".json" paths.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "proto/proto.h"

#define RD_INFLIGHT		6
#define RD_TIMEOUT_MS		30000L
#define RD_MAX_BODY		(64u << 20)
#define RD_RAW_JSON		"raw_json=1"

/* OAuth2 token endpoint fields (RFC 6749) */
#define OA_ACCESS_TOKEN		"access_token"
#define OA_EXPIRES_IN		"expires_in"
#define OA_ERROR		"error"

struct rd_req {
	TAILQ_ENTRY(rd_req) entry;
	struct rd_client *c;
	int		 post;
	char		*path;
	char		*query;		/* GET query or POST form */
	char		 desc[320];	/* "GET /r/x/new?limit=100" */
	int		 flags;
	rd_done_cb	 cb;
	void		*arg;
	rd_read_fn	 read;		/* NULL: 2xx bodies parsed by cJSON */
	rd_unread_fn	 unread;
	struct curlev_req *cr;		/* while running */
	int		 attempts;	/* failed attempts */
	int		 n429;
	int		 reauthed;
	unsigned	 token_gen;
	double		 not_before;
};
TAILQ_HEAD(rd_req_q, rd_req);

struct rd_client {
	struct event_base *base;
	const struct rs_config *cf;
	struct curlev	*cv;
	struct rd_rate	 rate;
	struct rd_req_q	 queue;		/* waiting, in order */
	struct rd_req_q	 running;
	int		 inflight;
	int		 mc_busy;
	int		 pumping;
	struct event	*ev_pump;
	int64_t		 answered;
	/* OAuth */
	int		 oauth;
	char		*token;
	unsigned	 token_gen;
	double		 token_renew_at;
	struct curlev_req *token_cr;
	int		 token_tries;
	double		 token_not_before;
};

static void	rd_pump(struct rd_client *c);

static void
rd_req_free(struct rd_req *q)
{
	curlev_req_free(q->cr);
	free(q->path);
	free(q->query);
	free(q);
}

static void
rd_pump_later(struct rd_client *c, double secs)
{
	struct timeval	tv;

	if (secs < 0.001)
		secs = 0.001;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->ev_pump, &tv);
}

/*
 * At the loop's next turn: a request asked for from inside a callback
 * starts as soon as that returns. (Through rd_pump_later()'s 1 ms floor,
 * every request in a chain (about, listing, a tree, the morechildren
 * after it) waited a millisecond or more first.) A wait already pending
 * is worked out again by that pump.
 */
static void
rd_pump_soon(struct rd_client *c)
{
	static const struct timeval now = { 0, 0 };

	evtimer_add(c->ev_pump, &now);
}

static void
rd_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rd_pump(arg);
}

/* Hand the result to the caller and forget the request. */
static void
rd_finish(struct rd_req *q, struct rd_result *res)
{
	rd_done_cb	 cb = q->cb;
	void		*arg = q->arg;

	res->attempts = q->attempts + 1;
	cb(res, arg);
	cJSON_Delete(res->json);
	if (res->read != NULL)
		q->unread(res->read);
	rd_req_free(q);
}

/* Retries are exhausted: "<request>: <what came back> (after n attempts)" */
static void
rd_fail(struct rd_req *q, const char *what)
{
	struct rd_result res;

	memset(&res, 0, sizeof(res));
	res.body = "";
	res.failed = 1;
	snprintf(res.error, sizeof(res.error), "%s: %s (after %d attempts)",
	    q->desc, what, q->attempts + q->n429);
	log_warnx("reddit: %s", res.error);
	rd_finish(q, &res);
}

/* ---------------------------------------------------------------- */
/* OAuth                                                              */

static void
token_fail_all(struct rd_client *c, const char *why)
{
	struct rd_req	*q;
	char		 msg[400];

	snprintf(msg, sizeof(msg), "Reddit token request to %s: %s",
	    c->cf->reddit.token_url, why);
	if (TAILQ_EMPTY(&c->queue))	/* the one asked for at start */
		log_warnx("%s (the next job asks again)", msg);
	while ((q = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, q, entry);
		rd_fail(q, msg);
	}
}

static void
token_done(struct curlev_req *cr, void *arg)
{
	struct rd_client *c = arg;
	cJSON		*j = NULL;
	const char	*tok = NULL, *err = NULL;
	int64_t		 expires = 3600;
	double		 now = rate_now(), margin;
	char		 why[600];
	int		 transient;

	c->token_cr = NULL;
	if (cr->curl_code == CURLE_OK && cr->status == 200)
		j = rd_json_parse(cr->resp, cr->resplen, NULL);
	if (j != NULL) {
		proto_get_str(j, OA_ERROR, 0, &err, NULL);
		proto_get_str(j, OA_ACCESS_TOKEN, 0, &tok, NULL);
		proto_get_int(j, OA_EXPIRES_IN, 0, &expires, NULL);
	}
	if (tok != NULL && err == NULL) {
		free(c->token);
		c->token = strdup(tok);
		c->token_gen++;
		/* renewed a minute early (a quarter early if that is less),
		 * so no request goes out on a token about to expire */
		margin = expires / 4.0;
		if (margin > 60)
			margin = 60;
		c->token_renew_at = now + (double)expires - margin;
		c->token_tries = 0;
		log_info("reddit: new access token, valid %lld s",
		    (long long)expires);
		cJSON_Delete(j);
		curlev_req_free(cr);
		rd_pump(c);
		return;
	}
	transient = retry_classify(cr, 1, j != NULL, 0) == RD_RETRY ||
	    cr->status == 429;
	if (err != NULL)
		snprintf(why, sizeof(why), "HTTP %ld, error \"%s\"",
		    cr->status, err);
	else
		retry_describe(cr, j != NULL, why, sizeof(why));
	cJSON_Delete(j);
	curlev_req_free(cr);
	if (transient && ++c->token_tries <= RD_MAX_RETRIES) {
		log_warnx("reddit: token request: %s; retrying", why);
		c->token_not_before = now + retry_backoff(c->token_tries);
		rd_pump_later(c, c->token_not_before - now);
		return;
	}
	c->token_tries = 0;
	token_fail_all(c, why);
}

static void
token_start(struct rd_client *c)
{
	const struct rs_config *cf = c->cf;
	struct curlev_req *cr;
	char		*u, *p, form[1024];
	CURL		*e;

	if ((cr = curlev_req_new("POST", cf->reddit.token_url)) == NULL)
		fatalx("%s: out of memory", __func__);
	e = curlev_req_easy(cr);
	if (cf->reddit.username[0] != '\0') {
		u = curl_easy_escape(e, cf->reddit.username, 0);
		p = curl_easy_escape(e, cf->reddit.password, 0);
		snprintf(form, sizeof(form),
		    "grant_type=password&username=%s&password=%s", u, p);
		curl_free(u);
		curl_free(p);
	} else
		snprintf(form, sizeof(form), "grant_type=client_credentials");
	curlev_req_body(cr, form, strlen(form));
	curlev_req_header(cr,
	    "Content-Type: application/x-www-form-urlencoded");
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, cf->reddit.client_id);
	curl_easy_setopt(e, CURLOPT_PASSWORD, cf->reddit.client_secret);
	curl_easy_setopt(e, CURLOPT_USERAGENT, cf->reddit.user_agent);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	cr->timeout_ms = RD_TIMEOUT_MS;
	if (curlev_start(c->cv, cr, token_done, c) == -1) {
		curlev_req_free(cr);
		token_fail_all(c, "could not start the request");
		return;
	}
	c->token_cr = cr;
}

/* ---------------------------------------------------------------- */
/* requests                                                           */

static void	rd_attempt_done(struct curlev_req *cr, void *arg);

static void
rd_start(struct rd_client *c, struct rd_req *q)
{
	const struct rs_config *cf = c->cf;
	struct curlev_req *cr;
	char		*url, auth[1024];
	const char	*base = c->oauth ? cf->reddit.api_url :
			    cf->reddit.public_url;
	size_t		 blen = strlen(base);
	CURL		*e;
	int		 n;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (q->post)
		n = asprintf(&url, "%.*s%s%s?%s", (int)blen, base, q->path,
		    c->oauth ? "" : ".json", RD_RAW_JSON);
	else
		n = asprintf(&url, "%.*s%s%s?%s%s%s", (int)blen, base,
		    q->path, c->oauth ? "" : ".json",
		    q->query ? q->query : "", q->query ? "&" : "",
		    RD_RAW_JSON);
	if (n == -1 || (cr = curlev_req_new(q->post ? "POST" : "GET",
	    url)) == NULL)
		fatalx("%s: out of memory", __func__);
	free(url);
	e = curlev_req_easy(cr);
	if (q->post) {
		curlev_req_body(cr, q->query, strlen(q->query));
		curlev_req_header(cr,
		    "Content-Type: application/x-www-form-urlencoded");
	}
	if (c->oauth) {
		snprintf(auth, sizeof(auth), "Authorization: bearer %s",
		    c->token);
		curlev_req_header(cr, auth);
		q->token_gen = c->token_gen;
	}
	curl_easy_setopt(e, CURLOPT_USERAGENT, cf->reddit.user_agent);
	cr->gunzip = 1;		/* decoded whole, by libdeflate (curlev.h) */
	cr->timeout_ms = RD_TIMEOUT_MS;
	cr->max_bytes = RD_MAX_BODY;
	cr->follow = 0;		/* a redirect is a signal (REDDIT.md §4) */
	if (curlev_start(c->cv, cr, rd_attempt_done, q) == -1)
		fatalx("%s: curl refused a request", __func__);
	q->cr = cr;
	TAILQ_INSERT_TAIL(&c->running, q, entry);
	c->inflight++;
	if (q->flags & RD_F_MORECHILDREN)
		c->mc_busy = 1;
	rate_spend(&c->rate, rate_now());
	log_debug("reddit: %s", q->desc);
}

/* the kind label of rscrape_reddit_requests_total */
static const char *
rd_kind(const char *path)
{
	size_t		 n = strlen(path);
	const char	*p;
	int		 segs = 0;

	if (strstr(path, "/api/morechildren") != NULL)
		return "morechildren";
	if ((p = strstr(path, "/comments/")) != NULL) {
		/* /comments/ID is a tree, /comments/ID/_/CID a thread's rest */
		for (p += 10; *p != '\0'; p++)
			if (*p != '/' && (p[-1] == '/'))
				segs++;
		return segs >= 3 ? "continue" : "comments";
	}
	if (n >= 6 && strcmp(path + n - 6, "/about") == 0)
		return "about";
	if (strncmp(path, "/user/", 6) == 0)
		return "user";
	if (strncmp(path, "/api/info", 9) == 0)
		return "info";
	return "listing";
}

static void
rd_count(const struct rd_req *q, const struct curlev_req *cr)
{
	char	labels[96];

	if (cr->curl_code == CURLE_OK && cr->status > 0)
		snprintf(labels, sizeof(labels), "kind=\"%s\",status=\"%ld\"",
		    rd_kind(q->path), cr->status);
	else
		snprintf(labels, sizeof(labels), "kind=\"%s\",status=\"error\"",
		    rd_kind(q->path));
	stats_add("rscrape_reddit_requests_total", labels, 1);
	if (cr->status == 429)
		stats_add("rscrape_reddit_429_total", NULL, 1);
	if (q->c->rate.remaining >= 0)
		stats_set("rscrape_reddit_rate_remaining", NULL,
		    q->c->rate.remaining);
}

static void
rd_attempt_done(struct curlev_req *cr, void *arg)
{
	struct rd_req	*q = arg;
	struct rd_client *c = q->c;
	struct rd_result res;
	const char	*ra, *err = NULL;
	double		 now = rate_now(), wait;
	cJSON		*json = NULL;
	void		*read = NULL;
	char		 why[400];
	enum rd_outcome	 out;

	TAILQ_REMOVE(&c->running, q, entry);
	c->inflight--;
	if (q->flags & RD_F_MORECHILDREN)
		c->mc_busy = 0;
	q->cr = NULL;
	if (cr->curl_code == CURLE_OK && cr->status > 0) {
		c->answered++;
		rate_update(&c->rate, now,
		    curlev_req_resp_header(cr, "x-ratelimit-remaining"),
		    curlev_req_resp_header(cr, "x-ratelimit-reset"),
		    curlev_req_resp_header(cr, "x-ratelimit-used"));
	}
	rd_count(q, cr);
	if (cr->curl_code == CURLE_OK && cr->status >= 200 &&
	    cr->status < 300 && !(q->flags & RD_F_RAW)) {
		if (q->read != NULL)
			read = q->read(cr->resp, cr->resplen, &err);
		else
			json = rd_json_parse(cr->resp, cr->resplen, &err);
	}
	out = retry_classify(cr, !(q->flags & RD_F_RAW), json != NULL ||
	    read != NULL, c->oauth);
	if (out == RD_REAUTH && q->reauthed)
		out = RD_DONE;
	switch (out) {
	case RD_WAIT:
		ra = curlev_req_resp_header(cr, "retry-after");
		wait = ra ? strtod(ra, NULL) : 0;
		if (wait <= 0 && c->rate.reset_at > now)
			wait = c->rate.reset_at - now;
		if (wait <= 0)
			wait = 5;
		rate_block(&c->rate, now, wait);
		log_warnx("reddit: %s: 429, waiting %.1f s", q->desc, wait);
		if (++q->n429 > RD_MAX_429) {
			curlev_req_free(cr);
			rd_fail(q, "HTTP 429 Too Many Requests, again and "
			    "again");
			break;
		}
		curlev_req_free(cr);
		TAILQ_INSERT_HEAD(&c->queue, q, entry);
		break;
	case RD_REAUTH:
		q->reauthed = 1;
		if (q->token_gen == c->token_gen) {
			log_info("reddit: %s: 401, renewing the token",
			    q->desc);
			c->token_renew_at = 0;
		}
		curlev_req_free(cr);
		TAILQ_INSERT_HEAD(&c->queue, q, entry);
		break;
	case RD_RETRY:
		retry_describe(cr, json != NULL || read != NULL, why,
		    sizeof(why));
		cJSON_Delete(json);
		if (read != NULL)
			q->unread(read);
		curlev_req_free(cr);
		if (++q->attempts > RD_MAX_RETRIES) {
			rd_fail(q, why);
			break;
		}
		q->not_before = now + retry_backoff(q->attempts);
		log_warnx("reddit: %s: %s; retry %d in %.1f s", q->desc, why,
		    q->attempts, q->not_before - now);
		TAILQ_INSERT_HEAD(&c->queue, q, entry);
		break;
	case RD_DONE:
		memset(&res, 0, sizeof(res));
		res.status = cr->status;
		res.body = cr->resp ? cr->resp : "";
		res.len = cr->resplen;
		res.json = json;
		res.read = read;
		res.location = curlev_req_resp_header(cr, "location");
		if (cr->curl_code != CURLE_OK) {
			res.failed = 1;
			retry_describe(cr, 0, why, sizeof(why));
			snprintf(res.error, sizeof(res.error), "%.250s: %.250s",
			    q->desc, why);
		}
		q->cr = cr;	/* freed with q, after the callback */
		rd_finish(q, &res);
		break;
	}
	rd_pump(c);
}

static void
rd_pump(struct rd_client *c)
{
	struct rd_req	*q, *next;
	double		 now, wake = 0, w;

	if (c->pumping)
		return;
	c->pumping = 1;
	now = rate_now();
	if (c->oauth && (c->token == NULL || now >= c->token_renew_at)) {
		if (c->token_cr == NULL && !TAILQ_EMPTY(&c->queue)) {
			if (now >= c->token_not_before)
				token_start(c);
			else
				wake = c->token_not_before;
		}
		/* requests wait for the new token */
		goto out;
	}
	for (q = TAILQ_FIRST(&c->queue); q != NULL; q = next) {
		next = TAILQ_NEXT(q, entry);
		if (c->inflight >= RD_INFLIGHT)
			break;
		if (q->not_before > now) {
			if (wake == 0 || q->not_before < wake)
				wake = q->not_before;
			continue;
		}
		if ((q->flags & RD_F_MORECHILDREN) && c->mc_busy)
			continue;
		if ((w = rate_wait(&c->rate, now, c->inflight)) > 0) {
			if (wake == 0 || now + w < wake)
				wake = now + w;
			break;
		}
		TAILQ_REMOVE(&c->queue, q, entry);
		rd_start(c, q);
	}
out:
	if (wake > 0)
		rd_pump_later(c, wake - now);
	c->pumping = 0;
}

static struct rd_req *
rd_enqueue(struct rd_client *c, int post, const char *path,
    const char *query, int flags, rd_done_cb cb, void *arg)
{
	struct rd_req	*q;

	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->path = strdup(path)) == NULL ||
	    (query && (q->query = strdup(query)) == NULL))
		fatalx("%s: out of memory", __func__);
	q->c = c;
	q->post = post;
	q->flags = flags;
	q->cb = cb;
	q->arg = arg;
	snprintf(q->desc, sizeof(q->desc), "%s %s%s%.200s", post ? "POST" :
	    "GET", path, query ? "?" : "", query ? query : "");
	TAILQ_INSERT_TAIL(&c->queue, q, entry);
	/* started from the loop, never inside the caller's own callback */
	rd_pump_soon(c);
	return q;
}

struct rd_req *
rd_get(struct rd_client *c, const char *path, const char *query, int flags,
    rd_done_cb cb, void *arg)
{
	return rd_enqueue(c, 0, path, query, flags, cb, arg);
}

struct rd_req *
rd_post(struct rd_client *c, const char *path, const char *form, int flags,
    rd_done_cb cb, void *arg)
{
	return rd_enqueue(c, 1, path, form ? form : "", flags, cb, arg);
}

void
rd_reader(struct rd_req *q, rd_read_fn read, rd_unread_fn unread)
{
	q->read = read;
	q->unread = unread;
}

void
rd_cancel(struct rd_req *q)
{
	struct rd_client *c;

	if (q == NULL)
		return;
	c = q->c;
	if (q->cr != NULL && q->cr->running) {
		TAILQ_REMOVE(&c->running, q, entry);
		c->inflight--;
		if (q->flags & RD_F_MORECHILDREN)
			c->mc_busy = 0;
	} else
		TAILQ_REMOVE(&c->queue, q, entry);
	rd_req_free(q);
	rd_pump_soon(c);
}

int64_t
rd_client_requests(const struct rd_client *c)
{
	return c->answered;
}

double
rd_client_budget(const struct rd_client *c)
{
	return c->rate.remaining;
}

struct rd_client *
rd_client_new(struct event_base *base, const struct rs_config *cf)
{
	struct rd_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->cf = cf;
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->running);
	if ((c->cv = curlev_new(base)) == NULL) {
		free(c);
		return NULL;
	}
	c->ev_pump = evtimer_new(base, rd_pump_cb, c);
	rate_init(&c->rate, cf->reddit.requests_per_minute);
	c->oauth = cf->reddit.client_id[0] != '\0';
	if (c->oauth) {
		log_info("reddit: OAuth client %s (%s grant) against %s, at "
		    "most %lld requests a minute%s", cf->reddit.client_id,
		    cf->reddit.username[0] ? "password" : "client_credentials",
		    cf->reddit.api_url,
		    (long long)cf->reddit.requests_per_minute,
		    cf->reddit.requests_per_minute == 0 ?
		    " (0: as Reddit's rate-limit headers allow)" : "");
		/*
		 * The token is asked for at start, not by the first job: it
		 * does not wait for it, and bad credentials show at once.
		 */
		token_start(c);
	} else
		log_warnx("reddit: no client_id: unauthenticated JSON from "
		    "%s (.json paths); Reddit blocks this for most callers, "
		    "set [reddit] client_id and client_secret",
		    cf->reddit.public_url);
	return c;
}

void
rd_client_free(struct rd_client *c)
{
	struct rd_req	*q;

	if (c == NULL)
		return;
	while ((q = TAILQ_FIRST(&c->running)) != NULL)
		rd_cancel(q);
	while ((q = TAILQ_FIRST(&c->queue)) != NULL)
		rd_cancel(q);
	curlev_req_free(c->token_cr);
	event_free(c->ev_pump);
	curlev_free(c->cv);
	free(c->token);
	free(c);
}

void
rd_status_message(const struct rd_result *res, int user, const char *target,
    const char *what, char *msg, size_t len)
{
	struct rd_verdict v;

	rd_classify(res->status, res->body, res->len, res->location,
	    user ? RD_TARGET_USER : RD_TARGET_SUBREDDIT, target, &v);
	snprintf(msg, len, "%s (%s: HTTP %ld)", v.message, what, res->status);
}

int
rd_about_check(const struct rd_result *res, int user, const char *target,
    char *msg, size_t len)
{
	struct rd_verdict v;
	enum rd_status	 st;

	if (res->failed) {
		snprintf(msg, len, "%s", res->error);
		return -1;
	}
	if (res->status != 200) {
		rd_status_message(res, user, target, "about", msg, len);
		return -1;
	}
	st = user ? rd_about_user(res->body, res->len, target, &v, NULL, 0) :
	    rd_about_subreddit(res->body, res->len, target, &v, NULL, 0);
	if (st != RD_S_OK) {
		snprintf(msg, len, "%s", v.message);
		return -1;
	}
	return 0;
}
