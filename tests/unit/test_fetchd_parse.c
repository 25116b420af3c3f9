/*
 * test_fetchd_parse.c — fetchd's Reddit JSON layer over the recorded
 * responses in tests/data/reddit (every file), plus malformed input.
 *
 * Expected numbers were counted from the fixtures with Python, not with
 * this code (see the comments next to each figure).
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

/* ------------------------------------------------------------------ */
/* Listings                                                             */

struct listing_case {
	const char	*file;
	int		 nchildren;
	int		 t1, t3, t5;
	const char	*after;		/* NULL: listing ends */
	int		 dist;
};

/* counted with python3 json over each file's data.children */
static const struct listing_case listing_cases[] = {
	{ "listing_empty_before.json", 0, 0, 0, 0, NULL, 0 },
	{ "listing_r_askreddit_comments_before.json", 3, 3, 0, 0, NULL, 3 },
	{ "listing_r_askreddit_new.json", 100, 0, 100, 0, "t3_hozfbb", 100 },
	{ "listing_r_popular_hot_2026.json", 100, 0, 100, 0, "t3_1skbyfv",
	    100 },
	{ "listing_user_spez_comments_new.json", 100, 100, 0, 0,
	    "t1_egegczl", 100 },
	{ "listing_user_spez_overview_new_2026.json", 100, 90, 10, 0,
	    "t1_mzqqmaw", 100 },
	{ "listing_user_spladug_submitted_top.json", 100, 0, 100, 0,
	    "t3_15qtwh", 100 },
	{ "api_info_mixed.json", 94, 32, 29, 33, NULL, 94 },
};

static void
test_listings(void **state)
{
	const struct listing_case *lc;
	struct rd_listing l;
	struct rd_post	 p;
	struct rd_comment c;
	const cJSON	*thing, *data;
	const char	*kind, *err;
	char		*buf;
	size_t		 len, i;
	int		 t1, t3, t5;

	(void)state;
	for (i = 0; i < sizeof(listing_cases) / sizeof(listing_cases[0]);
	    i++) {
		lc = &listing_cases[i];
		buf = fixture(lc->file, &len);
		assert_int_equal(rd_listing_parse(buf, len, &l, &err), 0);
		assert_int_equal(l.nchildren, lc->nchildren);
		assert_int_equal(l.dist, lc->dist);
		if (lc->after == NULL)
			assert_null(l.after);
		else
			assert_string_equal(l.after, lc->after);
		t1 = t3 = t5 = 0;
		cJSON_ArrayForEach(thing, l.children) {
			kind = rd_thing(thing, &data);
			assert_non_null(kind);
			if (strcmp(kind, "t3") == 0) {
				t3++;
				assert_int_equal(rd_post_extract(data, &p,
				    &err), 0);
				assert_memory_equal(p.id, "t3_", 3);
				cJSON_Delete(p.record);
			} else if (strcmp(kind, "t1") == 0) {
				t1++;
				assert_int_equal(rd_comment_extract(data, NULL,
				    -1, &c, &err), 0);
				assert_memory_equal(c.id, "t1_", 3);
				cJSON_Delete(c.record);
			} else if (strcmp(kind, "t5") == 0)
				t5++;
		}
		assert_int_equal(t1, lc->t1);
		assert_int_equal(t3, lc->t3);
		assert_int_equal(t5, lc->t5);
		rd_listing_free(&l);
		free(buf);
	}
}

static void
test_listing_rejects(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "null", "42", "\"Listing\"",
		"{\"kind\": \"t3\", \"data\": {\"children\": []}}",
		"{\"kind\": \"Listing\"}",
		"{\"kind\": \"Listing\", \"data\": []}",
		"{\"kind\": \"Listing\", \"data\": {\"children\": {}}}",
		"{\"kind\": 5, \"data\": {\"children\": []}}",
	};
	struct rd_listing l;
	const char	*err;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(rd_listing_parse(bad[i], strlen(bad[i]), &l,
		    &err), -1);
		assert_non_null(err);
		assert_null(l.root);
	}
	/* tolerant of missing after/dist and of extra fields */
	static const char extra[] = "{\"kind\": \"Listing\", \"x\": 1, "
	    "\"data\": {\"children\": [1, {\"kind\": \"t3\"}], \"dist\": "
	    "null, \"after\": 7}}";
	assert_int_equal(rd_listing_parse(extra, sizeof(extra) - 1, &l, &err),
	    0);
	assert_int_equal(l.nchildren, 2);
	assert_null(l.after);
	assert_int_equal(l.dist, -1);
	rd_listing_free(&l);
}

