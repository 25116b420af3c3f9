/*
 * fetchd_media.c — the media records of a post, for mediad.
 *
 * Decided from the post's fields only (DESIGN.md §5): is_gallery with
 * gallery_data and media_metadata, is_video with media.reddit_video,
 * post_hint, domain and preview. A URL's host never decides anything; its
 * path's extension only tells a direct image or a .gifv from a page.
 */
#include <stdio.h>
#include <string.h>

#include "fetchd/fetchd_parse.h"

/* Audio tracks were renamed over the years; newest naming first. */
#define AUDIO_RENAMED_2023	1672531200.0	/* 2023-01-01T00:00:00Z */

struct media_ctx {
	const char	*post_id;	/* "t3_..." of the post itself */
	cJSON		*out;
	int		 index;
};

static const char *const gifv_ext[] = { "gifv", NULL };
static const char *const gif_ext[] = { "gif", NULL };

/* A string item holding url with &amp; &lt; &gt; undone. */
static cJSON *
url_item(const char *url)
{
	cJSON	*s;

	if (url == NULL || *url == '\0')
		return cJSON_CreateNull();
	if ((s = cJSON_CreateString(url)) != NULL)
		rd_unescape(s->valuestring);
	return s;
}

static void
add_url(cJSON *obj, const char *key, const char *url)
{
	if (url != NULL && *url != '\0')
		cJSON_AddItemToObject(obj, key, url_item(url));
}

