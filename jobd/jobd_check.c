/*
 * jobd_check.c — a report's raws checked on a thread while the loop
 * stores the report.
 *
 * Every raw a task.report carries in its attachment is checked to be one
 * JSON object before it is stored as text (results splice it into their
 * answers as it is). For a full job that is the whole of Reddit's answers,
 * about 20 MB for 100 posts, and the check was a tenth of jobd's loop. It
 * needs nothing of the database, so the loop hands the report's spans to
 * this thread, stores the records meanwhile, and takes the verdict before
 * it commits: a bad raw rolls the report back, as if it had been refused
 * before anything was written. Whatever the thread has not reached by
 * then, the loop checks itself.
 *
 * The spans point into the request's attachment: the loop must take the
 * verdict (jobd_check_wait) before the request is freed, on every path.
 * Without the thread (it could not start), the check runs inline.
 */
#include <pthread.h>
#include <stdlib.h>

#include "jobd/jobd.h"
#include "lib/log.h"

/* spans taken at a time: about 30 KB of Reddit's comments */
#define CHECK_CHUNK	16

struct jobd_check {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	const struct raw_span	*spans;		/* the work; NULL: none */
	size_t			 n;
	size_t			 next;		/* the first span not taken */
	int			 working;	/* chunks being checked */
	long			 bad;		/* first bad span, or -1 */
	int			 quit;
};

static long
spans_check(const struct raw_span *s, size_t lo, size_t hi)
{
	size_t	 i;

	for (i = lo; i < hi; i++)
		if (!proto_json_object_valid(s[i].p, s[i].n))
			return (long)i;
	return -1;
}

/* with mtx held: check the next chunk (mtx let go meanwhile); 0: none */
static int
check_chunk(struct jobd_check *c)
{
	size_t	 lo = c->next, hi;
	long	 bad;

	if (c->spans == NULL || lo >= c->n)
		return 0;
	hi = c->n - lo > CHECK_CHUNK ? lo + CHECK_CHUNK : c->n;
	c->next = hi;
	c->working++;
	pthread_mutex_unlock(&c->mtx);
	bad = spans_check(c->spans, lo, hi);
	pthread_mutex_lock(&c->mtx);
	c->working--;
	if (bad != -1 && (c->bad == -1 || bad < c->bad))
		c->bad = bad;
	if (c->working == 0 && c->next >= c->n)
		pthread_cond_broadcast(&c->cond);
	return 1;
}

static void *
check_main(void *arg)
{
	struct jobd_check	*c = arg;

	(void)pthread_setname_np(pthread_self(), "jobd:check");
	pthread_mutex_lock(&c->mtx);
	while (!c->quit)
		if (!check_chunk(c))
			pthread_cond_wait(&c->cond, &c->mtx);
	pthread_mutex_unlock(&c->mtx);
	return NULL;
}

int
jobd_check_start(struct jobd *jd)
{
	struct jobd_check	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->bad = -1;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cond, NULL);
	if (pthread_create(&c->thread, NULL, check_main, c) != 0) {
		log_warn("raw check thread (raws are checked inline)");
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mtx);
		free(c);
		return -1;
	}
	jd->check = c;
	return 0;
}

void
jobd_check_stop(struct jobd *jd)
{
	struct jobd_check	*c = jd->check;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	c->quit = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mtx);
	free(c);
	jd->check = NULL;
}

/* The spans stay the caller's, untouched, until jobd_check_wait(). */
void
jobd_check_submit(struct jobd *jd, const struct raw_span *s, size_t n)
{
	struct jobd_check	*c = jd->check;

	if (c == NULL) {
		jd->check_bad = spans_check(s, 0, n);
		return;
	}
	pthread_mutex_lock(&c->mtx);
	c->spans = s;
	c->n = n;
	c->next = 0;
	c->bad = -1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mtx);
}

/*
 * The verdict on what was submitted: the first bad span, or -1. What the
 * thread has not taken yet, the loop checks itself, so it waits at most
 * for the chunk the thread is on (about 15 us), never for a thread the
 * scheduler has not run.
 */
long
jobd_check_wait(struct jobd *jd)
{
	struct jobd_check	*c = jd->check;
	long			 bad;

	if (c == NULL)
		return jd->check_bad;
	pthread_mutex_lock(&c->mtx);
	while (check_chunk(c))
		;
	while (c->working > 0)
		pthread_cond_wait(&c->cond, &c->mtx);
	bad = c->bad;
	c->spans = NULL;
	pthread_mutex_unlock(&c->mtx);
	return bad;
}