/* ------------------------------------------------------------------ */
/* Posts and comments                                                   */

static void
test_post_removed_deleted(void **state)
{
	struct rd_thread *th;
	struct rd_post	 p;
	const cJSON	*c;
	cJSON		*comments = cJSON_CreateArray(), *raw;
	const char	*err;
	char		*buf;
	size_t		 len;
	int		 deleted = 0, removed = 0;

	(void)state;
	buf = fixture("comments_gx8r8z_removed_deleted.json", &len);
	th = rd_thread_new("gx8r8z");
	assert_non_null(th);
	/* python: 8 t1 in the tree, one "[deleted]" and one "[removed]" */
	assert_int_equal(rd_thread_add_tree(th, buf, len, &p, comments, &err),
	    8);
	assert_string_equal(p.id, "t3_gx8r8z");
	assert_string_equal(p.removed_by_category, "moderator");
	assert_true(p.flags & RD_PF_REMOVED);
	assert_false(p.flags & (RD_PF_DELETED | RD_PF_STICKIED |
	    RD_PF_EDITED));
	cJSON_ArrayForEach(c, comments) {
		deleted += cJSON_IsTrue(cJSON_GetObjectItem(c, "deleted"));
		removed += cJSON_IsTrue(cJSON_GetObjectItem(c, "removed"));
		assert_string_equal(rd_str(c, "post_id"), "t3_gx8r8z");
		/* raw never carries the subtree */
		raw = raw_json(c);
		assert_string_equal(rd_str(raw, "replies"), "");
		cJSON_Delete(raw);
	}
	assert_int_equal(deleted, 1);
	assert_int_equal(removed, 1);
	assert_true(rd_thread_done(th));
	cJSON_Delete(p.record);
	cJSON_Delete(comments);
	rd_thread_free(th);
	free(buf);
}

static void
test_post_types(void **state)
{
	static const struct {
		const char	*file;
		const char	*type;
	} cases[] = {
		{ "post_video_k5rsq3.json", "video" },
		{ "post_video_transcoding_1khufe0.json", "video" },
		{ "post_gallery_hzobai.json", "gallery" },
		{ "post_crosspost_hmkfma.json", "self" },	/* parent is self */
		{ "comments_3hahrw_continue_cu5v5h7.json", "link" },
		{ "comments_gx8r8z_removed_deleted.json", "self" },
	};
	struct rd_listing l;
	struct rd_post	 p;
	const cJSON	*data;
	cJSON		*root;
	const char	*err;
	char		*buf;
	size_t		 len, i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf = fixture(cases[i].file, &len);
		root = rd_json_parse(buf, len, &err);
		assert_non_null(root);
		assert_int_equal(rd_listing_from_json(cJSON_GetArrayItem(root,
		    0), &l, &err), 0);
		assert_string_equal(rd_thing(cJSON_GetArrayItem(l.children, 0),
		    &data), "t3");
		assert_int_equal(rd_post_extract(data, &p, &err), 0);
		assert_string_equal(rd_str(p.record, "post_type"),
		    cases[i].type);
		assert_true(cJSON_IsObject(rd_obj(p.record, "raw")));
		cJSON_Delete(p.record);
		cJSON_Delete(root);
		free(buf);
	}
}

/*
 * post_type over two whole listings, counted with python from post_hint /
 * is_self / is_video / is_gallery: popular_hot_2026 has 6 self,
 * 14 gallery, 24 video, 50 post_hint image, 5 post_hint link and one
 * rich:video, which is a link too.
 */
static void
test_post_type_counts(void **state)
{
	struct rd_listing l;
	struct rd_post	 p;
	const cJSON	*thing, *data;
	const char	*err;
	char		*buf;
	size_t		 len;
	int		 n[5] = { 0 };

	(void)state;
	buf = fixture("listing_r_popular_hot_2026.json", &len);
	assert_int_equal(rd_listing_parse(buf, len, &l, &err), 0);
	cJSON_ArrayForEach(thing, l.children) {
		assert_non_null(rd_thing(thing, &data));
		assert_int_equal(rd_post_extract(data, &p, &err), 0);
		n[p.type]++;
		cJSON_Delete(p.record);
	}
	assert_int_equal(n[RD_POST_SELF], 6);
	assert_int_equal(n[RD_POST_GALLERY], 14);
	assert_int_equal(n[RD_POST_VIDEO], 24);
	assert_int_equal(n[RD_POST_IMAGE], 50);
	assert_int_equal(n[RD_POST_LINK], 6);
	rd_listing_free(&l);
	free(buf);
}

