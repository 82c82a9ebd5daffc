/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfmig tracepoints. Every event takes a pointer to the stable
 * struct vfmig_trace_dev (include/vfmig_abi.h) plus scalars, so tp_btf and
 * raw_tp programs never read driver-private structs. The record layout
 * (TP_STRUCT__entry) is an ABI: see docs/tracepoints.md. Fields are only
 * ever appended; every record starts with the identity fields dev, state
 * and mig_id, in that order.
 *
 * The events are spelled out one by one (no field or assign helper macros)
 * so that checkpatch.pl --strict accepts the header, and every event keeps
 * its own struct trace_event_raw_<event> type in the module BTF.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vfmig

#if !defined(_VFMIG_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VFMIG_TRACE_H

#include <linux/build_bug.h>
#include <linux/tracepoint.h>
#include <linux/vfio.h>
#include "vfmig_abi.h"

#ifdef VFMIG_NO_TRACE
/*
 * make bench builds a variant of the module with the tracepoints compiled
 * out (KCFLAGS=-DVFMIG_NO_TRACE), to measure what they cost compiled in but
 * disabled: every event becomes an empty inline function, as without
 * CONFIG_TRACEPOINTS, and trace.c instantiates nothing.
 */
#undef __DECLARE_TRACE
#define __DECLARE_TRACE(name, proto, ...)				\
	static inline void trace_##name(proto)				\
	{								\
	}								\
	static inline bool trace_##name##_enabled(void)			\
	{								\
		return false;						\
	}
#endif

/*
 * Symbolic values. Each value printed by __print_symbolic() has its own
 * TRACE_DEFINE_ENUM() so that the format files carry numbers, which perf,
 * trace-cmd and libtraceevent can decode.
 */
TRACE_DEFINE_ENUM(VFIO_DEVICE_STATE_ERROR);
TRACE_DEFINE_ENUM(VFIO_DEVICE_STATE_STOP);
TRACE_DEFINE_ENUM(VFIO_DEVICE_STATE_RUNNING);
TRACE_DEFINE_ENUM(VFIO_DEVICE_STATE_STOP_COPY);
TRACE_DEFINE_ENUM(VFIO_DEVICE_STATE_RESUMING);
TRACE_DEFINE_ENUM(VFIO_DEVICE_STATE_RUNNING_P2P);
TRACE_DEFINE_ENUM(VFIO_DEVICE_STATE_PRE_COPY);
TRACE_DEFINE_ENUM(VFIO_DEVICE_STATE_PRE_COPY_P2P);

TRACE_DEFINE_ENUM(VFMIG_IMAGE_INITIAL);
TRACE_DEFINE_ENUM(VFMIG_IMAGE_MIDDLE);
TRACE_DEFINE_ENUM(VFMIG_IMAGE_FINAL);

TRACE_DEFINE_ENUM(VFMIG_FW_QUERY_STATE_SIZE);
TRACE_DEFINE_ENUM(VFMIG_FW_SAVE);
TRACE_DEFINE_ENUM(VFMIG_FW_LOAD);
TRACE_DEFINE_ENUM(VFMIG_FW_SUSPEND);
TRACE_DEFINE_ENUM(VFMIG_FW_RESUME);

TRACE_DEFINE_ENUM(VFMIG_ERR_SET_STATE);
TRACE_DEFINE_ENUM(VFMIG_ERR_SAVE);
TRACE_DEFINE_ENUM(VFMIG_ERR_SAVE_READ);
TRACE_DEFINE_ENUM(VFMIG_ERR_PRECOPY_INFO);
TRACE_DEFINE_ENUM(VFMIG_ERR_RESUME_WRITE);
TRACE_DEFINE_ENUM(VFMIG_ERR_LOAD);
TRACE_DEFINE_ENUM(VFMIG_ERR_PRECOPY_FALLBACK);
TRACE_DEFINE_ENUM(VFMIG_ERR_CHECKSUM);

