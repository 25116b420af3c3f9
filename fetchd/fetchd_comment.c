/*
 * fetchd_comment.c — Reddit comments (t1) to rscrape records: the fields
 * rd_comment_extract() reads from a cJSON tree, and the record and text
 * forms that fetchd_tree.c reports, whichever reader staged the comment.
 *
 * Nothing here does I/O or keeps state.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd_parse.h"
#include "fetchd/fetchd_stage.h"
#include "lib/jtext.h"

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
 * Shared by rd_comment_extract() and the stream reader (fetchd_stream.c,
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
	rd_add_str_or_null(rec, "author", f->author);
	rd_add_str_or_null(rec, "body", f->body);
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
