/*
 * test_httpd_validate.c — the request rules of DESIGN.md §4 as httpd
 * applies them: job bodies (a case table: body, field at fault), target
 * normalisation, list queries and path parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpd/httpd.h"

static char plugin_dir[] = "/tmp/rs-plugins-XXXXXX";

/* the field named by the first error of a rejected body, or NULL */
static char *
first_bad_field(const char *json, struct gw_job_input *in)
{
	static char	 field[64];
	cJSON		*body = cJSON_Parse(json), *detail, *loc;

	detail = gw_validate_job(body, plugin_dir, in);
	cJSON_Delete(body);
	if (detail == NULL)
		return NULL;
	loc = cJSON_GetObjectItem(cJSON_GetArrayItem(detail, 0), "loc");
	snprintf(field, sizeof(field), "%s", cJSON_GetArraySize(loc) > 1 ?
	    cJSON_GetStringValue(cJSON_GetArrayItem(loc, 1)) : "body");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(loc, 0)),
	    "body");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(detail, 0),
	    "msg"));
	cJSON_Delete(detail);
	return field;
}

static void
test_job_body_rules(void **state)
{
	static const struct { const char *body, *field; } cases[] = {
		{ "{}", "target" },
		{ "{\"target\":\"\"}", "target" },
		{ "{\"target\":123}", "target" },
		{ "{\"target\":null}", "target" },
		{ "{\"target\":\"not a name!\"}", "target" },
		{ "{\"target\":\"r/\"}", "target" },
		{ "{\"target\":\"abcdefghijklmnopqrstuv\"}", "target" },
		{ "{\"target\":\"_python\"}", "target" },
		{ "{\"target\":\"ab\",\"target_type\":\"user\"}", "target" },
		{ "{\"target\":\"python\",\"target_type\":\"group\"}",
		    "target_type" },
		{ "{\"target\":\"python\",\"mode\":\"fast\"}", "mode" },
		{ "{\"target\":\"python\",\"limit\":0}", "limit" },
		{ "{\"target\":\"python\",\"limit\":10001}", "limit" },
		{ "{\"target\":\"python\",\"limit\":1.5}", "limit" },
		{ "{\"target\":\"python\",\"limit\":\"10\"}", "limit" },
		{ "{\"target\":\"python\",\"limit\":true}", "limit" },
		{ "{\"target\":\"python\",\"download_media\":1}",
		    "download_media" },
		{ "{\"target\":\"python\",\"scrape_comments\":\"yes\"}",
		    "scrape_comments" },
		{ "{\"target\":\"python\",\"plugins\":\"x\"}", "plugins" },
		{ "{\"target\":\"python\",\"plugins\":[1]}", "plugins" },
		{ "{\"target\":\"python\",\"plugins\":[\"nope\"]}", "plugins" },
		{ "{\"target\":\"python\",\"plugins\":[\"../bin/sh\"]}",
		    "plugins" },
		{ "[\"python\"]", "body" },
		{ "{\"target\":\"python\"}", NULL },
		{ "{\"target\":\"python\",\"limit\":10000,\"unknown\":1}", NULL },
		{ "{\"target\":\"spez\",\"target_type\":\"user\"}", NULL },
		{ "{\"target\":\"python\",\"plugins\":[\"sentiment\"]}", NULL },
	};
	struct gw_job_input	 in;
	const char		*got;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = first_bad_field(cases[i].body, &in);
		if (cases[i].field == NULL) {
			if (got != NULL)
				fail_msg("%s: unexpected error on %s",
				    cases[i].body, got);
		} else if (got == NULL || strcmp(got, cases[i].field) != 0)
			fail_msg("%s: expected an error on %s, got %s",
			    cases[i].body, cases[i].field, got ? got : "none");
	}
}

static void
test_defaults(void **state)
{
	struct gw_job_input	 in;

	(void)state;
	assert_null(first_bad_field("{\"target\":\"/r/Python/\"}", &in));
	assert_string_equal(in.target, "Python");
	assert_string_equal(in.target_type, "subreddit");
	assert_string_equal(in.mode, "full");
	assert_int_equal(in.limit, 100);
	assert_true(in.download_media && in.scrape_comments);
	assert_int_equal(in.nplugins, 0);
}

static void
test_target_normalisation(void **state)
{
	static const struct { const char *in, *type, *out; } cases[] = {
		{ "r/python", "subreddit", "python" },
		{ "/r/python", "subreddit", "python" },
		{ "R/Python", "subreddit", "Python" },
		{ "u/spez", "user", "spez" },
		{ "/u/spez", "user", "spez" },
		{ "/user/some-one", "user", "some-one" },
		{ "askreddit", "subreddit", "askreddit" },
		{ "some-one", "subreddit", NULL },
		{ "r/a", "subreddit", NULL },
		{ "python\xc3\xa9", "subreddit", NULL },
	};
	char		 out[256];
	const char	*why;
	size_t		 i;
	int		 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = gw_normalise_target(cases[i].in, cases[i].type, out,
		    sizeof(out), &why);
		if (cases[i].out == NULL)
			assert_int_equal(rc, -1);
		else {
			assert_int_equal(rc, 0);
			assert_string_equal(out, cases[i].out);
		}
	}
}

