// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit tests of tools/lib/crc32c.c: the published CRC-32C check values
 * (the "123456789" check value and the RFC 3720 B.4 iSCSI vectors), a
 * bit-at-a-time reference on random buffers at every alignment, and
 * incremental use in pieces. Runs under ASan/UBSan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

#include "unit_check.h"

/* The definition: reflected polynomial 0x82f63b78, one bit at a time. */
static uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static void test_vectors(void)
{
	uint8_t b[48];

	CHECK(crc32c(0, "123456789", 9) == 0xe3069283u, "check value: %08x",
	      crc32c(0, "123456789", 9));
	CHECK(crc32c(0, "", 0) == 0, "empty: %08x", crc32c(0, "", 0));
	/* RFC 3720, B.4 CRC Examples */
	memset(b, 0, 32);
	CHECK(crc32c(0, b, 32) == 0x8a9136aau, "32 zeros: %08x", crc32c(0, b, 32));
	memset(b, 0xff, 32);
	CHECK(crc32c(0, b, 32) == 0x62a8ab43u, "32 ones: %08x", crc32c(0, b, 32));
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	CHECK(crc32c(0, b, 32) == 0x46dd794eu, "incrementing: %08x", crc32c(0, b, 32));
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	CHECK(crc32c(0, b, 32) == 0x113fdb5cu, "decrementing: %08x", crc32c(0, b, 32));
	{
		static const uint8_t pdu[48] = {
			0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
			0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
			0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		};

		CHECK(crc32c(0, pdu, sizeof(pdu)) == 0xd9963a56u,
		      "iSCSI read PDU: %08x", crc32c(0, pdu, sizeof(pdu)));
	}
}

static void test_reference(void)
{
	size_t len = 5000;
	uint8_t *buf = malloc(len + 8);

	if (!buf)
		abort();
	srand(1);
	for (size_t i = 0; i < len + 8; i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n < 70; n++)
			CHECK(crc32c(0, buf + off, n) == ref_crc32c(buf + off, n),
			      "offset %zu length %zu", off, n);
	for (int i = 0; i < 50; i++) {
		size_t off = (size_t)rand() % 8, n = (size_t)rand() % len;

		CHECK(crc32c(0, buf + off, n) == ref_crc32c(buf + off, n),
		      "random offset %zu length %zu", off, n);
	}
	/* in pieces: crc32c(crc32c(0, a), b) == crc32c(0, ab) */
	for (int i = 0; i < 200; i++) {
		uint32_t whole = crc32c(0, buf, len), c = 0;
		size_t at = 0;

		while (at < len) {
			size_t n = (size_t)rand() % (i < 100 ? 17 : 900) + 1;

			if (n > len - at)
				n = len - at;
			c = crc32c(c, buf + at, n);
			at += n;
		}
		CHECK(c == whole, "pieces %d: %08x != %08x", i, c, whole);
	}
	/* any single bit flip changes it */
	for (size_t bit = 0; bit < 64 * 8; bit++) {
		uint32_t c0 = crc32c(0, buf, 64);

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(crc32c(0, buf, 64) != c0, "flip of bit %zu undetected", bit);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(buf);
}

int main(void)
{
	test_vectors();
	test_reference();
	return unit_report("test_crc32c");
}
