/*
 * test_jobd_lease.c — jobd's lease state machine on a temporary database
 * with an injected clock: requests go through rep_dispatch() exactly as
 * they arrive from the wire, and time moves only when a test moves it.
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

#include "jobd/jobd.h"

static int64_t	 fake_now = 1800000000000LL;
static int	 count_rows(struct jobd *jd, const char *sql);
static char	 dbdir[] = "/tmp/rs-lease-XXXXXX";

static int64_t
fake_clock(void)
{
	return fake_now;
}

/* one request through the dispatcher; returns the parsed reply */
static struct proto_reply
call(struct jobd *jd, const char *type, const char *fmt, ...)
{
	struct proto_reply	 rep;
	char			 body[4096], env[4500];
	char			*out;
	size_t			 outlen;
	const char		*err;
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(env, sizeof(env), "{\"v\":1,\"id\":\"t\",\"type\":\"%s\","
	    "\"body\":%s}", type, body);
	out = rep_dispatch(jobd_routes, jd, env, strlen(env), &outlen);
	assert_non_null(out);
	assert_int_equal(proto_reply_parse(out, outlen, &rep, &err), 0);
	cJSON_free(out);
	return rep;
}

static double
num(const struct proto_reply *r, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(r->body, k));
}

static int
setup(void **state)
{
	struct jobd	*jd = calloc(1, sizeof(*jd));
	char		 path[256];

	assert_non_null(mkdtemp(dbdir));
	snprintf(path, sizeof(path), "%s/rscrape.db", dbdir);
	jd->clock = fake_clock;
	assert_int_equal(jobd_state_init(jd, path, 30), 0);
	*state = jd;
	return 0;
}

static int
teardown(void **state)
{
	struct jobd	*jd = *state;
	char		 cmd[300];

	jobd_state_fini(jd);
	free(jd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dbdir);
	assert_int_equal(system(cmd), 0);
	strcpy(dbdir, "/tmp/rs-lease-XXXXXX");
	return 0;
}

struct task { int64_t id; char lease[64]; int attempt; char ckpt[256]; };

static char ws[64];

static void
make_job(struct jobd *jd, int media)
{
	struct proto_reply r = call(jd, PROTO_WORKSPACE_CREATE,
	    "{\"name\":\"t\"}");

	assert_true(r.ok);
	snprintf(ws, sizeof(ws), "%s", cJSON_GetStringValue(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "workspace"),
	    "id")));
	proto_reply_free(&r);
	r = call(jd, PROTO_JOB_CREATE, "{\"workspace_id\":\"%s\",\"target\":"
	    "\"python\",\"target_type\":\"subreddit\",\"mode\":\"full\","
	    "\"limit\":10,\"download_media\":%s,\"scrape_comments\":true,"
	    "\"plugins\":[]}", ws, media ? "true" : "false");
	assert_true(r.ok);
	proto_reply_free(&r);
}

/* lease one task; 0 when none */
static int
lease(struct jobd *jd, const char *kind, struct task *t)
{
	struct proto_reply	 r = call(jd, PROTO_TASK_LEASE,
				    "{\"worker\":\"w\",\"kind\":\"%s\"}", kind);
	cJSON			*tk;
	char			*ck;

	assert_true(r.ok);
	tk = cJSON_GetArrayItem(cJSON_GetObjectItem(r.body, "tasks"), 0);
	if (tk == NULL) {
		proto_reply_free(&r);
		return 0;
	}
	t->id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(tk,
	    "task_id"));
	snprintf(t->lease, sizeof(t->lease), "%s", cJSON_GetStringValue(
	    cJSON_GetObjectItem(tk, "lease_id")));
	t->attempt = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(tk,
	    "attempt"));
	ck = cJSON_PrintUnformatted(cJSON_GetObjectItem(tk, "checkpoint"));
	snprintf(t->ckpt, sizeof(t->ckpt), "%s", ck);
	cJSON_free(ck);
	proto_reply_free(&r);
	return 1;
}

