/*
 * config.c — see config.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Debian builds libinih with INI_HANDLER_LINENO: handlers get the line */
#define INI_HANDLER_LINENO 1
#include <ini.h>

#include "lib/config.h"
#include "proto/proto.h"

#ifndef RSCRAPE_SYSCONFDIR
#define RSCRAPE_SYSCONFDIR "/etc"
#endif

enum cf_type { CF_STR, CF_INT, CF_URL };

struct cf_key {
	const char	*section;
	const char	*key;
	enum cf_type	 type;
	const char	*def;
	size_t		 off;
	int64_t		 min, max;
};

#define S(sec, k, field, def) \
	{ #sec, #k, CF_STR, def, offsetof(struct rs_config, field), 0, 0 }
#define U(sec, k, field, def) \
	{ #sec, #k, CF_URL, def, offsetof(struct rs_config, field), 0, 0 }
#define I(sec, k, field, def, lo, hi) \
	{ #sec, #k, CF_INT, #def, offsetof(struct rs_config, field), lo, hi }

static const struct cf_key cf_keys[] = {
	S(paths, state_dir, paths.state_dir, "./var"),
	S(paths, runtime_dir, paths.runtime_dir, "./var/run"),
	S(paths, plugin_dir, paths.plugin_dir, "./plugins"),
	S(jobd, listen, jobd.listen, ""),
	S(jobd, events, jobd.events, ""),
	I(jobd, lease_seconds, jobd.lease_seconds, 30, 1, 3600),
	S(httpd, listen, httpd.listen, "127.0.0.1:8080"),
	S(httpd, metrics_listen, httpd.metrics_listen, ""),
	I(httpd, request_timeout_ms, httpd.request_timeout_ms, 5000, 50, 600000),
	I(httpd, key_rate_limit, httpd.key_rate_limit, 6000, 0, 100000000),
	I(httpd, sse_keepalive_seconds, httpd.sse_keepalive_seconds, 15, 1,
	    3600),
	U(reddit, api_url, reddit.api_url, "https://oauth.reddit.com"),
	U(reddit, public_url, reddit.public_url, "https://www.reddit.com"),
	U(reddit, token_url, reddit.token_url,
	    "https://www.reddit.com/api/v1/access_token"),
	S(reddit, client_id, reddit.client_id, ""),
	S(reddit, client_secret, reddit.client_secret, ""),
	S(reddit, username, reddit.username, ""),
	S(reddit, password, reddit.password, ""),
	S(reddit, user_agent, reddit.user_agent,
	    "linux:rscrape:0.1 (by /u/change-me)"),
	I(reddit, requests_per_minute, reddit.requests_per_minute, 100, 0,
	    100000),
	U(history, archive_url, history.archive_url, ""),
	I(monitor, min_interval, monitor.min_interval, 10, 1, 86400),
	I(monitor, max_interval, monitor.max_interval, 300, 1, 86400),
	I(mediad, parallel, mediad.parallel, 8, 1, 256),
	I(mediad, max_bytes, mediad.max_bytes, 209715200, 1,
	    INT64_C(1099511627776)),
	I(mediad, per_host, mediad.per_host, 4, 1, 256),
	I(mediad, mux_timeout, mediad.mux_timeout, 300, 1, 86400),
	I(plugins, timeout_seconds, plugins.timeout_seconds, 300, 1, 86400),
	I(plugins, max_output_bytes, plugins.max_output_bytes, 67108864, 1024,
	    INT64_C(4294967296)),
	I(plugins, monitor_interval_seconds, plugins.monitor_interval_seconds,
	    300, 1, 86400),
	U(plugins, webhook_url, plugins.webhook_url, ""),
	S(plugins, webhook_secret, plugins.webhook_secret, ""),
};
#define NKEYS (sizeof(cf_keys) / sizeof(cf_keys[0]))

struct cf_parse {
	struct rs_config *cf;
	char		*err;
	size_t		 errlen;
	int		 failed;
	unsigned char	 seen_section[NKEYS];
};

static const struct cf_key *
cf_find(const char *section, const char *key)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(cf_keys[i].section, section) == 0 &&
		    strcmp(cf_keys[i].key, key) == 0)
			return &cf_keys[i];
	return NULL;
}

static int
cf_section_known(const char *section)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(cf_keys[i].section, section) == 0)
			return 1;
	return 0;
}

/* Store value; on a type error return a static reason. */
static const char *
cf_set(struct rs_config *cf, const struct cf_key *k, const char *value)
{
	char		*p = (char *)cf + k->off;
	char		*end;
	long long	 v;

	switch (k->type) {
	case CF_URL:
		if (*value != '\0' && strncmp(value, "http://", 7) != 0 &&
		    strncmp(value, "https://", 8) != 0)
			return "expected an http:// or https:// URL";
		/* FALLTHROUGH */
	case CF_STR: {
		char	**sp = (char **)(void *)p;
		char	 *dup = strdup(value);

		if (dup == NULL)
			return "out of memory";
		free(*sp);
		*sp = dup;
		return NULL;
	}
	case CF_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno != 0)
			return "expected an integer";
		if (v < k->min || v > k->max)
			return "integer out of range";
		*(int64_t *)(void *)p = v;
		return NULL;
	}
	return "unknown type";
}

