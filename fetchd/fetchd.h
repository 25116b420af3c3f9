/*
 * fetchd.h — fetchd's own parts: the Reddit client (fetchd_reddit.c), its
 * rate governor (fetchd_rate.c), retries (fetchd_retry.c) and the scrape
 * modes (fetchd_full.c; history and monitor plug in beside it through
 * struct fetchd_mode). The pure JSON layer is fetchd_parse.h.
 */
#ifndef RSCRAPE_FETCHD_H
#define RSCRAPE_FETCHD_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "lib/config.h"
#include "lib/curlev.h"
#include "lib/worker.h"

/* job fields (proto.h: task.job) until proto names them */
#ifndef PROTO_TARGET_USER
#define PROTO_TARGET_SUBREDDIT	"subreddit"
#define PROTO_TARGET_USER	"user"
#define PROTO_MODE_FULL		"full"
#define PROTO_MODE_HISTORY	"history"
#define PROTO_MODE_MONITOR	"monitor"
#endif

/* task.job, task.report reply and progress fields every mode reads */
#define J_TARGET	"target"
#define J_TARGET_TYPE	"target_type"
#define J_CONFIG	"config"
#define J_LIMIT		"limit"
#define J_MEDIA		"download_media"
#define J_COMMENTS	"scrape_comments"
#define R_POSTS		"posts_scraped"
#define R_COMMENTS	"comments_scraped"
#define R_MEDIA_NEW	"media_new"
#define P_POSTS		"posts"
#define P_COMMENTS	"comments"
#define P_MEDIA		"media"
#define P_PHASE		"phase"
#define P_REQUESTS	"requests"

/* ------------------------------------------------------------------ */
/* the rate governor (fetchd_rate.c)                                   */

/*
 * Reddit counts requests per OAuth client in fixed windows and says how
 * many are left in X-Ratelimit-Remaining and when the window ends in
 * X-Ratelimit-Reset. The governor spreads what is left over the time left
 * (never faster than requests_per_minute), waits for the reset when
 * nothing is left, and counts requests itself when the headers are absent.
 * Times are seconds on a monotonic clock.
 */
struct rd_rate {
	double		 min_interval;	/* 60 / requests_per_minute */
	double		 remaining;	/* < 0: unknown */
	double		 used;
	double		 reset_at;	/* window end; 0: unknown */
	double		 last_start;	/* of the last request, 0: none */
	double		 blocked_until;	/* after a 429 */
	int64_t		 spent;		/* requests started, ever */
};

void	 rate_init(struct rd_rate *r, int64_t requests_per_minute);
/* Seconds to wait before the next request may start (0: now). */
double	 rate_wait(const struct rd_rate *r, double now, int inflight);
void	 rate_spend(struct rd_rate *r, double now);
/* The three header values (NULL when absent) of one answer. */
void	 rate_update(struct rd_rate *r, double now, const char *remaining,
	    const char *reset, const char *used);
/* A 429: nothing starts before now + seconds. */
void	 rate_block(struct rd_rate *r, double now, double seconds);
double	 rate_now(void);

/* ------------------------------------------------------------------ */
/* retries (fetchd_retry.c)                                             */

#define RD_MAX_RETRIES		4	/* 5 attempts in all */
#define RD_MAX_429		20	/* 429s survived per request */

enum rd_outcome {
	RD_DONE,	/* an answer to hand to the caller (any status) */
	RD_RETRY,	/* transient: try again after a back-off */
	RD_REAUTH,	/* 401 with a token: renew it, try once more */
	RD_WAIT		/* 429: wait for Retry-After / the reset */
};

/* What to do with one finished attempt. json: the body parsed (or NULL). */
enum rd_outcome retry_classify(const struct curlev_req *cr, int want_json,
	    int have_json, int have_token);
