// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * vfmig.bpf.c: CO-RE programs on every vfmig tracepoint (kernel/trace.h),
 * shared by mig-top and mig-trace.
 *
 * Each event exists three times; userspace loads exactly one set
 * (tools/lib/mig_attach.c), in this order of preference:
 *   tp_btf/<ev>   module BTF (btf_trace_<ev>): TP_PROTO args, typed
 *   raw_tp/<ev>   no BTF needed: the same TP_PROTO args as u64s
 *   tp/vfmig/<ev> classic tracepoint: the record (TP_STRUCT__entry), whose
 *                 layout is the ABI of docs/tracepoints.md
 * All three produce the same struct mig_event (include/vfmig_events.h).
 *
 * Outputs: ring buffer "events" (phase events, or all events with
 * rb_mode = MIG_RB_ALL), hash "devstats" (per-device live counters),
 * per-CPU "drops" ([0] ring buffer full, [1] devstats full).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vfmig_abi.h"
#include "vfmig_events.h"
#include "mig_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile int rb_mode = MIG_RB_PHASE;
const volatile __s64 dev_filter = -1;	/* only this device id, -1 = all */

static __always_inline bool is_phase(__u32 type)
{
	switch (type) {
	case MEV_SAVE_RECORD:
	case MEV_RESUME_RECORD:
	case MEV_IMAGE_LOAD:
	case MEV_FW_SUBMIT:
	case MEV_FW_DONE:
		return false;
	default:
		return true;
	}
}

static __always_inline void update_stats(struct mig_event *e)
{
	static const struct mig_devstats zero;
	struct mig_devstats *s;
	__u32 key = e->dev;
	__u64 op, lat;

	s = bpf_map_lookup_elem(&devstats, &key);
	if (!s) {
		if (e->type == MEV_DEVICE && e->a[0] == VFMIG_DEV_REMOVE)
			return;
		if (bpf_map_update_elem(&devstats, &key, &zero, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&devstats, &key)) {
			count_drop(1);
			return;
		}
		s = bpf_map_lookup_elem(&devstats, &key);
		if (!s)
			return;
	}
	s->state = e->state;
	s->mig_id = e->mig_id;
	if (e->state_size)
		s->state_size = e->state_size;
	s->last_ts = e->ts;
	__sync_fetch_and_add(&s->events, 1);

	switch (e->type) {
	case MEV_DEVICE:
		if (e->a[0] == VFMIG_DEV_REMOVE)
			bpf_map_delete_elem(&devstats, &key);
		break;
	case MEV_SAVE_READ:
		if ((__s64)e->a[2] > 0) {
			__sync_fetch_and_add(&s->reads, 1);
			__sync_fetch_and_add(&s->read_bytes, e->a[2]);
		}
		break;
	case MEV_RESUME_WRITE:
		if ((__s64)e->a[2] > 0) {
			__sync_fetch_and_add(&s->writes, 1);
			__sync_fetch_and_add(&s->write_bytes, e->a[2]);
		}
		break;
	case MEV_IMAGE_CHUNK:
		__sync_fetch_and_add(&s->chunks, 1);
		__sync_fetch_and_add(&s->chunk_bytes, e->a[5]);
		break;
	case MEV_IMAGE_DONE:
		__sync_fetch_and_add(&s->images, 1);
		break;
	case MEV_IMAGE_LOAD:
		if (!e->a[5]) {
			__sync_fetch_and_add(&s->loads, 1);
			__sync_fetch_and_add(&s->load_bytes, e->a[4]);
		}
		break;
	case MEV_PRECOPY_INFO:
		if (!e->a[2]) {
			s->precopy_initial = e->a[0];
			s->precopy_dirty = e->a[1];
		}
		if (e->a[3])
			__sync_fetch_and_add(&s->precopy_iters, 1);
		break;
	case MEV_FW_DONE:
		op = e->a[1];
		/* A SAVE's latency without its stalls: the firmware's work. */
		lat = e->a[5] > e->a[6] ? e->a[5] - e->a[6] : 0;
		if (op < MIG_FW_NR) {
			__sync_fetch_and_add(&s->fw_count[op], 1);
			__sync_fetch_and_add(&s->fw_lat_sum[op], lat);
			if (lat > s->fw_lat_max[op])
				s->fw_lat_max[op] = lat;
		}
		if (e->a[3])
			__sync_fetch_and_add(&s->fw_failed, 1);
		break;
	case MEV_ERROR:
		__sync_fetch_and_add(&s->errors, 1);
		break;
	case MEV_SAVE_STALL:
		if (e->a[1]) {
			__sync_fetch_and_add(&s->save_stalls, 1);
		} else {
			__sync_fetch_and_add(&s->save_stall_ns, e->a[2]);
		}
		break;
	}
}

