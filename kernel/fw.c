// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig firmware model.
 *
 * Models the migration commands of a device like ConnectX: QUERY_STATE_SIZE,
 * SAVE (asynchronous, one at a time, with optional dirty tracking and
 * incremental images), LOAD, SUSPEND and RESUME (initiator/responder), with
 * a configurable latency per command, a throughput for SAVE/LOAD data and
 * per-opcode fault injection. The device itself is struct vfmig_state.
 */
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "devstate.h"
#include "fw.h"
#include "trace.h"

static struct workqueue_struct *vfmig_fw_wq;

const char *const vfmig_fw_opcode_names[VFMIG_FW_NR_OPCODES] = {
	[VFMIG_FW_QUERY_STATE_SIZE] = "query",
	[VFMIG_FW_SAVE] = "save",
	[VFMIG_FW_LOAD] = "load",
	[VFMIG_FW_SUSPEND] = "suspend",
	[VFMIG_FW_RESUME] = "resume",
};

#define VFMIG_CHUNK_HDR_BYTES	sizeof(struct vfmig_chunk_header)
/*
 * Longest delay slept uninterruptibly. Longer ones sleep interruptibly, so
 * no task waits in D state behind the model for long (the callers may hold
 * state_mutex), and a signal or vfmig_fw_interrupt() ends them early.
 */
#define VFMIG_FW_SHORT_DELAY_US	20000

static void vfmig_fw_save_work(struct work_struct *work);

/*
 * Run the SAVE work after @us microseconds. A timer only counts whole
 * jiffies (4 ms at HZ=250), which would turn a 100 us firmware latency into
 * 4 ms; short waits are slept in the work item instead.
 */
static void vfmig_fw_save_queue(struct vfmig_fw *fw, u64 us)
{
	if (us >= 2 * jiffies_to_usecs(1)) {
		queue_delayed_work(vfmig_fw_wq, &fw->save.work,
				   usecs_to_jiffies(us));
		return;
	}
	WRITE_ONCE(fw->save.sleep_us, us);
	queue_delayed_work(vfmig_fw_wq, &fw->save.work, 0);
}

void vfmig_fw_init(struct vfmig_fw *fw, struct vfmig_state *st,
		   struct vfmig_trace_dev *tdev)
{
	fw->st = st;
	fw->tdev = tdev;
	spin_lock_init(&fw->lock);
	init_waitqueue_head(&fw->waitq);
	atomic_set(&fw->interrupts, 0);
	INIT_DELAYED_WORK(&fw->save.work, vfmig_fw_save_work);
	fw->chunk_pages = SZ_1M / VFMIG_PAGE_SIZE;
}

/* Chunk records of an image of @npages pages (an empty image has one). */
static u64 vfmig_fw_image_chunks(struct vfmig_fw *fw, u64 npages)
{
	return max_t(u64, 1, DIV_ROUND_UP(npages, fw->chunk_pages));
}

/* Stream bytes (record headers included) of an image of @npages pages. */
static u64 vfmig_fw_image_bytes(struct vfmig_fw *fw, u64 npages)
{
	return vfmig_fw_image_chunks(fw, npages) *
	       (VFMIG_RECORD_HEADER_SIZE + VFMIG_CHUNK_HDR_BYTES) +
	       npages * (sizeof(__le64) + VFMIG_PAGE_SIZE);
}

/*
 * Start a command: count it, trace it and decide whether an armed fault
 * makes it fail. Returns the status the command must complete with.
 */
static u32 vfmig_fw_submit(struct vfmig_fw *fw, u32 opcode, u32 op_mod,
			   u64 bytes, u64 *seq)
{
	struct vfmig_fw_fault *f = &fw->fault[opcode];
	u32 status = VFMIG_FW_STATUS_OK;

	spin_lock(&fw->lock);
	*seq = ++fw->cmd_seq;
	fw->stats[opcode].count++;
	if (f->nth && !--f->nth)
		status = f->status;
	spin_unlock(&fw->lock);
	trace_vfmig_fw_cmd_submit(fw->tdev, *seq, opcode, op_mod, bytes);
	return status;
}

