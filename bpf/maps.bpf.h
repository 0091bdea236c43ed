/* SPDX-License-Identifier: GPL-2.0 */
/* Every map of the obsbpf BPF object. Weak, so that each bpf/ program file can include this file
 * and `bpftool gen object` links them into one map each. Key/value types: include/obsbpf. */
#ifndef OBSBPF_MAPS_BPF_H
#define OBSBPF_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <obsbpf/h2.h>
#include <obsbpf/tls.h>
/* A block's integers and values are read in global subprograms (bpf/h2.bpf.c): verified once,
 * not in every path of the walk over the block's fields. The block is the buffer's first
 * member (struct obsbpf_hpack_buf). */
struct obsbpf_hpack_buf;
extern int obsbpf_hpack_int_bpf(struct obsbpf_hpack_buf *hb, __u32 bits);
extern int obsbpf_hpack_value_bpf(struct obsbpf_hpack_buf *hb, __u32 i, __u32 len, __u32 huff);
#define OBSBPF_HPACK_INT(b, s, bits) obsbpf_hpack_int_bpf((struct obsbpf_hpack_buf *)(b), bits)
#define OBSBPF_HPACK_VALUE(b, s, i, len, huff) \
	obsbpf_hpack_value_bpf((struct obsbpf_hpack_buf *)(b), i, len, huff)
#include <obsbpf/hpack.h>

/* Per-socket state of the pod's TCP connections. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct obsbpf_conn);
} conn_state SEC(".maps") __weak;

/* The pod's sockets, keyed by socket cookie: sk_msg runs on every sendmsg of these. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} pod_socks SEC(".maps") __weak;

/* cgroup v2 id of a pod's cgroup -> pod id. Filled by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OBSBPF_MAX_PODS);
	__type(key, __u64);
	__type(value, __u32);
} pods SEC(".maps") __weak;

/* Local ports of the agent's own sockets in the pod's netns (app scrapes, health probes):
 * connections from them are the agent's, not the app's traffic, and are not followed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} agent_ports SEC(".maps") __weak;

/* Request duration histograms, aggregated in-kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct obsbpf_hist_key);
	__type(value, struct obsbpf_hist_val);
} http_hist SEC(".maps") __weak;

/* The service graph's server side: each server series again per client address (route, method
 * and status left out; status 1 marks the failed ones). Sized by --max-graph-peers before load;
 * a client address that finds it full is counted under the pod's address-less key. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct obsbpf_hist_key);
	__type(value, struct obsbpf_hist_val);
} graph_hist SEC(".maps") __weak;

/* route id -> first raw path seen for it; max_entries (--max-routes) bounds cardinality. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct obsbpf_route);
} routes SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OBSBPF_ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps") __weak;

/* Which exchanges get an event (struct obsbpf_events_cfg). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct obsbpf_events_cfg);
} events_cfg SEC(".maps") __weak;

/* One event per completed exchange (see events_cfg), for spans, exemplars and `observe`. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} http_events SEC(".maps") __weak;

/* Client connections asking to leave pod_socks (struct obsbpf_release_event): at most one per
 * connection, read at once; the agent runs the release iterator in the pod's netns. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} release_events SEC(".maps") __weak;

/* HTTP/2 frames for user space to decode (struct obsbpf_h2_event): every header block chunk,
 * stream ends, settings. Larger than http_events: a connection's blocks must all arrive. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} h2_events SEC(".maps") __weak;

/* [0]: HTTP/2 connections open. While there are any, tc ingress looks up the socket of every
 * segment (frames start with any byte), not only of those that can start an HTTP/1 message. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} h2_live SEC(".maps") __weak;

/* sk_msg's copy of a request's header block, for the traceparent scan: only for HTTP/2 client
 * connections while tracing, made on their first request. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct obsbpf_hpack_buf);
} h2_txbuf SEC(".maps") __weak;

/* The span context sk_msg gave each HTTP/2 request it saw leave, until tc egress reports it with
 * the request's HEADERS (LRU: an entry tc never takes, the connection gone, ages out). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct obsbpf_h2_stream_key);
	__type(value, struct obsbpf_trace);
} h2_tx_trace SEC(".maps") __weak;

/* TLS (bpf/tls.bpf.c): what a thread inside an SSL call passed in, by thread (LRU: a call
 * whose return probe never ran, a thread that died in it, ages out). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct obsbpf_tls_args);
} tls_args SEC(".maps") __weak;

/* The socket each SSL * was seen moving bytes on (tied by the socket hooks). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct obsbpf_tls_key);
	__type(value, struct obsbpf_tls_sock);
} tls_sock SEC(".maps") __weak;

/* Processes that move TLS bytes, and whether through a probed library (OBSBPF_TLS_PID_*). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} tls_pids SEC(".maps") __weak;

/* SSL *s that carry HTTP/2 (their preface was seen): handed on at the larger cap. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct obsbpf_tls_key);
	__type(value, __u8);
} tls_h2 SEC(".maps") __weak;

/* One event per SSL call that moved bytes (struct obsbpf_tls_event). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} tls_events SEC(".maps") __weak;

#endif
