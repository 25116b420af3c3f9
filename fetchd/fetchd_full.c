/*
 * fetchd_full.c — full mode: the newest `limit` posts of a subreddit (or a
 * user's submissions), each with its whole comment tree, or for a user
 * their own comments.
 *
 * The job is streamed, never held: a listing page of posts is reported as
 * soon as it is in, comment trees are worked on FULL_ACTIVE posts at a
 * time, and every answer's records leave in the next task.report. While
 * jobd stores one batch, what arrives joins the next (up to FULL_BATCH
 * records), so a fast Reddit means fewer, larger transactions rather than
 * a queue of small ones. The next listing page is asked for only when
 * fewer than FULL_PREFETCH listed posts wait for their trees, and nothing
 * new is asked of Reddit while more than FULL_BACKLOG batches wait for
 * jobd, so memory stays flat whatever the job's size.
 *
 * Requests are the least DESIGN.md §5 allows: one page per 100 posts
 * (limit=100), and for the comment trees what fetchd_trees.c spends (one
 * tree per post with comments, pooled morechildren, one call per
 * continue-thread stub).
 *
 * Checkpoint (travels with the batches, so it never runs ahead of them):
 *   {about: true, after: "t3_x" | null, listed: n, exhausted: bool,
 *    pending: ["t3_a", ...], c_after: "t1_x" | null, c_exhausted: bool}
 * pending holds the listed posts whose trees are not complete yet; a
 * re-leased task lists on from `after` and fetches those trees again
 * (comments already stored are deduplicated by jobd), instead of starting
 * over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"
#include "lib/log.h"
#include "proto/proto.h"

#define FULL_ACTIVE	4	/* comment trees worked on at once */
#define FULL_BACKLOG	2	/* batches waiting for jobd before we pause */
#define FULL_BATCH	500	/* records gathered while jobd stores one */
#define FULL_PREFETCH	10	/* list on when fewer posts wait */
#define FULL_PAGE	100	/* Reddit's largest listing page */

/* job, progress and checkpoint fields */
#define P_EXHAUSTED	"listing_exhausted"
#define C_ABOUT		"about"
#define C_AFTER		"after"
#define C_LISTED	"listed"
#define C_EXHAUSTED	"exhausted"
#define C_PENDING	"pending"
#define C_CAFTER	"c_after"
#define C_CEXHAUSTED	"c_exhausted"

struct full_job {
	const struct fetchd_mode *mode;		/* first: see fetchd.c */
	struct fetchd	*f;
	struct worker_task *t;
	char		 target[128];
	int		 user, want_media, want_comments;
	int64_t		 limit;
	int		 about_ok;
	struct rd_req	*about_q, *list_q, *ucom_q;
	char		 after[RD_FULLNAME_MAX + 1];
	int		 exhausted;
	int64_t		 listed;
	char		 c_after[RD_FULLNAME_MAX + 1];
	int		 c_exhausted;
	struct trees	*trees;
	/* the next batch */
	cJSON		*out_posts, *out_comments, *out_media;
	int		 dirty;
	/* counts for progress */
	int64_t		 posts, comments, media, requests;
	int		 ended;
	int		 in_pump;
};

static void	full_pump(struct full_job *j);
static void	full_pump_cb(void *arg);
static void	full_fail_cb(void *arg, const char *msg);

/* ---------------------------------------------------------------- */
/* small helpers                                                      */

static int
name_ok(const char *s)
{
	size_t	n = 0;

	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return n > 0 && n < 64;
}

static cJSON *
out_array(cJSON **a)
{
	if (*a == NULL && (*a = cJSON_CreateArray()) == NULL)
		fatalx("out of memory");
	return *a;
}

static int
listing_done(const struct full_job *j)
{
	return j->exhausted || j->listed >= j->limit;
}

static const char *
full_phase(const struct full_job *j)
{
	if (j->ended)
		return j->media > 0 && j->want_media ? "media" : "done";
	if (!j->about_ok || (!listing_done(j) && trees_pending(j->trees) == 0))
		return "listing";
	return "comments";
}

static cJSON *
full_progress(const struct full_job *j)
{
	cJSON	*p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, P_POSTS, (double)j->posts);
	cJSON_AddNumberToObject(p, P_COMMENTS, (double)j->comments);
	cJSON_AddNumberToObject(p, P_MEDIA, (double)j->media);
	cJSON_AddStringToObject(p, P_PHASE, full_phase(j));
	cJSON_AddBoolToObject(p, P_EXHAUSTED, j->exhausted);
	cJSON_AddNumberToObject(p, P_REQUESTS, (double)j->requests);
	return p;
}