static int vfmig_fw_complete(struct vfmig_fw *fw, u32 opcode, u32 op_mod,
			     u64 seq, u32 status, u64 bytes, u64 start_ns,
			     u64 stall_ns)
{
	u64 lat = ktime_get_ns() - start_ns;

	spin_lock(&fw->lock);
	fw->stats[opcode].lat_ns += lat;
	if (status)
		fw->stats[opcode].failed++;
	spin_unlock(&fw->lock);
	trace_vfmig_fw_cmd_done(fw->tdev, seq, opcode, op_mod, status, bytes,
				lat, stall_ns);
	return status ? -EREMOTEIO : 0;
}

/*
 * Wake every long delay in progress: a reset or close is waiting for the
 * command's caller. The command still completes, only sooner than modelled.
 */
void vfmig_fw_interrupt(struct vfmig_fw *fw)
{
	atomic_inc(&fw->interrupts);
	wake_up_all(&fw->waitq);
}

/* A count that changes whenever vfmig_fw_interrupt() is called. */
int vfmig_fw_interrupts(struct vfmig_fw *fw)
{
	return atomic_read(&fw->interrupts);
}

/* Model command latency for synchronous commands. */
static void vfmig_fw_delay(struct vfmig_fw *fw, u64 bytes)
{
	u64 us = READ_ONCE(fw->latency_us);
	u64 tput = READ_ONCE(fw->throughput);
	int gen;

	if (tput && bytes)
		us += div64_u64(bytes * USEC_PER_SEC, tput);
	if (!us)
		return;
	if (us < VFMIG_FW_SHORT_DELAY_US) {
		usleep_range(us, us + us / 8 + 1);
		return;
	}
	gen = vfmig_fw_interrupts(fw);
	wait_event_interruptible_timeout(fw->waitq,
					 vfmig_fw_interrupts(fw) != gen,
					 usecs_to_jiffies(us));
}

/*
 * Pages the next incremental image will carry. While a full image with
 * tracking is being cut, a dirty page ahead of its cursor is sent by that
 * image anyway: only pages behind it (dirtied after they were cut) count.
 * Post-suspend pages never go into an image cut while the device may run.
 */
static u64 vfmig_fw_inc_pages(struct vfmig_fw *fw)
{
	struct vfmig_state *st = fw->st;
	unsigned long cursor = READ_ONCE(st->precopy_pages);

	spin_lock(&fw->lock);
	if (fw->save.busy && !(fw->save.flags & VFMIG_FW_SAVE_INC))
		cursor = min(READ_ONCE(fw->save.cursor), cursor);
	spin_unlock(&fw->lock);
	return bitmap_weight(st->dirty, cursor);
}

/*
 * QUERY_STATE_SIZE: the image the given SAVE would produce now, and (as
 * mlx5's remaining_total_size) a full final image, in stream bytes and
 * chunk records. An image cut while the device may run (no FINAL) leaves
 * out the post-suspend pages; a final incremental image carries the dirty
 * pre-copyable pages and every post-suspend page.
 */
int vfmig_fw_query_size(struct vfmig_fw *fw, u32 flags,
			struct vfmig_fw_size *sz)
{
	struct vfmig_state *st = fw->st;
	unsigned long pre = READ_ONCE(st->precopy_pages);
	u64 start = ktime_get_ns(), seq, npages;
	u32 status;

