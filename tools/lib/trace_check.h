/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * trace_check: declarative assertions over a recorded vfmig event stream
 * (docs/trace-check.md). Pure C: mig-trace uses it on live recordings,
 * unit tests on synthetic streams.
 */
#ifndef TRACE_CHECK_H
#define TRACE_CHECK_H

#include <stdbool.h>
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

enum tc_verdict { TC_OK, TC_FAIL, TC_ERROR, TC_SKIP };

/*
 * One result: a spec line (@line > 0: an assertion that holds, fails, is
 * not an assertion, or was not checked), or, @line 0, what the check
 * depends on: "spec FILE" or "events FILE" that could not be read, the
 * "recording" that could not start, run's "command CMD" and its status.
 */
struct tc_item {
	int line;
	enum tc_verdict verdict;
	char *name;			/* the assertion as written, or what (above) */
	char *detail;			/* why: a count, a value, what is wrong; or NULL */
};

struct tc_summary {
	int assertions;			/* non-empty spec lines */
	int failed;			/* assertions that do not hold */
	int errors;			/* lines that are not an assertion */
	int skipped;			/* assertions not checked: no events */
};

/* A check's results, for every output format (text, JSON, TAP, JUnit). */
struct tc_report {
	const char *spec;		/* the spec's path */
	const char *events_path;	/* the event file ("-": stdin), NULL: run's recording */
	bool have_events;		/* read: events, mode and drops apply */
	size_t events;
	char mode[32];
	unsigned long long drops;
	int command_status;		/* run: CMD's exit status; -1: no command */
	struct tc_item *items;
	size_t n, cap;
	struct tc_summary sum;
	int setup_errors;		/* items of line 0 in TC_ERROR */
	bool command_failed;
};

void tc_report_init(struct tc_report *r, const char *spec, const char *events_path);
void tc_report_free(struct tc_report *r);
/* Adds an item (copies @name and @detail); updates the summary. 0 or -1. */
int tc_report_add(struct tc_report *r, int line, enum tc_verdict v,
		  const char *name, const char *detail);
/* The events were read: their count, mode and drops go into the report. */
void tc_report_events(struct tc_report *r, const struct tc_events *evs);
/* run's command line (@argv) and its exit status, as a line 0 item. */
int tc_report_command(struct tc_report *r, char *const *argv, int status);

/*
 * Check every assertion of @spec (text, one per line) against @evs, one
 * item each on @r: TC_OK, TC_FAIL, or TC_ERROR for a line that is not an
 * assertion; with @skip (why the events are missing) every assertion is
 * only parsed and reported TC_SKIP with that reason. Every line is checked,
 * also after an error. Returns the number of failed assertions, or -1 if
 * the spec has errors (or memory ran out).
 */
int tc_check(const char *spec, const struct tc_events *evs, const char *skip,
	     struct tc_report *r);

/* "pass", "fail" or "error" (a spec error or a line 0 error), and the exit
 * status of check and run: 0, 1 or 2 (docs/trace-check.md). */
const char *tc_report_status(const struct tc_report *r);
int tc_report_exit(const struct tc_report *r);

/*
 * The formats (trace_report.c); each returns 0, or -1 on a write error:
 *   text:  "ok   A (why)", "FAIL A (why)", "ERROR line N: why: A",
 *          "SKIP A (why)", then "# STATUS: ..." (the summary);
 *   JSON:  one "assertion" record per spec line, then "check_summary"
 *          (docs/json-schema.json);
 *   TAP:   version 13, a plan, one test point per item with a YAML block,
 *          the summary as a comment;
 *   JUnit: XML, one testsuite for the spec, one testcase per item with
 *          <failure>, <error> or <skipped>.
 */
struct jw;
int tc_write_text(FILE *f, const struct tc_report *r);
int tc_write_json(struct jw *w, const struct tc_report *r);
int tc_write_tap(FILE *f, const struct tc_report *r);
int tc_write_junit(FILE *f, const struct tc_report *r);
/* The summary sentence of all formats: "PASS: 0 of 20 assertion(s) failed". */
void tc_summary_text(const struct tc_report *r, char *buf, size_t len);

#endif