/* back-off before attempt n+1 (n ≥ 1), seconds, with jitter */
double	 retry_backoff(int n);
/* "timeout after 30.0 s", "HTTP 503", "truncated or invalid JSON (...)" */
void	 retry_describe(const struct curlev_req *cr, int have_json,
	    char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* the Reddit client (fetchd_reddit.c)                                  */

struct rd_client;
struct rd_req;

#define RD_F_MORECHILDREN	0x01	/* at most one in flight per client */
#define RD_F_RAW		0x02	/* 2xx need not be JSON */

struct rd_result {
	long		 status;	/* 0: no HTTP answer */
	const char	*body;		/* NUL-terminated; "" when none */
	size_t		 len;
	cJSON		*json;		/* 2xx parsed body; set to NULL to keep */
	void		*read;		/* 2xx read by the request's reader
					   instead; set to NULL to keep */
	const char	*location;	/* of a 30x, or NULL */
	int		 failed;	/* retries exhausted: error says why */
	char		 error[512];	/* names the request and the answer */
	int		 attempts;
};

typedef void	(*rd_done_cb)(struct rd_result *res, void *arg);

/* A non-2xx answer about the target, said as the job's error message. */
void		 rd_status_message(const struct rd_result *res, int user,
		    const char *target, const char *what, char *msg,
		    size_t len);
/* An /about answer: 0 when the target can be scraped, else -1 and why. */
int		 rd_about_check(const struct rd_result *res, int user,
		    const char *target, char *msg, size_t len);

struct rd_client *rd_client_new(struct event_base *base,
		    const struct rs_config *cf);
void		 rd_client_free(struct rd_client *c);
/* path: "/r/x/new"; query: "limit=100&after=t3_x" or NULL. */
struct rd_req	*rd_get(struct rd_client *c, const char *path,
		    const char *query, int flags, rd_done_cb cb, void *arg);
/* form: "api_type=json&link_id=..." (already url-encoded) */
struct rd_req	*rd_post(struct rd_client *c, const char *path,
		    const char *form, int flags, rd_done_cb cb, void *arg);
/*
 * A reader for the request's 2xx bodies instead of cJSON (comment trees:
 * rd_stage_tree): read returns what it made of the body (res->read), or
 * NULL when the body is not JSON, which is retried as an unparsable body
 * is; unread frees what the callback left in res->read.
 */
typedef void	*(*rd_read_fn)(const char *buf, size_t len, const char **errp);
typedef void	 (*rd_unread_fn)(void *read);
void		 rd_reader(struct rd_req *q, rd_read_fn read,
		    rd_unread_fn unread);
/* Forget a request; its callback is never called. NULL is fine. */
void		 rd_cancel(struct rd_req *q);
/* API requests answered so far (tokens not counted) */
int64_t		 rd_client_requests(const struct rd_client *c);
/* requests left in Reddit's current window (< 0: not known yet) */
double		 rd_client_budget(const struct rd_client *c);

/* ------------------------------------------------------------------ */
/* the archive client (fetchd_archive.c)                               */

/*
 * An archive API of the Arctic Shift kind ([history] archive_url):
 * GET {archive_url}/api/posts/search?subreddit=X|author=X&before=EPOCH
 * &limit=N&sort=desc answers {"data": [post objects]}, newest first. No
 * token and no Reddit budget; transient failures are retried as for
 * Reddit. The result's json is the parsed body.
 */
struct ar_client;
struct ar_req;

struct ar_client *ar_client_new(struct event_base *base, const char *url,
		    const char *user_agent);
void		 ar_client_free(struct ar_client *a);
/* before <= 0: from the newest */
struct ar_req	*ar_posts(struct ar_client *a, int user, const char *name,
		    int64_t before, int limit, rd_done_cb cb, void *arg);
void		 ar_cancel(struct ar_req *q);

/* ------------------------------------------------------------------ */
/* a set of post fullnames (fetchd_seen.c)                             */

struct seen {
	char		**slot;
	size_t		 cap, n;
};

int		 seen_has(const struct seen *k, const char *id);
/* 1 when id was not in the set */
int		 seen_add(struct seen *k, const char *id);
void		 seen_free(struct seen *k);
/* "id,id,..." (bare ids of "t3_" fullnames), and back */
cJSON		*seen_dump(const struct seen *k);
void		 seen_load(struct seen *k, const char *s);

/* ------------------------------------------------------------------ */
/* the daemon and its modes                                             */

struct fetchd {
	struct daemon	*d;
	struct worker	*w;
	struct rd_client *rc;
	struct ar_client *ac;		/* NULL without [history] archive_url */
};

/* ------------------------------------------------------------------ */
/* comment trees of a job's posts, for every mode (fetchd_trees.c)     */

struct trees;

struct trees_hooks {
	cJSON		**out;		/* comment records are appended here */
	int64_t		 *requests;	/* requests spent are counted here */
	int		 *dirty;	/* set when a tree completes */
	void		(*pump)(void *arg);	/* after every answer */
	/* the job fails; the pool is freed with it, nothing more is done */
	void		(*fail)(void *arg, const char *msg);
	void		 *arg;
};

struct trees	*trees_new(struct fetchd *f, const char *job_id,
		    const struct trees_hooks *h);
void		 trees_free(struct trees *p);
/*
 * want the tree of this post ("t3_x"), of about num_comments comments
 * (0: not known); again is a no-op while pending
 */
void		 trees_add(struct trees *p, const char *post,
		    int64_t num_comments);
/* start trees (at most `active` at once) and ask what they need */
void		 trees_step(struct trees *p, int active);
size_t		 trees_pending(const struct trees *p);	/* not complete */
size_t		 trees_waiting(const struct trees *p);	/* not started */
int		 trees_idle(const struct trees *p);
/* the pending posts, for a checkpoint: ["t3_a", ...] */
cJSON		*trees_checkpoint(const struct trees *p);
void		 trees_restore(struct trees *p, const cJSON *pending);

/* A scrape mode: start work on a leased task, stop it at once. */
struct fetchd_mode {
	const char	*name;		/* PROTO_MODE_* */
	int		(*start)(struct fetchd *f, struct worker_task *t);
	void		(*stop)(struct fetchd *f, struct worker_task *t,
			    enum worker_stop why);
};

/* A count field of a stored progress (may be NULL) into *out; left
 * alone when absent or not a number ≥ 0. */
void	 fetchd_get_count(const cJSON *obj, const char *key, int64_t *out);

extern const struct fetchd_mode fetchd_mode_full;
extern const struct fetchd_mode fetchd_mode_history;
extern const struct fetchd_mode fetchd_mode_monitor;

#endif
