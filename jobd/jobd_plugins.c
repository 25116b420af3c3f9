/*
 * jobd_plugins.c — running a job's plugins (README "Plugins").
 *
 * Who runs them: jobd. The items a plugin reads and the annotations it
 * writes are rows of jobd's database, and jobd is the only writer; a
 * separate runner would need a streaming read protocol and a write path
 * just for this. jobd never blocks on a plugin: the child is started with
 * posix_spawn (no shell: argv is the plugin's path alone), its pipes are
 * non-blocking libevent events, its exit is a pidfd read event, and stdin
 * is filled one page of rows at a time (keyset on the rowid) only while
 * the pipe takes it, so a slow plugin costs one page of memory.
 *
 * When: a job whose scrape is complete (job_maybe_complete's rule) and
 * that names plugins stays "running" while its plugins run, one after the
 * other in the order given, at most PLUGINS_PARALLEL jobs at a time; then
 * it completes, whatever the plugins did. The state of each plugin is the
 * jobs.plugin_state column, shown as progress.plugins. A jobd restart
 * runs again the plugin that was running (its annotations are idempotent:
 * set, not added). A cancelled job's plugin is killed.
 *
 * Input (stdin): NDJSON, the job's posts then its comments, each one line
 * {"type": "post"|"comment", "id", ...}. Env: RSCRAPE_PLUGIN,
 * RSCRAPE_JOB_ID, RSCRAPE_WORKSPACE_ID, RSCRAPE_JOB_JSON (the job object),
 * RSCRAPE_WEBHOOK_URL and RSCRAPE_WEBHOOK_SECRET when configured, PATH,
 * LANG.
 * Output (stdout): NDJSON. A line with "id" ("t3_…" or "t1_…" of this job)
 * annotates that item: the object without "id" is stored under the
 * plugin's name in the item's annotations; "sentiment_label" (positive,
 * neutral, negative) and "sentiment_score" (a number) also fill the
 * columns the posts API filters on. A line without "id" is merged into the
 * plugin's summary (progress.plugins.<name>.summary). A line that breaks
 * these rules is counted as rejected, never fatal.
 * Limits: [plugins] timeout_seconds of wall time (then SIGKILL of its
 * process group), max_output_bytes of stdout, lines up to 1 MiB, summary
 * up to 64 KiB. Failure (exit status other than 0, a signal, a limit):
 * status "failed" with the error and the last 2 KiB of stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "jobd/jobd.h"
#include "lib/config.h"
#include "lib/log.h"

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
	PL__COUNT
};

static const char *const pl_sql[PL__COUNT] = {
	[PL_JOBS] = "SELECT jid FROM jobs WHERE status = ?1 AND "
	    "plugin_state IS NOT NULL ORDER BY jid",
	[PL_SET_STATE] = "UPDATE jobs SET plugin_state = ?2, updated_at = ?3 "
	    "WHERE jid = ?1",
	[PL_POSTS] = "SELECT pid, json_object('type', 'post', 'id', id, "
	    "'subreddit', subreddit, 'author', author, 'title', title, "
	    "'selftext', selftext, 'score', score, 'num_comments', "
	    "num_comments, 'created_utc', created_utc, 'url', url, "
	    "'permalink', permalink, 'post_type', post_type) "
	    "FROM posts WHERE jid = ?1 AND pid > ?2 ORDER BY pid LIMIT ?3",
	[PL_COMMENTS] = "SELECT cid, json_object('type', 'comment', 'id', id, "
	    "'post_id', post_id, 'parent_id', parent_id, 'depth', depth, "
	    "'author', author, 'body', body, 'score', score, 'created_utc', "
	    "created_utc) "
	    "FROM comments WHERE jid = ?1 AND cid > ?2 ORDER BY cid LIMIT ?3",
	[PL_POST_ANNOTATE] = "UPDATE posts SET "
	    "annotations = json_set(coalesce(annotations, '{}'), ?3, json(?4)),"
	    " sentiment_label = coalesce(?5, sentiment_label),"
	    " sentiment_score = coalesce(?6, sentiment_score) "
	    "WHERE jid = ?1 AND id = ?2",
	[PL_COMMENT_ANNOTATE] = "UPDATE comments SET "
	    "annotations = json_set(coalesce(annotations, '{}'), ?3, json(?4)),"
	    " sentiment_label = coalesce(?5, sentiment_label),"
	    " sentiment_score = coalesce(?6, sentiment_score) "
	    "WHERE jid = ?1 AND id = ?2",
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
};

static void	 run_maybe_done(struct prun *r);
static void	 plugins_requeue(struct jobd *jd, int64_t jid);

static int
plugin_name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 1 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static sqlite3_stmt *
pl_stmt(struct plugins *pl, enum pl_stmt w)
{
	sqlite3_reset(pl->st[w]);
	sqlite3_clear_bindings(pl->st[w]);
	return pl->st[w];
}

/* the job row's plugin names (a JSON array), or NULL when there are none */
static cJSON *
row_plugins(sqlite3_stmt *row)
{
	cJSON	*a = cJSON_Parse(jobd_col_text(row, JC_PLUGINS));

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

static cJSON *
row_state(sqlite3_stmt *row)
{
	cJSON	*s;

	if (sqlite3_column_type(row, JC_PLUGIN_STATE) == SQLITE_NULL)
		return NULL;
	s = cJSON_Parse(jobd_col_text(row, JC_PLUGIN_STATE));
	if (!cJSON_IsObject(s)) {
		cJSON_Delete(s);
		return NULL;
	}
	return s;
}

/* progress.plugins: the state column as it is, or NULL */
cJSON *
plugins_progress(sqlite3_stmt *row)
{
	return row_state(row);
}

static int
state_store(struct jobd *jd, int64_t jid, const cJSON *state, int64_t now)
{
	struct plugins	*pl = jd->plugins;
	sqlite3_stmt	*st;
	char		*txt = cJSON_PrintUnformatted(state);
	int		 rc;

	if (txt == NULL)
		return -1;
	if (pl != NULL)
		st = pl_stmt(pl, PL_SET_STATE);
	else if (sqlite3_prepare_v2(jd->db, pl_sql[PL_SET_STATE], -1, &st,
	    NULL) != SQLITE_OK) {
		cJSON_free(txt);
		return -1;
	}
	sqlite3_bind_int64(st, 1, jid);
	sqlite3_bind_text(st, 2, txt, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st);
	if (pl != NULL)
		sqlite3_reset(st);
	else
		sqlite3_finalize(st);
	cJSON_free(txt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Inside job_maybe_complete's transaction, for a job whose scrape is
 * complete: 1 it waits for its plugins (the first time, their state is
 * created "pending"), 0 it may complete, -1 database error.
 */
int
plugins_hold(struct jobd *jd, int64_t jid, sqlite3_stmt *row, int64_t now)
{
	cJSON	*names, *state, *it, *one;
	int	 waiting = 0;

	if ((names = row_plugins(row)) == NULL)
		return 0;
	state = row_state(row);
	sqlite3_reset(row);
	if (state == NULL) {
		state = cJSON_CreateObject();
		cJSON_ArrayForEach(it, names) {
			if (!cJSON_IsString(it) || cJSON_GetObjectItemCaseSensitive(
			    state, it->valuestring) != NULL)
				continue;
			one = cJSON_AddObjectToObject(state, it->valuestring);
			cJSON_AddStringToObject(one, "status", PS_PENDING);
		}
		cJSON_Delete(names);
		if (state_store(jd, jid, state, now) == -1) {
			cJSON_Delete(state);
			return -1;
		}
		cJSON_Delete(state);
		log_info("job %lld: scrape complete, running its plugins",
		    (long long)jid);
		return job_publish_progress(jd, jid) == -1 ? -1 : 1;
	}
	cJSON_ArrayForEach(it, state) {
		const char *s = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(it, "status"));

		if (s == NULL || strcmp(s, PS_OK) != 0) {
			if (s == NULL || strcmp(s, PS_FAILED) != 0)
				waiting = 1;
		}
	}
	cJSON_Delete(names);
	cJSON_Delete(state);
	return waiting;
}

/* stdin: refill from the database while the pipe takes more */
static int
run_fill(struct prun *r)
{
	struct plugins	*pl = r->pl;
	sqlite3_stmt	*st;
	int		 n;

	while (r->stage < 2 && evbuffer_get_length(r->inbuf) < PLUGIN_IN_LOW) {
		st = pl_stmt(pl, r->stage == 0 ? PL_POSTS : PL_COMMENTS);
		sqlite3_bind_int64(st, 1, r->jid);
		sqlite3_bind_int64(st, 2, r->after);
		sqlite3_bind_int(st, 3, PLUGIN_PAGE);
		n = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			r->after = sqlite3_column_int64(st, 0);
			evbuffer_add(r->inbuf, sqlite3_column_text(st, 1),
			    (size_t)sqlite3_column_bytes(st, 1));
			evbuffer_add(r->inbuf, "\n", 1);
			n++;
		}
		sqlite3_reset(st);
		if (n < PLUGIN_PAGE) {
			r->stage++;
			r->after = 0;
		}
	}
	return 0;
}

static void
run_close_in(struct prun *r)
{
	if (r->ev_in != NULL) {
		event_free(r->ev_in);
		r->ev_in = NULL;
	}
	if (r->in_fd != -1) {
		close(r->in_fd);
		r->in_fd = -1;
	}
}

static void
run_writable(evutil_socket_t fd, short what, void *arg)
{
	struct prun	*r = arg;

	(void)what;
	run_fill(r);
	while (evbuffer_get_length(r->inbuf) > 0) {
		if (evbuffer_write(r->inbuf, fd) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* EPIPE: the plugin read what it wanted */
			evbuffer_drain(r->inbuf, evbuffer_get_length(r->inbuf));
			r->stage = 2;
			break;
		}
		if (evbuffer_get_length(r->inbuf) < PLUGIN_IN_LOW)
			run_fill(r);
	}
	if (r->stage == 2 && evbuffer_get_length(r->inbuf) == 0)
		run_close_in(r);
}

static void
run_fail(struct prun *r, const char *fmt, const char *arg, long long n)
{
	if (r->error[0] != '\0')
		return;
	snprintf(r->error, sizeof(r->error), fmt, arg, n);
	if (r->pid > 0 && !r->exited)
		kill(-r->pid, SIGKILL);
}

static void
json_merge(cJSON *into, const cJSON *from)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, from) {
		cJSON_DeleteItemFromObjectCaseSensitive(into, it->string);
		cJSON_AddItemToObject(into, it->string,
		    cJSON_Duplicate(it, 1));
	}
}

