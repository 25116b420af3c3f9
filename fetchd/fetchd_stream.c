/*
 * fetchd_stream.c — comment-tree answers read as a stream of JSON events
 * (fetchd_jscan.h, fetchd_stage.h): no cJSON tree is built, walked and
 * deleted for the biggest answers fetchd gets, and each t1's raw text is
 * nothing but where its bytes lie in the answer (the events' offsets), so
 * it is never printed again.
 *
 * A stack of frames follows the answer's nesting; each frame has a role
 * (what the cJSON walk would do with that container). A t1's data frame
 * notes where the object starts, and where each of its "replies" values
 * starts and ends (by the level of its listing: a t1's replies hold the
 * next level's t1s), and makes the segments of its text when it ends.
 *
 * The same bodies are "not JSON" (and retried) here as for
 * cJSON_ParseWithLength: leading UTF-8 BOM and trailing bytes are fine
 * for both; strings are not UTF-8 checked (cJSON does not check); nesting
 * deeper than RD_NESTING_MAX is refused (rd_json_parse's limit). Left
 * different: what cJSON's lenient parser lets through and RFC 8259 does
 * not (a number with a leading '+' or zero, a control byte in a string,
 * whitespace other than JSON's).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd_jscan.h"
#include "fetchd/fetchd_parse.h"
#include "fetchd/fetchd_stage.h"

/* A thing's listing nests 5 containers below its parent's: 64 is plenty. */
#define ST_LEVELS	64
/* numbers up to this long are read from the stack */
#define ST_NUMBER_MAX	63

enum role {
	R_OPAQUE,	/* nothing of interest below */
	R_ROOT,		/* a tree answer's top array */
	R_LISTING,	/* {kind, data}: a top element or a t1's replies */
	R_LDATA,	/* a listing's data: children */
	R_CHILDREN,	/* things */
	R_C0,		/* element 0's children: the post */
	R_POST,		/* {kind: t3, data} */
	R_PDATA,	/* the post's data: id */
	R_THING,	/* {kind, data}: a staged thing */
	R_TDATA,	/* its data */
	R_IDS,		/* a more's children */
	R_MC,		/* a morechildren answer: json */
	R_MCJSON,	/* errors, data */
	R_ERRS,		/* errors[0] */
	R_ERR0,		/* errors[0][0], errors[0][1] */
	R_MCDATA	/* things */
};

/* value slots: which first member the next value is (-1: none) */
enum slot {
	S_KIND, S_DATA, S_CHILDREN, S_ID, S_JSON, S_ERRORS, S_THINGS,
	/* R_TDATA */
	S_NAME, S_LINK_ID, S_PARENT_ID, S_AUTHOR, S_BODY, S_DEPTH, S_SCORE,
	S_CREATED_UTC, S_COUNT, S_REPLIES, S_TCHILDREN, S_TID
};

struct frame {
	uint8_t		 role;
	uint8_t		 map;		/* object (else array) */
	uint8_t		 rec;		/* a t1's data whose text is kept */
	uint8_t		 skip;		/* rec: the next value is cut out */
	uint8_t		 cutend;	/* the value a cut ends with */
	uint8_t		 which;		/* R_LISTING, R_LDATA: 0, 1, 2 replies */
	uint8_t		 kstate;	/* kind: 0 unseen, 1 string, 2 other */
	uint8_t		 dstate;	/* data: 0 unseen, 1 object, 2 other */
	uint8_t		 kindval;	/* R_LISTING, R_POST: the wanted kind */
	int8_t		 want;		/* enum slot of the next value */
	uint32_t	 seen;		/* slots whose first member went by */
	int		 level;
	size_t		 n;		/* members or elements so far */
	size_t		 thing;		/* R_THING..R_IDS: its index; replies'
					   R_LISTING: things before it */
	int		 cutlevel;	/* cutend: the rec frame's level */
};

/* a rec frame's text so far: where it starts, its cuts [a, b) */
struct span {
	size_t		 start;
	size_t		*cuts;		/* a0, b0, a1, b1, ... */
	size_t		 ncuts, capcuts;	/* size_t's in cuts */
};

