/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * Incremental parser of a VFIO migration data stream in the mlx5 record
 * format (include/vfmig_abi.h): feed it bytes in pieces of any size, get
 * one struct vs_record per complete record. It validates record sizes,
 * knows the FW_DATA and STOP_COPY_SIZE tags, skips unknown OPTIONAL records
 * and rejects unknown mandatory ones. FW_DATA payloads that start with the
 * vfmig chunk magic are decoded and checked (size against npages, flags,
 * image/chunk sequencing, as the vfmig loader checks them); other FW_DATA
 * payloads are opaque firmware images (mlx5) unless VS_OPT_VFMIG demands
 * vfmig chunks. Payload bytes are never buffered.
 */
#ifndef VFMIG_STREAM_H
#define VFMIG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VS_OPT_VFMIG	(1u << 0)	/* FW_DATA must be vfmig chunks */

/* Default bound on one record's payload: mlx5's MAX_LOAD_SIZE. */
#define VS_DEFAULT_MAX_RECORD	0xffffffffull

enum vs_kind {
	VS_REC_FW_DATA,
	VS_REC_STOP_COPY_SIZE,
	VS_REC_OPTIONAL,	/* unknown tag flagged OPTIONAL: skipped */
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
};

struct vs_totals {
	uint64_t records;
	uint64_t fw_data_records;
	uint64_t fw_data_bytes;		/* payload bytes of FW_DATA */
	uint64_t optional_records;
	uint64_t chunks;
	uint64_t pages;
	uint64_t images;		/* vfmig images completed (LAST seen) */
	uint64_t full_images;
	uint64_t abandoned_images;	/* open image restarted by a FULL one */
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
	/* vfmig image cursor, as the device's loader keeps it */
	bool img_open;
	bool have_base;
	uint32_t img_seq;
	uint32_t next_chunk;
	uint64_t state_size;		/* of the first chunk */
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

const char *vs_tag_name(uint32_t tag);

#endif /* VFMIG_STREAM_H */
