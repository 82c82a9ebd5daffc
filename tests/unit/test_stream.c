// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit tests of the migration stream parser (tools/lib/vfmig_stream.c) and
 * migctl's frames (tools/lib/migframe.c): vfmig and mlx5-format streams fed
 * whole, byte by byte and in random pieces; corrupt and truncated inputs;
 * CHUNK_CRC records (verified, corrupted, missing, misplaced) and the
 * strict mode's promise: a stream it accepts carries exactly the FW_DATA
 * records that were sent. Runs under ASan/UBSan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "crc32c.h"
#include "mig_events.h"
#include "migframe.h"
#include "vfmig_abi.h"
#include "vfmig_stream.h"

#include "unit_check.h"

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

static void crc_rec(struct buf *b, uint32_t crc, uint32_t algo, uint64_t covered)
{
	rec_hdr(b, 16, VFMIG_RECORD_F_OPTIONAL, VFMIG_RECORD_TAG_CHUNK_CRC);
	put_le(b, crc, 4);
	put_le(b, algo, 4);
	put_le(b, covered, 8);
}

/* A CHUNK_CRC record, then the chunk record it covers. */
static void crc_chunk(struct buf *b, uint32_t image, uint32_t seq, uint16_t flags,
		      uint32_t first, uint32_t n)
{
	struct buf c = { 0 };

	chunk(&c, image, seq, flags, first, n);
	crc_rec(b, crc32c(0, c.p, c.len), VFMIG_CRC_ALGO_CRC32C, c.len);
	put(b, c.p, c.len);
	free(c.p);
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

/* The same stream as vfmig_stream(), each chunk after its CHUNK_CRC record. */
static void crc_stream(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	mark(b);
	stop_copy_size(b, STATE_PAGES * 4104ull + 40);
	mark(b);
	crc_chunk(b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 5);
	crc_chunk(b, 0, 1, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_LAST, 5, 3);
	mark(b);
	crc_chunk(b, 1, 0, VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 2, 2);
	mark(b);
	crc_chunk(b, 2, 0, VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 0);
	mark(b);
}

#define MAX_REC 64

struct result {
	int records, chunks, scs, crcs;
	int ncrc_state[4];		/* FW_DATA records per enum vs_crc_state */
	int nfw;
	uint64_t fw_off[MAX_REC], fw_len[MAX_REC];	/* FW_DATA records */
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
				if (rec.kind == VS_REC_CHUNK_CRC)
					r.crcs++;
				if (rec.kind == VS_REC_FW_DATA) {
					r.ncrc_state[rec.crc_state]++;
					if (r.nfw < MAX_REC) {
						r.fw_off[r.nfw] = rec.offset;
						r.fw_len[r.nfw++] = 16 + rec.size;
					}
				}
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
			CHECK(r.crcs == 0 && r.ncrc_state[VS_CRC_NONE] == 4 &&
			      !r.tot.crc_records && !r.tot.crc_ok && !r.tot.crc_bad &&
			      !r.tot.crc_missing, "no CRC: crc records %d", r.crcs);
		}
	}
	free(b.p);
}

