/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * vfmig_events: the records the BPF programs of bpf/ hand to userspace
 * (mig-top, mig-trace; tools/lib/mig_events.h builds the analysis on them):
 * the one normalized vfmig event on the ring buffer "events", the
 * per-device counters of the hash "devstats", the VMM view's probes, and
 * the ring buffer policy. Producer and consumers are built together from
 * one tree, so this is not the kernel's ABI (that is vfmig_abi.h) and has
 * no version: it changes with both sides at once.
 *
 * Every vfmig tracepoint (kernel/trace.h) becomes one struct mig_event:
 * identity from struct vfmig_trace_dev, then the TP_PROTO scalar arguments
 * in TP_PROTO order in a[] (signed arguments sign-extended to 64 bits).
 *
 * Included by BPF code (after vmlinux.h) and by userspace (plain C).
 */
#ifndef VFMIG_EVENTS_H
#define VFMIG_EVENTS_H

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
	MEV_SAVE_READ,		/* a0 pos, a1 len, a2 ret, a3 queued, a4 ns */
	MEV_RESUME_WRITE,	/* a0 pos, a1 len, a2 ret, a3 queued, a4 ns */
	MEV_RESUME_RECORD,	/* a0 pos, a1 size, a2 tag, a3 flags */
	MEV_IMAGE_LOAD,		/* a0 image_seq, a1 chunk_seq, a2 npages,
				 * a3 chunk_flags, a4 bytes, a5 ret */
	MEV_FW_SUBMIT,		/* a0 seq, a1 opcode, a2 op_mod, a3 bytes */
	MEV_FW_DONE,		/* a0 seq, a1 opcode, a2 op_mod, a3 status,
				 * a4 bytes, a5 lat_ns, a6 stall_ns */
	MEV_PRECOPY_INFO,	/* a0 initial_bytes, a1 dirty_bytes, a2 ret,
				 * a3 save_issued */
	MEV_ERROR,		/* a0 site, a1 err, a2 fw_status */
	MEV_SAVE_STALL,		/* a0 seq, a1 stalled, a2 ns */
	MEV_STATE_CHANGE,	/* a0 from, a1 to, a2 cause */
	MEV_VMM,		/* not a device's: a uprobe on the VMM (mig-top's
				 * VMM view, tools/lib/mig_vmm.c): a0 probe
				 * (enum mig_vmm_probe), a1 0 entry / 1 return;
				 * dev MIG_VMM_DEV, pid and comm the VMM's */
	MEV_MIG_UUID,		/* a0 kind, a1 uuid bytes 0-7, a2 uuid bytes
				 * 8-15 (each big-endian: the UUID's text
				 * order), a3 pos, a4 mono_ns, a5 tai_ns */
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
	__u64 tai;		/* bpf_ktime_get_tai_ns(), read right after ts:
				 * CLOCK_TAI, comparable across synced hosts;
				 * 0 when not recorded */
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
	__u64 fw_lat_sum[MIG_FW_NR];	/* SAVE: without its stalls */
	__u64 fw_lat_max[MIG_FW_NR];	/* SAVE: without its stalls */
	__u64 fw_failed;
	__u64 errors;
	__u64 events;
	__u64 save_stall_ns;	/* SAVEs paused on a full budget */
	__u64 save_stalls;
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

#endif /* VFMIG_EVENTS_H */
