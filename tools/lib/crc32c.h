/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of
 * vfmig's CHUNK_CRC records and of the device digest: initial value ~0,
 * final xor ~0, i.e. the kernel's ~__crc32c_le(~0, buf, len).
 *
 * Incremental like zlib's crc32(): start from 0 and feed pieces,
 *   c = crc32c(0, a, na); c = crc32c(c, b, nb);  ==  crc32c(0, ab, na + nb)
 * Table-driven (slicing by 8), no CPU-specific code. Thread-safe.
 */
#ifndef VFMIG_CRC32C_H
#define VFMIG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif /* VFMIG_CRC32C_H */
