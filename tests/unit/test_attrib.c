// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit test of tools/lib/mig_attrib.c: synthetic event sequences of
 * migrations with a known bottleneck (a throttled reader, slow firmware, a
 * slow target, slow transport, heavy dirtying) must be named so, with every
 * part split exactly into its causes; the expected downtime of a PRE_COPY
 * source follows from its rounds; an event file written positionally or
 * with named fields replays to the same results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig_events.h"
#include "unit_check.h"

#define US	1000ull		/* ns */
#define CHUNK	(1050680ull + 32)	/* a 1 MiB chunk record and its CRC record */
#define SRC	0
#define DST	1
#define SMIG	1
#define DMIG	2

struct stream {
	struct mig_event *ev;
	size_t n, cap;
};

static void ev(struct stream *s, __u64 ts, int type, __u32 dev, __u32 state,
	       __u64 mig, __s64 a0, __s64 a1, __s64 a2, __s64 a3, __s64 a4,
	       __s64 a5, __s64 a6)
{
	struct mig_event *e;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->ev = realloc(s->ev, s->cap * sizeof(*s->ev));
		if (!s->ev)
			abort();
	}
	e = &s->ev[s->n++];
	memset(e, 0, sizeof(*e));
	e->ts = ts;
	e->type = type;
	e->dev = dev;
	e->state = state;
	e->mig_id = mig;
	e->state_size = 16ull << 20;
	e->a[0] = a0; e->a[1] = a1; e->a[2] = a2; e->a[3] = a3;
	e->a[4] = a4; e->a[5] = a5; e->a[6] = a6;
}

#define EV(s, ts, t, d, st, m, ...) ev(s, ts, t, d, st, m, __VA_ARGS__)

static void step(struct stream *s, __u64 ts, __u32 dev, __u64 mig,
		 __u32 from, __u32 to, __u64 ns)
{
	EV(s, ts, MEV_STATE_STEP, dev, from, mig, from, to, 0, ns, 0, 0, 0);
}

static void set_state(struct stream *s, __u64 ts, __u32 dev, __u64 mig,
		      __u32 from, __u32 result)
{
	EV(s, ts, MEV_SET_STATE, dev, result, mig, from, result, result, 0, 0,
	   0, 0);
}

/* Events are generated per actor; the model wants them in time order. */
struct keyed {
	struct mig_event e;
	size_t i;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->e.ts != y->e.ts)
		return x->e.ts < y->e.ts ? -1 : 1;
	/* stable: equal times keep the order they were generated in */
	return x->i < y->i ? -1 : x->i > y->i;
}

static void sort_stream(struct stream *s)
{
	struct keyed *k = calloc(s->n, sizeof(*k));

	if (!k)
		abort();
	for (size_t i = 0; i < s->n; i++) {
		k[i].e = s->ev[i];
		k[i].i = i;
	}
	qsort(k, s->n, sizeof(*k), ev_cmp);
	for (size_t i = 0; i < s->n; i++)
		s->ev[i] = k[i].e;
	free(k);
}

/*
 * The stop-copy half of a migration: the firmware cuts @chunks chunks of
 * CHUNK bytes, @dev_us each, into a budget of @budget chunks; the reader
 * takes @read_us per read, hands the chunk to the target after @xfer_us,
 * where the write takes @write_us; a serialized reader (migctl locally)
 * waits for the write, and sleeps @gap_us (its throttle) before the next
 * read; an unserialized one may run @sockbuf chunks ahead of the target.
 */
struct sc {
	unsigned int chunks, budget, sockbuf;
	__u64 dev_us, read_us, xfer_us, write_us, gap_us;
	bool serial;
};

/* From T1 = @t1 to the target's RUNNING; returns T5. @r0, @w0: bytes read
 * from the source and written to the target before. */
