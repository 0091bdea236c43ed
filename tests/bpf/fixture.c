// SPDX-License-Identifier: GPL-2.0
#include "fixture.h"

#include "bpf/trace_cfg.h"
#include "bpf/variant.h"
#include "pod/pod.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "obsbpf.skel.h"

/* libbpf's warnings (a verifier log when the load fails) are worth seeing; debug is not. */
static int print_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Moves the whole test process into the cgroup directory dir ("0": the writer itself). */
static int cg_join(const char *dir)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	return write_str(p, "0");
}

/* Where the process lives now, to go back there after making sockets in the scratch cgroup. */
static int cg_home(const char *mnt, char *out, size_t n)
{
	char buf[4096], rel[PATH_MAX];
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	int err = parse_proc_cgroup(buf, rel, sizeof(rel));
	if (err)
		return err;
	snprintf(out, n, "%s%s", mnt, rel);
	return 0;
}

static int make_cgroup(struct bpfut *u)
{
	const char *mnt = cgroup2_mount();
	if (!mnt)
		return -ENOENT;
	int err = cg_home(mnt, u->cg_home, sizeof(u->cg_home));
	if (err)
		return err;
	snprintf(u->cg_path, sizeof(u->cg_path), "%s/obsbpf-bpfunit-%d", mnt, (int)getpid());
	if (mkdir(u->cg_path, 0755) < 0) {
		err = -errno;
		u->cg_path[0] = '\0';
		return err;
	}
	u->cg_fd = open(u->cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->cg_fd < 0)
		return -errno;
	struct stat st;
	if (fstat(u->cg_fd, &st) < 0)
		return -errno;
	/* On cgroup2 the directory's inode number is the cgroup id, the pods map's key. */
	uint64_t id = st.st_ino;
	uint32_t pod = BPFUT_POD_ID;
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.pods), &id, &pod, BPF_ANY) < 0)
		return -errno;
	u->sockops = bpf_program__attach_cgroup(u->skel->progs.obsbpf_sockops, u->cg_fd);
	return u->sockops ? 0 : -errno;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct bpfut *u = ctx;
	if (size >= sizeof(struct obsbpf_http_event) && u->nev < BPFUT_MAX_EVENTS)
		memcpy(&u->ev[u->nev++], data, sizeof(struct obsbpf_http_event));
	return 0;
}

/* sk_msg hangs on the sockhash, as in user/bpf/datapath.c: detached in bpfut_close, and gone with
 * the map anyway when the process dies. */
static int attach_msg(struct bpfut *u)
{
	if (bpf_prog_attach(bpf_program__fd(u->skel->progs.obsbpf_msg), bpf_map__fd(u->skel->maps.pod_socks),
			    BPF_SK_MSG_VERDICT, 0) < 0)
		return -errno;
	u->msg_attached = true;
	return 0;
}

int bpfut_open(struct bpfut *u)
{
	memset(u, 0, sizeof(*u));
	u->cg_fd = -1;
	libbpf_set_print(print_warnings);
	u->ncpus = libbpf_num_possible_cpus();
	u->skel = obsbpf_bpf__open();
	if (!u->skel)
		return -errno;
	/* The variant this kernel gets, chosen by the agent's own code. */
	struct kernel_variant kv;
	variant_apply(u->skel, &kv);
	int err = obsbpf_bpf__load(u->skel);
	if (!err)
		err = attach_msg(u);
	if (!err)
		err = make_cgroup(u);
	if (!err) {
		u->rb = ring_buffer__new(bpf_map__fd(u->skel->maps.http_events), on_event, u, NULL);
		err = u->rb ? 0 : -errno;
	}
	if (err)
		bpfut_close(u);
	return err;
}

