/*
 * test_stats.c — a process's metrics (lib/stats.h): counters add, gauges
 * set, keys carry their labels, and the key check that guards what other
 * processes send (jobd keeps, httpd prints) rejects anything that could
 * break the Prometheus text format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/stats.h"

static int
reset(void **state)
{
	(void)state;
	stats_reset();
	return 0;
}

static void
test_counters_and_gauges(void **state)
{
	cJSON	*o;

	(void)state;
	stats_add("rscrape_x_total", NULL, 1);
	stats_add("rscrape_x_total", NULL, 2);
	stats_add("rscrape_y_total", "kind=\"a\",status=\"200\"", 1);
	stats_add("rscrape_y_total", "kind=\"b\",status=\"200\"", 5);
	stats_set("rscrape_g", NULL, 7);
	stats_set("rscrape_g", NULL, 3);
	assert_true(stats_get("rscrape_x_total", NULL) == 3);
	assert_true(stats_get("rscrape_y_total",
	    "kind=\"a\",status=\"200\"") == 1);
	assert_true(stats_get("rscrape_g", NULL) == 3);
	assert_true(stats_get("rscrape_none", NULL) == 0);

	o = stats_json();
	assert_int_equal(cJSON_GetArraySize(o), 4);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(o,
	    "rscrape_y_total{kind=\"b\",status=\"200\"}"));
	cJSON_Delete(o);
}

static void
test_table_is_bounded(void **state)
{
	char	name[64];
	int	i;

	(void)state;
	for (i = 0; i < STATS_MAX + 10; i++) {
		snprintf(name, sizeof(name), "rscrape_m%d", i);
		stats_add(name, NULL, 1);
	}
	assert_true(stats_get("rscrape_m0", NULL) == 1);
	assert_true(stats_get("rscrape_m" "600", NULL) == 0);
}

static void
test_key_check(void **state)
{
	static const struct {
		const char	*key;
		int		 ok;
	} cases[] = {
		{ "rscrape_up", 1 },
		{ "a:b_c", 1 },
		{ "x{a=\"1\"}", 1 },
		{ "x{a=\"1\",b_c=\"host:12\"}", 1 },
		{ "x{a=\"\"}", 1 },
		{ "", 0 },
		{ "9x", 0 },
		{ "x y", 0 },
		{ "x{", 0 },
		{ "x{}", 0 },
		{ "x{a=1}", 0 },
		{ "x{a=\"1\"", 0 },
		{ "x{a=\"1\"}z", 0 },
		{ "x{a=\"1\",}", 0 },
		{ "x{a=\"q\\\"\"}", 0 },
		{ "x{a=\"new\nline\"}", 0 },
		{ "x\n# TYPE y counter", 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (stats_key_ok(cases[i].key) != cases[i].ok)
			fail_msg("stats_key_ok(\"%s\") != %d", cases[i].key,
			    cases[i].ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_counters_and_gauges, reset),
		cmocka_unit_test_setup(test_table_is_bounded, reset),
		cmocka_unit_test_setup(test_key_check, reset),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
