/* SPDX-License-Identifier: GPL-2.0 */
/* The agent's own log: one line per event on stderr, at a level (error, warn, info, debug).
 * Text (the default): "obsbpf: MESSAGE" ("obsbpf: warning: MESSAGE" for warnings), as a person
 * at a terminal reads it. JSON (--log-format json, for the DaemonSet, whose stderr a log
 * collector reads): {"time","level","component","msg"} per line. libbpf's messages go through
 * it too (log_libbpf_print). */
#ifndef OBSBPF_LOG_H
#define OBSBPF_LOG_H

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG
};
enum log_output {
	LOG_OUT_TEXT,
	LOG_OUT_JSON
};

/* Lines above level are not written. Defaults: info, text, to stderr. out NULL: stderr. */
void log_setup(enum log_level level, enum log_output format, FILE *out);
/* "error", "warn", "info", "debug" / "text", "json": 0, or -1 for anything else. */
int log_parse_level(const char *s, enum log_level *out);
int log_parse_format(const char *s, enum log_output *out);
bool log_enabled(enum log_level level);

/* component names the part of the agent ("bpf", "logs", "trace", ...), shown in JSON only. */
__attribute__((format(printf, 3, 4))) void log_msg(enum log_level level, const char *component,
						   const char *fmt, ...);
void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap);

#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)

/* A libbpf print callback (libbpf_set_print): warnings at warn, info at info, debug at debug,
 * each line of a multi-line message (the verifier log) its own event. */
int log_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