	status = vfmig_fw_submit(fw, VFMIG_FW_QUERY_STATE_SIZE, flags, 0, &seq);
	vfmig_fw_delay(fw, 0);
	if ((flags & VFMIG_FW_QUERY_INC) && !(flags & VFMIG_FW_QUERY_FINAL))
		npages = vfmig_fw_inc_pages(fw);
	else if (flags & VFMIG_FW_QUERY_INC)
		npages = bitmap_weight(st->dirty, pre) + st->npages - pre;
	else if (flags & VFMIG_FW_QUERY_FINAL)
		npages = st->npages;
	else
		npages = pre;
	memset(sz, 0, sizeof(*sz));
	/* Nothing dirty: no incremental image, unless it is the final one. */
	if (!status && (npages || !(flags & VFMIG_FW_QUERY_INC) ||
			(flags & VFMIG_FW_QUERY_FINAL))) {
		sz->bytes = vfmig_fw_image_bytes(fw, npages);
		sz->chunks = vfmig_fw_image_chunks(fw, npages);
	}
	if (!status) {
		sz->full_bytes = vfmig_fw_image_bytes(fw, st->npages);
		sz->full_chunks = vfmig_fw_image_chunks(fw, st->npages);
	}
	return vfmig_fw_complete(fw, VFMIG_FW_QUERY_STATE_SIZE, flags, seq,
				 status, sz->bytes, start, 0);
}

/*
 * SUSPEND and RESUME. The initiator side is the device's own activity: the
 * workload stops on SUSPEND(initiator) and runs again on RESUME(initiator).
 */
static int vfmig_fw_activity(struct vfmig_fw *fw, u32 opcode, u32 op_mod)
{
	bool suspend = opcode == VFMIG_FW_SUSPEND;
	u64 start = ktime_get_ns(), seq;
	u32 status;

	status = vfmig_fw_submit(fw, opcode, op_mod, 0, &seq);
	vfmig_fw_delay(fw, 0);
	if (!status && op_mod == VFMIG_FW_OPMOD_INITIATOR) {
		fw->suspended_initiator = suspend;
		if (suspend) {
			vfmig_workload_stop(fw->st);
			vfmig_state_post_suspend(fw->st);
		} else {
			vfmig_workload_start(fw->st);
		}
	} else if (!status) {
		fw->suspended_responder = suspend;
	}
	return vfmig_fw_complete(fw, opcode, op_mod, seq, status, 0, start, 0);
}

int vfmig_fw_suspend(struct vfmig_fw *fw, u32 op_mod)
{
	return vfmig_fw_activity(fw, VFMIG_FW_SUSPEND, op_mod);
}

int vfmig_fw_resume(struct vfmig_fw *fw, u32 op_mod)
{
	return vfmig_fw_activity(fw, VFMIG_FW_RESUME, op_mod);
}

/*
 * The device was enabled (opened, or reset while open): it runs, suspended
 * neither as initiator nor as responder. Caller holds state_mutex.
 */
void vfmig_fw_device_start(struct vfmig_fw *fw)
{
	fw->suspended_initiator = false;
	fw->suspended_responder = false;
	vfmig_workload_start(fw->st);
}

/* The device was disabled (closed): nothing runs on it any more. */
void vfmig_fw_device_stop(struct vfmig_fw *fw)
{
	vfmig_workload_stop(fw->st);
}

/*
 * Start the one SAVE. Chunks go to @sink as they are cut; @sink->done()
 * reports the end. Returns -EBUSY if a SAVE is already in flight (an engine
 * bug), or the status of a command that failed at submission.
 */
int vfmig_fw_save(struct vfmig_fw *fw, u32 flags, u32 image_seq,
		  struct vfmig_fw_sink *sink)
{
	u64 seq;
	u32 status;

	spin_lock(&fw->lock);
	/* An abort in progress must not have its SAVE replaced under it. */
	if (fw->save.busy || WARN_ON_ONCE(fw->save.cancelling)) {
		spin_unlock(&fw->lock);
		return -EBUSY;
	}
	fw->save.busy = true;
	fw->save.paused = false;
	fw->save.stalled = false;
	fw->save.stall_ns = 0;
	fw->save.aborted = false;
	fw->save.sink = sink;
	fw->save.flags = flags;
	fw->save.image_seq = image_seq;
	fw->save.chunk_seq = 0;
	fw->save.cursor = 0;
	fw->save.npages = 0;
	fw->save.bytes = 0;
	fw->save.start_ns = ktime_get_ns();
	spin_unlock(&fw->lock);

