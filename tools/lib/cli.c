// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* cli: the command-line conventions shared by the tools (cli.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_version(const char *tool)
{
	printf("%s (vfmig tools) %s\n", tool, VFMIG_TOOLS_VERSION);
}

int cli_parse_duration(const char *s, uint64_t bare_unit_ns, uint64_t *ns)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
	};
	uint64_t ip = 0, frac = 0, scale = 1, mul = bare_unit_ns, v;
	const char *p = s;
	size_t i;

	/* Integer arithmetic, so every value is exact to the nanosecond. */
	if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -1;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++)
			if (scale < 1000000000) {	/* finer than 1e-9 units: dropped */
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
	}
	if (*p) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(p, units[i].unit))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -1;
		mul = units[i].ns;
	}
	if (mul && ip > UINT64_MAX / mul)
		return -1;
	v = ip * mul;
	/* frac < scale <= 1e9 and mul <= 1e9 (or the caller's unit): no overflow there. */
	frac = (frac * mul + scale / 2) / scale;
	if (v > UINT64_MAX - frac)
		return -1;
	*ns = v + frac;
	return 0;
}

int cli_parse_u64(const char *s, uint64_t *v, int suffix)
{
	unsigned long long x;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (suffix && *end) {
		switch (*end | 0x20) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		default: return -1;
		}
		end++;
	}
	if (*end || (shift && x > (~0ull >> shift)))
		return -1;
	*v = x << shift;
	return 0;
}

void cli_warn_ignored(const char *tool, const char *opt, const char *why)
{
	fprintf(stderr, "%s: warning: %s has no effect %s\n", tool, opt, why);
}
