/* SPDX-License-Identifier: GPL-2.0 */
/* Trace context in the kernel: the configuration, the allow-list, the thread -> served request
 * binding, new ids and sampling, and classifying a header line that may carry a context. */
#ifndef OBSBPF_TRACE_BPF_H
#define OBSBPF_TRACE_BPF_H

#include "maps.bpf.h"
#include "text.bpf.h"
#include <obsbpf/trace_parse.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct obsbpf_trace_cfg);
} trace_cfg SEC(".maps") __weak;

/* --inject-to: destinations that may receive injected headers. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 256);
	__type(key, struct obsbpf_cidr_key);
	__type(value, __u8);
} inject_to SEC(".maps") __weak;

/* The request a thread is serving: set when it reads a request (tp_btf/sock_recv_length),
 * cleared when it answers. Its next outgoing request continues that trace. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct obsbpf_trace);
} thread_trace SEC(".maps") __weak;

/* The same binding keyed by thread id, where sk_msg may not call bpf_task_storage_get (6.1,
 * 6.12). LRU: entries of threads that exit are evicted, not leaked. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct obsbpf_trace);
} thread_trace_by_tid SEC(".maps") __weak;

/* Set before load (user/bpf/variant.c): which of the two maps holds the binding. A constant
 * to the verifier, so the other branch, and its helper calls, are not even looked at. */
extern const volatile __u32 obsbpf_cfg_thread_hash; /* bpf/trace.bpf.c */

/* The request the current thread serves, or NULL. */
static __always_inline struct obsbpf_trace *served_trace(void)
{
	if (obsbpf_cfg_thread_hash) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		return bpf_map_lookup_elem(&thread_trace_by_tid, &tid);
	}
	return bpf_task_storage_get(&thread_trace, bpf_get_current_task_btf(), 0, 0);
}

/* Binds the current thread to the request t (tracing programs only). */
static __always_inline void serve_trace(const struct obsbpf_trace *t)
{
	if (obsbpf_cfg_thread_hash) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		/* A copy on the stack: before 6.3 a map value cannot come from a global function's
		 * pointer argument (obsbpf_tls_request's). */
		struct obsbpf_trace v = *t;
		bpf_map_update_elem(&thread_trace_by_tid, &tid, &v, BPF_ANY);
		return;
	}
	struct obsbpf_trace *s = bpf_task_storage_get(&thread_trace, bpf_get_current_task_btf(), 0,
						      BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (s)
		*s = *t;
}

/* Trace headers found in one message head. Precedence W3C > B3 > x-trace-id: a lower style
 * never overwrites what a higher one found. */
#define TF_W3C_OK    0x01
#define TF_W3C_BAD   0x02
#define TF_B3_OK     0x04
#define TF_B3_BAD    0x08
#define TF_XTRACE_OK 0x10
#define TF_XSPAN_OK  0x20
#define TF_X_BAD     0x40
#define TF_BAD	     (TF_W3C_BAD | TF_B3_BAD | TF_X_BAD)

struct trace_found {
	struct obsbpf_trace t; /* trace_id, parent_id (the sender's span) and flags */
	__u32 mask;	       /* TF_* */
};

/* A header line's first bytes; the value parsers read at most 15 + 55 + 1 of them. */
#define TRACE_LINE_BUF 80
struct trace_line {
	__u8 b[TRACE_LINE_BUF];
};

static __always_inline struct obsbpf_trace_cfg *trace_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&trace_cfg, &zero);
}

static __always_inline int found_valid(const struct trace_found *f)
{
	return (f->mask & (TF_W3C_OK | TF_B3_OK)) ||
		(f->mask & (TF_XTRACE_OK | TF_XSPAN_OK)) == (TF_XTRACE_OK | TF_XSPAN_OK);
}

static __always_inline void new_span_id(struct obsbpf_trace *t)
{
	__u32 a = bpf_get_prandom_u32(), b = bpf_get_prandom_u32() | 1; /* never all zero */
	__builtin_memcpy(t->span_id, &a, 4);
	__builtin_memcpy(t->span_id + 4, &b, 4);
}

/* Starts a new trace at t (a root span): new ids, sampled by --sample-ratio. */
static __always_inline void new_trace(struct obsbpf_trace *t, const struct obsbpf_trace_cfg *cfg)
{
	__u32 r[4] = { bpf_get_prandom_u32(), bpf_get_prandom_u32(), bpf_get_prandom_u32(),
		       bpf_get_prandom_u32() | 1 };
	__builtin_memcpy(t->trace_id, r, 16);
	__builtin_memset(t->parent_id, 0, 8);
	t->flags = (__u64)bpf_get_prandom_u32() < cfg->sample_threshold ? OBSBPF_TRACE_SAMPLED : 0;
	t->origin = OBSBPF_TO_NEW;
	new_span_id(t);
}

