// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit test of tools/lib/json_out.c, the tools' JSON writer: exact output
 * of every value kind and of nesting; escaping of quotes, backslashes and
 * control characters; invalid UTF-8 replaced, valid UTF-8 kept; numbers
 * that are not finite as null; misuse and write errors reported by
 * jw_end_record(). Random strings: the output is valid UTF-8 without raw
 * control characters (checked with the C library's own UTF-8 decoder), and
 * strings that were valid UTF-8 decode back to themselves.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "json_out.h"
#include "unit_check.h"

static char *buf;
static size_t buflen;

static FILE *mem(void)
{
	free(buf);
	buf = NULL;
	buflen = 0;
	return open_memstream(&buf, &buflen);
}

/* One string value in a record; returns the line written. */
static const char *one_string(const char *s, size_t n)
{
	FILE *f = mem();
	struct jw w;

	jw_init(&w, f);
	jw_record(&w, "t");
	jw_string_len(&w, "s", s, n);
	CHECK(jw_end_record(&w) == 0, "string record failed");
	fclose(f);
	return buf;
}

static void expect_string(const char *in, size_t n, const char *want_value)
{
	char want[512];

	snprintf(want, sizeof(want), "{\"type\":\"t\",\"schema_version\":%d,\"s\":%s}\n",
		 VFMIG_JSON_SCHEMA_VERSION, want_value);
	one_string(in, n);
	CHECK(!strcmp(buf, want), "string %zu bytes: got %s want %s", n, buf, want);
}

/* The JSON string at *p (after its quote) decoded to UTF-8 into out. */
static size_t decode(const char *p, char *out)
{
	size_t n = 0;

	while (*p && *p != '"') {
		unsigned int c;

		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'b': out[n++] = '\b'; p++; continue;
		case 'f': out[n++] = '\f'; p++; continue;
		case 'n': out[n++] = '\n'; p++; continue;
		case 'r': out[n++] = '\r'; p++; continue;
		case 't': out[n++] = '\t'; p++; continue;
		case 'u':
			sscanf(p + 1, "%4x", &c);
			p += 5;
			if (c < 0x80) {
				out[n++] = (char)c;
			} else {	/* only U+FFFD is written this way */
				out[n++] = (char)0xef;
				out[n++] = (char)0xbf;
				out[n++] = (char)0xbd;
			}
			continue;
		default:
			out[n++] = *p++;
		}
	}
	return n;
}

static void random_strings(void)
{
	/* Valid multi-byte characters: 2, 3 and 4 bytes. */
	static const char *const mb[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
					  "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf" };
	static char in[256], dec[1024];
	unsigned int seed = 12345;
	int bad_out = 0, bad_trip = 0;

	for (int iter = 0; iter < 20000; iter++) {
		bool valid = iter & 1;
		size_t n = 0, len = (size_t)(rand_r(&seed) % 64);
		const char *p, *q;
		mbstate_t st;

		while (n < len) {
			int r = rand_r(&seed);

			if (!valid) {
				in[n++] = (char)(r & 0xff);
			} else if (r % 4) {
				in[n++] = (char)(r % 128);
			} else {
				const char *c = mb[(r >> 8) % 5];

				memcpy(in + n, c, strlen(c));
				n += strlen(c);
			}
		}
		one_string(in, n);
		/* The whole line is UTF-8 and holds no control character but its newline. */
		memset(&st, 0, sizeof(st));
		for (p = buf; *p; ) {
			wchar_t wc;
			size_t k = mbrtowc(&wc, p, strlen(p), &st);

			if (k == (size_t)-1 || k == (size_t)-2 || k == 0 ||
			    (wc < 0x20 && !(wc == '\n' && !p[1])) || wc == 0x7f) {
				bad_out++;
				break;
			}
			p += k;
		}
		if (valid) {
			q = strstr(buf, "\"s\":\"");
			if (!q || decode(q + 5, dec) != n || memcmp(dec, in, n))
				bad_trip++;
		}
	}
	CHECK(!bad_out, "%d random strings gave invalid UTF-8 or raw control characters", bad_out);
	CHECK(!bad_trip, "%d valid UTF-8 strings did not decode back to themselves", bad_trip);
}

