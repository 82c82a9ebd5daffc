// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit test of tools/lib/xml_out.c, the tools' XML writer: exact output of
 * elements, attributes, text and indentation; escaping of & < > " and of
 * tab, newline and carriage return where a parser would normalize them;
 * what XML 1.0 cannot hold (control characters, U+FFFE/U+FFFF, invalid
 * UTF-8) as U+FFFD, valid UTF-8 kept; misuse (bad names, attributes after
 * content, mixed content, unbalanced ends, a second root, too deep) and
 * write errors reported by xw_finish(). Random byte strings: the output
 * holds only characters XML 1.0 allows (checked with the C library's own
 * UTF-8 decoder) and no raw markup character.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "xml_out.h"
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

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/* <e a="@s">@s</e>: returns xw_finish's result; the document in buf. */
static int one(const char *s)
{
	FILE *f = mem();
	struct xw w;
	int rc;

	xw_init(&w, f);
	xw_start(&w, "e");
	xw_attr(&w, "a", s);
	xw_text(&w, s);
	xw_end(&w);
	rc = xw_finish(&w);
	fclose(f);
	return rc;
}

static void expect(const char *in, const char *attr, const char *text)
{
	char want[1024];

	snprintf(want, sizeof(want), DECL "<e a=\"%s\">%s</e>\n", attr, text);
	CHECK(one(in) == 0, "document of '%s' failed", in);
	CHECK(!strcmp(buf, want), "got %s want %s", buf, want);
}

/* A misuse sequence must make xw_finish() fail. */
static void misuse(const char *what, void (*seq)(struct xw *w))
{
	FILE *f = mem();
	struct xw w;

	xw_init(&w, f);
	seq(&w);
	CHECK(xw_finish(&w) == -1, "misuse not reported: %s", what);
	fclose(f);
}

static void m_badname(struct xw *w) { xw_start(w, "1e"); xw_end(w); }
static void m_badname2(struct xw *w) { xw_start(w, "a b"); xw_end(w); }
static void m_badattr(struct xw *w) { xw_start(w, "e"); xw_attr(w, "x=\"", "v"); xw_end(w); }
static void m_nullattr(struct xw *w) { xw_start(w, "e"); xw_attr(w, "a", NULL); xw_end(w); }
static void m_late_attr(struct xw *w) { xw_start(w, "e"); xw_text(w, "t"); xw_attr(w, "a", "v"); xw_end(w); }
static void m_mixed(struct xw *w) { xw_start(w, "e"); xw_text(w, "t"); xw_start(w, "c"); xw_end(w); xw_end(w); }
static void m_mixed2(struct xw *w) { xw_start(w, "e"); xw_start(w, "c"); xw_end(w); xw_text(w, "t"); xw_end(w); }
static void m_unclosed(struct xw *w) { xw_start(w, "e"); }
static void m_extra_end(struct xw *w) { xw_start(w, "e"); xw_end(w); xw_end(w); }
static void m_two_roots(struct xw *w) { xw_start(w, "e"); xw_end(w); xw_start(w, "f"); xw_end(w); }
static void m_empty(struct xw *w) { (void)w; }
static void m_text_top(struct xw *w) { xw_text(w, "t"); xw_start(w, "e"); xw_end(w); }
static void m_deep(struct xw *w)
{
	for (int i = 0; i <= XW_MAX_DEPTH; i++)
		xw_start(w, "d");
	for (int i = 0; i <= XW_MAX_DEPTH; i++)
		xw_end(w);
}

/* Every character of @s (@n bytes) is one XML 1.0 allows, no raw '<' or '&'. */
static int xml_chars_ok(const char *s, size_t n)
{
	mbstate_t st = { 0 };

	for (size_t i = 0; i < n; ) {
		wchar_t c;
		size_t k = mbrtowc(&c, s + i, n - i, &st);

		if (k == 0 || k > n - i)
			return 0;
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xfffe ||
		    c == 0xffff || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return 0;
		i += k;
	}
	return 1;
}

