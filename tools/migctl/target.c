// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* migctl: the resuming side (local target, `receive`, `load`). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/vfio.h>

#include "migctl.h"

int loader_begin(struct loader *l, struct vfio_dev *d, char *err)
{
	uint32_t st;

	memset(l, 0, sizeof(*l));
	l->dev = d;
	l->fd = -1;
	if (!(d->mig_flags & VFIO_MIGRATION_STOP_COPY)) {
		set_err(err, "target %s does not support migration", d->name);
		return -1;
	}
	/* A device left in ERROR (or mid-migration) starts from a reset. */
	if (vfio_dev_get_state(d, &st) || st != VFIO_DEVICE_STATE_RUNNING)
		vfio_dev_reset(d);
	if (vfio_dev_set_state(d, VFIO_DEVICE_STATE_RESUMING, &l->fd)) {
		set_err(err, "%s", d->err);
		return -1;
	}
	if (l->fd < 0) {
		set_err(err, "target %s: RESUMING returned no data fd", d->name);
		return -1;
	}
	return 0;
}

int loader_write(struct loader *l, const void *buf, size_t len, bool stop_phase,
		 char *err)
{
	const uint8_t *b = buf;
	uint64_t t0 = now_ns(), dt;
	size_t left = len;
	int ret = 0;

	/*
	 * The resume fd has no poll(): the driver loads each record while
	 * write() runs, so write() returns when the load is done.
	 */
	while (left) {
		ssize_t n = write(l->fd, b, left);

		if (n > 0) {
			b += n;
			left -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR && !g_stop)
			continue;
		set_err(err, "target %s rejected the stream at byte %" PRIu64 ": %s",
			l->dev->name, l->bytes + (len - left),
			n == 0 ? "short write" : strerror(errno));
		ret = -1;
		break;
	}
	dt = now_ns() - t0;
	l->write_ns += dt;
	if (stop_phase)
		l->stop_write_ns += dt;
	l->bytes += len - left;
	return ret;
}

int loader_finish(struct loader *l, char *err)
{
	struct vfio_dev *d = l->dev;
	uint64_t t0 = now_ns();

	if (vfio_dev_set_state(d, VFIO_DEVICE_STATE_STOP, NULL)) {
		set_err(err, "target did not accept the stream as complete: %s",
			d->err);
		return -1;
	}
	l->stop_ns = now_ns() - t0;
	close(l->fd);
	l->fd = -1;
	t0 = now_ns();
	if ((d->mig_flags & VFIO_MIGRATION_P2P) &&
	    vfio_dev_set_state(d, VFIO_DEVICE_STATE_RUNNING_P2P, NULL)) {
		set_err(err, "%s", d->err);
		return -1;
	}
	if (vfio_dev_set_state(d, VFIO_DEVICE_STATE_RUNNING, NULL)) {
		set_err(err, "%s", d->err);
		return -1;
	}
	l->resume_ns = now_ns() - t0;
	return 0;
}

void loader_abort(struct loader *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (l->dev && l->dev->fd >= 0)
		vfio_dev_reset(l->dev);
}

void read_vfmig_ids(struct vfio_dev *d, char *digest, char *gen, char *mig_id,
		    bool with_digest)
{
	if (!d->is_vfmig)
		return;
	if (with_digest && digest)
		vfmig_sysfs_read(d->sysfs, "digest", digest, 16);
	if (gen)
		vfmig_sysfs_read(d->sysfs, "generation", gen, 24);
	if (mig_id)
		vfmig_sysfs_read(d->sysfs, "mig_id", mig_id, 24);
}

int check_compat(const struct mf_hello *h, struct vfio_dev *tgt, char *err)
{
	char buf[32];
	uint64_t size;

	if (!(tgt->mig_flags & VFIO_MIGRATION_STOP_COPY)) {
		set_err(err, "target %s does not support migration", tgt->name);
		return -1;
	}
	if (h->is_vfmig != tgt->is_vfmig) {
		set_err(err, "source %s %s a vfmig device but target %s %s",
			h->source, h->is_vfmig ? "is" : "is not", tgt->name,
			tgt->is_vfmig ? "is" : "is not");
		return -1;
	}
	if (!tgt->is_vfmig)
		return 0;
	if (vfmig_sysfs_read(tgt->sysfs, "state_size", buf, sizeof(buf))) {
		set_err(err, "target %s: cannot read vfmig/state_size", tgt->name);
		return -1;
	}
	size = strtoull(buf, NULL, 0);
	if (size != h->state_size) {
		set_err(err, "incompatible devices: source %s has %" PRIu64
			" bytes of state, target %s has %" PRIu64,
			h->source, h->state_size, tgt->name, size);
		return -1;
	}
	return 0;
}

