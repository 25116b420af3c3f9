/*
 * test_proto_frame.c — what travels around and inside one envelope:
 * batches dispatched by lib/rep (each call answered alone), the raw JSON
 * object check jobd applies to reported records, and attachments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/bridge.h"
#include "proto/proto.h"

/* rep_dispatch over a tiny route table: batches answer each call alone */
static int
h_echo(struct rep_ctx *ctx, void *arg)
{
	(void)arg;
	ctx->reply = cJSON_Duplicate(ctx->req->body, 1);
	return 0;
}

static int
h_refuse(struct rep_ctx *ctx, void *arg)
{
	(void)arg;
	return rep_error(ctx, PROTO_E_NOT_FOUND, "no such thing");
}

static const struct rep_route batch_routes[] = {
	{ "echo",	h_echo },
	{ "refuse",	h_refuse },
	{ NULL,		NULL }
};

static cJSON *
dispatch_json(const char *env)
{
	size_t	 len;
	char	*out = rep_dispatch(batch_routes, NULL, env, strlen(env), &len);
	cJSON	*j;

	assert_non_null(out);
	j = cJSON_ParseWithLength(out, len);
	free(out);
	assert_non_null(j);
	return j;
}

static void
test_batch_dispatch(void **state)
{
	char			*parts[3], *env;
	size_t			 lens[3], len;
	struct proto_reply	 rep;
	const char		*err;
	cJSON			*j, *replies, *it;
	cJSON			*body = cJSON_CreateObject();
	int			 i;

	(void)state;
	cJSON_AddNumberToObject(body, "n", 7);
	parts[0] = proto_request_encode("a1", "echo", body, &lens[0]);
	parts[1] = proto_request_encode("a2", "refuse", NULL, &lens[1]);
	parts[2] = proto_request_encode("a3", "nope", NULL, &lens[2]);
	env = proto_batch_encode("b1", 0, parts, lens, 3, &len);
	assert_non_null(env);
	j = dispatch_json(env);
	assert_int_equal(proto_reply_parse_json(j, &rep, &err), 0);
	assert_string_equal(rep.id, "b1");
	assert_true(rep.ok);
	replies = cJSON_GetObjectItem(rep.body, "replies");
	assert_int_equal(cJSON_GetArraySize(replies), 3);
	i = 0;
	cJSON_ArrayForEach(it, replies) {
		struct proto_reply	 m;

		assert_int_equal(proto_reply_parse_json(it, &m, &err), 0);
		if (i == 0) {
			assert_string_equal(m.id, "a1");
			assert_true(m.ok);
			assert_int_equal(cJSON_GetObjectItem(m.body, "n")->valueint,
			    7);
		} else if (i == 1) {
			assert_string_equal(m.id, "a2");
			assert_false(m.ok);
			assert_string_equal(m.err_code, PROTO_E_NOT_FOUND);
		} else {
			assert_string_equal(m.id, "a3");
			assert_string_equal(m.err_code, PROTO_E_UNKNOWN_TYPE);
		}
		i++;
	}
	cJSON_Delete(j);
	free(env);
	for (i = 0; i < 3; i++)
		cJSON_free(parts[i]);
	cJSON_Delete(body);
}

static void
test_batch_rejects(void **state)
{
	static const struct {
		const char	*env;
		const char	*code;		/* of the batch, or NULL */
		const char	*inner;		/* of the first call */
	} cases[] = {
		{ "{\"v\":1,\"id\":\"b\",\"type\":\"batch\",\"body\":{}}",
		  PROTO_E_BAD_REQUEST, NULL },
		{ "{\"v\":1,\"id\":\"b\",\"type\":\"batch\",\"body\":"
		  "{\"calls\":[]}}", PROTO_E_BAD_REQUEST, NULL },
		{ "{\"v\":1,\"id\":\"b\",\"type\":\"batch\",\"body\":"
		  "{\"calls\":[{\"v\":1,\"id\":\"c\",\"type\":\"batch\","
		  "\"body\":{\"calls\":[]}}]}}", NULL, PROTO_E_BAD_REQUEST },
		{ "{\"v\":1,\"id\":\"b\",\"type\":\"batch\",\"body\":"
		  "{\"calls\":[{\"v\":2,\"id\":\"c\",\"type\":\"echo\","
		  "\"body\":{}}]}}", NULL, PROTO_E_BAD_REQUEST },
		{ "{\"v\":1,\"id\":\"b\",\"type\":\"batch\",\"body\":"
		  "{\"calls\":[17]}}", NULL, PROTO_E_BAD_REQUEST },
	};
	struct proto_reply	 rep, m;
	const char		*err;
	cJSON			*j;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = dispatch_json(cases[i].env);
		assert_int_equal(proto_reply_parse_json(j, &rep, &err), 0);
		if (cases[i].code != NULL) {
			assert_false(rep.ok);
			assert_string_equal(rep.err_code, cases[i].code);
		} else {
			assert_true(rep.ok);
			assert_int_equal(proto_reply_parse_json(
			    cJSON_GetArrayItem(cJSON_GetObjectItem(rep.body,
			    "replies"), 0), &m, &err), 0);
			assert_false(m.ok);
			assert_string_equal(m.err_code, cases[i].inner);
		}
		cJSON_Delete(j);
	}
}

