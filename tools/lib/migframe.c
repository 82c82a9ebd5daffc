// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* migctl transport frames; see migframe.h. */
#include <stdio.h>
#include <string.h>

#include "migframe.h"

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static uint64_t get64(const uint8_t *b)
{
	return (uint64_t)get32(b) | (uint64_t)get32(b + 4) << 32;
}

uint64_t mf_hash64(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ull ^ len;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 32;
	return h;
}

void mf_hdr_pack(uint8_t out[MF_HDR_SIZE], uint16_t type, uint32_t flags,
		 uint32_t len, uint64_t csum)
{
	put32(out, MF_MAGIC);
	put16(out + 4, MF_VERSION);
	put16(out + 6, type);
	put32(out + 8, flags);
	put32(out + 12, len);
	put64(out + 16, csum);
}

const char *mf_type_name(uint16_t type)
{
	static const char *const names[] = {
		[MF_HELLO] = "HELLO", [MF_READY] = "READY",
		[MF_DATA_PRE] = "DATA_PRE", [MF_DATA_STOP] = "DATA_STOP",
		[MF_SWITCHOVER] = "SWITCHOVER", [MF_END] = "END",
		[MF_ACK] = "ACK", [MF_ERROR] = "ERROR",
	};

	if (type && type < sizeof(names) / sizeof(names[0]))
		return names[type];
	return "?";
}

int mf_hdr_unpack(const uint8_t in[MF_HDR_SIZE], struct mf_hdr *h,
		  char *err, size_t errlen)
{
	h->magic = get32(in);
	h->version = get16(in + 4);
	h->type = get16(in + 6);
	h->flags = get32(in + 8);
	h->len = get32(in + 12);
	h->csum = get64(in + 16);
	if (h->magic != MF_MAGIC) {
		snprintf(err, errlen, "bad frame magic 0x%08x", h->magic);
		return -1;
	}
	if (h->version != MF_VERSION) {
		snprintf(err, errlen, "unsupported frame version %u", h->version);
		return -1;
	}
	if (!h->type || h->type > MF_ERROR) {
		snprintf(err, errlen, "unknown frame type %u", h->type);
		return -1;
	}
	if (h->flags & ~MF_F_CSUM) {
		snprintf(err, errlen, "unknown frame flags 0x%x", h->flags);
		return -1;
	}
	if (h->len > MF_MAX_PAYLOAD) {
		snprintf(err, errlen, "frame of %u bytes exceeds %u", h->len,
			 MF_MAX_PAYLOAD);
		return -1;
	}
	return 0;
}

#define HELLO_LEN	(8 + 8 + 4 + 4 + 64)
#define END_LEN		(8 * 3 + 4 + 4)
#define ACK_LEN		(4 + 4 + 8 * 4 + 16)

void mf_hello_pack(const struct mf_hello *h, uint8_t *out, uint32_t *len)
{
	put64(out, h->mig_flags);
	put64(out + 8, h->state_size);
	put32(out + 16, h->precopy);
	put32(out + 20, h->is_vfmig);
	memcpy(out + 24, h->source, 64);
	*len = HELLO_LEN;
}

int mf_hello_unpack(const uint8_t *in, uint32_t len, struct mf_hello *h)
{
	if (len != HELLO_LEN)
		return -1;
	h->mig_flags = get64(in);
	h->state_size = get64(in + 8);
	h->precopy = get32(in + 16);
	h->is_vfmig = get32(in + 20);
	memcpy(h->source, in + 24, 64);
	h->source[63] = 0;
	return 0;
}

void mf_end_pack(const struct mf_end *e, uint8_t *out, uint32_t *len)
{
	put64(out, e->precopy_bytes);
	put64(out + 8, e->stop_copy_bytes);
	put64(out + 16, e->total_bytes);
	put32(out + 24, e->iterations);
	put32(out + 28, 0);
	*len = END_LEN;
}

int mf_end_unpack(const uint8_t *in, uint32_t len, struct mf_end *e)
{
	if (len != END_LEN)
		return -1;
	e->precopy_bytes = get64(in);
	e->stop_copy_bytes = get64(in + 8);
	e->total_bytes = get64(in + 16);
	e->iterations = get32(in + 24);
	e->reserved = 0;
	return 0;
}

void mf_ack_pack(const struct mf_ack *a, uint8_t *out, uint32_t *len)
{
	put32(out, (uint32_t)a->status);
	put32(out + 4, 0);
	put64(out + 8, a->load_tail_ns);
	put64(out + 16, a->load_total_ns);
	put64(out + 24, a->resume_ns);
	put64(out + 32, a->bytes);
	memcpy(out + 40, a->digest, 16);
	*len = ACK_LEN;
}

int mf_ack_unpack(const uint8_t *in, uint32_t len, struct mf_ack *a)
{
	if (len != ACK_LEN)
		return -1;
	a->status = (int32_t)get32(in);
	a->reserved = 0;
	a->load_tail_ns = get64(in + 8);
	a->load_total_ns = get64(in + 16);
	a->resume_ns = get64(in + 24);
	a->bytes = get64(in + 32);
	memcpy(a->digest, in + 40, 16);
	a->digest[15] = 0;
	return 0;
}
