/*
 * offload.c — see offload.h. One locked queue of work, a few threads that
 * take from it, and a locked queue of finished work that the loop drains
 * when the eventfd becomes readable.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/offload.h"

#define OFFLOAD_MAX_THREADS	16

struct ojob {
	offload_fn	 work;
	offload_fn	 done;
	void		*arg;
	struct ojob	*next;
};

struct offload {
	struct event_base *base;
	pthread_t	 th[OFFLOAD_MAX_THREADS];
	int		 nth;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	struct ojob	*todo_head, *todo_tail;
	struct ojob	*done_head, *done_tail;
	int		 quit;
	int		 pending;	/* loop thread only */
	int		 efd;
	struct event	*ev;
};

static void
push(struct ojob **head, struct ojob **tail, struct ojob *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void *
offload_thread(void *arg)
{
	struct offload	*o = arg;
	struct ojob	*j;
	uint64_t	 one = 1;

	pthread_mutex_lock(&o->mtx);
	for (;;) {
		while (o->todo_head == NULL && !o->quit)
			pthread_cond_wait(&o->cond, &o->mtx);
		if ((j = o->todo_head) == NULL)
			break;		/* quit, and nothing left to do */
		if ((o->todo_head = j->next) == NULL)
			o->todo_tail = NULL;
		pthread_mutex_unlock(&o->mtx);
		j->work(j->arg);
		pthread_mutex_lock(&o->mtx);
		push(&o->done_head, &o->done_tail, j);
		if (write(o->efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
			/* the loop drains on its next wake anyway */
		}
	}
	pthread_mutex_unlock(&o->mtx);
	return NULL;
}

/* loop thread */
static void
offload_drain(evutil_socket_t fd, short what, void *arg)
{
	struct offload	*o = arg;
	struct ojob	*j, *next;
	uint64_t	 n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd read", __func__);
	pthread_mutex_lock(&o->mtx);
	j = o->done_head;
	o->done_head = o->done_tail = NULL;
	pthread_mutex_unlock(&o->mtx);
	for (; j != NULL; j = next) {
		next = j->next;
		o->pending--;
		if (j->done)
			j->done(j->arg);
		free(j);
	}
}

struct offload *
offload_new(struct event_base *base, int threads)
{
	struct offload	*o;
	int		 i;

	if (threads < 1)
		threads = 1;
	if (threads > OFFLOAD_MAX_THREADS)
		threads = OFFLOAD_MAX_THREADS;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->base = base;
	o->efd = -1;
	pthread_mutex_init(&o->mtx, NULL);
	pthread_cond_init(&o->cond, NULL);
	if ((o->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		goto fail;
	o->ev = event_new(base, o->efd, EV_READ | EV_PERSIST, offload_drain,
	    o);
	if (o->ev == NULL || event_add(o->ev, NULL) == -1)
		goto fail;
	for (i = 0; i < threads; i++) {
		if (pthread_create(&o->th[i], NULL, offload_thread, o) != 0)
			break;
		o->nth++;
	}
	if (o->nth == 0)
		goto fail;
	return o;
fail:
	if (o->ev)
		event_free(o->ev);
	if (o->efd != -1)
		close(o->efd);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->mtx);
	free(o);
	return NULL;
}

void
offload_free(struct offload *o)
{
	struct ojob	*j, *next;
	int		 i;

	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mtx);
	o->quit = 1;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->mtx);
	for (i = 0; i < o->nth; i++)
		pthread_join(o->th[i], NULL);
	for (j = o->done_head; j != NULL; j = next) {
		next = j->next;
		free(j);
	}
	event_free(o->ev);
	close(o->efd);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->mtx);
	free(o);
}

int
offload_run(struct offload *o, offload_fn work, offload_fn done, void *arg)
{
	struct ojob	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&o->mtx);
	push(&o->todo_head, &o->todo_tail, j);
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->mtx);
	o->pending++;
	return 0;
}

int
offload_pending(const struct offload *o)
{
	return o->pending;
}
