/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel side of one agent: loads the BPF object once (shared maps), attaches it to any
 * number of pods (sockops on each pod's cgroup, tc ingress on its interfaces; sk_msg once, on
 * the shared sockhash), drains its ring buffer, reads its maps. */
#ifndef OBSBPF_DATAPATH_H
#define OBSBPF_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <obsbpf/types.h>

struct loop;
struct pod_info;
struct trace_cfg;
struct datapath;
struct kernel_variant;

#define DP_MAX_IFACES 16

/* tc hooks on each pod interface: ingress (requests in, responses to the pod's requests) and
 * egress (the pod's responses out). */
enum dp_tc_dir {
	DP_TC_INGRESS = 0,
	DP_TC_EGRESS,
	DP_TC_NDIRS
};

struct dp_iface {
	char name[16];
	int ifindex;
	bool hook_created;	  /* we made the clsact qdisc, so we remove it */
	int link_fd[DP_TC_NDIRS]; /* tcx links (die with the process); DP_TC_FILTER_ATTACHED: a
				     * classic tc filter; DP_TC_NOTHING: not attached */
};
#define DP_TC_FILTER_ATTACHED (-1)
#define DP_TC_NOTHING	      (-2)

struct dp_prog {
	char name[64];
	uint32_t id;	/* kernel program id */
	int type;	/* enum bpf_prog_type */
	char where[64]; /* attach point that is not per pod ("" when none or per pod) */
};

/* Fill level of one map: used -1 when the kernel cannot count it (sk_storage). */
struct dp_map_usage {
	char name[32];
	long used;
	unsigned max;
	bool bytes; /* ring buffer: used/max are bytes */
};

/* Summed over CPUs. */
struct dp_hist_entry {
	struct obsbpf_hist_key key;
	struct obsbpf_hist_val val;
};

struct dp_route {
	uint32_t id;
	char path[OBSBPF_ROUTE_LEN];
};

typedef void (*dp_event_fn)(void *arg, const struct obsbpf_http_event *e);
/* An event of ring buffer h2_events (struct obsbpf_h2_event, len bytes). */
typedef void (*dp_h2_fn)(void *arg, const void *data, size_t len);

/* Loads the programs (routes map sized max_routes, the sockhash max_conns, the service graph's
 * client addresses max_graph, 0: no service graph) and attaches sk_msg to the sockhash. Prints
 * one line and returns NULL on error. */
struct datapath *datapath_open(unsigned max_routes, unsigned max_conns, unsigned max_graph);
enum dp_tc_hook {
	DP_TC_AUTO = 0, /* tcx where the kernel has it, else a classic filter */
	DP_TC_TCX,	/* tcx or fail */
	DP_TC_FILTER,	/* always a classic clsact filter (outlives a killed agent) */
};
/* How later datapath_attach_pod calls hook tc ingress. */
void datapath_set_tc_hook(struct datapath *dp, enum dp_tc_hook how);
/* Parses "auto", "tcx", "filter". Returns 0 or -EINVAL. */
int datapath_parse_tc_hook(const char *s, enum dp_tc_hook *out);

/* Attaches to the pod as pod_id: pods map entry (cgroup id -> pod_id), sockops on its cgroup,
 * tc ingress (a tcx link where the kernel has it) on every interface of its netns. Prints one
 * line and returns -errno on error, with nothing of the pod left attached. */
int datapath_attach_pod(struct datapath *dp, const struct pod_info *pod, uint32_t pod_id);
/* Detaches the pod and forgets its histogram series. -ENOENT when not attached. */
int datapath_detach_pod(struct datapath *dp, uint32_t pod_id);
/* Writes the trace configuration and allow-list into the maps and, when tracing, attaches the
 * in-process propagation hook. Prints one line and returns -errno on error. */
int datapath_set_tracing(struct datapath *dp, const struct trace_cfg *tc);
/* Which exchanges get an event (enum obsbpf_events_mode): every one (someone observes), every
 * sampled one (spans exported), or traced ones sampled for exemplars (DP_EXEMPLAR_GAP_NS apart
 * on each CPU at most). */
#define DP_EXEMPLAR_GAP_NS 1000000ull
int datapath_set_events(struct datapath *dp, enum obsbpf_events_mode mode);
/* Ring buffer into the loop; fn sees every event (may be NULL). */
int datapath_watch_events(struct datapath *dp, struct loop *l, dp_event_fn fn, void *arg);
/* HTTP/2 frames' events into fn too, from the same loop (after datapath_watch_events). */
int datapath_watch_h2(struct datapath *dp, dp_h2_fn fn, void *arg);
uint64_t datapath_h2_events_read(const struct datapath *dp);

