/*
 * fetchd_history.c — history mode: as far back in time as possible, up to
 * `limit` posts, each with its comment tree (fetchd_trees.c).
 *
 * Reddit's listings each stop at about 1000 items, so history merges
 * every listing Reddit offers for the target, de-duplicated by fullname,
 * one source after the other:
 *   subreddit  new, archive, hot, rising, top and controversial for each
 *              of all, year, month, week, day, hour
 *   user       submitted sort=new, archive, sort=hot, top and
 *              controversial × t
 * where "archive" is the Arctic-Shift-style archive of [history]
 * archive_url (fetchd_archive.c), paged backwards in time from the
 * newest post until it ends (posts gone from Reddit's listings can be
 * anywhere in time; archive requests cost nothing of Reddit's budget).
 *
 * Frugality (stop a listing when it only repeats what is known), without
 * ever missing a post a listing would give:
 *   - `new` reaches back to its oldest post; the archive, once it has
 *     ended, to the target's first post. Every post newer than that point
 *     (`covered`) is known, so a top/controversial listing whose time
 *     window lies inside it can only repeat what is known: it is skipped
 *     without a request (the window is measured from the newest post,
 *     never later than Reddit's own "now", so the test is conservative).
 *   - Once everything is covered, hot and rising stop at the first page
 *     that adds nothing new.
 * Listings that are not covered are read to their end.
 *
 * Posts found only in the archive are looked up on Reddit (/api/info, 100
 * at a time): Reddit's copy is stored when Reddit still serves the post,
 * else the archive's, with raw.rscrape_source = "archive". Their comments
 * come from Reddit's comment endpoint as for any post.
 *
 * Checkpoint (travels with the batches):
 *   {about, cur: "<source>", sources: {name: {posts, requests, state,
 *    after?, before?}}, newest, oldest, covered, known: "id,id,...",
 *    pending: [..], c_after, c_exhausted}
 * known is every post reported so far, so a re-leased task neither
 * reports a post again nor fetches its tree twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"
#include "lib/log.h"
#include "proto/proto.h"
#include "fetchd/fetchd_history.h"

static void	hist_pump(struct history_job *j);

/* ---------------------------------------------------------------- */
/* batches                                                            */

static cJSON *
out_array(cJSON **a)
{
	if (*a == NULL && (*a = cJSON_CreateArray()) == NULL)
		fatalx("out of memory");
	return *a;
}

static void
hist_report_cb(struct worker_task *t, const cJSON *body, void *arg)
{
	struct history_job *j = arg;
	int64_t		 n;

	(void)t;
	if (proto_get_int(body, R_POSTS, 0, &n, NULL) == 0)
		j->posts = n;
	if (proto_get_int(body, R_COMMENTS, 0, &n, NULL) == 0)
		j->comments = n;
	if (proto_get_int(body, R_MEDIA_NEW, 0, &n, NULL) == 0)
		j->media += n;
	hist_pump(j);
}

/*
 * Send what the last answers produced, with the state that vouches for it;
 * while jobd still stores the last batch, this one grows instead (up to
 * H_BATCH records), so the checkpoint (with its known set) is written
 * once per batch, not once per answer.
 */
static void
hist_flush(struct history_job *j, int now)
{
	if (!j->dirty && j->out_posts == NULL && j->out_comments == NULL &&
	    j->out_media == NULL)
		return;
	if (!now && worker_task_backlog(j->t) > 0 &&
	    worker_records(j->out_posts) + worker_records(j->out_comments) +
	    worker_records(j->out_media) < H_BATCH)
		return;
	worker_task_report(j->t, j->out_posts, j->out_comments, j->out_media,
	    hist_progress(j), hist_checkpoint(j), hist_report_cb, j);
	j->out_posts = j->out_comments = j->out_media = NULL;
	j->dirty = 0;
}

static void
hist_free(struct history_job *j)
{
	rd_cancel(j->about_q);
	rd_cancel(j->list_q);
	rd_cancel(j->info_q);
	rd_cancel(j->ucom_q);
	ar_cancel(j->ar_q);
	trees_free(j->trees);
	cJSON_Delete(j->staged);
	cJSON_Delete(j->out_posts);
	cJSON_Delete(j->out_comments);
	cJSON_Delete(j->out_media);
	seen_free(&j->known);
	free(j);
}

static void
hist_fail(struct history_job *j, const char *msg)
{
	struct worker_task *t = j->t;

	if (j->ended)
		return;
	j->ended = 1;
	hist_flush(j, 1);
	worker_task_fail(t, msg, 0);
	hist_free(j);
}

static void
hist_fail_cb(void *arg, const char *msg)
{
	hist_fail(arg, msg);
}

static void
hist_pump_cb(void *arg)
{
	hist_pump(arg);
}

