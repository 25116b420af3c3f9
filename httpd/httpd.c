/*
 * httpd — rscrape's public HTTP API (DESIGN.md §4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "lib/notify.h"


int
main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
		.name = "httpd",
		.check = gw_check,
		.init = gw_init,
		.cron = gw_cron,
		.stop = gw_stop,
		.fini = gw_fini,
	};

	return daemon_main(argc, argv, &ops);
}