/* one line of the plugin's stdout */
static void
run_line(struct prun *r, const char *line, size_t len)
{
	struct plugins	*pl = r->pl;
	sqlite3_stmt	*st;
	cJSON		*o, *label, *score;
	const char	*id;
	char		*txt, path[80];

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return;
	o = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(o)) {
		r->rejected++;
		cJSON_Delete(o);
		return;
	}
	id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
	if (id == NULL) {
		if (cJSON_GetObjectItemCaseSensitive(o, "id") != NULL)
			r->rejected++;
		else
			json_merge(r->summary, o);
		cJSON_Delete(o);
		return;
	}
	label = cJSON_GetObjectItemCaseSensitive(o, "sentiment_label");
	score = cJSON_GetObjectItemCaseSensitive(o, "sentiment_score");
	if ((strncmp(id, "t3_", 3) != 0 && strncmp(id, "t1_", 3) != 0) ||
	    (label != NULL && !cJSON_IsNull(label) && (!cJSON_IsString(label) ||
	    (strcmp(label->valuestring, "positive") != 0 &&
	    strcmp(label->valuestring, "neutral") != 0 &&
	    strcmp(label->valuestring, "negative") != 0))) ||
	    (score != NULL && !cJSON_IsNull(score) && !cJSON_IsNumber(score))) {
		r->rejected++;
		cJSON_Delete(o);
		return;
	}
	st = pl_stmt(pl, id[1] == '3' ? PL_POST_ANNOTATE : PL_COMMENT_ANNOTATE);
	sqlite3_bind_int64(st, 1, r->jid);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	snprintf(path, sizeof(path), "$.\"%s\"", r->name);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_TRANSIENT);
	if (cJSON_IsString(label))
		sqlite3_bind_text(st, 5, label->valuestring, -1,
		    SQLITE_TRANSIENT);
	if (cJSON_IsNumber(score))
		sqlite3_bind_double(st, 6, score->valuedouble);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "id");
	txt = cJSON_PrintUnformatted(o);
	sqlite3_bind_text(st, 4, txt ? txt : "{}", -1, SQLITE_TRANSIENT);
	cJSON_free(txt);
	if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(r->pl->jd->db))
		r->annotated++;
	else
		r->rejected++;	/* not an item of this job */
	sqlite3_reset(st);
	cJSON_Delete(o);
}