static void
test_list_query(void **state)
{
	static const struct { const char *q; int rc; int64_t limit, offset; }
	    cases[] = {
		{ NULL, 0, 50, 0 },
		{ "", 0, 50, 0 },
		{ "limit=200&offset=7", 0, 200, 7 },
		{ "status=running", 0, 50, 0 },
		{ "limit=abc", 400, 0, 0 },
		{ "offset=x1", 400, 0, 0 },
		{ "limit=0", 422, 0, 0 },
		{ "limit=201", 422, 0, 0 },
		{ "offset=-1", 422, 0, 0 },
		{ "status=sleeping", 422, 0, 0 },
	};
	struct gw_list_query	 q;
	cJSON			*detail;
	char			 status[16];
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = gw_parse_list_query(cases[i].q, &q, status,
		    sizeof(status), &detail);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_null(detail);
			assert_int_equal(q.limit, cases[i].limit);
			assert_int_equal(q.offset, cases[i].offset);
		} else
			assert_non_null(detail);
		cJSON_Delete(detail);
	}
}

static void
test_paths(void **state)
{
	static const char jobs[] = "/api/v1/workspaces/{workspace_id}/jobs";
	static const char job[] =
	    "/api/v1/workspaces/{workspace_id}/jobs/{job_id}";
	static const char post[] =
	    "/api/v1/workspaces/{workspace_id}/posts/{post_id}";
	static const char media[] =
	    "/api/v1/workspaces/{workspace_id}/media/{sha256}";
	struct gw_path	 p;

	(void)state;
	assert_true(gw_path_match("/healthz", "/healthz", &p));
	assert_false(gw_path_match("/healthz", "/healthz/", &p));
	assert_true(gw_path_match(jobs, "/api/v1/workspaces/ws_0a1b2c3d-4e5f-"
	    "4a6b-8c7d-8e9f0a1b2c3d/jobs", &p));
	assert_true(p.ws_ok);
	assert_string_equal(p.ws, "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d");
	assert_true(gw_path_match(job, "/api/v1/workspaces/0A1B2C3D-4E5F-"
	    "4A6B-8C7D-8E9F0A1B2C3D/jobs/job_3f1e2d4c-5b6a-4789-9abc-"
	    "def012345678", &p));
	assert_true(p.ws_ok && p.job_ok);
	assert_string_equal(p.job, "3f1e2d4c-5b6a-4789-9abc-def012345678");
	/* a segment that is no id still matches: the handler says 404 */
	assert_true(gw_path_match(job, "/api/v1/workspaces/nope/jobs/x", &p));
	assert_false(p.ws_ok || p.job_ok);
	assert_false(gw_path_match(job, "/api/v1/workspaces/x/jobs/a/b", &p));
	/* the shape alone (p NULL): the same answers, nothing parsed */
	assert_true(gw_path_match(job, "/api/v1/workspaces/nope/jobs/x", NULL));
	assert_false(gw_path_match(job, "/api/v1/workspaces/x/jobs/a/b",
	    NULL));
	assert_false(gw_path_match(jobs, "/api/v1/workspaces/x/jobs/", NULL));
	assert_false(gw_path_match(jobs, "/api/v1/workspaces/x/jobs/", &p));
	assert_false(gw_path_match(job, "/api/v1/workspaces/x/jobs/", &p));
	assert_false(gw_path_match(jobs, "/api/v2/workspaces/x/jobs", &p));
	assert_false(gw_path_match(jobs, "/api/v1/workspaces//jobs", &p));
	assert_true(gw_path_match(post, "/api/v1/workspaces/x/posts/t3_1abc",
	    &p));
	assert_true(p.post_ok);
	assert_string_equal(p.post, "t3_1abc");
	assert_true(gw_path_match(post, "/api/v1/workspaces/x/posts/1abc",
	    &p));
	assert_string_equal(p.post, "t3_1abc");
	assert_true(gw_path_match(post, "/api/v1/workspaces/x/posts/t1_1abc",
	    &p));
	assert_false(p.post_ok);
	assert_true(gw_path_match(media, "/api/v1/workspaces/x/media/"
	    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	    &p));
	assert_true(p.sha_ok);
	assert_string_equal(p.sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e46"
	    "49b934ca495991b7852b855");
	assert_true(gw_path_match(media, "/api/v1/workspaces/x/media/abc",
	    &p));
	assert_false(p.sha_ok);
}

static void
test_rate_limit(void **state)
{
	struct gw	*gw = calloc(1, sizeof(*gw));
	int		 retry = 0, i;

	(void)state;
	for (i = 0; i < 60; i++)
		assert_int_equal(gw_rate_take(gw, "key_a", 1000, 60, &retry),
		    0);
	assert_int_equal(gw_rate_take(gw, "key_a", 1000, 60, &retry), -1);
	assert_true(retry >= 1);
	assert_int_equal(gw_rate_take(gw, "key_b", 1000, 60, &retry), 0);
	assert_int_equal(gw_rate_take(gw, "key_a", 2000, 60, &retry), 0);
	assert_int_equal(gw_rate_take(gw, "key_a", 2000, 0, &retry), 0);
	free(gw);
}

static int
setup(void **state)
{
	char	 path[256];
	FILE	*fp;

	(void)state;
	assert_non_null(mkdtemp(plugin_dir));
	snprintf(path, sizeof(path), "%s/sentiment", plugin_dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("#!/bin/sh\n", fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0755), 0);
	return 0;
}

static int
teardown(void **state)
{
	char	 path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/sentiment", plugin_dir);
	unlink(path);
	rmdir(plugin_dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_body_rules),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_target_normalisation),
		cmocka_unit_test(test_list_query),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_rate_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
