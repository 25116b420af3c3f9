/*
 * mediad.h — mediad's parts. The worker skeleton (lib/worker.c) leases
 * media tasks, one per distinct URL; for each, mediad_item.c runs the
 * item's downloads (mediad_transfer.c: libcurl multi on the loop, a cap in
 * all and per host), streams them into the content-addressed store
 * (mediad_store.c: temp file, SHA-256 while streaming, fsync and rename on
 * an offload thread), checks what arrived by its magic bytes
 * (mediad_sniff.c) and muxes a Reddit video with its audio track when
 * ffmpeg is on PATH (mediad_mux.c).
 */
#ifndef RSCRAPE_MEDIAD_H
#define RSCRAPE_MEDIAD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "lib/curlev.h"
#include "lib/daemon.h"
#include "lib/offload.h"
#include "lib/worker.h"

#define MEDIAD_SHA_HEX		65	/* 64 hex digits and a NUL */
#define MEDIAD_HEAD		64	/* bytes kept for sniffing */
#define MEDIAD_PATH_MAX		512
#define MEDIAD_ERR_MAX		256

/* ------------------------------------------------------------------ */
/* content types from magic bytes (mediad_sniff.c); pure functions      */

enum sniff_class {
	SNIFF_UNKNOWN,
	SNIFF_IMAGE,
	SNIFF_VIDEO,	/* also audio-only MP4: its box structure is the same */
	SNIFF_AUDIO,
	SNIFF_TEXT	/* HTML, XML, JSON, plain text: a page, not media */
};

struct sniff {
	enum sniff_class cls;
	const char	*ext;		/* "jpg", "png", ...; "" when unknown */
	const char	*content_type;	/* "image/jpeg", ... */
};

/* What the first bytes of a body are. */
void	 sniff_bytes(const unsigned char *buf, size_t len, struct sniff *out);
/*
 * The audio tracks a DASH manifest names, best first (highest bandwidth),
 * each resolved against the manifest's own URL. Returns how many were
 * appended to out (a JSON array of strings).
 */
int	 dash_audio_urls(const char *mpd, size_t len, const char *mpd_url,
	    cJSON *out);
/*
 * "media/<sha[0:2]>/<sha>.<ext>" into buf; -1 unless sha is 64 lower-case
 * hex digits and ext 1..8 lower-case letters or digits (nothing a URL
 * could smuggle in ever reaches a path).
 */
int	 store_rel_path(const char *sha, const char *ext, char *buf,
	    size_t len);

/* ------------------------------------------------------------------ */
/* the store (mediad_store.c)                                          */

struct store;

/* One temporary file being written: SHA-256 and size kept as it grows. */
struct sink {
	struct store	*st;
	int		 fd;
	char		 tmp[MEDIAD_PATH_MAX];
	void		*md;		/* EVP_MD_CTX */
	int64_t		 bytes;
	int64_t		 max_bytes;
	unsigned char	 head[MEDIAD_HEAD];
	size_t		 headlen;
	int		 too_big;
	int		 write_errno;
	char		 sha[MEDIAD_SHA_HEX];	/* after sink_finish */
};

/* Where a committed file went. */
struct stored {
	int		 ok;
	char		 path[MEDIAD_PATH_MAX];	/* relative to state_dir */
	char		 sha[MEDIAD_SHA_HEX];
	int64_t		 bytes;
	int		 existed;	/* the same content was stored before */
	char		 error[MEDIAD_ERR_MAX];
};

typedef void	(*store_cb)(const struct stored *res, void *arg);

/* Makes media/ and media/.tmp/ and removes temp files left by crashes. */
struct store	*store_open(const char *state_dir, struct offload *ol,
		    char *err, size_t errlen);
void		 store_close(struct store *st);
const char	*store_tmp_dir(const struct store *st);

/* A new temp file in the store; NULL with err. */
struct sink	*sink_new(struct store *st, int64_t max_bytes, char *err,
		    size_t errlen);