struct reader {
	struct rd_stage	*st;
	size_t		 pos;		/* just past the token at hand */
	const char	*buf, *end;	/* the body */
	const char	*text;		/* what is read (buf after a BOM) */
	struct frame	 fr[RD_NESTING_MAX + 1];
	int		 top;		/* frames in use */
	const char	*err;
	struct span	 span[ST_LEVELS];	/* a t1's text, by level */
};

static struct reader	 rdr;		/* fetchd is one thread: reused */

static struct frame *
cur(struct reader *r)
{
	return r->top > 0 ? &r->fr[r->top - 1] : NULL;
}

static int
fail(struct reader *r, const char *err)
{
	if (r->err == NULL)
		r->err = err;
	return 0;
}

/*
 * A string without escapes comes as a pointer into the body (those bytes
 * hold no quote, backslash, control byte or NUL); a decoded one, from
 * elsewhere, may hold a NUL, where cJSON's copy of it would end.
 */
static int
in_body(const struct reader *r, const char *s)
{
	return (uintptr_t)s >= (uintptr_t)r->buf &&
	    (uintptr_t)s < (uintptr_t)r->end;
}

/* a cut of the rec frame at level starts (a) or ends (b) here */
static int
cut_mark(struct reader *r, int level, int ending)
{
	struct span	*sp = &r->span[level];
	size_t		*nc, cap;

	if (ending) {
		if (sp->ncuts % 2 == 1)
			sp->cuts[sp->ncuts++] = r->pos;
		return 0;
	}
	if (sp->ncuts + 2 > sp->capcuts) {
		cap = sp->capcuts ? sp->capcuts * 2 : 8;
		if ((nc = reallocarray(sp->cuts, cap, sizeof(*nc))) == NULL)
			return -1;
		sp->cuts = nc;
		sp->capcuts = cap;
	}
	sp->cuts[sp->ncuts++] = r->pos;
	return 0;
}

static int
seg_add(struct rd_stage *st, const char *p, size_t len)
{
	struct st_seg	*ns;
	size_t		 cap;

	if (st->nsegs == st->capsegs) {
		cap = st->capsegs ? st->capsegs * 2 : 1024;
		if ((ns = reallocarray(st->segs, cap, sizeof(*ns))) == NULL)
			return -1;
		st->segs = ns;
		st->capsegs = cap;
	}
	st->segs[st->nsegs].p = p;
	st->segs[st->nsegs++].len = len;
	return 0;
}

/* a rec frame ends: its text as segments of the answer */
static int
span_close(struct reader *r, const struct frame *f, struct st_thing *t)
{
	struct rd_stage	*st = r->st;
	struct span	*sp = &r->span[f->level];
	size_t		 from = sp->start, i;

	if (st->nsegs >= UINT32_MAX - sp->ncuts - 1)
		return -1;
	t->seg = (uint32_t)st->nsegs;
	t->rawlen = 0;
	for (i = 0; i + 1 < sp->ncuts; i += 2) {
		if (seg_add(st, r->text + from, sp->cuts[i] - from) == -1 ||
		    seg_add(st, NULL, ST_CUT_LEN) == -1)
			return -1;
		t->rawlen += sp->cuts[i] - from + ST_CUT_LEN;
		from = sp->cuts[i + 1];
	}
	if (seg_add(st, r->text + from, r->pos - from) == -1)
		return -1;
	t->rawlen += r->pos - from;
	t->nseg = (uint32_t)(st->nsegs - t->seg);
	return 0;
}

/* a NUL-terminated copy in strs; its offset, or ST_NONE on ENOMEM */
static uint32_t
keep_str(struct rd_stage *st, const char *s, size_t n)
{
	size_t	off = st->strs.len;

	if (off + n + 1 >= ST_NONE || jtext_room(&st->strs, n + 1) == -1)
		return ST_NONE;
	memcpy(st->strs.s + off, s, n);
	st->strs.s[off + n] = '\0';
	st->strs.len += n + 1;
	return (uint32_t)off;
}

