// SPDX-License-Identifier: GPL-2.0
#include "agent_status.h"
#include "agent_tls.h"

#include "appmetrics/appmetrics.h"
#include "logs/logs.h"
#include "pod/identity.h"
#include "pod/watch.h"
#include "trace/trace.h"

#include "bpf/datapath.h"
#include "bpf/variant.h"
#include "ctl/ctl.h"
#include "metrics/red.h"
#include "metrics/route.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void iso_time(char *out, size_t n, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void json_kv_str(struct strbuf *b, const char *k, const char *v, bool comma)
{
	sb_printf(b, "%s\"%s\":\"", comma ? "," : "", k);
	sb_json_str(b, v);
	sb_putc(b, '"');
}

/* "key":"value", or "key":null for NULL or "". */
static void json_kv_opt(struct strbuf *b, const char *k, const char *v)
{
	if (v && *v)
		json_kv_str(b, k, v, true);
	else
		sb_printf(b, ",\"%s\":null", k);
}

static void json_str_item(struct strbuf *b, const char *v, bool comma)
{
	sb_puts(b, comma ? ",\"" : "\"");
	sb_json_str(b, v);
	sb_putc(b, '"');
}

/* The pod's containers, named from the node's container log links where it shows them. */
static void status_containers(struct agent *a, struct strbuf *b, const struct agent_pod *ap)
{
	struct pod_container c[16];
	int n = pod_containers(ap->info.cgroup_path, a->cfg->cri_logs, c, 16);
	sb_puts(b, ",\"containers\":[");
	for (int i = 0; i < n; i++) {
		sb_printf(b, "%s{\"id\":\"", i ? "," : "");
		sb_json_str(b, c[i].id);
		sb_putc(b, '"');
		json_kv_opt(b, "name", c[i].name);
		sb_putc(b, '}');
	}
	sb_putc(b, ']');
}

/* The pod's logs (NULL: forwarding off); a problem is appended to errs. */
static void status_logs(struct agent *a, struct strbuf *b, const char *uid, bool followed_only,
			struct strbuf *errs)
{
	struct logs_pod_status ls;
	if (!logs_pod_status(a->logs, uid, &ls) || (followed_only && !ls.files)) {
		sb_puts(b, ",\"logs\":null");
		return;
	}
	sb_printf(b,
		  ",\"logs\":{\"files\":%d,\"lines\":%llu,\"unparsed_lines\":%llu,\"truncated_lines\":%llu}",
		  ls.files, ls.lines, ls.unparsed, ls.truncated);
	char e[160];
	if (ls.unparsed) {
		snprintf(e, sizeof(e), "logs: %llu lines in no container log format (forwarded as they are)",
			 ls.unparsed);
		json_str_item(errs, e, errs->len > 0);
	}
	if (ls.truncated) {
		snprintf(e, sizeof(e), "logs: %llu lines longer than --logs-max-line (forwarded truncated)",
			 ls.truncated);
		json_str_item(errs, e, errs->len > 0);
	}
}

static void status_app(struct agent *a, struct strbuf *b, uint32_t pod_id, struct strbuf *errs)
{
	struct appmetrics_pod_status s;
	bool on = appmetrics_pod_status(a->app, pod_id, &s);
	char e[600];
	if (!on || !s.url) {
		sb_puts(b, ",\"app_metrics\":null");
	} else {
		sb_puts(b, ",\"app_metrics\":{\"url\":\"");
		sb_json_str(b, s.url);
		sb_printf(b, "\",\"interval\":%u,\"up\":%s,\"scrapes\":%llu,\"series\":%u", s.interval,
			  s.up ? "true" : "false", s.scrapes, s.series);
		json_kv_opt(b, "error", s.error);
		sb_putc(b, '}');
		if (s.error) {
			snprintf(e, sizeof(e), "app metrics %s: %s", s.url, s.error);
			json_str_item(errs, e, errs->len > 0);
		}
	}
	if (!on || !s.health_url) {
		sb_puts(b, ",\"app_health\":null");
		return;
	}
	sb_puts(b, ",\"app_health\":{\"url\":\"");
	sb_json_str(b, s.health_url);
	sb_printf(b, "\",\"probed\":%s,\"healthy\":%s", s.probed ? "true" : "false",
		  s.healthy ? "true" : "false");
	json_kv_opt(b, "error", s.health_error);
	sb_putc(b, '}');
	if (s.health_error) {
		snprintf(e, sizeof(e), "app health: %s", s.health_error);
		json_str_item(errs, e, errs->len > 0);
	}
}

