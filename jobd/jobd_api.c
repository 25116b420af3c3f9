/*
 * jobd_api.c — the messages of httpd and rscrapectl: ping, workspaces,
 * API keys and jobs (proto.h, MESSAGES SERVED BY jobd).
 *
 * Each request is at most one transaction. Reads run in autocommit mode.
 * Ids arrive with or without their prefix; an id that is not a UUID cannot
 * exist, so it is not_found rather than invalid (httpd maps that to 404).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "jobd/jobd.h"
#include "lib/daemon.h"
#include "lib/log.h"

/* columns of KEY_COLS */
enum { KC_ID, KC_WS, KC_NAME, KC_PREFIX, KC_SCOPES, KC_CREATED, KC_USED,
	KC_REVOKED };

const char *const job_statuses[] = { PROTO_ST_PENDING, PROTO_ST_RUNNING,
	PROTO_ST_COMPLETED, PROTO_ST_FAILED, PROTO_ST_CANCELLED, NULL };
static const char *const scope_names[] = { PROTO_SCOPE_READ,
	PROTO_SCOPE_WRITE, PROTO_SCOPE_ADMIN, NULL };

int
jobd_db_error(struct jobd *jd, struct rep_ctx *ctx, const char *what)
{
	const char	*msg = sqlite3_errmsg(jd->db);

	jobd_rollback(jd);
	return rep_error(ctx, PROTO_E_INTERNAL, "database error (%s): %s",
	    what, msg);
}

int
jobd_one_of(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

void
jobd_add_prefixed(cJSON *obj, const char *key, const char *prefix,
    const char *uuid)
{
	char	 buf[64];

	proto_id_format(prefix, uuid, buf, sizeof(buf));
	cJSON_AddStringToObject(obj, key, buf);
}

/*
 * Read an id field. A missing or mistyped field is bad_request; a value
 * that is no id of this kind is not_found.
 */
int
jobd_body_id(struct rep_ctx *ctx, const char *key, const char *prefix,
    char out[37])
{
	const char	*s, *err;

	if (proto_get_str(ctx->req->body, key, 1, &s, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (proto_id_parse(s, prefix, out) == -1)
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such %s", key);
	return 0;
}

int
jobd_workspace_exists(struct jobd *jd, struct rep_ctx *ctx, const char *ws)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_WS_GET);
	int		 rc;

	sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such workspace");
	return jobd_db_error(jd, ctx, "workspace");
}

/* ping */

static cJSON *
ping_workers(struct jobd *jd, int64_t now)
{
	cJSON		*arr = cJSON_CreateArray(), *w;
	sqlite3_stmt	*st = jobd_stmt(jd, ST_TASK_LEASED_BY_WORKER);
	char		 buf[40];
	int64_t		 ntasks;
	int		 i;

	for (i = 0; i < JOBD_MAX_WORKERS; i++) {
		struct jobd_worker *jw = &jd->workers[i];

		if (jw->name[0] == '\0')
			continue;
		w = cJSON_CreateObject();
		cJSON_AddStringToObject(w, "worker", jw->name);
		cJSON_AddStringToObject(w, "kind", jw->kind);
		daemon_fmt_time(jw->last_seen_ms, buf, sizeof(buf));
		cJSON_AddStringToObject(w, "last_seen_at", buf);
		ntasks = 0;
		sqlite3_reset(st);
		while (sqlite3_step(st) == SQLITE_ROW)
			if (strcmp(jobd_col_text(st, 0), jw->name) == 0)
				ntasks = sqlite3_column_int64(st, 1);
		cJSON_AddNumberToObject(w, "tasks", (double)ntasks);
		cJSON_AddItemToArray(arr, w);
	}
	sqlite3_reset(st);
	(void)now;
	return arr;
}

int
jobd_h_ping(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	cJSON		*r, *jobs;
	int64_t		 now = jobd_now(jd);
	int		 i;

	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "daemon", "jobd");
	cJSON_AddStringToObject(r, "version", RSCRAPE_VERSION);
	cJSON_AddNumberToObject(r, "pid", (double)getpid());
	cJSON_AddNumberToObject(r, "uptime_s",
	    (double)((now - jd->started_ms) / 1000));
	cJSON_AddStringToObject(r, "db", jobd_health(jd) == 0 ?
	    PROTO_HEALTH_OK : PROTO_HEALTH_ERROR);
	jobs = cJSON_AddObjectToObject(r, "jobs");
	for (i = 0; job_statuses[i] != NULL; i++)
		cJSON_AddNumberToObject(jobs, job_statuses[i], 0);
	st = jobd_stmt(jd, ST_JOB_COUNTS);
	while (sqlite3_step(st) == SQLITE_ROW)
		cJSON_ReplaceItemInObjectCaseSensitive(jobs,
		    jobd_col_text(st, 0),
		    cJSON_CreateNumber((double)sqlite3_column_int64(st, 1)));
	sqlite3_reset(st);
	cJSON_AddItemToObject(r, "workers", ping_workers(jd, now));
	cJSON_AddNumberToObject(r, "lease_expiries", (double)jd->lease_expiries);
	cJSON_AddNumberToObject(r, "releases", (double)jd->releases);
	ctx->reply = r;
	return 0;
}

