/*
 * fetchd_parse.c — Reddit JSON to rscrape records: bodies, listings, posts,
 * comments, and the verdict on an error answer or an about page.
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
#include "fetchd/fetchd_stage.h"
#include "lib/jtext.h"

#define SETERR(e)	do { if (errp != NULL) *errp = (e); } while (0)

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
	if ((j = rd_arena_parse(buf, len)) == NULL)
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

static void
add_str_or_null(cJSON *o, const char *key, const char *val)
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
	add_str_or_null(rec, "subreddit", rd_str(data, "subreddit"));
	add_str_or_null(rec, "author", author = rd_str(data, "author"));
	add_str_or_null(rec, "title", rd_str(data, "title"));
	cJSON_AddNumberToObject(rec, "created_utc", p->created_utc);
	cJSON_AddNumberToObject(rec, "score", rd_num(data, "score", 0));
	cJSON_AddNumberToObject(rec, "num_comments", (double)p->num_comments);
	add_str_or_null(rec, "url", rd_str(data, "url"));
	add_str_or_null(rec, "permalink", rd_str(data, "permalink"));
	add_str_or_null(rec, "selftext", selftext = rd_str(data, "selftext"));
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

/* ------------------------------------------------------------------ */

/* the members of a t1 that rd_comment_extract reads: the first of each */
struct t1_fields {
	const cJSON	*name, *id, *link_id, *parent_id, *depth, *body,
			*author, *score, *created_utc;
};

static const struct {
	const char	*key;
	size_t		 off;
} t1_keys[] = {
	{ "author",	 offsetof(struct t1_fields, author) },
	{ "body",	 offsetof(struct t1_fields, body) },
	{ "created_utc", offsetof(struct t1_fields, created_utc) },
	{ "depth",	 offsetof(struct t1_fields, depth) },
	{ "id",		 offsetof(struct t1_fields, id) },
	{ "link_id",	 offsetof(struct t1_fields, link_id) },
	{ "name",	 offsetof(struct t1_fields, name) },
	{ "parent_id",	 offsetof(struct t1_fields, parent_id) },
	{ "score",	 offsetof(struct t1_fields, score) },
};

static void
t1_field(struct t1_fields *f, const cJSON *c)
{
	const char	*k = c->string;
	const cJSON	**slot;
	size_t		 i;

	/* the first byte first: most of a t1's 60-odd keys stop there */
	for (i = 0; i < sizeof(t1_keys) / sizeof(t1_keys[0]); i++) {
		if (k[0] != t1_keys[i].key[0] || strcmp(k, t1_keys[i].key) != 0)
			continue;
		slot = (const cJSON **)(void *)((char *)f + t1_keys[i].off);
		if (*slot == NULL)
			*slot = c;
		return;
	}
}

/*
 * One pass over a t1 data object: its fields into f, and as a raw item
 * the compact text cJSON_PrintUnformatted would give for the object with
 * replies "", whatever it was (a comment never carries its subtree).
 * Cheaper than a copy of the object (that would be printed for jobd
 * anyway), and a few times smaller while the batch waits.
 */
static cJSON *
comment_scan(const cJSON *data, struct t1_fields *f)
{
	static struct jtext t;		/* fetchd is one thread: reused */
	const cJSON	*c;

	memset(f, 0, sizeof(*f));
	t.len = 0;
	if (jtext_lit(&t, "{", 1) == -1)
		return NULL;
	for (c = data->child; c != NULL; c = c->next) {
		if (c->string == NULL)
			continue;
		t1_field(f, c);
		if (t.len > 1 && jtext_lit(&t, ",", 1) == -1)
			return NULL;
		if (jtext_str(&t, c->string) == -1 || jtext_lit(&t, ":", 1) == -1)
			return NULL;
		if (c->string[0] == 'r' && strcmp(c->string, "replies") == 0) {
			if (jtext_lit(&t, "\"\"", 2) == -1)
				return NULL;
		} else if (jtext_value(&t, c) == -1)
			return NULL;
	}
	if (jtext_lit(&t, "}", 1) == -1)
		return NULL;
	return rd_raw_item(t.s, t.len);
}