static const char *
err_of(struct jobd *jd, const char *type, const struct task *t)
{
	static char		 code[32];
	struct proto_reply	 r = call(jd, type,
				    "{\"task_id\":%lld,\"lease_id\":\"%s\"}",
				    (long long)t->id, t->lease);

	snprintf(code, sizeof(code), "%s", r.ok ? "ok" : r.err_code);
	proto_reply_free(&r);
	return code;
}

static void
test_heartbeat_extends_expiry_requeues_with_checkpoint(void **state)
{
	struct jobd		*jd = *state;
	struct task		 t1, t2;
	struct proto_reply	 r;

	make_job(jd, 0);
	assert_true(lease(jd, PROTO_KIND_FETCH, &t1));
	assert_int_equal(t1.attempt, 1);
	assert_false(lease(jd, PROTO_KIND_FETCH, &t2));

	/* a heartbeat at 20 s moves the deadline to 50 s */
	fake_now += 20000;
	r = call(jd, PROTO_TASK_HEARTBEAT, "{\"task_id\":%lld,\"lease_id\":"
	    "\"%s\",\"checkpoint\":{\"after\":\"t3_x\"}}", (long long)t1.id,
	    t1.lease);
	assert_true(r.ok);
	assert_true(num(&r, "lease_expires_at") == (double)(fake_now + 30000));
	proto_reply_free(&r);

	fake_now += 29999;		/* one ms before the deadline */
	assert_int_equal(lease_expire(jd, fake_now), 0);
	assert_false(lease(jd, PROTO_KIND_FETCH, &t2));
	fake_now += 1;			/* at the deadline */
	assert_int_equal(lease_expire(jd, fake_now), 1);

	assert_true(lease(jd, PROTO_KIND_FETCH, &t2));
	assert_int_equal(t2.id, t1.id);
	assert_int_equal(t2.attempt, 2);
	assert_string_not_equal(t2.lease, t1.lease);
	assert_string_equal(t2.ckpt, "{\"after\":\"t3_x\"}");
	assert_string_equal(err_of(jd, PROTO_TASK_HEARTBEAT, &t1),
	    PROTO_E_LEASE_LOST);
	assert_string_equal(err_of(jd, PROTO_TASK_FINISH, &t1),
	    PROTO_E_LEASE_LOST);
	assert_string_equal(err_of(jd, PROTO_TASK_FINISH, &t2), "ok");
	assert_string_equal(err_of(jd, PROTO_TASK_FINISH, &t2),
	    PROTO_E_LEASE_LOST);	/* a finished task has no lease */
}

