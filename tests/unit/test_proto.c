/*
 * test_proto.c — the wire of proto.h: envelopes, replies, events, ids and
 * the strict field helpers, table-driven. Batches, the raw-object check
 * and attachments are in test_proto_frame.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lib/bridge.h"
#include "proto/proto.h"

struct env_case {
	const char	*name;
	const char	*json;
	int		 ok;
	const char	*id;		/* the id the parser reports */
	const char	*type;
};

static const struct env_case request_cases[] = {
	{ "valid", "{\"v\":1,\"id\":\"abc\",\"type\":\"ping\",\"body\":{}}",
	    1, "abc", "ping" },
	{ "keys in any order",
	    "{\"body\":{\"x\":1},\"type\":\"job.get\",\"id\":\"r-1\",\"v\":1}",
	    1, "r-1", "job.get" },
	{ "wrong version", "{\"v\":2,\"id\":\"abc\",\"type\":\"ping\",\"body\":{}}",
	    0, "abc", NULL },
	{ "version as string",
	    "{\"v\":\"1\",\"id\":\"abc\",\"type\":\"ping\",\"body\":{}}",
	    0, "abc", NULL },
	{ "missing version", "{\"id\":\"abc\",\"type\":\"ping\",\"body\":{}}",
	    0, "abc", NULL },
	{ "missing id", "{\"v\":1,\"type\":\"ping\",\"body\":{}}", 0, "-", NULL },
	{ "empty id", "{\"v\":1,\"id\":\"\",\"type\":\"ping\",\"body\":{}}",
	    0, "-", NULL },
	{ "id not a string", "{\"v\":1,\"id\":7,\"type\":\"ping\",\"body\":{}}",
	    0, "-", NULL },
	{ "id with a space",
	    "{\"v\":1,\"id\":\"a b\",\"type\":\"ping\",\"body\":{}}", 0, "-",
	    NULL },
	{ "id of 65 chars", "{\"v\":1,\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"type\":\"ping\",\"body\":{}}",
	    0, "-", NULL },
	{ "extra key",
	    "{\"v\":1,\"id\":\"abc\",\"type\":\"ping\",\"body\":{},\"x\":1}",
	    0, "-", NULL },
	{ "missing type", "{\"v\":1,\"id\":\"abc\",\"body\":{}}", 0, "abc", NULL },
	{ "empty type", "{\"v\":1,\"id\":\"abc\",\"type\":\"\",\"body\":{}}",
	    0, "abc", NULL },
	{ "missing body", "{\"v\":1,\"id\":\"abc\",\"type\":\"ping\"}", 0, "abc",
	    NULL },
	{ "body an array", "{\"v\":1,\"id\":\"abc\",\"type\":\"ping\",\"body\":[]}",
	    0, "abc", NULL },
	{ "body a string",
	    "{\"v\":1,\"id\":\"abc\",\"type\":\"ping\",\"body\":\"{}\"}", 0, "abc",
	    NULL },
	{ "body null", "{\"v\":1,\"id\":\"abc\",\"type\":\"ping\",\"body\":null}",
	    0, "abc", NULL },
	{ "not an object", "[1,2]", 0, "-", NULL },
	{ "not JSON", "{\"v\":1,", 0, "-", NULL },
	{ "empty", "", 0, "-", NULL },
};

static void
test_request_parse_table(void **state)
{
	struct proto_request	 req;
	const char		*err;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(request_cases) / sizeof(request_cases[0]); i++) {
		const struct env_case *c = &request_cases[i];

		err = NULL;
		rc = proto_request_parse(c->json, strlen(c->json), &req, &err);
		if (c->ok) {
			if (rc != 0)
				fail_msg("%s: rejected: %s", c->name, err);
			assert_string_equal(req.type, c->type);
			assert_true(cJSON_IsObject(req.body));
		} else {
			if (rc != -1)
				fail_msg("%s: accepted", c->name);
			if (err == NULL || *err == '\0')
				fail_msg("%s: no error message", c->name);
		}
		/* the id for the error reply: the envelope's, or "-" */
		if (strcmp(req.id, c->id) != 0)
			fail_msg("%s: id \"%s\", want \"%s\"", c->name, req.id,
			    c->id);
		proto_request_free(&req);
	}
}

