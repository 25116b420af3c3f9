/*
 * fetchd_jscan.c — a whole answer read as a stream of JSON events, with
 * jobd's lexer (proto_json_string_end, proto_json_number_end): the
 * comment-tree reader's tokenizer (fetchd_jscan.h).
 *
 * It replaced yajl there, which was a third of fetchd's time on a full
 * job: an answer arrives whole, so nothing needs yajl's resumable state
 * machine, a string with no escape (nearly all of them) is handed over
 * where it lies, and an escaped one is decoded only then.
 *
 * What it accepts is RFC 8259, as cJSON (rd_json_parse) would have it
 * where the two may differ: a \u escape of a lone UTF-16 surrogate is
 * refused; bytes after the top value are ignored; UTF-8 is not checked.
 */
#include <stdint.h>
#include <string.h>

#include "fetchd/fetchd_jscan.h"
#include "fetchd/fetchd_parse.h"
#include "lib/jtext.h"
#include "proto/proto.h"

/* the callbacks refuse deeper nesting first (RD_NESTING_MAX) */
#define JS_DEPTH	(RD_NESTING_MAX + 2)
#define JSCAN_DEPTH_MAX	RD_NESTING_MAX

/* ws() and lit() are proto_frame.c's, here to be inlined: a call per
 * token cost a fifth of the scan */
static const unsigned char *
ws(const unsigned char *p, const unsigned char *e)
{
	while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* a string's text decoded into out (proto_json_unescape) */
static int
unescape(const unsigned char *s, const unsigned char *e, struct jtext *out)
{
	out->len = 0;
	if (jtext_room(out, (size_t)(e - s) + 1) == -1)
		return -1;
	return proto_json_unescape(s, e, out->s, &out->len);
}

/* a string or a name at p, to fn (its answer in *rvp); just past it, or
 * NULL */
static const unsigned char *
string(const unsigned char *p, const unsigned char *e,
    int (*fn)(void *, const char *, size_t), void *ctx, size_t *posp,
    const unsigned char *b, int *rvp)
{
	static struct jtext	 dec;	/* fetchd is one thread */
	const unsigned char	*q;
	int			 esc;

	if ((q = proto_json_string_end(p, e, &esc)) == NULL)
		return NULL;
	*posp = (size_t)(q - b);
	if (!esc)
		*rvp = fn(ctx, (const char *)p + 1, (size_t)(q - p - 2));
	else if (unescape(p + 1, q - 1, &dec) == -1)
		return NULL;
	else
		*rvp = fn(ctx, dec.s, dec.len);
	return *rvp ? q : NULL;
}

static const unsigned char *
lit(const unsigned char *p, const unsigned char *e, const char *w, size_t n)
{
	return (size_t)(e - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

/*
 * The value at p, checked as strictly as the rest but reported to no one;
 * just past it, or NULL (*deepp: it nests beyond JSCAN_DEPTH_MAX with the
 * depth containers around it). Most of a comment's 70-odd members are of
 * no interest to the reader: going over them here, with no callback per
 * token and no string decoded, staging a 100-post job's trees (21 MB)
 * went from 22 to 18 ms (bench/README.md, session 10). A scalar, nearly
 * all of them, is read here; a container by proto's checker.
 */
static const unsigned char *
skip(const unsigned char *p, const unsigned char *e, int depth, int *deepp)
{
	int	 esc;

	p = ws(p, e);
	if (p == e)
		return NULL;
	switch (*p) {
	case '"':
		return proto_json_string_end(p, e, &esc);
	case 't':
		return lit(p, e, "true", 4);
	case 'f':
		return lit(p, e, "false", 5);
	case 'n':
		return lit(p, e, "null", 4);
	case '{':
	case '[':
		return proto_json_value_end(p, e, JSCAN_DEPTH_MAX - depth,
		    deepp);
	default:
		return proto_json_number_end(p, e);
	}
}

int
jscan_run(const char *buf, size_t len, const struct jscan_ops *ops,
    void *ctx, size_t *posp)
{
	const unsigned char	*b = (const unsigned char *)buf, *p = b;
	const unsigned char	*e = b + len, *q = NULL;
	unsigned char		 stack[JS_DEPTH];	/* the closers due */
	int			 depth = 0, ok = 0, rv, deep = 0;

 value:
	p = ws(p, e);
	if (p == e)
		return -1;
	switch (*p) {
	case '{':
	case '[':
		if (depth == JS_DEPTH)
			return -1;
		stack[depth++] = *p == '{' ? '}' : ']';
		*posp = (size_t)(++p - b);
		if (!(stack[depth - 1] == '}' ? ops->start_map(ctx) :
		    ops->start_array(ctx)))
			return -1;
		p = ws(p, e);
		if (p < e && *p == stack[depth - 1])
			goto close;
		if (stack[depth - 1] == '}')
			goto key;
		goto value;
	case '"':
		if ((p = string(p, e, ops->string, ctx, posp, b, &rv)) ==
		    NULL)
			return -1;
		goto after;
	case 't':
		if ((q = lit(p, e, "true", 4)) != NULL) {
			*posp = (size_t)(q - b);
			ok = ops->boolean(ctx, 1);
		}
		break;
	case 'f':
		if ((q = lit(p, e, "false", 5)) != NULL) {
			*posp = (size_t)(q - b);
			ok = ops->boolean(ctx, 0);
		}
		break;
	case 'n':
		if ((q = lit(p, e, "null", 4)) != NULL) {
			*posp = (size_t)(q - b);
			ok = ops->null(ctx);
		}
		break;
	default:
		if ((q = proto_json_number_end(p, e)) != NULL) {
			*posp = (size_t)(q - b);
			ok = ops->number(ctx, (const char *)p, (size_t)(q - p));
		}
		break;
	}
	if (q == NULL || !ok)
		return -1;
	p = q;
 after:
	if (depth == 0)
		return 0;	/* what follows the top value is not read */
	p = ws(p, e);
	if (p == e)
		return -1;
	if (*p == ',') {
		p++;
		if (stack[depth - 1] == '}')
			goto key;
		goto value;
	}
	if (*p != stack[depth - 1])
		return -1;
 close:
	*posp = (size_t)(++p - b);
	if (!(stack[--depth] == '}' ? ops->end_map(ctx) : ops->end_array(ctx)))
		return -1;
	goto after;
 key:
	p = ws(p, e);
	if (p == e || *p != '"' ||
	    (p = string(p, e, ops->map_key, ctx, posp, b, &rv)) == NULL)
		return -1;
	p = ws(p, e);
	if (p == e || *p != ':')
		return -1;
	p++;
	if (rv != JSCAN_SKIP)
		goto value;
	if ((p = skip(p, e, depth, &deep)) == NULL)
		return deep ? -2 : -1;
	goto after;
}
