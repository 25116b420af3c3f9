/*
 * sockclose.c — see sockclose.h. The closing thread and the caller share
 * one small record; whichever lets go of it last frees it, so a close that
 * hangs costs a parked thread and a few bytes, never a use after free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "lib/log.h"
#include "lib/sockclose.h"

struct sock_closing {
	nng_socket	 s;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		 done;
	int		 refs;
};

/* set once a close has hung: nng's reaper is stuck for good */
static atomic_int	sock_wedged;

static void
closing_release(struct sock_closing *sc)
{
	int	 last;

	pthread_mutex_lock(&sc->mtx);
	last = --sc->refs == 0;
	pthread_mutex_unlock(&sc->mtx);
	if (last) {
		pthread_cond_destroy(&sc->cv);
		pthread_mutex_destroy(&sc->mtx);
		free(sc);
	}
}

static void *
closing_run(void *arg)
{
	struct sock_closing	*sc = arg;

	nng_close(sc->s);
	pthread_mutex_lock(&sc->mtx);
	sc->done = 1;
	pthread_cond_signal(&sc->cv);
	pthread_mutex_unlock(&sc->mtx);
	closing_release(sc);
	return NULL;
}

int
sock_close_bounded(nng_socket s, int wait_ms)
{
	struct sock_closing	*sc;
	pthread_condattr_t	 ca;
	pthread_t		 t;
	struct timespec		 until;
	int			 done;

	if (atomic_load(&sock_wedged))
		return -1;
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		nng_close(s);
		return 0;
	}
	sc->s = s;
	sc->refs = 2;
	pthread_mutex_init(&sc->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sc->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t, NULL, closing_run, sc) != 0) {
		/* no thread to spare: close here, unbounded as before */
		pthread_cond_destroy(&sc->cv);
		pthread_mutex_destroy(&sc->mtx);
		free(sc);
		nng_close(s);
		return 0;
	}
	pthread_detach(t);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sc->mtx);
	while (!sc->done &&
	    pthread_cond_timedwait(&sc->cv, &sc->mtx, &until) != ETIMEDOUT)
		;
	done = sc->done;
	pthread_mutex_unlock(&sc->mtx);
	closing_release(sc);
	if (done)
		return 0;
	atomic_store(&sock_wedged, 1);
	log_warnx("an nng socket did not close in %d ms (nng 1.5.2, "
	    "nanomsg/nng#1543); left to the process's exit", wait_ms);
	return -1;
}
