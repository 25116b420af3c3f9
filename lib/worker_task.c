/*
 * worker_task.c — a leased task's side of the worker skeleton (worker.h):
 * its references and end (finish, fail, release), its queued reports and
 * its heartbeats. worker.c leases tasks and hands them here.
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

static struct task *
task_of(struct worker_task *pub)
{
	return (struct task *)(void *)pub;
}

void
wk_ms_to_tv(int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/*
 * A report's attachment (a megabyte of raws) is written into a buffer
 * an earlier report gave back, when there is one: a new one was pages
 * never touched, a fault every 4 KiB as it filled (4% of
 * fetchd's time on a full job). Kept: as many as reports in flight, and
 * one being filled.
 */
#define ATT_SPARE	(REPORTS_INFLIGHT + 1)

static struct jtext	 att_spare[ATT_SPARE];

/* the largest buffer kept (filling it grows it when it is short), or none */
static void
att_take(struct jtext *att)
{
	int	 i, best = -1;

	for (i = 0; i < ATT_SPARE; i++)
		if (att_spare[i].s != NULL && (best == -1 ||
		    att_spare[i].cap > att_spare[best].cap))
			best = i;
	if (best == -1)
		return;
	*att = att_spare[best];
	att->len = 0;
	memset(&att_spare[best], 0, sizeof(att_spare[best]));
}

static void
att_give(char *s, size_t cap)
{
	int	 i, small = -1;

	if (s == NULL)
		return;
	for (i = 0; i < ATT_SPARE; i++) {
		if (att_spare[i].s == NULL) {
			att_spare[i].s = s;
			att_spare[i].cap = cap;
			return;
		}
		if (small == -1 || att_spare[i].cap < att_spare[small].cap)
			small = i;
	}
	if (att_spare[small].cap < cap) {	/* the smallest goes */
		free(att_spare[small].s);
		att_spare[small].s = s;
		att_spare[small].cap = cap;
	} else
		free(s);
}

static void
report_free(struct report *r)
{
	cJSON_Delete(r->body);
	att_give(r->att, r->attcap);
	free(r);
}

void
wk_task_unref(struct task *t)
{
	struct report	*r;

	if (--t->refs > 0)
		return;
	while ((r = TAILQ_FIRST(&t->reports)) != NULL) {
		TAILQ_REMOVE(&t->reports, r, entry);
		report_free(r);
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
void
wk_task_dead(struct task *t)
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
	wk_task_unref(t);
	if (w->stopping && w->held == 0)
		daemon_exit(w->d);
	else
		worker_kick(w);
}

/* Take t away from the daemon with stop(why). */
void
wk_task_stop(struct task *t, enum worker_stop why)
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
	wk_task_stop(t, WORKER_STOP_LOST);
	wk_task_dead(t);
	wk_task_unref(t);
}

static void
task_retry_later(struct task *t)
{
	struct timeval	tv;

	t->retry_ms = t->retry_ms ? t->retry_ms * 2 : 500;
	if (t->retry_ms > 5000)
		t->retry_ms = 5000;
	wk_ms_to_tv(t->retry_ms, &tv);
	evtimer_add(t->ev_retry, &tv);
}

void
wk_task_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	wk_task_pump(arg);
}

/* ---------------------------------------------------------------- */
/* ending a task                                                      */

static void
end_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct task	*t = arg;

	t->end_inflight = 0;
	if (t->dead) {
		wk_task_unref(t);
		return;
	}
	if (err != NULL || (!rep->ok && strcmp(rep->err_code,
	    PROTO_E_INTERNAL) == 0)) {
		if (++t->end_tries < END_TRIES) {
			log_warnx("task %lld: ending: %s, retrying",
			    (long long)t->pub.task_id, err ? err :
			    rep->err_message);
			task_retry_later(t);
			wk_task_unref(t);
			return;
		}
		log_warnx("task %lld: could not end it (%s); its lease will "
		    "expire", (long long)t->pub.task_id, err ? err :
		    rep->err_message);
	} else if (!rep->ok)
		log_warnx("task %lld: ending: %s: %s",
		    (long long)t->pub.task_id, rep->err_code,
		    rep->err_message);
	wk_task_dead(t);
	wk_task_unref(t);
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

