/*
 * fetchd_tree.c — one post's comment tree, assembled across requests.
 *
 * A thread remembers every comment id it has emitted (with its absolute
 * depth), the pool of ids still hidden behind load-more stubs and the
 * queue of continue-this-thread parents. The map is an open-addressing
 * hash table and the pool a ring buffer, so a 500 KB page with thousands
 * of comments and ids costs linear time, whatever order Reddit answers in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd_parse.h"
#include "fetchd/fetchd_stage.h"
#include "lib/worker.h"

#define SETERR(e)	do { if (errp != NULL) *errp = (e); } while (0)

#define F_COMMENT	0x01	/* emitted as a comment; depth is valid */
#define F_DEPTH		0x02	/* depth is valid (a continue parent) */
#define F_QUEUED	0x04	/* in the morechildren pool */
#define F_CONT		0x08	/* its continue stub is queued or done */
#define F_DROPPED	0x10	/* given up after RD_THREAD_ATTEMPTS */

struct ent {
	char		key[RD_FULLNAME_MAX + 1];	/* bare id; "" = free */
	int		depth;
	uint8_t		flags;
	uint8_t		attempts;
};

struct idslot {
	char		id[RD_FULLNAME_MAX + 1];
};

struct cont {
	char		parent[RD_FULLNAME_MAX + 1];	/* "t1_P" */
	int		depth;				/* the stub's */
};

struct rd_thread {
	char		 post[RD_FULLNAME_MAX + 1];	/* "t3_..." */
	struct ent	*map;
	size_t		 mapcap, mapn;
	struct idslot	*pool;		/* ring buffer */
	size_t		 poolcap, poolhead, pooln;
	struct cont	*conts;
	size_t		 contcap, conthead, contn;	/* contn: all ever */
	struct rd_thread_stats st;
	char		 err[256];
};

/* One response being walked. */
struct walk {
	struct rd_thread *th;
	cJSON		*out;
	int		 offset;	/* added to Reddit's depth as fallback */
	const char	*root;		/* continue root P (bare), or NULL */
	int		 added;
	const char	*err;
	/*
	 * morechildren answers only: the ids handed back unexpanded, queued
	 * after the walk, once it is known whether the answer made progress.
	 */
	int		 defer;
	const char	**bounced;
	size_t		 nbounced, capbounced;
};

