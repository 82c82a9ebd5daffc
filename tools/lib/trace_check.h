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

struct tc_summary {
	int assertions;			/* non-empty spec lines */
	int failed;			/* assertions that do not hold */
	int errors;			/* lines that are not an assertion */
};

/*
 * Check every assertion of @spec (text, one per line) against @evs; report
 * each on @out, "ok   <assertion> (why)", "FAIL <assertion> (why)" or
 * "ERROR line N: <what>: <line>" for a line that is not an assertion, or,
 * with @json, as one "assertion" record each (docs/json-schema.json).
 * Every line is checked, also after an error. Fills @sum (may be NULL);
 * returns the number of failed assertions, or -1 if the spec has errors.
 */
struct jw;
int tc_check(const char *spec, const struct tc_events *evs, FILE *out,
	     struct jw *json, struct tc_summary *sum);


#endif
