/*
 * test_fetchd_media.c — media records found in posts, and golden files
 * (the .ref files in tests/data/golden) for the exact records fetchd reports.
 *
 * RSCRAPE_GOLDEN_UPDATE=1 rewrites the .ref files instead of comparing;
 * review the diff before committing one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/testdata.h"

#include "fetchd/fetchd_parse.h"

/* The parsed body of a fixture and its first post's data. */
static cJSON *
fixture_post(const char *name, const cJSON **datap)
{
	char		 path[1024];
	struct rd_listing l;
	const cJSON	*first;
	const char	*err;
	cJSON		*root;
	char		*buf;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/reddit/%s", datadir(), name);
	buf = slurp(path, &len);
	root = rd_json_parse(buf, len, &err);
	free(buf);
	assert_non_null(root);
	first = cJSON_IsArray(root) ? cJSON_GetArrayItem(root, 0) : root;
	assert_int_equal(rd_listing_from_json(first, &l, &err), 0);
	assert_string_equal(rd_thing(cJSON_GetArrayItem(l.children, 0),
	    datap), "t3");
	return root;
}

/* Compare (or, when updating, write) one line of compact JSON per item. */
static void
golden(const char *name, const cJSON *items)
{
	char		 path[1024];
	const cJSON	*it;
	char		*s, *want, *got = NULL;
	size_t		 len = 0, wantlen;
	FILE		*f;

	cJSON_ArrayForEach(it, items) {
		s = cJSON_PrintUnformatted(it);
		got = realloc(got, len + strlen(s) + 2);
		memcpy(got + len, s, strlen(s));
		len += strlen(s);
		got[len++] = '\n';
		got[len] = '\0';
		free(s);
	}
	snprintf(path, sizeof(path), "%s/golden/%s", datadir(), name);
	if (getenv("RSCRAPE_GOLDEN_UPDATE") != NULL) {
		assert_non_null(f = fopen(path, "wb"));
		assert_int_equal(fwrite(got, 1, len, f), len);
		fclose(f);
	}
	want = slurp(path, &wantlen);
	if (wantlen != len || memcmp(want, got, len) != 0)
		fail_msg("%s differs from the records produced:\n%s", path,
		    got);
	free(want);
	free(got);
}

static cJSON *
media_of(const cJSON *data, int want)
{
	cJSON		*out = cJSON_CreateArray();
	const char	*err = NULL;

	assert_int_equal(rd_media_extract(data, out, &err), want);
	return out;
}

static const char *
extra_str(const cJSON *m, const char *key)
{
	return rd_str(rd_obj(m, "extra"), key);
}

/* ------------------------------------------------------------------ */

/*
 * hzobai: gallery_data has 4 items; media_metadata says only the second
 * (se8zauqy9od51) is valid, the others "failed". All four are recorded,
 * in gallery order, the failed ones with a reason and no url.
 */
static void
test_gallery_hzobai(void **state)
{
	static const char *const ids[] = {
		"6bf0mtoy9od51", "se8zauqy9od51", "qlglqvry9od51",
		"kdxka3ty9od51",
	};
	const cJSON	*data, *m;
	cJSON		*root, *out;
	int		 i = 0;

	(void)state;
	root = fixture_post("post_gallery_hzobai.json", &data);
	out = media_of(data, 4);
	cJSON_ArrayForEach(m, out) {
		assert_string_equal(rd_str(m, "post_id"), "t3_hzobai");
		assert_int_equal(rd_num(m, "index", -1), i);
		assert_string_equal(rd_str(m, "kind"), "gallery_image");
		assert_string_equal(extra_str(m, "media_id"), ids[i]);
		if (i == 1) {
			assert_string_equal(rd_str(m, "url"), "https://preview."
			    "redd.it/se8zauqy9od51.jpg?width=128&format=pjpg&"
			    "auto=webp&s=01f3106e3983142f762e1b511e9acb260688d"
			    "877");
			assert_null(extra_str(m, "status"));
			assert_string_equal(extra_str(m, "caption"),
			    "test.jpg");
		} else {
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(m,
			    "url")));
			assert_string_equal(extra_str(m, "status"), "failed");
			assert_string_equal(extra_str(m, "error"),
			    "gallery item status failed");
		}
		i++;
	}
	golden("media_hzobai.ref", out);
	cJSON_Delete(out);
	cJSON_Delete(root);
}

