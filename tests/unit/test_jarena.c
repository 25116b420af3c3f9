/*
 * test_jarena.c — trees parsed into arenas (lib/jarena.c) are the
 * trees cJSON builds, freed whole by their cJSON_Delete, in any order,
 * while other cJSON memory keeps going to malloc and free. Run under
 * ASan (make SANITIZE=1 test), a stray free or a leak fails it.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fetchd/fetchd_parse.h"
#include "lib/jarena.h"
#include "tests/unit/testdata.h"

#define NTREES	64

static void
test_trees_as_cjson_builds_them(void **state)
{
	char		 path[1024], *buf[NTREES], *a, *b, *big;
	struct dirent	*de;
	DIR		*d;
	cJSON		*tree[NTREES], *plain, *mixed;
	size_t		 len[NTREES], n = 0, i, cut;
	const char	*err;

	(void)state;
	jarena_install();
	/* every fixture at once (several arenas alive), then freed unordered */
	snprintf(path, sizeof(path), "%s/reddit", datadir());
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL && n < NTREES) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "INDEX.md") == 0)
			continue;
		buf[n] = fixture(de->d_name, &len[n]);
		if ((tree[n] = rd_json_parse(buf[n], len[n], &err)) == NULL) {
			free(buf[n]);
			continue;
		}
		n++;
	}
	closedir(d);
	assert_true(n >= 25);
	for (i = 0; i < n; i++) {
		/* the same text as a tree parsed without the arena */
		a = cJSON_PrintUnformatted(tree[i]);
		plain = cJSON_ParseWithLength(buf[i], len[i]);
		assert_non_null(plain);
		b = cJSON_PrintUnformatted(plain);
		assert_string_equal(a, b);
		cJSON_free(a);
		cJSON_free(b);
		cJSON_Delete(plain);
		/* truncated bodies: a failed parse leaves nothing behind */
		for (cut = 1; cut < 4; cut++)
			assert_null(rd_json_parse(buf[i], len[i] * cut / 4,
			    &err));
	}
	for (i = 0; i < n; i += 2)
		cJSON_Delete(tree[i]);
	/* memory made between trees: malloc'd, moved into none of them */
	mixed = cJSON_CreateObject();
	cJSON_AddItemToObject(mixed, "raw", cJSON_CreateRaw("{}"));
	for (i = 1; i < n; i += 2)
		cJSON_Delete(tree[n - i - (n % 2 == 0 ? 0 : 1)]);
	cJSON_Delete(mixed);
	for (i = 0; i < n; i++)
		free(buf[i]);

	/* strings bigger than an arena takes, and a bare string root */
	big = malloc(100003);
	memset(big, 'x', 100003);
	big[0] = '"';
	big[100001] = '"';
	big[100002] = '\0';
	assert_non_null(plain = rd_json_parse(big, 100002, &err));
	assert_int_equal(strlen(plain->valuestring), 100000);
	cJSON_Delete(plain);
	free(big);
	assert_null(rd_json_parse("{", 1, &err));
	assert_null(rd_json_parse("", 0, &err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trees_as_cjson_builds_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
