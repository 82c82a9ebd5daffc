/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * mig_events: the analysis of vfmig events for mig-top, mig-trace and the
 * offline tools: the event file format, per-device state, migrations,
 * source/target pairing and the downtime breakdown (docs/downtime.md;
 * tools/lib/mig_events.c). The records themselves (struct mig_event, the
 * MEV_* types, struct mig_devstats), shared with the BPF programs, are in
 * include/vfmig_events.h.
 */
#ifndef MIG_EVENTS_H
#define MIG_EVENTS_H

#ifdef __VMLINUX_H__
#error "userspace only: BPF programs include vfmig_events.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vfmig_events.h"

/* vfio_device_mig_state values (uAPI) */
enum {
	MS_ERROR = 0, MS_STOP = 1, MS_RUNNING = 2, MS_STOP_COPY = 3,
	MS_RESUMING = 4, MS_RUNNING_P2P = 5, MS_PRE_COPY = 6,
	MS_PRE_COPY_P2P = 7, MS_NR = 8,
};

const char *mig_ev_name(unsigned int type);	/* "set_state" ... */
/* Argument index of @field for event @type (a0..a6), -1 if none. */
int mig_ev_field(unsigned int type, const char *field);
int mig_ev_lookup(const char *name);		/* -1 if unknown */
const char *mig_state_name(unsigned int state);	/* "PRE_COPY" ... */
int mig_state_lookup(const char *name);		/* -1 if unknown */
const char *mig_fw_op_name(unsigned int op);	/* "SAVE" ... */
const char *mig_err_site_name(unsigned int site);	/* "checksum" ... */
int mig_err_site_lookup(const char *name);	/* -1 if unknown */
bool mig_ev_is_phase(unsigned int type);	/* sent in MIG_RB_PHASE mode */

/*
 * Event files: text, one event a line,
 *   <ts> <event> <dev> <state> <mig_id> <state_size> <a0> ... <a6>
 * with '#' comment lines; "# drops <n>", "# mode <m>" and "# host <name>"
 * are metadata. A device event ends with uuid=UUID (the mdev UUID, when
 * known); any event with tai=NS (its CLOCK_TAI stamp, when recorded).
 * mig_ev_read() also takes <state> as a number and, instead of a0..a6,
 * FIELD=VALUE pairs named as in mig_ev_field() (other names are skipped;
 * uuid=UUID fills uuid[], of a mig_uuid event the migration UUID in a1,
 * a2), and skips events named vfmig_<name> that it does not know (a newer
 * kernel's tracepoints): tools/perf/vfmig-downtime.py writes such lines
 * from perf.data.
 */
void mig_ev_write(FILE *f, const struct mig_event *e);
/* "xxxxxxxx-xxxx-..." of a uuid[16] into buf (37 bytes); NULL if all zero. */
const char *mig_uuid_str(const __u8 uuid[16], char buf[37]);
/* The text form back into uuid[16]; 0 or -1. */
int mig_uuid_parse(const char *s, __u8 uuid[16]);
/* 1 = event, 0 = EOF, -1 = syntax error (line number in *lineno). */
int mig_ev_read(FILE *f, struct mig_event *e, unsigned long long *drops,
		char *mode, size_t modelen, unsigned long *lineno);
/* The "# host <name>" line of an event file's header; 0 if found, else -1. */
int mig_ev_file_host(const char *path, char *host, size_t len);
/* The 16 UUID bytes of a MEV_MIG_UUID event. */
void mig_ev_uuid(const struct mig_event *e, __u8 uuid[16]);

/* ------------------------------------------------------------------ */
/* Analysis model                                                      */
/* ------------------------------------------------------------------ */