static cJSON *
full_checkpoint(const struct full_job *j)
{
	cJSON	*c = cJSON_CreateObject();

	cJSON_AddBoolToObject(c, C_ABOUT, j->about_ok);
	if (j->after[0])
		cJSON_AddStringToObject(c, C_AFTER, j->after);
	else
		cJSON_AddNullToObject(c, C_AFTER);
	cJSON_AddNumberToObject(c, C_LISTED, (double)j->listed);
	cJSON_AddBoolToObject(c, C_EXHAUSTED, j->exhausted);
	cJSON_AddItemToObject(c, C_PENDING, trees_checkpoint(j->trees));
	if (j->c_after[0])
		cJSON_AddStringToObject(c, C_CAFTER, j->c_after);
	cJSON_AddBoolToObject(c, C_CEXHAUSTED, j->c_exhausted);
	return c;
}

static void
full_restore(struct full_job *j, const cJSON *c)
{
	const char	*s = NULL;
	int		 b = 0;

	if (c == NULL || proto_get_bool(c, C_ABOUT, 1, &b, NULL) == -1 || !b)
		return;
	j->about_ok = 1;
	if (proto_get_str(c, C_AFTER, 0, &s, NULL) == 0 && s)
		snprintf(j->after, sizeof(j->after), "%s", s);
	/* an absent field leaves the value alone */
	proto_get_int(c, C_LISTED, 0, &j->listed, NULL);
	proto_get_bool(c, C_EXHAUSTED, 0, &j->exhausted, NULL);
	trees_restore(j->trees, cJSON_GetObjectItemCaseSensitive(c,
	    C_PENDING));
	s = NULL;
	if (proto_get_str(c, C_CAFTER, 0, &s, NULL) == 0 && s)
		snprintf(j->c_after, sizeof(j->c_after), "%s", s);
	proto_get_bool(c, C_CEXHAUSTED, 0, &j->c_exhausted, NULL);
	log_info("job %s: resuming: %lld listed, %zu trees to fetch%s",
	    j->t->job_id, (long long)j->listed, trees_pending(j->trees),
	    j->exhausted ? ", listing exhausted" : "");
}

static void
full_report_cb(struct worker_task *t, const cJSON *body, void *arg)
{
	struct full_job	*j = arg;
	int64_t		 n;

	(void)t;
	proto_get_int(body, R_POSTS, 0, &j->posts, NULL);
	proto_get_int(body, R_COMMENTS, 0, &j->comments, NULL);
	n = 0;
	if (proto_get_int(body, R_MEDIA_NEW, 0, &n, NULL) == 0)
		j->media += n;
	full_pump(j);
}

static int
out_records(const struct full_job *j)
{
	return worker_records(j->out_posts) + worker_records(j->out_comments) +
	    worker_records(j->out_media);
}

/*
 * Send what the last answers produced, with the state that vouches for it;
 * unless jobd is still busy with the last batch (and this one is not full
 * yet, and not the last): then it waits and grows.
 */
static void
full_flush(struct full_job *j, int now)
{
	if (!j->dirty && j->out_posts == NULL && j->out_comments == NULL &&
	    j->out_media == NULL)
		return;
	if (!now && worker_task_backlog(j->t) > 0 &&
	    out_records(j) < FULL_BATCH)
		return;
	worker_task_report(j->t, j->out_posts, j->out_comments, j->out_media,
	    full_progress(j), full_checkpoint(j), full_report_cb, j);
	j->out_posts = j->out_comments = j->out_media = NULL;
	j->dirty = 0;
}

/* ---------------------------------------------------------------- */
/* ending                                                             */

static void
full_free(struct full_job *j)
{
	rd_cancel(j->about_q);
	rd_cancel(j->list_q);
	rd_cancel(j->ucom_q);
	trees_free(j->trees);
	cJSON_Delete(j->out_posts);
	cJSON_Delete(j->out_comments);
	cJSON_Delete(j->out_media);
	free(j);
}

static void
full_fail(struct full_job *j, const char *msg)
{
	struct worker_task *t = j->t;

	if (j->ended)
		return;
	j->ended = 1;
	/* what was fetched is kept */
	full_flush(j, 1);
	worker_task_fail(t, msg, 0);
	full_free(j);
}

static void
full_fail_cb(void *arg, const char *msg)
{
	full_fail(arg, msg);
}

/* ---------------------------------------------------------------- */
/* answers                                                            */

/* A non-2xx answer about the target: fail with what it means. */
static void
full_fail_status(struct full_job *j, const struct rd_result *res,
    const char *what)
{
	char		 msg[600];

	rd_status_message(res, j->user, j->target, what, msg, sizeof(msg));
	full_fail(j, msg);
}

static void
about_done(struct rd_result *res, void *arg)
{
	struct full_job	*j = arg;
	char		 msg[600];

	j->about_q = NULL;
	if (rd_about_check(res, j->user, j->target, msg, sizeof(msg)) == -1) {
		full_fail(j, msg);
		return;
	}
	j->about_ok = 1;
	j->dirty = 1;
	full_pump(j);
}

