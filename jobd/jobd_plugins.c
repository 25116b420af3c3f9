/*
 * jobd_plugins.c — when a job's plugins run (README "Plugins"): their
 * state per job, monitor batches, the cron that starts runs; one run is
 * jobd_plugin_run.c.
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
 * Monitor jobs: batches of what is new, every [plugins]
 * monitor_interval_seconds while they run (plugins_monitor), the marks
 * (last rowids fed) kept in each plugin's entry.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/jobd_plugins.h"
#include "lib/log.h"

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
	    "FROM posts WHERE jid = ?1 AND pid > ?2 AND pid <= ?4 "
	    "ORDER BY pid LIMIT ?3",
	[PL_COMMENTS] = "SELECT cid, json_object('type', 'comment', 'id', id, "
	    "'post_id', post_id, 'parent_id', parent_id, 'depth', depth, "
	    "'author', author, 'body', body, 'score', score, 'created_utc', "
	    "created_utc) "
	    "FROM comments WHERE jid = ?1 AND cid > ?2 AND cid <= ?4 "
	    "ORDER BY cid LIMIT ?3",
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
	[PL_MAX_ITEMS] = "SELECT "
	    "(SELECT coalesce(max(pid), 0) FROM posts WHERE jid = ?1), "
	    "(SELECT coalesce(max(cid), 0) FROM comments WHERE jid = ?1)",
	[PL_MONITOR_JOBS] = "SELECT jid FROM jobs WHERE status = ?1 AND "
	    "mode = ?2 AND plugins <> '[]' ORDER BY jid",
};

static void	 plugins_requeue(struct jobd *jd, int64_t jid);

double
plugins_num(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

sqlite3_stmt *
plugins_stmt(struct plugins *pl, enum pl_stmt w)
{
	sqlite3_reset(pl->st[w]);
	sqlite3_clear_bindings(pl->st[w]);
	return pl->st[w];
}

/* the job row's plugin names (a JSON array), or NULL when there are none */
cJSON *
plugins_row_names(sqlite3_stmt *row)
{
	cJSON	*a = cJSON_Parse(jobd_col_text(row, JC_PLUGINS));

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

cJSON *
plugins_row_state(sqlite3_stmt *row)
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
	return plugins_row_state(row);
}

int
plugins_state_store(struct jobd *jd, int64_t jid, const cJSON *state,
    int64_t now)
{
	struct plugins	*pl = jd->plugins;
	sqlite3_stmt	*st;
	char		*txt = cJSON_PrintUnformatted(state);
	int		 rc;

	if (txt == NULL)
		return -1;
	if (pl != NULL)
		st = plugins_stmt(pl, PL_SET_STATE);
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

/* anything stored beyond the batch marks of some plugin of the state? */
static int
state_has_new(struct jobd *jd, int64_t jid, const cJSON *state)
{
	struct plugins	*pl = jd->plugins;
	sqlite3_stmt	*st;
	const cJSON	*it;
	int64_t		 maxp = 0, maxc = 0;

	if (pl == NULL)
		return 0;
	st = plugins_stmt(pl, PL_MAX_ITEMS);
	sqlite3_bind_int64(st, 1, jid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		maxp = sqlite3_column_int64(st, 0);
		maxc = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (state == NULL)
		return maxp + maxc > 0;
	cJSON_ArrayForEach(it, state)
		if ((int64_t)plugins_num(it, "posts_after") < maxp ||
		    (int64_t)plugins_num(it, "comments_after") < maxc)
			return 1;
	return 0;
}

/* every plugin of names "pending" in state (created when NULL) */
static cJSON *
state_pend(cJSON *state, const cJSON *names)
{
	const cJSON	*it;
	cJSON		*one;

	if (state == NULL)
		state = cJSON_CreateObject();
	cJSON_ArrayForEach(it, names) {
		if (!cJSON_IsString(it))
			continue;
		if ((one = cJSON_GetObjectItemCaseSensitive(state,
		    it->valuestring)) == NULL)
			one = cJSON_AddObjectToObject(state, it->valuestring);
		cJSON_DeleteItemFromObjectCaseSensitive(one, "status");
		cJSON_AddStringToObject(one, "status", PS_PENDING);
	}
	return state;
}

/* some plugin of state pending or running */
static int
state_busy(const cJSON *state)
{
	const cJSON	*it;
	const char	*s;

	cJSON_ArrayForEach(it, state) {
		s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it,
		    "status"));
		if (s == NULL || (strcmp(s, PS_OK) != 0 &&
		    strcmp(s, PS_FAILED) != 0))
			return 1;
	}
	return 0;
}

/*
 * Inside job_maybe_complete's transaction, for a job whose scrape is
 * complete: 1 it waits for its plugins (the first time, their state is
 * created "pending"; a monitor job's get a last batch when items came
 * after the previous one), 0 it may complete, -1 database error.
 */
