/*
 * httpd_openapi.c — GET /api/v1/openapi.json: the OpenAPI 3.1 document of
 * every route, httpd/openapi.json embedded at build time (.incbin; the
 * Makefile rebuilds this object when the JSON changes). A unit test checks
 * that its paths and methods are exactly httpd's route table.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd/httpd.h"
#include "lib/log.h"

__asm__(
    "	.section .rodata\n"
    "	.global gw_openapi_json\n"
    "	.type gw_openapi_json, @object\n"
    "gw_openapi_json:\n"
    "	.incbin \"httpd/openapi.json\"\n"
    "	.byte 0\n"
    "	.size gw_openapi_json, . - gw_openapi_json\n"
    "	.previous\n");

void
gw_h_openapi(struct gw_req *gr)
{
	evhttp_add_header(evhttp_request_get_output_headers(gr->req),
	    "Cache-Control", "no-cache");
	gw_reply_raw(gr, 200, gw_openapi_json, strlen(gw_openapi_json));
}
