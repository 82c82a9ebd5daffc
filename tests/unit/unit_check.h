/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The checks of the unit tests that count every check: CHECK(cond, fmt...)
 * prints "not ok FILE:LINE: message" on failure; unit_report() prints the
 * summary line and gives the exit status.
 */
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...) do { \
	checks++; \
	if (!(cond)) { \
		failures++; \
		printf("not ok %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
	} \
} while (0)

static inline int unit_report(const char *name)
{
	printf("%s %s: %d checks, %d failed\n", failures ? "FAIL" : "ok", name,
	       checks, failures);
	return failures ? 1 : 0;
}

#endif /* UNIT_CHECK_H */
