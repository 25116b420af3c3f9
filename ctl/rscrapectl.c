/*
 * rscrapectl — rscrape's admin CLI: workspaces, API keys, the health of the
 * stack, and a raw request for scripts and tests. Talks to jobd only.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl/ctl.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: rscrapectl [-c FILE] [--json] [--timeout MS] COMMAND ...\n"
	    "\n"
	    "  workspace create NAME      create a workspace; prints its id (ws_...)\n"
	    "  workspace list             list workspaces\n"
	    "  key create WORKSPACE_ID [--scopes read,write,admin] [--name NAME]\n"
	    "                             create an API key; prints it (rp_...),\n"
	    "                             the only time it is shown (default scopes\n"
	    "                             read,write)\n"
	    "  key list WORKSPACE_ID      list a workspace's keys (never the secret)\n"
	    "  key revoke KEY_ID          revoke a key (key_...); it stops working\n"
	    "                             at once\n"
	    "  status                     each daemon's health; exit 1 when jobd\n"
	    "                             does not answer\n"
	    "  job create WORKSPACE_ID TARGET [--type subreddit|user]\n"
	    "             [--mode full|history|monitor] [--limit N] [--no-media]\n"
	    "             [--no-comments] [--plugin NAME]... [--watch]\n"
	    "                             start a job; prints its id (job_...)\n"
	    "  job watch JOB_ID           follow a job until it ends: a progress\n"
	    "                             bar on a terminal, else a line per\n"
	    "                             change; exit 0 completed, 1 otherwise\n"
	    "  call TYPE [JSON|-]         send one raw request to jobd (- : the body\n"
	    "                             from stdin) and print the\n"
	    "                             reply body (exit 1: error reply, 2: no\n"
	    "                             reply)\n"
	    "\n"
	    "  -c, --config FILE  configuration (default %s)\n"
	    "  -j, --json         print full JSON objects\n"
	    "  -T, --timeout MS   wait at most MS for each reply (default %d)\n"
	    "  -V, --version      print the version\n"
	    "  -h, --help         this help\n",
	    config_default_path(), CTL_TIMEOUT_MS);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "timeout",	required_argument,	NULL, 'T' },
		{ "scopes",	required_argument,	NULL, 's' },
		{ "name",	required_argument,	NULL, 'n' },
		{ "type",	required_argument,	NULL, 1 },
		{ "mode",	required_argument,	NULL, 2 },
		{ "limit",	required_argument,	NULL, 3 },
		{ "no-media",	no_argument,		NULL, 4 },
		{ "no-comments", no_argument,		NULL, 5 },
		{ "plugin",	required_argument,	NULL, 6 },
		{ "watch",	no_argument,		NULL, 7 },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct ctl	 c;
	char		 err[1024], *end;
	const char	*cmd;
	long		 v;
	int		 ch, rc, jobopt = 0;

	memset(&c, 0, sizeof(c));
	c.timeout_ms = CTL_TIMEOUT_MS;
	/* options may come anywhere: `key create ws_… --scopes read` */
	while ((ch = getopt_long(argc, argv, "c:jT:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.conf = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		case 'T':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 ||
			    v > INT_MAX) {
				fprintf(stderr, "rscrapectl: --timeout: not a "
				    "number of milliseconds: %s\n", optarg);
				return CTL_EXIT_USAGE;
			}
			c.timeout_ms = (int)v;
			break;
		case 's':
			c.scopes = optarg;
			break;
		case 'n':
			c.key_name = optarg;
			break;
		case 1:
			if (strcmp(optarg, PROTO_TARGET_SUBREDDIT) != 0 &&
			    strcmp(optarg, PROTO_TARGET_USER) != 0) {
				fprintf(stderr, "rscrapectl: --type: subreddit "
				    "or user\n");
				return CTL_EXIT_USAGE;
			}
			c.job_type = optarg;
			jobopt = 1;
			break;
		case 2:
			if (strcmp(optarg, PROTO_MODE_FULL) != 0 &&
			    strcmp(optarg, PROTO_MODE_HISTORY) != 0 &&
			    strcmp(optarg, PROTO_MODE_MONITOR) != 0) {
				fprintf(stderr, "rscrapectl: --mode: full, "
				    "history or monitor\n");
				return CTL_EXIT_USAGE;
			}
			c.job_mode = optarg;
			jobopt = 1;
			break;
		case 3:
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 ||
			    v > 10000) {
				fprintf(stderr, "rscrapectl: --limit: a number "
				    "from 1 to 10000\n");
				return CTL_EXIT_USAGE;
			}
			c.job_limit = v;
			jobopt = 1;
			break;
		case 4:
			c.no_media = 1;
			jobopt = 1;
			break;
		case 5:
			c.no_comments = 1;
			jobopt = 1;
			break;
		case 6:
			if (c.nplugins == sizeof(c.plugins) /
			    sizeof(c.plugins[0])) {
				fprintf(stderr, "rscrapectl: too many "
				    "plugins\n");
				return CTL_EXIT_USAGE;
			}
			c.plugins[c.nplugins++] = optarg;
			jobopt = 1;
			break;
		case 7:
			c.watch = 1;
			jobopt = 1;
			break;
		case 'V':
			printf("rscrapectl %s\n", RSCRAPE_VERSION);
			return CTL_EXIT_OK;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	cmd = argv[0];
	if (strcmp(cmd, "workspace") != 0 && strcmp(cmd, "key") != 0 &&
	    strcmp(cmd, "status") != 0 && strcmp(cmd, "call") != 0 &&
	    strcmp(cmd, "job") != 0) {
		fprintf(stderr, "rscrapectl: unknown command: %s (see "
		    "rscrapectl -h)\n", cmd);
		return CTL_EXIT_USAGE;
	}
	if ((c.scopes != NULL || c.key_name != NULL) && (strcmp(cmd, "key") != 0 ||
	    argc < 2 || strcmp(argv[1], "create") != 0)) {
		fprintf(stderr, "rscrapectl: --scopes and --name go with key "
		    "create (see rscrapectl -h)\n");
		return CTL_EXIT_USAGE;
	}
	if (jobopt && (strcmp(cmd, "job") != 0 || argc < 2 ||
	    strcmp(argv[1], "create") != 0)) {
		fprintf(stderr, "rscrapectl: --type, --mode, --limit, "
		    "--no-media, --no-comments, --plugin and --watch go with "
		    "job create (see rscrapectl -h)\n");
		return CTL_EXIT_USAGE;
	}
	if (config_load(&c.cf, c.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "rscrapectl: %s\n", err);
		config_free(&c.cf);
		return CTL_EXIT_FAIL;
	}
	c.cf_loaded = 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (strcmp(cmd, "workspace") == 0)
		rc = ctl_cmd_workspace(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "key") == 0)
		rc = ctl_cmd_key(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "job") == 0)
		rc = ctl_cmd_job(&c, argc - 1, argv + 1);
	else if (strcmp(cmd, "status") == 0)
		rc = ctl_cmd_status(&c, argc - 1, argv + 1);
	else
		rc = ctl_cmd_call(&c, argc - 1, argv + 1);

	proto_client_close(c.client);
	config_free(&c.cf);
	curl_global_cleanup();
	return rc;
}