/* What is on for the pod, and what is wrong with it. */
static void status_signals(struct agent *a, struct strbuf *b, const struct agent_pod *ap)
{
	struct strbuf errs;
	sb_init(&errs);
	sb_puts(b, ",\"metrics\":true,\"traces\":{\"propagation\":");
	if (a->propagating)
		json_str_item(b, a->cfg->propagation, false);
	else
		sb_puts(b, "null");
	sb_printf(b, ",\"propagate\":\"%s\"", a->cfg->propagate ? a->cfg->propagate : "always");
	sb_printf(b, ",\"spans\":%s}", a->spans && a->spans->t ? "true" : "false");
	status_logs(a, b, ap->info.uid, false, &errs);
	status_app(a, b, ap->id, &errs);
	if (!datapath_pod_attached(a->dp, ap->id))
		json_str_item(&errs, "BPF programs not attached", errs.len > 0);
	sb_printf(b, ",\"errors\":[%s]", errs.buf ? errs.buf : "");
	sb_free(&errs);
}

static void status_pods(struct agent *a, struct strbuf *b)
{
	sb_puts(b, ",\"pods\":[");
	for (int i = 0; i < a->npods; i++) {
		const struct agent_pod *ap = a->pods[i];
		const struct dp_iface *ifs;
		char since[32];
		int n = datapath_pod_ifaces(a->dp, ap->id, &ifs);
		iso_time(since, sizeof(since), ap->since);
		sb_printf(b, "%s{\"pod_id\":%u", i ? "," : "", ap->id);
		json_kv_str(b, "name", ap->info.name, true);
		json_kv_str(b, "namespace", ap->info.namespace_, true);
		json_kv_opt(b, "uid", ap->info.uid);
		json_kv_str(b, "cgroup", ap->info.cgroup_path, true);
		json_kv_str(b, "netns", ap->info.netns_path, true);
		json_kv_str(b, "tc", datapath_pod_tcx(a->dp, ap->id) ? "tcx" : "tc", true);
		json_kv_str(b, "since", since, true);
		sb_puts(b, ",\"interfaces\":[");
		for (int j = 0; j < n; j++)
			json_str_item(b, ifs[j].name, j > 0);
		sb_putc(b, ']');
		status_containers(a, b, ap);
		status_signals(a, b, ap);
		sb_putc(b, '}');
	}
	sb_putc(b, ']');
}

struct other_pods {
	struct agent *a;
	struct strbuf *b;
	int n;
};

static void other_pod(void *arg, const struct podwatch_pod *p)
{
	struct other_pods *o = arg;
	struct strbuf *b = o->b;
	if (p->state == PODWATCH_ATTACHED)
		return;
	sb_printf(b, "%s{\"uid\":\"", o->n++ ? "," : "");
	sb_json_str(b, p->uid);
	sb_putc(b, '"');
	json_kv_opt(b, "namespace", p->namespace_);
	json_kv_opt(b, "name", p->name);
	json_kv_str(b, "cgroup", p->cgroup, true);
	json_kv_str(b, "state", podwatch_state_name(p->state), true);
	json_kv_opt(b, "error", p->error);
	struct strbuf errs;
	sb_init(&errs);
	status_logs(o->a, b, p->uid, true, &errs); /* a hostNetwork pod's logs are forwarded too */
	sb_free(&errs);
	sb_putc(b, '}');
}