static __u64 stop_copy(struct stream *s, const struct sc *p, __u64 t1,
		       __u64 r0, __u64 w0, bool precopy)
{
	__u64 fw = t1, reader = t1, ready[64], rd_end[64], arrive[64];
	__u64 w_end = t1, pos = r0, wpos = w0, t;
	unsigned int n = p->chunks;

	/* The pipeline first, the events with what was queued after. */
	for (unsigned int k = 0; k < n; k++) {
		if (k >= p->budget && rd_end[k - p->budget] > fw) {
			/* budget full: the SAVE pauses until that read */
			t = rd_end[k - p->budget] + 5 * US;
			EV(s, fw, MEV_SAVE_STALL, SRC, MS_STOP_COPY, SMIG, 9, 1, 0, 0, 0, 0, 0);
			EV(s, t, MEV_SAVE_STALL, SRC, MS_STOP_COPY, SMIG, 9, 0, t - fw, 0, 0, 0, 0);
			fw = t;
		}
		fw += p->dev_us * US;
		ready[k] = fw;
		/* the chunk record, behind its 32-byte CRC record */
		EV(s, fw, MEV_IMAGE_CHUNK, SRC, MS_STOP_COPY, SMIG, 2,
		   precopy ? 3 : 0, k, 256, 0, CHUNK - 32, r0 + k * CHUNK + 32);
		/* the read of chunk k */
		t = fw > reader ? fw : reader;
		if (!p->serial && k >= p->sockbuf && arrive[k - p->sockbuf] > t)
			t = arrive[k - p->sockbuf];
		rd_end[k] = t + p->read_us * US;
		/* to the target, one write at a time */
		t = rd_end[k] + p->xfer_us * US;
		if (t < w_end)
			t = w_end;
		arrive[k] = t;
		w_end = t + p->write_us * US;
		EV(s, w_end, MEV_RESUME_WRITE, DST, MS_RESUMING, DMIG, wpos,
		   CHUNK, CHUNK, 0, p->write_us * US, 0, 0);
		wpos += CHUNK;
		reader = (p->serial ? w_end : rd_end[k]) + p->gap_us * US;
	}
	for (unsigned int k = 0; k < n; k++) {
		__u64 queued = 0;

		for (unsigned int j = k + 1; j < n; j++)
			if (ready[j] <= rd_end[k])
				queued += CHUNK;
		EV(s, rd_end[k], MEV_SAVE_READ, SRC, MS_STOP_COPY, SMIG, pos,
		   1 << 21, CHUNK, queued, p->read_us * US, 0, 0);
		pos += CHUNK;
	}
	EV(s, fw + 1 * US, MEV_IMAGE_DONE, SRC, MS_STOP_COPY, SMIG, 2,
	   precopy ? 3 : 0, n, n * 256, n * CHUNK, 0, fw + US - t1);
	t = rd_end[n - 1] > fw ? rd_end[n - 1] : fw;
	EV(s, t + 2 * US, MEV_SAVE_READ, SRC, MS_STOP_COPY, SMIG, pos, 1 << 21,
	   0, 0, 1000, 0, 0);
	/* target: RESUMING -> STOP after the last write, then back to RUNNING */
	t = (w_end > t ? w_end : t) + 20 * US;
	step(s, t + 30 * US, DST, DMIG, MS_RESUMING, MS_STOP, 30 * US);
	set_state(s, t + 31 * US, DST, DMIG, MS_RESUMING, MS_STOP);
	step(s, t + 150 * US, DST, DMIG, MS_STOP, MS_RUNNING_P2P, 100 * US);
	step(s, t + 260 * US, DST, DMIG, MS_RUNNING_P2P, MS_RUNNING, 100 * US);
	set_state(s, t + 261 * US, DST, DMIG, MS_STOP, MS_RUNNING);
	step(s, t + 400 * US, SRC, SMIG, MS_STOP_COPY, MS_STOP, 10 * US);
	return t + 261 * US;
}

