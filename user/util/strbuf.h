/* SPDX-License-Identifier: GPL-2.0 */
/* Growable byte buffer used to render HTTP bodies and exposition text. */
#ifndef OBSBPF_STRBUF_H
#define OBSBPF_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool oom; /* sticky: set once an allocation failed; later appends are no-ops */
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
/* Hands the buffer to the caller (NUL-terminated) and re-initialises sb. */
char *sb_steal(struct strbuf *sb, size_t *len);
void sb_append(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
/* n bytes as 2n lowercase hex digits (trace and span ids). */
void sb_hex(struct strbuf *sb, const void *bytes, size_t n);
__attribute__((format(printf, 2, 3))) void sb_printf(struct strbuf *sb, const char *fmt, ...);
/* Appends s escaped as a Prometheus label value (\\, \", \n). */
void sb_label_value(struct strbuf *sb, const char *s);
/* Appends s escaped as a JSON string body (no surrounding quotes): ", \\ and control bytes
 * (\n, \t, \r, else \u00XX); other bytes as they are. sb_json_escape takes n bytes, NULs too. */
void sb_json_str(struct strbuf *sb, const char *s);
void sb_json_escape(struct strbuf *sb, const char *s, size_t n);
/* ,"k":"v" (without the comma when comma is false), v escaped. */
void sb_json_kv(struct strbuf *sb, const char *k, const char *v, bool comma);

#endif
