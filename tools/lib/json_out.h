/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * json_out: the one JSON writer of the C tools (migctl, mig-top,
 * mig-trace). Output is JSON lines: one record (an object) per line, each
 * starting with "type" and "schema_version"; the schema of every record
 * type is docs/json-schema.json.
 *
 * Strings are escaped completely (quotes, backslashes, control characters)
 * and made valid UTF-8 (an invalid byte becomes U+FFFD); integers are
 * printed as numbers; a double that is not finite, a NULL string and the
 * *_opt calls without a value print null. Keys are escaped like values.
 *
 *	struct jw w;
 *
 *	jw_init(&w, stdout);
 *	jw_record(&w, "migctl_report");
 *	jw_string(&w, "command", "migrate");
 *	jw_object(&w, "parts");
 *	jw_uint(&w, "read_ns", 1234);
 *	jw_end_object(&w);
 *	jw_uint_opt(&w, "t_end_ns", have_t5, t5);
 *	jw_end_record(&w);	// "}\n", flushed
 *
 * Misuse (a key inside an array, none inside an object, unbalanced ends,
 * nesting deeper than JW_MAX_DEPTH) is recorded and makes jw_end_record()
 * fail; so does a write error of the stream.
 */
#ifndef JSON_OUT_H
#define JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "schema_version" of every record; docs/json-schema.json says the same. */
#define VFMIG_JSON_SCHEMA_VERSION	1

#define JW_MAX_DEPTH	16

struct jw {
	FILE *f;
	int depth;			/* open containers */
	bool is_array[JW_MAX_DEPTH];
	bool has_member[JW_MAX_DEPTH];
	bool bad;			/* misuse seen */
};

void jw_init(struct jw *w, FILE *f);

/* Opens a record: {"type":TYPE,"schema_version":N */
void jw_record(struct jw *w, const char *type);
/* Closes it with a newline and flushes. 0, or -1 on misuse or write error. */
int jw_end_record(struct jw *w);

/* KEY is NULL for an array element, required inside an object. */
void jw_object(struct jw *w, const char *key);
void jw_end_object(struct jw *w);
void jw_array(struct jw *w, const char *key);
void jw_end_array(struct jw *w);

void jw_string(struct jw *w, const char *key, const char *s);	/* NULL: null */
void jw_string_len(struct jw *w, const char *key, const char *s, size_t n);
void jw_uint(struct jw *w, const char *key, uint64_t v);
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_double(struct jw *w, const char *key, double v);	/* NaN, inf: null */
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);

/* The value if @have, else null: for values that do not apply. */
void jw_uint_opt(struct jw *w, const char *key, bool have, uint64_t v);
void jw_int_opt(struct jw *w, const char *key, bool have, int64_t v);
void jw_double_opt(struct jw *w, const char *key, bool have, double v);
void jw_bool_opt(struct jw *w, const char *key, bool have, bool v);

#endif /* JSON_OUT_H */
