/*
 * test_mediad_store.c — the content-addressed store on a real event loop
 * and offload threads: temp files of dead processes are removed at open,
 * a sink hashes while it writes and stops at max_bytes, a commit makes
 * media/<aa>/<sha>.<ext> appear whole, and the same bytes are stored once.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mediad/mediad.h"

/* sha256("hello world") */
#define HELLO_SHA \
	"b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"

struct env {
	char		 dir[64];
	struct event_base *base;
	struct offload	*ol;
	struct store	*st;
};

static struct stored last;
static int done;

static void
on_stored(const struct stored *res, void *arg)
{
	(void)arg;
	last = *res;
	done++;
}

static void
wait_done(struct env *e, int n)
{
	int	 spins = 0;

	while (done < n && spins++ < 1000)
		event_base_loop(e->base, EVLOOP_ONCE);
	assert_int_equal(done, n);
}

static int
count_files(const char *dir)
{
	char	 cmd[256];
	FILE	*p;
	int	 n = -1;

	snprintf(cmd, sizeof(cmd), "find %s -type f | wc -l", dir);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static int
setup(void **state)
{
	struct env	*e = calloc(1, sizeof(*e));
	char		 path[128], err[256];
	FILE		*f;

	snprintf(e->dir, sizeof(e->dir), "/tmp/rscrape-store-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	/* a crash left a temp file behind (pid 2^22 + 1 cannot exist) */
	snprintf(path, sizeof(path), "%s/media/.tmp", e->dir);
	snprintf(err, sizeof(err), "mkdir -p %s", path);
	assert_int_equal(system(err), 0);
	snprintf(path, sizeof(path), "%s/media/.tmp/4194305-7.part", e->dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("half a file", f);
	fclose(f);
	e->base = event_base_new();
	e->ol = offload_new(e->base, 2);
	assert_non_null(e->ol);
	e->st = store_open(e->dir, e->ol, err, sizeof(err));
	assert_non_null(e->st);
	done = 0;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env	*e = *state;
	char		 cmd[128];

	store_close(e->st);
	offload_free(e->ol);
	event_base_free(e->base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd) != 0)
		return -1;
	free(e);
	return 0;
}

static void
test_open_removes_crash_leftovers(void **state)
{
	struct env	*e = *state;

	assert_int_equal(count_files(e->dir), 0);
}

static void
test_commit_and_dedupe(void **state)
{
	struct env	*e = *state;
	struct sink	*s;
	char		 err[256], path[640];
	struct stat	 sb;

	assert_non_null(s = sink_new(e->st, 100, err, sizeof(err)));
	assert_int_equal(sink_write(s, "hello ", 6), 0);
	assert_int_equal(sink_write(s, "world", 5), 0);
	sink_finish(s);
	assert_string_equal(s->sha, HELLO_SHA);
	assert_int_equal(s->bytes, 11);
	assert_memory_equal(s->head, "hello world", 11);
	/* not visible before the commit */
	assert_int_equal(count_files(e->dir), 1);
	store_commit_sink(s, "txt", on_stored, NULL);
	wait_done(e, 1);
	assert_true(last.ok);
	assert_false(last.existed);
	assert_string_equal(last.path, "media/b9/" HELLO_SHA ".txt");
	snprintf(path, sizeof(path), "%s/%s", e->dir, last.path);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 11);

	/* the same bytes again: stored once, no temp file left */
	assert_non_null(s = sink_new(e->st, 100, err, sizeof(err)));
	assert_int_equal(sink_write(s, "hello world", 11), 0);
	sink_finish(s);
	store_commit_sink(s, "txt", on_stored, NULL);
	wait_done(e, 2);
	assert_true(last.ok);
	assert_true(last.existed);
	assert_int_equal(count_files(e->dir), 1);
}

static void
test_max_bytes_and_discard(void **state)
{
	struct env	*e = *state;
	struct sink	*s;
	char		 err[256];

	assert_non_null(s = sink_new(e->st, 8, err, sizeof(err)));
	assert_int_equal(sink_write(s, "12345", 5), 0);
	assert_int_equal(sink_write(s, "6789", 4), -1);
	assert_true(s->too_big);
	assert_int_equal(s->bytes, 5);
	sink_discard(s);
	assert_int_equal(count_files(e->dir), 0);
}

static void
test_commit_file_hashes_it(void **state)
{
	struct env	*e = *state;
	char		 tmp[512];
	FILE		*f;

	store_tmp_path(e->st, "mp4", tmp, sizeof(tmp));
	assert_non_null(f = fopen(tmp, "w"));
	fputs("hello world", f);
	fclose(f);
	store_commit_file(e->st, tmp, "mp4", on_stored, NULL);
	wait_done(e, 1);
	assert_true(last.ok);
	assert_string_equal(last.sha, HELLO_SHA);
	assert_int_equal(last.bytes, 11);
	assert_string_equal(last.path, "media/b9/" HELLO_SHA ".mp4");
	assert_int_equal(access(tmp, F_OK), -1);
}

static void
test_forgotten_commit_still_stores(void **state)
{
	struct env	*e = *state;
	struct sink	*s;
	char		 err[256];
	void		*h;

	assert_non_null(s = sink_new(e->st, 100, err, sizeof(err)));
	assert_int_equal(sink_write(s, "abc", 3), 0);
	sink_finish(s);
	h = store_commit_sink(s, "bin", on_stored, NULL);
	store_forget(h);
	while (offload_pending(e->ol) > 0)
		event_base_loop(e->base, EVLOOP_ONCE);
	assert_int_equal(done, 0);
	assert_int_equal(count_files(e->dir), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_removes_crash_leftovers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_and_dedupe, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_max_bytes_and_discard,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_file_hashes_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_forgotten_commit_still_stores,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
