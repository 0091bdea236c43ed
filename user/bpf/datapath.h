/* The kernel side of one agent: loads the BPF object, attaches it to a pod (sockops + sk_msg on
 * the pod's cgroup, tc ingress on its interfaces), drains its ring buffer, reads its maps. */
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

#define DP_MAX_IFACES 16

struct dp_iface {
	char name[16];
	int ifindex;
	bool hook_created; /* we made the clsact qdisc, so we remove it */
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

/* Loads the programs (routes map sized max_routes). Prints one line and returns NULL on error. */
struct datapath *datapath_open(unsigned max_routes, bool verbose);
/* Attaches to the pod as pod_id. Prints one line and returns -errno on error. */
int datapath_attach(struct datapath *dp, const struct pod_info *pod, uint32_t pod_id);
/* Writes the trace configuration and allow-list into the maps and, when tracing, attaches the
 * in-process propagation hook. Prints one line and returns -errno on error. */
int datapath_set_tracing(struct datapath *dp, const struct trace_cfg *tc);
/* Ring buffer into the loop; fn sees every event (may be NULL). */
int datapath_watch_events(struct datapath *dp, struct loop *l, dp_event_fn fn, void *arg);
/* Detaches everything attached, frees everything. */
void datapath_close(struct datapath *dp);

/* Registers (own = true) or forgets the local port of one of the agent's sockets in the pod's
 * netns, so that the app's side of that connection is not measured. Returns 0 or -errno. */
int datapath_own_socket(struct datapath *dp, int fd, bool own);

bool datapath_attached(const struct datapath *dp);
int datapath_ifaces(const struct datapath *dp, const struct dp_iface **out);
uint64_t datapath_events_read(const struct datapath *dp);

/* Snapshot readers; each returns a count or -errno, *out malloc'd (free it). */
int datapath_read_hist(struct datapath *dp, struct dp_hist_entry **out);
int datapath_read_routes(struct datapath *dp, struct dp_route **out);
int datapath_read_stats(struct datapath *dp, uint64_t stats[OBSBPF_ST_MAX]);
unsigned datapath_max_routes(const struct datapath *dp);

#endif
