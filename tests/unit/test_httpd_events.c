/*
 * test_httpd_events.c — Last-Event-ID as httpd's event streams read it
 * ("<jobd epoch>/<seq>", httpd_events.c): a case table of ids that resume
 * and ids that start a fresh stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "httpd/httpd.h"

#define EPOCH "5c0e2a1b-9f3d-4c2e-8a7b-1d2e3f4a5b6c"

static void
test_event_id_parse(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		uint64_t	 seq;
	} cases[] = {
		{ EPOCH "/0", 1, 0 },
		{ EPOCH "/41", 1, 41 },
		{ EPOCH "/18446744073709551615", 1, UINT64_MAX },
		{ EPOCH "/", 0, 0 },
		{ EPOCH "/-1", 0, 0 },
		{ EPOCH "/4x", 0, 0 },
		{ EPOCH "/ 4", 0, 0 },
		{ EPOCH, 0, 0 },
		{ "short/4", 0, 0 },
		{ EPOCH "0/4", 0, 0 },
		{ "", 0, 0 },
		{ "41", 0, 0 },
	};
	char		 epoch[37];
	uint64_t	 seq;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = gw_event_id_parse(cases[i].in, epoch, &seq);

		if (!cases[i].ok) {
			if (rc != -1)
				fail_msg("\"%s\" was accepted", cases[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\" was refused", cases[i].in);
		assert_string_equal(epoch, EPOCH);
		assert_true(seq == cases[i].seq);
	}
	assert_int_equal(gw_event_id_parse(NULL, epoch, &seq), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_id_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
