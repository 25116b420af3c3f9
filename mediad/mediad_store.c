/*
 * mediad_store.c — the content-addressed media store under state_dir:
 *
 *   media/<sha256[0:2]>/<sha256>.<ext>   finished files, never rewritten
 *   media/.tmp/<pid>-<n>.part            files being written
 *
 * A download streams into a temp file in the store (the same filesystem,
 * so the final rename is atomic) while its SHA-256 is computed (libcrypto
 * EVP). Once the body is complete and verified, an offload thread fsyncs
 * the file, renames it to its content address (or drops it when that
 * address exists already: the same bytes from another URL are stored
 * once) and fsyncs the directory. No partial file is ever visible under
 * media/<aa>/. Temp files whose process is gone are removed at start.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/log.h"
#include "mediad/mediad.h"

#define TMP_DIR		"media/.tmp"
#define HASH_BUF	(256u << 10)

struct store {
	char		 root[MEDIAD_PATH_MAX];	/* state_dir */
	char		 tmp[MEDIAD_PATH_MAX];	/* state_dir/media/.tmp */
	struct offload	*ol;
	unsigned	 seq;
};

/* one commit, handed to an offload thread and back */
struct commit {
	struct store	*st;
	int		 fd;		/* -1: hash the file at tmp */
	char		 tmp[MEDIAD_PATH_MAX];
	char		 ext[16];
	struct stored	 res;
	store_cb	 cb;
	void		*arg;
	int		 forgotten;
};

