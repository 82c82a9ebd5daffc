// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * trace_report: the output formats of a mig-trace check (trace_check.h):
 * text, JSON lines, TAP version 13 and JUnit XML, all from one
 * struct tc_report, all ending with the same summary, also when the spec
 * or the events could not be read (docs/trace-check.md).
 */
#include <string.h>

#include "json_out.h"
#include "trace_check.h"
#include "utf8.h"
#include "xml_out.h"

static size_t count(const struct tc_report *r, enum tc_verdict v)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->items[i].verdict == v;
	return n;
}

void tc_summary_text(const struct tc_report *r, char *buf, size_t len)
{
	const char *st = tc_report_status(r);
	size_t p;

	p = snprintf(buf, len, "%s: %d of %d assertion(s) failed",
		     !strcmp(st, "pass") ? "PASS" : !strcmp(st, "fail") ? "FAIL" : "ERROR",
		     r->sum.failed, r->sum.assertions - r->sum.errors);
	if (r->sum.errors && p < len)
		p += snprintf(buf + p, len - p, "; %d spec error(s)", r->sum.errors);
	if (r->sum.skipped && p < len)
		p += snprintf(buf + p, len - p, "; %d not checked", r->sum.skipped);
	for (size_t i = 0; i < r->n && p < len; i++) {
		const struct tc_item *it = &r->items[i];

		if (!it->line && it->verdict != TC_OK)
			p += snprintf(buf + p, len - p, "; %s: %s", it->name,
				      it->detail ? it->detail : "failed");
	}
}

/* ---- text ----------------------------------------------------------- */

int tc_write_text(FILE *f, const struct tc_report *r)
{
	char sum[1024];

	if (r->have_events)
		fprintf(f, "# %zu events, mode %s, %llu dropped\n", r->events,
			*r->mode ? r->mode : "?", r->drops);
	for (size_t i = 0; i < r->n; i++) {
		const struct tc_item *it = &r->items[i];
		const char *d = it->detail;

		if (it->verdict == TC_ERROR && it->line)
			fprintf(f, "ERROR line %d: %s: %s\n", it->line, d ? d : "?", it->name);
		else if (it->verdict == TC_ERROR)
			fprintf(f, "ERROR %s: %s\n", it->name, d ? d : "?");
		else
			fprintf(f, "%s %s%s%s%s\n",
				it->verdict == TC_OK ? "ok  " : it->verdict == TC_FAIL ? "FAIL" : "SKIP",
				it->name, d ? " (" : "", d ? d : "", d ? ")" : "");
	}
	tc_summary_text(r, sum, sizeof(sum));
	fprintf(f, "# %s\n", sum);
	return fflush(f) || ferror(f) ? -1 : 0;
}

/* ---- JSON lines ----------------------------------------------------- */

int tc_write_json(struct jw *w, const struct tc_report *r)
{
	static const char *const result[] = {
		[TC_OK] = "ok", [TC_FAIL] = "fail", [TC_ERROR] = "error", [TC_SKIP] = "skip",
	};
	char err[1024] = "";
	int rc = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct tc_item *it = &r->items[i];

		if (!it->line) {
			/* Not a spec line: in the summary (command_status, error). */
			if (it->verdict == TC_ERROR && !*err)
				snprintf(err, sizeof(err), "%s: %s", it->name,
					 it->detail ? it->detail : "failed");
			continue;
		}
		jw_record(w, "assertion");
		jw_uint(w, "line", (uint64_t)it->line);
		jw_string(w, "assertion", it->name);
		jw_string(w, "result", result[it->verdict]);
		jw_string(w, "detail", it->detail);
		rc |= jw_end_record(w);
	}
	jw_record(w, "check_summary");
	jw_string(w, "spec", r->spec);
	jw_uint_opt(w, "events", r->have_events, r->events);
	jw_string(w, "mode", r->have_events && *r->mode ? r->mode : NULL);
	jw_uint_opt(w, "drops", r->have_events, r->drops);
	jw_uint(w, "assertions", (uint64_t)r->sum.assertions);
	jw_uint(w, "failed", (uint64_t)r->sum.failed);
	jw_uint(w, "errors", (uint64_t)r->sum.errors);
	jw_uint(w, "skipped", (uint64_t)r->sum.skipped);
	jw_int_opt(w, "command_status", r->command_status >= 0, r->command_status);
	jw_string(w, "error", *err ? err : NULL);
	jw_string(w, "status", tc_report_status(r));
	return jw_end_record(w) | rc;
}

/* ---- TAP ------------------------------------------------------------ */

/*
 * A TAP description or directive reason: one line, '#' and '\' escaped
 * (TAP 13/14), control characters as spaces, invalid UTF-8 as U+FFFD.
 */
static void tap_put(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), len;

	for (size_t i = 0; i < n; ) {
		if (s[i] == '#' || s[i] == '\\') {
			fputc('\\', f);
			fputc(s[i++], f);
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			fputc(' ', f);
			i++;
		} else if (s[i] < 0x80) {
			fputc(s[i++], f);
		} else if ((len = utf8_seq(s + i, n - i, NULL))) {
			fwrite(s + i, 1, len, f);
			i += len;
		} else {
			fputs(UTF8_REPLACEMENT, f);
			i++;
		}
	}
}

/*
 * A YAML double-quoted scalar that YAML parsers and TAP::Parser's YAMLish
 * read alike: '"' and '\' escaped, tab/newline/CR as \t \n \r, other
 * control characters as \xNN; what YAML cannot hold unescaped and YAMLish
 * cannot unescape (C1 controls, U+FFFE/U+FFFF) and invalid UTF-8 as U+FFFD.
 */
