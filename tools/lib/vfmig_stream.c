// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* Incremental migration stream parser; see vfmig_stream.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <linux/types.h>

#include "crc32c.h"
#include "vfmig_abi.h"
#include "vfmig_stream.h"

#define CHUNK_HDR_BYTES	40u
#define CRC_REC_BYTES	16u

_Static_assert(sizeof(struct vfmig_chunk_header) == CHUNK_HDR_BYTES,
	       "chunk header layout");
_Static_assert(sizeof(struct vfmig_record_header) == VFMIG_RECORD_HEADER_SIZE,
	       "record header layout");
_Static_assert(sizeof(struct vfmig_crc_record) == CRC_REC_BYTES &&
	       VFMIG_CRC_RECORD_BYTES == VFMIG_RECORD_HEADER_SIZE + CRC_REC_BYTES,
	       "CRC record layout");

enum { ST_HDR, ST_PAYLOAD };

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static uint16_t le16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static const struct {
	uint32_t tag;
	const char *name;
} tag_names[] = {
	{ VFMIG_RECORD_TAG_FW_DATA, "FW_DATA" },
	{ VFMIG_RECORD_TAG_STOP_COPY_SIZE, "STOP_COPY_SIZE" },
	{ VFMIG_RECORD_TAG_CHUNK_CRC, "CHUNK_CRC" },
	{ VFMIG_RECORD_TAG_MIG_UUID, "MIG_UUID" },
};

const char *vs_tag_name(uint32_t tag)
{
	for (size_t i = 0; i < sizeof(tag_names) / sizeof(tag_names[0]); i++)
		if (tag_names[i].tag == tag)
			return tag_names[i].name;
	return "UNKNOWN";
}

int64_t vs_tag_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(tag_names) / sizeof(tag_names[0]); i++)
		if (!strcasecmp(tag_names[i].name, name))
			return tag_names[i].tag;
	return -1;
}

const char *vs_crc_state_name(enum vs_crc_state s)
{
	switch (s) {
	case VS_CRC_NONE:
		return "none";
	case VS_CRC_OK:
		return "ok";
	case VS_CRC_BAD:
		return "bad";
	case VS_CRC_MISSING:
		return "missing";
	}
	return "?";
}

void vs_init(struct vs_parser *p, unsigned int opts)
{
	memset(p, 0, sizeof(*p));
	p->opts = opts;
	p->max_record = VS_DEFAULT_MAX_RECORD;
	p->state = ST_HDR;
}

static ssize_t bad(struct vs_parser *p, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static ssize_t bad(struct vs_parser *p, uint64_t off, const char *fmt, ...)
{
	char msg[150];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, sizeof(p->err), "offset %llu: %s",
		 (unsigned long long)off, msg);
	p->failed = true;
	return -1;
}

