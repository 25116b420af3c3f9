/*
 * mediad_item.c — one media task: one distinct URL, one item a user would
 * call one picture or one video.
 *
 *   image, gallery item, animated, gifv:  GET url -> verify -> store
 *   video (media.reddit_video):
 *     GET fallback_url (the video track)          \  in parallel
 *     GET dash_url, read its audio BaseURL, then   |
 *     GET the audio track (else the candidates     |
 *     fetchd listed: DASH_AUDIO_128.mp4, ...)     /
 *     -> ffmpeg -c copy into one MP4 (when on PATH) -> store
 *     -> else both tracks stored, audio_merged false
 *   A 403/404 on every audio candidate is a video without sound: normal.
 *
 * Every body is verified before it is stored: a complete 2xx answer,
 * within max_bytes, whose magic bytes are media of the expected sort (an
 * HTML page at an image URL fails the item, saying so). The result goes
 * to jobd with task.finish; a failed item never fails its job.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "mediad/mediad.h"
#include "proto/proto.h"

#define KIND_VIDEO	"video"
#define KIND_GIFV	"gifv"
#define MAX_AUDIO_CANDS	12

struct item {
	struct mediad	*m;
	struct worker_task *t;
	const char	*url;		/* borrowed from t->media */
	const char	*kind;
	int		 is_video;

	struct dl	*dl_video, *dl_mpd, *dl_audio;
	cJSON		*cands;		/* audio URLs still to try, in order */
	int		 mpd_pending;
	int		 video_done, audio_done;
	struct sink	*video, *audio;
	struct sniff	 vsniff;
	char		 audio_err[MEDIAD_ERR_MAX];

	struct mux	*mux;
	void		*commit_v, *commit_a, *commit_m;
	int		 commits;	/* in flight */
	struct stored	 sv, sa, sm;
	int		 merged;
};

static void	item_step(struct item *it);

static void
item_free(struct item *it)
{
	dl_cancel(it->dl_video);
	dl_cancel(it->dl_mpd);
	dl_cancel(it->dl_audio);
	mux_cancel(it->mux);
	store_forget(it->commit_v);
	store_forget(it->commit_a);
	store_forget(it->commit_m);
	sink_discard(it->video);
	sink_discard(it->audio);
	cJSON_Delete(it->cands);
	it->t->priv = NULL;
	free(it);
}

/* The end: send the result, forget the item. */
static void
item_finish(struct item *it, cJSON *result)
{
	struct worker_task *t = it->t;

	it->m->items_done++;
	item_free(it);
	worker_task_finish_result(t, result);
}

