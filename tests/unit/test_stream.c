// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit tests of the migration stream parser (tools/lib/vfmig_stream.c) and
 * migctl's frames (tools/lib/migframe.c): vfmig and mlx5-format streams fed
 * whole, byte by byte and in random pieces; corrupt and truncated inputs.
 * Runs under ASan/UBSan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "migframe.h"
#include "vfmig_abi.h"
#include "vfmig_stream.h"

static int failures, checks;

#define CHECK(cond, ...) do { \
	checks++; \
	if (!(cond)) { \
		failures++; \
		printf("not ok %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
	} \
} while (0)

struct buf {
	uint8_t *p;
	size_t len, cap;
	size_t bounds[64];	/* offsets where a complete stream may end */
	int nbounds;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_le(struct buf *b, uint64_t v, int n)
{
	uint8_t x[8];

	for (int i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	put(b, x, (size_t)n);
}

static void rec_hdr(struct buf *b, uint64_t size, uint32_t flags, uint32_t tag)
{
	put_le(b, size, 8);
	put_le(b, flags, 4);
	put_le(b, tag, 4);
}

static void stop_copy_size(struct buf *b, uint64_t v)
{
	rec_hdr(b, 8, VFMIG_RECORD_F_OPTIONAL, VFMIG_RECORD_TAG_STOP_COPY_SIZE);
	put_le(b, v, 8);
}

#define STATE_PAGES 8

/* One vfmig chunk record carrying pages [first, first+n). */
static void chunk(struct buf *b, uint32_t image, uint32_t seq, uint16_t flags,
		  uint32_t first, uint32_t n)
{
	uint8_t page[VFMIG_PAGE_SIZE];

	rec_hdr(b, 40 + (uint64_t)n * (8 + VFMIG_PAGE_SIZE), 0,
		VFMIG_RECORD_TAG_FW_DATA);
	put_le(b, VFMIG_CHUNK_MAGIC, 4);
	put_le(b, VFMIG_CHUNK_VERSION, 2);
	put_le(b, flags, 2);
	put_le(b, image, 4);
	put_le(b, seq, 4);
	put_le(b, 1000 + image, 8);		/* generation */
	put_le(b, STATE_PAGES * VFMIG_PAGE_SIZE, 8);
	put_le(b, n, 4);
	put_le(b, 0, 4);
	for (uint32_t i = 0; i < n; i++)
		put_le(b, first + i, 8);
	for (uint32_t i = 0; i < n; i++) {
		memset(page, (int)(first + i), sizeof(page));
		put(b, page, sizeof(page));
	}
}

static void mark(struct buf *b)
{
	b->bounds[b->nbounds++] = b->len;
}

/* [STOP_COPY_SIZE][full image: 2 chunks][inc image: 1 chunk][empty inc image] */
static void vfmig_stream(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	mark(b);			/* empty stream */
	stop_copy_size(b, STATE_PAGES * 4104ull + 40);
	mark(b);
	chunk(b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 5);
	chunk(b, 0, 1, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_LAST, 5, 3);
	mark(b);
	chunk(b, 1, 0, VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 2, 2);
	mark(b);
	chunk(b, 2, 0, VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 0);
	mark(b);
}

struct result {
	int records, chunks, scs;
	uint64_t pages, last_off;
	struct vs_totals tot;
	int end;
	int failed;
	char err[192];
};

/* Feed @b in pieces chosen by @step (0: random 1..4096, else fixed). */
static struct result run(const uint8_t *p, size_t len, unsigned int opts,
			 size_t step, unsigned int seed)
{
	struct vs_parser ps;
	struct result r = { 0 };
	size_t off = 0;

	srand(seed);
	vs_init(&ps, opts);
	while (off < len) {
		size_t n = step ? step : (size_t)(rand() % 4096) + 1;

		if (n > len - off)
			n = len - off;
		while (n) {
			struct vs_record rec;
			int got;
			ssize_t u = vs_feed(&ps, p + off, n, &rec, &got);

			if (u < 0) {
				r.failed = 1;
				snprintf(r.err, sizeof(r.err), "%s", ps.err);
				return r;
			}
			if (u == 0 && !got) {
				r.failed = 2;	/* no progress: parser bug */
				return r;
			}
			if (got) {
				r.records++;
				r.last_off = rec.offset;
				if (rec.is_chunk) {
					r.chunks++;
					r.pages += rec.chunk.npages;
				}
				if (rec.kind == VS_REC_STOP_COPY_SIZE)
					r.scs++;
			}
			off += (size_t)u;
			n -= (size_t)u;
		}
	}
	r.end = vs_end(&ps);
	if (r.end)
		snprintf(r.err, sizeof(r.err), "%s", ps.err);
	r.tot = ps.tot;
	return r;
}

static void test_valid(void)
{
	struct buf b;
	size_t steps[] = { 0, 1, 3, 16, 17, 4096, 1 << 20 };

	vfmig_stream(&b);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		for (unsigned int opts = 0; opts <= VS_OPT_VFMIG; opts++) {
			struct result r = run(b.p, b.len, opts, steps[i], 7 + (unsigned)i);

			CHECK(!r.failed && !r.end, "valid stream, step %zu opts %u: %s",
			      steps[i], opts, r.err);
			CHECK(r.records == 5 && r.chunks == 4 && r.scs == 1,
			      "records %d chunks %d scs %d", r.records, r.chunks, r.scs);
			CHECK(r.pages == 10, "pages %llu", (unsigned long long)r.pages);
			CHECK(r.tot.images == 3 && r.tot.full_images == 1,
			      "images %llu full %llu", (unsigned long long)r.tot.images,
			      (unsigned long long)r.tot.full_images);
			CHECK(r.tot.fw_data_records == 4, "fw_data %llu",
			      (unsigned long long)r.tot.fw_data_records);
		}
	}
	free(b.p);
}

/* Every prefix: vs_end() accepts exactly the whole-image boundaries. */
static void test_truncated(void)
{
	struct buf b;

	vfmig_stream(&b);
	for (size_t len = 0; len <= b.len; len++) {
		struct result r;
		int boundary = 0, near = 0;

		for (int i = 0; i < b.nbounds; i++) {
			boundary |= b.bounds[i] == len;
			near |= len + 64 >= b.bounds[i] && len <= b.bounds[i] + 64;
		}
		/* Every byte near record boundaries, a stride through page data. */
		if (!near && len % 509)
			continue;
		r = run(b.p, len, VS_OPT_VFMIG, 0, (unsigned)len);
		CHECK(!r.failed, "prefix %zu: feed failed: %s", len, r.err);
		CHECK(boundary ? !r.end : r.end != 0,
		      "prefix %zu: vs_end %d, boundary %d (%s)", len, r.end, boundary,
		      r.err);
	}
	/* Cut inside the open first image at a record boundary. */
	{
		struct buf c = { 0 };
		struct result r;

		chunk(&c, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 1);
		r = run(c.p, c.len, 0, 0, 1);
		CHECK(!r.failed && r.end && strstr(r.err, "inside image"),
		      "open image at end: %s", r.err);
		free(c.p);
	}
	free(b.p);
}

static void expect_bad(struct buf *b, unsigned int opts, const char *what,
		       const char *needle)
{
	size_t steps[] = { 0, 1, 1 << 20 };

	for (size_t i = 0; i < 3; i++) {
		struct result r = run(b->p, b->len, opts, steps[i], 3);

		CHECK(r.failed == 1, "%s (step %zu): not rejected", what, steps[i]);
		CHECK(!needle || strstr(r.err, needle), "%s: error '%s' lacks '%s'",
		      what, r.err, needle);
	}
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void test_corrupt(void)
{
	struct buf b = { 0 };
	uint8_t junk[40] = { 0 };

	rec_hdr(&b, 4, 0, 0x42);
	put(&b, "abcd", 4);
	expect_bad(&b, 0, "unknown mandatory tag", "unknown mandatory record tag 0x42");

	rec_hdr(&b, 7, VFMIG_RECORD_F_OPTIONAL, VFMIG_RECORD_TAG_STOP_COPY_SIZE);
	put(&b, junk, 7);
	expect_bad(&b, 0, "STOP_COPY_SIZE size", "STOP_COPY_SIZE record of 7");

	rec_hdr(&b, 8, 0x80, VFMIG_RECORD_TAG_STOP_COPY_SIZE);
	put(&b, junk, 8);
	expect_bad(&b, 0, "unknown flags", "unknown flags");

	rec_hdr(&b, 1ull << 40, 0, VFMIG_RECORD_TAG_FW_DATA);
	expect_bad(&b, 0, "huge record", "exceeds");

	rec_hdr(&b, 39, 0, VFMIG_RECORD_TAG_FW_DATA);
	put(&b, junk, 39);
	expect_bad(&b, VS_OPT_VFMIG, "short chunk", "shorter than a chunk header");

	rec_hdr(&b, 40, 0, VFMIG_RECORD_TAG_FW_DATA);
	put(&b, junk, 40);
	expect_bad(&b, VS_OPT_VFMIG, "no magic", "magic");

	/* npages disagrees with the record size */
	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 2);
	b.p[0] -= 8;		/* size now short by one index entry */
	expect_bad(&b, 0, "npages mismatch", "needs a");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	b.p[16 + 36] = 1;	/* reserved */
	expect_bad(&b, 0, "reserved", "reserved");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	b.p[16 + 4] = 9;	/* version */
	expect_bad(&b, 0, "version", "version");

	chunk(&b, 0, 0, 0x40 | VFMIG_CHUNK_F_FIRST, 0, 1);
	expect_bad(&b, 0, "chunk flags", "unknown flags");

	chunk(&b, 0, 1, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 1);
	expect_bad(&b, 0, "FIRST with chunk_seq 1", "FIRST chunk has chunk_seq 1");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	expect_bad(&b, 0, "incremental first", "before any full image");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 1);
	chunk(&b, 0, 2, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_LAST, 1, 1);
	expect_bad(&b, 0, "chunk gap", "out of order");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 1);
	chunk(&b, 1, 1, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_LAST, 1, 1);
	expect_bad(&b, 0, "wrong image", "out of order");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	chunk(&b, 1, 1, VFMIG_CHUNK_F_LAST, 1, 1);
	expect_bad(&b, 0, "continuation without image", "without a FIRST");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 1);
	chunk(&b, 1, 0, VFMIG_CHUNK_F_FIRST, 1, 1);
	expect_bad(&b, 0, "incremental inside open", "inside open image");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	b.p[16 + 24] = 0;	/* state size 8 pages -> (8 pages - 0) still whole; */
	b.p[16 + 25] = 0x10;	/* -> 4096: one page */
	b.p[16 + 26] = 0;
	chunk(&b, 1, 0, VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	expect_bad(&b, 0, "state size change", "differs");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	b.p[16 + 24] = 1;	/* state size not whole pages */
	expect_bad(&b, 0, "partial page state", "whole pages");

	/* A FULL image may restart after an abandoned one (PRE_COPY fallback). */
	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 1);
	chunk(&b, 1, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 8);
	{
		struct result r = run(b.p, b.len, VS_OPT_VFMIG, 1, 1);

		CHECK(!r.failed && !r.end && r.tot.abandoned_images == 1,
		      "abandoned image restart: %s", r.err);
	}
	free(b.p);
}

