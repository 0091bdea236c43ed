/* SPDX-License-Identifier: GPL-2.0 */
/* State shared by the adapter's parts: scrape and the collector (appmetrics.c), health
 * (health.c), push (push.c). One target per pod: attach has one, daemon one per attached pod. */
#ifndef OBSBPF_APPMETRICS_INTERNAL_H
#define OBSBPF_APPMETRICS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "util/strbuf.h"
#include "expo.h"
#include "rules.h"

struct agent;
struct agent_pod;
struct fetcher;
struct loop_watch;
struct pod_info;

enum scrape_err {
	SE_CONNECT,
	SE_TIMEOUT,
	SE_HTTP_STATUS,
	SE_PARSE,
	SE_TOO_LARGE,
	SE_SERIES_LIMIT,
	SE_LABEL_LIMIT,
	SE_MAX
};

#define AM_POD_LABELS 3 /* k8s_pod_name, k8s_namespace_name, k8s_node_name */

/* One pod's app: its metrics endpoint and health URL. */
struct am_target {
	struct appmetrics *m;
	uint32_t pod_id;
	const struct pod_info *pod; /* the agent's, valid while the target is */
	/* labels put on every app series: the pod's, then --label */
	const char *lnames[AM_POD_LABELS + OPT_LIST_MAX];
	const char *lvalues[AM_POD_LABELS + OPT_LIST_MAX];
	struct expo_label_set labels;

	/* scrape */
	char *url; /* NULL: off */
	unsigned interval;
	struct loop_watch *scrape_timer;
	bool scraping, up;
	struct expo_doc *doc;	/* last good scrape; NULL after a failed one */
	struct strbuf cache[2]; /* doc rendered, per exposition format (attach) */
	bool cached[2];
	uint64_t scrapes, errors[SE_MAX];
	double duration;
	char last_error[256]; /* why the last scrape failed; "" after a good one */
	unsigned conflicts;   /* samples left out of the last merged rendering (daemon) */

	/* health proxy */
	char *health_url; /* NULL: off */
	struct loop_watch *health_timer;
	bool probing, probed, healthy;
	unsigned fails_in_row;
	uint64_t probe_failures;
	char health_why[256];
};

struct appmetrics {
	struct agent *a;
	const struct obsbpf_config *cfg;
	struct fetcher *fx;
	bool daemon; /* targets come and go with the pods; health is no /readyz check */

	/* --label, split at '=' */
	const char *xnames[OPT_LIST_MAX];
	const char *xvalues[OPT_LIST_MAX];
	char *xstore[OPT_LIST_MAX];
	unsigned nx;
	/* daemon: --app-metrics-rule */
	struct am_rule *rules;
	int nrules;

	struct am_target **t;
	int nt;
	size_t cap;
	/* daemon: every target's app series rendered as one exposition, per format, until a
	 * scrape or a pod changes it (gen) */
	uint64_t gen, cache_gen[2];
	struct strbuf mcache[2];
	bool rendering_for_push; /* the Pushgateway refuses timestamps */

	/* Pushgateway */
	char *push_url;
	struct loop_watch *push_timer;
	bool pushing;
	unsigned push_fails_in_row;
	uint64_t pushes_ok, pushes_failed;
};

int health_start(struct am_target *t);
void health_stop(struct am_target *t);
void health_collect(struct appmetrics *m, struct strbuf *out, enum exposition_format f);

int push_start(struct appmetrics *m);
void push_stop(struct appmetrics *m);
void push_collect(struct appmetrics *m, struct strbuf *out, enum exposition_format f);
/* The grouping key path of the Pushgateway API, with values encoded per its rules. */
void push_group_path(struct strbuf *out, const char *job, const char *instance);
/* Delay before retrying after the n-th failed push in a row: 1 s, 2 s, 4 s... up to the interval,
 * jittered (util/backoff.h, rnd in [0,1)). */
uint64_t push_backoff_ms(unsigned fails_in_row, uint64_t interval_ms, double rnd);

/* "# HELP"/"# TYPE" (and OpenMetrics' "# UNIT") of one of our families: http_expo_family.
 * Then one sample of the target: name, '{', the pod labels, extra, '}', value. */
void am_family(struct strbuf *out, enum exposition_format f, const char *name, const char *type,
	       const char *help);
void am_sample(const struct am_target *t, struct strbuf *out, const char *name, const char *extra, double v);
/* The node's own samples (the Pushgateway's pushes in daemon mode): k8s_node_name only. */
void am_node_sample(const struct appmetrics *m, struct strbuf *out, const char *name, const char *extra,
		    double v);
/* The app's series changed (a scrape, a pod): renderings are stale. */
void am_invalidate(struct am_target *t);

#endif
