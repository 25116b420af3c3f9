/*
 * jobd — rscrape's state daemon. All state lives in one SQLite database
 * that only jobd writes; everyone else asks over nng (proto/proto.h).
 */
#include "jobd/jobd.h"
#include "lib/daemon.h"

int
main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
		.name = "jobd",
		.init = jobd_daemon_init,
		.cron = jobd_daemon_cron,
		.stop = jobd_daemon_stop,
		.fini = jobd_daemon_fini,
		.cron_ms = 1000,
		.stop_grace_ms = 3000,
	};

	return daemon_main(argc, argv, &ops);
}
