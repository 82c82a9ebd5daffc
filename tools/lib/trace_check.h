/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * trace_check: declarative assertions over a recorded vfmig event stream
 * (docs/trace-check.md). Pure C: mig-trace uses it on live recordings,
 * unit tests on synthetic streams.
 */
#ifndef TRACE_CHECK_H
#define TRACE_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include "mig_events.h"

struct tc_events {
	struct mig_event *ev;
	size_t n, cap;
	unsigned long long drops;
	char mode[32];
};

/* Read an event file (mig_ev_read format). 0, or -1 with err set. */
int tc_load(FILE *f, struct tc_events *evs, char *err, size_t errlen);
int tc_append(struct tc_events *evs, const struct mig_event *e);
void tc_free(struct tc_events *evs);

/*
 * Check every assertion of @spec (text, one per line) against @evs; print
 * one "ok   <assertion>" or "FAIL <assertion>: <why>" line each to @out.
 * Returns the number of failed assertions, or -1 on a spec syntax error
 * (reported on @out as "ERROR line N: ...").
 */
int tc_check(const char *spec, const struct tc_events *evs, FILE *out);

/* Parse "250ms", "1.5s", "20us", "300ns" or plain ns. 0 or -1. */
int tc_parse_duration(const char *s, unsigned long long *ns);

#endif
