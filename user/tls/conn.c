// SPDX-License-Identifier: GPL-2.0
/* The TLS connections being parsed, by process and SSL *, and where each call's bytes go: the
 * first bytes say what the connection carries (a request line, a status line, the HTTP/2
 * preface) and the pod's role on it; after that each call feeds its direction's parser. */
#include "internal.h"

#include "util/array.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *const drop_names[TLS_DROP_MAX] = {
	[TLS_DROP_HTTP1] = "http1_unparsed",
	[TLS_DROP_H2] = "h2_frame_uncaptured",
	[TLS_DROP_LIMIT] = "connection_limit",
};

const char *tls_drop_name(enum tls_drop d)
{
	return d < TLS_DROP_MAX ? drop_names[d] : "unknown";
}

struct conn_key {
	uint64_t ssl;
	uint32_t tgid;
};

static uint64_t key_hash(uint64_t ssl, uint32_t tgid)
{
	struct conn_key k = { ssl, tgid };
	return fnv1a64(fnv1a64(FNV1A64_INIT, &k.ssl, sizeof(k.ssl)), &k.tgid, sizeof(k.tgid));
}

static uint64_t pos_hash(const void *ctx, uint32_t pos)
{
	const struct tls_tracker *t = ctx;
	return key_hash(t->conns[pos]->ssl, t->conns[pos]->tgid);
}

static bool pos_eq(const void *ctx, uint32_t pos, const void *key)
{
	const struct tls_tracker *t = ctx;
	const struct conn_key *k = key;
	return t->conns[pos]->ssl == k->ssl && t->conns[pos]->tgid == k->tgid;
}

static struct tls_conn *find(const struct tls_tracker *t, uint64_t ssl, uint32_t tgid)
{
	struct conn_key k = { ssl, tgid };
	uint32_t *slot = index_find(&t->ix, key_hash(ssl, tgid), pos_eq, t, &k);
	return slot && *slot ? t->conns[*slot - 1] : NULL;
}

static struct tls_conn *add(struct tls_tracker *t, const struct obsbpf_tls_event *e)
{
	if (t->nconns >= t->max_conns) {
		t->st.dropped[TLS_DROP_LIMIT]++;
		return NULL;
	}
	if (!array_grow((void **)&t->conns, &t->cap, t->nconns + 1, sizeof(*t->conns)) ||
	    !index_reserve(&t->ix, t->nconns, pos_hash, t))
		return NULL;
	struct tls_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->t = t;
	c->tgid = (uint32_t)(e->pid_tgid >> 32);
	c->ssl = e->ssl;
	c->pod_id = e->pod_id;
	c->id = 1ull << 63 | ++t->next_id;
	struct conn_key k = { c->ssl, c->tgid };
	uint32_t *slot = index_find(&t->ix, key_hash(c->ssl, c->tgid), pos_eq, t, &k);
	t->conns[t->nconns] = c;
	*slot = (uint32_t)++t->nconns;
	return c;
}

static void conn_end(struct tls_tracker *t, struct tls_conn *c)
{
	if (c->kind == TLS_KIND_HTTP1)
		tls_h1_close(t, c);
	else if (c->kind == TLS_KIND_H2)
		tls_h2_close(t, c);
	if (t->forget)
		t->forget(t->forget_arg, c->tgid, c->ssl, c->tied ? c->sock.cookie : 0);
	free(c);
}

/* Removes every connection keep() says no to. */
static void remove_if(struct tls_tracker *t, bool (*keep)(const struct tls_conn *, const void *),
		      const void *arg)
{
	size_t n = 0;
	for (size_t i = 0; i < t->nconns; i++) {
		struct tls_conn *c = t->conns[i];
		if (keep(c, arg))
			t->conns[n++] = c;
		else
			conn_end(t, c);
	}
	if (n == t->nconns)
		return;
	t->nconns = n;
	index_fill(&t->ix, t->nconns, pos_hash, t);
}

static bool starts(const uint8_t *p, size_t n, const char *s)
{
	size_t l = strlen(s);
	return n >= l && !memcmp(p, s, l);
}

