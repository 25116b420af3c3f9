/*
 * offload.h — blocking file work (fsync, rename, hashing a file) on a few
 * threads, with completions back on the loop.
 *
 * A loop must never block, and fsync(2) on a busy disk can take a long
 * time. offload_run() queues work(arg) for a worker thread; when it has
 * run, done(arg) is called on the loop thread (through an eventfd, as the
 * bridge does for nng). work() must not touch libevent or anything else
 * the loop owns; it may only use what arg gives it.
 *
 *   struct offload *o = offload_new(base, 2);
 *   offload_run(o, do_fsync_rename, commit_done, job);
 */
#ifndef RSCRAPE_OFFLOAD_H
#define RSCRAPE_OFFLOAD_H

#include <event2/event.h>

struct offload;

typedef void	(*offload_fn)(void *arg);

struct offload	*offload_new(struct event_base *base, int threads);
/* Waits for queued work to run (their done callbacks are not called). */
void		 offload_free(struct offload *o);
/* 0, or -1 when the work could not be queued (out of memory). */
int		 offload_run(struct offload *o, offload_fn work, offload_fn done,
		    void *arg);
/* jobs queued or running */
int		 offload_pending(const struct offload *o);

#endif