static void
test_extract_rejects(void **state)
{
	static const char *const bad[] = {
		"[]", "{}", "{\"id\": 5}", "{\"id\": \"\"}",
		"{\"id\": \"AB CD\"}", "{\"name\": \"t3_\"}",
		"{\"id\": \"0123456789012345678901234567890\"}",
	};
	struct rd_post	 p;
	struct rd_comment c;
	cJSON		*j, *media = cJSON_CreateArray();
	const char	*err;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = cJSON_Parse(bad[i]);
		assert_int_equal(rd_post_extract(j, &p, &err), -1);
		assert_null(p.record);
		assert_int_equal(rd_comment_extract(j, "t3_x", 0, &c, &err),
		    -1);
		assert_int_equal(rd_media_extract(j, media, &err), -1);
		cJSON_Delete(j);
	}
	assert_int_equal(rd_post_extract(NULL, &p, &err), -1);
	/* wrong types everywhere read as absent */
	j = cJSON_Parse("{\"id\": \"abc\", \"title\": 5, \"score\": \"x\", "
	    "\"created_utc\": [], \"is_self\": \"yes\", \"preview\": 3, "
	    "\"media\": [], \"gallery_data\": \"g\", \"edited\": 17.0}");
	assert_int_equal(rd_post_extract(j, &p, &err), 0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(p.record, "title")));
	assert_int_equal(rd_num(p.record, "score", -1), 0);
	assert_string_equal(rd_str(p.record, "post_type"), "link");
	assert_true(p.flags & RD_PF_EDITED);
	cJSON_Delete(p.record);
	assert_int_equal(rd_media_extract(j, media, &err), 0);
	/* a comment with no link_id gets the caller's post id */
	assert_int_equal(rd_comment_extract(j, "t3_zz", 4, &c, &err), 0);
	assert_string_equal(rd_str(c.record, "post_id"), "t3_zz");
	assert_string_equal(c.parent_id, "t3_zz");
	assert_int_equal(c.depth, 4);
	cJSON_Delete(c.record);
	assert_int_equal(rd_comment_extract(j, NULL, 0, &c, &err), -1);
	cJSON_Delete(j);
	cJSON_Delete(media);
}

/* ------------------------------------------------------------------ */
/* Errors and about pages                                               */

