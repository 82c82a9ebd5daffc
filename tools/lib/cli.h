/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * cli: what the command lines of migctl, mig-top and mig-trace share
 * (docs/tools.md): the version, the usage exit status, durations and sizes,
 * and the warning for an option that does not apply.
 */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include <stdio.h>

#define VFMIG_TOOLS_VERSION	"0.2"

/* Exit status of every usage error (bad option, value or arguments). */
#define CLI_EXIT_USAGE	2

/* "TOOL (vfmig tools) VERSION" on stdout, for --version. */
void cli_version(const char *tool);

/*
 * A duration: a decimal number with an optional unit, "ns", "us", "ms" or
 * "s" ("250ms", "1.5s"); a bare number is in units of @bare_unit_ns (the
 * tools' options: milliseconds; mig-trace specs: nanoseconds). 0, or -1 if
 * it is not one.
 */
int cli_parse_duration(const char *s, uint64_t bare_unit_ns, uint64_t *ns);

/* A count or a size in bytes, with K/M/G (binary) suffixes if @suffix. */
int cli_parse_u64(const char *s, uint64_t *v, int suffix);

/* "TOOL: warning: OPT has no effect WHY" on stderr. */
void cli_warn_ignored(const char *tool, const char *opt, const char *why);

#endif /* CLI_H */
