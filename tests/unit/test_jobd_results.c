/*
 * test_jobd_results.c — jobd's results messages on a temporary database:
 * requests go through rep_dispatch() as they arrive from the wire. A case
 * table of refused requests (error code and the field named), keyset
 * paging in every sort checked against an order computed here, cursors
 * that belong to another sort, FTS5 queries FTS5 cannot parse, and the
 * copy of a post a workspace shows when two jobs stored it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobd/jobd.h"

#define NPOSTS	23

static char	 dbdir[] = "/tmp/rs-results-XXXXXX";
static char	 ws[64], job1[64], job2[64];

/* one request through the dispatcher (takes body); the parsed reply */
static struct proto_reply
callj(struct jobd *jd, const char *type, cJSON *body)
{
	struct proto_reply	 rep;
	cJSON			*env = cJSON_CreateObject();
	char			*in, *out;
	size_t			 outlen;
	const char		*err;

	cJSON_AddNumberToObject(env, "v", 1);
	cJSON_AddStringToObject(env, "id", "t");
	cJSON_AddStringToObject(env, "type", type);
	cJSON_AddItemToObject(env, "body", body);
	in = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	out = rep_dispatch(jobd_routes, jd, in, strlen(in), &outlen);
	cJSON_free(in);
	assert_non_null(out);
	assert_int_equal(proto_reply_parse(out, outlen, &rep, &err), 0);
	cJSON_free(out);
	return rep;
}

static struct proto_reply
call(struct jobd *jd, const char *type, const char *json)
{
	cJSON	*b = cJSON_Parse(json);

	assert_non_null(b);
	return callj(jd, type, b);
}

static void
new_job(struct jobd *jd, char *out)
{
	char			 b[512];
	struct proto_reply	 r;

	snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\",\"target\":"
	    "\"python\",\"target_type\":\"subreddit\",\"mode\":\"full\","
	    "\"limit\":10,\"download_media\":false,\"scrape_comments\":true,"
	    "\"plugins\":[]}", ws);
	r = call(jd, PROTO_JOB_CREATE, b);
	assert_true(r.ok);
	snprintf(out, 64, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(r.body, "job"), "id")));
	proto_reply_free(&r);
}

/* post i: scores and times collide on purpose (ties go by id) */
static cJSON *
post(int i, int score_bonus)
{
	cJSON	*p = cJSON_CreateObject();
	char	 id[32], title[64];

	snprintf(id, sizeof(id), "t3_p%02d", i);
	snprintf(title, sizeof(title), "%s title %d", i % 3 == 0 ? "alpha" :
	    "beta", i);
	cJSON_AddStringToObject(p, "id", id);
	cJSON_AddStringToObject(p, "subreddit", "Python");
	cJSON_AddStringToObject(p, "author", i % 2 ? "Odd" : "even");
	cJSON_AddStringToObject(p, "title", title);
	cJSON_AddNumberToObject(p, "created_utc", 1700000000 + i / 2);
	cJSON_AddNumberToObject(p, "score", i % 5 + score_bonus);
	cJSON_AddNumberToObject(p, "num_comments", i % 4);
	cJSON_AddStringToObject(p, "selftext", "");
	cJSON_AddStringToObject(p, "post_type", i % 2 ? "link" : "self");
	cJSON_AddItemToObject(p, "raw", cJSON_CreateObject());
	return p;
}

/* a job leased and reported: posts [from, to) and 3 comments on p00 */
static void
report(struct jobd *jd, int from, int to, int bonus)
{
	struct proto_reply	 r = call(jd, PROTO_TASK_LEASE,
				    "{\"worker\":\"w\",\"kind\":\"fetch\"}");
	cJSON			*t, *b, *arr, *c;
	char			 id[16];
	int			 i;

	assert_true(r.ok);
	t = cJSON_GetArrayItem(cJSON_GetObjectItem(r.body, "tasks"), 0);
	assert_non_null(t);
	b = cJSON_CreateObject();
	cJSON_AddItemToObject(b, "task_id", cJSON_Duplicate(
	    cJSON_GetObjectItem(t, "task_id"), 1));
	cJSON_AddItemToObject(b, "lease_id", cJSON_Duplicate(
	    cJSON_GetObjectItem(t, "lease_id"), 1));
	proto_reply_free(&r);
	arr = cJSON_AddArrayToObject(b, "posts");
	for (i = from; i < to; i++)
		cJSON_AddItemToArray(arr, post(i, bonus));
	arr = cJSON_AddArrayToObject(b, "comments");
	for (i = 0; i < 3; i++) {
		c = cJSON_CreateObject();
		snprintf(id, sizeof(id), "t1_c%d", i);
		cJSON_AddStringToObject(c, "id", id);
		cJSON_AddStringToObject(c, "post_id", "t3_p00");
		cJSON_AddStringToObject(c, "parent_id", "t3_p00");
		cJSON_AddNumberToObject(c, "depth", 0);
		cJSON_AddStringToObject(c, "body", "c");
		cJSON_AddItemToObject(c, "raw", cJSON_CreateObject());
		cJSON_AddItemToArray(arr, c);
	}
	r = callj(jd, PROTO_TASK_REPORT, b);
	assert_true(r.ok);
	proto_reply_free(&r);
}

