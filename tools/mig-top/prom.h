/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * mig-top's Prometheus exporter (docs/fleet.md): the Prometheus text
 * exposition format (version 0.0.4, what node_exporter's textfile collector
 * and Prometheus' scraper read), fed from the same analysis model
 * (tools/lib/mig_events.h) as mig-top's table and JSON:
 *  - completed migrations (struct mig_result, mig-top's "migration" JSON):
 *    counts, downtime and part histograms, bytes per phase, iterations;
 *  - error events, counted by the role of their device and their site;
 *  - the model's devices (gauges) and the tracer's event and drop counts.
 * Written atomically into a file (--prom-file, temporary file + rename) or
 * served on /metrics (--prom-listen).
 */
#ifndef MIG_TOP_PROM_H
#define MIG_TOP_PROM_H

#include <stdint.h>
#include <stdio.h>
#include "mig_events.h"

#define PROM_NBUCKETS	18	/* finite histogram buckets */
#define PROM_NSITES	16	/* error sites counted one by one */

struct prom_hist {
	uint64_t le[PROM_NBUCKETS];	/* observations <= bound i (not cumulative) */
	uint64_t count;
	uint64_t sum_ns;
};

struct prom {
	char driver[64];		/* label: "vfmig" or the -g module */
	uint64_t migrations, precopy_migrations, partial, bytes_mismatch;
	struct prom_hist downtime, part[MP_NR];
	uint64_t precopy_bytes, stopcopy_bytes, written_bytes;
	uint64_t precopy_iters;
	uint64_t errors[MR_TARGET + 1][PROM_NSITES + 1];	/* [role][site], last: other */
	int listen_fd;			/* --prom-listen, -1 if none */
};

void prom_init(struct prom *p, const char *driver);
/* A completed migration (the model's on_migration callback). */
void prom_migration(struct prom *p, const struct mig_result *r);
/* An event the model was just fed (@d: its device after the feed, or NULL). */
void prom_event(struct prom *p, const struct mig_event *e, const struct mig_dev *d);

/* The exposition: the counters, the model's gauges, the tracer's totals. */
void prom_write(FILE *f, const struct prom *p, const struct mig_model *m,
		uint64_t drops, const char *mode);
/* The same into @path through a temporary file in its directory and rename(). */
int prom_write_file(const char *path, const struct prom *p,
		    const struct mig_model *m, uint64_t drops, const char *mode,
		    char *err, size_t errlen);

/*
 * /metrics over HTTP: listen on "[HOST]:PORT" (HOST a name or address, [v6]
 * in brackets, empty = every address; PORT 0 = any). Prints the bound
 * address to *bound. Returns 0 or -1 with err.
 */
int prom_listen(struct prom *p, const char *addr, char *bound, size_t boundlen,
		char *err, size_t errlen);
/* Answer every pending connection (non-blocking accept; called from the loop). */
void prom_serve(struct prom *p, const struct mig_model *m, uint64_t drops,
		const char *mode);
void prom_close(struct prom *p);

#endif
