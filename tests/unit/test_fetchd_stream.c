/*
 * test_fetchd_stream.c — the stream reader of comment-tree answers
 * (fetchd_stream.c, rd_stage_* + rd_thread_apply_*) against the cJSON
 * walk (rd_thread_add_*_json) it replaces in fetchd: over every recorded
 * response, each cut short at many points, byte damage and hand-made
 * shapes, both must give the same records (each raw the same JSON), the
 * same return values and errors, and leave their threads in the same
 * state.
 * The cJSON walk's own goldens are in test_fetchd_parse.c and
 * test_fetchd_tree.c.
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
#include "lib/jtext.h"
#include "lib/worker.h"

static int	compared;	/* bodies both read and compared */

static void
same_output(cJSON *a, cJSON *b)
{
	char	*sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);

	assert_non_null(sa);
	assert_non_null(sb);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
}

/*
 * A detached report body read back as the records it sends: its text
 * parsed, each record's raw_len replaced by the raw it measures in the
 * attachment. Every raw must be one JSON object, and the attachment must
 * hold exactly the raws.
 */
static cJSON *
read_back(cJSON *body, const char *att, size_t len)
{
	cJSON	*j, *rec, *n, *raw;
	char	*text;
	size_t	 off = 0, rl;

	assert_non_null(text = jtext_print(body, NULL));
	assert_non_null(j = cJSON_Parse(text));
	free(text);
	cJSON_ArrayForEach(rec, cJSON_GetObjectItem(j, "comments")) {
		if ((n = cJSON_GetObjectItem(rec, "raw_len")) == NULL)
			continue;
		rl = (size_t)n->valuedouble;
		assert_true(off + rl <= len);
		assert_non_null(raw = cJSON_ParseWithLength(att + off, rl));
		assert_true(cJSON_IsObject(raw));
		cJSON_DeleteItemFromObject(rec, "raw_len");
		cJSON_AddItemToObject(rec, "raw", raw);
		off += rl;
	}
	assert_int_equal(off, len);
	return j;
}

/*
 * The cJSON walk appends record objects, the stage text items: the same
 * once a report has detached their raws (worker_detach) and each raw is
 * read back. The stage's raws are Reddit's own bytes and the walk's are
 * cJSON's print of them, so they are compared as JSON: the same members
 * in the same order, the same strings, equal numbers. Takes both arrays.
 */
static void
same_records(cJSON *a, cJSON *b)
{
	cJSON	*ba = cJSON_CreateObject(), *bb = cJSON_CreateObject();
	cJSON	*ra, *rb;
	char	*atta, *attb, *ta, *tb;
	size_t	 la, lb;

	assert_int_equal(worker_records(a), worker_records(b));
	cJSON_AddItemToObject(ba, "comments", a);
	cJSON_AddItemToObject(bb, "comments", b);
	assert_int_equal(worker_detach(ba, &atta, &la), 0);
	assert_int_equal(worker_detach(bb, &attb, &lb), 0);
	ra = read_back(ba, atta, la);
	rb = read_back(bb, attb, lb);
	/* printed by one printer: member order and values, not bytes */
	assert_non_null(ta = jtext_print(ra, NULL));
	assert_non_null(tb = jtext_print(rb, NULL));
	assert_string_equal(ta, tb);
	free(atta);
	free(attb);
	free(ta);
	free(tb);
	cJSON_Delete(ra);
	cJSON_Delete(rb);
	cJSON_Delete(ba);
	cJSON_Delete(bb);
}

static void
same_thread(struct rd_thread *a, struct rd_thread *b)
{
	struct rd_thread_stats sa, sb;
	cJSON	*ca = rd_thread_checkpoint(a), *cb = rd_thread_checkpoint(b);

	rd_thread_stats(a, &sa);
	rd_thread_stats(b, &sb);
	assert_int_equal(sa.comments, sb.comments);
	assert_int_equal(sa.duplicates, sb.duplicates);
	assert_int_equal(sa.more_objects, sb.more_objects);
	assert_int_equal(sa.pending_ids, sb.pending_ids);
	assert_int_equal(sa.pending_continues, sb.pending_continues);
	assert_int_equal(sa.dropped_ids, sb.dropped_ids);
	assert_int_equal(sa.hidden_count, sb.hidden_count);
	same_output(ca, cb);
	cJSON_Delete(ca);
	cJSON_Delete(cb);
}

static void
same_rv(int r1, const char *e1, int r2, const char *e2)
{
	assert_int_equal(r1, r2);
	if (r1 == -1)
		assert_string_equal(e1, e2);
}

