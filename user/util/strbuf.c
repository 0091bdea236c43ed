// SPDX-License-Identifier: GPL-2.0
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb_init(sb);
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->oom = false;
	if (sb->buf)
		sb->buf[0] = '\0';
}

char *sb_steal(struct strbuf *sb, size_t *len)
{
	char *b = sb->buf;
	if (len)
		*len = sb->len;
	if (!b)
		b = calloc(1, 1);
	sb_init(sb);
	return b;
}

static bool sb_grow(struct strbuf *sb, size_t extra)
{
	if (sb->oom)
		return false;
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	char *nb = realloc(sb->buf, cap);
	if (!nb) {
		sb->oom = true;
		return false;
	}
	sb->buf = nb;
	sb->cap = cap;
	return true;
}

void sb_append(struct strbuf *sb, const char *s, size_t n)
{
	if (!sb_grow(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sb_puts(struct strbuf *sb, const char *s)
{
	sb_append(sb, s, strlen(s));
}

void sb_putc(struct strbuf *sb, char c)
{
	sb_append(sb, &c, 1);
}

void sb_hex(struct strbuf *sb, const void *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = bytes;
	for (size_t i = 0; i < n; i++) {
		char two[2] = { digits[b[i] >> 4], digits[b[i] & 15] };
		sb_append(sb, two, 2);
	}
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		sb_append(sb, tmp, (size_t)n);
		return;
	}
	if (!sb_grow(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void sb_label_value(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			sb_append(sb, "\\\\", 2);
			break;
		case '"':
			sb_append(sb, "\\\"", 2);
			break;
		case '\n':
			sb_append(sb, "\\n", 2);
			break;
		default:
			sb_putc(sb, *s);
		}
	}
}

void sb_json_escape(struct strbuf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_append(out, s + start, i - start);
		switch (c) {
		case '"':
			sb_puts(out, "\\\"");
			break;
		case '\\':
			sb_puts(out, "\\\\");
			break;
		case '\n':
			sb_puts(out, "\\n");
			break;
		case '\t':
			sb_puts(out, "\\t");
			break;
		case '\r':
			sb_puts(out, "\\r");
			break;
		default:
			sb_printf(out, "\\u%04x", c);
		}
		start = i + 1;
	}
	sb_append(out, s + start, n - start);
}

void sb_json_str(struct strbuf *sb, const char *s)
{
	sb_json_escape(sb, s, strlen(s));
}

void sb_json_kv(struct strbuf *sb, const char *k, const char *v, bool comma)
{
	sb_printf(sb, "%s\"%s\":\"", comma ? "," : "", k);
	sb_json_str(sb, v);
	sb_putc(sb, '"');
}
