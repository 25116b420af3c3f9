/*
 * httpd_query.c — the query strings of the results routes (posts,
 * comments, media, export). Pure, so the unit tests walk every rule.
 *
 * As for the job list: a value that is not a number where one is expected
 * is 400 (malformed query); a value outside its range or set is 422 with
 * the anchor's list detail, loc ["query", "<name>"]. Unknown parameters
 * are ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "proto/proto.h"

static const char *const post_types[] = { PROTO_POST_LINK, PROTO_POST_SELF,
	PROTO_POST_IMAGE, PROTO_POST_VIDEO, PROTO_POST_GALLERY, NULL };
static const char *const sorts[] = { PROTO_SORT_CREATED, PROTO_SORT_SCORE,
	PROTO_SORT_COMMENTS, NULL };
static const char *const orders[] = { PROTO_ORDER_ASC, PROTO_ORDER_DESC,
	NULL };
static const char *const labels[] = { PROTO_SENT_POSITIVE,
	PROTO_SENT_NEUTRAL, PROTO_SENT_NEGATIVE, NULL };
static const char *const formats[] = { GW_FORMAT_NDJSON, GW_FORMAT_CSV,
	NULL };
static const char *const export_types[] = { PROTO_F_POSTS, PROTO_F_COMMENTS,
	NULL };

static int
strict_int(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0' || (!isdigit((unsigned char)*s) && *s != '-'))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return -1;
	*out = v;
	return 0;
}

/* the member of set equal to v (set's own string), or NULL */
static const char *
in_set(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(v, *set) == 0)
			return *set;
	return NULL;
}

static void
enum_param(struct evkeyvalq *kv, const char *name, const char *const *set,
    const char **out, cJSON *detail)
{
	const char	*v = evhttp_find_header(kv, name);
	char		 msg[160];
	size_t		 n = 0;
	const char *const *s;

	if (v == NULL)
		return;
	if ((*out = in_set(v, set)) != NULL)
		return;
	n += (size_t)snprintf(msg, sizeof(msg), "Input should be");
	for (s = set; *s && n < sizeof(msg); s++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s '%s'",
		    s == set ? "" : s[1] ? "," : " or", *s);
	gw_detail_add(detail, "query", name, msg, "enum");
}

/* a copy of v into buf; 422 detail when too long */
static const char *
str_param(struct evkeyvalq *kv, const char *name, char *buf, size_t len,
    cJSON *detail)
{
	const char	*v = evhttp_find_header(kv, name);
	char		 msg[80];

	if (v == NULL)
		return NULL;
	if (strlen(v) >= len) {
		snprintf(msg, sizeof(msg), "String should have at most %zu "
		    "characters", len - 1);
		gw_detail_add(detail, "query", name, msg, "string_too_long");
		return NULL;
	}
	snprintf(buf, len, "%s", v);
	return buf;
}

static int
name_param(struct evkeyvalq *kv, const char *name, const char *type,
    char *buf, size_t len, const char **out, cJSON *detail)
{
	const char	*v = evhttp_find_header(kv, name), *why;

	if (v == NULL)
		return 0;
	/* deleted accounts are "[deleted]" on every item */
	if (strcmp(type, PROTO_TARGET_USER) == 0 &&
	    strcmp(v, "[deleted]") == 0) {
		snprintf(buf, len, "%s", v);
		*out = buf;
		return 0;
	}
	if (gw_normalise_target(v, type, buf, len, &why) == -1) {
		gw_detail_add(detail, "query", name, why, "value_error");
		return -1;
	}
	*out = buf;
	return 0;
}

static int
post_id_param(const char *v, char *out, size_t outlen)
{
	size_t	 i, n;

	if (strncmp(v, PROTO_PFX_POST, 3) == 0)
		v += 3;
	n = strlen(v);
	if (n < 1 || n > 13 || n + 4 > outlen)
		return -1;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]) &&
		    !islower((unsigned char)v[i]))
			return -1;
	snprintf(out, outlen, "%s%s", PROTO_PFX_POST, v);
	return 0;
}

int
gw_parse_results_query(const char *query, enum gw_query_kind kind,
    struct gw_results_query *rq, cJSON **detail)
{
	struct evkeyvalq	 kv;
	const char		*v, *bad = NULL;
	int64_t			 n;
	int			 rc = 0;

