// SPDX-License-Identifier: GPL-2.0
#include "log.h"

#include "strbuf.h"

#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level g_level = LOG_INFO;
static enum log_output g_format = LOG_OUT_TEXT;
static FILE *g_out;

static const char *const level_name[] = { "error", "warn", "info", "debug" };

void log_setup(enum log_level level, enum log_output format, FILE *out)
{
	g_level = level;
	g_format = format;
	g_out = out;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (!strcmp(s, level_name[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

int log_parse_format(const char *s, enum log_output *out)
{
	if (!strcmp(s, "text") || !strcmp(s, "json")) {
		*out = s[0] == 't' ? LOG_OUT_TEXT : LOG_OUT_JSON;
		return 0;
	}
	return -1;
}

bool log_enabled(enum log_level level)
{
	return level <= g_level;
}

/* One event, msg without its trailing newline: a single write, so that lines of threads or
 * processes sharing the stream do not interleave. */
static void emit(enum log_level level, const char *component, const char *msg, size_t len)
{
	FILE *out = g_out ? g_out : stderr;
	struct strbuf b;
	sb_init(&b);
	if (g_format == LOG_OUT_JSON) {
		struct timespec ts;
		struct tm tm;
		char when[40];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
		sb_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"component\":\"", when, level_name[level]);
		sb_json_str(&b, component ? component : "agent");
		sb_puts(&b, "\",\"msg\":\"");
		char *m = strndup(msg, len);
		sb_json_str(&b, m ? m : "");
		free(m);
		sb_puts(&b, "\"}\n");
	} else {
		sb_puts(&b, level == LOG_WARN ? "obsbpf: warning: " : "obsbpf: ");
		sb_append(&b, msg, len);
		sb_putc(&b, '\n');
	}
	if (b.buf)
		fwrite(b.buf, 1, b.len, out);
	fflush(out);
	sb_free(&b);
}

void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap)
{
	if (!log_enabled(level))
		return;
	char buf[2048];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	while (len && buf[len - 1] == '\n')
		len--;
	emit(level, component, buf, len);
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, component, fmt, ap);
	va_end(ap);
}

int log_libbpf_print(enum libbpf_print_level libbpf_level, const char *fmt, va_list ap)
{
	enum log_level level = libbpf_level == LIBBPF_WARN ? LOG_WARN
		: libbpf_level == LIBBPF_INFO		   ? LOG_INFO
							   : LOG_DEBUG;
	if (!log_enabled(level))
		return 0;
	/* libbpf hands over pieces: the verifier log arrives as one call of many lines, often far
	 * more than a stack buffer, and its last lines say why the load failed: all of it goes out. */
	char small[8192], *buf = small;
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int)sizeof(small)) {
		buf = malloc((size_t)n + 1);
		n = buf ? vsnprintf(buf, (size_t)n + 1, fmt, again) : (int)sizeof(small) - 1;
		if (!buf)
			buf = small; /* out of memory: the first 8 KiB */
	}
	va_end(again);
	if (n < 0)
		return 0;
	size_t len = buf == small && (size_t)n >= sizeof(small) ? sizeof(small) - 1 : (size_t)n;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l)
			emit(level, "libbpf", p, l);
		p += l + 1;
	}
	if (buf != small)
		free(buf);
	return n;
}
