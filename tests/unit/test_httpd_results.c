/*
 * test_httpd_results.c — the results routes as httpd sees them: the query
 * rules (a case table: query, expected status, parameter at fault), CSV
 * quoting per RFC 4180, and the OpenAPI document against the route table
 * (every route documented, nothing documented that is not routed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "httpd/httpd.h"
#include "proto/proto.h"

struct qcase {
	const char		*query;
	enum gw_query_kind	 kind;
	int			 rc;
	const char		*field;		/* 422: loc[1] of the first */
};

static const struct qcase qcases[] = {
	{ NULL, GW_Q_POSTS, 0, NULL },
	{ "", GW_Q_POSTS, 0, NULL },
	{ "q=hello+world&subreddit=r/Python&author=u/spez", GW_Q_POSTS, 0,
	    NULL },
	{ "author=%5Bdeleted%5D", GW_Q_POSTS, 0, NULL },
	{ "min_score=-5&max_score=10", GW_Q_POSTS, 0, NULL },
	{ "post_type=gallery&sort_by=num_comments&sort_order=asc",
	    GW_Q_POSTS, 0, NULL },
	{ "sentiment_label=negative", GW_Q_POSTS, 0, NULL },
	{ "limit=200", GW_Q_POSTS, 0, NULL },
	{ "limit=1", GW_Q_POSTS, 0, NULL },
	{ "limit=0", GW_Q_POSTS, 422, "limit" },
	{ "limit=201", GW_Q_POSTS, 422, "limit" },
	{ "limit=ten", GW_Q_POSTS, 400, NULL },
	{ "limit=5x", GW_Q_POSTS, 400, NULL },
	{ "min_score=high", GW_Q_POSTS, 400, NULL },
	{ "max_score=", GW_Q_POSTS, 400, NULL },
	{ "min_score=10&max_score=5", GW_Q_POSTS, 422, "min_score" },
	{ "post_type=gif", GW_Q_POSTS, 422, "post_type" },
	{ "sort_by=title", GW_Q_POSTS, 422, "sort_by" },
	{ "sort_order=up", GW_Q_POSTS, 422, "sort_order" },
	{ "sentiment_label=happy", GW_Q_POSTS, 422, "sentiment_label" },
	{ "subreddit=no%20spaces", GW_Q_POSTS, 422, "subreddit" },
	{ "author=a", GW_Q_POSTS, 422, "author" },
	{ "post_id=t3_abc12&limit=10", GW_Q_ITEMS, 0, NULL },
	{ "post_id=abc12", GW_Q_ITEMS, 0, NULL },
	{ "post_id=t1_abc12", GW_Q_ITEMS, 422, "post_id" },
	{ "post_id=ABC", GW_Q_ITEMS, 422, "post_id" },
	{ "format=csv&type=comments", GW_Q_EXPORT, 0, NULL },
	{ "format=ndjson&type=posts", GW_Q_EXPORT, 0, NULL },
	{ "format=xml", GW_Q_EXPORT, 422, "format" },
	{ "type=media", GW_Q_EXPORT, 422, "type" },
};

static void
test_query_rules(void **state)
{
	struct gw_results_query	 rq;
	cJSON			*detail, *loc;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
		rc = gw_parse_results_query(qcases[i].query, qcases[i].kind,
		    &rq, &detail);
		if (rc != qcases[i].rc)
			fail_msg("case %zu (%s): %d, expected %d", i,
			    qcases[i].query ? qcases[i].query : "NULL", rc,
			    qcases[i].rc);
		if (rc == 0)
			assert_null(detail);
		else if (rc == 400)
			assert_true(cJSON_IsString(detail));
		else {
			loc = cJSON_GetObjectItem(cJSON_GetArrayItem(detail,
			    0), "loc");
			assert_string_equal(cJSON_GetStringValue(
			    cJSON_GetArrayItem(loc, 0)), "query");
			assert_string_equal(cJSON_GetStringValue(
			    cJSON_GetArrayItem(loc, 1)), qcases[i].field);
		}
		cJSON_Delete(detail);
	}
}

