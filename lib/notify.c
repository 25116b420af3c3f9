/*
 * notify.c — see notify.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "lib/notify.h"

void
notify_ready(void)
{
	(void)sd_notify(0, "READY=1");
}

void
notify_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1");
}

void
notify_watchdog(void)
{
	(void)sd_notify(0, "WATCHDOG=1");
}

void
notify_status(const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(void)sd_notifyf(0, "STATUS=%s", buf);
}

uint64_t
notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}