static int
is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* the slot of a member name in a frame of this role, or -1 */
static int
key_slot(const struct frame *f, const char *k, size_t n)
{
	switch (f->role) {
	case R_LISTING:
	case R_POST:
	case R_THING:
		if (is(k, n, "kind"))
			return S_KIND;
		if (is(k, n, "data"))
			return S_DATA;
		return -1;
	case R_LDATA:
		return is(k, n, "children") ? S_CHILDREN : -1;
	case R_PDATA:
		return is(k, n, "id") ? S_ID : -1;
	case R_MC:
		return is(k, n, "json") ? S_JSON : -1;
	case R_MCJSON:
		if (is(k, n, "errors"))
			return S_ERRORS;
		return is(k, n, "data") ? S_DATA : -1;
	case R_MCDATA:
		return is(k, n, "things") ? S_THINGS : -1;
	case R_TDATA:
		/* by length first: most of a t1's 60-odd names stop there */
		switch (n) {
		case 2:
			return is(k, n, "id") ? S_TID : -1;
		case 4:
			if (is(k, n, "name"))
				return S_NAME;
			return is(k, n, "body") ? S_BODY : -1;
		case 5:
			if (is(k, n, "depth"))
				return S_DEPTH;
			if (is(k, n, "score"))
				return S_SCORE;
			return is(k, n, "count") ? S_COUNT : -1;
		case 6:
			return is(k, n, "author") ? S_AUTHOR : -1;
		case 7:
			if (is(k, n, "link_id"))
				return S_LINK_ID;
			return is(k, n, "replies") ? S_REPLIES : -1;
		case 8:
			return is(k, n, "children") ? S_TCHILDREN : -1;
		case 9:
			return is(k, n, "parent_id") ? S_PARENT_ID : -1;
		case 11:
			return is(k, n, "created_utc") ? S_CREATED_UTC : -1;
		}
		return -1;
	default:
		return -1;
	}
}

/*
 * A value starts in f (NULL: the top). Returns the slot (object member)
 * or element index (array) it fills, or -1; *cutp: the value is a cut.
 */
static long
value_in(struct frame *f, int *cutp)
{
	long	 at;

	*cutp = 0;
	if (f == NULL)
		return -1;
	if (f->map) {
		at = f->want;
		*cutp = f->skip;
		f->want = -1;
		f->skip = 0;
		return at;
	}
	return (long)f->n++;
}

static struct st_thing *
thing(struct reader *r, const struct frame *f)
{
	return &r->st->things[f->thing];
}

/* ---------------------------------------------------------------- */
/* scalars                                                            */

enum vtype { V_NULL, V_BOOL, V_NUM, V_STR };

