/* SPDX-License-Identifier: GPL-2.0 */
/* Daemon mode's app rules (--app-metrics-rule): which endpoint to scrape and probe in which pod.
 * "[NS/]GLOB KEY=VALUE..." with keys metrics (PORT[/PATH], an http(s) URL, or off), interval
 * (seconds) and health (the same forms as metrics). The first rule whose pattern matches a pod
 * decides; what it does not say, and pods no rule matches, take --app-metrics,
 * --app-metrics-interval and --app-health. Pure functions, unit-tested. */
#ifndef OBSBPF_APPMETRICS_RULES_H
#define OBSBPF_APPMETRICS_RULES_H

#include <stddef.h>

#define AM_URL_MAX 512

struct am_rule {
	char ns[64]; /* "": any namespace */
	char glob[256];
	char metrics[AM_URL_MAX]; /* a URL, "off", or "" when the rule does not say */
	unsigned interval;	  /* 0: the rule does not say */
	char health[AM_URL_MAX];
};

/* Parses one rule. 0, or -EINVAL with a one-line reason in err. */
int am_rule_parse(const char *text, struct am_rule *out, char *err, size_t errlen);

/* What one pod gets: metrics "" when off, health "" when off. */
struct am_pod_cfg {
	char metrics[AM_URL_MAX];
	unsigned interval;
	char health[AM_URL_MAX];
	int rule; /* the index of the rule that matched, -1: none */
};

struct am_defaults {
	const char *metrics; /* --app-metrics: URL, "off" or NULL */
	unsigned interval;
	const char *health; /* --app-health: URL or NULL */
};

/* ns: the pod's namespace, NULL or "" when not known (a rule naming one does not match). */
void am_pod_cfg(const struct am_rule *rules, int n, const struct am_defaults *d, const char *ns,
		const char *name, struct am_pod_cfg *out);

#endif
