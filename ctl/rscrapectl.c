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
	    "  call TYPE [JSON]           send one raw request to jobd and print the\n"
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
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct ctl	 c;
	char		 err[1024], *end;
	const char	*cmd;
	long		 v;
	int		 ch, rc;

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
	    strcmp(cmd, "status") != 0 && strcmp(cmd, "call") != 0) {
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
	else if (strcmp(cmd, "status") == 0)
		rc = ctl_cmd_status(&c, argc - 1, argv + 1);
	else
		rc = ctl_cmd_call(&c, argc - 1, argv + 1);

	proto_client_close(c.client);
	config_free(&c.cf);
	curl_global_cleanup();
	return rc;
}
