/*
 * fetchd_history_state.c — history mode's sources (which listing comes
 * next, which can be skipped), its progress and its checkpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd_history.h"
#include "lib/log.h"
#include "proto/proto.h"

const char *const hist_state_names[] = {
	"waiting", "active", "done", "skipped", "failed"
};

/* ---------------------------------------------------------------- */
/* sources                                                            */

static void
add_source(struct history_job *j, const char *sort, const char *t,
    int64_t win)
{
	struct source	*s = &j->src[j->nsrc++];

	memset(s, 0, sizeof(*s));
	s->sort = sort;
	s->t = t;
	s->win = win;
	if (sort == NULL)
		snprintf(s->name, sizeof(s->name), "archive");
	else
		snprintf(s->name, sizeof(s->name), "%s%s%s", sort,
		    t ? "/" : "", t ? t : "");
}

void
make_sources(struct history_job *j)
{
	static const struct { const char *t; int64_t win; } w[] = {
		{ "all", -1 }, { "year", 366 * 86400 },
		{ "month", 31 * 86400 }, { "week", 7 * 86400 },
		{ "day", 86400 }, { "hour", 3600 }
	};
	size_t	i;

	add_source(j, "new", NULL, 0);
	if (j->f->ac != NULL)
		add_source(j, NULL, NULL, 0);
	add_source(j, "hot", NULL, 0);
	if (!j->user)
		add_source(j, "rising", NULL, 0);
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		add_source(j, "top", w[i].t, w[i].win);
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		add_source(j, "controversial", w[i].t, w[i].win);
}

static struct source *
find_source(struct history_job *j, const char *name)
{
	int	i;

	for (i = 0; i < j->nsrc; i++)
		if (strcmp(j->src[i].name, name) == 0)
			return &j->src[i];
	return NULL;
}

int
limit_reached(const struct history_job *j)
{
	return (int64_t)j->known.n >= j->limit;
}

int
sources_done(const struct history_job *j)
{
	return j->cur >= j->nsrc || limit_reached(j);
}

/* Could this listing give a post not known already? */
static int
source_needed(const struct history_job *j, const struct source *s)
{
	if (s->sort == NULL || s->win == 0 || j->covered < 0 ||
	    j->newest <= 0)
		return 1;
	if (s->win == -1)
		return j->covered != 0;
	return j->newest - s->win <= j->covered;
}

/* Move on to the next source that may add something. */
void
next_source(struct history_job *j)
{
	struct source	*s;

	for (; j->cur < j->nsrc; j->cur++) {
		s = &j->src[j->cur];
		if (s->state == SS_WAITING) {
			if (!source_needed(j, s)) {
				s->state = SS_SKIPPED;
				log_info("job %s: %s skipped: its window is "
				    "covered", j->t->job_id, s->name);
				continue;
			}
			s->state = SS_ACTIVE;
		}
		if (s->state == SS_ACTIVE)
			return;
	}
}

void
source_end(struct history_job *j, struct source *s, enum src_state st)
{
	s->state = st;
	log_info("job %s: %s %s: %lld new posts in %lld requests, %zu known",
	    j->t->job_id, s->name, hist_state_names[st], (long long)s->posts,
	    (long long)s->requests, j->known.n);
	if (st == SS_DONE && strcmp(s->name, "new") == 0 && j->oldest > 0 &&
	    j->covered < 0)
		j->covered = j->oldest;
	if (st == SS_DONE && s->sort == NULL)
		j->covered = 0;
	j->dirty = 1;
	next_source(j);
}

static const char *
hist_phase(const struct history_job *j)
{
	if (j->ended)
		return j->media > 0 && j->want_media ? "media" : "done";
	if (!sources_done(j))
		return j->src[j->cur].sort ? "listing" : "archive";
	return "comments";
}

cJSON *
hist_progress(const struct history_job *j)
{
	cJSON		*p = cJSON_CreateObject(), *ss, *o;
	const struct source *s;
	int		 i;

	cJSON_AddNumberToObject(p, P_POSTS, (double)j->posts);
	cJSON_AddNumberToObject(p, P_COMMENTS, (double)j->comments);
	cJSON_AddNumberToObject(p, P_MEDIA, (double)j->media);
	cJSON_AddStringToObject(p, P_PHASE, hist_phase(j));
	cJSON_AddNumberToObject(p, P_REQUESTS, (double)j->requests);
	cJSON_AddNumberToObject(p, P_ARCHIVED, (double)j->archived);
	if (!sources_done(j))
		cJSON_AddStringToObject(p, P_SOURCE, j->src[j->cur].name);
	ss = cJSON_AddObjectToObject(p, P_SOURCES);
	for (i = 0; i < j->nsrc; i++) {
		s = &j->src[i];
		o = cJSON_AddObjectToObject(ss, s->name);
		cJSON_AddNumberToObject(o, S_POSTS, (double)s->posts);
		cJSON_AddNumberToObject(o, S_REQUESTS, (double)s->requests);
		cJSON_AddStringToObject(o, S_STATE, hist_state_names[s->state]);
	}
	return p;
}

