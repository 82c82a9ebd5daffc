// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * migctl frames over an fd; see migframe.h. Nothing here blocks forever:
 * a non-blocking fd waits in poll() slices of at most 200 ms, re-checking
 * the stop flag, until timeout_ms pass without progress.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "migframe.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool stopped(const volatile sig_atomic_t *stop)
{
	return stop && *stop;
}

int mf_wait_fd(int fd, short events, uint64_t timeout_ms,
	       const volatile sig_atomic_t *stop)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t end = mono_ns() + timeout_ms * 1000000ull;

	for (;;) {
		uint64_t t = mono_ns();
		int ms, n;

		if (stopped(stop)) {
			errno = EINTR;
			return -1;
		}
		if (t >= end)
			return 0;
		ms = (int)((end - t) / 1000000ull) + 1;
		if (ms > 200)
			ms = 200;	/* re-check *stop */
		n = poll(&p, 1, ms);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* The errors that mean the peer closed or reset the connection. */
static bool peer_errno(int e)
{
	return e == ECONNRESET || e == EPIPE || e == ECONNABORTED;
}

static void io_start(struct mf_io *io, bool write, enum mf_io_part part,
		     uint16_t type, size_t want)
{
	io->status = MF_IO_OK;
	io->err = 0;
	io->write = write;
	io->part = part;
	io->type = type;
	io->got = 0;
	io->want = want;
	io->msg[0] = 0;
}

/* read()/write() returned @n (< 1) for the rest of a part: go on or fail. */
static int io_retry(int fd, ssize_t n, struct mf_io *io)
{
	int e = errno, w;

	if (n == 0) {
		if (io->write) {
			io->status = MF_IO_ERROR;
			snprintf(io->msg, sizeof(io->msg), "short write");
		} else {
			io->status = MF_IO_CUT;	/* EOF; mf_recv tells EOF at a boundary */
		}
		return -1;
	}
	if (e == EINTR && !stopped(io->stop))
		return 0;
	if (e == EINTR) {
		io->status = MF_IO_STOPPED;
		return -1;
	}
	if (e == EAGAIN || e == EWOULDBLOCK) {
		w = mf_wait_fd(fd, io->write ? POLLOUT : POLLIN, io->timeout_ms,
			       io->stop);
		if (w > 0)
			return 0;
		if (!w) {
			io->status = MF_IO_TIMEOUT;
		} else if (errno == EINTR) {
			io->status = MF_IO_STOPPED;
		} else {
			io->status = MF_IO_ERROR;
			io->err = errno;
		}
		return -1;
	}
	io->err = e;
	io->status = peer_errno(e) ? MF_IO_CUT : MF_IO_ERROR;
	return -1;
}

static int read_part(int fd, void *buf, struct mf_io *io)
{
	uint8_t *b = buf;

	while (io->got < io->want) {
		ssize_t n = read(fd, b + io->got, io->want - io->got);

		if (n > 0)
			io->got += (size_t)n;
		else if (io_retry(fd, n, io))
			return -1;
	}
	return 0;
}

static int write_part(int fd, const void *buf, struct mf_io *io)
{
	const uint8_t *b = buf;

	while (io->got < io->want) {
		ssize_t n = write(fd, b + io->got, io->want - io->got);

		if (n > 0)
			io->got += (size_t)n;
		else if (io_retry(fd, n, io))
			return -1;
	}
	return 0;
}

int mf_send(int fd, uint16_t type, const void *payload, uint32_t len,
	    bool csum, struct mf_io *io)
{
	uint8_t hdr[MF_HDR_SIZE];

	mf_hdr_pack(hdr, type, csum ? MF_F_CSUM : 0, len,
		    csum ? mf_hash64(payload, len) : 0);
	io_start(io, true, MF_PART_HDR, type, MF_HDR_SIZE);
	if (write_part(fd, hdr, io))
		return -1;
	io_start(io, true, MF_PART_PAYLOAD, type, len);
	return write_part(fd, payload, io);
}

int mf_write_all(int fd, const void *buf, size_t len, struct mf_io *io)
{
	io_start(io, true, MF_PART_NONE, 0, len);
	return write_part(fd, buf, io);
}

int mf_recv(int fd, struct mf_hdr *h, uint8_t *buf, struct mf_io *io)
{
	uint8_t hdr[MF_HDR_SIZE];

	io_start(io, false, MF_PART_HDR, 0, MF_HDR_SIZE);
	if (read_part(fd, hdr, io)) {
		if (!io->got && io->status == MF_IO_CUT) {
			/* Nothing of this frame arrived: the cut is between frames. */
			io->part = MF_PART_NONE;
			io->want = 0;
			if (!io->err)
				io->status = MF_IO_EOF;
		}
		return -1;
	}
	if (mf_hdr_unpack(hdr, h, io->msg, sizeof(io->msg))) {
		io->status = MF_IO_CORRUPT;
		return -1;
	}
	io_start(io, false, MF_PART_PAYLOAD, h->type, h->len);
	if (read_part(fd, buf, io))
		return -1;
	if ((h->flags & MF_F_CSUM) && mf_hash64(buf, h->len) != h->csum) {
		io->status = MF_IO_CORRUPT;
		snprintf(io->msg, sizeof(io->msg),
			 "checksum mismatch in a %s frame of %u bytes",
			 mf_type_name(h->type), h->len);
		return -1;
	}
	return 0;
}

bool mf_io_peer_gone(const struct mf_io *io)
{
	return io->status == MF_IO_EOF || io->status == MF_IO_CUT;
}

void mf_io_where(const struct mf_io *io, char *out, size_t len)
{
	const char *how = !io->err ? "EOF" :
			  io->err == ECONNRESET ? "connection reset" :
			  io->err == EPIPE ? "broken pipe" :
			  io->err == ECONNABORTED ? "connection aborted" :
			  strerror(io->err);
	const char *type = mf_type_name(io->type);
	const char *a = strchr("AEIOU", type[0]) ? "an" : "a";

	switch (io->part) {
	case MF_PART_NONE:
		if (!io->write)
			snprintf(out, len, "%s between frames", how);
		else
			snprintf(out, len, "%s after %zu of %zu bytes", how,
				 io->got, io->want);
		break;
	case MF_PART_HDR:
		if (!io->write)
			snprintf(out, len, "%s inside a frame header, after %zu of its %d bytes",
				 how, io->got, MF_HDR_SIZE);
		else
			snprintf(out, len, "%s while sending %s %s frame, after %zu of its %d header bytes",
				 how, a, type, io->got, MF_HDR_SIZE);
		break;
	case MF_PART_PAYLOAD:
		snprintf(out, len, "%s %s %s %s frame, after %zu of its %zu payload bytes",
			 how, io->write ? "while sending" : "inside", a, type,
			 io->got, io->want);
		break;
	}
}

void mf_io_describe(const struct mf_io *io, char *out, size_t len)
{
	switch (io->status) {
	case MF_IO_OK:
		snprintf(out, len, "ok");
		break;
	case MF_IO_EOF:
	case MF_IO_CUT:
		mf_io_where(io, out, len);
		break;
	case MF_IO_TIMEOUT:
		snprintf(out, len, "%s for %llu ms",
			 io->write ? "no progress" : "nothing received",
			 (unsigned long long)io->timeout_ms);
		break;
	case MF_IO_STOPPED:
		snprintf(out, len, "interrupted");
		break;
	case MF_IO_CORRUPT:
		snprintf(out, len, "corrupted stream: %s", io->msg);
		break;
	case MF_IO_ERROR:
		snprintf(out, len, "%s", io->err ? strerror(io->err) : io->msg);
		break;
	}
}
