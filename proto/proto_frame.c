/*
 * proto_frame.c — a request's attachment (proto.h, ATTACHMENTS): raw bytes
 * after the envelope, so a task.report's raw Reddit objects travel as the
 * text they already are, neither escaped nor parsed into a tree and
 * printed back on either side. Also the strict JSON check jobd runs on
 * each piece before it stores it as text.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "proto/proto.h"

/* as deep as cJSON's own limit: deeper text is refused */
#define VALID_DEPTH_MAX	1000

static const unsigned char *
ws(const unsigned char *p, const unsigned char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int
hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* 1 for the bytes a string holds as they are: not '"', '\\', controls */
static const unsigned char str_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* '"' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* '\\' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/*
 * p at the opening quote; after the closing one, or NULL. Plain bytes go
 * 16 at a time (SSE2, in every x86-64) and then by four table lookups at a
 * time: a raw is mostly the text of its strings, and str was 7% of jobd's
 * time storing comment trees, a third of fetchd's staging them. Over a
 * 100-post job's trees (21 MB): the whole check 1.88 -> 2.4 GB/s, the
 * staging 18.3 -> 15.9 ms (the table alone had taken the check from
 * 1.0-1.15 to 1.47 GB/s over the answers in tests/data).
 */
static const unsigned char *
str(const unsigned char *p, const unsigned char *e, int *escp)
{
#ifdef __SSE2__
	const __m128i	 quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i	 ctl = _mm_set1_epi8(0x1f);
	__m128i		 v;
	int		 m;
#endif

	for (p++;;) {
#ifdef __SSE2__
		/* 16 bytes a step: a quote, a backslash or a control byte */
		while (e - p >= 16) {
			v = _mm_loadu_si128((const __m128i *)(const void *)p);
			m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
			    _mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
			    _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)));
			if (m != 0) {
				p += __builtin_ctz((unsigned)m);
				break;
			}
			p += 16;
		}
#endif
		while (e - p >= 4 && str_plain[p[0]] && str_plain[p[1]] &&
		    str_plain[p[2]] && str_plain[p[3]])
			p += 4;
		while (p < e && str_plain[*p])
			p++;
		if (p == e || *p < 0x20)
			return NULL;
		if (*p == '"')
			return p + 1;
		/* a backslash */
		if (escp != NULL)
			*escp = 1;
		if (++p == e)
			return NULL;
		switch (*p) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			break;
		case 'u':
			if (e - p < 5 || !hex(p[1]) || !hex(p[2]) ||
			    !hex(p[3]) || !hex(p[4]))
				return NULL;
			p += 4;
			break;
		default:
			return NULL;
		}
		p++;
	}
}

static const unsigned char *
digits(const unsigned char *p, const unsigned char *e)
{
	const unsigned char *s = p;

	while (p < e && *p >= '0' && *p <= '9')
		p++;
	return p == s ? NULL : p;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static const unsigned char *
num(const unsigned char *p, const unsigned char *e)
{
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if ((p = digits(p, e)) == NULL)
		return NULL;
	if (p < e && *p == '.' && (p = digits(p + 1, e)) == NULL)
		return NULL;
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if ((p = digits(p, e)) == NULL)
			return NULL;
	}
	return p;
}

const unsigned char *
proto_json_string_end(const unsigned char *p, const unsigned char *e,
    int *escp)
{
	*escp = 0;
	return p < e && *p == '"' ? str(p, e, escp) : NULL;
}

const unsigned char *
proto_json_number_end(const unsigned char *p, const unsigned char *e)
{
	return num(p, e);
}

static const unsigned char *
lit(const unsigned char *p, const unsigned char *e, const char *w, size_t n)
{
	return (size_t)(e - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

const unsigned char *
proto_json_value_end(const unsigned char *p, const unsigned char *e,
    int maxdepth, int *deepp)
{
	unsigned char		 stack[VALID_DEPTH_MAX];
	int			 depth = 0;

	if (maxdepth > VALID_DEPTH_MAX)
		maxdepth = VALID_DEPTH_MAX;
 value:
	p = ws(p, e);
	if (p == e)
		return NULL;
	switch (*p) {
	case '{':
	case '[':
		if (depth >= maxdepth) {
			if (deepp != NULL)
				*deepp = 1;
			return NULL;
		}
		stack[depth++] = *p++;
		p = ws(p, e);
		if (p < e && *p == (stack[depth - 1] == '{' ? '}' : ']')) {
			p++;
			depth--;
			goto after;
		}
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	case '"':
		p = str(p, e, NULL);
		break;
	case 't':
		p = lit(p, e, "true", 4);
		break;
	case 'f':
		p = lit(p, e, "false", 5);
		break;
	case 'n':
		p = lit(p, e, "null", 4);
		break;
	default:
		p = num(p, e);
		break;
	}
	if (p == NULL)
		return NULL;
 after:
	if (depth == 0)
		return p;
	p = ws(p, e);
	if (p == e)
		return NULL;
	if (*p == ',') {
		p++;
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	}
	if (*p == (stack[depth - 1] == '{' ? '}' : ']')) {
		p++;
		depth--;
		goto after;
	}
	return NULL;
 key:
	p = ws(p, e);
	if (p == e || *p != '"' || (p = str(p, e, NULL)) == NULL)
		return NULL;
	p = ws(p, e);
	if (p == e || *p != ':')
		return NULL;
	p++;
	goto value;
}

int
proto_json_object_valid(const void *buf, size_t len)
{
	const unsigned char	*p = buf, *e = p + len;

	if (buf == NULL)
		return 0;
	p = ws(p, e);
	if (p == e || *p != '{' ||
	    (p = proto_json_value_end(p, e, VALID_DEPTH_MAX, NULL)) == NULL)
		return 0;
	return ws(p, e) == e;
}

static unsigned
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (unsigned)((c | 0x20) - 'a' + 10);	/* the lexer let only hex through */
}

static unsigned long
u4(const unsigned char *p)
{
	return (unsigned long)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
	    hexval(p[2]) << 4 | hexval(p[3]));
}