/* The five parts of a downtime, in order (docs/downtime.md). */
enum mig_part {
	MP_SRC_SUSPEND = 0,	/* T0 source leaves running -> T1 STOP_COPY */
	MP_FINAL_SAVE,		/* T1 -> T2 final image done in firmware */
	MP_DRAIN,		/* T2 -> T3 reader got the last byte */
	MP_TGT_LOAD,		/* T3 -> T4 target RESUMING -> STOP done */
	MP_TGT_RESUME,		/* T4 -> T5 target reached RUNNING */
	MP_NR,
};
const char *mig_part_name(unsigned int p);	/* "source_suspend" ... */

/*
 * Attribution (docs/downtime.md, tools/lib/mig_attrib.c): every instant of
 * a downtime is charged to one cause, so each part splits into causes that
 * add up to it exactly. DEVICE and TARGET_LOAD are device-bound time (a
 * device works, the VMM waits); the others are VMM-bound.
 */
enum mig_cause {
	MC_DEVICE = 0,	/* a device's firmware works: cutting the image,
			 * SUSPEND/RESUME arcs; the reader waits */
	MC_VMM_READ,	/* data waits for the source's reader (the SAVE
			 * stalled on a full budget, or the rest is queued),
			 * the target holds every byte read: nobody reads */
	MC_TRANSPORT,	/* bytes read from the source are not at the target
			 * yet and the target is not loading */
	MC_TARGET_LOAD,	/* the target's write() (its LOADs) or RESUMING ->
			 * STOP runs */
	MC_VMM,		/* nobody works: the VMM between two requests */
	MC_NR,
};
/* A bottleneck that is not a stage: the state left dirty at switchover. */
#define MC_DIRTY	MC_NR

const char *mig_cause_name(unsigned int c);	/* "device" ... "dirty" */
/* What the cause means in words, "blocked on the reader"; @part may
 * refine it (MP_NR: any part). */
const char *mig_cause_words(unsigned int c, unsigned int part);
bool mig_cause_device_bound(unsigned int c);
/*
 * The bottleneck of a migration from its time per cause: the largest
 * cause, or MC_DIRTY when the source used PRE_COPY and moving the data
 * left dirty at switchover (@dirty_ns: the time the downtime spent moving
 * the stop-copy data, beyond the fixed cost of an image) took more than
 * half of the downtime. @stage (may be NULL) gets the largest cause.
 */
unsigned int mig_bottleneck(const __u64 cause_ns[MC_NR], __u64 downtime_ns,
			    bool precopy, __u64 dirty_ns, unsigned int *stage);

/*
 * The process that drives a device's migration: the task of its last
 * vfmig_set_state (or of the vfmig_device open). mig-top replaces the
 * thread's comm with the process's (/proc/PID/comm) and learns QEMU's
 * device id from /proc/PID/cmdline (docs/mig-top.md, "Owners").
 */
struct mig_owner {
	__u32 pid;		/* tgid; 0 = not known */
	char comm[MIG_COMM_LEN];
	char qemu_id[64];	/* QEMU's -device ...,id=, "" = not learned */
};

/* The VMM's parts of the pause, in order (docs/downtime.md). */
enum mig_vmm_part {
	MV_STOP_VM = 0,		/* V0 source stop entry -> V1 its return */
	MV_SAVE_ITERABLE,	/* V1 -> V2 RAM and the VFIO devices' data saved */
	MV_SAVE_NON_ITERABLE,	/* V2 -> V3 other device state, end of stream */
	MV_TARGET_LOAD,		/* V3 -> V4 target enters vm_start */
	MV_TARGET_START,	/* V4 -> V5 target's vm_start returns */
	MV_NR,
};

struct mig_vmm {		/* the VMM view of one migration */
	bool valid;		/* false: no view, note says why */
	__u32 src_pid, dst_pid;
	__u64 t[MV_NR + 1];	/* V0..V5 as seen, 0 = not seen */
	__u64 part_ns[MV_NR];	/* of V0..V5 forced non-decreasing */
	__u64 window_ns;	/* their sum */
	__u64 t_ack;		/* target sent the switchover ack, 0 = not seen */
	char note[160];		/* no view: why; a view: what is missing */
};