/* workspaces */

static cJSON *
workspace_json(sqlite3_stmt *st)
{
	cJSON	*w = cJSON_CreateObject();

	jobd_add_prefixed(w, "id", PROTO_PFX_WORKSPACE, jobd_col_text(st, 0));
	cJSON_AddStringToObject(w, "name", jobd_col_text(st, 1));
	jobd_add_time(w, "created_at", st, 2);
	return w;
}

int
jobd_h_workspace_create(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	const char	*name, *err;
	char		 id[37];
	size_t		 n;

	if (proto_get_str(ctx->req->body, "name", 1, &name, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	n = strlen(name);
	if (n < 1 || n > 100)
		return rep_error(ctx, PROTO_E_INVALID,
		    "name: must be 1 to 100 characters");
	proto_uuid_new(id);
	st = jobd_stmt(jd, ST_WS_INSERT);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, jobd_now(jd));
	if (jobd_step_done(jd, st) == -1)
		return jobd_db_error(jd, ctx, "workspace insert");
	st = jobd_stmt(jd, ST_WS_GET);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return jobd_db_error(jd, ctx, "workspace read");
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, "workspace", workspace_json(st));
	sqlite3_reset(st);
	log_info("request %s: workspace %s created", ctx->req->id, id);
	return 0;
}

int
jobd_h_workspace_list(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st = jobd_stmt(jd, ST_WS_LIST);
	cJSON		*arr;

	ctx->reply = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ctx->reply, "workspaces");
	while (sqlite3_step(st) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, workspace_json(st));
	sqlite3_reset(st);
	return 0;
}

/* API keys */

int
jobd_key_hash(const char *secret, char out[65])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;

	if (EVP_Digest(secret, strlen(secret), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		return -1;
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* "rp_" and 43 base64url characters: 256 bits from the CSPRNG */
static int
key_secret_new(char out[3 + 43 + 1])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char	 b[33];
	char		*p;
	size_t		 i;
	uint32_t	 v;

	if (RAND_bytes(b, 32) != 1)
		return -1;
	b[32] = 0;
	p = out + snprintf(out, 4, "%s", PROTO_PFX_SECRET);
	/* 32 bytes = 10 groups of 3 and 2 bytes left: 40 + 3 characters */
	for (i = 0; i < 33; i += 3) {
		v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 |
		    (i + 2 < 33 ? b[i + 2] : 0);
		*p++ = b64[(v >> 18) & 63];
		*p++ = b64[(v >> 12) & 63];
		*p++ = b64[(v >> 6) & 63];
		if (i + 3 < 33)
			*p++ = b64[v & 63];
	}
	*p = '\0';
	return 0;
}

static cJSON *
scopes_json(const char *csv)
{
	cJSON	*arr = cJSON_CreateArray();
	char	 buf[64], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", csv);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(arr, cJSON_CreateString(tok));
	return arr;
}

static cJSON *
key_json(sqlite3_stmt *st)
{
	cJSON	*k = cJSON_CreateObject();

	jobd_add_prefixed(k, "id", PROTO_PFX_KEY, jobd_col_text(st, KC_ID));
	jobd_add_prefixed(k, "workspace_id", PROTO_PFX_WORKSPACE,
	    jobd_col_text(st, KC_WS));
	cJSON_AddStringToObject(k, "name", jobd_col_text(st, KC_NAME));
	cJSON_AddStringToObject(k, "prefix", jobd_col_text(st, KC_PREFIX));
	cJSON_AddItemToObject(k, "scopes",
	    scopes_json(jobd_col_text(st, KC_SCOPES)));
	jobd_add_time(k, "created_at", st, KC_CREATED);
	jobd_add_time(k, "last_used_at", st, KC_USED);
	jobd_add_time(k, "revoked_at", st, KC_REVOKED);
	return k;
}

/* scopes array -> canonical csv in scope_names order */
static int
scopes_parse(struct rep_ctx *ctx, const cJSON *arr, char *csv, size_t len)
{
	const cJSON	*it;
	size_t		 n;
	int		 want[3] = { 0, 0, 0 }, i, any = 0;

	if (arr == NULL) {
		snprintf(csv, len, "%s,%s", PROTO_SCOPE_READ, PROTO_SCOPE_WRITE);
		return 0;
	}
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			return rep_error(ctx, PROTO_E_BAD_REQUEST,
			    "field \"scopes\" must be an array of strings");
		for (i = 0; scope_names[i] != NULL; i++)
			if (strcmp(it->valuestring, scope_names[i]) == 0)
				break;
		if (scope_names[i] == NULL)
			return rep_error(ctx, PROTO_E_INVALID,
			    "scopes: unknown scope \"%.32s\"", it->valuestring);
		want[i] = 1;
	}
	csv[0] = '\0';
	for (i = 0; scope_names[i] != NULL; i++) {
		if (!want[i])
			continue;
		n = strlen(csv);
		snprintf(csv + n, len - n, "%s%s", any ? "," : "",
		    scope_names[i]);
		any = 1;
	}
	if (!any)
		return rep_error(ctx, PROTO_E_INVALID,
		    "scopes: at least one scope is required");
	return 0;
}

