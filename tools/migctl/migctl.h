/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/* migctl internals: see docs/migctl.md. */
#ifndef MIGCTL_H
#define MIGCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_out.h"
#include "mig_events.h"
#include "migframe.h"
#include "vfio_dev.h"

#define MSG_LEN 320

struct opts {
	uint64_t downtime_limit_ns;
	uint64_t bandwidth;		/* bytes/s cap, 0 = none */
	unsigned int max_iterations;
	uint64_t max_precopy_ns;
	uint64_t io_timeout_ms;		/* no progress for this long = error */
	uint64_t accept_timeout_ms;
	bool no_precopy;
	bool json;
	bool quiet;
	bool verify;
	bool raw;
	bool resume_source;
	bool summary;			/* inspect: no per-record lines */
	const char *exec_stopped;
};

/*
 * The downtime as migctl sees it in userspace (docs/migctl.md, "Downtime
 * and its parts"): disjoint intervals of the one thread between T0 and T5,
 * so they add up to the downtime exactly.
 */
struct user_parts {
	uint64_t source_set_state_ns;	/* the source's ioctls out of running */
	uint64_t read_ns;		/* read() + poll() of the save fd */
	uint64_t write_ns;		/* handing the data to the sink */
	uint64_t throttle_ns;		/* --bandwidth sleeps */
	uint64_t finish_ns;		/* completing the target (or the file) */
	uint64_t other_ns;		/* the rest: migctl between those calls */
};

struct report {
	const char *command;
	const char *mode;		/* "precopy" | "stop_copy" | "raw" */
	const char *switch_reason;
	char source[256], target[256];
	uint32_t iterations;
	bool has_iterations;
	uint64_t total_ns, precopy_ns;
	/* source side, once the target runs (or the file is complete) */
	bool has_downtime;
	uint64_t t_start_ns, t_end_ns;	/* T0, T5: CLOCK_MONOTONIC */
	uint64_t downtime_ns;
	struct user_parts parts;
	/* the last switchover decision (PRE_COPY) */
	bool has_switchover;
	uint64_t bandwidth_Bps, pending_bytes, expected_downtime_ns;
	bool has_bytes, has_phase_bytes;
	uint64_t precopy_bytes, stop_copy_bytes, total_bytes;
	/* measured on the target (the receiver for TCP) */
	bool has_target_side;
	uint64_t tgt_load_ns;		/* STOP_COPY data write()s + RESUMING -> STOP */
	uint64_t tgt_load_total_ns;	/* every write() + RESUMING -> STOP */
	uint64_t tgt_resume_ns;		/* STOP -> RUNNING_P2P -> RUNNING */
	char src_digest[16], tgt_digest[16];
	char src_generation[24], tgt_generation[24];
	char src_mig_id[24], tgt_mig_id[24];
	int verified;			/* -1 not checked, 0 mismatch, 1 equal */
	const char *source_state;	/* after the command, incl. failures */
	const char *target_state;
};

extern volatile sig_atomic_t g_stop;	/* SIGINT/SIGTERM seen */
extern struct opts g_opts;

/* err is a MSG_LEN buffer for one line. */
void set_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- io.c: fd I/O with timeouts ------------------------------------------ */
/* Raw bytes (no frames); -1 with err "WHAT: ..." on failure. */
int io_write_all(int fd, const void *buf, size_t len, uint64_t timeout_ms,
		 const char *what, char *err);
int tcp_connect(const char *hostport, uint64_t timeout_ms, char *err);
int tcp_listen(const char *hostport, char *err);
int tcp_accept(int lfd, uint64_t timeout_ms, char *err);
int set_nonblock(int fd);

/*
 * Frames over a socket or file (tools/lib/migframe_io.c). 0, or -1 with
 * err "WHAT: ..." and io saying what happened and where (mf_io_peer_gone()
 * for a vanished peer: give peer_gone()'s message instead). payload may be
 * NULL when len is 0; buf holds MF_MAX_PAYLOAD.
 */
int frame_send(int fd, uint16_t type, const void *payload, uint32_t len,
	       bool csum, uint64_t timeout_ms, const char *what, char *err,
	       struct mf_io *io);
int frame_recv(int fd, struct mf_hdr *h, uint8_t *buf, uint64_t timeout_ms,
	       const char *what, char *err, struct mf_io *io);

enum peer { PEER_SENDER, PEER_RECEIVER, PEER_FILE };
/*
 * The one message for a stream that stopped before its END, wherever the
 * cut fell (docs/migctl.md, "A vanished peer"): "the sender closed the
 * connection mid-stream (WHERE[, PHASE]; N bytes of device data received)",
 * "the receiver at ADDR closed the connection mid-stream (...; N bytes ...
 * sent)", "truncated file: no END frame (WHERE; N bytes of device data)".
 * Returns -1.
 */
int peer_gone(char *err, enum peer who, const char *addr,
	      const struct mf_io *io, uint64_t bytes, const char *phase);

/* --- target.c: the resuming side -------------------------------------------- */
struct loader {
	struct vfio_dev *dev;
	int fd;
	uint64_t bytes;
	uint64_t write_ns;		/* every write() */
	uint64_t stop_write_ns;		/* write()s of STOP_COPY data */
	uint64_t stop_ns;		/* RESUMING -> STOP */
	uint64_t resume_ns;		/* STOP -> RUNNING_P2P -> RUNNING */
};
int loader_begin(struct loader *l, struct vfio_dev *d, char *err);
int loader_write(struct loader *l, const void *buf, size_t len, bool stop_phase,
		 char *err);
int loader_finish(struct loader *l, char *err);
void loader_abort(struct loader *l);
/* Refuse an incompatible stream before anything starts. */
int check_compat(const struct mf_hello *h, struct vfio_dev *tgt, char *err);
void read_vfmig_ids(struct vfio_dev *d, char *digest, char *gen, char *mig_id,
		    bool with_digest);

int cmd_receive(struct vfio_dev *tgt, const char *listen_addr, struct report *r,
		char *err);
int cmd_load(const char *file, struct vfio_dev *tgt, struct report *r,
	     char *err);

/* --- source.c: the saving side --------------------------------------------- */
int cmd_migrate(struct vfio_dev *src, struct vfio_dev *tgt, struct report *r,
		char *err);
int cmd_send(struct vfio_dev *src, const char *addr, struct report *r,
	     char *err);
int cmd_save(struct vfio_dev *src, const char *file, struct report *r,
	     char *err);
/* Back to RUNNING from wherever a failed migration left the device. */
void source_recover(struct vfio_dev *d);

/* --- inspect.c ----------------------------------------------------------- */
/* Text, or JSON lines with the error in the last one (then returns -1). */
int cmd_inspect(const char *file, char *err);

#endif /* MIGCTL_H */