/* complete lines in outbuf, in one transaction; eof: the rest too */
static void
run_lines(struct prun *r, int eof)
{
	struct jobd	*jd = r->pl->jd;
	char		*line;
	size_t		 len;
	int		 tx;

	tx = jobd_begin(jd) == 0;
	while ((line = evbuffer_readln(r->outbuf, &len,
	    EVBUFFER_EOL_LF)) != NULL) {
		run_line(r, line, len);
		free(line);
	}
	if (eof && (len = evbuffer_get_length(r->outbuf)) > 0) {
		line = (char *)evbuffer_pullup(r->outbuf, -1);
		run_line(r, line, len);
		evbuffer_drain(r->outbuf, len);
	}
	if (tx && jobd_commit(jd) == -1)
		log_warnx("plugin %s: job %lld: commit failed", r->name,
		    (long long)r->jid);
	if (evbuffer_get_length(r->outbuf) > PLUGIN_LINE_MAX)
		run_fail(r, "%s: an output line over 1 MiB%.0lld", r->name, 0);
}

static void
run_readable(evutil_socket_t fd, short what, void *arg)
{
	struct prun	*r = arg;
	int		 n, is_out = fd == r->out_fd;
	struct evbuffer	*b = is_out ? r->outbuf : r->errbuf;

	(void)what;
	n = evbuffer_read(b, fd, 65536);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (is_out) {
			r->out_bytes += n;
			if (r->out_bytes > r->pl->cf->plugins.max_output_bytes) {
				run_fail(r, "%s: output over %lld bytes",
				    r->name, (long long)
				    r->pl->cf->plugins.max_output_bytes);
				evbuffer_drain(b, evbuffer_get_length(b));
			} else if (r->error[0] == '\0')
				run_lines(r, 0);
		} else if (evbuffer_get_length(b) > PLUGIN_STDERR_TAIL)
			evbuffer_drain(b, evbuffer_get_length(b) -
			    PLUGIN_STDERR_TAIL);
		return;
	}
	/* EOF or error: this stream is over */
	if (is_out) {
		if (r->error[0] == '\0')
			run_lines(r, 1);
		event_free(r->ev_out);
		r->ev_out = NULL;
		close(r->out_fd);
		r->out_fd = -1;
	} else {
		event_free(r->ev_err);
		r->ev_err = NULL;
		close(r->err_fd);
		r->err_fd = -1;
	}
	run_maybe_done(r);
}

