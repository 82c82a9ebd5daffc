/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * mig_events: the one normalized vfmig event, shared by bpf/vfmig.bpf.c
 * (producer, ring buffer), mig-top and mig-trace (consumers), and the
 * offline analysis (tools/lib/mig_events.c): per-device state, migrations,
 * source/target pairing and the downtime breakdown (docs/downtime.md).
 *
 * Every vfmig tracepoint (kernel/trace.h) becomes one struct mig_event:
 * identity from struct vfmig_trace_dev, then the TP_PROTO scalar arguments
 * in TP_PROTO order in a[] (signed arguments sign-extended to 64 bits).
 *
 * Included by BPF code (after vmlinux.h) and by userspace (plain C).
 */
#ifndef MIG_EVENTS_H
#define MIG_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum mig_ev_type {
	MEV_DEVICE = 0,		/* a0 event (enum vfmig_dev_event) */
	MEV_SET_STATE,		/* a0 from, a1 target, a2 result, a3 ret, a4 ns */
	MEV_STATE_STEP,		/* a0 from, a1 to, a2 ret, a3 ns */
	MEV_FILE,		/* a0 kind, a1 open, a2 bytes, a3 peak_bytes */
	MEV_SAVE_RECORD,	/* a0 pos, a1 size, a2 tag, a3 flags */
	MEV_IMAGE_CHUNK,	/* a0 kind, a1 image_seq, a2 chunk_seq, a3 npages,
				 * a4 chunk_flags, a5 bytes, a6 pos */
	MEV_IMAGE_DONE,		/* a0 kind, a1 image_seq, a2 chunks, a3 npages,
				 * a4 bytes, a5 status, a6 ns */
	MEV_SAVE_READ,		/* a0 pos, a1 len, a2 ret */
	MEV_RESUME_WRITE,	/* a0 pos, a1 len, a2 ret */
	MEV_RESUME_RECORD,	/* a0 pos, a1 size, a2 tag, a3 flags */
	MEV_IMAGE_LOAD,		/* a0 image_seq, a1 chunk_seq, a2 npages,
				 * a3 chunk_flags, a4 bytes, a5 ret */
	MEV_FW_SUBMIT,		/* a0 seq, a1 opcode, a2 op_mod, a3 bytes */
	MEV_FW_DONE,		/* a0 seq, a1 opcode, a2 op_mod, a3 status,
				 * a4 bytes, a5 lat_ns */
	MEV_PRECOPY_INFO,	/* a0 initial_bytes, a1 dirty_bytes, a2 ret,
				 * a3 save_issued */
	MEV_ERROR,		/* a0 site, a1 err, a2 fw_status */
	MEV_VMM,		/* not a device's: a uprobe on the VMM (mig-top's
				 * VMM view, tools/lib/mig_vmm.c): a0 probe
				 * (enum mig_vmm_probe), a1 0 entry / 1 return;
				 * dev MIG_VMM_DEV, pid and comm the VMM's */
	MEV_NR,
};

#define MIG_VMM_DEV	0xffffffffu	/* dev of MEV_VMM events */
#define MIG_COMM_LEN	16		/* TASK_COMM_LEN */

#define MIG_EV_NARGS	7

struct mig_event {
	__u64 ts;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u16 type;		/* enum mig_ev_type */
	__u16 cpu;
	__u32 dev;
	__u32 state;		/* enum vfio_device_mig_state at event time */
	__u32 pid;		/* tgid of the task the event fired in */
	__u64 mig_id;
	__u64 state_size;	/* 0 from classic tracepoints (not recorded) */
	__u64 a[MIG_EV_NARGS];
	char comm[MIG_COMM_LEN];	/* that task's comm (its thread name) */
	__u8 uuid[16];		/* vfmig's mdev UUID in text byte order (all
				 * events but classic tracepoints other than
				 * vfmig_device); zeros when not known */
};