static void
test_json_object_valid(void **state)
{
	static const char *const good[] = {
		"{}", " {} ", "{\"a\":1}", "{\"a\":[1,2.5,-3e+2,0.1E-9,true,"
		"false,null,\"s\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"]}",
		"{\"a\":{\"b\":{\"c\":[]}},\"d\":\"\xc3\xa9\"}",
		"{\"replies\":\"\",\"x\":-0}",
	};
	static const char *const bad[] = {
		"", " ", "[]", "1", "\"s\"", "{", "}", "{\"a\"}", "{\"a\":}",
		"{\"a\":1,}", "{,}", "{\"a\":1}}", "{\"a\":1} x", "{\"a\":01}",
		"{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":-}",
		"{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12\"}", "{\"a\":\"unterminated}", "{\"a\":[1,2}",
		"{\"a\":[1,2]]}", "{a:1}", "{'a':1}", "{\"a\":NaN}",
		"{\"a\":\"tab\there\"}", "{\"a\":1}{}",
	};
	char	 deep[2100];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(proto_json_object_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (proto_json_object_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted: %s", bad[i]);
	}
	/* length-bounded, and a NUL inside is not JSON */
	assert_true(proto_json_object_valid("{}GARBAGE", 2));
	assert_false(proto_json_object_valid("{\"a\":\"\0\"}", 9));
	assert_false(proto_json_object_valid(NULL, 0));
	/* nesting beyond 1000 is refused, 1000 is fine */
	memset(deep, '[', sizeof(deep));
	deep[0] = '{';
	memcpy(deep + 1, "\"a\":", 4);
	for (i = 0; i < 999; i++)
		deep[5 + i] = '[';
	for (i = 0; i < 999; i++)
		deep[5 + 999 + i] = ']';
	deep[5 + 1998] = '}';
	assert_true(proto_json_object_valid(deep, 5 + 1999));
	memset(deep + 5, '[', 1001);
	assert_false(proto_json_object_valid(deep, 5 + 1001));
}

/*
 * Strings are skipped four bytes at a time: whatever a string holds, at
 * whichever offset from its start and from the end of the buffer, the
 * answer is the byte-at-a-time one (k and z: not hex digits).
 */
static void
test_json_string_at_every_offset(void **state)
{
	static const struct { const char *s; int ok; } ins[] = {
		{ "\\n", 1 }, { "\\\\", 1 }, { "\\\"", 1 }, { "\\u00e9", 1 },
		{ "\\/", 1 }, { "\\q", 0 }, { "\\u00g9", 0 }, { "\\u12", 0 },
		{ "\x01", 0 }, { "\x1f", 0 }, { "\t", 0 }, { "\"", 0 },
		{ "\xc3\xa9", 1 }, { "\x7f", 1 }, { " ", 1 },
	};
	char	 buf[64];
	size_t	 i, len, pos, n;

	(void)state;
	for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++)
		for (len = 0; len <= 9; len++)
			for (pos = 0; pos <= len; pos++) {
				n = (size_t)snprintf(buf, sizeof(buf),
				    "{\"k\":\"%.*s%s%.*s\"}", (int)pos,
				    "kkkkkkkkk", ins[i].s, (int)(len - pos),
				    "zzzzzzzzz");
				if (proto_json_object_valid(buf, n) !=
				    ins[i].ok)
					fail_msg("%s: %s", ins[i].ok ?
					    "refused" : "accepted", buf);
				/* cut anywhere inside: never valid */
				while (--n > 0)
					if (proto_json_object_valid(buf, n))
						fail_msg("accepted a cut: %.*s",
						    (int)n, buf);
			}
}