	memset(rq, 0, sizeof(*rq));
	rq->limit = 50;
	*detail = NULL;
	TAILQ_INIT(&kv);
	if (query != NULL && evhttp_parse_query_str(query, &kv) != 0) {
		*detail = cJSON_CreateString("malformed query string");
		return 400;
	}
	if ((v = evhttp_find_header(&kv, "limit")) != NULL &&
	    strict_int(v, &rq->limit) == -1)
		bad = "limit";
	else if (kind == GW_Q_POSTS &&
	    (v = evhttp_find_header(&kv, "min_score")) != NULL) {
		if (strict_int(v, &n) == -1)
			bad = "min_score";
		rq->has_min_score = 1;
		rq->min_score = n;
	}
	if (bad == NULL && kind == GW_Q_POSTS &&
	    (v = evhttp_find_header(&kv, "max_score")) != NULL) {
		if (strict_int(v, &n) == -1)
			bad = "max_score";
		rq->has_max_score = 1;
		rq->max_score = n;
	}
	if (bad != NULL) {
		char msg[80];

		snprintf(msg, sizeof(msg), "query parameter %s must be an "
		    "integer", bad);
		*detail = cJSON_CreateString(msg);
		rc = 400;
		goto out;
	}

	*detail = cJSON_CreateArray();
	if (kind != GW_Q_EXPORT && (rq->limit < 1 || rq->limit > 200))
		gw_detail_add(*detail, "query", "limit",
		    "Input should be between 1 and 200", "value_error");
	if (kind != GW_Q_EXPORT)
		rq->cursor = str_param(&kv, "cursor", rq->cursor_buf,
		    sizeof(rq->cursor_buf), *detail);
	switch (kind) {
	case GW_Q_POSTS:
		rq->q = str_param(&kv, "q", rq->q_buf, sizeof(rq->q_buf),
		    *detail);
		if (rq->q != NULL && *rq->q == '\0')
			rq->q = NULL;
		(void)name_param(&kv, "subreddit", PROTO_TARGET_SUBREDDIT,
		    rq->sub_buf, sizeof(rq->sub_buf), &rq->subreddit, *detail);
		(void)name_param(&kv, "author", PROTO_TARGET_USER,
		    rq->author_buf, sizeof(rq->author_buf), &rq->author,
		    *detail);
		enum_param(&kv, "post_type", post_types, &rq->post_type,
		    *detail);
		enum_param(&kv, "sentiment_label", labels, &rq->sentiment_label,
		    *detail);
		enum_param(&kv, "sort_by", sorts, &rq->sort_by, *detail);
		enum_param(&kv, "sort_order", orders, &rq->sort_order, *detail);
		if (rq->has_min_score && rq->has_max_score &&
		    rq->min_score > rq->max_score)
			gw_detail_add(*detail, "query", "min_score",
			    "min_score must not exceed max_score",
			    "value_error");
		break;
	case GW_Q_ITEMS:
		if ((v = evhttp_find_header(&kv, "post_id")) != NULL) {
			if (post_id_param(v, rq->post_buf,
			    sizeof(rq->post_buf)) == -1)
				gw_detail_add(*detail, "query", "post_id",
				    "not a post id (t3_ and a base-36 id)",
				    "value_error");
			else
				rq->post_id = rq->post_buf;
		}
		break;
	case GW_Q_EXPORT:
		rq->format = GW_FORMAT_NDJSON;
		rq->type = PROTO_F_POSTS;
		enum_param(&kv, "format", formats, &rq->format, *detail);
		enum_param(&kv, "type", export_types, &rq->type, *detail);
		break;
	}
	if (cJSON_GetArraySize(*detail) > 0)
		rc = 422;
	else {
		cJSON_Delete(*detail);
		*detail = NULL;
	}
out:
	evhttp_clear_headers(&kv);
	return rc;
}

/*
 * A Range header against a file of size bytes (RFC 9110 14.2): one range
 * "bytes=first-last", "bytes=first-" or "bytes=-suffix". 1 with the range
 * in *off, *len; 0 to send the whole file (no header, or one we do not
 * serve: several ranges or another unit, which a server may ignore); -1
 * when no byte of the range exists (416).
 */
int
gw_parse_range(const char *h, int64_t size, int64_t *off, int64_t *len)
{
	const char	*p, *dash;
	char		*end;
	long long	 a = -1, b = -1;

	if (h == NULL)
		return 0;
	while (*h == ' ')
		h++;
	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 0;
	p = h + 6;
	if ((dash = strchr(p, '-')) == NULL)
		return 0;
	if (dash != p) {
		if (!isdigit((unsigned char)*p))
			return 0;
		errno = 0;
		a = strtoll(p, &end, 10);
		if (errno != 0 || end != dash)
			return 0;
	}
	if (dash[1] != '\0') {
		if (!isdigit((unsigned char)dash[1]))
			return 0;
		errno = 0;
		b = strtoll(dash + 1, &end, 10);
		if (errno != 0 || *end != '\0')
			return 0;
	}
	if (a < 0 && b < 0)
		return 0;
	if (a < 0) {			/* the last b bytes */
		if (b == 0 || size == 0)
			return -1;
		*off = b >= size ? 0 : size - b;
		*len = size - *off;
		return 1;
	}
	if (b >= 0 && b < a)
		return 0;
	if (a >= size)
		return -1;
	if (b < 0 || b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}