/* the post a tree body names, as test_fetchd_parse.c adopts it */
static const char *
body_post(const cJSON *root)
{
	struct rd_listing l;
	const cJSON	*data = NULL;
	const char	*id;

	if (!cJSON_IsArray(root) || rd_listing_from_json(
	    cJSON_GetArrayItem(root, 0), &l, NULL) == -1)
		return "x";
	(void)rd_thing(cJSON_GetArrayItem(l.children, 0), &data);
	id = rd_str(data, "id");
	return rd_valid_id(id) ? id : "x";
}

/*
 * Every way fetchd reads a body, both ways. lenient: cJSON may accept
 * what the stream reader refuses (damaged bytes can make a number cJSON's strtod
 * reads and JSON forbids, such as 00); never the other way round.
 */
static void
compare(const char *buf, size_t len, int lenient)
{
	struct rd_stage	*st, *mst;
	struct rd_thread *t1, *t2;
	cJSON		*root, *o1, *o2;
	const char	*e1 = NULL, *e2 = NULL, *post;
	char		 parent[RD_FULLNAME_MAX + 1];
	int		 r1, r2;

	root = rd_json_parse(buf, len, &e1);
	st = rd_stage_tree(buf, len, &e2);
	mst = rd_stage_morechildren(buf, len, NULL);
	if (root == NULL) {
		assert_null(st);
		assert_null(mst);
		assert_string_equal(e1, e2);
		return;
	}
	if (st == NULL) {
		assert_true(lenient);
		assert_null(mst);
		cJSON_Delete(root);
		return;
	}
	assert_non_null(mst);
	post = body_post(root);
	o1 = cJSON_CreateArray();
	o2 = cJSON_CreateArray();
	t1 = rd_thread_new(post);
	t2 = rd_thread_new(post);

	r1 = rd_thread_add_tree_json(t1, root, NULL, o1, &e1);
	r2 = rd_thread_apply_tree(t2, st, o2, &e2);
	same_rv(r1, e1, r2, e2);
	/* a continue of the first stub queued, else of a made-up parent */
	if (!rd_thread_next_continue(t1, parent))
		snprintf(parent, sizeof(parent), "t1_abc");
	else
		assert_true(rd_thread_next_continue(t2, parent));
	r1 = rd_thread_add_continue_json(t1, parent, root, o1, &e1);
	r2 = rd_thread_apply_continue(t2, parent, st, o2, &e2);
	same_rv(r1, e1, r2, e2);
	r1 = rd_thread_add_morechildren_json(t1, root, o1, &e1);
	r2 = rd_thread_apply_morechildren(t2, mst, o2, &e2);
	same_rv(r1, e1, r2, e2);
	/* again: everything is a duplicate now, bounces count */
	r1 = rd_thread_add_morechildren_json(t1, root, o1, &e1);
	r2 = rd_thread_apply_morechildren(t2, mst, o2, &e2);
	same_rv(r1, e1, r2, e2);
	same_thread(t1, t2);
	rd_thread_free(t1);
	rd_thread_free(t2);

	/* a continue answer for a thread that never saw its root */
	t1 = rd_thread_new(post);
	t2 = rd_thread_new(post);
	r1 = rd_thread_add_continue_json(t1, "t1_cu5v5h7", root, o1, &e1);
	r2 = rd_thread_apply_continue(t2, "t1_cu5v5h7", st, o2, &e2);
	same_rv(r1, e1, r2, e2);
	r1 = rd_thread_add_continue_json(t1, "T1_?", root, o1, &e1);
	r2 = rd_thread_apply_continue(t2, "T1_?", st, o2, &e2);
	same_rv(r1, e1, r2, e2);
	same_thread(t1, t2);
	rd_thread_free(t1);
	rd_thread_free(t2);

	same_records(o1, o2);
	cJSON_Delete(root);
	rd_stage_free(st);
	rd_stage_free(mst);
	compared++;
}

static void
compare_whole_and_cut(char *buf, size_t len, void *arg)
{
	size_t	 cut, step;

	(void)arg;
	compare(buf, len, 0);
	/* cut short at ~200 points: never JSON, for either */
	step = len / 200 + 1;
	for (cut = 0; cut < len; cut += step)
		compare(buf, cut, 0);
}

static void
test_every_fixture(void **state)
{
	(void)state;
	compared = 0;
	assert_true(each_fixture(compare_whole_and_cut, NULL) >= 30);
	assert_true(compared >= 25);
}