void bpfut_close(struct bpfut *u)
{
	ring_buffer__free(u->rb);
	u->rb = NULL;
	bpf_link__destroy(u->sockops);
	u->sockops = NULL;
	if (u->cg_fd >= 0)
		close(u->cg_fd);
	u->cg_fd = -1;
	if (u->cg_path[0]) {
		/* A test that failed between join and leave left the process inside: leave first. */
		if (u->cg_home[0])
			cg_join(u->cg_home);
		if (rmdir(u->cg_path) < 0)
			fprintf(stderr, "bpf-unit: rmdir %s: %s\n", u->cg_path, strerror(errno));
		u->cg_path[0] = '\0';
	}
	if (u->msg_attached)
		bpf_prog_detach2(bpf_program__fd(u->skel->progs.obsbpf_msg),
				 bpf_map__fd(u->skel->maps.pod_socks), BPF_SK_MSG_VERDICT);
	u->msg_attached = false;
	obsbpf_bpf__destroy(u->skel);
	u->skel = NULL;
}

/* Deletes every key of a hash map. */
static int clear_hash(int fd, size_t key_size)
{
	uint8_t key[64];
	if (key_size > sizeof(key))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key) < 0)
			return -errno;
	return 0;
}

int bpfut_reset(struct bpfut *u)
{
	struct obsbpf_bpf *s = u->skel;
	uint64_t zero[u->ncpus];
	memset(zero, 0, sizeof(zero));
	for (uint32_t k = 0; k < OBSBPF_ST_MAX; k++)
		if (bpf_map_update_elem(bpf_map__fd(s->maps.stats), &k, zero, BPF_ANY) < 0)
			return -errno;
	int err = clear_hash(bpf_map__fd(s->maps.http_hist), sizeof(struct obsbpf_hist_key));
	if (!err)
		err = clear_hash(bpf_map__fd(s->maps.routes), sizeof(uint32_t));
	if (!err)
		err = clear_hash(bpf_map__fd(s->maps.inject_to), sizeof(struct obsbpf_cidr_key));
	if (!err)
		err = bpfut_set_trace(u, 0, 0);
	if (!err)
		err = bpfut_set_events(u, 1, 0);
	bpfut_events(u);
	u->nev = 0;
	return err;
}

/* The sequence number of the next byte of a socket's receive or send queue: TCP_REPAIR lets
 * user space read rcv_nxt / write_seq (CAP_NET_ADMIN), then the socket goes back to normal
 * without a window probe. */
static int queue_seq(int fd, int queue, uint32_t *seq)
{
	int on = TCP_REPAIR_ON, off = TCP_REPAIR_OFF_NO_WP;
	socklen_t len = sizeof(*seq);
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0)
		return -errno;
	int err = 0;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &len) < 0)
		err = -errno;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) < 0 && !err)
		err = -errno;
	return err;
}

