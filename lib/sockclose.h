/*
 * sockclose.h — nng_close() that cannot hang its caller.
 *
 * nng 1.5.2 (Debian 12) sometimes never returns from nng_close() on a
 * socket that was receiving when it closed: its reaper thread waits for a
 * task that never runs (nanomsg/nng#1543, #1813; fixed upstream only in
 * later releases). Measured here: 6 of 300 `rscrapectl job watch` runs
 * and about 1 in 1000 sub socket closes under a steady publisher. A
 * daemon stuck there never exits on SIGTERM, and a CLI never returns.
 */
#ifndef RSCRAPE_SOCKCLOSE_H
#define RSCRAPE_SOCKCLOSE_H

#include <nng/nng.h>

#define SOCK_CLOSE_WAIT_MS	1000

/*
 * Close s on a helper thread and wait up to wait_ms for it. Returns 0 when
 * the socket closed, -1 when nng hung: the socket is then left to the
 * process's exit, and later calls return -1 at once rather than wait on
 * the same stuck reaper again. Use it where the caller is about to exit
 * or must not stop; never from an nng callback.
 */
int	sock_close_bounded(nng_socket s, int wait_ms);

#endif
