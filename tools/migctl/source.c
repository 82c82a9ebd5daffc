// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * migctl: the saving side. One engine (run_source) drives the source
 * device like QEMU's VFIO migration code; a sink takes the stream: a local
 * target device (`migrate`), a TCP connection (`send`) or a file (`save`).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/vfio.h>

#include "migctl.h"

#define READ_BUF	(1u << 20)	/* as QEMU's data buffer */
#define POLL_SLICE_MS	5
#define IDLE_SLEEP_NS	10000000ull	/* nothing dirty yet: wait 10 ms */
#define KEEPALIVE_NS	1000000000ull

enum sink_kind { SINK_LOCAL, SINK_FILE, SINK_TCP };

struct sink {
	enum sink_kind kind;
	struct loader ld;		/* SINK_LOCAL */
	struct vfio_dev *tgt;		/* SINK_LOCAL */
	int fd;				/* SINK_FILE, SINK_TCP */
	const char *path;		/* SINK_FILE: unlinked on failure */
	bool raw;			/* SINK_FILE: bare device stream, no frames */
	const char *addr;		/* SINK_TCP */
	uint8_t *rbuf;
	uint64_t last_send_ns;
	uint64_t sent;			/* SINK_TCP: device stream bytes sent */
	struct mf_ack ack;
};

static const char *sink_what(const struct sink *k)
{
	return k->kind == SINK_TCP ? "sending to the target" : "writing the file";
}

/* A frame the receiver sent before it went away: its reason says more. */
static bool receiver_error(struct sink *k, char *err)
{
	struct pollfd p = { .fd = k->fd, .events = POLLIN };
	char scratch[MSG_LEN];
	struct mf_io io;
	struct mf_hdr h;

	if (poll(&p, 1, 0) <= 0 ||
	    frame_recv(k->fd, &h, k->rbuf, 200, "receiving from the target",
		       scratch, &io) ||
	    h.type != MF_ERROR)
		return false;
	set_err(err, "target failed: %.*s", (int)h.len, (char *)k->rbuf);
	return true;
}

/*
 * Frame I/O with the receiver failed. A vanished receiver, wherever the
 * stream stopped (EOF, reset, broken pipe; reading or writing), gets one
 * message; PHASE says what the sender waited for, if anything.
 */
static int sink_fail(struct sink *k, const struct mf_io *io, const char *phase,
		     char *err)
{
	if (k->kind != SINK_TCP || !mf_io_peer_gone(io))
		return -1;
	if (receiver_error(k, err))
		return -1;
	return peer_gone(err, PEER_RECEIVER, k->addr, io, k->sent, phase);
}

static int sink_begin(struct sink *k, const struct mf_hello *hello, char *err)
{
	uint8_t pay[128];
	struct mf_io io;
	struct mf_hdr h;
	uint32_t len;

	if (k->kind == SINK_LOCAL)
		return loader_begin(&k->ld, k->tgt, err);
	if (k->raw)
		return 0;
	mf_hello_pack(hello, pay, &len);
	if (frame_send(k->fd, MF_HELLO, pay, len, k->kind == SINK_FILE,
		       g_opts.io_timeout_ms, sink_what(k), err, &io))
		return sink_fail(k, &io, NULL, err);
	k->last_send_ns = now_ns();
	if (k->kind == SINK_FILE)
		return 0;
	if (frame_recv(k->fd, &h, k->rbuf, g_opts.io_timeout_ms,
		       "waiting for the target", err, &io))
		return sink_fail(k, &io, "waiting for READY", err);
	if (h.type == MF_ERROR) {
		set_err(err, "target refused: %.*s", (int)h.len, (char *)k->rbuf);
		return -1;
	}
	if (h.type != MF_READY) {
		set_err(err, "unexpected %s frame from the receiver",
			mf_type_name(h.type));
		return -1;
	}
	return 0;
}

