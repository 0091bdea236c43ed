// SPDX-License-Identifier: GPL-2.0
/* libcurl multi on the agent's epoll loop. curl tells us which sockets to watch and when to
 * call it back; we never block on the network. */
#include "fetch.h"

#include "loop/loop.h"
#include "pod/pod.h"
#include "util/version.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct xfer {
	struct fetcher *f;
	CURL *easy;
	struct curl_slist *hdrs;
	struct strbuf body;
	size_t max_bytes;
	bool too_large, discard;
	const struct pod_info *pod;
	fetch_done_fn done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *prev, *next;
};

struct sock {
	struct fetcher *f;
	curl_socket_t fd;
	struct loop_watch *w;
};

#define MAX_OWN_FDS 64

struct fetcher {
	struct loop *loop;
	CURLM *multi;
	struct loop_watch *timer;
	struct xfer *xfers;
	fetch_socket_hook hook;
	void *hook_arg;
	int own_fds[MAX_OWN_FDS]; /* sockets reported to the hook, to report their close */
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	if (x->discard)
		return len;
	if (x->max_bytes && x->body.len + len > x->max_bytes) {
		x->too_large = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	sb_append(&x->body, p, len);
	return x->body.oom ? 0 : len;
}

struct sock_args {
	int family, type, protocol;
};

static int make_socket(void *arg)
{
	struct sock_args *a = arg;
	int fd = socket(a->family, a->type | SOCK_CLOEXEC, a->protocol);
	return fd < 0 ? -errno : fd;
}

/* The socket is created inside the pod's network namespace and stays there, so that
 * "localhost:8080" means the app's loopback, not the node's. */
/* A socket in the pod's netns gets its local port now (bind to port 0) so the hook can tell
 * the data plane which of the app's connections are the agent's own. */
static void report_own(struct fetcher *f, int fd, int family)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (!f || !f->hook || (family != AF_INET && family != AF_INET6) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0)
		return;
	for (int i = 0; i < MAX_OWN_FDS; i++) {
		if (f->own_fds[i] < 0) {
			if (f->hook(f->hook_arg, fd, true) == 0)
				f->own_fds[i] = fd;
			return;
		}
	}
}

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct xfer *x = arg;
	struct sock_args a = { addr->family, addr->socktype, addr->protocol };
	(void)purpose;
	bool in_pod = x->pod && x->pod->netns_fd >= 0;
	int fd = in_pod ? pod_in_netns(x->pod, make_socket, &a) : make_socket(&a);
	if (fd >= 0 && in_pod)
		report_own(x->f, fd, addr->family);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int close_socket(void *arg, curl_socket_t fd)
{
	struct fetcher *f = arg;
	for (int i = 0; f && i < MAX_OWN_FDS; i++) {
		if (f->own_fds[i] == fd) {
			f->hook(f->hook_arg, fd, false);
			f->own_fds[i] = -1;
		}
	}
	return close(fd);
}

void fetcher_set_socket_hook(struct fetcher *f, fetch_socket_hook hook, void *arg)
{
	f->hook = hook;
	f->hook_arg = arg;
}

static void xfer_free(struct xfer *x)
{
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	sb_free(&x->body);
	free(x);
}

static int setup(struct xfer *x, const struct fetch_req *r)
{
	CURL *e = x->easy;
	x->max_bytes = r->max_bytes;
	x->discard = r->discard_body;
	x->pod = r->pod;
	sb_init(&x->body);
	if (r->accept) {
		char h[256];
		snprintf(h, sizeof(h), "Accept: %s", r->accept);
		x->hdrs = curl_slist_append(x->hdrs, h);
	}
	if (r->content_type) {
		char h[256];
		snprintf(h, sizeof(h), "Content-Type: %s", r->content_type);
		x->hdrs = curl_slist_append(x->hdrs, h);
	}
	x->hdrs = curl_slist_append(x->hdrs, "Expect:"); /* no 100-continue round trip */
	for (size_t i = 0; x->hdrs && i < r->nheaders; i++) {
		struct curl_slist *l = curl_slist_append(x->hdrs, r->headers[i]);
		if (!l)
			return -ENOMEM; /* the list stays whole: xfer_free frees it */
		x->hdrs = l;
	}
	if (!x->hdrs)
		return -ENOMEM;
	CURLcode rc = CURLE_OK;
#define SET(opt, val)       \
	if (rc == CURLE_OK) \
	rc = curl_easy_setopt(e, opt, val)
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, ""); /* an http_proxy in the agent's environment must not apply */
	SET(CURLOPT_USERAGENT, obsbpf_user_agent());
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_HTTPHEADER, x->hdrs);
	SET(CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	/* A Content-Length past the limit fails before any of the body is read. */
	if (r->max_bytes)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_bytes);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_PRIVATE, x);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, x);
	SET(CURLOPT_CLOSESOCKETFUNCTION, close_socket); /* its data, the fetcher, is set in fetch_start */
	/* libcurl's connection cache matches by host and port: a connection made inside one pod's
	 * network namespace must never carry a request meant for another pod's localhost. */
	if (r->pod) {
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
	}
	if (r->ca_file)
		SET(CURLOPT_CAINFO, r->ca_file);
	if (r->client_cert)
		SET(CURLOPT_SSLCERT, r->client_cert);
	if (r->client_key)
		SET(CURLOPT_SSLKEY, r->client_key);
	if (r->method)
		SET(CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		if (r->body_kept) {
			SET(CURLOPT_POSTFIELDS, r->body);
		} else {
			SET(CURLOPT_COPYPOSTFIELDS, r->body);
		}
	}
