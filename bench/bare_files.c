/*
 * bare_files.c — the file server of bench/media: a bare libevent evhttp
 * server that loads every regular file of a directory into memory and
 * answers GET /<name> with its bytes (evbuffer references, no copies), so
 * that the downloaders measured, not the server, set the pace.
 *
 *   bare_files DIR PORT      prints READY once listening
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct file {
	char		*name;
	char		*data;
	size_t		 len;
};

static struct file	*files;
static size_t		 nfiles;

static void
answer(struct evhttp_request *req, void *arg)
{
	const char	*uri = evhttp_request_get_uri(req), *name;
	struct evbuffer	*out = evhttp_request_get_output_buffer(req);
	size_t		 i, n;

	(void)arg;
	name = uri[0] == '/' ? uri + 1 : uri;
	n = strcspn(name, "?#");
	for (i = 0; i < nfiles; i++) {
		if (strlen(files[i].name) == n &&
		    strncmp(files[i].name, name, n) == 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "Content-Type", "application/octet-stream");
			evbuffer_add_reference(out, files[i].data, files[i].len,
			    NULL, NULL);
			evhttp_send_reply(req, 200, "OK", NULL);
			return;
		}
	}
	evhttp_send_error(req, 404, NULL);
}

static void
load(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[4096];
	FILE		*f;
	struct stat	 sb;

	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		files = realloc(files, (nfiles + 1) * sizeof(*files));
		files[nfiles].name = strdup(de->d_name);
		files[nfiles].len = (size_t)sb.st_size;
		files[nfiles].data = malloc(files[nfiles].len + 1);
		if ((f = fopen(path, "rb")) == NULL ||
		    fread(files[nfiles].data, 1, files[nfiles].len, f) !=
		    files[nfiles].len) {
			perror(path);
			exit(1);
		}
		fclose(f);
		nfiles++;
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct evhttp		*http;

	if (argc != 3) {
		fprintf(stderr, "usage: bare_files dir port\n");
		return 2;
	}
	load(argv[1]);
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, answer, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1",
	    (unsigned short)atoi(argv[2])) != 0) {
		perror("bind");
		return 1;
	}
	printf("READY %zu\n", nfiles);
	fflush(stdout);
	event_base_dispatch(base);
	return 0;
}
