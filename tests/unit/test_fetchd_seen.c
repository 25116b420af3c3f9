/*
 * test_fetchd_seen.c — history mode's set of post fullnames: membership
 * through growth, and the checkpoint string round trip (bare ids, junk
 * skipped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fetchd/fetchd.h"

static void
test_add_and_grow(void **state)
{
	struct seen	k;
	char		id[32];
	int		i;

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_false(seen_has(&k, "t3_a"));
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "t3_%x", i);
		assert_true(seen_add(&k, id));
	}
	assert_int_equal(k.n, 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "t3_%x", i);
		assert_true(seen_has(&k, id));
		assert_false(seen_add(&k, id));
	}
	assert_false(seen_has(&k, "t3_zzzzz"));
	assert_int_equal(k.n, 5000);
	seen_free(&k);
}

static void
test_dump_and_load(void **state)
{
	struct seen	a, b;
	cJSON		*s;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	seen_add(&a, "t3_1s0abc");
	seen_add(&a, "t3_1s0abd");
	seen_add(&a, "t3_9");
	s = seen_dump(&a);
	assert_non_null(strstr(s->valuestring, "1s0abc"));
	assert_null(strstr(s->valuestring, "t3_"));
	seen_load(&b, s->valuestring);
	assert_int_equal(b.n, 3);
	assert_true(seen_has(&b, "t3_1s0abc"));
	assert_true(seen_has(&b, "t3_1s0abd"));
	assert_true(seen_has(&b, "t3_9"));
	cJSON_Delete(s);
	seen_free(&b);
	/* empty parts and invalid ids are skipped */
	seen_load(&b, ",,AB!,abc,,x y,def,");
	assert_int_equal(b.n, 2);
	assert_true(seen_has(&b, "t3_abc"));
	assert_true(seen_has(&b, "t3_def"));
	seen_free(&b);
	seen_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_grow),
		cmocka_unit_test(test_dump_and_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
