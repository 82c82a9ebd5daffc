/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfmig tracepoints. Every event takes a pointer to the stable
 * struct vfmig_trace_dev (include/vfmig_abi.h) plus scalars, so tp_btf and
 * raw_tp programs never read driver-private structs. The record layout
 * (TP_STRUCT__entry) is an ABI: see docs/tracepoints.md.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vfmig

#if !defined(_VFMIG_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VFMIG_TRACE_H

#include <linux/tracepoint.h>
#include <linux/vfio.h>
#include "vfmig_abi.h"

#define VFMIG_MIG_STATES						\
	EM(VFIO_DEVICE_STATE_ERROR, "ERROR")				\
	EM(VFIO_DEVICE_STATE_STOP, "STOP")				\
	EM(VFIO_DEVICE_STATE_RUNNING, "RUNNING")			\
	EM(VFIO_DEVICE_STATE_STOP_COPY, "STOP_COPY")			\
	EM(VFIO_DEVICE_STATE_RESUMING, "RESUMING")			\
	EM(VFIO_DEVICE_STATE_RUNNING_P2P, "RUNNING_P2P")		\
	EM(VFIO_DEVICE_STATE_PRE_COPY, "PRE_COPY")			\
	EMe(VFIO_DEVICE_STATE_PRE_COPY_P2P, "PRE_COPY_P2P")

#define VFMIG_IMAGE_KINDS						\
	EM(VFMIG_IMAGE_INITIAL, "initial")				\
	EM(VFMIG_IMAGE_MIDDLE, "middle")				\
	EMe(VFMIG_IMAGE_FINAL, "final")

#define VFMIG_FW_OPCODES						\
	EM(VFMIG_FW_QUERY_STATE_SIZE, "QUERY_STATE_SIZE")		\
	EM(VFMIG_FW_SAVE, "SAVE")					\
	EM(VFMIG_FW_LOAD, "LOAD")					\
	EM(VFMIG_FW_SUSPEND, "SUSPEND")					\
	EMe(VFMIG_FW_RESUME, "RESUME")

#define VFMIG_ERR_SITES							\
	EM(VFMIG_ERR_SET_STATE, "set_state")				\
	EM(VFMIG_ERR_SAVE, "save")					\
	EM(VFMIG_ERR_SAVE_READ, "save_read")				\
	EM(VFMIG_ERR_PRECOPY_INFO, "precopy_info")			\
	EM(VFMIG_ERR_RESUME_WRITE, "resume_write")			\
	EM(VFMIG_ERR_LOAD, "load")					\
	EMe(VFMIG_ERR_PRECOPY_FALLBACK, "precopy_fallback")

#define VFMIG_DEV_EVENTS						\
	EM(VFMIG_DEV_CREATE, "create")					\
	EM(VFMIG_DEV_REMOVE, "remove")					\
	EM(VFMIG_DEV_OPEN, "open")					\
	EM(VFMIG_DEV_CLOSE, "close")					\
	EMe(VFMIG_DEV_RESET, "reset")

#define VFMIG_FILE_KINDS						\
	EM(VFMIG_FILE_SAVE, "save")					\
	EMe(VFMIG_FILE_RESUME, "resume")

#undef EM
#undef EMe
#define EM(a, b)	TRACE_DEFINE_ENUM(a);
#define EMe(a, b)	TRACE_DEFINE_ENUM(a);

VFMIG_MIG_STATES
VFMIG_IMAGE_KINDS
VFMIG_FW_OPCODES
VFMIG_ERR_SITES
VFMIG_DEV_EVENTS
VFMIG_FILE_KINDS

#undef EM
#undef EMe
#define EM(a, b)	{ a, b },
#define EMe(a, b)	{ a, b }

#define vfmig_state_name(s)	__print_symbolic(s, VFMIG_MIG_STATES)

/* Identity fields every record starts with. */
#define VFMIG_TP_DEV_FIELDS						\
	__field(u32, dev)						\
	__field(u32, state)						\
	__field(u64, mig_id)

#define VFMIG_TP_DEV_ASSIGN(d)						\
	do {								\
		__entry->dev = (d)->id;					\
		__entry->state = (d)->state;				\
		__entry->mig_id = (d)->mig_id;				\
	} while (0)