/* A frame from the receiver while we stream: only ERROR is expected. */
static int sink_check_peer(struct sink *k, char *err)
{
	struct pollfd p = { .fd = k->fd, .events = POLLIN };
	struct mf_io io;
	struct mf_hdr h;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (frame_recv(k->fd, &h, k->rbuf, 1000, "receiving from the target",
		       err, &io))
		return sink_fail(k, &io, NULL, err);
	if (h.type == MF_ERROR)
		set_err(err, "target failed: %.*s", (int)h.len, (char *)k->rbuf);
	else
		set_err(err, "unexpected %s frame from the receiver",
			mf_type_name(h.type));
	return -1;
}

static int sink_data(struct sink *k, bool stop_phase, const void *buf,
		     size_t len, char *err)
{
	struct mf_io io;

	if (k->kind == SINK_LOCAL)
		return loader_write(&k->ld, buf, len, stop_phase, err);
	if (k->kind == SINK_TCP && sink_check_peer(k, err))
		return -1;
	if (k->raw)
		return io_write_all(k->fd, buf, len, g_opts.io_timeout_ms,
				    sink_what(k), err);
	if (frame_send(k->fd, stop_phase ? MF_DATA_STOP : MF_DATA_PRE, buf,
		       (uint32_t)len, k->kind == SINK_FILE,
		       g_opts.io_timeout_ms, sink_what(k), err, &io))
		return sink_fail(k, &io, NULL, err);
	k->last_send_ns = now_ns();
	k->sent += len;
	return 0;
}

/* TCP: an empty DATA frame now and then, so an idle PRE_COPY never looks dead. */
static int sink_idle(struct sink *k, char *err)
{
	if (k->kind != SINK_TCP || now_ns() - k->last_send_ns < KEEPALIVE_NS)
		return 0;
	return sink_data(k, false, NULL, 0, err);
}

static int sink_switchover(struct sink *k, char *err)
{
	struct mf_io io;

	if (k->kind == SINK_LOCAL || k->raw)
		return 0;
	if (frame_send(k->fd, MF_SWITCHOVER, NULL, 0, k->kind == SINK_FILE,
		       g_opts.io_timeout_ms, sink_what(k), err, &io))
		return sink_fail(k, &io, NULL, err);
	return 0;
}

static int sink_finish(struct sink *k, const struct mf_end *end, char *err)
{
	uint8_t pay[128];
	struct mf_io io;
	struct mf_hdr h;
	uint32_t len;

	if (k->kind == SINK_LOCAL) {
		return loader_finish(&k->ld, err);
	}
	mf_end_pack(end, pay, &len);
	if (!k->raw &&
	    frame_send(k->fd, MF_END, pay, len, k->kind == SINK_FILE,
		       g_opts.io_timeout_ms, sink_what(k), err, &io))
		return sink_fail(k, &io, NULL, err);
	if (k->kind == SINK_FILE) {
		if (close(k->fd)) {
			k->fd = -1;
			set_err(err, "writing %s: %s", k->path, strerror(errno));
			return -1;
		}
		k->fd = -1;
		return 0;
	}
	if (frame_recv(k->fd, &h, k->rbuf, g_opts.io_timeout_ms,
		       "waiting for the target to resume", err, &io))
		return sink_fail(k, &io, "waiting for the ACK", err);
	if (h.type == MF_ERROR) {
		set_err(err, "target failed: %.*s", (int)h.len, (char *)k->rbuf);
		return -1;
	}
	if (h.type != MF_ACK || mf_ack_unpack(k->rbuf, h.len, &k->ack)) {
		set_err(err, "unexpected %s frame from the receiver",
			mf_type_name(h.type));
		return -1;
	}
	return 0;
}

static void sink_abort(struct sink *k, const char *msg)
{
	char scratch[MSG_LEN];
	struct mf_io io;

	switch (k->kind) {
	case SINK_LOCAL:
		loader_abort(&k->ld);
		break;
	case SINK_FILE:
		if (k->fd >= 0)
			close(k->fd);
		k->fd = -1;
		unlink(k->path);	/* never leave a partial stream behind */
		break;
	case SINK_TCP:
		if (k->fd >= 0)
			frame_send(k->fd, MF_ERROR, msg, (uint32_t)strlen(msg),
				   false, 1000, "error frame", scratch, &io);
		break;
	}
}