static void
test_classify(void **state)
{
	static const struct {
		long		 status;
		const char	*file;		/* or body */
		const char	*body;
		const char	*location;
		enum rd_target	 target;
		enum rd_status	 want;
		int		 retry;
		const char	*message;
	} cases[] = {
		{ 200, NULL, "{}", NULL, RD_TARGET_SUBREDDIT, RD_S_OK, 0,
		    NULL },
		{ 403, "error_403_quarantined.json", NULL, NULL,
		    RD_TARGET_SUBREDDIT, RD_S_QUARANTINED, 0,
		    "subreddit r/x is quarantined" },
		{ 403, NULL, "{\"reason\": \"private\", \"message\": "
		    "\"Forbidden\", \"error\": 403}", NULL, RD_TARGET_SUBREDDIT,
		    RD_S_PRIVATE, 0, "subreddit r/x is private" },
		{ 403, NULL, "{\"reason\": \"gated\", \"error\": 403}", NULL,
		    RD_TARGET_SUBREDDIT, RD_S_GATED, 0,
		    "subreddit r/x is gated behind a content warning" },
		{ 404, NULL, "{\"reason\": \"banned\", \"message\": "
		    "\"Not Found\", \"error\": 404}", NULL, RD_TARGET_SUBREDDIT,
		    RD_S_BANNED, 0, "subreddit r/x is banned" },
		{ 404, "error_404_not_found.json", NULL, NULL,
		    RD_TARGET_SUBREDDIT, RD_S_NOT_FOUND, 0,
		    "subreddit r/x does not exist" },
		{ 404, "error_404_not_found.json", NULL, NULL,
		    RD_TARGET_USER, RD_S_NOT_FOUND, 0,
		    "user u/x does not exist" },
		{ 302, "redirect_302_r_random.html", NULL,
		    "https://oauth.reddit.com/subreddits/search.json?q=x",
		    RD_TARGET_SUBREDDIT, RD_S_NOT_FOUND, 0,
		    "subreddit r/x does not exist (redirected to search)" },
		{ 302, "redirect_302_r_random.html", NULL, "/r/other",
		    RD_TARGET_NONE, RD_S_REDIRECT, 0, NULL },
		{ 403, "error_403_forbidden.json", NULL, NULL, RD_TARGET_USER,
		    RD_S_FORBIDDEN, 0, "user u/x: forbidden (HTTP 403)" },
		{ 403, NULL, "<html>blocked by network security</html>", NULL,
		    RD_TARGET_SUBREDDIT, RD_S_FORBIDDEN, 0, NULL },
		{ 401, "error_401_invalid_token.json", NULL, NULL,
		    RD_TARGET_NONE, RD_S_UNAUTHORIZED, 1, NULL },
		{ 429, "error_429_too_many_requests.html", NULL, NULL,
		    RD_TARGET_NONE, RD_S_RATE_LIMITED, 1, NULL },
		{ 503, NULL, "", NULL, RD_TARGET_NONE, RD_S_SERVER, 1,
		    "x: server error (HTTP 503)" },
		{ 522, NULL, NULL, NULL, RD_TARGET_NONE, RD_S_SERVER, 1, NULL },
		{ 408, NULL, NULL, NULL, RD_TARGET_NONE, RD_S_SERVER, 1, NULL },
		{ 451, NULL, "", NULL, RD_TARGET_SUBREDDIT, RD_S_FORBIDDEN, 0,
		    NULL },
		{ 418, NULL, "{", NULL, RD_TARGET_NONE, RD_S_HTTP, 0, NULL },
	};
	struct rd_verdict v;
	char		*buf;
	const char	*body;
	size_t		 i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf = NULL;
		body = cases[i].body;
		len = body != NULL ? strlen(body) : 0;
		if (cases[i].file != NULL)
			body = buf = fixture(cases[i].file, &len);
		assert_int_equal(rd_classify(cases[i].status, body, len,
		    cases[i].location, cases[i].target, "x", &v),
		    cases[i].want);
		assert_int_equal(v.retry, cases[i].retry);
		assert_int_equal(v.http_status, cases[i].status);
		assert_true(v.message[0] != '\0');
		if (cases[i].message != NULL)
			assert_string_equal(v.message, cases[i].message);
		assert_string_not_equal(rd_status_name(v.status), "unknown");
		free(buf);
	}
}

static void
test_about(void **state)
{
	static const char private_sub[] = "{\"kind\": \"t5\", \"data\": "
	    "{\"display_name\": \"Secret\", \"subreddit_type\": \"private\"}}";
	static const char quar_sub[] = "{\"kind\": \"t5\", \"data\": "
	    "{\"display_name\": \"Q\", \"quarantine\": true, \"over18\": "
	    "true}}";
	static const char nsfw_sub[] = "{\"kind\": \"t5\", \"data\": "
	    "{\"display_name\": \"N\", \"subreddit_type\": \"public\", "
	    "\"over18\": true}}";
	static const char search[] = "{\"kind\": \"Listing\", \"data\": "
	    "{\"children\": []}}";
	static const char suspended[] = "{\"kind\": \"t2\", \"data\": "
	    "{\"is_suspended\": true, \"name\": \"baduser\"}}";
	struct rd_verdict v;
	char		 canon[64];
	char		*buf;
	size_t		 len;

	(void)state;
	buf = fixture("about_r_redditdev.json", &len);
	assert_int_equal(rd_about_subreddit(buf, len, "REDDITDEV", &v, canon,
	    sizeof(canon)), RD_S_OK);
	assert_string_equal(canon, "redditdev");
	assert_int_equal(rd_about_user(buf, len, "x", &v, canon,
	    sizeof(canon)), RD_S_BAD_BODY);
	free(buf);
	buf = fixture("about_user_lil_spazbot.json", &len);
	assert_int_equal(rd_about_user(buf, len, "lil_spazbot", &v, canon,
	    sizeof(canon)), RD_S_OK);
	assert_string_equal(canon, "Lil_SpazBot");
	free(buf);
	assert_int_equal(rd_about_subreddit(private_sub, strlen(private_sub),
	    "secret", &v, NULL, 0), RD_S_PRIVATE);
	assert_string_equal(v.message, "subreddit r/secret is private");
	assert_int_equal(rd_about_subreddit(quar_sub, strlen(quar_sub), "q",
	    &v, NULL, 0), RD_S_QUARANTINED);
	assert_int_equal(rd_about_subreddit(nsfw_sub, strlen(nsfw_sub), "n",
	    &v, canon, sizeof(canon)), RD_S_OK);
	assert_int_equal(rd_about_subreddit(search, strlen(search), "nope",
	    &v, NULL, 0), RD_S_NOT_FOUND);
	assert_string_equal(v.message, "subreddit r/nope does not exist");
	assert_int_equal(rd_about_user(suspended, strlen(suspended),
	    "baduser", &v, NULL, 0), RD_S_SUSPENDED);
	assert_string_equal(v.message, "user u/baduser is suspended");
	assert_int_equal(rd_about_user("{", 1, "u", &v, NULL, 0),
	    RD_S_BAD_BODY);
	assert_int_equal(rd_about_subreddit(NULL, 0, "u", &v, NULL, 0),
	    RD_S_BAD_BODY);
}

