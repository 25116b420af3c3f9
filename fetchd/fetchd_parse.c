/*
 * fetchd_parse.c — Reddit JSON to rscrape records: bodies, listings and
 * posts. Comments are in fetchd_comment.c, the verdict on an error answer
 * or an about page in fetchd_verdict.c.
 *
 * Nothing here does I/O or keeps state; fetchd_tree.c builds comment
 * trees on top of rd_comment_extract() and fetchd_media.c finds media.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetchd/fetchd_parse.h"
#include "lib/jarena.h"

/*
 * cJSON's own limit (1000) keeps its parser safe but lets through trees
 * whose walk would be pointlessly deep; a linear pre-scan refuses them.
 */
static int
json_too_deep(const char *buf, size_t len)
{
	const char	*p = buf, *e = buf + len, *q;
	size_t		 bs;
	int		 depth = 0;

	while (p < e) {
		switch (*p++) {
		case '"':
			/* the closing quote: not after an odd run of '\\' */
			for (;;) {
				if ((q = memchr(p, '"', (size_t)(e - p))) == NULL)
					return 0;	/* cJSON refuses it */
				for (bs = 0; q - bs > p && q[-1 - (long)bs] ==
				    '\\'; bs++)
					;
				p = q + 1;
				if (bs % 2 == 0)
					break;
			}
			break;
		case '{':
		case '[':
			if (++depth > RD_NESTING_MAX)
				return 1;
			break;
		case '}':
		case ']':
			depth--;
			break;
		}
	}
	return 0;
}

cJSON *
rd_json_parse(const char *buf, size_t len, const char **errp)
{
	cJSON	*j;

	if (buf == NULL || len == 0) {
		SETERR("empty body");
		return NULL;
	}
	if (json_too_deep(buf, len)) {
		SETERR("JSON nested too deeply");
		return NULL;
	}
	if ((j = jarena_parse(buf, len)) == NULL)
		SETERR("truncated or invalid JSON");
	return j;
}

