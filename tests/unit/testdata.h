/*
 * testdata.h — reading test data (tests/data, or $RSCRAPE_TESTDATA) in the
 * unit tests; include after <cmocka.h>.
 */
#ifndef RSCRAPE_TESTDATA_H
#define RSCRAPE_TESTDATA_H

#include <stdio.h>
#include <stdlib.h>

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

#endif
