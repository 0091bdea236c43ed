/* SPDX-License-Identifier: GPL-2.0 */
/* What the tracer's parts share: the span record, the queue, the OTLP encoding, the retry
 * policy and the two transports. Pure parts (span, queue, encoding, retry) are unit-tested. */
#ifndef OBSBPF_TRACE_INTERNAL_H
#define OBSBPF_TRACE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include <obsbpf/types.h>

#include "trace.h"

struct loop;

#define SPAN_RPC_SERVICE_LEN 96
#define SPAN_RPC_METHOD_LEN  64
#define SPAN_PATH_LEN	     256
#define SPAN_AUTHORITY_LEN   128

/* --url-query: whether url.query / url.full keep the request's query (default: stripped, as
 * queries carry tokens). Process-wide, set once from the options. */
void span_set_url_query_keep(bool keep);
bool span_url_query_keep(void);

/* One span as queued: everything the encoder needs, no pointers (the queue owns copies). */
struct span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* all zero: a root span */
	uint8_t flags;	      /* W3C trace-flags */
	uint8_t dir;	      /* OBSBPF_DIR_SERVER: kind SERVER, else CLIENT */
	uint8_t method;	      /* enum obsbpf_method */
	uint16_t status;      /* HTTP status code, or enum obsbpf_no_response */
	uint16_t res;	      /* index into the tracer's resource table */
	uint32_t tid;
	uint64_t start_unix_ns, end_unix_ns;
	struct obsbpf_addrs addrs;
	char route[OBSBPF_ROUTE_LEN + 8]; /* http.route (server spans); "" when unknown */
	/* url.path, url.full: the request's path (HTTP/2, TLS: as sent, with its query; HTTP/1 in
	 * the kernel: the route as templated, no query); "" when unknown */
	char path[SPAN_PATH_LEN];
	char authority[SPAN_AUTHORITY_LEN]; /* client: HTTP/2 :authority or Host; "" unknown */
	uint8_t proto;			    /* network.protocol.version: 1 HTTP/1.minor, 2 HTTP/2 */
	uint8_t minor;
	bool tls;	     /* url.scheme https: seen through the TLS library */
	bool rpc;	     /* a gRPC call: rpc.* attributes, named service/method */
	int16_t grpc_status; /* rpc: the call's gRPC status code */
	uint16_t closed;     /* rpc: the connection's close ended the call, why (enum obsbpf_no_response) */
	char rpc_service[SPAN_RPC_SERVICE_LEN];
	char rpc_method[SPAN_RPC_METHOD_LEN];
};

/* Fills s from e (route may be NULL); false when e carries no span (no trace context). */
bool span_from_event(struct span *s, const struct obsbpf_http_event *e, const char *route,
		     int64_t mono_to_unix_ns, uint16_t res);
/* Fills s from an HTTP/2 exchange and its span context (route: NULL for gRPC calls). */
struct h2_exchange;
void span_from_exchange(struct span *s, const struct h2_exchange *x, const struct obsbpf_trace *tr,
			const char *route, int64_t mono_to_unix_ns);
/* "GET /users/:id", "GET" when the route is unknown, "HTTP" for a non-standard method; a gRPC
 * call's "package.Service/Method". */
void span_name(const struct span *s, char *out, size_t n);
/* ERROR: 5xx on server spans, 4xx and 5xx on client spans, and no response at all (OTel HTTP
 * semantic conventions);
 * for gRPC, any non-OK status on a client span, and UNKNOWN, DEADLINE_EXCEEDED,
 * UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS on a server span (OTel gRPC conventions). */
bool span_is_error(const struct span *s);
/* Splits a gRPC :path "/package.Service/Method" into service and method; false when path has
 * not that form. */
bool span_rpc_split(const char *path, char *service, size_t ns, char *method, size_t nm);

