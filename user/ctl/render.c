// SPDX-License-Identifier: GPL-2.0
/* Human renderings of the control socket's JSON answers. */
#include "ctl.h"
#include "h2/grpc_status.h"

#include "util/strbuf.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

static const char *jstr(json_object *o, const char *key, const char *dflt)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	return json_object_get_int64(v);
}

static json_object *jarr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

static void join_strings(char *out, size_t n, json_object *arr, const char *sep)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; arr && i < json_object_array_length(arr) && len < n; i++) {
		int w = snprintf(out + len, n - len, "%s%s", i ? sep : "",
				 json_object_get_string(json_object_array_get_idx(arr, i)));
		len += w > 0 ? (size_t)w : 0;
	}
	if (!out[0])
		snprintf(out, n, "-");
}

static json_object *jobj(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_object) ? v : NULL;
}

/* What is on for the pod: "metrics,traces,spans,logs,app,health". */
static void pod_on(char *out, size_t n, json_object *p)
{
	json_object *tr = jobj(p, "traces"), *sp = NULL;
	bool spans = tr && json_object_object_get_ex(tr, "spans", &sp) && json_object_get_boolean(sp);
	snprintf(out, n, "metrics%s%s%s%s%s",
		 tr && strcmp(jstr(tr, "propagation", "-"), "-") ? ",traces" : "", spans ? ",spans" : "",
		 jobj(p, "logs") ? ",logs" : "", jobj(p, "app_metrics") ? ",app" : "",
		 jobj(p, "app_health") ? ",health" : "");
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void render_pods(FILE *out, json_object *pods)
{
	size_t n = pods ? json_object_array_length(pods) : 0;
	fprintf(out, "PODS (%zu)\n", n);
	if (!n)
		return;
	fprintf(out, "  %-12s %-30s %-34s %-4s %-10s %-20s %-22s %s\n", "NAMESPACE", "NAME", "ON", "TC",
		"INTERFACES", "SINCE", "NETNS", "CGROUP");
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(pods, i), *errs = jarr(p, "errors");
		char ifs[256], on[64];
		join_strings(ifs, sizeof(ifs), jarr(p, "interfaces"), ",");
		pod_on(on, sizeof(on), p);
		fprintf(out, "  %-12s %-30s %-34s %-4s %-10s %-20s %-22s %s\n",
			or_dash(jstr(p, "namespace", "-")), jstr(p, "name", "-"), on, jstr(p, "tc", "-"), ifs,
			jstr(p, "since", "-"), jstr(p, "netns", "-"), jstr(p, "cgroup", "-"));
		for (size_t j = 0; errs && j < json_object_array_length(errs); j++)
			fprintf(out, "      error: %s\n",
				json_object_get_string(json_object_array_get_idx(errs, j)));
	}
}

/* daemon: the node's pods that are not attached, and why. */
static void render_other_pods(FILE *out, json_object *pods)
{
	size_t n = pods ? json_object_array_length(pods) : 0;
	if (!pods)
		return;
	fprintf(out, "OTHER PODS (%zu)\n", n);
	if (!n)
		return;
	fprintf(out, "  %-12s %-30s %-13s %-5s %s\n", "NAMESPACE", "NAME", "STATE", "LOGS", "WHY");
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(pods, i);
		fprintf(out, "  %-12s %-30s %-13s %-5s %s\n", or_dash(jstr(p, "namespace", "-")),
			or_dash(jstr(p, "name", "-")), jstr(p, "state", "-"), jobj(p, "logs") ? "on" : "-",
			jstr(p, "error", "-"));
	}
}

static void render_kernel(FILE *out, json_object *k)
{
	if (!k)
		return;
	fprintf(out, "KERNEL %s: thread hook %s, thread binding %s\n", jstr(k, "release", "-"),
		jstr(k, "thread_hook", "none (no in-process propagation)"), jstr(k, "thread_binding", "-"));
	json_object *hz = jarr(k, "hazards");
	for (size_t i = 0; hz && i < json_object_array_length(hz); i++) {
		json_object *h = json_object_array_get_idx(hz, i);
		fprintf(out, "  hazard %s: avoided by %s\n", jstr(h, "name", "-"),
			jstr(h, "avoided_by", "-"));
	}
}

