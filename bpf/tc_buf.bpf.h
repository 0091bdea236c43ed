/* SPDX-License-Identifier: GPL-2.0 */
/* The state one run of a tc program works on (struct tc_buf, a per-CPU scratch map) and the
 * structs the head walk fills. bpf/tc.bpf.c only. */
#ifndef OBSBPF_TC_BUF_BPF_H
#define OBSBPF_TC_BUF_BPF_H

#include "conn.bpf.h"
#include "trace.bpf.h"

#define TC_ACT_OK  0
#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET	   2
#define AF_INET6   10
#define IP_MF	   0x2000
#define IP_OFFSET  0x1fff

#define TC_HEAD_MAX 1024 /* bytes of a request head searched for trace headers */
/* What a lone response needs loaded: its status line up to the code ("HTTP/1.1 200 "). The
 * copy of a whole line buffer was a tenth of tc egress's time. */
#define TC_STATUS_BYTES 16

/* What a walk over a message head found: where the head ends (0: not within the bytes loaded)
 * and the body length (BODY_UNKNOWN / BODY_CHUNKED when not given by Content-Length). */
struct tc_head {
	__u32 head_end;
	__u32 first_nl; /* where the start line ends (its '\n'); 0: not within the bytes loaded */
	__s64 body;
};

/* What the walk over a head collects; a sized type so that a global subprogram can take it. */
struct tc_found {
	struct trace_found f;
	struct tc_head h;
	__u32 props;
	__u32 pad;
};

struct pkt {
	struct bpf_sock_tuple t;
	__u32 payload_off;
	__u32 seq;
	struct obsbpf_addrs a;
};

/* Everything one run of a tc program works on: the payload's first bytes (a start line, or a
 * head when tracing, with slack after TC_HEAD_MAX so that a header line at any offset can be
 * handed on whole as a struct trace_line), the segment, and the walk's position. Loop-carried
 * values live here rather than on the stack: the verifier does not follow values through map
 * memory, so every step of a walk is one state for it whatever the offsets are (on the stack,
 * each (offset, line start) pair was a state of its own: 1M instructions).
 * A per-CPU map is safe because neither tc hook nests into the other on a CPU (ingress runs in
 * softirq, egress with bottom halves disabled). */
struct tc_buf {
	union {
		struct obsbpf_line line;
		__u8 b[TC_HEAD_MAX];
	};
	__u8 slack[TRACE_LINE_BUF];
	struct tc_found fd;
	struct obsbpf_trace t;
	struct obsbpf_pending p; /* the request a response answers */
	struct pkt k;
	struct obsbpf_hpack_buf hp; /* HTTP/2: a request's header block, scanned for a traceparent */
	__u32 len;		    /* payload bytes of the segment */
	__u32 off;		    /* where the current message starts in the payload */
	__u32 n;		    /* bytes of it in b */
	__u32 egress;		    /* responses leaving server sockets, not messages arriving */
	__u32 start;		    /* the head walk: where the current line starts */
	__u32 pad;
	__u32 req_pending; /* HTTP/2: the walk stopped at a request's HEADERS */
	__u32 req_none;	   /* HTTP/2: the segment's requests get no span context from here on */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_buf);
} tc_scratch SEC(".maps") __weak; /* weak: bpf/h2.bpf.c includes this file too */

static __always_inline struct tc_buf *scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&tc_scratch, &zero);
}

#endif
