// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit tests of migctl's frame I/O (tools/lib/migframe_io.c): where a
 * stream stopped when the peer vanished. A stream of frames is cut at every
 * byte offset (AF_UNIX socket and regular file): the frames before the cut
 * arrive intact, then EOF between frames, or a cut inside a header or a
 * payload with the exact byte counts and the one wording of mf_io_where().
 * Then resets (AF_UNIX close with unread data, TCP RST over loopback),
 * broken pipes while writing, timeouts, the stop flag and corrupt frames.
 * Runs under ASan/UBSan.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "migframe.h"

#include "unit_check.h"

/* A stream: HELLO, DATA_PRE, an empty DATA_PRE (keepalive), SWITCHOVER, DATA_STOP, END. */
#define NFRAMES 6
static const struct {
	uint16_t type;
	uint32_t len;
} frames[NFRAMES] = {
	{ MF_HELLO, 88 }, { MF_DATA_PRE, 1000 }, { MF_DATA_PRE, 0 },
	{ MF_SWITCHOVER, 0 }, { MF_DATA_STOP, 3001 }, { MF_END, 32 },
};
static uint8_t stream[NFRAMES * MF_HDR_SIZE + 88 + 1000 + 3001 + 32];
static size_t start[NFRAMES + 1];	/* offset of each frame, then the total */
static uint8_t *rbuf;

static void build_stream(void)
{
	size_t off = 0;

	for (int i = 0; i < NFRAMES; i++) {
		uint8_t *p = stream + off + MF_HDR_SIZE;

		start[i] = off;
		for (uint32_t j = 0; j < frames[i].len; j++)
			p[j] = (uint8_t)(i * 31 + j * 7);
		mf_hdr_pack(stream + off, frames[i].type, MF_F_CSUM, frames[i].len,
			    mf_hash64(p, frames[i].len));
		off += MF_HDR_SIZE + frames[i].len;
	}
	start[NFRAMES] = off;
	if (off != sizeof(stream))
		abort();
}

static struct mf_io io_for(uint64_t timeout_ms, const volatile sig_atomic_t *stop)
{
	struct mf_io io;

	memset(&io, 0x5a, sizeof(io));	/* mf_* must set every output */
	io.timeout_ms = timeout_ms;
	io.stop = stop;
	return io;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void write_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w <= 0)
			abort();
		b += w;
		n -= (size_t)w;
	}
}

/* What mf_io_where() must say for a read of the stream cut at @cut by HOW. */
static void expect_where(size_t cut, const char *how, char *out, size_t len)
{
	int i = 0;

	while (i < NFRAMES && start[i + 1] <= cut)
		i++;
	if (i == NFRAMES || cut == start[i])
		snprintf(out, len, "%s between frames", how);
	else if (cut - start[i] < MF_HDR_SIZE)
		snprintf(out, len, "%s inside a frame header, after %zu of its 24 bytes",
			 how, cut - start[i]);
	else
		snprintf(out, len, "%s inside %s %s frame, after %zu of its %u payload bytes",
			 how, frames[i].type == MF_END ? "an" : "a",
			 mf_type_name(frames[i].type),
			 cut - start[i] - MF_HDR_SIZE, frames[i].len);
}

/*
 * Read frames from @fd until one fails; the stream was cut at @cut. The
 * complete frames arrive intact, then the failure says where, with errno
 * @err (0: an EOF).
 */