static void
run_reap(struct prun *r)
{
	int	 st;

	if (r->exited || r->pid <= 0)
		return;
	if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
		r->exited = 1;
		r->wstatus = st;
	}
}

static void
run_exited(evutil_socket_t fd, short what, void *arg)
{
	struct prun	*r = arg;

	(void)fd;
	(void)what;
	run_reap(r);
	if (r->exited) {
		event_free(r->ev_exit);
		r->ev_exit = NULL;
		run_close_in(r);
		run_maybe_done(r);
	}
}

static void
run_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct prun	*r = arg;

	(void)fd;
	(void)what;
	run_fail(r, "%s: timed out after %lld s", r->name,
	    (long long)r->pl->cf->plugins.timeout_seconds);
	/* a grandchild may still hold the pipes: stop reading them */
	if (r->exited) {
		if (r->ev_out) {
			event_free(r->ev_out);
			r->ev_out = NULL;
		}
		if (r->ev_err) {
			event_free(r->ev_err);
			r->ev_err = NULL;
		}
		run_maybe_done(r);
	}
}

static void
run_free(struct prun *r)
{
	int	 i;

	if (r->pid > 0 && !r->exited) {
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);	/* SIGKILL: at once */
	}
	run_close_in(r);
	if (r->ev_out)
		event_free(r->ev_out);
	if (r->ev_err)
		event_free(r->ev_err);
	if (r->ev_exit)
		event_free(r->ev_exit);
	if (r->ev_timeout)
		event_free(r->ev_timeout);
	if (r->out_fd != -1)
		close(r->out_fd);
	if (r->err_fd != -1)
		close(r->err_fd);
	if (r->pidfd != -1)
		close(r->pidfd);
	if (r->inbuf)
		evbuffer_free(r->inbuf);
	if (r->outbuf)
		evbuffer_free(r->outbuf);
	if (r->errbuf)
		evbuffer_free(r->errbuf);
	cJSON_Delete(r->summary);
	for (i = 0; i < PLUGINS_PARALLEL; i++)
		if (r->pl->runs[i] == r)
			r->pl->runs[i] = NULL;
	free(r);
}

