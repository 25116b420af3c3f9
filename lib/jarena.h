/*
 * jarena.h — parsed JSON trees in arenas (jarena.c).
 *
 * Once installed (a daemon's init: cJSON_InitHooks, before any other
 * thread could use cJSON, and only in a daemon where one thread alone
 * uses cJSON), every tree jarena_parse() builds lives in an arena of its
 * own that its cJSON_Delete gives back at once. Without it,
 * jarena_parse() is cJSON_ParseWithLength().
 */
#ifndef RSCRAPE_JARENA_H
#define RSCRAPE_JARENA_H

#include <stddef.h>

#include <cjson/cJSON.h>

void	 jarena_install(void);
cJSON	*jarena_parse(const char *buf, size_t len);
/* the same with proto_json_parse(): RFC 8259 text, as daemons write it */
cJSON	*jarena_parse_rfc(const char *buf, size_t len);

#endif