TRACE_EVENT(vfmig_device,
	TP_PROTO(const struct vfmig_trace_dev *d, u32 event),
	TP_ARGS(d, event),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u32, event)
		__field(u64, state_size)
		__array(u8, uuid, 16)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->event = event;
		__entry->state_size = d->state_size;
		memcpy(__entry->uuid, d->uuid, 16);
	),
	TP_printk("dev=%u event=%s state=%s mig_id=%llu state_size=%llu uuid=%pUb",
		  __entry->dev, __print_symbolic(__entry->event, VFMIG_DEV_EVENTS),
		  vfmig_state_name(__entry->state), __entry->mig_id,
		  __entry->state_size, __entry->uuid)
);

TRACE_EVENT(vfmig_set_state,
	TP_PROTO(const struct vfmig_trace_dev *d, u32 from, u32 target,
		 u32 result, int ret, u64 ns),
	TP_ARGS(d, from, target, result, ret, ns),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u32, from)
		__field(u32, target)
		__field(u32, result)
		__field(int, ret)
		__field(u64, ns)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->from = from;
		__entry->target = target;
		__entry->result = result;
		__entry->ret = ret;
		__entry->ns = ns;
	),
	TP_printk("dev=%u mig_id=%llu from=%s target=%s result=%s ret=%d ns=%llu",
		  __entry->dev, __entry->mig_id, vfmig_state_name(__entry->from),
		  vfmig_state_name(__entry->target),
		  vfmig_state_name(__entry->result), __entry->ret, __entry->ns)
);

TRACE_EVENT(vfmig_state_step,
	TP_PROTO(const struct vfmig_trace_dev *d, u32 from, u32 to, int ret,
		 u64 ns),
	TP_ARGS(d, from, to, ret, ns),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u32, from)
		__field(u32, to)
		__field(int, ret)
		__field(u64, ns)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->from = from;
		__entry->to = to;
		__entry->ret = ret;
		__entry->ns = ns;
	),
	TP_printk("dev=%u mig_id=%llu from=%s to=%s ret=%d ns=%llu",
		  __entry->dev, __entry->mig_id, vfmig_state_name(__entry->from),
		  vfmig_state_name(__entry->to), __entry->ret, __entry->ns)
);

TRACE_EVENT(vfmig_file,
	TP_PROTO(const struct vfmig_trace_dev *d, u32 kind, bool open,
		 u64 bytes, u64 peak_bytes),
	TP_ARGS(d, kind, open, bytes, peak_bytes),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u32, kind)
		__field(u32, open)
		__field(u64, bytes)
		__field(u64, peak_bytes)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->kind = kind;
		__entry->open = open;
		__entry->bytes = bytes;
		__entry->peak_bytes = peak_bytes;
	),
	TP_printk("dev=%u mig_id=%llu kind=%s %s bytes=%llu peak_bytes=%llu",
		  __entry->dev, __entry->mig_id,
		  __print_symbolic(__entry->kind, VFMIG_FILE_KINDS),
		  __entry->open ? "open" : "release", __entry->bytes,
		  __entry->peak_bytes)
);

TRACE_EVENT(vfmig_save_record,
	TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 size, u32 tag,
		 u32 flags),
	TP_ARGS(d, pos, size, tag, flags),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u64, pos)
		__field(u64, size)
		__field(u32, tag)
		__field(u32, flags)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->pos = pos;
		__entry->size = size;
		__entry->tag = tag;
		__entry->flags = flags;
	),
	TP_printk("dev=%u mig_id=%llu pos=%llu size=%llu tag=%u flags=%u",
		  __entry->dev, __entry->mig_id, __entry->pos, __entry->size,
		  __entry->tag, __entry->flags)
);