static void
test_query_values(void **state)
{
	struct gw_results_query	 rq;
	cJSON			*detail;

	(void)state;
	assert_int_equal(gw_parse_results_query("subreddit=%2Fr%2FPython&"
	    "author=u%2Fspez&q=a+b&min_score=-3", GW_Q_POSTS, &rq, &detail),
	    0);
	assert_string_equal(rq.subreddit, "Python");
	assert_string_equal(rq.author, "spez");
	assert_string_equal(rq.q, "a b");
	assert_true(rq.has_min_score && rq.min_score == -3);
	assert_false(rq.has_max_score);
	assert_int_equal(rq.limit, 50);
	assert_null(rq.sort_by);
	assert_int_equal(gw_parse_results_query("post_id=abc", GW_Q_ITEMS, &rq,
	    &detail), 0);
	assert_string_equal(rq.post_id, "t3_abc");
	assert_int_equal(gw_parse_results_query(NULL, GW_Q_EXPORT, &rq,
	    &detail), 0);
	assert_string_equal(rq.format, GW_FORMAT_NDJSON);
	assert_string_equal(rq.type, PROTO_F_POSTS);
}

static void
csv_is(const cJSON *v, const char *want)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 n;
	char		*s;

	gw_csv_field(b, v);
	n = evbuffer_get_length(b);
	s = calloc(1, n + 1);
	evbuffer_remove(b, s, n);
	assert_string_equal(s, want);
	free(s);
	evbuffer_free(b);
}

static void
test_csv(void **state)
{
	cJSON	*v;

	(void)state;
	csv_is(NULL, "");
	v = cJSON_CreateNull(); csv_is(v, ""); cJSON_Delete(v);
	v = cJSON_CreateTrue(); csv_is(v, "true"); cJSON_Delete(v);
	v = cJSON_CreateNumber(1700000000123.0);
	csv_is(v, "1700000000123"); cJSON_Delete(v);
	v = cJSON_CreateNumber(0.97); csv_is(v, "0.97"); cJSON_Delete(v);
	v = cJSON_CreateNumber(-4); csv_is(v, "-4"); cJSON_Delete(v);
	v = cJSON_CreateString("plain"); csv_is(v, "plain"); cJSON_Delete(v);
	v = cJSON_CreateString(""); csv_is(v, ""); cJSON_Delete(v);
	v = cJSON_CreateString("a,b"); csv_is(v, "\"a,b\""); cJSON_Delete(v);
	v = cJSON_CreateString("say \"hi\"");
	csv_is(v, "\"say \"\"hi\"\"\""); cJSON_Delete(v);
	v = cJSON_CreateString("two\nlines\r\n");
	csv_is(v, "\"two\nlines\r\n\""); cJSON_Delete(v);
	v = cJSON_CreateString("\""); csv_is(v, "\"\"\"\""); cJSON_Delete(v);
}

static void
test_ranges(void **state)
{
	static const struct {
		const char	*h;
		int64_t		 size;
		int		 rc;
		int64_t		 off, len;
	} c[] = {
		{ NULL, 100, 0, 0, 0 },
		{ "bytes=0-9", 100, 1, 0, 10 },
		{ "bytes=10-", 100, 1, 10, 90 },
		{ "bytes=90-500", 100, 1, 90, 10 },
		{ "bytes=-5", 100, 1, 95, 5 },
		{ "bytes=-500", 100, 1, 0, 100 },
		{ "bytes=99-99", 100, 1, 99, 1 },
		{ "bytes=100-", 100, -1, 0, 0 },
		{ "bytes=-0", 100, -1, 0, 0 },
		{ "bytes=0-", 0, -1, 0, 0 },
		{ "bytes=5-2", 100, 0, 0, 0 },
		{ "bytes=0-1,5-6", 100, 0, 0, 0 },
		{ "items=0-1", 100, 0, 0, 0 },
		{ "bytes=x-1", 100, 0, 0, 0 },
		{ "bytes=1-x", 100, 0, 0, 0 },
		{ "bytes=-", 100, 0, 0, 0 },
		{ "bytes=99999999999999999999-", 100, 0, 0, 0 },
	};
	size_t	 i;
	int64_t	 off, len;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		off = len = -7;
		rc = gw_parse_range(c[i].h, c[i].size, &off, &len);
		if (rc != c[i].rc)
			fail_msg("case %zu (%s): %d, expected %d", i,
			    c[i].h ? c[i].h : "NULL", rc, c[i].rc);
		if (rc == 1) {
			assert_int_equal(off, c[i].off);
			assert_int_equal(len, c[i].len);
		}
	}
}