/*
 * Store one post unless it is known (1: it was new). data is a t3 data
 * object; archived: the archive's copy of a post Reddit no longer serves.
 */
static int
take_post(struct history_job *j, struct source *s, const cJSON *data,
    int archived)
{
	struct rd_post	 p;
	const char	*err;
	cJSON		*raw;

	if (limit_reached(j))
		return 0;
	if (rd_post_extract(data, &p, &err) == -1) {
		log_warnx("job %s: post skipped: %s", j->t->job_id, err);
		return 0;
	}
	if (!seen_add(&j->known, p.id)) {
		cJSON_Delete(p.record);
		return 0;
	}
	if (archived) {
		raw = cJSON_GetObjectItemCaseSensitive(p.record, "raw");
		cJSON_AddStringToObject(raw, RAW_SOURCE, RAW_ARCHIVE);
		j->archived++;
	}
	s->posts++;
	if (j->want_media)
		rd_media_extract(data, out_array(&j->out_media), NULL);
	if (j->want_comments && !j->user && !archived && p.num_comments > 0)
		trees_add(j->trees, p.id, p.num_comments);
	cJSON_AddItemToArray(out_array(&j->out_posts), p.record);
	return 1;
}

/* ---------------------------------------------------------------- */
/* answers                                                            */

static void
hist_fail_status(struct history_job *j, const struct rd_result *res,
    const char *what)
{
	char		 msg[600];

	rd_status_message(res, j->user, j->target, what, msg, sizeof(msg));
	hist_fail(j, msg);
}

static void
about_done(struct rd_result *res, void *arg)
{
	struct history_job *j = arg;
	char		 msg[600];

	j->about_q = NULL;
	if (rd_about_check(res, j->user, j->target, msg, sizeof(msg)) == -1) {
		hist_fail(j, msg);
		return;
	}
	j->about_ok = 1;
	j->dirty = 1;
	hist_pump(j);
}

static void
list_done(struct rd_result *res, void *arg)
{
	struct history_job *j = arg;
	struct source	*s = &j->src[j->cur];
	struct rd_listing l;
	const cJSON	*ch, *data;
	const char	*kind, *err;
	char		 msg[600];
	int64_t		 added = 0, created;
	int		 is_new = strcmp(s->name, "new") == 0;

	j->list_q = NULL;
	if (res->failed) {
		hist_fail(j, res->error);
		return;
	}
	if (res->status != 200) {
		hist_fail_status(j, res, s->name);
		return;
	}
	if (rd_listing_from_json(res->json, &l, &err) == -1) {
		snprintf(msg, sizeof(msg), "%s listing of %s: %s", s->name,
		    j->target, err);
		hist_fail(j, msg);
		return;
	}
	cJSON_ArrayForEach(ch, l.children) {
		if ((kind = rd_thing(ch, &data)) == NULL ||
		    strcmp(kind, "t3") != 0)
			continue;
		created = (int64_t)rd_num(data, "created_utc", 0);
		if (is_new && created > 0 && !rd_true(data, "stickied")) {
			if (created > j->newest)
				j->newest = created;
			if (j->oldest == 0 || created < j->oldest)
				j->oldest = created;
		}
		added += take_post(j, s, data, 0);
	}
	j->dirty = 1;
	if (l.after != NULL && l.nchildren > 0 &&
	    strlen(l.after) <= RD_FULLNAME_MAX &&
	    !(added == 0 && j->covered == 0))
		snprintf(s->after, sizeof(s->after), "%s", l.after);
	else
		source_end(j, s, SS_DONE);
	rd_listing_free(&l);
	hist_pump(j);
}

/* Reddit's copies of an archive page's new posts */
static void
info_done(struct rd_result *res, void *arg)
{
	struct history_job *j = arg;
	struct source	*s = &j->src[j->cur];
	struct rd_listing l;
	const cJSON	*ch, *data, *it;
	const char	*kind, *err;
	char		 msg[600];

	j->info_q = NULL;
	if (res->failed) {
		hist_fail(j, res->error);
		return;
	}
	if (res->status != 200 ||
	    rd_listing_from_json(res->json, &l, &err) == -1) {
		snprintf(msg, sizeof(msg), "/api/info for archived posts of "
		    "%s: HTTP %ld", j->target, res->status);
		hist_fail(j, msg);
		return;
	}
	cJSON_ArrayForEach(ch, l.children)
		if ((kind = rd_thing(ch, &data)) != NULL &&
		    strcmp(kind, "t3") == 0)
			take_post(j, s, data, 0);
	rd_listing_free(&l);
	/* what Reddit did not give back keeps the archive's copy */
	cJSON_ArrayForEach(it, j->staged)
		take_post(j, s, it, 1);
	cJSON_Delete(j->staged);
	j->staged = NULL;
	s->before = j->staged_before;
	j->dirty = 1;
	if (j->staged_end)
		source_end(j, s, SS_DONE);
	hist_pump(j);
}

