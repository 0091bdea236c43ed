// SPDX-License-Identifier: GPL-2.0
#include "options.h"

#include "ctl/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f)	   offsetof(struct obsbpf_config, f)
#define POD_CMDS   (CMD_ATTACH)
#define LOG_CMDS   (CMD_ATTACH | CMD_LOGS)
#define AGENT_CMDS (CMD_ATTACH | CMD_DAEMON)
#define HTTP_CMDS  (CMD_ATTACH | CMD_LOGS | CMD_DAEMON)
#define CTL_CMDS   (CMD_ATTACH | CMD_DAEMON | CMD_STATUS | CMD_OBSERVE)

const struct opt_def obsbpf_options[] = {
	{ "pod", 'p', OPT_STRING, OFF(pod), NULL, "NAME",
	  "pod to attach to: found by the UTS hostname of its processes (Kubernetes sets it to the pod name); observe: only this pod's requests (a glob)",
	  LOG_CMDS | CMD_OBSERVE },
	{ "namespace", 'n', OPT_STRING, OFF(namespace_), "default", "NS",
	  "the pod's Kubernetes namespace (label k8s_namespace_name); daemon: of pods whose --pod-pattern/--pod-list entry names none",
	  HTTP_CMDS },
	{ "node", 0, OPT_STRING, OFF(node), NULL, "NAME",
	  "node name for k8s_node_name (default: $NODE_NAME, else this host's name)", HTTP_CMDS },
	{ "pod-pattern", 0, OPT_LIST, OFF(pod_patterns), NULL, "[NS/]GLOB",
	  "attach only to pods whose name matches GLOB (fnmatch); NS/ sets their namespace (default: every pod)",
	  CMD_DAEMON },
	{ "pod-list", 0, OPT_STRING, OFF(pod_list), NULL, "FILE",
	  "a file of pods to attach to, one [NS/]GLOB a line ('#' comments); with --pod-pattern: either matches",
	  CMD_DAEMON },
	{ "control-socket", 0, OPT_STRING, OFF(control_socket), CTL_DEFAULT_SOCKET, "PATH",
	  "the agent's local control socket, which 'obsbpf status' and 'obsbpf observe' talk to", CTL_CMDS },
	{ "json", 0, OPT_FLAG, OFF(json), NULL, NULL,
	  "print JSON (status: the document; observe: one object per line) instead of text",
	  CMD_STATUS | CMD_OBSERVE },
	{ "cgroup", 0, OPT_STRING, OFF(cgroup), NULL, "PATH",
	  "the pod's cgroup v2 directory, instead of finding it from the pod's processes", POD_CMDS },
	{ "netns", 0, OPT_STRING, OFF(netns), NULL, "PATH",
	  "the pod's network namespace (e.g. /run/netns/NAME or /proc/PID/ns/net)", POD_CMDS },
	{ "listen", 'l', OPT_STRING, OFF(listen), "0.0.0.0:9102", "ADDR:PORT",
	  "where to serve /metrics, /healthz, /readyz and /status", HTTP_CMDS },
	{ "http-idle-timeout", 0, OPT_UINT, OFF(http_idle_timeout), "30", "SECONDS",
	  "close an idle HTTP connection after this many seconds", HTTP_CMDS },
	{ "http-max-connections", 0, OPT_UINT, OFF(http_max_conns), "64", "N",
	  "most HTTP connections served at once (8 per client address)", HTTP_CMDS },
	{ "max-connections", 0, OPT_UINT, OFF(max_conns), "65536", "N",
	  "client connections the kernel side follows at once (the sockhash's size); past it new ones pass untouched, counted in obsbpf_connections_untracked_total",
	  AGENT_CMDS },
	{ "max-routes", 0, OPT_UINT, OFF(max_routes), "256", "N",
	  "distinct http_route values kept; later routes are counted under http_route=\"_OTHER\"",
	  AGENT_CMDS },
	{ "tc-hook", 0, OPT_STRING, OFF(tc_hook), "auto", "auto|tcx|filter",
	  "how tc ingress and egress are attached: a tcx link (Linux 6.6+; released even when the agent is killed) or a classic clsact filter (outlives a killed agent, removed at the next start); auto: tcx where the kernel has it",
	  AGENT_CMDS },
	{ "pin-dir", 0, OPT_STRING, OFF(pin_dir), "/sys/fs/bpf/obsbpf", "DIR",
	  "bpffs directory where the pod sockets' sockhash is pinned, so that a killed agent's connections keep every byte (a sockhash is unpinned once its connections closed); \"\": not pinned",
	  AGENT_CMDS },
	{ "propagation", 0, OPT_STRING, OFF(propagation), "w3c", "STYLE,...",
	  "trace headers continued and injected into outgoing requests: w3c (traceparent), xtrace (x-trace-id, x-span-id, x-parent-span), b3 (single header), combined with commas; none: no tracing",
	  AGENT_CMDS },
	{ "sample-ratio", 0, OPT_STRING, OFF(sample_ratio), "1", "RATIO",
	  "fraction (0..1) of new traces that are sampled (exported); an incoming context's sampled flag is honoured",
	  AGENT_CMDS },
	{ "inject-to", 0, OPT_STRING, OFF(inject_to), OBSBPF_DEFAULT_INJECT_TO, "CIDR,...",
	  "destinations whose requests get trace headers injected (default: private and loopback ranges); other destinations never see them",
	  AGENT_CMDS },
	{ "logs", 0, OPT_STRING, OFF(logs), "/var/log/app/*.log", "GLOB",
	  "log files to tail, resolved inside the pod's mount namespace when it has a process", LOG_CMDS },
	{ "cri-logs", 0, OPT_STRING, OFF(cri_logs), "/var/log/containers", "DIR",
	  "where the node keeps CRI container logs (<pod>_<namespace>_<container>-<id>.log); \"\": none",
	  LOG_CMDS },
	{ "forward", 0, OPT_STRING, OFF(forward), NULL, "HOST:PORT",
	  "Fluent Forward collector (fluentd, fluent-bit) to ship the pod's logs to", LOG_CMDS },
	{ "logs-out", 0, OPT_STRING, OFF(logs_out), "forward", "forward|stdout",
	  "where log records go: the --forward collector, or JSON lines on stdout (debugging)", LOG_CMDS },
	{ "forward-mode", 0, OPT_STRING, OFF(forward_mode), "packed", "packed|forward",
	  "Forward protocol mode: PackedForward (entries as one binary) or Forward (an array)", LOG_CMDS },
	{ "forward-compress", 0, OPT_STRING, OFF(forward_compress), "none", "none|gzip",
	  "gzip chunks (CompressedPackedForward)", LOG_CMDS },
	{ "forward-shared-key", 0, OPT_STRING, OFF(forward_shared_key), NULL, "KEY",
	  "shared key for the Forward handshake (HELO/PING/PONG); none: no handshake", LOG_CMDS },
	{ "forward-ack-timeout", 0, OPT_UINT, OFF(forward_ack_timeout_ms), "10000", "MS",
	  "resend a chunk (on a new connection) when its ack has not come after this long, or its sending made no progress for this long (also the connect and handshake timeout)",
	  LOG_CMDS },
	{ "forward-backoff-max-ms", 0, OPT_UINT, OFF(forward_backoff_max_ms), "30000", "MS",
	  "longest wait before reconnecting to a failing collector (the wait doubles from 250 ms up to this)",
	  LOG_CMDS },
	{ "logs-tag", 0, OPT_STRING, OFF(logs_tag), "obsbpf.logs", "TAG",
	  "Fluent tag of the forwarded records", LOG_CMDS },
	{ "logs-state", 0, OPT_STRING, OFF(logs_state), NULL, "FILE",
	  "checkpoint of delivered offsets (default /var/lib/obsbpf/logs-<namespace>_<pod>.state)",
	  LOG_CMDS },
	{ "logs-buffer-mb", 0, OPT_UINT, OFF(logs_buffer_mb), "8", "MIB",
	  "unacked log chunks kept in memory; beyond it chunks go to --logs-spool", LOG_CMDS },
	{ "logs-spool", 0, OPT_STRING, OFF(logs_spool), NULL, "DIR",
	  "directory for chunks that do not fit in memory while the collector is down (default: none)",
	  LOG_CMDS },
	{ "logs-spool-mb", 0, OPT_UINT, OFF(logs_spool_mb), "256", "MIB",
	  "size cap of --logs-spool; past it new chunks are dropped and counted", LOG_CMDS },
	{ "logs-max-line", 0, OPT_UINT, OFF(logs_max_line), "65536", "BYTES",
	  "longer lines are forwarded truncated to this and counted", LOG_CMDS },
	{ "logs-max-files", 0, OPT_UINT, OFF(logs_max_files), "1024", "N",
	  "files followed at once; further matches wait until one closes (each may hold a partial line of up to --logs-max-line bytes)",
	  LOG_CMDS },
	{ "logs-flush-ms", 0, OPT_UINT, OFF(logs_flush_ms), "200", "MS",
	  "send a partly filled chunk after this long", LOG_CMDS },
	{ "logs-chunk-kb", 0, OPT_UINT, OFF(logs_chunk_kb), "1024", "KIB",
	  "size of a chunk (records sent together and acked at once)", LOG_CMDS },
	{ "app-metrics", 0, OPT_STRING, OFF(app_metrics), "http://localhost:8080/metrics", "URL",
	  "the app's own Prometheus endpoint, scraped from inside the pod's network namespace and re-exposed on /metrics with the pod's labels; 'off' disables",
	  POD_CMDS },
	{ "app-metrics-interval", 0, OPT_UINT, OFF(app_metrics_interval), "15", "SECONDS",
	  "how often the app's metrics are scraped", POD_CMDS },
	{ "app-metrics-timeout", 0, OPT_UINT, OFF(app_metrics_timeout_ms), "5000", "MS",
	  "a scrape of the app's metrics taking longer fails (capped at the interval)", POD_CMDS },
	{ "app-metrics-max-series", 0, OPT_UINT, OFF(app_metrics_max_series), "20000", "N",
	  "a scrape of the app with more series than this fails (0: no limit)", POD_CMDS },
	{ "app-metrics-max-mb", 0, OPT_UINT, OFF(app_metrics_max_mb), "16", "MIB",
	  "a scrape of the app whose body is larger than this fails, as soon as its Content-Length says so or its bytes pass it (0: no limit)",
	  POD_CMDS },
	{ "app-metrics-max-label-bytes", 0, OPT_UINT, OFF(app_metrics_max_label_bytes), "2048", "BYTES",
	  "a scrape of the app with a label value, label name or metric name longer than this fails (Mimir's default limit for values; 0: no limit)",
	  POD_CMDS },
	{ "label", 0, OPT_LIST, OFF(labels), NULL, "NAME=VALUE",
	  "extra label put on the app's re-exposed series, after k8s_pod_name, k8s_namespace_name and k8s_node_name",
	  POD_CMDS },
	{ "app-health", 0, OPT_STRING, OFF(app_health), NULL, "URL",
	  "the app's health URL (e.g. http://localhost:8080/healthz), probed from inside the pod; /readyz fails while it does",
	  POD_CMDS },
	{ "app-health-interval", 0, OPT_UINT, OFF(app_health_interval), "5", "SECONDS",
	  "how often the app's health URL is probed", POD_CMDS },
	{ "app-health-timeout", 0, OPT_UINT, OFF(app_health_timeout_ms), "1000", "MS",
	  "a health probe taking longer fails", POD_CMDS },
	{ "app-health-failures", 0, OPT_UINT, OFF(app_health_failures), "3", "N",
	  "consecutive failed probes before /readyz reports the app unhealthy (one success recovers)",
	  POD_CMDS },
	{ "pushgateway", 0, OPT_STRING, OFF(pushgateway), NULL, "URL",
	  "also push /metrics to this Prometheus Pushgateway (PUT /metrics/job/JOB/instance/POD)", POD_CMDS },
	{ "pushgateway-job", 0, OPT_STRING, OFF(pushgateway_job), "obsbpf", "JOB",
	  "the job name of the Pushgateway group", POD_CMDS },
	{ "pushgateway-interval", 0, OPT_UINT, OFF(pushgateway_interval), "15", "SECONDS",
	  "how often to push; a failed push is retried sooner, with backoff", POD_CMDS },
	{ "pushgateway-timeout", 0, OPT_UINT, OFF(pushgateway_timeout_ms), "10000", "MS",
	  "a push taking longer fails (and is retried with backoff)", POD_CMDS },
	{ "pushgateway-delete", 0, OPT_FLAG, OFF(pushgateway_delete), NULL, NULL,
	  "delete the pod's group from the Pushgateway on a clean shutdown", POD_CMDS },
	{ "service-name", 0, OPT_STRING, OFF(service_name), NULL, "NAME",
	  "service.name of the pod's spans (default: the pod name)", POD_CMDS },
	{ "otlp-endpoint", 0, OPT_STRING, OFF(otlp_endpoint), NULL, "URL",
	  "OpenTelemetry collector to export spans to (http://HOST:4318, /v1/traces appended; for grpc http://HOST:4317); default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else $OTEL_EXPORTER_OTLP_ENDPOINT; none: no spans",
	  POD_CMDS },
	{ "otlp-protocol", 0, OPT_STRING, OFF(otlp_protocol), NULL, "http/protobuf|grpc",
	  "OTLP transport (default: $OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf)", POD_CMDS },
	{ "otlp-batch", 0, OPT_UINT, OFF(otlp_batch), "512", "N",
	  "spans per export request; a full batch is sent at once", POD_CMDS },
	{ "otlp-flush-ms", 0, OPT_UINT, OFF(otlp_flush_ms), "1000", "MS",
	  "send a partly filled batch after this long", POD_CMDS },
	{ "otlp-queue", 0, OPT_UINT, OFF(otlp_queue), "4096", "N",
	  "spans kept while the collector is slow or down; beyond it new spans are dropped and counted",
	  POD_CMDS },
	{ "otlp-timeout-ms", 0, OPT_UINT, OFF(otlp_timeout_ms), "10000", "MS",
	  "an export request taking longer fails and is retried", POD_CMDS },
	{ "otlp-backoff-max-ms", 0, OPT_UINT, OFF(otlp_backoff_max_ms), "30000", "MS",
	  "longest wait before retrying a failed export (the wait doubles from 200 ms up to this, with jitter)",
	  POD_CMDS },
	{ "log-level", 0, OPT_STRING, OFF(log_level), "info", "LEVEL",
	  "the agent's own log: error, warn, info or debug (libbpf's messages included: its warnings at warn, its debug output at debug)",
	  HTTP_CMDS | CMD_PROBE },
	{ "log-format", 0, OPT_STRING, OFF(log_format), "text", "text|json",
	  "text: \"obsbpf: message\" lines; json: one object per line with time, level, component and msg (for a log collector)",
	  HTTP_CMDS | CMD_PROBE },
	{ "verbose", 'v', OPT_FLAG, OFF(verbose), NULL, NULL,
	  "print libbpf's messages (verifier logs on a load failure)", AGENT_CMDS | CMD_PROBE },
	{ "config", 0, OPT_STRING, OFF(config), NULL, "FILE",
	  "read options from FILE first ('name = value' lines, names as the long options; see docs/config.md): the command line wins (default: $OBSBPF_CONFIG)",
	  ~0u },
	{ "help", 'h', OPT_FLAG, OFF(help), NULL, NULL, "show this help", ~0u },
	{ 0 },
};

