/*
 * mediad_transfer.c — downloads on lib/curlev.c (libcurl multi on the
 * loop): one FIFO of waiting downloads, at most [mediad] parallel running
 * and at most [mediad] per_host of them to one host (the host of the URL
 * asked for; a redirect elsewhere still counts against the first host).
 *
 * A download streams into a sink (mediad_store.c); max_bytes is enforced
 * twice: a Content-Length over it is refused before the body
 * (CURLOPT_MAXFILESIZE_LARGE) and the body is cut off as soon as it goes
 * over (for answers without a length). Redirects are followed for
 * http and https only (curlev sets CURLOPT_REDIR_PROTOCOLS_STR). A
 * transfer ends when it stalls (no byte for STALL_S) or at TOTAL_MS.
 *
 * Failures a host may not repeat (no connection, a timeout, a body cut
 * short, HTTP 408, 429 or 5xx) are tried again, DL_TRIES times in all,
 * after RETRY_MS and four times that; the caller sees only the last one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "mediad/mediad.h"

#define TOTAL_MS	(30L * 60 * 1000)	/* a whole file */
#define CONNECT_MS	10000L
#define STALL_S		30L			/* no byte for this long */
#define BUFFER_MAX	(1u << 20)		/* manifests */
#define HOST_MAX	256
#define DL_TRIES	3
#define RETRY_MS	500

struct dl_host {
	struct dl_host	*next;
	char		 name[HOST_MAX];
	int		 running;
};

struct dl {
	TAILQ_ENTRY(dl)	 entry;
	struct mediad	*m;
	char		*url;
	struct dl_host	*host;
	enum dl_mode	 mode;
	struct curlev_req *req;
	struct sink	*sink;
	dl_cb		 cb;
	void		*arg;
	int		 queued;
	int		 tries;		/* attempts that failed */
	struct event	*ev_retry;
};

static void	dl_pump(struct mediad *m);