#undef SET
	return rc == CURLE_OK ? 0 : -EINVAL;
}

static struct xfer *xfer_new(const struct fetch_req *r)
{
	struct xfer *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	if (!(x->easy = curl_easy_init()) || setup(x, r) < 0) {
		xfer_free(x);
		return NULL;
	}
	return x;
}

static void fill_result(struct xfer *x, CURLcode rc, struct fetch_result *res)
{
	char *ct = NULL;
	memset(res, 0, sizeof(*res));
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res->status);
	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &res->seconds);
	res->content_type = ct;
	curl_off_t ra = 0;
	res->retry_after_s =
		curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0 ? (long)ra : -1;
	res->body = &x->body;
	res->ok = rc == CURLE_OK;
	res->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	res->too_large = x->too_large || rc == CURLE_FILESIZE_EXCEEDED;
	if (res->too_large)
		res->error = "response too large";
	else if (!res->ok)
		res->error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
}

static void drain(struct fetcher *f)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(f->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(f->multi, x->easy);
		if (x->prev)
			x->prev->next = x->next;
		else
			f->xfers = x->next;
		if (x->next)
			x->next->prev = x->prev;
		struct fetch_result res;
		fill_result(x, rc, &res);
		x->done(x->arg, &res);
		xfer_free(x);
	}
}

static void on_sock(void *arg, uint32_t events)
{
	struct sock *s = arg;
	struct fetcher *f = s->f; /* s may be freed by curl's REMOVE callback below */
	int flags = 0, running;
	if (events & (EPOLLIN | EPOLLHUP))
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(f->multi, s->fd, flags, &running);
	drain(f);
}

static void on_timer(void *arg)
{
	struct fetcher *f = arg;
	int running;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(f);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct fetcher *f = userp;
	struct sock *s = socketp;
	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			loop_remove(s->w);
			free(s);
			curl_multi_assign(f->multi, fd, NULL);
		}
		return 0;
	}
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (s)
		return loop_mod_fd(s->w, ev) < 0 ? -1 : 0;
	if (!(s = calloc(1, sizeof(*s))))
		return -1;
	s->f = f;
	s->fd = fd;
	if (!(s->w = loop_add_fd(f->loop, fd, ev, on_sock, s))) {
		free(s);
		return -1;
	}
	curl_multi_assign(f->multi, fd, s);
	return 0;
}

/* curl forbids calling socket_action from here: arm a loop timer that will. */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct fetcher *f = userp;
	(void)m;
	if (timeout_ms < 0) {
		loop_remove(f->timer);
		f->timer = NULL;
		return 0;
	}
	if (f->timer)
		return loop_timer_rearm(f->timer, (uint64_t)timeout_ms, 0) < 0 ? -1 : 0;
	f->timer = loop_add_timer(f->loop, (uint64_t)timeout_ms, 0, on_timer, f);
	return f->timer ? 0 : -1;
}

struct fetcher *fetcher_new(struct loop *l)
{
	/* libcurl counts its global init/cleanup calls itself. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	struct fetcher *f = calloc(1, sizeof(*f));
	if (!f || !(f->multi = curl_multi_init())) {
		free(f);
		curl_global_cleanup();
		return NULL;
	}
	f->loop = l;
	for (int i = 0; i < MAX_OWN_FDS; i++)
		f->own_fds[i] = -1;
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	return f;
}

void fetcher_free(struct fetcher *f)
{
	if (!f)
		return;
	while (f->xfers) {
		struct xfer *x = f->xfers;
		f->xfers = x->next;
		curl_multi_remove_handle(f->multi, x->easy); /* calls socket_cb REMOVE */
		xfer_free(x);
	}
	curl_multi_cleanup(f->multi);
	loop_remove(f->timer);
	free(f);
	curl_global_cleanup();
}

void fetch_cancel(struct fetcher *f, void *arg)
{
	for (struct xfer *x = f ? f->xfers : NULL, *next; x; x = next) {
		next = x->next;
		if (x->arg != arg)
			continue;
		if (x->prev)
			x->prev->next = x->next;
		else
			f->xfers = x->next;
		if (x->next)
			x->next->prev = x->prev;
		curl_multi_remove_handle(f->multi, x->easy); /* calls socket_cb REMOVE */
		xfer_free(x);
	}
}

int fetch_start(struct fetcher *f, const struct fetch_req *req, fetch_done_fn done, void *arg)
{
	struct xfer *x = xfer_new(req);
	if (!x)
		return -ENOMEM;
	x->f = f;
	curl_easy_setopt(x->easy, CURLOPT_CLOSESOCKETDATA, f);
	x->done = done;
	x->arg = arg;
	if (curl_multi_add_handle(f->multi, x->easy) != CURLM_OK) {
		xfer_free(x);
		return -EIO;
	}
	x->next = f->xfers;
	if (f->xfers)
		f->xfers->prev = x;
	f->xfers = x;
	return 0;
}

long fetch_blocking(const struct fetch_req *req, struct strbuf *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	struct xfer *x = xfer_new(req);
	if (!x) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	CURLcode rc = curl_easy_perform(x->easy);
	struct fetch_result res;
	fill_result(x, rc, &res);
	long st = res.ok ? res.status : -EIO;
	if (!res.ok && err)
		sb_puts(err, res.error);
	xfer_free(x);
	curl_global_cleanup();
	return st;
}
