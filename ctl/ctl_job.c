/*
 * ctl_job.c — `rscrapectl job create` and `job watch`: a user-facing job
 * client that talks to jobd directly (job.create, job.get) and follows a
 * job on jobd's pub socket (proto.h EVENTS).
 *
 * watch: subscribe first, then read the job (so nothing falls between the
 * two), then redraw on every job.progress / job.status event of that job.
 * Events are hints: a gap in seq, a new epoch, or two seconds without one
 * make watch read the job again. It ends at a terminal status: exit 0 when
 * completed, 1 when failed or cancelled. On a terminal a progress bar is
 * redrawn in place; otherwise one plain line is printed per change.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "ctl/ctl.h"
#include "lib/sockclose.h"

#define WATCH_POLL_MS	2000	/* read the job again after this quiet */
#define BAR_WIDTH	30

static int
usage_error(const char *msg)
{
	fprintf(stderr, "rscrapectl: %s (see rscrapectl -h)\n", msg);
	return CTL_EXIT_USAGE;
}

static int
terminal(const char *st)
{
	return st != NULL && (strcmp(st, PROTO_ST_COMPLETED) == 0 ||
	    strcmp(st, PROTO_ST_FAILED) == 0 ||
	    strcmp(st, PROTO_ST_CANCELLED) == 0);
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *
str(const cJSON *o, const char *k)
{
	const char	*s = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(o, k));

	return s ? s : "-";
}

/* what watch knows of the job; events update it in place */
struct watch {
	struct ctl	*c;
	cJSON		*job;		/* the last job object */
	int		 tty;
	int		 drawn;		/* a bar is on the line */
	char		 last[512];	/* the last plain line printed */
	char		 epoch[64];
	double		 seq;
};

static void
watch_line(struct watch *w, char *buf, size_t len)
{
	const cJSON	*p = cJSON_GetObjectItemCaseSensitive(w->job,
			    "progress");
	const cJSON	*pl = cJSON_GetObjectItemCaseSensitive(p, "plugins");
	const cJSON	*it;
	size_t		 n;

	n = (size_t)snprintf(buf, len, "%s %s posts=%.0f comments=%.0f "
	    "media=%.0f", str(w->job, "id"), str(w->job, "status"),
	    num(w->job, "posts_scraped"), num(w->job, "comments_scraped"),
	    num(w->job, "media_downloaded"));
	if (n < len && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p,
	    "phase")))
		n += (size_t)snprintf(buf + n, len - n, " phase=%s",
		    str(p, "phase"));
	cJSON_ArrayForEach(it, pl) {
		if (n >= len)
			break;
		n += (size_t)snprintf(buf + n, len - n, " plugin:%s=%s",
		    it->string, str(it, "status"));
	}
}

static void
watch_draw(struct watch *w)
{
	const cJSON	*cf = cJSON_GetObjectItemCaseSensitive(w->job, "config");
	double		 limit = num(cf, "limit"), posts;
	char		 line[512], bar[BAR_WIDTH + 1], dur[32];
	int		 i, fill;

	if (w->c->json)		/* the final object alone */
		return;
	if (!w->tty) {
		watch_line(w, line, sizeof(line));
		if (strcmp(line, w->last) != 0) {
			printf("%s\n", line);
			fflush(stdout);
			snprintf(w->last, sizeof(w->last), "%s", line);
		}
		return;
	}
	posts = num(w->job, "posts_scraped");
	fill = limit > 0 ? (int)(BAR_WIDTH * (posts > limit ? limit : posts) /
	    limit) : 0;
	if (terminal(str(w->job, "status")) &&
	    strcmp(str(w->job, "status"), PROTO_ST_COMPLETED) == 0)
		fill = BAR_WIDTH;
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	ctl_fmt_duration(num(w->job, "duration_seconds"), dur, sizeof(dur));
	printf("\r\033[K[%s] %3d%% %-9s %.0f posts, %.0f comments, %.0f media "
	    "%s", bar, fill * 100 / BAR_WIDTH, str(w->job, "status"), posts,
	    num(w->job, "comments_scraped"), num(w->job, "media_downloaded"),
	    dur);
	fflush(stdout);
	w->drawn = 1;
}