/* TLS (tls_attach.c). Starts draining ring buffer tls_events into fn (after
 * datapath_watch_events) and attaches the thread hook that ties SSL *s to sockets. */
int datapath_tls_start(struct datapath *dp, dp_h2_fn fn, void *arg);
/* Probes the libssl files process pid maps (each file once). 1: it maps one, 0: none, -errno
 * (the process went, or no probe could be attached: logged). */
int datapath_tls_scan_pid(struct datapath *dp, int pid);
/* Probes the libssl files in the library directories of pid's root (a container's image): its
 * processes are seen from their first call, however short they live. Returns how many. */
int datapath_tls_scan_root(struct datapath *dp, int pid);
size_t datapath_tls_libs(const struct datapath *dp);
uint64_t datapath_tls_events_read(const struct datapath *dp);
/* The kernel's state for an SSL * the decoder forgot (if still on socket cookie; 0: any). */
void datapath_tls_forget(struct datapath *dp, uint32_t tgid, uint64_t ssl, uint64_t cookie);
/* Drops the kernel's TLS state of exited threads and processes. */
void datapath_tls_sweep(struct datapath *dp);
/* Processes seen moving TLS bytes, with their OBSBPF_TLS_PID_* flags; returns how many. */
int datapath_tls_pids(struct datapath *dp, uint32_t *tgid, uint32_t *flags, int max);
/* This process sees the kernel's pids (the initial pid namespace, hostPID). */
bool datapath_host_pids(void);
/* Detaches every pod, frees everything. */
void datapath_close(struct datapath *dp);

/* Pins the sockhash under dir (sockpin.h) and frees the emptied ones earlier agents left there
 * (then every few seconds, once datapath_watch_events runs). dir NULL or "": nothing pinned.
 * A failure is a warning (printed) and -errno: the agent works, unprotected against kill -9. */
int datapath_pin_socks(struct datapath *dp, const char *dir);
/* Sockets still in sockhashes that earlier agents left pinned, and how many such sockhashes. */
long datapath_pins_left(const struct datapath *dp, int *maps);

/* Client connections that asked to leave the sockhash and are still in it, waiting for a moment
 * when leaving loses nothing (bpf/release.bpf.c), as the last release pass of each pod found. */
long datapath_release_waiting(const struct datapath *dp);

/* Registers (own = true) or forgets the local port of one of the agent's sockets in the pod's
 * netns, so that the app's side of that connection is not measured. Returns 0 or -errno. */
int datapath_own_socket(struct datapath *dp, int fd, bool own);

/* Loaded, sk_msg on the sockhash. */
bool datapath_attached(const struct datapath *dp);
/* The pod has sockops and tc ingress on at least one interface. */
bool datapath_pod_attached(const struct datapath *dp, uint32_t pod_id);
/* The pod's tc ingress hooks are tcx links. */
bool datapath_pod_tcx(const struct datapath *dp, uint32_t pod_id);
int datapath_pod_ifaces(const struct datapath *dp, uint32_t pod_id, const struct dp_iface **out);
/* Up to max programs of the object with their kernel ids; returns the count. */
int datapath_programs(const struct datapath *dp, struct dp_prog *out, int max);
/* Fill levels of the maps worth watching; returns the count. */
int datapath_map_usage(const struct datapath *dp, struct dp_map_usage *out, int max);
/* 1 when the kernel offers tcx links (6.6+), 0 otherwise. Attaches nothing. */
int datapath_probe_tcx(void);
uint64_t datapath_events_read(const struct datapath *dp);

/* Snapshot readers; each returns a count or -errno, *out malloc'd (free it). */
int datapath_read_hist(struct datapath *dp, struct dp_hist_entry **out);
/* The service graph's server side (graph_hist; key as documented in obsbpf/types.h). */
int datapath_read_graph(struct datapath *dp, struct dp_hist_entry **out);
int datapath_read_routes(struct datapath *dp, struct dp_route **out);
int datapath_read_stats(struct datapath *dp, uint64_t stats[OBSBPF_ST_MAX]);
unsigned datapath_max_routes(const struct datapath *dp);
/* The raw path the kernel keeps for a route id. Returns 0 or -ENOENT. */
int datapath_route(const struct datapath *dp, uint32_t route_id, char *out, size_t n);

/* What this kernel got: thread hook, thread binding, hazards avoided (variant.h). */
const struct kernel_variant *datapath_variant(const struct datapath *dp);

#endif
