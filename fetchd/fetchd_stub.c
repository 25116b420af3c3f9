/*
 * fetchd_stub.c — temporary stubs so fetchd_parse.h links while the
 * implementation lands; removed when fetchd_parse.c, fetchd_tree.c and
 * fetchd_media.c are complete.
 */
#include <stdio.h>
#include <string.h>

#include "fetchd/fetchd_parse.h"

static const char notyet[] = "not implemented yet";

#define ERR(e)	do { if (errp != NULL) *errp = (e); } while (0)

cJSON *
rd_json_parse(const char *buf, size_t len, const char **errp)
{
	cJSON	*j;

	if (buf == NULL || len == 0) {
		ERR("empty body");
		return NULL;
	}
	if ((j = cJSON_ParseWithLength(buf, len)) == NULL)
		ERR("truncated or invalid JSON");
	return j;
}

void
rd_unescape(char *s)
{
	(void)s;
}

void
rd_json_unescape(cJSON *item)
{
	(void)item;
}

const char *
rd_thing(const cJSON *thing, const cJSON **datap)
{
	(void)thing;
	*datap = NULL;
	return NULL;
}

int
rd_listing_parse(const char *buf, size_t len, struct rd_listing *l,
    const char **errp)
{
	(void)buf; (void)len;
	memset(l, 0, sizeof(*l));
	ERR(notyet);
	return -1;
}

int
rd_listing_from_json(const cJSON *obj, struct rd_listing *l, const char **errp)
{
	(void)obj;
	memset(l, 0, sizeof(*l));
	ERR(notyet);
	return -1;
}

void
rd_listing_free(struct rd_listing *l)
{
	cJSON_Delete(l->root);
	memset(l, 0, sizeof(*l));
}

const char *
rd_post_type_name(enum rd_post_type t)
{
	(void)t;
	return "link";
}

enum rd_post_type
rd_post_classify(const cJSON *data)
{
	(void)data;
	return RD_POST_LINK;
}

int
rd_post_extract(const cJSON *data, struct rd_post *p, const char **errp)
{
	(void)data;
	memset(p, 0, sizeof(*p));
	ERR(notyet);
	return -1;
}

int
rd_comment_extract(const cJSON *data, const char *post_id, int depth,
    struct rd_comment *c, const char **errp)
{
	(void)data; (void)post_id; (void)depth;
	memset(c, 0, sizeof(*c));
	ERR(notyet);
	return -1;
}

struct rd_thread *
rd_thread_new(const char *post_id)
{
	(void)post_id;
	return NULL;
}

void
rd_thread_free(struct rd_thread *th)
{
	(void)th;
}

const char *
rd_thread_post_id(const struct rd_thread *th)
{
	(void)th;
	return "";
}

int
rd_thread_add_tree(struct rd_thread *th, const char *buf, size_t len,
    struct rd_post *post, cJSON *comments, const char **errp)
{
	(void)th; (void)buf; (void)len; (void)post; (void)comments;
	ERR(notyet);
	return -1;
}

int
rd_thread_add_morechildren(struct rd_thread *th, const char *buf, size_t len,
    cJSON *comments, const char **errp)
{
	(void)th; (void)buf; (void)len; (void)comments;
	ERR(notyet);
	return -1;
}

int
rd_thread_add_continue(struct rd_thread *th, const char *parent,
    const char *buf, size_t len, cJSON *comments, const char **errp)
{
	(void)th; (void)parent; (void)buf; (void)len; (void)comments;
	ERR(notyet);
	return -1;
}

int
rd_thread_add_tree_json(struct rd_thread *th, const cJSON *root,
    struct rd_post *post, cJSON *comments, const char **errp)
{
	(void)th; (void)root; (void)post; (void)comments;
	ERR(notyet);
	return -1;
}

int
rd_thread_add_morechildren_json(struct rd_thread *th, const cJSON *root,
    cJSON *comments, const char **errp)
{
	(void)th; (void)root; (void)comments;
	ERR(notyet);
	return -1;
}

int
rd_thread_add_continue_json(struct rd_thread *th, const char *parent,
    const cJSON *root, cJSON *comments, const char **errp)
{
	(void)th; (void)parent; (void)root; (void)comments;
	ERR(notyet);
	return -1;
}

int
rd_thread_next_batch(struct rd_thread *th, char *buf, size_t bufsize, int max)
{
	(void)th; (void)buf; (void)bufsize; (void)max;
	return 0;
}

void
rd_thread_unget_batch(struct rd_thread *th, const char *csv)
{
	(void)th; (void)csv;
}

int
rd_thread_next_continue(struct rd_thread *th, char parent[RD_FULLNAME_MAX + 1])
{
	(void)th; (void)parent;
	return 0;
}

int
rd_thread_done(const struct rd_thread *th)
{
	(void)th;
	return 1;
}

void
rd_thread_stats(const struct rd_thread *th, struct rd_thread_stats *s)
{
	(void)th;
	memset(s, 0, sizeof(*s));
}

cJSON *
rd_thread_checkpoint(const struct rd_thread *th)
{
	(void)th;
	return cJSON_CreateObject();
}

int
rd_thread_restore(struct rd_thread *th, const cJSON *ckpt, const char **errp)
{
	(void)th; (void)ckpt;
	ERR(notyet);
	return -1;
}

const char *
rd_status_name(enum rd_status s)
{
	(void)s;
	return "error";
}

enum rd_status
rd_classify(long http_status, const char *body, size_t len,
    const char *location, enum rd_target target, const char *name,
    struct rd_verdict *v)
{
	(void)body; (void)len; (void)location; (void)target; (void)name;
	memset(v, 0, sizeof(*v));
	v->http_status = (int)http_status;
	v->status = http_status >= 200 && http_status < 300 ? RD_S_OK :
	    RD_S_HTTP;
	snprintf(v->message, sizeof(v->message), "HTTP %ld", http_status);
	return v->status;
}

enum rd_status
rd_about_subreddit(const char *buf, size_t len, const char *name,
    struct rd_verdict *v, char *canon, size_t canonsize)
{
	(void)buf; (void)len; (void)name; (void)canon; (void)canonsize;
	memset(v, 0, sizeof(*v));
	v->status = RD_S_OK;
	return RD_S_OK;
}

enum rd_status
rd_about_user(const char *buf, size_t len, const char *name,
    struct rd_verdict *v, char *canon, size_t canonsize)
{
	(void)buf; (void)len; (void)name; (void)canon; (void)canonsize;
	memset(v, 0, sizeof(*v));
	v->status = RD_S_OK;
	return RD_S_OK;
}

int
rd_media_extract(const cJSON *post_data, cJSON *out, const char **errp)
{
	(void)post_data; (void)out;
	ERR(notyet);
	return -1;
}