int
jobd_h_key_create(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	cJSON		*scopes;
	const char	*name, *err;
	char		 ws[37], id[37], secret[48], hash[65], prefix[12];
	char		 csv[64];

	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1)
		return -1;
	if (proto_get_str(ctx->req->body, "name", 0, &name, &err) == -1 ||
	    proto_get_arr(ctx->req->body, "scopes", 0, &scopes, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (name == NULL)
		name = "";
	if (strlen(name) > 100)
		return rep_error(ctx, PROTO_E_INVALID,
		    "name: at most 100 characters");
	if (scopes_parse(ctx, scopes, csv, sizeof(csv)) == -1)
		return -1;
	if (jobd_workspace_exists(jd, ctx, ws) == -1)
		return -1;
	if (key_secret_new(secret) == -1 || jobd_key_hash(secret, hash) == -1)
		return rep_error(ctx, PROTO_E_INTERNAL, "no randomness");
	snprintf(prefix, sizeof(prefix), "%.11s", secret);
	proto_uuid_new(id);
	st = jobd_stmt(jd, ST_KEY_INSERT);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ws, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, csv, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, jobd_now(jd));
	if (jobd_step_done(jd, st) == -1)
		return jobd_db_error(jd, ctx, "key insert");
	st = jobd_stmt(jd, ST_KEY_GET);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return jobd_db_error(jd, ctx, "key read");
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, "key", key_json(st));
	cJSON_AddStringToObject(ctx->reply, "secret", secret);
	sqlite3_reset(st);
	explicit_bzero(secret, sizeof(secret));
	log_info("request %s: key %s created for workspace %s (%s)",
	    ctx->req->id, id, ws, csv);
	return 0;
}

int
jobd_h_key_list(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	cJSON		*arr;
	char		 ws[37];

	if (jobd_body_id(ctx, "workspace_id", PROTO_PFX_WORKSPACE, ws) == -1 ||
	    jobd_workspace_exists(jd, ctx, ws) == -1)
		return -1;
	st = jobd_stmt(jd, ST_KEY_LIST);
	sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
	ctx->reply = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ctx->reply, "keys");
	while (sqlite3_step(st) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, key_json(st));
	sqlite3_reset(st);
	return 0;
}

int
jobd_h_key_revoke(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	char		 id[37];

	if (jobd_body_id(ctx, "key_id", PROTO_PFX_KEY, id) == -1)
		return -1;
	/* revoking twice keeps the first revocation time */
	st = jobd_stmt(jd, ST_KEY_REVOKE);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, jobd_now(jd));
	if (jobd_step_done(jd, st) == -1)
		return jobd_db_error(jd, ctx, "key revoke");
	st = jobd_stmt(jd, ST_KEY_GET);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return rep_error(ctx, PROTO_E_NOT_FOUND, "no such key");
	}
	ctx->reply = cJSON_CreateObject();
	cJSON_AddItemToObject(ctx->reply, "key", key_json(st));
	sqlite3_reset(st);
	log_info("request %s: key %s revoked", ctx->req->id, id);
	return 0;
}

int
jobd_h_key_auth(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	const char	*hash, *err;
	char		 id[37];
	int64_t		 now = jobd_now(jd), used;
	size_t		 i;

	if (proto_get_str(ctx->req->body, "key_hash", 1, &hash, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	for (i = 0; hash[i] != '\0'; i++)
		if (!isxdigit((unsigned char)hash[i]) ||
		    isupper((unsigned char)hash[i]))
			break;
	if (i != 64 || hash[i] != '\0')
		return rep_error(ctx, PROTO_E_UNAUTHORIZED, "unknown key");
	st = jobd_stmt(jd, ST_KEY_BY_HASH);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_type(st, 3) != SQLITE_NULL) {
		sqlite3_reset(st);
		return rep_error(ctx, PROTO_E_UNAUTHORIZED,
		    "unknown or revoked key");
	}
	snprintf(id, sizeof(id), "%s", jobd_col_text(st, 0));
	used = sqlite3_column_int64(st, 4);
	ctx->reply = cJSON_CreateObject();
	jobd_add_prefixed(ctx->reply, "key_id", PROTO_PFX_KEY, id);
	jobd_add_prefixed(ctx->reply, "workspace_id", PROTO_PFX_WORKSPACE,
	    jobd_col_text(st, 1));
	cJSON_AddItemToObject(ctx->reply, "scopes",
	    scopes_json(jobd_col_text(st, 2)));
	sqlite3_reset(st);
	/* a write per request would cost more than the lookup: 1 s grain */
	if (now - used >= 1000) {
		st = jobd_stmt(jd, ST_KEY_TOUCH);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		if (jobd_step_done(jd, st) == -1)
			log_warnx("request %s: key %s: last_used_at not "
			    "updated", ctx->req->id, id);
	}
	return 0;
}