/*
 * Something went wrong with a report: once every call out has ended, the
 * queue is sent again from its oldest report (jobd answers those it has
 * applied already without change, and refuses any that skip ahead).
 */
static void
report_resend(struct task *t)
{
	t->report_resend = 1;
	if (!evtimer_pending(t->ev_retry, NULL))
		task_retry_later(t);
}

static void
report_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct report	*r = arg, *q;
	struct task	*t = r->t;

	r->inflight = 0;
	t->report_inflight--;
	if (r->gone) {
		report_free(r);
		wk_task_unref(t);
		return;
	}
	if (t->dead) {
		wk_task_unref(t);
		return;
	}
	if (err != NULL) {
		log_warnx("task %lld: report: %s, retrying",
		    (long long)t->pub.task_id, err);
		report_resend(t);
	} else if (!rep->ok && strcmp(rep->err_code, PROTO_E_LEASE_LOST) == 0)
		task_lost(t);
	else if (!rep->ok && (strcmp(rep->err_code, PROTO_E_INTERNAL) == 0 ||
	    strcmp(rep->err_code, PROTO_E_OUT_OF_ORDER) == 0)) {
		log_warnx("task %lld: report: %s, retrying",
		    (long long)t->pub.task_id, rep->err_message);
		report_resend(t);
	} else if (!rep->ok && r != TAILQ_FIRST(&t->reports)) {
		/* refused, but one before it is not stored: in order again */
		report_resend(t);
	} else {
		if (!rep->ok)
			log_warnx("task %lld: report refused: %s: %s",
			    (long long)t->pub.task_id, rep->err_code,
			    rep->err_message);
		/* jobd applies in order: every report up to r is stored */
		while ((q = TAILQ_FIRST(&t->reports)) != NULL) {
			TAILQ_REMOVE(&t->reports, q, entry);
			t->nreports--;
			if (q == r)
				break;
			if (q->inflight)
				q->gone = 1;
			else
				report_free(q);
		}
		t->retry_ms = 0;
		if (rep->ok && t->owned && r->cb != NULL)
			r->cb(&t->pub, rep->body, r->arg);
		report_free(r);
		wk_task_pump(t);
	}
	wk_task_unref(t);
}

/* Send what is due: the next batches, or the end once no batch is left. */
void
wk_task_pump(struct task *t)
{
	struct worker	*w = t->pub.w;
	struct report	*r;

	if (t->dead || t->end_inflight || evtimer_pending(t->ev_retry, NULL))
		return;
	if (t->report_resend) {
		if (t->report_inflight > 0)
			return;		/* every answer first */
		t->report_resend = 0;
		TAILQ_FOREACH(r, &t->reports, entry)
			r->sent = 0;
	}
	TAILQ_FOREACH(r, &t->reports, entry) {
		if (r->sent)
			continue;
		if (t->report_inflight >= REPORTS_INFLIGHT)
			return;
		/* the body stays queued until jobd has it: a retry resends */
		r->sent = r->inflight = 1;
		t->report_inflight++;
		t->refs++;
		if ((r->attlen > 0 ? bridge_call_att(w->br, PROTO_TASK_REPORT,
		    r->body, r->att, r->attlen, REPORT_TIMEOUT_MS, report_done,
		    r) : bridge_call_ref(w->br, PROTO_TASK_REPORT, r->body,
		    REPORT_TIMEOUT_MS, report_done, r)) == -1) {
			r->sent = r->inflight = 0;
			t->report_inflight--;
			t->refs--;
			report_resend(t);
			return;
		}
	}
	if (TAILQ_EMPTY(&t->reports) && t->end != END_NONE)
		end_send(t);
}

