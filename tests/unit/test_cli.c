// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit test of tools/lib/cli.c: durations with every unit and with the
 * caller's bare unit, sizes with binary suffixes, and what both refuse
 * (signs, blanks, unknown units, inf/nan, overflow).
 */
#include <stdint.h>

#include "cli.h"
#include "unit_check.h"

static void dur(const char *s, uint64_t bare, int want_rc, uint64_t want)
{
	uint64_t ns = 0xdead;
	int rc = cli_parse_duration(s, bare, &ns);

	CHECK(rc == want_rc && (rc || ns == want), "duration '%s' (bare %llu ns): rc %d ns %llu",
	      s, (unsigned long long)bare, rc, (unsigned long long)ns);
}

static void size(const char *s, int suffix, int want_rc, uint64_t want)
{
	uint64_t v = 0xdead;
	int rc = cli_parse_u64(s, &v, suffix);

	CHECK(rc == want_rc && (rc || v == want), "size '%s': rc %d v %llu", s, rc,
	      (unsigned long long)v);
}

int main(void)
{
	const uint64_t MS = 1000000;

	dur("250ms", MS, 0, 250 * MS);
	dur("1.5s", MS, 0, 1500 * MS);
	dur(".5s", MS, 0, 500 * MS);
	dur("20us", MS, 0, 20000);
	dur("300ns", MS, 0, 300);
	dur("300", MS, 0, 300 * MS);		/* the tools: bare = ms */
	dur("300", 1, 0, 300);			/* mig-trace specs: bare = ns */
	dur("0", MS, 0, 0);
	dur("0.0000004ms", MS, 0, 0);		/* rounds to the nanosecond */
	dur("18446744073s", MS, 0, 18446744073000000000ull);
	dur("18446744074s", MS, -1, 0);		/* > 2^64 ns */
	dur("1e400", MS, -1, 0);
	dur("", MS, -1, 0);
	dur("-1", MS, -1, 0);
	dur("+1", MS, -1, 0);
	dur(" 1", MS, -1, 0);
	dur("1 s", MS, -1, 0);
	dur("1h", MS, -1, 0);
	dur("1sec", MS, -1, 0);
	dur("inf", MS, -1, 0);
	dur("nan", MS, -1, 0);
	dur("ms", MS, -1, 0);

	size("16M", 1, 0, 16ull << 20);
	size("16m", 1, 0, 16ull << 20);
	size("1k", 1, 0, 1024);
	size("2G", 1, 0, 2ull << 30);
	size("0x10", 1, 0, 16);
	size("18446744073709551615", 0, 0, UINT64_MAX);
	size("18446744073709551616", 0, -1, 0);
	size("17179869184G", 1, -1, 0);		/* 2^64 */
	size("16M", 0, -1, 0);			/* no suffixes for counts */
	size("1T", 1, -1, 0);
	size("-1", 1, -1, 0);
	size(" 1", 1, -1, 0);
	size("", 1, -1, 0);
	size("1MB", 1, -1, 0);
	return unit_report("test_cli");
}