static int
setup(void **state)
{
	struct jobd		*jd = calloc(1, sizeof(*jd));
	struct proto_reply	 r;
	char			 path[256];

	assert_non_null(mkdtemp(dbdir));
	snprintf(path, sizeof(path), "%s/rscrape.db", dbdir);
	assert_int_equal(jobd_state_init(jd, path, 30), 0);
	r = call(jd, PROTO_WORKSPACE_CREATE, "{\"name\":\"t\"}");
	assert_true(r.ok);
	snprintf(ws, sizeof(ws), "%s", cJSON_GetStringValue(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "workspace"),
	    "id")));
	proto_reply_free(&r);
	new_job(jd, job1);
	report(jd, 0, NPOSTS, 0);
	/* a second job stores p20..p22 again with higher scores */
	new_job(jd, job2);
	report(jd, NPOSTS - 3, NPOSTS, 100);
	*state = jd;
	return 0;
}

static int
teardown(void **state)
{
	struct jobd	*jd = *state;
	char		 cmd[300];

	jobd_state_fini(jd);
	free(jd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dbdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
test_refusals(void **state)
{
	static const struct {
		const char	*type;
		const char	*extra;		/* members after workspace_id */
		const char	*code;
		const char	*field;		/* message starts with it */
	} c[] = {
		{ PROTO_POST_LIST, ",\"sort_by\":\"title\"", PROTO_E_INVALID,
		    "sort_by" },
		{ PROTO_POST_LIST, ",\"sort_order\":\"up\"", PROTO_E_INVALID,
		    "sort_order" },
		{ PROTO_POST_LIST, ",\"post_type\":\"gif\"", PROTO_E_INVALID,
		    "post_type" },
		{ PROTO_POST_LIST, ",\"sentiment_label\":\"meh\"",
		    PROTO_E_INVALID, "sentiment_label" },
		{ PROTO_POST_LIST, ",\"limit\":0", PROTO_E_INVALID, "limit" },
		{ PROTO_POST_LIST, ",\"limit\":1001", PROTO_E_INVALID, "limit" },
		{ PROTO_POST_LIST, ",\"cursor\":\"!!\"", PROTO_E_INVALID,
		    "cursor" },
		{ PROTO_POST_LIST, ",\"cursor\":\"ay0xfDM\"", PROTO_E_INVALID,
		    "cursor" },
		{ PROTO_POST_LIST, ",\"min_score\":\"1\"", PROTO_E_BAD_REQUEST,
		    NULL },
		{ PROTO_POST_LIST, ",\"job_id\":\"job_00000000-0000-4000-8000-"
		    "000000000000\"", PROTO_E_NOT_FOUND, NULL },
		{ PROTO_POST_LIST, ",\"job_id\":\"nope\"", PROTO_E_NOT_FOUND,
		    NULL },
		{ PROTO_COMMENT_LIST, "", PROTO_E_BAD_REQUEST, NULL },
		{ PROTO_COMMENT_LIST, ",\"job_id\":\"JOB\",\"cursor\":"
		    "\"cHwxfDF8dDNfeA\"", PROTO_E_INVALID, "cursor" },
		{ PROTO_MEDIA_LIST, ",\"job_id\":\"JOB\",\"limit\":-1",
		    PROTO_E_INVALID, "limit" },
		{ PROTO_POST_GET, ",\"post_id\":\"t3_nothere\"",
		    PROTO_E_NOT_FOUND, NULL },
		{ PROTO_POST_GET, "", PROTO_E_BAD_REQUEST, NULL },
		{ PROTO_MEDIA_FILE, ",\"sha256\":\"00\"", PROTO_E_NOT_FOUND,
		    NULL },
	};
	struct jobd		*jd = *state;
	struct proto_reply	 r;
	char			 b[512], extra[256], *p;
	size_t			 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(extra, sizeof(extra), "%s", c[i].extra);
		if ((p = strstr(extra, "JOB")) != NULL) {
			memmove(p + strlen(job1), p + 3, strlen(p + 3) + 1);
			memcpy(p, job1, strlen(job1));
		}
		snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\"%s}", ws, extra);
		r = call(jd, c[i].type, b);
		if (r.ok || strcmp(r.err_code, c[i].code) != 0)
			fail_msg("case %zu (%s %s): %s", i, c[i].type,
			    c[i].extra, r.ok ? "ok" : r.err_code);
		if (c[i].field != NULL &&
		    strncmp(r.err_message, c[i].field, strlen(c[i].field)))
			fail_msg("case %zu: message \"%s\"", i, r.err_message);
		proto_reply_free(&r);
	}
	/* another workspace's job is not found */
	r = call(jd, PROTO_WORKSPACE_CREATE, "{\"name\":\"other\"}");
	snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\",\"job_id\":\"%s\"}",
	    cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    r.body, "workspace"), "id")), job1);
	proto_reply_free(&r);
	r = call(jd, PROTO_COMMENT_LIST, b);
	assert_false(r.ok);
	assert_string_equal(r.err_code, PROTO_E_NOT_FOUND);
	proto_reply_free(&r);
}

