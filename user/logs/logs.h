/* SPDX-License-Identifier: GPL-2.0 */
/* Log forwarding: tails the pod's log files (and its CRI container logs), parses and enriches
 * each line, and ships the records with Fluent Forward (or prints them as JSON lines), with
 * offsets checkpointed only after the collector acked them. See docs/logs.md. */
#ifndef OBSBPF_LOGS_H
#define OBSBPF_LOGS_H

#include <stdbool.h>

struct agent;
struct obsbpf_config;
struct logs;

/* Starts on a->loop into *out and registers its metrics with a->http (when set). Returns 0
 * (*out NULL when log forwarding is not configured: no --forward and --logs-out forward), or -1
 * after logging one line when it cannot start. In daemon mode (a->mode "daemon") the inputs are
 * the container logs of the node's pods under --pod-logs that a->select selects, and records
 * name their pod with the k8s_* keys. */
int logs_start(struct agent *a, struct logs **out);
void logs_stop(struct logs *l);

/* What is followed of one pod (attach: of the pod, whatever uid): for the status document. */
struct logs_pod_status {
	int files;
	unsigned long long lines, unparsed, truncated;
};
/* false when log forwarding is off (l NULL); zeroes when nothing of the pod is followed. */
bool logs_pod_status(const struct logs *l, const char *uid, struct logs_pod_status *out);

/* `obsbpf logs`: log forwarding alone (no BPF), serving /metrics; until SIGINT/SIGTERM. */
int logs_run(const struct obsbpf_config *cfg);

#endif