	status = vfmig_fw_submit(fw, VFMIG_FW_SAVE, flags, 0, &seq);
	spin_lock(&fw->lock);
	fw->save.seq = seq;
	fw->save.fail_status = status;
	spin_unlock(&fw->lock);
	/* Like real firmware, a failing SAVE reports at completion. */
	vfmig_fw_save_queue(fw, READ_ONCE(fw->latency_us));
	return 0;
}

/* The engine freed a buffer: resume a SAVE that paused for lack of one. */
void vfmig_fw_save_kick(struct vfmig_fw *fw)
{
	spin_lock(&fw->lock);
	if (fw->save.busy && fw->save.paused && !fw->save.aborted) {
		fw->save.paused = false;
		queue_delayed_work(vfmig_fw_wq, &fw->save.work, 0);
	}
	spin_unlock(&fw->lock);
}

/*
 * Cancel the SAVE in flight, if any, and wait until its work is gone. The
 * sink is not called again once this returns.
 */
void vfmig_fw_save_abort(struct vfmig_fw *fw)
{
	bool was_busy;
	u64 seq, start, stall;

	spin_lock(&fw->lock);
	fw->save.aborted = true;
	fw->save.cancelling = true;
	spin_unlock(&fw->lock);

	cancel_delayed_work_sync(&fw->save.work);

	spin_lock(&fw->lock);
	was_busy = fw->save.busy;
	fw->save.busy = false;
	fw->save.cancelling = false;
	fw->save.sink = NULL;
	seq = fw->save.seq;
	start = fw->save.start_ns;
	stall = fw->save.stall_ns;
	if (fw->save.stalled) {
		stall += ktime_get_ns() - fw->save.stall_start_ns;
		fw->save.stalled = false;
	}
	spin_unlock(&fw->lock);
	if (was_busy)
		vfmig_fw_complete(fw, VFMIG_FW_SAVE, fw->save.flags, seq,
				  VFMIG_FW_STATUS_ABORTED, fw->save.bytes,
				  start, stall);
}

/*
 * The SAVE work found no free buffer (@stalled) or got one: trace where a
 * stall begins and ends. Only the SAVE work calls this.
 */
static void vfmig_fw_save_stall(struct vfmig_fw *fw, bool stalled)
{
	u64 now, ns = 0;

	if (fw->save.stalled == stalled)
		return;
	now = ktime_get_ns();
	spin_lock(&fw->lock);
	fw->save.stalled = stalled;
	if (stalled) {
		fw->save.stall_start_ns = now;
	} else {
		ns = now - fw->save.stall_start_ns;
		fw->save.stall_ns += ns;
	}
	spin_unlock(&fw->lock);
	trace_vfmig_save_stall(fw->tdev, fw->save.seq, stalled, ns);
}

static void vfmig_fw_save_finish(struct vfmig_fw *fw, u32 status)
{
	struct vfmig_fw_sink *sink;
	u64 ns = ktime_get_ns() - fw->save.start_ns;
	u32 chunks = fw->save.chunk_seq;
	u64 npages = fw->save.npages, bytes = fw->save.bytes;

	vfmig_fw_complete(fw, VFMIG_FW_SAVE, fw->save.flags, fw->save.seq,
			  status, bytes, fw->save.start_ns, fw->save.stall_ns);
	spin_lock(&fw->lock);
	sink = fw->save.sink;
	fw->save.sink = NULL;
	fw->save.busy = false;
	spin_unlock(&fw->lock);
	/* From here another SAVE may start, even from inside done(). */
	sink->done(sink, status, chunks, npages, bytes, ns);
}

/*
 * The next page at or after @pg that the SAVE in flight takes, or a value
 * >= @end when there is none: every page below @end for a full image; for
 * an incremental one the dirty pages below the post-suspend ones, then
 * (final images, whose @end is the last page) every post-suspend page.
 */
static unsigned long vfmig_fw_next_page(struct vfmig_state *st,
					unsigned long pg, bool full,
					unsigned long pre, unsigned long end)
{
	if (!full && pg < pre)
		pg = find_next_bit(st->dirty, pre, pg);
	return min(pg, end);
}

