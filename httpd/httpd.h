/*
 * httpd.h — the public HTTP gateway: evhttp in front, jobd behind (nng req
 * through lib/bridge.h). One loop thread; every request to jobd is a bridge
 * call with a deadline, so a slow or absent jobd costs a 503, never a hang.
 */
#ifndef RSCRAPE_HTTPD_H
#define RSCRAPE_HTTPD_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/http.h>

#include "lib/bridge.h"
#include "lib/daemon.h"

#define GW_BODY_MAX		(64 * 1024)	/* DESIGN.md §4: 413 above */
#define GW_BODY_HARD_MAX	(1024 * 1024)	/* libevent's own limit */
#define GW_HEADERS_MAX		(16 * 1024)
#define GW_AUTH_TTL_MS		500		/* revocation within a second */

enum gw_scope {
	GW_SCOPE_READ = 1,
	GW_SCOPE_WRITE = 2,
	GW_SCOPE_ADMIN = 4,
};

struct gw;
struct gw_job_input;
struct gw_req;

typedef void (*gw_handler)(struct gw_req *gr);
/* continuation of a jobd call: runs only with a reply and a live client */
typedef void (*gw_cont)(struct gw_req *gr, const struct proto_reply *rep);

/* one HTTP request in flight */
struct gw_req {
	struct gw		*gw;
	struct evhttp_request	*req;		/* NULL once the client left */
	struct evhttp_connection *evcon;
	const struct gw_route	*route;
	char			 ws[37];	/* path workspace (bare uuid) */
	char			 job[37];	/* path job (bare uuid) */
	char			 post[24];	/* path post ("t3_<base36>") */
	char			 sha[65];	/* path sha256 (lower-case hex) */
	int			 ws_ok, job_ok, post_ok, sha_ok;
	char			 key_hash[65];
	unsigned		 scopes;
	char			 key_ws[37];
	char			 key_id[64];
	uint64_t		 started_ms;
	gw_cont			 cont;
	struct gw_job_input	*input;
	void			*priv;		/* a handler's own state */
	void			(*priv_free)(void *);	/* by gw_req_done */
};


/*
 * A route: a method and a path template whose segments are literal or one
 * of the parameters {workspace_id}, {job_id}, {post_id}, {sha256}. The
 * templates are exactly the paths of httpd/openapi.json (a unit test holds
 * the two together).
 */
struct gw_route {
	const char	*name;		/* for logs and metrics */
	int		 method;	/* EVHTTP_REQ_* */
	const char	*path;		/* template */
	unsigned	 scope;		/* 0: no auth */
	gw_handler	 fn;
};

/* the parameters of a path, each with whether it is a valid id */
struct gw_path {
	char		 ws[37];
	char		 job[37];
	char		 post[24];
	char		 sha[65];
	int		 ws_ok, job_ok, post_ok, sha_ok;
};

struct gw_auth_entry {
	char		 hash[65];
	char		 ws[37];
	char		 key_id[64];
	unsigned	 scopes;
	uint64_t	 expires_ms;
};

struct gw_bucket {
	char		 key_id[64];
	double		 tokens;
	uint64_t	 updated_ms;
};

#define GW_AUTH_SLOTS	1024
#define GW_BUCKET_SLOTS	1024

struct gw_events;

struct gw {
	struct daemon		*d;
	struct gw_events	*events;	/* httpd_events.c */
	struct evhttp		*http;
	struct evhttp_bound_socket *sock;
	struct bridge		*jobd;
	struct evhttp		*mhttp;		/* [httpd] metrics_listen */
	struct evhttp_bound_socket *msock;
	int64_t			 jobd_started_ms;	/* as /metrics last saw it */
	int64_t			 jobd_restarts;
	uint64_t		 reported_ms;	/* last stats.report */
	int			 report_inflight;
	int			 inflight;
	int			 streams;	/* exports being written */
	int			 timeout_ms;
	struct gw_auth_entry	 auth[GW_AUTH_SLOTS];
	struct gw_bucket	 buckets[GW_BUCKET_SLOTS];
};

/* httpd_server.c: the daemon_ops */
int	 gw_check(const struct rs_config *cf, char *err, size_t errlen);
int	 gw_init(struct daemon *d);
void	 gw_cron(struct daemon *d);
void	 gw_stop(struct daemon *d);
void	 gw_fini(struct daemon *d);

/* httpd_route.c */
extern const struct gw_route gw_routes[];	/* {NULL...} terminated */
void	 gw_dispatch(struct evhttp_request *req, void *arg);
/* 1 when path fits the template (p filled), else 0 */
int	 gw_path_match(const char *tmpl, const char *path, struct gw_path *p);
void	 gw_req_done(struct gw_req *gr);

/* httpd_reply.c */
void	 gw_reply_json(struct gw_req *gr, int status, const cJSON *body);
void	 gw_reply_shared(struct gw_req *gr, int status, const cJSON *body,
	    struct proto_memo *memo);
void	 gw_reply_raw(struct gw_req *gr, int status, const char *json,
	    size_t len);
