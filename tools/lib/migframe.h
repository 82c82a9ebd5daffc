/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * migctl's transport framing, shared by files (`migctl save/load`) and TCP
 * (`migctl send/receive`). The device's own stream (mlx5 records for vfmig,
 * anything for other drivers) travels unchanged inside DATA frames; the
 * frames add what the device stream lacks: who sent it, where PRE_COPY
 * ended, an explicit end (so a cut stream is never mistaken for a complete
 * one), per-frame checksums in files, and the target's reply over TCP.
 *
 * Frame: 24-byte header, little endian, then len payload bytes.
 */
#ifndef MIGFRAME_H
#define MIGFRAME_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_MAGIC	0x4d434631u	/* "1FCM" on disk: 31 46 43 4d */
#define MF_VERSION	1
#define MF_HDR_SIZE	24
#define MF_MAX_PAYLOAD	(8u << 20)

enum mf_type {
	MF_HELLO = 1,		/* sender -> target: struct mf_hello */
	MF_READY = 2,		/* target -> sender: target RESUMING */
	MF_DATA_PRE = 3,	/* device stream read in PRE_COPY */
	MF_DATA_STOP = 4,	/* device stream read in STOP_COPY */
	MF_SWITCHOVER = 5,	/* source suspended; DATA_STOP follows */
	MF_END = 6,		/* struct mf_end: the stream is complete */
	MF_ACK = 7,		/* target -> sender: struct mf_ack */
	MF_ERROR = 8,		/* either way: text message, then close */
};

#define MF_F_CSUM	(1u << 0)	/* csum field is valid */

struct mf_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t flags;
	uint32_t len;
	uint64_t csum;		/* mf_hash64 of the payload if MF_F_CSUM */
};

struct mf_hello {
	uint64_t mig_flags;	/* source VFIO_MIGRATION_* */
	uint64_t state_size;	/* vfmig state size, 0 if not vfmig */
	uint32_t precopy;	/* 1: PRE_COPY data will come */
	uint32_t is_vfmig;
	char source[64];	/* source device name */
};

struct mf_end {
	uint64_t precopy_bytes;
	uint64_t stop_copy_bytes;
	uint64_t total_bytes;
	uint32_t iterations;
	uint32_t reserved;
};

struct mf_ack {
	int32_t status;		/* 0 = target RUNNING, else -errno */
	uint32_t reserved;
	uint64_t load_tail_ns;	/* target write()s after END arrived + RESUMING->STOP */
	uint64_t load_total_ns;	/* every target write() + RESUMING->STOP */
	uint64_t resume_ns;	/* STOP -> RUNNING_P2P -> RUNNING */
	uint64_t bytes;		/* device stream bytes written to the target */
	char digest[16];	/* vfmig target digest ("" if not vfmig) */
};

/* A fast 64-bit hash (not cryptographic) for frame checksums. */
uint64_t mf_hash64(const void *buf, size_t len);

void mf_hdr_pack(uint8_t out[MF_HDR_SIZE], uint16_t type, uint32_t flags,
		 uint32_t len, uint64_t csum);
/* 0, or -1 with a message in err for a bad magic/version/type/length. */
int mf_hdr_unpack(const uint8_t in[MF_HDR_SIZE], struct mf_hdr *h,
		  char *err, size_t errlen);

/* Structs travel as little-endian packed byte images. */
void mf_hello_pack(const struct mf_hello *h, uint8_t *out, uint32_t *len);
int mf_hello_unpack(const uint8_t *in, uint32_t len, struct mf_hello *h);
void mf_end_pack(const struct mf_end *e, uint8_t *out, uint32_t *len);
int mf_end_unpack(const uint8_t *in, uint32_t len, struct mf_end *e);
void mf_ack_pack(const struct mf_ack *a, uint8_t *out, uint32_t *len);
int mf_ack_unpack(const uint8_t *in, uint32_t len, struct mf_ack *a);

const char *mf_type_name(uint16_t type);

/*
 * Frames over an fd (socket, pipe or file; sockets non-blocking), with a
 * no-progress timeout and an exact account of where a stream stopped, so a
 * peer that vanished gets one message wherever the cut fell: between
 * frames, inside a header, inside a payload, by EOF or by a reset.
 * migframe_io.c.
 */
enum mf_io_status {
	MF_IO_OK = 0,
	MF_IO_EOF,		/* read: end of stream before a frame's first byte */
	MF_IO_CUT,		/* EOF inside a frame, or the connection reset or
				 * closed under us (err: ECONNRESET, EPIPE,
				 * ECONNABORTED), at any point */
	MF_IO_TIMEOUT,		/* no progress for timeout_ms */
	MF_IO_STOPPED,		/* *stop was set */
	MF_IO_CORRUPT,		/* bad header or checksum (msg) */
	MF_IO_ERROR,		/* any other error (err, or msg) */
};

enum mf_io_part {
	MF_PART_NONE,		/* at a frame boundary (or a raw write) */
	MF_PART_HDR,		/* inside the 24-byte header */
	MF_PART_PAYLOAD,	/* inside the payload of a frame of type */
};

struct mf_io {
	/* in */
	uint64_t timeout_ms;
	const volatile sig_atomic_t *stop;	/* may be NULL */
	/* out: what happened and where */
	enum mf_io_status status;
	int err;		/* errno (CUT by a reset, ERROR); 0 for an EOF */
	bool write;		/* the operation was a write */
	enum mf_io_part part;
	uint16_t type;		/* frame type: when writing, or read header complete */
	size_t got, want;	/* bytes of the part done and expected */
	char msg[128];		/* CORRUPT, ERROR without errno */
};

/* 1 ready, 0 timeout, -1 error or *stop set (errno EINTR). */
int mf_wait_fd(int fd, short events, uint64_t timeout_ms,
	       const volatile sig_atomic_t *stop);
/* 0, or -1 with io->status and where. */
int mf_send(int fd, uint16_t type, const void *payload, uint32_t len,
	    bool csum, struct mf_io *io);
/* buf holds MF_MAX_PAYLOAD bytes. 0, or -1 with io->status and where. */
int mf_recv(int fd, struct mf_hdr *h, uint8_t *buf, struct mf_io *io);
/* Bytes without a frame (raw streams). */
int mf_write_all(int fd, const void *buf, size_t len, struct mf_io *io);

/* The peer is gone: EOF (at a boundary or inside a frame) or a reset. */
bool mf_io_peer_gone(const struct mf_io *io);
/*
 * Where a stream stopped, for EOF and CUT, e.g. "EOF between frames",
 * "connection reset inside a frame header, after 10 of its 24 bytes",
 * "EOF inside a DATA_STOP frame, after 868800 of its 1048576 payload bytes",
 * "broken pipe while sending a DATA_PRE frame, after 0 of its 24 header bytes".
 */
void mf_io_where(const struct mf_io *io, char *out, size_t len);
/* Any status in a few words: where, "nothing received for N ms", ... */
void mf_io_describe(const struct mf_io *io, char *out, size_t len);

#endif /* MIGFRAME_H */