/* lower-case host of url; -1 when it is not an http(s) URL */
static int
url_host(const char *url, char *buf, size_t len)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *p;
	int	 rc = -1;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    strlen(host) < len) {
		for (p = host; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		snprintf(buf, len, "%s", host);
		rc = 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static struct dl_host *
host_get(struct mediad *m, const char *name)
{
	struct dl_host	*h;

	for (h = m->hosts; h != NULL; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatalx("%s: out of memory", __func__);
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->next = m->hosts;
	m->hosts = h;
	return h;
}

/* Hosts with nothing running are forgotten, so the list stays short. */
static void
host_put(struct mediad *m, struct dl_host *h)
{
	struct dl_host	**pp;

	if (--h->running > 0)
		return;
	for (pp = &m->hosts; *pp != NULL; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	free(h);
}

static size_t
dl_write(const char *buf, size_t len, void *arg)
{
	struct dl	*dl = arg;

	return sink_write(dl->sink, buf, len) == 0 ? len : 0;
}

static void
dl_free(struct dl *dl)
{
	if (dl->ev_retry)
		event_free(dl->ev_retry);
	curlev_req_free(dl->req);
	sink_discard(dl->sink);
	free(dl->url);
	free(dl);
}

/* a failure another attempt may not see */
static int
transient_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static void
dl_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dl	*dl = arg;

	(void)fd;
	(void)what;
	dl->queued = 1;
	TAILQ_INSERT_TAIL(&dl->m->queue, dl, entry);
	dl_pump(dl->m);
}

/* Forget this attempt; queue the next one after a back-off. */
static void
dl_retry_later(struct dl *dl, const char *why)
{
	struct timeval	 tv;
	int		 ms = RETRY_MS << (2 * (dl->tries - 1));

	log_info("get %s: %s; again in %d ms (attempt %d of %d)", dl->url,
	    why, ms, dl->tries + 1, DL_TRIES);
	sink_discard(dl->sink);
	dl->sink = NULL;
	curlev_req_free(dl->req);
	dl->req = NULL;
	if (dl->ev_retry == NULL &&
	    (dl->ev_retry = evtimer_new(dl->m->d->base, dl_retry_cb,
	    dl)) == NULL)
		fatalx("%s: out of memory", __func__);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(dl->ev_retry, &tv);
}

static void
dl_done(struct curlev_req *r, void *arg)
{
	struct dl	*dl = arg;
	struct mediad	*m = dl->m;
	struct dl_result res;
	char		 desc[160];

	memset(&res, 0, sizeof(res));
	res.status = r->status;
	m->running--;
	host_put(m, dl->host);
	dl->host = NULL;
	if (dl->sink != NULL && dl->sink->too_big)
		snprintf(res.error, sizeof(res.error), "larger than max_bytes "
		    "(%lld bytes)", (long long)dl->sink->max_bytes);
	else if (r->curl_code == CURLE_FILESIZE_EXCEEDED || r->too_big)
		snprintf(res.error, sizeof(res.error), "larger than max_bytes "
		    "(%lld bytes)", (long long)(dl->mode == DL_STORE ?
		    m->max_bytes : (int64_t)BUFFER_MAX));
	else if (dl->sink != NULL && dl->sink->write_errno)
		snprintf(res.error, sizeof(res.error), "writing the store: %s",
		    strerror(dl->sink->write_errno));
	else if (r->curl_code == CURLE_PARTIAL_FILE) {
		curlev_describe(r, desc, sizeof(desc));
		snprintf(res.error, sizeof(res.error), "body cut short of "
		    "Content-Length (%s)", desc);
		res.transient = 1;
	} else if (r->curl_code != CURLE_OK) {
		curlev_describe(r, desc, sizeof(desc));
		snprintf(res.error, sizeof(res.error), "%s", desc);
		res.transient = transient_curl(r->curl_code);
	} else if (r->status < 200 || r->status > 299) {
		snprintf(res.error, sizeof(res.error), "HTTP %ld", r->status);
		res.not_found = r->status == 403 || r->status == 404 ||
		    r->status == 410;
		res.transient = r->status == 408 || r->status == 429 ||
		    r->status >= 500;
	} else
		res.ok = 1;
	if (res.ok && dl->mode == DL_STORE) {
		sink_finish(dl->sink);
		res.sink = dl->sink;
		res.len = (size_t)dl->sink->bytes;
		dl->sink = NULL;
	} else if (res.ok) {
		res.body = r->resp ? r->resp : "";
		res.len = r->resplen;
	}
	log_debug("get %s: %s (%.3f s)", dl->url, res.ok ? "ok" : res.error,
	    r->elapsed_s);
	if (!res.ok && res.transient && ++dl->tries < DL_TRIES) {
		dl_retry_later(dl, res.error);
		dl_pump(m);
		return;
	}
	if (!res.ok && dl->tries > 1)
		snprintf(res.error + strlen(res.error), sizeof(res.error) -
		    strlen(res.error), " (%d attempts)", dl->tries);
	dl->cb(dl, &res, dl->arg);
	dl_free(dl);
	dl_pump(m);
}

/* Start dl now; on failure its callback runs with the reason. */
static void
dl_run(struct dl *dl)
{
	struct mediad	*m = dl->m;
	struct curlev_req *r;
	struct dl_result res;
	char		 ua[512];
	CURL		*e;

	memset(&res, 0, sizeof(res));
	dl->host->running++;
	m->running++;
	if (dl->mode == DL_STORE && (dl->sink = sink_new(m->st, m->max_bytes,
	    res.error, sizeof(res.error))) == NULL)
		goto fail;
	if ((r = dl->req = curlev_req_new("GET", dl->url)) == NULL) {
		snprintf(res.error, sizeof(res.error), "out of memory");
		goto fail;
	}
	r->timeout_ms = TOTAL_MS;
	r->connect_timeout_ms = CONNECT_MS;
	r->follow = 1;
	if (dl->mode == DL_STORE) {
		r->write_cb = dl_write;
		r->write_arg = dl;
		r->max_bytes = (size_t)m->max_bytes;
	} else
		r->max_bytes = BUFFER_MAX;
	e = curlev_req_easy(r);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, STALL_S);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(
	    dl->mode == DL_STORE ? m->max_bytes : (int64_t)BUFFER_MAX));
	snprintf(ua, sizeof(ua), "User-Agent: %s",
	    m->d->cf.reddit.user_agent);
	curlev_req_header(r, ua);
	if (curlev_start(m->cv, r, dl_done, dl) == -1) {
		snprintf(res.error, sizeof(res.error), "cannot start the "
		    "transfer");
		goto fail;
	}
	return;
fail:
	m->running--;
	host_put(m, dl->host);
	dl->host = NULL;
	dl->cb(dl, &res, dl->arg);
	dl_free(dl);
}

/* Start what the caps allow, oldest first. */
static void
dl_pump(struct mediad *m)
{
	struct dl	*dl, *next;
	char		 host[HOST_MAX];
	struct dl_host	*h;

	for (dl = TAILQ_FIRST(&m->queue); dl != NULL &&
	    m->running < m->parallel; dl = next) {
		next = TAILQ_NEXT(dl, entry);
		if (url_host(dl->url, host, sizeof(host)) == -1)
			host[0] = '\0';
		h = host_get(m, host);
		if (h->running >= m->per_host)
			continue;	/* h has transfers: it stays listed */
		TAILQ_REMOVE(&m->queue, dl, entry);
		dl->queued = 0;
		dl->host = h;
		dl_run(dl);
		/* dl_run may have called back and freed things: restart */
		next = TAILQ_FIRST(&m->queue);
	}
}

struct dl *
dl_start(struct mediad *m, const char *url, enum dl_mode mode, dl_cb cb,
    void *arg)
{
	struct dl	*dl;
	char		 host[HOST_MAX];

	if (url_host(url, host, sizeof(host)) == -1)
		return NULL;
	if ((dl = calloc(1, sizeof(*dl))) == NULL ||
	    (dl->url = strdup(url)) == NULL)
		fatalx("%s: out of memory", __func__);
	dl->m = m;
	dl->mode = mode;
	dl->cb = cb;
	dl->arg = arg;
	dl->queued = 1;
	TAILQ_INSERT_TAIL(&m->queue, dl, entry);
	event_active(m->ev_pump, EV_TIMEOUT, 1);
	return dl;
}

/* Transfers start from the loop, never inside a caller's call. */
static void
dl_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dl_pump(arg);
}

