/*
 * ctl_cmds.c — rscrapectl's commands. Each is one or two synchronous
 * requests to jobd (proto_client_*, every call bounded by --timeout).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl/ctl.h"

static int
ctl_connect(struct ctl *c, const char **errp)
{
	struct stat	 sb;
	const char	*url = c->cf.jobd_url;

	if (c->client != NULL)
		return 0;
	/*
	 * nng dials in the background and retries forever, so a jobd that
	 * was never started would look like one that is slow. A missing ipc
	 * socket file says so at once.
	 */
	if (strncmp(url, "ipc://", 6) == 0 && stat(url + 6, &sb) == -1) {
		*errp = "no socket there (is jobd running?)";
		return -1;
	}
	if ((c->client = proto_client_open(url, errp)) == NULL)
		return -1;
	return 0;
}

enum ctl_result
ctl_call(struct ctl *c, const char *type, cJSON *body,
    struct proto_reply *rep, int quiet)
{
	const char	*err = NULL;

	memset(rep, 0, sizeof(*rep));
	if (ctl_connect(c, &err) == -1 ||
	    proto_client_call(c->client, type, body, c->timeout_ms, rep,
	    &err) == -1) {
		if (c->client == NULL)
			cJSON_Delete(body);
		c->last_error = err;
		if (!quiet)
			fprintf(stderr, "rscrapectl: jobd at %s: %s\n",
			    c->cf.jobd_url, err);
		return CTL_NO_REPLY;
	}
	if (!rep->ok) {
		if (!quiet)
			fprintf(stderr, "rscrapectl: %s: %s\n", rep->err_code,
			    rep->err_message);
		return CTL_REPLY_ERROR;
	}
	return CTL_REPLY_OK;
}

static int
usage_error(const char *msg)
{
	fprintf(stderr, "rscrapectl: %s (see rscrapectl -h)\n", msg);
	return CTL_EXIT_USAGE;
}

/* Print one object of a reply body (--json) and return it. */
static const cJSON *
reply_object(const struct proto_reply *rep, const char *key)
{
	const cJSON	*o = cJSON_GetObjectItemCaseSensitive(rep->body, key);

	if (!cJSON_IsObject(o) && !cJSON_IsArray(o)) {
		fprintf(stderr, "rscrapectl: jobd's reply has no \"%s\"\n", key);
		return NULL;
	}
	return o;
}

static int
workspace_create(struct ctl *c, const char *name)
{
	struct proto_reply	 rep;
	const cJSON		*ws, *id;
	int			 rc = CTL_EXIT_FAIL;

	if (ctl_call(c, PROTO_WORKSPACE_CREATE,
	    proto_workspace_create_req(name), &rep, 0) != CTL_REPLY_OK)
		goto out;
	if ((ws = reply_object(&rep, "workspace")) == NULL)
		goto out;
	id = cJSON_GetObjectItemCaseSensitive(ws, "id");
	if (c->json)
		ctl_print_json(ws, stdout);
	else if (cJSON_IsString(id))
		printf("%s\n", id->valuestring);
	else {
		fprintf(stderr, "rscrapectl: jobd's workspace has no id\n");
		goto out;
	}
	rc = CTL_EXIT_OK;
 out:
	proto_reply_free(&rep);
	return rc;
}