int
plugins_hold(struct jobd *jd, int64_t jid, sqlite3_stmt *row, int64_t now)
{
	cJSON	*names, *state;
	int	 monitor, first;

	if ((names = plugins_row_names(row)) == NULL)
		return 0;
	state = plugins_row_state(row);
	monitor = strcmp(jobd_col_text(row, JC_MODE), PROTO_MODE_MONITOR) == 0;
	sqlite3_reset(row);
	if (state != NULL && state_busy(state)) {
		cJSON_Delete(names);
		cJSON_Delete(state);
		return 1;
	}
	first = state == NULL;
	if (!first && !(monitor && state_has_new(jd, jid, state))) {
		cJSON_Delete(names);
		cJSON_Delete(state);
		return 0;
	}
	state = state_pend(state, names);
	cJSON_Delete(names);
	if (plugins_state_store(jd, jid, state, now) == -1) {
		cJSON_Delete(state);
		return -1;
	}
	cJSON_Delete(state);
	log_info("job %lld: scrape complete, running its plugins%s",
	    (long long)jid, first ? "" : " on what is new");
	return job_publish_progress(jd, jid) == -1 ? -1 : 1;
}

/*
 * A running monitor job's plugins run on what is new every [plugins]
 * monitor_interval_seconds (the first batch as soon as there are items).
 */
static void
plugins_monitor(struct plugins *pl, int64_t now)
{
	struct jobd	*jd = pl->jd;
	sqlite3_stmt	*st, *row;
	int64_t		 jids[64], every;
	cJSON		*names, *state;
	int		 n = 0, i, k, slot, busy;

	every = pl->cf->plugins.monitor_interval_seconds * 1000;
	st = plugins_stmt(pl, PL_MONITOR_JOBS);
	sqlite3_bind_text(st, 1, PROTO_ST_RUNNING, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, PROTO_MODE_MONITOR, -1, SQLITE_STATIC);
	while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
		jids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		slot = -1;
		for (k = 0; k < 64; k++)
			if (pl->batch_at[k].jid == jids[i] ||
			    (slot == -1 && pl->batch_at[k].jid == 0))
				slot = k;
		if (slot == -1)
			slot = (int)(jids[i] % 64);
		if (pl->batch_at[slot].jid == jids[i] &&
		    now - pl->batch_at[slot].ms < every)
			continue;
		if (plugins_job_row(jd, jids[i], &row) == -1) {
			sqlite3_reset(row);
			continue;
		}
		names = plugins_row_names(row);
		state = plugins_row_state(row);
		sqlite3_reset(row);
		busy = state != NULL && state_busy(state);
		if (names != NULL && !busy && state_has_new(jd, jids[i],
		    state)) {
			state = state_pend(state, names);
			if (jobd_begin(jd) == 0) {
				if (plugins_state_store(jd, jids[i], state, now) == -1 ||
				    job_publish_progress(jd, jids[i]) == -1)
					jobd_rollback(jd);
				else
					(void)jobd_commit(jd);
			}
			pl->batch_at[slot].jid = jids[i];
			pl->batch_at[slot].ms = now;
			log_info("job %lld: a monitor batch for its plugins",
			    (long long)jids[i]);
		}
		cJSON_Delete(names);
		cJSON_Delete(state);
	}
}

/* the first plugin of a job still pending, or NULL; 0 when none is left */
static const char *
next_pending(sqlite3_stmt *row, cJSON **namesp, int *busy)
{
	cJSON		*names = plugins_row_names(row), *state = plugins_row_state(row), *it;
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

	if (pl == NULL)
		return;
	for (i = 0; i < PLUGINS_PARALLEL; i++) {
		struct prun *r = pl->runs[i];

		if (r == NULL)
			continue;
		if (r->ev_exit == NULL && !r->exited) {
			plugin_run_reap(r);
			if (r->exited) {
				plugin_run_close_in(r);
				plugin_run_maybe_done(r);
				continue;
			}
		}
		if (plugins_job_row(jd, r->jid, &row) == -1 ||
		    strcmp(jobd_col_text(row, JC_STATUS),
		    PROTO_ST_RUNNING) != 0) {
			sqlite3_reset(row);
			log_info("job %lld ended: plugin %s stopped",
			    (long long)r->jid, r->name);
			plugin_run_free(r);
			continue;
		}
		sqlite3_reset(row);
	}
	plugins_monitor(pl, now_ms);
	st = plugins_stmt(pl, PL_JOBS);
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
		if (plugins_job_row(jd, jids[i], &row) == -1) {
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
		plugin_run_start(pl, jids[i], row, nbuf, slot);
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

	if (plugins_job_row(jd, jid, &row) == -1 ||
	    (state = plugins_row_state(row)) == NULL) {
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
	(void)plugins_state_store(jd, jid, state, jobd_now(jd));
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
			plugin_run_free(pl->runs[i]);
	for (i = 0; i < PL__COUNT; i++)
		sqlite3_finalize(pl->st[i]);
	free(pl);
	jd->plugins = NULL;
}