static void yaml_put(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), len;
	uint32_t cp;

	fputc('"', f);
	for (size_t i = 0; i < n; ) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '\t' || c == '\n' || c == '\r') {
			fputs(c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r", f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\x%02x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else if ((len = utf8_seq(s + i, n - i, &cp)) && !(cp >= 0x80 && cp <= 0x9f) &&
			   cp != 0xfffe && cp != 0xffff) {
			fwrite(s + i, 1, len, f);
			i += len;
		} else {
			fputs(UTF8_REPLACEMENT, f);
			i += len ? len : 1;
		}
	}
	fputc('"', f);
}

int tc_write_tap(FILE *f, const struct tc_report *r)
{
	char sum[1024];

	fputs("TAP version 13\n", f);
	if (r->n)
		fprintf(f, "1..%zu\n", r->n);
	else
		fputs("1..0 # SKIP the spec has no assertion\n", f);
	for (size_t i = 0; i < r->n; i++) {
		const struct tc_item *it = &r->items[i];
		bool ok = it->verdict == TC_OK || it->verdict == TC_SKIP;

		fprintf(f, "%s %zu - ", ok ? "ok" : "not ok", i + 1);
		tap_put(f, it->name);
		if (it->verdict == TC_SKIP) {
			fputs(" # SKIP ", f);
			tap_put(f, it->detail ? it->detail : "not checked");
		}
		fputs("\n  ---\n", f);
		if (it->detail) {
			fputs("  message: ", f);
			yaml_put(f, it->detail);
			fputc('\n', f);
		}
		if (!ok)
			fprintf(f, "  severity: %s\n", it->verdict == TC_FAIL ? "fail" : "error");
		if (it->line) {
			fputs("  file: ", f);
			yaml_put(f, r->spec);
			fprintf(f, "\n  line: %d\n", it->line);
		}
		fputs("  ...\n", f);
	}
	tc_summary_text(r, sum, sizeof(sum));
	fputs("# ", f);
	tap_put(f, sum);
	fputc('\n', f);
	return fflush(f) || ferror(f) ? -1 : 0;
}

/* ---- JUnit XML ------------------------------------------------------ */

int tc_write_junit(FILE *f, const struct tc_report *r)
{
	size_t fails = count(r, TC_FAIL), errors = count(r, TC_ERROR);
	char cls[256], name[1024], sum[1024], *dot;
	const char *base = strrchr(r->spec, '/');
	struct xw w;

	/* classname: mig-trace.SPEC (its file name without the extension) */
	snprintf(cls, sizeof(cls), "mig-trace.%s", base ? base + 1 : r->spec);
	dot = strrchr(cls + strlen("mig-trace."), '.');
	if (dot && dot > cls + strlen("mig-trace."))
		*dot = '\0';

	xw_init(&w, f);
	xw_start(&w, "testsuites");
	xw_attr(&w, "name", "mig-trace");
	xw_attr_uint(&w, "tests", r->n);
	xw_attr_uint(&w, "failures", fails);
	xw_attr_uint(&w, "errors", errors);
	xw_start(&w, "testsuite");
	xw_attr(&w, "name", r->spec);
	xw_attr_uint(&w, "tests", r->n);
	xw_attr_uint(&w, "failures", fails);
	xw_attr_uint(&w, "errors", errors);
	xw_attr_uint(&w, "skipped", count(r, TC_SKIP));
	xw_attr(&w, "file", r->spec);

	xw_start(&w, "properties");
#define PROP(k, v) do { xw_start(&w, "property"); xw_attr(&w, "name", k); \
		xw_attr(&w, "value", v); xw_end(&w); } while (0)
	if (r->events_path)
		PROP("events", r->events_path);
	if (r->have_events) {
		char v[32];

		snprintf(v, sizeof(v), "%zu", r->events);
		PROP("events_count", v);
		if (*r->mode)
			PROP("mode", r->mode);
		snprintf(v, sizeof(v), "%llu", r->drops);
		PROP("drops", v);
	}
	if (r->command_status >= 0) {
		char v[16];

		snprintf(v, sizeof(v), "%d", r->command_status);
		PROP("command_status", v);
	}
	PROP("status", tc_report_status(r));
#undef PROP
	xw_end(&w);

	for (size_t i = 0; i < r->n; i++) {
		const struct tc_item *it = &r->items[i];
		const char *d = it->detail ? it->detail : "";

		if (it->line)
			snprintf(name, sizeof(name), "line %d: %s", it->line, it->name);
		else
			snprintf(name, sizeof(name), "%s", it->name);
		xw_start(&w, "testcase");
		xw_attr(&w, "name", name);
		xw_attr(&w, "classname", cls);
		switch (it->verdict) {
		case TC_OK:
			if (it->detail) {
				xw_start(&w, "system-out");
				xw_text(&w, d);
				xw_end(&w);
			}
			break;
		case TC_FAIL:
		case TC_ERROR:
			xw_start(&w, it->verdict == TC_FAIL ? "failure" : "error");
			xw_attr(&w, "type", it->verdict == TC_FAIL ?
				(it->line ? "assertion" : "command") : (it->line ? "spec" : "input"));
			xw_attr(&w, "message", d);
			xw_text(&w, d);
			xw_end(&w);
			break;
		case TC_SKIP:
			xw_start(&w, "skipped");
			xw_attr(&w, "message", d);
			xw_end(&w);
			break;
		}
		xw_end(&w);
	}
	tc_summary_text(r, sum, sizeof(sum));
	xw_start(&w, "system-out");
	xw_text(&w, sum);
	xw_end(&w);
	xw_end(&w);	/* testsuite */
	xw_end(&w);	/* testsuites */
	return xw_finish(&w);
}
