/*
 * fetchd_verdict.c — what an answer from Reddit means: the verdict on an
 * error status or a body that is not what was asked for (retry, wait,
 * fail the job, and why), and on a subreddit's or a user's about page.
 *
 * Nothing here does I/O or keeps state.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fetchd/fetchd_parse.h"

const char *
rd_status_name(enum rd_status s)
{
	static const char *const names[] = {
		[RD_S_OK] = "ok",
		[RD_S_PRIVATE] = "private",
		[RD_S_QUARANTINED] = "quarantined",
		[RD_S_GATED] = "gated",
		[RD_S_BANNED] = "banned",
		[RD_S_NOT_FOUND] = "not_found",
		[RD_S_SUSPENDED] = "suspended",
		[RD_S_FORBIDDEN] = "forbidden",
		[RD_S_UNAUTHORIZED] = "unauthorized",
		[RD_S_RATE_LIMITED] = "rate_limited",
		[RD_S_SERVER] = "server_error",
		[RD_S_REDIRECT] = "redirect",
		[RD_S_BAD_BODY] = "bad_body",
		[RD_S_HTTP] = "http_error",
	};

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]) || names[s] == NULL)
		return "unknown";
	return names[s];
}

/* "subreddit r/x", "user u/x" or the name as given. */
static void
target_what(enum rd_target target, const char *name, char *out, size_t n)
{
	if (name == NULL || *name == '\0')
		name = "?";
	switch (target) {
	case RD_TARGET_SUBREDDIT:
		snprintf(out, n, "subreddit r/%s", name);
		break;
	case RD_TARGET_USER:
		snprintf(out, n, "user u/%s", name);
		break;
	case RD_TARGET_NONE:
	default:
		snprintf(out, n, "%s", name);
		break;
	}
}

static enum rd_status
verdict(struct rd_verdict *v, enum rd_status s, int retry, const char *what,
    const char *fmt)
{
	v->status = s;
	v->retry = retry;
	/* fmt: a literal below, with %s for what and maybe %d for status */
	snprintf(v->message, sizeof(v->message), fmt, what, v->http_status);
	return s;
}

enum rd_status
rd_classify(long http_status, const char *body, size_t len,
    const char *location, enum rd_target target, const char *name,
    struct rd_verdict *v)
{
	char		 what[160];
	const char	*reason = NULL;
	cJSON		*root = NULL;
	enum rd_status	 s;

	memset(v, 0, sizeof(*v));
	v->http_status = (int)http_status;
	target_what(target, name, what, sizeof(what));
	if (http_status >= 200 && http_status < 300)
		return verdict(v, RD_S_OK, 0, what, "%s: ok");
	if (http_status >= 300 && http_status < 400) {
		/*
		 * Reddit answers a listing of a subreddit that does not exist
		 * with a redirect to its search page.
		 */
		if (target == RD_TARGET_SUBREDDIT || (location != NULL &&
		    strstr(location, "/subreddits/search") != NULL))
			return verdict(v, RD_S_NOT_FOUND, 0, what,
			    "%s does not exist (redirected to search)");
		return verdict(v, RD_S_REDIRECT, 0, what,
		    "%s: unexpected redirect (HTTP %d)");
	}
	if (body != NULL && len > 0 && (root = rd_json_parse(body, len,
	    NULL)) != NULL)
		reason = rd_str(root, "reason");
	switch (http_status) {
	case 401:
		s = verdict(v, RD_S_UNAUTHORIZED, 1, what,
		    "%s: unauthorized (HTTP %d): token rejected");
		break;
	case 403:
		if (reason != NULL && strcmp(reason, "private") == 0)
			s = verdict(v, RD_S_PRIVATE, 0, what, "%s is private");
		else if (reason != NULL && strcmp(reason, "quarantined") == 0)
			s = verdict(v, RD_S_QUARANTINED, 0, what,
			    "%s is quarantined");
		else if (reason != NULL && strcmp(reason, "gated") == 0)
			s = verdict(v, RD_S_GATED, 0, what,
			    "%s is gated behind a content warning");
		else if (root == NULL)
			s = verdict(v, RD_S_FORBIDDEN, 0, what,
			    "%s: forbidden (HTTP %d, not JSON: blocked?)");
		else
			s = verdict(v, RD_S_FORBIDDEN, 0, what,
			    "%s: forbidden (HTTP %d)");
		break;
	case 404:
		if (reason != NULL && strcmp(reason, "banned") == 0)
			s = verdict(v, RD_S_BANNED, 0, what, "%s is banned");
		else
			s = verdict(v, RD_S_NOT_FOUND, 0, what,
			    "%s does not exist");
		break;
	case 429:
		s = verdict(v, RD_S_RATE_LIMITED, 1, what,
		    "%s: rate limited (HTTP %d)");
		break;
	case 451:
		s = verdict(v, RD_S_FORBIDDEN, 0, what,
		    "%s is unavailable for legal reasons (HTTP %d)");
		break;
	case 408:
		s = verdict(v, RD_S_SERVER, 1, what,
		    "%s: request timeout (HTTP %d)");
		break;
	default:
		if (http_status >= 500 && http_status < 600)
			s = verdict(v, RD_S_SERVER, 1, what,
			    "%s: server error (HTTP %d)");
		else
			s = verdict(v, RD_S_HTTP, 0, what,
			    "%s: unexpected HTTP status %d");
		break;
	}
	cJSON_Delete(root);
	return s;
}

