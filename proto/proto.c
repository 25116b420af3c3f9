/*
 * proto.c — envelopes, events, ids and strict field access for the wire
 * documented in proto.h.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <uuid/uuid.h>

#include "lib/jtext.h"
#include "proto/proto.h"

/*
 * Request ids: 8 random hex digits drawn once per process (and again after
 * a fork), then a counter. Unique enough to tell calls and processes apart
 * in logs and replies, and cheap: httpd makes one per HTTP request.
 */
void
proto_new_reqid(char out[PROTO_REQID_MAX + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	static char		 prefix[9];
	static pid_t		 pid;
	static uint64_t		 counter;
	unsigned char		 b[4];
	uint64_t		 n;
	char			 tmp[17];
	int			 i, k;

	if (pid != getpid()) {
		pid = getpid();
		if (RAND_bytes(b, sizeof(b)) != 1)
			memcpy(b, &pid, sizeof(b));
		for (i = 0; i < 4; i++) {
			prefix[2 * i] = hex[b[i] >> 4];
			prefix[2 * i + 1] = hex[b[i] & 0xf];
		}
	}
	n = ++counter;
	k = 0;
	do {
		tmp[k++] = hex[n & 0xf];
		n >>= 4;
	} while (n != 0);
	memcpy(out, prefix, 8);
	out[8] = '-';
	for (i = 0; i < k; i++)
		out[9 + i] = tmp[k - 1 - i];
	out[9 + k] = '\0';
}

static int
reqid_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > PROTO_REQID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Envelopes are written straight as text, in the order and form
 * cJSON_PrintUnformatted gives them (unit-tested against it), rather than
 * built as a tree around the body only to be printed: one allocation
 * instead of five per envelope, on every call of every daemon.
 */
static int
envelope_head(struct jtext *t, const char *reqid)
{
	char	 v[32];
	int	 n = snprintf(v, sizeof(v), "{\"v\":%d,\"id\":", PROTO_VERSION);

	return jtext_lit(t, v, (size_t)n) == -1 || jtext_str(t, reqid) == -1 ?
	    -1 : 0;
}

/* ,"body":{...}} -- no body is an empty object */
static int
envelope_body(struct jtext *t, const cJSON *body)
{
	if (jtext_lit(t, ",\"body\":", 8) == -1)
		return -1;
	if (body == NULL)
		return jtext_lit(t, "{}}", 3);
	return jtext_value(t, body) == -1 ? -1 : jtext_lit(t, "}", 1);
}

char *
proto_request_encode(const char *reqid, const char *type, const cJSON *body,
    size_t *lenp)
{
	struct jtext	 t = { NULL, 0, 0 };

	return jtext_end(&t, envelope_head(&t, reqid) == 0 &&
	    jtext_lit(&t, ",\"type\":", 8) == 0 && jtext_str(&t, type) == 0 &&
	    envelope_body(&t, body) == 0, lenp);
}

char *
proto_reply_ok_encode(const char *reqid, const cJSON *body, size_t *lenp)
{
	struct jtext	 t = { NULL, 0, 0 };

	return jtext_end(&t, envelope_head(&t, reqid) == 0 &&
	    jtext_lit(&t, ",\"ok\":true", 10) == 0 &&
	    envelope_body(&t, body) == 0, lenp);
}

char *
proto_reply_err_encode(const char *reqid, const char *code,
    const char *message, size_t *lenp)
{
	struct jtext	 t = { NULL, 0, 0 };

	return jtext_end(&t, envelope_head(&t, reqid) == 0 &&
	    jtext_lit(&t, ",\"ok\":false,\"error\":{\"code\":", 28) == 0 &&
	    jtext_str(&t, code) == 0 &&
	    jtext_lit(&t, ",\"message\":", 11) == 0 &&
	    jtext_str(&t, message) == 0 && jtext_lit(&t, "}}", 2) == 0, lenp);
}

/* Common envelope checks: v, id; every key must be in allowed. */
static int
envelope_check(cJSON *root, const char *const *allowed, char *id,
    const char **errp)
{
	cJSON		*it, *v, *jid;
	const char	*const *a;

	if (!cJSON_IsObject(root)) {
		*errp = "envelope is not a JSON object";
		return -1;
	}
	cJSON_ArrayForEach(it, root) {
		for (a = allowed; *a; a++)
			if (strcmp(*a, it->string) == 0)
				break;
		if (*a == NULL) {
			*errp = "unknown key in envelope";
			return -1;
		}
	}
	jid = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (!cJSON_IsString(jid) || !reqid_valid(jid->valuestring)) {
		*errp = "envelope id missing or invalid";
		return -1;
	}
	snprintf(id, PROTO_REQID_MAX + 1, "%s", jid->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(root, "v");
	if (!cJSON_IsNumber(v) || v->valuedouble != PROTO_VERSION) {
		*errp = "unsupported envelope version";
		return -1;
	}
	return 0;
}

/* The checks of a request envelope already parsed; root stays the caller's. */
static int
request_check(cJSON *root, struct proto_request *req, const char **errp)
{
	static const char *const allowed[] = { "v", "id", "type", "body", NULL };
	cJSON	*t, *b;

	if (envelope_check(root, allowed, req->id, errp) == -1)
		return -1;
	t = cJSON_GetObjectItemCaseSensitive(root, "type");
	b = cJSON_GetObjectItemCaseSensitive(root, "body");
	if (!cJSON_IsString(t) || *t->valuestring == '\0') {
		*errp = "envelope type missing";
		return -1;
	}
	if (!cJSON_IsObject(b)) {
		*errp = "envelope body missing or not an object";
		return -1;
	}
	req->type = t->valuestring;
	req->body = b;
	return 0;
}

static cJSON	*(*request_parser)(const char *, size_t) = proto_json_parse;

void
proto_request_parser(cJSON *(*parse)(const char *, size_t))
{
	request_parser = parse ? parse : proto_json_parse;
}

int
proto_request_parse(const void *buf, size_t len, struct proto_request *req,
    const char **errp)
{
	const char	*nul;

	memset(req, 0, sizeof(*req));
	snprintf(req->id, sizeof(req->id), "-");
	/*
	 * An attachment: the bytes after the first NUL, which JSON text
	 * never holds (proto.h, ATTACHMENTS).
	 */
	if (buf != NULL && (nul = memchr(buf, '\0', len)) != NULL) {
		req->att = nul + 1;
		req->attlen = len - (size_t)(req->att - (const char *)buf);
		len = (size_t)(nul - (const char *)buf);
	}
	if ((req->root = request_parser(buf, len)) == NULL) {
		*errp = "envelope is not valid JSON";
		return -1;
	}
	return request_check(req->root, req, errp);
}

int
proto_request_parse_json(cJSON *obj, struct proto_request *req,
    const char **errp)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->id, sizeof(req->id), "-");
	return request_check(obj, req, errp);
}

