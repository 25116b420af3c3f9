/*
 * fetchd — leases fetch tasks from jobd and scrapes Reddit for them.
 * Everything generic (leases, heartbeats, reports, cancel, SIGTERM) is the
 * worker skeleton's (lib/worker.c); fetchd adds the Reddit client and the
 * scrape modes.
 */
#include <stdlib.h>
#include <string.h>

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"
#include "lib/jarena.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "proto/proto.h"

#define FETCHD_CAPACITY	4	/* jobs at once; they share one rate budget */
#define J_MODE		"mode"	/* task.job field */

static const struct fetchd_mode *const modes[] = {
	&fetchd_mode_full,
	&fetchd_mode_history,
	&fetchd_mode_monitor,
	NULL
};

static struct fetchd fetchd;

/* every mode's per-task state begins with its mode */
struct fetchd_task_head {
	const struct fetchd_mode *mode;
};

void
fetchd_get_count(const cJSON *obj, const char *key, int64_t *out)
{
	const cJSON	*it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) :
			    NULL;

	if (cJSON_IsNumber(it) && it->valuedouble >= 0)
		*out = (int64_t)it->valuedouble;
}

static int
fetchd_start(struct worker_task *t, void *arg)
{
	struct fetchd	*f = arg;
	const char	*mode = NULL;
	char		 msg[128];
	size_t		 i;

	proto_get_str(t->job, J_MODE, 0, &mode, NULL);
	if (mode == NULL)
		mode = PROTO_MODE_FULL;
	for (i = 0; modes[i] != NULL; i++)
		if (strcmp(modes[i]->name, mode) == 0)
			return modes[i]->start(f, t);
	snprintf(msg, sizeof(msg), "%.32s mode is not supported by this "
	    "fetchd", mode);
	worker_task_fail(t, msg, 0);
	return 0;
}

static void
fetchd_stop(struct worker_task *t, enum worker_stop why, void *arg)
{
	struct fetchd_task_head *h = t->priv;

	if (h != NULL)
		h->mode->stop(arg, t, why);
}

static const struct worker_ops fetchd_worker = {
	PROTO_KIND_FETCH, FETCHD_CAPACITY, fetchd_start, fetchd_stop, &fetchd
};

static int
fetchd_init(struct daemon *d)
{
	fetchd.d = d;
	d->priv = &fetchd;
	/*
	 * Parsed answers live in arenas (lib/jarena.c), except in the
	 * sanitizer build: there each node stays a malloc of its own, so
	 * ASan still sees a node used after its tree was freed.
	 */
#ifndef __SANITIZE_ADDRESS__
	jarena_install();
#endif
	if ((fetchd.rc = rd_client_new(d->base, &d->cf)) == NULL) {
		log_warnx("cannot set up libcurl");
		return -1;
	}
	if (d->cf.history.archive_url[0] != '\0' &&
	    (fetchd.ac = ar_client_new(d->base, d->cf.history.archive_url,
	    d->cf.reddit.user_agent)) == NULL) {
		log_warnx("cannot set up the archive client");
		return -1;
	}
	if ((fetchd.w = worker_new(d, &fetchd_worker)) == NULL)
		return -1;
	daemon_ready(d);
	return 0;
}

static void
fetchd_cron(struct daemon *d)
{
	struct fetchd	*f = d->priv;
	double		 left = rd_client_budget(f->rc);
	char		 budget[64];

	if (left < 0)
		snprintf(budget, sizeof(budget), "rate budget not known yet");
	else
		snprintf(budget, sizeof(budget), "%.0f requests left in "
		    "Reddit's window", left);
	notify_status("%d tasks held, %lld Reddit requests, %s",
	    worker_held(f->w), (long long)rd_client_requests(f->rc), budget);
}

static void
fetchd_stop_daemon(struct daemon *d)
{
	worker_shutdown(((struct fetchd *)d->priv)->w);
}

static void
fetchd_fini(struct daemon *d)
{
	struct fetchd	*f = d->priv;

	worker_free(f->w);
	ar_client_free(f->ac);
	rd_client_free(f->rc);
}

static const struct daemon_ops fetchd_ops = {
	.name = "fetchd",
	.init = fetchd_init,
	.cron = fetchd_cron,
	.stop = fetchd_stop_daemon,
	.fini = fetchd_fini,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &fetchd_ops);
}
