/*
 * proto_stubs.c — request bodies built in one place, so that no caller
 * writes a field name of the wire (see proto.h for each message).
 */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

cJSON *
proto_ping_req(void)
{
	return cJSON_CreateObject();
}

cJSON *
proto_workspace_create_req(const char *name)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "name", name);
	return b;
}

cJSON *
proto_workspace_list_req(void)
{
	return cJSON_CreateObject();
}

cJSON *
proto_key_create_req(const char *workspace_id, const char *name,
    const char *scopes_csv)
{
	cJSON	*b = cJSON_CreateObject();
	cJSON	*arr;
	char	*dup, *tok, *save = NULL;

	cJSON_AddStringToObject(b, "workspace_id", workspace_id);
	if (name)
		cJSON_AddStringToObject(b, "name", name);
	if (scopes_csv) {
		arr = cJSON_AddArrayToObject(b, "scopes");
		dup = strdup(scopes_csv);
		for (tok = strtok_r(dup, ",", &save); tok;
		    tok = strtok_r(NULL, ",", &save))
			cJSON_AddItemToArray(arr, cJSON_CreateString(tok));
		free(dup);
	}
	return b;
}

cJSON *
proto_key_list_req(const char *workspace_id)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "workspace_id", workspace_id);
	return b;
}

cJSON *
proto_key_revoke_req(const char *key_id)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "key_id", key_id);
	return b;
}

cJSON *
proto_key_auth_req(const char *key_hash_hex)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "key_hash", key_hash_hex);
	return b;
}

cJSON *
proto_job_create_req(const struct proto_job_spec *s)
{
	cJSON	*b = cJSON_CreateObject();
	cJSON	*arr;
	size_t	 i;

	cJSON_AddStringToObject(b, "workspace_id", s->workspace_id);
	cJSON_AddStringToObject(b, "target", s->target);
	cJSON_AddStringToObject(b, "target_type", s->target_type);
	cJSON_AddStringToObject(b, "mode", s->mode);
	cJSON_AddNumberToObject(b, "limit", (double)s->limit);
	cJSON_AddBoolToObject(b, "download_media", s->download_media);
	cJSON_AddBoolToObject(b, "scrape_comments", s->scrape_comments);
	arr = cJSON_AddArrayToObject(b, "plugins");
	for (i = 0; i < s->nplugins; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(s->plugins[i]));
	return b;
}

cJSON *
proto_job_get_req(const char *workspace_id, const char *job_id)
{
	cJSON *b = cJSON_CreateObject();

	if (workspace_id != NULL)
		cJSON_AddStringToObject(b, "workspace_id", workspace_id);
	cJSON_AddStringToObject(b, PROTO_F_JOB_ID, job_id);
	return b;
}

cJSON *
proto_job_list_req(const char *workspace_id, const char *status,
    int64_t limit, int64_t offset)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "workspace_id", workspace_id);
	if (status)
		cJSON_AddStringToObject(b, "status", status);
	cJSON_AddNumberToObject(b, "limit", (double)limit);
	cJSON_AddNumberToObject(b, "offset", (double)offset);
	return b;
}

cJSON *
proto_job_cancel_req(const char *workspace_id, const char *job_id)
{
	return proto_job_get_req(workspace_id, job_id);
}

cJSON *
proto_task_lease_req(const char *worker, const char *kind, int max)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "worker", worker);
	cJSON_AddStringToObject(b, PROTO_F_KIND, kind);
	cJSON_AddNumberToObject(b, "max", max);
	return b;
}

static cJSON *
task_body(int64_t task_id, const char *lease_id)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddNumberToObject(b, PROTO_F_TASK_ID, (double)task_id);
	cJSON_AddStringToObject(b, PROTO_F_LEASE_ID, lease_id);
	return b;
}

cJSON *
proto_task_heartbeat_req(int64_t task_id, const char *lease_id,
    const cJSON *progress, const cJSON *checkpoint)
{
	cJSON *b = task_body(task_id, lease_id);

	if (progress)
		cJSON_AddItemToObject(b, PROTO_F_PROGRESS,
		    cJSON_Duplicate(progress, 1));
	if (checkpoint)
		cJSON_AddItemToObject(b, PROTO_F_CHECKPOINT,
		    cJSON_Duplicate(checkpoint, 1));
	return b;
}

/* The caller adds "posts", "comments", "media", "progress", "checkpoint"
 * arrays/objects with the proto_report_* helpers below. */
cJSON *
proto_task_report_req(int64_t task_id, const char *lease_id,
    const char *batch, int64_t seq)
{
	cJSON *b = task_body(task_id, lease_id);

	cJSON_AddStringToObject(b, "batch", batch);
	if (seq > 0)
		cJSON_AddNumberToObject(b, PROTO_F_SEQ, (double)seq);
	return b;
}

cJSON *
proto_task_finish_req(int64_t task_id, const char *lease_id,
    const cJSON *progress, const cJSON *result)
{
	cJSON *b = task_body(task_id, lease_id);

	if (progress)
		cJSON_AddItemToObject(b, PROTO_F_PROGRESS,
		    cJSON_Duplicate(progress, 1));
	if (result)
		cJSON_AddItemToObject(b, "result",
		    cJSON_Duplicate(result, 1));
	return b;
}

cJSON *
proto_task_fail_req(int64_t task_id, const char *lease_id, const char *error,
    int retry)
{
	cJSON *b = task_body(task_id, lease_id);

	cJSON_AddStringToObject(b, "error", error);
	cJSON_AddBoolToObject(b, "retry", retry);
	return b;
}

cJSON *
proto_task_release_req(int64_t task_id, const char *lease_id)
{
	return task_body(task_id, lease_id);
}

cJSON *
proto_media_result_new(const struct proto_media_result *r)
{
	cJSON	*o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "status", r->status);
	if (r->bytes >= 0)
		cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
	if (r->sha256)
		cJSON_AddStringToObject(o, "sha256", r->sha256);
	if (r->content_type)
		cJSON_AddStringToObject(o, "content_type", r->content_type);
	if (r->path)
		cJSON_AddStringToObject(o, "path", r->path);
	if (r->error)
		cJSON_AddStringToObject(o, "error", r->error);
	if (r->audio_merged >= 0)
		cJSON_AddBoolToObject(o, "audio_merged", r->audio_merged);
	if (r->audio_path)
		cJSON_AddStringToObject(o, "audio_path", r->audio_path);
	if (r->audio_sha256)
		cJSON_AddStringToObject(o, "audio_sha256", r->audio_sha256);
	if (r->audio_bytes >= 0)
		cJSON_AddNumberToObject(o, "audio_bytes",
		    (double)r->audio_bytes);
	return o;
}

cJSON *
proto_stats_report_req(const char *daemon, const char *instance,
    int64_t started_ms, cJSON *metrics)
{
	cJSON	*b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "daemon", daemon);
	cJSON_AddStringToObject(b, "instance", instance);
	cJSON_AddNumberToObject(b, "started_at", (double)started_ms);
	cJSON_AddItemToObject(b, "metrics", metrics ? metrics :
	    cJSON_CreateObject());
	return b;
}

cJSON *
proto_metrics_req(void)
{
	return cJSON_CreateObject();
}