int
proto_json_unescape(const unsigned char *s, const unsigned char *e,
    char *out, size_t *lenp)
{
	unsigned long	 cp, lo;
	char		*o = out;

	while (s < e) {
		if (*s != '\\') {
			*o++ = (char)*s++;
			continue;
		}
		switch (s[1]) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			cp = u4(s + 2);
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (e - s < 12 || s[6] != '\\' || s[7] != 'u' ||
				    (lo = u4(s + 8)) < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s += 6;
			}
			if (cp < 0x80)
				*o++ = (char)cp;
			else if (cp < 0x800) {
				*o++ = (char)(0xc0 | cp >> 6);
				*o++ = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				*o++ = (char)(0xe0 | cp >> 12);
				*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
				*o++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*o++ = (char)(0xf0 | cp >> 18);
				*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
				*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
				*o++ = (char)(0x80 | (cp & 0x3f));
			}
			s += 6;
			continue;
		default:	/* '"', '\\', '/' */
			*o++ = (char)s[1];
			break;
		}
		s += 2;
	}
	*lenp = (size_t)(o - out);
	return 0;
}

size_t
proto_att_framed_len(size_t envlen, size_t attlen)
{
	return attlen > 0 ? envlen + 1 + attlen : envlen;
}

void
proto_att_frame(char *dst, const char *env, size_t envlen, const void *att,
    size_t attlen)
{
	if (dst != env)
		memcpy(dst, env, envlen);
	if (attlen > 0) {
		dst[envlen] = '\0';
		memcpy(dst + envlen + 1, att, attlen);
	}
}

char *
proto_request_encode_att(const char *reqid, const char *type,
    const cJSON *body, const void *att, size_t attlen, size_t *lenp)
{
	char	*buf, *n;
	size_t	 len;

	if ((buf = proto_request_encode(reqid, type, body, &len)) == NULL)
		return NULL;
	if (att == NULL)
		attlen = 0;
	/* proto_request_encode allocates with malloc (jtext_print) */
	if ((n = realloc(buf, proto_att_framed_len(len, attlen))) == NULL) {
		free(buf);
		return NULL;
	}
	proto_att_frame(n, n, len, att, attlen);
	*lenp = proto_att_framed_len(len, attlen);
	return n;
}

/* one record's raw moved to the end of the attachment; raw_len instead */
static int
detach_one(cJSON *rec, char **att, size_t *len, size_t *cap)
{
	cJSON		*raw = cJSON_GetObjectItemCaseSensitive(rec, PROTO_F_RAW);
	char		*text, *printed = NULL, *n;
	size_t		 tlen, c;

	if (raw == NULL || cJSON_IsNull(raw))
		return 0;
	if (cJSON_IsRaw(raw))
		text = raw->valuestring;
	else if ((text = printed = cJSON_PrintUnformatted(raw)) == NULL)
		return -1;
	tlen = strlen(text);
	if (*cap - *len < tlen) {
		for (c = *cap ? *cap : 65536; c - *len < tlen; c *= 2)
			;
		if ((n = realloc(*att, c)) == NULL) {
			cJSON_free(printed);
			return -1;
		}
		*att = n;
		*cap = c;
	}
	memcpy(*att + *len, text, tlen);
	*len += tlen;
	cJSON_free(printed);
	cJSON_DeleteItemFromObjectCaseSensitive(rec, PROTO_F_RAW);
	if (cJSON_AddNumberToObject(rec, PROTO_F_RAW_LEN, (double)tlen) ==
	    NULL)
		return -1;
	return 0;
}

int
proto_report_detach(cJSON *body, char **attp, size_t *attlenp)
{
	static const char *const arrays[] = { PROTO_F_POSTS, PROTO_F_COMMENTS,
	    NULL };
	const char *const *a;
	cJSON		*arr, *rec;
	char		*att = NULL;
	size_t		 len = 0, cap = 0;

	for (a = arrays; *a != NULL; a++) {
		arr = cJSON_GetObjectItemCaseSensitive(body, *a);
		cJSON_ArrayForEach(rec, arr)
			if (detach_one(rec, &att, &len, &cap) == -1) {
				free(att);
				return -1;
			}
	}
	*attp = att;
	*attlenp = len;
	return 0;
}

int
proto_att_take(const cJSON *rec, const char **att, size_t *left,
    const char **rawp, size_t *rawlenp, const char **errp)
{
	return proto_att_take_members(
	    cJSON_GetObjectItemCaseSensitive(rec, PROTO_F_RAW_LEN),
	    cJSON_GetObjectItemCaseSensitive(rec, PROTO_F_RAW), att, left,
	    rawp, rawlenp, errp);
}

int
proto_att_take_members(const cJSON *n, const cJSON *raw, const char **att,
    size_t *left, const char **rawp, size_t *rawlenp, const char **errp)
{
	double		 d;

	*rawp = NULL;
	*rawlenp = 0;
	if (n == NULL)
		return 0;
	if (raw != NULL) {
		*errp = "record has both raw and raw_len";
		return -1;
	}
	if (!cJSON_IsNumber(n) || (d = n->valuedouble) < 2 ||
	    d > (double)*left || d != floor(d)) {
		*errp = "raw_len is not a length within the attachment";
		return -1;
	}
	*rawp = *att;
	*rawlenp = (size_t)d;
	*att += *rawlenp;
	*left -= *rawlenp;
	return 0;
}