static int
scalar(struct reader *r, enum vtype vt, const char *s, size_t n)
{
	struct rd_stage	*st = r->st;
	struct frame	*f = cur(r);
	struct st_thing	*t;
	char		 num[ST_NUMBER_MAX + 1], *big;
	double		 d = 0;
	long		 at;
	uint32_t	 off;
	int		 cut;

	at = value_in(f, &cut);
	if (cut)
		(void)cut_mark(r, f->level, 1);
	if (f == NULL || at < 0)
		return 1;
	if (vt == V_STR && !in_body(r, s))
		n = strnlen(s, n);
	/* only the numbers a thing keeps are read */
	if (vt == V_NUM && f->role == R_TDATA && n <= ST_NUMBER_MAX) {
		memcpy(num, s, n);
		num[n] = '\0';
		d = strtod(num, NULL);
	} else if (vt == V_NUM && f->role == R_TDATA) {
		if ((big = strndup(s, n)) == NULL)
			return fail(r, "out of memory");
		d = strtod(big, NULL);
		free(big);
	}
	switch (f->role) {
	case R_ROOT:
		if (st->nroot < 2)
			st->nroot++;
		break;
	case R_LISTING:
	case R_POST:
	case R_THING:
		if (at == S_DATA)
			f->dstate = 2;
		else if (at == S_KIND && vt != V_STR)
			f->kstate = 2;
		else if (at == S_KIND) {
			f->kstate = 1;
			if (f->role == R_THING)
				thing(r, f)->kind = is(s, n, "t1") ? ST_T1 :
				    is(s, n, "more") ? ST_MORE : ST_OTHER;
			else
				f->kindval = f->role == R_POST ?
				    is(s, n, "t3") : is(s, n, "Listing");
		}
		break;
	case R_PDATA:
		if (vt == V_STR && (st->post_id = keep_str(st, s, n)) ==
		    ST_NONE)
			return fail(r, "out of memory");
		break;
	case R_ERRS:
		if (at == 0)
			st->mc_err = 1;
		break;
	case R_ERR0:
		if (vt == V_STR && at < 2) {
			if ((off = keep_str(st, s, n)) == ST_NONE)
				return fail(r, "out of memory");
			if (at == 0)
				st->mc_code = off;
			else
				st->mc_msg = off;
		}
		break;
	case R_IDS:
		t = thing(r, f);
		t->nchildren++;
		if (vt != V_STR)
			break;
		if (st->nids == st->capids) {
			uint32_t *ni;
			size_t	  cap = st->capids ? st->capids * 2 : 256;

			if ((ni = reallocarray(st->ids, cap, sizeof(*ni))) ==
			    NULL)
				return fail(r, "out of memory");
			st->ids = ni;
			st->capids = cap;
		}
		if ((off = keep_str(st, s, n)) == ST_NONE)
			return fail(r, "out of memory");
		if (t->nids == 0)
			t->ids = (uint32_t)st->nids;
		st->ids[st->nids++] = off;
		t->nids++;
		break;
	case R_TDATA:
		t = thing(r, f);
		if (vt == V_NUM) {
			if (at == S_DEPTH)
				t->depth = d;
			else if (at == S_SCORE)
				t->score = d;
			else if (at == S_CREATED_UTC)
				t->created_utc = d;
			else if (at == S_COUNT)
				t->count = d;
			break;
		}
		if (vt != V_STR || at < S_NAME || at > S_TID || at == S_DEPTH ||
		    at == S_SCORE || at == S_CREATED_UTC || at == S_COUNT ||
		    at == S_REPLIES || at == S_TCHILDREN)
			break;
		if ((off = keep_str(st, s, n)) == ST_NONE)
			return fail(r, "out of memory");
		switch (at) {
		case S_NAME:	  t->name = off; break;
		case S_LINK_ID:	  t->link_id = off; break;
		case S_PARENT_ID: t->parent_id = off; break;
		case S_AUTHOR:	  t->author = off; break;
		case S_BODY:	  t->body = off; break;
		case S_TID:	  t->id = off; break;
		}
		break;
	}
	return 1;
}

static int
cb_null(void *ctx)
{
	return scalar(ctx, V_NULL, NULL, 0);
}

static int
cb_bool(void *ctx, int b)
{
	(void)b;	/* no thing keeps a boolean */
	return scalar(ctx, V_BOOL, NULL, 0);
}

static int
cb_number(void *ctx, const char *s, size_t n)
{
	return scalar(ctx, V_NUM, s, n);
}

static int
cb_string(void *ctx, const char *s, size_t n)
{
	return scalar(ctx, V_STR, s, n);
}

/* ---------------------------------------------------------------- */
/* containers                                                         */

static int
stage_thing(struct reader *r, int level, size_t *idx)
{
	struct rd_stage	*st = r->st;
	struct st_thing	*t, *nt;
	size_t		 cap;

	if (st->n == st->cap) {
		cap = st->cap ? st->cap * 2 : 256;
		if ((nt = reallocarray(st->things, cap, sizeof(*nt))) == NULL)
			return -1;
		st->things = nt;
		st->cap = cap;
	}
	t = &st->things[st->n];
	memset(t, 0, sizeof(*t));
	t->kind = ST_OTHER;
	t->level = level;
	t->id = t->name = t->link_id = t->parent_id = t->author = t->body =
	    ST_NONE;
	*idx = st->n++;
	return 0;
}

/* the role of a container starting in f as its value `at` */
static int
child_role(struct reader *r, struct frame *f, long at, int map,
    struct frame *c)
{
	struct rd_stage	*st = r->st;