/* where: NULL for the command line, "FILE:LINE" for the config file. */
static int set_value(struct obsbpf_config *cfg, const struct opt_def *o, const char *v, const char *cmdname,
		     const char *where)
{
	char *p = (char *)cfg + o->offset;
	switch (o->type) {
	case OPT_STRING:
		*(const char **)p = v;
		return 0;
	case OPT_FLAG:
		*(bool *)p = true;
		return 0;
	case OPT_LIST: {
		struct str_list *l = (struct str_list *)p;
		if (l->n == OPT_LIST_MAX) {
			fprintf(stderr, "obsbpf %s: %s%s%s: at most %d values\n", cmdname, where ? where : "",
				where ? ": " : "--", o->name, OPT_LIST_MAX);
			return -1;
		}
		l->v[l->n++] = v;
		return 0;
	}
	case OPT_UINT: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (errno || end == v || *end || n > UINT_MAX || v[0] == '-') {
			fprintf(stderr, "obsbpf %s: %s%s%s: '%s' is not a whole number\n", cmdname,
				where ? where : "", where ? ": " : "--", o->name, v);
			return -1;
		}
		*(unsigned *)p = (unsigned)n;
		return 0;
	}
	}
	return -1;
}

/* --- the config file ---------------------------------------------------------------------- */

