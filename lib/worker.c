/*
 * worker.c — see worker.h.
 *
 * Every bridge call about a task holds a reference on it, so a task that
 * ends while a call is in flight is freed only when the last reply is in.
 * A task is "owned" by the daemon from start() until it calls finish/fail
 * or the skeleton calls stop(); only owned tasks get callbacks.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/bridge.h"
#include "lib/jtext.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/worker.h"
#include "proto/proto.h"

/* reply and event fields of the worker protocol (proto.h) */
#define F_TASKS		"tasks"
#define F_TASK_ID	"task_id"
#define F_LEASE_ID	"lease_id"
#define F_JOB_ID	"job_id"
#define F_ATTEMPT	"attempt"
#define F_JOB		"job"
#define F_CHECKPOINT	"checkpoint"
#define F_PROGRESS	"progress"
#define F_MEDIA		"media"
#define F_POSTS		"posts"
#define F_COMMENTS	"comments"
#define F_EXPIRES	"lease_expires_at"
#define F_CANCELLED	"cancelled"
#define F_SEQ		"seq"
#define F_EPOCH		"epoch"
#define F_KIND		"kind"

#define LEASE_TIMEOUT_MS	5000
#define HB_TIMEOUT_MS		5000
#define REPORT_TIMEOUT_MS	20000
#define END_TIMEOUT_MS		10000
#define IDLE_MIN_MS		250
#define IDLE_MAX_MS		5000
#define HB_MIN_MS		250
#define HB_MAX_MS		5000
#define END_TRIES		5

enum task_end { END_NONE, END_FINISH, END_FAIL, END_RELEASE };

struct report {
	TAILQ_ENTRY(report) entry;
	cJSON		*body;
	char		*att;		/* the records' raw (proto.h) */
	size_t		 attlen;
	worker_report_cb cb;
	void		*arg;
};
TAILQ_HEAD(report_q, report);

struct task {
	struct worker_task pub;
	TAILQ_ENTRY(task) entry;
	cJSON		*leased;
	cJSON		*progress;
	cJSON		*result;	/* task.finish result (media tasks) */
	struct report_q	 reports;
	int		 nreports;
	int		 report_inflight;
	unsigned	 seq;
	struct event	*ev_hb;
	struct event	*ev_retry;
	int		 hb_inflight;
	int		 hb_again;	/* ask again as soon as the reply is in */
	int		 hb_ms;
	int		 owned;
	int		 dead;
	int		 refs;
	enum task_end	 end;
	int		 end_inflight;
	int		 end_tries;
	int		 retry_ms;
	char		*fail_error;
	int		 fail_retry;
};
TAILQ_HEAD(task_q, task);

struct worker {
	struct daemon	*d;
	const struct worker_ops *ops;
	struct bridge	*br;
	struct sub	*sub;
	char		 name[300];
	struct task_q	 tasks;
	int		 held;
	int		 lease_inflight;
	int		 idle_ms;
	int		 jobd_away;
	int		 stopping;
	int64_t		 ev_seq;
	char		 ev_epoch[64];
	struct event	*ev_lease;
	struct event	*ev_stats;
	int		 stats_inflight;
};

static void	worker_kick(struct worker *w);
static void	task_pump(struct task *t);

static struct task *
task_of(struct worker_task *pub)
{
	return (struct task *)(void *)pub;
}