/* read the job row into *row (ST_JOB_GET_JID); caller resets */
static int
job_row_get(struct jobd *jd, int64_t jid, sqlite3_stmt **row)
{
	sqlite3_stmt	*st = jobd_stmt(jd, ST_JOB_GET_JID);

	sqlite3_bind_int64(st, 1, jid);
	*row = st;
	return sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
}

/* set one plugin's entry in the job's state (own transaction) */
static void
run_record(struct jobd *jd, int64_t jid, const char *name, cJSON *entry,
    int complete)
{
	sqlite3_stmt	*row;
	cJSON		*state;
	int64_t		 now = jobd_now(jd);

	if (jobd_begin(jd) == -1) {
		cJSON_Delete(entry);
		return;
	}
	if (job_row_get(jd, jid, &row) == -1 ||
	    strcmp(jobd_col_text(row, JC_STATUS), PROTO_ST_RUNNING) != 0) {
		sqlite3_reset(row);
		jobd_rollback(jd);
		cJSON_Delete(entry);
		return;
	}
	if ((state = row_state(row)) == NULL)
		state = cJSON_CreateObject();
	sqlite3_reset(row);
	cJSON_DeleteItemFromObjectCaseSensitive(state, name);
	cJSON_AddItemToObject(state, name, entry);
	if (state_store(jd, jid, state, now) == -1 ||
	    job_publish_progress(jd, jid) == -1 ||
	    (complete && job_maybe_complete(jd, jid, now) == -1)) {
		cJSON_Delete(state);
		jobd_rollback(jd);
		return;
	}
	cJSON_Delete(state);
	if (jobd_commit(jd) == -1)
		log_warnx("job %lld: plugin state: commit failed",
		    (long long)jid);
}