/*
 * k5rsq3 (2020): a v.redd.it video without has_audio, fallback
 * DASH_240.mp4: one video item, audio guessed as DASH_audio.mp4 next to it.
 */
static void
test_video_k5rsq3(void **state)
{
	struct rd_post	 p;
	const cJSON	*data, *m;
	cJSON		*root, *out, *both;
	const char	*err;

	(void)state;
	root = fixture_post("post_video_k5rsq3.json", &data);
	out = media_of(data, 1);
	m = cJSON_GetArrayItem(out, 0);
	assert_string_equal(rd_str(m, "kind"), "video");
	assert_string_equal(rd_str(m, "url"),
	    "https://v.redd.it/5ph4906syw261/DASH_240.mp4?source=fallback");
	assert_string_equal(rd_str(m, "audio_url"),
	    "https://v.redd.it/5ph4906syw261/DASH_audio.mp4");
	assert_non_null(extra_str(m, "dash_url"));
	assert_non_null(extra_str(m, "hls_url"));
	assert_int_equal(cJSON_GetArraySize(rd_arr(rd_obj(m, "extra"),
	    "audio_candidates")), 3);
	/* the post record and its media, byte for byte */
	assert_int_equal(rd_post_extract(data, &p, &err), 0);
	assert_int_equal(p.type, RD_POST_VIDEO);
	both = cJSON_CreateArray();
	cJSON_AddItemToArray(both, p.record);
	cJSON_AddItemToArray(both, cJSON_Duplicate(m, 1));
	golden("post_k5rsq3.ref", both);
	cJSON_Delete(both);
	cJSON_Delete(out);
	cJSON_Delete(root);
}

/* 1khufe0: is_video but media null (transcoding): one failed item. */
static void
test_video_transcoding(void **state)
{
	const cJSON	*data, *m;
	cJSON		*root, *out;

	(void)state;
	root = fixture_post("post_video_transcoding_1khufe0.json", &data);
	out = media_of(data, 1);
	m = cJSON_GetArrayItem(out, 0);
	assert_string_equal(rd_str(m, "kind"), "video");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "url")));
	assert_null(cJSON_GetObjectItem(m, "audio_url"));
	assert_string_equal(extra_str(m, "status"), "failed");
	assert_non_null(strstr(extra_str(m, "error"), "transcoding"));
	cJSON_Delete(out);
	cJSON_Delete(root);
}

/*
 * hmkfma crossposts 6vx01b, a self post: the media come from the parent,
 * so none; the crosspost's own fields are not looked at.
 */
static void
test_crosspost(void **state)
{
	const cJSON	*data, *vdata, *m;
	cJSON		*root, *vroot, *out, *xp;

	(void)state;
	root = fixture_post("post_crosspost_hmkfma.json", &data);
	out = media_of(data, 0);
	cJSON_Delete(out);
	/* the same crosspost of the k5rsq3 video: the video, under hmkfma */
	vroot = fixture_post("post_video_k5rsq3.json", &vdata);
	xp = cJSON_Duplicate(data, 1);
	cJSON_ReplaceItemInObject(xp, "crosspost_parent_list",
	    cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItem(xp, "crosspost_parent_list"),
	    cJSON_Duplicate(vdata, 1));
	out = media_of(xp, 1);
	m = cJSON_GetArrayItem(out, 0);
	assert_string_equal(rd_str(m, "post_id"), "t3_hmkfma");
	assert_string_equal(rd_str(m, "kind"), "video");
	assert_string_equal(rd_post_type_name(rd_post_classify(xp)), "video");
	cJSON_Delete(out);
	cJSON_Delete(xp);
	cJSON_Delete(vroot);
	cJSON_Delete(root);
}

