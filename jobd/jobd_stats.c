/*
 * jobd_stats.c — what GET /metrics and rscrapectl status show beyond
 * ping: the last stats.report of every worker instance (kept in memory
 * only: a restarted jobd has them again within PROTO_STATS_EVERY_MS), and
 * the state of the database in numbers (jobs, tasks, media by status).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd/jobd.h"
#include "lib/daemon.h"
#include "lib/log.h"
#include "lib/stats.h"

#define REPORTERS	64
#define FORGET_MS	(10 * 60 * 1000)
#define F_DAEMON	"daemon"
#define F_INSTANCE	"instance"
#define F_STARTED	"started_at"
#define F_METRICS	"metrics"

struct reporter {
	char	 daemon[16];
	char	 instance[128];
	int64_t	 started_ms;
	int64_t	 last_seen_ms;
	cJSON	*metrics;
};

static struct reporter	 reps[REPORTERS];

struct start_count {
	char	 daemon[16];
	int64_t	 n;
};
static struct start_count starts[8];

static void
count_start(const char *daemon)
{
	size_t	i;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		if (starts[i].daemon[0] == '\0')
			snprintf(starts[i].daemon, sizeof(starts[i].daemon),
			    "%s", daemon);
		if (strcmp(starts[i].daemon, daemon) == 0) {
			starts[i].n++;
			return;
		}
	}
}

static int
name_ok(const char *s, size_t max)
{
	size_t	n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || *s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

int
jobd_h_stats_report(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	struct reporter	*r, *slot = NULL;
	const char	*daemon, *inst, *err;
	int64_t		 started, now = jobd_now(jd);
	cJSON		*m, *it, *keep;
	int		 i;

	if (proto_get_str(ctx->req->body, F_DAEMON, 1, &daemon, &err) == -1 ||
	    proto_get_str(ctx->req->body, F_INSTANCE, 1, &inst, &err) == -1 ||
	    proto_get_int(ctx->req->body, F_STARTED, 1, &started, &err) == -1 ||
	    proto_get_obj(ctx->req->body, F_METRICS, 1, &m, &err) == -1)
		return rep_error(ctx, PROTO_E_BAD_REQUEST, "%s", err);
	if (!name_ok(daemon, sizeof(r->daemon)) ||
	    !name_ok(inst, sizeof(r->instance)))
		return rep_error(ctx, PROTO_E_INVALID, "daemon, instance: "
		    "1 to %zu printable characters", sizeof(r->instance) - 1);
	keep = cJSON_CreateObject();
	cJSON_ArrayForEach(it, m)
		if (cJSON_IsNumber(it) && it->string != NULL &&
		    stats_key_ok(it->string) &&
		    cJSON_GetArraySize(keep) < STATS_MAX)
			cJSON_AddNumberToObject(keep, it->string,
			    it->valuedouble);

	for (i = 0; i < REPORTERS; i++) {
		r = &reps[i];
		if (strcmp(r->instance, inst) == 0 &&
		    strcmp(r->daemon, daemon) == 0 &&
		    r->started_ms == started) {
			slot = r;
			break;
		}
		if (slot == NULL || (slot->daemon[0] != '\0' &&
		    (r->daemon[0] == '\0' ||
		    r->last_seen_ms < slot->last_seen_ms)))
			slot = r;
	}
	if (slot->daemon[0] == '\0' || strcmp(slot->instance, inst) != 0 ||
	    strcmp(slot->daemon, daemon) != 0 || slot->started_ms != started) {
		cJSON_Delete(slot->metrics);
		memset(slot, 0, sizeof(*slot));
		snprintf(slot->daemon, sizeof(slot->daemon), "%s", daemon);
		snprintf(slot->instance, sizeof(slot->instance), "%s", inst);
		slot->started_ms = started;
		count_start(daemon);
		log_info("%s %s reports (started %lld)", daemon, inst,
		    (long long)started);
	}
	cJSON_Delete(slot->metrics);
	slot->metrics = keep;
	slot->last_seen_ms = now;
	ctx->reply = cJSON_CreateObject();
	return 0;
}

/* jobs by status, from the statement ping reads them with */
static void
add_job_counts(struct jobd *jd, cJSON *into)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_JOB_COUNTS);

	while (sqlite3_step(st) == SQLITE_ROW)
		cJSON_AddNumberToObject(into, jobd_col_text(st, 0),
		    (double)sqlite3_column_int64(st, 1));
	sqlite3_reset(st);
}