static ssize_t parse_header(struct vs_parser *p)
{
	struct vs_record *r = &p->cur;

	memset(r, 0, sizeof(*r));
	r->offset = p->pos - VFMIG_RECORD_HEADER_SIZE;
	r->size = le64(p->hdr);
	r->flags = le32(p->hdr + 8);
	r->tag = le32(p->hdr + 12);
	p->pay_fill = 0;
	p->head_fill = 0;
	p->idx_fill = 0;

	if (r->flags & ~VFMIG_RECORD_F_OPTIONAL)
		return bad(p, r->offset, "record header has unknown flags 0x%x",
			   r->flags);
	/* Only records a loader skips may come between a CRC and its chunk. */
	if (p->crc_pending && (r->tag == VFMIG_RECORD_TAG_CHUNK_CRC ||
			       r->tag == VFMIG_RECORD_TAG_STOP_COPY_SIZE ||
			       r->tag == VFMIG_RECORD_TAG_MIG_UUID))
		return bad(p, r->offset,
			   "%s record after a CHUNK_CRC record (a FW_DATA record must follow it)",
			   vs_tag_name(r->tag));
	switch (r->tag) {
	case VFMIG_RECORD_TAG_FW_DATA:
		r->kind = VS_REC_FW_DATA;
		if (p->crc_pending) {
			/* The CRC covers this header and the payload. */
			p->crc_pending = false;
			p->crc_on = true;
			p->crc_run = crc32c(0, p->hdr, VFMIG_RECORD_HEADER_SIZE);
			r->crc = p->crc_next;
			if ((p->opts & VS_OPT_CRC) &&
			    r->crc.covered != VFMIG_RECORD_HEADER_SIZE + r->size)
				return bad(p, r->offset,
					   "CHUNK_CRC covers %llu bytes, the FW_DATA record has %llu",
					   (unsigned long long)r->crc.covered,
					   (unsigned long long)(VFMIG_RECORD_HEADER_SIZE + r->size));
		} else if (p->crc_seen) {
			if (p->opts & VS_OPT_CRC)
				return bad(p, r->offset,
					   "FW_DATA record without a CHUNK_CRC record (the stream carried CRCs before)");
			r->crc_state = VS_CRC_MISSING;
		}
		if (r->size > p->max_record)
			return bad(p, r->offset,
				   "FW_DATA record of %llu bytes exceeds the %llu byte limit",
				   (unsigned long long)r->size,
				   (unsigned long long)p->max_record);
		if ((p->opts & VS_OPT_VFMIG) && r->size < CHUNK_HDR_BYTES)
			return bad(p, r->offset,
				   "FW_DATA record of %llu bytes is shorter than a chunk header",
				   (unsigned long long)r->size);
		break;
	case VFMIG_RECORD_TAG_STOP_COPY_SIZE:
		r->kind = VS_REC_STOP_COPY_SIZE;
		if (r->size != 8)
			return bad(p, r->offset,
				   "STOP_COPY_SIZE record of %llu bytes (must be 8)",
				   (unsigned long long)r->size);
		break;
	case VFMIG_RECORD_TAG_CHUNK_CRC:
		r->kind = VS_REC_CHUNK_CRC;
		if (r->size != CRC_REC_BYTES)
			return bad(p, r->offset,
				   "CHUNK_CRC record of %llu bytes (must be %u)",
				   (unsigned long long)r->size, CRC_REC_BYTES);
		break;
	case VFMIG_RECORD_TAG_MIG_UUID:
		r->kind = VS_REC_MIG_UUID;
		if (r->size != sizeof(r->mig_uuid))
			return bad(p, r->offset,
				   "MIG_UUID record of %llu bytes (must be 16)",
				   (unsigned long long)r->size);
		break;
	default:
		if (!(r->flags & VFMIG_RECORD_F_OPTIONAL))
			return bad(p, r->offset,
				   "unknown mandatory record tag 0x%x (size %llu)",
				   r->tag, (unsigned long long)r->size);
		if (r->size > p->max_record)
			return bad(p, r->offset,
				   "optional record of %llu bytes exceeds the limit",
				   (unsigned long long)r->size);
		r->kind = VS_REC_OPTIONAL;
	}
	p->state = ST_PAYLOAD;
	return 0;
}

/* The payload prefix is complete: decode and check a vfmig chunk header. */
static ssize_t check_chunk(struct vs_parser *p)
{
	struct vs_record *r = &p->cur;
	struct vs_chunk *c = &r->chunk;
	uint64_t want;

	c->magic = le32(p->head);
	if (c->magic != VFMIG_CHUNK_MAGIC) {
		if (p->opts & VS_OPT_VFMIG)
			return bad(p, r->offset, "FW_DATA without vfmig chunk magic (0x%08x)",
				   c->magic);
		return 0;	/* opaque firmware image (mlx5) */
	}
	r->is_chunk = true;
	c->version = le16(p->head + 4);
	c->flags = le16(p->head + 6);
	c->image_seq = le32(p->head + 8);
	c->chunk_seq = le32(p->head + 12);
	c->generation = le64(p->head + 16);
	c->state_size = le64(p->head + 24);
	c->npages = le32(p->head + 32);
	c->reserved = le32(p->head + 36);

	if (c->version != VFMIG_CHUNK_VERSION)
		return bad(p, r->offset, "chunk version %u (expected %u)",
			   c->version, VFMIG_CHUNK_VERSION);
	if (c->flags & ~VFMIG_CHUNK_F_ALL)
		return bad(p, r->offset, "chunk has unknown flags 0x%x", c->flags);
	if (c->reserved)
		return bad(p, r->offset, "chunk reserved field is 0x%x", c->reserved);
	if (!c->state_size || c->state_size % VFMIG_PAGE_SIZE)
		return bad(p, r->offset, "chunk state size %llu is not whole pages",
			   (unsigned long long)c->state_size);
	if (p->state_size && c->state_size != p->state_size)
		return bad(p, r->offset, "chunk state size %llu differs from %llu earlier",
			   (unsigned long long)c->state_size,
			   (unsigned long long)p->state_size);
	if (c->npages > c->state_size / VFMIG_PAGE_SIZE)
		return bad(p, r->offset, "chunk carries %u pages, the state has %llu",
			   c->npages,
			   (unsigned long long)(c->state_size / VFMIG_PAGE_SIZE));
	want = CHUNK_HDR_BYTES + (uint64_t)c->npages * (8 + VFMIG_PAGE_SIZE);
	if (r->size != want)
		return bad(p, r->offset,
			   "chunk of %u pages needs a %llu byte record, header says %llu",
			   c->npages, (unsigned long long)want,
			   (unsigned long long)r->size);

	if (c->flags & VFMIG_CHUNK_F_FIRST) {
		if (c->chunk_seq)
			return bad(p, r->offset, "FIRST chunk has chunk_seq %u",
				   c->chunk_seq);
		/* Images are numbered without gaps from 0: none may go missing. */
		if (c->image_seq != p->next_image)
			return bad(p, r->offset, "image %u where image %u must come next",
				   c->image_seq, p->next_image);
		if (!(c->flags & VFMIG_CHUNK_F_FULL)) {
			if (p->img_open)
				return bad(p, r->offset,
					   "incremental image %u starts inside open image %u",
					   c->image_seq, p->img_seq);
			if (!p->have_base)
				return bad(p, r->offset,
					   "incremental image %u before any full image",
					   c->image_seq);
		} else if (p->img_open) {
			p->tot.abandoned_images++;
		}
	} else {
		if (!p->img_open)
			return bad(p, r->offset,
				   "chunk %u of image %u without a FIRST chunk",
				   c->chunk_seq, c->image_seq);
		if (c->image_seq != p->img_seq || c->chunk_seq != p->next_chunk)
			return bad(p, r->offset,
				   "chunk %u of image %u out of order (expected chunk %u of image %u)",
				   c->chunk_seq, c->image_seq, p->next_chunk,
				   p->img_seq);
	}
	p->state_size = c->state_size;
	p->img_open = !(c->flags & VFMIG_CHUNK_F_LAST);
	p->img_seq = c->image_seq;
	p->next_image = c->image_seq + 1;
	p->next_chunk = c->chunk_seq + 1;
	p->tot.chunks++;
	p->tot.pages += c->npages;
	if (c->flags & VFMIG_CHUNK_F_LAST) {
		p->tot.images++;
		if (c->flags & VFMIG_CHUNK_F_FULL) {
			p->tot.full_images++;
			p->have_base = true;
		}
	}
	return 0;
}

