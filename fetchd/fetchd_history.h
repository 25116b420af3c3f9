/*
 * fetchd_history.h — history mode's state, shared by fetchd_history.c
 * (the job: asking, answers, batches) and fetchd_history_state.c (its
 * sources, progress and checkpoint). See fetchd_history.c for the mode.
 */
#ifndef RSCRAPE_FETCHD_HISTORY_H
#define RSCRAPE_FETCHD_HISTORY_H

#include "fetchd/fetchd.h"
#include "fetchd/fetchd_parse.h"

#define H_ACTIVE	4	/* comment trees worked on at once */
#define H_BACKLOG	6	/* batches waiting for jobd before we pause */
#define H_PREFETCH	10	/* list on when fewer posts wait for trees */
#define H_PAGE		100
#define H_BATCH		500	/* records gathered while jobd stores one */
#define H_MAXSRC	16

/* job, progress and checkpoint fields */
#define P_SOURCE	"source"
#define P_SOURCES	"sources"
#define P_ARCHIVED	"archive_only"
#define S_POSTS		"posts"
#define S_REQUESTS	"requests"
#define S_STATE		"state"
#define S_AFTER		"after"
#define S_BEFORE	"before"
#define C_ABOUT		"about"
#define C_CUR		"cur"
#define C_NEWEST	"newest"
#define C_OLDEST	"oldest"
#define C_COVERED	"covered"
#define C_KNOWN		"known"
#define C_PENDING	"pending"
#define C_CAFTER	"c_after"
#define C_CEXHAUSTED	"c_exhausted"
#define RAW_SOURCE	"rscrape_source"
#define RAW_ARCHIVE	"archive"
#define AR_DATA		"data"

enum src_state { SS_WAITING, SS_ACTIVE, SS_DONE, SS_SKIPPED, SS_FAILED };
extern const char *const hist_state_names[];

struct source {
	char		 name[32];
	const char	*sort;		/* NULL: the archive */
	const char	*t;		/* time window, or NULL */
	int64_t		 win;		/* seconds; 0: none, -1: all time */
	enum src_state	 state;
	char		 after[RD_FULLNAME_MAX + 1];
	int64_t		 before;	/* archive cursor, epoch s; 0: newest */
	int64_t		 posts, requests;
};

struct history_job {
	const struct fetchd_mode *mode;		/* first: see fetchd.c */
	struct fetchd	*f;
	struct worker_task *t;
	char		 target[128];
	int		 user, want_media, want_comments;
	int64_t		 limit;
	int		 about_ok;
	struct rd_req	*about_q, *list_q, *info_q, *ucom_q;
	struct ar_req	*ar_q;
	struct source	 src[H_MAXSRC];
	int		 nsrc, cur;
	/* an archive page waiting for /api/info */
	cJSON		*staged;
	int64_t		 staged_before;
	int		 staged_end;
	struct seen	 known;
	int64_t		 newest, oldest, covered;	/* -1: unknown */
	char		 c_after[RD_FULLNAME_MAX + 1];
	int		 c_exhausted;
	struct trees	*trees;
	cJSON		*out_posts, *out_comments, *out_media;
	int		 dirty;
	int64_t		 posts, comments, media, requests, archived;
	int		 ended, in_pump;
};

/* fetchd_history_state.c */
void		 make_sources(struct history_job *j);
int		 limit_reached(const struct history_job *j);
int		 sources_done(const struct history_job *j);
void		 next_source(struct history_job *j);
void		 source_end(struct history_job *j, struct source *s,
		    enum src_state st);
cJSON		*hist_progress(const struct history_job *j);
cJSON		*hist_checkpoint(const struct history_job *j);
void		 hist_restore(struct history_job *j, const cJSON *c);

#endif