/* Bounded FIFO of spans (a ring). */
struct span_queue {
	struct span *v;
	size_t cap, head, len;
};
int squeue_init(struct span_queue *q, size_t cap);
void squeue_free(struct span_queue *q);
/* false when full (the caller counts the drop). */
bool squeue_push(struct span_queue *q, const struct span *s);
/* The slot the next push would fill (NULL when full), to build a span in place; squeue_commit
 * then queues it. */
struct span *squeue_slot(struct span_queue *q);
void squeue_commit(struct span_queue *q);
const struct span *squeue_at(const struct span_queue *q, size_t i);
void squeue_pop(struct span_queue *q, size_t n);

/* A resource attribute from OTEL_RESOURCE_ATTRIBUTES (a string, as the variable holds). */
#define OTLP_MAX_RES_ATTRS 16
struct otlp_attr {
	char key[128];
	char value[256];
};
/* Parses "key=value,..." (values percent-decoded) into out[0..*n); keys the agent sets itself
 * (service.name, k8s.pod.name, k8s.namespace.name, k8s.node.name, telemetry.sdk.*) are left
 * out. Returns 0, or -EINVAL with *why set. */
int otel_resource_attrs_parse(const char *v, struct otlp_attr *out, size_t max, size_t *n, const char **why);

/* Buffers the encoder keeps from one request to the next: allocated per request, they went
 * back to the kernel and came again as page faults, a fifth of the encoder's time. extra: the
 * attributes every resource also gets (OTEL_RESOURCE_ATTRIBUTES), set by the tracer. */
struct otlp_scratch {
	uint8_t *spans, *req;
	size_t spans_cap, req_cap;
	const struct otlp_attr *extra;
	size_t nextra;
};
void otlp_scratch_free(struct otlp_scratch *s);
/* ExportTraceServiceRequest with one ResourceSpans per resource used by spans[0..n). *out
 * points into s, valid until the next call. Returns 0 or -ENOMEM. */
int otlp_encode(struct otlp_scratch *s, const struct span *const *spans, size_t n,
		const struct span_resource *res, size_t nres, const uint8_t **out, size_t *len);
/* ExportTraceServiceResponse: rejected spans of a partial success (0 when none). Returns 0 or
 * -EBADMSG. An empty body is a full success. */
int otlp_decode_response(const uint8_t *buf, size_t len, int64_t *rejected, char *msg, size_t msglen);

/* What became of one export request. */
enum export_outcome {
	EXPORT_OK,    /* delivered (maybe partly rejected: see rejected) */
	EXPORT_RETRY, /* not delivered, worth retrying: unreachable, busy, throttled */
	EXPORT_FAIL,  /* refused for good: the batch is dropped */
};

struct export_result {
	enum export_outcome outcome;
	int64_t rejected;    /* spans the collector rejected in a partial success */
	long retry_after_ms; /* the collector's Retry-After (HTTP) or RetryInfo (gRPC), -1: none */
	char detail[160];    /* one line for the log: "HTTP 503", "connection refused", ... */
};

/* Retry policy (OTLP spec, "Failures"): HTTP 429, 502, 503, 504 and transport errors retry;
 * other non-2xx fail. */
enum export_outcome otlp_http_outcome(bool transport_ok, long status);
/* gRPC codes the OTLP spec calls retryable: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 * UNAVAILABLE, DATA_LOSS. */
enum export_outcome otlp_grpc_outcome(int grpc_status);
/* Delay before retry number `attempt` (1, 2, ...): exponential from base_ms, capped at cap_ms,
 * with jitter (a uniform 50..100% of the step, rnd in [0,1)); a Retry-After (>= 0) wins,
 * itself capped at RETRY_AFTER_MAX_MS. */
#define RETRY_AFTER_MAX_MS 300000L
uint64_t retry_delay_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, long retry_after_ms, double rnd);

/* A transport sends one encoded request; done is called once, later, from the loop. buf stays
 * unchanged until then (the tracer sends one request at a time and frees the transport before
 * its encoder), so transports read it in place rather than copy each batch. */
