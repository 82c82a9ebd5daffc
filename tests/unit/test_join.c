// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit tests of the two-host join (tools/lib/mig_join.c) on synthetic
 * recordings: a source side on host A and a target side on host B, each
 * with its own CLOCK_MONOTONIC and a CLOCK_TAI that the test shifts to play
 * clocks that agree, run ahead, run behind or step; chrony estimates
 * parsed from real `chronyc -c tracking` lines; the Perfetto export. The
 * parts must sum to the window exactly and every impossible ordering must
 * come out as a clock problem, never as a part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "mig_events.h"
#include "mig_join.h"
#include "vfmig_stream.h"

#include "unit_check.h"

#define TAI0	1796200000000000000ll	/* CLOCK_TAI of A's ts 0 */
#define B_MONO	777777ll		/* B's monotonic clock runs from elsewhere */

static const __u8 UUID[16] = { 0x5d, 0x0c, 0x11, 0x22, 0x33, 0x44, 0x45, 0x55,
			       0x96, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc };

struct rec {
	FILE *f;
	__u32 dev;
	__u64 mig_id;
	__s64 mono_shift, tai_shift;
	__s64 step_at, step;	/* from ts step_at on, TAI moves by step */
};

static void ev(struct rec *r, __u64 ts, int type, __u32 state, __s64 a0,
	       __s64 a1, __s64 a2, __s64 a3, __s64 a4, __s64 a5)
{
	struct mig_event e = { 0 };

	e.ts = ts + r->mono_shift;
	e.tai = (__u64)((__s64)ts + TAI0 + r->tai_shift +
			(r->step_at && (__s64)ts >= r->step_at ? r->step : 0));
	e.type = type;
	e.dev = r->dev;
	e.state = state;
	e.mig_id = r->mig_id;
	e.a[0] = a0;
	e.a[1] = a1;
	e.a[2] = a2;
	e.a[3] = a3;
	e.a[4] = a4;
	e.a[5] = a5;
	mig_ev_write(r->f, &e);
}

static __s64 uuid_half(int h)
{
	__u64 v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | UUID[8 * h + i];
	return (__s64)v;
}

/* Host A: source dev 0. T0 4900, T1 5200, T2 5500, T3 5800, released 9000. */
static void source(const char *path, __s64 step_at, __s64 step)
{
	struct rec r = { .dev = 0, .mig_id = 1, .step_at = step_at, .step = step };

	r.f = fopen(path, "w");
	fprintf(r.f, "# vfmig events v1\n# mode test\n# host hostA\n");
	ev(&r, 1000, MEV_FILE, MS_RUNNING, 0, 1, 0, 0, 0, 0);
	ev(&r, 1001, MEV_MIG_UUID, MS_RUNNING, 0, uuid_half(0), uuid_half(1), 0, 0, 0);
	ev(&r, 1100, MEV_STATE_STEP, MS_RUNNING, MS_RUNNING, MS_PRE_COPY, 0, 100, 0, 0);
	ev(&r, 2000, MEV_SAVE_READ, MS_PRE_COPY, 0, 4096, 1000, 0, 0, 0);
	ev(&r, 5000, MEV_STATE_STEP, MS_PRE_COPY, MS_PRE_COPY, MS_PRE_COPY_P2P, 0, 100, 0, 0);
	ev(&r, 5200, MEV_STATE_STEP, MS_PRE_COPY_P2P, MS_PRE_COPY_P2P, MS_STOP_COPY, 0, 50, 0, 0);
	ev(&r, 5500, MEV_IMAGE_DONE, MS_STOP_COPY, 2, 1, 1, 1, 500, 0);
	ev(&r, 5800, MEV_SAVE_READ, MS_STOP_COPY, 1000, 4096, 500, 0, 0, 0);
	ev(&r, 5900, MEV_SAVE_READ, MS_STOP_COPY, 1500, 4096, 0, 0, 0, 0);
	ev(&r, 9000, MEV_STATE_STEP, MS_STOP_COPY, MS_STOP_COPY, MS_STOP, 0, 10, 0, 0);
	fclose(r.f);
}

/* Host B: target dev 3. first write 2500, last 6000, T4 6500, T5 7000. */
static void target(const char *path, __s64 tai_shift, bool with_uuid)
{
	/* B's monotonic clock is B_MONO ahead of A's; its TAI agrees with
	 * A's unless tai_shift says otherwise. */
	struct rec r = { .dev = 3, .mig_id = 7, .mono_shift = B_MONO,
			 .tai_shift = tai_shift };

	r.f = fopen(path, "w");
	fprintf(r.f, "# vfmig events v1\n# mode test\n# host hostB\n");
	ev(&r, 1500, MEV_FILE, MS_STOP, 1, 1, 0, 0, 0, 0);
	ev(&r, 1600, MEV_STATE_STEP, MS_STOP, MS_STOP, MS_RESUMING, 0, 10, 0, 0);
	if (with_uuid)
		ev(&r, 2500, MEV_MIG_UUID, MS_RESUMING, 1, uuid_half(0), uuid_half(1), 0, 0, 0);
	ev(&r, 2500, MEV_RESUME_WRITE, MS_RESUMING, 0, 1000, 1000, 0, 0, 0);
	ev(&r, 6000, MEV_RESUME_WRITE, MS_RESUMING, 1000, 500, 500, 0, 0, 0);
	ev(&r, 6500, MEV_STATE_STEP, MS_RESUMING, MS_RESUMING, MS_STOP, 0, 300, 0, 0);
	ev(&r, 6800, MEV_STATE_STEP, MS_STOP, MS_STOP, MS_RUNNING_P2P, 0, 100, 0, 0);
	ev(&r, 7000, MEV_SET_STATE, MS_RUNNING, MS_STOP, MS_RUNNING, MS_RUNNING, 0, 500, 0);
	fclose(r.f);
}