/* The target prepared: RUNNING -> STOP -> RESUMING at @t. */
static void target_prepare(struct stream *s, __u64 t)
{
	step(s, t + 10 * US, DST, 0, MS_RUNNING, MS_RUNNING_P2P, 10 * US);
	step(s, t + 20 * US, DST, 0, MS_RUNNING_P2P, MS_STOP, 10 * US);
	EV(s, t + 30 * US, MEV_FILE, DST, MS_STOP, DMIG, 1, 1, 0, 0, 0, 0, 0);
	step(s, t + 40 * US, DST, DMIG, MS_STOP, MS_RESUMING, 15 * US);
	set_state(s, t + 41 * US, DST, DMIG, MS_RUNNING, MS_RESUMING);
}

/* A migration without PRE_COPY: the suspend arcs, then stop_copy(). */
static __u64 no_precopy(struct stream *s, const struct sc *p)
{
	__u64 t = 1000 * US;

	target_prepare(s, 0);
	step(s, t + 100 * US, SRC, 0, MS_RUNNING, MS_RUNNING_P2P, 100 * US);
	step(s, t + 300 * US, SRC, 0, MS_RUNNING_P2P, MS_STOP, 100 * US);
	EV(s, t + 350 * US, MEV_FILE, SRC, MS_STOP, SMIG, 0, 1, 0, 0, 0, 0, 0);
	step(s, t + 500 * US, SRC, SMIG, MS_STOP, MS_STOP_COPY, 200 * US);
	set_state(s, t + 501 * US, SRC, SMIG, MS_RUNNING, MS_STOP_COPY);
	EV(s, t + 510 * US, MEV_SAVE_READ, SRC, MS_STOP_COPY, SMIG, 0, 1 << 21,
	   24, 0, 1000, 0, 0);
	EV(s, t + 520 * US, MEV_RESUME_WRITE, DST, MS_RESUMING, DMIG, 0, 24,
	   24, 0, 1000, 0, 0);
	return stop_copy(s, p, t + 500 * US, 24, 24, false);
}

static struct mig_result res[4];
static int nres;

static void on_mig(const struct mig_result *r, void *arg)
{
	(void)arg;
	if (nres < 4)
		res[nres++] = *r;
}

static void run(struct stream *s)
{
	struct mig_model *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	sort_stream(s);
	mig_model_init(m, on_mig, NULL);
	nres = 0;
	for (size_t i = 0; i < s->n; i++)
		mig_model_feed(m, &s->ev[i]);
	mig_model_free(m);
	free(m);
}

static __u64 cause_total(const struct mig_result *r, int c)
{
	__u64 t = 0;

	for (int p = 0; p < MP_NR; p++)
		t += r->cause_ns[p][c];
	return t;
}

/* The sums: causes add up to each part, parts to the downtime. */
static void check_sums(const struct mig_result *r, const char *what)
{
	__u64 all = 0;

	for (int p = 0; p < MP_NR; p++) {
		__u64 sum = 0;

		for (int c = 0; c < MC_NR; c++)
			sum += r->cause_ns[p][c];
		CHECK(sum == r->part_ns[p], "%s: %s causes sum to %llu, part %llu",
		      what, mig_part_name(p), (unsigned long long)sum,
		      (unsigned long long)r->part_ns[p]);
		all += r->part_ns[p];
	}
	CHECK(all == r->downtime_ns, "%s: parts sum to %llu, downtime %llu", what,
	      (unsigned long long)all, (unsigned long long)r->downtime_ns);
}

static int top_cause(const struct mig_result *r, int p)
{
	int top = 0;

	for (int c = 1; c < MC_NR; c++)
		if (r->cause_ns[p][c] > r->cause_ns[p][top])
			top = c;
	return top;
}

