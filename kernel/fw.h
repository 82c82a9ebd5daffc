/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The firmware model: the only way the migration engine touches the
 * device, through mlx5-shaped commands (query state size, save, load,
 * suspend, resume). SAVE completes asynchronously and produces its image in
 * chunks through a sink the engine provides; everything else is synchronous.
 * Swapping this file for a real device's command path should not touch the
 * engine.
 */
#ifndef VFMIG_FW_H
#define VFMIG_FW_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "vfmig_abi.h"

struct vfmig_state;

/*
 * One queued piece of a save stream. The firmware writes its record at
 * data + head; the engine owns the @head bytes before it (its own records
 * about the chunk). @len counts from data[0].
 */
struct vfmig_buf {
	struct list_head node;
	u8 *data;
	size_t cap;
	size_t head;
	size_t len;
	size_t footprint;	/* bytes really allocated for this buffer */
	loff_t start_pos;	/* stream offset of data[0] */
};

/*
 * The engine's side of an asynchronous SAVE. Callbacks run in the firmware
 * work item (process context, no locks of the firmware held).
 */
struct vfmig_fw_sink {
	/* A free buffer of at least @cap bytes, or NULL to pause the SAVE. */
	struct vfmig_buf *(*get_buf)(struct vfmig_fw_sink *sink, size_t cap);
	/* A chunk record is ready in @buf; VFMIG_CHUNK_F_LAST ends the image. */
	void (*chunk)(struct vfmig_fw_sink *sink, struct vfmig_buf *buf,
		      u32 image_seq, u32 chunk_seq, u32 npages, u32 flags);
	/* The SAVE ended; @status is enum vfmig_fw_status. */
	void (*done)(struct vfmig_fw_sink *sink, u32 status, u32 chunks,
		     u64 npages, u64 bytes, u64 ns);
};

struct vfmig_fw_fault {
	u32 nth;		/* 0: not armed; else fail the nth command */
	u32 status;
};

struct vfmig_fw_stats {
	u64 count;
	u64 failed;
	u64 lat_ns;
};

struct vfmig_fw {
	struct vfmig_state *st;
	struct vfmig_trace_dev *tdev;

	/* Long command delays sleep here; vfmig_fw_interrupt() ends them. */
	wait_queue_head_t waitq;
	atomic_t interrupts;

	/*
	 * Protects everything below except the load cursor and the fields
	 * only the SAVE work touches while it runs (cursor, counters).
	 */
	spinlock_t lock;
	u32 latency_us;
	u64 throughput;		/* bytes/s, 0 = unlimited */
	u32 chunk_pages;
	struct vfmig_fw_fault fault[VFMIG_FW_NR_OPCODES];
	struct vfmig_fw_stats stats[VFMIG_FW_NR_OPCODES];
	u64 cmd_seq;
	bool suspended_initiator;
	bool suspended_responder;

	/* The one SAVE in flight (mlx5's single-SAVE rule). */
	struct {
		struct delayed_work work;
		struct vfmig_fw_sink *sink;
		bool busy;
		bool paused;	/* waiting for get_buf() to succeed */
		bool stalled;	/* get_buf() failed: the engine's budget is full */
		bool aborted;
		bool cancelling;	/* vfmig_fw_save_abort() is running */
		u32 flags;	/* VFMIG_FW_SAVE_* */
		u32 fail_status;
		u32 image_seq;
		u32 chunk_seq;
		unsigned long cursor;
		u64 npages;
		u64 bytes;
		u64 seq;
		u64 start_ns;
		u64 stall_start_ns;
		u64 stall_ns;	/* of this SAVE, in stalls that ended */
		u64 sleep_us;	/* short wait before the next step */
	} save;

	/* Load cursor: only touched under the device's state_mutex. */
	struct {
		bool open;		/* an image is partly loaded */
		bool have_base;		/* a full image was loaded */
		bool final_done;	/* the last image loaded was FINAL */
		u32 image_seq;
		u32 next_chunk;
		u32 next_image;		/* image_seq the next image must have */
		u64 images;
	} load;
};

void vfmig_fw_init(struct vfmig_fw *fw, struct vfmig_state *st,
		   struct vfmig_trace_dev *tdev);

/* What QUERY_STATE_SIZE reports, in the firmware's stream bytes. */
struct vfmig_fw_size {
	u64 bytes;		/* the image asked for; 0: none */
	u64 chunks;		/* its chunk records */
	u64 full_bytes;		/* a full final image of the state now */
	u64 full_chunks;
};

int vfmig_fw_query_size(struct vfmig_fw *fw, u32 flags,
			struct vfmig_fw_size *sz);
int vfmig_fw_save(struct vfmig_fw *fw, u32 flags, u32 image_seq,
		  struct vfmig_fw_sink *sink);
void vfmig_fw_save_kick(struct vfmig_fw *fw);
void vfmig_fw_save_abort(struct vfmig_fw *fw);
int vfmig_fw_load(struct vfmig_fw *fw, const u8 *chunk, size_t len);
void vfmig_fw_load_reset(struct vfmig_fw *fw);
int vfmig_fw_load_finish(struct vfmig_fw *fw, bool any_data);
int vfmig_fw_suspend(struct vfmig_fw *fw, u32 op_mod);
int vfmig_fw_resume(struct vfmig_fw *fw, u32 op_mod);
void vfmig_fw_device_start(struct vfmig_fw *fw);
void vfmig_fw_device_stop(struct vfmig_fw *fw);
void vfmig_fw_interrupt(struct vfmig_fw *fw);
int vfmig_fw_interrupts(struct vfmig_fw *fw);

int vfmig_fw_set_fault(struct vfmig_fw *fw, u32 opcode, u32 nth, u32 status);
void vfmig_fw_clear_faults(struct vfmig_fw *fw);

extern const char *const vfmig_fw_opcode_names[VFMIG_FW_NR_OPCODES];

int vfmig_fw_module_init(void);
void vfmig_fw_module_exit(void);

#endif /* VFMIG_FW_H */
