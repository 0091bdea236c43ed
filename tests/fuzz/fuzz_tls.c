// SPDX-License-Identifier: GPL-2.0
/* The TLS side of untrusted input: the plaintext decoder (user/tls) on any sequence of the
 * kernel's SSL call events. The plaintext is whatever the pod's apps and their peers send, so
 * every byte is the input's: HTTP/1.x heads and bodies, HTTP/2 frames for the real HTTP/2
 * decoder, anything else.
 *
 * The input is read as records (a 4-byte head and up to 255 data bytes): the call (read, write,
 * or the socket's close), one of four connections (SSL *) in two processes, whether the socket is
 * tied, and how many bytes the call moved beyond those captured (none, or far more: a body or a
 * frame the capture does not hold). Exchanges must come out well-formed, the live count never
 * exceeds the limit, and everything is freed. */
#include <string.h>

#include "fuzz.h"
#include "h2/h2.h"
#include "tls/tls.h"

#define MAX_CONNS 3

static void on_x(void *arg, const struct h2_exchange *x)
{
	(void)arg;
	FUZZ_CHECK(x->tls);
	FUZZ_CHECK(x->version == 1 || x->version == 2);
	FUZZ_CHECK(memchr(x->method, 0, sizeof(x->method)) && memchr(x->path, 0, sizeof(x->path)));
	FUZZ_CHECK(memchr(x->authority, 0, sizeof(x->authority)));
	FUZZ_CHECK(memchr(x->grpc_message, 0, sizeof(x->grpc_message)));
	FUZZ_CHECK(x->end_ns >= x->start_ns);
}

static uint64_t forgotten;

static void on_forget(void *arg, uint32_t tgid, uint64_t ssl, uint64_t cookie)
{
	(void)arg, (void)tgid, (void)ssl, (void)cookie;
	forgotten++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct obsbpf_tls_event e;
	struct h2_limits l = {
		.max_conns = MAX_CONNS, .max_streams = 8, .max_block = 2048, .max_table = 8192
	};
	struct h2_tracker *h2 = h2_tracker_new(&l, on_x, NULL);
	struct tls_tracker *t = tls_tracker_new(MAX_CONNS, on_x, NULL, h2);
	FUZZ_CHECK(h2 && t);
	tls_tracker_on_forget(t, on_forget, NULL);
	uint64_t ts = 1000;
	while (size >= 4) {
		const uint8_t *h = data;
		size_t cap = h[3] < size - 4 ? h[3] : size - 4;
		unsigned conn = (h[0] >> 2) & 3;
		memset(&e, 0, OBSBPF_TLS_EVENT_HDR);
		e.op = h[0] & 3;
		if (e.op > OBSBPF_TLS_CLOSE)
			e.op = OBSBPF_TLS_READ;
		e.pid_tgid = (uint64_t)(100 + (conn & 1)) << 32;
		e.ssl = 0x1000 + conn;
		e.pod_id = conn & 1;
		e.tied = (h[0] >> 4) & 1;
		e.sock.cookie = 50 + ((h[0] >> 5) & 3);
		e.call_ns = ts;
		ts += h[1];
		e.ts_ns = ts;
		/* moved: the captured bytes, or many more that were not captured */
		e.len = (uint32_t)cap + (h[2] & 0x80 ? (uint32_t)(h[2] & 0x7f) * 1000 : h[2]);
		e.cap = (uint16_t)cap;
		memcpy(e.data, data + 4, cap);
		tls_tracker_event(t, &e, OBSBPF_TLS_EVENT_HDR + cap);
		FUZZ_CHECK(tls_tracker_stats(t)->conns <= MAX_CONNS);
		data += 4 + cap;
		size -= 4 + cap;
	}
	tls_tracker_sweep(t, ts / 2, false);
	tls_tracker_forget_pod(t, 1);
	tls_tracker_free(t);
	h2_tracker_free(h2);
	return 0;
}