static uint32_t head_len(const struct vs_record *r)
{
	switch (r->kind) {
	case VS_REC_FW_DATA:
		return r->size >= CHUNK_HDR_BYTES ? CHUNK_HDR_BYTES : 0;
	case VS_REC_STOP_COPY_SIZE:
		return 8;
	case VS_REC_CHUNK_CRC:
		return CRC_REC_BYTES;
	case VS_REC_MIG_UUID:
		return sizeof(r->mig_uuid);
	default:
		return 0;
	}
}

/* A CHUNK_CRC record is complete: it applies to the next record. */
static int finish_crc_record(struct vs_parser *p)
{
	struct vs_record *r = &p->cur;

	r->crc.crc32c = le32(p->head);
	r->crc.algo = le32(p->head + 4);
	r->crc.covered = le64(p->head + 8);
	if (r->crc.algo != VFMIG_CRC_ALGO_CRC32C)
		return (int)bad(p, r->offset, "CHUNK_CRC record with unknown algorithm %u",
				r->crc.algo);
	p->crc_next = r->crc;
	p->crc_pending = true;
	p->crc_seen = true;
	p->tot.crc_records++;
	return 0;
}

/* A FW_DATA record is complete: check it against its CHUNK_CRC record. */
static int finish_fw_data(struct vs_parser *p)
{
	struct vs_record *r = &p->cur;

	if (r->crc_state == VS_CRC_MISSING) {
		p->tot.crc_missing++;
		return 0;
	}
	if (!p->crc_on)
		return 0;
	p->crc_on = false;
	r->crc_actual = p->crc_run;
	if (r->crc.covered == VFMIG_RECORD_HEADER_SIZE + r->size &&
	    r->crc.crc32c == r->crc_actual) {
		r->crc_state = VS_CRC_OK;
		p->tot.crc_ok++;
		return 0;
	}
	r->crc_state = VS_CRC_BAD;
	p->tot.crc_bad++;
	if (!(p->opts & VS_OPT_CRC))
		return 0;
	return (int)bad(p, r->offset,
			"FW_DATA record fails its CHUNK_CRC (crc32c 0x%08x, record says 0x%08x)",
			r->crc_actual, r->crc.crc32c);
}

/*
 * The page index table of a chunk streams by (@n payload bytes at @b, the
 * payload offset is p->pay_fill): indexes strictly increase and stay
 * inside the state, as the loader checks them.
 */
