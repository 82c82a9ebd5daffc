// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* xml_out: the XML writer of the C tools (xml_out.h). */
#include <inttypes.h>
#include <string.h>

#include "utf8.h"
#include "xml_out.h"

void xw_init(struct xw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
}

static bool name_ok(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.:", *s)))
			return false;
	return true;
}

/* @s escaped for an attribute value (@attr) or for text. */
static void put_escaped(FILE *f, const char *str, bool attr)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0;

	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t len;

		switch (c) {
		case '&': fputs("&amp;", f); i++; continue;
		case '<': fputs("&lt;", f); i++; continue;
		case '>': fputs("&gt;", f); i++; continue;
		case '"': fputs(attr ? "&quot;" : "\"", f); i++; continue;
		case '\r': fputs("&#13;", f); i++; continue;
		case '\t': fputs(attr ? "&#9;" : "\t", f); i++; continue;
		case '\n': fputs(attr ? "&#10;" : "\n", f); i++; continue;
		}
		if (c < 0x20) {
			fputs(UTF8_REPLACEMENT, f);	/* not an XML 1.0 character */
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else if ((len = utf8_seq(s + i, n - i, &cp)) && cp != 0xfffe && cp != 0xffff) {
			fwrite(s + i, 1, len, f);
			i += len;
		} else {
			fputs(UTF8_REPLACEMENT, f);
			i += len ? len : 1;
		}
	}
}

static void indent(struct xw *w)
{
	fputc('\n', w->f);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Close a pending start tag: its content follows. */
static void close_tag(struct xw *w)
{
	if (w->in_tag) {
		fputc('>', w->f);
		w->in_tag = false;
	}
}

void xw_start(struct xw *w, const char *name)
{
	if (!name_ok(name) || w->depth == XW_MAX_DEPTH || (!w->depth && w->root_done)) {
		w->bad = true;
		return;
	}
	if (w->depth) {
		int d = w->depth - 1;

		if (w->text[d])
			w->bad = true;	/* no mixed content */
		w->children[d] = true;
		close_tag(w);
		indent(w);
	}
	fputc('<', w->f);
	fputs(name, w->f);
	w->name[w->depth] = name;
	w->children[w->depth] = false;
	w->text[w->depth] = false;
	w->depth++;
	w->in_tag = true;
}

void xw_attr(struct xw *w, const char *name, const char *value)
{
	if (!w->in_tag || !name_ok(name) || !value) {
		w->bad = true;
		return;
	}
	fprintf(w->f, " %s=\"", name);
	put_escaped(w->f, value, true);
	fputc('"', w->f);
}

void xw_attr_uint(struct xw *w, const char *name, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	xw_attr(w, name, b);
}

void xw_text(struct xw *w, const char *s)
{
	if (!w->depth || w->children[w->depth - 1] || !s) {
		w->bad = true;
		return;
	}
	close_tag(w);
	w->text[w->depth - 1] = true;
	put_escaped(w->f, s, false);
}

void xw_end(struct xw *w)
{
	int d = w->depth - 1;

	if (d < 0) {
		w->bad = true;
		return;
	}
	if (w->in_tag) {
		fputs("/>", w->f);
		w->in_tag = false;
		w->depth--;
	} else {
		w->depth--;
		if (w->children[d])
			indent(w);
		fprintf(w->f, "</%s>", w->name[d]);
	}
	if (!w->depth) {
		fputc('\n', w->f);
		w->root_done = true;
	}
}

int xw_finish(struct xw *w)
{
	bool bad = w->bad || w->depth || !w->root_done;

	return (fflush(w->f) || ferror(w->f) || bad) ? -1 : 0;
}