static void scenario(const char *what, const struct sc *p, int want,
		     int want_final_save)
{
	struct stream s = { 0 };
	char sum[128];

	no_precopy(&s, p);
	run(&s);
	CHECK(nres == 1, "%s: %d migrations", what, nres);
	if (nres == 1) {
		const struct mig_result *r = &res[0];

		check_sums(r, what);
		CHECK(r->bytes_match && !r->partial && r->attrib_complete,
		      "%s: bytes_match %d partial %d complete %d", what,
		      r->bytes_match, r->partial, r->attrib_complete);
		CHECK(r->bottleneck == want, "%s: bottleneck %s, want %s", what,
		      mig_cause_name(r->bottleneck), mig_cause_name(want));
		CHECK(top_cause(r, MP_FINAL_SAVE) == want_final_save,
		      "%s: final_save mostly %s, want %s", what,
		      mig_cause_name(top_cause(r, MP_FINAL_SAVE)),
		      mig_cause_name(want_final_save));
		/* The suspend arcs logged before the save file opened. */
		CHECK(r->cause_ns[MP_SRC_SUSPEND][MC_DEVICE] == 400 * US,
		      "%s: source_suspend device %llu", what,
		      (unsigned long long)r->cause_ns[MP_SRC_SUSPEND][MC_DEVICE]);
		CHECK(!r->expected, "%s: no PRE_COPY, yet an expected downtime", what);
		mig_result_summary(sum, sizeof(sum), r);
		printf("# %s: %s %.1f %% of the downtime; %s\n", what,
		       mig_cause_name(r->bottleneck),
		       100.0 * cause_total(r, r->bottleneck) / r->downtime_ns, sum);
	}
	free(s.ev);
}

static void test_bottlenecks(void)
{
	/* migctl -b: reads 0.1 ms, writes 0.5 ms, then a 20 ms throttle */
	struct sc thr = { 16, 4, 0, 1000, 100, 0, 500, 20000, true };
	/* slow firmware: 20 ms a chunk, the reader waits */
	struct sc fw = { 16, 4, 0, 20000, 100, 0, 500, 0, true };
	/* slow target: each write (its LOAD) 20 ms, migctl waits for it */
	struct sc tgt = { 16, 4, 0, 1000, 100, 0, 20000, 0, true };
	/* slow transport: 20 ms a chunk in transit, 2 chunks of socket buffer */
	struct sc net = { 16, 4, 2, 1000, 100, 20000, 500, 0, false };

	scenario("reader throttled", &thr, MC_VMM_READ, MC_VMM_READ);
	scenario("firmware slow", &fw, MC_DEVICE, MC_DEVICE);
	scenario("target slow", &tgt, MC_TARGET_LOAD, MC_TARGET_LOAD);
	scenario("transport slow", &net, MC_TRANSPORT, MC_TRANSPORT);
}

/*
 * PRE_COPY: three rounds (the initial image, two middle ones) each taking
 * 500 us + 10 ns a byte, the middle ones issued by queries whose sizes
 * are what was dirtied since the query before. Returns the stream bytes
 * read; *t0 is a time 2 ms after the last round.
 */