void source_recover(struct vfio_dev *d)
{
	uint32_t st;

	if (d->fd < 0)
		return;
	if (vfio_dev_get_state(d, &st) || st == VFIO_DEVICE_STATE_ERROR) {
		vfio_dev_reset(d);
		return;
	}
	if (st == VFIO_DEVICE_STATE_RUNNING)
		return;
	/* PRE_COPY*, STOP_COPY, STOP...: the FSM walks back to RUNNING. */
	if (vfio_dev_set_state(d, VFIO_DEVICE_STATE_RUNNING, NULL) ||
	    vfio_dev_get_state(d, &st) || st != VFIO_DEVICE_STATE_RUNNING)
		vfio_dev_reset(d);
}

/* --- the engine ----------------------------------------------------------- */

struct run {
	struct vfio_dev *src;
	struct sink *k;
	int fd;				/* save data fd */
	uint8_t *buf;
	uint64_t bytes_pre, bytes_stop;
	uint64_t read_ns;		/* read() + poll() on the save fd */
	uint64_t sink_ns;		/* handing data to the sink */
	uint64_t throttle_ns;		/* bandwidth cap sleeps */
	uint64_t pump_ns;		/* wall time of PRE_COPY pumps */
	uint64_t thr_start, thr_bytes;	/* bandwidth cap */
};

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

static void throttle(struct run *s, size_t n)
{
	uint64_t want, el, t = now_ns();

	if (!g_opts.bandwidth)
		return;
	if (!s->thr_start)
		s->thr_start = t;
	s->thr_bytes += n;
	want = (uint64_t)((double)s->thr_bytes * 1e9 / (double)g_opts.bandwidth);
	el = t - s->thr_start;
	while (want > el && !g_stop) {
		uint64_t d = want - el;

		sleep_ns(d > 100000000ull ? 100000000ull : d);
		el = now_ns() - s->thr_start;
	}
	s->throttle_ns += now_ns() - t;
}

/*
 * Move device data to the sink until the temporary end of stream (PRE_COPY:
 * -ENOMSG, or 0 from drivers like mtty) or the end (STOP_COPY: 0).
 */
static int pump(struct run *s, bool stop_phase, char *err)
{
	uint64_t idle_since = now_ns(), t;
	ssize_t n;

	for (;;) {
		if (g_stop) {
			set_err(err, "interrupted");
			return -1;
		}
		t = now_ns();
		n = read(s->fd, s->buf, READ_BUF);
		s->read_ns += now_ns() - t;
		if (n > 0) {
			if (stop_phase)
				s->bytes_stop += (uint64_t)n;
			else
				s->bytes_pre += (uint64_t)n;
			t = now_ns();
			if (sink_data(s->k, stop_phase, s->buf, (size_t)n, err))
				return -1;
			s->sink_ns += now_ns() - t;
			throttle(s, (size_t)n);
			idle_since = now_ns();
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == ENOMSG && !stop_phase)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			set_err(err, "reading %s's migration data (%s): %s",
				s->src->name, stop_phase ? "STOP_COPY" : "PRE_COPY",
				strerror(errno));
			return -1;
		}
		if (now_ns() - idle_since > g_opts.io_timeout_ms * 1000000ull) {
			set_err(err, "source %s produced no migration data for %llu ms",
				s->src->name, (unsigned long long)g_opts.io_timeout_ms);
			return -1;
		}
		if (s->k->kind == SINK_TCP && !stop_phase && sink_idle(s->k, err))
			return -1;
		/*
		 * Poll only in short slices: in PRE_COPY a driver need not
		 * wake poll() at the temporary end of stream (vfmig and mlx5
		 * don't), read() then says -ENOMSG.
		 */
		t = now_ns();
		{
			struct pollfd p = { .fd = s->fd, .events = POLLIN };

			poll(&p, 1, POLL_SLICE_MS);
		}
		s->read_ns += now_ns() - t;
	}
}