static int connect_pair(struct bpfut_pair *p)
{
	struct sockaddr_storage a = { 0 };
	socklen_t al;
	if (p->family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		al = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		al = sizeof(*a4);
	}
	socklen_t len = al;
	int l = socket(p->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	int err = 0;
	if (bind(l, (struct sockaddr *)&a, al) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		err = -errno;
	if (!err && (p->client = socket(p->family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		err = -errno;
	if (!err && connect(p->client, (struct sockaddr *)&a, al) < 0)
		err = -errno;
	if (!err && (p->server = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		err = -errno;
	close(l);
	struct sockaddr_storage c;
	len = sizeof(c);
	if (!err && getsockname(p->client, (struct sockaddr *)&c, &len) < 0)
		err = -errno;
	if (err)
		return err;
	if (p->family == AF_INET6) {
		memcpy(&p->saddr6, &a, sizeof(p->saddr6));
		memcpy(&p->caddr6, &c, sizeof(p->caddr6));
	} else {
		memcpy(&p->saddr, &a, sizeof(p->saddr));
		memcpy(&p->caddr, &c, sizeof(p->caddr));
	}
	return 0;
}

int bpfut_pair_open(struct bpfut *u, struct bpfut_pair *p, int family)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->client = p->server = -1;
	int err = cg_join(u->cg_path);
	if (err)
		return err;
	/* A socket keeps the cgroup it was made in: sockops runs for it from there. */
	err = connect_pair(p);
	int back = cg_join(u->cg_home);
	if (!err)
		err = back;
	if (!err)
		err = queue_seq(p->server, TCP_RECV_QUEUE, &p->c2s_seq);
	if (!err)
		err = queue_seq(p->server, TCP_SEND_QUEUE, &p->s2c_seq);
	if (err)
		bpfut_pair_close(p);
	return err;
}

void bpfut_pair_close(struct bpfut_pair *p)
{
	if (p->client >= 0)
		close(p->client);
	if (p->server >= 0)
		close(p->server);
	p->client = p->server = -1;
}

size_t bpfut_frame(uint8_t *out, size_t cap, int proto, const struct sockaddr_in *src,
		   const struct sockaddr_in *dst, uint32_t seq, int frag, const void *payload, size_t len)
{
	size_t l4 = proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	size_t total = sizeof(struct ethhdr) + sizeof(struct iphdr) + l4 + len;
	if (total > cap || total - sizeof(struct ethhdr) > 0xffff)
		return 0;
	memset(out, 0, total - len);
	struct ethhdr *eth = (struct ethhdr *)out;
	eth->h_proto = htons(ETH_P_IP);
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = (uint8_t)proto;
	ip->tot_len = htons((uint16_t)(total - sizeof(*eth)));
	ip->frag_off = htons(frag ? 0x2000 : 0);
	ip->saddr = src->sin_addr.s_addr;
	ip->daddr = dst->sin_addr.s_addr;
	uint8_t *l4p = (uint8_t *)(ip + 1);
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = (struct tcphdr *)l4p;
		tcp->source = src->sin_port;
		tcp->dest = dst->sin_port;
		tcp->seq = htonl(seq);
		tcp->doff = 5;
		tcp->ack = 1;
		tcp->psh = len > 0;
		tcp->window = htons(65535);
	} else {
		struct udphdr *udp = (struct udphdr *)l4p;
		udp->source = src->sin_port;
		udp->dest = dst->sin_port;
		udp->len = htons((uint16_t)(l4 + len));
	}
	memcpy(l4p + l4, payload, len);
	return total;
}

size_t bpfut_frame6(uint8_t *out, size_t cap, const struct sockaddr_in6 *src, const struct sockaddr_in6 *dst,
		    uint32_t seq, const void *payload, size_t len)
{
	size_t total = sizeof(struct ethhdr) + sizeof(struct ip6_hdr) + sizeof(struct tcphdr) + len;
	if (total > cap || sizeof(struct tcphdr) + len > 0xffff)
		return 0;
	memset(out, 0, total - len);
	struct ethhdr *eth = (struct ethhdr *)out;
	eth->h_proto = htons(ETH_P_IPV6);
	struct ip6_hdr *ip6 = (struct ip6_hdr *)(eth + 1);
	ip6->ip6_flow = htonl(6u << 28);
	ip6->ip6_plen = htons((uint16_t)(sizeof(struct tcphdr) + len));
	ip6->ip6_nxt = IPPROTO_TCP;
	ip6->ip6_hlim = 64;
	ip6->ip6_src = src->sin6_addr;
	ip6->ip6_dst = dst->sin6_addr;
	struct tcphdr *tcp = (struct tcphdr *)(ip6 + 1);
	tcp->source = src->sin6_port;
	tcp->dest = dst->sin6_port;
	tcp->seq = htonl(seq);
	tcp->doff = 5;
	tcp->ack = 1;
	tcp->psh = len > 0;
	tcp->window = htons(65535);
	memcpy(tcp + 1, payload, len);
	return total;
}

int bpfut_run(struct bpf_program *prog, const void *frame, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len, .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	return err ? err : (int)o.retval;
}

int bpfut_ingress(struct bpfut *u, const struct sockaddr_in *src, const struct sockaddr_in *dst, uint32_t seq,
		  const char *payload, size_t len)
{
	uint8_t f[3072]; /* BPF_PROG_RUN takes up to about a page */
	size_t n = bpfut_frame(f, sizeof(f), IPPROTO_TCP, src, dst, seq, 0, payload, len);
	return n ? bpfut_run(u->skel->progs.obsbpf_tc_ingress, f, n) : -EMSGSIZE;
}

int bpfut_ingress6(struct bpfut *u, const struct sockaddr_in6 *src, const struct sockaddr_in6 *dst,
		   uint32_t seq, const char *payload, size_t len)
{
	uint8_t f[3072]; /* BPF_PROG_RUN takes up to about a page */
	size_t n = bpfut_frame6(f, sizeof(f), src, dst, seq, payload, len);
	return n ? bpfut_run(u->skel->progs.obsbpf_tc_ingress, f, n) : -EMSGSIZE;
}

int bpfut_conn_get(struct bpfut *u, int fd, struct obsbpf_conn *c)
{
	/* sk_storage maps take a socket's fd as the key. */
	return bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.conn_state), &fd, c) < 0 ? -errno : 0;
}

int bpfut_conn_set(struct bpfut *u, int fd, const struct obsbpf_conn *c)
{
	return bpf_map_update_elem(bpf_map__fd(u->skel->maps.conn_state), &fd, c, BPF_EXIST) < 0 ? -errno : 0;
}

uint64_t bpfut_stat(struct bpfut *u, enum obsbpf_stat which)
{
	uint64_t v[u->ncpus], sum = 0;
	uint32_t k = which;
	if (bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.stats), &k, v) < 0)
		return UINT64_MAX;
	for (int i = 0; i < u->ncpus; i++)
		sum += v[i];
	return sum;
}

int bpfut_hist(struct bpfut *u, const struct obsbpf_hist_key *k, struct obsbpf_hist_val *out)
{
	struct obsbpf_hist_val v[u->ncpus];
	if (bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.http_hist), k, v) < 0)
		return -errno;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < u->ncpus; i++) {
		out->count += v[i].count;
		out->sum_ns += v[i].sum_ns;
		for (int b = 0; b < OBSBPF_HIST_BUCKETS; b++)
			out->buckets[b] += v[i].buckets[b];
	}
	return 0;
}