cJSON *
rd_raw_item(const char *text, size_t n)
{
	cJSON	*raw;
	char	*copy;

	if ((copy = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(copy, text, n);
	copy[n] = '\0';
	if ((raw = cJSON_CreateRaw("")) == NULL) {
		free(copy);
		return NULL;
	}
	/* the text itself, not a copy (cJSON allocates with malloc) */
	free(raw->valuestring);
	raw->valuestring = copy;
	return raw;
}

static const char *
fstr(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
fnum(const cJSON *v, double dflt)
{
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int
rd_comment_extract(const cJSON *data, const char *post_id, int depth,
    struct rd_comment *c, const char **errp)
{
	struct t1_fields f;
	struct rd_t1	 t;
	cJSON		*raw;

	memset(c, 0, sizeof(*c));
	if (!cJSON_IsObject(data)) {
		SETERR("comment data is not an object");
		return -1;
	}
	if ((raw = comment_scan(data, &f)) == NULL) {
		SETERR("out of memory");
		return -1;
	}
	t.name = fstr(f.name);
	t.id = fstr(f.id);
	t.link_id = fstr(f.link_id);
	t.parent_id = fstr(f.parent_id);
	t.author = fstr(f.author);
	t.body = fstr(f.body);
	t.depth = fnum(f.depth, 0);
	t.score = fnum(f.score, 0);
	t.created_utc = fnum(f.created_utc, 0);
	return rd_comment_record(&t, post_id, depth, raw, c, errp);
}

/* id, post_id, parent_id and depth of a comment record from its fields */
static int
t1_resolve(const struct rd_t1 *f, const char *post_id, int *depth,
    char id[RD_FULLNAME_MAX + 1], const char **linkp, const char **parentp,
    const char **errp)
{
	const char	*link_id, *parent_id;

	/* "t1_" + id, from name when it has the prefix, else from id */
	if (f->name != NULL && strncmp(f->name, "t1_", 3) == 0 &&
	    rd_valid_id(f->name + 3))
		snprintf(id, RD_FULLNAME_MAX + 1, "%s", f->name);
	else if (rd_valid_id(f->id))
		snprintf(id, RD_FULLNAME_MAX + 1, "t1_%s", f->id);
	else {
		SETERR("comment without a valid id");
		return -1;
	}
	link_id = f->link_id;
	if (link_id == NULL || strncmp(link_id, "t3_", 3) != 0)
		link_id = post_id;
	if (link_id == NULL) {
		SETERR("comment without link_id");
		return -1;
	}
	parent_id = f->parent_id;
	if (parent_id == NULL || (strncmp(parent_id, "t1_", 3) != 0 &&
	    strncmp(parent_id, "t3_", 3) != 0))
		parent_id = link_id;
	if (*depth < 0)
		*depth = f->depth > 0 && f->depth < 1e6 ? (int)f->depth : 0;
	*linkp = link_id;
	*parentp = parent_id;
	return 0;
}

/*
 * Shared by rd_comment_extract() and the yajl reader (fetchd_stream.c,
 * through fetchd_tree.c), so both make the same record of the same t1.
 */
int
rd_comment_record(const struct rd_t1 *f, const char *post_id, int depth,
    cJSON *raw, struct rd_comment *c, const char **errp)
{
	char		 id[RD_FULLNAME_MAX + 1];
	const char	*link_id, *parent_id;
	cJSON		*rec;

	memset(c, 0, sizeof(*c));
	if (t1_resolve(f, post_id, &depth, id, &link_id, &parent_id,
	    errp) == -1) {
		cJSON_Delete(raw);
		return -1;
	}
	if ((rec = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(raw);
		SETERR("out of memory");
		return -1;
	}
	c->deleted = f->body != NULL && strcmp(f->body, "[deleted]") == 0;
	c->removed = f->body != NULL && strcmp(f->body, "[removed]") == 0;
	c->depth = depth;

	cJSON_AddStringToObject(rec, "id", id);
	cJSON_AddStringToObject(rec, "post_id", link_id);
	cJSON_AddStringToObject(rec, "parent_id", parent_id);
	cJSON_AddNumberToObject(rec, "depth", depth);
	add_str_or_null(rec, "author", f->author);
	add_str_or_null(rec, "body", f->body);
	cJSON_AddNumberToObject(rec, "score", f->score);
	cJSON_AddNumberToObject(rec, "created_utc", f->created_utc);
	cJSON_AddBoolToObject(rec, "deleted", c->deleted);
	cJSON_AddBoolToObject(rec, "removed", c->removed);
	cJSON_AddItemToObject(rec, "raw", raw);

	c->record = rec;
	c->id = rd_str(rec, "id");
	c->parent_id = rd_str(rec, "parent_id");
	return 0;
}

static int
text_str_or_null(struct jtext *t, const char *key, size_t klen,
    const char *val)
{
	if (jtext_lit(t, key, klen) == -1)
		return -1;
	return val != NULL ? jtext_str(t, val) : jtext_lit(t, "null", 4);
}

#define LIT(t, s)	jtext_lit((t), (s), sizeof(s) - 1)

/*
 * The record rd_comment_record() makes, as the text a report sends for it
 * once its raw (rawlen bytes) is in the attachment (lib/worker.h, text
 * records): member for member what jtext prints of the record object
 * after worker_detach(). Appended to t, after a comma when t holds one.
 */
int
rd_comment_text(const struct rd_t1 *f, const char *post_id, int depth,
    size_t rawlen, struct jtext *t, const char **errp)
{
	char		 id[RD_FULLNAME_MAX + 1];
	const char	*link_id, *parent_id;
	int		 del, rem;

	if (t1_resolve(f, post_id, &depth, id, &link_id, &parent_id,
	    errp) == -1)
		return -1;
	del = f->body != NULL && strcmp(f->body, "[deleted]") == 0;
	rem = f->body != NULL && strcmp(f->body, "[removed]") == 0;
	if ((t->len > 0 && LIT(t, ",") == -1) ||
	    LIT(t, "{\"id\":") == -1 || jtext_str(t, id) == -1 ||
	    LIT(t, ",\"post_id\":") == -1 || jtext_str(t, link_id) == -1 ||
	    LIT(t, ",\"parent_id\":") == -1 || jtext_str(t, parent_id) == -1 ||
	    LIT(t, ",\"depth\":") == -1 || jtext_num(t, depth) == -1 ||
	    text_str_or_null(t, ",\"author\":", 10, f->author) == -1 ||
	    text_str_or_null(t, ",\"body\":", 8, f->body) == -1 ||
	    LIT(t, ",\"score\":") == -1 || jtext_num(t, f->score) == -1 ||
	    LIT(t, ",\"created_utc\":") == -1 ||
	    jtext_num(t, f->created_utc) == -1 ||
	    (del ? LIT(t, ",\"deleted\":true") : LIT(t, ",\"deleted\":false")) ==
	    -1 ||
	    (rem ? LIT(t, ",\"removed\":true") : LIT(t, ",\"removed\":false")) ==
	    -1 ||
	    LIT(t, ",\"raw_len\":") == -1 || jtext_num(t, (double)rawlen) == -1 ||
	    LIT(t, "}") == -1) {
		SETERR("out of memory");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */

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
