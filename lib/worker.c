/*
 * worker.c — see worker.h.
 *
 * Every bridge call about a task holds a reference on it, so a task that
 * ends while a call is in flight is freed only when the last reply is in.
 * A task is "owned" by the daemon from start() until it calls finish/fail
 * or the skeleton calls stop(); only owned tasks get callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/bridge.h"
#include "lib/jtext.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/worker_int.h"
#include "proto/proto.h"

/* ---------------------------------------------------------------- */
/* leasing                                                            */

static void
task_begin(struct worker *w, const cJSON *obj)
{
	struct task	*t;
	const char	*s, *err = NULL;
	int64_t		 left;
	cJSON		*o;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->leased = cJSON_Duplicate(obj, 1)) == NULL)
		fatalx("%s: out of memory", __func__);
	t->pub.w = w;
	TAILQ_INIT(&t->reports);
	t->ev_hb = evtimer_new(w->d->base, wk_hb_timer_cb, t);
	t->ev_retry = evtimer_new(w->d->base, wk_task_retry_cb, t);
	t->refs = 1;
	TAILQ_INSERT_TAIL(&w->tasks, t, entry);
	w->held++;
	if (proto_get_int(t->leased, PROTO_F_TASK_ID, 1, &t->pub.task_id,
	    &err) == -1 || proto_get_str(t->leased, PROTO_F_LEASE_ID, 1, &s,
	    &err) == -1) {
		log_warnx("%s: bad task from jobd: %s", __func__, err);
		wk_task_dead(t);
		return;
	}
	snprintf(t->pub.lease_id, sizeof(t->pub.lease_id), "%s", s);
	if (proto_get_str(t->leased, PROTO_F_JOB_ID, 0, &s, NULL) == 0 && s)
		snprintf(t->pub.job_id, sizeof(t->pub.job_id), "%s", s);
	proto_get_int(t->leased, PROTO_F_ATTEMPT, 0, &t->pub.attempt, NULL);
	if (proto_get_obj(t->leased, PROTO_F_JOB, 0, &o, NULL) == 0)
		t->pub.job = o;
	if (proto_get_obj(t->leased, PROTO_F_CHECKPOINT, 0, &o, NULL) == 0)
		t->pub.checkpoint = o;
	if (proto_get_obj(t->leased, PROTO_F_PROGRESS, 0, &o, NULL) == 0)
		t->pub.progress = o;
	if (proto_get_obj(t->leased, PROTO_F_MEDIA, 0, &o, NULL) == 0)
		t->pub.media = o;
	if (t->pub.progress)
		t->progress = cJSON_Duplicate(t->pub.progress, 1);

	left = wk_lease_left_ms(cJSON_GetObjectItemCaseSensitive(t->leased,
	    PROTO_F_EXPIRES));
	if (left <= 0)
		left = w->d->cf.jobd.lease_seconds * 1000;
	t->hb_ms = (int)(left / 3);
	if (t->hb_ms < HB_MIN_MS)
		t->hb_ms = HB_MIN_MS;
	if (t->hb_ms > HB_MAX_MS)
		t->hb_ms = HB_MAX_MS;
	log_info("task %lld: leased job %s (attempt %lld)",
	    (long long)t->pub.task_id, t->pub.job_id,
	    (long long)t->pub.attempt);
	wk_hb_schedule(t);
	if (w->stopping) {
		t->end = END_RELEASE;
		wk_task_pump(t);
		return;
	}
	t->owned = 1;
	if (w->ops->start(&t->pub, w->ops->arg) == -1 && t->owned)
		worker_task_fail(&t->pub, "worker could not start the task",
		    1);
}

static void
lease_later(struct worker *w, int ms)
{
	struct timeval	tv;

	wk_ms_to_tv(ms, &tv);
	evtimer_add(w->ev_lease, &tv);
}