TRACE_EVENT(vfmig_image_chunk,
	TP_PROTO(const struct vfmig_trace_dev *d, u32 kind, u32 image_seq,
		 u32 chunk_seq, u32 npages, u32 chunk_flags, u64 bytes,
		 u64 pos),
	TP_ARGS(d, kind, image_seq, chunk_seq, npages, chunk_flags, bytes, pos),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u32, kind)
		__field(u32, image_seq)
		__field(u32, chunk_seq)
		__field(u32, npages)
		__field(u32, chunk_flags)
		__field(u32, tag)
		__field(u64, bytes)
		__field(u64, pos)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->kind = kind;
		__entry->image_seq = image_seq;
		__entry->chunk_seq = chunk_seq;
		__entry->npages = npages;
		__entry->chunk_flags = chunk_flags;
		__entry->tag = VFMIG_RECORD_TAG_FW_DATA;
		__entry->bytes = bytes;
		__entry->pos = pos;
	),
	TP_printk("dev=%u mig_id=%llu kind=%s image=%u chunk=%u npages=%u flags=%s tag=%u bytes=%llu pos=%llu",
		  __entry->dev, __entry->mig_id,
		  __print_symbolic(__entry->kind, VFMIG_IMAGE_KINDS),
		  __entry->image_seq, __entry->chunk_seq, __entry->npages,
		  __print_flags(__entry->chunk_flags, "|",
				{ VFMIG_CHUNK_F_FULL, "FULL" },
				{ VFMIG_CHUNK_F_FIRST, "FIRST" },
				{ VFMIG_CHUNK_F_LAST, "LAST" }),
		  __entry->tag, __entry->bytes, __entry->pos)
);

TRACE_EVENT(vfmig_image_done,
	TP_PROTO(const struct vfmig_trace_dev *d, u32 kind, u32 image_seq,
		 u32 chunks, u64 npages, u64 bytes, int status, u64 ns),
	TP_ARGS(d, kind, image_seq, chunks, npages, bytes, status, ns),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u32, kind)
		__field(u32, image_seq)
		__field(u32, chunks)
		__field(int, status)
		__field(u64, npages)
		__field(u64, bytes)
		__field(u64, ns)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->kind = kind;
		__entry->image_seq = image_seq;
		__entry->chunks = chunks;
		__entry->status = status;
		__entry->npages = npages;
		__entry->bytes = bytes;
		__entry->ns = ns;
	),
	TP_printk("dev=%u mig_id=%llu kind=%s image=%u chunks=%u npages=%llu bytes=%llu status=%d ns=%llu",
		  __entry->dev, __entry->mig_id,
		  __print_symbolic(__entry->kind, VFMIG_IMAGE_KINDS),
		  __entry->image_seq, __entry->chunks, __entry->npages,
		  __entry->bytes, __entry->status, __entry->ns)
);

DECLARE_EVENT_CLASS(vfmig_data_io,
	TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 len, s64 ret),
	TP_ARGS(d, pos, len, ret),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u64, pos)
		__field(u64, len)
		__field(s64, ret)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->pos = pos;
		__entry->len = len;
		__entry->ret = ret;
	),
	TP_printk("dev=%u mig_id=%llu pos=%llu len=%llu ret=%lld",
		  __entry->dev, __entry->mig_id, __entry->pos, __entry->len,
		  __entry->ret)
);

/* read() on a save file: @len requested, @ret bytes copied or -errno. */
DEFINE_EVENT(vfmig_data_io, vfmig_save_read,
	TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 len, s64 ret),
	TP_ARGS(d, pos, len, ret));

/* write() on a resume file: @len offered, @ret bytes consumed or -errno. */
DEFINE_EVENT(vfmig_data_io, vfmig_resume_write,
	TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 len, s64 ret),
	TP_ARGS(d, pos, len, ret));

TRACE_EVENT(vfmig_resume_record,
	TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 size, u32 tag,
		 u32 flags),
	TP_ARGS(d, pos, size, tag, flags),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u64, pos)
		__field(u64, size)
		__field(u32, tag)
		__field(u32, flags)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->pos = pos;
		__entry->size = size;
		__entry->tag = tag;
		__entry->flags = flags;
	),
	TP_printk("dev=%u mig_id=%llu pos=%llu size=%llu tag=%u flags=%u",
		  __entry->dev, __entry->mig_id, __entry->pos, __entry->size,
		  __entry->tag, __entry->flags)
);

TRACE_EVENT(vfmig_image_load,
	TP_PROTO(const struct vfmig_trace_dev *d, u32 image_seq, u32 chunk_seq,
		 u32 npages, u32 chunk_flags, u64 bytes, int ret),
	TP_ARGS(d, image_seq, chunk_seq, npages, chunk_flags, bytes, ret),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u32, image_seq)
		__field(u32, chunk_seq)
		__field(u32, npages)
		__field(u32, chunk_flags)
		__field(u64, bytes)
		__field(int, ret)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->image_seq = image_seq;
		__entry->chunk_seq = chunk_seq;
		__entry->npages = npages;
		__entry->chunk_flags = chunk_flags;
		__entry->bytes = bytes;
		__entry->ret = ret;
	),
	TP_printk("dev=%u mig_id=%llu image=%u chunk=%u npages=%u flags=%s bytes=%llu ret=%d",
		  __entry->dev, __entry->mig_id, __entry->image_seq,
		  __entry->chunk_seq, __entry->npages,
		  __print_flags(__entry->chunk_flags, "|",
				{ VFMIG_CHUNK_F_FULL, "FULL" },
				{ VFMIG_CHUNK_F_FIRST, "FIRST" },
				{ VFMIG_CHUNK_F_LAST, "LAST" }),
		  __entry->bytes, __entry->ret)
);

