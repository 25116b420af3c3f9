/*
 * log.c — see log.h. Modelled on OpenBSD's usr.sbin/httpd/log.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

int		 log_verbose;
static const char *log_prog = "rscrape";
static int	 log_journal;

void
log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_verbose = verbose;
	/* systemd sets JOURNAL_STREAM when stderr is connected to journald */
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char	 buf[4096];
	int	 n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s\n", pri, buf, suffix ? ": " : "",
		    suffix ? suffix : "");
	else
		fprintf(stderr, "%s: %s%s%s\n", log_prog, buf,
		    suffix ? ": " : "", suffix ? suffix : "");
	fflush(stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(4, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(4, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(6, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug_(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(7, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(2, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(2, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(2, fmt, ap, NULL);
	va_end(ap);
	abort();
}