/* the key a sort compares, from a post object */
static long long
key_of(const cJSON *p, const char *sort)
{
	const cJSON	*v;
	const char	*s;
	struct tm	 tm;

	if (strcmp(sort, PROTO_SORT_CREATED) != 0)
		return (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(p,
		    sort));
	v = cJSON_GetObjectItem(p, "created_utc");
	s = cJSON_GetStringValue(v);
	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
	return (long long)timegm(&tm);
}

/* every page of a listing: ids in order, checked against the sort */
static int
page_all(struct jobd *jd, const char *sort, const char *order,
    const char *job, const char *extra, char ids[][16])
{
	struct proto_reply	 r;
	cJSON			*b, *p;
	char			 cursor[600] = "", q[1024];
	long long		 prev = 0, k;
	char			 previd[16] = "";
	int			 n = 0, pages = 0, desc = strcmp(order, "desc") == 0;

	for (;;) {
		snprintf(q, sizeof(q), "{\"workspace_id\":\"%s\",\"sort_by\":"
		    "\"%s\",\"sort_order\":\"%s\",\"limit\":4%s%s%s%s%s%s%s}",
		    ws, sort, order, job ? ",\"job_id\":\"" : "", job ? job : "",
		    job ? "\"" : "", *cursor ? ",\"cursor\":\"" : "", cursor,
		    *cursor ? "\"" : "", extra);
		b = cJSON_Parse(q);
		assert_non_null(b);
		r = callj(jd, PROTO_POST_LIST, b);
		if (!r.ok)
			fail_msg("%s: %s", q, r.err_message);
		pages++;
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(r.body, "posts")) {
			const char *id = cJSON_GetStringValue(
			    cJSON_GetObjectItem(p, "id"));

			k = key_of(p, sort);
			if (n > 0) {
				int cmp = k < prev ? -1 : k > prev ? 1 :
				    strcmp(id, previd);

				if (desc ? cmp >= 0 : cmp <= 0)
					fail_msg("%s %s: %s after %s", sort,
					    order, id, previd);
			}
			prev = k;
			snprintf(previd, sizeof(previd), "%s", id);
			snprintf(ids[n++], 16, "%s", id);
		}
		if (!cJSON_IsTrue(cJSON_GetObjectItem(r.body, "has_more"))) {
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.body,
			    "cursor")));
			proto_reply_free(&r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", cJSON_GetStringValue(
		    cJSON_GetObjectItem(r.body, "cursor")));
		proto_reply_free(&r);
		assert_true(pages < 100);
	}
	return n;
}

static void
test_keyset_paging_in_every_sort(void **state)
{
	static const char *const sorts[] = { PROTO_SORT_CREATED,
	    PROTO_SORT_SCORE, PROTO_SORT_COMMENTS };
	static const char *const orders[] = { "asc", "desc" };
	struct jobd	*jd = *state;
	char		 ids[64][16];
	size_t		 s, o;
	int		 n, i, j;

	for (s = 0; s < 3; s++)
		for (o = 0; o < 2; o++) {
			/* the workspace: every post once (23, not 26) */
			n = page_all(jd, sorts[s], orders[o], NULL, "", ids);
			assert_int_equal(n, NPOSTS);
			for (i = 0; i < n; i++)
				for (j = i + 1; j < n; j++)
					assert_string_not_equal(ids[i], ids[j]);
			n = page_all(jd, sorts[s], orders[o], job2, "", ids);
			assert_int_equal(n, 3);
		}
	/* filters page too */
	n = page_all(jd, PROTO_SORT_SCORE, "desc", job1,
	    ",\"author\":\"ODD\"", ids);
	assert_int_equal(n, NPOSTS / 2);
	n = page_all(jd, PROTO_SORT_CREATED, "asc", NULL,
	    ",\"min_score\":2,\"max_score\":3", ids);
	for (i = 0, j = 0; i < NPOSTS - 3; i++)
		j += i % 5 == 2 || i % 5 == 3;
	assert_int_equal(n, j);
	n = page_all(jd, PROTO_SORT_CREATED, "desc", NULL,
	    ",\"post_type\":\"self\",\"subreddit\":\"python\"", ids);
	assert_int_equal(n, (NPOSTS + 1) / 2);
}

