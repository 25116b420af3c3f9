/*
 * fetchd_monitor.c — monitor mode (work in progress).
 */
#include "fetchd/fetchd.h"
#include "proto/proto.h"

static int
mon_start(struct fetchd *f, struct worker_task *t)
{
	(void)f;
	worker_task_fail(t, "monitor mode is not supported by this fetchd", 0);
	return 0;
}

static void
mon_stop(struct fetchd *f, struct worker_task *t, enum worker_stop why)
{
	(void)f;
	(void)t;
	(void)why;
}

const struct fetchd_mode fetchd_mode_monitor = {
	PROTO_MODE_MONITOR, mon_start, mon_stop
};