static void
item_fail(struct item *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
item_fail(struct item *it, const char *fmt, ...)
{
	struct proto_media_result r;
	char		 msg[MEDIAD_ERR_MAX * 2];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("task %lld: %s: failed: %s", (long long)it->t->task_id,
	    it->url, msg);
	memset(&r, 0, sizeof(r));
	r.status = PROTO_MEDIA_FAILED;
	r.bytes = -1;
	r.audio_bytes = -1;
	r.audio_merged = -1;
	r.error = msg;
	item_finish(it, proto_media_result_new(&r));
}

static void
item_downloaded(struct item *it)
{
	struct proto_media_result r;
	const struct stored *main = it->merged ? &it->sm : &it->sv;

	memset(&r, 0, sizeof(r));
	r.status = PROTO_MEDIA_DOWNLOADED;
	r.bytes = main->bytes;
	r.sha256 = main->sha;
	r.content_type = it->merged ? "video/mp4" : it->vsniff.content_type;
	r.path = main->path;
	r.audio_bytes = -1;
	r.audio_merged = -1;
	if (it->merged)
		r.audio_merged = 1;
	else if (it->sa.ok) {
		r.audio_merged = 0;
		r.audio_path = it->sa.path;
		r.audio_sha256 = it->sa.sha;
		r.audio_bytes = it->sa.bytes;
	}
	log_info("task %lld: %s: %s (%lld bytes%s%s)",
	    (long long)it->t->task_id, it->url, r.path, (long long)r.bytes,
	    main->existed ? ", already stored" : "",
	    it->merged ? ", audio merged" : it->sa.ok ? ", audio apart" : "");
	item_finish(it, proto_media_result_new(&r));
}

/* Is what arrived the sort of media the item is? NULL: yes. */
static const char *
check_media(const struct item *it, const struct sniff *s, int64_t bytes)
{
	if (bytes == 0)
		return "empty body";
	switch (s->cls) {
	case SNIFF_TEXT:
		return it->is_video ? "not media: the server sent an HTML or "
		    "text page where a video was expected" : "not media: the "
		    "server sent an HTML or text page where an image was "
		    "expected";
	case SNIFF_UNKNOWN:
		return "unrecognised content (not an image, video or audio "
		    "file by its magic bytes)";
	case SNIFF_IMAGE:
		return it->is_video ? "an image where a video was expected" :
		    NULL;
	case SNIFF_AUDIO:
		return it->is_video ? "audio where a video was expected" :
		    NULL;
	case SNIFF_VIDEO:
		return NULL;
	}
	return "unrecognised content";
}

/* ------------------------------------------------------------------ */
/* storing                                                             */

static void
stored_cb(const struct stored *res, void *arg, struct stored *dst,
    void **handle)
{
	struct item	*it = arg;

	*handle = NULL;
	*dst = *res;
	it->commits--;
	if (!res->ok) {
		item_fail(it, "storing the file: %s", res->error);
		return;
	}
	if (it->commits == 0)
		item_downloaded(it);
}

static void
stored_video(const struct stored *res, void *arg)
{
	struct item	*it = arg;

	stored_cb(res, arg, &it->sv, &it->commit_v);
}

static void
stored_audio(const struct stored *res, void *arg)
{
	struct item	*it = arg;

	stored_cb(res, arg, &it->sa, &it->commit_a);
}

static void
stored_merged(const struct stored *res, void *arg)
{
	struct item	*it = arg;

	stored_cb(res, arg, &it->sm, &it->commit_m);
}

/* Store the tracks as they are (no ffmpeg, or ffmpeg failed). */
static void
store_apart(struct item *it)
{
	struct sniff	 as;

	it->commits = it->audio ? 2 : 1;
	if (it->audio) {
		sniff_bytes(it->audio->head, it->audio->headlen, &as);
		it->commit_a = store_commit_sink(it->audio, as.ext,
		    stored_audio, it);
		it->audio = NULL;
	}
	it->commit_v = store_commit_sink(it->video, it->vsniff.ext,
	    stored_video, it);
	it->video = NULL;
}

static void
mux_done(const struct mux_result *res, void *arg)
{
	struct item	*it = arg;

	it->mux = NULL;
	if (!res->ok) {
		log_warnx("task %lld: %s: %s; keeping video and audio apart",
		    (long long)it->t->task_id, it->url, res->error);
		store_apart(it);
		return;
	}
	it->merged = 1;
	it->commits = 1;
	it->commit_m = store_commit_file(it->m->st, res->out, "mp4",
	    stored_merged, it);
	/* the tracks are not kept once merged */
	sink_discard(it->video);
	sink_discard(it->audio);
	it->video = it->audio = NULL;
}

/* Both tracks are in (or known absent): mux or store. */
static void
item_step(struct item *it)
{
	if (!it->video_done || !it->audio_done || it->mux || it->commits)
		return;
	if (it->audio != NULL && it->m->ffmpeg != NULL) {
		if ((it->mux = mux_start(it->m, it->video->tmp,
		    it->audio->tmp, mux_done, it)) != NULL)
			return;
	}
	store_apart(it);
}

/* ------------------------------------------------------------------ */
/* downloads                                                           */

static void
video_cb(struct dl *dl, struct dl_result *res, void *arg)
{
	struct item	*it = arg;
	const char	*why;

	(void)dl;
	it->dl_video = NULL;
	if (!res->ok) {
		item_fail(it, "%s", res->error);
		return;
	}
	sniff_bytes(res->sink->head, res->sink->headlen, &it->vsniff);
	if ((why = check_media(it, &it->vsniff, res->sink->bytes)) != NULL) {
		sink_discard(res->sink);
		item_fail(it, "%s", why);
		return;
	}
	it->video = res->sink;
	it->video_done = 1;
	item_step(it);
}

static void	audio_next(struct item *it);

static void
audio_cb(struct dl *dl, struct dl_result *res, void *arg)
{
	struct item	*it = arg;
	struct sniff	 s;

	(void)dl;
	it->dl_audio = NULL;
	if (res->ok) {
		sniff_bytes(res->sink->head, res->sink->headlen, &s);
		if (res->sink->bytes > 0 && (s.cls == SNIFF_VIDEO ||
		    s.cls == SNIFF_AUDIO)) {
			it->audio = res->sink;
			it->audio_done = 1;
			item_step(it);
			return;
		}
		/* an error page served with 200: not this candidate */
		sink_discard(res->sink);
	} else if (res->transient) {
		/*
		 * The host is failing (5xx, timeouts, cut bodies, after the
		 * transfer's own retries): fail the item so that a later job
		 * tries it again, rather than store a video without its sound.
		 */
		item_fail(it, "audio track: %s", res->error);
		return;
	}
	/* 403/404 (the usual answer when there is no such track), or any
	 * other refusal: the next candidate */
	audio_next(it);
}

/* Try the next audio candidate; none left: a video without sound. */
static void
audio_next(struct item *it)
{
	cJSON	*c;

	while ((c = cJSON_DetachItemFromArray(it->cands, 0)) != NULL) {
		if (cJSON_IsString(c))
			it->dl_audio = dl_start(it->m, c->valuestring,
			    DL_STORE, audio_cb, it);
		cJSON_Delete(c);
		if (it->dl_audio != NULL)
			return;
	}
	it->audio_done = 1;
	item_step(it);
}

static void
cand_add(cJSON *cands, const char *url, int front)
{
	cJSON	*c;

	cJSON_ArrayForEach(c, cands)
		if (cJSON_IsString(c) && strcmp(c->valuestring, url) == 0)
			return;
	if (cJSON_GetArraySize(cands) >= MAX_AUDIO_CANDS)
		return;
	if (front)
		cJSON_InsertItemInArray(cands, 0, cJSON_CreateString(url));
	else
		cJSON_AddItemToArray(cands, cJSON_CreateString(url));
}

static void
mpd_cb(struct dl *dl, struct dl_result *res, void *arg)
{
	struct item	*it = arg;
	cJSON		*found, *c;
	int		 n;

	(void)dl;
	it->dl_mpd = NULL;
	if (res->ok && (found = cJSON_CreateArray()) != NULL) {
		dash_audio_urls(res->body, res->len, dl_url(dl), found);
		/* the manifest's tracks first, in its order */
		n = cJSON_GetArraySize(found);
		while (n-- > 0) {
			c = cJSON_GetArrayItem(found, n);
			cand_add(it->cands, c->valuestring, 1);
		}
		cJSON_Delete(found);
	} else
		log_debug("task %lld: DASH manifest: %s",
		    (long long)it->t->task_id, res->error);
	audio_next(it);
}

/* ------------------------------------------------------------------ */

int
item_start(struct worker_task *t, void *arg)
{
	struct mediad	*m = arg;
	struct item	*it;
	const cJSON	*extra, *c;
	const char	*s;
	int		 has_audio = 1;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		fatalx("%s: out of memory", __func__);
	it->m = m;
	it->t = t;
	t->priv = it;
	it->url = "-";
	if (t->media == NULL || proto_get_str(t->media, PROTO_MF_URL, 1,
	    &it->url, NULL) == -1 || *it->url == '\0') {
		it->url = "-";
		item_fail(it, "media task without a url");
		return 0;
	}
	if (proto_get_str(t->media, PROTO_MF_KIND, 0, &it->kind, NULL) == -1 ||
	    it->kind == NULL)
		it->kind = "";
	it->is_video = strcmp(it->kind, KIND_VIDEO) == 0 ||
	    strcmp(it->kind, KIND_GIFV) == 0;
	extra = cJSON_GetObjectItemCaseSensitive(t->media, PROTO_MF_EXTRA);
	log_debug("task %lld: %s %s", (long long)t->task_id, it->kind,
	    it->url);
	if ((it->dl_video = dl_start(m, it->url, DL_STORE, video_cb,
	    it)) == NULL) {
		item_fail(it, "not an http(s) URL");
		return 0;
	}
	it->audio_done = 1;
	if (strcmp(it->kind, KIND_VIDEO) != 0)
		return 0;

	/* a Reddit video: find its audio track */
	c = cJSON_GetObjectItemCaseSensitive(extra, PROTO_MX_HAS_AUDIO);
	if (cJSON_IsFalse(c))
		has_audio = 0;
	if (!has_audio)
		return 0;
	if ((it->cands = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	if (proto_get_str(t->media, PROTO_MF_AUDIO_URL, 0, &s, NULL) == 0 &&
	    s != NULL)
		cand_add(it->cands, s, 0);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(extra,
	    PROTO_MX_AUDIO_CANDS))
		if (cJSON_IsString(c))
			cand_add(it->cands, c->valuestring, 0);
	it->audio_done = 0;
	c = cJSON_GetObjectItemCaseSensitive(extra, PROTO_MX_DASH_URL);
	if (cJSON_IsString(c) && (it->dl_mpd = dl_start(m, c->valuestring,
	    DL_BUFFER, mpd_cb, it)) != NULL)
		return 0;
	audio_next(it);
	return 0;
}

void
item_stop(struct worker_task *t, enum worker_stop why, void *arg)
{
	struct item	*it = t->priv;
	struct proto_media_result r;

	(void)arg;
	if (it == NULL)
		return;
	log_info("task %lld: %s: stopped (%s)", (long long)t->task_id,
	    it->url, why == WORKER_STOP_CANCELLED ? "job cancelled" :
	    why == WORKER_STOP_SHUTDOWN ? "shutting down" : "lease lost");
	item_free(it);
	if (why != WORKER_STOP_CANCELLED)
		return;
	/*
	 * A media task's finish carries a result. "failed" leaves the URL
	 * to be tried again by any later job that wants it.
	 */
	memset(&r, 0, sizeof(r));
	r.status = PROTO_MEDIA_FAILED;
	r.bytes = -1;
	r.audio_bytes = -1;
	r.audio_merged = -1;
	r.error = "job cancelled before the download ended";
	worker_task_finish_result(t, proto_media_result_new(&r));
}