static int
workspace_list(struct ctl *c)
{
	static const char *const hdr[] = { "ID", "NAME", "CREATED" };
	struct proto_reply	 rep;
	struct ctl_table	*t;
	const cJSON		*list, *ws;
	const char		*row[3];
	char			 b[3][64];
	int			 rc = CTL_EXIT_FAIL;

	if (ctl_call(c, PROTO_WORKSPACE_LIST, proto_workspace_list_req(), &rep,
	    0) != CTL_REPLY_OK)
		goto out;
	if ((list = reply_object(&rep, "workspaces")) == NULL)
		goto out;
	if (c->json) {
		ctl_print_json(list, stdout);
		rc = CTL_EXIT_OK;
		goto out;
	}
	t = ctl_table_new(3, hdr);
	cJSON_ArrayForEach(ws, list) {
		row[0] = ctl_field(ws, "id", b[0], sizeof(b[0]));
		row[1] = ctl_field(ws, "name", b[1], sizeof(b[1]));
		row[2] = ctl_field(ws, "created_at", b[2], sizeof(b[2]));
		ctl_table_add(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	rc = CTL_EXIT_OK;
 out:
	proto_reply_free(&rep);
	return rc;
}

int
ctl_cmd_workspace(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return usage_error("workspace: expected create or list");
	if (strcmp(argv[0], "create") == 0) {
		if (argc != 2)
			return usage_error("usage: workspace create NAME");
		return workspace_create(c, argv[1]);
	}
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			return usage_error("usage: workspace list");
		return workspace_list(c);
	}
	return usage_error("workspace: expected create or list");
}

static int
key_create(struct ctl *c, const char *workspace_id)
{
	struct proto_reply	 rep;
	const cJSON		*key, *secret;
	cJSON			*out;
	int			 rc = CTL_EXIT_FAIL;

	if (ctl_call(c, PROTO_KEY_CREATE, proto_key_create_req(workspace_id,
	    c->key_name, c->scopes ? c->scopes : "read,write"), &rep, 0) !=
	    CTL_REPLY_OK)
		goto out;
	secret = cJSON_GetObjectItemCaseSensitive(rep.body, "secret");
	if ((key = reply_object(&rep, "key")) == NULL)
		goto out;
	if (!cJSON_IsString(secret)) {
		fprintf(stderr, "rscrapectl: jobd's reply has no secret\n");
		goto out;
	}
	if (c->json) {
		/* the key object, with the secret: the only time it exists */
		out = cJSON_Duplicate(key, 1);
		cJSON_AddStringToObject(out, "secret", secret->valuestring);
		ctl_print_json(out, stdout);
		cJSON_Delete(out);
	} else
		printf("%s\n", secret->valuestring);
	rc = CTL_EXIT_OK;
 out:
	proto_reply_free(&rep);
	return rc;
}

static int
key_list(struct ctl *c, const char *workspace_id)
{
	static const char *const hdr[] = { "ID", "NAME", "PREFIX", "SCOPES",
	    "CREATED", "LAST USED", "REVOKED" };
	static const char *const fields[] = { "id", "name", "prefix", "scopes",
	    "created_at", "last_used_at", "revoked_at" };
	struct proto_reply	 rep;
	struct ctl_table	*t;
	const cJSON		*list, *k;
	const char		*row[7];
	char			 b[7][128];
	size_t			 i;
	int			 rc = CTL_EXIT_FAIL;

	if (ctl_call(c, PROTO_KEY_LIST, proto_key_list_req(workspace_id), &rep,
	    0) != CTL_REPLY_OK)
		goto out;
	if ((list = reply_object(&rep, "keys")) == NULL)
		goto out;
	if (c->json) {
		ctl_print_json(list, stdout);
		rc = CTL_EXIT_OK;
		goto out;
	}
	t = ctl_table_new(7, hdr);
	cJSON_ArrayForEach(k, list) {
		for (i = 0; i < 7; i++)
			row[i] = ctl_field(k, fields[i], b[i], sizeof(b[i]));
		ctl_table_add(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	rc = CTL_EXIT_OK;
 out:
	proto_reply_free(&rep);
	return rc;
}

static int
key_revoke(struct ctl *c, const char *key_id)
{
	struct proto_reply	 rep;
	const cJSON		*key;
	char			 b[2][128];
	int			 rc = CTL_EXIT_FAIL;

	if (ctl_call(c, PROTO_KEY_REVOKE, proto_key_revoke_req(key_id), &rep,
	    0) != CTL_REPLY_OK)
		goto out;
	if ((key = reply_object(&rep, "key")) == NULL)
		goto out;
	if (c->json)
		ctl_print_json(key, stdout);
	else
		printf("revoked %s (%s…)\n", ctl_field(key, "id", b[0],
		    sizeof(b[0])), ctl_field(key, "prefix", b[1], sizeof(b[1])));
	rc = CTL_EXIT_OK;
 out:
	proto_reply_free(&rep);
	return rc;
}

int
ctl_cmd_key(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return usage_error("key: expected create, list or revoke");
	if (strcmp(argv[0], "create") == 0) {
		if (argc != 2)
			return usage_error("usage: key create WORKSPACE_ID "
			    "[--scopes read,write,admin] [--name NAME]");
		return key_create(c, argv[1]);
	}
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 2)
			return usage_error("usage: key list WORKSPACE_ID");
		return key_list(c, argv[1]);
	}
	if (strcmp(argv[0], "revoke") == 0) {
		if (argc != 2)
			return usage_error("usage: key revoke KEY_ID");
		return key_revoke(c, argv[1]);
	}
	return usage_error("key: expected create, list or revoke");
}

/*
 * httpd's health, from outside as a client sees it: GET /healthz on the
 * configured listen address (a wildcard address is asked on loopback).
 */
static size_t
discard_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

static cJSON *
httpd_health(const struct ctl *c)
{
	char		 url[512], host[256];
	const char	*listen = c->cf.httpd.listen, *colon;
	cJSON		*o = cJSON_CreateObject();
	CURL		*h;
	CURLcode	 cc;
	long		 code = 0;

	colon = strrchr(listen, ':');
	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host)) {
		cJSON_AddStringToObject(o, "url", listen);
		cJSON_AddBoolToObject(o, "ok", 0);
		cJSON_AddStringToObject(o, "error", "cannot parse listen");
		return o;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (strcmp(host, "0.0.0.0") == 0 || *host == '\0')
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (strcmp(host, "[::]") == 0 || strcmp(host, "::") == 0)
		snprintf(host, sizeof(host), "[::1]");
	snprintf(url, sizeof(url), "http://%s%s/healthz", host, colon);
	cJSON_AddStringToObject(o, "url", url);

	if ((h = curl_easy_init()) == NULL) {
		cJSON_AddBoolToObject(o, "ok", 0);
		cJSON_AddStringToObject(o, "error", "curl_easy_init failed");
		return o;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	cJSON_AddBoolToObject(o, "ok", cc == CURLE_OK && code == 200);
	if (cc == CURLE_OK)
		cJSON_AddNumberToObject(o, "status", (double)code);
	else
		cJSON_AddStringToObject(o, "error", curl_easy_strerror(cc));
	return o;
}

static void
status_print(const struct ctl *c, const cJSON *ping, const char *jobd_err,
    const cJSON *httpd)
{
	static const char *const hdr[] = { "DAEMON", "STATE", "DETAIL" };
	struct ctl_table	*t;
	const cJSON		*jobs, *w, *it, *st;
	const char		*row[3];
	char			 detail[1024], up[32], ago[32], b[4][128];
	double			 age, uptime;
	size_t			 used;
	int			 n;

	t = ctl_table_new(3, hdr);
	row[0] = "jobd";
	if (ping == NULL) {
		row[1] = "down";
		snprintf(detail, sizeof(detail), "%s: %s", c->cf.jobd_url,
		    jobd_err);
	} else {
		it = cJSON_GetObjectItemCaseSensitive(ping, "uptime_s");
		uptime = cJSON_IsNumber(it) ? it->valuedouble : 0;
		ctl_fmt_duration(uptime, up, sizeof(up));
		row[1] = strcmp(ctl_field(ping, "db", b[0], sizeof(b[0])),
		    "ok") == 0 ? "ok" : "degraded";
		snprintf(detail, sizeof(detail), "version %s, pid %s, up %s, "
		    "database %s", ctl_field(ping, "version", b[1],
		    sizeof(b[1])), ctl_field(ping, "pid", b[2], sizeof(b[2])),
		    up, ctl_field(ping, "db", b[0], sizeof(b[0])));
	}
	row[2] = detail;
	ctl_table_add(t, row);

	st = cJSON_GetObjectItemCaseSensitive(httpd, "status");
	row[0] = "httpd";
	row[1] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(httpd, "ok")) ?
	    "ok" : cJSON_IsNumber(st) ? "degraded" : "down";
	if (cJSON_IsNumber(st))
		snprintf(detail, sizeof(detail), "%s answered %s",
		    ctl_field(httpd, "url", b[0], sizeof(b[0])),
		    ctl_field(httpd, "status", b[1], sizeof(b[1])));
	else
		snprintf(detail, sizeof(detail), "%s: %s",
		    ctl_field(httpd, "url", b[0], sizeof(b[0])),
		    ctl_field(httpd, "error", b[1], sizeof(b[1])));
	ctl_table_add(t, row);

	w = cJSON_GetObjectItemCaseSensitive(ping, "workers");
	cJSON_ArrayForEach(it, w) {
		const char *kind = ctl_field(it, "kind", b[0], sizeof(b[0]));
		const char *seen = ctl_field(it, "last_seen_at", b[1],
		    sizeof(b[1]));

		row[0] = strcmp(kind, PROTO_KIND_FETCH) == 0 ? "fetchd" :
		    strcmp(kind, PROTO_KIND_MEDIA) == 0 ? "mediad" : kind;
		age = ctl_age(seen);
		if (age < 0)
			snprintf(ago, sizeof(ago), "never");
		else {
			ctl_fmt_duration(age, ago, sizeof(ago));
			strncat(ago, " ago", sizeof(ago) - strlen(ago) - 1);
		}
		/* a live worker heartbeats well within one lease */
		row[1] = age >= 0 && age <= 2.0 * (double)c->cf.jobd.lease_seconds ?
		    "ok" : "stale";
		snprintf(detail, sizeof(detail), "%s, last heartbeat %s, tasks %s",
		    ctl_field(it, "worker", b[2], sizeof(b[2])), ago,
		    ctl_field(it, "tasks", b[3], sizeof(b[3])));
		row[2] = detail;
		ctl_table_add(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);

	jobs = cJSON_GetObjectItemCaseSensitive(ping, "jobs");
	if (cJSON_IsObject(jobs)) {
		used = 0;
		detail[0] = '\0';
		cJSON_ArrayForEach(it, jobs) {
			n = snprintf(detail + used, sizeof(detail) - used,
			    "%s%s %s", used ? ", " : "", it->string,
			    ctl_field(jobs, it->string, b[0], sizeof(b[0])));
			if (n < 0 || (size_t)n >= sizeof(detail) - used)
				break;
			used += (size_t)n;
		}
		printf("\njobs: %s\n", used ? detail : "none");
	}
}

/* the counters /metrics shows too: leases, restarts, media */
static void
status_counters(struct ctl *c)
{
	struct proto_reply	 rep;
	const cJSON		*it, *m;
	char			 line[512];
	size_t			 used = 0;
	int			 n;

	if (ctl_call(c, PROTO_METRICS, proto_metrics_req(), &rep, 1) !=
	    CTL_REPLY_OK)
		return;
	it = cJSON_GetObjectItemCaseSensitive(rep.body, "lease_expiries");
	m = cJSON_GetObjectItemCaseSensitive(rep.body, "releases");
	printf("leases: %.0f expired, %.0f handed back (since jobd started)\n",
	    cJSON_IsNumber(it) ? it->valuedouble : 0,
	    cJSON_IsNumber(m) ? m->valuedouble : 0);
	line[0] = '\0';
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep.body,
	    "starts")) {
		if (!cJSON_IsNumber(it))
			continue;
		n = snprintf(line + used, sizeof(line) - used, "%s%s %.0f",
		    used ? ", " : "", it->string, it->valuedouble > 1 ?
		    it->valuedouble - 1 : 0);
		if (n < 0 || (size_t)n >= sizeof(line) - used)
			break;
		used += (size_t)n;
	}
	printf("restarts: %s\n", used ? line : "none seen");
	used = 0;
	line[0] = '\0';
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep.body,
	    "media")) {
		m = cJSON_GetObjectItemCaseSensitive(it, "items");
		n = snprintf(line + used, sizeof(line) - used, "%s%s %.0f",
		    used ? ", " : "", it->string, cJSON_IsNumber(m) ?
		    m->valuedouble : 0);
		if (n < 0 || (size_t)n >= sizeof(line) - used)
			break;
		used += (size_t)n;
	}
	printf("media: %s\n", used ? line : "none");
	proto_reply_free(&rep);
}