static int
bounce(struct walk *w, const char *id)
{
	const char	**nb;
	size_t		  cap;

	if (w->nbounced == w->capbounced) {
		cap = w->capbounced ? w->capbounced * 2 : 128;
		if ((nb = reallocarray(w->bounced, cap, sizeof(*nb))) == NULL)
			return -1;
		w->bounced = nb;
		w->capbounced = cap;
	}
	w->bounced[w->nbounced++] = id;
	return 0;
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct ent *
map_find(const struct rd_thread *th, const char *key)
{
	size_t	 i, mask = th->mapcap - 1;

	for (i = hash(key) & mask; th->map[i].key[0] != '\0';
	    i = (i + 1) & mask)
		if (strcmp(th->map[i].key, key) == 0)
			return &th->map[i];
	return NULL;
}

static int
map_grow(struct rd_thread *th)
{
	struct ent	*old = th->map, *e;
	size_t		 oldcap = th->mapcap, i, j, mask;

	if ((th->map = calloc(oldcap * 2, sizeof(*th->map))) == NULL) {
		th->map = old;
		return -1;
	}
	th->mapcap = oldcap * 2;
	mask = th->mapcap - 1;
	for (i = 0; i < oldcap; i++) {
		e = &old[i];
		if (e->key[0] == '\0')
			continue;
		for (j = hash(e->key) & mask; th->map[j].key[0] != '\0';
		    j = (j + 1) & mask)
			;
		th->map[j] = *e;
	}
	free(old);
	return 0;
}

/* The entry for a valid bare id, created when missing; NULL on ENOMEM. */
static struct ent *
map_get(struct rd_thread *th, const char *key)
{
	struct ent	*e;
	size_t		 i, mask;

	if ((e = map_find(th, key)) != NULL)
		return e;
	if ((th->mapn + 1) * 2 > th->mapcap && map_grow(th) == -1)
		return NULL;
	mask = th->mapcap - 1;
	for (i = hash(key) & mask; th->map[i].key[0] != '\0';
	    i = (i + 1) & mask)
		;
	e = &th->map[i];
	snprintf(e->key, sizeof(e->key), "%s", key);
	th->mapn++;
	return e;
}

static int
pool_reserve(struct rd_thread *th)
{
	struct idslot	*np;
	size_t		 ncap, i;

	if (th->pooln < th->poolcap)
		return 0;
	ncap = th->poolcap * 2;
	if ((np = calloc(ncap, sizeof(*np))) == NULL)
		return -1;
	for (i = 0; i < th->pooln; i++)
		np[i] = th->pool[(th->poolhead + i) % th->poolcap];
	free(th->pool);
	th->pool = np;
	th->poolcap = ncap;
	th->poolhead = 0;
	return 0;
}

static int
pool_push(struct rd_thread *th, const char *id, int front)
{
	size_t	 slot;

	if (pool_reserve(th) == -1)
		return -1;
	if (front) {
		th->poolhead = (th->poolhead + th->poolcap - 1) % th->poolcap;
		slot = th->poolhead;
	} else
		slot = (th->poolhead + th->pooln) % th->poolcap;
	snprintf(th->pool[slot].id, sizeof(th->pool[slot].id), "%s", id);
	th->pooln++;
	return 0;
}

/* Bare id of a "t1_x" fullname, or NULL. */
static const char *
t1_id(const char *fullname)
{
	if (fullname == NULL || strncmp(fullname, "t1_", 3) != 0 ||
	    !rd_valid_id(fullname + 3))
		return NULL;
	return fullname + 3;
}

struct rd_thread *
rd_thread_new(const char *post_id)
{
	struct rd_thread	*th;

	if (post_id != NULL && strncmp(post_id, "t3_", 3) == 0)
		post_id += 3;
	if (!rd_valid_id(post_id))
		return NULL;
	if ((th = calloc(1, sizeof(*th))) == NULL)
		return NULL;
	snprintf(th->post, sizeof(th->post), "t3_%s", post_id);
	th->mapcap = 256;
	th->poolcap = 128;
	th->contcap = 8;
	th->map = calloc(th->mapcap, sizeof(*th->map));
	th->pool = calloc(th->poolcap, sizeof(*th->pool));
	th->conts = calloc(th->contcap, sizeof(*th->conts));
	if (th->map == NULL || th->pool == NULL || th->conts == NULL) {
		rd_thread_free(th);
		return NULL;
	}
	return th;
}

void
rd_thread_free(struct rd_thread *th)
{
	if (th == NULL)
		return;
	free(th->map);
	free(th->pool);
	free(th->conts);
	free(th);
}

const char *
rd_thread_post_id(const struct rd_thread *th)
{
	return th->post;
}

/* Queue a load-more id unless known, queued or given up on. */
static int
enqueue_id(struct rd_thread *th, const char *id)
{
	struct ent	*e;

	if ((e = map_get(th, id)) == NULL)
		return -1;
	if (e->flags & (F_COMMENT | F_QUEUED | F_DROPPED))
		return 0;
	if (e->attempts >= RD_THREAD_ATTEMPTS) {
		e->flags |= F_DROPPED;
		th->st.dropped_ids++;
		return 0;
	}
	if (pool_push(th, id, 0) == -1)
		return -1;
	e->flags |= F_QUEUED;
	return 0;
}

static int
enqueue_continue(struct rd_thread *th, const char *parent, int stubdepth)
{
	struct ent	*e;
	struct cont	*nc;
	size_t		 i;

	if ((e = map_get(th, parent)) == NULL)
		return -1;
	if (e->flags & F_CONT)
		return 0;
	if (th->contn == th->contcap) {
		/* compact away what was handed out before growing */
		if (th->conthead > 0) {
			for (i = th->conthead; i < th->contn; i++)
				th->conts[i - th->conthead] = th->conts[i];
			th->contn -= th->conthead;
			th->conthead = 0;
		} else {
			nc = reallocarray(th->conts, th->contcap * 2,
			    sizeof(*nc));
			if (nc == NULL)
				return -1;
			th->conts = nc;
			th->contcap *= 2;
		}
	}
	snprintf(th->conts[th->contn].parent, sizeof(th->conts[0].parent),
	    "t1_%s", parent);
	th->conts[th->contn].depth = stubdepth;
	th->contn++;
	e->flags |= F_CONT;
	if (!(e->flags & (F_COMMENT | F_DEPTH)) && stubdepth > 0) {
		e->depth = stubdepth - 1;
		e->flags |= F_DEPTH;
	}
	return 0;
}

/* Absolute depth of a thing from its parent, else Reddit's + offset. */
static int
thing_depth(struct walk *w, const cJSON *data)
{
	const char	*parent = rd_str(data, "parent_id"), *pid;
	const struct ent *e;
	double		 d;

	if (parent != NULL && strncmp(parent, "t3_", 3) == 0)
		return 0;
	if ((pid = t1_id(parent)) != NULL &&
	    (e = map_find(w->th, pid)) != NULL &&
	    (e->flags & (F_COMMENT | F_DEPTH)))
		return e->depth + 1;
	d = rd_num(data, "depth", 0) + w->offset;
	return d > 0 && d < 1e6 ? (int)d : 0;
}

static int
walk_more(struct walk *w, const cJSON *data)
{
	const cJSON	*children, *c;
	const char	*id = rd_str(data, "id"), *pid;
	double		 count = rd_num(data, "count", 0);

	w->th->st.more_objects++;
	children = rd_arr(data, "children");
	if ((id != NULL && strcmp(id, "_") == 0) || (count <= 0 &&
	    (children == NULL || cJSON_GetArraySize(children) == 0))) {
		if ((pid = t1_id(rd_str(data, "parent_id"))) == NULL)
			return 0;	/* a continue stub needs a comment */
		return enqueue_continue(w->th, pid, thing_depth(w, data));
	}
	if (count > 0 && count < 1e12)
		w->th->st.hidden_count += (int64_t)count;
	cJSON_ArrayForEach(c, children) {
		if (!cJSON_IsString(c) || !rd_valid_id(c->valuestring))
			continue;
		if (w->defer) {
			if (bounce(w, c->valuestring) == -1)
				return -1;
		} else if (enqueue_id(w->th, c->valuestring) == -1)
			return -1;
	}
	return 0;
}

static int
walk_children(struct walk *w, const cJSON *children, int nesting)
{
	const cJSON	*thing, *data, *replies, *rdata;
	const char	*kind, *id;
	struct rd_comment c;
	struct ent	*e;
	int		 depth;

	if (nesting > RD_NESTING_MAX) {
		w->err = "comment tree nested too deeply";
		return -1;
	}
	cJSON_ArrayForEach(thing, children) {
		if ((kind = rd_thing(thing, &data)) == NULL)
			continue;
		if (strcmp(kind, "more") == 0) {
			if (walk_more(w, data) == -1)
				goto nomem;
			continue;
		}
		if (strcmp(kind, "t1") != 0 ||
		    !rd_valid_id(id = rd_str(data, "id")))
			continue;
		depth = thing_depth(w, data);
		if ((e = map_get(w->th, id)) == NULL)
			goto nomem;
		if (e->flags & F_COMMENT) {
			if (w->root == NULL || strcmp(w->root, id) != 0)
				w->th->st.duplicates++;
		} else {
			if (rd_comment_extract(data, w->th->post, depth, &c,
			    NULL) == -1)
				continue;
			cJSON_AddItemToArray(w->out, c.record);
			/* map_get may have moved the table: look again */
			e = map_find(w->th, id);
			e->depth = depth;
			e->flags |= F_COMMENT;
			w->th->st.comments++;
			w->added++;
		}
		replies = cJSON_GetObjectItemCaseSensitive(data, "replies");
		if (rd_thing(replies, &rdata) != NULL &&
		    walk_children(w, rd_arr(rdata, "children"),
		    nesting + 1) == -1)
			return -1;
	}
	return 0;
 nomem:
	w->err = "out of memory";
	return -1;
}

static int
walk_listing(struct walk *w, const cJSON *listing, const char **errp)
{
	struct rd_listing l;

	if (rd_listing_from_json(listing, &l, errp) == -1)
		return -1;
	if (walk_children(w, l.children, 0) == -1) {
		SETERR(w->err);
		return -1;
	}
	return w->added;
}

/* The t3 data of a tree response's first listing, checked against th. */
static const cJSON *
tree_post(struct rd_thread *th, const cJSON *root, const cJSON **second,
    const char **errp)
{
	struct rd_listing l;
	const cJSON	*data;
	const char	*kind, *id;

	if (!cJSON_IsArray(root) || cJSON_GetArraySize(root) < 2) {
		SETERR("not a comment tree (expected [post, comments])");
		return NULL;
	}
	if (rd_listing_from_json(cJSON_GetArrayItem(root, 0), &l, errp) == -1)
		return NULL;
	kind = rd_thing(cJSON_GetArrayItem(l.children, 0), &data);
	if (kind == NULL || strcmp(kind, "t3") != 0) {
		SETERR("comment tree without its post");
		return NULL;
	}
	if ((id = rd_str(data, "id")) == NULL || strcmp(id, th->post + 3)) {
		SETERR("comment tree of another post");
		return NULL;
	}
	*second = cJSON_GetArrayItem(root, 1);
	return data;
}

int
rd_thread_add_tree_json(struct rd_thread *th, const cJSON *root,
    struct rd_post *post, cJSON *comments, const char **errp)
{
	struct walk	 w = { .th = th, .out = comments };
	const cJSON	*data, *second;
	int		 n;

	if (post != NULL)
		memset(post, 0, sizeof(*post));
	if ((data = tree_post(th, root, &second, errp)) == NULL)
		return -1;
	if ((n = walk_listing(&w, second, errp)) == -1)
		return -1;
	if (post != NULL && rd_post_extract(data, post, errp) == -1)
		return -1;
	return n;
}

int
rd_thread_add_morechildren_json(struct rd_thread *th, const cJSON *root,
    cJSON *comments, const char **errp)
{
	struct walk	 w = { .th = th, .out = comments, .defer = 1 };
	const cJSON	*json, *errors, *things, *e0;
	const char	*code, *msg;
	struct ent	*e;
	size_t		 i;
	int		 rv = -1;

	if ((json = rd_obj(root, "json")) == NULL) {
		SETERR("not a morechildren reply (no json object)");
		return -1;
	}
	if ((errors = rd_arr(json, "errors")) != NULL &&
	    (e0 = cJSON_GetArrayItem(errors, 0)) != NULL) {
		code = cJSON_IsArray(e0) ?
		    cJSON_GetStringValue(cJSON_GetArrayItem(e0, 0)) : NULL;
		msg = cJSON_IsArray(e0) ?
		    cJSON_GetStringValue(cJSON_GetArrayItem(e0, 1)) : NULL;
		snprintf(th->err, sizeof(th->err), "morechildren error %s: %s",
		    code != NULL ? code : "?", msg != NULL ? msg : "?");
		SETERR(th->err);
		return -1;
	}
	if ((things = rd_arr(rd_obj(json, "data"), "things")) == NULL) {
		SETERR("morechildren reply without data.things");
		return -1;
	}
	if (walk_children(&w, things, 0) == -1) {
		SETERR(w.err);
		goto out;
	}
	/*
	 * Reddit answers at most ~100 comments per call and hands the ids that
	 * did not fit back in new `more` objects. That is progress, not a
	 * failure: only an answer that brought nothing new counts against the
	 * ids it bounced (RD_THREAD_ATTEMPTS). Each answer with progress
	 * stores at least one new comment, so this still ends.
	 */
	for (i = 0; i < w.nbounced; i++) {
		if (w.added > 0 && (e = map_find(th, w.bounced[i])) != NULL)
			e->attempts = 0;
		if (enqueue_id(th, w.bounced[i]) == -1) {
			SETERR("out of memory");
			goto out;
		}
	}
	rv = w.added;
 out:
	free(w.bounced);
	return rv;
}

int
rd_thread_add_continue_json(struct rd_thread *th, const char *parent,
    const cJSON *root, cJSON *comments, const char **errp)
{
	struct walk	 w = { .th = th, .out = comments };
	struct rd_listing l;
	const cJSON	*second, *thing, *data;
	const struct ent *e;
	const char	*pid, *kind, *id;

	pid = t1_id(parent);
	if (pid == NULL && rd_valid_id(parent))
		pid = parent;
	if (pid == NULL) {
		SETERR("continue parent is not a comment id");
		return -1;
	}
	if (tree_post(th, root, &second, errp) == NULL)
		return -1;
	if (rd_listing_from_json(second, &l, errp) == -1)
		return -1;
	/*
	 * Reddit numbers this response from 0 at P; shift its depths so
	 * that P lands where the thread already has it.
	 */
	e = map_find(th, pid);
	cJSON_ArrayForEach(thing, l.children) {
		kind = rd_thing(thing, &data);
		if (kind != NULL && strcmp(kind, "t1") == 0 &&
		    (id = rd_str(data, "id")) != NULL && strcmp(id, pid) == 0) {
			if (e != NULL && (e->flags & (F_COMMENT | F_DEPTH)))
				w.offset = e->depth -
				    (int)rd_num(data, "depth", 0);
			break;
		}
	}
	w.root = pid;
	if (walk_children(&w, l.children, 0) == -1) {
		SETERR(w.err);
		return -1;
	}
	return w.added;
}

/* Parse, then hand to the _json variant. */
#define WITH_BODY(call) do {						\
	cJSON	*root;							\
	int	 rv;							\
									\
	if ((root = rd_json_parse(buf, len, errp)) == NULL)		\
		return -1;						\
	rv = (call);							\
	cJSON_Delete(root);						\
	return rv;							\
} while (0)

