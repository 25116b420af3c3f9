/*
 * test_fetchd_tree.c — comment trees across requests (struct rd_thread):
 * pooled morechildren batches, continue stubs, absolute depths, dedupe.
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
/* Comment trees                                                        */

static void
test_tree_limit10(void **state)
{
	struct rd_thread *th;
	struct rd_thread_stats st;
	struct rd_listing l;
	const cJSON	*thing, *data;
	cJSON		*root, *comments = cJSON_CreateArray();
	char		 batch[RD_MORECHILDREN_MAX * RD_FULLNAME_MAX];
	const char	*err, *kind;
	char		*buf;
	size_t		 len;
	int		 n, total = 0, batches = 0, toplevel = 0;

	(void)state;
	buf = fixture("comments_3hahrw_limit10.json", &len);
	th = rd_thread_new("t3_3hahrw");
	assert_int_equal(rd_thread_add_tree(th, buf, len, NULL, comments,
	    &err), 10);
	rd_thread_stats(th, &st);
	/* python: 10 t1, 11 more (none count 0), counts sum 559, 200 ids */
	assert_int_equal(st.comments, 10);
	assert_int_equal(st.more_objects, 11);
	assert_int_equal(st.hidden_count, 559);
	assert_int_equal(st.pending_ids, 200);
	assert_int_equal(st.pending_continues, 0);
	/* the top-level more: parent t3_3hahrw, count 332, 156 children */
	root = rd_json_parse(buf, len, &err);
	assert_int_equal(rd_listing_from_json(cJSON_GetArrayItem(root, 1), &l,
	    &err), 0);
	cJSON_ArrayForEach(thing, l.children) {
		kind = rd_thing(thing, &data);
		if (strcmp(kind, "more") != 0)
			continue;
		toplevel++;
		assert_string_equal(rd_str(data, "parent_id"), "t3_3hahrw");
		assert_int_equal(rd_num(data, "count", 0), 332);
		assert_int_equal(cJSON_GetArraySize(rd_arr(data, "children")),
		    156);
	}
	assert_int_equal(toplevel, 1);
	cJSON_Delete(root);
	/* the ids of all 11 stubs pool into two calls */
	while ((n = rd_thread_next_batch(th, batch, sizeof(batch), 0)) > 0) {
		assert_true(n <= RD_MORECHILDREN_MAX);
		total += n;
		batches++;
	}
	assert_int_equal(total, 200);
	assert_int_equal(batches, 2);
	assert_true(rd_thread_done(th));
	cJSON_Delete(comments);
	rd_thread_free(th);
	free(buf);
}

static void
test_tree_continue_stub(void **state)
{
	struct rd_thread *th;
	struct rd_thread_stats st;
	const cJSON	*c;
	cJSON		*comments = cJSON_CreateArray(), *ck;
	char		 parent[RD_FULLNAME_MAX + 1];
	const char	*err;
	char		*buf, *s;
	size_t		 len;
	int		 maxdepth = -1;

	(void)state;
	buf = fixture("comments_6otocc_continue_thread.json", &len);
	th = rd_thread_new("6otocc");
	/* python: a chain of 10 comments, depths 0..9, then the stub */
	assert_int_equal(rd_thread_add_tree(th, buf, len, NULL, comments,
	    &err), 10);
	cJSON_ArrayForEach(c, comments)
		if (rd_num(c, "depth", -1) > maxdepth)
			maxdepth = (int)rd_num(c, "depth", -1);
	assert_int_equal(maxdepth, 9);
	rd_thread_stats(th, &st);
	assert_int_equal(st.more_objects, 1);
	assert_int_equal(st.pending_ids, 0);
	assert_int_equal(st.pending_continues, 1);
	ck = rd_thread_checkpoint(th);
	s = cJSON_PrintUnformatted(ck);
	assert_string_equal(s, "{\"ids\":[],\"continues\":[{\"parent\":"
	    "\"t1_dkk4pwe\",\"depth\":10}]}");
	free(s);
	cJSON_Delete(ck);
	assert_int_equal(rd_thread_next_continue(th, parent), 1);
	assert_string_equal(parent, "t1_dkk4pwe");
	assert_int_equal(rd_thread_next_continue(th, parent), 0);
	assert_true(rd_thread_done(th));
	/* a failed fetch hands it back once, at the same depth */
	rd_thread_unget_continue(th, parent);
	assert_false(rd_thread_done(th));
	ck = rd_thread_checkpoint(th);
	s = cJSON_PrintUnformatted(ck);
	assert_string_equal(s, "{\"ids\":[],\"continues\":[{\"parent\":"
	    "\"t1_dkk4pwe\",\"depth\":10}]}");
	free(s);
	cJSON_Delete(ck);
	assert_int_equal(rd_thread_next_continue(th, parent), 1);
	assert_true(rd_thread_done(th));
	/* the same stub seen again is not queued twice */
	assert_int_equal(rd_thread_add_tree(th, buf, len, NULL, comments,
	    &err), 0);
	assert_int_equal(rd_thread_next_continue(th, parent), 0);
	rd_thread_stats(th, &st);
	assert_int_equal(st.duplicates, 10);
	cJSON_Delete(comments);
	rd_thread_free(th);
	free(buf);
}