struct mig_result {		/* one completed migration */
	bool has_mig_uuid;		/* both sides reported this migration UUID */
	__u8 mig_uuid[16];
	bool by_uuid;		/* paired by the UUID, else by bytes and time */
	__u32 src_dev, dst_dev;
	__u64 src_mig_id, dst_mig_id;
	__u64 t[MP_NR + 1];	/* T0..T5, monotonic ns, non-decreasing */
	__u64 downtime_ns;	/* T5 - T0 == sum of parts */
	__u64 part_ns[MP_NR];
	__u64 precopy_bytes;	/* read from the save file in PRE_COPY* */
	__u64 stopcopy_bytes;	/* read in STOP_COPY */
	__u64 written_bytes;	/* written to the resume file */
	__u32 precopy_iters;	/* middle images started */
	__u32 images;		/* images completed on the source */
	__u32 errors;		/* vfmig_error events on both sides */
	bool bytes_match;	/* precopy + stopcopy == written */
	bool partial;		/* tool started after the migration began */
	bool precopy;		/* source used PRE_COPY */
	/* attribution: each part by cause; row p sums to part_ns[p] */
	__u64 cause_ns[MP_NR][MC_NR];
	__u8 bottleneck;	/* enum mig_cause or MC_DIRTY */
	__u8 stage;		/* enum mig_cause: the largest cause */
	bool attrib_complete;	/* every span of the window was logged */
	__u64 dirty_ns;		/* PRE_COPY: time final_save + drain spent
				 * moving data (beyond a round's fixed cost) */
	/* expected downtime, estimated when the source left PRE_COPY */
	bool expected;		/* the fields below are valid */
	__u64 expected_ns;	/* fixed_ns + pending_bytes / rate */
	__u64 expected_pending;	/* bytes left for the downtime */
	__u64 expected_rate;	/* bytes/s through the slowest stage */
	__u64 expected_fixed_ns;
	bool expected_learned;	/* fixed part from the source's last migration */
	struct mig_owner src_owner, dst_owner;
	struct mig_vmm vmm;	/* filled by mig-top (mig_vmm_view()) */
};

/* One interval of device activity, kept for the attribution. */
enum { MSPAN_ARC, MSPAN_STALL, MSPAN_READ, MSPAN_WRITE, MSPAN_CHUNK };
struct mig_span {
	__u64 start, end;	/* monotonic ns */
	__u64 pos0, pos1;	/* READ/WRITE: stream offsets before, after;
				 * CHUNK: pos1 = the end of the chunk queued */
	__u64 queued;		/* READ: bytes left queued after it */
	__u32 kind;
};

/* Per source: what the expected downtime is computed from. */
struct mig_expect {
	__u64 q_ts;		/* last precopy_info */
	__u64 q_pending;	/* its initial + dirty bytes */
	__u64 q_read;		/* bytes read by then */
	__u32 queries;
	__u64 dirt_bytes, dirt_ns;	/* new dirty data between queries */
	__u64 cmd_ns;		/* RUNNING -> PRE_COPY arc: a command and
				 * the save file's creation */
	/* rounds: a SAVE's start to its last byte read */
	bool round_open, round_done;
	__u64 round_start, round_read0, round_end;
	double sx, sy, sxx, sxy;	/* least squares of ns over bytes */
	double xmin, xmax;		/* the smallest and largest round */
	__u32 rounds;
};

/*
 * Per source, from its last MIG_HIST PRE_COPY migrations (medians): the
 * fixed part of their downtimes, and how much faster (k < 1) their
 * downtimes moved data than their PRE_COPY rounds did.
 */
#define MIG_HIST	5
struct mig_hist {
	__u64 fixed_ns[MIG_HIST];
	double k[MIG_HIST];
	__u32 nfixed, nk;	/* values so far (the rings wrap) */
};

/* An expected downtime and what it is made of. */
struct mig_expected {
	__u64 ns, pending, rate, fixed_ns;
	bool learned;		/* from the source's last migrations */
};