TRACE_DEFINE_ENUM(VFMIG_CAUSE_OPEN);
TRACE_DEFINE_ENUM(VFMIG_CAUSE_CLOSE);
TRACE_DEFINE_ENUM(VFMIG_CAUSE_RESET);
TRACE_DEFINE_ENUM(VFMIG_CAUSE_ERROR);

TRACE_DEFINE_ENUM(VFMIG_DEV_CREATE);
TRACE_DEFINE_ENUM(VFMIG_DEV_REMOVE);
TRACE_DEFINE_ENUM(VFMIG_DEV_OPEN);
TRACE_DEFINE_ENUM(VFMIG_DEV_CLOSE);
TRACE_DEFINE_ENUM(VFMIG_DEV_RESET);

TRACE_DEFINE_ENUM(VFMIG_FILE_SAVE);
TRACE_DEFINE_ENUM(VFMIG_FILE_RESUME);

/*
 * vfmig_state_name() names every enum vfio_device_mig_state value and
 * vfmig_fw_opcode_name() every enum vfmig_fw_opcode value: a new value
 * needs a new entry (and a TRACE_DEFINE_ENUM above) before these asserts
 * are updated. The other lists follow the enums in vfmig_abi.h.
 */
static_assert(VFIO_DEVICE_STATE_NR == 8,
	      "vfmig_state_name() must list every vfio_device_mig_state");
static_assert(VFMIG_FW_NR_OPCODES == 5,
	      "vfmig_fw_opcode_name() must list every vfmig_fw_opcode");

#define vfmig_state_name(s)						\
	__print_symbolic(s,						\
			 { VFIO_DEVICE_STATE_ERROR, "ERROR" },		\
			 { VFIO_DEVICE_STATE_STOP, "STOP" },		\
			 { VFIO_DEVICE_STATE_RUNNING, "RUNNING" },	\
			 { VFIO_DEVICE_STATE_STOP_COPY, "STOP_COPY" },	\
			 { VFIO_DEVICE_STATE_RESUMING, "RESUMING" },	\
			 { VFIO_DEVICE_STATE_RUNNING_P2P, "RUNNING_P2P" }, \
			 { VFIO_DEVICE_STATE_PRE_COPY, "PRE_COPY" },	\
			 { VFIO_DEVICE_STATE_PRE_COPY_P2P, "PRE_COPY_P2P" })

#define vfmig_image_kind_name(k)					\
	__print_symbolic(k,						\
			 { VFMIG_IMAGE_INITIAL, "initial" },		\
			 { VFMIG_IMAGE_MIDDLE, "middle" },		\
			 { VFMIG_IMAGE_FINAL, "final" })

#define vfmig_fw_opcode_name(op)					\
	__print_symbolic(op,						\
			 { VFMIG_FW_QUERY_STATE_SIZE, "QUERY_STATE_SIZE" }, \
			 { VFMIG_FW_SAVE, "SAVE" },			\
			 { VFMIG_FW_LOAD, "LOAD" },			\
			 { VFMIG_FW_SUSPEND, "SUSPEND" },		\
			 { VFMIG_FW_RESUME, "RESUME" })

#define vfmig_err_site_name(site)					\
	__print_symbolic(site,						\
			 { VFMIG_ERR_SET_STATE, "set_state" },		\
			 { VFMIG_ERR_SAVE, "save" },			\
			 { VFMIG_ERR_SAVE_READ, "save_read" },		\
			 { VFMIG_ERR_PRECOPY_INFO, "precopy_info" },	\
			 { VFMIG_ERR_RESUME_WRITE, "resume_write" },	\
			 { VFMIG_ERR_LOAD, "load" },			\
			 { VFMIG_ERR_PRECOPY_FALLBACK, "precopy_fallback" }, \
			 { VFMIG_ERR_CHECKSUM, "checksum" })

#define vfmig_state_cause_name(c)					\
	__print_symbolic(c,						\
			 { VFMIG_CAUSE_OPEN, "open" },			\
			 { VFMIG_CAUSE_CLOSE, "close" },		\
			 { VFMIG_CAUSE_RESET, "reset" },		\
			 { VFMIG_CAUSE_ERROR, "error" })

