/*
 * log.h — OpenBSD's log.c vocabulary. One line per event on stderr, no
 * timestamps of our own; sd-daemon priority prefixes ("<3>") when stderr is
 * the journal (JOURNAL_STREAM set).
 */
#ifndef RSCRAPE_LOG_H
#define RSCRAPE_LOG_H

#include <stdarg.h>

extern int log_verbose;

void	log_init(const char *progname, int verbose);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* internal inconsistency: log and abort so the supervisor restarts us */
void	log_panic(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* arguments are evaluated only when debug logging is on */
#define log_debug(...) do {					\
	if (log_verbose)					\
		log_debug_(__VA_ARGS__);			\
} while (0)

#endif