TRACE_EVENT(vfmig_fw_cmd_submit,
	TP_PROTO(const struct vfmig_trace_dev *d, u64 seq, u32 opcode,
		 u32 op_mod, u64 bytes),
	TP_ARGS(d, seq, opcode, op_mod, bytes),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u64, seq)
		__field(u32, opcode)
		__field(u32, op_mod)
		__field(u64, bytes)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->seq = seq;
		__entry->opcode = opcode;
		__entry->op_mod = op_mod;
		__entry->bytes = bytes;
	),
	TP_printk("dev=%u mig_id=%llu seq=%llu op=%s op_mod=%#x bytes=%llu",
		  __entry->dev, __entry->mig_id, __entry->seq,
		  __print_symbolic(__entry->opcode, VFMIG_FW_OPCODES),
		  __entry->op_mod, __entry->bytes)
);

TRACE_EVENT(vfmig_fw_cmd_done,
	TP_PROTO(const struct vfmig_trace_dev *d, u64 seq, u32 opcode,
		 u32 op_mod, u32 status, u64 bytes, u64 lat_ns),
	TP_ARGS(d, seq, opcode, op_mod, status, bytes, lat_ns),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u64, seq)
		__field(u32, opcode)
		__field(u32, op_mod)
		__field(u32, status)
		__field(u64, bytes)
		__field(u64, lat_ns)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->seq = seq;
		__entry->opcode = opcode;
		__entry->op_mod = op_mod;
		__entry->status = status;
		__entry->bytes = bytes;
		__entry->lat_ns = lat_ns;
	),
	TP_printk("dev=%u mig_id=%llu seq=%llu op=%s op_mod=%#x status=%#x bytes=%llu lat_ns=%llu",
		  __entry->dev, __entry->mig_id, __entry->seq,
		  __print_symbolic(__entry->opcode, VFMIG_FW_OPCODES),
		  __entry->op_mod, __entry->status, __entry->bytes,
		  __entry->lat_ns)
);

TRACE_EVENT(vfmig_precopy_info,
	TP_PROTO(const struct vfmig_trace_dev *d, u64 initial_bytes,
		 u64 dirty_bytes, int ret, bool save_issued),
	TP_ARGS(d, initial_bytes, dirty_bytes, ret, save_issued),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u64, initial_bytes)
		__field(u64, dirty_bytes)
		__field(int, ret)
		__field(u32, save_issued)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->initial_bytes = initial_bytes;
		__entry->dirty_bytes = dirty_bytes;
		__entry->ret = ret;
		__entry->save_issued = save_issued;
	),
	TP_printk("dev=%u mig_id=%llu initial_bytes=%llu dirty_bytes=%llu ret=%d save_issued=%u",
		  __entry->dev, __entry->mig_id, __entry->initial_bytes,
		  __entry->dirty_bytes, __entry->ret, __entry->save_issued)
);

TRACE_EVENT(vfmig_error,
	TP_PROTO(const struct vfmig_trace_dev *d, u32 site, int err,
		 u32 fw_status),
	TP_ARGS(d, site, err, fw_status),
	TP_STRUCT__entry(
		VFMIG_TP_DEV_FIELDS
		__field(u32, site)
		__field(int, err)
		__field(u32, fw_status)
	),
	TP_fast_assign(
		VFMIG_TP_DEV_ASSIGN(d);
		__entry->site = site;
		__entry->err = err;
		__entry->fw_status = fw_status;
	),
	TP_printk("dev=%u mig_id=%llu state=%s site=%s err=%d fw_status=%#x",
		  __entry->dev, __entry->mig_id,
		  vfmig_state_name(__entry->state),
		  __print_symbolic(__entry->site, VFMIG_ERR_SITES),
		  __entry->err, __entry->fw_status)
);

#endif /* _VFMIG_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
