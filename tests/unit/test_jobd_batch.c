/*
 * test_jobd_batch.c — a batch (proto.h BATCHES) runs in one transaction
 * with a savepoint per call: a call that fails undoes only itself, the
 * others are stored, and events go out once, after the commit.
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
#include <event2/event.h>

#include "jobd/jobd.h"

static char	 dbdir[] = "/tmp/rs-batch-XXXXXX";
static int	 n_work;

static void
count_events(const char *topic, const cJSON *body, void *arg)
{
	(void)body;
	(void)arg;
	if (strcmp(topic, PROTO_EV_WORK) == 0)
		n_work++;
}

static cJSON *
dispatch(struct jobd *jd, const char *env, int hooked)
{
	size_t	 len;
	char	*out;
	cJSON	*j;

	out = rep_dispatch_hooked(jobd_routes, jd,
	    hooked ? jobd_batch_begin : NULL, hooked ? jobd_batch_end : NULL,
	    env, strlen(env), &len);
	assert_non_null(out);
	j = cJSON_ParseWithLength(out, len);
	cJSON_free(out);
	assert_non_null(j);
	return j;
}

static char *
create_env(const char *id, const char *ws, const char *target)
{
	static char	 buf[8][512];
	static int	 i;
	char		*b = buf[i++ % 8];

	snprintf(b, 512, "{\"v\":1,\"id\":\"%s\",\"type\":\"job.create\","
	    "\"body\":{\"workspace_id\":\"%s\",\"target\":\"%s\","
	    "\"target_type\":\"subreddit\",\"mode\":\"full\",\"limit\":5,"
	    "\"download_media\":false,\"scrape_comments\":false,"
	    "\"plugins\":[]}}", id, ws, target);
	return b;
}

static void
test_batch_commits_once_and_undoes_only_the_failed_call(void **state)
{
	struct jobd	 jd;
	char		 path[300], ws[64], env[4096], *parts[3];
	size_t		 lens[3];
	const char	*missing = "ws_00000000-0000-4000-8000-000000000000";
	cJSON		*j, *replies, *r, *list;
	int		 i;

	(void)state;
	memset(&jd, 0, sizeof(jd));
	assert_non_null(mkdtemp(dbdir));
	snprintf(path, sizeof(path), "%s/rscrape.db", dbdir);
	assert_int_equal(jobd_state_init(&jd, path, 30), 0);
	jd.ev_hook = count_events;

	j = dispatch(&jd, "{\"v\":1,\"id\":\"w\",\"type\":\"workspace.create\","
	    "\"body\":{\"name\":\"t\"}}", 0);
	snprintf(ws, sizeof(ws), "%s", cJSON_GetStringValue(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
	    "body"), "workspace"), "id")));
	cJSON_Delete(j);

	parts[0] = create_env("c1", ws, "first");
	parts[1] = create_env("c2", missing, "lost");
	parts[2] = create_env("c3", ws, "third");
	for (i = 0; i < 3; i++)
		lens[i] = strlen(parts[i]);
	{
		size_t	 len;
		char	*b = proto_batch_encode("b", 0, parts, lens, 3, &len);

		assert_non_null(b);
		assert_true(len < sizeof(env));
		memcpy(env, b, len);
		env[len] = '\0';
		free(b);
	}
	n_work = 0;
	j = dispatch(&jd, env, 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
	replies = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "body"),
	    "replies");
	assert_int_equal(cJSON_GetArraySize(replies), 3);
	r = cJSON_GetArrayItem(replies, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	r = cJSON_GetArrayItem(replies, 1);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(r, "error"), "code")), PROTO_E_NOT_FOUND);
	r = cJSON_GetArrayItem(replies, 2);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	cJSON_Delete(j);
	assert_int_equal(jd.batch_tx, 0);
	/* two jobs made, one wake-up for the fetch workers */
	assert_int_equal(n_work, 1);

	/* what is stored is what the replies said */
	snprintf(env, sizeof(env), "{\"v\":1,\"id\":\"l\",\"type\":\"job.list\","
	    "\"body\":{\"workspace_id\":\"%s\",\"limit\":50,\"offset\":0}}", ws);
	j = dispatch(&jd, env, 0);
	list = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "body"), "jobs");
	assert_int_equal(cJSON_GetArraySize(list), 2);
	cJSON_Delete(j);
	/* and the database is out of the batch transaction */
	assert_int_equal(jobd_health(&jd), 0);

	jobd_state_fini(&jd);
	snprintf(path, sizeof(path), "rm -rf %s", dbdir);
	assert_int_equal(system(path), 0);
}

static void
queue_work(struct jobd *jd, const char *kind)
{
	cJSON	*ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, PROTO_F_KIND, kind);
	events_queue(jd, PROTO_EV_WORK, ev);
}

/*
 * work.available: the first commit's goes out at once; the next ones
 * within the gap become one, sent when the gap is over; each kind on its
 * own.
 */
static void
test_work_hints_are_spaced(void **state)
{
	struct jobd		 jd;
	struct event_base	*base;
	const char		*err = NULL;
	int			 i;

	(void)state;
	memset(&jd, 0, sizeof(jd));
	assert_non_null(base = event_base_new());
	assert_int_equal(events_open(&jd, base, "inproc://test-work-hints",
	    &err), 0);
	jd.ev_hook = count_events;
	n_work = 0;
	queue_work(&jd, PROTO_KIND_FETCH);
	events_flush(&jd);
	assert_int_equal(n_work, 1);
	for (i = 0; i < 5; i++) {
		queue_work(&jd, PROTO_KIND_FETCH);
		events_flush(&jd);
	}
	assert_int_equal(n_work, 1);		/* held back */
	queue_work(&jd, PROTO_KIND_MEDIA);
	events_flush(&jd);
	assert_int_equal(n_work, 2);		/* another kind: at once */
	assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	assert_int_equal(n_work, 3);		/* the held-back one, once */
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(n_work, 3);
	events_close(&jd);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_batch_commits_once_and_undoes_only_the_failed_call),
		cmocka_unit_test(test_work_hints_are_spaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
