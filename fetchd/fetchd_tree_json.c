/*
 * fetchd_tree_json.c — a comment-tree answer walked as a cJSON tree: the
 * reference implementation of what fetchd_tree_stage.c does with answers
 * read as a stream (fetchd_stream.c). test_fetchd_stream.c runs both over every fixture and
 * requires the same records, errors and thread state; the fetchd binary
 * does not link this file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd_tree_int.h"

/* Absolute depth of a thing from its parent, else Reddit's + offset. */
static int
thing_depth(struct walk *w, const cJSON *data)
{
	const char	*parent = rd_str(data, "parent_id"), *pid;
	const struct ent *e;
	double		 d;

	if (parent != NULL && strncmp(parent, "t3_", 3) == 0)
		return 0;
	if ((pid = tree_t1_id(parent)) != NULL &&
	    (e = tree_map_find(w->th, pid)) != NULL &&
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
		if ((pid = tree_t1_id(rd_str(data, "parent_id"))) == NULL)
			return 0;	/* a continue stub needs a comment */
		return tree_enqueue_continue(w->th, pid, thing_depth(w, data));
	}
	if (count > 0 && count < 1e12)
		w->th->st.hidden_count += (int64_t)count;
	cJSON_ArrayForEach(c, children) {
		if (!cJSON_IsString(c) || !rd_valid_id(c->valuestring))
			continue;
		if (w->defer) {
			if (tree_bounce(w, c->valuestring) == -1)
				return -1;
		} else if (tree_enqueue_id(w->th, c->valuestring) == -1)
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
		if ((e = tree_map_get(w->th, id)) == NULL)
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
			e = tree_map_find(w->th, id);
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
		if (w.added > 0 && (e = tree_map_find(th, w.bounced[i])) != NULL)
			e->attempts = 0;
		if (tree_enqueue_id(th, w.bounced[i]) == -1) {
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

	pid = tree_t1_id(parent);
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
	e = tree_map_find(th, pid);
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