/* The same stream with CHUNK_CRC records: every chunk verified. */
static void test_crc_valid(void)
{
	struct buf b;
	size_t steps[] = { 0, 1, 3, 16, 17, 31, 32, 33, 4096, 1 << 20 };

	crc_stream(&b);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		for (unsigned int opts = 0; opts <= (VS_OPT_VFMIG | VS_OPT_CRC); opts++) {
			struct result r = run(b.p, b.len, opts, steps[i], 11 + (unsigned)i);

			CHECK(!r.failed && !r.end, "CRC stream, step %zu opts %u: %s",
			      steps[i], opts, r.err);
			CHECK(r.records == 9 && r.chunks == 4 && r.scs == 1 && r.crcs == 4,
			      "records %d chunks %d scs %d crcs %d", r.records, r.chunks,
			      r.scs, r.crcs);
			CHECK(r.ncrc_state[VS_CRC_OK] == 4, "CRC ok on %d chunks",
			      r.ncrc_state[VS_CRC_OK]);
			CHECK(r.tot.crc_records == 4 && r.tot.crc_ok == 4 && !r.tot.crc_bad &&
			      !r.tot.crc_missing && r.tot.optional_records == 0,
			      "totals crc %llu ok %llu bad %llu missing %llu",
			      (unsigned long long)r.tot.crc_records,
			      (unsigned long long)r.tot.crc_ok,
			      (unsigned long long)r.tot.crc_bad,
			      (unsigned long long)r.tot.crc_missing);
			CHECK(r.pages == 10 && r.tot.images == 3, "pages %llu images %llu",
			      (unsigned long long)r.pages, (unsigned long long)r.tot.images);
		}
	}
	free(b.p);

	/* CRCs may start late (a chunk before the first CRC is not checked). */
	memset(&b, 0, sizeof(b));
	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST, 0, 5);
	crc_chunk(&b, 0, 1, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_LAST, 5, 3);
	{
		struct result r = run(b.p, b.len, VS_OPT_VFMIG | VS_OPT_CRC, 0, 1);

		CHECK(!r.failed && !r.end && r.ncrc_state[VS_CRC_NONE] == 1 &&
		      r.ncrc_state[VS_CRC_OK] == 1, "late CRC: %s", r.err);
	}
	free(b.p);

	/* mlx5 opaque images may carry CRCs too, even empty ones */
	memset(&b, 0, sizeof(b));
	crc_rec(&b, crc32c(0, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16),
		VFMIG_CRC_ALGO_CRC32C, 16);
	rec_hdr(&b, 0, 0, VFMIG_RECORD_TAG_FW_DATA);
	{
		struct result r = run(b.p, b.len, VS_OPT_CRC, 0, 1);

		CHECK(!r.failed && !r.end && r.ncrc_state[VS_CRC_OK] == 1,
		      "empty FW_DATA with CRC: %s", r.err);
	}
	free(b.p);
}

static void expect_bad(struct buf *b, unsigned int opts, const char *what,
		       const char *needle);

/* Offset of the n-th record (0-based) of a stream. */
static size_t rec_at(const struct buf *b, int n)
{
	size_t o = 0;

	while (n--) {
		uint64_t sz = 0;

		for (int i = 7; i >= 0; i--)
			sz = sz << 8 | b->p[o + (size_t)i];
		o += 16 + sz;
	}
	return o;
}

/* Remove [off, off + len) of a stream. */
static void cut(struct buf *b, size_t off, size_t len)
{
	memmove(b->p + off, b->p + off + len, b->len - off - len);
	b->len -= len;
}

/*
 * Lenient mode reports the chunk, strict mode (VS_OPT_CRC) fails the
 * stream with @needle.
 */
static void expect_crc(struct buf *b, enum vs_crc_state st, const char *what,
		       const char *needle)
{
	struct result r = run(b->p, b->len, VS_OPT_VFMIG, 0, 9);

	CHECK(!r.failed && !r.end, "%s, lenient: %s", what, r.err);
	CHECK(r.ncrc_state[st] == 1 && r.ncrc_state[VS_CRC_OK] == 3,
	      "%s, lenient: %d chunks %s, %d ok", what, r.ncrc_state[st],
	      vs_crc_state_name(st), r.ncrc_state[VS_CRC_OK]);
	CHECK(st == VS_CRC_BAD ? r.tot.crc_bad == 1 : r.tot.crc_missing == 1,
	      "%s: totals bad %llu missing %llu", what,
	      (unsigned long long)r.tot.crc_bad, (unsigned long long)r.tot.crc_missing);
	expect_bad(b, VS_OPT_VFMIG | VS_OPT_CRC, what, needle);
}

