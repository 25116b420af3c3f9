/*
 * test_fetchd_rate.c — the rate governor and the retry rules of fetchd:
 * pacing under requests_per_minute, spreading what the headers say is
 * left, waiting for the reset and after a 429, local counting without
 * headers, and which answers are retried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fetchd/fetchd.h"

#define EPS	1e-6

static void
test_rpm_ceiling(void **state)
{
	struct rd_rate	r;

	(void)state;
	rate_init(&r, 100);
	assert_true(rate_wait(&r, 1000.0, 0) < EPS);	/* first: now */
	rate_spend(&r, 1000.0);
	rate_update(&r, 1000.0, "900.0", "60", "100");
	/* 100 a minute: 0.6 s apart */
	assert_true(rate_wait(&r, 1000.0, 1) > 0.6 - EPS);
	assert_true(rate_wait(&r, 1000.3, 1) > 0.3 - EPS);
	assert_true(rate_wait(&r, 1000.6, 1) < EPS);
}

/* 0: no ceiling of ours; the window's headers alone spread the starts */
static void
test_no_ceiling_follows_the_headers(void **state)
{
	struct rd_rate	r;

	(void)state;
	rate_init(&r, 0);
	assert_true(rate_wait(&r, 50.0, 0) < EPS);
	rate_spend(&r, 50.0);
	/* still one alone until the headers are known */
	assert_true(rate_wait(&r, 50.0, 1) > 0);
	/* plenty left (1 000 a second): 1 ms apart, several in flight */
	rate_update(&r, 50.0, "100000.0", "100", "0");
	assert_true(rate_wait(&r, 50.0, 1) < 0.001 + EPS);
	assert_true(rate_wait(&r, 50.001, 1) < EPS);
	rate_spend(&r, 50.001);
	assert_true(rate_wait(&r, 50.002, 2) < EPS);
	/* 10 left for 50 s: one every 5 s, as with a ceiling */
	rate_spend(&r, 60.0);
	rate_update(&r, 60.0, "10.0", "50", "990");
	assert_true(rate_wait(&r, 60.0, 0) > 5.0 - 0.01);
	/* none left: the reset, and a second */
	rate_update(&r, 60.0, "0.0", "50", "1000");
	assert_true(rate_wait(&r, 60.0, 0) > 50.0);
}

static void
test_unknown_window_one_at_a_time(void **state)
{
	struct rd_rate	r;

	(void)state;
	rate_init(&r, 100000);
	/* at start: the first goes, the next waits for its headers */
	assert_true(rate_wait(&r, 1.0, 0) < EPS);
	rate_spend(&r, 1.0);
	assert_true(rate_wait(&r, 1.0, 1) > 0);
	rate_update(&r, 1.1, "100.0", "10", "0");
	assert_true(rate_wait(&r, 1.2, 1) < EPS);
	/* the reset passed (by our clock): again one alone */
	rate_spend(&r, 11.2);
	assert_true(r.remaining < 0);
	assert_true(rate_wait(&r, 11.2, 1) > 0);
	assert_true(rate_wait(&r, 11.3, 0) < EPS);
}

static void
test_spreads_remaining(void **state)
{
	struct rd_rate	r;

	(void)state;
	rate_init(&r, 6000);		/* ceiling 10 ms */
	rate_spend(&r, 10.0);
	/* 10 left for the next 50 s: one every 5 s, not a burst */
	rate_update(&r, 10.0, "10.0", "50", "990");
	assert_true(rate_wait(&r, 10.0, 0) > 5.0 - EPS);
	assert_true(rate_wait(&r, 15.0, 0) < EPS);
}

static void
test_waits_for_reset(void **state)
{
	struct rd_rate	r;

	(void)state;
	rate_init(&r, 100000);
	rate_spend(&r, 10.0);
	rate_update(&r, 10.0, "0", "30", "1000");
	assert_true(rate_wait(&r, 10.0, 0) >= 30.0);
	/* and a second more: the reset is given in whole seconds */
	assert_true(rate_wait(&r, 39.0, 0) > 2.0 - EPS);
	assert_true(rate_wait(&r, 40.5, 0) > 0.5 - EPS);
	/* past the reset: the new window's budget is not known yet */
	rate_spend(&r, 40.1);
	assert_true(r.remaining < 0);
}