static void read_cut(int fd, size_t cut, int err, const char *label)
{
	struct mf_io io = io_for(2000, NULL);
	char want[200], got[200];
	struct mf_hdr h;
	int n = 0, rc;
	size_t in_frame;

	while (!(rc = mf_recv(fd, &h, rbuf, &io))) {
		CHECK(n < NFRAMES && start[n + 1] <= cut,
		      "%s cut %zu: frame %d arrived although cut", label, cut, n);
		if (n >= NFRAMES)
			return;
		CHECK(h.type == frames[n].type && h.len == frames[n].len &&
		      !memcmp(rbuf, stream + start[n] + MF_HDR_SIZE, h.len),
		      "%s cut %zu: frame %d differs", label, cut, n);
		CHECK(io.status == MF_IO_OK, "%s: status %d after a frame", label,
		      io.status);
		n++;
	}
	CHECK(n == NFRAMES || start[n + 1] > cut,
	      "%s cut %zu: only %d frames arrived", label, cut, n);
	in_frame = n < NFRAMES ? cut - start[n] : 0;
	CHECK(mf_io_peer_gone(&io), "%s cut %zu: status %d, not a vanished peer",
	      label, cut, io.status);
	CHECK(io.err == err, "%s cut %zu: errno %d, want %d", label, cut, io.err, err);
	CHECK(!io.write, "%s cut %zu: write set on a read", label, cut);
	if (!in_frame) {
		CHECK(io.status == (err ? MF_IO_CUT : MF_IO_EOF) &&
		      io.part == MF_PART_NONE,
		      "%s cut %zu at a boundary: status %d part %d", label, cut,
		      io.status, io.part);
	} else if (in_frame < MF_HDR_SIZE) {
		CHECK(io.status == MF_IO_CUT && io.part == MF_PART_HDR &&
		      io.got == in_frame && io.want == MF_HDR_SIZE,
		      "%s cut %zu in a header: status %d part %d %zu/%zu", label,
		      cut, io.status, io.part, io.got, io.want);
	} else {
		CHECK(io.status == MF_IO_CUT && io.part == MF_PART_PAYLOAD &&
		      io.type == frames[n].type &&
		      io.got == in_frame - MF_HDR_SIZE && io.want == frames[n].len,
		      "%s cut %zu in a payload: status %d part %d type %u %zu/%zu",
		      label, cut, io.status, io.part, io.type, io.got, io.want);
	}
	expect_where(cut, !err ? "EOF" : err == ECONNRESET ? "connection reset" :
		     "broken pipe", want, sizeof(want));
	mf_io_where(&io, got, sizeof(got));
	CHECK(!strcmp(got, want), "%s cut %zu: where \"%s\", want \"%s\"", label,
	      cut, got, want);
	mf_io_describe(&io, got, sizeof(got));
	CHECK(!strcmp(got, want), "%s cut %zu: describe \"%s\", want \"%s\"",
	      label, cut, got, want);
}

/* Every cut point, through an AF_UNIX stream socket and a regular file. */
static void test_eof_everywhere(void)
{
	int mfd = memfd_create("stream", 0);

	if (mfd < 0)
		abort();
	for (size_t cut = 0; cut <= sizeof(stream); cut++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			abort();
		write_all(sv[1], stream, cut);
		close(sv[1]);
		set_nonblock(sv[0]);
		read_cut(sv[0], cut, 0, "socket EOF");
		close(sv[0]);

		if (ftruncate(mfd, 0) || lseek(mfd, 0, SEEK_SET))
			abort();
		write_all(mfd, stream, cut);
		lseek(mfd, 0, SEEK_SET);
		read_cut(mfd, cut, 0, "file EOF");
	}
	close(mfd);
}

/* Cut points worth a reset: every boundary, inside each header and payload. */
static size_t reset_cuts(size_t *cuts)
{
	size_t n = 0;

	for (int i = 0; i <= NFRAMES; i++) {
		cuts[n++] = start[i];
		if (i < NFRAMES) {
			cuts[n++] = start[i] + 10;
			if (frames[i].len)
				cuts[n++] = start[i] + MF_HDR_SIZE + frames[i].len / 2;
		}
	}
	return n;
}

/*
 * AF_UNIX: closing a socket with unread data resets the connection; the
 * reader gets what was sent, then ECONNRESET.
 */