static void
compare_lenient(char *buf, size_t len, void *arg)
{
	(void)arg;
	compare(buf, len, 1);
}

/* Deterministic byte damage, as test_fetchd_parse.c's. */
static void
test_damaged(void **state)
{
	static const char *const files[] = {
		"comments_3hahrw_limit10.json", "morechildren_ablzuq.json",
		"comments_6otocc_continue_thread.json",
		"comments_gx8r8z_removed_deleted.json",
	};

	(void)state;
	compared = 0;
	each_damaged(files, sizeof(files) / sizeof(files[0]), 300, 4242,
	    compare_lenient, NULL);
	assert_true(compared > 50);
}

#define TREE(second) "[{\"kind\": \"Listing\", \"data\": {\"children\": " \
	"[{\"kind\": \"t3\", \"data\": {\"id\": \"x\"}}]}}, " second "]"

/* hand-made shapes: key order, repeated names, types, text and numbers */
static void
test_shapes(void **state)
{
	static const char *const bodies[] = {
		/* data before kind; a more whose data comes first */
		TREE("{\"data\": {\"children\": [{\"data\": {\"id\": \"a\", "
		"\"replies\": {\"data\": {\"children\": [{\"kind\": \"t1\", "
		"\"data\": {\"id\": \"b\", \"parent_id\": \"t1_a\"}}]}, "
		"\"kind\": \"Listing\"}}, \"kind\": \"t1\"}, {\"data\": "
		"{\"count\": 3, \"children\": [\"c\", \"d\", 5, [\"e\"]]}, "
		"\"kind\": \"more\"}]}, \"kind\": \"Listing\"}"),
		/* repeated names: the first counts, every replies is "" */
		TREE("{\"kind\": \"Listing\", \"data\": {\"children\": "
		"[{\"kind\": \"t1\", \"kind\": \"more\", \"data\": {\"id\": "
		"\"a\", \"id\": \"z\", \"replies\": \"\", \"replies\": {\"kind\":"
		" \"Listing\", \"data\": {\"children\": [{\"kind\": \"t1\", "
		"\"data\": {\"id\": \"hidden\"}}]}}, \"body\": 5, \"body\": "
		"\"two\", \"score\": \"1\", \"score\": 2}, \"data\": {\"id\": "
		"\"q\"}}], \"children\": [{\"kind\": \"t1\", \"data\": {\"id\":"
		" \"r\"}}]}}"),
		/* replies that are not walked: no kind, data not an object,
		 * kind not a string; things under a more or another kind */
		TREE("{\"kind\": \"Listing\", \"data\": {\"children\": ["
		"{\"kind\": \"t1\", \"data\": {\"id\": \"a\", \"replies\": "
		"{\"data\": {\"children\": [{\"kind\": \"t1\", \"data\": "
		"{\"id\": \"n1\"}}]}}}}, "
		"{\"kind\": \"t1\", \"data\": {\"id\": \"b\", \"replies\": "
		"{\"kind\": 1, \"data\": {\"children\": [{\"kind\": \"t1\", "
		"\"data\": {\"id\": \"n2\"}}]}}}}, "
		"{\"kind\": \"t1\", \"data\": {\"id\": \"c\", \"replies\": "
		"{\"kind\": \"x\", \"data\": []}}}, "
		"{\"kind\": \"more\", \"data\": {\"id\": \"_\", \"parent_id\": "
		"\"t1_c\", \"replies\": {\"kind\": \"Listing\", \"data\": "
		"{\"children\": [{\"kind\": \"t1\", \"data\": {\"id\": "
		"\"n3\"}}]}}}}, "
		"{\"kind\": \"t5\", \"data\": {\"id\": \"d\", \"replies\": "
		"{\"kind\": \"Listing\", \"data\": {\"children\": [{\"kind\": "
		"\"t1\", \"data\": {\"id\": \"n4\"}}]}}}}, "
		"{\"kind\": \"t1\", \"data\": {\"id\": \"BAD\", \"replies\": "
		"{\"kind\": \"Listing\", \"data\": {\"children\": [{\"kind\": "
		"\"t1\", \"data\": {\"id\": \"n5\"}}]}}}}, "
		"{\"kind\": \"t1\", \"data\": {\"id\": \"e\", \"replies\": "
		"{\"kind\": \"Listing\", \"data\": {\"children\": {}}}}}"
		"]}}"),
		/* strings and numbers as cJSON prints them */
		TREE("{\"kind\": \"Listing\", \"data\": {\"children\": ["
		"{\"kind\": \"t1\", \"data\": {\"id\": \"a\", \"body\": "
		"\"tab\\t nl\\n q\\\" bs\\\\ sl\\/ u\\u00e9 \\ud83d\\ude00 "
		"ctl\\u0001 nul\\u0000after\", \"na\\u0000me\": 1, \"n\": [0, "
		"-0, 1.5, -2.25e-7, 1e300, 1e400, -1e400, 123456789012345678, "
		"999999999999999, 1000000000000000, 0.1, 1E5, 5e-324, 2.5e+3, "
		"-12, 1.0], \"t\": [true, false, null, {}, [], [[]], {\"a\": "
		"{}}], \"created_utc\": 1774940652.0, \"score\": -3, "
		"\"depth\": 2.7, \"author\": \"\\u00fc\\u00df\"}}]}}"),
		/* \u0000 in a kind and an id: cJSON's strings end there */
		TREE("{\"kind\": \"Listing\", \"data\": {\"children\": ["
		"{\"kind\": \"t1\\u0000x\", \"data\": {\"id\": \"a\\u0000b\"}}"
		"]}}"),
		/* leading BOM, whitespace and trailing bytes */
		"\xef\xbb\xbf \n" TREE("{\"kind\": \"Listing\", \"data\": "
		"{\"children\": [{\"kind\": \"t1\", \"data\": {\"id\": \"a\"}}]}}")
		" trailing ] garbage",
		/* numbers longer than a stack buffer */
		"[1234567890123456789012345678901234567890123456789012345678901"
		"2345]",
		"[123456789012345678901234567890123456789012345678901234567890123]",
		/* wrong tops */
		"[1, 2]", "[]", "{}", "\"s\"", "5", "null", "[{}, {}]",
		TREE("{\"kind\": \"Listing\"}"),
		TREE("{\"kind\": \"Listing\", \"data\": {\"children\": 3}}"),
		TREE("{\"kind\": \"Other\", \"data\": {\"children\": []}}"),
		"[{\"kind\": \"Listing\", \"data\": {\"children\": [{\"kind\": "
		"\"t3\", \"data\": {\"id\": \"y\"}}]}}, {}]",
		"[{\"kind\": \"Listing\", \"data\": {\"children\": [{\"kind\": "
		"\"t3\", \"data\": {\"id\": 5}}]}}, {}]",
		"[{\"kind\": \"Listing\", \"data\": {\"children\": [5]}}, {}]",
		"[{\"kind\": \"Listing\", \"data\": {\"children\": []}}, {}]",
		"[{\"kind\": \"Listing\", \"data\": {}}, {}]",
		"[{\"kind\": \"Listing\", \"data\": 1}, {}]",
		/* morechildren shapes */
		"{\"json\": {\"errors\": [], \"data\": {\"things\": [{\"kind\": "
		"\"t1\", \"data\": {\"id\": \"m1\", \"parent_id\": \"t1_zz\", "
		"\"depth\": 4}}, {\"kind\": \"more\", \"data\": {\"count\": 5, "
		"\"children\": [\"m2\", \"m3\", \"m1\"]}}]}}}",
		"{\"json\": {\"data\": {\"things\": []}, \"errors\": [[\"RATELIMIT"
		"\", \"slow down\", \"x\"]]}}",
		"{\"json\": {\"errors\": [[5]]}}", "{\"json\": {\"errors\": "
		"[\"e\"]}}", "{\"json\": {\"errors\": [], \"data\": {}}}",
		"{\"json\": 5}", "{\"json\": {\"errors\": 4, \"data\": "
		"{\"things\": {}}}}", "{\"json\": {\"errors\": {}, \"data\": "
		"{\"things\": [], \"things\": 5}}}",
		"{\"json\": {\"errors\": [], \"data\": {\"things\": 5, "
		"\"things\": []}}}",
		/* broken */
		"", " ", "[", "[1,]", "{\"a\" 1}", "[\"\\x\"]", "[\"\\u12\"]",
		"[tru]", "[1] [2]", "/* c */ []",
		/* lone UTF-16 surrogates: refused, as cJSON refuses them */
		"[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
		"[\"\\ud800x\"]", "{\"\\udfff\": 1}",
		/* a surrogate pair, in a name and in an id */
		TREE("{\"kind\": \"Listing\", \"data\": {\"children\": ["
		"{\"kind\": \"t1\", \"data\": {\"id\": \"a\", "
		"\"\\ud83d\\ude00\": 1, \"body\": \"\\uD83D\\uDE00\"}}]}}"),
		/* cut inside an escape, a name, a literal, a number */
		"[\"ab\\", "[\"\\u00", "{\"ab", "[nul", "[-", "[1.", "[1e",
		"[1e+",
	};
	char		*deep;
	size_t		 i, n;
	int		 depth;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		compare(bodies[i], strlen(bodies[i]), 0);
	/* cJSON's strtod reads a leading zero JSON forbids; the stage not */
	compare("[01]", 4, 1);

	/* nesting: 256 levels are read, 257 are not (either way) */
	deep = malloc(1000);
	for (n = 255; n <= 258; n++) {
		memset(deep, '[', n);
		memset(deep + n, ']', n);
		compare(deep, 2 * n, 0);
	}
	free(deep);

	/* ... and within a member the reader only checks, not reads */
	deep = malloc(2000);
	for (n = 240; n <= 258; n++) {
		i = (size_t)sprintf(deep, "[{\"kind\": \"Listing\", \"data\": "
		    "{\"children\": [{\"kind\": \"t1\", \"data\": {\"id\": "
		    "\"a\", \"gildings\": ");
		memset(deep + i, '[', n);
		memset(deep + i + n, ']', n);
		i += 2 * n;
		i += (size_t)sprintf(deep + i, ", \"body\": \"b\"}}]}}]");
		compare(deep, i, 0);
	}
	free(deep);

	/* a reply chain 48 deep, with a continue stub at its end */
	deep = malloc(64 * 1024);
	n = (size_t)sprintf(deep, TREE("{\"kind\": \"Listing\", \"data\": "
	    "{\"children\": ["));
	n -= 1;		/* TREE's closing bracket comes last */
	for (depth = 0; depth < 48; depth++)
		n += (size_t)sprintf(deep + n, "{\"kind\": \"t1\", \"data\": "
		    "{\"id\": \"c%d\", \"parent_id\": \"t1_c%d\", \"depth\": %d,"
		    " \"replies\": {\"kind\": \"Listing\", \"data\": "
		    "{\"children\": [", depth, depth - 1, depth);
	n += (size_t)sprintf(deep + n, "{\"kind\": \"more\", \"data\": "
	    "{\"id\": \"_\", \"count\": 0, \"parent_id\": \"t1_c47\", "
	    "\"children\": []}}");
	for (depth = 0; depth < 48; depth++)
		n += (size_t)sprintf(deep + n, "]}}}}");
	n += (size_t)sprintf(deep + n, "]}}]");
	compare(deep, n, 0);
	free(deep);
}