/* read the job from jobd; 0, or -1 (message printed) */
static int
watch_get(struct watch *w, const char *job_id)
{
	struct proto_reply	 rep;
	const cJSON		*j;

	if (ctl_call(w->c, PROTO_JOB_GET, proto_job_get_req(NULL, job_id),
	    &rep, 0) != CTL_REPLY_OK) {
		proto_reply_free(&rep);
		return -1;
	}
	j = cJSON_GetObjectItemCaseSensitive(rep.body, "job");
	if (cJSON_IsObject(j)) {
		cJSON_Delete(w->job);
		w->job = cJSON_Duplicate(j, 1);
	}
	proto_reply_free(&rep);
	return w->job ? 0 : -1;
}

/* copy an event's fields into the job object */
static void
watch_apply(struct watch *w, const cJSON *ev)
{
	static const char *const keys[] = { "status", "error_message",
	    "progress", "posts_scraped", "comments_scraped",
	    "media_downloaded", NULL };
	const cJSON	*v;
	int		 i;

	for (i = 0; keys[i]; i++) {
		if ((v = cJSON_GetObjectItemCaseSensitive(ev, keys[i])) == NULL)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(w->job, keys[i]);
		cJSON_AddItemToObject(w->job, keys[i], cJSON_Duplicate(v, 1));
	}
}

static int
watch_end(struct watch *w)
{
	const char	*st = str(w->job, "status");
	char		 dur[32];

	if (w->drawn)
		printf("\n");
	ctl_fmt_duration(num(w->job, "duration_seconds"), dur, sizeof(dur));
	if (w->c->json)
		ctl_print_json(w->job, stdout);
	else
		printf("%s %s: %.0f posts, %.0f comments, %.0f media in %s%s%s\n",
		    str(w->job, "id"), st, num(w->job, "posts_scraped"),
		    num(w->job, "comments_scraped"),
		    num(w->job, "media_downloaded"), dur,
		    strcmp(st, PROTO_ST_FAILED) == 0 ? ": " : "",
		    strcmp(st, PROTO_ST_FAILED) == 0 ?
		    str(w->job, "error_message") : "");
	fflush(stdout);
	return strcmp(st, PROTO_ST_COMPLETED) == 0 ? CTL_EXIT_OK :
	    CTL_EXIT_FAIL;
}