static void
test_report_is_idempotent(void **state)
{
	struct jobd		*jd = *state;
	struct task		 t;
	struct proto_reply	 r;
	int			 i;
	static const char batch[] = "{\"task_id\":%lld,\"lease_id\":\"%s\","
	    "\"batch\":\"b\",\"posts\":[{\"id\":\"t3_a\",\"title\":"
	    "\"alpha kite\",\"raw\":{}},{\"id\":\"t3_b\",\"title\":"
	    "\"bravo kite\",\"raw\":{}}],\"comments\":[{\"id\":\"t1_c\","
	    "\"post_id\":\"t3_a\",\"raw\":{}}]}";

	make_job(jd, 0);
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	for (i = 0; i < 3; i++) {
		r = call(jd, PROTO_TASK_REPORT, batch, (long long)t.id,
		    t.lease);
		assert_true(r.ok);
		assert_true(num(&r, "posts_new") == (i == 0 ? 2 : 0));
		assert_true(num(&r, "comments_new") == (i == 0 ? 1 : 0));
		assert_true(num(&r, "posts_scraped") == 2);
		assert_true(num(&r, "comments_scraped") == 1);
		proto_reply_free(&r);
	}
	/* each post once in the full-text index, found by its words */
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts_fts"), 2);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts_fts "
	    "WHERE posts_fts MATCH 'kite'"), 2);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts p JOIN "
	    "posts_fts f ON f.rowid = p.pid WHERE posts_fts MATCH 'bravo' "
	    "AND p.id = 't3_b'"), 1);
	/* a new title is indexed in place of the old one */
	r = call(jd, PROTO_TASK_REPORT, "{\"task_id\":%lld,\"lease_id\":"
	    "\"%s\",\"batch\":\"b2\",\"posts\":[{\"id\":\"t3_b\","
	    "\"title\":\"charlie kite\",\"raw\":{\"v\":2}}]}",
	    (long long)t.id, t.lease);
	assert_true(r.ok);
	proto_reply_free(&r);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts_fts "
	    "WHERE posts_fts MATCH 'bravo'"), 0);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts_fts "
	    "WHERE posts_fts MATCH 'charlie'"), 1);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts_fts "
	    "WHERE posts_fts MATCH 'kite'"), 2);
	/* a malformed record is refused before anything is written */
	r = call(jd, PROTO_TASK_REPORT, "{\"task_id\":%lld,\"lease_id\":"
	    "\"%s\",\"posts\":[{\"id\":\"t1_wrongkind\",\"raw\":{}}]}",
	    (long long)t.id, t.lease);
	assert_false(r.ok);
	assert_string_equal(r.err_code, PROTO_E_BAD_REQUEST);
	proto_reply_free(&r);
}

/* one task.report with an attachment, as fetchd sends it */
static struct proto_reply
report_att(struct jobd *jd, const struct task *t, const char *records,
    const char *att, size_t attlen)
{
	struct proto_reply	 rep;
	char			 body[4096], *msg, *out;
	size_t			 len, outlen;
	const char		*err;
	cJSON			*b;

	snprintf(body, sizeof(body), "{\"task_id\":%lld,\"lease_id\":\"%s\","
	    "\"batch\":\"a\",%s}", (long long)t->id, t->lease, records);
	assert_non_null(b = cJSON_Parse(body));
	msg = proto_request_encode_att("r", PROTO_TASK_REPORT, b, att, attlen,
	    &len);
	cJSON_Delete(b);
	out = rep_dispatch(jobd_routes, jd, msg, len, &outlen);
	free(msg);
	assert_non_null(out);
	assert_int_equal(proto_reply_parse(out, outlen, &rep, &err), 0);
	cJSON_free(out);
	return rep;
}