/* ------------------------------------------------------------------ */
/* Escaping                                                             */

static void
test_unescape(void **state)
{
	char		 s[] = "a&amp;b&lt;c&gt;d&amp;amp;&quot;&&am";
	cJSON		*j;

	(void)state;
	rd_unescape(s);
	assert_string_equal(s, "a&b<c>d&amp;&quot;&&am");
	j = cJSON_Parse("{\"url\": \"x?a=1&amp;b=2\", \"l\": [\"&lt;\", "
	    "{\"k\": \"&gt;\"}]}");
	rd_json_unescape(j);
	assert_string_equal(rd_str(j, "url"), "x?a=1&b=2");
	assert_string_equal(cJSON_GetArrayItem(rd_arr(j, "l"), 0)->valuestring,
	    "<");
	cJSON_Delete(j);
	rd_unescape(NULL);
}

/* ------------------------------------------------------------------ */
/* Every fixture, whole and damaged                                      */

/* Run every entry point over one body; results are only checked for sanity. */
static void
feed_everything(const char *buf, size_t len)
{
	struct rd_thread *th;
	struct rd_listing l;
	struct rd_post	 p;
	struct rd_verdict v;
	const cJSON	*thing, *data;
	cJSON		*comments = cJSON_CreateArray(), *media =
			    cJSON_CreateArray(), *root;
	char		 batch[RD_MORECHILDREN_MAX * RD_FULLNAME_MAX];
	char		 parent[RD_FULLNAME_MAX + 1];
	const char	*err;

	if (rd_listing_parse(buf, len, &l, &err) == 0) {
		cJSON_ArrayForEach(thing, l.children) {
			if (rd_thing(thing, &data) == NULL)
				continue;
			if (rd_post_extract(data, &p, &err) == 0)
				cJSON_Delete(p.record);
			(void)rd_media_extract(data, media, &err);
		}
		rd_listing_free(&l);
	} else
		assert_non_null(err);
	th = rd_thread_new("x");
	root = rd_json_parse(buf, len, &err);
	if (cJSON_IsArray(root)) {
		/* adopt whatever post the body names */
		data = NULL;
		if (rd_listing_from_json(cJSON_GetArrayItem(root, 0), &l,
		    &err) == 0)
			(void)rd_thing(cJSON_GetArrayItem(l.children, 0),
			    &data);
		if (rd_valid_id(rd_str(data, "id"))) {
			rd_thread_free(th);
			th = rd_thread_new(rd_str(data, "id"));
		}
		if (rd_thread_add_tree_json(th, root, &p, comments, &err) >= 0)
			cJSON_Delete(p.record);
		(void)rd_thread_add_continue_json(th, "t1_abc", root,
		    comments, &err);
	}
	(void)rd_thread_add_morechildren_json(th, root, comments, &err);
	while (rd_thread_next_batch(th, batch, sizeof(batch), 0) > 0)
		;
	while (rd_thread_next_continue(th, parent))
		;
	assert_true(rd_thread_done(th));
	rd_thread_free(th);
	cJSON_Delete(root);
	(void)rd_classify(403, buf, len, NULL, RD_TARGET_SUBREDDIT, "x", &v);
	(void)rd_about_subreddit(buf, len, "x", &v, batch, sizeof(batch));
	(void)rd_about_user(buf, len, "x", &v, batch, sizeof(batch));
	cJSON_Delete(comments);
	cJSON_Delete(media);
}

