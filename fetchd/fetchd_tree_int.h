/*
 * fetchd_tree_int.h — what the three parts of a comment thread share:
 * fetchd_tree.c (the thread: its map of ids, the load-more pool, the
 * continue queue, checkpoints), fetchd_tree_stage.c (answers read as a
 * stream, what fetchd runs) and fetchd_tree_json.c (the same walk over a
 * cJSON tree: the reference test_fetchd_stream.c compares the stage
 * with; the daemon does not link it). Not for other files.
 */
#ifndef RSCRAPE_FETCHD_TREE_INT_H
#define RSCRAPE_FETCHD_TREE_INT_H

#include <stdint.h>

#include "fetchd/fetchd_parse.h"

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

int		 tree_bounce(struct walk *w, const char *id);
struct ent	*tree_map_find(const struct rd_thread *th, const char *key);
struct ent	*tree_map_get(struct rd_thread *th, const char *key);
const char	*tree_t1_id(const char *fullname);
int		 tree_enqueue_id(struct rd_thread *th, const char *id);
int		 tree_enqueue_continue(struct rd_thread *th, const char *parent,
		    int stubdepth);

#endif
