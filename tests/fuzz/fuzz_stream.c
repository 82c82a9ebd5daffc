// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * libFuzzer harness of the migration stream parser (tools/lib/vfmig_stream.c
 * and crc32c.c, built with ASan and UBSan): `make fuzz` runs it on the host.
 *
 * Input: one mode byte, then a stream.
 *   bit 0  VS_OPT_VFMIG (FW_DATA must be vfmig chunks)
 *   bit 1  VS_OPT_CRC (a bad or missing chunk CRC fails the stream)
 *   bit 2  first make every CHUNK_CRC record true to the FW_DATA record
 *          after it (so the fuzzer gets past the CRCs to the chunk checks)
 *   bits 3..7  seed of the random pieces
 *
 * The stream is parsed three times: whole, byte by byte and in random
 * pieces. Beyond memory and UB errors, it traps when the parser makes no
 * progress, when the three runs disagree in anything (records, their CRC
 * verdicts, totals, the error and where it happened: the parser's answer
 * must not depend on how the bytes arrive), or when a strict parse accepts
 * a chunk whose CRC it did not verify.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "crc32c.h"
#include "vfmig_abi.h"
#include "vfmig_stream.h"

struct outcome {
	uint32_t hash;		/* CRC-32C over every record's fields */
	uint64_t records;
	int fed;		/* 0 all fed, -1 vs_feed failed */
	int end;		/* vs_end() */
	struct vs_totals tot;
	char err[192];
};

static uint64_t rd64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void wr(uint8_t *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* Make each CHUNK_CRC record cover the record after it, truthfully. */
static void fix_crcs(uint8_t *b, size_t len)
{
	size_t o = 0;

	while (len - o >= 16) {
		uint64_t size = rd64(b + o);

		if (rd32(b + o + 12) == VFMIG_RECORD_TAG_CHUNK_CRC && size == 16 &&
		    len - o >= 48) {
			uint64_t next = rd64(b + o + 32);

			if (next <= len - o - 48) {
				wr(b + o + 16, crc32c(0, b + o + 32, 16 + next), 4);
				wr(b + o + 20, VFMIG_CRC_ALGO_CRC32C, 4);
				wr(b + o + 24, 16 + next, 8);
			}
		}
		if (size > len - o - 16)
			break;
		o += 16 + size;
	}
}

static void mix(struct outcome *out, const struct vs_record *r)
{
	uint8_t f[96];

	memset(f, 0, sizeof(f));
	wr(f, r->offset, 8);
	wr(f + 8, r->size, 8);
	wr(f + 16, r->flags, 4);
	wr(f + 20, r->tag, 4);
	wr(f + 24, (uint64_t)r->kind, 4);
	f[28] = r->is_chunk;
	wr(f + 29, (uint64_t)r->crc_state, 1);
	wr(f + 30, r->crc_actual, 4);
	wr(f + 34, r->crc.crc32c, 4);
	wr(f + 38, r->crc.covered, 8);
	wr(f + 46, r->stop_copy_size, 8);
	wr(f + 54, r->chunk.flags, 2);
	wr(f + 56, r->chunk.image_seq, 4);
	wr(f + 60, r->chunk.chunk_seq, 4);
	wr(f + 64, r->chunk.npages, 4);
	wr(f + 68, r->chunk.generation, 8);
	out->hash = crc32c(out->hash, f, sizeof(f));
	out->records++;
}

/* step 0: all at once; 1: byte by byte; else random pieces from @seed */
static void parse(const uint8_t *b, size_t len, unsigned int opts, int step,
		  uint32_t seed, struct outcome *out)
{
	struct vs_parser p;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	vs_init(&p, opts);
	while (off < len) {
		size_t n = len - off;
		struct vs_record r;
		ssize_t u;
		int got;

		if (step == 1) {
			n = 1;
		} else if (step) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 97;
			if (n > len - off)
				n = len - off;
		}
		u = vs_feed(&p, b + off, n, &r, &got);
		if (u < 0) {
			out->fed = -1;
			break;
		}
		if (!u && !got)
			__builtin_trap();	/* no progress */
		if (got) {
			mix(out, &r);
			/* strict: only a verified chunk (or one before any CRC) passes */
			if ((opts & VS_OPT_CRC) && r.kind == VS_REC_FW_DATA &&
			    r.crc_state != VS_CRC_OK && r.crc_state != VS_CRC_NONE)
				__builtin_trap();
		}
		off += (size_t)u;
	}
	if (!out->fed)
		out->end = vs_end(&p);
	out->tot = p.tot;
	if (p.tot.crc_ok + p.tot.crc_bad + p.tot.crc_missing > p.tot.fw_data_records)
		__builtin_trap();
	memcpy(out->err, p.err, sizeof(out->err));
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a->hash == b->hash && a->records == b->records &&
	       a->fed == b->fed && a->end == b->end &&
	       !memcmp(&a->tot, &b->tot, sizeof(a->tot)) &&
	       !strcmp(a->err, b->err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, bytes, pieces;
	unsigned int opts = 0;
	uint8_t *b;

	if (!size)
		return 0;
	if (data[0] & 1)
		opts |= VS_OPT_VFMIG;
	if (data[0] & 2)
		opts |= VS_OPT_CRC;
	b = malloc(size - 1 ? size - 1 : 1);	/* exact: ASan sees overreads */
	if (!b)
		return 0;
	if (size > 1)
		memcpy(b, data + 1, size - 1);
	if (data[0] & 4)
		fix_crcs(b, size - 1);
	parse(b, size - 1, opts, 0, 0, &whole);
	parse(b, size - 1, opts, 1, 0, &bytes);
	parse(b, size - 1, opts, 2, data[0] >> 3, &pieces);
	if (!same(&whole, &bytes) || !same(&whole, &pieces))
		__builtin_trap();
	free(b);
	return 0;
}
