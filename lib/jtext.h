/*
 * jtext.h — compact JSON text exactly as cJSON_PrintUnformatted (cJSON
 * 1.7.15, Debian 12) writes it, a few times faster: integers below 1e15
 * are written as their digits instead of through sprintf("%1.15g") and
 * an sscanf round trip; every other number is cJSON's own print. Unit-
 * tested against cJSON over the Reddit fixtures and a table of edge cases
 * (tests/unit/test_jtext.c).
 *
 * An append buffer for writers that build one text from parts (fetchd's
 * comment raw, worker reports): start from {NULL, 0, 0}, free(t.s).
 */
#ifndef RSCRAPE_JTEXT_H
#define RSCRAPE_JTEXT_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct jtext {
	char	*s;
	size_t	 len, cap;
};

/* room for need more bytes; -1 when out of memory (t unchanged) */
int	 jtext_room(struct jtext *t, size_t need);
/* n bytes as they are */
int	 jtext_lit(struct jtext *t, const char *w, size_t n);
/* a JSON string, quotes included (NULL: "") */
int	 jtext_str(struct jtext *t, const char *s);
/* the same for n bytes (no NUL among them: cJSON's strings end there) */
int	 jtext_strn(struct jtext *t, const char *s, size_t n);
/* a number as cJSON prints its valuedouble */
int	 jtext_num(struct jtext *t, double d);
/* item and everything below it */
int	 jtext_value(struct jtext *t, const cJSON *item);
/*
 * The text written, NUL-terminated, handed to the caller (free() it); when
 * !ok (a write failed) it is freed and NULL comes back. lenp may be NULL.
 */
char	*jtext_end(struct jtext *t, int ok, size_t *lenp);
/* the whole text of item, NUL-terminated (malloc'd; lenp may be NULL) */
char	*jtext_print(const cJSON *item, size_t *lenp);

#endif
