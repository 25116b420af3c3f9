/*
 * bare_httpd.c — the baseline for bench/api: a bare libevent evhttp server
 * that answers every request with a fixed JSON job object, doing nothing
 * else. httpd→jobd is measured against what evhttp alone can do here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static const char body[] =
    "{\"id\":\"job_3f1e2d4c-5b6a-4789-9abc-def012345678\","
    "\"workspace_id\":\"ws_0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d\","
    "\"target\":\"python\",\"target_type\":\"subreddit\",\"mode\":\"full\","
    "\"config\":{\"limit\":100,\"download_media\":true,"
    "\"scrape_comments\":true,\"plugins\":[]},\"status\":\"pending\","
    "\"started_at\":null,\"completed_at\":null,\"duration_seconds\":null,"
    "\"posts_scraped\":0,\"comments_scraped\":0,\"media_downloaded\":0,"
    "\"error_message\":null,\"progress\":{},"
    "\"created_at\":\"2026-11-28T18:00:00Z\"}";

static void
answer(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*out = evhttp_request_get_output_buffer(req);

	(void)arg;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evbuffer_add_reference(out, body, sizeof(body) - 1, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct evhttp		*http;
	int			 port;

	if (argc != 2) {
		fprintf(stderr, "usage: bare_httpd port\n");
		return 2;
	}
	port = atoi(argv[1]);
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, answer, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (unsigned short)port) != 0) {
		perror("bind");
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	event_base_dispatch(base);
	return 0;
}
