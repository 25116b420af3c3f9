/*
 * fetchd_seen.c — a set of post fullnames ("t3_x"): what a job has
 * reported, for de-duplication across sources (history mode). Open
 * addressing with FNV-1a; the checkpoint form is one string of bare ids
 * separated by commas (about 8 bytes a post).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"
#include "lib/log.h"

static size_t
seen_hash(const char *s)
{
	size_t	h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int
seen_has(const struct seen *k, const char *id)
{
	size_t	i;

	if (k->cap == 0)
		return 0;
	for (i = seen_hash(id) & (k->cap - 1); k->slot[i] != NULL;
	    i = (i + 1) & (k->cap - 1))
		if (strcmp(k->slot[i], id) == 0)
			return 1;
	return 0;
}

static void
seen_put(struct seen *k, char *id)
{
	size_t	i;

	for (i = seen_hash(id) & (k->cap - 1); k->slot[i] != NULL;
	    i = (i + 1) & (k->cap - 1))
		;
	k->slot[i] = id;
}

/* 1 when id was new */
int
seen_add(struct seen *k, const char *id)
{
	struct seen	 g;
	size_t		 i;
	char		*dup;

	if (seen_has(k, id))
		return 0;
	if ((k->n + 1) * 2 > k->cap) {
		g.cap = k->cap ? k->cap * 2 : 1024;
		if ((g.slot = calloc(g.cap, sizeof(*g.slot))) == NULL)
			fatalx("out of memory");
		for (i = 0; i < k->cap; i++)
			if (k->slot[i] != NULL)
				seen_put(&g, k->slot[i]);
		free(k->slot);
		k->slot = g.slot;
		k->cap = g.cap;
	}
	if ((dup = strdup(id)) == NULL)
		fatalx("out of memory");
	seen_put(k, dup);
	k->n++;
	return 1;
}

void
seen_free(struct seen *k)
{
	size_t	i;

	for (i = 0; i < k->cap; i++)
		free(k->slot[i]);
	free(k->slot);
	memset(k, 0, sizeof(*k));
}

/* "id,id,..." (bare ids) */
cJSON *
seen_dump(const struct seen *k)
{
	char	*buf, *p;
	size_t	 i, len = 1;
	cJSON	*s;

	for (i = 0; i < k->cap; i++)
		if (k->slot[i] != NULL)
			len += strlen(k->slot[i]) + 1;
	if ((buf = p = malloc(len)) == NULL)
		fatalx("out of memory");
	*p = '\0';
	for (i = 0; i < k->cap; i++)
		if (k->slot[i] != NULL)
			p += sprintf(p, "%s%s", p == buf ? "" : ",",
			    k->slot[i] + 3);
	s = cJSON_CreateString(buf);
	free(buf);
	return s;
}

void
seen_load(struct seen *k, const char *s)
{
	char	 id[RD_FULLNAME_MAX + 1];
	size_t	 n;

	while (*s) {
		n = strcspn(s, ",");
		if (n > 0 && n + 3 <= RD_FULLNAME_MAX) {
			snprintf(id, sizeof(id), "t3_%.*s", (int)n, s);
			if (rd_valid_id(id + 3))
				seen_add(k, id);
		}
		s += n;
		if (*s == ',')
			s++;
	}
}