cJSON *
worker_text_records(const char *heads, size_t hlen, const char *raws,
    size_t rlen, int n)
{
	cJSON	*item;
	char	*text;

	if ((text = malloc(hlen + rlen + 2)) == NULL)
		return NULL;
	memcpy(text, heads, hlen);
	text[hlen] = '\0';
	memcpy(text + hlen + 1, raws, rlen);
	text[hlen + 1 + rlen] = '\0';
	if ((item = cJSON_CreateRaw("")) == NULL) {
		free(text);
		return NULL;
	}
	/* the text itself, not a copy (cJSON allocates with malloc) */
	free(item->valuestring);
	item->valuestring = text;
	item->valueint = n;
	item->valuedouble = (double)rlen;	/* its raws' length */
	return item;
}

int
worker_records(const cJSON *arr)
{
	const cJSON	*rec;
	int		 n = 0;

	cJSON_ArrayForEach(rec, arr)
		n += cJSON_IsRaw(rec) ? rec->valueint : 1;
	return n;
}

/*
 * proto_report_detach() for bodies that may hold text records too: the
 * raws go into the attachment in the records' order, whichever way each
 * record was written.
 */
/* worker_detach() into att (empty, or a buffer to reuse) */
static int
detach(cJSON *body, struct jtext *att)
{
	static const char *const arrays[] = { PROTO_F_POSTS,
	    PROTO_F_COMMENTS, NULL };
	const char *const *a;
	cJSON		*rec, *raw;
	const char	*text;
	char		*printed;
	size_t		 tlen, need = 0;

	/*
	 * Sized before it is filled: grown by doubling, the megabyte was
	 * copied again at each step, into pages never touched before
	 * (realloc was 8% of fetchd's time on a full job).
	 */
	for (a = arrays; *a != NULL; a++)
		cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(body,
		    *a)) {
			if (cJSON_IsRaw(rec))
				need += (size_t)rec->valuedouble;
			else if (cJSON_IsRaw(raw =
			    cJSON_GetObjectItemCaseSensitive(rec, PROTO_F_RAW)))
				need += strlen(raw->valuestring);
		}
	if (need > 0 && jtext_room(att, need) == -1)
		return -1;
	for (a = arrays; *a != NULL; a++) {
		cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(body,
		    *a)) {
			if (cJSON_IsRaw(rec)) {
				text = rec->valuestring;
				text += strlen(text) + 1;
				if (jtext_lit(att, text,
				    (size_t)rec->valuedouble) == -1)
					goto fail;
				continue;
			}
			raw = cJSON_GetObjectItemCaseSensitive(rec,
			    PROTO_F_RAW);
			if (raw == NULL || cJSON_IsNull(raw))
				continue;
			printed = NULL;
			if (cJSON_IsRaw(raw))
				text = raw->valuestring;
			else if ((text = printed = jtext_print(raw, NULL)) ==
			    NULL)
				goto fail;
			tlen = strlen(text);
			if (jtext_lit(att, text, tlen) == -1) {
				free(printed);
				goto fail;
			}
			free(printed);
			cJSON_DeleteItemFromObjectCaseSensitive(rec,
			    PROTO_F_RAW);
			if (cJSON_AddNumberToObject(rec, PROTO_F_RAW_LEN,
			    (double)tlen) == NULL)
				goto fail;
		}
	}
	return 0;
 fail:
	free(att->s);
	memset(att, 0, sizeof(*att));
	return -1;
}

int
worker_detach(cJSON *body, char **attp, size_t *attlenp)
{
	struct jtext	 att = { NULL, 0, 0 };

	if (detach(body, &att) == -1)
		return -1;
	*attp = att.s;
	*attlenp = att.len;
	return 0;
}

