/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * Helpers of the tests/unit/test_trace_*.c tests: CHECK(), and a synthetic
 * vfmig event stream of one PRE_COPY migration as the driver emits it.
 */
#ifndef TEST_TRACE_H
#define TEST_TRACE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mig_events.h"

static int tt_failed;

#define CHECK(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
		tt_failed++; \
	} } while (0)

static inline int tt_report(const char *name)
{
	printf("%s: %s\n", name, tt_failed ? "FAIL" : "ok");
	return tt_failed ? 1 : 0;
}

struct tt_stream {
	struct mig_event *ev;
	size_t n, cap;
};

static inline void tt_push(struct tt_stream *s, const struct mig_event *e)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->ev = realloc(s->ev, s->cap * sizeof(*s->ev));
		if (!s->ev)
			abort();
	}
	s->ev[s->n++] = *e;
}

static inline void tt_ev(struct tt_stream *s, uint64_t ts, int type,
			 uint32_t dev, uint32_t state, uint64_t mig_id,
			 int64_t a0, int64_t a1, int64_t a2, int64_t a3,
			 int64_t a4)
{
	struct mig_event e;

	memset(&e, 0, sizeof(e));
	e.ts = ts;
	e.type = type;
	e.dev = dev;
	e.state = state;
	e.mig_id = mig_id;
	e.state_size = 4096;
	e.a[0] = a0; e.a[1] = a1; e.a[2] = a2; e.a[3] = a3; e.a[4] = a4;
	tt_push(s, &e);
}

/*
 * One migration src -> dst, timestamps base + offset (ns):
 *   T0 2000 (PRE_COPY -> PRE_COPY_P2P arc, 50 ns, event at 2050)
 *   T1 2300 STOP_COPY, T2 2500 final image done, T3 2600 last byte read,
 *   T4 3000 target RESUMING -> STOP, T5 3210 target RUNNING.
 * Source reads 5024 + 1000 (+extra each) in PRE_COPY, 300 (+extra) in
 * STOP_COPY; the target gets them all in one write.
 */
static inline void tt_migration(struct tt_stream *s, uint32_t src,
				uint32_t dst, uint64_t smig, uint64_t dmig,
				uint64_t b, int64_t extra)
{
	int64_t total = 5024 + 1000 + 300 + 3 * extra;

	/* source opens its save file (0..4), target its resume file */
	tt_ev(s, b + 1000, MEV_FILE, src, MS_RUNNING, smig, 0, 1, 0, 0, 0);
	tt_ev(s, b + 1100, MEV_STATE_STEP, src, MS_RUNNING, smig, MS_RUNNING, MS_PRE_COPY, 0, 100, 0);
	tt_ev(s, b + 1110, MEV_SET_STATE, src, MS_PRE_COPY, smig, MS_RUNNING, MS_PRE_COPY, MS_PRE_COPY, 0, 110);
	tt_ev(s, b + 1200, MEV_PRECOPY_INFO, src, MS_PRE_COPY, smig, 5024 + extra, 0, 0, 0, 0);
	tt_ev(s, b + 1300, MEV_SAVE_READ, src, MS_PRE_COPY, smig, 0, 1 << 20, 5024 + extra, 0, 0);
	tt_ev(s, b + 1310, MEV_STATE_STEP, dst, MS_RUNNING, 0, MS_RUNNING, MS_RUNNING_P2P, 0, 10, 0);
	tt_ev(s, b + 1320, MEV_STATE_STEP, dst, MS_RUNNING_P2P, 0, MS_RUNNING_P2P, MS_STOP, 0, 10, 0);
	tt_ev(s, b + 1330, MEV_FILE, dst, MS_STOP, dmig, 1, 1, 0, 0, 0);
	tt_ev(s, b + 1340, MEV_STATE_STEP, dst, MS_STOP, dmig, MS_STOP, MS_RESUMING, 0, 10, 0);
	tt_ev(s, b + 1350, MEV_SET_STATE, dst, MS_RESUMING, dmig, MS_RUNNING, MS_RESUMING, MS_RESUMING, 0, 40);
	tt_ev(s, b + 1400, MEV_PRECOPY_INFO, src, MS_PRE_COPY, smig, 0, 1000 + extra, 0, 1, 0);
	tt_ev(s, b + 1450, MEV_IMAGE_DONE, src, MS_PRE_COPY, smig, 1, 1, 1, 1, 1000);
	tt_ev(s, b + 1500, MEV_SAVE_READ, src, MS_PRE_COPY, smig, 5024, 1 << 20, 1000 + extra, 0, 0);
	tt_ev(s, b + 1600, MEV_SAVE_READ, src, MS_PRE_COPY, smig, 6024, 1 << 20, -42 /* ENOMSG */, 0, 0);
	/* switchover */
	tt_ev(s, b + 2050, MEV_STATE_STEP, src, MS_PRE_COPY, smig, MS_PRE_COPY, MS_PRE_COPY_P2P, 0, 50, 0);
	tt_ev(s, b + 2300, MEV_STATE_STEP, src, MS_PRE_COPY_P2P, smig, MS_PRE_COPY_P2P, MS_STOP_COPY, 0, 240, 0);
	tt_ev(s, b + 2310, MEV_SET_STATE, src, MS_STOP_COPY, smig, MS_PRE_COPY, MS_STOP_COPY, MS_STOP_COPY, 0, 310);
	tt_ev(s, b + 2500, MEV_IMAGE_DONE, src, MS_STOP_COPY, smig, 2, 2, 1, 1, 300);
	tt_ev(s, b + 2600, MEV_SAVE_READ, src, MS_STOP_COPY, smig, 6024, 1 << 20, 300 + extra, 0, 0);
	tt_ev(s, b + 2700, MEV_SAVE_READ, src, MS_STOP_COPY, smig, 6324, 1 << 20, 0, 0, 0);
	tt_ev(s, b + 2800, MEV_RESUME_WRITE, dst, MS_RESUMING, dmig, 0, total, total, 0, 0);
	tt_ev(s, b + 3000, MEV_STATE_STEP, dst, MS_RESUMING, dmig, MS_RESUMING, MS_STOP, 0, 100, 0);
	tt_ev(s, b + 3010, MEV_SET_STATE, dst, MS_STOP, dmig, MS_RESUMING, MS_STOP, MS_STOP, 0, 110);
	tt_ev(s, b + 3100, MEV_STATE_STEP, dst, MS_STOP, dmig, MS_STOP, MS_RUNNING_P2P, 0, 10, 0);
	tt_ev(s, b + 3200, MEV_STATE_STEP, dst, MS_RUNNING_P2P, dmig, MS_RUNNING_P2P, MS_RUNNING, 0, 10, 0);
	tt_ev(s, b + 3210, MEV_SET_STATE, dst, MS_RUNNING, dmig, MS_STOP, MS_RUNNING, MS_RUNNING, 0, 120);
	tt_ev(s, b + 3300, MEV_STATE_STEP, src, MS_STOP_COPY, smig, MS_STOP_COPY, MS_STOP, 0, 20, 0);
	tt_ev(s, b + 3310, MEV_FW_DONE, src, MS_STOP, smig, 9, 3, 0, 0, 0);
}

#endif