int
rd_thread_add_tree(struct rd_thread *th, const char *buf, size_t len,
    struct rd_post *post, cJSON *comments, const char **errp)
{
	WITH_BODY(rd_thread_add_tree_json(th, root, post, comments, errp));
}

int
rd_thread_add_morechildren(struct rd_thread *th, const char *buf, size_t len,
    cJSON *comments, const char **errp)
{
	WITH_BODY(rd_thread_add_morechildren_json(th, root, comments, errp));
}

int
rd_thread_add_continue(struct rd_thread *th, const char *parent,
    const char *buf, size_t len, cJSON *comments, const char **errp)
{
	WITH_BODY(rd_thread_add_continue_json(th, parent, root, comments,
	    errp));
}

/* ---------------------------------------------------------------- */
/* staged answers (fetchd_stream.c): the walk above, over a stage      */

/* thing_depth() of a staged thing */
static int
st_depth(struct walk *w, const struct rd_stage *s, const struct st_thing *t)
{
	const char	*parent = st_str(s, t->parent_id), *pid;
	const struct ent *e;
	double		 d;

	if (parent != NULL && strncmp(parent, "t3_", 3) == 0)
		return 0;
	if ((pid = t1_id(parent)) != NULL &&
	    (e = map_find(w->th, pid)) != NULL &&
	    (e->flags & (F_COMMENT | F_DEPTH)))
		return e->depth + 1;
	d = t->depth + w->offset;
	return d > 0 && d < 1e6 ? (int)d : 0;
}