/* 3hahrw: an imgur .gifv link (post_hint link) is fetched as .mp4. */
static void
test_gifv(void **state)
{
	const cJSON	*data, *m;
	cJSON		*root, *out;

	(void)state;
	root = fixture_post("comments_3hahrw_continue_cu5v5h7.json", &data);
	out = media_of(data, 1);
	m = cJSON_GetArrayItem(out, 0);
	assert_string_equal(rd_str(m, "kind"), "gifv");
	assert_string_equal(rd_str(m, "url"), "http://i.imgur.com/eoF76hj.mp4");
	assert_string_equal(extra_str(m, "original_url"),
	    "http://i.imgur.com/eoF76hj.gifv");
	cJSON_Delete(out);
	cJSON_Delete(root);
}

/*
 * Counted with python over listing_r_popular_hot_2026's 100 posts:
 * 14 galleries with 59 items, all "valid" Image; 24 is_video posts, 22
 * with has_audio true; 50 post_hint image, one of them a .gif; 6 self,
 * 5 link, 1 rich:video (none of those has media).
 */
static void
test_popular_counts(void **state)
{
	char		 path[1024];
	struct rd_listing l;
	const cJSON	*thing, *data, *m;
	const char	*err, *kind;
	cJSON		*out = cJSON_CreateArray();
	char		*buf;
	size_t		 len;
	int		 image = 0, gallery = 0, video = 0, audio = 0;
	int		 animated = 0, other = 0, failed = 0, posts = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/reddit/%s", datadir(),
	    "listing_r_popular_hot_2026.json");
	buf = slurp(path, &len);
	assert_int_equal(rd_listing_parse(buf, len, &l, &err), 0);
	cJSON_ArrayForEach(thing, l.children) {
		assert_non_null(rd_thing(thing, &data));
		posts += rd_media_extract(data, out, &err) > 0;
	}
	cJSON_ArrayForEach(m, out) {
		kind = rd_str(m, "kind");
		if (strcmp(kind, "image") == 0)
			image++;
		else if (strcmp(kind, "gallery_image") == 0)
			gallery++;
		else if (strcmp(kind, "video") == 0) {
			video++;
			audio += rd_str(m, "audio_url") != NULL;
			/* 2026 videos are CMAF: so is their audio */
			if (rd_str(m, "audio_url") != NULL)
				assert_non_null(strstr(rd_str(m, "audio_url"),
				    "/CMAF_AUDIO_128.mp4"));
		} else if (strcmp(kind, "animated") == 0)
			animated++;
		else
			other++;
		failed += extra_str(m, "status") != NULL;
		assert_non_null(rd_str(m, "url"));
		assert_null(strstr(rd_str(m, "url"), "&amp;"));
	}
	assert_int_equal(gallery, 59);
	assert_int_equal(video, 24);
	assert_int_equal(audio, 22);
	assert_int_equal(image, 49);
	assert_int_equal(animated, 1);
	assert_int_equal(other, 0);
	assert_int_equal(failed, 0);
	assert_int_equal(posts, 14 + 24 + 50);
	rd_listing_free(&l);
	cJSON_Delete(out);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* Synthetic posts: loopback URLs, escaping, odd items                  */

static cJSON *
post(const char *json)
{
	cJSON	*j = cJSON_Parse(json);

	assert_non_null(j);
	return j;
}

