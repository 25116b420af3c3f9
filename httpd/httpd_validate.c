/*
 * httpd_validate.c — the rules of DESIGN.md §4 for request bodies and
 * queries. Pure functions (the plugin check aside, which looks at
 * plugin_dir), so the unit tests can walk every rule.
 *
 * Validation errors use the anchor (FastAPI) list form:
 *   {"loc": ["body", "limit"], "msg": "...", "type": "..."}
 * Unknown body fields are ignored, as the anchor API does.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "proto/proto.h"

void
gw_detail_add(cJSON *detail, const char *where, const char *field,
    const char *msg, const char *type)
{
	cJSON	*d = cJSON_CreateObject();
	cJSON	*loc = cJSON_AddArrayToObject(d, "loc");

	cJSON_AddItemToArray(loc, cJSON_CreateString(where));
	if (field)
		cJSON_AddItemToArray(loc, cJSON_CreateString(field));
	cJSON_AddStringToObject(d, "msg", msg);
	cJSON_AddStringToObject(d, "type", type);
	cJSON_AddItemToArray(detail, d);
}

/*
 * Reddit's name rules. Subreddits: 2-21 of [A-Za-z0-9_], not starting with
 * "_" (a handful of legacy two-letter names exist, so 2 is allowed). Users:
 * 3-20 of [A-Za-z0-9_-].
 */
int
gw_normalise_target(const char *in, const char *target_type, char *out,
    size_t outlen, const char **why)
{
	static const char *const pfx[] = { "/r/", "r/", "/u/", "u/",
	    "/user/", "user/", NULL };
	const char	*const *p;
	size_t		 n, i, min, max;
	int		 user = strcmp(target_type, PROTO_TARGET_USER) == 0;

	n = strlen(in);
	if (n < 1 || n > 255) {
		*why = "String should have 1 to 255 characters";
		return -1;
	}
	for (p = pfx; *p; p++)
		if (strncasecmp(in, *p, strlen(*p)) == 0) {
			in += strlen(*p);
			break;
		}
	n = strlen(in);
	if (n > 0 && in[n - 1] == '/')
		n--;
	min = user ? 3 : 2;
	max = user ? 20 : 21;
	if (n < min || n > max) {
		*why = user ? "not a Reddit user name (3-20 letters, digits, "
		    "'_' or '-')" : "not a subreddit name (2-21 letters, "
		    "digits or '_')";
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (!(isalnum(c) || c == '_' || (user && c == '-')) ||
		    c > 127 || (!user && i == 0 && c == '_')) {
			*why = user ? "not a Reddit user name (3-20 letters, "
			    "digits, '_' or '-')" : "not a subreddit name "
			    "(2-21 letters, digits or '_')";
			return -1;
		}
	}
	if (n >= outlen) {
		*why = "too long";
		return -1;
	}
	memcpy(out, in, n);
	out[n] = '\0';
	return 0;
}

static int
plugin_exists(const char *dir, const char *name)
{
	char		 path[PATH_MAX];
	struct stat	 sb;

	if (!proto_plugin_name_ok(name))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    access(path, X_OK) == 0;
}

static const char *
enum_field(const cJSON *body, const char *field, const char *const *allowed,
    const char *def, const char *msg, cJSON *detail)
{
	const cJSON		*it = cJSON_GetObjectItemCaseSensitive(body, field);
	const char *const	*a;

	if (it == NULL)
		return def;
	if (cJSON_IsString(it))
		for (a = allowed; *a; a++)
			if (strcmp(*a, it->valuestring) == 0)
				return *a;
	gw_detail_add(detail, "body", field, msg, "enum");
	return def;
}

static int
bool_field(const cJSON *body, const char *field, int def, cJSON *detail)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(body, field);

	if (it == NULL)
		return def;
	if (!cJSON_IsBool(it)) {
		gw_detail_add(detail, "body", field,
		    "Input should be a valid boolean", "bool_type");
		return def;
	}
	return cJSON_IsTrue(it);
}

/*
 * Returns NULL when body is valid (in filled), else the detail list.
 */
cJSON *
gw_validate_job(const cJSON *body, const char *plugin_dir,
    struct gw_job_input *in)
{
	static const char *const types[] = { PROTO_TARGET_SUBREDDIT,
	    PROTO_TARGET_USER, NULL };
	static const char *const modes[] = { PROTO_MODE_FULL,
	    PROTO_MODE_HISTORY, PROTO_MODE_MONITOR, NULL };
	cJSON		*detail = cJSON_CreateArray();
	const cJSON	*t, *l, *p, *it;
	const char	*why;
	double		 d;