static __u64 precopy(struct stream *s, __u64 *t0)
{
	__u64 t = 1000 * US, pos = 24, start = t, end;
	__u64 sizes[3] = { 16 * CHUNK, 2 * CHUNK, CHUNK / 2 };

	target_prepare(s, 0);
	EV(s, t, MEV_FILE, SRC, MS_RUNNING, SMIG, 0, 1, 0, 0, 0, 0, 0);
	step(s, t + 200 * US, SRC, SMIG, MS_RUNNING, MS_PRE_COPY, 200 * US);
	set_state(s, t + 201 * US, SRC, SMIG, MS_RUNNING, MS_PRE_COPY);
	EV(s, t + 210 * US, MEV_SAVE_READ, SRC, MS_PRE_COPY, SMIG, 0, 1 << 21,
	   24, 0, 1000, 0, 0);
	for (int r = 0; r < 3; r++) {
		/* round 0 also carries the 24-byte STOP_COPY_SIZE record */
		end = start + 500 * US + 10 * (sizes[r] + (r ? 0 : 24));
		if (r)	/* the query that issued this round */
			EV(s, start, MEV_PRECOPY_INFO, SRC, MS_PRE_COPY, SMIG, 0,
			   sizes[r], 0, 1, 0, 0, 0);
		EV(s, end - 1000, MEV_IMAGE_DONE, SRC, MS_PRE_COPY, SMIG,
		   r ? 1 : 0, r, 1, 1, sizes[r], 0, 1);
		EV(s, end, MEV_SAVE_READ, SRC, MS_PRE_COPY, SMIG, pos, 1 << 30,
		   sizes[r], 0, 1000, 0, 0);
		pos += sizes[r];
		EV(s, end + 10 * US, MEV_SAVE_READ, SRC, MS_PRE_COPY, SMIG, pos,
		   1 << 30, -ENOMSG, 0, 1000, 0, 0);
		start = end + 1000 * US;
	}
	*t0 = end + 2000 * US;
	return pos;
}

static bool near(double a, double b, double tol)
{
	return a - b <= tol && b - a <= tol;
}

static void test_expected(void)
{
	struct stream s = { 0 };
	struct mig_model *m = calloc(1, sizeof(*m));
	const struct mig_dev *d;
	struct mig_expected x;
	__u64 t0, grow;

	if (!m)
		abort();
	precopy(&s, &t0);
	mig_model_init(m, on_mig, NULL);
	sort_stream(&s);
	for (size_t i = 0; i < s.n; i++)
		mig_model_feed(m, &s.ev[i]);
	d = mig_model_dev(m, SRC, false);
	CHECK(d && d->ex.rounds == 3, "3 rounds, got %u", d ? d->ex.rounds : 0);
	if (!d || !mig_dev_expected(m, d, t0, &x)) {
		CHECK(0, "no expected downtime in PRE_COPY");
		goto out;
	}
	/* the rounds fit exactly: 500 us + 10 ns a byte = 100 MB/s */
	CHECK(near(x.rate, 1e8, 2), "rate %llu", (unsigned long long)x.rate);
	/*
	 * no history: SUSPEND x2 + RESUME x2 at a command's cost, the median
	 * arc seen (the target's two 10 us SUSPEND arcs), + 500 us
	 */
	CHECK(!x.learned && near(x.fixed_ns, 540 * US, 2), "fixed %llu",
	      (unsigned long long)x.fixed_ns);
	/* dirtied since the last query, at the rate measured between the
	 * queries (from the arc into PRE_COPY on, which counts as one) */
	CHECK(d->ex.dirt_bytes == 2 * CHUNK + CHUNK / 2, "dirt %llu",
	      (unsigned long long)d->ex.dirt_bytes);
	grow = d->ex.dirt_bytes * (t0 - d->ex.q_ts) / d->ex.dirt_ns;
	CHECK(near(x.pending, grow, 1), "pending %llu, want %llu",
	      (unsigned long long)x.pending, (unsigned long long)grow);
	CHECK(near(x.ns, x.fixed_ns + 10.0 * x.pending, 2),
	      "expected %llu != fixed %llu + 10 ns * %llu bytes",
	      (unsigned long long)x.ns, (unsigned long long)x.fixed_ns,
	      (unsigned long long)x.pending);
	/* half way through the last round's reads nothing is pending twice */
out:
	mig_model_free(m);
	free(m);
	free(s.ev);
}