void
dl_cancel(struct dl *dl)
{
	struct mediad	*m;

	if (dl == NULL)
		return;
	m = dl->m;
	if (dl->queued)
		TAILQ_REMOVE(&m->queue, dl, entry);
	else if (dl->req != NULL && dl->host != NULL) {
		curlev_cancel(dl->req);
		m->running--;
		host_put(m, dl->host);
	}
	dl_free(dl);
	event_active(m->ev_pump, EV_TIMEOUT, 1);
}

const char *
dl_url(const struct dl *dl)
{
	return dl->url;
}

int
transfer_init(struct mediad *m)
{
	TAILQ_INIT(&m->queue);
	if ((m->cv = curlev_new(m->d->base)) == NULL)
		return -1;
	m->ev_pump = event_new(m->d->base, -1, 0, dl_pump_cb, m);
	return m->ev_pump != NULL ? 0 : -1;
}

void
transfer_fini(struct mediad *m)
{
	struct dl	*dl;

	while ((dl = TAILQ_FIRST(&m->queue)) != NULL) {
		TAILQ_REMOVE(&m->queue, dl, entry);
		dl_free(dl);
	}
	curlev_free(m->cv);
	m->cv = NULL;
	if (m->ev_pump)
		event_free(m->ev_pump);
	m->ev_pump = NULL;
}