static int
count_rows(struct jobd *jd, const char *sql)
{
	sqlite3_stmt	*st;
	int		 n = -1;

	assert_int_equal(sqlite3_prepare_v2(jd->db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_report_attachment(void **state)
{
	static const char att[] = "{\"title\":\"a\"}{\"body\":\"x\\n\\u00e9\","
	    "\"replies\":\"\"}";
	static const struct {
		const char	*records;
		size_t		 attlen;
	} bad[] = {
		/* raw_len past the end, bytes left over, both raw and raw_len */
		{ "\"posts\":[{\"id\":\"t3_b\",\"raw_len\":14}]", 13 },
		{ "\"posts\":[{\"id\":\"t3_b\",\"raw_len\":13}]", 14 },
		{ "\"posts\":[{\"id\":\"t3_b\",\"raw_len\":13,\"raw\":{}}]", 13 },
		/* not JSON, not an object, not a whole number */
		{ "\"posts\":[{\"id\":\"t3_b\",\"raw_len\":12}]", 12 },
		{ "\"posts\":[{\"id\":\"t3_b\",\"raw_len\":2.5}]", 13 },
		/* a good post, then a comment whose slice is cut short */
		{ "\"posts\":[{\"id\":\"t3_b\",\"raw_len\":13}],\"comments\":"
		  "[{\"id\":\"t1_d\",\"post_id\":\"t3_b\",\"raw_len\":20}]",
		  sizeof(att) - 1 },
		/*
		 * a good post, then a comment whose raw is the right length
		 * but not JSON: found by the check thread while the post was
		 * being stored, so the post must be rolled back
		 */
		{ "\"posts\":[{\"id\":\"t3_b\",\"raw_len\":13}],\"comments\":"
		  "[{\"id\":\"t1_d\",\"post_id\":\"t3_b\",\"raw_len\":32}]",
		  sizeof(att) - 2 },
	};
	struct jobd		*jd = *state;
	struct task		 t;
	struct proto_reply	 r;
	sqlite3_stmt		*st;
	size_t			 i;

	make_job(jd, 0);
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = report_att(jd, &t, bad[i].records, att, bad[i].attlen);
		assert_false(r.ok);
		assert_string_equal(r.err_code, PROTO_E_BAD_REQUEST);
		if (i == 3)
			assert_string_equal(r.err_message,
			    "post: raw is not a JSON object");
		if (i == 6)
			assert_string_equal(r.err_message,
			    "comment: raw is not a JSON object");
		proto_reply_free(&r);
	}
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts"), 0);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM comments"), 0);
	assert_int_equal(count_rows(jd, "SELECT posts_scraped FROM jobs"), 0);

	/* stored as the bytes sent; inline raw still works beside it */
	r = report_att(jd, &t, "\"posts\":[{\"id\":\"t3_a\",\"raw_len\":13}],"
	    "\"comments\":[{\"id\":\"t1_c\",\"post_id\":\"t3_a\",\"raw_len\":"
	    "33},{\"id\":\"t1_e\",\"post_id\":\"t3_a\",\"raw\":{\"k\":[1]}}]",
	    att, sizeof(att) - 1);
	assert_true(r.ok);
	assert_true(num(&r, "posts_new") == 1);
	assert_true(num(&r, "comments_new") == 2);
	proto_reply_free(&r);
	assert_int_equal(sqlite3_prepare_v2(jd->db, "SELECT raw FROM comments "
	    "WHERE id = 't1_c'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), att + 13);
	sqlite3_finalize(st);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts WHERE "
	    "raw = '{\"title\":\"a\"}'"), 1);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM comments WHERE "
	    "id = 't1_e' AND raw = '{\"k\":[1]}'"), 1);
	/* the same batch again adds nothing */
	r = report_att(jd, &t, "\"posts\":[{\"id\":\"t3_a\",\"raw_len\":13}],"
	    "\"comments\":[{\"id\":\"t1_c\",\"post_id\":\"t3_a\",\"raw_len\":"
	    "33}]", att, sizeof(att) - 1);
	assert_true(r.ok);
	assert_true(num(&r, "posts_new") == 0);
	assert_true(num(&r, "comments_scraped") == 2);
	proto_reply_free(&r);
}

/* r was refused with code */
static void
assert_refused(struct proto_reply r, const char *code)
{
	assert_false(r.ok);
	assert_string_equal(r.err_code, code);
	proto_reply_free(&r);
}

/* report number seq of t: one post (with an attachment), checkpoint {at} */
static struct proto_reply
seq_report(struct jobd *jd, const struct task *t, int seq, const char *post,
    int at)
{
	static const char att[] = "{\"title\":\"a\"}";
	char		 rec[512];

	snprintf(rec, sizeof(rec), "\"seq\":%d,\"posts\":[{\"id\":\"%s\","
	    "\"raw_len\":13}],\"checkpoint\":{\"at\":%d}", seq, post, at);
	return report_att(jd, t, rec, att, sizeof(att) - 1);
}

/*
 * Numbered reports (seq) are applied in order only: one that skips ahead
 * stores nothing, one applied before changes nothing (its checkpoint
 * does not go back), a refused one still takes its number, and a new
 * lease counts from 1 again.
 */