/* Continues the context a message carried: same trace, the sender's span as parent. */
static __always_inline void continue_trace(struct obsbpf_trace *t, const struct trace_found *f)
{
	__builtin_memcpy(t->trace_id, f->t.trace_id, 16);
	__builtin_memcpy(t->parent_id, f->t.parent_id, 8);
	t->flags = f->t.flags;
	t->origin = OBSBPF_TO_HEADER;
	new_span_id(t);
}

/* The value after "name:" at p[n]: skips up to two spaces, returns its offset and sets *vlen to
 * its length within the line (linelen excludes '\n'; a '\r' and trailing spaces are cut). */
static __always_inline __u32 value_at(const __u8 *p, __u32 n, __u32 linelen, __u32 *vlen)
{
	__u32 v = n;
	if (p[v] == ' ' || p[v] == '\t')
		v++;
	if (p[v] == ' ' || p[v] == '\t')
		v++;
	__u32 e = linelen < TRACE_LINE_BUF ? linelen : TRACE_LINE_BUF; /* longer: invalid anyway */
	for (int i = 0; i < 3 && e > v; i++) {
		if (e - 1 >= TRACE_LINE_BUF)
			break;
		__u8 c = p[e - 1];
		if (c != '\r' && c != ' ' && c != '\t')
			break;
		e--;
	}
	*vlen = e > v ? e - v : 0;
	return v;
}

/* Classifies one header line (TRACE_LINE_BUF bytes readable at l, linelen of them the line)
 * and records a context it carries in f, for the styles in props. */
static __always_inline void classify_trace_line(const struct trace_line *l, __u32 linelen, __u32 props,
						struct trace_found *f)
{
	const __u8 *p = l->b;
	__u32 vlen, v;
	struct obsbpf_trace t = {};

	switch (p[0] | 0x20) {
	case 't':
		if (!(props & OBSBPF_PROP_W3C) || linelen < 12 || !name_is(p, "traceparent:", 12))
			return;
		v = value_at(p, 12, linelen, &vlen);
		if (obsbpf_parse_traceparent(p + (v & 15), vlen, &t) < 0) {
			f->mask |= TF_W3C_BAD;
			return;
		}
		f->mask |= TF_W3C_OK;
		break;
	case 'b':
		if (!(props & OBSBPF_PROP_B3) || linelen < 3 || !name_is(p, "b3:", 3))
			return;
		v = value_at(p, 3, linelen, &vlen);
		if (obsbpf_parse_b3(p + (v & 7), vlen, &t) < 0) {
			f->mask |= TF_B3_BAD;
			return;
		}
		f->mask |= TF_B3_OK;
		if (f->mask & TF_W3C_OK)
			return;
		break;
	case 'x':
		if (!(props & OBSBPF_PROP_XTRACE) || f->mask & (TF_W3C_OK | TF_B3_OK))
			return;
		if (linelen >= 11 && name_is(p, "x-trace-id:", 11)) {
			v = value_at(p, 11, linelen, &vlen);
			if (obsbpf_parse_xtrace_id(p + (v & 15), vlen, &t) < 0) {
				f->mask |= TF_X_BAD;
				return;
			}
			f->mask |= TF_XTRACE_OK;
			__builtin_memcpy(f->t.trace_id, t.trace_id, 16);
			f->t.flags = OBSBPF_TRACE_SAMPLED; /* this style has no flag: traced upstream */
		} else if (linelen >= 10 && name_is(p, "x-span-id:", 10)) {
			v = value_at(p, 10, linelen, &vlen);
			if (obsbpf_parse_xspan_id(p + (v & 15), vlen, &t) < 0) {
				f->mask |= TF_X_BAD;
				return;
			}
			f->mask |= TF_XSPAN_OK;
			__builtin_memcpy(f->t.parent_id, t.parent_id, 8);
		}
		return;
	default:
		return;
	}
	__builtin_memcpy(f->t.trace_id, t.trace_id, 16);
	__builtin_memcpy(f->t.parent_id, t.parent_id, 8);
	f->t.flags = t.flags;
}

/* bpf/trace.bpf.c: classify_trace_line as a global subprogram. */
extern int obsbpf_trace_line(struct trace_line *l, __u32 linelen, __u32 props, struct trace_found *f);

#endif