static void
list_done(struct rd_result *res, void *arg)
{
	struct full_job	*j = arg;
	struct rd_listing l;
	struct rd_post	 p;
	const cJSON	*ch, *data;
	const char	*kind, *err;
	char		 msg[600];

	j->list_q = NULL;
	if (res->failed) {
		full_fail(j, res->error);
		return;
	}
	if (res->status != 200) {
		full_fail_status(j, res, "listing");
		return;
	}
	if (rd_listing_from_json(res->json, &l, &err) == -1) {
		snprintf(msg, sizeof(msg), "listing of %s: %s", j->target,
		    err);
		full_fail(j, msg);
		return;
	}
	cJSON_ArrayForEach(ch, l.children) {
		if (j->listed >= j->limit)
			break;
		if ((kind = rd_thing(ch, &data)) == NULL ||
		    strcmp(kind, "t3") != 0)
			continue;
		if (rd_post_extract(data, &p, &err) == -1) {
			log_warnx("job %s: post skipped: %s", j->t->job_id,
			    err);
			continue;
		}
		j->listed++;
		if (j->want_media)
			rd_media_extract(data, out_array(&j->out_media), NULL);
		if (j->want_comments && !j->user && p.num_comments > 0)
			trees_add(j->trees, p.id, p.num_comments);
		cJSON_AddItemToArray(out_array(&j->out_posts), p.record);
	}
	if (l.after != NULL && l.nchildren > 0 &&
	    strlen(l.after) <= RD_FULLNAME_MAX)
		snprintf(j->after, sizeof(j->after), "%s", l.after);
	else {
		j->exhausted = 1;
		log_info("job %s: listing exhausted after %lld posts",
		    j->t->job_id, (long long)j->listed);
	}
	rd_listing_free(&l);
	j->dirty = 1;
	full_pump(j);
}

/* the user's own comments: a flat listing */
static void
ucom_done(struct rd_result *res, void *arg)
{
	struct full_job	*j = arg;
	struct rd_listing l;
	struct rd_comment c;
	const cJSON	*ch, *data;
	const char	*kind, *err;
	char		 msg[600];

	j->ucom_q = NULL;
	if (res->failed) {
		full_fail(j, res->error);
		return;
	}
	if (res->status != 200) {
		full_fail_status(j, res, "comments");
		return;
	}
	if (rd_listing_from_json(res->json, &l, &err) == -1) {
		snprintf(msg, sizeof(msg), "comments of u/%s: %s", j->target,
		    err);
		full_fail(j, msg);
		return;
	}
	cJSON_ArrayForEach(ch, l.children) {
		if ((kind = rd_thing(ch, &data)) == NULL ||
		    strcmp(kind, "t1") != 0)
			continue;
		if (rd_comment_extract(data, NULL, -1, &c, &err) == -1) {
			log_warnx("job %s: comment skipped: %s",
			    j->t->job_id, err);
			continue;
		}
		cJSON_AddItemToArray(out_array(&j->out_comments), c.record);
	}
	if (l.after != NULL && l.nchildren > 0 &&
	    strlen(l.after) <= RD_FULLNAME_MAX)
		snprintf(j->c_after, sizeof(j->c_after), "%s", l.after);
	else
		j->c_exhausted = 1;
	rd_listing_free(&l);
	j->dirty = 1;
	full_pump(j);
}

/* ---------------------------------------------------------------- */
/* asking                                                             */

static struct rd_req *
full_get(struct full_job *j, const char *path, const char *query, int flags,
    rd_done_cb cb, void *arg)
{
	j->requests++;
	return rd_get(j->f->rc, path, query, flags, cb, arg);
}

static void
ask_about(struct full_job *j)
{
	char	path[256];

	snprintf(path, sizeof(path), j->user ? "/user/%s/about" :
	    "/r/%s/about", j->target);
	j->about_q = full_get(j, path, NULL, 0, about_done, j);
}

static void
ask_listing(struct full_job *j)
{
	char	path[256], query[256];
	int64_t	n = j->limit - j->listed;

	if (n > FULL_PAGE)
		n = FULL_PAGE;
	if (j->user)
		snprintf(path, sizeof(path), "/user/%s/submitted", j->target);
	else
		snprintf(path, sizeof(path), "/r/%s/new", j->target);
	snprintf(query, sizeof(query), "%slimit=%lld%s%s", j->user ?
	    "sort=new&" : "", (long long)n, j->after[0] ? "&after=" : "",
	    j->after);
	j->list_q = full_get(j, path, query, 0, list_done, j);
}

