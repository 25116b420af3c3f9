/*
 * fetchd_jscan.h — a whole JSON text as events (fetchd_jscan.c), for the
 * comment-tree reader (fetchd_stream.c). Private to fetchd.
 *
 * Each callback returns nonzero to go on; map_key may return JSCAN_SKIP
 * to go on past the member's value unreported (still checked, and
 * nested no deeper than RD_NESTING_MAX with its containers, as the
 * reader would have it). Strings and names come decoded
 * (s points into buf when the string held no escape, else into a buffer
 * the next string reuses); numbers as their text. *posp is set, before
 * each callback, to the offset in buf just past the token it reports.
 */
#ifndef RSCRAPE_FETCHD_JSCAN_H
#define RSCRAPE_FETCHD_JSCAN_H

#include <stddef.h>

struct jscan_ops {
	int	(*null)(void *ctx);
	int	(*boolean)(void *ctx, int b);
	int	(*number)(void *ctx, const char *s, size_t n);
	int	(*string)(void *ctx, const char *s, size_t n);
	int	(*start_map)(void *ctx);
	int	(*map_key)(void *ctx, const char *s, size_t n);
	int	(*end_map)(void *ctx);
	int	(*start_array)(void *ctx);
	int	(*end_array)(void *ctx);
};

#define JSCAN_SKIP	2

/* 0; -1: not JSON, or a callback stopped it; -2: a skipped value nests too
 * deeply */
int	 jscan_run(const char *buf, size_t len, const struct jscan_ops *ops,
	    void *ctx, size_t *posp);

#endif
