/*
 * ctl.h — rscrapectl, the admin CLI: shared state of one invocation, the
 * commands (ctl_cmds.c) and the output helpers (ctl_print.c).
 */
#ifndef RSCRAPE_CTL_H
#define RSCRAPE_CTL_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "lib/config.h"
#include "proto/proto.h"

/* exit codes */
#define CTL_EXIT_OK		0
#define CTL_EXIT_FAIL		1	/* jobd said no, or did not answer */
#define CTL_EXIT_USAGE		2
/* `call` only: the request never got a reply */
#define CTL_EXIT_TRANSPORT	2

#define CTL_TIMEOUT_MS		5000

struct ctl {
	const char		*conf;		/* -c, or NULL for the default */
	struct rs_config	 cf;
	int			 cf_loaded;
	struct proto_client	*client;
	int			 json;		/* --json */
	int			 timeout_ms;	/* --timeout */
	const char		*scopes;	/* --scopes */
	const char		*key_name;	/* --name */
	const char		*last_error;	/* of the last CTL_NO_REPLY */
	/* job create */
	const char		*job_type;	/* --type */
	const char		*job_mode;	/* --mode */
	int64_t			 job_limit;	/* --limit, 0: default */
	int			 no_media;	/* --no-media */
	int			 no_comments;	/* --no-comments */
	const char		*plugins[32];	/* --plugin, repeated */
	size_t			 nplugins;
	int			 watch;		/* --watch */
};

/* what ctl_call() saw */
enum ctl_result {
	CTL_REPLY_OK,		/* rep filled, ok */
	CTL_REPLY_ERROR,	/* rep filled, jobd answered with an error */
	CTL_NO_REPLY		/* transport: jobd unreachable or silent */
};

/* ctl_cmds.c */
enum ctl_result	 ctl_call(struct ctl *c, const char *type, cJSON *body,
		    struct proto_reply *rep, int quiet);
int		 ctl_cmd_workspace(struct ctl *c, int argc, char **argv);
int		 ctl_cmd_key(struct ctl *c, int argc, char **argv);
int		 ctl_cmd_status(struct ctl *c, int argc, char **argv);
int		 ctl_cmd_call(struct ctl *c, int argc, char **argv);
/* ctl_job.c */
int		 ctl_cmd_job(struct ctl *c, int argc, char **argv);

/* ctl_print.c: aligned columns */
struct ctl_table;
struct ctl_table *ctl_table_new(size_t ncols, const char *const *headers);
/* ncols cells; each is copied. NULL prints as "-". */
void		 ctl_table_add(struct ctl_table *t, const char *const *cells);
void		 ctl_table_print(const struct ctl_table *t, FILE *fp);
void		 ctl_table_free(struct ctl_table *t);

/* ctl_print.c: JSON values as text */
void		 ctl_print_json(const cJSON *v, FILE *fp);
/* a field as text: strings as is, numbers without a fraction when whole,
 * booleans, arrays of strings joined with ","; missing or null: "-" */
const char	*ctl_field(const cJSON *obj, const char *key, char *buf,
		    size_t len);
/* "3s", "4m05s", "2h10m", "3d04h" */
void		 ctl_fmt_duration(double seconds, char *buf, size_t len);
/* seconds since an RFC 3339 UTC time, or -1 when it does not parse */
double		 ctl_age(const char *rfc3339);

#endif
