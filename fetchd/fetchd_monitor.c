/*
 * fetchd_monitor.c — monitor mode: never miss a new post or comment of the
 * target, with no duplicates, across restarts, for as long as it runs.
 *
 * Start: the newest comment of the target's comment stream is taken as
 * the comments' mark (nothing stored), then the newest `limit` posts are
 * stored as in full mode, each with its comment tree (fetchd_trees.c);
 * the newest of them is the posts' mark. Since the comments' mark comes
 * first, every comment made later is in the stream.
 *
 * Then it polls two streams, newest first:
 *   posts     /r/{sub}/new        (/user/{name}/submitted?sort=new)
 *   comments  /r/{sub}/comments   (/user/{name}/comments?sort=new)
 * Everything newer than a stream's mark (Reddit ids grow with time, so
 * "newer" is a comparison of ids) is stored. When a whole page is new, the
 * poll pages further back (after=) until it meets the mark or the listing
 * ends, so a burst larger than a page is not lost; the mark moves to the
 * newest item only when the walk is complete and its records are in the
 * batch that carries the new mark. A comment of a new post arrives through
 * the comment stream like any other.
 *
 * Rhythm (within [monitor] min_interval..max_interval): min_interval
 * after a poll that had to page back, half the interval after one that
 * found something, 1.5 times after a quiet one; never faster than a
 * quarter of [reddit] requests_per_minute allows for one poll's requests.
 * It runs until cancelled or until `limit` posts are stored (completed).
 *
 * Checkpoint (with each batch, so it never runs ahead of the records):
 *   {about, after, listed, exhausted, pending: [..] (the start),
 *    started: bool, p_mark, p_time, c_mark, c_time, polls, interval}
 * A re-leased task resumes the start where it was, or polls on from the
 * marks: the walk that was under way is made again, and what it stores
 * again jobd already has (no duplicate, no gap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"
#include "lib/log.h"
#include "proto/proto.h"

#define M_ACTIVE	4	/* comment trees worked on at once */
#define M_BACKLOG	6	/* batches waiting for jobd before we pause */
#define M_PAGE		100
#define M_WALK_MAX	10	/* pages per walk: Reddit's ~1000 horizon */
#define M_RING		64	/* batches in flight, tracked */

#define P_POLLS		"polls"
#define P_LAST_POLL	"last_poll_at"
#define P_NEXT_POLL	"next_poll_at"
#define P_INTERVAL	"interval_seconds"
#define P_NEW_POSTS	"new_posts"
#define P_NEW_COMMENTS	"new_comments"
#define C_ABOUT		"about"
#define C_AFTER		"after"
#define C_LISTED	"listed"
#define C_EXHAUSTED	"exhausted"
#define C_PENDING	"pending"
#define C_STARTED	"started"
#define C_PMARK		"p_mark"
#define C_PTIME		"p_time"
#define C_CMARK		"c_mark"
#define C_CTIME		"c_time"
#define C_INTERVAL	"interval"

struct mon_job;

/* one polled stream */
struct stream {
	struct mon_job	*j;
	int		 comments;	/* t1 stream, else t3 */
	char		 mark[RD_FULLNAME_MAX + 1];	/* newest stored */
	int64_t		 mark_time;
	/* the walk under way */
	struct rd_req	*q;
	int		 walking, pages;
	char		 after[RD_FULLNAME_MAX + 1];
	char		 top[RD_FULLNAME_MAX + 1];
	int64_t		 top_time;
	int64_t		 found;		/* new items, this walk */
	int64_t		 total;		/* new items, ever (progress) */
};

