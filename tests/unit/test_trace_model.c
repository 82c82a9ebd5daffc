// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit test of tools/lib/mig_events.c: the event file format, the
 * downtime breakdown (parts sum exactly to the total), source/target
 * pairing with concurrent migrations, and a tool started mid-migration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig_events.h"
#include "test_trace.h"

static struct mig_result res[8];
static int nres;

static void on_mig(const struct mig_result *r, void *arg)
{
	(void)arg;
	if (nres < 8)
		res[nres++] = *r;
}

static void feed_all(struct mig_model *m, const struct tt_stream *s, size_t from)
{
	for (size_t i = from; i < s->n; i++)
		mig_model_feed(m, &s->ev[i]);
}

static void test_one(void)
{
	struct tt_stream s = { 0 };
	struct mig_model *m = calloc(1, sizeof(*m));
	uint64_t sum = 0;

	tt_migration(&s, 0, 1, 1, 2, 100000, 0);
	mig_model_init(m, on_mig, NULL);
	nres = 0;
	feed_all(m, &s, 0);
	CHECK(nres == 1);
	CHECK(res[0].src_dev == 0 && res[0].dst_dev == 1);
	CHECK(res[0].src_mig_id == 1 && res[0].dst_mig_id == 2);
	/* T0 = arc start 2000, T1 2300, T2 2500, T3 2600, T4 3000, T5 3210 */
	CHECK(res[0].t[0] == 100000 + 2000);
	CHECK(res[0].downtime_ns == 1210);
	CHECK(res[0].part_ns[MP_SRC_SUSPEND] == 300);
	CHECK(res[0].part_ns[MP_FINAL_SAVE] == 200);
	CHECK(res[0].part_ns[MP_DRAIN] == 100);
	CHECK(res[0].part_ns[MP_TGT_LOAD] == 400);
	CHECK(res[0].part_ns[MP_TGT_RESUME] == 210);
	for (int i = 0; i < MP_NR; i++)
		sum += res[0].part_ns[i];
	CHECK(sum == res[0].downtime_ns);
	CHECK(res[0].precopy_bytes == 6024 && res[0].stopcopy_bytes == 300);
	CHECK(res[0].written_bytes == 6324 && res[0].bytes_match);
	CHECK(res[0].precopy && !res[0].partial && res[0].precopy_iters == 1);
	CHECK(res[0].errors == 0);
	CHECK(mig_model_dev(m, 1, false)->last_err == 0);

	/* A checksum error on a target: the device remembers the site. */
	tt_ev(&s, 200000, MEV_FILE, 1, MS_RESUMING, 3, 1, 1, 0, 0, 0);
	tt_ev(&s, 200100, MEV_ERROR, 1, MS_RESUMING, 3, 7, -74, 0, 0, 0);
	feed_all(m, &s, s.n - 2);
	CHECK(mig_model_dev(m, 1, false)->errors == 1);
	CHECK(mig_model_dev(m, 1, false)->last_err == -74);
	CHECK(!strcmp(mig_err_site_name(mig_model_dev(m, 1, false)->last_err_site),
		      "checksum"));
	CHECK(mig_err_site_lookup("checksum") == 7 && mig_err_site_lookup("load") == 5);
	CHECK(!strcmp(mig_err_site_name(99), "?"));
	mig_model_free(m);
	free(m);
	free(s.ev);
}

/* Two migrations at once, interleaved; the byte totals tell them apart. */
static void test_concurrent(void)
{
	struct tt_stream a = { 0 }, b = { 0 }, s = { 0 };
	struct mig_model *m = calloc(1, sizeof(*m));
	size_t i = 0, j = 0;

	tt_migration(&a, 0, 1, 1, 2, 100000, 0);
	tt_migration(&b, 2, 3, 3, 4, 100005, 7);	/* +7 bytes each read */
	/* Merge by timestamp. */
	while (i < a.n || j < b.n) {
		if (j >= b.n || (i < a.n && a.ev[i].ts <= b.ev[j].ts))
			tt_push(&s, &a.ev[i++]);
		else
			tt_push(&s, &b.ev[j++]);
	}
	mig_model_init(m, on_mig, NULL);
	nres = 0;
	feed_all(m, &s, 0);
	CHECK(nres == 2);
	for (int k = 0; k < nres; k++) {
		CHECK(res[k].bytes_match);
		CHECK(res[k].dst_dev == res[k].src_dev + 1);
		CHECK(res[k].downtime_ns == 1210);
	}
	mig_model_free(m);
	free(m);
	free(a.ev);
	free(b.ev);
	free(s.ev);
}

static int nsides, nsrc_sides;

static void on_side(const struct mig_side *sd, void *arg)
{
	(void)arg;
	nsides++;
	nsrc_sides += sd->role == MR_SOURCE;
	CHECK(sd->has_mig_uuid);
}

/* Add the vfmig_mig_uuid events of a migration with UUID number @n. */
static void add_uuid(struct tt_stream *s, uint32_t src, uint32_t dst,
		     uint64_t smig, uint64_t dmig, uint64_t b, int64_t n)
{
	tt_ev(s, b + 1001, MEV_MIG_UUID, src, MS_RUNNING, smig, 0, n, 0x4000 + n, 0, 0);
	tt_ev(s, b + 2799, MEV_MIG_UUID, dst, MS_RESUMING, dmig, 1, n, 0x4000 + n, 0, 0);
}