enum mig_role { MR_NONE = 0, MR_SOURCE, MR_TARGET };

/*
 * One host's half of a migration (a "side"), reported whether or not this
 * host also saw the other half: the source when it leaves STOP_COPY (or
 * its save file goes), the target when it reaches RUNNING. Times are
 * CLOCK_MONOTONIC ns of this host, 0 when not seen; tai_off maps them onto
 * CLOCK_TAI. tools/lib/mig_join.c joins a source and a target side of two
 * hosts by their UUID.
 */
struct mig_side {
	__u8 role;		/* MR_SOURCE or MR_TARGET */
	bool has_mig_uuid;
	__u8 mig_uuid[16];
	__u32 dev;
	__u64 mig_id;
	__u64 t_open;		/* data file created */
	/* source */
	__u64 t_first_read;	/* first byte read from the save file */
	__u64 t_susp;		/* T0: the source stops (arc start) */
	__u64 t_stopcopy;	/* T1 */
	__u64 t_final_done;	/* T2 */
	__u64 t_last_read;	/* T3: last byte read */
	__u64 t_released;	/* STOP_COPY -> STOP: its VMM let it go */
	__u64 precopy_bytes, stopcopy_bytes;
	__u32 precopy_iters, images;
	bool precopy;
	/* target */
	__u64 t_first_write;	/* first byte written to the resume file */
	__u64 t_last_write;	/* the stream's last byte consumed */
	__u64 t_loaded;		/* T4: RESUMING -> STOP done */
	__u64 t_running;	/* T5: RUNNING */
	__u64 written_bytes;
	/* both */
	__u32 errors;
	bool partial;
	bool tai_seen;		/* events carried CLOCK_TAI */
	/*
	 * CLOCK_TAI - CLOCK_MONOTONIC: the smallest over the migration's
	 * events (each event reads the two clocks one after the other, and
	 * a guest descheduled in between reads a larger difference: the
	 * smallest is the pair read closest together), and how far above
	 * it the others went (that jitter, or a clock step).
	 */
	__s64 tai_off;
	__u64 tai_spread;
};

struct mig_dev {
	bool used;
	__u32 dev;
	__u32 state;
	__u64 mig_id;
	__u64 state_size;
	__u64 state_since;	/* ts of entering the current state */
	__u8 role;		/* enum mig_role of the current mig_id */
	bool partial;
	bool removed;
	__u64 remove_ts;
	bool has_mig_uuid;		/* vfmig_mig_uuid of the current migration */
	__u8 mig_uuid[16];
	bool tai_seen;
	__s64 tai_off, tai_off_min, tai_off_max;
	bool side_done;		/* this migration's side was reported */
	/* source side */
	__u64 t_first_read;
	__u64 t_released;
	__u64 t_open;
	__u64 t_susp;		/* T0 candidate: running -> P2P arc start */
	__u64 t_stopcopy;	/* T1 */
	__u64 t_final_done;	/* T2 */
	__u64 t_last_read;	/* T3 candidate */
	bool read_eof;
	__u64 precopy_bytes, stopcopy_bytes;
	__u64 initial_total;	/* initial image bytes incl. first record */
	__u64 precopy_initial, precopy_dirty;	/* last precopy_info */
	__u32 precopy_iters, images, errors;
	__u32 last_err_site;	/* enum vfmig_err_site of the last error */
	__s32 last_err;		/* its errno (negative), 0 before any */
	bool precopy;
	bool paired;		/* source consumed by a completed migration */
	__u64 complete_ts;	/* source reached STOP_COPY (pairing) */
	/* target side */
	__u64 written_bytes;
	__u64 t_first_write, t_last_write;
	__u64 t_loaded;		/* T4 */
	/* attribution (mig_attrib.c) */
	struct mig_span *spans;
	__u32 nspans, spans_cap;
	bool spans_lost;
	__u64 q_end;		/* stream offset queued up to (chunks, reads) */
	__u64 q_end_t1;		/* ... as STOP_COPY began */
	struct mig_expect ex;
	struct mig_hist hist;		/* kept across migrations */
	struct mig_expected at_t0;	/* frozen when leaving PRE_COPY */
	bool at_t0_valid;
	struct mig_owner owner;	/* who drives its state */
	__u8 uuid[16];		/* mdev UUID (text byte order), zeros = unknown */
};