static void
test_cursor_fits_its_sort_only(void **state)
{
	struct jobd		*jd = *state;
	struct proto_reply	 r;
	char			 b[1024];

	snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\",\"limit\":2}", ws);
	r = call(jd, PROTO_POST_LIST, b);
	assert_true(r.ok);
	snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\",\"sort_order\":"
	    "\"asc\",\"cursor\":\"%s\"}", ws, cJSON_GetStringValue(
	    cJSON_GetObjectItem(r.body, "cursor")));
	proto_reply_free(&r);
	r = call(jd, PROTO_POST_LIST, b);
	assert_false(r.ok);
	assert_string_equal(r.err_code, PROTO_E_INVALID);
	proto_reply_free(&r);
}

static void
test_full_text(void **state)
{
	static const struct {
		const char	*q;
		int		 total;		/* -1: any, but ok */
	} c[] = {
		{ "alpha", (NPOSTS + 2) / 3 },
		{ "ALPHA", (NPOSTS + 2) / 3 },
		{ "alp*", (NPOSTS + 2) / 3 },
		{ "alpha OR beta", NPOSTS },
		{ "title NOT alpha", NPOSTS - (NPOSTS + 2) / 3 },
		{ "\\\"beta title\\\"", NPOSTS - (NPOSTS + 2) / 3 },
		{ "\\\"unbalanced", 0 },
		{ "alpha AND", 0 },	/* plain words: "and" is in no title */
		{ "(", -1 },
		{ "e-mail", 0 },
		{ "   ", NPOSTS },
	};
	struct jobd		*jd = *state;
	struct proto_reply	 r;
	char			 b[512];
	size_t			 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\",\"q\":\"%s\"}",
		    ws, c[i].q);
		r = call(jd, PROTO_POST_LIST, b);
		if (!r.ok)
			fail_msg("q %s: %s", c[i].q, r.err_message);
		if (c[i].total >= 0 && (int)cJSON_GetNumberValue(
		    cJSON_GetObjectItem(r.body, "total")) != c[i].total)
			fail_msg("q %s: %d posts, expected %d", c[i].q,
			    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(
			    r.body, "total")), c[i].total);
		proto_reply_free(&r);
	}
}

static void
test_latest_copy_and_items(void **state)
{
	struct jobd		*jd = *state;
	struct proto_reply	 r;
	cJSON			*p;
	char			 b[1400], cursor[600];
	int			 n = 0;

	snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\",\"post_id\":"
	    "\"t3_p21\"}", ws);
	r = call(jd, PROTO_POST_GET, b);
	assert_true(r.ok);
	p = cJSON_GetObjectItem(r.body, "post");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p,
	    "job_id")), job2);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "score")),
	    21 % 5 + 100);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(p, "media")));
	proto_reply_free(&r);

	/* comments: keyset pages of 1 in stored order, count, post filter */
	snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\",\"job_id\":\"%s\","
	    "\"limit\":1,\"post_id\":\"t3_p00\"}", ws, job1);
	for (;;) {
		r = call(jd, PROTO_COMMENT_LIST, b);
		assert_true(r.ok);
		/* counted on the first page only (count false after) */
		if (n == 0)
			assert_int_equal(cJSON_GetNumberValue(
			    cJSON_GetObjectItem(r.body, "total")), 3);
		else
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.body,
			    "total")));
		n += cJSON_GetArraySize(cJSON_GetObjectItem(r.body,
		    "comments"));
		if (!cJSON_IsTrue(cJSON_GetObjectItem(r.body, "has_more"))) {
			proto_reply_free(&r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", cJSON_GetStringValue(
		    cJSON_GetObjectItem(r.body, "cursor")));
		proto_reply_free(&r);
		snprintf(b, sizeof(b), "{\"workspace_id\":\"%s\",\"job_id\":"
		    "\"%s\",\"limit\":1,\"post_id\":\"t3_p00\",\"cursor\":"
		    "\"%s\",\"count\":false}", ws,
		    job1, cursor);
	}
	assert_int_equal(n, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_keyset_paging_in_every_sort),
		cmocka_unit_test(test_cursor_fits_its_sort_only),
		cmocka_unit_test(test_full_text),
		cmocka_unit_test(test_latest_copy_and_items),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