/* walk_more() of a staged more */
static int
st_more(struct walk *w, const struct rd_stage *s, const struct st_thing *t)
{
	const char	*id = st_str(s, t->id), *pid, *c;
	uint32_t	 i;

	w->th->st.more_objects++;
	if ((id != NULL && strcmp(id, "_") == 0) || (t->count <= 0 &&
	    (!t->has_children || t->nchildren == 0))) {
		if ((pid = t1_id(st_str(s, t->parent_id))) == NULL)
			return 0;	/* a continue stub needs a comment */
		return enqueue_continue(w->th, pid, st_depth(w, s, t));
	}
	if (t->count > 0 && t->count < 1e12)
		w->th->st.hidden_count += (int64_t)t->count;
	for (i = 0; i < t->nids; i++) {
		c = s->strs.s + s->ids[t->ids + i];
		if (!rd_valid_id(c))
			continue;
		if (w->defer) {
			if (bounce(w, c) == -1)
				return -1;
		} else if (enqueue_id(w->th, c) == -1)
			return -1;
	}
	return 0;
}

/*
 * walk_children() over every staged thing, in the walk's order. The new
 * comments go out as one text item (lib/worker.h, text records): their
 * records written straight from the stage, no cJSON object per comment.
 */
static int
st_walk(struct walk *w, const struct rd_stage *s)
{
	static struct jtext heads, raws;	/* fetchd is one thread */
	const struct st_thing *t;
	struct rd_t1	 f;
	struct ent	*e;
	const char	*id;
	cJSON		*item;
	size_t		 i, hlen;
	int		 depth, n = 0, rv = 0;

	heads.len = raws.len = 0;
	for (i = 0; i < s->n; i++) {
		t = &s->things[i];
		if (t->kind == ST_MORE) {
			if (st_more(w, s, t) == -1)
				goto nomem;
			continue;
		}
		if (t->kind != ST_T1 || !rd_valid_id(id = st_str(s, t->id)))
			continue;	/* not staged */
		depth = st_depth(w, s, t);
		if ((e = map_get(w->th, id)) == NULL)
			goto nomem;
		if (e->flags & F_COMMENT) {
			if (w->root == NULL || strcmp(w->root, id) != 0)
				w->th->st.duplicates++;
			continue;
		}
		f.name = st_str(s, t->name);
		f.id = id;
		f.link_id = st_str(s, t->link_id);
		f.parent_id = st_str(s, t->parent_id);
		f.author = st_str(s, t->author);
		f.body = st_str(s, t->body);
		f.depth = t->depth;
		f.score = t->score;
		f.created_utc = t->created_utc;
		hlen = heads.len;
		if (rd_comment_text(&f, w->th->post, depth, t->rawlen, &heads,
		    NULL) == -1 || jtext_lit(&raws, s->raws.s + t->raw,
		    t->rawlen) == -1) {
			heads.len = hlen;	/* no half record */
			goto nomem;
		}
		e->depth = depth;
		e->flags |= F_COMMENT;
		w->th->st.comments++;
		w->added++;
		n++;
	}
	goto out;
 nomem:
	w->err = "out of memory";
	rv = -1;
 out:
	/* what is counted as emitted is emitted, failure or not */
	if (n > 0) {
		if ((item = worker_text_records(heads.s, heads.len, raws.s,
		    raws.len, n)) == NULL) {
			w->err = "out of memory";
			return -1;
		}
		cJSON_AddItemToArray(w->out, item);
	}
	return rv;
}

