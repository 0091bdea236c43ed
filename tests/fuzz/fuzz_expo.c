// SPDX-License-Identifier: GPL-2.0
/* The app-metrics adapter's exposition parser and renderer (appmetrics/expo.h) on an app's
 * scrape. The first byte chooses: bit 0 OpenMetrics (else Prometheus text 0.0.4), bit 1 a
 * max_series of 4, bit 2 the reserved-name renaming, bit 3 no timestamps. What parses is
 * rendered in both formats, with the pod's labels, and what is rendered must parse again:
 * /metrics serves it, and a scraper rejects a whole scrape for one bad line. */
#include <errno.h>
#include <string.h>

#include "appmetrics/appmetrics.h"
#include "appmetrics/expo.h"
#include "fuzz.h"
#include "util/strbuf.h"

static bool reserved(const char *name)
{
	return appmetrics_reserved_name(name);
}

static void reparse(const struct strbuf *out, bool om)
{
	struct strbuf text, err;
	sb_init(&text);
	sb_init(&err);
	sb_append(&text, out->buf ? out->buf : "", out->len);
	if (om)
		sb_puts(&text, "# EOF\n"); /* the HTTP server ends the body with it */
	struct expo_parse_opts o = { .openmetrics = om };
	struct expo_doc *d = NULL;
	int rc = expo_parse(&d, text.buf, text.len, &o, &err);
	if (rc == -EINVAL)
		fprintf(fuzz_err(), "rendered %s does not parse: %s\n---\n%s---\n",
			om ? "OpenMetrics" : "text", err.buf, text.buf);
	FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
	expo_doc_free(d);
	sb_free(&text);
	sb_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	uint8_t mode = data[0];
	/* exactly the body's bytes: the parser must not need a NUL after them */
	char *body = malloc(size - 1 ? size - 1 : 1);
	FUZZ_CHECK(body);
	memcpy(body, data + 1, size - 1);

	struct expo_parse_opts o = { .openmetrics = mode & 1, .max_series = mode & 2 ? 4 : 0 };
	struct expo_doc *d = NULL;
	struct strbuf err;
	sb_init(&err);
	int rc = expo_parse(&d, body, size - 1, &o, &err);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
	FUZZ_CHECK((rc == 0) == (d != NULL));
	FUZZ_CHECK(rc == 0 || rc == -ENOMEM || (err.buf && strncmp(err.buf, "line ", 5) == 0));
	if (d) {
		if (mode & 4)
			expo_doc_reserve(d, reserved, "app_");
		static const char *const names[] = { "namespace", "pod", "container" };
		static const char *const values[] = { "shop", "web-7d4b9", "app\"\\\n" };
		struct expo_label_set add = { names, values, 3 };
		for (int om = 0; om < 2; om++) {
			struct strbuf out;
			sb_init(&out);
			expo_render(d, &add, om ? EXPO_OPENMETRICS : EXPO_PROMETHEUS, mode & 8, &out);
			reparse(&out, om);
			sb_free(&out);
		}
		expo_doc_free(d);
	}
	sb_free(&err);
	free(body);
	return 0;
}