static const char *
method_key(int method)
{
	switch (method) {
	case EVHTTP_REQ_GET:	return "get";
	case EVHTTP_REQ_POST:	return "post";
	case EVHTTP_REQ_DELETE:	return "delete";
	case EVHTTP_REQ_PUT:	return "put";
	case EVHTTP_REQ_PATCH:	return "patch";
	default:		return "?";
	}
}

static void
test_openapi_matches_routes(void **state)
{
	static const char *const methods[] = { "get", "post", "delete", "put",
	    "patch", "head", "options", NULL };
	static const int method_ids[] = { EVHTTP_REQ_GET, EVHTTP_REQ_POST,
	    EVHTTP_REQ_DELETE, EVHTTP_REQ_PUT, EVHTTP_REQ_PATCH,
	    EVHTTP_REQ_HEAD, EVHTTP_REQ_OPTIONS };
	const struct gw_route	*r;
	cJSON			*doc, *paths, *path, *op, *ids;
	int			 i, found;

	(void)state;
	doc = cJSON_Parse(gw_openapi_json);
	assert_non_null(doc);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(doc,
	    "openapi")), "3.1.0");
	assert_non_null(cJSON_GetObjectItem(doc, "info"));
	paths = cJSON_GetObjectItem(doc, "paths");
	assert_non_null(paths);
	ids = cJSON_CreateObject();

	/* every route is documented */
	for (r = gw_routes; r->name; r++) {
		path = cJSON_GetObjectItemCaseSensitive(paths, r->path);
		op = cJSON_GetObjectItemCaseSensitive(path,
		    method_key(r->method));
		if (op == NULL)
			fail_msg("route %s (%s %s) is not in openapi.json",
			    r->name, method_key(r->method), r->path);
		assert_non_null(cJSON_GetObjectItem(op, "responses"));
		assert_non_null(cJSON_GetObjectItem(op, "summary"));
		assert_true(cJSON_IsString(cJSON_GetObjectItem(op,
		    "operationId")));
		if (cJSON_GetObjectItem(ids, cJSON_GetStringValue(
		    cJSON_GetObjectItem(op, "operationId"))) != NULL)
			fail_msg("operationId of %s is not unique", r->name);
		cJSON_AddTrueToObject(ids, cJSON_GetStringValue(
		    cJSON_GetObjectItem(op, "operationId")));
	}
	/* everything documented is routed */
	cJSON_ArrayForEach(path, paths) {
		for (i = 0; methods[i]; i++) {
			if (cJSON_GetObjectItemCaseSensitive(path,
			    methods[i]) == NULL)
				continue;
			found = 0;
			for (r = gw_routes; r->name; r++)
				if (strcmp(r->path, path->string) == 0 &&
				    r->method == method_ids[i])
					found = 1;
			if (!found)
				fail_msg("openapi.json documents %s %s, which "
				    "httpd does not route", methods[i],
				    path->string);
		}
	}
	cJSON_Delete(ids);
	cJSON_Delete(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_rules),
		cmocka_unit_test(test_query_values),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_openapi_matches_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