static void
run_maybe_done(struct prun *r)
{
	struct jobd	*jd = r->pl->jd;
	cJSON		*e;
	char		*summary, tail[PLUGIN_STDERR_TAIL + 1];
	size_t		 n;

	if (!r->exited || ((r->ev_out != NULL || r->ev_err != NULL) &&
	    r->error[0] == '\0'))
		return;
	if (r->error[0] == '\0') {
		if (WIFSIGNALED(r->wstatus))
			snprintf(r->error, sizeof(r->error),
			    "%s: killed by signal %d", r->name,
			    WTERMSIG(r->wstatus));
		else if (WEXITSTATUS(r->wstatus) != 0)
			snprintf(r->error, sizeof(r->error),
			    "%s: exit status %d", r->name,
			    WEXITSTATUS(r->wstatus));
	}
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "status", r->error[0] ? PS_FAILED : PS_OK);
	cJSON_AddNumberToObject(e, "annotated", (double)r->annotated);
	cJSON_AddNumberToObject(e, "rejected", (double)r->rejected);
	cJSON_AddNumberToObject(e, "duration_seconds",
	    (double)(jobd_now(jd) - r->started_ms) / 1000.0);
	summary = cJSON_PrintUnformatted(r->summary);
	if (summary != NULL && strlen(summary) <= PLUGIN_SUMMARY_MAX)
		cJSON_AddItemToObject(e, "summary",
		    cJSON_Duplicate(r->summary, 1));
	else if (summary != NULL)
		cJSON_AddStringToObject(e, "summary_error",
		    "summary over 64 KiB, dropped");
	cJSON_free(summary);
	if (r->error[0]) {
		cJSON_AddStringToObject(e, "error", r->error);
		n = evbuffer_copyout(r->errbuf, tail, PLUGIN_STDERR_TAIL);
		tail[n] = '\0';
		cJSON_AddStringToObject(e, "stderr_tail", tail);
		log_warnx("job %lld: plugin %s", (long long)r->jid, r->error);
	} else
		log_info("job %lld: plugin %s done: %lld annotated, %lld "
		    "rejected", (long long)r->jid, r->name,
		    (long long)r->annotated, (long long)r->rejected);
	run_record(jd, r->jid, r->name, e, 1);
	run_free(r);
	plugins_cron(jd, jobd_now(jd));
}

static void
env_add(char **env, int *n, const char *k, const char *v)
{
	if (asprintf(&env[*n], "%s=%s", k, v) != -1)
		(*n)++;
}

