// SPDX-License-Identifier: GPL-2.0
#include "hazard.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A connected loopback pair: *c the client, *s the accepted end. */
static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*c = *s = -1;
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		goto fail;
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*c < 0 || connect(*c, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto fail;
	*s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (*s < 0)
		goto fail;
	close(l);
	return 0;
fail:;
	int err = -errno;
	close(l);
	if (*c >= 0)
		close(*c);
	*c = -1;
	return err;
}

/* The bytes queued on fd as FIONREAD reports them, once poll says some arrived. */
static int inq_after(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = -1;
	if (poll(&p, 1, 1000) != 1)
		return -1;
	usleep(10000); /* loopback delivers within the send; this covers a softirq that lags */
	return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

int hazard_fionread(void)
{
	char buf[4000];
	int c, s, err;
	int map = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "obsbpf_selftest", 8, 8, 1, NULL);
	if (map < 0)
		return -errno;
	err = tcp_pair(&c, &s);
	if (err < 0) {
		close(map);
		return err;
	}
	/* As obsbpf puts a pod's client sockets: a member of a sockhash. */
	__u64 key = 0, val = (__u64)c;
	err = bpf_map_update_elem(map, &key, &val, BPF_ANY) < 0 ? -errno : 0;
	memset(buf, 'x', sizeof(buf));
	if (!err && (write(s, buf, 1000) != 1000 || write(s, buf, sizeof(buf)) != sizeof(buf)))
		err = -EIO;
	int n = err ? -1 : inq_after(c);
	if (!err && n < 0)
		err = -EIO;
	close(c);
	close(s);
	close(map);
	return err ? err : n < 1000 + (int)sizeof(buf);
}

/* A program that passes everything (r0 = SK_PASS; exit), of type t. */
static int pass_prog(enum bpf_prog_type t)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = SK_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(t, "obsbpf_selftest", "GPL", insns, 2, NULL);
	return fd < 0 ? -errno : fd;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The blocking read under test, in a thread of its own. */
struct eagain_reader {
	int fd;
	atomic_int tid;
	atomic_int done;
	ssize_t ret;
	int err;
	double took;
};

static void *eagain_read(void *arg)
{
	struct eagain_reader *r = arg;
	char b;
	atomic_store(&r->tid, (int)syscall(SYS_gettid));
	double t0 = now_s();
	r->ret = recv(r->fd, &b, 1, 0);
	r->err = errno;
	r->took = now_s() - t0;
	atomic_store(&r->done, 1);
	return NULL;
}

/* Whether thread tid is asleep inside recvfrom(2) (recv() is recvfrom in glibc): its state in
 * /proc is S and its syscall file starts with that syscall's number. */
static bool asleep_in_recv(int tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char *ok = fgets(buf, sizeof(buf), f);
	fclose(f);
	const char *p = ok ? strrchr(buf, ')') : NULL;
	if (!p || p[1] != ' ' || p[2] != 'S')
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	if (!(f = fopen(path, "re")))
		return false;
	long nr = -1;
	int n = fscanf(f, "%ld", &nr);
	fclose(f);
	return n == 1 && nr == SYS_recvfrom;
}

/* SO_RCVTIMEO: a kernel that blocks for good still ends the test. The steps' own limits keep the
 * whole under 4 s on a machine too slow to do it (then it is untested), ~5 ms where the hazard
 * is, ~110 ms where not. */
#define EAGAIN_TIMEOUT_S 4

/* Fills c's send buffer (non-blocking sends until EAGAIN: SOCK_NOSPACE is set), then starts a
 * blocking read on c and has s read everything: the ACKs free c's send buffer and wake c's
 * waiters. A correct kernel goes back to waiting; the byte sent last then ends the read.
 * Returns 1 when the read failed with EAGAIN before that, 0 when it got the byte. */
static int eagain_run(int c, int s)
{
	static char buf[65536];
	long sent = 0, got = 0;
	ssize_t n;
	int small = 4096;
	struct timeval tv = { .tv_sec = EAGAIN_TIMEOUT_S };
	if (setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) < 0 ||
	    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    fcntl(c, F_SETFL, O_NONBLOCK) < 0 || fcntl(s, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	while (sent < (64l << 20) && (n = send(c, buf, sizeof(buf), MSG_NOSIGNAL)) > 0)
		sent += n;
	if (!sent || fcntl(c, F_SETFL, 0) < 0)
		return -EIO;
	struct eagain_reader r = { .fd = c };
	pthread_t th;
	int err = pthread_create(&th, NULL, eagain_read, &r);
	if (err)
		return -err;
	double t0 = now_s();
	bool waits = false;
	while (!atomic_load(&r.done) &&
	       !(waits = atomic_load(&r.tid) && asleep_in_recv(atomic_load(&r.tid))) && now_s() - t0 < 1.0)
		usleep(500);
	/* Only a reader already asleep can be woken by the ACKs: otherwise untested. */
	if (!waits)
		err = -ETIMEDOUT;
	/* The reader waits: free its send buffer. */
	struct pollfd p = { .fd = s, .events = POLLIN };
	t0 = now_s();
	while (!err && got < sent && !atomic_load(&r.done) && now_s() - t0 < 1.0) {
		n = recv(s, buf, sizeof(buf), 0);
		if (n > 0)
			got += n;
		else if (n == 0 || errno != EAGAIN || poll(&p, 1, 20) < 0)
			break;
	}
	/* Woken by the ACKs, a correct kernel goes back to sleep: give a wrong one time to fail. */
	for (int i = 0; i < 100 && !atomic_load(&r.done); i++)
		usleep(1000);
	if (!atomic_load(&r.done) && send(s, "x", 1, MSG_NOSIGNAL) != 1)
		err = -EIO;
	pthread_join(th, NULL);
	if (err)
		return err;
	if (r.ret == 1)
		return 0;
	return r.ret < 0 && r.err == EAGAIN && r.took < EAGAIN_TIMEOUT_S - 0.5 ? 1 : -EIO;
}

int hazard_recv_eagain(bool verdict)
{
	int c, s, err;
	int map = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "obsbpf_selftest", 8, 8, 1, NULL);
	if (map < 0)
		return -errno;
	/* The receive path obsbpf gives the pod's client sockets: tcp_bpf_recvmsg, or with the
	 * FIONREAD fallback's verdict tcp_bpf_recvmsg_parser. (An sk_msg program does not change
	 * it.) The program stays attached through the map; the map goes with its fd. */
	if (verdict) {
		int prog = pass_prog(BPF_PROG_TYPE_SK_SKB);
		err = prog < 0 ? prog : bpf_prog_attach(prog, map, BPF_SK_SKB_VERDICT, 0) < 0 ? -errno : 0;
		if (prog >= 0)
			close(prog);
		if (err) {
			close(map);
			return err;
		}
	}
	err = tcp_pair(&c, &s);
	if (err < 0) {
		close(map);
		return err;
	}
	__u64 key = 0, val = (__u64)c;
	err = bpf_map_update_elem(map, &key, &val, BPF_ANY) < 0 ? -errno : eagain_run(c, s);
	close(c);
	close(s);
	close(map);
	return err;
}
