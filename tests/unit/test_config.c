/*
 * test_config.c — rscrape.conf: defaults, file values, environment
 * overrides, and errors that name the file, line and key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/config.h"

static char conf_path[64];

/* Write text to a fresh temporary file; its path is in conf_path. */
static const char *
conf_file(const char *text)
{
	FILE	*fp;
	int	 fd;

	snprintf(conf_path, sizeof(conf_path), "/tmp/rscrape-test-XXXXXX");
	fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return conf_path;
}

static int
teardown(void **state)
{
	(void)state;
	if (conf_path[0])
		unlink(conf_path);
	conf_path[0] = '\0';
	unsetenv("RSCRAPE_HTTPD_LISTEN");
	unsetenv("RSCRAPE_HTTPD_REQUEST_TIMEOUT_MS");
	unsetenv("RSCRAPE_PATHS_RUNTIME_DIR");
	unsetenv("RSCRAPE_JOBD_LEASE_SECONDS");
	return 0;
}

static void
test_defaults(void **state)
{
	struct rs_config	 cf;
	char			 err[512];

	(void)state;
	assert_int_equal(config_load(&cf, conf_file("; nothing set\n"), err,
	    sizeof(err)), 0);
	assert_string_equal(cf.path, conf_path);
	assert_string_equal(cf.paths.state_dir, "./var");
	assert_string_equal(cf.paths.runtime_dir, "./var/run");
	assert_string_equal(cf.paths.plugin_dir, "./plugins");
	assert_string_equal(cf.jobd.listen, "");
	assert_int_equal(cf.jobd.lease_seconds, 30);
	assert_string_equal(cf.httpd.listen, "127.0.0.1:8080");
	assert_int_equal(cf.httpd.request_timeout_ms, 5000);
	assert_int_equal(cf.httpd.key_rate_limit, 6000);
	assert_string_equal(cf.reddit.api_url, "https://oauth.reddit.com");
	assert_string_equal(cf.reddit.public_url, "https://www.reddit.com");
	assert_string_equal(cf.reddit.token_url,
	    "https://www.reddit.com/api/v1/access_token");
	assert_string_equal(cf.reddit.client_id, "");
	assert_string_equal(cf.reddit.user_agent,
	    "linux:rscrape:0.1 (by /u/change-me)");
	assert_int_equal(cf.reddit.requests_per_minute, 100);
	assert_string_equal(cf.history.archive_url, "");
	assert_int_equal(cf.monitor.min_interval, 10);
	assert_int_equal(cf.monitor.max_interval, 300);
	assert_int_equal(cf.mediad.parallel, 8);
	assert_int_equal(cf.mediad.max_bytes, 209715200);
	/* the sockets default to ipc under runtime_dir */
	assert_string_equal(cf.jobd_url, "ipc://./var/run/jobd.ipc");
	assert_string_equal(cf.events_url, "ipc://./var/run/events.ipc");
	config_free(&cf);
}