/* mlx5's stream: STOP_COPY_SIZE, opaque FW_DATA images, an optional record. */
static void test_mlx5(void)
{
	struct buf b = { 0 };
	uint8_t img[3000];
	struct result r;

	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 7);
	stop_copy_size(&b, 1 << 20);
	rec_hdr(&b, sizeof(img), 0, VFMIG_RECORD_TAG_FW_DATA);
	put(&b, img, sizeof(img));
	rec_hdr(&b, 5, VFMIG_RECORD_F_OPTIONAL, 0x1000);
	put(&b, "hello", 5);
	rec_hdr(&b, 0, 0, VFMIG_RECORD_TAG_FW_DATA);	/* empty image */
	rec_hdr(&b, 17, 0, VFMIG_RECORD_TAG_FW_DATA);
	put(&b, img, 17);

	for (size_t step = 0; step < 20; step += 19) {
		r = run(b.p, b.len, 0, step, 5);
		CHECK(!r.failed && !r.end, "mlx5 stream step %zu: %s", step, r.err);
		CHECK(r.records == 5 && r.chunks == 0 && r.scs == 1,
		      "mlx5 records %d chunks %d", r.records, r.chunks);
		CHECK(r.tot.optional_records == 1 && r.tot.fw_data_records == 3 &&
		      r.tot.fw_data_bytes == sizeof(img) + 17,
		      "mlx5 totals opt %llu fw %llu bytes %llu",
		      (unsigned long long)r.tot.optional_records,
		      (unsigned long long)r.tot.fw_data_records,
		      (unsigned long long)r.tot.fw_data_bytes);
	}
	r = run(b.p, b.len, VS_OPT_VFMIG, 0, 5);
	CHECK(r.failed == 1, "mlx5 stream accepted as vfmig chunks");
	r = run(b.p, b.len - 1, 0, 1, 5);
	CHECK(!r.failed && r.end && strstr(r.err, "inside a FW_DATA record"),
	      "truncated mlx5 stream: %s", r.err);
	free(b.p);
}