static void
feed_whole_and_cut(char *buf, size_t len, void *arg)
{
	size_t	 cut;

	(void)arg;
	feed_everything(buf, len);
	/* truncated at a few points: clean errors, no leaks */
	for (cut = 1; cut < 8; cut++)
		feed_everything(buf, len * cut / 8);
}

static void
feed_damaged(char *buf, size_t len, void *arg)
{
	(void)arg;
	feed_everything(buf, len);
}

static void
test_every_fixture(void **state)
{
	(void)state;
	assert_true(each_fixture(feed_whole_and_cut, NULL) >= 30);
}

/* Deterministic byte damage over a tree and a morechildren reply. */
static void
test_damaged(void **state)
{
	static const char *const files[] = {
		"comments_3hahrw_limit10.json", "post_gallery_hzobai.json",
		"post_video_k5rsq3.json",
	};

	(void)state;
	each_damaged(files, sizeof(files) / sizeof(files[0]), 150, 12345,
	    feed_damaged, NULL);
}

/* replies of every wrong type; nesting far beyond Reddit's. */
static void
test_wrong_shapes(void **state)
{
	static const char *const bodies[] = {
		"[{\"kind\": \"Listing\", \"data\": {\"children\": [{\"kind\": "
		"\"t3\", \"data\": {\"id\": \"x\"}}]}}, {\"kind\": \"Listing\", "
		"\"data\": {\"children\": [{\"kind\": \"t1\", \"data\": "
		"{\"id\": \"a\", \"replies\": 5, \"depth\": \"deep\"}}, "
		"{\"kind\": \"t1\", \"data\": {\"id\": \"b\", \"replies\": "
		"{\"kind\": \"Listing\", \"data\": {\"children\": 3}}}}, "
		"{\"kind\": \"t1\", \"data\": {\"id\": 7}}, {\"kind\": \"more\", "
		"\"data\": {\"count\": \"9\", \"children\": [1, null, \"c\"]}}, "
		"{\"kind\": \"more\", \"data\": {\"count\": 0, \"parent_id\": "
		"5}}, 4, \"s\", {\"kind\": \"t1\", \"data\": [] }]}}]",
		"[{\"kind\": \"Listing\", \"data\": {\"children\": []}}, {}]",
		"[1, 2]", "[]", "{\"json\": {\"errors\": 4, \"data\": "
		"{\"things\": {}}}}", "{\"json\": {\"errors\": [7]}}",
	};
	struct rd_thread *th;
	cJSON		*comments = cJSON_CreateArray();
	const char	*err;
	char		*deep;
	size_t		 i, n;
	int		 depth;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		feed_everything(bodies[i], strlen(bodies[i]));
	th = rd_thread_new("x");
	/* a and b are stored; "replies": 5 is ignored */
	assert_int_equal(rd_thread_add_tree(th, bodies[0], strlen(bodies[0]),
	    NULL, comments, &err), 2);
	rd_thread_free(th);

	/* 300 levels of arrays: refused before cJSON sees them */
	deep = malloc(1000);
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	assert_null(rd_json_parse(deep, 600, &err));
	assert_string_equal(err, "JSON nested too deeply");
	/* brackets inside strings do not count, escaped quotes or not */
	{
		static const char *const heads[] = { "[\"", "[\"\\\"",
		    "[\"\\\\\\\"" };
		cJSON	*ok;
		size_t	 h, hn;

		for (h = 0; h < 3; h++) {
			hn = strlen(heads[h]);
			memcpy(deep, heads[h], hn);
			memset(deep + hn, '[', 300);
			memcpy(deep + hn + 300, "\"]", 2);
			assert_non_null(ok = rd_json_parse(deep, hn + 302, &err));
			assert_int_equal(strlen(cJSON_GetArrayItem(ok,
			    0)->valuestring), 300 + h);
			cJSON_Delete(ok);
		}
		/* a backslash pair ends the string: the brackets count */
		memcpy(deep, "[\"\\\\\"", 5);
		memset(deep + 5, '[', 300);
		assert_null(rd_json_parse(deep, 305, &err));
		assert_string_equal(err, "JSON nested too deeply");
	}
	free(deep);

	/* a reply chain 40 deep is fine, with absolute depths 0..39 */
	deep = malloc(64 * 1024);
	n = (size_t)sprintf(deep, "[{\"kind\": \"Listing\", \"data\": "
	    "{\"children\": [{\"kind\": \"t3\", \"data\": {\"id\": \"x\"}}]}},"
	    " {\"kind\": \"Listing\", \"data\": {\"children\": [");
	for (depth = 0; depth < 40; depth++) {
		char	 par[32];

		if (depth == 0)
			snprintf(par, sizeof(par), "t3_x");
		else
			snprintf(par, sizeof(par), "t1_c%d", depth - 1);
		n += (size_t)sprintf(deep + n, "{\"kind\": \"t1\", \"data\": "
		    "{\"id\": \"c%d\", \"parent_id\": \"%s\", \"replies\": "
		    "{\"kind\": \"Listing\", \"data\": {\"children\": [",
		    depth, par);
	}
	for (depth = 0; depth < 40; depth++)
		n += (size_t)sprintf(deep + n, "]}}}}");
	n += (size_t)sprintf(deep + n, "]}}]");
	th = rd_thread_new("x");
	assert_int_equal(rd_thread_add_tree(th, deep, n, NULL, comments,
	    &err), 40);
	assert_int_equal(rd_num(cJSON_GetArrayItem(comments, 41), "depth",
	    -1), 39);
	rd_thread_free(th);
	free(deep);
	cJSON_Delete(comments);
	assert_null(rd_thread_new("T3_X"));
	assert_null(rd_thread_new(""));
	assert_null(rd_thread_new(NULL));
}