/* A new record appended to out; extra is created and returned. */
static cJSON *
record(struct media_ctx *m, const char *kind, const char *url,
    cJSON **extrap)
{
	cJSON	*r;

	if ((r = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(r, "post_id", m->post_id);
	cJSON_AddNumberToObject(r, "index", m->index++);
	cJSON_AddStringToObject(r, "kind", kind);
	cJSON_AddItemToObject(r, "url", url_item(url));
	*extrap = cJSON_AddObjectToObject(r, "extra");
	cJSON_AddItemToArray(m->out, r);
	return r;
}

static void
mark_failed(cJSON *extra, const char *why)
{
	cJSON_AddStringToObject(extra, "status", "failed");
	cJSON_AddStringToObject(extra, "error", why);
}

/* The post's link target: url_overridden_by_dest, else url. */
static const char *
post_url(const cJSON *data)
{
	const char	*u = rd_str(data, "url_overridden_by_dest");

	return u != NULL ? u : rd_str(data, "url");
}

static const cJSON *
first_preview(const cJSON *data)
{
	const cJSON	*img;

	img = cJSON_GetArrayItem(rd_arr(rd_obj(data, "preview"), "images"), 0);
	return cJSON_IsObject(img) ? img : NULL;
}

/* preview.images[0].variants.<variant>.source.url */
static const char *
variant_url(const cJSON *data, const char *variant)
{
	return rd_str(rd_obj(rd_obj(rd_obj(first_preview(data), "variants"),
	    variant), "source"), "url");
}

static void
gallery(struct media_ctx *m, const cJSON *data)
{
	const cJSON	*items, *item, *mm, *meta, *s;
	const char	*mid, *status, *e, *url, *caption;
	char		 why[128];
	cJSON		*extra;
	int		 animated;

	items = rd_arr(rd_obj(data, "gallery_data"), "items");
	mm = rd_obj(data, "media_metadata");
	cJSON_ArrayForEach(item, items) {
		mid = rd_str(item, "media_id");
		meta = mid != NULL ? rd_obj(mm, mid) : NULL;
		status = rd_str(meta, "status");
		e = rd_str(meta, "e");
		s = rd_obj(meta, "s");
		animated = e != NULL && strcmp(e, "AnimatedImage") == 0;
		url = rd_str(s, "u");
		if (url == NULL)
			url = rd_str(s, "gif");
		if (url == NULL)
			url = rd_str(s, "mp4");
		if (meta == NULL || status == NULL ||
		    strcmp(status, "valid") != 0 || (e != NULL &&
		    strcmp(e, "Image") != 0 && !animated))
			url = NULL;
		/* every gallery item is one gallery_image, animated or not */
		if (record(m, "gallery_image", url, &extra) == NULL ||
		    extra == NULL)
			return;
		if (mid != NULL)
			cJSON_AddStringToObject(extra, "media_id", mid);
		if (status != NULL)
			cJSON_AddStringToObject(extra, "gallery_status",
			    status);
		if ((caption = rd_str(item, "caption")) != NULL &&
		    *caption != '\0')
			cJSON_AddStringToObject(extra, "caption", caption);
		add_url(extra, "outbound_url", rd_str(item, "outbound_url"));
		if (rd_str(meta, "m") != NULL)
			cJSON_AddStringToObject(extra, "mime",
			    rd_str(meta, "m"));
		if (animated) {
			cJSON_AddTrueToObject(extra, "animated");
			add_url(extra, "mp4_url", rd_str(s, "mp4"));
		}
		if (url != NULL)
			continue;
		if (meta == NULL)
			snprintf(why, sizeof(why),
			    "gallery item has no media_metadata");
		else if (status == NULL || strcmp(status, "valid") != 0)
			snprintf(why, sizeof(why), "gallery item status %s",
			    status != NULL ? status : "missing");
		else if (e != NULL && strcmp(e, "Image") != 0 && !animated)
			snprintf(why, sizeof(why),
			    "gallery item of type %.40s has no direct file", e);
		else
			snprintf(why, sizeof(why),
			    "gallery item without a source url");
		mark_failed(extra, why);
	}
}

/*
 * The audio track's likely names next to the video-only fallback file:
 * CMAF_<n>.mp4 (2025-) has CMAF_AUDIO_*, DASH_<n>.mp4 has DASH_AUDIO_*
 * since 2023 and DASH_audio.mp4 or plain "audio" before.
 */
static void
audio_candidates(const char *fallback, double created, cJSON *arr)
{
	static const char *const cmaf[] = {
		"CMAF_AUDIO_128.mp4", "CMAF_AUDIO_64.mp4",
		"DASH_AUDIO_128.mp4", NULL
	};
	static const char *const dash_new[] = {
		"DASH_AUDIO_128.mp4", "DASH_AUDIO_64.mp4", "DASH_audio.mp4",
		NULL
	};
	static const char *const dash_old[] = {
		"DASH_audio.mp4", "audio", "DASH_AUDIO_128.mp4", NULL
	};
	const char *const *names;
	const char	*end, *slash;
	char		 url[2048];
	cJSON		*s;
	int		 baselen;

	end = fallback + strcspn(fallback, "?#");
	for (slash = end; slash > fallback && slash[-1] != '/'; slash--)
		;
	if (slash == fallback || slash - fallback > 1500)
		return;
	baselen = (int)(slash - fallback);
	if (strncmp(slash, "CMAF_", 5) == 0)
		names = cmaf;
	else
		names = created >= AUDIO_RENAMED_2023 ? dash_new : dash_old;
	for (; *names != NULL; names++) {
		snprintf(url, sizeof(url), "%.*s%s", baselen, fallback, *names);
		if ((s = url_item(url)) != NULL)
			cJSON_AddItemToArray(arr, s);
	}
}

static void
video(struct media_ctx *m, const cJSON *data)
{
	const cJSON	*rv = rd_reddit_video(data), *ha;
	const char	*fallback;
	cJSON		*r, *extra, *cands;
	int		 audio;

	fallback = rd_str(rv, "fallback_url");
	if ((r = record(m, "video", fallback, &extra)) == NULL ||
	    extra == NULL)
		return;
	if (rv == NULL) {
		/*
		 * Just uploaded: Reddit is still transcoding and media is
		 * null. The job will not come back for it, so the item is
		 * recorded failed with the reason rather than left pending.
		 */
		mark_failed(extra, "reddit video still transcoding "
		    "(media.reddit_video is null)");
		return;
	}
	add_url(extra, "dash_url", rd_str(rv, "dash_url"));
	add_url(extra, "hls_url", rd_str(rv, "hls_url"));
	ha = cJSON_GetObjectItemCaseSensitive(rv, "has_audio");
	if (cJSON_IsBool(ha)) {
		cJSON_AddBoolToObject(extra, "has_audio", cJSON_IsTrue(ha));
		audio = cJSON_IsTrue(ha);
	} else {
		/* older data has no has_audio: look for a track anyway */
		cJSON_AddNullToObject(extra, "has_audio");
		audio = !rd_true(rv, "is_gif");
	}
	if (rd_num(rv, "duration", -1) >= 0)
		cJSON_AddNumberToObject(extra, "duration",
		    rd_num(rv, "duration", 0));
	cJSON_AddBoolToObject(extra, "is_gif", rd_true(rv, "is_gif"));
	if (fallback == NULL) {
		mark_failed(extra, "reddit video without a fallback_url");
		return;
	}
	if (!audio)
		return;
	if ((cands = cJSON_AddArrayToObject(extra, "audio_candidates")) ==
	    NULL)
		return;
	audio_candidates(fallback, rd_num(data, "created_utc", 0), cands);
	if (cJSON_GetArraySize(cands) > 0)
		cJSON_AddItemToObject(r, "audio_url",
		    cJSON_Duplicate(cJSON_GetArrayItem(cands, 0), 0));
}

/* imgur's .gifv is an HTML page; the same name ending .mp4 is the file. */
static void
gifv(struct media_ctx *m, const cJSON *data, const char *url)
{
	char		 mp4[2048];
	const char	*dot;
	size_t		 stem;
	cJSON		*extra;

	dot = url + strcspn(url, "?#");
	stem = (size_t)(dot - url) - 5;	/* ".gifv" */
	if (stem > 1500)
		return;
	snprintf(mp4, sizeof(mp4), "%.*s.mp4%s", (int)stem, url, dot);
	if (record(m, "gifv", mp4, &extra) == NULL || extra == NULL)
		return;
	add_url(extra, "original_url", url);
	cJSON_AddStringToObject(extra, "mime", "video/mp4");
	add_url(extra, "preview_mp4_url", variant_url(data, "mp4"));
}

static void
image(struct media_ctx *m, const cJSON *data)
{
	const char	*url = post_url(data), *psrc, *mp4;
	cJSON		*extra;
	int		 animated;

	psrc = rd_str(rd_obj(first_preview(data), "source"), "url");
	/* a relative url is a permalink: the preview is all there is */
	if (url == NULL || url[0] == '/')
		url = psrc;
	mp4 = variant_url(data, "mp4");
	animated = rd_url_ext_is(url, gif_ext) ||
	    (mp4 != NULL && variant_url(data, "gif") != NULL);
	if (record(m, animated ? "animated" : "image", url, &extra) == NULL ||
	    extra == NULL)
		return;
	if (url != psrc)
		add_url(extra, "preview_url", psrc);
	if (animated)
		add_url(extra, "mp4_url", mp4);
	if (url == NULL)
		mark_failed(extra, "image post without a url");
}

/* A link whose preview is animated (gif/mp4 variants): the mp4 rendition. */
static void
animated_preview(struct media_ctx *m, const cJSON *data, const char *mp4,
    const char *gif)
{
	cJSON	*extra;

	if (record(m, "animated", mp4 != NULL ? mp4 : gif, &extra) == NULL ||
	    extra == NULL)
		return;
	cJSON_AddStringToObject(extra, "mime", mp4 != NULL ? "video/mp4" :
	    "image/gif");
	add_url(extra, "original_url", post_url(data));
}

int
rd_media_extract(const cJSON *post_data, cJSON *out, const char **errp)
{
	char		 id[RD_FULLNAME_MAX + 1];
	struct media_ctx m;
	const cJSON	*src;
	const char	*name, *pid, *hint, *url, *mp4, *gif;
	int		 before;

	if (!cJSON_IsObject(post_data) || !cJSON_IsArray(out)) {
		SETERR("post data is not an object");
		return -1;
	}
	name = rd_str(post_data, "name");
	pid = rd_str(post_data, "id");
	if (name != NULL && strncmp(name, "t3_", 3) == 0 &&
	    rd_valid_id(name + 3))
		snprintf(id, sizeof(id), "%s", name);
	else if (rd_valid_id(pid))
		snprintf(id, sizeof(id), "t3_%s", pid);
	else {
		SETERR("post without a valid id");
		return -1;
	}
	m.post_id = id;
	m.out = out;
	m.index = 0;
	before = cJSON_GetArraySize(out);

	/* a crosspost's media live on the original */
	if ((src = rd_crosspost_parent(post_data)) == NULL)
		src = post_data;
	hint = rd_str(src, "post_hint");
	url = post_url(src);
	mp4 = variant_url(src, "mp4");
	gif = variant_url(src, "gif");
	if (rd_true(src, "is_self"))
		;
	else if (rd_true(src, "is_gallery") ||
	    rd_obj(src, "gallery_data") != NULL)
		gallery(&m, src);
	else if (rd_true(src, "is_video") || rd_reddit_video(src) != NULL)
		video(&m, src);
	else if (rd_url_ext_is(url, gifv_ext))
		gifv(&m, src, url);
	else if (rd_post_classify(src) == RD_POST_IMAGE)
		image(&m, src);
	else if ((hint == NULL || strcmp(hint, "rich:video") != 0) &&
	    (mp4 != NULL || gif != NULL))
		animated_preview(&m, src, mp4, gif);
	return cJSON_GetArraySize(out) - before;
}
