// SPDX-License-Identifier: GPL-2.0
/* obsbpf: parses the command line and hands over to the subcommand. */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "bpf/probe.h"
#include "cli/options.h"
#include "ctl/ctl.h"
#include "logs/logs.h"
#include "trace/trace.h"
#include "util/log.h"
#include "util/version.h"

static const char usage[] =
	"usage: obsbpf COMMAND [OPTIONS]\n"
	"\n"
	"Kernel-side observability sidecar: RED metrics, traces and health for a pod's HTTP\n"
	"traffic, measured by eBPF programs in the kernel with no proxy in the request path.\n"
	"\n"
	"commands:\n"
	"  attach    attach to one pod and serve its metrics until SIGINT/SIGTERM\n"
	"  daemon    attach to every (selected) pod of this node as pods come and go\n"
	"  status    show what the running agent attached: pods, programs, map fill, drops\n"
	"  observe   stream the requests the running agent sees, one line each\n"
	"  logs      forward a pod's log files (Fluent Forward) without attaching BPF programs\n"
	"  probe     say which kernel hooks this machine offers and what obsbpf can do with them\n"
	"  help      show this help ('obsbpf COMMAND --help' for a command's options)\n"
	"  version   print the release, the commit it was built from and the running kernel\n"
	"            (also --version)\n"
	"\n"
	"example:\n"
	"  obsbpf attach --pod web-7d4b9 --namespace shop\n"
	"  curl -s localhost:9102/metrics | grep http_server_request_duration_seconds\n"
	"  obsbpf daemon --pod-pattern 'shop/web-*' &\n"
	"  obsbpf status; obsbpf observe --pod 'web-*'\n";

static const char attach_usage[] =
	"usage: obsbpf attach --pod NAME [OPTIONS]\n"
	"       obsbpf attach --cgroup PATH --netns PATH [--pod NAME] [OPTIONS]\n"
	"\n"
	"Finds the pod on this node (processes whose UTS hostname is NAME: their cgroup v2\n"
	"directory and network namespace), attaches sockops + sk_msg to its cgroup and tc ingress\n"
	"and egress to its interfaces, and serves /metrics, /healthz, /readyz and /status. Runs in the\n"
	"foreground; SIGINT or SIGTERM detaches everything it attached.\n"
	"\n"
	"options:\n";

static const char logs_usage[] =
	"usage: obsbpf logs --forward HOST:PORT [--pod NAME --namespace NS] [OPTIONS]\n"
	"       obsbpf logs --logs-out stdout [OPTIONS]\n"
	"\n"
	"Tails --logs (and the pod's CRI container logs), parses JSON, logfmt and plain lines, adds\n"
	"pod, namespace, node, container, file and trace_id, and ships the records with Fluent\n"
	"Forward, checkpointing offsets once the collector acked them. 'obsbpf attach' does the same\n"
	"alongside the BPF data plane when --forward is given.\n"
	"\n"
	"options:\n";

static const char daemon_usage[] =
	"usage: obsbpf daemon [--namespace NS] [--pod-pattern [NS/]GLOB]... [--pod-list FILE] [OPTIONS]\n"
	"\n"
	"One agent per node: watches the pod cgroups under the cgroup v2 mount (kubepods/...,\n"
	"kubepods.slice/...), and attaches to each selected pod as soon as it has a process,\n"
	"detaching when the pod goes away. A pod's namespace and name come from the node (the uid\n"
	"in its cgroup, the kubelet's /var/log/pods/<namespace>_<pod>_<uid>). One BPF object serves\n"
	"every pod; /metrics labels each series with its pod. Per pod, as attach does: spans\n"
	"(--otlp-endpoint), its containers' logs (--forward), its app's metrics and health\n"
	"(--app-metrics, --app-metrics-rule, --app-health). Runs in the foreground; SIGINT or\n"
	"SIGTERM detaches everything. A restart picks the pods up again.\n"
	"\n"
	"options:\n";

static const char status_usage[] =
	"usage: obsbpf status [--control-socket PATH] [--json]\n"
	"\n"
	"Asks the running agent (attach or daemon) over its control socket for the pods it\n"
	"attached, its programs and where they hang, map fill levels and drop counters.\n"
	"Exit status 1 when no agent answers.\n"
	"\n"
	"options:\n";