static int precopy_query(struct run *s, uint64_t *init, uint64_t *dirty,
			 uint64_t *sc, char *err)
{
	int rc = vfio_precopy_info(s->fd, init, dirty);

	if (rc) {
		set_err(err, "%s: VFIO_MIG_GET_PRECOPY_INFO: %s", s->src->name,
			strerror(-rc));
		return -1;
	}
	if (vfio_dev_data_size(s->src, sc)) {
		/* QEMU: unknown size, assume huge so the limit holds. */
		*sc = 100ull << 30;
	}
	return 0;
}

/* PRE_COPY until QEMU's switchover rule or a cap says stop. */
static int precopy_loop(struct run *s, struct report *r, char *err)
{
	uint64_t t_start = now_ns(), init, dirty, sc, t;

	for (;;) {
		uint64_t bw, pending, thresh;

		t = now_ns();
		if (pump(s, false, err))
			return -1;
		s->pump_ns += now_ns() - t;
		r->iterations++;
		if (precopy_query(s, &init, &dirty, &sc, err))
			return -1;

		bw = s->pump_ns ? (uint64_t)((double)s->bytes_pre * 1e9 /
					     (double)s->pump_ns) : 0;
		if (g_opts.bandwidth && (!bw || bw > g_opts.bandwidth))
			bw = g_opts.bandwidth;
		pending = init + dirty + sc;
		thresh = (uint64_t)((double)bw * (double)g_opts.downtime_limit_ns / 1e9);
		r->has_switchover = true;
		r->bandwidth_Bps = bw;
		r->pending_bytes = pending;
		r->expected_downtime_ns = bw ? (uint64_t)((double)pending * 1e9 / (double)bw) :
					  UINT64_MAX;
		if (!init && pending <= thresh) {
			r->switch_reason = "converged";
			/*
			 * The query may have started an image of what is dirty
			 * now (vfmig, mlx5): read it while the device still
			 * runs instead of in the downtime.
			 */
			if (dirty) {
				t = now_ns();
				if (pump(s, false, err))
					return -1;
				s->pump_ns += now_ns() - t;
				r->iterations++;
			}
			return 0;
		}
		if (r->iterations >= g_opts.max_iterations) {
			r->switch_reason = "max_iterations";
			return 0;
		}
		if (now_ns() - t_start >= g_opts.max_precopy_ns) {
			r->switch_reason = "max_time";
			return 0;
		}
		if (!init && !dirty) {
			if (sink_idle(s->k, err))
				return -1;
			sleep_ns(IDLE_SLEEP_NS);	/* nothing dirty yet */
		}
	}
}

static int set_src(struct run *s, uint32_t state, int *fd, char *err)
{
	if (vfio_dev_set_state(s->src, state, fd)) {
		set_err(err, "%s", s->src->err);
		return -1;
	}
	return 0;
}

static int run_hook(struct vfio_dev *src, struct vfio_dev *tgt, char *err)
{
	int st;

	setenv("MIGCTL_SOURCE", src->sysfs, 1);
	setenv("MIGCTL_SOURCE_NAME", src->name, 1);
	if (tgt) {
		setenv("MIGCTL_TARGET", tgt->sysfs, 1);
		setenv("MIGCTL_TARGET_NAME", tgt->name, 1);
	}
	fflush(NULL);
	st = system(g_opts.exec_stopped);
	if (st) {
		set_err(err, "--exec-stopped command failed (status %d)",
			WIFEXITED(st) ? WEXITSTATUS(st) : st);
		return -1;
	}
	return 0;
}