/* tree_post() and rd_listing_from_json() of the second listing */
static int
st_tree_check(const struct rd_thread *th, const struct rd_stage *s,
    const char **errp)
{
	const char	*id = st_str(s, s->post_id);

	if (s->mc || !s->root_arr || s->nroot < 2)
		SETERR("not a comment tree (expected [post, comments])");
	else if (!s->l_ok[0])
		SETERR("not a Listing");
	else if (!s->l_children[0])
		SETERR("Listing without a children array");
	else if (!s->post_ok)
		SETERR("comment tree without its post");
	else if (id == NULL || strcmp(id, th->post + 3) != 0)
		SETERR("comment tree of another post");
	else if (!s->l_ok[1])
		SETERR("not a Listing");
	else if (!s->l_children[1])
		SETERR("Listing without a children array");
	else
		return 0;
	return -1;
}

int
rd_thread_apply_tree(struct rd_thread *th, const struct rd_stage *s,
    cJSON *comments, const char **errp)
{
	struct walk	 w = { .th = th, .out = comments };

	if (st_tree_check(th, s, errp) == -1)
		return -1;
	if (st_walk(&w, s) == -1) {
		SETERR(w.err);
		return -1;
	}
	return w.added;
}

int
rd_thread_apply_continue(struct rd_thread *th, const char *parent,
    const struct rd_stage *s, cJSON *comments, const char **errp)
{
	struct walk	 w = { .th = th, .out = comments };
	const struct st_thing *t;
	const struct ent *e;
	const char	*pid, *id;
	size_t		 i;

	pid = t1_id(parent);
	if (pid == NULL && rd_valid_id(parent))
		pid = parent;
	if (pid == NULL) {
		SETERR("continue parent is not a comment id");
		return -1;
	}
	if (st_tree_check(th, s, errp) == -1)
		return -1;
	/* as rd_thread_add_continue_json: P's depth sets the offset */
	e = map_find(th, pid);
	for (i = 0; i < s->n; i++) {
		t = &s->things[i];
		if (t->level == 0 && t->kind == ST_T1 &&
		    (id = st_str(s, t->id)) != NULL && strcmp(id, pid) == 0) {
			if (e != NULL && (e->flags & (F_COMMENT | F_DEPTH)))
				w.offset = e->depth - (int)t->depth;
			break;
		}
	}
	w.root = pid;
	if (st_walk(&w, s) == -1) {
		SETERR(w.err);
		return -1;
	}
	return w.added;
}