int main(void)
{
	FILE *f;
	struct xw w;

	/* Structure: declaration, indentation, empty elements, text. */
	f = mem();
	xw_init(&w, f);
	xw_start(&w, "a");
	xw_attr_uint(&w, "n", 18446744073709551615ull);
	xw_start(&w, "b");
	xw_attr(&w, "x-y_z.w", "");
	xw_end(&w);
	xw_start(&w, "c");
	xw_start(&w, "d");
	xw_text(&w, "t");
	xw_end(&w);
	xw_end(&w);
	xw_start(&w, "e");
	xw_text(&w, "");
	xw_end(&w);
	xw_end(&w);
	CHECK(xw_finish(&w) == 0, "structure failed");
	fclose(f);
	CHECK(!strcmp(buf, DECL "<a n=\"18446744073709551615\">\n  <b x-y_z.w=\"\"/>\n"
		      "  <c>\n    <d>t</d>\n  </c>\n  <e></e>\n</a>\n"), "structure: %s", buf);

	/* Escaping. */
	expect("plain", "plain", "plain");
	expect("a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e'f", "a&amp;b&lt;c&gt;d\"e'f");
	expect("]]>", "]]&gt;", "]]&gt;");
	expect("t\tn\nr\r", "t&#9;n&#10;r&#13;", "t\tn\nr&#13;");
	expect("\x01\x1f\x7f", "\xef\xbf\xbd\xef\xbf\xbd\x7f", "\xef\xbf\xbd\xef\xbf\xbd\x7f");
	expect("\xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85", "\xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85",
	       "\xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85");
	/* U+FFFE, U+FFFF, a stray continuation byte, an overlong '/', a surrogate, truncated. */
	expect("\xef\xbf\xbe|\xef\xbf\xbf|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82",
	       "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
	       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd",
	       "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
	       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");

	/* Misuse. */
	misuse("element name starting with a digit", m_badname);
	misuse("element name with a space", m_badname2);
	misuse("attribute name with a quote", m_badattr);
	misuse("NULL attribute value", m_nullattr);
	misuse("attribute after text", m_late_attr);
	misuse("element after text", m_mixed);
	misuse("text after an element", m_mixed2);
	misuse("unclosed element", m_unclosed);
	misuse("end without start", m_extra_end);
	misuse("second root", m_two_roots);
	misuse("no root", m_empty);
	misuse("text outside the root", m_text_top);
	misuse("nesting deeper than XW_MAX_DEPTH", m_deep);

	/* A write error. */
	f = fopen("/dev/full", "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		xw_init(&w, f);
		xw_start(&w, "e");
		xw_end(&w);
		CHECK(xw_finish(&w) == -1, "write error not reported");
		fclose(f);
	}

	/* Random strings. */
	CHECK(setlocale(LC_CTYPE, "C.UTF-8") != NULL, "no C.UTF-8 locale");
	srand(7);
	for (int i = 0; i < 20000; i++) {
		char s[64];
		size_t n = (size_t)(rand() % 63);
		const char *p, *q;

		for (size_t k = 0; k < n; k++) {
			s[k] = (char)(rand() % 256);
			if (!s[k])
				s[k] = 'x';
		}
		s[n] = '\0';
		CHECK(one(s) == 0, "random string %d failed", i);
		p = buf + strlen(DECL) + strlen("<e a=\"");
		q = strrchr(buf, '<');		/* the end tag */
		CHECK(xml_chars_ok(buf, buflen), "random string %d: a character XML does not allow", i);
		/* The attribute ends at its first quote, the element's text is next. */
		CHECK(strchr(p, '"') && strchr(p, '"')[1] == '>', "random string %d: attribute not closed: %s",
		      i, buf);
		for (const char *c = p; c < q; c++) {
			if (*c == '<' || (*c == '"' && c != strchr(p, '"')) || (*c == '&' &&
			    strncmp(c, "&amp;", 5) && strncmp(c, "&lt;", 4) && strncmp(c, "&gt;", 4) &&
			    strncmp(c, "&quot;", 6) && strncmp(c, "&#", 2))) {
				if (*c == '"' && c > strchr(p, '"'))
					continue;	/* a quote in text needs no escape */
				CHECK(0, "random string %d: raw markup at %td: %s", i, c - buf, buf);
				break;
			}
		}
	}
	free(buf);
	return unit_report("test_xml_out");
}