/* Per-device live counters (BPF hash map "devstats", key: dev id). */
#define MIG_FW_NR	5	/* VFMIG_FW_NR_OPCODES */
struct mig_devstats {
	__u64 mig_id;
	__u64 state_size;
	__u32 state;
	__u32 precopy_iters;	/* precopy_info calls that started a SAVE */
	__u64 last_ts;
	__u64 reads, read_bytes;	/* save file read() */
	__u64 writes, write_bytes;	/* resume file write() */
	__u64 chunks, chunk_bytes;	/* image chunks cut by firmware */
	__u64 images;			/* images completed */
	__u64 loads, load_bytes;	/* chunks loaded on the target */
	__u64 precopy_initial, precopy_dirty;	/* last precopy_info */
	__u64 fw_count[MIG_FW_NR];
	__u64 fw_lat_sum[MIG_FW_NR];
	__u64 fw_lat_max[MIG_FW_NR];
	__u64 fw_failed;
	__u64 errors;
	__u64 events;
};

/* The VMM's functions mig-top's VMM view probes (mig_vmm.c). */
enum mig_vmm_probe {
	MVP_STOP_VM = 0,	/* vm_stop_force_state: the source stops the VM */
	MVP_SAVE_ITERABLE,	/* qemu_savevm_state_complete_precopy_iterable */
	MVP_SAVE_COMPLETE,	/* qemu_savevm_state_complete_precopy */
	MVP_VM_START,		/* vm_start: the target runs the VM */
	MVP_SWITCHOVER_ACK,	/* migrate_send_rp_switchover_ack (entry only) */
	MVP_NR,
};

/* Ring buffer policy (const volatile in the BPF program). */
#define MIG_RB_PHASE	0	/* phase events only (mig-top) */
#define MIG_RB_ALL	1	/* every event (mig-trace record) */

#ifndef __VMLINUX_H__
/* ------------------------------------------------------------------ */
/* Userspace only                                                      */
/* ------------------------------------------------------------------ */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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
 * with '#' comment lines; "# drops <n>" and "# mode <m>" are metadata.
 * A device event ends with uuid=UUID (the mdev UUID, when known).
 * mig_ev_read() also takes <state> as a number and, instead of a0..a6,
 * FIELD=VALUE pairs named as in mig_ev_field() (other names are skipped;
 * uuid=UUID fills uuid[]), and skips events named vfmig_<name> that it
 * does not know (a newer kernel's tracepoints): tools/perf/vfmig-downtime.py
 * writes such lines from perf.data.
 */
void mig_ev_write(FILE *f, const struct mig_event *e);
/* "xxxxxxxx-xxxx-..." of a uuid[16] into buf (37 bytes); NULL if all zero. */
const char *mig_uuid_str(const __u8 uuid[16], char buf[37]);
/* 1 = event, 0 = EOF, -1 = syntax error (line number in *lineno). */
int mig_ev_read(FILE *f, struct mig_event *e, unsigned long long *drops,
		char *mode, size_t modelen, unsigned long *lineno);

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
	struct mig_owner src_owner, dst_owner;
	struct mig_vmm vmm;	/* filled by mig-top (mig_vmm_view()) */
};

enum mig_role { MR_NONE = 0, MR_SOURCE, MR_TARGET };

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
	/* source side */
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
	__u64 t_loaded;		/* T4 */
	struct mig_owner owner;	/* who drives its state */
	__u8 uuid[16];		/* mdev UUID (text byte order), zeros = unknown */
};

#define MIG_MAX_DEVS	256

struct mig_model {
	struct mig_dev devs[MIG_MAX_DEVS];
	void (*on_migration)(const struct mig_result *r, void *arg);
	void *arg;
	unsigned long long events;
	unsigned long long nr_migrations;
};

void mig_model_init(struct mig_model *m,
		    void (*on_migration)(const struct mig_result *, void *),
		    void *arg);
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

/* {"pid","comm","qemu_id"} of an owner as KEY, null when not known. */
struct jw;
void mig_owner_json(struct jw *w, const char *key, const struct mig_owner *o);
/* The fields of a completed migration, into an open JSON record. */
void mig_result_json(struct jw *w, const struct mig_result *r);
/* Human text block for a completed migration (used by the TUI and -C). */
void mig_result_text(FILE *f, const struct mig_result *r);
#endif /* !__VMLINUX_H__ */

#endif /* MIG_EVENTS_H */