static int run_source(struct vfio_dev *src, struct sink *k, struct report *r,
		      char *err)
{
	bool p2p = src->mig_flags & VFIO_MIGRATION_P2P;
	bool pre = (src->mig_flags & VFIO_MIGRATION_PRE_COPY) && !g_opts.no_precopy;
	struct run s = { .src = src, .k = k, .fd = -1 };
	struct mf_hello hello = { 0 };
	struct mf_end end = { 0 };
	uint64_t t_start, t_pre = 0, t0, t1, t, sum;
	struct user_parts *up = &r->parts;
	char buf[32];
	uint32_t st;
	int ret = -1;

	snprintf(r->source, sizeof(r->source), "%s", src->name);
	if (!(src->mig_flags & VFIO_MIGRATION_STOP_COPY)) {
		set_err(err, "device %s does not support migration", src->name);
		return -1;
	}
	if (vfio_dev_get_state(src, &st)) {
		set_err(err, "%s", src->err);
		return -1;
	}
	if (st != VFIO_DEVICE_STATE_RUNNING) {
		/*
		 * Drivers such as mtty keep the state of the previous user
		 * (a migrated source stays STOP); a VMM starts from RUNNING.
		 */
		source_recover(src);
		if (vfio_dev_get_state(src, &st) || st != VFIO_DEVICE_STATE_RUNNING) {
			set_err(err, "source %s is in state %s and cannot return to RUNNING",
				src->name, mig_state_name(st));
			return -1;
		}
	}
	s.buf = malloc(READ_BUF);
	if (!s.buf) {
		set_err(err, "out of memory");
		return -1;
	}
	hello.mig_flags = src->mig_flags;
	hello.precopy = (pre ? 1 : 0) | (g_opts.verify ? 2 : 0);
	hello.is_vfmig = src->is_vfmig;
	if (src->is_vfmig && !vfmig_sysfs_read(src->sysfs, "state_size", buf, sizeof(buf)))
		hello.state_size = strtoull(buf, NULL, 0);
	snprintf(hello.source, sizeof(hello.source), "%s", src->name);
	if (k->kind == SINK_LOCAL && check_compat(&hello, k->tgt, err))
		goto out_free;

	t_start = now_ns();
	if (sink_begin(k, &hello, err))
		goto fail;
	r->mode = pre ? "precopy" : "stop_copy";
	if (pre) {
		t_pre = now_ns();
		if (set_src(&s, VFIO_DEVICE_STATE_PRE_COPY, &s.fd, err))
			goto fail;
		set_nonblock(s.fd);
		if (precopy_loop(&s, r, err))
			goto fail;
	} else {
		r->switch_reason = "no_precopy";
	}

	/* Downtime starts: the source leaves the running states. */
	t0 = now_ns();
	if (p2p && set_src(&s, pre ? VFIO_DEVICE_STATE_PRE_COPY_P2P :
			       VFIO_DEVICE_STATE_RUNNING_P2P, NULL, err))
		goto fail;
	if (set_src(&s, VFIO_DEVICE_STATE_STOP_COPY, pre ? NULL : &s.fd, err))
		goto fail;
	up->source_set_state_ns = now_ns() - t0;
	if (s.fd < 0) {
		set_err(err, "%s: STOP_COPY returned no data fd", src->name);
		goto fail;
	}
	if (!pre)
		set_nonblock(s.fd);
	s.read_ns = s.sink_ns = s.throttle_ns = 0;
	t = now_ns();
	if (sink_switchover(k, err))
		goto fail;
	s.sink_ns += now_ns() - t;
	if (pump(&s, true, err))
		goto fail;
	up->read_ns = s.read_ns;
	up->write_ns = s.sink_ns;
	up->throttle_ns = s.throttle_ns;
	end.precopy_bytes = s.bytes_pre;
	end.stop_copy_bytes = s.bytes_stop;
	end.total_bytes = s.bytes_pre + s.bytes_stop;
	end.iterations = r->iterations;
	t = now_ns();
	if (sink_finish(k, &end, err))
		goto fail;
	t1 = now_ns();

	/*
	 * Downtime ends: the target runs (or the file is complete). The parts
	 * are disjoint intervals of this one thread inside [T0, T5].
	 */
	up->finish_ns = t1 - t;
	r->has_downtime = true;
	r->t_start_ns = t0;
	r->t_end_ns = t1;
	r->downtime_ns = t1 - t0;
	sum = up->source_set_state_ns + up->read_ns + up->write_ns +
	      up->throttle_ns + up->finish_ns;
	up->other_ns = r->downtime_ns > sum ? r->downtime_ns - sum : 0;
	r->precopy_ns = pre ? t0 - t_pre : 0;
	r->has_bytes = r->has_phase_bytes = true;
	r->precopy_bytes = s.bytes_pre;
	r->stop_copy_bytes = s.bytes_stop;
	r->total_bytes = end.total_bytes;
	r->has_iterations = true;
	if (k->kind == SINK_TCP) {
		r->has_target_side = true;
		r->tgt_load_ns = k->ack.load_tail_ns;
		r->tgt_load_total_ns = k->ack.load_total_ns;
		r->tgt_resume_ns = k->ack.resume_ns;
		memcpy(r->tgt_digest, k->ack.digest, sizeof(r->tgt_digest));
	} else if (k->kind == SINK_LOCAL) {
		r->has_target_side = true;
		r->tgt_load_ns = k->ld.stop_write_ns + k->ld.stop_ns;
		r->tgt_load_total_ns = k->ld.write_ns + k->ld.stop_ns;
		r->tgt_resume_ns = k->ld.resume_ns;
	}

	/* The source stays stopped: STOP_COPY -> STOP closes the stream. */
	if (set_src(&s, VFIO_DEVICE_STATE_STOP, NULL, err)) {
		source_recover(src);
		goto out_free;
	}
	close(s.fd);
	s.fd = -1;
	r->total_ns = now_ns() - t_start;
	r->source_state = "STOP";
	if (k->kind != SINK_FILE)	/* the target runs (TCP: its ACK says so) */
		r->target_state = "RUNNING";
	read_vfmig_ids(src, r->src_digest, r->src_generation, r->src_mig_id,
		       g_opts.verify);
	if (k->kind == SINK_LOCAL)
		read_vfmig_ids(k->tgt, r->tgt_digest, r->tgt_generation,
			       r->tgt_mig_id, g_opts.verify);
	ret = 0;
	if (g_opts.exec_stopped &&
	    run_hook(src, k->kind == SINK_LOCAL ? k->tgt : NULL, err))
		ret = -1;
	if (g_opts.resume_source) {
		if (vfio_dev_set_state(src, VFIO_DEVICE_STATE_RUNNING, NULL)) {
			set_err(err, "%s", src->err);
			ret = -1;
		} else {
			r->source_state = "RUNNING";
		}
	}
	goto out_free;

fail:
	if (s.fd >= 0)
		close(s.fd);
	s.fd = -1;
	source_recover(src);
	sink_abort(k, err);
out_free:
	if (s.fd >= 0)
		close(s.fd);
	free(s.buf);
	return ret;
}