int
rd_thread_apply_morechildren(struct rd_thread *th, const struct rd_stage *s,
    cJSON *comments, const char **errp)
{
	struct walk	 w = { .th = th, .out = comments, .defer = 1 };
	const char	*code, *msg;
	struct ent	*e;
	size_t		 i;
	int		 rv = -1;

	if (!s->mc || !s->mc_json) {
		SETERR("not a morechildren reply (no json object)");
		return -1;
	}
	if (s->mc_err) {
		code = st_str(s, s->mc_code);
		msg = st_str(s, s->mc_msg);
		snprintf(th->err, sizeof(th->err), "morechildren error %s: %s",
		    code != NULL ? code : "?", msg != NULL ? msg : "?");
		SETERR(th->err);
		return -1;
	}
	if (!s->mc_things) {
		SETERR("morechildren reply without data.things");
		return -1;
	}
	if (st_walk(&w, s) == -1) {
		SETERR(w.err);
		goto out;
	}
	/* as rd_thread_add_morechildren_json */
	for (i = 0; i < w.nbounced; i++) {
		if (w.added > 0 && (e = map_find(th, w.bounced[i])) != NULL)
			e->attempts = 0;
		if (enqueue_id(th, w.bounced[i]) == -1) {
			SETERR("out of memory");
			goto out;
		}
	}
	rv = w.added;
 out:
	free(w.bounced);
	return rv;
}

