/*
 * mediad_mux.c — a Reddit video's video and audio tracks into one MP4 with
 * ffmpeg (-c copy: no re-encode), without blocking the loop.
 *
 * ffmpeg is looked up on PATH once at start; without it mediad keeps the
 * two tracks as two files and says the audio is not merged. Each run is a
 * child started with posix_spawn (stdin and stdout /dev/null, stderr into
 * a temp file whose first line becomes the error message), watched by a
 * libevent SIGCHLD event (waitpid WNOHANG) and killed after
 * [mediad] mux_timeout seconds.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "mediad/mediad.h"

extern char **environ;

struct mux {
	struct mux	*next;
	struct mediad	*m;
	pid_t		 pid;
	char		 out[MEDIAD_PATH_MAX];
	char		 log[MEDIAD_PATH_MAX];
	struct event	*ev_timeout;
	int		 timed_out;
	mux_cb		 cb;		/* NULL once cancelled */
	void		*arg;
};

const char *
mux_find_ffmpeg(char *buf, size_t len)
{
	const char	*path = getenv("PATH"), *p, *e;
	struct stat	 sb;
	int		 n;

	if (path == NULL || *path == '\0')
		return NULL;
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		if (e == p)	/* an empty entry is the current directory */
			n = snprintf(buf, len, "./ffmpeg");
		else
			n = snprintf(buf, len, "%.*s/ffmpeg", (int)(e - p),
			    p);
		if (n > 0 && (size_t)n < len && stat(buf, &sb) == 0 &&
		    S_ISREG(sb.st_mode) && access(buf, X_OK) == 0)
			return buf;
		if (*e == '\0')
			break;
	}
	return NULL;
}

static void
mux_unlink(struct mux *x)
{
	if (x->log[0] != '\0')
		unlink(x->log);
}

static void
mux_free(struct mux *x)
{
	struct mux	**pp;

	for (pp = &x->m->muxes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	if (x->ev_timeout)
		event_free(x->ev_timeout);
	free(x);
}

/* the first line ffmpeg wrote on stderr */
static void
mux_first_line(struct mux *x, char *buf, size_t len)
{
	FILE	*f;
	char	 line[MEDIAD_ERR_MAX];

	buf[0] = '\0';
	if ((f = fopen(x->log, "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		snprintf(buf, len, ": %.180s", line);
	}
	fclose(f);
}

static void
mux_exited(struct mux *x, int status)
{
	struct mux_result res;
	char		 why[MEDIAD_ERR_MAX - 64];

	memset(&res, 0, sizeof(res));
	snprintf(res.out, sizeof(res.out), "%s", x->out);
	if (x->timed_out)
		snprintf(res.error, sizeof(res.error), "ffmpeg killed after "
		    "%d s", x->m->mux_timeout_ms / 1000);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		res.ok = 1;
	else {
		mux_first_line(x, why, sizeof(why));
		if (WIFEXITED(status))
			snprintf(res.error, sizeof(res.error), "ffmpeg exited "
			    "with status %d%s", WEXITSTATUS(status), why);
		else
			snprintf(res.error, sizeof(res.error), "ffmpeg killed "
			    "by signal %d%s", WTERMSIG(status), why);
	}
	mux_unlink(x);
	if (!res.ok || x->cb == NULL)
		unlink(x->out);
	if (x->cb != NULL)
		x->cb(&res, x->arg);
	mux_free(x);
}

static void
mux_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct mediad	*m = arg;
	struct mux	*x, *next;
	int		 status;
	pid_t		 pid;

	(void)sig;
	(void)what;
	for (x = m->muxes; x != NULL; x = next) {
		next = x->next;
		pid = waitpid(x->pid, &status, WNOHANG);
		if (pid == x->pid)
			mux_exited(x, status);
		else if (pid == -1 && errno == ECHILD)
			mux_exited(x, 1 << 8);
	}
}

static void
mux_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mux	*x = arg;

	(void)fd;
	(void)what;
	log_warnx("ffmpeg %ld: still running after %d s, killing it",
	    (long)x->pid, x->m->mux_timeout_ms / 1000);
	x->timed_out = 1;
	kill(x->pid, SIGKILL);
}

struct mux *
mux_start(struct mediad *m, const char *video, const char *audio, mux_cb cb,
    void *arg)
{
	posix_spawn_file_actions_t fa;
	struct mux	*x;
	struct timeval	 tv;
	char		*argv[32];
	int		 n = 0, rc;

	if (m->ffmpeg == NULL)
		return NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		fatalx("%s: out of memory", __func__);
	x->m = m;
	x->cb = cb;
	x->arg = arg;
	store_tmp_path(m->st, "mp4", x->out, sizeof(x->out));
	store_tmp_path(m->st, "log", x->log, sizeof(x->log));
	argv[n++] = (char *)(uintptr_t)m->ffmpeg;
	argv[n++] = "-nostdin";
	argv[n++] = "-hide_banner";
	argv[n++] = "-loglevel";
	argv[n++] = "error";
	argv[n++] = "-y";
	argv[n++] = "-i";
	argv[n++] = (char *)(uintptr_t)video;
	argv[n++] = "-i";
	argv[n++] = (char *)(uintptr_t)audio;
	argv[n++] = "-map";
	argv[n++] = "0:v:0";
	argv[n++] = "-map";
	argv[n++] = "1:a:0";
	argv[n++] = "-c";
	argv[n++] = "copy";
	argv[n++] = "-movflags";
	argv[n++] = "+faststart";
	argv[n++] = "-f";
	argv[n++] = "mp4";
	argv[n++] = x->out;
	argv[n] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, x->log,
	    O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(&x->pid, m->ffmpeg, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		log_warnx("ffmpeg: cannot start %s: %s", m->ffmpeg,
		    strerror(rc));
		unlink(x->log);
		free(x);
		return NULL;
	}
	x->next = m->muxes;
	m->muxes = x;
	x->ev_timeout = evtimer_new(m->d->base, mux_timeout_cb, x);
	tv.tv_sec = m->mux_timeout_ms / 1000;
	tv.tv_usec = (m->mux_timeout_ms % 1000) * 1000;
	evtimer_add(x->ev_timeout, &tv);
	log_debug("ffmpeg %ld: %s + %s -> %s", (long)x->pid, video, audio,
	    x->out);
	return x;
}

void
mux_cancel(struct mux *x)
{
	if (x == NULL)
		return;
	x->cb = NULL;
	kill(x->pid, SIGKILL);
	/* reaped by the SIGCHLD event, which removes its files */
}

int
mux_init(struct mediad *m)
{
	m->ffmpeg = mux_find_ffmpeg(m->ffmpeg_buf, sizeof(m->ffmpeg_buf));
	if (m->ffmpeg != NULL)
		log_info("ffmpeg: %s (videos are muxed with their audio)",
		    m->ffmpeg);
	else
		log_info("ffmpeg: not on PATH (a video's audio is kept as a "
		    "second file)");
	m->ev_child = evsignal_new(m->d->base, SIGCHLD, mux_sigchld, m);
	if (m->ev_child == NULL || evsignal_add(m->ev_child, NULL) == -1)
		return -1;
	return 0;
}

void
mux_fini(struct mediad *m)
{
	struct mux	*x;
	int		 status;

	while ((x = m->muxes) != NULL) {
		kill(x->pid, SIGKILL);
		waitpid(x->pid, &status, 0);
		unlink(x->out);
		mux_unlink(x);
		mux_free(x);
	}
	if (m->ev_child)
		event_free(m->ev_child);
	m->ev_child = NULL;
}