static void
ms_to_tv(int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static void
task_unref(struct task *t)
{
	struct report	*r;

	if (--t->refs > 0)
		return;
	while ((r = TAILQ_FIRST(&t->reports)) != NULL) {
		TAILQ_REMOVE(&t->reports, r, entry);
		cJSON_Delete(r->body);
		free(r->att);
		free(r);
	}
	event_free(t->ev_hb);
	event_free(t->ev_retry);
	cJSON_Delete(t->leased);
	cJSON_Delete(t->progress);
	cJSON_Delete(t->result);
	free(t->fail_error);
	free(t);
}

/* The task is over for this worker: forget it, lease more. */
static void
task_dead(struct task *t)
{
	struct worker	*w = t->pub.w;

	if (t->dead)
		return;
	t->dead = 1;
	evtimer_del(t->ev_hb);
	evtimer_del(t->ev_retry);
	TAILQ_REMOVE(&w->tasks, t, entry);
	w->held--;
	log_debug("task %lld: gone (%d held)", (long long)t->pub.task_id,
	    w->held);
	task_unref(t);
	if (w->stopping && w->held == 0)
		daemon_exit(w->d);
	else
		worker_kick(w);
}

/* Take t away from the daemon with stop(why). */
static void
task_stop(struct task *t, enum worker_stop why)
{
	struct worker	*w = t->pub.w;

	if (!t->owned)
		return;
	t->owned = 0;
	w->ops->stop(&t->pub, why, w->ops->arg);
	t->pub.priv = NULL;
}

static void
task_lost(struct task *t)
{
	log_warnx("task %lld: lease lost", (long long)t->pub.task_id);
	t->refs++;
	task_stop(t, WORKER_STOP_LOST);
	task_dead(t);
	task_unref(t);
}

static void
task_retry_later(struct task *t)
{
	struct timeval	tv;

	t->retry_ms = t->retry_ms ? t->retry_ms * 2 : 500;
	if (t->retry_ms > 5000)
		t->retry_ms = 5000;
	ms_to_tv(t->retry_ms, &tv);
	evtimer_add(t->ev_retry, &tv);
}

static void
task_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	task_pump(arg);
}

/* ---------------------------------------------------------------- */
/* ending a task                                                      */

static void
end_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct task	*t = arg;

	t->end_inflight = 0;
	if (t->dead) {
		task_unref(t);
		return;
	}
	if (err != NULL || (!rep->ok && strcmp(rep->err_code,
	    PROTO_E_INTERNAL) == 0)) {
		if (++t->end_tries < END_TRIES) {
			log_warnx("task %lld: ending: %s, retrying",
			    (long long)t->pub.task_id, err ? err :
			    rep->err_message);
			task_retry_later(t);
			task_unref(t);
			return;
		}
		log_warnx("task %lld: could not end it (%s); its lease will "
		    "expire", (long long)t->pub.task_id, err ? err :
		    rep->err_message);
	} else if (!rep->ok)
		log_warnx("task %lld: ending: %s: %s",
		    (long long)t->pub.task_id, rep->err_code,
		    rep->err_message);
	task_dead(t);
	task_unref(t);
}

static void
end_send(struct task *t)
{
	struct worker	*w = t->pub.w;
	cJSON		*body = NULL, *p;
	const char	*type = NULL;

	switch (t->end) {
	case END_FINISH:
		type = PROTO_TASK_FINISH;
		p = t->progress ? t->progress : NULL;
		body = proto_task_finish_req(t->pub.task_id, t->pub.lease_id,
		    p, t->result);
		break;
	case END_FAIL:
		type = PROTO_TASK_FAIL;
		body = proto_task_fail_req(t->pub.task_id, t->pub.lease_id,
		    t->fail_error, t->fail_retry);
		break;
	case END_RELEASE:
		type = PROTO_TASK_RELEASE;
		body = proto_task_release_req(t->pub.task_id,
		    t->pub.lease_id);
		break;
	case END_NONE:
		return;
	}
	t->end_inflight = 1;
	t->refs++;
	if (body == NULL || bridge_call(w->br, type, body, END_TIMEOUT_MS,
	    end_done, t) == -1) {
		t->end_inflight = 0;
		t->refs--;
		task_retry_later(t);
	}
}

/* ---------------------------------------------------------------- */
/* reports                                                            */