static void
test_request_parse_is_length_bounded(void **state)
{
	/* nng bodies are not NUL-terminated: only len bytes count */
	static const char buf[] =
	    "{\"v\":1,\"id\":\"abc\",\"type\":\"ping\",\"body\":{}}GARBAGE";
	struct proto_request	 req;
	const char		*err = NULL;

	(void)state;
	assert_int_equal(proto_request_parse(buf, strlen(buf) - 7, &req, &err),
	    0);
	proto_request_free(&req);
	assert_int_equal(proto_request_parse(buf, 20, &req, &err), -1);
	proto_request_free(&req);
}

static void
test_request_roundtrip(void **state)
{
	struct proto_request	 req;
	const char		*err = NULL;
	cJSON			*body;
	char			 id[PROTO_REQID_MAX + 1], *s;
	size_t			 len;

	(void)state;
	proto_new_reqid(id);
	assert_true(strlen(id) > 0 && strlen(id) <= PROTO_REQID_MAX);
	body = proto_job_get_req("ws_1", "job_2");
	s = proto_request_encode(id, PROTO_JOB_GET, body, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	assert_int_equal(proto_request_parse(s, len, &req, &err), 0);
	assert_string_equal(req.id, id);
	assert_string_equal(req.type, PROTO_JOB_GET);
	assert_true(cJSON_Compare(req.body, body, 1));
	proto_request_free(&req);
	cJSON_free(s);
	cJSON_Delete(body);

	/* a NULL body is sent as {} */
	s = proto_request_encode("x", PROTO_PING, NULL, &len);
	assert_int_equal(proto_request_parse(s, len, &req, &err), 0);
	assert_null(req.body->child);
	proto_request_free(&req);
	cJSON_free(s);
}

/* cJSON's text of {"v":1,"id":id,<key>:<item>,<key2>:<item2>} */
static char *
cjson_envelope(const char *id, const char *key, cJSON *item,
    const char *key2, cJSON *item2)
{
	cJSON	*o = cJSON_CreateObject();
	char	*s;

	cJSON_AddNumberToObject(o, "v", PROTO_VERSION);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddItemToObject(o, key, item);
	cJSON_AddItemToObject(o, key2, item2);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static void
assert_text(char *got, size_t len, char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
	cJSON_free(want);
}

/* envelopes are written as text: exactly what cJSON would print */
static void
test_envelopes_are_cjson_text(void **state)
{
	static const char *bodies[] = {
		NULL,
		"{}",
		"{\"a\":[1,-2,3.5,1e300,null,true,false],\"s\":\"q\\\"\\\\\\n\\u0001\"}",
		"{\"job\":{\"id\":\"job_x\",\"config\":{\"limit\":100},"
		    "\"progress\":{}}}",
	};
	cJSON	*b, *e;
	char	*got;
	size_t	 i, len = 0;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		b = bodies[i] ? cJSON_Parse(bodies[i]) : NULL;
		assert_true(bodies[i] == NULL || b != NULL);
		got = proto_request_encode("r\"1", PROTO_JOB_GET, b, &len);
		assert_text(got, len, cjson_envelope("r\"1", "type",
		    cJSON_CreateString(PROTO_JOB_GET), "body",
		    b ? cJSON_Duplicate(b, 1) : cJSON_CreateObject()));
		got = proto_reply_ok_encode("r2", b, &len);
		assert_text(got, len, cjson_envelope("r2", "ok",
		    cJSON_CreateTrue(), "body",
		    b ? cJSON_Duplicate(b, 1) : cJSON_CreateObject()));
		cJSON_Delete(b);
	}
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "code", PROTO_E_NOT_FOUND);
	cJSON_AddStringToObject(e, "message", "");
	got = proto_reply_err_encode("r3", PROTO_E_NOT_FOUND, NULL, &len);
	assert_text(got, len, cjson_envelope("r3", "ok", cJSON_CreateFalse(),
	    "error", e));
}