/* Big enough for any sane config; a bigger file is a mistake (a log, a binary) to report. */
#define CONFIG_MAX_BYTES (1 << 20)

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static const struct opt_def *find_long(const char *name)
{
	for (const struct opt_def *o = obsbpf_options; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

static int parse_flag(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" },
				 *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i]))
			return *out = true, 0;
		if (!strcasecmp(v, no[i]))
			return *out = false, 0;
	}
	return -1;
}

/* One "name = value" line (already trimmed, comment removed). */
static int config_line(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, const char *where,
		       char *line)
{
	char *name = line, *value = NULL, *eq = strchr(line, '=');
	if (eq) {
		*eq = '\0';
		name = trim(line);
		value = trim(eq + 1);
	}
	const struct opt_def *o = find_long(name);
	if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name)) {
		fprintf(stderr, "obsbpf %s: %s: expected 'name = value', got '%s'\n", cmdname, where, name);
		return -1;
	}
	if (!o) {
		fprintf(stderr, "obsbpf %s: %s: unknown option '%s'\n", cmdname, where, name);
		return -1;
	}
	if (o->offset == OFF(config) || o->offset == OFF(help)) {
		fprintf(stderr, "obsbpf %s: %s: '%s' cannot be set in a config file\n", cmdname, where, name);
		return -1;
	}
	/* One file serves every command (daemon, attach, logs): options of other commands are
	 * skipped, not errors. Unknown names still are, so a typo never goes unnoticed. */
	if (!(o->cmds & cmd))
		return 0;
	if (o->type == OPT_FLAG) {
		bool on = true;
		if (value && parse_flag(value, &on) < 0) {
			fprintf(stderr, "obsbpf %s: %s: %s: '%s' is not true or false\n", cmdname, where,
				name, value);
			return -1;
		}
		*(bool *)((char *)cfg + o->offset) = on;
		return 0;
	}
	if (!value || !*value) {
		fprintf(stderr, "obsbpf %s: %s: %s: missing value (write \"\" for an empty one)\n", cmdname,
			where, name);
		return -1;
	}
	size_t len = strlen(value);
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') { /* "": empty, or keeps spaces */
		value[len - 1] = '\0';
		return set_value(cfg, o, value + 1, cmdname, where);
	}
	if (o->type != OPT_LIST)
		return set_value(cfg, o, value, cmdname, where);
	for (char *save = NULL, *v = strtok_r(value, ",", &save); v; v = strtok_r(NULL, ",", &save))
		if (*(v = trim(v)) && set_value(cfg, o, v, cmdname, where) < 0)
			return -1;
	return 0;
}