/*
 * A continue response restarts depths at 0 with P as its root. Here P
 * (cu5v5h7) sits at depth 9 in a thread, with its continue stub at 10:
 * the response's two replies must land at 10 and 11, P not again.
 */
static void
test_tree_continue_graft(void **state)
{
	static const char tree[] =
	    "[{\"kind\": \"Listing\", \"data\": {\"children\": [{\"kind\": "
	    "\"t3\", \"data\": {\"id\": \"3hahrw\", \"name\": \"t3_3hahrw\"}}]}},"
	    " {\"kind\": \"Listing\", \"data\": {\"children\": [{\"kind\": "
	    "\"t1\", \"data\": {\"id\": \"cu5v5h7\", \"parent_id\": "
	    "\"t1_cu5v4if\", \"depth\": 9, \"body\": \"x\", \"replies\": "
	    "{\"kind\": \"Listing\", \"data\": {\"children\": [{\"kind\": "
	    "\"more\", \"data\": {\"count\": 0, \"id\": \"_\", \"name\": "
	    "\"t1__\", \"parent_id\": \"t1_cu5v5h7\", \"depth\": 10, "
	    "\"children\": []}}]}}}}]}}]";
	struct rd_thread *th;
	const cJSON	*c;
	cJSON		*comments = cJSON_CreateArray();
	char		 parent[RD_FULLNAME_MAX + 1];
	const char	*err;
	char		*buf;
	size_t		 len;

	(void)state;
	th = rd_thread_new("3hahrw");
	assert_int_equal(rd_thread_add_tree(th, tree, sizeof(tree) - 1, NULL,
	    comments, &err), 1);
	assert_int_equal(rd_thread_next_continue(th, parent), 1);
	assert_string_equal(parent, "t1_cu5v5h7");
	buf = fixture("comments_3hahrw_continue_cu5v5h7.json", &len);
	assert_int_equal(rd_thread_add_continue(th, parent, buf, len,
	    comments, &err), 2);
	c = cJSON_GetArrayItem(comments, 1);
	assert_string_equal(rd_str(c, "id"), "t1_cu5vad7");
	assert_string_equal(rd_str(c, "parent_id"), "t1_cu5v5h7");
	assert_int_equal(rd_num(c, "depth", -1), 10);
	c = cJSON_GetArrayItem(comments, 2);
	assert_string_equal(rd_str(c, "id"), "t1_cu5w1ko");
	assert_int_equal(rd_num(c, "depth", -1), 11);
	assert_int_equal(cJSON_GetArraySize(comments), 3);
	free(buf);
	cJSON_Delete(comments);
	rd_thread_free(th);

	/* a thread that never saw P (restored) stores P too, once */
	th = rd_thread_new("3hahrw");
	comments = cJSON_CreateArray();
	buf = fixture("comments_3hahrw_continue_cu5v5h7.json", &len);
	assert_int_equal(rd_thread_add_continue(th, "cu5v5h7", buf, len,
	    comments, &err), 3);
	assert_int_equal(rd_thread_add_continue(th, "cu5v5h7", buf, len,
	    comments, &err), 0);
	/* python: one of the three is "[deleted]" */
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    comments, 0), "deleted")));
	/* wrong post, bad parent */
	assert_int_equal(rd_thread_add_continue(th, "t3_cu5v5h7", buf, len,
	    comments, &err), -1);
	rd_thread_free(th);
	th = rd_thread_new("abc");
	assert_int_equal(rd_thread_add_continue(th, "cu5v5h7", buf, len,
	    comments, &err), -1);
	assert_string_equal(err, "comment tree of another post");
	free(buf);
	cJSON_Delete(comments);
	rd_thread_free(th);
}