static const char *A = "/tmp/test_join.a", *Bf = "/tmp/test_join.b";

/* Load both, set the clocks, join. Returns the count; *j malloc'd. */
static size_t run(struct mig_host h[2], const char *clock_a, const char *clock_b,
		  bool ack, struct mig_joined **j)
{
	char err[256];

	CHECK(!mig_host_load(&h[0], A, true, err, sizeof(err)), "load A: %s", err);
	CHECK(!mig_host_load(&h[1], Bf, true, err, sizeof(err)), "load B: %s", err);
	if (clock_a)
		mig_clock_chrony(clock_a, &h[0].clock);
	if (clock_b)
		mig_clock_chrony(clock_b, &h[1].clock);
	return mig_join(h, 2, ack, j);
}

static void done(struct mig_host h[2], struct mig_joined *j)
{
	free(j);
	mig_host_free(&h[0]);
	mig_host_free(&h[1]);
}

static bool has_problem(const struct mig_joined *j, const char *what)
{
	for (int i = 0; i < j->nproblems; i++)
		if (strstr(j->problem[i], what))
			return true;
	return false;
}

/* Real lines: chrony's reference (A) and a client (B) on the test bed. */
static const char *LOCAL = "7F7F0101,,1,1796207925.736119635,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,0.000000000,0.000000000,0.0,Normal";
static const char *CLIENT = "A9FE0101,169.254.1.1,2,1796207944.215925913,-0.000000100,0.000038147,0.000158352,59.491,0.801,99.814,0.000000200,0.000000150,0.3,Normal";

static void test_clock(void)
{
	struct mig_clock c;

	CHECK(!mig_clock_chrony(CLIENT, &c) && c.known && c.synced &&
	      c.offset_ns == -100 && c.error_ns == 100 + 150 + 100,
	      "client line: known %d synced %d offset %lld error %llu", c.known, c.synced,
	      (long long)c.offset_ns, (unsigned long long)c.error_ns);
	CHECK(!mig_clock_chrony(LOCAL, &c) && c.synced && c.error_ns == 0, "local reference");
	CHECK(mig_clock_chrony("506 Cannot talk to daemon\n", &c) && !c.known &&
	      strstr(c.what, "Cannot talk"), "daemon down: %s", c.what);
	CHECK(mig_clock_chrony("", &c) && !c.known, "empty estimate");
	CHECK(!mig_clock_chrony("00000000,,0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,1.0,1.0,0.0,Not synchronised", &c) &&
	      c.known && !c.synced, "unsynchronised daemon");
}

static void test_clean(void)
{
	struct mig_host h[2];
	struct mig_joined *j;
	__s64 sum = 0;
	size_t n;

	source(A, 0, 0);
	target(Bf, 0, true);
	n = run(h, LOCAL, CLIENT, true, &j);
	CHECK(n == 1 && j[0].joined, "one joined migration (%zu)", n);
	if (n != 1 || !j[0].joined) {
		done(h, j);
		return;
	}
	CHECK(j[0].clock_ok, "clean clocks: %s", j[0].nproblems ? j[0].problem[0] : "");
	CHECK(!memcmp(j[0].uuid, UUID, 16), "the UUID");
	CHECK(j[0].src->dev == 0 && j[0].tgt->dev == 3 && j[0].src_host == 0 &&
	      j[0].tgt_host == 1, "sides");
	CHECK(j[0].part_ns[JP_SRC_SUSPEND] == 300 && j[0].part_ns[JP_FINAL_SAVE] == 300 &&
	      j[0].part_ns[JP_DRAIN] == 300 && j[0].part_ns[JP_TRANSPORT] == 200 &&
	      j[0].part_ns[JP_TGT_LOAD] == 500 && j[0].part_ns[JP_TGT_RESUME] == 500,
	      "parts %lld %lld %lld %lld %lld %lld", (long long)j[0].part_ns[0],
	      (long long)j[0].part_ns[1], (long long)j[0].part_ns[2],
	      (long long)j[0].part_ns[3], (long long)j[0].part_ns[4],
	      (long long)j[0].part_ns[5]);
	for (int i = 0; i < JP_NR; i++)
		sum += j[0].part_ns[i];
	CHECK(sum == j[0].window_ns && j[0].window_ns == 2100, "window %lld, parts %lld",
	      (long long)j[0].window_ns, (long long)sum);
	CHECK(j[0].t_tai[0] == TAI0 + 4900 && j[0].t_tai[JP_NR] == TAI0 + 7000,
	      "window on CLOCK_TAI");
	CHECK(j[0].uncertainty_ns == 350, "uncertainty %llu", (unsigned long long)j[0].uncertainty_ns);
	CHECK(j[0].bytes_match, "bytes");
	{
		char *buf = NULL, err[128];
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		CHECK(!mig_perfetto(f, h, 2, j, n, err, sizeof(err)), "perfetto: %s", err);
		fclose(f);
		CHECK(buf && strstr(buf, "\"traceEvents\"") && strstr(buf, "host hostA") &&
		      strstr(buf, "host hostB") && strstr(buf, "\"name\":\"end-to-end downtime\"") &&
		      strstr(buf, "\"name\":\"RESUMING\"") && strstr(buf, "\"name\":\"PRE_COPY\"") &&
		      strstr(buf, "\"name\":\"transport\""), "perfetto content");
		/* the window: 2100 ns = 2.100 us from T0 (4900 - 1000 after the first event) */
		CHECK(buf && strstr(buf, "\"ts\":3.900,\"dur\":2.100,\"name\":\"end-to-end downtime\""),
		      "perfetto window slice");
		free(buf);
	}
	done(h, j);

	/* Without the target's UUID event there is nothing to join by. */
	target(Bf, 0, false);
	n = run(h, LOCAL, CLIENT, true, &j);
	CHECK(n == 1 && !j[0].joined && j[0].src && !j[0].tgt, "source alone (%zu)", n);
	done(h, j);
}

