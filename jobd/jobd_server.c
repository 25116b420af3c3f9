/*
 * jobd_server.c — jobd as a daemon: the route table, start-up (directories,
 * database, sockets, then READY=1), the once-a-second cron, and the stop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jobd/jobd.h"
#include "lib/daemon.h"
#include "lib/jarena.h"
#include "lib/log.h"
#include "lib/notify.h"

/* how often the cron runs a passive WAL checkpoint */
#define CHECKPOINT_MS	10000
/* a worker that has not called for this long is not listed by ping */
#define WORKER_FORGET_MS (10 * 60 * 1000)

const struct rep_route jobd_routes[] = {
	{ PROTO_PING,			jobd_h_ping },
	{ PROTO_WORKSPACE_CREATE,	jobd_h_workspace_create },
	{ PROTO_WORKSPACE_LIST,		jobd_h_workspace_list },
	{ PROTO_KEY_CREATE,		jobd_h_key_create },
	{ PROTO_KEY_LIST,		jobd_h_key_list },
	{ PROTO_KEY_REVOKE,		jobd_h_key_revoke },
	{ PROTO_KEY_AUTH,		jobd_h_key_auth },
	{ PROTO_JOB_CREATE,		jobd_h_job_create },
	{ PROTO_JOB_GET,		jobd_h_job_get },
	{ PROTO_JOB_LIST,		jobd_h_job_list },
	{ PROTO_JOB_CANCEL,		jobd_h_job_cancel },
	{ PROTO_TASK_LEASE,		jobd_h_task_lease },
	{ PROTO_TASK_HEARTBEAT,		jobd_h_task_heartbeat },
	{ PROTO_TASK_REPORT,		jobd_h_task_report },
	{ PROTO_TASK_FINISH,		jobd_h_task_finish },
	{ PROTO_TASK_FAIL,		jobd_h_task_fail },
	{ PROTO_TASK_RELEASE,		jobd_h_task_release },
	{ PROTO_POST_LIST,		jobd_h_post_list },
	{ PROTO_POST_GET,		jobd_h_post_get },
	{ PROTO_COMMENT_LIST,		jobd_h_comment_list },
	{ PROTO_MEDIA_LIST,		jobd_h_media_list },
	{ PROTO_MEDIA_FILE,		jobd_h_media_file },
	{ PROTO_STATS_REPORT,		jobd_h_stats_report },
	{ PROTO_METRICS,		jobd_h_metrics },
	{ NULL,				NULL }
};

int64_t
jobd_now(struct jobd *jd)
{
	return jd->clock ? jd->clock() : (int64_t)daemon_now_ms();
}

void
jobd_worker_seen(struct jobd *jd, const char *worker, const char *kind,
    int64_t now_ms)
{
	struct jobd_worker	*w, *slot = NULL;
	int			 i;

	for (i = 0; i < JOBD_MAX_WORKERS; i++) {
		w = &jd->workers[i];
		if (strcmp(w->name, worker) == 0 && strcmp(w->kind, kind) == 0) {
			w->last_seen_ms = now_ms;
			return;
		}
		/* reuse an empty slot, else the one silent for longest */
		if (slot == NULL || (slot->name[0] != '\0' &&
		    (w->name[0] == '\0' ||
		    w->last_seen_ms < slot->last_seen_ms)))
			slot = w;
	}
	snprintf(slot->name, sizeof(slot->name), "%s", worker);
	snprintf(slot->kind, sizeof(slot->kind), "%s", kind);
	slot->last_seen_ms = now_ms;
}

/* State without sockets: what unit tests build on. */
int
jobd_state_init(struct jobd *jd, const char *db_path, int64_t lease_seconds)
{
	jd->lease_ms = lease_seconds * 1000;
	jd->started_ms = jobd_now(jd);
	proto_uuid_new(jd->epoch);
	if (jobd_db_open(jd, db_path) == -1)
		return -1;
	(void)jobd_check_start(jd);	/* else raws are checked inline */
	return 0;
}

void
jobd_state_fini(struct jobd *jd)
{
	events_discard(jd);
	jobd_check_stop(jd);
	jobd_db_close(jd);
	jobd_stats_free();
}

static int
count_one(struct jobd *jd, sqlite3_stmt *st, int64_t *out)
{
	int	 rc = sqlite3_step(st);

	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	(void)jd;
	return rc == SQLITE_ROW ? 0 : -1;
}

/*
 * Periodic work (cf. Redis serverCron): expire leases, wake idle workers
 * while work is queued, report status, checkpoint the WAL.
 */