static void
lease_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct worker	*w = arg;
	cJSON		*tasks, *it;
	int		 n = 0;

	w->lease_inflight = 0;
	if (err != NULL || !rep->ok) {
		if (!w->jobd_away)
			log_warnx("jobd: lease: %s; retrying", err ? err :
			    rep->err_message);
		w->jobd_away = 1;
		lease_later(w, IDLE_MAX_MS / 5);
		return;
	}
	if (w->jobd_away)
		log_info("jobd: back");
	w->jobd_away = 0;
	if (proto_get_arr(rep->body, PROTO_F_TASKS, 1, &tasks, NULL) == 0) {
		cJSON_ArrayForEach(it, tasks) {
			task_begin(w, it);
			n++;
		}
	}
	if (n == 0) {
		w->idle_ms = w->idle_ms ? w->idle_ms * 2 : IDLE_MIN_MS;
		if (w->idle_ms > IDLE_MAX_MS)
			w->idle_ms = IDLE_MAX_MS;
		lease_later(w, w->idle_ms);
		return;
	}
	w->idle_ms = 0;
	worker_kick(w);
}

void
worker_kick(struct worker *w)
{
	cJSON	*body;
	int	 want;

	if (w->stopping || w->lease_inflight)
		return;
	if ((want = w->ops->capacity - w->held) <= 0)
		return;
	evtimer_del(w->ev_lease);
	body = proto_task_lease_req(w->name, w->ops->kind, want);
	w->lease_inflight = 1;
	if (body == NULL || bridge_call(w->br, PROTO_TASK_LEASE, body,
	    LEASE_TIMEOUT_MS, lease_done, w) == -1) {
		w->lease_inflight = 0;
		lease_later(w, IDLE_MAX_MS);
	}
}

static void
lease_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_kick(arg);
}

/* ---------------------------------------------------------------- */
/* events                                                             */

static void
worker_event(const char *topic, cJSON *body, void *arg)
{
	struct worker	*w = arg;
	struct task	*t, *next;
	const char	*s = NULL, *epoch = NULL;
	char		 a[37], b[37];
	int64_t		 seq = 0;
	int		 lost = 0;

	if (proto_get_int(body, PROTO_F_SEQ, 0, &seq, NULL) == 0 &&
	    proto_get_str(body, PROTO_F_EPOCH, 0, &epoch, NULL) == 0 && epoch) {
		if (strcmp(epoch, w->ev_epoch) != 0 ||
		    (w->ev_seq && seq != w->ev_seq + 1))
			lost = w->ev_seq != 0 || w->ev_epoch[0] != '\0';
		snprintf(w->ev_epoch, sizeof(w->ev_epoch), "%s", epoch);
		w->ev_seq = seq;
	}
	if (lost) {
		/* an event may have been a cancel: ask about every task */
		log_debug("events lost, checking held tasks");
		TAILQ_FOREACH(t, &w->tasks, entry)
			if (!t->dead) {
				evtimer_del(t->ev_hb);
				wk_hb_send(t);
			}
	}
	if (strcmp(topic, PROTO_EV_WORK) == 0) {
		if (proto_get_str(body, PROTO_F_KIND, 0, &s, NULL) == 0 && s &&
		    strcmp(s, w->ops->kind) != 0)
			return;
		w->idle_ms = 0;
		worker_kick(w);
	} else if (strcmp(topic, PROTO_EV_JOB_CANCEL) == 0) {
		/*
		 * A hint: ask jobd about the task at once and stop when the
		 * heartbeat says cancelled. A media task may have been handed
		 * to another job still waiting for its URL.
		 */
		if (proto_get_str(body, PROTO_F_JOB_ID, 1, &s, NULL) == -1 ||
		    proto_id_parse(s, PROTO_PFX_JOB, a) == -1)
			return;
		for (t = TAILQ_FIRST(&w->tasks); t != NULL; t = next) {
			next = TAILQ_NEXT(t, entry);
			if (!t->dead && t->owned && proto_id_parse(
			    t->pub.job_id, PROTO_PFX_JOB, b) == 0 &&
			    strcmp(a, b) == 0) {
				evtimer_del(t->ev_hb);
				wk_hb_send(t);
			}
		}
	}
}