static ssize_t scan_index(struct vs_parser *p, const uint8_t *b, uint64_t n)
{
	const struct vs_chunk *c = &p->cur.chunk;
	uint64_t lo = p->pay_fill, end = CHUNK_HDR_BYTES + (uint64_t)c->npages * 8;
	uint64_t from = lo > CHUNK_HDR_BYTES ? lo : CHUNK_HDR_BYTES;
	uint64_t to = lo + n < end ? lo + n : end;

	for (uint64_t i = from; i < to; i++) {
		uint64_t k, v;

		p->idx[p->idx_fill++] = b[i - lo];
		if (p->idx_fill < 8)
			continue;
		p->idx_fill = 0;
		v = le64(p->idx);
		k = (i - CHUNK_HDR_BYTES) / 8;
		if (v >= c->state_size / VFMIG_PAGE_SIZE)
			return bad(p, p->cur.offset,
				   "page index %llu (entry %llu) beyond the state's %llu pages",
				   (unsigned long long)v, (unsigned long long)k,
				   (unsigned long long)(c->state_size / VFMIG_PAGE_SIZE));
		if (k && v <= p->idx_prev)
			return bad(p, p->cur.offset,
				   "page indexes do not increase (%llu after %llu, entry %llu)",
				   (unsigned long long)v,
				   (unsigned long long)p->idx_prev,
				   (unsigned long long)k);
		p->idx_prev = v;
	}
	return 0;
}

ssize_t vs_feed(struct vs_parser *p, const void *buf, size_t len,
		struct vs_record *rec, int *got)
{
	const uint8_t *b = buf;
	size_t used = 0;

	*got = 0;
	if (p->failed)
		return -1;
	while (used < len) {
		if (p->state == ST_HDR) {
			size_t n = VFMIG_RECORD_HEADER_SIZE - p->hdr_fill;

			if (n > len - used)
				n = len - used;
			memcpy(p->hdr + p->hdr_fill, b + used, n);
			p->hdr_fill += n;
			used += n;
			p->pos += n;
			if (p->hdr_fill < VFMIG_RECORD_HEADER_SIZE)
				continue;
			p->hdr_fill = 0;
			if (parse_header(p))
				return -1;
		} else {
			uint32_t hl = head_len(&p->cur);
			uint64_t n = p->cur.size - p->pay_fill;

			if (n > len - used)
				n = len - used;
			if (p->crc_on)
				p->crc_run = crc32c(p->crc_run, b + used, (size_t)n);
			if (p->head_fill < hl) {
				uint32_t h = hl - p->head_fill;

				if (h > n)
					h = (uint32_t)n;
				memcpy(p->head + p->head_fill, b + used, h);
				p->head_fill += h;
				if (p->head_fill == hl &&
				    p->cur.kind == VS_REC_FW_DATA &&
				    check_chunk(p))
					return -1;
			}
			if (p->cur.is_chunk && scan_index(p, b + used, n))
				return -1;
			used += n;
			p->pos += n;
			p->pay_fill += n;
		}
		if (p->state == ST_PAYLOAD && p->pay_fill == p->cur.size) {
			struct vs_record *r = &p->cur;

			if (r->kind == VS_REC_FW_DATA && !r->is_chunk &&
			    (p->opts & VS_OPT_VFMIG))
				return bad(p, r->offset, "empty FW_DATA record");
			if (r->kind == VS_REC_STOP_COPY_SIZE)
				r->stop_copy_size = le64(p->head);
			if (r->kind == VS_REC_MIG_UUID) {
				memcpy(r->mig_uuid, p->head, sizeof(r->mig_uuid));
				p->tot.mig_uuid_records++;
			}
			if (r->kind == VS_REC_CHUNK_CRC && finish_crc_record(p))
				return -1;
			if (r->kind == VS_REC_FW_DATA && finish_fw_data(p))
				return -1;
			p->tot.records++;
			if (r->kind == VS_REC_FW_DATA) {
				p->tot.fw_data_records++;
				p->tot.fw_data_bytes += r->size;
			} else if (r->kind == VS_REC_OPTIONAL) {
				p->tot.optional_records++;
			}
			*rec = *r;
			*got = 1;
			p->state = ST_HDR;
			break;
		}
	}
	return (ssize_t)used;
}

int vs_end(struct vs_parser *p)
{
	if (p->failed)
		return -1;
	if (p->state == ST_HDR && p->hdr_fill) {
		bad(p, p->pos - p->hdr_fill,
		    "stream ends inside a record header (%u of 16 bytes)",
		    p->hdr_fill);
		return -1;
	}
	if (p->state == ST_PAYLOAD) {
		bad(p, p->cur.offset,
		    "stream ends inside a %s record (%llu of %llu payload bytes)",
		    vs_tag_name(p->cur.tag), (unsigned long long)p->pay_fill,
		    (unsigned long long)p->cur.size);
		return -1;
	}
	if (p->crc_pending) {
		bad(p, p->pos, "stream ends after a CHUNK_CRC record");
		return -1;
	}
	if (p->img_open) {
		bad(p, p->pos, "stream ends inside image %u (no LAST chunk)",
		    p->img_seq);
		return -1;
	}
	return 0;
}