/* 0, or -1: over max_bytes (too_big) or a write error (write_errno). */
int		 sink_write(struct sink *s, const void *buf, size_t len);
/* Final SHA-256 into s->sha; the fd stays open for the commit. */
void		 sink_finish(struct sink *s);
/* Closes and unlinks the temp file and frees s. NULL is fine. */
void		 sink_discard(struct sink *s);
/*
 * Moves the finished sink into the store as media/<aa>/<sha>.<ext>, on an
 * offload thread (fsync, rename, fsync of the directory). s is taken
 * over. cb runs on the loop; when the caller lost interest it calls
 * store_forget(handle) and cb is never called.
 */
void		*store_commit_sink(struct sink *s, const char *ext, store_cb cb,
		    void *arg);
/* The same for a finished file at tmp (ffmpeg's output): hashed there. */
void		*store_commit_file(struct store *st, const char *tmp,
		    const char *ext, store_cb cb, void *arg);
void		 store_forget(void *handle);
/* A fresh temp path in the store (for ffmpeg's output). */
void		 store_tmp_path(struct store *st, const char *suffix, char *buf,
		    size_t len);

/* ------------------------------------------------------------------ */
/* downloads (mediad_transfer.c)                                       */

struct mediad;
struct dl;

enum dl_mode {
	DL_STORE,	/* stream into a sink */
	DL_BUFFER	/* small text (a DASH manifest), kept in memory */
};

struct dl_result {
	int		 ok;		/* complete 2xx body */
	long		 status;	/* HTTP status, 0 when none */
	int		 not_found;	/* 403, 404 or 410 */
	int		 transient;	/* another attempt might succeed */
	char		 error[MEDIAD_ERR_MAX];
	struct sink	*sink;		/* DL_STORE, ok: the caller's now */
	const char	*body;		/* DL_BUFFER, ok: valid in the cb */
	size_t		 len;
};

typedef void	(*dl_cb)(struct dl *dl, struct dl_result *res, void *arg);

/* Queued; starts when the caps allow. cb runs once unless dl_cancel. */
struct dl	*dl_start(struct mediad *m, const char *url, enum dl_mode mode,
		    dl_cb cb, void *arg);
/* Stop it; its callback is never called. NULL is fine. */
void		 dl_cancel(struct dl *dl);
const char	*dl_url(const struct dl *dl);
int		 transfer_init(struct mediad *m);
void		 transfer_fini(struct mediad *m);

/* ------------------------------------------------------------------ */
/* ffmpeg (mediad_mux.c)                                               */

struct mux;

struct mux_result {
	int		 ok;
	char		 out[MEDIAD_PATH_MAX];	/* temp file in the store */
	char		 error[MEDIAD_ERR_MAX];
};

typedef void	(*mux_cb)(const struct mux_result *res, void *arg);

/* The ffmpeg on PATH, or NULL. */
const char	*mux_find_ffmpeg(char *buf, size_t len);
/* Copy video's and audio's streams into one MP4 (-c copy). */
struct mux	*mux_start(struct mediad *m, const char *video,
		    const char *audio, mux_cb cb, void *arg);
/* Kill it; cb is never called. */
void		 mux_cancel(struct mux *x);
int		 mux_init(struct mediad *m);
void		 mux_fini(struct mediad *m);

/* ------------------------------------------------------------------ */
/* items (mediad_item.c) and the daemon                                */

int		 item_start(struct worker_task *t, void *arg);
void		 item_stop(struct worker_task *t, enum worker_stop why,
		    void *arg);

struct dl_host;
TAILQ_HEAD(dl_q, dl);

struct mediad {
	struct daemon	*d;
	struct worker	*w;
	struct curlev	*cv;
	struct offload	*ol;
	struct store	*st;
	int		 parallel;	/* transfers in flight */
	int		 per_host;	/* of them to one host */
	int64_t		 max_bytes;
	int		 mux_timeout_ms;
	char		 ffmpeg_buf[MEDIAD_PATH_MAX];
	const char	*ffmpeg;	/* NULL: keep video and audio apart */

	/* mediad_transfer.c */
	struct dl_q	 queue;		/* waiting for a slot */
	int		 running;
	struct dl_host	*hosts;
	struct event	*ev_pump;

	/* mediad_mux.c */
	struct mux	*muxes;
	struct event	*ev_child;

	int64_t		 items_done;
};

#endif