/* A request line's start: a method token (upper-case letters) and a space. */
static bool request_start(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && i < 16 && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	return i > 0 && i < n && p[i] == ' ';
}

/* An HTTP/2 server's first frame, SETTINGS on stream 0 (RFC 9113 3.4): a server sends it right
 * after the handshake, often before it reads the client's preface. */
static bool server_settings(const uint8_t *p, size_t n)
{
	if (n < OBSBPF_H2_FRAME_HDR || p[3] != OBSBPF_H2_SETTINGS || (p[4] & OBSBPF_H2_F_ACK))
		return false;
	uint32_t len = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	return len % 6 == 0 && len <= 6 * 16 && !(p[5] | p[6] | p[7] | p[8]);
}

/* What the connection carries, and the pod's role, from its first bytes. */
static void classify(struct tls_tracker *t, struct tls_conn *c, const struct obsbpf_tls_event *e)
{
	bool wrote = e->op == OBSBPF_TLS_WRITE;
	if (server_settings(e->data, e->cap)) {
		c->kind = TLS_KIND_H2;
		c->role = wrote ? OBSBPF_DIR_SERVER : OBSBPF_DIR_CLIENT;
		t->st.h2++;
		tls_h2_init(c);
	} else if (starts(e->data, e->cap, OBSBPF_H2_PREFACE)) {
		c->kind = TLS_KIND_H2;
		c->role = wrote ? OBSBPF_DIR_CLIENT : OBSBPF_DIR_SERVER;
		t->st.h2++;
		tls_h2_init(c);
	} else if (request_start(e->data, e->cap) && !starts(e->data, e->cap, "PRI ")) {
		c->kind = TLS_KIND_HTTP1;
		c->role = wrote ? OBSBPF_DIR_CLIENT : OBSBPF_DIR_SERVER;
		t->st.http1++;
		tls_h1_init(c);
	} else {
		c->kind = TLS_KIND_OTHER;
		t->st.other++;
	}
}

static bool other_socket(const struct tls_conn *c, const void *cookie)
{
	return !c->tied || c->sock.cookie != *(const uint64_t *)cookie;
}

struct closed {
	uint64_t cookie;
	const struct tls_conn *untied; /* the SSL * the kernel tied last, not tied in an event here */
};

static bool not_closed(const struct tls_conn *c, const void *arg)
{
	const struct closed *k = arg;
	return c != k->untied && other_socket(c, &k->cookie);
}

/* The connections on a closed socket (k) end, with the close's reason (0: not known) and time
 * for what they left unanswered. */
static void end_socket(struct tls_tracker *t, const struct closed *k, const struct tls_closed_sock *why)
{
	for (size_t i = 0; why->reason && i < t->nconns; i++) {
		struct tls_conn *c = t->conns[i];
		if (!not_closed(c, k)) {
			c->close_reason = why->reason;
			c->close_ns = why->ns;
		}
	}
	remove_if(t, not_closed, k);
}

/* The socket closed: the connections on it end, with the kernel's reason for what they left
 * unanswered. Among them the SSL * the kernel tied last even if no event here was tied: a client
 * that only sent before a socket hook saw it inside an SSL call (a failed read at the close). */
static void tls_closed(struct tls_tracker *t, const struct obsbpf_tls_event *e)
{
	struct closed k = { .cookie = e->sock.cookie };
	struct tls_conn *u = e->ssl ? find(t, e->ssl, (uint32_t)(e->pid_tgid >> 32)) : NULL;
	if (u && !u->tied) {
		k.untied = u;
		/* Its exchanges get the socket's addresses after all. */
		u->tied = true;
		u->sock = e->sock;
	}
	bool known = e->reason >= OBSBPF_STATUS_NO_RESPONSE && e->reason < OBSBPF_STATUS_NO_RESPONSE_MAX;
	struct tls_closed_sock why = { e->sock.cookie, e->ts_ns, known ? (uint16_t)e->reason : 0 };
	if (why.cookie)
		t->closed[t->closed_next++ % TLS_RECENT_CLOSED] = why;
	end_socket(t, &k, &why);
}