/* daemon: the pods of the node that are not attached, and why. */
static void status_other_pods(struct agent *a, struct strbuf *b)
{
	if (!a->watch)
		return;
	struct other_pods o = { a, b, 0 };
	sb_puts(b, ",\"other_pods\":[");
	podwatch_foreach(a->watch, other_pod, &o);
	sb_putc(b, ']');
}

/* Where each program hangs: sockops on every pod's cgroup, tc (ingress and egress) on every pod
 * interface, sk_msg on the shared sockhash. */
static void status_attach_points(struct agent *a, struct strbuf *b, const struct dp_prog *prog)
{
	int type = prog->type;
	bool first = !prog->where[0];
	if (prog->where[0]) {
		sb_putc(b, '"');
		sb_json_str(b, prog->where);
		sb_putc(b, '"');
	}
	/* obsbpf_tc_ingress / obsbpf_tc_egress */
	const char *tc_dir = strstr(prog->name, "egress") ? "egress" : "ingress";
	for (int i = 0; i < a->npods && (type == BPF_PROG_TYPE_SOCK_OPS || type == BPF_PROG_TYPE_SCHED_CLS);
	     i++) {
		const struct agent_pod *ap = a->pods[i];
		const struct dp_iface *ifs;
		int n = type == BPF_PROG_TYPE_SOCK_OPS ? 1 : datapath_pod_ifaces(a->dp, ap->id, &ifs);
		for (int j = 0; j < n; j++) {
			sb_puts(b, first ? "\"" : ",\"");
			first = false;
			if (type == BPF_PROG_TYPE_SOCK_OPS)
				sb_puts(b, "cgroup ");
			else
				sb_printf(b, "%s %s ", datapath_pod_tcx(a->dp, ap->id) ? "tcx" : "tc",
					  tc_dir);
			sb_json_str(b, type == BPF_PROG_TYPE_SOCK_OPS ? ap->info.cgroup_path : ap->info.name);
			if (type == BPF_PROG_TYPE_SCHED_CLS) {
				sb_putc(b, ':');
				sb_json_str(b, ifs[j].name);
			}
			sb_putc(b, '"');
		}
	}
}

static void status_programs(struct agent *a, struct strbuf *b)
{
	struct dp_prog progs[16];
	int n = datapath_programs(a->dp, progs, 16);
	sb_puts(b, ",\"programs\":[");
	for (int i = 0; i < n; i++) {
		sb_printf(b, "%s{\"id\":%u", i ? "," : "", progs[i].id);
		json_kv_str(b, "name", progs[i].name, true);
		sb_puts(b, ",\"attached\":[");
		status_attach_points(a, b, &progs[i]);
		sb_puts(b, "]}");
	}
	sb_putc(b, ']');
}

static void status_maps(struct agent *a, struct strbuf *b)
{
	struct dp_map_usage m[16];
	int n = datapath_map_usage(a->dp, m, 16);
	sb_puts(b, ",\"maps\":[");
	for (int i = 0; i < n; i++) {
		sb_printf(b, "%s{\"name\":\"%s\",", i ? "," : "", m[i].name);
		if (m[i].used >= 0)
			sb_printf(b, "\"used\":%ld,", m[i].used);
		else
			sb_puts(b, "\"used\":null,");
		sb_printf(b, "\"max\":%u,\"unit\":\"%s\"}", m[i].max, m[i].bytes ? "bytes" : "entries");
	}
	sb_putc(b, ']');
}