static void
test_report_seq_keeps_reports_in_order(void **state)
{
	static const char att[] = "{\"title\":\"a\"}";
	struct jobd		*jd = *state;
	struct task		 t, t2;
	struct proto_reply	 r;
	sqlite3_stmt		*st;
	char			 rec[512];

	make_job(jd, 0);
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	r = seq_report(jd, &t, 1, "t3_a", 1);
	assert_true(r.ok);
	assert_true(num(&r, "posts_new") == 1);
	proto_reply_free(&r);
	/* 3 before 2: refused, nothing of it kept */
	assert_refused(seq_report(jd, &t, 3, "t3_c", 3), PROTO_E_OUT_OF_ORDER);
	assert_int_equal(count_rows(jd, "SELECT count(*) FROM posts"), 1);
	assert_int_equal(count_rows(jd, "SELECT json_extract(checkpoint, "
	    "'$.at') FROM tasks"), 1);
	r = seq_report(jd, &t, 2, "t3_b", 2);
	assert_true(r.ok);
	proto_reply_free(&r);
	r = seq_report(jd, &t, 3, "t3_c", 3);
	assert_true(r.ok);
	assert_true(num(&r, "posts_scraped") == 3);
	proto_reply_free(&r);
	/* 2 again (its answer was lost): answered, its checkpoint not kept */
	r = seq_report(jd, &t, 2, "t3_b", 2);
	assert_true(r.ok);
	assert_true(num(&r, "posts_new") == 0);
	assert_true(num(&r, "posts_scraped") == 3);
	proto_reply_free(&r);
	assert_int_equal(count_rows(jd, "SELECT json_extract(checkpoint, "
	    "'$.at') FROM tasks"), 3);
	/* 4 is refused (its raw is cut short) but 5 goes on after it */
	snprintf(rec, sizeof(rec), "\"seq\":4,\"posts\":[{\"id\":\"t3_d\","
	    "\"raw_len\":12}]");
	assert_refused(report_att(jd, &t, rec, att, 12), PROTO_E_BAD_REQUEST);
	r = seq_report(jd, &t, 5, "t3_e", 5);
	assert_true(r.ok);
	assert_true(num(&r, "posts_scraped") == 4);
	proto_reply_free(&r);
	/* a new lease starts from 1 */
	fake_now += 31 * 1000;
	assert_int_equal(lease_expire(jd, fake_now), 1);
	assert_true(lease(jd, PROTO_KIND_FETCH, &t2));
	t = t2;
	assert_refused(seq_report(jd, &t, 2, "t3_f", 6), PROTO_E_OUT_OF_ORDER);
	r = seq_report(jd, &t, 1, "t3_f", 6);
	assert_true(r.ok);
	assert_true(num(&r, "posts_new") == 1);
	proto_reply_free(&r);
	assert_int_equal(sqlite3_prepare_v2(jd->db, "SELECT report_seq FROM "
	    "tasks", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
}

static void
test_release_and_retry_rules(void **state)
{
	struct jobd		*jd = *state;
	struct task		 t;
	struct proto_reply	 r;
	int			 n;

	make_job(jd, 0);
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	assert_string_equal(err_of(jd, PROTO_TASK_RELEASE, &t), "ok");
	for (n = 1; n <= PROTO_MAX_ATTEMPTS; n++) {
		assert_true(lease(jd, PROTO_KIND_FETCH, &t));
		r = call(jd, PROTO_TASK_FAIL, "{\"task_id\":%lld,\"lease_id\":"
		    "\"%s\",\"error\":\"HTTP 503\",\"retry\":true}",
		    (long long)t.id, t.lease);
		assert_true(r.ok);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		    r.body, "job_status")), n < PROTO_MAX_ATTEMPTS ?
		    PROTO_ST_RUNNING : PROTO_ST_FAILED);
		proto_reply_free(&r);
	}
	assert_false(lease(jd, PROTO_KIND_FETCH, &t));
}

