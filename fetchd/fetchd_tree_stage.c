/*
 * fetchd_tree_stage.c — a comment-tree answer read as a stream
 * (fetchd_stream.c) applied to its thread: the walk of fetchd_tree_json.c
 * over a stage instead of a cJSON tree, thing by thing in the same order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd_stage.h"
#include "fetchd/fetchd_tree_int.h"
#include "lib/worker.h"

/* fetchd_tree_json.c's thing_depth() of a staged thing */
static int
st_depth(struct walk *w, const struct rd_stage *s, const struct st_thing *t)
{
	const char	*parent = st_str(s, t->parent_id), *pid;
	const struct ent *e;
	double		 d;

	if (parent != NULL && strncmp(parent, "t3_", 3) == 0)
		return 0;
	if ((pid = tree_t1_id(parent)) != NULL &&
	    (e = tree_map_find(w->th, pid)) != NULL &&
	    (e->flags & (F_COMMENT | F_DEPTH)))
		return e->depth + 1;
	d = t->depth + w->offset;
	return d > 0 && d < 1e6 ? (int)d : 0;
}

/* fetchd_tree_json.c's walk_more() of a staged more */
static int
st_more(struct walk *w, const struct rd_stage *s, const struct st_thing *t)
{
	const char	*id = st_str(s, t->id), *pid, *c;
	uint32_t	 i;

	w->th->st.more_objects++;
	if ((id != NULL && strcmp(id, "_") == 0) || (t->count <= 0 &&
	    (!t->has_children || t->nchildren == 0))) {
		if ((pid = tree_t1_id(st_str(s, t->parent_id))) == NULL)
			return 0;	/* a continue stub needs a comment */
		return tree_enqueue_continue(w->th, pid, st_depth(w, s, t));
	}
	if (t->count > 0 && t->count < 1e12)
		w->th->st.hidden_count += (int64_t)t->count;
	for (i = 0; i < t->nids; i++) {
		c = s->strs.s + s->ids[t->ids + i];
		if (!rd_valid_id(c))
			continue;
		if (w->defer) {
			if (tree_bounce(w, c) == -1)
				return -1;
		} else if (tree_enqueue_id(w->th, c) == -1)
			return -1;
	}
	return 0;
}

/*
 * walk_children() over every staged thing, in the walk's order. The new
 * comments go out as one text item (lib/worker.h, text records): their
 * records written straight from the stage, no cJSON object per comment.
 */
/* a t1's raw text from its segments (fetchd_stage.h) */
static int
st_raw(const struct rd_stage *s, const struct st_thing *t, struct jtext *out)
{
	const struct st_seg *g = &s->segs[t->seg];
	uint32_t	 i;

	if (jtext_room(out, t->rawlen) == -1)
		return -1;
	for (i = 0; i < t->nseg; i++) {
		memcpy(out->s + out->len, g[i].p != NULL ? g[i].p : ST_CUT,
		    g[i].len);
		out->len += g[i].len;
	}
	return 0;
}

static int
st_walk(struct walk *w, const struct rd_stage *s)
{
	static struct jtext heads, raws;	/* fetchd is one thread */
	const struct st_thing *t;
	struct rd_t1	 f;
	struct ent	*e;
	const char	*id;
	cJSON		*item;
	size_t		 i, hlen, rlen;
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
		if ((e = tree_map_get(w->th, id)) == NULL)
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
		rlen = raws.len;
		if (rd_comment_text(&f, w->th->post, depth, t->rawlen, &heads,
		    NULL) == -1 || st_raw(s, t, &raws) == -1) {
			heads.len = hlen;	/* no half record */
			raws.len = rlen;
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

	pid = tree_t1_id(parent);
	if (pid == NULL && rd_valid_id(parent))
		pid = parent;
	if (pid == NULL) {
		SETERR("continue parent is not a comment id");
		return -1;
	}
	if (st_tree_check(th, s, errp) == -1)
		return -1;
	/* as rd_thread_add_continue_json: P's depth sets the offset */
	e = tree_map_find(th, pid);
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
