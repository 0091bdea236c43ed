/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's trace configuration from the command line: --propagation, --sample-ratio,
 * --propagate, --inject-to. Parsed here, written into the BPF maps by datapath_set_tracing. */
#ifndef OBSBPF_TRACE_CFG_H
#define OBSBPF_TRACE_CFG_H

#include <stddef.h>
#include <obsbpf/types.h>

#define TRACE_CIDR_MAX 64

struct trace_cfg {
	struct obsbpf_trace_cfg k; /* the trace_cfg map's value */
	struct obsbpf_cidr_key cidrs[TRACE_CIDR_MAX];
	unsigned ncidrs;
};

/* Fills out; on a bad value writes a one-line reason naming the option to err, returns -EINVAL. */
int trace_cfg_parse(const char *propagation, const char *sample_ratio, const char *inject_to,
		    struct trace_cfg *out, char *err, size_t errlen);

/* --propagate always|sampled (NULL: always) into out->k.propagate. Returns 0, or -EINVAL with a
 * one-line reason in err. */
int trace_cfg_propagate(const char *propagate, struct trace_cfg *out, char *err, size_t errlen);

/* One CIDR ("10.0.0.0/8", "fd00::/8", a bare address = /32 or /128) as an LPM key, IPv4 mapped
 * into IPv6. Returns 0 or -EINVAL. */
int trace_cidr_parse(const char *s, struct obsbpf_cidr_key *out);

#endif