struct mon_job {
	const struct fetchd_mode *mode;		/* first: see fetchd.c */
	struct fetchd	*f;
	struct worker_task *t;
	char		 target[128];
	int		 user, want_media, want_comments;
	int64_t		 limit;
	int		 about_ok;
	struct rd_req	*about_q, *list_q;
	/* the start */
	int		 anchored;	/* comments' mark taken */
	char		 after[RD_FULLNAME_MAX + 1];
	int64_t		 listed;
	int		 exhausted, started;
	struct trees	*trees;
	/* polling */
	struct stream	 ps, cs;
	struct event	*ev_poll;
	int		 polling, timer_set;
	double		 interval;
	int64_t		 poll_requests;
	time_t		 last_poll, next_poll;
	int64_t		 polls;
	/* posts sent to jobd and not yet acknowledged, per batch */
	int64_t		 unacked, ring[M_RING];
	int		 rhead, rcount;
	int64_t		 batch_posts;
	cJSON		*out_posts, *out_comments, *out_media;
	int		 dirty;
	int64_t		 posts, comments, media, requests;
	int		 ended, in_pump;
};

static void	mon_pump(struct mon_job *j);

/* ---------------------------------------------------------------- */
/* helpers                                                            */

static cJSON *
out_array(cJSON **a)
{
	if (*a == NULL && (*a = cJSON_CreateArray()) == NULL)
		fatalx("out of memory");
	return *a;
}

/* Reddit ids grow with time: compare "t3_abc" by their base-36 values. */
static int
id_cmp(const char *a, const char *b)
{
	const char	*x = strchr(a, '_'), *y = strchr(b, '_');
	size_t		 la, lb;

	x = x ? x + 1 : a;
	y = y ? y + 1 : b;
	la = strlen(x);
	lb = strlen(y);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(x, y);
}

/* RFC 3339 UTC, or null for 0 */
static void
add_time(cJSON *o, const char *key, time_t t)
{
	struct tm	tm;
	char		buf[32];

	if (t <= 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, key, buf);
}

#define posts_full(j)	((j)->posts + (j)->unacked >= (j)->limit)

/* ---------------------------------------------------------------- */
/* progress, checkpoint, batches                                      */

static cJSON *
mon_progress(const struct mon_job *j)
{
	cJSON	*p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, P_POSTS, (double)j->posts);
	cJSON_AddNumberToObject(p, P_COMMENTS, (double)j->comments);
	cJSON_AddNumberToObject(p, P_MEDIA, (double)j->media);
	cJSON_AddStringToObject(p, P_PHASE, j->ended ? "done" :
	    j->started ? "polling" : "starting");
	cJSON_AddNumberToObject(p, P_REQUESTS, (double)j->requests);
	cJSON_AddNumberToObject(p, P_POLLS, (double)j->polls);
	add_time(p, P_LAST_POLL, j->last_poll);
	add_time(p, P_NEXT_POLL, j->ended ? 0 : j->next_poll);
	cJSON_AddNumberToObject(p, P_INTERVAL, j->interval);
	cJSON_AddNumberToObject(p, P_NEW_POSTS, (double)j->ps.total);
	cJSON_AddNumberToObject(p, P_NEW_COMMENTS, (double)j->cs.total);
	return p;
}

static cJSON *
mon_checkpoint(const struct mon_job *j)
{
	cJSON	*c = cJSON_CreateObject();

	cJSON_AddBoolToObject(c, C_ABOUT, j->about_ok);
	cJSON_AddStringToObject(c, C_AFTER, j->after);
	cJSON_AddNumberToObject(c, C_LISTED, (double)j->listed);
	cJSON_AddBoolToObject(c, C_EXHAUSTED, j->exhausted);
	cJSON_AddItemToObject(c, C_PENDING, trees_checkpoint(j->trees));
	cJSON_AddBoolToObject(c, C_STARTED, j->started);
	if (j->anchored) {
		cJSON_AddStringToObject(c, C_CMARK, j->cs.mark);
		cJSON_AddNumberToObject(c, C_CTIME, (double)j->cs.mark_time);
	}
	cJSON_AddStringToObject(c, C_PMARK, j->ps.mark);
	cJSON_AddNumberToObject(c, C_PTIME, (double)j->ps.mark_time);
	cJSON_AddNumberToObject(c, P_POLLS, (double)j->polls);
	cJSON_AddNumberToObject(c, C_INTERVAL, j->interval);
	return c;
}

