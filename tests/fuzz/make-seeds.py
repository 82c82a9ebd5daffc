#!/usr/bin/env python3
# Seed inputs of tests/fuzz/fuzz_stream.c: small vfmig streams (an initial
# image, a middle image, a final image; with and without CHUNK_CRC records)
# and an mlx5-like one, each behind the harness's mode byte. CRC fields are
# left zero: mode bit 2 makes the harness fill them in.
#   tests/fuzz/make-seeds.py DIR
import os
import struct
import sys

PAGE = 4096
PAGES = 8
FULL, FIRST, LAST, FINAL = 1, 2, 4, 8


def rec(tag, payload, flags=0):
    return struct.pack("<QII", len(payload), flags, tag) + payload


def chunk(image, seq, flags, pages, gen=7):
    hdr = struct.pack("<IHHIIQQII", 0x676D6676, 1, flags, image, seq, gen,
                      PAGES * PAGE, len(pages), 0)
    idx = b"".join(struct.pack("<Q", p) for p in pages)
    data = b"".join(bytes([p * 17 & 0xFF]) * PAGE for p in pages)
    return rec(0, hdr + idx + data)


def crc():
    return rec(2, struct.pack("<IIQ", 0, 1, 0), 1)   # crc32c, algo, covered


def stream(with_crc):
    parts = [rec(1, struct.pack("<Q", 3 * PAGE), 1)]
    chunks = [
        chunk(0, 0, FULL | FIRST, [0, 1]),
        chunk(0, 1, FULL | LAST, [2]),
        chunk(1, 0, FIRST | LAST, [1]),
        chunk(2, 0, FIRST | LAST | FINAL, []),
    ]
    for c in chunks:
        if with_crc:
            parts.append(crc())
        parts.append(c)
    return b"".join(parts)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        "crc-strict": bytes([0x07]) + stream(True),
        "crc-lenient": bytes([0x05]) + stream(True),
        "crc-unfixed": bytes([0x03]) + stream(True),
        "plain": bytes([0x01]) + stream(False),
        "mlx5": bytes([0x00]) + rec(1, struct.pack("<Q", 64), 1) +
                rec(0, bytes(range(64))) + rec(0x40, b"opt", 1),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
