/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * Incremental parser of a VFIO migration data stream in the mlx5 record
 * format (include/vfmig_abi.h): feed it bytes in pieces of any size, get
 * one struct vs_record per complete record. It validates record sizes,
 * knows the FW_DATA, STOP_COPY_SIZE, CHUNK_CRC and MIG_UUID tags, skips unknown
 * OPTIONAL records and rejects unknown mandatory ones. FW_DATA payloads that
 * start with the vfmig chunk magic are decoded and checked (size against
 * npages, flags, image/chunk sequencing, as the vfmig loader checks them);
 * other FW_DATA payloads are opaque firmware images (mlx5) unless
 * VS_OPT_VFMIG demands vfmig chunks. Payload bytes are never buffered.
 *
 * Images are numbered from 0 without gaps, as the loader requires.
 *
 * Integrity (ABI version 2): a CHUNK_CRC record covers the next FW_DATA
 * record (only unknown OPTIONAL records may come between); the parser
 * computes the CRC-32C of that
 * record (header and payload) as it streams by and reports the outcome in
 * the record (crc_state) and the totals. Once a stream has carried a
 * CHUNK_CRC record, every later FW_DATA record must have its own: one
 * without is reported MISSING. By default a bad or missing CRC is only
 * reported (migctl inspect lists them all); with VS_OPT_CRC it fails the
 * stream, as the vfmig loader does.
 */
#ifndef VFMIG_STREAM_H
#define VFMIG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VS_OPT_VFMIG	(1u << 0)	/* FW_DATA must be vfmig chunks */
#define VS_OPT_CRC	(1u << 1)	/* a bad or missing chunk CRC is an error */

/* Default bound on one record's payload: mlx5's MAX_LOAD_SIZE. */
#define VS_DEFAULT_MAX_RECORD	0xffffffffull

enum vs_kind {
	VS_REC_FW_DATA,
	VS_REC_STOP_COPY_SIZE,
	VS_REC_CHUNK_CRC,
	VS_REC_OPTIONAL,	/* unknown tag flagged OPTIONAL: skipped */
	VS_REC_MIG_UUID,	/* the migration's UUID (ABI version 3) */
};

/* Integrity of a FW_DATA record. */
enum vs_crc_state {
	VS_CRC_NONE = 0,	/* no CHUNK_CRC in the stream so far */
	VS_CRC_OK,		/* its CHUNK_CRC record matches */
	VS_CRC_BAD,		/* CRC or covered size does not match */
	VS_CRC_MISSING,		/* earlier records had one, this one has none */
};

/* A CHUNK_CRC record's payload (struct vfmig_crc_record). */
struct vs_crc {
	uint32_t crc32c;
	uint32_t algo;
	uint64_t covered;
};

struct vs_chunk {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;
	uint32_t image_seq;
	uint32_t chunk_seq;
	uint64_t generation;
	uint64_t state_size;
	uint32_t npages;
	uint32_t reserved;
};

struct vs_record {
	uint64_t offset;	/* stream offset of the record header */
	uint64_t size;		/* payload bytes */
	uint32_t flags;
	uint32_t tag;
	enum vs_kind kind;
	bool is_chunk;		/* FW_DATA carrying a vfmig chunk */
	struct vs_chunk chunk;
	uint64_t stop_copy_size;	/* VS_REC_STOP_COPY_SIZE */
	uint8_t mig_uuid[16];		/* VS_REC_MIG_UUID, RFC 4122 order */
	struct vs_crc crc;		/* VS_REC_CHUNK_CRC; for FW_DATA: the
					 * CHUNK_CRC record before it, if any */
	enum vs_crc_state crc_state;	/* FW_DATA */
	uint32_t crc_actual;		/* FW_DATA after a CHUNK_CRC: computed */
};

struct vs_totals {
	uint64_t records;
	uint64_t fw_data_records;
	uint64_t fw_data_bytes;		/* payload bytes of FW_DATA */
	uint64_t optional_records;
	uint64_t mig_uuid_records;
	uint64_t chunks;
	uint64_t pages;
	uint64_t images;		/* vfmig images completed (LAST seen) */
	uint64_t full_images;
	uint64_t abandoned_images;	/* open image restarted by a FULL one */
	uint64_t crc_records;		/* CHUNK_CRC records */
	uint64_t crc_ok;		/* FW_DATA records whose CRC matched */
	uint64_t crc_bad;		/* ... did not match */
	uint64_t crc_missing;		/* ... had none after the first CRC */
};

struct vs_parser {
	unsigned int opts;
	uint64_t max_record;
	uint64_t pos;			/* stream bytes consumed */
	int state;
	uint8_t hdr[16];
	uint32_t hdr_fill;
	struct vs_record cur;
	uint64_t pay_fill;
	uint8_t head[40];		/* payload prefix: chunk header / le64 */
	uint32_t head_fill;
	uint8_t idx[8];			/* page index being read */
	uint32_t idx_fill;
	uint64_t idx_prev;		/* the previous page index of the chunk */
	/* vfmig image cursor, as the device's loader keeps it */
	bool img_open;
	bool have_base;
	uint32_t img_seq;
	uint32_t next_image;		/* image_seq of the next FIRST chunk */
	uint32_t next_chunk;
	uint64_t state_size;		/* of the first chunk */
	/* integrity */
	bool crc_seen;			/* a CHUNK_CRC record went by */
	bool crc_pending;		/* the last record was CHUNK_CRC */
	bool crc_on;			/* computing the current record's CRC */
	struct vs_crc crc_next;		/* the pending CHUNK_CRC record */
	uint32_t crc_run;		/* CRC-32C of the current record so far */
	struct vs_totals tot;
	bool failed;
	char err[192];
};

void vs_init(struct vs_parser *p, unsigned int opts);

/*
 * Consume up to @len bytes of @buf, stopping right after a record
 * completes. Returns the bytes consumed (possibly 0 only when @len is 0)
 * and sets *got to 1 with *rec filled when a record completed; -1 on an
 * invalid stream (p->err says why and at which offset; the parser stays
 * failed).
 */
ssize_t vs_feed(struct vs_parser *p, const void *buf, size_t len,
		struct vs_record *rec, int *got);

/* The stream ended here: 0 if on a record boundary, else -1 (p->err). */
int vs_end(struct vs_parser *p);

/* True while a vfmig image is open (its LAST chunk not seen yet). */
static inline bool vs_image_open(const struct vs_parser *p)
{
	return p->img_open;
}

/* The one table of record tag names: "FW_DATA", ..., "UNKNOWN". */
const char *vs_tag_name(uint32_t tag);
/* Tag of a name of vs_tag_name() (case-insensitive), or -1. */
int64_t vs_tag_lookup(const char *name);
/* "none", "ok", "bad", "missing" */
const char *vs_crc_state_name(enum vs_crc_state s);

#endif /* VFMIG_STREAM_H */
