/*
 * testdata.h — reading test data (tests/data, or $RSCRAPE_TESTDATA) in the
 * unit tests; include after <cmocka.h>.
 */
#ifndef RSCRAPE_TESTDATA_H
#define RSCRAPE_TESTDATA_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static inline const char *
datadir(void)
{
	const char	*d = getenv("RSCRAPE_TESTDATA");

	return d != NULL ? d : "tests/data";
}

/* the whole file, NUL-terminated; the test fails when it cannot be read */
static inline char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s (run from the source tree or set "
		    "RSCRAPE_TESTDATA)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*lenp = (size_t)n;
	return buf;
}

/* a recorded Reddit response from tests/data/reddit/ */
static inline char *
fixture(const char *name, size_t *lenp)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/reddit/%s", datadir(), name);
	return slurp(path, lenp);
}

/*
 * A comment record's raw, parsed: fetchd keeps it as printed JSON text (a
 * cJSON raw item) until jobd has it. The caller deletes the result.
 */
static inline cJSON *
raw_json(const cJSON *record)
{
	const cJSON	*raw = cJSON_GetObjectItemCaseSensitive(record, "raw");

	if (cJSON_IsRaw(raw))
		return cJSON_Parse(raw->valuestring);
	return cJSON_Duplicate(raw, 1);
}

/*
 * Every recorded response, whole, to fn: each file of tests/data/reddit
 * but INDEX.md. Returns how many there were.
 */
static inline int
each_fixture(void (*fn)(char *buf, size_t len, void *arg), void *arg)
{
	char		 path[1024];
	struct dirent	*de;
	DIR		*d;
	char		*buf;
	size_t		 len;
	int		 files = 0;

	snprintf(path, sizeof(path), "%s/reddit", datadir());
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "INDEX.md") == 0)
			continue;
		buf = fixture(de->d_name, &len);
		fn(buf, len, arg);
		free(buf);
		files++;
	}
	closedir(d);
	return files;
}

/*
 * Deterministic byte damage: copies of each named fixture with one byte
 * set to JSON punctuation at a pseudo-random place (an LCG from seed), to
 * fn. The same seed damages the same bytes on every run.
 */
static inline void
each_damaged(const char *const *files, size_t nfiles, int copies,
    uint32_t seed, void (*fn)(char *buf, size_t len, void *arg), void *arg)
{
	static const char junk[] = "{}[]\":,0-e\"\\ntf";
	char		*buf, *copy;
	size_t		 len, f, pos;
	int		 i;

	for (f = 0; f < nfiles; f++) {
		buf = fixture(files[f], &len);
		assert_non_null(copy = malloc(len));
		for (i = 0; i < copies; i++) {
			memcpy(copy, buf, len);
			seed = seed * 1103515245 + 12345;
			pos = (seed >> 8) % len;
			copy[pos] = junk[(seed >> 4) % (sizeof(junk) - 1)];
			fn(copy, len, arg);
		}
		free(copy);
		free(buf);
	}
}

#endif
