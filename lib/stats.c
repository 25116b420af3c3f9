/*
 * stats.c — see stats.h. A flat table searched linearly: a process has a
 * few dozen keys, touched a few hundred times a second at most.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/stats.h"

#define KEY_MAX	192

struct stat_ent {
	char	 key[KEY_MAX];
	double	 v;
};

static struct stat_ent	 ents[STATS_MAX];
static int		 nents;
static int		 warned;

static struct stat_ent *
stat_find(const char *name, const char *labels, int create)
{
	char	 key[KEY_MAX];
	int	 i, n;

	if (labels != NULL && *labels != '\0')
		n = snprintf(key, sizeof(key), "%s{%s}", name, labels);
	else
		n = snprintf(key, sizeof(key), "%s", name);
	if (n < 0 || n >= (int)sizeof(key))
		return NULL;
	for (i = 0; i < nents; i++)
		if (strcmp(ents[i].key, key) == 0)
			return &ents[i];
	if (!create)
		return NULL;
	if (nents == STATS_MAX) {
		if (!warned++)
			log_warnx("%s: more than %d metrics, dropping %s",
			    __func__, STATS_MAX, key);
		return NULL;
	}
	memcpy(ents[nents].key, key, (size_t)n + 1);
	ents[nents].v = 0;
	return &ents[nents++];
}

void
stats_add(const char *name, const char *labels, double v)
{
	struct stat_ent	*e = stat_find(name, labels, 1);

	if (e != NULL)
		e->v += v;
}

void
stats_set(const char *name, const char *labels, double v)
{
	struct stat_ent	*e = stat_find(name, labels, 1);

	if (e != NULL)
		e->v = v;
}

double
stats_get(const char *name, const char *labels)
{
	struct stat_ent	*e = stat_find(name, labels, 0);

	return e != NULL ? e->v : 0;
}

cJSON *
stats_json(void)
{
	cJSON	*o = cJSON_CreateObject();
	int	 i;

	for (i = 0; i < nents; i++)
		cJSON_AddNumberToObject(o, ents[i].key, ents[i].v);
	return o;
}

/* name{a="x",b="y"}: [a-zA-Z_:][a-zA-Z0-9_:]*, values without " \ or \n */
int
stats_key_ok(const char *key)
{
	const char	*p = key;

	if (!isalpha((unsigned char)*p) && *p != '_' && *p != ':')
		return 0;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	if (*p == '\0')
		return 1;
	if (*p++ != '{')
		return 0;
	for (;;) {
		if (!isalpha((unsigned char)*p) && *p != '_')
			return 0;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (*p++ != '=' || *p++ != '"')
			return 0;
		while (*p != '"') {
			if (*p == '\0' || *p == '\\' || *p == '\n' ||
			    !isprint((unsigned char)*p))
				return 0;
			p++;
		}
		p++;
		if (*p == '}')
			return p[1] == '\0';
		if (*p++ != ',')
			return 0;
	}
}

void
stats_reset(void)
{
	nents = 0;
	warned = 0;
}
