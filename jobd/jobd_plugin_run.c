/*
 * jobd_plugin_run.c — one plugin run (jobd_plugins.h): posix_spawn with
 * no shell, non-blocking pipes as libevent events, stdin filled a page of
 * rows at a time while the pipe takes it, stdout lines stored as
 * annotations in one transaction per read, the exit seen on a pidfd, the
 * limits (time, output), and the plugin's entry in the job's state.
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

#include "jobd/jobd_plugins.h"
#include "lib/log.h"

/* stdin: refill from the database while the pipe takes more */
static int
run_fill(struct prun *r)
{
	struct plugins	*pl = r->pl;
	sqlite3_stmt	*st;
	int		 n;

	while (r->stage < 2 && evbuffer_get_length(r->inbuf) < PLUGIN_IN_LOW) {
		st = plugins_stmt(pl, r->stage == 0 ? PL_POSTS : PL_COMMENTS);
		sqlite3_bind_int64(st, 1, r->jid);
		sqlite3_bind_int64(st, 2, r->after);
		sqlite3_bind_int(st, 3, PLUGIN_PAGE);
		sqlite3_bind_int64(st, 4, r->stage == 0 ? r->posts_to :
		    r->comments_to);
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
			r->after = r->comments_from;
		}
	}
	return 0;
}

void
plugin_run_close_in(struct prun *r)
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
		plugin_run_close_in(r);
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
	st = plugins_stmt(pl, id[1] == '3' ? PL_POST_ANNOTATE : PL_COMMENT_ANNOTATE);
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
	plugin_run_maybe_done(r);
}

void
plugin_run_reap(struct prun *r)
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
	plugin_run_reap(r);
	if (r->exited) {
		event_free(r->ev_exit);
		r->ev_exit = NULL;
		plugin_run_close_in(r);
		plugin_run_maybe_done(r);
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
		plugin_run_maybe_done(r);
	}
}

void
plugin_run_free(struct prun *r)
{
	int	 i;

	if (r->pid > 0 && !r->exited) {
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);	/* SIGKILL: at once */
	}
	plugin_run_close_in(r);
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
int
plugins_job_row(struct jobd *jd, int64_t jid, sqlite3_stmt **row)
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
	cJSON		*state, *old;
	int64_t		 now = jobd_now(jd);

	if (jobd_begin(jd) == -1) {
		cJSON_Delete(entry);
		return;
	}
	if (plugins_job_row(jd, jid, &row) == -1 ||
	    strcmp(jobd_col_text(row, JC_STATUS), PROTO_ST_RUNNING) != 0) {
		sqlite3_reset(row);
		jobd_rollback(jd);
		cJSON_Delete(entry);
		return;
	}
	if ((state = plugins_row_state(row)) == NULL)
		state = cJSON_CreateObject();
	sqlite3_reset(row);
	/* over the entry: its marks stay, a past failure's words go */
	if ((old = cJSON_GetObjectItemCaseSensitive(state, name)) == NULL)
		old = cJSON_AddObjectToObject(state, name);
	cJSON_DeleteItemFromObjectCaseSensitive(old, "error");
	cJSON_DeleteItemFromObjectCaseSensitive(old, "stderr_tail");
	cJSON_DeleteItemFromObjectCaseSensitive(old, "summary_error");
	json_merge(old, entry);
	cJSON_Delete(entry);
	if (plugins_state_store(jd, jid, state, now) == -1 ||
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

void
plugin_run_maybe_done(struct prun *r)
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
	cJSON_AddNumberToObject(e, "annotated", (double)(r->annotated_before +
	    r->annotated));
	cJSON_AddNumberToObject(e, "rejected", (double)(r->rejected_before +
	    r->rejected));
	cJSON_AddNumberToObject(e, "batches", (double)(r->batches + 1));
	cJSON_AddNumberToObject(e, "posts_after", (double)r->posts_to);
	cJSON_AddNumberToObject(e, "comments_after", (double)r->comments_to);
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
	plugin_run_free(r);
	plugins_cron(jd, jobd_now(jd));
}

static void
env_add(char **env, int *n, const char *k, const char *v)
{
	if (asprintf(&env[*n], "%s=%s", k, v) != -1)
		(*n)++;
}

/* the batch of a run: what the last one fed up to what is stored now */
static void
run_batch(struct plugins *pl, struct prun *r, sqlite3_stmt *row)
{
	cJSON		*state = plugins_row_state(row), *e;
	sqlite3_stmt	*st;

	e = cJSON_GetObjectItemCaseSensitive(state, r->name);
	r->posts_from = (int64_t)plugins_num(e, "posts_after");
	r->comments_from = (int64_t)plugins_num(e, "comments_after");
	r->batches = (int64_t)plugins_num(e, "batches");
	r->annotated_before = (int64_t)plugins_num(e, "annotated");
	r->rejected_before = (int64_t)plugins_num(e, "rejected");
	cJSON_Delete(state);
	r->after = r->posts_from;
	st = plugins_stmt(pl, PL_MAX_ITEMS);
	sqlite3_bind_int64(st, 1, r->jid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		r->posts_to = sqlite3_column_int64(st, 0);
		r->comments_to = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
}

/* start plugin name on job row; the run's failure is recorded, never ours */
void
plugin_run_start(struct plugins *pl, int64_t jid, sqlite3_stmt *row,
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
	run_batch(pl, r, row);
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
	if (!proto_plugin_name_ok(name)) {
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
	plugin_run_maybe_done(r);
}