static void test_problems(void)
{
	struct mig_host h[2];
	struct mig_joined *j;
	size_t n;

	/* B's clock 2 s ahead: only the ACK ordering can tell. */
	source(A, 0, 0);
	target(Bf, 2000000000ll, true);
	n = run(h, LOCAL, CLIENT, false, &j);
	CHECK(n == 1 && j[0].joined && j[0].clock_ok, "2 s ahead without --ack joins");
	done(h, j);
	n = run(h, LOCAL, CLIENT, true, &j);
	CHECK(n == 1 && !j[0].clock_ok && has_problem(&j[0], "released the source"),
	      "2 s ahead with --ack: %s", n && j[0].nproblems ? j[0].problem[0] : "none");
	done(h, j);

	/* B's clock 1 ms behind: the last byte arrives before it left. */
	target(Bf, -1000000ll, true);
	n = run(h, LOCAL, CLIENT, false, &j);
	CHECK(n == 1 && !j[0].clock_ok && has_problem(&j[0], "wrote the stream's last byte") &&
	      has_problem(&j[0], "wrote stream data"),
	      "1 ms behind: %s", n && j[0].nproblems ? j[0].problem[0] : "none");
	done(h, j);

	/* 200 ns behind, within the 350 ns uncertainty: a negative transport
	 * inside the bound is not a problem. */
	target(Bf, -400ll, true);
	n = run(h, LOCAL, CLIENT, true, &j);
	CHECK(n == 1 && j[0].clock_ok && j[0].part_ns[JP_TRANSPORT] == -200,
	      "within the uncertainty: transport %lld", n ? (long long)j[0].part_ns[JP_TRANSPORT] : 0);
	done(h, j);

	/* No estimate for B (chronyd stopped). */
	target(Bf, 0, true);
	n = run(h, LOCAL, "506 Cannot talk to daemon", true, &j);
	CHECK(n == 1 && !j[0].clock_ok && has_problem(&j[0], "hostB: no clock estimate"),
	      "no estimate: %s", n && j[0].nproblems ? j[0].problem[0] : "none");
	done(h, j);

	/* A's clock stepped by 200 ms during the migration. */
	source(A, 3000, 200000000);
	n = run(h, LOCAL, CLIENT, false, &j);
	CHECK(n == 1 && !j[0].clock_ok && has_problem(&j[0], "hostA: CLOCK_TAI moved 200.000 ms"),
	      "step: %s", n && j[0].nproblems ? j[0].problem[0] : "none");
	done(h, j);

	/* A 1 ms wander (two clocks read 1 ms apart once: a descheduled
	 * guest) joins the uncertainty; the mapping is the best reading. */
	source(A, 5500, 1000000);
	n = run(h, LOCAL, CLIENT, false, &j);
	CHECK(n == 1 && j[0].clock_ok && j[0].uncertainty_ns == 350 + 1000000 &&
	      j[0].part_ns[JP_TRANSPORT] == 200 - 1000000 + 1000000,
	      "wander: ok %d, uncertainty %llu, transport %lld", n ? j[0].clock_ok : -1,
	      n ? (unsigned long long)j[0].uncertainty_ns : 0,
	      n ? (long long)j[0].part_ns[JP_TRANSPORT] : 0);
	done(h, j);
}

int main(void)
{
	test_clock();
	test_clean();
	test_problems();
	unlink(A);
	unlink(Bf);
	return unit_report("test_join");
}