int
worker_task_report(struct worker_task *pub, cJSON *posts, cJSON *comments,
    cJSON *media, cJSON *progress, cJSON *checkpoint, worker_report_cb cb,
    void *arg)
{
	struct task	*t = task_of(pub);
	struct worker	*w = pub->w;
	struct report	*r;
	struct jtext	 att = { NULL, 0, 0 };
	char		 batch[512], *text;

	snprintf(batch, sizeof(batch), "%s/%lld/%s/%u", w->name,
	    (long long)pub->task_id, pub->lease_id, ++t->seq);
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->body = proto_task_report_req(pub->task_id, pub->lease_id,
	    batch, t->seq)) == NULL)
		fatalx("%s: out of memory", __func__);
	if (posts)
		cJSON_AddItemToObject(r->body, PROTO_F_POSTS, posts);
	if (comments)
		cJSON_AddItemToObject(r->body, PROTO_F_COMMENTS, comments);
	if (media)
		cJSON_AddItemToObject(r->body, PROTO_F_MEDIA, media);
	if (progress) {
		cJSON_Delete(t->progress);
		t->progress = cJSON_Duplicate(progress, 1);
		cJSON_AddItemToObject(r->body, PROTO_F_PROGRESS, progress);
	}
	if (checkpoint)
		cJSON_AddItemToObject(r->body, PROTO_F_CHECKPOINT, checkpoint);
	/* raw objects travel as the attachment, neither escaped nor parsed */
	att_take(&att);
	if (detach(r->body, &att) == -1)
		fatalx("%s: out of memory", __func__);
	r->att = att.s;
	r->attlen = att.len;
	r->attcap = att.cap;
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
	r->t = t;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&t->reports, r, entry);
	t->nreports++;
	wk_task_pump(t);
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
	wk_task_pump(t);
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
	wk_task_pump(t);
}

/* The job was cancelled: stop at once, then task.finish. */
static void
task_cancel(struct task *t)
{
	if (!t->owned)
		return;
	log_info("task %lld: job %s cancelled", (long long)t->pub.task_id,
	    t->pub.job_id);
	wk_task_stop(t, WORKER_STOP_CANCELLED);
	if (t->end == END_NONE)
		t->end = END_FINISH;
	wk_task_pump(t);
}

/* ---------------------------------------------------------------- */
/* heartbeats                                                         */


void
wk_hb_schedule(struct task *t)
{
	struct timeval	tv;

	if (t->dead)
		return;
	wk_ms_to_tv(t->hb_ms, &tv);
	evtimer_add(t->ev_hb, &tv);
}

static void
hb_done(const struct proto_reply *rep, const char *err, void *arg)
{
	struct task	*t = arg;
	int		 cancelled = 0;

	t->hb_inflight = 0;
	if (t->dead) {
		wk_task_unref(t);
		return;
	}
	if (err != NULL)
		log_warnx("task %lld: heartbeat: %s",
		    (long long)t->pub.task_id, err);
	else if (!rep->ok && strcmp(rep->err_code, PROTO_E_LEASE_LOST) == 0) {
		task_lost(t);
		wk_task_unref(t);
		return;
	} else if (!rep->ok)
		log_warnx("task %lld: heartbeat: %s: %s",
		    (long long)t->pub.task_id, rep->err_code,
		    rep->err_message);
	else if (proto_get_bool(rep->body, PROTO_F_CANCELLED, 0, &cancelled,
	    NULL) == 0 && cancelled)
		task_cancel(t);
	if (t->hb_again && !t->dead) {
		t->hb_again = 0;
		evtimer_del(t->ev_hb);
		wk_hb_send(t);
	} else
		wk_hb_schedule(t);
	wk_task_unref(t);
}

void
wk_hb_send(struct task *t)
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
		wk_hb_schedule(t);
	}
}

void
wk_hb_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	wk_hb_send(arg);
}

/* ms until the lease ends, from a number (ms or s since the epoch) or an
 * RFC 3339 string; -1 when it cannot be read */
int64_t
wk_lease_left_ms(const cJSON *v)
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
