/*
 * test_proto_json.c — proto_json_parse() against cJSON_ParseWithLength(),
 * whose trees it must build: over every recorded Reddit response, each
 * cut short at many points and damaged byte by byte, the task reports
 * fetchd writes, and hand-made text for every escape, number and edge.
 * Where both parse, the trees are the same node for node (types, keys,
 * strings, both number fields, the children's links); where cJSON
 * refuses, so must it; where it refuses and cJSON does not, the text
 * must be one RFC 8259 forbids (listed below).
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

#include "proto/proto.h"

static int	parsed;		/* texts both parsed and compared */

static void
same_tree(const cJSON *a, const cJSON *b)
{
	const cJSON	*ca, *cb;

	assert_int_equal(a->type, b->type);
	if (a->string == NULL || b->string == NULL)
		assert_true(a->string == b->string);
	else
		assert_string_equal(a->string, b->string);
	if (a->valuestring == NULL || b->valuestring == NULL)
		assert_true(a->valuestring == b->valuestring);
	else
		assert_string_equal(a->valuestring, b->valuestring);
	assert_int_equal(a->valueint, b->valueint);
	assert_memory_equal(&a->valuedouble, &b->valuedouble,
	    sizeof(double));
	for (ca = a->child, cb = b->child; ca != NULL && cb != NULL;
	    ca = ca->next, cb = cb->next) {
		same_tree(ca, cb);
		/* the first child's prev is the last, as cJSON links them */
		if (ca->next == NULL) {
			assert_ptr_equal(a->child->prev, ca);
			assert_ptr_equal(b->child->prev, cb);
		}
	}
	assert_true(ca == NULL && cb == NULL);
}

/* lenient: cJSON may take what RFC 8259 (and so we) refuse */
static void
compare(const char *buf, size_t len, int lenient)
{
	cJSON	*a = cJSON_ParseWithLength(buf, len);
	cJSON	*b = proto_json_parse(buf, len);

	if (b != NULL) {
		assert_non_null(a);
		same_tree(a, b);
		parsed++;
	} else if (!lenient)
		assert_null(a);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void
compare_whole_and_cut(char *buf, size_t len, void *arg)
{
	size_t	 cut, step = len / 97 + 1;

	(void)arg;
	compare(buf, len, 0);
	for (cut = 0; cut < len; cut += step)
		compare(buf, cut, 0);
}

static void
compare_lenient(char *buf, size_t len, void *arg)
{
	(void)arg;
	compare(buf, len, 1);
}

static void
test_every_fixture(void **state)
{
	(void)state;
	parsed = 0;
	assert_true(each_fixture(compare_whole_and_cut, NULL) >= 30);
	assert_true(parsed >= 30);
}

static void
test_damaged(void **state)
{
	static const char *const files[] = {
		"comments_3hahrw_limit10.json", "morechildren_ablzuq.json",
		"comments_6otocc_continue_thread.json",
		"comments_gx8r8z_removed_deleted.json",
	};

	(void)state;
	parsed = 0;
	each_damaged(files, sizeof(files) / sizeof(files[0]), 300, 7117,
	    compare_lenient, NULL);
	assert_true(parsed > 50);
}

static void
test_texts(void **state)
{
	static const char *const same[] = {
		/* escapes of every kind; pairs; an escaped NUL cuts */
		"[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"]",
		"[\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\uD83D\\uDE00\"]",
		"{\"\\u006b\\u0065y\": \"\\u0000after\"}",
		"[\"plain\", \"\", \"é€😀 raw UTF-8\"]",
		/* numbers: exact integers, long ones, fractions, exponents */
		"[0, -0, 1, -1, 123456789012345, -123456789012345]",
		"[1234567890123456, 12345678901234567890, 9007199254740993]",
		"[2147483647, 2147483648, -2147483648, -2147483649, 1e300]",
		"[0.5, -0.25, 1.5e3, 1E-3, 2e+2, 3.14159265358979323846]",
		"[1e999, -1e999, 4.9e-324, 1e-400]",
		"[1.7976931348623157e308, 1690000000.0, 0.1]",
		/* literals, containers, duplicate keys, nesting */
		"[true, false, null, [], {}, [[]], {\"a\": {}}]",
		"{\"a\": 1, \"a\": 2, \"b\": [1, {\"c\": null}]}",
		"  \t\r\n{ \"a\" : [ 1 , 2 ] }  ",
		/* a byte order mark; what follows the value is not read */
		"\xef\xbb\xbf{\"bom\": true}",
		"{\"a\": 1} trailing {",
		"\"top\"", "42", "null",
		/* refused by both */
		"", "[", "{\"a\"}", "{\"a\": }", "[1,]", "{,}", "[1 2]",
		"\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00x\"",
		"[\"\\ud83d\\u0041\"]", "tru", "nul", "[-]", "{1: 2}",
	};
	static const char *const only_cjson[] = {
		/* RFC 8259 forbids; cJSON lets through */
		"[01]", "[+1]", "[1.]", "[.5]", "[\"a\x01b\"]", "\x0b[1]",
	};
	char	*deep;
	size_t	 i, n;

	(void)state;
	parsed = 0;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		compare(same[i], strlen(same[i]), 0);
	assert_true(parsed >= 18);
	for (i = 0; i < sizeof(only_cjson) / sizeof(only_cjson[0]); i++)
		assert_null(proto_json_parse(only_cjson[i],
		    strlen(only_cjson[i])));

	/* numbers longer than a stack buffer */
	deep = malloc(4000);
	for (n = 62; n <= 400; n += 13) {
		deep[0] = '[';
		memset(deep + 1, '7', n);
		deep[n + 1] = ']';
		compare(deep, n + 2, 0);
	}
	/* nesting: 1000 levels are read, 1001 are not */
	for (n = 999; n <= 1001; n++) {
		memset(deep, '[', n);
		memset(deep + n, ']', n);
		compare(deep, 2 * n, 0);
	}
	free(deep);
}

/* a task.report as fetchd writes it (jtext), with its records' heads */
static void
test_report(void **state)
{
	cJSON	*body, *arr, *rec, *a, *b;
	char	*text, *att;
	size_t	 len, attlen;
	int	 i;

	(void)state;
	body = proto_task_report_req(7, "0a3b7c1e-2f4d-4e5f-8a9b-0c1d2e3f4a5b",
	    "w/7/x/1", 1);
	arr = cJSON_AddArrayToObject(body, PROTO_F_COMMENTS);
	for (i = 0; i < 50; i++) {
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "id", "t1_abc");
		cJSON_AddStringToObject(rec, "body", "line\none \"q\" é\t😀");
		cJSON_AddNumberToObject(rec, "depth", i);
		cJSON_AddNumberToObject(rec, "score", -i * 1000003);
		cJSON_AddNumberToObject(rec, "created_utc", 1774999358.0 + i);
		cJSON_AddBoolToObject(rec, "deleted", i % 2);
		cJSON_AddNullToObject(rec, "author");
		cJSON_AddItemToObject(rec, PROTO_F_RAW,
		    cJSON_CreateRaw("{\"x\": [1, 2.5, \"y\"]}"));
		cJSON_AddItemToArray(arr, rec);
	}
	assert_int_equal(proto_report_detach(body, &att, &attlen), 0);
	assert_non_null(text = proto_request_encode("r1", PROTO_TASK_REPORT,
	    body, &len));
	a = cJSON_ParseWithLength(text, len);
	b = proto_json_parse(text, len);
	assert_non_null(a);
	assert_non_null(b);
	same_tree(a, b);
	cJSON_Delete(a);
	cJSON_Delete(b);
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
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