/* The call began before its socket closed and returned after: the close it missed. */
static const struct tls_closed_sock *closed_before(const struct tls_tracker *t,
						   const struct obsbpf_tls_event *e)
{
	for (size_t i = 0; i < TLS_RECENT_CLOSED; i++) {
		const struct tls_closed_sock *r = &t->closed[i];
		if (r->cookie && r->cookie == e->sock.cookie && e->call_ns <= r->ns)
			return r;
	}
	return NULL;
}

void tls_tracker_event(struct tls_tracker *t, const void *data, size_t len)
{
	const struct obsbpf_tls_event *e = data;
	if (len < OBSBPF_TLS_EVENT_HDR)
		return;
	if (e->op == OBSBPF_TLS_CLOSE) {
		tls_closed(t, e);
		return;
	}
	if (e->cap > OBSBPF_TLS_CAP_H2 || len < OBSBPF_TLS_EVENT_HDR + e->cap || e->cap > e->len)
		return;
	t->st.events++;
	struct tls_conn *c = find(t, e->ssl, (uint32_t)(e->pid_tgid >> 32));
	/* The same SSL * on another socket: the library reused a freed one. */
	if (c && e->tied && c->tied && e->sock.cookie != c->sock.cookie) {
		uint64_t cookie = c->sock.cookie;
		remove_if(t, other_socket, &cookie);
		c = NULL;
	}
	bool fresh = !c;
	if (!c && !(c = add(t, e)))
		return;
	c->last_ns = e->ts_ns;
	if (e->tied && !c->tied) {
		c->tied = true;
		c->sock = e->sock;
		fresh = true;
	}
	/* Only a connection this event made, or tied: one tied earlier was ended by the close. */
	const struct tls_closed_sock *late = fresh && e->tied ? closed_before(t, e) : NULL;
	if (c->kind == TLS_KIND_NEW)
		classify(t, c, e);
	bool first = c->role == OBSBPF_DIR_CLIENT ? e->op == OBSBPF_TLS_WRITE : e->op == OBSBPF_TLS_READ;
	t->ev = e;
	if (c->kind == TLS_KIND_HTTP1)
		tls_h1_feed(t, c, e, first);
	else if (c->kind == TLS_KIND_H2)
		tls_h2_feed(t, c, e, first);
	t->ev = NULL;
	if (late) { /* as its close would have ended it */
		t->st.late++;
		end_socket(t, &(struct closed){ .cookie = c->sock.cookie }, late);
	}
}

struct sweep {
	uint64_t before;
	bool check_pids;
};

static bool recent(const struct tls_conn *c, const void *arg)
{
	/* The library does not say when an SSL * is freed, nor the process when it exits. */
	const struct sweep *w = arg;
	return c->last_ns >= w->before && (!w->check_pids || kill((pid_t)c->tgid, 0) == 0 || errno != ESRCH);
}

void tls_tracker_sweep(struct tls_tracker *t, uint64_t idle_before_ns, bool check_pids)
{
	struct sweep w = { idle_before_ns, check_pids };
	remove_if(t, recent, &w);
}

static bool other_pod(const struct tls_conn *c, const void *pod_id)
{
	return c->pod_id != *(const uint32_t *)pod_id;
}

void tls_tracker_forget_pod(struct tls_tracker *t, uint32_t pod_id)
{
	remove_if(t, other_pod, &pod_id);
}

const struct tls_stats *tls_tracker_stats(const struct tls_tracker *t)
{
	((struct tls_tracker *)t)->st.conns = t->nconns;
	return &t->st;
}

struct tls_tracker *tls_tracker_new(unsigned max_conns, h2_exchange_fn fn, void *arg, struct h2_tracker *h2)
{
	struct tls_tracker *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max_conns = max_conns ? max_conns : 1;
	t->fn = fn;
	t->arg = arg;
	t->h2 = h2;
	return t;
}

void tls_tracker_on_forget(struct tls_tracker *t, tls_forget_fn fn, void *arg)
{
	t->forget = fn;
	t->forget_arg = arg;
}

void tls_tracker_free(struct tls_tracker *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nconns; i++)
		free(t->conns[i]);
	free(t->conns);
	index_free(&t->ix);
	free(t);
}
