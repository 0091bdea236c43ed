/* SPDX-License-Identifier: GPL-2.0 */
/* A pod's workload name from the pod's name alone, for service.name: the API server would say
 * which Deployment or StatefulSet owns the pod (identity.h), the node does not, but the
 * controllers name their pods predictably:
 * - a Deployment's: <deployment>-<pod-template-hash>-<5 random>, e.g. web-7d4b9c8f6d-x2x9q;
 * - a DaemonSet's, a Job's, a bare ReplicaSet's: <name>-<5 random>, e.g. fluent-bit-x2x9q;
 * - a StatefulSet's: <statefulset>-<ordinal>, e.g. postgres-0.
 * The random parts use Kubernetes' alphabet (no vowels, no 0 1 3), the hash 6 to 10 of its
 * characters. A name that does not end so is its own workload (a bare pod). */
#ifndef OBSBPF_POD_WORKLOAD_H
#define OBSBPF_POD_WORKLOAD_H

#include <stddef.h>

/* The workload name of pod into out (n bytes, NUL-terminated, cut when longer). */
void pod_workload_name(const char *pod, char *out, size_t n);

#endif