static void
test_reqids_differ(void **state)
{
	char	 a[PROTO_REQID_MAX + 1], b[PROTO_REQID_MAX + 1];

	(void)state;
	proto_new_reqid(a);
	proto_new_reqid(b);
	assert_string_not_equal(a, b);
}

static void
test_reply_ok_and_error(void **state)
{
	struct proto_reply	 rep;
	const char		*err = NULL;
	cJSON			*body = cJSON_CreateObject();
	char			*s;
	size_t			 len;

	(void)state;
	/*
	 * cJSON 1.7.15 prints with %1.15g when that reads back "close
	 * enough": integers stay exact up to 15 digits, which covers
	 * millisecond times and row ids (not all of 2^53).
	 */
	cJSON_AddNumberToObject(body, "total", 999999999999999.0);
	cJSON_AddNumberToObject(body, "at_ms", 1774015200123.0);
	s = proto_reply_ok_encode("r1", body, &len);
	assert_int_equal(proto_reply_parse(s, len, &rep, &err), 0);
	assert_true(rep.ok);
	assert_string_equal(rep.id, "r1");
	assert_true(cJSON_GetObjectItem(rep.body, "total")->valuedouble ==
	    999999999999999.0);
	assert_true(cJSON_GetObjectItem(rep.body, "at_ms")->valuedouble ==
	    1774015200123.0);
	assert_null(rep.err_code);
	proto_reply_free(&rep);
	cJSON_free(s);
	cJSON_Delete(body);

	s = proto_reply_err_encode("r2", PROTO_E_NOT_FOUND, "no such job",
	    &len);
	assert_int_equal(proto_reply_parse(s, len, &rep, &err), 0);
	assert_false(rep.ok);
	assert_string_equal(rep.id, "r2");
	assert_string_equal(rep.err_code, PROTO_E_NOT_FOUND);
	assert_string_equal(rep.err_message, "no such job");
	assert_null(rep.body);
	proto_reply_free(&rep);
	cJSON_free(s);

	/* an error reply to an envelope whose id could not be read */
	s = proto_reply_err_encode("-", PROTO_E_BAD_REQUEST, NULL, &len);
	assert_int_equal(proto_reply_parse(s, len, &rep, &err), 0);
	assert_string_equal(rep.err_code, PROTO_E_BAD_REQUEST);
	assert_string_equal(rep.err_message, "");
	proto_reply_free(&rep);
	cJSON_free(s);
}

static const struct env_case reply_cases[] = {
	{ "ok", "{\"v\":1,\"id\":\"a\",\"ok\":true,\"body\":{}}", 1, "a", NULL },
	{ "error", "{\"v\":1,\"id\":\"a\",\"ok\":false,\"error\":{\"code\":"
	    "\"internal\",\"message\":\"m\"}}", 1, "a", NULL },
	{ "ok without body", "{\"v\":1,\"id\":\"a\",\"ok\":true}", 0, "a", NULL },
	{ "ok with array body", "{\"v\":1,\"id\":\"a\",\"ok\":true,\"body\":[]}",
	    0, "a", NULL },
	{ "ok not a bool", "{\"v\":1,\"id\":\"a\",\"ok\":1,\"body\":{}}", 0, "a",
	    NULL },
	{ "error without code", "{\"v\":1,\"id\":\"a\",\"ok\":false,\"error\":"
	    "{\"message\":\"m\"}}", 0, "a", NULL },
	{ "error without message", "{\"v\":1,\"id\":\"a\",\"ok\":false,"
	    "\"error\":{\"code\":\"x\"}}", 0, "a", NULL },
	{ "error a string", "{\"v\":1,\"id\":\"a\",\"ok\":false,\"error\":\"x\"}",
	    0, "a", NULL },
	{ "wrong version", "{\"v\":0,\"id\":\"a\",\"ok\":true,\"body\":{}}", 0,
	    "a", NULL },
	{ "extra key", "{\"v\":1,\"id\":\"a\",\"ok\":true,\"body\":{},"
	    "\"type\":\"ping\"}", 0, "", NULL },
	{ "missing id", "{\"v\":1,\"ok\":true,\"body\":{}}", 0, "", NULL },
};