#define vfmig_dev_event_name(ev)					\
	__print_symbolic(ev,						\
			 { VFMIG_DEV_CREATE, "create" },		\
			 { VFMIG_DEV_REMOVE, "remove" },		\
			 { VFMIG_DEV_OPEN, "open" },			\
			 { VFMIG_DEV_CLOSE, "close" },			\
			 { VFMIG_DEV_RESET, "reset" })

#define vfmig_file_kind_name(k)						\
	__print_symbolic(k,						\
			 { VFMIG_FILE_SAVE, "save" },			\
			 { VFMIG_FILE_RESUME, "resume" })

#define vfmig_chunk_flags_name(f)					\
	__print_flags(f, "|",						\
		      { VFMIG_CHUNK_F_FULL, "FULL" },			\
		      { VFMIG_CHUNK_F_FIRST, "FIRST" },			\
		      { VFMIG_CHUNK_F_LAST, "LAST" },			\
		      { VFMIG_CHUNK_F_FINAL, "FINAL" })

TRACE_EVENT(vfmig_device,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 event),
	    TP_ARGS(d, event),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, event)
			     __field(u64, state_size)
			     __array(u8, uuid, 16)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->event = event;
			   __entry->state_size = d->state_size;
			   memcpy(__entry->uuid, d->uuid, 16);
	    ),
	    TP_printk("dev=%u event=%s state=%s mig_id=%llu state_size=%llu uuid=%pUb",
		      __entry->dev, vfmig_dev_event_name(__entry->event),
		      vfmig_state_name(__entry->state), __entry->mig_id,
		      __entry->state_size, __entry->uuid)
);

TRACE_EVENT(vfmig_set_state,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 from, u32 target,
		     u32 result, int ret, u64 ns),
	    TP_ARGS(d, from, target, result, ret, ns),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, from)
			     __field(u32, target)
			     __field(u32, result)
			     __field(int, ret)
			     __field(u64, ns)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->from = from;
			   __entry->target = target;
			   __entry->result = result;
			   __entry->ret = ret;
			   __entry->ns = ns;
	    ),
	    TP_printk("dev=%u mig_id=%llu from=%s target=%s result=%s ret=%d ns=%llu",
		      __entry->dev, __entry->mig_id,
		      vfmig_state_name(__entry->from),
		      vfmig_state_name(__entry->target),
		      vfmig_state_name(__entry->result), __entry->ret,
		      __entry->ns)
);

TRACE_EVENT(vfmig_state_step,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 from, u32 to, int ret,
		     u64 ns),
	    TP_ARGS(d, from, to, ret, ns),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, from)
			     __field(u32, to)
			     __field(int, ret)
			     __field(u64, ns)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->from = from;
			   __entry->to = to;
			   __entry->ret = ret;
			   __entry->ns = ns;
	    ),
	    TP_printk("dev=%u mig_id=%llu from=%s to=%s ret=%d ns=%llu",
		      __entry->dev, __entry->mig_id,
		      vfmig_state_name(__entry->from),
		      vfmig_state_name(__entry->to), __entry->ret, __entry->ns)
);

TRACE_EVENT(vfmig_file,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 kind, bool open,
		     u64 bytes, u64 peak_bytes),
	    TP_ARGS(d, kind, open, bytes, peak_bytes),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, kind)
			     __field(u32, open)
			     __field(u64, bytes)
			     __field(u64, peak_bytes)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->kind = kind;
			   __entry->open = open;
			   __entry->bytes = bytes;
			   __entry->peak_bytes = peak_bytes;
	    ),
	    TP_printk("dev=%u mig_id=%llu kind=%s %s bytes=%llu peak_bytes=%llu",
		      __entry->dev, __entry->mig_id,
		      vfmig_file_kind_name(__entry->kind),
		      __entry->open ? "open" : "release", __entry->bytes,
		      __entry->peak_bytes)
);