	memset(in, 0, sizeof(*in));
	if (!cJSON_IsObject(body)) {
		gw_detail_add(detail, "body", NULL,
		    "Input should be a valid dictionary", "dict_type");
		return detail;
	}
	in->target_type = enum_field(body, "target_type", types,
	    PROTO_TARGET_SUBREDDIT, "Input should be 'subreddit' or 'user'",
	    detail);
	in->mode = enum_field(body, "mode", modes, PROTO_MODE_FULL,
	    "Input should be 'full', 'history' or 'monitor'", detail);

	t = cJSON_GetObjectItemCaseSensitive(body, "target");
	if (t == NULL)
		gw_detail_add(detail, "body", "target", "Field required",
		    "missing");
	else if (!cJSON_IsString(t))
		gw_detail_add(detail, "body", "target",
		    "Input should be a valid string", "string_type");
	else if (gw_normalise_target(t->valuestring, in->target_type,
	    in->target, sizeof(in->target), &why) == -1)
		gw_detail_add(detail, "body", "target", why, "value_error");

	in->limit = 100;
	if ((l = cJSON_GetObjectItemCaseSensitive(body, "limit")) != NULL) {
		d = l->valuedouble;
		if (!cJSON_IsNumber(l) || d != (double)(int64_t)d)
			gw_detail_add(detail, "body", "limit",
			    "Input should be a valid integer", "int_type");
		else if (d < 1 || d > 10000)
			gw_detail_add(detail, "body", "limit",
			    "Input should be between 1 and 10000",
			    "value_error");
		else
			in->limit = (int64_t)d;
	}
	in->download_media = bool_field(body, "download_media", 1, detail);
	in->scrape_comments = bool_field(body, "scrape_comments", 1, detail);

	if ((p = cJSON_GetObjectItemCaseSensitive(body, "plugins")) != NULL) {
		if (!cJSON_IsArray(p))
			gw_detail_add(detail, "body", "plugins",
			    "Input should be a valid list", "list_type");
		else
			cJSON_ArrayForEach(it, p) {
				if (!cJSON_IsString(it)) {
					gw_detail_add(detail, "body", "plugins",
					    "Input should be a valid string",
					    "string_type");
					break;
				}
				if (!plugin_exists(plugin_dir, it->valuestring)) {
					gw_detail_add(detail, "body", "plugins",
					    "unknown plugin", "value_error");
					break;
				}
				if (in->nplugins == sizeof(in->plugins) /
				    sizeof(in->plugins[0])) {
					gw_detail_add(detail, "body", "plugins",
					    "too many plugins", "value_error");
					break;
				}
				in->plugins[in->nplugins++] = it->valuestring;
			}
	}
	if (cJSON_GetArraySize(detail) == 0) {
		cJSON_Delete(detail);
		return NULL;
	}
	return detail;
}

/* a strict non-negative decimal integer; -1 when not one */
static int
parse_int(const char *s, int64_t *out)
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

int
gw_parse_list_query(const char *query, struct gw_list_query *q,
    char *status_buf, size_t status_len, cJSON **detail)
{
	static const char *const statuses[] = { PROTO_ST_PENDING,
	    PROTO_ST_RUNNING, PROTO_ST_COMPLETED, PROTO_ST_FAILED,
	    PROTO_ST_CANCELLED, NULL };
	struct evkeyvalq	 kv;
	const char		*v;
	const char *const	*s;
	int			 rc = 0;

	q->status = NULL;
	q->limit = 50;
	q->offset = 0;
	*detail = NULL;
	TAILQ_INIT(&kv);
	if (query != NULL && evhttp_parse_query_str(query, &kv) != 0) {
		*detail = cJSON_CreateString("malformed query string");
		return 400;
	}
	if ((v = evhttp_find_header(&kv, "limit")) != NULL &&
	    parse_int(v, &q->limit) == -1) {
		*detail = cJSON_CreateString("query parameter limit must be an "
		    "integer");
		rc = 400;
		goto out;
	}
	if ((v = evhttp_find_header(&kv, "offset")) != NULL &&
	    parse_int(v, &q->offset) == -1) {
		*detail = cJSON_CreateString("query parameter offset must be an "
		    "integer");
		rc = 400;
		goto out;
	}
	*detail = cJSON_CreateArray();
	if (q->limit < 1 || q->limit > 200)
		gw_detail_add(*detail, "query", "limit",
		    "Input should be between 1 and 200", "value_error");
	if (q->offset < 0)
		gw_detail_add(*detail, "query", "offset",
		    "Input should be greater than or equal to 0", "value_error");
	if ((v = evhttp_find_header(&kv, "status")) != NULL) {
		for (s = statuses; *s; s++)
			if (strcmp(*s, v) == 0)
				break;
		if (*s == NULL)
			gw_detail_add(*detail, "query", "status",
			    "Input should be 'pending', 'running', 'completed', "
			    "'failed' or 'cancelled'", "enum");
		else {
			snprintf(status_buf, status_len, "%s", *s);
			q->status = status_buf;
		}
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
