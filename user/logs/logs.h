/* SPDX-License-Identifier: GPL-2.0 */
/* Log forwarding: tails the pod's log files (and its CRI container logs), parses and enriches
 * each line, and ships the records with Fluent Forward (or prints them as JSON lines), with
 * offsets checkpointed only after the collector acked them. See docs/logs.md. */
#ifndef OBSBPF_LOGS_H
#define OBSBPF_LOGS_H

struct agent;
struct obsbpf_config;
struct logs;

/* Starts on a->loop into *out and registers its metrics with a->http (when set). Returns 0
 * (*out NULL when log forwarding is not configured: no --forward and --logs-out forward), or -1
 * after logging one line when it cannot start. */
int logs_start(struct agent *a, struct logs **out);
void logs_stop(struct logs *l);

/* `obsbpf logs`: log forwarding alone (no BPF), serving /metrics; until SIGINT/SIGTERM. */
int logs_run(const struct obsbpf_config *cfg);

#endif