static __always_inline int process(struct mig_event *e)
{
	if (dev_filter >= 0 && e->dev != (__u32)dev_filter)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->tai = bpf_ktime_get_tai_ns();
	e->cpu = bpf_get_smp_processor_id();
	set_task(e);
	update_stats(e);
	if (rb_mode == MIG_RB_ALL || is_phase(e->type)) {
		submit_event(e);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* tp_btf and raw_tp: ctx is the TP_PROTO argument array               */
/* ------------------------------------------------------------------ */

static __always_inline int from_args(__u64 *ctx, __u32 type, int nargs,
				     __u32 signed_mask)
{
	struct vfmig_trace_dev td;
	struct mig_event e = {};

	if (bpf_probe_read_kernel(&td, sizeof(td), (void *)ctx[0]))
		return 0;
	e.type = type;
	e.dev = td.id;
	e.state = td.state;
	e.mig_id = td.mig_id;
	e.state_size = td.state_size;
	__builtin_memcpy(e.uuid, td.uuid, sizeof(e.uuid));
#pragma unroll
	for (int i = 0; i < MIG_EV_NARGS; i++) {
		__u64 v;

		if (i >= nargs)
			break;
		v = ctx[i + 1];
		/* TP args are zero-extended to u64: restore int signs. */
		if (signed_mask & (1u << i))
			v = (__u64)(__s64)(__s32)v;
		e.a[i] = v;
	}
	return process(&e);
}

#define ARGS_PROGS(ev, type, nargs, smask)				\
SEC("tp_btf/" #ev)							\
int btf_##ev(__u64 *ctx) { return from_args(ctx, type, nargs, smask); } \
SEC("raw_tp/" #ev)							\
int raw_##ev(__u64 *ctx) { return from_args(ctx, type, nargs, smask); }

ARGS_PROGS(vfmig_device, MEV_DEVICE, 1, 0)
ARGS_PROGS(vfmig_set_state, MEV_SET_STATE, 5, 1u << 3)
ARGS_PROGS(vfmig_state_step, MEV_STATE_STEP, 4, 1u << 2)
ARGS_PROGS(vfmig_file, MEV_FILE, 4, 0)
ARGS_PROGS(vfmig_save_record, MEV_SAVE_RECORD, 4, 0)
ARGS_PROGS(vfmig_image_chunk, MEV_IMAGE_CHUNK, 7, 0)
ARGS_PROGS(vfmig_image_done, MEV_IMAGE_DONE, 7, 1u << 5)
ARGS_PROGS(vfmig_save_read, MEV_SAVE_READ, 5, 0)
ARGS_PROGS(vfmig_resume_write, MEV_RESUME_WRITE, 5, 0)
ARGS_PROGS(vfmig_resume_record, MEV_RESUME_RECORD, 4, 0)
ARGS_PROGS(vfmig_image_load, MEV_IMAGE_LOAD, 6, 1u << 5)
ARGS_PROGS(vfmig_fw_cmd_submit, MEV_FW_SUBMIT, 4, 0)
ARGS_PROGS(vfmig_fw_cmd_done, MEV_FW_DONE, 7, 0)
ARGS_PROGS(vfmig_precopy_info, MEV_PRECOPY_INFO, 4, 1u << 2)
ARGS_PROGS(vfmig_error, MEV_ERROR, 3, 1u << 1)
ARGS_PROGS(vfmig_save_stall, MEV_SAVE_STALL, 3, 0)
ARGS_PROGS(vfmig_state_change, MEV_STATE_CHANGE, 3, 0)

/* The UUID pointer (argument 2) is read here: a1/a2 carry its bytes. */
static __always_inline void put_uuid(struct mig_event *e, const __u8 *u)
{
	__u64 hi = 0, lo = 0;

#pragma unroll
	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | u[i];
		lo = lo << 8 | u[8 + i];
	}
	e->a[1] = hi;
	e->a[2] = lo;
}

static __always_inline int from_uuid_args(__u64 *ctx)
{
	struct vfmig_trace_dev td;
	struct mig_event e = {};
	__u8 u[16];

	if (bpf_probe_read_kernel(&td, sizeof(td), (void *)ctx[0]) ||
	    bpf_probe_read_kernel(u, sizeof(u), (void *)ctx[2]))
		return 0;
	e.type = MEV_MIG_UUID;
	e.dev = td.id;
	e.state = td.state;
	e.mig_id = td.mig_id;
	e.state_size = td.state_size;
	__builtin_memcpy(e.uuid, td.uuid, sizeof(e.uuid));
	e.a[0] = ctx[1];
	put_uuid(&e, u);
	e.a[3] = ctx[3];
	e.a[4] = ctx[4];
	e.a[5] = ctx[5];
	return process(&e);
}

SEC("tp_btf/vfmig_mig_uuid")
int btf_vfmig_mig_uuid(__u64 *ctx) { return from_uuid_args(ctx); }
SEC("raw_tp/vfmig_mig_uuid")
int raw_vfmig_mig_uuid(__u64 *ctx) { return from_uuid_args(ctx); }

/* ------------------------------------------------------------------ */
/* Classic tracepoints: ctx is the record (the tracefs format file)    */
/* ------------------------------------------------------------------ */

#define REC_HEAD struct trace_entry ent; __u32 dev; __u32 state; __u64 mig_id

struct rec_device { REC_HEAD; __u32 event; __u64 state_size; __u8 uuid[16]; };
struct rec_set_state { REC_HEAD; __u32 from, target, result; int ret; __u64 ns; };
struct rec_state_step { REC_HEAD; __u32 from, to; int ret; __u64 ns; };
struct rec_file { REC_HEAD; __u32 kind, open; __u64 bytes, peak_bytes; };
struct rec_record { REC_HEAD; __u64 pos, size; __u32 tag, flags; };
struct rec_image_chunk {
	REC_HEAD; __u32 kind, image_seq, chunk_seq, npages, chunk_flags, tag;
	__u64 bytes, pos;
};
struct rec_image_done {
	REC_HEAD; __u32 kind, image_seq, chunks; int status;
	__u64 npages, bytes, ns;
};
struct rec_data_io { REC_HEAD; __u64 pos, len; __s64 ret; __u64 queued, ns; };
struct rec_image_load {
	REC_HEAD; __u32 image_seq, chunk_seq, npages, chunk_flags;
	__u64 bytes; int ret;
};
struct rec_fw_submit { REC_HEAD; __u64 seq; __u32 opcode, op_mod; __u64 bytes; };
struct rec_fw_done {
	REC_HEAD; __u64 seq; __u32 opcode, op_mod, status; __u64 bytes, lat_ns;
	__u64 stall_ns;
};
struct rec_precopy_info {
	REC_HEAD; __u64 initial_bytes, dirty_bytes; int ret; __u32 save_issued;
};
struct rec_error { REC_HEAD; __u32 site; int err; __u32 fw_status; };
struct rec_mig_uuid {
	REC_HEAD; __u32 kind; __u8 uuid[16]; __u64 pos, mono_ns, tai_ns;
};
struct rec_save_stall { REC_HEAD; __u64 seq; __u32 stalled; __u64 ns; };
struct rec_state_change { REC_HEAD; __u32 from, to, cause; };

#define REC_INIT(e, r, t)						\
	struct mig_event e = {};					\
	e.type = t; e.dev = r->dev; e.state = r->state; e.mig_id = r->mig_id

SEC("tp/vfmig/vfmig_device")
int tp_vfmig_device(struct rec_device *r)
{
	REC_INIT(e, r, MEV_DEVICE);
	e.state_size = r->state_size;
	__builtin_memcpy(e.uuid, r->uuid, sizeof(e.uuid));
	e.a[0] = r->event;
	return process(&e);
}

SEC("tp/vfmig/vfmig_set_state")
int tp_vfmig_set_state(struct rec_set_state *r)
{
	REC_INIT(e, r, MEV_SET_STATE);
	e.a[0] = r->from; e.a[1] = r->target; e.a[2] = r->result;
	e.a[3] = (__s64)r->ret; e.a[4] = r->ns;
	return process(&e);
}

SEC("tp/vfmig/vfmig_state_step")
int tp_vfmig_state_step(struct rec_state_step *r)
{
	REC_INIT(e, r, MEV_STATE_STEP);
	e.a[0] = r->from; e.a[1] = r->to; e.a[2] = (__s64)r->ret; e.a[3] = r->ns;
	return process(&e);
}

SEC("tp/vfmig/vfmig_file")
int tp_vfmig_file(struct rec_file *r)
{
	REC_INIT(e, r, MEV_FILE);
	e.a[0] = r->kind; e.a[1] = r->open; e.a[2] = r->bytes;
	e.a[3] = r->peak_bytes;
	return process(&e);
}

static __always_inline int rec_record(struct rec_record *r, __u32 type)
{
	REC_INIT(e, r, type);
	e.a[0] = r->pos; e.a[1] = r->size; e.a[2] = r->tag; e.a[3] = r->flags;
	return process(&e);
}

SEC("tp/vfmig/vfmig_save_record")
int tp_vfmig_save_record(struct rec_record *r)
{
	return rec_record(r, MEV_SAVE_RECORD);
}

SEC("tp/vfmig/vfmig_resume_record")
int tp_vfmig_resume_record(struct rec_record *r)
{
	return rec_record(r, MEV_RESUME_RECORD);
}

SEC("tp/vfmig/vfmig_image_chunk")
int tp_vfmig_image_chunk(struct rec_image_chunk *r)
{
	REC_INIT(e, r, MEV_IMAGE_CHUNK);
	e.a[0] = r->kind; e.a[1] = r->image_seq; e.a[2] = r->chunk_seq;
	e.a[3] = r->npages; e.a[4] = r->chunk_flags; e.a[5] = r->bytes;
	e.a[6] = r->pos;
	return process(&e);
}

SEC("tp/vfmig/vfmig_image_done")
int tp_vfmig_image_done(struct rec_image_done *r)
{
	REC_INIT(e, r, MEV_IMAGE_DONE);
	e.a[0] = r->kind; e.a[1] = r->image_seq; e.a[2] = r->chunks;
	e.a[3] = r->npages; e.a[4] = r->bytes; e.a[5] = (__s64)r->status;
	e.a[6] = r->ns;
	return process(&e);
}

static __always_inline int rec_data_io(struct rec_data_io *r, __u32 type)
{
	REC_INIT(e, r, type);
	e.a[0] = r->pos; e.a[1] = r->len; e.a[2] = r->ret;
	e.a[3] = r->queued; e.a[4] = r->ns;
	return process(&e);
}

SEC("tp/vfmig/vfmig_save_read")
int tp_vfmig_save_read(struct rec_data_io *r)
{
	return rec_data_io(r, MEV_SAVE_READ);
}

SEC("tp/vfmig/vfmig_resume_write")
int tp_vfmig_resume_write(struct rec_data_io *r)
{
	return rec_data_io(r, MEV_RESUME_WRITE);
}

SEC("tp/vfmig/vfmig_image_load")
int tp_vfmig_image_load(struct rec_image_load *r)
{
	REC_INIT(e, r, MEV_IMAGE_LOAD);
	e.a[0] = r->image_seq; e.a[1] = r->chunk_seq; e.a[2] = r->npages;
	e.a[3] = r->chunk_flags; e.a[4] = r->bytes; e.a[5] = (__s64)r->ret;
	return process(&e);
}

SEC("tp/vfmig/vfmig_fw_cmd_submit")
int tp_vfmig_fw_cmd_submit(struct rec_fw_submit *r)
{
	REC_INIT(e, r, MEV_FW_SUBMIT);
	e.a[0] = r->seq; e.a[1] = r->opcode; e.a[2] = r->op_mod;
	e.a[3] = r->bytes;
	return process(&e);
}

SEC("tp/vfmig/vfmig_fw_cmd_done")
int tp_vfmig_fw_cmd_done(struct rec_fw_done *r)
{
	REC_INIT(e, r, MEV_FW_DONE);
	e.a[0] = r->seq; e.a[1] = r->opcode; e.a[2] = r->op_mod;
	e.a[3] = r->status; e.a[4] = r->bytes; e.a[5] = r->lat_ns;
	e.a[6] = r->stall_ns;
	return process(&e);
}

SEC("tp/vfmig/vfmig_precopy_info")
int tp_vfmig_precopy_info(struct rec_precopy_info *r)
{
	REC_INIT(e, r, MEV_PRECOPY_INFO);
	e.a[0] = r->initial_bytes; e.a[1] = r->dirty_bytes;
	e.a[2] = (__s64)r->ret; e.a[3] = r->save_issued;
	return process(&e);
}

SEC("tp/vfmig/vfmig_error")
int tp_vfmig_error(struct rec_error *r)
{
	REC_INIT(e, r, MEV_ERROR);
	e.a[0] = r->site; e.a[1] = (__s64)r->err; e.a[2] = r->fw_status;
	return process(&e);
}

SEC("tp/vfmig/vfmig_mig_uuid")
int tp_vfmig_mig_uuid(struct rec_mig_uuid *r)
{
	REC_INIT(e, r, MEV_MIG_UUID);
	e.a[0] = r->kind;
	put_uuid(&e, r->uuid);
	e.a[3] = r->pos; e.a[4] = r->mono_ns; e.a[5] = r->tai_ns;
	return process(&e);
}

SEC("tp/vfmig/vfmig_save_stall")
int tp_vfmig_save_stall(struct rec_save_stall *r)
{
	REC_INIT(e, r, MEV_SAVE_STALL);
	e.a[0] = r->seq; e.a[1] = r->stalled; e.a[2] = r->ns;
	return process(&e);
}

SEC("tp/vfmig/vfmig_state_change")
int tp_vfmig_state_change(struct rec_state_change *r)
{
	REC_INIT(e, r, MEV_STATE_CHANGE);
	e.a[0] = r->from; e.a[1] = r->to; e.a[2] = r->cause;
	return process(&e);
}