static void
test_reply_parse_table(void **state)
{
	struct proto_reply	 rep;
	const char		*err;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct env_case *c = &reply_cases[i];

		err = NULL;
		rc = proto_reply_parse(c->json, strlen(c->json), &rep, &err);
		if (c->ok && rc != 0)
			fail_msg("%s: rejected: %s", c->name, err);
		if (!c->ok && (rc != -1 || err == NULL))
			fail_msg("%s: accepted", c->name);
		proto_reply_free(&rep);
	}
}

static void
test_event_roundtrip(void **state)
{
	cJSON		*body = cJSON_CreateObject(), *got = NULL;
	char		 topic[32], *s;
	size_t		 len;

	(void)state;
	cJSON_AddNumberToObject(body, "v", PROTO_VERSION);
	cJSON_AddNumberToObject(body, "seq", 42);
	cJSON_AddStringToObject(body, "job_id", "job_x");
	s = proto_event_encode(PROTO_EV_JOB_STATUS, body, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	/* "<topic> <json>": subscribers filter by topic prefix */
	assert_int_equal(strncmp(s, PROTO_EV_JOB_STATUS " ",
	    strlen(PROTO_EV_JOB_STATUS) + 1), 0);
	assert_int_equal(proto_event_parse(s, len, topic, sizeof(topic), &got),
	    0);
	assert_string_equal(topic, PROTO_EV_JOB_STATUS);
	assert_true(cJSON_Compare(got, body, 1));
	cJSON_Delete(got);
	cJSON_free(s);
	cJSON_Delete(body);
}

static void
test_event_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"job.status",			/* no space, no body */
		"job.status {",			/* not JSON */
		"job.status [1]",		/* not an object */
		"job.status \"x\"",
		"a.topic.name.that.is.far.too.long.for.the.buffer {}",
		"",
	};
	cJSON	*got;
	char	 topic[16];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		got = (cJSON *)1;
		if (proto_event_parse(bad[i], strlen(bad[i]), topic,
		    sizeof(topic), &got) != -1)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_null(got);
	}
}

struct id_case {
	const char	*in;
	const char	*prefix;
	const char	*want;		/* NULL: rejected */
};

static const struct id_case id_cases[] = {
	{ "ws_0f8fad5b-d9cb-469f-a165-70867728950e", PROTO_PFX_WORKSPACE,
	    "0f8fad5b-d9cb-469f-a165-70867728950e" },
	{ "0f8fad5b-d9cb-469f-a165-70867728950e", PROTO_PFX_WORKSPACE,
	    "0f8fad5b-d9cb-469f-a165-70867728950e" },
	{ "job_0F8FAD5B-D9CB-469F-A165-70867728950E", PROTO_PFX_JOB,
	    "0f8fad5b-d9cb-469f-a165-70867728950e" },
	{ "key_7c9e6679-7425-40de-944b-e07fc1f90ae7", PROTO_PFX_KEY,
	    "7c9e6679-7425-40de-944b-e07fc1f90ae7" },
	/* another kind's prefix */
	{ "job_0f8fad5b-d9cb-469f-a165-70867728950e", PROTO_PFX_WORKSPACE, NULL },
	{ "ws_ws_0f8fad5b-d9cb-469f-a165-70867728950e", PROTO_PFX_WORKSPACE,
	    NULL },
	{ "ws_", PROTO_PFX_WORKSPACE, NULL },
	{ "", PROTO_PFX_WORKSPACE, NULL },
	{ "ws_0f8fad5b-d9cb-469f-a165-70867728950", PROTO_PFX_WORKSPACE, NULL },
	{ "ws_0f8fad5b-d9cb-469f-a165-70867728950e0", PROTO_PFX_WORKSPACE,
	    NULL },
	{ "ws_0f8fad5bXd9cbX469fXa165X70867728950e", PROTO_PFX_WORKSPACE,
	    NULL },
	{ "ws_0g8fad5b-d9cb-469f-a165-70867728950e", PROTO_PFX_WORKSPACE,
	    NULL },
	{ " 0f8fad5b-d9cb-469f-a165-70867728950e", PROTO_PFX_WORKSPACE, NULL },
	{ "../../etc/passwd", PROTO_PFX_JOB, NULL },
	{ NULL, PROTO_PFX_JOB, NULL },
};