void	 gw_error(struct gw_req *gr, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 gw_error_list(struct gw_req *gr, int status, cJSON *detail);
void	 gw_reply_proto_error(struct gw_req *gr, const char *code,
	    const char *message);
void	 gw_unavailable(struct gw_req *gr, const char *why);
const char *gw_status_text(int status);

/* httpd_auth.c */
void	 gw_sha256_hex(const char *s, char out[65]);
const char *gw_key_from_headers(struct evhttp_request *req);
void	 gw_authenticate(struct gw_req *gr);
int	 gw_rate_take(struct gw *gw, const char *key_id, uint64_t now_ms,
	    int64_t per_minute, int *retry_after);

/* httpd_validate.c: pure, unit-tested */
struct gw_job_input {
	char		 target[256];
	const char	*target_type;
	const char	*mode;
	int64_t		 limit;
	int		 download_media;
	int		 scrape_comments;
	const char	*plugins[32];
	size_t		 nplugins;
};
cJSON	*gw_validate_job(const cJSON *body, const char *plugin_dir,
	    struct gw_job_input *in);
int	 gw_normalise_target(const char *in, const char *target_type,
	    char *out, size_t outlen, const char **why);
void	 gw_detail_add(cJSON *detail, const char *where, const char *field,
	    const char *msg, const char *type);
struct gw_list_query {
	const char	*status;
	int64_t		 limit;
	int64_t		 offset;
};
/* 0 ok; 400 or 422 with *detail set (string or list) */
int	 gw_parse_list_query(const char *query, struct gw_list_query *q,
	    char *status_buf, size_t status_len, cJSON **detail);

/* httpd_query.c: the results routes' query strings (pure, unit-tested) */
#define GW_FORMAT_NDJSON	"ndjson"
#define GW_FORMAT_CSV		"csv"
enum gw_query_kind {
	GW_Q_POSTS,		/* posts lists */
	GW_Q_ITEMS,		/* a job's comments and media */
	GW_Q_EXPORT,		/* export: format, type */
};
struct gw_results_query {
	const char	*q, *subreddit, *author, *post_type, *sentiment_label;
	const char	*sort_by, *sort_order, *cursor, *post_id;
	const char	*format, *type;
	int		 has_min_score, has_max_score;
	int64_t		 min_score, max_score, limit;
	char		 q_buf[501];
	char		 sub_buf[32];
	char		 author_buf[32];
	char		 cursor_buf[513];
	char		 post_buf[24];
};
/* 0 ok; 400 or 422 with *detail set (string or list), as for job lists */
int	 gw_parse_results_query(const char *query, enum gw_query_kind kind,
	    struct gw_results_query *rq, cJSON **detail);

/* 1 a range (off, len), 0 the whole file, -1 unsatisfiable (416) */
int	 gw_parse_range(const char *h, int64_t size, int64_t *off,
	    int64_t *len);

/* httpd_results.c: posts, comments, media, media files */
void	 gw_h_posts(struct gw_req *gr);
void	 gw_h_post_get(struct gw_req *gr);
void	 gw_h_job_posts(struct gw_req *gr);
void	 gw_h_job_comments(struct gw_req *gr);
void	 gw_h_job_media(struct gw_req *gr);
void	 gw_h_media_file(struct gw_req *gr);
/* a 400/422 from gw_parse_results_query or jobd's "invalid" */
void	 gw_query_error(struct gw_req *gr, int status, cJSON *detail);

/* httpd_export.c: streamed NDJSON/CSV exports */
void	 gw_h_job_export(struct gw_req *gr);
/* CSV (RFC 4180) of one value: appended to buf */
struct evbuffer;
void	 gw_csv_field(struct evbuffer *buf, const cJSON *v);

/* httpd_openapi.c: the embedded httpd/openapi.json */
extern const char gw_openapi_json[];
void	 gw_h_openapi(struct gw_req *gr);

/* httpd_metrics.c */
void	 gw_metrics_observe(const char *route, int status,
	    uint64_t started_ms);
int	 gw_metrics_listen(struct gw *gw, const char *host, int port);
void	 gw_metrics_stop(struct gw *gw);
void	 gw_metrics_free(struct gw *gw);
void	 gw_metrics_cron(struct gw *gw);

/* httpd_jobs.c */
void	 gw_h_healthz(struct gw_req *gr);
void	 gw_h_job_create(struct gw_req *gr);
void	 gw_h_job_list(struct gw_req *gr);
void	 gw_h_job_get(struct gw_req *gr);
void	 gw_h_job_cancel(struct gw_req *gr);
/* httpd_events.c: the live event stream (SSE) of one job */
int	 gw_events_open(struct gw *gw);
void	 gw_events_cron(struct gw *gw);
int	 gw_events_stop(struct gw *gw);
void	 gw_events_close(struct gw *gw);
int	 gw_events_streams(struct gw *gw);
void	 gw_h_job_events(struct gw_req *gr);
/* "<epoch>/<seq>" of a Last-Event-ID; 0 ok, -1 not one of ours */
int	 gw_event_id_parse(const char *s, char epoch[37], uint64_t *seq);

/* httpd_route.c: send a request to jobd; cont runs with its reply */
void	 gw_call_read(struct gw_req *gr, const char *type, cJSON *body,
	    gw_cont cont);
void	 gw_call(struct gw_req *gr, const char *type, cJSON *body,
	    gw_cont cont);
void	 gw_after_auth(struct gw_req *gr);

#endif