static void status_counters(struct agent *a, struct strbuf *b)
{
	static const struct {
		const char *name;
		int stat;
	} st[] = {
		{ "events_dropped", OBSBPF_ST_EVENTS_DROPPED },
		{ "pipeline_full", OBSBPF_ST_PENDING_FULL },
		{ "malformed", OBSBPF_ST_MALFORMED },
		{ "unmatched_response", OBSBPF_ST_RESP_UNMATCHED },
		{ "head_too_large", OBSBPF_ST_HEAD_UNSCANNED },
		{ "retransmit", OBSBPF_ST_RETRANSMIT },
		{ "trace_inject_failed", OBSBPF_ST_TRACE_INJECT_FAILED },
		{ "connections_tls", OBSBPF_ST_CONN_TLS },
		{ "connections_other", OBSBPF_ST_CONN_OTHER },
		{ "connections_upgraded", OBSBPF_ST_CONN_UPGRADED },
		{ "msg_desync", OBSBPF_ST_MSG_DESYNC },
		{ "connections_untracked", OBSBPF_ST_CONN_UNTRACKED },
	};
	uint64_t s[OBSBPF_ST_MAX] = { 0 };
	datapath_read_stats(a->dp, s);
	sb_printf(b, ",\"counters\":{\"events_read\":%llu", (unsigned long long)datapath_events_read(a->dp));
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		sb_printf(b, ",\"%s\":%llu", st[i].name, (unsigned long long)s[st[i].stat]);
	sb_printf(b, ",\"observe_lines_dropped\":%llu,\"observers_disconnected\":%llu,\"observers\":%d}",
		  (unsigned long long)ctl_server_dropped(a->ctl),
		  (unsigned long long)ctl_server_kicked(a->ctl), ctl_server_observers(a->ctl));
}

/* What this kernel offers obsbpf and what the agent does about it (bpf/variant.h). */
static void status_kernel(struct agent *a, struct strbuf *b)
{
	const struct kernel_variant *kv = datapath_variant(a->dp);
	struct utsname u;
	uname(&u);
	sb_puts(b, ",\"kernel\":{");
	json_kv_str(b, "release", u.release, false);
	sb_printf(b, ",\"thread_hook\":%s",
		  kv->recv_tp		   ? "\"tp_btf/sock_recv_length\""
			  : kv->recv_fexit ? "\"fexit/tcp_recvmsg\""
					   : "null");
	json_kv_str(b, "thread_binding", kv->msg_task_storage ? "task_storage" : "thread_id_hash", true);
	sb_puts(b, ",\"hazards\":[");
	if (kv->fionread_hazard)
		sb_printf(
			b,
			"{\"name\":\"sockmap_fionread\",\"detected\":%s,\"avoided_by\":\"sk_skb verdict on the sockhash\"}",
			kv->fionread_hazard > 0 ? "true" : "null");
	if (kv->eagain_hazard)
		sb_printf(b,
			  "%s{\"name\":\"sockmap_recv_eagain\",\"detected\":%s,\"avoided_by\":\"connections "
			  "sk_msg no longer needs are released from the sockhash (in part: HTTP/1 client "
			  "connections stay)\"}",
			  kv->fionread_hazard ? "," : "", kv->eagain_hazard > 0 ? "true" : "null");
	int maps;
	long socks = datapath_pins_left(a->dp, &maps);
	sb_printf(b, "],\"earlier_sockhashes\":{\"pinned\":%d,\"sockets\":%ld}}", maps,
		  socks > 0 ? socks : 0);
}

/* The one status document: `obsbpf status` (control socket) and GET /status. */
void agent_status_json(void *arg, struct strbuf *b)
{
	struct agent *a = arg;
	char started[32];
	iso_time(started, sizeof(started), a->started);
	sb_printf(b, "{\"mode\":\"%s\",\"pid\":%d", a->mode, (int)getpid());
	json_kv_str(b, "node", a->pod.node, true);
	json_kv_str(b, "started", started, true);
	sb_printf(b, ",\"attached\":%s", datapath_attached(a->dp) ? "true" : "false");
	status_kernel(a, b);
	status_pods(a, b);
	status_other_pods(a, b);
	status_programs(a, b);
	status_maps(a, b);
	status_counters(a, b);
	agent_tls_status_json(a, b);
	sb_putc(b, '}');
}