int cmd_migrate(struct vfio_dev *src, struct vfio_dev *tgt, struct report *r,
		char *err)
{
	struct sink k = { .kind = SINK_LOCAL, .tgt = tgt, .fd = -1,
			  .ld = { .fd = -1 } };

	r->command = "migrate";
	snprintf(r->target, sizeof(r->target), "%s", tgt->name);
	return run_source(src, &k, r, err);
}

int cmd_send(struct vfio_dev *src, const char *addr, struct report *r,
	     char *err)
{
	struct sink k = { .kind = SINK_TCP, .addr = addr, .fd = -1 };
	int ret;

	r->command = "send";
	snprintf(r->target, sizeof(r->target), "%s", addr);
	if (!(src->mig_flags & VFIO_MIGRATION_STOP_COPY)) {
		set_err(err, "device %s does not support migration", src->name);
		return -1;
	}
	k.rbuf = malloc(MF_MAX_PAYLOAD);
	if (!k.rbuf) {
		set_err(err, "out of memory");
		return -1;
	}
	k.fd = tcp_connect(addr, g_opts.io_timeout_ms, err);
	if (k.fd < 0) {
		free(k.rbuf);
		return -1;
	}
	ret = run_source(src, &k, r, err);
	close(k.fd);
	free(k.rbuf);
	return ret;
}

int cmd_save(struct vfio_dev *src, const char *file, struct report *r,
	     char *err)
{
	struct sink k = { .kind = SINK_FILE, .path = file, .raw = g_opts.raw };

	r->command = "save";
	snprintf(r->target, sizeof(r->target), "%s", file);
	if (!(src->mig_flags & VFIO_MIGRATION_STOP_COPY)) {
		set_err(err, "device %s does not support migration", src->name);
		return -1;
	}
	k.fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (k.fd < 0) {
		set_err(err, "cannot create %s: %s", file, strerror(errno));
		return -1;
	}
	return run_source(src, &k, r, err);
}