static void
test_tree_big_more(void **state)
{
	struct rd_thread *th;
	struct rd_thread_stats st;
	cJSON		*comments = cJSON_CreateArray(), *seen, *ck;
	char		 batch[RD_MORECHILDREN_MAX * RD_FULLNAME_MAX];
	char		*tok, *save;
	const char	*err;
	char		*buf;
	size_t		 len;
	int		 n, total = 0, batches = 0;

	(void)state;
	buf = fixture("comments_ablzuq_limit1.json", &len);
	th = rd_thread_new("ablzuq");
	assert_int_equal(rd_thread_add_tree(th, buf, len, NULL, comments,
	    &err), 1);
	rd_thread_stats(th, &st);
	/* python: the top-level more holds 4682 ids, the comment's 17 more */
	assert_int_equal(st.pending_ids, 4699);
	assert_int_equal(st.more_objects, 2);
	assert_int_equal(st.hidden_count, 8670);
	/* checkpoint/restore keeps the pool, in order */
	ck = rd_thread_checkpoint(th);
	assert_int_equal(cJSON_GetArraySize(rd_arr(ck, "ids")), 4699);
	rd_thread_free(th);
	th = rd_thread_new("ablzuq");
	assert_int_equal(rd_thread_restore(th, ck, &err), 0);
	cJSON_Delete(ck);
	/* a failed call gives its batch back, uncounted */
	n = rd_thread_next_batch(th, batch, sizeof(batch), 0);
	assert_int_equal(n, 100);
	rd_thread_unget_batch(th, batch);
	seen = cJSON_CreateObject();
	while ((n = rd_thread_next_batch(th, batch, sizeof(batch), 0)) > 0) {
		assert_true(n <= RD_MORECHILDREN_MAX);
		batches++;
		for (tok = strtok_r(batch, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			assert_null(cJSON_GetObjectItem(seen, tok));
			cJSON_AddTrueToObject(seen, tok);
			total++;
		}
	}
	assert_int_equal(total, 4699);
	assert_int_equal(batches, 47);
	assert_true(rd_thread_done(th));
	/* a tiny buffer: -1, nothing lost */
	assert_int_equal(rd_thread_next_batch(th, batch, 4, 0), -1);
	cJSON_Delete(seen);
	cJSON_Delete(comments);
	rd_thread_free(th);
	free(buf);
}

static void
test_morechildren(void **state)
{
	struct rd_thread *th;
	struct rd_thread_stats st;
	const cJSON	*c;
	cJSON		*comments = cJSON_CreateArray(), *root, *raw;
	char		 parent[RD_FULLNAME_MAX + 1];
	const char	*err;
	char		*buf, *tree;
	size_t		 len, treelen;
	int		 i, bad = 0;

	(void)state;
	tree = fixture("comments_ablzuq_limit1.json", &treelen);
	buf = fixture("morechildren_ablzuq.json", &len);
	th = rd_thread_new("ablzuq");
	assert_int_equal(rd_thread_add_tree(th, tree, treelen, NULL, comments,
	    &err), 1);
	/* python: 100 t1 (none the tree's ed1czme) and 96 more, one of
	 * them a continue stub */
	assert_int_equal(rd_thread_add_morechildren(th, buf, len, comments,
	    &err), 100);
	rd_thread_stats(th, &st);
	assert_int_equal(st.comments, 101);
	assert_int_equal(st.more_objects, 2 + 96);
	assert_int_equal(st.pending_continues, 1);
	/* depths from parents agree with Reddit's absolute ones here */
	root = rd_json_parse(buf, len, &err);
	i = 0;
	cJSON_ArrayForEach(c, comments) {
		if (i++ == 0)
			continue;
		raw = raw_json(c);
		if (rd_num(c, "depth", -1) != rd_num(raw, "depth", -2))
			bad++;
		cJSON_Delete(raw);
	}
	assert_int_equal(bad, 0);
	cJSON_Delete(root);
	/* the same reply again adds nothing */
	assert_int_equal(rd_thread_add_morechildren(th, buf, len, comments,
	    &err), 0);
	assert_int_equal(rd_thread_next_continue(th, parent), 1);
	free(buf);

	buf = fixture("morechildren_empty.json", &len);
	assert_int_equal(rd_thread_add_morechildren(th, buf, len, comments,
	    &err), 0);
	free(buf);
	static const char errs[] = "{\"json\": {\"errors\": [[\"TOO_MUCH\", "
	    "\"too many ids\", \"children\"]], \"data\": {}}}";
	assert_int_equal(rd_thread_add_morechildren(th, errs, sizeof(errs) -
	    1, comments, &err), -1);
	assert_string_equal(err, "morechildren error TOO_MUCH: too many ids");
	free(tree);
	cJSON_Delete(comments);
	rd_thread_free(th);
}

/* Reddit handing the same ids back forever cannot loop fetchd. */
static void
test_morechildren_no_progress(void **state)
{
	static const char reply[] = "{\"json\": {\"errors\": [], \"data\": "
	    "{\"things\": [{\"kind\": \"more\", \"data\": {\"count\": 2, "
	    "\"id\": \"aa\", \"parent_id\": \"t3_abc\", \"depth\": 0, "
	    "\"children\": [\"aa\", \"bb\"]}}]}}}";
	struct rd_thread *th;
	struct rd_thread_stats st;
	cJSON		*comments = cJSON_CreateArray(), *ck;
	char		 batch[64];
	const char	*err;
	int		 calls = 0;

	(void)state;
	th = rd_thread_new("abc");
	ck = cJSON_Parse("{\"ids\": [\"aa\", \"bb\"], \"continues\": []}");
	assert_int_equal(rd_thread_restore(th, ck, &err), 0);
	cJSON_Delete(ck);
	while (rd_thread_next_batch(th, batch, sizeof(batch), 0) > 0) {
		assert_string_equal(batch, "aa,bb");
		assert_int_equal(rd_thread_add_morechildren(th, reply,
		    sizeof(reply) - 1, comments, &err), 0);
		assert_true(++calls <= RD_THREAD_ATTEMPTS);
	}
	assert_int_equal(calls, RD_THREAD_ATTEMPTS);
	rd_thread_stats(th, &st);
	assert_int_equal(st.dropped_ids, 2);
	cJSON_Delete(comments);
	rd_thread_free(th);
}

/*
 * Reddit answers at most ~100 comments per morechildren call and bounces
 * the rest in a new `more`: an answer that brings something new is
 * progress, however often an id is bounced. Here each answer brings one
 * comment and hands the others back, more times than RD_THREAD_ATTEMPTS.
 */
static void
test_morechildren_bounced_with_progress(void **state)
{
	static const char *const ids[] = { "aa", "bb", "cc", "dd", "ee", "ff" };
	const int	 n = (int)(sizeof(ids) / sizeof(ids[0]));
	struct rd_thread *th;
	struct rd_thread_stats st;
	cJSON		*comments = cJSON_CreateArray(), *ck;
	char		 batch[64], reply[2048], more[256];
	const char	*err;
	int		 calls = 0, i;
	size_t		 used;

	(void)state;
	assert_true(n > RD_THREAD_ATTEMPTS + 1);
	th = rd_thread_new("abc");
	ck = cJSON_Parse("{\"ids\": [\"aa\", \"bb\", \"cc\", \"dd\", "
	    "\"ee\", \"ff\"], \"continues\": []}");
	assert_int_equal(rd_thread_restore(th, ck, &err), 0);
	cJSON_Delete(ck);
	while (rd_thread_next_batch(th, batch, sizeof(batch), 0) > 0) {
		/* answer: the first id as a comment, the rest bounced */
		used = 0;
		more[0] = '\0';
		for (i = calls + 1; i < n; i++)
			used += (size_t)snprintf(more + used, sizeof(more) - used,
			    "%s\"%s\"", i > calls + 1 ? "," : "", ids[i]);
		snprintf(reply, sizeof(reply), "{\"json\": {\"errors\": [], "
		    "\"data\": {\"things\": [{\"kind\": \"t1\", \"data\": "
		    "{\"id\": \"%s\", \"name\": \"t1_%s\", \"parent_id\": "
		    "\"t3_abc\", \"link_id\": \"t3_abc\", \"depth\": 0, "
		    "\"author\": \"a\", \"body\": \"b\", \"score\": 1, "
		    "\"created_utc\": 1700000000, \"replies\": \"\"}}%s%s%s]}}}",
		    ids[calls], ids[calls], used ? ", {\"kind\": \"more\", "
		    "\"data\": {\"count\": 9, \"id\": \"zz\", \"parent_id\": "
		    "\"t3_abc\", \"depth\": 0, \"children\": [" : "", more,
		    used ? "]}}" : "");
		assert_int_equal(rd_thread_add_morechildren(th, reply,
		    strlen(reply), comments, &err), 1);
		assert_true(++calls <= n);
	}
	assert_int_equal(calls, n);
	assert_int_equal(cJSON_GetArraySize(comments), n);
	rd_thread_stats(th, &st);
	assert_int_equal(st.dropped_ids, 0);
	assert_true(rd_thread_done(th));
	cJSON_Delete(comments);
	rd_thread_free(th);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_limit10),
		cmocka_unit_test(test_tree_continue_stub),
		cmocka_unit_test(test_tree_continue_graft),
		cmocka_unit_test(test_tree_big_more),
		cmocka_unit_test(test_morechildren),
		cmocka_unit_test(test_morechildren_no_progress),
		cmocka_unit_test(test_morechildren_bounced_with_progress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