static void
ask_info(struct history_job *j)
{
	char		*q, *p;
	const cJSON	*it;
	struct rd_post	 pp;
	size_t		 len = 8;

	len += (size_t)cJSON_GetArraySize(j->staged) * (RD_FULLNAME_MAX + 1);
	if ((q = p = malloc(len)) == NULL)
		fatalx("out of memory");
	p += sprintf(p, "id=");
	cJSON_ArrayForEach(it, j->staged) {
		if (rd_post_extract(it, &pp, NULL) == -1)
			continue;
		p += sprintf(p, "%s%s", p[-1] == '=' ? "" : ",", pp.id);
		cJSON_Delete(pp.record);
	}
	j->src[j->cur].requests++;
	j->requests++;
	j->info_q = rd_get(j->f->rc, "/api/info", q, 0, info_done, j);
	free(q);
}

static void
archive_done(struct rd_result *res, void *arg)
{
	struct history_job *j = arg;
	struct source	*s = &j->src[j->cur];
	const cJSON	*data, *it;
	struct rd_post	 p;
	int64_t		 created, oldest = 0, want;
	int		 n = 0;

	j->ar_q = NULL;
	data = res->json ? cJSON_GetObjectItemCaseSensitive(res->json,
	    AR_DATA) : NULL;
	if (res->failed || res->status != 200 || !cJSON_IsArray(data)) {
		/* the archive is optional: go on with Reddit's listings */
		log_warnx("job %s: archive: %s%s", j->t->job_id, res->failed ?
		    res->error : "unexpected answer", res->failed ? "" :
		    " (no data array)");
		source_end(j, s, SS_FAILED);
		hist_pump(j);
		return;
	}
	want = j->limit - (int64_t)j->known.n;
	cJSON_ArrayForEach(it, data) {
		n++;
		if ((created = (int64_t)rd_num(it, "created_utc", 0)) > 0 &&
		    (oldest == 0 || created < oldest))
			oldest = created;
		if (rd_post_extract(it, &p, NULL) == -1)
			continue;
		if (!seen_has(&j->known, p.id) && want > 0) {
			if (j->staged == NULL)
				j->staged = cJSON_CreateArray();
			cJSON_AddItemToArray(j->staged,
			    cJSON_Duplicate(it, 1));
			want--;
		}
		cJSON_Delete(p.record);
	}
	/* same-second posts may straddle pages: overlap by one second */
	j->staged_before = oldest + 1;
	if (j->staged_before >= s->before && s->before > 0)
		j->staged_before = s->before - 1;
	j->staged_end = n < H_PAGE || oldest <= 0;
	if (j->staged == NULL) {
		j->dirty = 1;
		s->before = j->staged_before;
		if (j->staged_end)
			source_end(j, s, SS_DONE);
		hist_pump(j);
		return;
	}
	ask_info(j);
}

/* the user's own comments: a flat listing, as in full mode */
static void
ucom_done(struct rd_result *res, void *arg)
{
	struct history_job *j = arg;
	struct rd_listing l;
	struct rd_comment c;
	const cJSON	*ch, *data;
	const char	*kind, *err;

	j->ucom_q = NULL;
	if (res->failed) {
		hist_fail(j, res->error);
		return;
	}
	if (res->status != 200) {
		hist_fail_status(j, res, "comments");
		return;
	}
	if (rd_listing_from_json(res->json, &l, &err) == -1) {
		hist_fail(j, err);
		return;
	}
	cJSON_ArrayForEach(ch, l.children) {
		if ((kind = rd_thing(ch, &data)) == NULL ||
		    strcmp(kind, "t1") != 0 ||
		    rd_comment_extract(data, NULL, -1, &c, &err) == -1)
			continue;
		cJSON_AddItemToArray(out_array(&j->out_comments), c.record);
	}
	if (l.after != NULL && l.nchildren > 0 &&
	    strlen(l.after) <= RD_FULLNAME_MAX)
		snprintf(j->c_after, sizeof(j->c_after), "%s", l.after);
	else
		j->c_exhausted = 1;
	rd_listing_free(&l);
	j->dirty = 1;
	hist_pump(j);
}

/* ---------------------------------------------------------------- */
/* asking                                                             */