static void fill_load_report(struct report *r, const struct loader *l,
			     uint64_t t_start)
{
	r->total_ns = now_ns() - t_start;
	r->has_bytes = true;
	r->total_bytes = l->bytes;
	r->has_target_side = true;
	r->tgt_load_total_ns = l->write_ns + l->stop_ns;
	r->tgt_load_ns = l->stop_write_ns + l->stop_ns;
	r->tgt_resume_ns = l->resume_ns;
}

/* Framed stream from @fd (file or socket) into @l; returns at END. */
struct rx {
	int fd;
	bool net;
	uint8_t *buf;
	struct loader ld;
	struct mf_end end;
	struct mf_hello hello;
	uint64_t pre_bytes, stop_bytes;
	bool switched;
};

/* The stream stopped under frame I/O: the one message if the peer is gone. */
static int rx_fail(const struct rx *x, const struct mf_io *io, char *err)
{
	if (!mf_io_peer_gone(io))
		return -1;
	return peer_gone(err, x->net ? PEER_SENDER : PEER_FILE, NULL, io,
			 x->ld.bytes, NULL);
}

static int rx_stream(struct rx *x, struct report *r, char *err)
{
	const char *what = x->net ? "receiving from the sender" : "reading the file";
	struct mf_io io;
	struct mf_hdr h;

	for (;;) {
		if (frame_recv(x->fd, &h, x->buf, g_opts.io_timeout_ms, what, err, &io))
			return rx_fail(x, &io, err);
		switch (h.type) {
		case MF_DATA_PRE:
		case MF_DATA_STOP:
			if (h.type == MF_DATA_STOP)
				x->stop_bytes += h.len;
			else
				x->pre_bytes += h.len;
			if (h.len && loader_write(&x->ld, x->buf, h.len,
						  h.type == MF_DATA_STOP, err))
				return -1;
			break;
		case MF_SWITCHOVER:
			x->switched = true;
			break;
		case MF_END:
			if (mf_end_unpack(x->buf, h.len, &x->end)) {
				set_err(err, "%s: corrupted stream: bad END frame", what);
				return -1;
			}
			if (x->end.total_bytes != x->ld.bytes ||
			    x->end.precopy_bytes != x->pre_bytes ||
			    x->end.stop_copy_bytes != x->stop_bytes) {
				set_err(err, "corrupted stream: END says %" PRIu64
					" bytes, %" PRIu64 " arrived",
					x->end.total_bytes, x->ld.bytes);
				return -1;
			}
			r->has_phase_bytes = true;
			r->precopy_bytes = x->end.precopy_bytes;
			r->stop_copy_bytes = x->end.stop_copy_bytes;
			r->has_iterations = true;
			r->iterations = x->end.iterations;
			return 0;
		case MF_ERROR:
			set_err(err, "the sender aborted: %.*s", (int)h.len,
				(const char *)x->buf);
			return -1;
		default:
			set_err(err, "%s: corrupted stream: unexpected %s frame", what,
				mf_type_name(h.type));
			return -1;
		}
	}
}

static int rx_hello(struct rx *x, char *err)
{
	const char *what = x->net ? "receiving from the sender" : "reading the file";
	struct mf_io io;
	struct mf_hdr h;

	if (frame_recv(x->fd, &h, x->buf, g_opts.io_timeout_ms, what, err, &io)) {
		if (!x->net && io.status == MF_IO_EOF) {
			set_err(err, "empty file");
			return -1;
		}
		return rx_fail(x, &io, err);
	}
	if (h.type != MF_HELLO || mf_hello_unpack(x->buf, h.len, &x->hello)) {
		set_err(err, "%s: corrupted stream: expected HELLO, got %s", what,
			mf_type_name(h.type));
		return -1;
	}
	return 0;
}

