/*
 * ctl_print.c — rscrapectl's output: aligned columns for people, JSON for
 * programs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"

struct ctl_table {
	size_t	 ncols;
	size_t	 nrows;		/* including the header row */
	char	**cells;	/* nrows * ncols */
};

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	void	*q;

	if (size != 0 && n > SIZE_MAX / size)
		q = NULL;
	else
		q = realloc(p, n * size);
	if (q == NULL) {
		fprintf(stderr, "rscrapectl: out of memory\n");
		exit(CTL_EXIT_FAIL);
	}
	return q;
}

static char *
xstrdup(const char *s)
{
	char	*d = strdup(s);

	if (d == NULL) {
		fprintf(stderr, "rscrapectl: out of memory\n");
		exit(CTL_EXIT_FAIL);
	}
	return d;
}

struct ctl_table *
ctl_table_new(size_t ncols, const char *const *headers)
{
	struct ctl_table	*t = xreallocarray(NULL, 1, sizeof(*t));

	t->ncols = ncols;
	t->nrows = 0;
	t->cells = NULL;
	ctl_table_add(t, headers);
	return t;
}

void
ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	size_t	 i;

	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof(*t->cells));
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] =
		    xstrdup(cells[i] != NULL ? cells[i] : "-");
	t->nrows++;
}

void
ctl_table_print(const struct ctl_table *t, FILE *fp)
{
	size_t	*width, r, i, n;

	width = xreallocarray(NULL, t->ncols, sizeof(*width));
	memset(width, 0, t->ncols * sizeof(*width));
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			n = strlen(t->cells[r * t->ncols + i]);
			if (n > width[i])
				width[i] = n;
		}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];

			/* no trailing blanks after the last column */
			if (i + 1 == t->ncols)
				fprintf(fp, "%s\n", s);
			else
				fprintf(fp, "%-*s  ", (int)width[i], s);
		}
	}
	free(width);
}

void
ctl_table_free(struct ctl_table *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void
ctl_print_json(const cJSON *v, FILE *fp)
{
	char	*s = cJSON_Print(v);

	if (s == NULL) {
		fprintf(stderr, "rscrapectl: cannot print JSON\n");
		return;
	}
	fprintf(fp, "%s\n", s);
	cJSON_free(s);
}

static void
fmt_number(double d, char *buf, size_t len)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		snprintf(buf, len, "%.0f", d);
	else
		snprintf(buf, len, "%g", d);
}

const char *
ctl_field(const cJSON *obj, const char *key, char *buf, size_t len)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON	*it;
	size_t		 used = 0;
	int		 n;

	if (v == NULL || cJSON_IsNull(v))
		return "-";
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "yes" : "no";
	if (cJSON_IsNumber(v)) {
		fmt_number(v->valuedouble, buf, len);
		return buf;
	}
	if (cJSON_IsArray(v)) {
		buf[0] = '\0';
		cJSON_ArrayForEach(it, v) {
			if (!cJSON_IsString(it))
				continue;
			n = snprintf(buf + used, len - used, "%s%s",
			    used ? "," : "", it->valuestring);
			if (n < 0 || (size_t)n >= len - used)
				break;
			used += (size_t)n;
		}
		return used ? buf : "-";
	}
	return "-";
}

void
ctl_fmt_duration(double seconds, char *buf, size_t len)
{
	long long	 s = seconds < 0 ? 0 : (long long)seconds;

	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

double
ctl_age(const char *rfc3339)
{
	struct tm	 tm;
	const char	*end;
	time_t		 t;

	if (rfc3339 == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	/* fractions of a second, then the Z */
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z") != 0)
		return -1;
	t = timegm(&tm);
	return difftime(time(NULL), t);
}