	if (f == NULL) {
		if (st->mc)
			return map ? R_MC : R_OPAQUE;
		st->root_arr = !map;
		return map ? R_OPAQUE : R_ROOT;
	}
	if (at < 0)
		return R_OPAQUE;
	switch (f->role) {
	case R_ROOT:
		if (st->nroot < 2)
			st->nroot++;
		if (at > 1 || !map)
			return R_OPAQUE;
		c->which = (uint8_t)at;
		return R_LISTING;
	case R_LISTING:
	case R_POST:
	case R_THING:
		if (at == S_KIND) {
			f->kstate = 2;
			return R_OPAQUE;
		}
		if (!map) {
			f->dstate = 2;
			return R_OPAQUE;
		}
		f->dstate = 1;
		c->which = f->which;
		c->level = f->level;
		c->thing = f->thing;
		return f->role == R_LISTING ? R_LDATA : f->role == R_POST ?
		    R_PDATA : R_TDATA;
	case R_LDATA:
		if (map)
			return R_OPAQUE;
		if (f->which < 2)
			st->l_children[f->which] = 1;
		if (f->which == 0)
			return R_C0;
		c->level = f->which == 2 ? f->level + 1 : 0;
		return R_CHILDREN;
	case R_C0:
		return at == 0 && map ? R_POST : R_OPAQUE;
	case R_CHILDREN:
		if (!map)
			return R_OPAQUE;
		if (stage_thing(r, f->level, &c->thing) == -1)
			return -1;
		c->level = f->level;
		return R_THING;
	case R_TDATA:
		if (at == S_TCHILDREN && !map) {
			r->st->things[f->thing].has_children = 1;
			c->thing = f->thing;
			return R_IDS;
		}
		if (at == S_REPLIES && map) {
			c->which = 2;
			c->level = f->level;
			c->thing = st->n;
			return R_LISTING;
		}
		return R_OPAQUE;
	case R_IDS:
		r->st->things[f->thing].nchildren++;
		return R_OPAQUE;
	case R_MC:
		if (!map)
			return R_OPAQUE;
		st->mc_json = 1;
		return R_MCJSON;
	case R_MCJSON:
		if (at == S_ERRORS && !map)
			return R_ERRS;
		return at == S_DATA && map ? R_MCDATA : R_OPAQUE;
	case R_ERRS:
		if (at != 0)
			return R_OPAQUE;
		st->mc_err = 1;
		return map ? R_OPAQUE : R_ERR0;
	case R_MCDATA:
		if (map)
			return R_OPAQUE;
		st->mc_things = 1;
		c->level = 0;
		return R_CHILDREN;
	default:
		return R_OPAQUE;
	}
}

static int
start(struct reader *r, int map)
{
	struct frame	*f = cur(r), *c;
	long		 at;
	int		 cut, role;

	if (r->top >= RD_NESTING_MAX)
		return fail(r, "JSON nested too deeply");
	at = value_in(f, &cut);
	c = &r->fr[r->top];
	memset(c, 0, sizeof(*c));
	c->map = (uint8_t)map;
	c->want = -1;
	if (cut) {
		c->cutend = 1;
		c->cutlevel = f->level;
	}
	if ((role = child_role(r, f, at, map, c)) == -1)
		return fail(r, "out of memory");
	c->role = (uint8_t)role;
	/* a thing known not to be a t1 needs no text */
	if (c->role == R_TDATA && !(f->kstate == 1 &&
	    r->st->things[c->thing].kind != ST_T1)) {
		if (c->level >= ST_LEVELS)
			return fail(r, "comment tree nested too deeply");
		c->rec = 1;
		r->span[c->level].start = r->pos - 1;	/* its '{' */
		r->span[c->level].ncuts = 0;
	}
	r->top++;
	return 1;
}

static int
cb_start_map(void *ctx)
{
	return start(ctx, 1);
}

static int
cb_start_array(void *ctx)
{
	return start(ctx, 0);
}