static void test_unix_reset(void)
{
	size_t cuts[3 * NFRAMES + 1], n = reset_cuts(cuts);

	for (size_t k = 0; k < n; k++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			abort();
		write_all(sv[0], (const uint8_t *)"x", 1);	/* unread by sv[1] */
		write_all(sv[1], stream, cuts[k]);
		close(sv[1]);
		set_nonblock(sv[0]);
		read_cut(sv[0], cuts[k], ECONNRESET, "unix reset");
		close(sv[0]);
	}
}

/* A TCP connection over loopback; returns the connected and accepted fds. */
static int tcp_pair(int *cfd, int *afd)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&a, &al))
		return -1;
	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cfd < 0 || connect(*cfd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	*afd = accept(lfd, NULL, NULL);
	close(lfd);
	if (*afd < 0)
		return -1;
	setsockopt(*cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/*
 * TCP RST: the sender writes up to the cut, waits until the receiver's
 * kernel acknowledged every byte (so nothing sent is lost to the reset),
 * then closes with SO_LINGER 0.
 */
static void test_tcp_reset(void)
{
	size_t cuts[3 * NFRAMES + 1], n = reset_cuts(cuts);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	for (size_t k = 0; k < n; k++) {
		int cfd, afd, outq = 1, tries = 0;

		if (tcp_pair(&cfd, &afd)) {
			CHECK(0, "TCP over loopback: %s", strerror(errno));
			return;
		}
		write_all(cfd, stream, cuts[k]);
		while (!ioctl(cfd, SIOCOUTQ, &outq) && outq && tries++ < 5000)
			usleep(1000);
		CHECK(!outq, "TCP: %d bytes never acknowledged", outq);
		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(cfd);
		set_nonblock(afd);
		read_cut(afd, cuts[k], ECONNRESET, "TCP RST");
		close(afd);
	}
}

/* Writing to a peer that is gone: a broken pipe or a reset, with where. */
static void test_write_gone(void)
{
	static uint8_t big[4u << 20];
	struct mf_io io = io_for(2000, NULL);
	char where[200];
	int sv[2], st;
	pid_t pid;

	/* The reader closed before anything was sent. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	close(sv[0]);
	set_nonblock(sv[1]);
	CHECK(mf_send(sv[1], MF_DATA_STOP, stream, 100, false, &io) &&
	      io.status == MF_IO_CUT && io.err == EPIPE && io.write &&
	      io.part == MF_PART_HDR && !io.got && io.type == MF_DATA_STOP,
	      "send to a closed peer: status %d err %d part %d got %zu",
	      io.status, io.err, io.part, io.got);
	CHECK(mf_io_peer_gone(&io), "a broken pipe is a vanished peer");
	mf_io_where(&io, where, sizeof(where));
	CHECK(!strcmp(where, "broken pipe while sending a DATA_STOP frame, after 0 of its 24 header bytes"),
	      "where \"%s\"", where);
	io = io_for(2000, NULL);
	CHECK(mf_send(sv[1], MF_ACK, stream, 56, false, &io) && io.part == MF_PART_HDR,
	      "send an ACK to a closed peer: status %d", io.status);
	mf_io_where(&io, where, sizeof(where));
	CHECK(!strcmp(where, "broken pipe while sending an ACK frame, after 0 of its 24 header bytes"),
	      "where \"%s\"", where);
	io = io_for(2000, NULL);
	CHECK(mf_write_all(sv[1], stream, 10, &io) && io.status == MF_IO_CUT &&
	      io.part == MF_PART_NONE, "raw write to a closed peer: status %d",
	      io.status);
	mf_io_where(&io, where, sizeof(where));
	CHECK(!strcmp(where, "broken pipe after 0 of 10 bytes"), "where \"%s\"", where);
	close(sv[1]);

	/* The reader goes away in the middle of a payload. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	pid = fork();
	if (pid < 0)
		abort();
	if (!pid) {
		uint8_t b[4096];
		size_t got = 0;

		close(sv[1]);
		while (got < 100000) {
			ssize_t r = read(sv[0], b, sizeof(b));

			if (r <= 0)
				_exit(1);
			got += (size_t)r;
		}
		_exit(0);	/* with unread data: a reset */
	}
	close(sv[0]);
	set_nonblock(sv[1]);
	io = io_for(10000, NULL);
	CHECK(mf_send(sv[1], MF_DATA_PRE, big, sizeof(big), false, &io) &&
	      io.status == MF_IO_CUT && (io.err == EPIPE || io.err == ECONNRESET) &&
	      io.part == MF_PART_PAYLOAD && io.got >= 100000 - MF_HDR_SIZE &&
	      io.got < io.want && io.want == sizeof(big),
	      "send while the peer leaves: status %d err %d part %d %zu/%zu",
	      io.status, io.err, io.part, io.got, io.want);
	mf_io_where(&io, where, sizeof(where));
	CHECK(strstr(where, " while sending a DATA_PRE frame, after ") &&
	      strstr(where, " payload bytes"), "where \"%s\"", where);
	close(sv[1]);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "reader child failed");
}

