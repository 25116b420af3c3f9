/*
 * fetchd_trees.c — the comment trees of a job's posts, shared by every
 * scrape mode (full, history, monitor).
 *
 * A mode adds the posts whose trees it wants (trees_add) and steps the
 * pool from its own pump; the pool fetches at most `active` trees at a
 * time: one /comments/{post} request (limit=500, the largest page Reddit
 * serves to ordinary accounts), the `more` ids of a post pooled into
 * /api/morechildren calls of up to 100 (rd_thread, fetchd_tree.c), one
 * call per continue-thread stub, TREES_CONTINUES at once per tree. Comment
 * records go to the mode's next batch; a tree that completes leaves the
 * pending list (which the mode's checkpoint carries, so a re-leased task
 * fetches again only the trees that were not complete).
 *
 * A post that is gone by the time its tree is asked for (404/403) is
 * skipped with a warning; any other failure is the job's (hooks.fail).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"
#include "lib/log.h"

#define TREES_CONTINUES	2	/* continue fetches in flight per tree */
#define TREES_QUERY	"limit=500"

struct tree;

struct cont {
	struct tree	*tw;
	struct rd_req	*q;
	char		 parent[RD_FULLNAME_MAX + 1];
};

/* one post's comment tree being fetched */
struct tree {
	TAILQ_ENTRY(tree) entry;
	struct trees	*p;
	struct rd_thread *th;
	char		 post[RD_FULLNAME_MAX + 1];
	struct rd_req	*tree_q, *mc_q;
	struct cont	 conts[TREES_CONTINUES];
	int		 tree_done;
};

struct pending {
	char		 id[RD_FULLNAME_MAX + 1];
	int64_t		 size;		/* num_comments when listed */
	int		 started;
};

struct trees {
	struct fetchd	*f;
	char		 job_id[64];
	struct trees_hooks h;
	struct pending	*pend;
	size_t		 npend, pendcap;
	TAILQ_HEAD(, tree) active;
	int		 nactive;
};

static const char *
bare(const char *fullname)
{
	const char	*u = strchr(fullname, '_');

	return u ? u + 1 : fullname;
}

static cJSON *
out_comments(struct trees *p)
{
	if (*p->h.out == NULL && (*p->h.out = cJSON_CreateArray()) == NULL)
		fatalx("out of memory");
	return *p->h.out;
}

/*
 * Tree answers are read as a stream into a stage (fetchd_stream.c): the
 * biggest bodies fetchd gets never become cJSON trees.
 */
static void *
read_tree(const char *buf, size_t len, const char **errp)
{
	return rd_stage_tree(buf, len, errp);
}

static void *
read_morechildren(const char *buf, size_t len, const char **errp)
{
	return rd_stage_morechildren(buf, len, errp);
}

static void
unread(void *read)
{
	rd_stage_free(read);
}

static struct rd_req *
trees_get(struct trees *p, const char *path, rd_done_cb cb, void *arg)
{
	struct rd_req	*q;

	(*p->h.requests)++;
	q = rd_get(p->f->rc, path, TREES_QUERY, 0, cb, arg);
	rd_reader(q, read_tree, unread);
	return q;
}

struct trees *
trees_new(struct fetchd *f, const char *job_id, const struct trees_hooks *h)
{
	struct trees	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatalx("out of memory");
	p->f = f;
	snprintf(p->job_id, sizeof(p->job_id), "%s", job_id);
	p->h = *h;
	TAILQ_INIT(&p->active);
	return p;
}

static void
tree_free(struct tree *tw)
{
	int	i;

	rd_cancel(tw->tree_q);
	rd_cancel(tw->mc_q);
	for (i = 0; i < TREES_CONTINUES; i++)
		rd_cancel(tw->conts[i].q);
	rd_thread_free(tw->th);
	free(tw);
}

void
trees_free(struct trees *p)
{
	struct tree	*tw;

	if (p == NULL)
		return;
	while ((tw = TAILQ_FIRST(&p->active)) != NULL) {
		TAILQ_REMOVE(&p->active, tw, entry);
		tree_free(tw);
	}
	free(p->pend);
	free(p);
}