static void
test_loopback_and_escapes(void **state)
{
	cJSON		*p, *out;
	const cJSON	*m;

	(void)state;
	/* the host is never consulted: a loopback image is an image */
	p = post("{\"id\": \"lb1\", \"post_hint\": \"image\", \"domain\": "
	    "\"i.redd.it\", \"url\": \"http://127.0.0.1:8123/m/a.jpg\"}");
	out = media_of(p, 1);
	m = cJSON_GetArrayItem(out, 0);
	assert_string_equal(rd_str(m, "kind"), "image");
	assert_string_equal(rd_str(m, "url"), "http://127.0.0.1:8123/m/a.jpg");
	cJSON_Delete(out);
	cJSON_Delete(p);

	/* a gallery as served without raw_json: &amp; undone in every url */
	p = post("{\"id\": \"g1\", \"is_gallery\": true, \"gallery_data\": "
	    "{\"items\": [{\"media_id\": \"a\"}, {\"media_id\": \"b\"}, "
	    "{\"media_id\": \"c\"}, {\"media_id\": \"d\"}, {\"media_id\": "
	    "\"e\"}, {\"id\": 3}, 7]}, \"media_metadata\": {"
	    "\"a\": {\"status\": \"valid\", \"e\": \"Image\", \"m\": "
	    "\"image/png\", \"s\": {\"u\": \"http://127.0.0.1:1/a.png?x=1&amp;"
	    "y=2\"}}, \"b\": {\"status\": \"valid\", \"e\": \"AnimatedImage\", "
	    "\"s\": {\"gif\": \"http://127.0.0.1:1/b.gif\", \"mp4\": "
	    "\"http://127.0.0.1:1/b.mp4?a&amp;b\"}}, \"c\": {\"status\": "
	    "\"unprocessed\"}, \"e\": {\"status\": \"valid\", \"e\": "
	    "\"RedditVideo\", \"dashUrl\": \"http://127.0.0.1:1/e.mpd\"}}}");
	out = media_of(p, 7);
	m = cJSON_GetArrayItem(out, 0);
	assert_string_equal(rd_str(m, "url"), "http://127.0.0.1:1/a.png?x=1&y=2");
	assert_string_equal(extra_str(m, "mime"), "image/png");
	m = cJSON_GetArrayItem(out, 1);
	assert_string_equal(rd_str(m, "kind"), "gallery_image");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rd_obj(m, "extra"),
	    "animated")));
	assert_string_equal(rd_str(m, "url"), "http://127.0.0.1:1/b.gif");
	assert_string_equal(extra_str(m, "mp4_url"),
	    "http://127.0.0.1:1/b.mp4?a&b");
	m = cJSON_GetArrayItem(out, 2);
	assert_string_equal(extra_str(m, "error"),
	    "gallery item status unprocessed");
	m = cJSON_GetArrayItem(out, 3);
	assert_string_equal(extra_str(m, "error"),
	    "gallery item has no media_metadata");
	m = cJSON_GetArrayItem(out, 4);
	assert_string_equal(extra_str(m, "status"), "failed");
	assert_int_equal(rd_num(cJSON_GetArrayItem(out, 6), "index", -1), 6);
	cJSON_Delete(out);
	cJSON_Delete(p);
}

static void
test_video_variants(void **state)
{
	cJSON		*p, *out;
	const cJSON	*m;

	(void)state;
	/* has_audio false: no audio at all */
	p = post("{\"id\": \"v1\", \"is_video\": true, \"created_utc\": "
	    "1.7e9, \"secure_media\": {\"reddit_video\": {\"fallback_url\": "
	    "\"http://127.0.0.1:1/v/DASH_720.mp4?source=fallback\", "
	    "\"has_audio\": false, \"is_gif\": true}}}");
	out = media_of(p, 1);
	m = cJSON_GetArrayItem(out, 0);
	assert_null(cJSON_GetObjectItem(m, "audio_url"));
	assert_null(rd_arr(rd_obj(m, "extra"), "audio_candidates"));
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(rd_obj(m, "extra"),
	    "has_audio")));
	cJSON_Delete(out);
	cJSON_Delete(p);
	/* DASH_<n> after 2023: DASH_AUDIO_128 first */
	p = post("{\"id\": \"v2\", \"is_video\": true, \"created_utc\": "
	    "1.7e9, \"media\": {\"reddit_video\": {\"fallback_url\": "
	    "\"http://127.0.0.1:1/v/DASH_720.mp4?source=fallback\", "
	    "\"has_audio\": true}}}");
	out = media_of(p, 1);
	assert_string_equal(rd_str(cJSON_GetArrayItem(out, 0), "audio_url"),
	    "http://127.0.0.1:1/v/DASH_AUDIO_128.mp4");
	cJSON_Delete(out);
	cJSON_Delete(p);
}

