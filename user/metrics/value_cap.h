/* SPDX-License-Identifier: GPL-2.0 */
/* Bounds a label's cardinality per pod, as the kernel's route table does for HTTP/1: the first
 * `max` distinct values of a kind (an HTTP/2 route, a gRPC method) each pod shows are kept,
 * later ones become "_OTHER". */
#ifndef OBSBPF_VALUE_CAP_H
#define OBSBPF_VALUE_CAP_H

#include <stdint.h>

struct value_cap;

struct value_cap *value_cap_new(unsigned max);
void value_cap_free(struct value_cap *c);
/* v itself when it is one of the first max values of (pod_id, kind), else "_OTHER". */
const char *value_cap_get(struct value_cap *c, uint32_t pod_id, uint8_t kind, const char *v);
void value_cap_forget_pod(struct value_cap *c, uint32_t pod_id);
/* Distinct values kept, all pods and kinds. */
unsigned value_cap_size(const struct value_cap *c);

#endif
