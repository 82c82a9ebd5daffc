/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * xml_out: the one XML writer of the C tools (mig-trace's JUnit reports).
 *
 * Element and attribute names are the caller's (an XML name of ASCII
 * letters, digits, '-', '_', '.' and ':' that does not start with a digit,
 * '-' or '.'; anything else is misuse). Attribute values and text are
 * escaped completely (& < > and " as entities; in attribute values also
 * tab, newline and carriage return as character references, so they
 * survive a parser's normalization; a carriage return in text too) and
 * made valid XML 1.0: invalid UTF-8, control characters other than tab,
 * newline and carriage return, and U+FFFE/U+FFFF become U+FFFD. Elements
 * are indented by depth; an element holds either text or child elements.
 *
 *	struct xw w;
 *
 *	xw_init(&w, f);				// <?xml version="1.0" encoding="UTF-8"?>
 *	xw_start(&w, "testcase");
 *	xw_attr(&w, "name", text);
 *	xw_start(&w, "failure");
 *	xw_attr(&w, "message", why);
 *	xw_text(&w, why);
 *	xw_end(&w);				// </failure>
 *	xw_end(&w);				// </testcase>
 *	if (xw_finish(&w)) ...			// misuse or write error
 *
 * Misuse (an attribute after the start tag is closed, text beside child
 * elements, unbalanced ends, nesting deeper than XW_MAX_DEPTH, a bad name,
 * a second root element) is recorded and makes xw_finish() fail; so does a
 * write error of the stream. Names are kept by pointer until their xw_end().
 */
#ifndef XML_OUT_H
#define XML_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define XW_MAX_DEPTH	16

struct xw {
	FILE *f;
	int depth;				/* open elements */
	const char *name[XW_MAX_DEPTH];
	bool children[XW_MAX_DEPTH];		/* has child elements */
	bool text[XW_MAX_DEPTH];		/* has text */
	bool in_tag;				/* start tag not closed yet: attributes may follow */
	bool root_done;				/* the root element is closed */
	bool bad;				/* misuse seen */
};

/* Writes the XML declaration. */
void xw_init(struct xw *w, FILE *f);
void xw_start(struct xw *w, const char *name);
void xw_attr(struct xw *w, const char *name, const char *value);
void xw_attr_uint(struct xw *w, const char *name, uint64_t v);
void xw_text(struct xw *w, const char *s);
void xw_end(struct xw *w);
/* 0 if the document is complete and written, else -1. Flushes. */
int xw_finish(struct xw *w);

#endif /* XML_OUT_H */