int
ctl_cmd_status(struct ctl *c, int argc, char **argv)
{
	struct proto_reply	 rep;
	enum ctl_result		 r;
	cJSON			*httpd, *out;
	const char		*jobd_err = NULL;
	int			 rc;

	(void)argv;
	if (argc != 0)
		return usage_error("usage: status");
	r = ctl_call(c, PROTO_PING, proto_ping_req(), &rep, 1);
	if (r == CTL_NO_REPLY)
		jobd_err = c->last_error;
	else if (r == CTL_REPLY_ERROR)
		jobd_err = rep.err_message;
	httpd = httpd_health(c);
	if (c->json) {
		out = r == CTL_REPLY_OK ? cJSON_Duplicate(rep.body, 1) :
		    cJSON_CreateObject();
		if (r != CTL_REPLY_OK)
			cJSON_AddStringToObject(out, "error", jobd_err);
		cJSON_AddItemToObject(out, "httpd", httpd);
		httpd = NULL;
		ctl_print_json(out, stdout);
		cJSON_Delete(out);
	} else {
		status_print(c, r == CTL_REPLY_OK ? rep.body : NULL, jobd_err,
		    httpd);
		if (r == CTL_REPLY_OK)
			status_counters(c);
	}
	cJSON_Delete(httpd);
	rc = r == CTL_REPLY_OK ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	proto_reply_free(&rep);
	return rc;
}