static void
test_shipped_config_is_valid(void **state)
{
	struct rs_config	 cf;
	char			 err[512];

	(void)state;
	if (access("etc/rscrape.conf", R_OK) != 0)
		skip();		/* run from the top of the tree */
	if (config_load(&cf, "etc/rscrape.conf", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* it says what the defaults say */
	assert_string_equal(cf.httpd.listen, "127.0.0.1:8080");
	assert_int_equal(cf.mediad.max_bytes, 209715200);
	config_free(&cf);
}

static void
test_file_values(void **state)
{
	struct rs_config	 cf;
	char			 err[512];

	(void)state;
	conf_file("[paths]\n"
	    "state_dir = /srv/rscrape   ; comment after the value\n"
	    "runtime_dir = /run/rscrape\n"
	    "[jobd]\n"
	    "listen = tcp://0.0.0.0:7301\n"
	    "lease_seconds = 45\n"
	    "[httpd]\n"
	    "listen = 0.0.0.0:9000\n"
	    "request_timeout_ms = 750\n"
	    "[reddit]\n"
	    "client_id = abc\n"
	    "requests_per_minute = 60\n"
	    "[monitor]\n"
	    "min_interval = 300\n"
	    "max_interval = 300\n");
	if (config_load(&cf, conf_path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cf.paths.state_dir, "/srv/rscrape");
	assert_string_equal(cf.httpd.listen, "0.0.0.0:9000");
	assert_int_equal(cf.httpd.request_timeout_ms, 750);
	assert_int_equal(cf.jobd.lease_seconds, 45);
	assert_string_equal(cf.reddit.client_id, "abc");
	assert_int_equal(cf.reddit.requests_per_minute, 60);
	assert_int_equal(cf.monitor.min_interval, 300);
	/* listen set: used as is; events still under runtime_dir */
	assert_string_equal(cf.jobd_url, "tcp://0.0.0.0:7301");
	assert_string_equal(cf.events_url, "ipc:///run/rscrape/events.ipc");
	/* untouched keys keep their defaults */
	assert_int_equal(cf.httpd.key_rate_limit, 6000);
	config_free(&cf);
}

static void
test_environment_wins(void **state)
{
	struct rs_config	 cf;
	char			 err[512];

	(void)state;
	conf_file("[httpd]\nlisten = 0.0.0.0:9000\nrequest_timeout_ms = 750\n"
	    "[paths]\nruntime_dir = /run/file\n");
	setenv("RSCRAPE_HTTPD_LISTEN", "127.0.0.1:18080", 1);
	setenv("RSCRAPE_HTTPD_REQUEST_TIMEOUT_MS", "1000", 1);
	setenv("RSCRAPE_PATHS_RUNTIME_DIR", "/tmp/rt", 1);
	if (config_load(&cf, conf_path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cf.httpd.listen, "127.0.0.1:18080");
	assert_int_equal(cf.httpd.request_timeout_ms, 1000);
	assert_string_equal(cf.jobd_url, "ipc:///tmp/rt/jobd.ipc");
	config_free(&cf);

	/* a bad value in the environment is an error naming the variable */
	setenv("RSCRAPE_JOBD_LEASE_SECONDS", "soon", 1);
	assert_int_equal(config_load(&cf, conf_path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "RSCRAPE_JOBD_LEASE_SECONDS"));
	assert_non_null(strstr(err, "lease_seconds"));
	config_free(&cf);
}

struct bad_case {
	const char	*name;
	const char	*text;
	int		 line;
	const char	*must;		/* also in the message */
};

static const struct bad_case bad_cases[] = {
	{ "unknown section", "[paths]\nstate_dir = x\n[nosuch]\nkey = 1\n",
	    4, "nosuch" },
	{ "unknown key", "[httpd]\nlisten = x:1\nlisten_port = 1\n",
	    3, "listen_port" },
	{ "key of another section", "[jobd]\n\nparallel = 3\n", 3, "parallel" },
	{ "not an integer", "[mediad]\nparallel = eight\n", 2, "parallel" },
	{ "integer with junk", "[mediad]\nmax_bytes = 10MB\n", 2, "max_bytes" },
	{ "empty integer", "[httpd]\nkey_rate_limit =\n", 2, "key_rate_limit" },
	{ "out of range", "[jobd]\nlease_seconds = 0\n", 2, "lease_seconds" },
	{ "negative", "[httpd]\nrequest_timeout_ms = -5\n", 2,
	    "request_timeout_ms" },
	{ "not a URL", "[reddit]\napi_url = oauth.reddit.com\n", 2, "api_url" },
	{ "key before any section", "state_dir = x\n", 1, "state_dir" },
};

static void
test_errors_name_file_line_key(void **state)
{
	struct rs_config	 cf;
	char			 err[512], where[96];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		conf_file(c->text);
		err[0] = '\0';
		if (config_load(&cf, conf_path, err, sizeof(err)) != -1)
			fail_msg("%s: accepted", c->name);
		snprintf(where, sizeof(where), "%s:%d:", conf_path, c->line);
		if (strncmp(err, where, strlen(where)) != 0)
			fail_msg("%s: \"%s\" does not start with \"%s\"",
			    c->name, err, where);
		if (strstr(err, c->must) == NULL)
			fail_msg("%s: \"%s\" does not name %s", c->name, err,
			    c->must);
		config_free(&cf);
		unlink(conf_path);
	}
}

static void
test_min_greater_than_max(void **state)
{
	struct rs_config	 cf;
	char			 err[512];

	(void)state;
	conf_file("[monitor]\nmin_interval = 400\nmax_interval = 300\n");
	assert_int_equal(config_load(&cf, conf_path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, conf_path));
	assert_non_null(strstr(err, "min_interval"));
	config_free(&cf);
}

static void
test_unreadable_file(void **state)
{
	struct rs_config	 cf;
	char			 err[512];

	(void)state;
	assert_int_equal(config_load(&cf, "/nonexistent/rscrape.conf", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/rscrape.conf"));
	config_free(&cf);
}

static void
test_default_path(void **state)
{
	const char	*p = config_default_path();
	size_t		 n = strlen(p), m = strlen("rscrape.conf");

	(void)state;
	/* build/tests/test_config is inside a tree: <tree>/etc/rscrape.conf,
	 * or else the installed path */
	assert_true(n > m && strcmp(p + n - m, "rscrape.conf") == 0);
	assert_true(p[0] == '/');
}

extern char **environ;

/* the caller's RSCRAPE_* variables would override the files under test */
static void
clear_rscrape_env(void)
{
	char	 name[256];
	size_t	 n;
	char	**e;

	for (e = environ; *e != NULL;) {
		if (strncmp(*e, "RSCRAPE_", 8) != 0) {
			e++;
			continue;
		}
		n = strcspn(*e, "=");
		if (n >= sizeof(name)) {
			e++;
			continue;
		}
		memcpy(name, *e, n);
		name[n] = '\0';
		unsetenv(name);		/* environ shifts: look here again */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_shipped_config_is_valid, teardown),
		cmocka_unit_test_teardown(test_file_values, teardown),
		cmocka_unit_test_teardown(test_environment_wins, teardown),
		cmocka_unit_test_teardown(test_errors_name_file_line_key,
		    teardown),
		cmocka_unit_test_teardown(test_min_greater_than_max, teardown),
		cmocka_unit_test_teardown(test_unreadable_file, teardown),
		cmocka_unit_test_teardown(test_default_path, teardown),
	};

	clear_rscrape_env();
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
