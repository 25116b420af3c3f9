/*
 * daemon.h — the skeleton every rscrape daemon runs on (cf. Postfix's
 * single_server.c): options (-c -t -v -V -h), config, signals that only set
 * flags, one libevent loop, a once-a-second cron (the daemon's periodic
 * work), sd_notify (READY=1, STOPPING=1, and WATCHDOG=1 from a loop timer at
 * half of WATCHDOG_USEC, so a hung loop is noticed), and an orderly SIGTERM.
 *
 * A daemon's main() fills a struct daemon_ops and calls daemon_main().
 */
#ifndef RSCRAPE_DAEMON_H
#define RSCRAPE_DAEMON_H

#include <stdint.h>

#include <event2/event.h>

#include "lib/config.h"

struct daemon;

struct daemon_ops {
	const char	*name;
	/*
	 * Checks of the configuration beyond its types (an address that
	 * cannot be parsed ...), run by -t and at every start: -1 with a
	 * message naming the file and key in err. NULL: nothing more.
	 */
	int		(*check)(const struct rs_config *cf, char *err,
			    size_t errlen);
	/* after config and loop exist; -1 is fatal (message already logged) */
	int		(*init)(struct daemon *d);
	/* every cron_ms on the loop */
	void		(*cron)(struct daemon *d);
	/*
	 * SIGTERM/SIGINT: begin an orderly stop and call daemon_exit() when
	 * done (at once if nothing is pending). NULL: exit at once. If the
	 * daemon has not exited after stop_grace_ms it exits anyway.
	 */
	void		(*stop)(struct daemon *d);
	/* after the loop ends: release everything */
	void		(*fini)(struct daemon *d);
	int		 cron_ms;	/* default 1000 */
	int		 stop_grace_ms;	/* default 5000 */
};

struct daemon {
	const struct daemon_ops	*ops;
	struct rs_config	 cf;
	struct event_base	*base;
	int			 verbose;
	int			 stopping;
	int			 exit_code;
	uint64_t		 started_ms;	/* wall clock */
	void			*priv;		/* the daemon's own state */
	struct event		*ev_cron, *ev_term, *ev_int, *ev_grace;
	struct event		*ev_watchdog;	/* WATCHDOG_USEC set */
};

int		 daemon_main(int argc, char **argv, const struct daemon_ops *ops);
/* READY=1: call when the daemon can serve */
void		 daemon_ready(struct daemon *d);
/* leave the loop; the skeleton then calls fini and exits with exit_code */
void		 daemon_exit(struct daemon *d);
uint64_t	 daemon_now_ms(void);
/* milliseconds of CLOCK_MONOTONIC: for deadlines and gaps, never shown */
int64_t		 daemon_mono_ms(void);
/* RFC 3339 UTC with Z: "2026-03-20T14:00:00Z" */
void		 daemon_fmt_time(int64_t ms, char *buf, size_t len);

#endif
