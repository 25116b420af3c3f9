/*
 * test_jtext.c — lib/jtext writes what cJSON_PrintUnformatted writes, byte
 * for byte: a table of edge cases (numbers above all) and every fixture.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/jtext.h"
#include "tests/unit/testdata.h"

/* jtext_print is cJSON_PrintUnformatted, byte for byte */
static void
same_print(const cJSON *j)
{
	char	*want = cJSON_PrintUnformatted(j), *got;
	size_t	 len;

	assert_non_null(want);
	assert_non_null(got = jtext_print(j, &len));
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
	free(want);
}

static void
same_print_fixture(char *buf, size_t len, void *arg)
{
	cJSON	*j;

	(void)arg;
	if ((j = cJSON_ParseWithLength(buf, len)) != NULL) {
		same_print(j);
		cJSON_Delete(j);
	}
}

static void
test_print_is_cjson(void **state)
{
	static const char *const cases[] = {
		"{}", "[]", "[{}]", "{\"a\":[]}", "0", "-0", "-0.0", "1", "-1",
		"2147483647", "2147483648", "-2147483648", "-2147483649",
		"1774940540.0", "1774940540123", "999999999999999",
		"1000000000000000", "-999999999999999", "1e15", "1e16",
		"123456789012345678", "0.1", "0.5", "1.5", "-2.25", "1e-7",
		"3.141592653589793", "0.30000000000000004", "1e300", "-1e-300",
		"5e-324", "1.7976931348623157e308", "12.0", "1e2",
		"\"\"", "\"a\\\"b\\\\c\\/d\"", "\"\\b\\f\\n\\r\\t\"",
		"\"\\u0001\\u001f\\u007f\"", "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
		"\"&amp; <b>\"", "true", "false", "null",
		"{\"replies\":\"\",\"n\":null,\"x\":{\"y\":[1,\"2\",[true]]}}",
		"{\"dup\":1,\"dup\":2}", "{\"we\\\"ird\\nkey\":1}",
	};
	cJSON		*j;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((j = cJSON_Parse(cases[i])) == NULL)
			fail_msg("does not parse: %s", cases[i]);
		same_print(j);
		cJSON_Delete(j);
	}
	j = cJSON_CreateNumber(NAN);
	same_print(j);
	cJSON_Delete(j);
	j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "r", cJSON_CreateRaw("{\"k\":1}"));
	cJSON_AddNumberToObject(j, "inf", INFINITY);
	same_print(j);
	cJSON_Delete(j);
	/* every fixture, whole */
	assert_true(each_fixture(same_print_fixture, NULL) >= 30);
}

/* parts appended one by one make the same text */
static void
test_append(void **state)
{
	struct jtext	 t = { NULL, 0, 0 };
	cJSON		*j = cJSON_Parse("[1,\"a\\n\"]");

	(void)state;
	assert_int_equal(jtext_lit(&t, "{", 1), 0);
	assert_int_equal(jtext_str(&t, "k\"\x01"), 0);
	assert_int_equal(jtext_lit(&t, ":", 1), 0);
	assert_int_equal(jtext_value(&t, j), 0);
	assert_int_equal(jtext_lit(&t, ",", 1), 0);
	assert_int_equal(jtext_str(&t, NULL), 0);
	assert_int_equal(jtext_lit(&t, ":null}", 6), 0);
	assert_int_equal(t.len, strlen("{\"k\\\"\\u0001\":[1,\"a\\n\"],\"\":null}"));
	assert_memory_equal(t.s, "{\"k\\\"\\u0001\":[1,\"a\\n\"],\"\":null}", t.len);
	free(t.s);
	cJSON_Delete(j);
}

/* an escape at every offset of the 8-byte words, and bytes above 0x7f */
static void
test_strings_word_edges(void **state)
{
	static const char specials[] = "\"\\\n\x01\x1f\x7f\xc3\x80 ~";
	char		 buf[40];
	size_t		 len, pos, k;
	cJSON		*j;
	char		*want, *got;

	(void)state;
	for (len = 0; len < 34; len++)
		for (pos = 0; pos <= len; pos++)
			for (k = 0; k < sizeof(specials) - 1; k++) {
				memset(buf, 'a', len);
				buf[len] = '\0';
				if (pos < len)
					buf[pos] = specials[k];
				j = cJSON_CreateString(buf);
				want = cJSON_PrintUnformatted(j);
				got = jtext_print(j, NULL);
				assert_string_equal(got, want);
				free(got);
				free(want);
				cJSON_Delete(j);
			}
}

/* jtext_strn stops at n (no NUL needed); jtext_num prints as cJSON */
static void
test_strn_num(void **state)
{
	static const double nums[] = { 0, -0.0, 1, -1, 1774940540.0, 0.1,
	    1e15, 123456789012345678.0, 1e300, -2.25e-7, INFINITY, NAN };
	struct jtext	 t = { NULL, 0, 0 };
	const char	 nonul[8] = { 'a', 'b', 'c', '"', 'd', '\n', 'e', 'f' };
	cJSON		*j;
	char		*want;
	size_t		 i;

	(void)state;
	assert_int_equal(jtext_strn(&t, nonul, 6), 0);
	assert_int_equal(t.len, strlen("\"abc\\\"d\\n\""));
	assert_memory_equal(t.s, "\"abc\\\"d\\n\"", t.len);
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		t.len = 0;
		assert_int_equal(jtext_num(&t, nums[i]), 0);
		j = cJSON_CreateNumber(nums[i]);
		want = cJSON_PrintUnformatted(j);
		assert_int_equal(t.len, strlen(want));
		assert_memory_equal(t.s, want, t.len);
		free(want);
		cJSON_Delete(j);
	}
	free(t.s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print_is_cjson),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_strings_word_edges),
		cmocka_unit_test(test_strn_num),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
