/*
 * worker_int.h — what lib/worker.c (leases, events, the worker's life)
 * and lib/worker_task.c (a leased task's reports, heartbeats and end)
 * share. Not for daemons: they use worker.h.
 */
#ifndef RSCRAPE_WORKER_INT_H
#define RSCRAPE_WORKER_INT_H

#include <sys/queue.h>

#include <event2/event.h>

#include "lib/worker.h"

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

/*
 * Reports a task may have out at once: jobd stores one while the next is
 * on its way (proto.h, task.report seq keeps them in order).
 */
#define REPORTS_INFLIGHT	2

struct task;

struct report {
	TAILQ_ENTRY(report) entry;
	struct task	*t;
	cJSON		*body;
	char		*att;		/* the records' raw (proto.h) */
	size_t		 attlen, attcap;
	worker_report_cb cb;
	void		*arg;
	int		 sent;		/* since the last resend from the head */
	int		 inflight;	/* its call is out */
	int		 gone;		/* off the queue: freed when its call ends */
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
	int		 report_inflight;	/* calls out */
	int		 report_resend;	/* send again from the oldest */
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

/* worker.c */
void	 worker_kick(struct worker *w);

/* worker_task.c */
void	 wk_hb_schedule(struct task *t);
void	 wk_hb_send(struct task *t);
void	 wk_hb_timer_cb(evutil_socket_t fd, short what, void *arg);
int64_t	 wk_lease_left_ms(const cJSON *v);
void	 wk_ms_to_tv(int ms, struct timeval *tv);
void	 wk_task_dead(struct task *t);
void	 wk_task_pump(struct task *t);
void	 wk_task_retry_cb(evutil_socket_t fd, short what, void *arg);
void	 wk_task_stop(struct task *t, enum worker_stop why);
void	 wk_task_unref(struct task *t);

#endif