int
rd_thread_next_batch(struct rd_thread *th, char *buf, size_t bufsize, int max)
{
	struct ent	*e;
	const char	*id;
	size_t		 used = 0, idlen;
	int		 n = 0;

	if (max <= 0 || max > RD_MORECHILDREN_MAX)
		max = RD_MORECHILDREN_MAX;
	if (bufsize < RD_FULLNAME_MAX + 1)
		return -1;
	buf[0] = '\0';
	while (th->pooln > 0 && n < max) {
		id = th->pool[th->poolhead].id;
		idlen = strlen(id);
		if (used + (n > 0) + idlen + 1 > bufsize)
			break;
		th->poolhead = (th->poolhead + 1) % th->poolcap;
		th->pooln--;
		if ((e = map_find(th, id)) == NULL)
			continue;
		e->flags &= ~F_QUEUED;
		if (e->flags & F_COMMENT)
			continue;	/* arrived through another answer */
		e->attempts++;
		if (n > 0)
			buf[used++] = ',';
		memcpy(buf + used, id, idlen + 1);
		used += idlen;
		n++;
	}
	return n;
}

void
rd_thread_unget_batch(struct rd_thread *th, const char *csv)
{
	char		*copy, *tok, *save, **ids = NULL, **nids;
	size_t		 n = 0, cap = 0;
	struct ent	*e;

	if (csv == NULL || (copy = strdup(csv)) == NULL)
		return;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 128;
			if ((nids = reallocarray(ids, cap, sizeof(*ids))) ==
			    NULL)
				break;
			ids = nids;
		}
		ids[n++] = tok;
	}
	/* back to front, so the batch keeps its order at the pool's head */
	while (n > 0) {
		tok = ids[--n];
		if (!rd_valid_id(tok) || (e = map_find(th, tok)) == NULL ||
		    (e->flags & (F_COMMENT | F_QUEUED)))
			continue;
		if (pool_push(th, tok, 1) == -1)
			break;
		e->flags |= F_QUEUED;
		if (e->attempts > 0)
			e->attempts--;
	}
	free(ids);
	free(copy);
}