int cmd_receive(struct vfio_dev *tgt, const char *addr, struct report *r,
		char *err)
{
	struct rx x = { .fd = -1, .net = true, .ld = { .fd = -1 } };
	uint8_t pay[128];
	struct mf_ack ack = { 0 };
	struct mf_io io;
	uint64_t t_start;
	uint32_t len;
	int lfd, ret = -1;

	r->command = "receive";
	snprintf(r->target, sizeof(r->target), "%s", tgt->name);
	lfd = tcp_listen(addr, err);
	if (lfd < 0)
		return -1;
	if (!g_opts.quiet && !g_opts.json)
		fprintf(stderr, "migctl: listening on %s\n", addr);
	x.fd = tcp_accept(lfd, g_opts.accept_timeout_ms, err);
	close(lfd);
	if (x.fd < 0)
		return -1;
	x.buf = malloc(MF_MAX_PAYLOAD);
	if (!x.buf) {
		set_err(err, "out of memory");
		goto out;
	}
	t_start = now_ns();
	if (rx_hello(&x, err))
		goto out;
	snprintf(r->source, sizeof(r->source), "%s", x.hello.source);
	r->mode = (x.hello.precopy & 1) ? "precopy" : "stop_copy";
	if (check_compat(&x.hello, tgt, err) || loader_begin(&x.ld, tgt, err))
		goto fail;
	if (frame_send(x.fd, MF_READY, NULL, 0, false, g_opts.io_timeout_ms,
		       "answering the sender", err, &io)) {
		rx_fail(&x, &io, err);
		goto fail;
	}
	if (rx_stream(&x, r, err) || loader_finish(&x.ld, err))
		goto fail;
	ack.load_tail_ns = x.ld.stop_write_ns + x.ld.stop_ns;
	ack.load_total_ns = x.ld.write_ns + x.ld.stop_ns;
	ack.resume_ns = x.ld.resume_ns;
	ack.bytes = x.ld.bytes;
	fill_load_report(r, &x.ld, t_start);
	read_vfmig_ids(tgt, r->tgt_digest, r->tgt_generation, r->tgt_mig_id,
		       (x.hello.precopy & 2) || g_opts.verify);
	memcpy(ack.digest, r->tgt_digest, sizeof(ack.digest));
	mf_ack_pack(&ack, pay, &len);
	if (frame_send(x.fd, MF_ACK, pay, len, false, g_opts.io_timeout_ms,
		       "answering the sender", err, &io)) {
		rx_fail(&x, &io, err);
		/*
		 * The target runs, but the sender will not know: it times out
		 * and resumes the source. Undo this side so only one runs.
		 */
		loader_abort(&x.ld);
		goto out;
	}
	r->target_state = "RUNNING";
	ret = 0;
	goto out;
fail:
	loader_abort(&x.ld);
	/* Tell the sender why, if it still listens. */
	{
		char scratch[MSG_LEN];

		frame_send(x.fd, MF_ERROR, err, (uint32_t)strlen(err), false,
			   1000, "error frame", scratch, &io);
	}
out:
	if (x.fd >= 0)
		close(x.fd);
	free(x.buf);
	return ret;
}

int cmd_load(const char *file, struct vfio_dev *tgt, struct report *r,
	     char *err)
{
	struct rx x = { .fd = -1, .ld = { .fd = -1 } };
	uint8_t magic[4];
	uint64_t t_start = now_ns();
	ssize_t n;
	int ret = -1;

	r->command = "load";
	snprintf(r->target, sizeof(r->target), "%s", tgt->name);
	snprintf(r->source, sizeof(r->source), "%s", file);
	x.fd = open(file, O_RDONLY | O_CLOEXEC);
	if (x.fd < 0) {
		set_err(err, "cannot open %s: %s", file, strerror(errno));
		return -1;
	}
	x.buf = malloc(MF_MAX_PAYLOAD);
	if (!x.buf) {
		set_err(err, "out of memory");
		goto out;
	}
	n = pread(x.fd, magic, sizeof(magic), 0);
	if (n == 4 && (magic[0] | magic[1] << 8 | magic[2] << 16 |
		       (uint32_t)magic[3] << 24) == MF_MAGIC) {
		if (rx_hello(&x, err))
			goto out;
		r->mode = (x.hello.precopy & 1) ? "precopy" : "stop_copy";
		snprintf(r->source, sizeof(r->source), "%s", x.hello.source);
		if (check_compat(&x.hello, tgt, err) ||
		    loader_begin(&x.ld, tgt, err))
			goto fail;
		if (rx_stream(&x, r, err))
			goto fail;
	} else {
		/* A raw device stream (save --raw, or another tool's dump). */
		r->mode = "raw";
		if (loader_begin(&x.ld, tgt, err))
			goto fail;
		for (;;) {
			n = read(x.fd, x.buf, 1 << 20);
			if (n < 0 && errno == EINTR && !g_stop)
				continue;
			if (n < 0) {
				set_err(err, "reading %s: %s", file, strerror(errno));
				goto fail;
			}
			if (!n)
				break;
			if (loader_write(&x.ld, x.buf, (size_t)n, false, err))
				goto fail;
		}
	}
	if (loader_finish(&x.ld, err))
		goto fail;
	fill_load_report(r, &x.ld, t_start);
	read_vfmig_ids(tgt, r->tgt_digest, r->tgt_generation, r->tgt_mig_id,
		       g_opts.verify);
	r->target_state = "RUNNING";
	ret = 0;
	goto out;
fail:
	loader_abort(&x.ld);
out:
	close(x.fd);
	free(x.buf);
	return ret;
}
