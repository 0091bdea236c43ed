/* SPDX-License-Identifier: GPL-2.0 */
/* What the datapath's files share (datapath.c: load, events, pins; pods.c: the pod table;
 * tc_attach.c: tc and tcx on the pods' interfaces; map_read.c: reading the maps back). Not for
 * the rest of the agent: datapath.h is its interface. */
#ifndef OBSBPF_DATAPATH_PRIV_H
#define OBSBPF_DATAPATH_PRIV_H

#include "datapath.h"

#include "variant.h"

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "obsbpf.skel.h"

/* What one attached pod holds: everything datapath_detach_pod releases. */
struct dp_pod {
	uint32_t pod_id;
	uint64_t cgroup_id;
	int cgroup_fd;
	int netns_fd; /* dup of the pod's: tc filters (not tcx links) are removed from inside it */
	struct bpf_link *sockops_link;
	struct dp_iface ifaces[DP_MAX_IFACES];
	int nifaces;
	const char *name; /* for messages, valid during attach only */
	/* release.c, with the verdict: connections asked to leave the sockhash, a pass is due; the
	 * connections the last pass had to leave in it; when it ran; the delay before the next. */
	bool release_due;
	long release_waiting;
	int64_t release_last_ms, release_delay_ms;
};

/* A TLS library the uprobes are attached to (tls_attach.c), once per file. */
#define DP_TLS_PROBES 8
struct dp_tls_lib {
	unsigned long dev, ino;
	char path[256]; /* as the first process seen with it maps it */
	struct bpf_link *links[DP_TLS_PROBES];
};

struct datapath {
	struct obsbpf_bpf *skel;
	bool msg_attached;
	struct dp_pod **pods;
	int npods;
	size_t cap_pods;
	struct ring_buffer *rb;
	struct loop_watch *rb_watch;
	struct loop_watch *rb_timer;
	dp_event_fn event_fn;
	void *event_arg;
	dp_h2_fn h2_fn;
	void *h2_arg;
	uint64_t h2_events_read;
	uint64_t events_read;
	unsigned max_routes;
	int ncpus;
	enum dp_tc_hook tc_hook;
	struct bpf_link *recv_link; /* the thread hook: in-process propagation */
	struct bpf_program *recv;   /* tp_btf/sock_recv_length, fexit/tcp_recvmsg, or NULL */
	struct kernel_variant kv;   /* what this kernel got (variant.c) */
	char *pin_dir;		    /* sockpin.h: where sockhashes are pinned, or NULL */
	char pin_path[512];	    /* this agent's pin ("" when not pinned) */
	long pins_left;		    /* sockets in earlier agents' sockhashes still pinned */
	int pins_kept;		    /* and how many such sockhashes */
	struct loop_watch *reap_timer;
	struct bpf_link *release_link;			    /* the release iterator (release.c) */
	struct bpf_link *adopt_link;			    /* the adopt iterator (adopt.c) */
	uint64_t released[OBSBPF_REL_MAX - OBSBPF_REL_TLS]; /* taken out by cookie (no verdict) */
	dp_h2_fn tls_fn;				    /* ring buffer tls_events (tls_attach.c) */
	void *tls_arg;
	uint64_t tls_events_read;
	struct dp_tls_lib *tls_libs;
	size_t ntls_libs, cap_tls_libs;
};

/* datapath.c: the thread hook (tp_btf/sock_recv_length or fexit/tcp_recvmsg), once. */
int dp_attach_recv(struct datapath *dp, const char *why);
/* tls_attach.c */
void dp_tls_detach(struct datapath *dp);

/* pods.c */
struct dp_pod *dp_find_pod(const struct datapath *dp, uint32_t pod_id, int *idx);

/* tc_attach.c: run inside the pod's network namespace (pod_in_netns_fd). */
struct tc_ctx {
	struct datapath *dp;
	struct dp_pod *pod;
	int err;
};
int dp_tc_attach_all(void *tc_ctx);
int dp_tc_detach_filters(void *dp_pod);

/* release.c: the release iterator, its events (a ring buffer callback), the passes due. */
int dp_release_open(struct datapath *dp);
/* adopt.c: connections established before attach */
int dp_adopt_open(struct datapath *dp);
void dp_adopt_close(struct datapath *dp);
void dp_adopt_pod(struct datapath *dp, struct dp_pod *p, const char *name);
void dp_release_close(struct datapath *dp);
int dp_release_event(void *ctx, void *data, size_t size);
void dp_release_run(struct datapath *dp);

/* map_read.c */
void dp_forget_pod_series(struct datapath *dp, uint32_t pod_id);

#endif