static void
report_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct task	*t = arg;
	struct report	*r;

	t->report_inflight = 0;
	if (t->dead) {
		task_unref(t);
		return;
	}
	r = TAILQ_FIRST(&t->reports);
	if (err != NULL) {
		log_warnx("task %lld: report: %s, retrying",
		    (long long)t->pub.task_id, err);
		task_retry_later(t);
	} else if (!rep->ok && strcmp(rep->err_code, PROTO_E_LEASE_LOST) == 0)
		task_lost(t);
	else if (!rep->ok && strcmp(rep->err_code, PROTO_E_INTERNAL) == 0) {
		log_warnx("task %lld: report: %s, retrying",
		    (long long)t->pub.task_id, rep->err_message);
		task_retry_later(t);
	} else {
		if (!rep->ok)
			log_warnx("task %lld: report refused: %s: %s",
			    (long long)t->pub.task_id, rep->err_code,
			    rep->err_message);
		TAILQ_REMOVE(&t->reports, r, entry);
		t->nreports--;
		t->retry_ms = 0;
		if (rep->ok && t->owned && r->cb != NULL)
			r->cb(&t->pub, rep->body, r->arg);
		cJSON_Delete(r->body);
		free(r->att);
		free(r);
		task_pump(t);
	}
	task_unref(t);
}

/* Send what is due: the next batch, or the end once no batch is left. */
static void
task_pump(struct task *t)
{
	struct worker	*w = t->pub.w;
	struct report	*r;

	if (t->dead || t->report_inflight || t->end_inflight ||
	    evtimer_pending(t->ev_retry, NULL))
		return;
	if ((r = TAILQ_FIRST(&t->reports)) != NULL) {
		t->report_inflight = 1;
		t->refs++;
		/* the body stays queued until jobd has it: a retry resends */
		if ((r->attlen > 0 ? bridge_call_att(w->br, PROTO_TASK_REPORT,
		    r->body, r->att, r->attlen, REPORT_TIMEOUT_MS, report_done,
		    t) : bridge_call_ref(w->br, PROTO_TASK_REPORT, r->body,
		    REPORT_TIMEOUT_MS, report_done, t)) == -1) {
			t->report_inflight = 0;
			t->refs--;
			task_retry_later(t);
		}
		return;
	}
	if (t->end != END_NONE)
		end_send(t);
}

int
worker_task_report(struct worker_task *pub, cJSON *posts, cJSON *comments,
    cJSON *media, cJSON *progress, cJSON *checkpoint, worker_report_cb cb,
    void *arg)
{
	struct task	*t = task_of(pub);
	struct worker	*w = pub->w;
	struct report	*r;
	char		 batch[512], *text;

	snprintf(batch, sizeof(batch), "%s/%lld/%s/%u", w->name,
	    (long long)pub->task_id, pub->lease_id, ++t->seq);
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->body = proto_task_report_req(pub->task_id, pub->lease_id,
	    batch)) == NULL)
		fatalx("%s: out of memory", __func__);
	if (posts)
		cJSON_AddItemToObject(r->body, F_POSTS, posts);
	if (comments)
		cJSON_AddItemToObject(r->body, F_COMMENTS, comments);
	if (media)
		cJSON_AddItemToObject(r->body, F_MEDIA, media);
	if (progress) {
		cJSON_Delete(t->progress);
		t->progress = cJSON_Duplicate(progress, 1);
		cJSON_AddItemToObject(r->body, F_PROGRESS, progress);
	}
	if (checkpoint)
		cJSON_AddItemToObject(r->body, F_CHECKPOINT, checkpoint);
	/* raw objects travel as the attachment, neither escaped nor parsed */
	if (proto_report_detach(r->body, &r->att, &r->attlen) == -1)
		fatalx("%s: out of memory", __func__);
	/*
	 * Queued as its text (a raw item): a few times smaller than the tree
	 * of records, which is freed at once, and printed only this once
	 * however often it is sent.
	 */
	if ((text = jtext_print(r->body, NULL)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(r->body);
	if ((r->body = cJSON_CreateRaw("")) == NULL)
		fatalx("%s: out of memory", __func__);
	/* the text itself, not a copy (cJSON allocates with malloc) */
	free(r->body->valuestring);
	r->body->valuestring = text;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&t->reports, r, entry);
	t->nreports++;
	task_pump(t);
	return t->nreports;
}

int
worker_task_backlog(const struct worker_task *pub)
{
	return ((const struct task *)(const void *)pub)->nreports;
}