int agent_handle_status(void *arg, struct strbuf *b, const char **ctype)
{
	*ctype = "application/json";
	agent_status_json(arg, b);
	sb_putc(b, '\n');
	return 200;
}

static void addr_str(char *out, size_t n, const struct obsbpf_addrs *ad, bool remote)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const uint8_t *a = remote ? ad->remote : ad->local;
	/* An IPv4 peer of a dual-stack socket is IPv4-mapped: shown as IPv4, as spans show it. */
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	bool v6 = ad->family == AF_INET6 && memcmp(a, mapped, sizeof(mapped));
	inet_ntop(v6 ? AF_INET6 : AF_INET, v6 || ad->family != AF_INET6 ? a : a + 12, ip, sizeof(ip));
	snprintf(out, n, v6 ? "[%s]:%u" : "%s:%u", ip, remote ? ad->remote_port : ad->local_port);
}

/* One completed request as a JSON line for `obsbpf observe`. */
void agent_observed_json(struct agent *a, const struct observed *o, const struct agent_pod *ap,
			 struct strbuf *b)
{
	char peer[64] = "-", local[64] = "-", when[40];
	/* Event times are CLOCK_MONOTONIC: shift them onto the wall clock. */
	uint64_t wall = (uint64_t)((int64_t)o->end_ns + clock_offset_at(&a->clock, o->end_ns));
	time_t secs = (time_t)(wall / 1000000000ull);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t w = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + w, sizeof(when) - w, ".%03uZ", (unsigned)(wall % 1000000000ull / 1000000));
	if (o->addrs) {
		addr_str(peer, sizeof(peer), o->addrs, true);
		addr_str(local, sizeof(local), o->addrs, false);
	}
	sb_puts(b, "{");
	json_kv_str(b, "time", when, false);
	json_kv_str(b, "pod", ap ? ap->info.name : "", true);
	json_kv_str(b, "namespace", ap ? ap->info.namespace_ : "", true);
	json_kv_str(b, "dir", o->dir == OBSBPF_DIR_SERVER ? "server" : "client", true);
	json_kv_str(b, "local", local, true);
	json_kv_str(b, "peer", peer, true);
	json_kv_str(b, "protocol", o->protocol, true);
	json_kv_str(b, "method", o->method, true);
	json_kv_str(b, "route", o->route, true);
	/* A request that got no response has no status: its error_type says why. */
	const char *none = red_no_response_name(o->status);
	if (none)
		sb_printf(b, ",\"error_type\":\"%s\",", none);
	else
		sb_printf(b, ",\"status\":%u,", o->status);
	if (o->grpc_status >= 0)
		sb_printf(b, "\"grpc_status\":%d,", o->grpc_status);
	sb_printf(b, "\"latency_ns\":%llu,\"trace_id\":", (unsigned long long)(o->end_ns - o->start_ns));
	if (!o->trace || o->trace->origin == OBSBPF_TO_NONE) {
		sb_puts(b, "null");
	} else {
		sb_putc(b, '"');
		sb_hex(b, o->trace->trace_id, sizeof(o->trace->trace_id));
		sb_putc(b, '"');
	}
	sb_puts(b, "}");
}

void agent_event_json(struct agent *a, const struct obsbpf_http_event *e, const struct agent_pod *ap,
		      struct strbuf *b)
{
	char route[OBSBPF_ROUTE_LEN + 8] = "_OTHER", raw[OBSBPF_ROUTE_LEN];
	if (e->route_id != OBSBPF_ROUTE_OVERFLOW && datapath_route(a->dp, e->route_id, raw, sizeof(raw)) == 0)
		route_template(raw, route, sizeof(route));
	struct observed o = {
		.start_ns = e->start_ns,
		.end_ns = e->end_ns,
		.dir = e->dir,
		.addrs = &e->addrs,
		.protocol = "http/1.1",
		.method = red_method_name(e->method),
		.route = route,
		.status = e->status,
		.grpc_status = -1,
		.trace = &e->trace,
	};
	agent_observed_json(a, &o, ap, b);
}