static void
copy_id(char *dst, const cJSON *c, const char *key)
{
	const char	*s = rd_str(c, key);

	if (s != NULL && strlen(s) <= RD_FULLNAME_MAX)
		snprintf(dst, RD_FULLNAME_MAX + 1, "%s", s);
}

static void
mon_restore(struct mon_job *j, const cJSON *c)
{
	const cJSON	*it;
	int		 b = 0;

	if (c == NULL || proto_get_bool(c, C_ABOUT, 1, &b, NULL) == -1 || !b)
		return;
	j->about_ok = 1;
	copy_id(j->after, c, C_AFTER);
	proto_get_int(c, C_LISTED, 0, &j->listed, NULL);
	proto_get_bool(c, C_EXHAUSTED, 0, &j->exhausted, NULL);
	trees_restore(j->trees, cJSON_GetObjectItemCaseSensitive(c,
	    C_PENDING));
	proto_get_bool(c, C_STARTED, 0, &j->started, NULL);
	if (cJSON_GetObjectItemCaseSensitive(c, C_CMARK) != NULL) {
		j->anchored = 1;
		copy_id(j->cs.mark, c, C_CMARK);
		proto_get_int(c, C_CTIME, 0, &j->cs.mark_time, NULL);
	}
	copy_id(j->ps.mark, c, C_PMARK);
	proto_get_int(c, C_PTIME, 0, &j->ps.mark_time, NULL);
	proto_get_int(c, P_POLLS, 0, &j->polls, NULL);
	it = cJSON_GetObjectItemCaseSensitive(c, C_INTERVAL);
	if (cJSON_IsNumber(it) && it->valuedouble > 0)
		j->interval = it->valuedouble;
	log_info("job %s: resuming the monitor %s: posts after %s, comments "
	    "after %s", j->t->job_id, j->started ? "polls" : "start",
	    j->ps.mark[0] ? j->ps.mark : "-", j->cs.mark[0] ? j->cs.mark :
	    "-");
}

static void
mon_report_cb(struct worker_task *t, const cJSON *body, void *arg)
{
	struct mon_job	*j = arg;
	int64_t		 n;

	(void)t;
	proto_get_int(body, R_POSTS, 0, &j->posts, NULL);
	proto_get_int(body, R_COMMENTS, 0, &j->comments, NULL);
	n = 0;
	fetchd_get_count(body, R_MEDIA_NEW, &n);
	j->media += n;
	if (j->rcount > 0) {
		j->unacked -= j->ring[j->rhead];
		j->rhead = (j->rhead + 1) % M_RING;
		j->rcount--;
	}
	mon_pump(j);
}

static void
mon_flush(struct mon_job *j)
{
	if (!j->dirty && j->out_posts == NULL && j->out_comments == NULL &&
	    j->out_media == NULL)
		return;
	if (j->rcount == M_RING)
		fatalx("%s: too many batches in flight", __func__);
	j->ring[(j->rhead + j->rcount++) % M_RING] = j->batch_posts;
	j->batch_posts = 0;
	worker_task_report(j->t, j->out_posts, j->out_comments, j->out_media,
	    mon_progress(j), mon_checkpoint(j), mon_report_cb, j);
	j->out_posts = j->out_comments = j->out_media = NULL;
	j->dirty = 0;
}

static void
mon_free(struct mon_job *j)
{
	rd_cancel(j->about_q);
	rd_cancel(j->list_q);
	rd_cancel(j->ps.q);
	rd_cancel(j->cs.q);
	if (j->ev_poll != NULL)
		event_free(j->ev_poll);
	trees_free(j->trees);
	cJSON_Delete(j->out_posts);
	cJSON_Delete(j->out_comments);
	cJSON_Delete(j->out_media);
	free(j);
}

static void
mon_fail(struct mon_job *j, const char *msg)
{
	struct worker_task *t = j->t;

	if (j->ended)
		return;
	j->ended = 1;
	mon_flush(j);
	worker_task_fail(t, msg, 0);
	mon_free(j);
}

