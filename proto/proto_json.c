/*
 * proto_json.c — JSON text into a cJSON tree, for the messages daemons
 * exchange: the tree cJSON_ParseWithLength() would build from the same
 * RFC 8259 text, built on proto_frame.c's lexer (strings 16 bytes a
 * step, an escape-free string copied whole, an integer read without
 * strtod and the locale it consults). Nodes and strings come from
 * cJSON_malloc(), so cJSON_Delete() frees the tree and an arena installed
 * with cJSON_InitHooks (lib/jarena.c) holds it.
 *
 * jobd parses every request with it: a 100-post job's task.reports are
 * 2.9 MB of envelope (the comments' heads), which cJSON parsed in 7.6 ms
 * (bench/README.md, session 10).
 *
 * Where cJSON is lenient and RFC 8259 is not (whitespace other than
 * JSON's four, a number with a leading '+' or zero, "1." ...), the text
 * is refused: every daemon writes RFC 8259. As cJSON: a UTF-8 byte order
 * mark is skipped, what follows the value is not read, nesting deeper
 * than 1000 is refused, a \u escape of a lone surrogate is refused, and
 * a string is cut at an escaped NUL.
 */
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define JSON_DEPTH_MAX	1000	/* cJSON's CJSON_NESTING_LIMIT */
#define NUM_MAX		64	/* a number's text read from the stack */

static const unsigned char *
ws(const unsigned char *p, const unsigned char *e)
{
	while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

static cJSON *
node(int type)
{
	cJSON	*n;

	if ((n = cJSON_malloc(sizeof(*n))) != NULL) {
		memset(n, 0, sizeof(*n));
		n->type = type;
	}
	return n;
}

/* a string's text between its quotes, as a NUL-terminated copy */
static char *
decode(const unsigned char *s, const unsigned char *e, int esc)
{
	size_t	 n = (size_t)(e - s);
	char	*out;

	if ((out = cJSON_malloc(n + 1)) == NULL)
		return NULL;
	if (!esc)
		memcpy(out, s, n);
	else if (proto_json_unescape(s, e, out, &n) == -1) {
		cJSON_free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

/*
 * A number's value, as cJSON has it (strtod of its text, in the C locale
 * whatever the process's); -1 when out of memory.
 */
static locale_t		 c_locale;
static pthread_once_t	 c_locale_once = PTHREAD_ONCE_INIT;

static void
c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static int
number(const unsigned char *p, const unsigned char *q, double *dp)
{
	char		 small[NUM_MAX], *buf = small;
	const unsigned char *s = p;
	long long	 v = 0;
	int		 neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	/* an integer of up to 15 digits is exact in a double: no strtod */
	if (q - s <= 15) {
		while (s < q && *s >= '0' && *s <= '9')
			v = v * 10 + (*s++ - '0');
		if (s == q) {
			*dp = neg ? -(double)v : (double)v;
			return 0;
		}
	}
	if ((size_t)(q - p) >= sizeof(small) &&
	    (buf = malloc((size_t)(q - p) + 1)) == NULL)
		return -1;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = '\0';
	/* every daemon's loop parses: the locale made once, whichever */
	(void)pthread_once(&c_locale_once, c_locale_init);
	*dp = c_locale != (locale_t)0 ? strtod_l(buf, NULL, c_locale) :
	    strtod(buf, NULL);
	if (buf != small)
		free(buf);
	return 0;
}

/* append n to the container c, whose last child is *lastp */
static void
append(cJSON *c, cJSON **lastp, cJSON *n)
{
	if (*lastp == NULL)
		c->child = n;
	else {
		(*lastp)->next = n;
		n->prev = *lastp;
	}
	*lastp = n;
	c->child->prev = n;	/* cJSON: the first child's prev is the last */
}

cJSON *
proto_json_parse(const char *buf, size_t len)
{
	const unsigned char	*p = (const unsigned char *)buf, *e = p + len;
	const unsigned char	*q;
	cJSON			*stack[JSON_DEPTH_MAX], *last[JSON_DEPTH_MAX];
	cJSON			*root = NULL, *n;
	char			*key = NULL;
	double			 d;
	int			 depth = 0, esc;

	if (buf == NULL)
		return NULL;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
 value:
	p = ws(p, e);
	if (p == e)
		goto fail;
	switch (*p) {
	case '{':
	case '[':
		if (depth == JSON_DEPTH_MAX ||
		    (n = node(*p == '{' ? cJSON_Object : cJSON_Array)) == NULL)
			goto fail;
		p++;
		break;
	case '"':
		if ((q = proto_json_string_end(p, e, &esc)) == NULL ||
		    (n = node(cJSON_String)) == NULL)
			goto fail;
		if ((n->valuestring = decode(p + 1, q - 1, esc)) == NULL) {
			cJSON_Delete(n);
			goto fail;
		}
		p = q;
		break;
	case 't':
		if (e - p < 4 || memcmp(p, "true", 4) != 0 ||
		    (n = node(cJSON_True)) == NULL)
			goto fail;
		n->valueint = 1;
		p += 4;
		break;
	case 'f':
		if (e - p < 5 || memcmp(p, "false", 5) != 0 ||
		    (n = node(cJSON_False)) == NULL)
			goto fail;
		p += 5;
		break;
	case 'n':
		if (e - p < 4 || memcmp(p, "null", 4) != 0 ||
		    (n = node(cJSON_NULL)) == NULL)
			goto fail;
		p += 4;
		break;
	default:
		if ((q = proto_json_number_end(p, e)) == NULL ||
		    number(p, q, &d) == -1 || (n = node(cJSON_Number)) == NULL)
			goto fail;
		n->valuedouble = d;
		n->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ?
		    INT_MIN : (int)d;
		p = q;
		break;
	}
	/* n is the value: into its container (with its key), or the root */
	n->string = key;
	key = NULL;
	if (depth > 0)
		append(stack[depth - 1], &last[depth - 1], n);
	else
		root = n;
	if (n->type == cJSON_Object || n->type == cJSON_Array) {
		stack[depth] = n;
		last[depth++] = NULL;
		p = ws(p, e);
		if (p < e && *p == (n->type == cJSON_Object ? '}' : ']')) {
			p++;
			depth--;
			goto after;
		}
		if (n->type == cJSON_Object)
			goto key;
		goto value;
	}
 after:
	if (depth == 0)
		return root;	/* what follows is not read, as cJSON */
	p = ws(p, e);
	if (p == e)
		goto fail;
	if (*p == ',') {
		p++;
		if (stack[depth - 1]->type == cJSON_Object)
			goto key;
		goto value;
	}
	if (*p != (stack[depth - 1]->type == cJSON_Object ? '}' : ']'))
		goto fail;
	p++;
	depth--;
	goto after;
 key:
	p = ws(p, e);
	if (p == e || *p != '"' ||
	    (q = proto_json_string_end(p, e, &esc)) == NULL ||
	    (key = decode(p + 1, q - 1, esc)) == NULL)
		goto fail;
	p = ws(q, e);
	if (p == e || *p != ':')
		goto fail;
	p++;
	goto value;
 fail:
	cJSON_free(key);
	cJSON_Delete(root);
	return NULL;
}