static void
test_media_completion_rule(void **state)
{
	struct jobd		*jd = *state;
	struct task		 f, m;
	struct proto_reply	 r;

	make_job(jd, 1);
	assert_true(lease(jd, PROTO_KIND_FETCH, &f));
	r = call(jd, PROTO_TASK_REPORT, "{\"task_id\":%lld,\"lease_id\":\"%s\","
	    "\"media\":[{\"post_id\":\"t3_a\",\"index\":0,\"kind\":\"image\","
	    "\"url\":\"http://h/a.jpg\"}]}", (long long)f.id, f.lease);
	assert_true(r.ok);
	proto_reply_free(&r);
	r = call(jd, PROTO_TASK_FINISH, "{\"task_id\":%lld,\"lease_id\":"
	    "\"%s\"}", (long long)f.id, f.lease);
	/* fetch done, media outstanding: still running */
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r.body,
	    "job_status")), PROTO_ST_RUNNING);
	proto_reply_free(&r);
	assert_true(lease(jd, PROTO_KIND_MEDIA, &m));
	r = call(jd, PROTO_TASK_FINISH, "{\"task_id\":%lld,\"lease_id\":\"%s\","
	    "\"result\":{\"status\":\"failed\",\"error\":\"HTML at an image "
	    "URL\"}}", (long long)m.id, m.lease);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r.body,
	    "job_status")), PROTO_ST_COMPLETED);
	proto_reply_free(&r);
}

/* a job whose worker dies every time fails; a cancelled job's task is
 * dropped at expiry rather than handed out again */
static void
test_expiry_rules(void **state)
{
	struct jobd		*jd = *state;
	struct task		 t;
	struct proto_reply	 r;
	char			 jobid[64];
	int			 n;

	make_job(jd, 0);
	for (n = 1; n <= PROTO_MAX_ATTEMPTS; n++) {
		assert_true(lease(jd, PROTO_KIND_FETCH, &t));
		assert_int_equal(t.attempt, n);
		fake_now += jd->lease_ms;
		assert_int_equal(lease_expire(jd, fake_now), 1);
	}
	assert_false(lease(jd, PROTO_KIND_FETCH, &t));
	r = call(jd, PROTO_JOB_LIST, "{\"workspace_id\":\"%s\"}", ws);
	assert_true(r.ok);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(r.body, "jobs"), 0),
	    "status")), PROTO_ST_FAILED);
	assert_int_equal(jd->lease_expiries, PROTO_MAX_ATTEMPTS);
	proto_reply_free(&r);

	make_job(jd, 0);
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	r = call(jd, PROTO_JOB_LIST, "{\"workspace_id\":\"%s\"}", ws);
	snprintf(jobid, sizeof(jobid), "%s", cJSON_GetStringValue(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.body,
	    "jobs"), 0), "id")));
	proto_reply_free(&r);
	r = call(jd, PROTO_JOB_CANCEL, "{\"workspace_id\":\"%s\","
	    "\"job_id\":\"%s\"}", ws, jobid);
	assert_true(r.ok);
	proto_reply_free(&r);
	fake_now += jd->lease_ms;
	assert_int_equal(lease_expire(jd, fake_now), 1);
	assert_false(lease(jd, PROTO_KIND_FETCH, &t));
	assert_string_equal(err_of(jd, PROTO_TASK_HEARTBEAT, &t),
	    PROTO_E_LEASE_LOST);
}

/* one report of one media record on a new job; returns the job's status
 * after its fetch task finishes */
static char *
media_job(struct jobd *jd, const char *url)
{
	static char		 st[32];
	struct task		 f;
	struct proto_reply	 r;

	make_job(jd, 1);
	assert_true(lease(jd, PROTO_KIND_FETCH, &f));
	r = call(jd, PROTO_TASK_REPORT, "{\"task_id\":%lld,\"lease_id\":\"%s\","
	    "\"batch\":\"b\",\"media\":[{\"post_id\":\"t3_a\",\"index\":0,"
	    "\"kind\":\"image\",\"url\":\"%s\"}]}", (long long)f.id, f.lease,
	    url);
	assert_true(r.ok);
	proto_reply_free(&r);
	r = call(jd, PROTO_TASK_FINISH, "{\"task_id\":%lld,\"lease_id\":"
	    "\"%s\"}", (long long)f.id, f.lease);
	snprintf(st, sizeof(st), "%s", cJSON_GetStringValue(
	    cJSON_GetObjectItem(r.body, "job_status")));
	proto_reply_free(&r);
	return st;
}