static void
mon_fail_cb(void *arg, const char *msg)
{
	mon_fail(arg, msg);
}

static void
mon_pump_cb(void *arg)
{
	mon_pump(arg);
}

static void
mon_fail_status(struct mon_job *j, const struct rd_result *res,
    const char *what)
{
	char		 msg[600];

	rd_status_message(res, j->user, j->target, what, msg, sizeof(msg));
	mon_fail(j, msg);
}

/* A post to store; 1 when taken. */
static int
take_post(struct mon_job *j, const cJSON *data, int with_tree)
{
	struct rd_post	 p;
	const char	*err;

	if (posts_full(j))
		return 0;
	if (rd_post_extract(data, &p, &err) == -1) {
		log_warnx("job %s: post skipped: %s", j->t->job_id, err);
		return 0;
	}
	if (j->want_media)
		rd_media_extract(data, out_array(&j->out_media), NULL);
	if (with_tree && j->want_comments && !j->user && p.num_comments > 0)
		trees_add(j->trees, p.id, p.num_comments);
	cJSON_AddItemToArray(out_array(&j->out_posts), p.record);
	j->unacked++;
	j->batch_posts++;
	return 1;
}

static void
take_comment(struct mon_job *j, const cJSON *data)
{
	struct rd_comment c;
	const char	*err;

	if (rd_comment_extract(data, NULL, -1, &c, &err) == -1) {
		log_warnx("job %s: comment skipped: %s", j->t->job_id, err);
		return;
	}
	cJSON_AddItemToArray(out_array(&j->out_comments), c.record);
}

/* ---------------------------------------------------------------- */
/* the start                                                          */

static void
about_done(struct rd_result *res, void *arg)
{
	struct mon_job	*j = arg;
	char		 msg[600];

	j->about_q = NULL;
	if (rd_about_check(res, j->user, j->target, msg, sizeof(msg)) == -1) {
		mon_fail(j, msg);
		return;
	}
	j->about_ok = 1;
	j->dirty = 1;
	mon_pump(j);
}

/* the newest `limit` posts, as in full mode; the first page sets p_mark */
static void
list_done(struct rd_result *res, void *arg)
{
	struct mon_job	*j = arg;
	struct rd_listing l;
	const cJSON	*ch, *data;
	const char	*kind, *err, *name;

	j->list_q = NULL;
	if (res->failed) {
		mon_fail(j, res->error);
		return;
	}
	if (res->status != 200) {
		mon_fail_status(j, res, "listing");
		return;
	}
	if (rd_listing_from_json(res->json, &l, &err) == -1) {
		mon_fail(j, err);
		return;
	}
	cJSON_ArrayForEach(ch, l.children) {
		if ((kind = rd_thing(ch, &data)) == NULL ||
		    strcmp(kind, "t3") != 0 ||
		    (name = rd_str(data, "name")) == NULL ||
		    strlen(name) > RD_FULLNAME_MAX)
			continue;
		if (j->ps.mark[0] == '\0' || id_cmp(name, j->ps.mark) > 0) {
			snprintf(j->ps.mark, sizeof(j->ps.mark), "%s", name);
			j->ps.mark_time = (int64_t)rd_num(data, "created_utc",
			    0);
		}
		if (j->listed >= j->limit)
			continue;
		if (take_post(j, data, 1))
			j->listed++;
	}
	if (l.after != NULL && l.nchildren > 0 &&
	    strlen(l.after) <= RD_FULLNAME_MAX)
		snprintf(j->after, sizeof(j->after), "%s", l.after);
	else
		j->exhausted = 1;
	rd_listing_free(&l);
	j->dirty = 1;
	mon_pump(j);
}

/* ---------------------------------------------------------------- */
/* polling                                                            */

static void	walk_done(struct rd_result *res, void *arg);