static cJSON *
read_stdin_json(void)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;
	cJSON	*o;

	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		if ((n = fread(buf + len, 1, cap - len, stdin)) == 0)
			break;
		len += n;
	}
	o = cJSON_ParseWithLength(buf, len);
	free(buf);
	return o;
}

int
ctl_cmd_call(struct ctl *c, int argc, char **argv)
{
	struct proto_reply	 rep;
	enum ctl_result		 r;
	cJSON			*body;
	int			 rc;

	if (argc < 1 || argc > 2)
		return usage_error("usage: call TYPE [JSON]");
	if (argc == 2 && strcmp(argv[1], "-") == 0)
		body = read_stdin_json();	/* bodies beyond argv's limit */
	else
		body = argc == 2 ? cJSON_Parse(argv[1]) : cJSON_CreateObject();
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		return usage_error("call: the body must be a JSON object");
	}
	r = ctl_call(c, argv[0], body, &rep, 0);
	switch (r) {
	case CTL_REPLY_OK:
		ctl_print_json(rep.body, stdout);
		rc = CTL_EXIT_OK;
		break;
	case CTL_REPLY_ERROR:
		rc = CTL_EXIT_FAIL;
		break;
	default:
		rc = CTL_EXIT_TRANSPORT;
		break;
	}
	proto_reply_free(&rep);
	return rc;
}