/* a downloaded URL serves later jobs at once; a failed one is retried */
static void
test_media_url_results_are_reused(void **state)
{
	struct jobd		*jd = *state;
	struct task		 m;
	struct proto_reply	 r;

	assert_string_equal(media_job(jd, "http://h/ok.jpg"),
	    PROTO_ST_RUNNING);
	assert_true(lease(jd, PROTO_KIND_MEDIA, &m));
	r = call(jd, PROTO_TASK_FINISH, "{\"task_id\":%lld,\"lease_id\":\"%s\","
	    "\"result\":{\"status\":\"downloaded\",\"bytes\":3}}",
	    (long long)m.id, m.lease);
	assert_true(r.ok);
	proto_reply_free(&r);
	/* the same URL in another job: no new work, completed at once */
	assert_string_equal(media_job(jd, "http://h/ok.jpg"),
	    PROTO_ST_COMPLETED);
	assert_false(lease(jd, PROTO_KIND_MEDIA, &m));

	assert_string_equal(media_job(jd, "http://h/bad.jpg"),
	    PROTO_ST_RUNNING);
	assert_true(lease(jd, PROTO_KIND_MEDIA, &m));
	r = call(jd, PROTO_TASK_FINISH, "{\"task_id\":%lld,\"lease_id\":\"%s\","
	    "\"result\":{\"status\":\"failed\",\"error\":\"503\"}}",
	    (long long)m.id, m.lease);
	assert_true(r.ok);
	proto_reply_free(&r);
	assert_string_equal(media_job(jd, "http://h/bad.jpg"),
	    PROTO_ST_RUNNING);
	assert_true(lease(jd, PROTO_KIND_MEDIA, &m));
}

