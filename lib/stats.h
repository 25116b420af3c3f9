/*
 * stats.h — a process's own metrics, for GET /metrics (Prometheus text).
 *
 * A metric is a name and an optional label string, kept together as one
 * key in Prometheus' exposition syntax: name{kind="listing",status="200"}.
 * Counters only grow (stats_add); gauges are set (stats_set). Workers send
 * the whole set to jobd every few seconds (stats.report, proto/proto.h);
 * httpd renders its own and everyone's.
 *
 * Names and label values are the program's own constants (never input
 * from the network), so no escaping happens here; stats_key_ok() guards
 * what is read back from another process.
 */
#ifndef RSCRAPE_STATS_H
#define RSCRAPE_STATS_H

#include <cjson/cJSON.h>

#define STATS_MAX	512	/* distinct keys per process; more are dropped */

/* labels: NULL or 'a="x",b="y"' */
void	 stats_add(const char *name, const char *labels, double v);
void	 stats_set(const char *name, const char *labels, double v);
double	 stats_get(const char *name, const char *labels);
/* {"key": value, ...}: every metric of this process */
cJSON	*stats_json(void);
/* a key as built here: name[{label="value",...}], safe to print as is */
int	 stats_key_ok(const char *key);
void	 stats_reset(void);

#endif
