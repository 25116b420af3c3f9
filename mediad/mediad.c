/*
 * mediad — leases media tasks from jobd and downloads them into the
 * content-addressed store under state_dir. Everything generic (leases,
 * heartbeats, cancel, SIGTERM) is the worker skeleton's (lib/worker.c);
 * mediad adds the transfers, the store, the checks and the muxing.
 */
#include <string.h>

#include "lib/log.h"
#include "lib/notify.h"
#include "mediad/mediad.h"
#include "proto/proto.h"

#define OFFLOAD_THREADS	2	/* fsync + rename; one more hides a slow disk */

static struct mediad mediad;

static struct worker_ops mediad_worker = {
	PROTO_KIND_MEDIA, 0, item_start, item_stop, &mediad
};

static int
mediad_init(struct daemon *d)
{
	struct mediad	*m = &mediad;
	char		 err[512];

	m->d = d;
	d->priv = m;
	m->parallel = (int)d->cf.mediad.parallel;
	m->per_host = (int)d->cf.mediad.per_host;
	m->max_bytes = d->cf.mediad.max_bytes;
	m->mux_timeout_ms = (int)d->cf.mediad.mux_timeout * 1000;
	if ((m->ol = offload_new(d->base, OFFLOAD_THREADS)) == NULL) {
		log_warnx("cannot start the file threads");
		return -1;
	}
	if ((m->st = store_open(d->cf.paths.state_dir, m->ol, err,
	    sizeof(err))) == NULL) {
		log_warnx("media store: %s", err);
		return -1;
	}
	if (transfer_init(m) == -1) {
		log_warnx("cannot set up libcurl");
		return -1;
	}
	if (mux_init(m) == -1) {
		log_warnx("cannot watch child processes");
		return -1;
	}
	/*
	 * Hold more items than transfers, so the next transfer starts at
	 * once instead of after a lease round trip.
	 */
	mediad_worker.capacity = m->parallel * 2;
	if ((m->w = worker_new(d, &mediad_worker)) == NULL)
		return -1;
	log_info("store %s/media: %d transfers, %d per host, max %lld bytes",
	    d->cf.paths.state_dir, m->parallel, m->per_host,
	    (long long)m->max_bytes);
	daemon_ready(d);
	return 0;
}

/* systemctl status: what the daemon is doing */
static void
mediad_cron(struct daemon *d)
{
	struct mediad	*m = d->priv;

	notify_status("%d tasks held, %d transfers running (of %d)",
	    worker_held(m->w), m->running, m->parallel);
}

static void
mediad_stop(struct daemon *d)
{
	worker_shutdown(((struct mediad *)d->priv)->w);
}

static void
mediad_fini(struct daemon *d)
{
	struct mediad	*m = d->priv;

	if (m == NULL)
		return;
	worker_free(m->w);
	mux_fini(m);
	transfer_fini(m);
	/* commits still queued finish on their threads before this returns */
	offload_free(m->ol);
	store_close(m->st);
}

static const struct daemon_ops mediad_ops = {
	.name = "mediad",
	.init = mediad_init,
	.cron = mediad_cron,
	.stop = mediad_stop,
	.fini = mediad_fini,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &mediad_ops);
}
