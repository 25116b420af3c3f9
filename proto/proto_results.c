/*
 * proto_results.c — request bodies of the results messages (post.list,
 * post.get, comment.list, media.list, media.file; see proto.h).
 */
#include "proto/proto.h"

static void
add_opt_str(cJSON *b, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(b, key, v);
}

cJSON *
proto_post_list_req(const struct proto_post_query *q)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "workspace_id", q->workspace_id);
	add_opt_str(b, "job_id", q->job_id);
	add_opt_str(b, "q", q->q);
	add_opt_str(b, "subreddit", q->subreddit);
	add_opt_str(b, "author", q->author);
	add_opt_str(b, "post_type", q->post_type);
	add_opt_str(b, "sentiment_label", q->sentiment_label);
	add_opt_str(b, "sort_by", q->sort_by);
	add_opt_str(b, "sort_order", q->sort_order);
	add_opt_str(b, "cursor", q->cursor);
	if (q->has_min_score)
		cJSON_AddNumberToObject(b, "min_score", (double)q->min_score);
	if (q->has_max_score)
		cJSON_AddNumberToObject(b, "max_score", (double)q->max_score);
	cJSON_AddNumberToObject(b, "limit", (double)q->limit);
	cJSON_AddBoolToObject(b, "count", !q->no_count);
	return b;
}

cJSON *
proto_post_get_req(const char *workspace_id, const char *post_id)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "workspace_id", workspace_id);
	cJSON_AddStringToObject(b, "post_id", post_id);
	return b;
}

cJSON *
proto_item_list_req(const char *workspace_id, const char *job_id,
    const char *post_id, int64_t limit, const char *cursor, int count)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "workspace_id", workspace_id);
	cJSON_AddStringToObject(b, "job_id", job_id);
	add_opt_str(b, "post_id", post_id);
	add_opt_str(b, "cursor", cursor);
	cJSON_AddNumberToObject(b, "limit", (double)limit);
	cJSON_AddBoolToObject(b, "count", count);
	return b;
}

cJSON *
proto_media_file_req(const char *workspace_id, const char *sha256)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "workspace_id", workspace_id);
	cJSON_AddStringToObject(b, "sha256", sha256);
	return b;
}