static const char *
media_status_name(int s)
{
	switch (s) {
	case MEDIA_PENDING:	return "pending";
	case MEDIA_DOWNLOADED:	return PROTO_MEDIA_DOWNLOADED;
	case MEDIA_FAILED:	return PROTO_MEDIA_FAILED;
	case MEDIA_SKIPPED:	return PROTO_MEDIA_SKIPPED;
	case MEDIA_CANCELLED:	return PROTO_ST_CANCELLED;
	default:		return "other";
	}
}

int
jobd_h_metrics(struct rep_ctx *ctx, void *arg)
{
	struct jobd	*jd = arg;
	sqlite3_stmt	*st;
	cJSON		*r, *o, *k, *d;
	int64_t		 now = jobd_now(jd);
	const char	*kind;
	int		 i;
	size_t		 j;

	r = cJSON_CreateObject();
	o = cJSON_AddObjectToObject(r, "jobd");
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	cJSON_AddNumberToObject(o, F_STARTED, (double)jd->started_ms);
	cJSON_AddStringToObject(o, "db", jobd_health(jd) == 0 ?
	    PROTO_HEALTH_OK : PROTO_HEALTH_ERROR);

	o = cJSON_AddObjectToObject(r, "jobs");
	add_job_counts(jd, o);

	o = cJSON_AddObjectToObject(r, "tasks");
	if (sqlite3_prepare_v2(jd->db, "SELECT kind, state, n FROM "
	    "task_counts WHERE state IN (0, 1) AND n > 0", -1, &st,
	    NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			kind = jobd_col_text(st, 0);
			if ((k = cJSON_GetObjectItemCaseSensitive(o, kind)) ==
			    NULL)
				k = cJSON_AddObjectToObject(o, kind);
			cJSON_AddNumberToObject(k, sqlite3_column_int(st, 1) ==
			    TASK_QUEUED ? "queued" : "leased",
			    (double)sqlite3_column_int64(st, 2));
		}
		sqlite3_finalize(st);
	}
	cJSON_AddNumberToObject(r, "lease_expiries",
	    (double)jd->lease_expiries);
	cJSON_AddNumberToObject(r, "releases", (double)jd->releases);

	/* media records by status; bytes of the files they point at */
	o = cJSON_AddObjectToObject(r, "media");
	if (sqlite3_prepare_v2(jd->db, "SELECT m.status, count(*), "
	    "coalesce(sum(u.bytes), 0) FROM media m LEFT JOIN media_urls u "
	    "ON u.url_id = m.url_id GROUP BY m.status", -1, &st,
	    NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			k = cJSON_AddObjectToObject(o, media_status_name(
			    sqlite3_column_int(st, 0)));
			cJSON_AddNumberToObject(k, "items",
			    (double)sqlite3_column_int64(st, 1));
			cJSON_AddNumberToObject(k, "bytes",
			    (double)sqlite3_column_int64(st, 2));
		}
		sqlite3_finalize(st);
	}

	o = cJSON_AddArrayToObject(r, "daemons");
	for (i = 0; i < REPORTERS; i++) {
		if (reps[i].daemon[0] == '\0')
			continue;
		if (now - reps[i].last_seen_ms > FORGET_MS) {
			cJSON_Delete(reps[i].metrics);
			memset(&reps[i], 0, sizeof(reps[i]));
			continue;
		}
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, F_DAEMON, reps[i].daemon);
		cJSON_AddStringToObject(d, F_INSTANCE, reps[i].instance);
		cJSON_AddNumberToObject(d, F_STARTED,
		    (double)reps[i].started_ms);
		cJSON_AddNumberToObject(d, "last_seen_ms_ago",
		    (double)(now - reps[i].last_seen_ms));
		cJSON_AddBoolToObject(d, "up",
		    now - reps[i].last_seen_ms <= PROTO_STATS_STALE_MS);
		cJSON_AddItemToObject(d, F_METRICS, reps[i].metrics ?
		    cJSON_Duplicate(reps[i].metrics, 1) : cJSON_CreateObject());
		cJSON_AddItemToArray(o, d);
	}
	o = cJSON_AddObjectToObject(r, "starts");
	for (j = 0; j < sizeof(starts) / sizeof(starts[0]); j++)
		if (starts[j].daemon[0] != '\0')
			cJSON_AddNumberToObject(o, starts[j].daemon,
			    (double)starts[j].n);
	ctx->reply = r;
	return 0;
}

void
jobd_stats_free(void)
{
	int	i;

	for (i = 0; i < REPORTERS; i++)
		cJSON_Delete(reps[i].metrics);
	memset(reps, 0, sizeof(reps));
	memset(starts, 0, sizeof(starts));
}
