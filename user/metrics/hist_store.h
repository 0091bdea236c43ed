/* SPDX-License-Identifier: GPL-2.0 */
/* Duration histograms kept in user space, for what the kernel cannot aggregate itself: HTTP/2
 * and gRPC, whose methods, paths and statuses are HPACK-encoded and decoded only here. A
 * series is (pod, family, label pairs); buckets are the kernel's (OBSBPF_HIST_BOUNDS), so
 * that an HTTP/2 series sits beside the HTTP/1 ones of the same family. Each bucket keeps its
 * latest sampled request as the exemplar. Bounded: past max_series, records are refused and
 * counted. Single-threaded, like the event loop that owns it. */
#ifndef OBSBPF_HIST_STORE_H
#define OBSBPF_HIST_STORE_H

#include <stdint.h>

#include "http/server.h"
#include "metrics/exemplars.h"
#include "metrics/red.h"

enum hist_family {
	HF_HTTP_SERVER = 0, /* http_server_request_duration_seconds */
	HF_HTTP_CLIENT,	    /* http_client_request_duration_seconds */
	HF_RPC_SERVER,	    /* rpc_server_duration_seconds */
	HF_RPC_CLIENT,	    /* rpc_client_duration_seconds */
	HF_MAX,
};

struct hist_store;

/* NULL on out of memory. */
struct hist_store *hist_store_new(unsigned max_series);
void hist_store_free(struct hist_store *s);

/* Records a duration of ns under the series (pod_id, f, labels); labels are the family's own
 * pairs, rendered and escaped ("a=\"x\",b=\"y\""). t (may be NULL): the request's trace, kept
 * as the bucket's exemplar when sampled; unix_ms: when it ended. Returns 0, or -ENOSPC (the
 * series limit) or -ENOMEM: not recorded, counted. */
int hist_store_record(struct hist_store *s, uint32_t pod_id, enum hist_family f, const char *labels,
		      uint64_t ns, const struct obsbpf_trace *t, int64_t unix_ms);

/* The series of family f, each under its pod's labels (pods whose id is not in pods are left
 * out), sorted; no family header: they join the family the caller is writing. Exemplars only
 * in OpenMetrics. */
void hist_store_render(const struct hist_store *s, struct strbuf *out, enum exposition_format fmt,
		       enum hist_family f, const struct red_pod *pods, int npods);

/* The pod went: its series go too. */
void hist_store_forget_pod(struct hist_store *s, uint32_t pod_id);

unsigned hist_store_series(const struct hist_store *s);
/* Records refused: the series limit was reached, or memory ran out. */
uint64_t hist_store_dropped(const struct hist_store *s);

#endif