/* ---------------------------------------------------------------- */
/* metrics: the daemon's stats (lib/stats.h) go to jobd now and then    */

static void
stats_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct worker	*w = arg;

	(void)rep;
	(void)err;
	w->stats_inflight = 0;
}

static void
stats_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	cJSON		*body;

	(void)fd;
	(void)what;
	if (w->stats_inflight)
		return;
	stats_set("rscrape_worker_tasks_held", NULL, w->held);
	body = proto_stats_report_req(w->d->ops->name, w->name,
	    (int64_t)w->d->started_ms, stats_json());
	w->stats_inflight = 1;
	if (bridge_call(w->br, PROTO_STATS_REPORT, body,
	    PROTO_STATS_EVERY_MS, stats_done, w) == -1)
		w->stats_inflight = 0;
}

/* ---------------------------------------------------------------- */

struct worker *
worker_new(struct daemon *d, const struct worker_ops *ops)
{
	static const char *const topics[] = { PROTO_EV_WORK,
	    PROTO_EV_JOB_CANCEL, NULL };
	struct worker	*w;
	const char	*err;
	char		 host[256];
	struct timeval	 tv;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->d = d;
	w->ops = ops;
	TAILQ_INIT(&w->tasks);
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(w->name, sizeof(w->name), "%s:%ld", host, (long)getpid());
	if ((w->br = bridge_open(d->base, d->cf.jobd_url, &err)) == NULL) {
		log_warnx("jobd %s: %s", d->cf.jobd_url, err);
		free(w);
		return NULL;
	}
	if ((w->sub = sub_open(d->base, d->cf.events_url, topics,
	    worker_event, w, &err)) == NULL) {
		log_warnx("events %s: %s", d->cf.events_url, err);
		bridge_close(w->br);
		free(w);
		return NULL;
	}
	w->ev_lease = evtimer_new(d->base, lease_timer_cb, w);
	w->ev_stats = event_new(d->base, -1, EV_PERSIST, stats_timer_cb, w);
	wk_ms_to_tv(PROTO_STATS_EVERY_MS, &tv);
	evtimer_add(w->ev_stats, &tv);
	stats_timer_cb(-1, 0, w);
	log_info("worker %s: leasing %s tasks from %s (capacity %d)",
	    w->name, ops->kind, d->cf.jobd_url, ops->capacity);
	worker_kick(w);
	return w;
}

void
worker_shutdown(struct worker *w)
{
	struct task	*t, *next;

	w->stopping = 1;
	evtimer_del(w->ev_lease);
	for (t = TAILQ_FIRST(&w->tasks); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		t->refs++;
		if (t->owned) {
			wk_task_stop(t, WORKER_STOP_SHUTDOWN);
			t->end = END_RELEASE;
		}
		wk_task_pump(t);
		wk_task_unref(t);
	}
	if (w->held == 0)
		daemon_exit(w->d);
}

void
worker_free(struct worker *w)
{
	struct task	*t;

	if (w == NULL)
		return;
	w->stopping = 1;
	while ((t = TAILQ_FIRST(&w->tasks)) != NULL) {
		t->refs++;
		wk_task_stop(t, WORKER_STOP_SHUTDOWN);
		wk_task_dead(t);
		wk_task_unref(t);
	}
	/* replies still in flight complete on the closed socket and drop
	 * the references they hold */
	sub_close(w->sub);
	bridge_close(w->br);
	event_free(w->ev_lease);
	event_free(w->ev_stats);
	free(w);
}

const char *
worker_name(const struct worker *w)
{
	return w->name;
}

struct daemon *
worker_daemon(const struct worker *w)
{
	return w->d;
}

int
worker_held(const struct worker *w)
{
	return w->held;
}
