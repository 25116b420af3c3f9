/*
 * notify.h — sd_notify(3) through libsystemd. Every call is a no-op when
 * NOTIFY_SOCKET is not set.
 */
#ifndef RSCRAPE_NOTIFY_H
#define RSCRAPE_NOTIFY_H

#include <stdint.h>

void	 notify_ready(void);
void	 notify_stopping(void);
void	 notify_watchdog(void);
void	 notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* microseconds between required WATCHDOG=1 pings, 0 when not watched */
uint64_t notify_watchdog_usec(void);

#endif