void
proto_request_free(struct proto_request *req)
{
	cJSON_Delete(req->root);	/* NULL when borrowed */
	memset(req, 0, sizeof(*req));
}

static int
reply_check(cJSON *root, struct proto_reply *rep, const char **errp)
{
	static const char *const allowed[] = { "v", "id", "ok", "body", "error",
	    NULL };
	cJSON	*ok, *e, *c, *m;

	if (envelope_check(root, allowed, rep->id, errp) == -1)
		return -1;
	ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
	if (!cJSON_IsBool(ok)) {
		*errp = "reply ok missing";
		return -1;
	}
	rep->ok = cJSON_IsTrue(ok);
	if (rep->ok) {
		rep->body = cJSON_GetObjectItemCaseSensitive(root, "body");
		if (!cJSON_IsObject(rep->body)) {
			*errp = "reply body missing";
			return -1;
		}
		return 0;
	}
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	c = cJSON_GetObjectItemCaseSensitive(e, "code");
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (!cJSON_IsString(c) || !cJSON_IsString(m)) {
		*errp = "reply error malformed";
		return -1;
	}
	rep->err_code = c->valuestring;
	rep->err_message = m->valuestring;
	return 0;
}

int
proto_reply_parse(const void *buf, size_t len, struct proto_reply *rep,
    const char **errp)
{
	memset(rep, 0, sizeof(*rep));
	if ((rep->root = proto_json_parse(buf, len)) == NULL) {
		*errp = "reply is not valid JSON";
		return -1;
	}
	return reply_check(rep->root, rep, errp);
}