int main(void)
{
	char want[1024];
	struct jw w;
	FILE *f;

	if (!setlocale(LC_CTYPE, "C.UTF-8")) {
		printf("no C.UTF-8 locale\n");
		return 1;
	}

	/* Every value kind, nesting. */
	f = mem();
	jw_init(&w, f);
	jw_record(&w, "demo");
	jw_string(&w, "s", "plain");
	jw_string(&w, "n", NULL);
	jw_uint(&w, "u", UINT64_MAX);
	jw_int(&w, "i", INT64_MIN);
	jw_double(&w, "d", 0.25);
	jw_double(&w, "big", 4300000.0);
	jw_double(&w, "neg", -1.5e-7);
	jw_double(&w, "nan", NAN);
	jw_double(&w, "inf", -INFINITY);
	jw_bool(&w, "t", true);
	jw_bool(&w, "f", false);
	jw_null(&w, "z");
	jw_uint_opt(&w, "uo", false, 7);
	jw_uint_opt(&w, "uo2", true, 7);
	jw_int_opt(&w, "io", true, -7);
	jw_double_opt(&w, "do", false, 1);
	jw_bool_opt(&w, "bo", false, true);
	jw_object(&w, "o");
	jw_array(&w, "a");
	jw_uint(&w, NULL, 1);
	jw_object(&w, NULL);
	jw_end_object(&w);
	jw_array(&w, NULL);
	jw_end_array(&w);
	jw_string(&w, NULL, "x");
	jw_end_array(&w);
	jw_object(&w, "empty");
	jw_end_object(&w);
	jw_end_object(&w);
	CHECK(jw_end_record(&w) == 0, "good record failed");
	jw_record(&w, "second");
	CHECK(jw_end_record(&w) == 0, "second record failed");
	fclose(f);
	snprintf(want, sizeof(want),
		 "{\"type\":\"demo\",\"schema_version\":%d,\"s\":\"plain\",\"n\":null,"
		 "\"u\":18446744073709551615,\"i\":-9223372036854775808,\"d\":0.25,"
		 "\"big\":4300000,\"neg\":-1.5e-07,\"nan\":null,\"inf\":null,\"t\":true,"
		 "\"f\":false,\"z\":null,\"uo\":null,\"uo2\":7,\"io\":-7,\"do\":null,"
		 "\"bo\":null,\"o\":{\"a\":[1,{},[],\"x\"],\"empty\":{}}}\n"
		 "{\"type\":\"second\",\"schema_version\":%d}\n",
		 VFMIG_JSON_SCHEMA_VERSION, VFMIG_JSON_SCHEMA_VERSION);
	CHECK(!strcmp(buf, want), "got\n%swant\n%s", buf, want);

	/* Escaping: the file name of issue 12, and every control character. */
	expect_string("a\"b.raw", 7, "\"a\\\"b.raw\"");
	expect_string("back\\slash/", 11, "\"back\\\\slash/\"");
	expect_string("\b\f\n\r\t\x01\x1f\x7f", 8, "\"\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\"");
	expect_string("nul\0in", 6, "\"nul\\u0000in\"");
	expect_string("", 0, "\"\"");
	/* Valid UTF-8 stays; invalid bytes become U+FFFD, one each. */
	expect_string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	expect_string("\xff", 1, "\"\\ufffd\"");
	expect_string("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");		/* overlong '/' */
	expect_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate */
	expect_string("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* > U+10FFFF */
	expect_string("a\xe2\x82", 3, "\"a\\ufffd\\ufffd\"");	/* cut short */
	expect_string("\x80x", 2, "\"\\ufffdx\"");			/* lone continuation */
	/* Keys are escaped too. */
	f = mem();
	jw_init(&w, f);
	jw_record(&w, "k\"ey");
	jw_uint(&w, "a\nb", 1);
	CHECK(jw_end_record(&w) == 0, "escaped keys failed");
	fclose(f);
	snprintf(want, sizeof(want), "{\"type\":\"k\\\"ey\",\"schema_version\":%d,\"a\\nb\":1}\n",
		 VFMIG_JSON_SCHEMA_VERSION);
	CHECK(!strcmp(buf, want), "keys: got %s", buf);

	/* A locale with a decimal comma does not leak into numbers. */
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8")) {
		f = mem();
		jw_init(&w, f);
		jw_record(&w, "t");
		jw_double(&w, "d", 0.5);
		jw_end_record(&w);
		fclose(f);
		CHECK(strstr(buf, "\"d\":0.5}"), "decimal comma: %s", buf);
		setlocale(LC_NUMERIC, "C");
	}

	/* Misuse is reported, and the next record starts clean. */
	f = mem();
	jw_init(&w, f);
	jw_record(&w, "t");
	jw_array(&w, "a");
	jw_uint(&w, "key_in_array", 1);
	jw_end_array(&w);
	CHECK(jw_end_record(&w) == -1, "a key inside an array was not reported");
	jw_record(&w, "t");
	jw_uint(&w, NULL, 1);
	CHECK(jw_end_record(&w) == -1, "a member without a key was not reported");
	jw_record(&w, "t");
	jw_object(&w, "o");
	CHECK(jw_end_record(&w) == -1, "an unclosed object was not reported");
	jw_record(&w, "t");
	jw_end_array(&w);
	CHECK(jw_end_record(&w) == -1, "a stray array end was not reported");
	jw_record(&w, "t");
	for (int i = 0; i < JW_MAX_DEPTH + 2; i++)
		jw_array(&w, i ? NULL : "deep");
	for (int i = 0; i < JW_MAX_DEPTH + 2; i++)
		jw_end_array(&w);
	CHECK(jw_end_record(&w) == -1, "nesting deeper than JW_MAX_DEPTH was not reported");
	jw_record(&w, "t");
	jw_record(&w, "t");
	CHECK(jw_end_record(&w) == -1, "a record inside a record was not reported");
	jw_record(&w, "t");
	CHECK(jw_end_record(&w) == 0, "a good record after misuse failed");
	fclose(f);

	/* A write error (ENOSPC) fails the record. */
	f = fopen("/dev/full", "w");
	if (f) {
		jw_init(&w, f);
		jw_record(&w, "t");
		jw_string(&w, "s", "x");
		CHECK(jw_end_record(&w) == -1, "a write error was not reported");
		fclose(f);
	}

	random_strings();
	free(buf);
	return unit_report("test_json_out");
}
