/* SPDX-License-Identifier: GPL-2.0 */
/* What the BPF unit tests share: the real object loaded as the agent loads it, a scratch cgroup
 * with the real sockops on it and sk_msg on the sockhash, loopback connections made inside it,
 * crafted frames run through a program with BPF_PROG_RUN, and readers for the maps and the ring
 * buffer. */
#ifndef OBSBPF_TESTS_BPF_FIXTURE_H
#define OBSBPF_TESTS_BPF_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <obsbpf/types.h>

struct bpf_program;
struct obsbpf_bpf;
struct ring_buffer;

#define BPFUT_POD_ID	 7
#define BPFUT_MAX_EVENTS 16

struct bpfut {
	struct obsbpf_bpf *skel;
	char cg_path[PATH_MAX]; /* the scratch cgroup; "" when not made */
	char cg_home[PATH_MAX]; /* the cgroup the test process came from */
	int cg_fd;
	struct bpf_link *sockops;
	bool msg_attached; /* obsbpf_msg on pod_socks, as the agent attaches it */
	struct ring_buffer *rb;
	int ncpus;
	struct obsbpf_http_event ev[BPFUT_MAX_EVENTS];
	int nev;
};

/* One established loopback connection, both ends in the test process (fds -1 when closed).
 * *_seq: the TCP sequence number of the next payload byte each way, read from the kernel.
 * The addresses are caddr/saddr for AF_INET, caddr6/saddr6 for AF_INET6. */
struct bpfut_pair {
	int family;
	int client, server;
	struct sockaddr_in caddr, saddr;
	struct sockaddr_in6 caddr6, saddr6;
	uint32_t c2s_seq, s2c_seq;
};

/* Loads the object (variant_apply, as the agent), attaches sk_msg to the sockhash, makes the
 * scratch cgroup, registers it as pod BPFUT_POD_ID and attaches sockops to it. 0, or -errno with
 * everything made undone. */
int bpfut_open(struct bpfut *u);
/* Undoes bpfut_open; safe on a partly opened or zeroed fixture. */
void bpfut_close(struct bpfut *u);
/* Empties what one test leaves for the next: stats, histograms, routes, events, trace config,
 * the inject_to allow-list. Events are on for every exchange (events_cfg.every). */
int bpfut_reset(struct bpfut *u);

/* Connects a pair (127.0.0.1 or ::1) inside the scratch cgroup, so sockops gives both ends
 * their conn_state and puts the client end into pod_socks: sk_msg runs on its sends. */
int bpfut_pair_open(struct bpfut *u, struct bpfut_pair *p, int family);
void bpfut_pair_close(struct bpfut_pair *p);

/* An Ethernet/IPv4/TCP (proto IPPROTO_TCP) or UDP frame from src to dst carrying payload.
 * Returns its length, or 0 when cap is short. frag: set IP's more-fragments bit. */
size_t bpfut_frame(uint8_t *out, size_t cap, int proto, const struct sockaddr_in *src,
		   const struct sockaddr_in *dst, uint32_t seq, int frag, const void *payload, size_t len);
/* The same over IPv6 (TCP only). */
size_t bpfut_frame6(uint8_t *out, size_t cap, const struct sockaddr_in6 *src, const struct sockaddr_in6 *dst,
		    uint32_t seq, const void *payload, size_t len);
/* Runs prog once on the frame (BPF_PROG_RUN). Returns its verdict, or -errno. */
int bpfut_run(struct bpf_program *prog, const void *frame, size_t len);
/* Runs tc ingress on a TCP segment of payload from src to dst at seq. Verdict or -errno. */
int bpfut_ingress(struct bpfut *u, const struct sockaddr_in *src, const struct sockaddr_in *dst, uint32_t seq,
		  const char *payload, size_t len);

int bpfut_ingress6(struct bpfut *u, const struct sockaddr_in6 *src, const struct sockaddr_in6 *dst,
		   uint32_t seq, const char *payload, size_t len);

int bpfut_conn_get(struct bpfut *u, int fd, struct obsbpf_conn *c);
int bpfut_conn_set(struct bpfut *u, int fd, const struct obsbpf_conn *c);
/* A counter summed over CPUs. */
uint64_t bpfut_stat(struct bpfut *u, enum obsbpf_stat which);
/* Histogram series summed over CPUs: 0, or -ENOENT. */
int bpfut_hist(struct bpfut *u, const struct obsbpf_hist_key *k, struct obsbpf_hist_val *out);
/* Histogram series in the map. */
int bpfut_hist_series(struct bpfut *u);
/* The raw path the routes map holds for id: 0, or -ENOENT. */
int bpfut_route(struct bpfut *u, uint32_t id, char *out, size_t n);
/* Reads the ring buffer into u->ev (u->nev). Returns u->nev. */
int bpfut_events(struct bpfut *u);
/* Writes the trace_cfg / events_cfg maps. */
int bpfut_set_trace(struct bpfut *u, uint32_t propagation, uint64_t sample_threshold);
/* The same with --propagate (enum obsbpf_propagate). */
int bpfut_set_trace_mode(struct bpfut *u, uint32_t propagation, uint64_t sample_threshold,
			 uint32_t propagate);
int bpfut_set_events(struct bpfut *u, uint32_t every, uint64_t gap_ns);
/* Adds cidr ("127.0.0.0/8", as --inject-to takes it) to inject_to. sockops reads the list when a
 * connection is established: set it before bpfut_pair_open. */
int bpfut_allow_inject(struct bpfut *u, const char *cidr);
uint64_t bpfut_now_ns(void);

#endif