int
rd_thread_next_continue(struct rd_thread *th, char parent[RD_FULLNAME_MAX + 1])
{
	if (th->conthead >= th->contn)
		return 0;
	memcpy(parent, th->conts[th->conthead].parent, RD_FULLNAME_MAX + 1);
	th->conthead++;
	return 1;
}

void
rd_thread_unget_continue(struct rd_thread *th, const char *parent)
{
	struct ent	*e;
	const char	*pid;
	int		 depth;

	if ((pid = t1_id(parent)) == NULL || (e = map_find(th, pid)) == NULL ||
	    !(e->flags & F_CONT))
		return;
	depth = (e->flags & (F_COMMENT | F_DEPTH)) ? e->depth + 1 : 0;
	e->flags &= ~F_CONT;
	(void)enqueue_continue(th, pid, depth);
}

int
rd_thread_done(const struct rd_thread *th)
{
	return th->pooln == 0 && th->conthead >= th->contn;
}

void
rd_thread_stats(const struct rd_thread *th, struct rd_thread_stats *s)
{
	*s = th->st;
	s->pending_ids = th->pooln;
	s->pending_continues = th->contn - th->conthead;
}

cJSON *
rd_thread_checkpoint(const struct rd_thread *th)
{
	cJSON	*ck, *ids, *conts, *c;
	size_t	 i;

	if ((ck = cJSON_CreateObject()) == NULL)
		return NULL;
	ids = cJSON_AddArrayToObject(ck, "ids");
	conts = cJSON_AddArrayToObject(ck, "continues");
	if (ids == NULL || conts == NULL)
		goto fail;
	for (i = 0; i < th->pooln; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateString(
		    th->pool[(th->poolhead + i) % th->poolcap].id));
	for (i = th->conthead; i < th->contn; i++) {
		if ((c = cJSON_CreateObject()) == NULL)
			goto fail;
		cJSON_AddItemToArray(conts, c);
		cJSON_AddStringToObject(c, "parent", th->conts[i].parent);
		cJSON_AddNumberToObject(c, "depth", th->conts[i].depth);
	}
	return ck;
 fail:
	cJSON_Delete(ck);
	return NULL;
}

int
rd_thread_restore(struct rd_thread *th, const cJSON *ckpt, const char **errp)
{
	const cJSON	*c;
	const char	*pid;
	double		 d;

	if (!cJSON_IsObject(ckpt)) {
		SETERR("thread checkpoint is not an object");
		return -1;
	}
	cJSON_ArrayForEach(c, rd_arr(ckpt, "ids")) {
		if (cJSON_IsString(c) && rd_valid_id(c->valuestring) &&
		    enqueue_id(th, c->valuestring) == -1)
			goto nomem;
	}
	cJSON_ArrayForEach(c, rd_arr(ckpt, "continues")) {
		if ((pid = t1_id(rd_str(c, "parent"))) == NULL)
			continue;
		d = rd_num(c, "depth", 0);
		if (enqueue_continue(th, pid, d > 0 && d < 1e6 ? (int)d : 0)
		    == -1)
			goto nomem;
	}
	return 0;
 nomem:
	SETERR("out of memory");
	return -1;
}