/* precopy(), then the switchover with 12 chunks left dirty, 10.5 ms each. */
static void dirty_migration(struct stream *s)
{
	struct sc p = { 12, 4, 0, 10500, 100, 0, 500, 0, true };
	__u64 t0, pos, t1;

	pos = precopy(s, &t0);
	step(s, t0 + 100 * US, SRC, SMIG, MS_PRE_COPY, MS_PRE_COPY_P2P, 100 * US);
	step(s, t0 + 400 * US, SRC, SMIG, MS_PRE_COPY_P2P, MS_STOP_COPY, 200 * US);
	t1 = t0 + 400 * US;
	/* the target has every PRE_COPY byte */
	EV(s, t1 - 150 * US, MEV_RESUME_WRITE, DST, MS_RESUMING, DMIG, 0, pos,
	   pos, 0, 1000, 0, 0);
	stop_copy(s, &p, t1, pos, pos, true);
}

/*
 * Heavy dirtying: after PRE_COPY the final image still holds 12 chunks,
 * which at the PRE_COPY rate take most of the downtime: "dirty", the
 * firmware the stage; the expected downtime is kept in the record and,
 * learned, the next migration's estimate uses the fixed part measured.
 */
static void test_dirty(void)
{
	struct stream s = { 0 };

	dirty_migration(&s);
	run(&s);
	CHECK(nres == 1, "dirty: %d migrations", nres);
	if (nres != 1)
		goto out;
	check_sums(&res[0], "dirty");
	CHECK(res[0].precopy && res[0].bytes_match, "dirty: precopy %d match %d",
	      res[0].precopy, res[0].bytes_match);
	CHECK(res[0].bottleneck == MC_DIRTY && res[0].stage == MC_DEVICE,
	      "dirty: bottleneck %s stage %s", mig_cause_name(res[0].bottleneck),
	      mig_cause_name(res[0].stage));
	/*
	 * final_save + drain beyond a command: the median arc by then (the
	 * target's 10 us x2, the source's and the target's 100 us x3)
	 */
	CHECK(near(res[0].dirty_ns, res[0].part_ns[MP_FINAL_SAVE] +
		   res[0].part_ns[MP_DRAIN] - 100.0 * US, 2),
	      "dirty_ns %llu", (unsigned long long)res[0].dirty_ns);
	/* at T0: the median of 10, 10 and the source's 100 us arc */
	CHECK(res[0].expected && near(res[0].expected_fixed_ns, 540 * US, 2),
	      "expected %d fixed %llu", res[0].expected,
	      (unsigned long long)res[0].expected_fixed_ns);
	printf("# dirty: downtime %.3f ms, expected %.3f ms (pending %llu)\n",
	       res[0].downtime_ns / 1e6, res[0].expected_ns / 1e6,
	       (unsigned long long)res[0].expected_pending);
	mig_result_text(stdout, &res[0]);
out:
	free(s.ev);
}

/*
 * The same PRE_COPY migration twice on one pair: the second estimate has
 * learned the first's fixed part and how much faster than PRE_COPY its
 * downtime moved data.
 */
static void test_learned(void)
{
	struct stream s = { 0 };
	__u64 n1, fixed;
	double k;

	dirty_migration(&s);
	sort_stream(&s);
	n1 = s.n;
	for (__u64 i = 0; i < n1; i++) {	/* again, 1000 s later */
		struct mig_event e = s.ev[i];

		e.ts += 1000000000000ull;
		if (e.mig_id)
			e.mig_id += 10;
		EV(&s, e.ts, e.type, e.dev, e.state, e.mig_id, e.a[0], e.a[1],
		   e.a[2], e.a[3], e.a[4], e.a[5], e.a[6]);
	}
	run(&s);
	CHECK(nres == 2, "learned: %d migrations", nres);
	if (nres != 2)
		goto out;
	CHECK(!res[0].expected_learned && res[1].expected_learned,
	      "learned: first %d second %d", res[0].expected_learned,
	      res[1].expected_learned);
	fixed = res[0].part_ns[MP_SRC_SUSPEND] + res[0].part_ns[MP_TGT_LOAD] +
		res[0].part_ns[MP_TGT_RESUME] + 500 * US;
	CHECK(near(res[1].expected_fixed_ns, fixed, 2), "fixed %llu, want %llu",
	      (unsigned long long)res[1].expected_fixed_ns,
	      (unsigned long long)fixed);
	/* 10 ns a byte in PRE_COPY; the downtime's pace over it is k */
	k = (res[0].part_ns[MP_FINAL_SAVE] + res[0].part_ns[MP_DRAIN] - 500.0 * US) /
	    (10.0 * res[0].stopcopy_bytes);
	CHECK(near(res[1].expected_rate, 1e8 / k, 1e8 / k * 1e-6),
	      "rate %llu, want %.0f", (unsigned long long)res[1].expected_rate,
	      1e8 / k);
	printf("# learned: first expected %.3f ms, second %.3f ms, measured %.3f ms\n",
	       res[0].expected_ns / 1e6, res[1].expected_ns / 1e6,
	       res[1].downtime_ns / 1e6);
out:
	free(s.ev);
}