static int
mkdir_p(const char *path)
{
	char	 buf[MEDIAD_PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Temp files of processes that are gone ("<pid>-<n>.<suffix>"). */
static void
store_clean_tmp(struct store *st)
{
	DIR		*dir;
	struct dirent	*de;
	char		 path[MEDIAD_PATH_MAX * 2];
	long		 pid;
	char		*end;
	int		 n = 0;

	if ((dir = opendir(st->tmp)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		pid = strtol(de->d_name, &end, 10);
		/* another mediad on this state_dir is still writing it */
		if (*end == '-' && pid > 0 && pid != (long)getpid() &&
		    (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue;
		snprintf(path, sizeof(path), "%s/%s", st->tmp, de->d_name);
		if (unlink(path) == 0)
			n++;
		else
			log_warn("store: cannot remove %s", path);
	}
	closedir(dir);
	if (n > 0)
		log_info("store: removed %d temporary file%s left by a crash",
		    n, n == 1 ? "" : "s");
}

struct store *
store_open(const char *state_dir, struct offload *ol, char *err,
    size_t errlen)
{
	struct store	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->ol = ol;
	if (strlen(state_dir) > 400) {
		snprintf(err, errlen, "state_dir longer than 400 bytes");
		free(st);
		return NULL;
	}
	snprintf(st->root, sizeof(st->root), "%s", state_dir);
	snprintf(st->tmp, sizeof(st->tmp), "%.400s/%s", state_dir, TMP_DIR);
	if (mkdir_p(st->tmp) == -1) {
		snprintf(err, errlen, "%s: %s", st->tmp, strerror(errno));
		free(st);
		return NULL;
	}
	store_clean_tmp(st);
	return st;
}

void
store_close(struct store *st)
{
	free(st);
}

const char *
store_tmp_dir(const struct store *st)
{
	return st->tmp;
}

void
store_tmp_path(struct store *st, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%.440s/%ld-%u.%.8s", st->tmp, (long)getpid(),
	    ++st->seq, suffix);
}

/* ------------------------------------------------------------------ */
/* sinks                                                               */

struct sink *
sink_new(struct store *st, int64_t max_bytes, char *err, size_t errlen)
{
	struct sink	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->st = st;
	s->max_bytes = max_bytes;
	store_tmp_path(st, "part", s->tmp, sizeof(s->tmp));
	s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (s->fd == -1) {
		snprintf(err, errlen, "%s: %s", s->tmp, strerror(errno));
		free(s);
		return NULL;
	}
	if ((s->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "SHA-256: cannot initialise");
		sink_discard(s);
		return NULL;
	}
	return s;
}

int
sink_write(struct sink *s, const void *buf, size_t len)
{
	const char	*p = buf;
	size_t		 n;
	ssize_t		 w;

	if (s->bytes + (int64_t)len > s->max_bytes) {
		s->too_big = 1;
		return -1;
	}
	if (s->headlen < MEDIAD_HEAD) {
		n = MEDIAD_HEAD - s->headlen;
		if (n > len)
			n = len;
		memcpy(s->head + s->headlen, buf, n);
		s->headlen += n;
	}
	EVP_DigestUpdate(s->md, buf, len);
	s->bytes += (int64_t)len;
	/* page-cache writes: the disk wait (fsync) is on a thread */
	for (n = 0; n < len; n += (size_t)w) {
		if ((w = write(s->fd, p + n, len - n)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			s->write_errno = errno;
			return -1;
		}
	}
	return 0;
}

static void
hex(const unsigned char *d, unsigned n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	unsigned	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void
sink_finish(struct sink *s)
{
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned	 n = 0;

	EVP_DigestFinal_ex(s->md, d, &n);
	hex(d, n, s->sha);
}

static void
sink_free(struct sink *s)
{
	if (s->fd != -1)
		close(s->fd);
	EVP_MD_CTX_free(s->md);
	free(s);
}

void
sink_discard(struct sink *s)
{
	if (s == NULL)
		return;
	if (s->tmp[0] != '\0' && unlink(s->tmp) == -1 && errno != ENOENT)
		log_warn("store: cannot remove %s", s->tmp);
	sink_free(s);
}

/* ------------------------------------------------------------------ */
/* commits (the work part runs on an offload thread)                   */

static int
hash_file(int fd, char *sha, int64_t *bytes)
{
	EVP_MD_CTX	*md;
	unsigned char	*buf, d[EVP_MAX_MD_SIZE];
	unsigned	 n = 0;
	ssize_t		 r;
	int		 rc = -1;

	*bytes = 0;
	if ((buf = malloc(HASH_BUF)) == NULL)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while ((r = read(fd, buf, HASH_BUF)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)r);
		*bytes += r;
	}
	if (r == 0 && EVP_DigestFinal_ex(md, d, &n) == 1) {
		hex(d, n, sha);
		rc = 0;
	}
out:
	EVP_MD_CTX_free(md);
	free(buf);
	return rc;
}

static void
commit_work(void *arg)
{
	struct commit	*c = arg;
	struct stored	*r = &c->res;
	char		 dir[MEDIAD_PATH_MAX + 16], dst[MEDIAD_PATH_MAX * 2];
	struct stat	 sb;
	int		 dfd;

	if (c->fd == -1) {
		if ((c->fd = open(c->tmp, O_RDONLY | O_CLOEXEC)) == -1 ||
		    hash_file(c->fd, r->sha, &r->bytes) == -1) {
			snprintf(r->error, sizeof(r->error), "reading %.160s: %s",
			    c->tmp, strerror(errno));
			goto fail;
		}
	}
	if (store_rel_path(r->sha, c->ext, r->path, sizeof(r->path)) == -1) {
		snprintf(r->error, sizeof(r->error), "no store path for "
		    "%s.%s", r->sha, c->ext);
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s/media/%.2s", c->st->root, r->sha);
	snprintf(dst, sizeof(dst), "%s/%s", c->st->root, r->path);
	if (stat(dst, &sb) == 0 && sb.st_size == r->bytes) {
		/* the same content is stored already */
		r->existed = 1;
		unlink(c->tmp);
		r->ok = 1;
		goto out;
	}
	if (fsync(c->fd) == -1) {
		snprintf(r->error, sizeof(r->error), "fsync: %s",
		    strerror(errno));
		goto fail;
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(r->error, sizeof(r->error), "%.160s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (rename(c->tmp, dst) == -1) {
		snprintf(r->error, sizeof(r->error), "rename to %.160s: %s", dst,
		    strerror(errno));
		goto fail;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	r->ok = 1;
	goto out;
fail:
	unlink(c->tmp);
out:
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

static void
commit_done(void *arg)
{
	struct commit	*c = arg;

	if (!c->forgotten && c->cb != NULL)
		c->cb(&c->res, c->arg);
	free(c);
}

static struct commit *
commit_new(struct store *st, const char *tmp, const char *ext, store_cb cb,
    void *arg)
{
	struct commit	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatalx("%s: out of memory", __func__);
	c->st = st;
	c->fd = -1;
	snprintf(c->tmp, sizeof(c->tmp), "%s", tmp);
	snprintf(c->ext, sizeof(c->ext), "%s", ext);
	c->cb = cb;
	c->arg = arg;
	return c;
}

static void *
commit_queue(struct commit *c)
{
	if (offload_run(c->st->ol, commit_work, commit_done, c) == -1)
		fatalx("%s: out of memory", __func__);
	return c;
}

void *
store_commit_sink(struct sink *s, const char *ext, store_cb cb, void *arg)
{
	struct commit	*c = commit_new(s->st, s->tmp, ext, cb, arg);

	c->fd = s->fd;
	s->fd = -1;
	snprintf(c->res.sha, sizeof(c->res.sha), "%s", s->sha);
	c->res.bytes = s->bytes;
	sink_free(s);
	return commit_queue(c);
}

void *
store_commit_file(struct store *st, const char *tmp, const char *ext,
    store_cb cb, void *arg)
{
	return commit_queue(commit_new(st, tmp, ext, cb, arg));
}

void
store_forget(void *handle)
{
	struct commit	*c = handle;

	if (c != NULL)
		c->forgotten = 1;
}