int
proto_reply_parse_json(cJSON *obj, struct proto_reply *rep, const char **errp)
{
	memset(rep, 0, sizeof(*rep));
	return reply_check(obj, rep, errp);
}

/*
 * A batch envelope is assembled from envelopes already encoded, so that no
 * call is encoded twice: {"v":1,"id":…,"type":"batch","body":{"calls":[…]}}
 * or, for the reply, {"v":1,"id":…,"ok":true,"body":{"replies":[…]}}.
 */
char *
proto_batch_encode(const char *reqid, int reply, char *const *parts,
    const size_t *lens, int n, size_t *lenp)
{
	char	 head[PROTO_REQID_MAX + 96];
	size_t	 hlen, total;
	char	*out, *p;
	int	 i;

	hlen = (size_t)snprintf(head, sizeof(head), reply ?
	    "{\"v\":%d,\"id\":\"%s\",\"ok\":true,\"body\":{\"replies\":[" :
	    "{\"v\":%d,\"id\":\"%s\",\"type\":\"" PROTO_BATCH
	    "\",\"body\":{\"calls\":[", PROTO_VERSION, reqid);
	total = hlen + 3;
	for (i = 0; i < n; i++)
		total += lens[i] + 1;
	if ((out = malloc(total + 1)) == NULL)
		return NULL;
	memcpy(out, head, hlen);
	p = out + hlen;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, parts[i], lens[i]);
		p += lens[i];
	}
	memcpy(p, "]}}", 4);
	p += 3;
	*lenp = (size_t)(p - out);
	return out;
}

void
proto_reply_free(struct proto_reply *rep)
{
	cJSON_Delete(rep->root);
	memset(rep, 0, sizeof(*rep));
}

char *
proto_event_encode(const char *topic, const cJSON *body, size_t *lenp)
{
	char	*json, *out;
	size_t	 n;

	if ((json = jtext_print(body, NULL)) == NULL)
		return NULL;
	n = strlen(topic) + 1 + strlen(json);
	if ((out = malloc(n + 1)) != NULL) {
		snprintf(out, n + 1, "%s %s", topic, json);
		if (lenp)
			*lenp = n;
	}
	free(json);
	return out;
}

int
proto_event_parse(const void *buf, size_t len, char *topic, size_t topiclen,
    cJSON **bodyp)
{
	const char	*p = buf, *sp;

	*bodyp = NULL;
	if ((sp = memchr(p, ' ', len)) == NULL || (size_t)(sp - p) >= topiclen)
		return -1;
	memcpy(topic, p, (size_t)(sp - p));
	topic[sp - p] = '\0';
	*bodyp = proto_json_parse(sp + 1, len - (size_t)(sp - p) - 1);
	if (!cJSON_IsObject(*bodyp)) {
		cJSON_Delete(*bodyp);
		*bodyp = NULL;
		return -1;
	}
	return 0;
}

int
proto_id_parse(const char *in, const char *prefix, char out[37])
{
	size_t	 pl = strlen(prefix);
	uuid_t	 u;

	if (in == NULL)
		return -1;
	if (strncmp(in, prefix, pl) == 0)
		in += pl;
	if (strlen(in) != 36 || uuid_parse(in, u) != 0)
		return -1;
	uuid_unparse_lower(u, out);
	return 0;
}

void
proto_id_format(const char *prefix, const char *uuid, char *out,
    size_t outlen)
{
	snprintf(out, outlen, "%s%s", prefix, uuid);
}