static void
test_nothing_to_download(void **state)
{
	static const char *const posts[] = {
		/* self post, even with a preview */
		"{\"id\": \"s1\", \"is_self\": true, \"preview\": {\"images\": "
		"[{\"source\": {\"url\": \"http://127.0.0.1/x.jpg\"}}]}}",
		/* external web page */
		"{\"id\": \"l1\", \"post_hint\": \"link\", \"url\": "
		"\"http://127.0.0.1/article.html\", \"preview\": {\"images\": "
		"[{\"source\": {\"url\": \"http://127.0.0.1/t.jpg\"}, "
		"\"variants\": {}}]}}",
		/* rich:video embed */
		"{\"id\": \"r1\", \"post_hint\": \"rich:video\", \"url\": "
		"\"http://127.0.0.1/watch?v=1\", \"secure_media\": {\"type\": "
		"\"youtube.com\", \"oembed\": {}}}",
		/* a deleted gallery */
		"{\"id\": \"g2\", \"is_gallery\": true, \"gallery_data\": null}",
		/* a bare link with nothing */
		"{\"id\": \"n1\", \"url\": \"http://127.0.0.1/\"}",
	};
	cJSON		*p, *out;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
		p = post(posts[i]);
		out = media_of(p, 0);
		cJSON_Delete(out);
		cJSON_Delete(p);
	}
	/* a link whose preview is animated: its mp4 rendition */
	p = post("{\"id\": \"a1\", \"post_hint\": \"link\", \"url\": "
	    "\"http://127.0.0.1/clip\", \"preview\": {\"images\": [{\"source\": "
	    "{\"url\": \"http://127.0.0.1/t.jpg\"}, \"variants\": {\"gif\": "
	    "{\"source\": {\"url\": \"http://127.0.0.1/t.gif\"}}, \"mp4\": "
	    "{\"source\": {\"url\": \"http://127.0.0.1/t.mp4?a=1&amp;b=2\"}}}}]}}");
	out = media_of(p, 1);
	assert_string_equal(rd_str(cJSON_GetArrayItem(out, 0), "kind"),
	    "animated");
	assert_string_equal(rd_str(cJSON_GetArrayItem(out, 0), "url"),
	    "http://127.0.0.1/t.mp4?a=1&b=2");
	cJSON_Delete(out);
	cJSON_Delete(p);
}

/* Comment records of gx8r8z, without raw, byte for byte. */
static void
test_golden_comments(void **state)
{
	char		 path[1024];
	struct rd_thread *th;
	cJSON		*c, *comments = cJSON_CreateArray();
	const char	*err;
	char		*buf;
	size_t		 len;

	(void)state;
	snprintf(path, sizeof(path), "%s/reddit/%s", datadir(),
	    "comments_gx8r8z_removed_deleted.json");
	buf = slurp(path, &len);
	th = rd_thread_new("gx8r8z");
	assert_int_equal(rd_thread_add_tree(th, buf, len, NULL, comments,
	    &err), 8);
	cJSON_ArrayForEach(c, comments)
		cJSON_DeleteItemFromObject(c, "raw");
	golden("comments_gx8r8z.ref", comments);
	rd_thread_free(th);
	cJSON_Delete(comments);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gallery_hzobai),
		cmocka_unit_test(test_video_k5rsq3),
		cmocka_unit_test(test_video_transcoding),
		cmocka_unit_test(test_crosspost),
		cmocka_unit_test(test_gifv),
		cmocka_unit_test(test_popular_counts),
		cmocka_unit_test(test_loopback_and_escapes),
		cmocka_unit_test(test_video_variants),
		cmocka_unit_test(test_nothing_to_download),
		cmocka_unit_test(test_golden_comments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
