// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* migctl: fd I/O with timeouts, TCP, frames. Nothing here blocks forever. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

/* Wait for @ev on @fd; 1 ready, 0 timeout, -1 error (signal stop too). */
static int wait_fd(int fd, short ev, uint64_t timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t end = now_ns() + timeout_ms * 1000000ull;

	for (;;) {
		uint64_t t = now_ns();
		int ms, n;

		if (g_stop) {
			errno = EINTR;
			return -1;
		}
		if (t >= end)
			return 0;
		ms = (int)((end - t) / 1000000ull) + 1;
		if (ms > 200)
			ms = 200;	/* re-check g_stop */
		n = poll(&p, 1, ms);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int io_write_all(int fd, const void *buf, size_t len, uint64_t timeout_ms,
		 const char *what, char *err)
{
	const uint8_t *b = buf;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n > 0) {
			b += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR && !g_stop)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int w = wait_fd(fd, POLLOUT, timeout_ms);

			if (w > 0)
				continue;
			if (!w) {
				set_err(err, "%s: no progress for %llu ms", what,
					(unsigned long long)timeout_ms);
				return -1;
			}
		}
		set_err(err, "%s: %s", what,
			g_stop ? "interrupted" :
			n == 0 ? "short write" : strerror(errno));
		return -1;
	}
	return 0;
}

int io_read_full(int fd, void *buf, size_t len, uint64_t timeout_ms,
		 const char *what, char *err)
{
	uint8_t *b = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, b + got, len - got);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0) {
			if (!got)
				return 1;
			set_err(err, "%s: stream cut short (%zu of %zu bytes of a frame)",
				what, got, len);
			return -1;
		}
		if (errno == EINTR && !g_stop)
			continue;
		if (errno == EAGAIN) {
			int w = wait_fd(fd, POLLIN, timeout_ms);

			if (w > 0)
				continue;
			if (!w) {
				set_err(err, "%s: nothing received for %llu ms", what,
					(unsigned long long)timeout_ms);
				return -1;
			}
		}
		set_err(err, "%s: %s", what, g_stop ? "interrupted" : strerror(errno));
		return -1;
	}
	return 0;
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
	       bool csum, uint64_t timeout_ms, const char *what, char *err)
{
	uint8_t hdr[MF_HDR_SIZE];

	mf_hdr_pack(hdr, type, csum ? MF_F_CSUM : 0, len,
		    csum ? mf_hash64(payload, len) : 0);
	if (io_write_all(fd, hdr, sizeof(hdr), timeout_ms, what, err))
		return -1;
	if (len && io_write_all(fd, payload, len, timeout_ms, what, err))
		return -1;
	return 0;
}

int frame_recv(int fd, struct mf_hdr *h, uint8_t *buf, uint64_t timeout_ms,
	       const char *what, char *err)
{
	uint8_t hdr[MF_HDR_SIZE];
	char msg[160];
	int rc;

	rc = io_read_full(fd, hdr, sizeof(hdr), timeout_ms, what, err);
	if (rc)
		return rc;
	if (mf_hdr_unpack(hdr, h, msg, sizeof(msg))) {
		set_err(err, "%s: corrupted stream: %s", what, msg);
		return -1;
	}
	rc = io_read_full(fd, buf, h->len, timeout_ms, what, err);
	if (rc == 1) {
		set_err(err, "%s: stream cut short inside a %s frame", what,
			mf_type_name(h->type));
		return -1;
	}
	if (rc)
		return -1;
	if ((h->flags & MF_F_CSUM) && mf_hash64(buf, h->len) != h->csum) {
		set_err(err, "%s: corrupted stream: checksum mismatch in a %s frame of %u bytes",
			what, mf_type_name(h->type), h->len);
		return -1;
	}
	return 0;
}
