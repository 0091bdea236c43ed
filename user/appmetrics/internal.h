/* SPDX-License-Identifier: GPL-2.0 */
/* State shared by the adapter's parts: scrape (appmetrics.c), health (health.c), push (push.c). */
#ifndef OBSBPF_APPMETRICS_INTERNAL_H
#define OBSBPF_APPMETRICS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "util/strbuf.h"
#include "expo.h"

struct agent;
struct fetcher;
struct loop_watch;

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

struct appmetrics {
	struct agent *a;
	const struct obsbpf_config *cfg;
	struct fetcher *fx;

	/* labels put on every app series: the pod's, then --label */
	const char *lnames[3 + OPT_LIST_MAX];
	const char *lvalues[3 + OPT_LIST_MAX];
	char *lstore[OPT_LIST_MAX]; /* --label copies, split at '=' */
	struct expo_label_set labels;

	/* scrape */
	const char *url; /* NULL: off */
	struct loop_watch *scrape_timer;
	bool scraping, up;
	struct expo_doc *doc;	/* last good scrape; NULL after a failed one */
	struct strbuf cache[2]; /* doc rendered, per exposition format */
	bool cached[2];
	uint64_t scrapes, errors[SE_MAX];
	double duration;
	bool rendering_for_push; /* the Pushgateway refuses timestamps */

	/* health proxy */
	struct loop_watch *health_timer;
	bool probing, probed, healthy;
	unsigned fails_in_row;
	uint64_t probe_failures;
	char health_why[256];

	/* Pushgateway */
	char *push_url;
	struct loop_watch *push_timer;
	bool pushing;
	unsigned push_fails_in_row;
	uint64_t pushes_ok, pushes_failed;
};

int health_start(struct appmetrics *m);
void health_stop(struct appmetrics *m);
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
 * Then the sample prefix: name, '{', the pod labels. */
void am_family(struct strbuf *out, enum exposition_format f, const char *name, const char *type,
	       const char *help);
void am_sample(struct appmetrics *m, struct strbuf *out, const char *name, const char *extra, double v);

#endif
