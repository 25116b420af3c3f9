/*
 * fetchd_rate.c — the rate governor of fetchd.h.
 *
 * Reddit's budget (about 1000 requests per fixed 600 s window per OAuth
 * client, 100 a minute on average) is the resource every job shares, so
 * the governor paces request starts rather than letting libcurl burst:
 * the interval between two starts is the larger of 60/requests_per_minute
 * (when it is not 0) and (time left in the window) / (requests left in
 * it), the spreading that prawcore does. With nothing left it waits for
 * the reset (and a second more: Reddit's reset is whole seconds); after a
 * 429 it waits Retry-After. While the window is unknown (at start, or once
 * the reset has passed) one request goes alone and its answer's headers
 * say the rest, so a window guessed over too early never takes a burst.
 * Answers without the headers (some errors) are counted locally.
 */
#include <stdlib.h>
#include <time.h>

#include "fetchd/fetchd.h"

#define RATE_RESET_SLACK	1.0	/* X-Ratelimit-Reset is whole seconds */
#define RATE_PROBE_WAIT		0.25	/* re-checked on every answer anyway */

double
rate_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
rate_init(struct rd_rate *r, int64_t requests_per_minute)
{
	/* 0: no ceiling of our own, Reddit's headers alone pace us */
	r->min_interval = requests_per_minute > 0 ?
	    60.0 / (double)requests_per_minute : 0;
	r->remaining = -1;
	r->used = 0;
	r->reset_at = 0;
	r->last_start = 0;
	r->blocked_until = 0;
	r->spent = 0;
}

double
rate_wait(const struct rd_rate *r, double now, int inflight)
{
	double	 interval = r->min_interval, left, next, wait = 0;
	int	 window_known;

	if (now < r->blocked_until)
		return r->blocked_until - now;
	/* nothing left: the next start is at the reset, a second after */
	if (r->remaining >= 0 && r->remaining < 1 && r->reset_at > 0 &&
	    now < r->reset_at + RATE_RESET_SLACK)
		return r->reset_at + RATE_RESET_SLACK - now;
	window_known = r->remaining >= 0 && r->reset_at > now;
	if (!window_known && inflight > 0)
		return RATE_PROBE_WAIT;		/* one alone, for the headers */
	if (window_known) {
		/* answers still to come were counted when they started */
		left = r->remaining;
		if ((r->reset_at - now) / left > interval)
			interval = (r->reset_at - now) / left;
	}
	if (r->last_start > 0) {
		next = r->last_start + interval;
		if (next > now)
			wait = next - now;
	}
	return wait;
}

void
rate_spend(struct rd_rate *r, double now)
{
	if (r->reset_at > 0 && now >= r->reset_at) {
		/* a new window: its budget is unknown until an answer */
		r->remaining = -1;
		r->reset_at = 0;
		r->used = 0;
	}
	if (r->remaining > 0)
		r->remaining -= 1;
	r->used += 1;
	r->last_start = now;
	r->spent++;
}

void
rate_update(struct rd_rate *r, double now, const char *remaining,
    const char *reset, const char *used)
{
	char	*end;
	double	 v;

	if (remaining != NULL) {
		v = strtod(remaining, &end);
		if (end != remaining && v >= 0)
			r->remaining = v;
	}
	if (reset != NULL) {
		v = strtod(reset, &end);
		if (end != reset && v >= 0)
			r->reset_at = now + v;
	}
	if (used != NULL) {
		v = strtod(used, &end);
		if (end != used && v >= 0)
			r->used = v;
	}
}

void
rate_block(struct rd_rate *r, double now, double seconds)
{
	if (seconds < 1)
		seconds = 1;
	if (now + seconds > r->blocked_until)
		r->blocked_until = now + seconds;
}