static void merge(struct tt_stream *s, struct tt_stream *a, struct tt_stream *b)
{
	size_t i = 0, j = 0;

	while (i < a->n || j < b->n) {
		if (j >= b->n || (i < a->n && a->ev[i].ts <= b->ev[j].ts))
			tt_push(s, &a->ev[i++]);
		else
			tt_push(s, &b->ev[j++]);
	}
}

/*
 * Two migrations at once with equal byte totals: by bytes and time the
 * first target would take the second source (it entered STOP_COPY last);
 * the migration UUID pairs each with its own, and each host's side is
 * reported.
 */
static void test_uuid_pairing(void)
{
	for (int with_uuid = 0; with_uuid < 2; with_uuid++) {
		struct tt_stream a = { 0 }, b = { 0 }, s = { 0 };
		struct mig_model *m = calloc(1, sizeof(*m));

		tt_migration(&a, 0, 1, 1, 2, 100000, 0);
		tt_migration(&b, 2, 3, 3, 4, 100005, 0);
		if (with_uuid) {
			add_uuid(&a, 0, 1, 1, 2, 100000, 1);
			add_uuid(&b, 2, 3, 3, 4, 100005, 2);
		}
		/* keep each stream in time order after the additions */
		for (struct tt_stream *x = &a; x; x = x == &a ? &b : NULL)
			for (size_t i = 1; i < x->n; i++)
				for (size_t k = i; k > 0 && x->ev[k - 1].ts > x->ev[k].ts; k--) {
					struct mig_event t = x->ev[k];

					x->ev[k] = x->ev[k - 1];
					x->ev[k - 1] = t;
				}
		merge(&s, &a, &b);
		mig_model_init(m, on_mig, NULL);
		m->on_side = with_uuid ? on_side : NULL;
		nres = nsides = nsrc_sides = 0;
		feed_all(m, &s, 0);
		CHECK(nres == 2);
		if (with_uuid) {
			for (int k = 0; k < nres; k++) {
				CHECK(res[k].by_uuid && res[k].has_mig_uuid);
				CHECK(res[k].dst_dev == res[k].src_dev + 1);
				CHECK(res[k].mig_uuid[7] == res[k].dst_dev / 2 + 1);
			}
			CHECK(nsides == 4 && nsrc_sides == 2);
		} else {
			/* the heuristic's known limit, and the flag that says so */
			CHECK(!res[0].by_uuid && !res[0].has_mig_uuid);
			CHECK(res[0].dst_dev == 1 && res[0].src_dev == 2);
		}
		mig_model_free(m);
		free(m);
		free(a.ev);
		free(b.ev);
		free(s.ev);
	}
}

/* Started after the source's save file was opened: partial, still paired. */
static void test_midway(void)
{
	struct tt_stream s = { 0 };
	struct mig_model *m = calloc(1, sizeof(*m));

	tt_migration(&s, 0, 1, 1, 2, 100000, 0);
	mig_model_init(m, on_mig, NULL);
	nres = 0;
	/* The tool saw the devices in the map first. */
	mig_model_seed(m, 0, MS_PRE_COPY, 1, 4096, 100000);
	mig_model_seed(m, 1, MS_RESUMING, 2, 4096, 100000);
	feed_all(m, &s, 5);	/* skip the opens and the first read */
	CHECK(nres == 1);
	CHECK(res[0].partial);
	CHECK(res[0].downtime_ns == 1210);
	mig_model_free(m);
	free(m);
	free(s.ev);
}

static void test_file_roundtrip(void)
{
	struct tt_stream s = { 0 };
	char buf[65536];
	FILE *f = fmemopen(buf, sizeof(buf), "w+");
	unsigned long long drops = 0;
	unsigned long lineno = 0;
	char mode[16] = "";
	struct mig_event e;
	size_t n = 0;

	tt_migration(&s, 0, 1, 1, 2, 100000, 0);
	s.ev[3].a[2] = (uint64_t)-22;	/* a negative argument */
	fprintf(f, "# mode raw_tp\n");
	for (size_t i = 0; i < s.n; i++)
		mig_ev_write(f, &s.ev[i]);
	fprintf(f, "# drops 3\n");
	rewind(f);
	while (mig_ev_read(f, &e, &drops, mode, sizeof(mode), &lineno) > 0) {
		CHECK(n < s.n);
		CHECK(!memcmp(&e.a, &s.ev[n].a, sizeof(e.a)));
		CHECK(e.ts == s.ev[n].ts && e.type == s.ev[n].type &&
		      e.dev == s.ev[n].dev && e.state == s.ev[n].state &&
		      e.mig_id == s.ev[n].mig_id);
		n++;
	}
	CHECK(n == s.n);
	CHECK(drops == 3);
	CHECK(!strcmp(mode, "raw_tp"));
	fclose(f);

	f = fmemopen(buf, sizeof(buf), "w+");
	fprintf(f, "12 no_such_event 0 RUNNING 0 0\n");
	rewind(f);
	lineno = 0;
	CHECK(mig_ev_read(f, &e, NULL, NULL, 0, &lineno) == -1 && lineno == 1);
	fclose(f);
	free(s.ev);
}

int main(void)
{
	test_one();
	test_concurrent();
	test_uuid_pairing();
	test_midway();
	test_file_roundtrip();
	CHECK(mig_ev_lookup("vfmig_set_state") == MEV_SET_STATE);
	CHECK(mig_state_lookup("PRE_COPY_P2P") == MS_PRE_COPY_P2P);
	return tt_report("test_trace_model");
}