/*
 * Cut the next chunk into @buf: pick up to chunk_pages pages from the
 * cursor (see vfmig_fw_next_page()), write the index table and copy the
 * pages. Returns the chunk flags.
 */
static u32 vfmig_fw_cut_chunk(struct vfmig_fw *fw, struct vfmig_buf *buf,
			      u32 *npages_out)
{
	struct vfmig_state *st = fw->st;
	bool full = !(fw->save.flags & VFMIG_FW_SAVE_INC);
	unsigned long pre = READ_ONCE(st->precopy_pages);
	unsigned long end = fw->save.flags & VFMIG_FW_SAVE_FINAL ?
			    st->npages : pre;
	u32 max = fw->chunk_pages, n = 0, i, flags = 0;
	struct vfmig_record_header *rh = (void *)(buf->data + buf->head);
	struct vfmig_chunk_header *ch = (void *)(rh + 1);
	__le64 *index = (__le64 *)(ch + 1);
	unsigned long pg = fw->save.cursor;
	u8 *data;

	if (WARN_ON_ONCE(buf->cap < buf->head +
			 VFMIG_CHUNK_RECORD_BYTES(max)))
		max = 0;

	while (n < max) {
		pg = vfmig_fw_next_page(st, pg, full, pre, end);
		if (pg >= end)
			break;
		index[n++] = cpu_to_le64(pg);
		pg++;
	}
	WRITE_ONCE(fw->save.cursor, pg);
	if (vfmig_fw_next_page(st, pg, full, pre, end) >= end)
		flags |= VFMIG_CHUNK_F_LAST;
	if (full)
		flags |= VFMIG_CHUNK_F_FULL;
	if (fw->save.flags & VFMIG_FW_SAVE_FINAL)
		flags |= VFMIG_CHUNK_F_FINAL;
	if (!fw->save.chunk_seq)
		flags |= VFMIG_CHUNK_F_FIRST;

	data = (u8 *)(index + n);
	for (i = 0; i < n; i++) {
		unsigned long p = le64_to_cpu(index[i]);

		/*
		 * Clear, then revoke mapped write access, then copy: a write
		 * after the clear either lands before the copy or faults and
		 * sets the bit again. A clear bit needs no atomic op: a write
		 * that sets it later is sent again anyway.
		 */
		if (test_bit(p, st->dirty))
			test_and_clear_bit(p, st->dirty);
		vfmig_state_revoke_write(st, p);
		memcpy_from_page(data + (size_t)i * VFMIG_PAGE_SIZE,
				 st->pages[p], 0, VFMIG_PAGE_SIZE);
		if (!(i % 64))
			cond_resched();
	}

	ch->magic = cpu_to_le32(VFMIG_CHUNK_MAGIC);
	ch->version = cpu_to_le16(VFMIG_CHUNK_VERSION);
	ch->flags = cpu_to_le16(flags);
	ch->image_seq = cpu_to_le32(fw->save.image_seq);
	ch->chunk_seq = cpu_to_le32(fw->save.chunk_seq);
	ch->generation = cpu_to_le64(atomic64_read(&st->generation));
	ch->state_size = cpu_to_le64(st->size);
	ch->npages = cpu_to_le32(n);
	ch->reserved = 0;

	buf->len = buf->head + VFMIG_CHUNK_RECORD_BYTES(n);
	rh->size = cpu_to_le64(VFMIG_CHUNK_RECORD_BYTES(n) -
			       VFMIG_RECORD_HEADER_SIZE);
	rh->flags = cpu_to_le32(VFMIG_RECORD_F_MANDATORY);
	rh->tag = cpu_to_le32(VFMIG_RECORD_TAG_FW_DATA);
	*npages_out = n;
	return flags;
}

