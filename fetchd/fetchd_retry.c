/*
 * fetchd_retry.c — which answers are worth another try, and how long to
 * wait first. Transient: connection errors, timeouts, a body cut short,
 * 5xx, 408 and Cloudflare's 52x, and a 2xx whose body is not the JSON
 * asked for (a CDN error page). Not transient: every other 4xx, which
 * says something about the target (private, banned, gone). 401 with a
 * token renews it once; 429 waits and does not count as an attempt.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd.h"

#define BACKOFF_BASE_S	0.25
#define BACKOFF_MAX_S	8.0

enum rd_outcome
retry_classify(const struct curlev_req *cr, int want_json, int have_json,
    int have_token)
{
	long	s = cr->status;

	if (cr->curl_code != CURLE_OK)
		return RD_RETRY;
	if (s == 429)
		return RD_WAIT;
	if (s == 401 && have_token)
		return RD_REAUTH;
	if (s >= 500 || s == 408)
		return RD_RETRY;
	if (s >= 200 && s < 300 && want_json && !have_json)
		return RD_RETRY;
	return RD_DONE;
}

double
retry_backoff(int n)
{
	double	d = BACKOFF_BASE_S;

	while (--n > 0 && d < BACKOFF_MAX_S)
		d *= 2;
	if (d > BACKOFF_MAX_S)
		d = BACKOFF_MAX_S;
	/* jitter: between half and all of it, so clients do not align */
	return d / 2 + d / 2 * ((double)random() / (double)RAND_MAX);
}

/* the first few printable characters of a body, for an error message */
static void
snippet(const char *body, size_t len, char *out, size_t outlen)
{
	size_t	i, o = 0;
	int	sp = 0;

	for (i = 0; i < len && o + 1 < outlen && o < 80; i++) {
		unsigned char ch = (unsigned char)body[i];

		if (isspace(ch)) {
			if (!sp && o > 0)
				out[o++] = ' ';
			sp = 1;
			continue;
		}
		sp = 0;
		out[o++] = isprint(ch) ? (char)ch : '?';
	}
	out[o] = '\0';
}

void
retry_describe(const struct curlev_req *cr, int have_json, char *buf,
    size_t len)
{
	char	snip[96];

	if (cr->curl_code != CURLE_OK) {
		curlev_describe(cr, buf, len);
		return;
	}
	snippet(cr->resp ? cr->resp : "", cr->resplen, snip, sizeof(snip));
	if (cr->status >= 200 && cr->status < 300 && !have_json)
		snprintf(buf, len, "HTTP %ld with a truncated or invalid JSON "
		    "body (%zu bytes%s%s)", cr->status, cr->resplen,
		    snip[0] ? ": " : "", snip);
	else
		snprintf(buf, len, "HTTP %ld%s%s", cr->status,
		    snip[0] ? ": " : "", snip);
}