/* a counts table (schema 7) against a GROUP BY over the rows it counts */
static void
assert_table_counts(struct jobd *jd, const char *rows, const char *counts,
    const char *a, const char *b)
{
	sqlite3_stmt	*st;
	char		 sql[1024];

	snprintf(sql, sizeof(sql), "SELECT (SELECT count(*) FROM (SELECT "
	    "%s, %s, count(*) AS c FROM %s GROUP BY 1, 2) g LEFT JOIN %s k "
	    "USING (%s, %s) WHERE k.n IS NOT g.c) + (SELECT count(*) FROM %s "
	    "k WHERE n <> (SELECT count(*) FROM %s r WHERE r.%s = k.%s AND "
	    "r.%s = k.%s))", a, b, rows, counts, a, b, counts, rows, a, a, b,
	    b);
	assert_int_equal(sqlite3_prepare_v2(jd->db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	if (sqlite3_column_int(st, 0) != 0)
		fail_msg("%s disagrees with %s", counts, rows);
	sqlite3_finalize(st);
}

/*
 * ping's job counts against a GROUP BY over the jobs themselves; the
 * tables behind them per workspace (a job list's total) and for tasks
 * (/metrics).
 */
static void
assert_counts_agree(struct jobd *jd)
{
	struct proto_reply	 r = call(jd, PROTO_PING, "{}");
	cJSON			*jobs, *it;
	sqlite3_stmt		*st;
	int			 nonzero = 0, rows = 0;

	assert_true(r.ok);
	jobs = cJSON_GetObjectItem(r.body, "jobs");
	cJSON_ArrayForEach(it, jobs)
		nonzero += cJSON_GetNumberValue(it) != 0;
	assert_int_equal(sqlite3_prepare_v2(jd->db, "SELECT status, count(*) "
	    "FROM jobs GROUP BY status", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		it = cJSON_GetObjectItem(jobs,
		    (const char *)sqlite3_column_text(st, 0));
		assert_non_null(it);
		assert_int_equal((int64_t)cJSON_GetNumberValue(it),
		    sqlite3_column_int64(st, 1));
		rows++;
	}
	sqlite3_finalize(st);
	assert_int_equal(nonzero, rows);
	proto_reply_free(&r);
	assert_table_counts(jd, "jobs", "job_counts", "workspace_id",
	    "status");
	assert_table_counts(jd, "tasks", "task_counts", "kind", "state");
}

/* job.cancel of the newest job in a status */
static void
cancel_one(struct jobd *jd, const char *status)
{
	struct proto_reply	 r;
	sqlite3_stmt		*st;

	assert_int_equal(sqlite3_prepare_v2(jd->db, "SELECT id, workspace_id "
	    "FROM jobs WHERE status = ?1 ORDER BY jid DESC LIMIT 1", -1, &st,
	    NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	r = call(jd, PROTO_JOB_CANCEL, "{\"workspace_id\":\"%s\","
	    "\"job_id\":\"%s\"}", sqlite3_column_text(st, 1),
	    sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_true(r.ok);
	proto_reply_free(&r);
}

static void
test_job_counts_follow_every_status_change(void **state)
{
	struct jobd		*jd = *state;
	struct task		 t;
	struct proto_reply	 r;
	char			 path[1024];
	int			 i;

	assert_counts_agree(jd);
	for (i = 0; i < 6; i++)
		make_job(jd, 0);
	assert_counts_agree(jd);			/* pending */
	cancel_one(jd, PROTO_ST_PENDING);
	assert_counts_agree(jd);			/* cancelled */
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	assert_counts_agree(jd);			/* running */
	assert_string_equal(err_of(jd, PROTO_TASK_FINISH, &t), "ok");
	assert_counts_agree(jd);			/* completed */
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	r = call(jd, PROTO_TASK_FAIL, "{\"task_id\":%lld,\"lease_id\":"
	    "\"%s\",\"error\":\"gone\",\"retry\":false}",
	    (long long)t.id, t.lease);
	assert_true(r.ok);
	proto_reply_free(&r);
	assert_counts_agree(jd);			/* failed */
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	assert_true(lease(jd, PROTO_KIND_FETCH, &t));
	cancel_one(jd, PROTO_ST_RUNNING);
	assert_counts_agree(jd);
	fake_now += 31 * 1000;				/* leases expire */
	jobd_cron_run(jd, fake_now);
	assert_counts_agree(jd);
	/* a database of schema 6 with jobs in it: the counts start right */
	assert_int_equal(sqlite3_exec(jd->db, "DROP TRIGGER job_counts_ai;"
	    "DROP TRIGGER job_counts_au; DROP TRIGGER job_counts_ad;"
	    "DROP TRIGGER task_counts_ai; DROP TRIGGER task_counts_au;"
	    "DROP TRIGGER task_counts_ad; DROP TABLE job_counts;"
	    "DROP TABLE task_counts; ALTER TABLE tasks DROP COLUMN report_seq;"
	    "PRAGMA user_version = 6", NULL, NULL,
	    NULL), SQLITE_OK);
	snprintf(path, sizeof(path), "%s", jd->db_path);
	jobd_state_fini(jd);
	assert_int_equal(jobd_state_init(jd, path, 30), 0);
	assert_counts_agree(jd);
	make_job(jd, 0);
	assert_counts_agree(jd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_heartbeat_extends_expiry_requeues_with_checkpoint,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_is_idempotent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_report_seq_keeps_reports_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_attachment,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_and_retry_rules,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_media_completion_rule,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_rules,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_media_url_results_are_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_job_counts_follow_every_status_change, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
