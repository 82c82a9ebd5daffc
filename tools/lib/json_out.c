// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* json_out: the JSON lines writer of the C tools (json_out.h). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json_out.h"
#include "utf8.h"

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

static void put_escaped(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	fputc('"', f);
	while (i < n) {
		unsigned char c = s[i];
		size_t len;

		switch (c) {
		case '"': fputs("\\\"", f); i++; continue;
		case '\\': fputs("\\\\", f); i++; continue;
		case '\b': fputs("\\b", f); i++; continue;
		case '\f': fputs("\\f", f); i++; continue;
		case '\n': fputs("\\n", f); i++; continue;
		case '\r': fputs("\\r", f); i++; continue;
		case '\t': fputs("\\t", f); i++; continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else if ((len = utf8_seq(s + i, n - i, NULL))) {
			fwrite(s + i, 1, len, f);
			i += len;
		} else {
			fputs("\\ufffd", f);	/* not UTF-8: the replacement character */
			i++;
		}
	}
	fputc('"', f);
}

/* The separator and key of the next member of the open container. */
static void member(struct jw *w, const char *key)
{
	int d = w->depth - 1;

	if (d < 0) {
		w->bad = true;
		return;
	}
	if (w->has_member[d])
		fputc(',', w->f);
	w->has_member[d] = true;
	if (w->is_array[d] != !key)
		w->bad = true;		/* a key in an array, or none in an object */
	if (key) {
		put_escaped(w->f, key, strlen(key));
		fputc(':', w->f);
	}
}

static void open_container(struct jw *w, bool array)
{
	if (w->depth == JW_MAX_DEPTH) {
		w->bad = true;
		return;
	}
	fputc(array ? '[' : '{', w->f);
	w->is_array[w->depth] = array;
	w->has_member[w->depth] = false;
	w->depth++;
}

static void close_container(struct jw *w, bool array)
{
	if (!w->depth || w->is_array[w->depth - 1] != array) {
		w->bad = true;
		return;
	}
	w->depth--;
	fputc(array ? ']' : '}', w->f);
}

void jw_record(struct jw *w, const char *type)
{
	if (w->depth)
		w->bad = true;		/* a record inside a record */
	w->depth = 0;
	open_container(w, false);
	jw_string(w, "type", type);
	jw_uint(w, "schema_version", VFMIG_JSON_SCHEMA_VERSION);
}

int jw_end_record(struct jw *w)
{
	bool bad;

	close_container(w, false);
	if (w->depth)
		w->bad = true;
	fputc('\n', w->f);
	bad = w->bad || fflush(w->f) || ferror(w->f);
	w->depth = 0;
	w->bad = false;
	return bad ? -1 : 0;
}

void jw_object(struct jw *w, const char *key)
{
	member(w, key);
	open_container(w, false);
}

void jw_end_object(struct jw *w)
{
	close_container(w, false);
}

void jw_array(struct jw *w, const char *key)
{
	member(w, key);
	open_container(w, true);
}

void jw_end_array(struct jw *w)
{
	close_container(w, true);
}

void jw_string_len(struct jw *w, const char *key, const char *s, size_t n)
{
	member(w, key);
	if (s)
		put_escaped(w->f, s, n);
	else
		fputs("null", w->f);
}

void jw_string(struct jw *w, const char *key, const char *s)
{
	jw_string_len(w, key, s, s ? strlen(s) : 0);
}

void jw_uint(struct jw *w, const char *key, uint64_t v)
{
	member(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

void jw_int(struct jw *w, const char *key, int64_t v)
{
	member(w, key);
	fprintf(w->f, "%" PRId64, v);
}

void jw_double(struct jw *w, const char *key, double v)
{
	char b[40];

	member(w, key);
	if (!isfinite(v)) {
		fputs("null", w->f);
		return;
	}
	snprintf(b, sizeof(b), "%.15g", v);
	/* A locale's decimal comma is not JSON. */
	for (char *p = b; *p; p++)
		if (*p == ',')
			*p = '.';
	fputs(b, w->f);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	member(w, key);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *key)
{
	member(w, key);
	fputs("null", w->f);
}

/* The value if @have, else null. */
#define JW_OPT(name, type, put)						\
void name(struct jw *w, const char *key, bool have, type v)		\
{									\
	if (have)							\
		put(w, key, v);						\
	else								\
		jw_null(w, key);					\
}

JW_OPT(jw_uint_opt, uint64_t, jw_uint)
JW_OPT(jw_int_opt, int64_t, jw_int)
JW_OPT(jw_double_opt, double, jw_double)
JW_OPT(jw_bool_opt, bool, jw_bool)