/* start plugin name on job row; the run's failure is recorded, never ours */
static void
run_start(struct plugins *pl, int64_t jid, sqlite3_stmt *row,
    const char *name, int slot)
{
	struct jobd			*jd = pl->jd;
	struct prun			*r;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 at;
	sigset_t			 none, all;
	int				 in[2] = { -1, -1 }, out[2] = { -1, -1 },
					 err[2] = { -1, -1 }, n = 0, i, rc;
	char				*env[16], *argv[2], path[4096], *job;
	const char			*wh;
	cJSON				*jo, *e;
	struct timeval			 tv;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->pl = pl;
	r->jid = jid;
	r->in_fd = r->out_fd = r->err_fd = r->pidfd = -1;
	r->started_ms = jobd_now(jd);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->summary = cJSON_CreateObject();
	r->inbuf = evbuffer_new();
	r->outbuf = evbuffer_new();
	r->errbuf = evbuffer_new();
	pl->runs[slot] = r;

	jo = jobd_job_json(jd, row, r->started_ms);
	job = cJSON_PrintUnformatted(jo);
	env_add(env, &n, "PATH", "/usr/local/bin:/usr/bin:/bin");
	env_add(env, &n, "LANG", "C.UTF-8");
	env_add(env, &n, "RSCRAPE_PLUGIN", name);
	env_add(env, &n, "RSCRAPE_JOB_ID", cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(jo, "id")));
	env_add(env, &n, "RSCRAPE_WORKSPACE_ID", cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(jo, "workspace_id")));
	env_add(env, &n, "RSCRAPE_JOB_JSON", job ? job : "{}");
	if (*(wh = pl->cf->plugins.webhook_url))
		env_add(env, &n, "RSCRAPE_WEBHOOK_URL", wh);
	if (*(wh = pl->cf->plugins.webhook_secret))
		env_add(env, &n, "RSCRAPE_WEBHOOK_SECRET", wh);
	env[n] = NULL;
	cJSON_free(job);
	cJSON_Delete(jo);

	snprintf(path, sizeof(path), "%s/%s", pl->cf->paths.plugin_dir, name);
	argv[0] = path;
	argv[1] = NULL;
	if (!plugin_name_ok(name)) {
		run_fail(r, "%s: not a plugin name%.0lld", name, 0);
		goto failed;
	}
	if (access(path, X_OK) == -1) {
		run_fail(r, "%s: not an executable in plugin_dir%.0lld", name,
		    0);
		goto failed;
	}
	if (pipe2(in, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    pipe2(out, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    pipe2(err, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(r->error, sizeof(r->error), "%s: pipe: %s", name,
		    strerror(errno));
		for (i = 0; i < 2; i++) {
			if (in[i] != -1)
				close(in[i]);
			if (out[i] != -1)
				close(out[i]);
			if (err[i] != -1)
				close(err[i]);
		}
		goto failed;
	}
	/* the child's ends are blocking, as programs expect */
	fcntl(in[0], F_SETFL, 0);
	fcntl(out[1], F_SETFL, 0);
	fcntl(err[1], F_SETFL, 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&r->pid, path, &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	in[0] = out[1] = err[1] = -1;
	if (rc != 0) {
		r->pid = 0;
		snprintf(r->error, sizeof(r->error), "%s: cannot start: %s",
		    name, strerror(rc));
		close(in[1]);
		close(out[0]);
		close(err[0]);
		goto failed;
	}
	r->in_fd = in[1];
	r->out_fd = out[0];
	r->err_fd = err[0];
	r->ev_in = event_new(pl->base, r->in_fd, EV_WRITE | EV_PERSIST,
	    run_writable, r);
	r->ev_out = event_new(pl->base, r->out_fd, EV_READ | EV_PERSIST,
	    run_readable, r);
	r->ev_err = event_new(pl->base, r->err_fd, EV_READ | EV_PERSIST,
	    run_readable, r);
	event_add(r->ev_in, NULL);
	event_add(r->ev_out, NULL);
	event_add(r->ev_err, NULL);
	if ((r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0)) != -1) {
		r->ev_exit = event_new(pl->base, r->pidfd, EV_READ |
		    EV_PERSIST, run_exited, r);
		event_add(r->ev_exit, NULL);
	}	/* else: plugins_cron reaps it */
	r->ev_timeout = evtimer_new(pl->base, run_timeout, r);
	tv.tv_sec = (time_t)pl->cf->plugins.timeout_seconds;
	tv.tv_usec = 0;
	evtimer_add(r->ev_timeout, &tv);
	for (i = 0; i < n; i++)
		free(env[i]);
	log_info("job %lld: plugin %s started (pid %d)", (long long)jid, name,
	    (int)r->pid);
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "status", PS_RUNNING);
	run_record(jd, jid, name, e, 0);
	return;
failed:
	for (i = 0; i < n; i++)
		free(env[i]);
	r->exited = 1;
	run_maybe_done(r);
}

/* the first plugin of a job still pending, or NULL; 0 when none is left */
static const char *
next_pending(sqlite3_stmt *row, cJSON **namesp, int *busy)
{
	cJSON		*names = row_plugins(row), *state = row_state(row), *it;
	const char	*s;

	*namesp = names;
	*busy = 0;
	if (names == NULL || state == NULL) {
		cJSON_Delete(state);
		return NULL;
	}
	cJSON_ArrayForEach(it, names) {
		s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(state,
		    cJSON_GetStringValue(it)), "status"));
		if (s != NULL && strcmp(s, PS_RUNNING) == 0)
			*busy = 1;
		if (s != NULL && strcmp(s, PS_PENDING) == 0) {
			cJSON_Delete(state);
			return it->valuestring;
		}
	}
	cJSON_Delete(state);
	return NULL;
}

/*
 * Once a second (and after each run): kill runs of jobs that ended, start
 * the next pending plugin of waiting jobs. After a restart, a plugin left
 * "running" is pending again.
 */