/* every t1 below children: raw is the object's compact print, replies "" */
static int
check_raw(const cJSON *children)
{
	const cJSON	*thing, *data, *rep;
	const char	*kind;
	struct rd_comment c;
	cJSON		*want, *raw;
	char		*ws;
	int		 n = 0;

	cJSON_ArrayForEach(thing, children) {
		if ((kind = rd_thing(thing, &data)) == NULL ||
		    strcmp(kind, "t1") != 0)
			continue;
		assert_int_equal(rd_comment_extract(data, NULL, -1, &c, NULL),
		    0);
		raw = cJSON_GetObjectItemCaseSensitive(c.record, "raw");
		assert_true(cJSON_IsRaw(raw));
		want = cJSON_Duplicate(data, 1);
		cJSON_ReplaceItemInObjectCaseSensitive(want, "replies",
		    cJSON_CreateString(""));
		ws = cJSON_PrintUnformatted(want);
		assert_string_equal(raw->valuestring, ws);
		free(ws);
		cJSON_Delete(want);
		cJSON_Delete(c.record);
		n++;
		rep = cJSON_GetObjectItemCaseSensitive(data, "replies");
		if (rd_thing(rep, &data) != NULL)
			n += check_raw(rd_arr(data, "children"));
	}
	return n;
}

static void
test_comment_raw_is_the_object_printed(void **state)
{
	static const char *const files[] = {
		"comments_3hahrw_limit10.json",
		"comments_gx8r8z_removed_deleted.json",
		"comments_6otocc_continue_thread.json",
		"listing_user_spez_comments_new.json",
	};
	const cJSON	*listing, *data;
	cJSON		*root;
	char		*buf;
	size_t		 i, len;
	int		 n = 0;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		buf = fixture(files[i], &len);
		assert_non_null(root = rd_json_parse(buf, len, NULL));
		listing = cJSON_IsArray(root) ? cJSON_GetArrayItem(root, 1) :
		    root;
		assert_non_null(rd_thing(listing, &data));
		n += check_raw(rd_arr(data, "children"));
		cJSON_Delete(root);
		free(buf);
	}
	assert_true(n > 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listings),
		cmocka_unit_test(test_listing_rejects),
		cmocka_unit_test(test_post_removed_deleted),
		cmocka_unit_test(test_comment_raw_is_the_object_printed),
		cmocka_unit_test(test_post_types),
		cmocka_unit_test(test_post_type_counts),
		cmocka_unit_test(test_extract_rejects),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_about),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_every_fixture),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_wrong_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