static const char observe_usage[] =
	"usage: obsbpf observe [--pod GLOB] [--control-socket PATH] [--json]\n"
	"\n"
	"Streams the requests the running agent sees, one line each, until interrupted:\n"
	"time, namespace/pod, direction (<- served, -> sent), peer, method, route, status,\n"
	"latency, trace id (- when none). A reader too slow for the agent loses lines (counted in\n"
	"'obsbpf status'), never slows the agent down.\n"
	"\n"
	"options:\n";

static const char probe_usage[] =
	"usage: obsbpf probe [-v]\n"
	"\n"
	"Prints the kernel hooks and helpers obsbpf relies on, whether this kernel offers each,\n"
	"and what obsbpf does without it. Exit status 0 when attach can work, 1 otherwise.\n"
	"\n"
	"options:\n";

static int run_attach(const struct obsbpf_config *c)
{
	return agent_attach(c);
}
static int run_daemon(const struct obsbpf_config *c)
{
	return agent_daemon(c);
}
static int run_status(const struct obsbpf_config *c)
{
	return ctl_status(c->control_socket, c->json, stdout);
}
static int run_observe(const struct obsbpf_config *c)
{
	return ctl_observe(c->control_socket, c->pod, c->json, stdout);
}
static int run_logs(const struct obsbpf_config *c)
{
	return logs_run(c);
}
static int run_probe(const struct obsbpf_config *c)
{
	return probe_run(stdout, c->verbose) ? 0 : 1;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* Every subcommand: its name, its set in the options table (cli/options_table.c), the text above its
 * generated option list, and what runs it. */
static const struct command {
	const char *name;
	unsigned set;
	const char *usage;
	int (*run)(const struct obsbpf_config *cfg);
} commands[] = {
	{ "attach", CMD_ATTACH, attach_usage, run_attach },
	{ "daemon", CMD_DAEMON, daemon_usage, run_daemon },
	{ "status", CMD_STATUS, status_usage, run_status },
	{ "observe", CMD_OBSERVE, observe_usage, run_observe },
	{ "logs", CMD_LOGS, logs_usage, run_logs },
	{ "probe", CMD_PROBE, probe_usage, run_probe },
};

/* --log-level, --log-format (--verbose is --log-level debug); libbpf's messages through it. */
static int setup_log(const struct obsbpf_config *cfg, const char *cmd)
{
	enum log_level level = LOG_INFO;
	enum log_output format = LOG_OUT_TEXT;
	if (cfg->log_level && log_parse_level(cfg->log_level, &level) < 0) {
		fprintf(stderr, "obsbpf %s: --log-level %s: expected error, warn, info or debug\n", cmd,
			cfg->log_level);
		return -1;
	}
	if (cfg->log_format && log_parse_format(cfg->log_format, &format) < 0) {
		fprintf(stderr, "obsbpf %s: --log-format %s: expected text or json\n", cmd, cfg->log_format);
		return -1;
	}
	log_setup(cfg->verbose ? LOG_DEBUG : level, format, NULL);
	libbpf_set_print(log_libbpf_print);
	return 0;
}

int main(int argc, char **argv)
{
	struct obsbpf_config cfg = { 0 };
	const char *cmd = argc > 1 ? argv[1] : "help";

	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		char kernel[128];
		obsbpf_kernel_release(kernel, sizeof(kernel));
		printf("obsbpf %s (commit %s; kernel %s)\n", obsbpf_version(), obsbpf_commit(), kernel);
		return 0;
	}
	if (!strcmp(cmd, "options-markdown")) { /* used by `make docs` */
		options_markdown(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strcmp(cmd, c->name))
			continue;
		if (options_parse(&cfg, c->set, cmd, argc - 1, argv + 1) < 0)
			return 2;
		if (cfg.help) {
			fputs(c->usage, stdout);
			options_help(stdout, c->set);
			return 0;
		}
		if (setup_log(&cfg, cmd) < 0)
			return 2;
		/* --service-name wins over the OpenTelemetry variables; the daemon names each pod's
		 * spans after the pod, so one service for every pod of a node would be wrong there. */
		if (c->set == CMD_ATTACH && !cfg.service_name)
			cfg.service_name = otel_service_name_env(env_get);
		return c->run(&cfg);
	}
	fprintf(stderr, "obsbpf: unknown command '%s' (see 'obsbpf --help')\n", cmd);
	return 2;
}