static void
walk_ask(struct stream *s)
{
	struct mon_job	*j = s->j;
	char		 path[256], query[256];

	if (j->user)
		snprintf(path, sizeof(path), "/user/%s/%s", j->target,
		    s->comments ? "comments" : "submitted");
	else
		snprintf(path, sizeof(path), "/r/%s/%s", j->target,
		    s->comments ? "comments" : "new");
	snprintf(query, sizeof(query), "%slimit=%d%s%s", j->user ?
	    "sort=new&" : "", M_PAGE, s->after[0] ? "&after=" : "", s->after);
	j->requests++;
	j->poll_requests++;
	s->pages++;
	s->q = rd_get(j->f->rc, path, query, 0, walk_done, s);
}

static void
walk_start(struct stream *s)
{
	s->walking = 1;
	s->pages = 0;
	s->after[0] = s->top[0] = '\0';
	s->top_time = 0;
	s->found = 0;
	walk_ask(s);
}

/* The walk is over: the mark moves with the batch that holds its items. */
static void
walk_end(struct stream *s)
{
	struct mon_job	*j = s->j;

	s->walking = 0;
	if (s->top[0] && (s->mark[0] == '\0' || id_cmp(s->top, s->mark) > 0)) {
		snprintf(s->mark, sizeof(s->mark), "%s", s->top);
		s->mark_time = s->top_time;
		j->dirty = 1;
	}
	if (s->comments && !j->anchored) {
		j->anchored = 1;
		j->dirty = 1;
		log_info("job %s: comments after %s", j->t->job_id,
		    s->mark[0] ? s->mark : "the first");
	}
}

static void
walk_done(struct rd_result *res, void *arg)
{
	struct stream	*s = arg;
	struct mon_job	*j = s->j;
	struct rd_listing l;
	const cJSON	*ch, *data;
	const char	*kind, *err, *name;
	int		 met = 0, n = 0;
	int		 store = !(s->comments && !j->anchored);

	s->q = NULL;
	if (res->failed) {
		mon_fail(j, res->error);
		return;
	}
	if (res->status != 200) {
		mon_fail_status(j, res, s->comments ? "comment stream" :
		    "new posts");
		return;
	}
	if (rd_listing_from_json(res->json, &l, &err) == -1) {
		mon_fail(j, err);
		return;
	}
	cJSON_ArrayForEach(ch, l.children) {
		if ((kind = rd_thing(ch, &data)) == NULL ||
		    strcmp(kind, s->comments ? "t1" : "t3") != 0 ||
		    (name = rd_str(data, "name")) == NULL ||
		    strlen(name) > RD_FULLNAME_MAX)
			continue;
		n++;
		if (s->mark[0] != '\0' && id_cmp(name, s->mark) <= 0) {
			if (!rd_true(data, "stickied"))
				met = 1;
			continue;
		}
		if (s->top[0] == '\0' || id_cmp(name, s->top) > 0) {
			snprintf(s->top, sizeof(s->top), "%s", name);
			s->top_time = (int64_t)rd_num(data, "created_utc", 0);
		}
		if (!store)
			continue;
		if (s->comments)
			take_comment(j, data);
		else if (!take_post(j, data, 0))
			continue;
		s->found++;
		s->total++;
	}
	/* the anchor needs one page; a walk goes on while all of it is new */
	if (store && !met && n >= M_PAGE && l.after != NULL &&
	    strlen(l.after) <= RD_FULLNAME_MAX && s->pages < M_WALK_MAX &&
	    !posts_full(j)) {
		snprintf(s->after, sizeof(s->after), "%s", l.after);
		rd_listing_free(&l);
		walk_ask(s);
		mon_pump(j);
		return;
	}
	rd_listing_free(&l);
	if (store && !met && s->mark[0] != '\0' && s->pages >= M_WALK_MAX)
		log_warnx("job %s: %s: more than %d pages new since the last "
		    "poll; older ones are beyond Reddit's listing", j->t->job_id,
		    s->comments ? "comments" : "posts", M_WALK_MAX);
	walk_end(s);
	mon_pump(j);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mon_job	*j = arg;

	(void)fd;
	(void)what;
	j->timer_set = 0;
	j->polling = 1;
	j->poll_requests = 0;
	j->last_poll = time(NULL);
	j->polls++;
	walk_start(&j->ps);
	if (j->want_comments)
		walk_start(&j->cs);
	worker_task_set_progress(j->t, mon_progress(j));
	mon_pump(j);
}