/* a report mixing record objects and text items keeps their order */
static void
test_mixed_report(void **state)
{
	cJSON	*body = cJSON_CreateObject(), *posts, *comments, *rec;
	char	*att, *text;
	size_t	 len;

	(void)state;
	posts = cJSON_AddArrayToObject(body, "posts");
	comments = cJSON_AddArrayToObject(body, "comments");
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "id", "t3_p");
	cJSON_AddItemToObject(rec, "raw", cJSON_CreateRaw("{\"p\":1}"));
	cJSON_AddItemToArray(posts, rec);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "id", "t1_a");
	cJSON_AddItemToObject(rec, "raw", cJSON_Parse("{\"a\": [1]}"));
	cJSON_AddItemToArray(comments, rec);
	cJSON_AddItemToArray(comments, worker_text_records(
	    "{\"id\":\"t1_b\",\"raw_len\":7},{\"id\":\"t1_c\",\"raw_len\":7}", 51,
	    "{\"b\":2}{\"c\":3}", 14, 2));
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "id", "t1_d");
	cJSON_AddItemToObject(rec, "raw", cJSON_CreateRaw("{\"d\":4}"));
	cJSON_AddItemToArray(comments, rec);
	assert_int_equal(worker_records(comments), 4);
	assert_int_equal(worker_detach(body, &att, &len), 0);
	assert_int_equal(len, 37);
	assert_memory_equal(att, "{\"p\":1}{\"a\":[1]}{\"b\":2}{\"c\":3}{\"d\":4}", 37);
	assert_non_null(text = jtext_print(body, NULL));
	assert_string_equal(text, "{\"posts\":[{\"id\":\"t3_p\",\"raw_len\":7}],"
	    "\"comments\":[{\"id\":\"t1_a\",\"raw_len\":9},{\"id\":\"t1_b\","
	    "\"raw_len\":7},{\"id\":\"t1_c\",\"raw_len\":7},{\"id\":\"t1_d\","
	    "\"raw_len\":7}]}");
	free(text);
	free(att);
	cJSON_Delete(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_fixture),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_mixed_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