void
worker_task_set_progress(struct worker_task *pub, cJSON *progress)
{
	struct task	*t = task_of(pub);

	cJSON_Delete(t->progress);
	t->progress = progress;
}

void
worker_task_finish(struct worker_task *pub, cJSON *progress)
{
	struct task	*t = task_of(pub);

	if (progress)
		worker_task_set_progress(pub, progress);
	t->owned = 0;
	t->pub.priv = NULL;
	if (t->end == END_NONE)
		t->end = END_FINISH;
	task_pump(t);
}

void
worker_task_finish_result(struct worker_task *pub, cJSON *result)
{
	struct task	*t = task_of(pub);

	if (t->end == END_NONE) {
		cJSON_Delete(t->result);
		t->result = result;
	} else
		cJSON_Delete(result);
	worker_task_finish(pub, NULL);
}

void
worker_task_fail(struct worker_task *pub, const char *error, int retry)
{
	struct task	*t = task_of(pub);

	log_warnx("task %lld: job %s failed: %s", (long long)pub->task_id,
	    pub->job_id, error);
	t->owned = 0;
	t->pub.priv = NULL;
	if (t->end != END_NONE)
		return;
	t->end = END_FAIL;
	t->fail_error = strdup(error);
	t->fail_retry = retry;
	task_pump(t);
}

/* The job was cancelled: stop at once, then task.finish. */
static void
task_cancel(struct task *t)
{
	if (!t->owned)
		return;
	log_info("task %lld: job %s cancelled", (long long)t->pub.task_id,
	    t->pub.job_id);
	task_stop(t, WORKER_STOP_CANCELLED);
	if (t->end == END_NONE)
		t->end = END_FINISH;
	task_pump(t);
}

/* ---------------------------------------------------------------- */
/* heartbeats                                                         */

static void	hb_send(struct task *t);

static void
hb_schedule(struct task *t)
{
	struct timeval	tv;

	if (t->dead)
		return;
	ms_to_tv(t->hb_ms, &tv);
	evtimer_add(t->ev_hb, &tv);
}

static void
hb_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct task	*t = arg;
	int		 cancelled = 0;

	t->hb_inflight = 0;
	if (t->dead) {
		task_unref(t);
		return;
	}
	if (err != NULL)
		log_warnx("task %lld: heartbeat: %s",
		    (long long)t->pub.task_id, err);
	else if (!rep->ok && strcmp(rep->err_code, PROTO_E_LEASE_LOST) == 0) {
		task_lost(t);
		task_unref(t);
		return;
	} else if (!rep->ok)
		log_warnx("task %lld: heartbeat: %s: %s",
		    (long long)t->pub.task_id, rep->err_code,
		    rep->err_message);
	else if (proto_get_bool(rep->body, F_CANCELLED, 0, &cancelled,
	    NULL) == 0 && cancelled)
		task_cancel(t);
	if (t->hb_again && !t->dead) {
		t->hb_again = 0;
		evtimer_del(t->ev_hb);
		hb_send(t);
	} else
		hb_schedule(t);
	task_unref(t);
}

static void
hb_send(struct task *t)
{
	struct worker	*w = t->pub.w;
	cJSON		*body;

	if (t->dead)
		return;
	if (t->hb_inflight) {
		t->hb_again = 1;
		return;
	}
	/*
	 * The checkpoint travels with reports only: one sent here could run
	 * ahead of a batch still queued.
	 */
	body = proto_task_heartbeat_req(t->pub.task_id, t->pub.lease_id,
	    t->progress, NULL);
	t->hb_inflight = 1;
	t->refs++;
	if (body == NULL || bridge_call(w->br, PROTO_TASK_HEARTBEAT, body,
	    HB_TIMEOUT_MS, hb_done, t) == -1) {
		t->hb_inflight = 0;
		t->refs--;
		hb_schedule(t);
	}
}

static void
hb_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hb_send(arg);
}

/* ms until the lease ends, from a number (ms or s since the epoch) or an
 * RFC 3339 string; -1 when it cannot be read */
