/*
 * worker.h — the skeleton shared by fetchd and mediad (the worker protocol
 * of proto/proto.h), on top of daemon.h. A worker daemon differs from the
 * other only in the callbacks it passes here.
 *
 * What the skeleton does:
 *   - leases tasks of one kind (task.lease) while it holds fewer than its
 *     capacity; backs off while there is no work or jobd is away, and
 *     leases again at once on a work.available event;
 *   - keeps every held lease alive with a heartbeat timer (progress
 *     travels with it); a heartbeat answered cancelled or a lease_lost
 *     error stops the task; a job.cancel event sends the heartbeat at
 *     once, so a cancel stops work within about a second;
 *   - sends the daemon's results as task.report batches, numbered (seq)
 *     and up to REPORTS_INFLIGHT at a time per task, so that jobd stores
 *     one while the next is on its way; jobd applies them in order only
 *     (a checkpoint stored by jobd must never run ahead of the records it
 *     vouches for); after an error or an out_of_order answer, the batches
 *     not answered are sent again from the oldest, under the same batch
 *     ids, while jobd is unreachable;
 *   - SIGTERM: stops every task, lets queued reports land, hands the
 *     leases back with task.release and then exits the loop.
 *
 * The daemon supplies:
 *   start(t)       begin work on a new task; -1: the task is failed at once.
 *   stop(t, why)   stop all work on t now and free t->priv; the skeleton
 *                  then ends the task the protocol's way (finish for a
 *                  cancelled job, release at shutdown, nothing when the
 *                  lease is lost). For a cancelled job, stop may end the
 *                  task itself first (worker_task_finish_result: a media
 *                  task's finish needs a result). t must not be used
 *                  after stop returns.
 * and, while working, calls worker_task_report(), then exactly one of
 * worker_task_finish() / worker_task_fail() (after which t is the
 * skeleton's: no callback about it reaches the daemon again).
 */
#ifndef RSCRAPE_WORKER_H
#define RSCRAPE_WORKER_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "lib/daemon.h"

struct worker;

enum worker_stop {
	WORKER_STOP_CANCELLED,	/* the job was cancelled */
	WORKER_STOP_SHUTDOWN,	/* SIGTERM: the lease is handed back */
	WORKER_STOP_LOST	/* the lease expired or went to another worker */
};

struct worker_task {
	struct worker	*w;
	int64_t		 task_id;
	char		 lease_id[96];
	char		 job_id[64];	/* as leased ("job_<uuid>") */
	int64_t		 attempt;
	/* borrowed from the leased task object; live as long as t */
	const cJSON	*job;		/* {target, target_type, mode, config} */
	const cJSON	*checkpoint;	/* {} on a first lease */
	const cJSON	*progress;	/* last stored progress, {} at first */
	const cJSON	*media;		/* media tasks only, else NULL */
	void		*priv;		/* the daemon's state for t */
};

struct worker_ops {
	const char	*kind;		/* PROTO_KIND_FETCH or PROTO_KIND_MEDIA */
	int		 capacity;	/* tasks held at once */
	int		(*start)(struct worker_task *t, void *arg);
	void		(*stop)(struct worker_task *t, enum worker_stop why,
			    void *arg);
	void		*arg;
};

/* Called once a batch is stored; body is jobd's reply (borrowed). */
typedef void	(*worker_report_cb)(struct worker_task *t, const cJSON *body,
		    void *arg);

/* After the daemon's loop exists (its init): connects and starts leasing. */
struct worker	*worker_new(struct daemon *d, const struct worker_ops *ops);
void		 worker_free(struct worker *w);
/* SIGTERM: stop, flush, release, then daemon_exit(). */
void		 worker_shutdown(struct worker *w);
/* "host:pid" */
const char	*worker_name(const struct worker *w);
struct daemon	*worker_daemon(const struct worker *w);
int		 worker_held(const struct worker *w);

/*
 * Queue one batch (any of the arrays and objects may be NULL; all are
 * taken over). progress and checkpoint are stored by jobd together with
 * the records. cb (may be NULL) runs when jobd has stored the batch.
 * Returns the number of batches now queued or in flight for t.
 */
int		 worker_task_report(struct worker_task *t, cJSON *posts,
		    cJSON *comments, cJSON *media, cJSON *progress,
		    cJSON *checkpoint, worker_report_cb cb, void *arg);
/* batches queued or in flight */
int		 worker_task_backlog(const struct worker_task *t);

/*
 * Records already written as text, for the posts or comments array of a
 * report (fetchd's comment trees: no cJSON object per record): a cJSON
 * raw item whose text is n records, comma-separated, each with raw_len
 * (proto.h, task.report) instead of raw, then a NUL, then their raws back
 * to back; its valueint is n, its valuedouble rlen. A report puts the
 * records into its JSON where the item stands and their raws into the
 * attachment, in order with the other records'. heads/raws: hlen/rlen
 * bytes (copied).
 */
cJSON		*worker_text_records(const char *heads, size_t hlen,
		    const char *raws, size_t rlen, int n);
/* records in an array: one per object, valueint per text item */
int		 worker_records(const cJSON *arr);
/*
 * What a report does to its body before sending it (exposed for tests):
 * every raw out of the posts and comments, in order, into the attachment
 * (malloc'd, *attp; NULL when empty), raw_len in its place.
 */
int		 worker_detach(cJSON *body, char **attp, size_t *attlenp);
/* The progress sent with the next heartbeats (taken over). */
void		 worker_task_set_progress(struct worker_task *t,
		    cJSON *progress);
/* Done: once queued batches are stored, task.finish (progress taken). */
void		 worker_task_finish(struct worker_task *t, cJSON *progress);
/* Done with a result (media tasks: proto_media_result_new(); taken over). */
void		 worker_task_finish_result(struct worker_task *t,
		    cJSON *result);
/* Failed: task.fail with error as the job's error_message when !retry. */
void		 worker_task_fail(struct worker_task *t, const char *error,
		    int retry);

#endif
