/*
 * fetchd_stage.h — between fetchd_stream.c, which reads a comment-tree
 * answer as a stream of JSON events, and fetchd_tree.c, which applies what
 * it read to a thread. Private to fetchd: fetchd_parse.h has the API.
 *
 * A stage is one answer read to its end and found to be JSON: the things
 * of its comment listings, flattened in the order a depth-first walk of
 * the parsed tree would meet them (a thing before its replies), each with
 * the fields the thread and the comment record need and, for a t1, its
 * raw text; plus what the shape checks of the answer's top need. Things a
 * walk would skip are not staged at all (not a thing, a kind other than
 * t1 and more, a t1 without a valid id, and everything below them).
 *
 * A t1's raw text is Reddit's own bytes of its data object, with the
 * value of each "replies" member cut out and "" put in its place (a
 * comment never carries its subtree): a few segments that point into
 * the answer, which must outlive the stage.
 *
 * Field semantics are those of the cJSON walk: the first member of a name
 * counts, and a member of the wrong type reads as absent.
 */
#ifndef RSCRAPE_FETCHD_STAGE_H
#define RSCRAPE_FETCHD_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "fetchd/fetchd_parse.h"
#include "lib/jtext.h"

#define ST_NONE		UINT32_MAX	/* string absent (or not a string) */

enum st_kind { ST_T1, ST_MORE, ST_OTHER };

/* a piece of a raw text: len bytes at p, or (p NULL) the text ST_CUT */
struct st_seg {
	const char	*p;
	size_t		 len;
};

#define ST_CUT		":\"\""	/* what follows a cut "replies" */
#define ST_CUT_LEN	3

/* the fields of one t1 as rd_comment_record() takes them */
struct rd_t1 {
	const char	*name, *id, *link_id, *parent_id, *author, *body;
	double		 depth, score, created_utc;	/* absent: 0 */
};

struct st_thing {
	uint8_t		 kind;		/* enum st_kind */
	uint8_t		 has_children;	/* first "children" is an array */
	int		 level;		/* nesting of its listing (top: 0) */
	/* offsets into stage.strs, or ST_NONE */
	uint32_t	 id, name, link_id, parent_id, author, body;
	double		 depth, score, created_utc, count;	/* absent: 0 */
	uint32_t	 nchildren;	/* elements of "children", any type */
	uint32_t	 ids, nids;	/* its string children: stage.ids[ids..] */
	uint32_t	 seg, nseg;	/* a t1's text: stage.segs[seg..] */
	size_t		 rawlen;	/* the length of that text */
};

struct rd_stage {
	int		 mc;		/* a morechildren answer */
	/* a tree or continue answer: [Listing{t3}, Listing{things}] */
	uint8_t		 root_arr;	/* the top is an array ... */
	uint8_t		 nroot;		/* ... of this many (counted to 2) */
	uint8_t		 l_ok[2];	/* element i is a thing of kind Listing */
	uint8_t		 l_children[2];	/* whose data's children is an array */
	uint8_t		 post_ok;	/* children[0] of element 0: a t3 thing */
	uint32_t	 post_id;	/* its data's id (strs offset or ST_NONE) */
	/* a morechildren answer: {"json": {"errors": [], "data": {"things"}}} */
	uint8_t		 mc_json, mc_things, mc_err;
	uint32_t	 mc_code, mc_msg;	/* errors[0][0], [0][1] */
	/* the things */
	struct st_thing	*things;
	size_t		 n, cap;
	struct jtext	 strs;		/* NUL-terminated strings */
	struct st_seg	*segs;
	size_t		 nsegs, capsegs;
	uint32_t	*ids;		/* more children: offsets into strs */
	size_t		 nids, capids;
};

static inline const char *
st_str(const struct rd_stage *s, uint32_t off)
{
	return off == ST_NONE ? NULL : s->strs.s + off;
}

/* fetchd_comment.c: a comment record from its fields; takes raw */
int	 rd_comment_record(const struct rd_t1 *f, const char *post_id,
	    int depth, cJSON *raw, struct rd_comment *c, const char **errp);
/* the same record as report text, raw_len for raw (appended to t) */
int	 rd_comment_text(const struct rd_t1 *f, const char *post_id,
	    int depth, size_t rawlen, struct jtext *t, const char **errp);
/* a cJSON raw item holding a copy of n bytes of text */
cJSON	*rd_raw_item(const char *text, size_t n);

#endif
