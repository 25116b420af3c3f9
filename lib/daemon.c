/*
 * daemon.c — see daemon.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "lib/daemon.h"
#include "lib/log.h"
#include "lib/notify.h"

uint64_t
daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
daemon_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
daemon_fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Cleanup after the loop must not outlive the stop promise either: a
 * library that hangs while closing (nng 1.5.2 has such bugs) would leave a
 * daemon that systemd has to SIGKILL. The alarm ends it with what the loop
 * decided; the handler only uses what is async-signal-safe.
 */
#define FINI_GRACE_MS	2000

static char		 fini_msg[128];
static size_t		 fini_msglen;
static volatile sig_atomic_t fini_code;

static void
fini_alarm(int sig)
{
	(void)sig;
	if (write(STDERR_FILENO, fini_msg, fini_msglen) < 0)
		_exit(fini_code);
	_exit(fini_code);
}

static void
fini_guard(const struct daemon *d, int grace_ms)
{
	int	n;

	n = snprintf(fini_msg, sizeof(fini_msg),
	    "%s: cleanup took longer than %d ms, exiting\n", d->ops->name,
	    grace_ms);
	fini_msglen = n > 0 && (size_t)n < sizeof(fini_msg) ? (size_t)n : 0;
	fini_code = d->exit_code;
	signal(SIGALRM, fini_alarm);
	alarm((unsigned)(grace_ms + 999) / 1000);
}

static void
usage(const char *name)
{
	fprintf(stderr, "usage: %s [-tvVh] [-c file]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -t       check the configuration and exit\n"
	    "  -v       more logging (repeat for more)\n"
	    "  -V       print the version and exit\n"
	    "  -h       this help\n", name, config_default_path());
}

static void
daemon_cron(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	(void)fd;
	(void)what;
	if (d->ops->cron)
		d->ops->cron(d);
}

/* on the loop, so a loop that hangs stops the pings and systemd acts */
static void
daemon_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_watchdog();
}

static void
daemon_grace(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	(void)fd;
	(void)what;
	log_warnx("stop took longer than %d ms, exiting", d->ops->stop_grace_ms ?
	    d->ops->stop_grace_ms : 5000);
	daemon_exit(d);
}

static void
daemon_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;
	struct timeval	 tv;
	int		 grace = d->ops->stop_grace_ms ? d->ops->stop_grace_ms :
			    5000;

	(void)what;
	if (d->stopping) {
		if (sig == SIGINT)	/* second ^C: now */
			daemon_exit(d);
		return;
	}
	d->stopping = 1;
	log_info("received %s, stopping", sig == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	notify_stopping();
	tv.tv_sec = grace / 1000;
	tv.tv_usec = (grace % 1000) * 1000;
	d->ev_grace = evtimer_new(d->base, daemon_grace, d);
	evtimer_add(d->ev_grace, &tv);
	if (d->ops->stop)
		d->ops->stop(d);
	else
		daemon_exit(d);
}

void
daemon_ready(struct daemon *d)
{
	log_info("ready");
	notify_ready();
	(void)d;
}

void
daemon_exit(struct daemon *d)
{
	event_base_loopbreak(d->base);
}

int
daemon_main(int argc, char **argv, const struct daemon_ops *ops)
{
	struct daemon	 d;
	struct timeval	 tv;
	const char	*conf = NULL;
	char		 err[1024];
	uint64_t	 wd_usec;
	int		 ch, check = 0, cron_ms;

	memset(&d, 0, sizeof(d));
	d.ops = ops;
	while ((ch = getopt(argc, argv, "c:tvVh")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			d.verbose++;
			break;
		case 'V':
			printf("%s %s\n", ops->name, RSCRAPE_VERSION);
			return 0;
		case 'h':
			usage(ops->name);
			return 0;
		default:
			usage(ops->name);
			return 2;
		}
	}
	if (optind != argc) {
		usage(ops->name);
		return 2;
	}
	log_init(ops->name, d.verbose);
	if (config_load(&d.cf, conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (ops->check != NULL && ops->check(&d.cf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (check) {
		fprintf(stderr, "%s: configuration OK: %s\n", ops->name,
		    d.cf.path);
		config_free(&d.cf);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	if ((d.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	d.started_ms = daemon_now_ms();
	d.ev_term = evsignal_new(d.base, SIGTERM, daemon_signal, &d);
	d.ev_int = evsignal_new(d.base, SIGINT, daemon_signal, &d);
	evsignal_add(d.ev_term, NULL);
	evsignal_add(d.ev_int, NULL);

	if (ops->init(&d) == -1)
		fatalx("initialisation failed");

	cron_ms = ops->cron_ms ? ops->cron_ms : 1000;
	tv.tv_sec = cron_ms / 1000;
	tv.tv_usec = (cron_ms % 1000) * 1000;
	d.ev_cron = event_new(d.base, -1, EV_PERSIST, daemon_cron, &d);
	evtimer_add(d.ev_cron, &tv);
	if ((wd_usec = notify_watchdog_usec()) > 0) {
		wd_usec /= 2;
		tv.tv_sec = (time_t)(wd_usec / 1000000);
		tv.tv_usec = (suseconds_t)(wd_usec % 1000000);
		d.ev_watchdog = event_new(d.base, -1, EV_PERSIST,
		    daemon_watchdog, &d);
		evtimer_add(d.ev_watchdog, &tv);
		notify_watchdog();
	}

	event_base_dispatch(d.base);

	/*
	 * The loop is over and the signal events go (restoring SIG_DFL): a
	 * second SIGTERM (a supervisor insisting) must not kill fini half way.
	 */
	event_free(d.ev_term);
	event_free(d.ev_int);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	/* what takes time (a WAL checkpoint, leases handed back) is in stop */
	fini_guard(&d, FINI_GRACE_MS);
	if (ops->fini)
		ops->fini(&d);
	event_free(d.ev_cron);
	if (d.ev_watchdog)
		event_free(d.ev_watchdog);
	if (d.ev_grace)
		event_free(d.ev_grace);
	event_base_free(d.base);
	config_free(&d.cf);
	/*
	 * nng frees a closed socket's dialers and pipes on its own reaper
	 * threads; exiting before they ran leaves memory a leak checker
	 * reports (seen: a sub socket still dialing when httpd stopped).
	 * nng_fini() waits for them; every socket is closed by now.
	 */
	nng_fini();
	alarm(0);
	log_info("exiting");
	return d.exit_code;
}