static int
cb_key(void *ctx, const char *k, size_t n)
{
	struct reader	*r = ctx;
	struct frame	*f = cur(r);
	int		 slot;

	if (!in_body(r, k))
		n = strnlen(k, n);
	f->n++;
	f->want = -1;
	f->skip = 0;
	if ((slot = key_slot(f, k, n)) >= 0 && !(f->seen & (1u << slot))) {
		f->seen |= 1u << slot;
		f->want = (int8_t)slot;
	}
	/* a comment never carries its subtree: every replies is "" */
	if (f->rec && n == 7 && is(k, n, "replies")) {
		if (cut_mark(r, f->level, 0) == -1)
			return fail(r, "out of memory");
		f->skip = 1;
	}
	/* a value nothing reads (an opaque container, at < 0 for scalar()
	 * and child_role()) is only checked */
	return f->want < 0 && !f->skip ? JSCAN_SKIP : 1;
}

/* a thing ends: keep it with its replies, or only it, or neither */
static void
thing_end(struct reader *r, const struct frame *f)
{
	struct rd_stage	*st = r->st;
	struct st_thing	*t = &st->things[f->thing];

	if (f->kstate != 1 || f->dstate != 1 || t->kind == ST_OTHER ||
	    (t->kind == ST_T1 && !rd_valid_id(st_str(st, t->id))))
		st->n = f->thing;
	else if (t->kind == ST_MORE)
		st->n = f->thing + 1;
}

static int
end(struct reader *r)
{
	struct rd_stage	*st = r->st;
	struct frame	*f = cur(r);
	struct st_thing	*t;

	if (f->cutend)
		(void)cut_mark(r, f->cutlevel, 1);
	switch (f->role) {
	case R_LISTING:
		if (f->which < 2)
			st->l_ok[f->which] = f->kstate == 1 && f->dstate == 1 &&
			    f->kindval;
		else if (f->kstate != 1 || f->dstate != 1)
			st->n = f->thing;	/* replies not walked */
		break;
	case R_POST:
		st->post_ok = f->kstate == 1 && f->dstate == 1 && f->kindval;
		break;
	case R_TDATA:
		if (!f->rec)
			break;
		t = &st->things[f->thing];
		if (span_close(r, f, t) == -1)
			return fail(r, "out of memory");
		break;
	case R_THING:
		thing_end(r, f);
		break;
	}
	r->top--;
	return 1;
}

static int
cb_end(void *ctx)
{
	return end(ctx);
}

static const struct jscan_ops callbacks = {
	.null = cb_null,
	.boolean = cb_bool,
	.number = cb_number,
	.string = cb_string,
	.start_map = cb_start_map,
	.map_key = cb_key,
	.end_map = cb_end,
	.start_array = cb_start_array,
	.end_array = cb_end,
};

void
rd_stage_free(struct rd_stage *st)
{
	if (st == NULL)
		return;
	free(st->things);
	free(st->strs.s);
	free(st->segs);
	free(st->ids);
	free(st);
}

static struct rd_stage *
stage(int mc, const char *buf, size_t len, const char **errp)
{
	struct reader	*r = &rdr;
	struct rd_stage	*st;
	int		 rc;

	if (buf == NULL || len == 0) {
		SETERR("empty body");
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		SETERR("out of memory");
		return NULL;
	}
	st->mc = mc;
	st->post_id = st->mc_code = st->mc_msg = ST_NONE;
	r->st = st;
	r->buf = buf;
	r->end = buf + len;
	r->top = 0;
	r->err = NULL;
	/* cJSON skips a UTF-8 byte order mark */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	r->text = buf;
	rc = jscan_run(buf, len, &callbacks, r, &r->pos);
	r->st = NULL;
	if (rc < 0) {
		SETERR(r->err != NULL ? r->err : rc == -2 ?
		    "JSON nested too deeply" : "truncated or invalid JSON");
		rd_stage_free(st);
		return NULL;
	}
	return st;
}

struct rd_stage *
rd_stage_tree(const char *buf, size_t len, const char **errp)
{
	return stage(0, buf, len, errp);
}

struct rd_stage *
rd_stage_morechildren(const char *buf, size_t len, const char **errp)
{
	return stage(1, buf, len, errp);
}