DECLARE_EVENT_CLASS(vfmig_record,
		    TP_PROTO(const struct vfmig_trace_dev *d, u64 pos,
			     u64 size, u32 tag, u32 flags),
		    TP_ARGS(d, pos, size, tag, flags),
		    TP_STRUCT__entry(__field(u32, dev)
				     __field(u32, state)
				     __field(u64, mig_id)
				     __field(u64, pos)
				     __field(u64, size)
				     __field(u32, tag)
				     __field(u32, flags)
		    ),
		    TP_fast_assign(__entry->dev = d->id;
				   __entry->state = d->state;
				   __entry->mig_id = d->mig_id;
				   __entry->pos = pos;
				   __entry->size = size;
				   __entry->tag = tag;
				   __entry->flags = flags;
		    ),
		    TP_printk("dev=%u mig_id=%llu pos=%llu size=%llu tag=%u flags=%u",
			      __entry->dev, __entry->mig_id, __entry->pos,
			      __entry->size, __entry->tag, __entry->flags)
);

/* A record header the save file emitted, at stream offset @pos. */
DEFINE_EVENT(vfmig_record, vfmig_save_record,
	     TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 size,
		      u32 tag, u32 flags),
	     TP_ARGS(d, pos, size, tag, flags)
);

TRACE_EVENT(vfmig_image_chunk,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 kind, u32 image_seq,
		     u32 chunk_seq, u32 npages, u32 chunk_flags, u64 bytes,
		     u64 pos),
	    TP_ARGS(d, kind, image_seq, chunk_seq, npages, chunk_flags, bytes,
		    pos),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, kind)
			     __field(u32, image_seq)
			     __field(u32, chunk_seq)
			     __field(u32, npages)
			     __field(u32, chunk_flags)
			     __field(u32, tag)
			     __field(u64, bytes)
			     __field(u64, pos)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
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
		      vfmig_image_kind_name(__entry->kind),
		      __entry->image_seq, __entry->chunk_seq, __entry->npages,
		      vfmig_chunk_flags_name(__entry->chunk_flags),
		      __entry->tag, __entry->bytes, __entry->pos)
);

TRACE_EVENT(vfmig_image_done,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 kind, u32 image_seq,
		     u32 chunks, u64 npages, u64 bytes, int status, u64 ns),
	    TP_ARGS(d, kind, image_seq, chunks, npages, bytes, status, ns),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, kind)
			     __field(u32, image_seq)
			     __field(u32, chunks)
			     __field(int, status)
			     __field(u64, npages)
			     __field(u64, bytes)
			     __field(u64, ns)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
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
		      vfmig_image_kind_name(__entry->kind),
		      __entry->image_seq, __entry->chunks, __entry->npages,
		      __entry->bytes, __entry->status, __entry->ns)
);

/*
 * @queued: bytes the file holds after the call (save: queued and unread;
 * resume: the incomplete record not loaded yet). @ns: how long the call
 * took in the driver, waits and LOADs included.
 */
DECLARE_EVENT_CLASS(vfmig_data_io,
		    TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 len,
			     s64 ret, u64 queued, u64 ns),
		    TP_ARGS(d, pos, len, ret, queued, ns),
		    TP_STRUCT__entry(__field(u32, dev)
				     __field(u32, state)
				     __field(u64, mig_id)
				     __field(u64, pos)
				     __field(u64, len)
				     __field(s64, ret)
				     __field(u64, queued)
				     __field(u64, ns)
		    ),
		    TP_fast_assign(__entry->dev = d->id;
				   __entry->state = d->state;
				   __entry->mig_id = d->mig_id;
				   __entry->pos = pos;
				   __entry->len = len;
				   __entry->ret = ret;
				   __entry->queued = queued;
				   __entry->ns = ns;
		    ),
		    TP_printk("dev=%u mig_id=%llu pos=%llu len=%llu ret=%lld queued=%llu ns=%llu",
			      __entry->dev, __entry->mig_id, __entry->pos,
			      __entry->len, __entry->ret, __entry->queued,
			      __entry->ns)
);