/* A poll is over: when is the next one? */
static void
poll_schedule(struct mon_job *j)
{
	const struct rs_config *cf = &j->f->d->cf;
	double		 lo = (double)cf->monitor.min_interval;
	double		 hi = (double)cf->monitor.max_interval, floor_s;
	struct timeval	 tv;
	int		 paged = j->ps.pages > 1 || j->cs.pages > 1;

	if (j->polling) {
		j->polling = 0;
		if (paged)
			j->interval = lo;
		else if (j->ps.found + j->cs.found > 0)
			j->interval /= 2;
		else
			j->interval *= 1.5;
		if (j->ps.found + j->cs.found > 0)
			log_info("job %s: poll %lld: %lld new posts, %lld new "
			    "comments", j->t->job_id, (long long)j->polls,
			    (long long)j->ps.found, (long long)j->cs.found);
	}
	if (j->interval < lo)
		j->interval = lo;
	if (j->interval > hi)
		j->interval = hi;
	/* a quarter of the budget at most for this poll's requests */
	floor_s = cf->reddit.requests_per_minute == 0 ? 0 :
	    (double)(j->poll_requests > 0 ? j->poll_requests : 2) *
	    60.0 * 4 / (double)cf->reddit.requests_per_minute;
	if (j->interval < floor_s)
		j->interval = floor_s < hi ? floor_s : hi;
	tv.tv_sec = (time_t)j->interval;
	tv.tv_usec = (suseconds_t)((j->interval - (double)tv.tv_sec) * 1e6);
	evtimer_add(j->ev_poll, &tv);
	j->timer_set = 1;
	j->next_poll = time(NULL) + (time_t)(j->interval + 0.5);
	j->dirty = 1;
}

/* ---------------------------------------------------------------- */

static void
mon_step(struct mon_job *j)
{
	char	path[256], query[256];
	int64_t	n;

	if (worker_task_backlog(j->t) > M_BACKLOG)
		return;
	if (!j->about_ok) {
		if (j->about_q == NULL) {
			snprintf(path, sizeof(path), j->user ?
			    "/user/%s/about" : "/r/%s/about", j->target);
			j->requests++;
			j->about_q = rd_get(j->f->rc, path, NULL, 0,
			    about_done, j);
		}
		return;
	}
	if (!j->anchored) {
		/* one page of the comment stream: its newest is the mark */
		if (!j->want_comments)
			j->anchored = 1;
		else {
			if (!j->cs.walking)
				walk_start(&j->cs);
			return;
		}
	}
	if (!j->started) {
		if (!j->exhausted && j->listed < j->limit && !posts_full(j) &&
		    j->list_q == NULL && trees_waiting(j->trees) < 10) {
			n = j->limit - j->listed;
			snprintf(path, sizeof(path), j->user ?
			    "/user/%s/submitted" : "/r/%s/new", j->target);
			snprintf(query, sizeof(query), "%slimit=%lld%s%s",
			    j->user ? "sort=new&" : "", (long long)(n > M_PAGE ?
			    M_PAGE : n), j->after[0] ? "&after=" : "",
			    j->after);
			j->requests++;
			j->list_q = rd_get(j->f->rc, path, query, 0,
			    list_done, j);
		}
		if ((j->exhausted || j->listed >= j->limit ||
		    posts_full(j)) && j->list_q == NULL) {
			j->started = 1;
			j->dirty = 1;
			log_info("job %s: monitoring from %s (%lld posts at the "
			    "start)", j->t->job_id, j->ps.mark[0] ? j->ps.mark :
			    "the first post", (long long)j->listed);
		}
	}
	trees_step(j->trees, M_ACTIVE);
	if (j->started && !j->ps.walking && !j->cs.walking &&
	    !j->timer_set && !posts_full(j))
		poll_schedule(j);
}