#define MIG_MAX_DEVS	256

#define MIG_ARCS	8

struct mig_model {
	struct mig_dev devs[MIG_MAX_DEVS];
	/* the last SUSPEND/RESUME arcs of any device: what one costs */
	__u64 arc_ns[MIG_ARCS];
	__u32 narcs;
	void (*on_migration)(const struct mig_result *r, void *arg);
	void (*on_side)(const struct mig_side *s, void *arg);	/* optional */
	void *arg;
	unsigned long long events;
	unsigned long long nr_migrations;
};

void mig_model_init(struct mig_model *m,
		    void (*on_migration)(const struct mig_result *, void *),
		    void *arg);
/* Free what the devices hold (the model itself is the caller's). */
void mig_model_free(struct mig_model *m);
void mig_model_feed(struct mig_model *m, const struct mig_event *e);
struct mig_dev *mig_model_dev(struct mig_model *m, __u32 dev, bool create);
/*
 * Seed a device seen in the devstats map before its events (tool started
 * mid-migration): its current migration is marked partial.
 */
void mig_model_seed(struct mig_model *m, __u32 dev, __u32 state,
		    __u64 mig_id, __u64 state_size, __u64 now);
/* Forget devices removed more than @keep_ns before @now. */
void mig_model_gc(struct mig_model *m, __u64 now, __u64 keep_ns);

/* Phase name of a device: "idle", "precopy", "stop_copy", "resuming"... */
const char *mig_dev_phase(const struct mig_dev *d);
/* Precopy progress of a source in [0, 1], -1 when not applicable. */
double mig_dev_progress(const struct mig_dev *d);
/*
 * The downtime a source in PRE_COPY would have if it switched over at
 * @now: what is pending, at the rate its PRE_COPY rounds measured through
 * the slowest stage, plus the fixed part. false when it cannot tell.
 */
bool mig_dev_expected(const struct mig_model *m, const struct mig_dev *d,
		      __u64 now, struct mig_expected *x);
/* Its members "expected_downtime_ns" and "expected" (null when unknown),
 * into an open device record. */
struct jw;
void mig_expected_json(struct jw *w, const struct mig_model *m,
		       const struct mig_dev *d, __u64 now);

/* {"pid","comm","qemu_id"} of an owner as KEY, null when not known. */
struct jw;
void mig_owner_json(struct jw *w, const char *key, const struct mig_owner *o);
/* The fields of a completed migration, into an open JSON record. */
void mig_result_json(struct jw *w, const struct mig_result *r);
/* The fields of a host's side of a migration, into an open JSON record. */
void mig_side_json(struct jw *w, const struct mig_side *s);
/* Human text block for a completed migration (used by the TUI and -C). */
void mig_result_text(FILE *f, const struct mig_result *r);
/* "final_save 94.0 %: blocked on the reader": the largest part and what
 * it waited for. */
void mig_result_summary(char *buf, size_t len, const struct mig_result *r);

/* Internal: the attribution's hooks in the model (mig_attrib.c). */
void mig_attrib_event(struct mig_model *m, struct mig_dev *d,
		      const struct mig_event *e);
void mig_attrib_request(struct mig_dev *d, const struct mig_event *e);
void mig_attrib_reset(struct mig_dev *d);
void mig_attrib_free(struct mig_dev *d);
void mig_attrib_result(struct mig_model *m, struct mig_dev *src,
		       struct mig_dev *tgt, struct mig_result *r);
#endif /* MIG_EVENTS_H */