static void test_crc_corrupt(void)
{
	struct buf b;
	size_t o;

	/* records: 0 SCS, 1 CRC, 2 chunk, 3 CRC, 4 chunk, 5 CRC, 6 chunk, 7 CRC, 8 chunk */
	crc_stream(&b);
	b.p[rec_at(&b, 4) + 16 + 40 + 3 * 8 + 100] ^= 0x20;	/* page data */
	expect_crc(&b, VS_CRC_BAD, "page data bit flip", "fails its CHUNK_CRC");

	crc_stream(&b);
	b.p[rec_at(&b, 4) + 16 + 40] ^= 1;			/* page index */
	expect_crc(&b, VS_CRC_BAD, "page index flip", "fails its CHUNK_CRC");

	crc_stream(&b);
	b.p[rec_at(&b, 6) + 16 + 16] ^= 4;			/* generation */
	expect_crc(&b, VS_CRC_BAD, "generation flip", "fails its CHUNK_CRC");

	crc_stream(&b);
	b.p[rec_at(&b, 3) + 16 + 2] ^= 0x80;			/* the CRC itself */
	expect_crc(&b, VS_CRC_BAD, "CRC value flip", "fails its CHUNK_CRC");

	crc_stream(&b);
	b.p[rec_at(&b, 5) + 16 + 8] ^= 8;			/* covered */
	expect_crc(&b, VS_CRC_BAD, "covered size", "covers");

	crc_stream(&b);
	o = rec_at(&b, 5);
	cut(&b, o, rec_at(&b, 6) - o);				/* drop a CRC record */
	expect_crc(&b, VS_CRC_MISSING, "CRC record dropped", "without a CHUNK_CRC");

	crc_stream(&b);
	b.p[rec_at(&b, 7) + 12] ^= 0x10;			/* CRC tag -> unknown */
	expect_crc(&b, VS_CRC_MISSING, "CRC tag changed", "without a CHUNK_CRC");

	/* misplaced and malformed CRC records fail in both modes */
	crc_stream(&b);
	o = rec_at(&b, 6);
	cut(&b, o, rec_at(&b, 7) - o);				/* CRC, CRC */
	expect_bad(&b, 0, "two CRC records in a row", "CHUNK_CRC record after a CHUNK_CRC");

	memset(&b, 0, sizeof(b));
	crc_rec(&b, 0, VFMIG_CRC_ALGO_CRC32C, 16);
	stop_copy_size(&b, 1);
	expect_bad(&b, 0, "CRC before STOP_COPY_SIZE", "STOP_COPY_SIZE record after a CHUNK_CRC");

	/* an unknown optional record may come between (a loader skips it) */
	memset(&b, 0, sizeof(b));
	{
		struct buf c = { 0 };
		struct result r;

		chunk(&c, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 8);
		crc_rec(&b, crc32c(0, c.p, c.len), VFMIG_CRC_ALGO_CRC32C, c.len);
		rec_hdr(&b, 2, VFMIG_RECORD_F_OPTIONAL, 0x800);
		put(&b, "xy", 2);
		r = run(b.p, b.len, VS_OPT_VFMIG | VS_OPT_CRC, 0, 1);
		CHECK(!r.failed && r.end && strstr(r.err, "after a CHUNK_CRC"),
		      "CRC, optional record, end: %s", r.err);
		put(&b, c.p, c.len);
		r = run(b.p, b.len, VS_OPT_VFMIG | VS_OPT_CRC, 0, 1);
		CHECK(!r.failed && !r.end && r.ncrc_state[VS_CRC_OK] == 1 &&
		      r.tot.optional_records == 1,
		      "CRC, optional record, chunk: %s", r.err);
		free(c.p);
		free(b.p);
	}

	memset(&b, 0, sizeof(b));
	crc_rec(&b, 0, 2, 16);
	rec_hdr(&b, 0, 0, VFMIG_RECORD_TAG_FW_DATA);
	expect_bad(&b, 0, "CRC algorithm 2", "unknown algorithm 2");

	memset(&b, 0, sizeof(b));
	rec_hdr(&b, 12, VFMIG_RECORD_F_OPTIONAL, VFMIG_RECORD_TAG_CHUNK_CRC);
	put(&b, "0123456789ab", 12);
	expect_bad(&b, 0, "short CRC record", "CHUNK_CRC record of 12 bytes");

	/* a stream may not end right after a CRC record */
	crc_stream(&b);
	{
		struct result r = run(b.p, rec_at(&b, 7) + 32, VS_OPT_VFMIG, 0, 1);

		CHECK(!r.failed && r.end && strstr(r.err, "after a CHUNK_CRC"),
		      "stream ending after a CRC record: %s", r.err);
	}
	free(b.p);
}