int bpfut_hist_series(struct bpfut *u)
{
	struct obsbpf_hist_key k, next;
	int fd = bpf_map__fd(u->skel->maps.http_hist), n = 0;
	for (const void *prev = NULL; bpf_map_get_next_key(fd, prev, &next) == 0; prev = &k) {
		k = next;
		n++;
	}
	return n;
}

int bpfut_route(struct bpfut *u, uint32_t id, char *out, size_t n)
{
	struct obsbpf_route r;
	if (bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.routes), &id, &r) < 0)
		return -errno;
	snprintf(out, n, "%.*s", (int)sizeof(r.path), r.path);
	return 0;
}

int bpfut_events(struct bpfut *u)
{
	ring_buffer__consume(u->rb);
	return u->nev;
}

int bpfut_set_trace(struct bpfut *u, uint32_t propagation, uint64_t sample_threshold)
{
	return bpfut_set_trace_mode(u, propagation, sample_threshold, OBSBPF_PROPAGATE_ALWAYS);
}

int bpfut_set_trace_mode(struct bpfut *u, uint32_t propagation, uint64_t sample_threshold, uint32_t propagate)
{
	struct obsbpf_trace_cfg c = { .propagation = propagation,
				      .propagate = propagate,
				      .sample_threshold = sample_threshold };
	uint32_t zero = 0;
	return bpf_map_update_elem(bpf_map__fd(u->skel->maps.trace_cfg), &zero, &c, BPF_ANY) < 0 ? -errno : 0;
}

int bpfut_set_events(struct bpfut *u, uint32_t every, uint64_t gap_ns)
{
	struct obsbpf_events_cfg c = { .every = every, .sample_gap_ns = gap_ns };
	uint32_t zero = 0;
	return bpf_map_update_elem(bpf_map__fd(u->skel->maps.events_cfg), &zero, &c, BPF_ANY) < 0 ? -errno
												  : 0;
}

int bpfut_allow_inject(struct bpfut *u, const char *cidr)
{
	struct obsbpf_cidr_key k;
	uint8_t one = 1;
	if (trace_cidr_parse(cidr, &k) < 0)
		return -EINVAL;
	return bpf_map_update_elem(bpf_map__fd(u->skel->maps.inject_to), &k, &one, BPF_ANY) < 0 ? -errno : 0;
}

uint64_t bpfut_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