static void
test_id_parse_table(void **state)
{
	char	 out[37];
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
		const struct id_case *c = &id_cases[i];

		memset(out, 0, sizeof(out));
		rc = proto_id_parse(c->in, c->prefix, out);
		if (c->want == NULL) {
			if (rc != -1)
				fail_msg("accepted \"%s\" as %s", c->in ?
				    c->in : "(null)", c->prefix);
			continue;
		}
		if (rc != 0)
			fail_msg("rejected \"%s\"", c->in);
		assert_string_equal(out, c->want);
	}
}

static void
test_id_format_and_new(void **state)
{
	char	 u[37], id[64], back[37];

	(void)state;
	proto_uuid_new(u);
	assert_int_equal(strlen(u), 36);
	proto_id_format(PROTO_PFX_JOB, u, id, sizeof(id));
	assert_int_equal(strncmp(id, "job_", 4), 0);
	assert_int_equal(proto_id_parse(id, PROTO_PFX_JOB, back), 0);
	assert_string_equal(back, u);
}

static void
test_plugin_names(void **state)
{
	static const struct {
		const char	*name;
		int		 ok;
	} cases[] = {
		{ "sentiment", 1 }, { "my-plugin_2", 1 }, { "A", 1 },
		{ "", 0 }, { "../sentiment", 0 }, { "a/b", 0 }, { ".", 0 },
		{ "with space", 0 }, { "caf\xc3\xa9", 0 }, { "x;rm", 0 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    1 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (proto_plugin_name_ok(cases[i].name) != cases[i].ok)
			fail_msg("plugin name \"%s\": want %d", cases[i].name,
			    cases[i].ok);
}

/* job ids: valid UUIDs, version 7, each sorting after the one before */
static void
test_ordered_ids_sort_by_creation(void **state)
{
	char		 prev[37], u[37], id[64], back[37];
	struct timespec	 ts = { 0, 300000 };
	int		 i, later = 0;

	(void)state;
	proto_uuid_new_ordered(prev);
	for (i = 0; i < 20; i++) {
		nanosleep(&ts, NULL);	/* some in the same ms, some not */
		proto_uuid_new_ordered(u);
		assert_int_equal(strlen(u), 36);
		assert_int_equal(u[14], '7');
		assert_non_null(strchr("89ab", u[19]));
		proto_id_format(PROTO_PFX_JOB, u, id, sizeof(id));
		assert_int_equal(proto_id_parse(id, PROTO_PFX_JOB, back), 0);
		/* the first 48 bits are the ms: never going back */
		assert_true(strncmp(prev, u, 13) <= 0);
		if (strncmp(prev, u, 13) < 0)
			later++;
		memcpy(prev, u, sizeof(u));
	}
	assert_true(later > 0);
}

static void
test_default_urls(void **state)
{
	char	 rep[128], pub[128];

	(void)state;
	proto_default_urls("/run/rscrape", rep, sizeof(rep), pub, sizeof(pub));
	assert_string_equal(rep, "ipc:///run/rscrape/jobd.ipc");
	assert_string_equal(pub, "ipc:///run/rscrape/events.ipc");
}

static void
test_field_helpers(void **state)
{
	cJSON		*o = cJSON_Parse("{\"s\":\"x\",\"i\":12,\"f\":1.5,"
			    "\"big\":9007199254740993e3,\"b\":true,\"n\":null,"
			    "\"a\":[],\"obj\":{}}");
	const char	*s, *err;
	int64_t		 i = -1;
	int		 b = -1;
	cJSON		*x;

	(void)state;
	assert_int_equal(proto_get_str(o, "s", 1, &s, &err), 0);
	assert_string_equal(s, "x");
	assert_int_equal(proto_get_str(o, "i", 1, &s, &err), -1);
	assert_non_null(strstr(err, "\"i\""));
	assert_int_equal(proto_get_str(o, "missing", 1, &s, &err), -1);
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(proto_get_str(o, "missing", 0, &s, &err), 0);
	assert_null(s);
	assert_int_equal(proto_get_str(o, "n", 0, &s, &err), 0);
	assert_null(s);

	assert_int_equal(proto_get_int(o, "i", 1, &i, &err), 0);
	assert_int_equal(i, 12);
	assert_int_equal(proto_get_int(o, "f", 1, &i, &err), -1);
	assert_int_equal(proto_get_int(o, "big", 1, &i, &err), -1);
	assert_int_equal(proto_get_int(o, "s", 1, &i, &err), -1);
	assert_int_equal(proto_get_int(o, "b", 1, &i, &err), -1);
	i = 77;
	assert_int_equal(proto_get_int(o, "missing", 0, &i, &err), 0);
	assert_int_equal(i, 77);	/* the caller's default stays */

	assert_int_equal(proto_get_bool(o, "b", 1, &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(proto_get_bool(o, "i", 1, &b, &err), -1);

	assert_int_equal(proto_get_arr(o, "a", 1, &x, &err), 0);
	assert_int_equal(proto_get_arr(o, "obj", 1, &x, &err), -1);
	assert_int_equal(proto_get_obj(o, "obj", 1, &x, &err), 0);
	assert_int_equal(proto_get_obj(o, "a", 1, &x, &err), -1);
	assert_int_equal(proto_get_obj(o, "missing", 1, &x, &err), -1);
	cJSON_Delete(o);
}

static void
test_stubs_build_the_documented_bodies(void **state)
{
	static const char *const plugins[] = { "sentiment" };
	struct proto_job_spec	 spec = { "ws_a", "python", "subreddit", "full",
				    100, 1, 0, plugins, 1 };
	cJSON			*b, *want;

	(void)state;
	b = proto_job_create_req(&spec);
	want = cJSON_Parse("{\"workspace_id\":\"ws_a\",\"target\":\"python\","
	    "\"target_type\":\"subreddit\",\"mode\":\"full\",\"limit\":100,"
	    "\"download_media\":true,\"scrape_comments\":false,"
	    "\"plugins\":[\"sentiment\"]}");
	assert_true(cJSON_Compare(b, want, 1));
	cJSON_Delete(b);
	cJSON_Delete(want);

	b = proto_key_create_req("ws_a", NULL, "read,write");
	want = cJSON_Parse("{\"workspace_id\":\"ws_a\","
	    "\"scopes\":[\"read\",\"write\"]}");
	assert_true(cJSON_Compare(b, want, 1));
	cJSON_Delete(b);
	cJSON_Delete(want);

	b = proto_job_list_req("ws_a", NULL, 50, 0);
	assert_null(cJSON_GetObjectItem(b, "status"));
	assert_int_equal(cJSON_GetObjectItem(b, "limit")->valuedouble, 50);
	cJSON_Delete(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_parse_table),
		cmocka_unit_test(test_request_parse_is_length_bounded),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_envelopes_are_cjson_text),
		cmocka_unit_test(test_reqids_differ),
		cmocka_unit_test(test_reply_ok_and_error),
		cmocka_unit_test(test_reply_parse_table),
		cmocka_unit_test(test_event_roundtrip),
		cmocka_unit_test(test_event_parse_rejects),
		cmocka_unit_test(test_id_parse_table),
		cmocka_unit_test(test_id_format_and_new),
		cmocka_unit_test(test_ordered_ids_sort_by_creation),
		cmocka_unit_test(test_plugin_names),
		cmocka_unit_test(test_default_urls),
		cmocka_unit_test(test_field_helpers),
		cmocka_unit_test(test_stubs_build_the_documented_bodies),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
