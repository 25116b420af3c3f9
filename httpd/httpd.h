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
	int			 ws_ok, job_ok;
	char			 key_hash[65];
	unsigned		 scopes;
	char			 key_ws[37];
	char			 key_id[64];
	uint64_t		 started_ms;
	gw_cont			 cont;
	struct gw_job_input	*input;
};


struct gw_route {
	const char	*name;		/* for logs and metrics */
	int		 method;	/* EVHTTP_REQ_* */
	int		 pattern;	/* GW_PATH_* */
	unsigned	 scope;		/* 0: no auth */
	gw_handler	 fn;
};

enum gw_path {
	GW_PATH_NONE = 0,
	GW_PATH_HEALTHZ,
	GW_PATH_JOBS,		/* /api/v1/workspaces/{ws}/jobs */
	GW_PATH_JOB,		/* /api/v1/workspaces/{ws}/jobs/{job} */
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

struct gw {
	struct daemon		*d;
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
void	 gw_dispatch(struct evhttp_request *req, void *arg);
int	 gw_path_parse(const char *path, char *ws, int *ws_ok, char *job,
	    int *job_ok);
void	 gw_req_done(struct gw_req *gr);

/* httpd_reply.c */
void	 gw_reply_json(struct gw_req *gr, int status, const cJSON *body);
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
/* httpd_route.c: send a request to jobd; cont runs with its reply */
void	 gw_call(struct gw_req *gr, const char *type, cJSON *body,
	    gw_cont cont);
void	 gw_after_auth(struct gw_req *gr);

#endif