static void
ask_source(struct history_job *j)
{
	struct source	*s = &j->src[j->cur];
	char		 path[256], query[256];

	s->requests++;
	j->requests++;
	if (s->sort == NULL) {
		j->ar_q = ar_posts(j->f->ac, j->user, j->target, s->before,
		    H_PAGE, archive_done, j);
		return;
	}
	if (j->user) {
		snprintf(path, sizeof(path), "/user/%s/submitted", j->target);
		snprintf(query, sizeof(query), "sort=%s&", s->sort);
	} else {
		snprintf(path, sizeof(path), "/r/%s/%s", j->target, s->sort);
		query[0] = '\0';
	}
	snprintf(query + strlen(query), sizeof(query) - strlen(query),
	    "limit=%d%s%s%s%s", H_PAGE, s->t ? "&t=" : "", s->t ? s->t : "",
	    s->after[0] ? "&after=" : "", s->after);
	j->list_q = rd_get(j->f->rc, path, query, 0, list_done, j);
}

static void
ask_user_comments(struct history_job *j)
{
	char	path[256], query[256];

	snprintf(path, sizeof(path), "/user/%s/comments", j->target);
	snprintf(query, sizeof(query), "sort=new&limit=%d%s%s", H_PAGE,
	    j->c_after[0] ? "&after=" : "", j->c_after);
	j->requests++;
	j->ucom_q = rd_get(j->f->rc, path, query, 0, ucom_done, j);
}

static int
hist_busy(const struct history_job *j)
{
	return j->list_q != NULL || j->ar_q != NULL || j->info_q != NULL;
}

static void
hist_step(struct history_job *j)
{
	char	path[256];

	if (worker_task_backlog(j->t) > H_BACKLOG)
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
	if (!sources_done(j) && !hist_busy(j) &&
	    trees_waiting(j->trees) < H_PREFETCH)
		ask_source(j);
	if (j->user && j->want_comments && !j->c_exhausted &&
	    j->ucom_q == NULL)
		ask_user_comments(j);
	trees_step(j->trees, H_ACTIVE);
}

static void
hist_pump(struct history_job *j)
{
	struct worker_task *t = j->t;

	if (j->ended || j->in_pump)
		return;
	j->in_pump = 1;
	hist_step(j);
	j->in_pump = 0;
	if (j->ended)
		return;
	hist_flush(j, 0);
	if (j->about_ok && sources_done(j) && !hist_busy(j) &&
	    trees_idle(j->trees) && j->ucom_q == NULL &&
	    (!(j->user && j->want_comments) || j->c_exhausted) &&
	    worker_task_backlog(t) == 0) {
		j->ended = 1;
		log_info("job %s: history done: %lld posts (%lld archive "
		    "only), %lld comments, %lld requests", t->job_id,
		    (long long)j->posts, (long long)j->archived,
		    (long long)j->comments, (long long)j->requests);
		worker_task_finish(t, hist_progress(j));
		hist_free(j);
	}
}

/* ---------------------------------------------------------------- */

static int
hist_start(struct fetchd *f, struct worker_task *t)
{
	struct history_job *j;
	const char	*s = NULL, *tt = NULL;
	cJSON		*cfg = NULL;
	int64_t		 n;
	int		 b;
	char		 msg[300];

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->mode = &fetchd_mode_history;
	j->f = f;
	j->t = t;
	j->limit = 100;
	j->want_media = j->want_comments = 1;
	j->covered = -1;
	t->priv = j;
	j->trees = trees_new(f, t->job_id, &(struct trees_hooks){
	    &j->out_comments, &j->requests, &j->dirty, hist_pump_cb,
	    hist_fail_cb, j });
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
	make_sources(j);
	if (s == NULL || strlen(s) == 0 || strlen(s) > 64 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-") != strlen(s)) {
		snprintf(msg, sizeof(msg), "invalid target \"%.100s\"",
		    s ? s : "");
		hist_fail(j, msg);
		return 0;
	}
	snprintf(j->target, sizeof(j->target), "%s", s);
	fetchd_get_count(t->progress, P_POSTS, &j->posts);
	fetchd_get_count(t->progress, P_COMMENTS, &j->comments);
	fetchd_get_count(t->progress, P_MEDIA, &j->media);
	fetchd_get_count(t->progress, P_REQUESTS, &j->requests);
	fetchd_get_count(t->progress, P_ARCHIVED, &j->archived);
	next_source(j);
	hist_restore(j, t->checkpoint);
	log_info("job %s: history of %s%s, limit %lld, %d sources%s", t->job_id,
	    j->user ? "u/" : "r/", j->target, (long long)j->limit, j->nsrc,
	    f->ac ? " (archive included)" : "");
	hist_pump(j);
	return 0;
}

static void
hist_stop(struct fetchd *f, struct worker_task *t, enum worker_stop why)
{
	struct history_job *j = t->priv;

	(void)f;
	(void)why;
	if (j == NULL)
		return;
	j->ended = 1;
	hist_free(j);
}

const struct fetchd_mode fetchd_mode_history = {
	PROTO_MODE_HISTORY, hist_start, hist_stop
};
