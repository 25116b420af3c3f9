/*
 * httpd_auth.c — API keys and per-key rate limits.
 *
 * httpd never sees a stored key: it hashes what the client sent (SHA-256)
 * and asks jobd (key.auth). Answers are cached for GW_AUTH_TTL_MS in a
 * direct-mapped table, so a revoked key stops working within a second while
 * a busy client costs one jobd round trip per request, not two.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>

#include "httpd/httpd.h"
#include "lib/log.h"
#include "proto/proto.h"

/*
 * Every request hashes its key, so the digest is fetched once: OpenSSL 3
 * looks EVP_sha256() up in its provider tables on every EVP_Digest()
 * otherwise, which costs more than hashing 47 bytes.
 */
void
gw_sha256_hex(const char *s, char out[65])
{
	static const char	 hex[] = "0123456789abcdef";
	static EVP_MD		*sha256;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0, i;

	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256",
	    NULL)) == NULL)
		fatalx("%s: SHA-256 is not available", __func__);
	if (EVP_Digest(s, strlen(s), md, &n, sha256, NULL) != 1 || n != 32)
		fatalx("%s: EVP_Digest failed", __func__);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

const char *
gw_key_from_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	const char		*v;

	if ((v = evhttp_find_header(h, "Authorization")) != NULL) {
		if (strncasecmp(v, "Bearer ", 7) != 0)
			return NULL;
		v += 7;
		while (*v == ' ')
			v++;
		return *v ? v : NULL;
	}
	if ((v = evhttp_find_header(h, "X-API-Key")) != NULL && *v)
		return v;
	return NULL;
}

static unsigned
slot_of(const char *s, unsigned nslots)
{
	unsigned	 h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % nslots;
}

static unsigned
scopes_of(const cJSON *arr)
{
	const cJSON	*it;
	unsigned	 s = 0;

	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			continue;
		if (strcmp(it->valuestring, PROTO_SCOPE_READ) == 0)
			s |= GW_SCOPE_READ;
		else if (strcmp(it->valuestring, PROTO_SCOPE_WRITE) == 0)
			s |= GW_SCOPE_WRITE;
		else if (strcmp(it->valuestring, PROTO_SCOPE_ADMIN) == 0)
			s |= GW_SCOPE_ADMIN;
	}
	return s;
}

static void
auth_reply(struct gw_req *gr, const struct proto_reply *rep)
{
	struct gw_auth_entry	*e;
	const char		*ws, *kid, *perr = NULL;
	cJSON			*scopes;

	if (!rep->ok) {
		if (strcmp(rep->err_code, PROTO_E_UNAUTHORIZED) == 0)
			gw_error(gr, 401, "Invalid or revoked API key");
		else
			gw_reply_proto_error(gr, rep->err_code,
			    rep->err_message);
		return;
	}
	if (proto_get_str(rep->body, "workspace_id", 1, &ws, &perr) == -1 ||
	    proto_get_str(rep->body, "key_id", 1, &kid, &perr) == -1 ||
	    proto_get_arr(rep->body, "scopes", 1, &scopes, &perr) == -1 ||
	    proto_id_parse(ws, PROTO_PFX_WORKSPACE, gr->key_ws) == -1) {
		log_warnx("key.auth reply: %s", perr ? perr : "bad workspace");
		gw_error(gr, 500, "internal error");
		return;
	}
	snprintf(gr->key_id, sizeof(gr->key_id), "%s", kid);
	gr->scopes = scopes_of(scopes);
	e = &gr->gw->auth[slot_of(gr->key_hash, GW_AUTH_SLOTS)];
	memcpy(e->hash, gr->key_hash, sizeof(e->hash));
	memcpy(e->ws, gr->key_ws, sizeof(e->ws));
	snprintf(e->key_id, sizeof(e->key_id), "%s", kid);
	e->scopes = gr->scopes;
	e->expires_ms = daemon_now_ms() + GW_AUTH_TTL_MS;
	gw_after_auth(gr);
}

void
gw_authenticate(struct gw_req *gr)
{
	struct gw_auth_entry	*e;
	const char		*key;

	if ((key = gw_key_from_headers(gr->req)) == NULL) {
		if (gr->req)
			evhttp_add_header(evhttp_request_get_output_headers(
			    gr->req), "WWW-Authenticate", "Bearer");
		gw_error(gr, 401, "Missing API key: send Authorization: "
		    "Bearer <key> or X-API-Key");
		return;
	}
	gw_sha256_hex(key, gr->key_hash);
	e = &gr->gw->auth[slot_of(gr->key_hash, GW_AUTH_SLOTS)];
	if (strcmp(e->hash, gr->key_hash) == 0 &&
	    e->expires_ms > daemon_now_ms()) {
		memcpy(gr->key_ws, e->ws, sizeof(gr->key_ws));
		snprintf(gr->key_id, sizeof(gr->key_id), "%s", e->key_id);
		gr->scopes = e->scopes;
		gw_after_auth(gr);
		return;
	}
	gw_call_read(gr, PROTO_KEY_AUTH, proto_key_auth_req(gr->key_hash),
	    auth_reply);
}

/*
 * Token bucket per key: capacity one minute's allowance, refilled
 * continuously. Returns 0 when the request may go, -1 with *retry_after.
 */
int
gw_rate_take(struct gw *gw, const char *key_id, uint64_t now_ms,
    int64_t per_minute, int *retry_after)
{
	struct gw_bucket	*b;
	double			 rate;

	if (per_minute <= 0)
		return 0;
	rate = (double)per_minute / 60000.0;	/* tokens per ms */
	b = &gw->buckets[slot_of(key_id, GW_BUCKET_SLOTS)];
	if (strcmp(b->key_id, key_id) != 0) {
		snprintf(b->key_id, sizeof(b->key_id), "%s", key_id);
		b->tokens = (double)per_minute;
		b->updated_ms = now_ms;
	}
	b->tokens += (double)(now_ms - b->updated_ms) * rate;
	if (b->tokens > (double)per_minute)
		b->tokens = (double)per_minute;
	b->updated_ms = now_ms;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	*retry_after = (int)((1.0 - b->tokens) / rate / 1000.0) + 1;
	return -1;
}
