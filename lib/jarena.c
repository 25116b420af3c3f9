/*
 * jarena.c — parsed JSON trees live in arenas.
 *
 * A comment tree answer (fetchd) or a task report (jobd) is tens of
 * thousands of small cJSON allocations (a node, a key and a string per
 * member), each malloc'd by the parser and freed one by one by
 * cJSON_Delete: about a third of fetchd's CPU, a tenth of jobd's loop,
 * went to malloc and free. While jarena_parse() runs, cJSON's allocator
 * (cJSON_InitHooks) hands out memory from 256 KiB chunks of the tree's
 * own arena instead; freeing a pointer inside a chunk costs nothing, and
 * freeing the tree's root (the parser's first allocation, which
 * cJSON_Delete frees last) gives the whole arena back. Anything else goes
 * to malloc and free as before: a chunk is aligned to its size, and a
 * small table of live chunks tells one kind of pointer from the other.
 *
 * A daemon installs it only when one thread alone uses cJSON (its loop:
 * nng and libcurl threads never do), so none of this is locked. Nothing
 * may keep a node of a parsed tree past the tree's cJSON_Delete, which
 * was already the rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/jarena.h"
#include "proto/proto.h"

#define CHUNK		(256u * 1024)
#define CHUNK_BIG	(CHUNK / 8)	/* larger allocations: malloc */
#define TABLE		1024		/* live chunks at most (256 MiB) */
#define SPARE		16		/* chunks kept for the next trees */

struct arena;

struct chunk {
	struct arena	*owner;
	struct chunk	*next;
	char		*p, *end;
};

struct arena {
	struct chunk	*chunks;
	void		*root;		/* the first allocation */
};

static int		 installed;
static struct arena	*filling;
static uintptr_t	 table[TABLE];	/* chunk addresses, 0: free slot */
static size_t		 nlive;
static unsigned long	 releases;
static struct chunk	*spare;		/* free chunks, already faulted in */
static int		 nspare;

static size_t
slot_of(uintptr_t base)
{
	return (size_t)((base / CHUNK) * 2654435761u) % TABLE;
}

static int
table_add(uintptr_t base)
{
	size_t	 i;

	if (nlive >= TABLE / 2)
		return -1;
	for (i = slot_of(base); table[i] != 0; i = (i + 1) % TABLE)
		;
	table[i] = base;
	nlive++;
	return 0;
}

static int
table_has(uintptr_t base)
{
	size_t	 i;

	for (i = slot_of(base); table[i] != 0; i = (i + 1) % TABLE)
		if (table[i] == base)
			return 1;
	return 0;
}

/* open addressing: the entries after a hole move up to stay reachable */
static void
table_del(uintptr_t base)
{
	size_t		 i, j;
	uintptr_t	 v;

	for (i = slot_of(base); table[i] != base; i = (i + 1) % TABLE)
		if (table[i] == 0)
			return;
	table[i] = 0;
	nlive--;
	for (j = (i + 1) % TABLE; (v = table[j]) != 0; j = (j + 1) % TABLE) {
		table[j] = 0;
		nlive--;
		table_add(v);
	}
}

static void
arena_release(struct arena *a)
{
	struct chunk	*c, *next;

	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		table_del((uintptr_t)c);
		if (nspare < SPARE) {
			c->next = spare;
			spare = c;
			nspare++;
		} else
			free(c);
	}
	free(a);
	releases++;
}

static void *
arena_malloc(size_t n)
{
	struct arena	*a = filling;
	struct chunk	*c;
	void		*r;

	if (a == NULL || n > CHUNK_BIG)
		return malloc(n);
	n = (n + 15) & ~(size_t)15;
	if ((c = a->chunks) == NULL || (size_t)(c->end - c->p) < n) {
		if ((c = spare) != NULL) {
			spare = c->next;
			nspare--;
		} else if ((c = aligned_alloc(CHUNK, CHUNK)) == NULL)
			return NULL;
		if (table_add((uintptr_t)c) == -1) {
			free(c);
			return malloc(n);
		}
		c->owner = a;
		c->next = a->chunks;
		c->p = (char *)c + ((sizeof(*c) + 15) & ~(size_t)15);
		c->end = (char *)c + CHUNK;
		a->chunks = c;
	}
	r = c->p;
	c->p += n;
	if (a->root == NULL)
		a->root = r;
	return r;
}

static void
arena_free(void *p)
{
	struct chunk	*c;
	uintptr_t	 base = (uintptr_t)p & ~(uintptr_t)(CHUNK - 1);

	if (p == NULL)
		return;
	if (nlive == 0 || !table_has(base)) {
		free(p);
		return;
	}
	c = (struct chunk *)base;
	if (p == c->owner->root)
		arena_release(c->owner);
}

void
jarena_install(void)
{
	cJSON_Hooks	 hooks = { arena_malloc, arena_free };

	cJSON_InitHooks(&hooks);
	installed = 1;
}

static cJSON *
parse_in_arena(cJSON *(*parse)(const char *, size_t), const char *buf,
    size_t len)
{
	struct arena	*a;
	unsigned long	 r0 = releases;
	cJSON		*j;

	if (!installed || (a = calloc(1, sizeof(*a))) == NULL)
		return parse(buf, len);
	filling = a;
	j = parse(buf, len);
	filling = NULL;
	/* a failed parse deleted what it built, root last: a is gone */
	if (j == NULL && releases == r0)
		arena_release(a);
	return j;
}

cJSON *
jarena_parse(const char *buf, size_t len)
{
	return parse_in_arena(cJSON_ParseWithLength, buf, len);
}

cJSON *
jarena_parse_rfc(const char *buf, size_t len)
{
	return parse_in_arena(proto_json_parse, buf, len);
}