static int
job_watch(struct ctl *c, const char *job_id)
{
	struct watch	 w;
	nng_socket	 sub;
	char		*buf, topic[64], id[64];
	size_t		 len;
	cJSON		*ev;
	const char	*eid, *epoch;
	struct timespec	 t0, t1;
	int		 rv, rc, stale;
	double		 seq;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.tty = isatty(STDOUT_FILENO) && !c->json;
	if ((rv = nng_sub0_open(&sub)) != 0) {
		fprintf(stderr, "rscrapectl: events: %s\n", nng_strerror(rv));
		return CTL_EXIT_FAIL;
	}
	nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, PROTO_EV_JOB_PROGRESS,
	    strlen(PROTO_EV_JOB_PROGRESS));
	nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, PROTO_EV_JOB_STATUS,
	    strlen(PROTO_EV_JOB_STATUS));
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 500);
	nng_socket_set_ms(sub, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(sub, NNG_OPT_RECONNMAXT, 1000);
	/* in the background: a jobd away now is retried, the poll goes on */
	nng_dial(sub, c->cf.events_url, NULL, NNG_FLAG_NONBLOCK);
	if (watch_get(&w, job_id) == -1) {
		nng_close(sub);
		return CTL_EXIT_FAIL;
	}
	snprintf(id, sizeof(id), "%s", str(w.job, "id"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		watch_draw(&w);
		if (terminal(str(w.job, "status")))
			break;
		stale = 0;
		rv = nng_recv(sub, &buf, &len, NNG_FLAG_ALLOC);
		if (rv == 0) {
			if (proto_event_parse(buf, len, topic, sizeof(topic),
			    &ev) == 0) {
				epoch = cJSON_GetStringValue(
				    cJSON_GetObjectItemCaseSensitive(ev,
				    "epoch"));
				seq = num(ev, "seq");
				/* subscribed to two topics: seq skips others */
				if (epoch == NULL || strcmp(epoch, w.epoch) != 0)
					stale = w.epoch[0] != '\0';
				snprintf(w.epoch, sizeof(w.epoch), "%s",
				    epoch ? epoch : "");
				w.seq = seq;
				eid = str(ev, "job_id");
				if (strcmp(eid, id) == 0) {
					watch_apply(&w, ev);
					clock_gettime(CLOCK_MONOTONIC, &t0);
				}
				cJSON_Delete(ev);
			}
			nng_free(buf, len);
		} else if (rv != NNG_ETIMEDOUT) {
			fprintf(stderr, "rscrapectl: events: %s\n",
			    nng_strerror(rv));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (stale || (t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 >= WATCH_POLL_MS) {
			if (watch_get(&w, job_id) == -1 && w.drawn) {
				printf("\n");
				w.drawn = 0;
			}
			t0 = t1;
		}
	}
	(void)sock_close_bounded(sub, SOCK_CLOSE_WAIT_MS);
	/* the event said how it ended; the job says it all (duration) */
	if (terminal(str(w.job, "status")))
		(void)watch_get(&w, job_id);
	rc = watch_end(&w);
	cJSON_Delete(w.job);
	return rc;
}

/* a name of [paths] plugin_dir, as httpd checks it */
static int
plugin_installed(const struct ctl *c, const char *name)
{
	char		 path[PATH_MAX];
	struct stat	 sb;
	size_t		 i;

	if (*name == '\0' || strlen(name) > 64)
		return 0;
	for (i = 0; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return 0;
	snprintf(path, sizeof(path), "%s/%s", c->cf.paths.plugin_dir, name);
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    access(path, X_OK) == 0;
}

static int
job_create(struct ctl *c, const char *ws, const char *target_in)
{
	struct proto_job_spec	 spec;
	struct proto_reply	 rep;
	const cJSON		*job;
	const char		*target = target_in, *type = c->job_type;
	char			 id[64];
	size_t			 i;
	int			 rc;

	if (strncmp(target, "/", 1) == 0)
		target++;
	if (strncmp(target, "r/", 2) == 0)
		target += 2;
	else if (strncmp(target, "u/", 2) == 0) {
		target += 2;
		if (type == NULL)
			type = PROTO_TARGET_USER;
	}
	for (i = 0; i < c->nplugins; i++)
		if (!plugin_installed(c, c->plugins[i])) {
			fprintf(stderr, "rscrapectl: %s: not a plugin in %s\n",
			    c->plugins[i], c->cf.paths.plugin_dir);
			return CTL_EXIT_FAIL;
		}
	memset(&spec, 0, sizeof(spec));
	spec.workspace_id = ws;
	spec.target = target;
	spec.target_type = type ? type : PROTO_TARGET_SUBREDDIT;
	spec.mode = c->job_mode ? c->job_mode : PROTO_MODE_FULL;
	spec.limit = c->job_limit ? c->job_limit : 100;
	spec.download_media = !c->no_media;
	spec.scrape_comments = !c->no_comments;
	spec.plugins = c->plugins;
	spec.nplugins = c->nplugins;
	if (ctl_call(c, PROTO_JOB_CREATE, proto_job_create_req(&spec), &rep,
	    0) != CTL_REPLY_OK) {
		proto_reply_free(&rep);
		return CTL_EXIT_FAIL;
	}
	job = cJSON_GetObjectItemCaseSensitive(rep.body, "job");
	snprintf(id, sizeof(id), "%s", str(job, "id"));
	if (c->json && !c->watch)
		ctl_print_json(job, stdout);
	else
		printf("%s\n", id);
	fflush(stdout);
	proto_reply_free(&rep);
	rc = CTL_EXIT_OK;
	if (c->watch)
		rc = job_watch(c, id);
	return rc;
}

int
ctl_cmd_job(struct ctl *c, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "create") == 0) {
		if (argc != 3)
			return usage_error("job create WORKSPACE_ID TARGET");
		return job_create(c, argv[1], argv[2]);
	}
	if (argc >= 1 && strcmp(argv[0], "watch") == 0) {
		if (argc != 2)
			return usage_error("job watch JOB_ID");
		return job_watch(c, argv[1]);
	}
	return usage_error("job create|watch");
}