static int config_read(const char *path, char **text)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	/* The buffer grows as the file is read: a config is a few hundred bytes, and its text is
	 * kept for the life of the process (the values point into it). */
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int err = buf ? 0 : -ENOMEM;
	errno = 0;
	while (!err) {
		n += fread(buf + n, 1, cap - n, f);
		if (ferror(f)) {
			err = -(errno ? errno : EIO);
		} else if (n < cap) {
			break; /* end of file */
		} else if (cap == CONFIG_MAX_BYTES) {
			err = fgetc(f) != EOF ? -EFBIG : ferror(f) ? -(errno ? errno : EIO) : 0;
			break;
		} else {
			cap = cap * 2 < CONFIG_MAX_BYTES ? cap * 2 : CONFIG_MAX_BYTES;
			char *grown = realloc(buf, cap + 1);
			if (grown)
				buf = grown;
			else
				err = -ENOMEM;
		}
	}
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		free(buf);
		return -EINVAL;
	}
	*text = buf;
	return 0;
}

static int config_load(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, const char *path)
{
	int err = config_read(path, &cfg->config_text);
	if (err < 0) {
		fprintf(stderr, "obsbpf %s: --config %s: %s\n", cmdname, path,
			err == -EFBIG		 ? "larger than 1 MiB"
				: err == -EINVAL ? "not a text file"
						 : strerror(-err));
		return -1;
	}
	unsigned lineno = 0;
	for (char *line = cfg->config_text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		/* '#' starts a comment at the start of a line or after a blank, so that values such as
		 * a URL's fragment or a shared key may still hold one. */
		for (char *h = strchr(line, '#'); h; h = strchr(h + 1, '#'))
			if (h == line || isspace((unsigned char)h[-1])) {
				*h = '\0';
				break;
			}
		char *l = trim(line);
		if (!*l)
			continue;
		char where[PATH_MAX + 16];
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (config_line(cfg, cmd, cmdname, where, l) < 0)
			return -1;
	}
	return 0;
}

