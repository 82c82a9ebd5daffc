// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* migctl: fd I/O with timeouts, TCP, frames. Nothing here blocks forever. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migctl.h"

void set_err(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, MSG_LEN, fmt, ap);
	va_end(ap);
}

int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int wait_fd(int fd, short ev, uint64_t timeout_ms)
{
	return mf_wait_fd(fd, ev, timeout_ms, &g_stop);
}

static void io_init(struct mf_io *io, uint64_t timeout_ms)
{
	memset(io, 0, sizeof(*io));
	io->timeout_ms = timeout_ms;
	io->stop = &g_stop;
}

static int io_fail(const struct mf_io *io, const char *what, char *err)
{
	char d[MSG_LEN];

	mf_io_describe(io, d, sizeof(d));
	set_err(err, "%s: %s", what, d);
	return -1;
}

int io_write_all(int fd, const void *buf, size_t len, uint64_t timeout_ms,
		 const char *what, char *err)
{
	struct mf_io io;

	io_init(&io, timeout_ms);
	return mf_write_all(fd, buf, len, &io) ? io_fail(&io, what, err) : 0;
}

static int split_hostport(const char *hp, char *host, size_t hlen, char *port,
			  size_t plen, char *err)
{
	const char *colon = strrchr(hp, ':');
	size_t n;

	if (!colon) {
		snprintf(host, hlen, "%s", "");
		snprintf(port, plen, "%s", hp);
		return 0;
	}
	n = (size_t)(colon - hp);
	if (n >= hlen || strlen(colon + 1) >= plen || !colon[1]) {
		set_err(err, "bad address %s (want HOST:PORT)", hp);
		return -1;
	}
	memcpy(host, hp, n);
	host[n] = 0;
	/* [v6]:port */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	}
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

static void tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int tcp_connect(const char *hostport, uint64_t timeout_ms, char *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	char host[256], port[32];
	int fd = -1, rc, e = 0;

	if (split_hostport(hostport, host, sizeof(host), port, sizeof(port), err))
		return -1;
	rc = getaddrinfo(*host ? host : "127.0.0.1", port, &hints, &ai);
	if (rc) {
		set_err(err, "cannot resolve %s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		socklen_t sl = sizeof(e);

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		set_nonblock(fd);
		if (!connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		e = errno;
		if (e == EINPROGRESS) {
			rc = wait_fd(fd, POLLOUT, timeout_ms);
			if (rc > 0 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) && !e)
				break;
			if (!rc)
				e = ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		set_err(err, "cannot connect to %s: %s", hostport, strerror(e));
		return -1;
	}
	tune(fd);
	return fd;
}

int tcp_listen(const char *hostport, char *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
			*ai;
	char host[256], port[32];
	int fd, one = 1, rc;

	if (split_hostport(hostport, host, sizeof(host), port, sizeof(port), err))
		return -1;
	rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	if (rc) {
		set_err(err, "cannot resolve %s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1)) {
		set_err(err, "cannot listen on %s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	set_nonblock(fd);
	return fd;
}

int tcp_accept(int lfd, uint64_t timeout_ms, char *err)
{
	int rc = wait_fd(lfd, POLLIN, timeout_ms), fd;

	if (rc <= 0) {
		if (!rc)
			set_err(err, "no sender connected within %llu ms",
				(unsigned long long)timeout_ms);
		else
			set_err(err, "waiting for the sender: %s",
				g_stop ? "interrupted" : strerror(errno));
		return -1;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		set_err(err, "accept: %s", strerror(errno));
		return -1;
	}
	tune(fd);
	return fd;
}

int frame_send(int fd, uint16_t type, const void *payload, uint32_t len,
	       bool csum, uint64_t timeout_ms, const char *what, char *err,
	       struct mf_io *io)
{
	io_init(io, timeout_ms);
	return mf_send(fd, type, payload, len, csum, io) ? io_fail(io, what, err) : 0;
}

int frame_recv(int fd, struct mf_hdr *h, uint8_t *buf, uint64_t timeout_ms,
	       const char *what, char *err, struct mf_io *io)
{
	io_init(io, timeout_ms);
	return mf_recv(fd, h, buf, io) ? io_fail(io, what, err) : 0;
}

int peer_gone(char *err, enum peer who, const char *addr,
	      const struct mf_io *io, uint64_t bytes, const char *phase)
{
	char where[MSG_LEN];

	mf_io_where(io, where, sizeof(where));
	switch (who) {
	case PEER_SENDER:
		set_err(err, "the sender closed the connection mid-stream (%s%s%s; %"
			PRIu64 " bytes of device data received)", where,
			phase ? ", " : "", phase ? phase : "", bytes);
		break;
	case PEER_RECEIVER:
		set_err(err, "the receiver at %s closed the connection mid-stream (%s%s%s; %"
			PRIu64 " bytes of device data sent)", addr, where,
			phase ? ", " : "", phase ? phase : "", bytes);
		break;
	case PEER_FILE:
		set_err(err, "truncated file: no END frame (%s; %" PRIu64
			" bytes of device data)", where, bytes);
		break;
	}
	return -1;
}