void
rd_unescape(char *s)
{
	static const struct {
		const char	*ent;
		size_t		 len;
		char		 c;
	} ents[] = {
		{ "&amp;", 5, '&' }, { "&lt;", 4, '<' }, { "&gt;", 4, '>' },
	};
	char	*r, *w;
	size_t	 i;

	if (s == NULL || (r = strchr(s, '&')) == NULL)
		return;
	for (w = r; *r != '\0';) {
		if (*r == '&') {
			for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
				if (strncmp(r, ents[i].ent, ents[i].len) == 0)
					break;
			if (i < sizeof(ents) / sizeof(ents[0])) {
				*w++ = ents[i].c;
				r += ents[i].len;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
}

void
rd_json_unescape(cJSON *item)
{
	cJSON	*c;

	if (item == NULL)
		return;
	if (cJSON_IsString(item) && item->valuestring != NULL)
		rd_unescape(item->valuestring);
	/* Keys are Reddit's own field names: never escaped. */
	for (c = item->child; c != NULL; c = c->next)
		rd_json_unescape(c);
}

const char *
rd_str(const cJSON *obj, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double
rd_num(const cJSON *obj, const char *key, double dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int
rd_true(const cJSON *obj, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

const cJSON *
rd_obj(const cJSON *obj, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *
rd_arr(const cJSON *obj, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsArray(v) ? v : NULL;
}

int
rd_valid_id(const char *id)
{
	size_t	 n;

	if (id == NULL)
		return 0;
	for (n = 0; id[n] != '\0'; n++)
		if (!isdigit((unsigned char)id[n]) &&
		    !islower((unsigned char)id[n]))
			return 0;
	return n > 0 && n <= RD_FULLNAME_MAX - 3;
}

const char *
rd_thing(const cJSON *thing, const cJSON **datap)
{
	const char	*kind;
	const cJSON	*data;

	*datap = NULL;
	if (!cJSON_IsObject(thing) || (kind = rd_str(thing, "kind")) == NULL ||
	    (data = rd_obj(thing, "data")) == NULL)
		return NULL;
	*datap = data;
	return kind;
}

int
rd_listing_from_json(const cJSON *obj, struct rd_listing *l,
    const char **errp)
{
	const cJSON	*data, *children, *dist;
	const char	*kind;

	memset(l, 0, sizeof(*l));
	l->dist = -1;
	if ((kind = rd_thing(obj, &data)) == NULL ||
	    strcmp(kind, "Listing") != 0) {
		SETERR("not a Listing");
		return -1;
	}
	if ((children = rd_arr(data, "children")) == NULL) {
		SETERR("Listing without a children array");
		return -1;
	}
	l->children = children;
	l->nchildren = (size_t)cJSON_GetArraySize(children);
	l->after = rd_str(data, "after");
	if (l->after != NULL && l->after[0] == '\0')
		l->after = NULL;
	l->before = rd_str(data, "before");
	dist = cJSON_GetObjectItemCaseSensitive(data, "dist");
	if (cJSON_IsNumber(dist) && dist->valuedouble >= 0 &&
	    dist->valuedouble < 1e9)
		l->dist = (int)dist->valuedouble;
	return 0;
}

int
rd_listing_parse(const char *buf, size_t len, struct rd_listing *l,
    const char **errp)
{
	cJSON	*root;

	memset(l, 0, sizeof(*l));
	if ((root = rd_json_parse(buf, len, errp)) == NULL)
		return -1;
	if (rd_listing_from_json(root, l, errp) == -1) {
		cJSON_Delete(root);
		return -1;
	}
	l->root = root;
	return 0;
}

void
rd_listing_free(struct rd_listing *l)
{
	cJSON_Delete(l->root);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------ */

const char *
rd_post_type_name(enum rd_post_type t)
{
	switch (t) {
	case RD_POST_SELF:
		return "self";
	case RD_POST_IMAGE:
		return "image";
	case RD_POST_VIDEO:
		return "video";
	case RD_POST_GALLERY:
		return "gallery";
	case RD_POST_LINK:
	default:
		return "link";
	}
}

/* The URL's path ends in one of exts (query and fragment ignored). */
int
rd_url_ext_is(const char *url, const char *const *exts)
{
	const char	*end, *dot;
	size_t		 n;

	if (url == NULL)
		return 0;
	end = url + strcspn(url, "?#");
	for (dot = end; dot > url && dot[-1] != '.' && dot[-1] != '/'; dot--)
		;
	if (dot == url || dot[-1] != '.')
		return 0;
	n = (size_t)(end - dot);
	for (; *exts != NULL; exts++)
		if (strlen(*exts) == n && strncasecmp(dot, *exts, n) == 0)
			return 1;
	return 0;
}

const char *const rd_image_exts[] = {
	"jpg", "jpeg", "png", "gif", "webp", NULL
};

/* A reddit_video object from media or secure_media, or NULL. */
const cJSON *
rd_reddit_video(const cJSON *data)
{
	const cJSON	*v;

	if ((v = rd_obj(rd_obj(data, "secure_media"), "reddit_video")) != NULL)
		return v;
	return rd_obj(rd_obj(data, "media"), "reddit_video");
}

static enum rd_post_type
classify_one(const cJSON *data)
{
	const char	*hint = rd_str(data, "post_hint");
	const char	*domain = rd_str(data, "domain");
	const char	*url = rd_str(data, "url_overridden_by_dest");

	if (url == NULL)
		url = rd_str(data, "url");
	if (rd_true(data, "is_self"))
		return RD_POST_SELF;
	if (rd_true(data, "is_gallery") || rd_obj(data, "gallery_data") != NULL)
		return RD_POST_GALLERY;
	if (rd_true(data, "is_video") || rd_reddit_video(data) != NULL)
		return RD_POST_VIDEO;
	if (hint != NULL) {
		if (strcmp(hint, "image") == 0)
			return RD_POST_IMAGE;
		if (strcmp(hint, "hosted:video") == 0)
			return RD_POST_VIDEO;
		return RD_POST_LINK;
	}
	/*
	 * Older posts carry no post_hint: Reddit's own image host is named
	 * by the domain field, other direct images by the path's extension.
	 */
	if (domain != NULL && strcmp(domain, "i.redd.it") == 0)
		return RD_POST_IMAGE;
	if (rd_url_ext_is(url, rd_image_exts))
		return RD_POST_IMAGE;
	return RD_POST_LINK;
}

/* crosspost_parent_list[0] when it is an object, else NULL. */
const cJSON *
rd_crosspost_parent(const cJSON *data)
{
	const cJSON	*list = rd_arr(data, "crosspost_parent_list");
	const cJSON	*first;

	if (list == NULL || (first = cJSON_GetArrayItem(list, 0)) == NULL ||
	    !cJSON_IsObject(first))
		return NULL;
	return first;
}

enum rd_post_type
rd_post_classify(const cJSON *data)
{
	enum rd_post_type	 t;
	const cJSON		*parent;

	t = classify_one(data);
	if (t == RD_POST_LINK && (parent = rd_crosspost_parent(data)) != NULL)
		t = classify_one(parent);
	return t;
}

void
rd_add_str_or_null(cJSON *o, const char *key, const char *val)
{
	if (val != NULL)
		cJSON_AddStringToObject(o, key, val);
	else
		cJSON_AddNullToObject(o, key);
}

/* "t3_" + id, from name when it has the prefix, else from id. */
static int
fullname(const cJSON *data, const char *prefix, char *out, size_t outsize)
{
	const char	*name = rd_str(data, "name"), *id = rd_str(data, "id");

	if (name != NULL && strncmp(name, prefix, 3) == 0 &&
	    rd_valid_id(name + 3)) {
		snprintf(out, outsize, "%s", name);
		return 0;
	}
	if (rd_valid_id(id)) {
		snprintf(out, outsize, "%s%s", prefix, id);
		return 0;
	}
	return -1;
}

int
rd_post_extract(const cJSON *data, struct rd_post *p, const char **errp)
{
	char		 id[RD_FULLNAME_MAX + 1];
	const char	*rbc, *author, *selftext;
	cJSON		*rec, *raw;
	const cJSON	*edited;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(data)) {
		SETERR("post data is not an object");
		return -1;
	}
	if (fullname(data, "t3_", id, sizeof(id)) == -1) {
		SETERR("post without a valid id");
		return -1;
	}
	if ((raw = cJSON_Duplicate(data, 1)) == NULL ||
	    (rec = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(raw);
		SETERR("out of memory");
		return -1;
	}
	p->type = rd_post_classify(data);
	p->created_utc = rd_num(data, "created_utc", 0);
	p->num_comments = (int64_t)rd_num(data, "num_comments", 0);
	if (p->num_comments < 0)
		p->num_comments = 0;

	cJSON_AddStringToObject(rec, "id", id);
	rd_add_str_or_null(rec, "subreddit", rd_str(data, "subreddit"));
	rd_add_str_or_null(rec, "author", author = rd_str(data, "author"));
	rd_add_str_or_null(rec, "title", rd_str(data, "title"));
	cJSON_AddNumberToObject(rec, "created_utc", p->created_utc);
	cJSON_AddNumberToObject(rec, "score", rd_num(data, "score", 0));
	cJSON_AddNumberToObject(rec, "num_comments", (double)p->num_comments);
	rd_add_str_or_null(rec, "url", rd_str(data, "url"));
	rd_add_str_or_null(rec, "permalink", rd_str(data, "permalink"));
	rd_add_str_or_null(rec, "selftext", selftext = rd_str(data, "selftext"));
	cJSON_AddStringToObject(rec, "post_type", rd_post_type_name(p->type));
	cJSON_AddItemToObject(rec, "raw", raw);

	p->record = rec;
	p->id = rd_str(rec, "id");
	p->subreddit = rd_str(rec, "subreddit");
	if ((rbc = rd_str(raw, "removed_by_category")) != NULL) {
		p->removed_by_category = rbc;
		p->flags |= strcmp(rbc, "deleted") == 0 ? RD_PF_DELETED :
		    RD_PF_REMOVED;
	} else if (author != NULL && strcmp(author, "[deleted]") == 0 &&
	    selftext != NULL && strcmp(selftext, "[deleted]") == 0)
		p->flags |= RD_PF_DELETED;
	if (rd_true(data, "stickied"))
		p->flags |= RD_PF_STICKIED;
	if (rd_true(data, "over_18"))
		p->flags |= RD_PF_OVER18;
	edited = cJSON_GetObjectItemCaseSensitive(data, "edited");
	if (cJSON_IsTrue(edited) ||
	    (cJSON_IsNumber(edited) && edited->valuedouble > 0))
		p->flags |= RD_PF_EDITED;
	if (rd_crosspost_parent(data) != NULL)
		p->flags |= RD_PF_CROSSPOST;
	return 0;
}