static void
copy_canon(const char *from, const char *dflt, char *canon, size_t n)
{
	if (canon == NULL || n == 0)
		return;
	snprintf(canon, n, "%s", from != NULL ? from : dflt != NULL ? dflt :
	    "");
}

enum rd_status
rd_about_subreddit(const char *buf, size_t len, const char *name,
    struct rd_verdict *v, char *canon, size_t canonsize)
{
	char		 what[160];
	const char	*kind, *type;
	const cJSON	*data;
	cJSON		*root;
	enum rd_status	 s;

	memset(v, 0, sizeof(*v));
	v->http_status = 200;
	target_what(RD_TARGET_SUBREDDIT, name, what, sizeof(what));
	if ((root = rd_json_parse(buf, len, NULL)) == NULL)
		return verdict(v, RD_S_BAD_BODY, 1, what,
		    "%s: about page is not JSON");
	kind = rd_thing(root, &data);
	if (kind != NULL && strcmp(kind, "Listing") == 0)
		s = verdict(v, RD_S_NOT_FOUND, 0, what, "%s does not exist");
	else if (kind == NULL || strcmp(kind, "t5") != 0)
		s = verdict(v, RD_S_BAD_BODY, 1, what,
		    "%s: about page is not a subreddit (t5)");
	else if ((type = rd_str(data, "subreddit_type")) != NULL &&
	    strcmp(type, "private") == 0)
		s = verdict(v, RD_S_PRIVATE, 0, what, "%s is private");
	else if (rd_true(data, "quarantine"))
		s = verdict(v, RD_S_QUARANTINED, 0, what, "%s is quarantined");
	else {
		s = verdict(v, RD_S_OK, 0, what, "%s: ok");
		copy_canon(rd_str(data, "display_name"), name, canon,
		    canonsize);
	}
	cJSON_Delete(root);
	return s;
}

enum rd_status
rd_about_user(const char *buf, size_t len, const char *name,
    struct rd_verdict *v, char *canon, size_t canonsize)
{
	char		 what[160];
	const char	*kind;
	const cJSON	*data;
	cJSON		*root;
	enum rd_status	 s;

	memset(v, 0, sizeof(*v));
	v->http_status = 200;
	target_what(RD_TARGET_USER, name, what, sizeof(what));
	if ((root = rd_json_parse(buf, len, NULL)) == NULL)
		return verdict(v, RD_S_BAD_BODY, 1, what,
		    "%s: about page is not JSON");
	kind = rd_thing(root, &data);
	if (kind == NULL || strcmp(kind, "t2") != 0)
		s = verdict(v, RD_S_BAD_BODY, 1, what,
		    "%s: about page is not an account (t2)");
	else if (rd_true(data, "is_suspended"))
		s = verdict(v, RD_S_SUSPENDED, 0, what, "%s is suspended");
	else {
		s = verdict(v, RD_S_OK, 0, what, "%s: ok");
		copy_canon(rd_str(data, "name"), name, canon, canonsize);
	}
	cJSON_Delete(root);
	return s;
}