/* Not a vanished peer: silence, the stop flag, corruption. */
static void test_not_gone(void)
{
	static volatile sig_atomic_t stop;
	struct mf_io io = io_for(50, &stop);
	uint8_t bad[MF_HDR_SIZE + 1000];
	struct mf_hdr h;
	char d[200];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	set_nonblock(sv[0]);
	CHECK(mf_recv(sv[0], &h, rbuf, &io) && io.status == MF_IO_TIMEOUT &&
	      !mf_io_peer_gone(&io), "silent peer: status %d", io.status);
	mf_io_describe(&io, d, sizeof(d));
	CHECK(!strcmp(d, "nothing received for 50 ms"), "describe \"%s\"", d);

	write_all(sv[1], stream, 30);	/* a header and 6 payload bytes, then silence */
	io = io_for(50, &stop);
	CHECK(mf_recv(sv[0], &h, rbuf, &io) && io.status == MF_IO_TIMEOUT &&
	      io.part == MF_PART_PAYLOAD && io.got == 6,
	      "silent mid-frame: status %d part %d got %zu", io.status, io.part,
	      io.got);

	stop = 1;
	io = io_for(5000, &stop);
	CHECK(mf_recv(sv[0], &h, rbuf, &io) && io.status == MF_IO_STOPPED &&
	      !mf_io_peer_gone(&io), "stop flag: status %d", io.status);
	mf_io_describe(&io, d, sizeof(d));
	CHECK(!strcmp(d, "interrupted"), "describe \"%s\"", d);
	stop = 0;
	close(sv[0]);
	close(sv[1]);

	memcpy(bad, stream + start[1], sizeof(bad));
	bad[MF_HDR_SIZE + 500] ^= 0x40;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	write_all(sv[1], bad, sizeof(bad));
	bad[0] ^= 0xff;
	write_all(sv[1], bad, sizeof(bad));
	close(sv[1]);
	io = io_for(1000, NULL);
	CHECK(mf_recv(sv[0], &h, rbuf, &io) && io.status == MF_IO_CORRUPT &&
	      !mf_io_peer_gone(&io), "flipped payload bit: status %d", io.status);
	mf_io_describe(&io, d, sizeof(d));
	CHECK(!strcmp(d, "corrupted stream: checksum mismatch in a DATA_PRE frame of 1000 bytes"),
	      "describe \"%s\"", d);
	io = io_for(1000, NULL);
	CHECK(mf_recv(sv[0], &h, rbuf, &io) && io.status == MF_IO_CORRUPT,
	      "bad magic: status %d", io.status);
	mf_io_describe(&io, d, sizeof(d));
	CHECK(!strncmp(d, "corrupted stream: bad frame magic", 33), "describe \"%s\"", d);
	close(sv[0]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	rbuf = malloc(MF_MAX_PAYLOAD);
	if (!rbuf)
		abort();
	build_stream();
	test_eof_everywhere();
	test_unix_reset();
	test_tcp_reset();
	test_write_gone();
	test_not_gone();
	free(rbuf);
	return unit_report("test_migframe_io");
}
