/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
#ifndef MIG_TOP_H
#define MIG_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include "mig_events.h"
#include "generic.h"

#define MT_MAX_ROWS	MIG_MAX_DEVS
#define MT_KEEP_MAX	32

enum mt_out { MT_TUI, MT_TEXT, MT_JSON };
enum mt_sort { MT_SORT_DEV, MT_SORT_STATE, MT_SORT_RATE, MT_SORT_MIG,
	       MT_SORT_NR };

/* One displayed device: model state + live counters + interval deltas. */
struct mt_row {
	uint32_t dev;
	struct mig_dev *md;		/* never NULL for a shown row */
	struct mig_devstats st;		/* zero if not in the map */
	bool have_st;
	bool have_rate;			/* a previous sample to compare with */
	double read_rate, write_rate;	/* bytes per second, last interval */
	double eta_s;			/* < 0: unknown */
	double progress;		/* < 0: n/a */
};

struct mt_opts {
	enum mt_out out;
	double interval;
	long count;			/* intervals, 0 = forever */
	long migrations;		/* exit after N migrations, 0 = never */
	long long dev_filter;
	const char *force_mode;
	const char *replay;
	int keep;
	bool verbose;
	bool noclear;
	bool arcs;			/* -a: JSON line per state arc */
	bool no_vmm;			/* --no-vmm: no VMM view */
	struct generic_opts gen;	/* -g MODULE: generic mode */
};

#endif