/* Random single-byte corruption never crashes and never loops. */
static void test_fuzz(void)
{
	struct buf b;

	vfmig_stream(&b);
	srand(42);
	for (int i = 0; i < 3000; i++) {
		uint8_t *c = malloc(b.len);
		size_t at;
		struct result r;

		memcpy(c, b.p, b.len);
		/* Mostly headers: they are where parsing decisions live. */
		at = (i & 1) ? (size_t)rand() % b.len : (size_t)rand() % 120;
		c[at] ^= (uint8_t)(1u << (rand() % 8));
		r = run(c, (size_t)rand() % (b.len + 1), (unsigned)(i & 1), 0,
			(unsigned)i);
		CHECK(r.failed != 2, "fuzz %d: no progress", i);
		free(c);
	}
	free(b.p);
}

static void test_frames(void)
{
	uint8_t h[MF_HDR_SIZE], pay[256];
	struct mf_hdr fh;
	struct mf_hello hi = { .mig_flags = 7, .state_size = 1 << 24, .precopy = 3,
			       .is_vfmig = 1 }, ho;
	struct mf_end e = { 1, 2, 3, 4, 0 }, eo;
	struct mf_ack a = { .status = -5, .load_tail_ns = 9, .load_total_ns = 10,
			    .resume_ns = 11, .bytes = 12 }, ao;
	char err[160];
	uint32_t len;

	strcpy(hi.source, "0b9d3a7e-uuid");
	strcpy(a.digest, "deadbeef");
	mf_hdr_pack(h, MF_DATA_PRE, MF_F_CSUM, 100, 0x1122334455667788ull);
	CHECK(!mf_hdr_unpack(h, &fh, err, sizeof(err)) && fh.type == MF_DATA_PRE &&
	      fh.len == 100 && fh.csum == 0x1122334455667788ull && fh.flags == MF_F_CSUM,
	      "frame header roundtrip");
	h[0] ^= 1;
	CHECK(mf_hdr_unpack(h, &fh, err, sizeof(err)) && strstr(err, "magic"),
	      "bad magic: %s", err);
	mf_hdr_pack(h, 99, 0, 1, 0);
	CHECK(mf_hdr_unpack(h, &fh, err, sizeof(err)), "bad type accepted");
	mf_hdr_pack(h, MF_DATA_PRE, 0, MF_MAX_PAYLOAD + 1, 0);
	CHECK(mf_hdr_unpack(h, &fh, err, sizeof(err)), "huge frame accepted");

	mf_hello_pack(&hi, pay, &len);
	CHECK(!mf_hello_unpack(pay, len, &ho) && ho.mig_flags == 7 &&
	      ho.state_size == 1 << 24 && ho.precopy == 3 && ho.is_vfmig == 1 &&
	      !strcmp(ho.source, hi.source), "hello roundtrip");
	CHECK(mf_hello_unpack(pay, len - 1, &ho), "short hello accepted");
	mf_end_pack(&e, pay, &len);
	CHECK(!mf_end_unpack(pay, len, &eo) && eo.precopy_bytes == 1 &&
	      eo.stop_copy_bytes == 2 && eo.total_bytes == 3 && eo.iterations == 4,
	      "end roundtrip");
	mf_ack_pack(&a, pay, &len);
	CHECK(!mf_ack_unpack(pay, len, &ao) && ao.status == -5 && ao.load_tail_ns == 9 &&
	      ao.load_total_ns == 10 && ao.resume_ns == 11 && ao.bytes == 12 &&
	      !strcmp(ao.digest, "deadbeef"), "ack roundtrip");

	for (size_t n = 0; n < sizeof(pay); n++)
		pay[n] = (uint8_t)n;
	for (size_t n = 0; n < 64; n++) {
		uint64_t h0 = mf_hash64(pay, sizeof(pay));

		pay[n * 4 % sizeof(pay)] ^= 0x10;
		CHECK(mf_hash64(pay, sizeof(pay)) != h0, "hash misses flip at %zu", n);
		pay[n * 4 % sizeof(pay)] ^= 0x10;
	}
	CHECK(mf_hash64(pay, 7) != mf_hash64(pay, 8), "hash ignores length");
}

int main(void)
{
	test_valid();
	test_truncated();
	test_corrupt();
	test_mlx5();
	test_fuzz();
	test_frames();
	printf("%s test_stream: %d checks, %d failed\n", failures ? "FAIL" : "ok",
	       checks, failures);
	return failures ? 1 : 0;
}