void
proto_uuid_new(char out[37])
{
	uuid_t	 u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

/*
 * A plugin is named by a file in plugin_dir: 1-64 of [A-Za-z0-9_-], so a
 * name can never be a path. httpd checks it when a job is created, jobd
 * again before it runs anything.
 */
int
proto_plugin_name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 1 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/*
 * RFC 9562 version 7: the creation time in ms, then random bits. Ids made
 * one after another sort one after another, so an index on them grows at
 * its end instead of touching a random page per insert (libuuid 2.38 has
 * no v7 of its own). The random bits come from glibc's arc4random_buf
 * (2.36: ChaCha20 seeded from getrandom, fork-safe): libuuid's
 * uuid_generate_random makes six system calls per id (getrandom, getpid,
 * getppid, getuid, gettid, ...), 5% of jobd under a stream of job
 * creations, and OpenSSL's RAND_bytes still cost 3.5% in its provider
 * lookup and locks.
 */
void
proto_uuid_new_ordered(char out[37])
{
	uuid_t		 u;
	struct timespec	 ts;
	uint64_t	 ms;
	int		 i;

	arc4random_buf(u, sizeof(u));
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (i = 5; i >= 0; i--, ms >>= 8)
		u[i] = (unsigned char)(ms & 0xff);
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x70);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	uuid_unparse_lower(u, out);
}

void
proto_default_urls(const char *runtime_dir, char *rep, size_t replen,
    char *pub, size_t publen)
{
	snprintf(rep, replen, "ipc://%s/%s", runtime_dir, PROTO_REP_SOCK);
	snprintf(pub, publen, "ipc://%s/%s", runtime_dir, PROTO_PUB_SOCK);
}

/* strict field access */

static const char *field_err(const char *key, const char *what);

/* errp may be NULL: the caller only wants to know whether it failed */
#define SET_ERR(errp, v) do { if ((errp) != NULL) *(errp) = (v); } while (0)

static const char *
field_err(const char *key, const char *what)
{
	static __thread char buf[160];

	snprintf(buf, sizeof(buf), "field \"%s\" %s", key, what);
	return buf;
}

int
proto_get_str(const cJSON *obj, const char *key, int required,
    const char **out, const char **errp)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (it == NULL || cJSON_IsNull(it)) {
		if (required) {
			SET_ERR(errp, field_err(key, "is required"));
			return -1;
		}
		return 0;
	}
	if (!cJSON_IsString(it)) {
		SET_ERR(errp, field_err(key, "must be a string"));
		return -1;
	}
	*out = it->valuestring;
	return 0;
}

int
proto_get_int(const cJSON *obj, const char *key, int required, int64_t *out,
    const char **errp)
{
	const cJSON	*it = cJSON_GetObjectItemCaseSensitive(obj, key);
	double		 d;

	if (it == NULL || cJSON_IsNull(it)) {
		if (required) {
			SET_ERR(errp, field_err(key, "is required"));
			return -1;
		}
		return 0;
	}
	d = it->valuedouble;
	if (!cJSON_IsNumber(it) || d != floor(d) || fabs(d) > 9007199254740992.0) {
		SET_ERR(errp, field_err(key, "must be an integer"));
		return -1;
	}
	*out = (int64_t)d;
	return 0;
}

int
proto_get_bool(const cJSON *obj, const char *key, int required, int *out,
    const char **errp)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (it == NULL || cJSON_IsNull(it)) {
		if (required) {
			SET_ERR(errp, field_err(key, "is required"));
			return -1;
		}
		return 0;
	}
	if (!cJSON_IsBool(it)) {
		SET_ERR(errp, field_err(key, "must be a boolean"));
		return -1;
	}
	*out = cJSON_IsTrue(it);
	return 0;
}

static int
get_typed(const cJSON *obj, const char *key, int required, cJSON **out,
    const char **errp, int want_array)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (it == NULL || cJSON_IsNull(it)) {
		if (required) {
			SET_ERR(errp, field_err(key, "is required"));
			return -1;
		}
		return 0;
	}
	if (want_array ? !cJSON_IsArray(it) : !cJSON_IsObject(it)) {
		SET_ERR(errp, field_err(key, want_array ? "must be an array" :
		    "must be an object"));
		return -1;
	}
	*out = it;
	return 0;
}

int
proto_get_obj(const cJSON *obj, const char *key, int required, cJSON **out,
    const char **errp)
{
	return get_typed(obj, key, required, out, errp, 0);
}

int
proto_get_arr(const cJSON *obj, const char *key, int required, cJSON **out,
    const char **errp)
{
	return get_typed(obj, key, required, out, errp, 1);
}