typedef void (*export_done_fn)(void *arg, const struct export_result *r);
struct transport {
	int (*send)(struct transport *t, const uint8_t *buf, size_t len, export_done_fn done, void *arg);
	void (*free)(struct transport *t);
};
/* What every request carries beyond the spans: --otlp-header, --otlp-compression, --otlp-ca-file,
 * --otlp-client-cert, --otlp-client-key, or the OTEL_EXPORTER_OTLP_[TRACES_]* variables. */
#define OTLP_MAX_HEADERS 32
struct otlp_header {
	char name[64]; /* lower case */
	char value[1024];
};
struct otlp_export_opts {
	struct otlp_header headers[OTLP_MAX_HEADERS];
	unsigned nheaders;
	bool gzip; /* request bodies gzip-compressed (HTTP Content-Encoding, gRPC grpc-encoding) */
	bool tls;  /* an https:// endpoint */
	/* PEM files (NULL: the system's CA store; no client certificate); they point into the
	 * configuration or the environment. */
	const char *ca_file, *client_cert, *client_key;
};
/* Fills o from cfg, else env (getenv, or a test's); tls: the endpoint is https://. Returns 0,
 * or -EINVAL after logging one line naming the flag or variable. */
struct obsbpf_config;
int otlp_export_opts_resolve(struct otlp_export_opts *o, const struct obsbpf_config *cfg, bool tls,
			     const char *(*env)(const char *));

/* The export timeout: the flag (non-zero), else OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else
 * OTEL_EXPORTER_OTLP_TIMEOUT (milliseconds), else 10 s. Returns 0, or -EINVAL after one line. */
#define OTLP_DEFAULT_TIMEOUT_MS 10000
int otlp_timeout_resolve(unsigned flag_ms, const char *(*env)(const char *), unsigned *out);

/* A reused deflate state and output buffer for request bodies. */
struct otlp_gzip {
	z_stream z;
	bool init;
	uint8_t *buf;
	size_t cap;
};
int otlp_gzip(struct otlp_gzip *g, const uint8_t *in, size_t len, const uint8_t **out, size_t *outlen);
void otlp_gzip_free(struct otlp_gzip *g);

/* OTLP/HTTP: POST application/x-protobuf to url. */
struct transport *otlp_http_new(struct loop *l, const char *url, unsigned timeout_ms,
				const struct otlp_export_opts *o);
/* What the collector's HTTP answer means (outcome, Retry-After, partial success or its
 * reason): the transport's part that reads it, apart for tests and fuzzing. */
struct fetch_result;
void otlp_http_result(const struct fetch_result *r, struct export_result *out);
/* OTLP/gRPC: to host:port (resolved now), h2c with prior knowledge, or HTTP/2 over TLS (ALPN h2)
 * when o->tls; one connection reused. Returns NULL after logging one line. */
struct transport *otlp_grpc_new(struct loop *l, const char *host, const char *port, unsigned timeout_ms,
				const struct otlp_export_opts *o);

#endif

/* Where and how spans go, from --otlp-endpoint/--otlp-protocol or the OTEL_* variables. */
struct otlp_target {
	bool grpc;
	bool tls;	/* https:// */
	char url[512];	/* HTTP: the full URL spans are POSTed to */
	char host[256]; /* gRPC */
	char port[8];
};
/* Returns 1 with *t filled, 0 when no endpoint is configured (tracing off), or -EINVAL after
 * printing one line. env_* may be NULL. */
int otlp_target_resolve(struct otlp_target *t, const char *endpoint, const char *protocol,
			const char *env_traces_endpoint, const char *env_endpoint, const char *env_protocol);

/* The retry delay in a grpc-status-details-bin trailer (base64 of a google.rpc.Status holding a
 * google.rpc.RetryInfo), in milliseconds; -1 when there is none. */
long grpc_retry_info_ms(const char *b64, size_t len);
