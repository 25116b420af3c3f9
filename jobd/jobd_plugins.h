/*
 * jobd_plugins.h — what jobd_plugins.c (when plugins run: state, batches,
 * the cron) and jobd_plugin_run.c (one run: spawn, pipes, stdin, stdout)
 * share. The contract itself is README "Plugins".
 */
#ifndef RSCRAPE_JOBD_PLUGINS_H
#define RSCRAPE_JOBD_PLUGINS_H

#include <sys/types.h>

#include <event2/event.h>

#include "jobd/jobd.h"
#include "lib/config.h"

#define PLUGINS_PARALLEL	2
#define PLUGIN_PAGE		256		/* rows per stdin refill */
#define PLUGIN_IN_LOW		(64 * 1024)	/* refill below this */
#define PLUGIN_LINE_MAX		(1024 * 1024)
#define PLUGIN_SUMMARY_MAX	(64 * 1024)
#define PLUGIN_STDERR_TAIL	2048

/* plugin states (progress.plugins.<name>.status) */
#define PS_PENDING	"pending"
#define PS_RUNNING	"running"
#define PS_OK		"completed"
#define PS_FAILED	"failed"

enum pl_stmt {
	PL_JOBS,		/* running jobs waiting for plugins */
	PL_SET_STATE,
	PL_POSTS,
	PL_COMMENTS,
	PL_POST_ANNOTATE,
	PL_COMMENT_ANNOTATE,
	PL_MAX_ITEMS,
	PL_MONITOR_JOBS,
	PL__COUNT
};



struct prun {
	struct plugins	*pl;
	int64_t		 jid;
	char		 name[65];
	pid_t		 pid;
	int		 in_fd, out_fd, err_fd, pidfd;
	struct event	*ev_in, *ev_out, *ev_err, *ev_exit, *ev_timeout;
	struct evbuffer	*inbuf, *outbuf, *errbuf;
	int		 stage;		/* 0 posts, 1 comments, 2 all sent */
	int64_t		 after;		/* last rowid sent */
	/* the batch: rowids in (from, to]; marks stored when it ends */
	int64_t		 posts_from, posts_to, comments_from, comments_to;
	int64_t		 batches, annotated_before, rejected_before;
	int64_t		 out_bytes;
	int64_t		 annotated, rejected;
	cJSON		*summary;
	int		 exited, wstatus;
	char		 error[256];	/* set: the run failed */
	int64_t		 started_ms;
};

struct plugins {
	struct jobd		*jd;
	struct event_base	*base;
	const struct rs_config	*cf;
	sqlite3_stmt		*st[PL__COUNT];
	struct prun		*runs[PLUGINS_PARALLEL];
	struct {
		int64_t		 jid;
		int64_t		 ms;
	}			 batch_at[64];	/* monitor jobs' last batch */
};

/* jobd_plugins.c */
double	 plugins_num(const cJSON *o, const char *k);
sqlite3_stmt *plugins_stmt(struct plugins *pl, enum pl_stmt w);
cJSON	*plugins_row_names(sqlite3_stmt *row);
cJSON	*plugins_row_state(sqlite3_stmt *row);
int	 plugins_state_store(struct jobd *jd, int64_t jid, const cJSON *state,
	    int64_t now);
int	 plugins_job_row(struct jobd *jd, int64_t jid, sqlite3_stmt **row);

/* jobd_plugin_run.c */
void	 plugin_run_start(struct plugins *pl, int64_t jid, sqlite3_stmt *row,
	    const char *name, int slot);
void	 plugin_run_free(struct prun *r);
void	 plugin_run_reap(struct prun *r);
void	 plugin_run_close_in(struct prun *r);
void	 plugin_run_maybe_done(struct prun *r);

#endif