/* Live, replayed positionally and replayed with named fields: the same. */
static void test_replay(void)
{
	struct sc thr = { 8, 4, 0, 1000, 100, 0, 500, 20000, true };
	struct stream s = { 0 };
	struct mig_result live;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	no_precopy(&s, &thr);
	run(&s);
	CHECK(nres == 1, "replay: live %d migrations", nres);
	live = res[0];
	for (int named = 0; named < 2; named++) {
		struct mig_model *m = calloc(1, sizeof(*m));
		unsigned long lineno = 0;
		struct mig_event e;
		int rc;

		f = open_memstream(&buf, &len);
		for (size_t i = 0; i < s.n; i++) {
			const struct mig_event *x = &s.ev[i];

			if (!named) {
				mig_ev_write(f, x);
				continue;
			}
			/* as perf would give it: numeric state, fields by name */
			fprintf(f, "%llu vfmig_%s %u %u %llu 0 common_pid=7",
				(unsigned long long)x->ts, mig_ev_name(x->type),
				x->dev, x->state, (unsigned long long)x->mig_id);
			for (int k = MIG_EV_NARGS - 1; k >= 0; k--) {
				static const char *const names[] = {
					"pos", "len", "ret", "queued", "ns",
					"from", "to", "kind", "open", "seq",
					"stalled", "image_seq", "chunks",
					"npages", "bytes", "status", "target",
					"result", "event", "peak_bytes",
				};

				for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
					if (mig_ev_field(x->type, names[j]) == k)
						fprintf(f, " %s=%lld", names[j],
							(long long)x->a[k]);
			}
			fputc('\n', f);
		}
		fclose(f);
		f = fmemopen(buf, len, "r");
		mig_model_init(m, on_mig, NULL);
		nres = 0;
		while ((rc = mig_ev_read(f, &e, NULL, NULL, 0, &lineno)) > 0)
			mig_model_feed(m, &e);
		CHECK(rc == 0, "replay %d: read error at line %lu", named, lineno);
		CHECK(nres == 1 && !memcmp(&res[0], &live, sizeof(live)),
		      "replay %d: result differs from live", named);
		fclose(f);
		free(buf);
		buf = NULL;
		mig_model_free(m);
		free(m);
	}
	free(s.ev);
}

int main(void)
{
	CHECK(!strcmp(mig_cause_name(MC_VMM_READ), "vmm_read") &&
	      !strcmp(mig_cause_name(MC_DIRTY), "dirty"), "cause names");
	CHECK(!strcmp(mig_cause_words(MC_VMM_READ, MP_FINAL_SAVE),
		      "blocked on the reader"), "cause words");
	CHECK(mig_cause_device_bound(MC_TARGET_LOAD) &&
	      !mig_cause_device_bound(MC_TRANSPORT), "device-bound causes");
	test_bottlenecks();
	test_expected();
	test_dirty();
	test_learned();
	test_replay();
	return unit_report("test_attrib");
}