static void
test_attachment_roundtrip(void **state)
{
	struct proto_request	 req;
	const char		*err = NULL, *att, *raw;
	cJSON			*body, *posts, *comments, *rec;
	char			*buf, *a;
	size_t			 len, alen, left, rawlen;

	(void)state;
	body = proto_task_report_req(7, "lease", "b1", 0);
	posts = cJSON_AddArrayToObject(body, PROTO_F_POSTS);
	comments = cJSON_AddArrayToObject(body, PROTO_F_COMMENTS);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "id", "t3_a");
	cJSON_AddItemToObject(rec, PROTO_F_RAW, cJSON_Parse(
	    "{\"title\":\"x\",\"n\":[1,2]}"));
	cJSON_AddItemToArray(posts, rec);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "id", "t1_b");
	cJSON_AddItemToObject(rec, PROTO_F_RAW, cJSON_CreateRaw(
	    "{\"body\":\"h\\u00e9\\n\",\"replies\":\"\"}"));
	cJSON_AddItemToArray(comments, rec);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "id", "t1_c");	/* no raw at all */
	cJSON_AddItemToArray(comments, rec);

	assert_int_equal(proto_report_detach(body, &a, &alen), 0);
	assert_int_equal(alen, strlen("{\"title\":\"x\",\"n\":[1,2]}") +
	    strlen("{\"body\":\"h\\u00e9\\n\",\"replies\":\"\"}"));
	buf = proto_request_encode_att("r1", PROTO_TASK_REPORT, body, a, alen,
	    &len);
	assert_non_null(buf);
	assert_int_equal(proto_request_parse(buf, len, &req, &err), 0);
	assert_string_equal(req.type, PROTO_TASK_REPORT);
	assert_int_equal(req.attlen, alen);
	assert_memory_equal(req.att, a, alen);

	att = req.att;
	left = req.attlen;
	posts = cJSON_GetObjectItem(req.body, PROTO_F_POSTS);
	comments = cJSON_GetObjectItem(req.body, PROTO_F_COMMENTS);
	rec = cJSON_GetArrayItem(posts, 0);
	assert_null(cJSON_GetObjectItem(rec, PROTO_F_RAW));
	assert_int_equal(proto_att_take(rec, &att, &left, &raw, &rawlen,
	    &err), 0);
	assert_true(proto_json_object_valid(raw, rawlen));
	assert_int_equal(rawlen, strlen("{\"title\":\"x\",\"n\":[1,2]}"));
	assert_int_equal(proto_att_take(cJSON_GetArrayItem(comments, 0), &att,
	    &left, &raw, &rawlen, &err), 0);
	assert_int_equal(left, 0);
	assert_memory_equal(raw, "{\"body\":\"h\\u00e9\\n\",\"replies\":\"\"}",
	    rawlen);
	assert_int_equal(proto_att_take(cJSON_GetArrayItem(comments, 1), &att,
	    &left, &raw, &rawlen, &err), 0);
	assert_null(raw);
	assert_int_equal(left, 0);
	proto_request_free(&req);

	/* no attachment: the envelope alone, as before */
	free(buf);
	buf = proto_request_encode_att("r2", PROTO_PING, NULL, NULL, 0, &len);
	assert_int_equal(proto_request_parse(buf, len, &req, &err), 0);
	assert_null(req.att);
	assert_int_equal(req.attlen, 0);
	proto_request_free(&req);
	free(buf);
	free(a);
	cJSON_Delete(body);
}

static void
test_attachment_take_rejects(void **state)
{
	static const char *const recs[] = {
		"{\"raw_len\":\"3\"}", "{\"raw_len\":1}", "{\"raw_len\":2.5}",
		"{\"raw_len\":-2}", "{\"raw_len\":11}", "{\"raw_len\":1e300}",
		"{\"raw_len\":2,\"raw\":{}}",
	};
	const char	*att = "{}{\"a\":1}", *a, *raw, *err;
	size_t		 left, rawlen, i;
	cJSON		*rec;

	(void)state;
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		a = att;
		left = 10;
		assert_non_null(rec = cJSON_Parse(recs[i]));
		err = NULL;
		if (proto_att_take(rec, &a, &left, &raw, &rawlen, &err) != -1)
			fail_msg("accepted: %s", recs[i]);
		assert_non_null(err);
		assert_int_equal(left, 10);
		cJSON_Delete(rec);
	}
}

static void
test_attachment_only_for_reports(void **state)
{
	static const char msg[] =
	    "{\"v\":1,\"id\":\"a\",\"type\":\"echo\",\"body\":{}}\0xyz";
	struct proto_reply	 rep;
	const char		*err;
	char			*out;
	size_t			 len;

	(void)state;
	out = rep_dispatch(batch_routes, NULL, msg, sizeof(msg) - 1, &len);
	assert_non_null(out);
	assert_int_equal(proto_reply_parse(out, len, &rep, &err), 0);
	assert_false(rep.ok);
	assert_string_equal(rep.err_code, PROTO_E_BAD_REQUEST);
	proto_reply_free(&rep);
	free(out);
	/* a bare trailing NUL is no attachment */
	out = rep_dispatch(batch_routes, NULL, msg, sizeof(msg) - 4, &len);
	assert_int_equal(proto_reply_parse(out, len, &rep, &err), 0);
	assert_true(rep.ok);
	proto_reply_free(&rep);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_dispatch),
		cmocka_unit_test(test_batch_rejects),
		cmocka_unit_test(test_json_object_valid),
		cmocka_unit_test(test_json_string_at_every_offset),
		cmocka_unit_test(test_attachment_roundtrip),
		cmocka_unit_test(test_attachment_take_rejects),
		cmocka_unit_test(test_attachment_only_for_reports),
	};

	return cmocka_run_group_tests_name("proto_frame", tests, NULL, NULL);
}