cJSON *
hist_checkpoint(const struct history_job *j)
{
	cJSON		*c = cJSON_CreateObject(), *ss, *o;
	const struct source *s;
	int		 i;

	cJSON_AddBoolToObject(c, C_ABOUT, j->about_ok);
	if (j->cur < j->nsrc)
		cJSON_AddStringToObject(c, C_CUR, j->src[j->cur].name);
	ss = cJSON_AddObjectToObject(c, P_SOURCES);
	for (i = 0; i < j->nsrc; i++) {
		s = &j->src[i];
		o = cJSON_AddObjectToObject(ss, s->name);
		cJSON_AddNumberToObject(o, S_POSTS, (double)s->posts);
		cJSON_AddNumberToObject(o, S_REQUESTS, (double)s->requests);
		cJSON_AddNumberToObject(o, S_STATE, (double)s->state);
		if (s->after[0])
			cJSON_AddStringToObject(o, S_AFTER, s->after);
		if (s->before > 0)
			cJSON_AddNumberToObject(o, S_BEFORE,
			    (double)s->before);
	}
	cJSON_AddNumberToObject(c, C_NEWEST, (double)j->newest);
	cJSON_AddNumberToObject(c, C_OLDEST, (double)j->oldest);
	cJSON_AddNumberToObject(c, C_COVERED, (double)j->covered);
	cJSON_AddItemToObject(c, C_KNOWN, seen_dump(&j->known));
	cJSON_AddItemToObject(c, C_PENDING, trees_checkpoint(j->trees));
	if (j->c_after[0])
		cJSON_AddStringToObject(c, C_CAFTER, j->c_after);
	cJSON_AddBoolToObject(c, C_CEXHAUSTED, j->c_exhausted);
	return c;
}

void
hist_restore(struct history_job *j, const cJSON *c)
{
	const cJSON	*ss, *o;
	struct source	*s;
	const char	*str;
	int64_t		 n;
	int		 b;

	if (c == NULL || proto_get_bool(c, C_ABOUT, 1, &b, NULL) == -1 || !b)
		return;
	j->about_ok = 1;
	ss = cJSON_GetObjectItemCaseSensitive(c, P_SOURCES);
	cJSON_ArrayForEach(o, ss) {
		if (!cJSON_IsObject(o) || o->string == NULL ||
		    (s = find_source(j, o->string)) == NULL)
			continue;
		if (proto_get_int(o, S_POSTS, 0, &n, NULL) == 0)
			s->posts = n;
		if (proto_get_int(o, S_REQUESTS, 0, &n, NULL) == 0)
			s->requests = n;
		if (proto_get_int(o, S_STATE, 0, &n, NULL) == 0 &&
		    n >= SS_WAITING && n <= SS_FAILED)
			s->state = (enum src_state)n;
		if (proto_get_str(o, S_AFTER, 0, &str, NULL) == 0 && str &&
		    strlen(str) <= RD_FULLNAME_MAX)
			snprintf(s->after, sizeof(s->after), "%s", str);
		if (proto_get_int(o, S_BEFORE, 0, &n, NULL) == 0)
			s->before = n;
	}
	if (proto_get_int(c, C_NEWEST, 0, &n, NULL) == 0)
		j->newest = n;
	if (proto_get_int(c, C_OLDEST, 0, &n, NULL) == 0)
		j->oldest = n;
	if (proto_get_int(c, C_COVERED, 0, &n, NULL) == 0)
		j->covered = n;
	if (proto_get_str(c, C_KNOWN, 0, &str, NULL) == 0 && str)
		seen_load(&j->known, str);
	trees_restore(j->trees, cJSON_GetObjectItemCaseSensitive(c,
	    C_PENDING));
	if (proto_get_str(c, C_CAFTER, 0, &str, NULL) == 0 && str &&
	    strlen(str) <= RD_FULLNAME_MAX)
		snprintf(j->c_after, sizeof(j->c_after), "%s", str);
	if (proto_get_bool(c, C_CEXHAUSTED, 0, &b, NULL) == 0)
		j->c_exhausted = b;
	j->cur = 0;
	next_source(j);
	log_info("job %s: resuming at %s: %zu posts known, %zu trees to "
	    "fetch", j->t->job_id, j->cur < j->nsrc ? j->src[j->cur].name :
	    "the end", j->known.n, trees_pending(j->trees));
}