static void render_programs(FILE *out, json_object *progs)
{
	size_t n = progs ? json_object_array_length(progs) : 0;
	fprintf(out, "PROGRAMS (%zu)\n  %-8s %-22s %s\n", n, "ID", "NAME", "ATTACHED TO");
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(progs, i);
		char at[2048];
		join_strings(at, sizeof(at), jarr(p, "attached"), "; ");
		fprintf(out, "  %-8lld %-22s %s\n", (long long)jint(p, "id", 0), jstr(p, "name", "-"), at);
	}
}

static void render_maps(FILE *out, json_object *maps)
{
	size_t n = maps ? json_object_array_length(maps) : 0;
	fprintf(out, "MAPS\n  %-14s %12s %12s %6s\n", "NAME", "USED", "MAX", "FILL");
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(maps, i);
		int64_t used = jint(m, "used", -1), max = jint(m, "max", 0);
		const char *unit = jstr(m, "unit", "entries");
		char u[32] = "n/a", fill[16] = "-";
		if (used >= 0)
			snprintf(u, sizeof(u), "%lld", (long long)used);
		if (used >= 0 && max > 0)
			snprintf(fill, sizeof(fill), "%.1f%%", 100.0 * (double)used / (double)max);
		fprintf(out, "  %-14s %12s %12lld %6s%s%s\n", jstr(m, "name", "-"), u, (long long)max, fill,
			strcmp(unit, "entries") ? " " : "", strcmp(unit, "entries") ? unit : "");
	}
}

int ctl_render_status(FILE *out, const char *json)
{
	json_object *o = json_tokener_parse(json);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	fprintf(out, "obsbpf %s (pid %lld) on node %s, since %s\n", jstr(o, "mode", "agent"),
		(long long)jint(o, "pid", 0), jstr(o, "node", "-"), jstr(o, "started", "-"));
	json_object *k = NULL;
	json_object_object_get_ex(o, "kernel", &k);
	render_kernel(out, k);
	render_pods(out, jarr(o, "pods"));
	render_other_pods(out, jarr(o, "other_pods"));
	render_programs(out, jarr(o, "programs"));
	render_maps(out, jarr(o, "maps"));
	json_object *c;
	if (json_object_object_get_ex(o, "counters", &c) && json_object_is_type(c, json_type_object)) {
		fputs("COUNTERS\n", out);
		json_object_object_foreach(c, key, val)
			fprintf(out, "  %-24s %lld\n", key, (long long)json_object_get_int64(val));
	}
	json_object_put(o);
	return 0;
}

/* "09:41:07.123  shop/web-1  <- 10.0.0.7:51234  GET /api/items  200  1.234ms  4bf92f3577b34da6a3ce929d0e0e4736" */
int ctl_render_event(struct strbuf *b, const char *line)
{
	json_object *o = json_tokener_parse(line);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	const char *t = jstr(o, "time", "");
	const char *clock = strchr(t, 'T');
	bool server = !strcmp(jstr(o, "dir", ""), "server");
	double ms = (double)jint(o, "latency_ns", 0) / 1e6;
	/* A gRPC call shows its gRPC status (what failed), not the HTTP 200 it rode on. */
	char status[32];
	json_object *g;
	if (json_object_object_get_ex(o, "grpc_status", &g) && json_object_is_type(g, json_type_int))
		snprintf(status, sizeof(status), "%s", grpc_code_name(json_object_get_int(g)));
	else if (json_object_object_get_ex(o, "error_type", &g)) /* no response: why */
		snprintf(status, sizeof(status), "%s", jstr(o, "error_type", "-"));
	else
		snprintf(status, sizeof(status), "%lld", (long long)jint(o, "status", 0));
	sb_printf(b, "%.12s  %s/%s  %s %s  %s %s  %s  %.3fms  %s", clock ? clock + 1 : t,
		  jstr(o, "namespace", "-"), jstr(o, "pod", "-"), server ? "<-" : "->", jstr(o, "peer", "-"),
		  jstr(o, "method", "-"), jstr(o, "route", "-"), status, ms, jstr(o, "trace_id", "-"));
	json_object_put(o);
	return 0;
}