void options_free(struct obsbpf_config *cfg)
{
	free(cfg->config_text);
	cfg->config_text = NULL;
}

int options_parse(struct obsbpf_config *cfg, unsigned cmd, const char *cmdname, int argc, char **argv)
{
	struct option longs[128];
	char shorts[128] = "+:";
	size_t n = 0, sl = 2;

	options_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
	for (const struct opt_def *o = obsbpf_options; o->name; o++) {
		if (o->def && o->type != OPT_FLAG && set_value(cfg, o, o->def, cmdname, NULL) < 0)
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

	/* The command line is read first, to find --config, and applied after the file. */
	struct {
		const struct opt_def *o;
		const char *v;
	} *given = calloc((size_t)argc + 1, sizeof(*given));
	size_t ng = 0;
	int rc = -1;
	if (!given)
		return -1;
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
			goto out;
		}
		const struct opt_def *o = NULL;
		if (c >= 256) {
			o = &obsbpf_options[c - 256];
		} else {
			for (const struct opt_def *d = obsbpf_options; d->name; d++)
				if (d->short_name == c && (d->cmds & cmd))
					o = d;
		}
		if (!o)
			goto out;
		given[ng].o = o;
		given[ng++].v = optarg;
		if (o->offset == OFF(config))
			cfg->config = optarg;
	}
	if (optind < argc) {
		fprintf(stderr, "obsbpf %s: unexpected argument '%s'\n", cmdname, argv[optind]);
		goto out;
	}

	if (!cfg->config)
		cfg->config = getenv("OBSBPF_CONFIG");
	if (cfg->config && *cfg->config && config_load(cfg, cmd, cmdname, cfg->config) < 0)
		goto out;

	/* A list given on the command line replaces the file's, like any other option. */
	for (size_t i = 0; i < ng; i++) {
		const struct opt_def *o = given[i].o;
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = given[j].o != o;
		if (o->type == OPT_LIST && first)
			((struct str_list *)((char *)cfg + o->offset))->n = 0;
		if (set_value(cfg, o, given[i].v, cmdname, NULL) < 0)
			goto out;
	}
	rc = 0;
out:
	free(given);
	return rc;
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
		if (o->type == OPT_LIST)
			fputs(" (repeatable)", out);
		fputc('\n', out);
	}
}

void options_markdown(FILE *out)
{
	fputs("| option | default | commands | meaning |\n|---|---|---|---|\n", out);
	for (const struct opt_def *o = obsbpf_options; o->name; o++) {
		char syn[96];
		opt_synopsis(syn, sizeof(syn), o);
		static const struct {
			unsigned bit;
			const char *name;
		} cmds[] = {
			{ CMD_ATTACH, "attach" }, { CMD_DAEMON, "daemon" },   { CMD_LOGS, "logs" },
			{ CMD_STATUS, "status" }, { CMD_OBSERVE, "observe" }, { CMD_PROBE, "probe" },
		};
		char used[96] = "";
		size_t len = 0;
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (o->cmds & cmds[i].bit)
				len += (size_t)snprintf(used + len, sizeof(used) - len, "%s%s",
							len ? " " : "", cmds[i].name);
		fprintf(out, "| `%s` | %s | %s | %s |\n", syn, o->def && o->type != OPT_FLAG ? o->def : "",
			o->cmds == ~0u ? "all" : used, o->help);
	}
}
