#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct obsbpf_config, f)
#define POD_CMDS (CMD_ATTACH)

const struct opt_def obsbpf_options[] = {
	{ "pod", 'p', OPT_STRING, OFF(pod), NULL, "NAME",
	  "pod to attach to: found by the UTS hostname of its processes (Kubernetes sets it to the pod name)", POD_CMDS },
	{ "namespace", 'n', OPT_STRING, OFF(namespace_), "default", "NS",
	  "the pod's Kubernetes namespace (label k8s_namespace_name)", POD_CMDS },
	{ "node", 0, OPT_STRING, OFF(node), NULL, "NAME",
	  "node name for k8s_node_name (default: $NODE_NAME, else this host's name)", POD_CMDS },
	{ "cgroup", 0, OPT_STRING, OFF(cgroup), NULL, "PATH",
	  "the pod's cgroup v2 directory, instead of finding it from the pod's processes", POD_CMDS },
	{ "netns", 0, OPT_STRING, OFF(netns), NULL, "PATH",
	  "the pod's network namespace (e.g. /run/netns/NAME or /proc/PID/ns/net)", POD_CMDS },
	{ "listen", 'l', OPT_STRING, OFF(listen), "0.0.0.0:9102", "ADDR:PORT",
	  "where to serve /metrics, /healthz, /readyz and /status", POD_CMDS },
	{ "http-idle-timeout", 0, OPT_UINT, OFF(http_idle_timeout), "30", "SECONDS",
	  "close an idle HTTP connection after this many seconds", POD_CMDS },
	{ "http-max-connections", 0, OPT_UINT, OFF(http_max_conns), "64", "N",
	  "most HTTP connections served at once (8 per client address)", POD_CMDS },
	{ "max-routes", 0, OPT_UINT, OFF(max_routes), "256", "N",
	  "distinct http_route values kept; later routes are counted under http_route=\"_OTHER\"", POD_CMDS },
	{ "verbose", 'v', OPT_FLAG, OFF(verbose), NULL, NULL,
	  "print libbpf's messages (verifier logs on a load failure)", POD_CMDS | CMD_PROBE },
	{ "help", 'h', OPT_FLAG, OFF(help), NULL, NULL, "show this help", ~0u },
	{ 0 },
};

static int set_value(struct obsbpf_config *cfg, const struct opt_def *o, const char *v,
		     const char *cmdname)
{
	char *p = (char *)cfg + o->offset;
	switch (o->type) {
	case OPT_STRING:
		*(const char **)p = v;
		return 0;
	case OPT_FLAG:
		*(bool *)p = true;
		return 0;
	case OPT_UINT: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (errno || end == v || *end || n > UINT_MAX || v[0] == '-') {
			fprintf(stderr, "obsbpf %s: --%s: '%s' is not a whole number\n", cmdname, o->name, v);
			return -1;
		}
		*(unsigned *)p = (unsigned)n;
		return 0;
	}
	}
	return -1;
}

int options_parse(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, int argc, char **argv)
{
	struct option longs[64];
	char shorts[128] = "+:";
	size_t n = 0, sl = 2;

	for (const struct opt_def *o = obsbpf_options; o->name; o++) {
		if (o->def && o->type != OPT_FLAG && set_value(cfg, o, o->def, cmdname) < 0)
			return -1;
		if (!(o->cmds & cmd))
			continue;
		longs[n++] = (struct option){ o->name, o->type == OPT_FLAG ? no_argument : required_argument,
					      NULL, (int)(o - obsbpf_options) + 256 };
		if (o->short_name) {
			shorts[sl++] = o->short_name;
			if (o->type != OPT_FLAG)
				shorts[sl++] = ':';
		}
	}
	longs[n] = (struct option){ 0 };
	shorts[sl] = '\0';

	optind = 1;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shorts, longs, NULL);
		if (c == -1)
			break;
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			fprintf(stderr, "obsbpf %s: %s '%s' (see 'obsbpf %s --help')\n", cmdname,
				c == ':' ? "missing value for" : "unknown option", bad, cmdname);
			return -1;
		}
		const struct opt_def *o = NULL;
		if (c >= 256) {
			o = &obsbpf_options[c - 256];
		} else {
			for (const struct opt_def *d = obsbpf_options; d->name; d++)
				if (d->short_name == c && (d->cmds & cmd))
					o = d;
		}
		if (!o || set_value(cfg, o, optarg, cmdname) < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "obsbpf %s: unexpected argument '%s'\n", cmdname, argv[optind]);
		return -1;
	}
	return 0;
}

static void opt_synopsis(char *buf, size_t n, const struct opt_def *o)
{
	char sh[8] = "";
	if (o->short_name)
		snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
	snprintf(buf, n, "%s--%s%s%s", sh, o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

void options_help(FILE *out, unsigned cmd)
{
	for (const struct opt_def *o = obsbpf_options; o->name; o++) {
		if (!(o->cmds & cmd))
			continue;
		char syn[96];
		opt_synopsis(syn, sizeof(syn), o);
		fprintf(out, "  %-30s %s", syn, o->help);
		if (o->def && o->type != OPT_FLAG)
			fprintf(out, " (default: %s)", o->def);
		fputc('\n', out);
	}
}

void options_markdown(FILE *out)
{
	fputs("| option | default | commands | meaning |\n|---|---|---|---|\n", out);
	for (const struct opt_def *o = obsbpf_options; o->name; o++) {
		char syn[96];
		opt_synopsis(syn, sizeof(syn), o);
		fprintf(out, "| `%s` | %s | %s%s | %s |\n", syn, o->def && o->type != OPT_FLAG ? o->def : "",
			o->cmds & CMD_ATTACH ? "attach " : "", o->cmds & CMD_PROBE ? "probe" : "", o->help);
	}
}