void
jobd_cron_run(struct jobd *jd, int64_t now_ms)
{
	sqlite3_stmt	*st;
	int64_t		 running = 0, leased = 0;
	int		 i;

	if (lease_expire(jd, now_ms) == -1)
		log_warnx("%s: lease expiry failed", __func__);

	/*
	 * A worker that missed the first hint gets another every second.
	 * One lookup per kind: with 200 000 jobs queued, a GROUP BY over the
	 * queue took 26 ms of every second.
	 */
	for (i = 0; i < 2; i++) {
		st = jobd_stmt(jd, ST_TASK_QUEUED);
		sqlite3_bind_text(st, 1, events_work_kinds[i], -1,
		    SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			events_work_now(jd, i);
		sqlite3_reset(st);
	}

	st = jobd_stmt(jd, ST_JOB_NSTATUS);
	sqlite3_bind_text(st, 1, PROTO_ST_RUNNING, -1, SQLITE_STATIC);
	(void)count_one(jd, st, &running);
	(void)count_one(jd, jobd_stmt(jd, ST_TASK_COUNT_LEASED), &leased);
	notify_status("%lld jobs running, %lld tasks leased, %lld lease "
	    "expiries", (long long)running, (long long)leased,
	    (long long)jd->lease_expiries);

	for (i = 0; i < JOBD_MAX_WORKERS; i++)
		if (jd->workers[i].name[0] != '\0' &&
		    now_ms - jd->workers[i].last_seen_ms > WORKER_FORGET_MS)
			memset(&jd->workers[i], 0, sizeof(jd->workers[i]));

	jobd_wal_tick(jd);
	if (now_ms - jd->last_checkpoint_ms >= CHECKPOINT_MS) {
		jobd_wal_checkpoint(jd, 0);
		jd->last_checkpoint_ms = now_ms;
	}
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char	 buf[1024], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
jobd_daemon_init(struct daemon *d)
{
	struct jobd	*jd;
	const char	*err;
	char		 path[1024];

	if ((jd = calloc(1, sizeof(*jd))) == NULL) {
		log_warn("%s", __func__);
		return -1;
	}
	d->priv = jd;
	/*
	 * Requests parse into arenas (lib/jarena.c): a task report is tens
	 * of thousands of nodes. Only the loop thread uses cJSON here. Not
	 * in the sanitizer build, where each node stays a malloc of its own
	 * so that ASan still sees one used after its request was freed.
	 */
#ifndef __SANITIZE_ADDRESS__
	jarena_install();
	proto_request_parser(jarena_parse_rfc);
#endif
	if (mkdir_p(d->cf.paths.state_dir, 0750) == -1) {
		log_warn("mkdir %s", d->cf.paths.state_dir);
		return -1;
	}
	if (mkdir_p(d->cf.paths.runtime_dir, 0700) == -1) {
		log_warn("mkdir %s", d->cf.paths.runtime_dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/rscrape.db", d->cf.paths.state_dir);
	if (jobd_state_init(jd, path, d->cf.jobd.lease_seconds) == -1)
		return -1;
	if (events_open(jd, d->base, d->cf.events_url, &err) == -1) {
		log_warnx("events %s: %s", d->cf.events_url, err);
		return -1;
	}
	if ((jd->rep = rep_listen(d->base, d->cf.jobd_url, jobd_routes, jd,
	    &err)) == NULL) {
		log_warnx("listen %s: %s", d->cf.jobd_url, err);
		return -1;
	}
	rep_batch_hooks(jd->rep, jobd_batch_begin, jobd_batch_end);
	if (plugins_open(jd, d->base, &d->cf) == -1)
		return -1;
	log_info("serving %s, events on %s, database %s (schema %d), "
	    "leases of %lld s", d->cf.jobd_url, d->cf.events_url, path,
	    jobd_schema_version(), (long long)d->cf.jobd.lease_seconds);
	daemon_ready(d);
	return 0;
}

void
jobd_daemon_cron(struct daemon *d)
{
	struct jobd	*jd = d->priv;

	jobd_cron_run(jd, jobd_now(jd));
	plugins_cron(jd, jobd_now(jd));
	rep_probe(jd->rep, daemon_now_ms());
}

/*
 * SIGTERM: stop serving first, so no request sees a closing database; then
 * fold the WAL into the database so the next start reads one file.
 */
void
jobd_daemon_stop(struct daemon *d)
{
	struct jobd	*jd = d->priv;

	rep_close(jd->rep);
	jd->rep = NULL;
	plugins_close(jd);
	events_close(jd);
	jobd_wal_stop(jd);
	jobd_wal_checkpoint(jd, 1);
	jobd_state_fini(jd);
	daemon_exit(d);
}

void
jobd_daemon_fini(struct daemon *d)
{
	struct jobd	*jd = d->priv;

	if (jd == NULL)
		return;
	rep_close(jd->rep);
	events_close(jd);
	if (jd->db != NULL)
		jobd_state_fini(jd);
	free(jd);
	d->priv = NULL;
}
