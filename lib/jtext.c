/*
 * jtext.c — compact JSON text, byte for byte what cJSON_PrintUnformatted
 * writes, without its sprintf + sscanf round trip for each number that
 * is an integer (most of Reddit's and all of a report's). See jtext.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jtext.h"

int
jtext_room(struct jtext *t, size_t need)
{
	char	*n;
	/*
	 * Start below glibc's large-request size (1024 bytes): a first
	 * request of 4 KiB made malloc consolidate its fast bins on every
	 * envelope httpd and jobd print (~3% of httpd under POSTs); most
	 * envelopes fit in 1000 bytes, longer texts double from there.
	 */
	size_t	 c = t->cap ? t->cap : 1000;

	while (c - t->len < need)
		c *= 2;
	if (c == t->cap)
		return 0;
	if ((n = realloc(t->s, c)) == NULL)
		return -1;
	t->s = n;
	t->cap = c;
	return 0;
}

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/*
 * How many of the n bytes at p surely need no escape, eight at a time:
 * a word is plain when none of its bytes is below 0x20, '"' or '\\'
 * (the usual has-zero-byte tests; the caller finishes byte by byte).
 */
static size_t
plain(const unsigned char *p, size_t n)
{
	uint64_t	 x, q, b;
	size_t		 i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, p + i, 8);
		q = x ^ (ONES * '"');
		b = x ^ (ONES * '\\');
		if ((((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) |
		    ((b - ONES) & ~b)) & HIGHS)
			break;
	}
	return i;
}

/*
 * n bytes of a string as cJSON's print_string_ptr writes them, quotes
 * included; the caller stops n at a NUL, as cJSON's C strings do.
 */
int
jtext_strn(struct jtext *t, const char *str, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)str;
	const unsigned char *end = p + n, *run;
	char		*w;

	if (jtext_room(t, n * 6 + 3) == -1)
		return -1;
	w = t->s + t->len;
	*w++ = '"';
	for (;;) {
		run = p;
		p += plain(p, (size_t)(end - p));
		for (; p < end && *p >= 32 && *p != '"' && *p != '\\'; p++)
			;
		memcpy(w, run, (size_t)(p - run));
		w += p - run;
		if (p == end)
			break;
		*w++ = '\\';
		switch (*p) {
		case '"':  *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		default:
			*w++ = 'u';
			*w++ = '0';
			*w++ = '0';
			*w++ = hexd[*p >> 4];
			*w++ = hexd[*p & 0xf];
			break;
		}
		p++;
	}
	*w++ = '"';
	t->len = (size_t)(w - t->s);
	return 0;
}

/* a string as cJSON's print_string_ptr writes it, quotes included */
int
jtext_str(struct jtext *t, const char *str)
{
	if (str == NULL)
		str = "";
	return jtext_strn(t, str, strlen(str));
}

static void
put_int(struct jtext *t, long long v)
{
	char		 b[24];
	int		 i = (int)sizeof(b);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
			    (unsigned long long)v;

	do {
		b[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		b[--i] = '-';
	memcpy(t->s + t->len, b + i, sizeof(b) - (size_t)i);
	t->len += sizeof(b) - (size_t)i;
}

/*
 * cJSON (1.7.15): "%1.15g", or "%1.17g" when that does not read back.
 * An integral value below 1e15 in magnitude prints as its digits (but
 * -0 as "-0"); anything else is cJSON's own print.
 */
int
jtext_num(struct jtext *t, double d)
{
	cJSON	 item;
	char	 b[64];

	if (jtext_room(t, sizeof(b)) == -1)
		return -1;
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d &&
	    (d != 0 || !signbit(d)))
		put_int(t, (long long)d);
	else {
		memset(&item, 0, sizeof(item));
		item.type = cJSON_Number;
		item.valuedouble = d;
		if (!cJSON_PrintPreallocated(&item, b, (int)sizeof(b), 0))
			return -1;
		memcpy(t->s + t->len, b, strlen(b));
		t->len += strlen(b);
	}
	return 0;
}

int
jtext_lit(struct jtext *t, const char *w, size_t n)
{
	if (jtext_room(t, n) == -1)
		return -1;
	memcpy(t->s + t->len, w, n);
	t->len += n;
	return 0;
}

int
jtext_value(struct jtext *t, const cJSON *item)
{
	const cJSON	*c;
	int		 obj;

	switch (item->type & 0xff) {
	case cJSON_NULL:
		return jtext_lit(t, "null", 4);
	case cJSON_False:
		return jtext_lit(t, "false", 5);
	case cJSON_True:
		return jtext_lit(t, "true", 4);
	case cJSON_Number:
		return jtext_num(t, item->valuedouble);
	case cJSON_String:
		return jtext_str(t, item->valuestring);
	case cJSON_Raw:
		if (item->valuestring == NULL)
			return -1;
		return jtext_lit(t, item->valuestring,
		    strlen(item->valuestring));
	case cJSON_Array:
	case cJSON_Object:
		obj = (item->type & 0xff) == cJSON_Object;
		if (jtext_lit(t, obj ? "{" : "[", 1) == -1)
			return -1;
		for (c = item->child; c != NULL; c = c->next) {
			if (c != item->child && jtext_lit(t, ",", 1) == -1)
				return -1;
			if (obj && (jtext_str(t, c->string) == -1 ||
			    jtext_lit(t, ":", 1) == -1))
				return -1;
			if (jtext_value(t, c) == -1)
				return -1;
		}
		return jtext_lit(t, obj ? "}" : "]", 1);
	default:
		return -1;
	}
}

char *
jtext_end(struct jtext *t, int ok, size_t *lenp)
{
	if (!ok || jtext_room(t, 1) == -1) {
		free(t->s);
		t->s = NULL;
		return NULL;
	}
	t->s[t->len] = '\0';
	if (lenp != NULL)
		*lenp = t->len;
	return t->s;
}

char *
jtext_print(const cJSON *item, size_t *lenp)
{
	struct jtext	 t = { NULL, 0, 0 };

	return jtext_end(&t, item != NULL && jtext_value(&t, item) == 0, lenp);
}

