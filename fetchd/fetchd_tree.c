/*
 * fetchd_tree.c — one post's comment tree, assembled across requests.
 *
 * A thread remembers every comment id it has emitted (with its absolute
 * depth), the pool of ids still hidden behind load-more stubs and the
 * queue of continue-this-thread parents. The map is an open-addressing
 * hash table and the pool a ring buffer, so a 500 KB page with thousands
 * of comments and ids costs linear time, whatever order Reddit answers in.
 * Answers are applied to a thread by fetchd_tree_stage.c (and, as the
 * tests' reference, fetchd_tree_json.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd_tree_int.h"

int
tree_bounce(struct walk *w, const char *id)
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

struct ent *
tree_map_find(const struct rd_thread *th, const char *key)
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
struct ent *
tree_map_get(struct rd_thread *th, const char *key)
{
	struct ent	*e;
	size_t		 i, mask;

	if ((e = tree_map_find(th, key)) != NULL)
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
const char *
tree_t1_id(const char *fullname)
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
int
tree_enqueue_id(struct rd_thread *th, const char *id)
{
	struct ent	*e;

	if ((e = tree_map_get(th, id)) == NULL)
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

int
tree_enqueue_continue(struct rd_thread *th, const char *parent, int stubdepth)
{
	struct ent	*e;
	struct cont	*nc;
	size_t		 i;

	if ((e = tree_map_get(th, parent)) == NULL)
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
		if ((e = tree_map_find(th, id)) == NULL)
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
		if (!rd_valid_id(tok) || (e = tree_map_find(th, tok)) == NULL ||
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

	if ((pid = tree_t1_id(parent)) == NULL || (e = tree_map_find(th, pid)) == NULL ||
	    !(e->flags & F_CONT))
		return;
	depth = (e->flags & (F_COMMENT | F_DEPTH)) ? e->depth + 1 : 0;
	e->flags &= ~F_CONT;
	(void)tree_enqueue_continue(th, pid, depth);
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
		    tree_enqueue_id(th, c->valuestring) == -1)
			goto nomem;
	}
	cJSON_ArrayForEach(c, rd_arr(ckpt, "continues")) {
		if ((pid = tree_t1_id(rd_str(c, "parent"))) == NULL)
			continue;
		d = rd_num(c, "depth", 0);
		if (tree_enqueue_continue(th, pid, d > 0 && d < 1e6 ? (int)d : 0)
		    == -1)
			goto nomem;
	}
	return 0;
 nomem:
	SETERR("out of memory");
	return -1;
}
