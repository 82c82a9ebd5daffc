/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * mig_join: one end-to-end downtime per migration from the recordings of
 * two (or more) hosts (docs/downtime.md, "Two hosts").
 *
 * Each host's event file (mig-trace record) is replayed into its own
 * analysis model (tools/lib/mig_events.c), which reports every host's side
 * of each migration (struct mig_side). A source side on one host and a
 * target side on another are joined by the migration UUID both saw (the
 * stream's MIG_UUID record). The parts inside one host are differences of
 * its CLOCK_MONOTONIC; the one part that crosses hosts, the transport
 * from the source's last read to the target's last write, is a difference
 * of CLOCK_TAI stamps of two hosts, as good as their clocks agree: the
 * hosts' sync daemon bounds that (struct mig_clock), and the join carries
 * the bound as the window's uncertainty. Orderings that cannot happen
 * beyond it are a clock problem, never a part.
 */
#ifndef MIG_JOIN_H
#define MIG_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>

#include "mig_events.h"

/* A host's clock against the shared reference, as its sync daemon says. */
struct mig_clock {
	bool known;		/* an estimate was given */
	bool synced;		/* the daemon says the clock is synchronised */
	int64_t offset_ns;	/* its estimate of the clock's offset */
	uint64_t error_ns;	/* bound on the error: |offset| + root
				 * dispersion + root delay / 2 (chronyc(1)) */
	char what[128];		/* where it came from, or why it is unknown */
};

/*
 * Parse `chronyc -c tracking` output (its first line). Anything else (the
 * daemon's error message, an empty file) gives known = false with the
 * reason in what. Returns 0 when an estimate was read.
 */
int mig_clock_chrony(const char *text, struct mig_clock *c);

/* One host: its name, sides and clock; its events if kept. */
struct mig_host {
	char name[64];
	struct mig_side *sides;
	size_t nsides, cap;
	struct mig_event *ev;	/* with keep_events */
	size_t nev, evcap;
	bool tai;		/* its events carry CLOCK_TAI */
	struct mig_clock clock;
};

/* Read an event file into @h (name: its "# host" line, else the path). */
int mig_host_load(struct mig_host *h, const char *path, bool keep_events,
		  char *err, size_t errlen);
void mig_host_free(struct mig_host *h);

/* The end-to-end parts, in order; they sum to the window. */
enum mig_jpart {
	JP_SRC_SUSPEND = 0,	/* T0 -> T1, source host */
	JP_FINAL_SAVE,		/* T1 -> T2, source host */
	JP_DRAIN,		/* T2 -> T3 last byte read, source host */
	JP_TRANSPORT,		/* T3 -> T3' last byte written, across */
	JP_TGT_LOAD,		/* T3' -> T4 RESUMING -> STOP, target host */
	JP_TGT_RESUME,		/* T4 -> T5 RUNNING, target host */
	JP_NR,
};
const char *mig_jpart_name(unsigned int p);	/* "transport" ... */

/*
 * How far a host's CLOCK_TAI - CLOCK_MONOTONIC may wander over a
 * migration before it counts as a clock step (a problem) rather than the
 * jitter of reading two clocks one after the other (which joins the
 * uncertainty): chrony's makestep threshold in the test bed, 0.1 s;
 * a descheduled TCG guest was seen at 1 ms.
 */
#define MIG_JOIN_STEP_NS	100000000ull

struct mig_joined {
	bool joined;			/* both sides found */
	__u8 uuid[16];
	const struct mig_side *src, *tgt;	/* either may be NULL */
	int src_host, tgt_host;
	int64_t t_tai[JP_NR + 1];	/* T0 T1 T2 T3 | T3' T4 T5, CLOCK_TAI */
	int64_t part_ns[JP_NR];		/* JP_TRANSPORT only if clock_ok */
	int64_t window_ns;		/* T5 - T0, only if clock_ok */
	uint64_t uncertainty_ns;	/* both hosts' clock error bounds and
					 * how far each one's TAI - MONOTONIC
					 * wandered over the migration */
	bool clock_ok;
	int nproblems;
	char problem[4][192];		/* clock problems, worst first */
	bool bytes_match;		/* read on the source == written */
};

/*
 * Join the sides of @n hosts: one result per source or target side with a
 * UUID (a side whose other half is in no recording is reported alone,
 * joined = false). @ack: the source's VMM leaves STOP_COPY only once the
 * target runs (migctl send: it waits for the ACK), so a target RUNNING
 * after the source's release is a clock problem too. Returns the count;
 * *out is malloc'd.
 */
size_t mig_join(const struct mig_host *hosts, int n, bool ack,
		struct mig_joined **out);
/* The fields of a joined migration, into an open JSON record ("joined"). */
struct jw;
void mig_joined_json(struct jw *w, const struct mig_joined *j,
		     const struct mig_host *hosts);
void mig_joined_text(FILE *f, const struct mig_joined *j,
		     const struct mig_host *hosts);

/*
 * A Trace Event Format (Chrome JSON) timeline of @n hosts' events (kept by
 * mig_host_load): one process per host, per device a track of states, of
 * images, of firmware commands and of data calls, counters of bytes read,
 * written and dirty, each migration's end-to-end window, and a flow arrow
 * from each chunk the source cut to its load on the target. Times are
 * CLOCK_TAI (CLOCK_MONOTONIC if a recording has no TAI and n == 1), in
 * microseconds from the first event.
 */
int mig_perfetto(FILE *f, const struct mig_host *hosts, int n,
		 const struct mig_joined *j, size_t nj, char *err,
		 size_t errlen);

#endif /* MIG_JOIN_H */