static void vfmig_fw_save_work(struct work_struct *work)
{
	struct vfmig_fw *fw = container_of(to_delayed_work(work),
					   struct vfmig_fw, save.work);
	struct vfmig_fw_sink *sink;
	struct vfmig_buf *buf;
	u32 status, flags, npages;
	u64 tput, delay_us = 0, sleep_us = xchg(&fw->save.sleep_us, 0);

	if (sleep_us)
		usleep_range(sleep_us, sleep_us + sleep_us / 8 + 1);
	spin_lock(&fw->lock);
	if (!fw->save.busy || fw->save.aborted) {
		spin_unlock(&fw->lock);
		return;
	}
	sink = fw->save.sink;
	status = fw->save.fail_status;
	/* Set before get_buf() so that a kick in between is not lost. */
	fw->save.paused = true;
	spin_unlock(&fw->lock);

	if (status) {
		vfmig_fw_save_finish(fw, status);
		return;
	}

	buf = sink->get_buf(sink, VFMIG_CHUNK_RECORD_BYTES(fw->chunk_pages));
	if (!buf) {
		/* Paused; vfmig_fw_save_kick() requeues us. */
		vfmig_fw_save_stall(fw, true);
		return;
	}
	vfmig_fw_save_stall(fw, false);
	if (IS_ERR(buf)) {
		vfmig_fw_save_finish(fw, VFMIG_FW_STATUS_BAD_RESOURCE);
		return;
	}
	spin_lock(&fw->lock);
	fw->save.paused = false;
	spin_unlock(&fw->lock);

	flags = vfmig_fw_cut_chunk(fw, buf, &npages);
	fw->save.npages += npages;
	fw->save.bytes += buf->len;
	sink->chunk(sink, buf, fw->save.image_seq, fw->save.chunk_seq, npages,
		    flags);
	fw->save.chunk_seq++;

	if (flags & VFMIG_CHUNK_F_LAST) {
		vfmig_fw_save_finish(fw, VFMIG_FW_STATUS_OK);
		return;
	}
	/* Model the device's DMA throughput before the next chunk. */
	tput = READ_ONCE(fw->throughput);
	if (tput)
		delay_us = div64_u64((u64)buf->len * USEC_PER_SEC, tput);
	vfmig_fw_save_queue(fw, delay_us);
}

void vfmig_fw_load_reset(struct vfmig_fw *fw)
{
	memset(&fw->load, 0, sizeof(fw->load));
}

/*
 * Check one chunk against the load cursor and the device. Images must come
 * whole and in order: a chunk either starts an image (FIRST, chunk 0) or
 * continues the open one, and image numbers follow each other. An
 * incremental image needs a full base first; a full image may restart
 * after an abandoned one (the PRE_COPY fallback).
 */
static int vfmig_fw_check_chunk(struct vfmig_fw *fw,
				const struct vfmig_chunk_header *ch,
				size_t len, u32 *npages)
{
	u32 flags = le16_to_cpu(ch->flags);
	u32 image = le32_to_cpu(ch->image_seq);
	u32 chunk = le32_to_cpu(ch->chunk_seq);
	u64 n;

	if (le32_to_cpu(ch->magic) != VFMIG_CHUNK_MAGIC ||
	    le16_to_cpu(ch->version) != VFMIG_CHUNK_VERSION ||
	    (flags & ~VFMIG_CHUNK_F_ALL) || ch->reserved ||
	    le64_to_cpu(ch->state_size) != fw->st->size)
		return -EINVAL;
	n = le32_to_cpu(ch->npages);
	if (n > fw->st->npages ||
	    len != VFMIG_CHUNK_HDR_BYTES + n * (sizeof(__le64) + VFMIG_PAGE_SIZE))
		return -EINVAL;

	if (flags & VFMIG_CHUNK_F_FIRST) {
		/* Images are numbered without gaps: none may go missing. */
		if (chunk || image != fw->load.next_image)
			return -EINVAL;
		if (!(flags & VFMIG_CHUNK_F_FULL) &&
		    (fw->load.open || !fw->load.have_base))
			return -EINVAL;
	} else {
		if (!fw->load.open || image != fw->load.image_seq ||
		    chunk != fw->load.next_chunk)
			return -EINVAL;
	}
	*npages = n;
	return 0;
}

