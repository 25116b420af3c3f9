/*
 * config.h — rscrape.conf (INI, parsed by Debian's inih) with
 * RSCRAPE_<SECTION>_<KEY> environment overrides. Every key is declared in a
 * table in config.c with its type and default; an unknown section or key, a
 * value of the wrong type or an unreadable file is an error naming the file,
 * line and key.
 */
#ifndef RSCRAPE_CONFIG_H
#define RSCRAPE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct rs_config {
	char		*path;		/* the file that was read */
	struct {
		char	*state_dir;
		char	*runtime_dir;
		char	*plugin_dir;
	} paths;
	struct {
		char	*listen;	/* rep url; empty: ipc under runtime_dir */
		char	*events;	/* pub url; empty: ipc under runtime_dir */
		int64_t	 lease_seconds;
	} jobd;
	struct {
		char	*listen;
		char	*metrics_listen;	/* empty: no /metrics */
		int64_t	 request_timeout_ms;
		int64_t	 key_rate_limit;	/* requests per minute per key */
		int64_t	 sse_keepalive_seconds;	/* comment on idle streams */
	} httpd;
	struct {
		char	*api_url;
		char	*public_url;
		char	*token_url;
		char	*client_id;
		char	*client_secret;
		char	*username;
		char	*password;
		char	*user_agent;
		int64_t	 requests_per_minute;
	} reddit;
	struct {
		char	*archive_url;
	} history;
	struct {
		int64_t	 min_interval;
		int64_t	 max_interval;
	} monitor;
	struct {
		int64_t	 parallel;
		int64_t	 max_bytes;
		int64_t	 per_host;	/* transfers to one host at once */
		int64_t	 mux_timeout;	/* seconds an ffmpeg run may take */
	} mediad;

	struct {
		int64_t	 timeout_seconds;	/* wall time per plugin run */
		int64_t	 max_output_bytes;	/* stdout kept per run */
		int64_t	 monitor_interval_seconds;	/* batch rhythm */
		char	*webhook_url;
		char	*webhook_secret;
	} plugins;

	/* derived by config_load */
	char		 jobd_url[512];
	char		 events_url[512];
};

/* the default config path: etc/rscrape.conf beside a build tree, else
 * the installed /etc/rscrape/rscrape.conf */
const char	*config_default_path(void);
/* 0 on success; -1 with a message in err ("file:line: key: why") */
int		 config_load(struct rs_config *cf, const char *path, char *err,
		    size_t errlen);
void		 config_free(struct rs_config *cf);

#endif