static void
mon_pump(struct mon_job *j)
{
	struct worker_task *t = j->t;

	if (j->ended || j->in_pump)
		return;
	j->in_pump = 1;
	mon_step(j);
	j->in_pump = 0;
	if (j->ended)
		return;
	mon_flush(j);
	if (j->started && j->posts >= j->limit && !j->ps.walking &&
	    !j->cs.walking && trees_idle(j->trees) &&
	    worker_task_backlog(t) == 0) {
		j->ended = 1;
		log_info("job %s: monitor done: %lld posts stored (the limit), "
		    "%lld comments, %lld polls", t->job_id, (long long)j->posts,
		    (long long)j->comments, (long long)j->polls);
		worker_task_finish(t, mon_progress(j));
		mon_free(j);
	}
}

static int
mon_start(struct fetchd *f, struct worker_task *t)
{
	struct mon_job	*j;
	const char	*s = NULL, *tt = NULL;
	cJSON		*cfg = NULL;
	int64_t		 n = 0;
	int		 b;
	char		 msg[300];

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->mode = &fetchd_mode_monitor;
	j->f = f;
	j->t = t;
	j->limit = 100;
	j->want_media = j->want_comments = 1;
	j->ps.j = j->cs.j = j;
	j->cs.comments = 1;
	j->interval = (double)f->d->cf.monitor.min_interval;
	t->priv = j;
	j->trees = trees_new(f, t->job_id, &(struct trees_hooks){
	    &j->out_comments, &j->requests, &j->dirty, mon_pump_cb,
	    mon_fail_cb, j });
	if ((j->ev_poll = evtimer_new(f->d->base, poll_cb, j)) == NULL)
		fatalx("out of memory");
	proto_get_str(t->job, J_TARGET, 0, &s, NULL);
	proto_get_str(t->job, J_TARGET_TYPE, 0, &tt, NULL);
	if (proto_get_obj(t->job, J_CONFIG, 0, &cfg, NULL) == 0 && cfg) {
		if (proto_get_int(cfg, J_LIMIT, 0, &n, NULL) == 0 && n > 0)
			j->limit = n;
		if (proto_get_bool(cfg, J_MEDIA, 0, &b, NULL) == 0)
			j->want_media = b;
		if (proto_get_bool(cfg, J_COMMENTS, 0, &b, NULL) == 0)
			j->want_comments = b;
	}
	j->user = tt != NULL && strcmp(tt, PROTO_TARGET_USER) == 0;
	if (s == NULL || strlen(s) == 0 || strlen(s) > 64 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-") != strlen(s)) {
		snprintf(msg, sizeof(msg), "invalid target \"%.100s\"",
		    s ? s : "");
		mon_fail(j, msg);
		return 0;
	}
	snprintf(j->target, sizeof(j->target), "%s", s);
	fetchd_get_count(t->progress, P_POSTS, &j->posts);
	fetchd_get_count(t->progress, P_COMMENTS, &j->comments);
	fetchd_get_count(t->progress, P_MEDIA, &j->media);
	fetchd_get_count(t->progress, P_REQUESTS, &j->requests);
	fetchd_get_count(t->progress, P_NEW_POSTS, &j->ps.total);
	fetchd_get_count(t->progress, P_NEW_COMMENTS, &j->cs.total);
	mon_restore(j, t->checkpoint);
	log_info("job %s: monitor of %s%s, limit %lld, every %lld..%lld s",
	    t->job_id, j->user ? "u/" : "r/", j->target, (long long)j->limit,
	    (long long)f->d->cf.monitor.min_interval,
	    (long long)f->d->cf.monitor.max_interval);
	mon_pump(j);
	return 0;
}

static void
mon_stop(struct fetchd *f, struct worker_task *t, enum worker_stop why)
{
	struct mon_job	*j = t->priv;

	(void)f;
	(void)why;
	if (j == NULL)
		return;
	j->ended = 1;
	mon_free(j);
}

const struct fetchd_mode fetchd_mode_monitor = {
	PROTO_MODE_MONITOR, mon_start, mon_stop
};