/*
 * The strict parser's promise, the one the vfmig loader makes: whatever
 * single corruption a CRC stream suffers, when the stream is accepted its
 * FW_DATA records are exactly the ones sent.
 */
static void test_crc_strict_fuzz(void)
{
	struct buf b;
	struct result ref;
	int accepted = 0;

	crc_stream(&b);
	ref = run(b.p, b.len, VS_OPT_VFMIG | VS_OPT_CRC, 0, 1);
	CHECK(!ref.failed && !ref.end && ref.nfw == 4, "reference: %s", ref.err);
	srand(77);
	for (int i = 0; i < 4000; i++) {
		uint8_t *c = malloc(b.len);
		size_t at = (size_t)rand() % b.len;
		struct result r;
		bool same;

		memcpy(c, b.p, b.len);
		if (i & 1) {
			c[at] ^= (uint8_t)(1u << (rand() % 8));
		} else {
			at = at > b.len - 8 ? b.len - 8 : at;
			for (int k = 0; k < 8; k++)
				c[at + (size_t)k] = (uint8_t)rand();
		}
		r = run(c, b.len, VS_OPT_VFMIG | VS_OPT_CRC, 0, (unsigned)i);
		CHECK(r.failed != 2, "strict fuzz %d: no progress", i);
		if (r.failed || r.end) {
			free(c);
			continue;
		}
		accepted++;
		same = r.nfw == ref.nfw;
		for (int k = 0; same && k < r.nfw; k++)
			same = r.fw_len[k] == ref.fw_len[k] &&
			       !memcmp(c + r.fw_off[k], b.p + ref.fw_off[k], r.fw_len[k]);
		CHECK(same, "strict fuzz %d (offset %zu): accepted with changed FW_DATA", i, at);
		free(c);
	}
	/* flips in the STOP_COPY_SIZE value and in CRC record flags are harmless */
	CHECK(accepted > 0, "strict fuzz accepted nothing (%d)", accepted);
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

	/* page indexes strictly increase and stay inside the state */
	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 3);
	b.p[16 + 40 + 8] = 0;	/* second index 1 -> 0 */
	expect_bad(&b, 0, "index not increasing", "do not increase (0 after 0, entry 1)");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 3);
	b.p[16 + 40 + 16] = STATE_PAGES;	/* third index 2 -> 8 */
	expect_bad(&b, 0, "index beyond the state", "page index 8 (entry 2) beyond");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 5, 3);
	b.p[16 + 40 + 7] = 0x80;	/* first index huge */
	expect_bad(&b, 0, "huge index", "beyond the state");

	/* images are numbered from 0 without gaps */
	chunk(&b, 1, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	expect_bad(&b, 0, "first image 1", "image 1 where image 0 must come next");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	chunk(&b, 2, 0, VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 1, 1);
	expect_bad(&b, 0, "image gap", "image 2 where image 1 must come next");

	chunk(&b, 0, 0, VFMIG_CHUNK_F_FULL | VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 0, 1);
	chunk(&b, 0, 0, VFMIG_CHUNK_F_FIRST | VFMIG_CHUNK_F_LAST, 1, 1);
	expect_bad(&b, 0, "image replayed", "image 0 where image 1 must come next");

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

/* MIG_UUID (ABI v3): the stream's first record, reported whole. */
static void test_mig_uuid(void)
{
	static const uint8_t id[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
					0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	char str[37];
	uint8_t back[16];
	struct buf b = { 0 }, tail;

	mig_uuid_str(id, str);
	CHECK(!strcmp(str, "12345678-9abc-4def-8123-456789abcdef"), "uuid text %s", str);
	CHECK(!mig_uuid_parse(str, back) && !memcmp(back, id, 16), "uuid parse roundtrip");
	CHECK(mig_uuid_parse("12345678-9abc-4def-8123-456789abcde", back), "short uuid parsed");
	CHECK(mig_uuid_parse("12345678x9abc-4def-8123-456789abcdef", back), "bad uuid parsed");
	CHECK(vs_tag_lookup("MIG_UUID") == VFMIG_RECORD_TAG_MIG_UUID &&
	      !strcmp(vs_tag_name(VFMIG_RECORD_TAG_MIG_UUID), "MIG_UUID"), "tag name");

	rec_hdr(&b, 16, VFMIG_RECORD_F_OPTIONAL, VFMIG_RECORD_TAG_MIG_UUID);
	put(&b, id, 16);
	crc_stream(&tail);
	put(&b, tail.p, tail.len);
	for (size_t step = 1; step <= 64; step *= 4) {
		struct vs_parser ps;
		struct vs_record rec;
		size_t off = 0;
		int got = 0, n = 0, seen = 0;

		vs_init(&ps, VS_OPT_VFMIG | VS_OPT_CRC);
		while (off < b.len) {
			size_t len = b.len - off < step ? b.len - off : step;
			ssize_t u = vs_feed(&ps, b.p + off, len, &rec, &got);

			if (u < 0)
				break;
			off += (size_t)u;
			if (got) {
				if (rec.kind == VS_REC_MIG_UUID) {
					seen++;
					CHECK(n == 0 && rec.offset == 0 && !memcmp(rec.mig_uuid, id, 16),
					      "step %zu: MIG_UUID record %d at %llu", step, n,
					      (unsigned long long)rec.offset);
				}
				n++;
			}
		}
		CHECK(off == b.len && !vs_end(&ps) && seen == 1 &&
		      ps.tot.mig_uuid_records == 1 && ps.tot.crc_ok == 4,
		      "step %zu: stream with MIG_UUID: %s", step, ps.err);
	}
	free(tail.p);
	free(b.p);

	/* A MIG_UUID record of another size is invalid, not skipped. */
	memset(&b, 0, sizeof(b));
	rec_hdr(&b, 8, VFMIG_RECORD_F_OPTIONAL, VFMIG_RECORD_TAG_MIG_UUID);
	put_le(&b, 1, 8);
	{
		struct result r = run(b.p, b.len, 0, 0, 3);

		CHECK(r.failed == 1 && strstr(r.err, "MIG_UUID"), "8-byte MIG_UUID: %s", r.err);
	}
	free(b.p);
	/* Nor may it come between a CHUNK_CRC record and its chunk. */
	memset(&b, 0, sizeof(b));
	crc_rec(&b, 0, VFMIG_CRC_ALGO_CRC32C, 16);
	rec_hdr(&b, 16, VFMIG_RECORD_F_OPTIONAL, VFMIG_RECORD_TAG_MIG_UUID);
	put(&b, id, 16);
	{
		struct result r = run(b.p, b.len, 0, 0, 4);

		CHECK(r.failed == 1 && strstr(r.err, "after a CHUNK_CRC"), "MIG_UUID after CHUNK_CRC: %s", r.err);
	}
	free(b.p);
}

int main(void)
{
	test_valid();
	test_mig_uuid();
	test_crc_valid();
	test_crc_corrupt();
	test_crc_strict_fuzz();
	test_truncated();
	test_corrupt();
	test_mlx5();
	test_fuzz();
	test_frames();
	return unit_report("test_stream");
}