void
trees_add(struct trees *p, const char *post, int64_t num_comments)
{
	size_t	i;

	if (strlen(post) > RD_FULLNAME_MAX)
		return;
	for (i = 0; i < p->npend; i++)
		if (strcmp(p->pend[i].id, post) == 0)
			return;
	if (p->npend == p->pendcap) {
		p->pendcap = p->pendcap ? p->pendcap * 2 : 128;
		if ((p->pend = reallocarray(p->pend, p->pendcap,
		    sizeof(*p->pend))) == NULL)
			fatalx("out of memory");
	}
	snprintf(p->pend[p->npend].id, sizeof(p->pend[0].id), "%s", post);
	p->pend[p->npend].size = num_comments;
	p->pend[p->npend++].started = 0;
}

static void
pending_remove(struct trees *p, const char *id)
{
	size_t	i;

	for (i = 0; i < p->npend; i++)
		if (strcmp(p->pend[i].id, id) == 0) {
			memmove(&p->pend[i], &p->pend[i + 1],
			    (p->npend - i - 1) * sizeof(*p->pend));
			p->npend--;
			return;
		}
}

size_t
trees_pending(const struct trees *p)
{
	return p->npend;
}

size_t
trees_waiting(const struct trees *p)
{
	size_t	i, n = 0;

	for (i = 0; i < p->npend; i++)
		n += !p->pend[i].started;
	return n;
}

int
trees_idle(const struct trees *p)
{
	return p->npend == 0 && p->nactive == 0;
}

cJSON *
trees_checkpoint(const struct trees *p)
{
	cJSON	*a = cJSON_CreateArray();
	size_t	 i;

	for (i = 0; i < p->npend; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(p->pend[i].id));
	return a;
}

void
trees_restore(struct trees *p, const cJSON *a)
{
	const cJSON	*it;

	if (!cJSON_IsArray(a))
		return;
	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it))
			trees_add(p, it->valuestring, 0);
}

/* ---------------------------------------------------------------- */
/* answers                                                            */

/* Common part of the three tree answers; 0 when json is there to use. */
static int
tree_answer(struct tree *tw, struct rd_result *res, const char *what)
{
	struct trees	*p = tw->p;
	char		 msg[600];

	if (res->failed) {
		p->h.fail(p->h.arg, res->error);
		return -1;
	}
	if (res->status == 404 || res->status == 403) {
		/* the post went away after it was listed: keep what we have */
		log_warnx("job %s: %s of %s: HTTP %ld, skipped", p->job_id,
		    what, tw->post, res->status);
		return 1;
	}
	if (res->status != 200) {
		snprintf(msg, sizeof(msg), "%s of %s: HTTP %ld", what,
		    tw->post, res->status);
		p->h.fail(p->h.arg, msg);
		return -1;
	}
	return 0;
}

static void
tree_done(struct rd_result *res, void *arg)
{
	struct tree	*tw = arg;
	struct trees	*p = tw->p;
	const char	*err;
	char		 msg[600];
	int		 rv;

	tw->tree_q = NULL;
	if ((rv = tree_answer(tw, res, "comment tree")) == -1)
		return;
	tw->tree_done = 1;
	if (rv == 0 && rd_thread_apply_tree(tw->th, res->read,
	    out_comments(p), &err) == -1) {
		snprintf(msg, sizeof(msg), "comment tree of %s: %s", tw->post,
		    err);
		p->h.fail(p->h.arg, msg);
		return;
	}
	p->h.pump(p->h.arg);
}

static void
mc_done(struct rd_result *res, void *arg)
{
	struct tree	*tw = arg;
	struct trees	*p = tw->p;
	const char	*err;

	tw->mc_q = NULL;
	if (tree_answer(tw, res, "morechildren") == -1)
		return;
	if (res->status == 200 && rd_thread_apply_morechildren(tw->th,
	    res->read, out_comments(p), &err) == -1)
		log_warnx("job %s: morechildren of %s: %s", p->job_id,
		    tw->post, err);
	p->h.pump(p->h.arg);
}