/* LOAD one chunk (a FW_DATA record payload) into the device. */
int vfmig_fw_load(struct vfmig_fw *fw, const u8 *chunk, size_t len)
{
	const struct vfmig_chunk_header *ch = (const void *)chunk;
	const __le64 *index = (const __le64 *)(ch + 1);
	struct vfmig_state *st = fw->st;
	u64 start = ktime_get_ns(), seq;
	u32 status, npages = 0, flags, i;
	const u8 *data;
	int ret;

	/* The resume file never passes less than a chunk header. */
	if (len < VFMIG_CHUNK_HDR_BYTES)
		return -EINVAL;
	status = vfmig_fw_submit(fw, VFMIG_FW_LOAD, 0, len, &seq);
	if (!status && vfmig_fw_check_chunk(fw, ch, len, &npages))
		status = VFMIG_FW_STATUS_BAD_PARAM;
	/* Indexes strictly increase (as SAVE cuts them) and stay in range. */
	for (i = 0; !status && i < npages; i++)
		if (le64_to_cpu(index[i]) >= st->npages ||
		    (i && le64_to_cpu(index[i]) <= le64_to_cpu(index[i - 1])))
			status = VFMIG_FW_STATUS_BAD_PARAM;
	if (status)
		goto out;

	flags = le16_to_cpu(ch->flags);
	data = (const u8 *)(index + npages);
	for (i = 0; i < npages; i++) {
		unsigned long p = le64_to_cpu(index[i]);

		memcpy_to_page(st->pages[p], 0,
			       data + (size_t)i * VFMIG_PAGE_SIZE,
			       VFMIG_PAGE_SIZE);
		if (!(i % 64))
			cond_resched();
	}
	atomic64_set(&st->generation, le64_to_cpu(ch->generation));
	vfmig_fw_delay(fw, len);

	fw->load.open = !(flags & VFMIG_CHUNK_F_LAST);
	fw->load.final_done = (flags & VFMIG_CHUNK_F_LAST) &&
			      (flags & VFMIG_CHUNK_F_FINAL);
	fw->load.image_seq = le32_to_cpu(ch->image_seq);
	fw->load.next_image = fw->load.image_seq + 1;
	fw->load.next_chunk = le32_to_cpu(ch->chunk_seq) + 1;
	if (flags & VFMIG_CHUNK_F_LAST) {
		fw->load.images++;
		if (flags & VFMIG_CHUNK_F_FULL)
			fw->load.have_base = true;
	}
out:
	ret = vfmig_fw_complete(fw, VFMIG_FW_LOAD, 0, seq, status, len, start,
				0);
	if (status == VFMIG_FW_STATUS_BAD_PARAM)
		ret = -EINVAL;
	trace_vfmig_image_load(fw->tdev, le32_to_cpu(ch->image_seq),
			       le32_to_cpu(ch->chunk_seq), npages,
			       le16_to_cpu(ch->flags), len, ret);
	return ret;
}

/*
 * The stream ended. Unless it carried nothing at all, it must have ended
 * with the whole final image: anything less leaves the device half loaded.
 */
int vfmig_fw_load_finish(struct vfmig_fw *fw, bool any_data)
{
	if (fw->load.open || (any_data && !fw->load.final_done))
		return -EINVAL;
	return 0;
}

int vfmig_fw_set_fault(struct vfmig_fw *fw, u32 opcode, u32 nth, u32 status)
{
	if (opcode >= VFMIG_FW_NR_OPCODES)
		return -EINVAL;
	spin_lock(&fw->lock);
	fw->fault[opcode].nth = nth;
	fw->fault[opcode].status = status;
	spin_unlock(&fw->lock);
	return 0;
}

void vfmig_fw_clear_faults(struct vfmig_fw *fw)
{
	spin_lock(&fw->lock);
	memset(fw->fault, 0, sizeof(fw->fault));
	spin_unlock(&fw->lock);
}

int vfmig_fw_module_init(void)
{
	vfmig_fw_wq = alloc_workqueue("vfmig_fw", WQ_UNBOUND, 0);
	return vfmig_fw_wq ? 0 : -ENOMEM;
}

void vfmig_fw_module_exit(void)
{
	destroy_workqueue(vfmig_fw_wq);
}