static int64_t
lease_left_ms(const cJSON *v)
{
	struct tm	 tm;
	double		 x;
	int64_t		 now = (int64_t)daemon_now_ms();

	if (cJSON_IsNumber(v)) {
		x = v->valuedouble;
		if (x < 1e11)
			x *= 1000.0;
		return (int64_t)x - now;
	}
	if (cJSON_IsString(v)) {
		memset(&tm, 0, sizeof(tm));
		if (strptime(v->valuestring, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
			return -1;
		return (int64_t)timegm(&tm) * 1000 - now;
	}
	return -1;
}

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
	t->ev_hb = evtimer_new(w->d->base, hb_timer_cb, t);
	t->ev_retry = evtimer_new(w->d->base, task_retry_cb, t);
	t->refs = 1;
	TAILQ_INSERT_TAIL(&w->tasks, t, entry);
	w->held++;
	if (proto_get_int(t->leased, F_TASK_ID, 1, &t->pub.task_id,
	    &err) == -1 || proto_get_str(t->leased, F_LEASE_ID, 1, &s,
	    &err) == -1) {
		log_warnx("%s: bad task from jobd: %s", __func__, err);
		task_dead(t);
		return;
	}
	snprintf(t->pub.lease_id, sizeof(t->pub.lease_id), "%s", s);
	if (proto_get_str(t->leased, F_JOB_ID, 0, &s, NULL) == 0 && s)
		snprintf(t->pub.job_id, sizeof(t->pub.job_id), "%s", s);
	proto_get_int(t->leased, F_ATTEMPT, 0, &t->pub.attempt, NULL);
	if (proto_get_obj(t->leased, F_JOB, 0, &o, NULL) == 0)
		t->pub.job = o;
	if (proto_get_obj(t->leased, F_CHECKPOINT, 0, &o, NULL) == 0)
		t->pub.checkpoint = o;
	if (proto_get_obj(t->leased, F_PROGRESS, 0, &o, NULL) == 0)
		t->pub.progress = o;
	if (proto_get_obj(t->leased, F_MEDIA, 0, &o, NULL) == 0)
		t->pub.media = o;
	if (t->pub.progress)
		t->progress = cJSON_Duplicate(t->pub.progress, 1);

	left = lease_left_ms(cJSON_GetObjectItemCaseSensitive(t->leased,
	    F_EXPIRES));
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
	hb_schedule(t);
	if (w->stopping) {
		t->end = END_RELEASE;
		task_pump(t);
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

	ms_to_tv(ms, &tv);
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
	if (proto_get_arr(rep->body, F_TASKS, 1, &tasks, NULL) == 0) {
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

static void
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

	if (proto_get_int(body, F_SEQ, 0, &seq, NULL) == 0 &&
	    proto_get_str(body, F_EPOCH, 0, &epoch, NULL) == 0 && epoch) {
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
				hb_send(t);
			}
	}
	if (strcmp(topic, PROTO_EV_WORK) == 0) {
		if (proto_get_str(body, F_KIND, 0, &s, NULL) == 0 && s &&
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
		if (proto_get_str(body, F_JOB_ID, 1, &s, NULL) == -1 ||
		    proto_id_parse(s, PROTO_PFX_JOB, a) == -1)
			return;
		for (t = TAILQ_FIRST(&w->tasks); t != NULL; t = next) {
			next = TAILQ_NEXT(t, entry);
			if (!t->dead && t->owned && proto_id_parse(
			    t->pub.job_id, PROTO_PFX_JOB, b) == 0 &&
			    strcmp(a, b) == 0) {
				evtimer_del(t->ev_hb);
				hb_send(t);
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
	ms_to_tv(PROTO_STATS_EVERY_MS, &tv);
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
			task_stop(t, WORKER_STOP_SHUTDOWN);
			t->end = END_RELEASE;
		}
		task_pump(t);
		task_unref(t);
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
		task_stop(t, WORKER_STOP_SHUTDOWN);
		task_dead(t);
		task_unref(t);
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