static int
cf_handler(void *user, const char *section, const char *name,
    const char *value, int lineno)
{
	struct cf_parse		*ps = user;
	const struct cf_key	*k;
	const char		*why;

	if (ps->failed)
		return 0;
	if (name == NULL)	/* section header alone */
		return 1;
	if (!cf_section_known(section)) {
		snprintf(ps->err, ps->errlen, "%s:%d: [%s] %s: unknown section",
		    ps->cf->path, lineno, section, name);
		ps->failed = 1;
		return 0;
	}
	if ((k = cf_find(section, name)) == NULL) {
		snprintf(ps->err, ps->errlen, "%s:%d: %s.%s: unknown key",
		    ps->cf->path, lineno, section, name);
		ps->failed = 1;
		return 0;
	}
	if ((why = cf_set(ps->cf, k, value)) != NULL) {
		snprintf(ps->err, ps->errlen, "%s:%d: %s.%s: %s: \"%s\"",
		    ps->cf->path, lineno, section, name, why, value);
		ps->failed = 1;
		return 0;
	}
	return 1;
}

const char *
config_default_path(void)
{
	static char	 path[PATH_MAX];
	char		 exe[PATH_MAX];
	ssize_t		 n;
	char		*slash;
	int		 up;

	/* a binary in <tree>/build/ or <tree>/build/san/ uses <tree>/etc/ */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (up = 0; up < 3; up++) {
			if ((slash = strrchr(exe, '/')) == NULL)
				break;
			*slash = '\0';
			if (up == 0)
				continue;
			if (snprintf(path, sizeof(path), "%s/etc/rscrape.conf",
			    exe) >= (int)sizeof(path))
				break;
			if (access(path, R_OK) == 0 &&
			    strstr(exe, "/libexec") == NULL)
				return path;
		}
	}
	return RSCRAPE_SYSCONFDIR "/rscrape/rscrape.conf";
}

static int
cf_env(struct rs_config *cf, char *err, size_t errlen)
{
	char		 name[128];
	const char	*val, *why;
	size_t		 i, j;

	for (i = 0; i < NKEYS; i++) {
		snprintf(name, sizeof(name), "RSCRAPE_%s_%s", cf_keys[i].section,
		    cf_keys[i].key);
		for (j = 0; name[j]; j++)
			name[j] = (char)toupper((unsigned char)name[j]);
		if ((val = getenv(name)) == NULL)
			continue;
		if ((why = cf_set(cf, &cf_keys[i], val)) != NULL) {
			snprintf(err, errlen, "environment %s: %s.%s: %s: \"%s\"",
			    name, cf_keys[i].section, cf_keys[i].key, why, val);
			return -1;
		}
	}
	return 0;
}

int
config_load(struct rs_config *cf, const char *path, char *err, size_t errlen)
{
	struct cf_parse	 ps;
	FILE		*fp;
	size_t		 i;
	int		 rc;

	memset(cf, 0, sizeof(*cf));
	if (path == NULL)
		path = config_default_path();
	cf->path = strdup(path);
	for (i = 0; i < NKEYS; i++)
		(void)cf_set(cf, &cf_keys[i], cf_keys[i].def);

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s:0: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	memset(&ps, 0, sizeof(ps));
	ps.cf = cf;
	ps.err = err;
	ps.errlen = errlen;
	rc = ini_parse_file(fp, cf_handler, &ps);
	fclose(fp);
	if (ps.failed)
		return -1;
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		return -1;
	}
	if (cf_env(cf, err, errlen) == -1)
		return -1;
	if (cf->monitor.min_interval > cf->monitor.max_interval) {
		snprintf(err, errlen, "%s:0: monitor.min_interval: greater than "
		    "monitor.max_interval", path);
		return -1;
	}
	proto_default_urls(cf->paths.runtime_dir, cf->jobd_url,
	    sizeof(cf->jobd_url), cf->events_url, sizeof(cf->events_url));
	if (*cf->jobd.listen)
		snprintf(cf->jobd_url, sizeof(cf->jobd_url), "%s",
		    cf->jobd.listen);
	if (*cf->jobd.events)
		snprintf(cf->events_url, sizeof(cf->events_url), "%s",
		    cf->jobd.events);
	return 0;
}

void
config_free(struct rs_config *cf)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++) {
		if (cf_keys[i].type != CF_INT) {
			char **sp = (char **)(void *)((char *)cf +
			    cf_keys[i].off);
			free(*sp);
			*sp = NULL;
		}
	}
	free(cf->path);
	cf->path = NULL;
}