void
plugins_cron(struct jobd *jd, int64_t now_ms)
{
	struct plugins	*pl = jd->plugins;
	sqlite3_stmt	*st, *row;
	int64_t		 jids[64];
	int		 n = 0, i, j, slot, busy, active;
	cJSON		*names;
	const char	*name;
	char		 nbuf[65];

	(void)now_ms;
	if (pl == NULL)
		return;
	for (i = 0; i < PLUGINS_PARALLEL; i++) {
		struct prun *r = pl->runs[i];

		if (r == NULL)
			continue;
		if (r->ev_exit == NULL && !r->exited) {
			run_reap(r);
			if (r->exited) {
				run_close_in(r);
				run_maybe_done(r);
				continue;
			}
		}
		if (job_row_get(jd, r->jid, &row) == -1 ||
		    strcmp(jobd_col_text(row, JC_STATUS),
		    PROTO_ST_RUNNING) != 0) {
			sqlite3_reset(row);
			log_info("job %lld ended: plugin %s stopped",
			    (long long)r->jid, r->name);
			run_free(r);
			continue;
		}
		sqlite3_reset(row);
	}
	st = pl_stmt(pl, PL_JOBS);
	sqlite3_bind_text(st, 1, PROTO_ST_RUNNING, -1, SQLITE_STATIC);
	while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
		jids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		active = 0;
		slot = -1;
		for (j = 0; j < PLUGINS_PARALLEL; j++) {
			if (pl->runs[j] && pl->runs[j]->jid == jids[i])
				active = 1;
			if (pl->runs[j] == NULL && slot == -1)
				slot = j;
		}
		if (active)
			continue;
		if (job_row_get(jd, jids[i], &row) == -1) {
			sqlite3_reset(row);
			continue;
		}
		name = next_pending(row, &names, &busy);
		if (busy) {
			/* left running by the jobd before us: again */
			sqlite3_reset(row);
			cJSON_Delete(names);
			plugins_requeue(jd, jids[i]);
			continue;
		}
		if (name == NULL) {
			sqlite3_reset(row);
			cJSON_Delete(names);
			if (!busy) {
				/* every plugin ended: the job completes */
				if (jobd_begin(jd) == 0) {
					if (job_maybe_complete(jd, jids[i],
					    jobd_now(jd)) == -1)
						jobd_rollback(jd);
					else
						(void)jobd_commit(jd);
				}
			}
			continue;
		}
		if (slot == -1) {
			sqlite3_reset(row);
			cJSON_Delete(names);
			break;
		}
		snprintf(nbuf, sizeof(nbuf), "%s", name);
		run_start(pl, jids[i], row, nbuf, slot);
		sqlite3_reset(row);
		cJSON_Delete(names);
	}
}

/* a plugin found "running" with no run of ours: pending again */
static void
plugins_requeue(struct jobd *jd, int64_t jid)
{
	sqlite3_stmt	*row;
	cJSON		*state, *it, *s;

	if (job_row_get(jd, jid, &row) == -1 ||
	    (state = row_state(row)) == NULL) {
		sqlite3_reset(row);
		return;
	}
	sqlite3_reset(row);
	cJSON_ArrayForEach(it, state) {
		s = cJSON_GetObjectItemCaseSensitive(it, "status");
		if (cJSON_IsString(s) && strcmp(s->valuestring,
		    PS_RUNNING) == 0) {
			cJSON_DeleteItemFromObjectCaseSensitive(it, "status");
			cJSON_AddStringToObject(it, "status", PS_PENDING);
		}
	}
	(void)state_store(jd, jid, state, jobd_now(jd));
	cJSON_Delete(state);
}

int
plugins_open(struct jobd *jd, struct event_base *base,
    const struct rs_config *cf)
{
	struct plugins	*pl;
	int		 i;

	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return -1;
	pl->jd = jd;
	pl->base = base;
	pl->cf = cf;
	for (i = 0; i < PL__COUNT; i++)
		if (sqlite3_prepare_v3(jd->db, pl_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &pl->st[i], NULL) != SQLITE_OK) {
			log_warnx("%s: %s", __func__, sqlite3_errmsg(jd->db));
			while (i-- > 0)
				sqlite3_finalize(pl->st[i]);
			free(pl);
			return -1;
		}
	jd->plugins = pl;
	return 0;
}

/* jobd stops: runs are killed (the next jobd runs them again) */
void
plugins_close(struct jobd *jd)
{
	struct plugins	*pl = jd->plugins;
	int		 i;

	if (pl == NULL)
		return;
	for (i = 0; i < PLUGINS_PARALLEL; i++)
		if (pl->runs[i] != NULL)
			run_free(pl->runs[i]);
	for (i = 0; i < PL__COUNT; i++)
		sqlite3_finalize(pl->st[i]);
	free(pl);
	jd->plugins = NULL;
}