static void
cont_done(struct rd_result *res, void *arg)
{
	struct cont	*ct = arg;
	struct tree	*tw = ct->tw;
	struct trees	*p = tw->p;
	const char	*err;

	ct->q = NULL;
	if (tree_answer(tw, res, "continue thread") == -1)
		return;
	if (res->status == 200 && rd_thread_apply_continue(tw->th,
	    ct->parent, res->read, out_comments(p), &err) == -1)
		log_warnx("job %s: continue %s of %s: %s", p->job_id,
		    ct->parent, tw->post, err);
	p->h.pump(p->h.arg);
}

/* ---------------------------------------------------------------- */
/* asking                                                             */

static void
tree_start(struct trees *p, struct pending *pe)
{
	struct tree	*tw;
	char		 path[128];
	int		 i;

	pe->started = 1;
	if ((tw = calloc(1, sizeof(*tw))) == NULL)
		fatalx("out of memory");
	tw->p = p;
	snprintf(tw->post, sizeof(tw->post), "%s", pe->id);
	for (i = 0; i < TREES_CONTINUES; i++)
		tw->conts[i].tw = tw;
	if ((tw->th = rd_thread_new(pe->id)) == NULL) {
		log_warnx("job %s: bad post id %s", p->job_id, pe->id);
		tw->tree_done = 1;
	} else {
		snprintf(path, sizeof(path), "/comments/%s", bare(pe->id));
		tw->tree_q = trees_get(p, path, tree_done, tw);
	}
	TAILQ_INSERT_TAIL(&p->active, tw, entry);
	p->nactive++;
}

/* Ask what the tree still needs; 1 when it is complete (and freed). */
static int
tree_pump(struct tree *tw)
{
	struct trees	*p = tw->p;
	char		 ids[RD_MORECHILDREN_MAX * (RD_FULLNAME_MAX + 1)];
	char		 form[sizeof(ids) + 128], path[128];
	int		 i, busy = 0;

	if (!tw->tree_done)
		return 0;
	if (tw->th != NULL && tw->mc_q == NULL &&
	    rd_thread_next_batch(tw->th, ids, sizeof(ids), 0) > 0) {
		snprintf(form, sizeof(form),
		    "api_type=json&link_id=%s&children=%s", tw->post, ids);
		(*p->h.requests)++;
		tw->mc_q = rd_post(p->f->rc, "/api/morechildren", form,
		    RD_F_MORECHILDREN, mc_done, tw);
		rd_reader(tw->mc_q, read_morechildren, unread);
	}
	for (i = 0; i < TREES_CONTINUES && tw->th != NULL; i++) {
		if (tw->conts[i].q != NULL ||
		    !rd_thread_next_continue(tw->th, tw->conts[i].parent))
			continue;
		snprintf(path, sizeof(path), "/comments/%s/_/%s",
		    bare(tw->post), bare(tw->conts[i].parent));
		tw->conts[i].q = trees_get(p, path, cont_done, &tw->conts[i]);
	}
	busy = tw->mc_q != NULL;
	for (i = 0; i < TREES_CONTINUES; i++)
		busy |= tw->conts[i].q != NULL;
	if (busy || (tw->th != NULL && !rd_thread_done(tw->th)))
		return 0;
	pending_remove(p, tw->post);
	TAILQ_REMOVE(&p->active, tw, entry);
	p->nactive--;
	tree_free(tw);
	*p->h.dirty = 1;
	return 1;
}

static void
trees_start_some(struct trees *p, int active)
{
	struct pending	*big;
	size_t		 i;

	while (p->nactive < active) {
		big = NULL;
		for (i = 0; i < p->npend; i++)
			if (!p->pend[i].started && (big == NULL ||
			    p->pend[i].size > big->size))
				big = &p->pend[i];
		if (big == NULL)
			return;
		tree_start(p, big);
	}
}

void
trees_step(struct trees *p, int active)
{
	struct tree	*tw, *next;

	trees_start_some(p, active);
	for (tw = TAILQ_FIRST(&p->active); tw != NULL; tw = next) {
		next = TAILQ_NEXT(tw, entry);
		tree_pump(tw);
	}
	/* a finished tree frees a slot */
	trees_start_some(p, active);
}