static void
ask_user_comments(struct full_job *j)
{
	char	path[256], query[256];

	snprintf(path, sizeof(path), "/user/%s/comments", j->target);
	snprintf(query, sizeof(query), "sort=new&limit=%d%s%s", FULL_PAGE,
	    j->c_after[0] ? "&after=" : "", j->c_after);
	j->ucom_q = full_get(j, path, query, 0, ucom_done, j);
}

static int
full_complete(const struct full_job *j)
{
	return j->about_ok && listing_done(j) && j->list_q == NULL &&
	    trees_idle(j->trees) && j->ucom_q == NULL &&
	    (!(j->user && j->want_comments) || j->c_exhausted);
}

static void
full_step(struct full_job *j)
{
	if (worker_task_backlog(j->t) > FULL_BACKLOG)
		return;
	if (!j->about_ok) {
		if (j->about_q == NULL)
			ask_about(j);
		return;
	}
	if (!listing_done(j) && j->list_q == NULL &&
	    trees_waiting(j->trees) < FULL_PREFETCH)
		ask_listing(j);
	if (j->user && j->want_comments && !j->c_exhausted &&
	    j->ucom_q == NULL)
		ask_user_comments(j);
	trees_step(j->trees, FULL_ACTIVE);
}

static void
full_pump(struct full_job *j)
{
	struct worker_task *t = j->t;

	if (j->ended || j->in_pump)
		return;
	j->in_pump = 1;
	full_step(j);
	j->in_pump = 0;
	if (j->ended)
		return;
	full_flush(j, 0);
	/* finish once every batch is stored, so the counts are final */
	if (full_complete(j) && worker_task_backlog(t) == 0) {
		j->ended = 1;
		log_info("job %s: done: %lld posts, %lld comments, %lld media, "
		    "%lld requests", t->job_id, (long long)j->posts,
		    (long long)j->comments, (long long)j->media,
		    (long long)j->requests);
		worker_task_finish(t, full_progress(j));
		full_free(j);
	}
}

static void
full_pump_cb(void *arg)
{
	full_pump(arg);
}

/* ---------------------------------------------------------------- */

static int
full_start(struct fetchd *f, struct worker_task *t)
{
	struct full_job	*j;
	const char	*s = NULL, *tt = NULL;
	cJSON		*cfg = NULL;
	int64_t		 n;
	char		 msg[300];

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->mode = &fetchd_mode_full;
	j->f = f;
	j->t = t;
	j->limit = 100;
	j->want_media = j->want_comments = 1;
	t->priv = j;
	j->trees = trees_new(f, t->job_id, &(struct trees_hooks){
	    &j->out_comments, &j->requests, &j->dirty, full_pump_cb,
	    full_fail_cb, j });
	proto_get_str(t->job, J_TARGET, 0, &s, NULL);
	proto_get_str(t->job, J_TARGET_TYPE, 0, &tt, NULL);
	if (proto_get_obj(t->job, J_CONFIG, 0, &cfg, NULL) == 0 && cfg) {
		/* an absent field leaves the default */
		n = 0;
		if (proto_get_int(cfg, J_LIMIT, 0, &n, NULL) == 0 && n > 0)
			j->limit = n;
		proto_get_bool(cfg, J_MEDIA, 0, &j->want_media, NULL);
		proto_get_bool(cfg, J_COMMENTS, 0, &j->want_comments, NULL);
	}
	j->user = tt != NULL && strcmp(tt, PROTO_TARGET_USER) == 0;
	if (s == NULL || !name_ok(s)) {
		snprintf(msg, sizeof(msg), "invalid target \"%.100s\"",
		    s ? s : "");
		full_fail(j, msg);
		return 0;
	}
	snprintf(j->target, sizeof(j->target), "%s", s);
	if (t->progress != NULL) {
		proto_get_int(t->progress, P_POSTS, 0, &j->posts, NULL);
		proto_get_int(t->progress, P_COMMENTS, 0, &j->comments, NULL);
		proto_get_int(t->progress, P_MEDIA, 0, &j->media, NULL);
		proto_get_int(t->progress, P_REQUESTS, 0, &j->requests, NULL);
	}
	full_restore(j, t->checkpoint);
	log_info("job %s: full scrape of %s%s, limit %lld%s%s", t->job_id,
	    j->user ? "u/" : "r/", j->target, (long long)j->limit,
	    j->want_comments ? ", comments" : "",
	    j->want_media ? ", media" : "");
	full_pump(j);
	return 0;
}

static void
full_stop(struct fetchd *f, struct worker_task *t, enum worker_stop why)
{
	struct full_job	*j = t->priv;

	(void)f;
	(void)why;
	if (j == NULL)
		return;
	j->ended = 1;
	full_free(j);
}

const struct fetchd_mode fetchd_mode_full = {
	PROTO_MODE_FULL, full_start, full_stop
};