/* read() on a save file: @len requested, @ret bytes copied or -errno. */
DEFINE_EVENT(vfmig_data_io, vfmig_save_read,
	     TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 len,
		      s64 ret, u64 queued, u64 ns),
	     TP_ARGS(d, pos, len, ret, queued, ns)
);

/* write() on a resume file: @len offered, @ret bytes consumed or -errno. */
DEFINE_EVENT(vfmig_data_io, vfmig_resume_write,
	     TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 len,
		      s64 ret, u64 queued, u64 ns),
	     TP_ARGS(d, pos, len, ret, queued, ns)
);

/* A record header the resume file parsed, at stream offset @pos. */
DEFINE_EVENT(vfmig_record, vfmig_resume_record,
	     TP_PROTO(const struct vfmig_trace_dev *d, u64 pos, u64 size,
		      u32 tag, u32 flags),
	     TP_ARGS(d, pos, size, tag, flags)
);

TRACE_EVENT(vfmig_image_load,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 image_seq,
		     u32 chunk_seq, u32 npages, u32 chunk_flags, u64 bytes,
		     int ret),
	    TP_ARGS(d, image_seq, chunk_seq, npages, chunk_flags, bytes, ret),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, image_seq)
			     __field(u32, chunk_seq)
			     __field(u32, npages)
			     __field(u32, chunk_flags)
			     __field(u64, bytes)
			     __field(int, ret)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
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
		      vfmig_chunk_flags_name(__entry->chunk_flags),
		      __entry->bytes, __entry->ret)
);

TRACE_EVENT(vfmig_fw_cmd_submit,
	    TP_PROTO(const struct vfmig_trace_dev *d, u64 seq, u32 opcode,
		     u32 op_mod, u64 bytes),
	    TP_ARGS(d, seq, opcode, op_mod, bytes),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u64, seq)
			     __field(u32, opcode)
			     __field(u32, op_mod)
			     __field(u64, bytes)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->seq = seq;
			   __entry->opcode = opcode;
			   __entry->op_mod = op_mod;
			   __entry->bytes = bytes;
	    ),
	    TP_printk("dev=%u mig_id=%llu seq=%llu op=%s op_mod=%#x bytes=%llu",
		      __entry->dev, __entry->mig_id, __entry->seq,
		      vfmig_fw_opcode_name(__entry->opcode),
		      __entry->op_mod, __entry->bytes)
);

/*
 * @lat_ns is submit to completion; @stall_ns the part of it a SAVE spent
 * paused on a full save-file budget (always 0 for other commands).
 */
TRACE_EVENT(vfmig_fw_cmd_done,
	    TP_PROTO(const struct vfmig_trace_dev *d, u64 seq, u32 opcode,
		     u32 op_mod, u32 status, u64 bytes, u64 lat_ns,
		     u64 stall_ns),
	    TP_ARGS(d, seq, opcode, op_mod, status, bytes, lat_ns, stall_ns),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u64, seq)
			     __field(u32, opcode)
			     __field(u32, op_mod)
			     __field(u32, status)
			     __field(u64, bytes)
			     __field(u64, lat_ns)
			     __field(u64, stall_ns)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->seq = seq;
			   __entry->opcode = opcode;
			   __entry->op_mod = op_mod;
			   __entry->status = status;
			   __entry->bytes = bytes;
			   __entry->lat_ns = lat_ns;
			   __entry->stall_ns = stall_ns;
	    ),
	    TP_printk("dev=%u mig_id=%llu seq=%llu op=%s op_mod=%#x status=%#x bytes=%llu lat_ns=%llu stall_ns=%llu",
		      __entry->dev, __entry->mig_id, __entry->seq,
		      vfmig_fw_opcode_name(__entry->opcode),
		      __entry->op_mod, __entry->status, __entry->bytes,
		      __entry->lat_ns, __entry->stall_ns)
);

/*
 * The SAVE in flight paused because the save file's budget is full
 * (@stalled = 1), or went on because a reader freed a buffer (@stalled = 0,
 * @ns = how long it waited).
 */
