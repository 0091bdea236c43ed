/* SPDX-License-Identifier: GPL-2.0 */
/* The service graph's views of the exchanges user space decodes (HTTP/2, gRPC, HTTP over TLS):
 * what graph_hist holds for the kernel's, for both sides, in the same entry format, so that
 * graph_render reads them alike. Bounded like graph_hist: past max (pod, side, peer) series a
 * pod's further peers count under its address-less key. Single-threaded (the event loop). */
#ifndef OBSBPF_GRAPH_STORE_H
#define OBSBPF_GRAPH_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/datapath.h"

struct graph_store;

struct graph_store *graph_store_new(unsigned max);
void graph_store_free(struct graph_store *s);

/* One exchange of pod_id on side dir with the peer's address a (NULL: not known, counted as
 * "other"), failed or not, of ns. */
void graph_store_record(struct graph_store *s, uint32_t pod_id, uint8_t dir, const struct obsbpf_addrs *a,
			bool failed, uint64_t ns);
void graph_store_forget_pod(struct graph_store *s, uint32_t pod_id);

/* The series (key: pod_id, dir, family/peer, status 1 when failed), *n of them. */
const struct dp_hist_entry *graph_store_entries(const struct graph_store *s, int *n);
/* Exchanges counted under "other": the store was full. */
uint64_t graph_store_other(const struct graph_store *s);

#endif