static void
test_counts_locally(void **state)
{
	struct rd_rate	r;

	(void)state;
	rate_init(&r, 100000);
	rate_spend(&r, 1.0);
	rate_update(&r, 1.0, "3", "100", NULL);
	/* three answers without headers use up the three left */
	rate_spend(&r, 40.0);
	rate_update(&r, 40.0, NULL, NULL, NULL);
	rate_spend(&r, 80.0);
	rate_spend(&r, 99.0);
	assert_true(r.remaining < 1);
	assert_true(rate_wait(&r, 99.0, 0) >= 2.0 - EPS);
}

static void
test_429_blocks(void **state)
{
	struct rd_rate	r;

	(void)state;
	rate_init(&r, 100000);
	rate_block(&r, 5.0, 3);
	assert_true(rate_wait(&r, 5.0, 0) > 3.0 - EPS);
	assert_true(rate_wait(&r, 8.0, 0) < 0.01);
	rate_block(&r, 9.0, 0);		/* at least a second */
	assert_true(rate_wait(&r, 9.0, 0) > 1.0 - EPS);
}

static void
test_retry_rules(void **state)
{
	static const struct {
		CURLcode code;
		long	 status;
		int	 want_json, have_json, token;
		enum rd_outcome out;
	} cases[] = {
		{ CURLE_OK, 200, 1, 1, 1, RD_DONE },
		{ CURLE_OK, 200, 1, 0, 1, RD_RETRY },	/* truncated / HTML */
		{ CURLE_OK, 200, 0, 0, 1, RD_DONE },
		{ CURLE_OK, 500, 1, 0, 1, RD_RETRY },
		{ CURLE_OK, 503, 1, 0, 1, RD_RETRY },
		{ CURLE_OK, 408, 1, 0, 1, RD_RETRY },
		{ CURLE_OK, 522, 1, 0, 1, RD_RETRY },
		{ CURLE_OK, 429, 1, 0, 1, RD_WAIT },
		{ CURLE_OK, 401, 1, 0, 1, RD_REAUTH },
		{ CURLE_OK, 401, 1, 0, 0, RD_DONE },
		{ CURLE_OK, 403, 1, 0, 1, RD_DONE },
		{ CURLE_OK, 404, 1, 0, 1, RD_DONE },
		{ CURLE_OK, 302, 1, 0, 1, RD_DONE },
		{ CURLE_OPERATION_TIMEDOUT, 0, 1, 0, 1, RD_RETRY },
		{ CURLE_COULDNT_CONNECT, 0, 1, 0, 1, RD_RETRY },
		{ CURLE_PARTIAL_FILE, 200, 1, 0, 1, RD_RETRY },
		{ CURLE_RECV_ERROR, 0, 1, 0, 1, RD_RETRY },
	};
	struct curlev_req cr;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&cr, 0, sizeof(cr));
		cr.curl_code = cases[i].code;
		cr.status = cases[i].status;
		assert_int_equal(retry_classify(&cr, cases[i].want_json,
		    cases[i].have_json, cases[i].token), cases[i].out);
	}
}

static void
test_backoff_grows_with_jitter(void **state)
{
	double	prev_hi = 0, d;
	int	n, k;

	(void)state;
	for (n = 1; n <= 6; n++) {
		double lo = 1e9, hi = 0;

		for (k = 0; k < 200; k++) {
			d = retry_backoff(n);
			if (d < lo)
				lo = d;
			if (d > hi)
				hi = d;
		}
		assert_true(lo > 0);
		assert_true(hi <= 8.0 + EPS);
		assert_true(hi > lo);		/* jittered */
		assert_true(hi >= prev_hi - EPS || hi > 4.0);
		prev_hi = hi;
	}
}

static void
test_describe_names_what_came_back(void **state)
{
	struct curlev_req cr;
	char		 buf[256], body[] = "<html>oops</html>";

	(void)state;
	memset(&cr, 0, sizeof(cr));
	cr.status = 503;
	cr.resp = body;
	cr.resplen = strlen(body);
	retry_describe(&cr, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP 503"));
	assert_non_null(strstr(buf, "oops"));
	cr.status = 200;
	retry_describe(&cr, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, "invalid JSON"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rpm_ceiling),
		cmocka_unit_test(test_no_ceiling_follows_the_headers),
		cmocka_unit_test(test_unknown_window_one_at_a_time),
		cmocka_unit_test(test_spreads_remaining),
		cmocka_unit_test(test_waits_for_reset),
		cmocka_unit_test(test_counts_locally),
		cmocka_unit_test(test_429_blocks),
		cmocka_unit_test(test_retry_rules),
		cmocka_unit_test(test_backoff_grows_with_jitter),
		cmocka_unit_test(test_describe_names_what_came_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