TRACE_EVENT(vfmig_save_stall,
	    TP_PROTO(const struct vfmig_trace_dev *d, u64 seq, bool stalled,
		     u64 ns),
	    TP_ARGS(d, seq, stalled, ns),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u64, seq)
			     __field(u32, stalled)
			     __field(u64, ns)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->seq = seq;
			   __entry->stalled = stalled;
			   __entry->ns = ns;
	    ),
	    TP_printk("dev=%u mig_id=%llu seq=%llu %s ns=%llu",
		      __entry->dev, __entry->mig_id, __entry->seq,
		      __entry->stalled ? "stalled" : "resumed", __entry->ns)
);

/*
 * The migration state moved outside an FSM arc: to RUNNING on open, close
 * or reset, to ERROR when an arc failed half way.
 */
TRACE_EVENT(vfmig_state_change,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 from, u32 to,
		     u32 cause),
	    TP_ARGS(d, from, to, cause),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, from)
			     __field(u32, to)
			     __field(u32, cause)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->from = from;
			   __entry->to = to;
			   __entry->cause = cause;
	    ),
	    TP_printk("dev=%u mig_id=%llu from=%s to=%s cause=%s",
		      __entry->dev, __entry->mig_id,
		      vfmig_state_name(__entry->from),
		      vfmig_state_name(__entry->to),
		      vfmig_state_cause_name(__entry->cause))
);

TRACE_EVENT(vfmig_precopy_info,
	    TP_PROTO(const struct vfmig_trace_dev *d, u64 initial_bytes,
		     u64 dirty_bytes, int ret, bool save_issued),
	    TP_ARGS(d, initial_bytes, dirty_bytes, ret, save_issued),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u64, initial_bytes)
			     __field(u64, dirty_bytes)
			     __field(int, ret)
			     __field(u32, save_issued)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
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
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, site)
			     __field(int, err)
			     __field(u32, fw_status)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->site = site;
			   __entry->err = err;
			   __entry->fw_status = fw_status;
	    ),
	    TP_printk("dev=%u mig_id=%llu state=%s site=%s err=%d fw_status=%#x",
		      __entry->dev, __entry->mig_id,
		      vfmig_state_name(__entry->state),
		      vfmig_err_site_name(__entry->site),
		      __entry->err, __entry->fw_status)
);

/*
 * The migration's UUID (the stream's MIG_UUID record): @kind save when the
 * source's save file draws it, resume when the target's parser has read
 * it. @pos: stream offset of the record. @mono_ns and @tai_ns: the clock
 * pair CLOCK_MONOTONIC / CLOCK_TAI read together, which maps this host's
 * monotonic timestamps onto a clock that hosts share.
 */
TRACE_EVENT(vfmig_mig_uuid,
	    TP_PROTO(const struct vfmig_trace_dev *d, u32 kind, const u8 *uuid,
		     u64 pos, u64 mono_ns, u64 tai_ns),
	    TP_ARGS(d, kind, uuid, pos, mono_ns, tai_ns),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u32, state)
			     __field(u64, mig_id)
			     __field(u32, kind)
			     __array(u8, uuid, 16)
			     __field(u64, pos)
			     __field(u64, mono_ns)
			     __field(u64, tai_ns)
	    ),
	    TP_fast_assign(__entry->dev = d->id;
			   __entry->state = d->state;
			   __entry->mig_id = d->mig_id;
			   __entry->kind = kind;
			   memcpy(__entry->uuid, uuid, 16);
			   __entry->pos = pos;
			   __entry->mono_ns = mono_ns;
			   __entry->tai_ns = tai_ns;
	    ),
	    TP_printk("dev=%u mig_id=%llu kind=%s uuid=%pUb pos=%llu mono_ns=%llu tai_ns=%llu",
		      __entry->dev, __entry->mig_id,
		      vfmig_file_kind_name(__entry->kind), __entry->uuid,
		      __entry->pos, __entry->mono_ns, __entry->tai_ns)
);

#endif /* _VFMIG_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
