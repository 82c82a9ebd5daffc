// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig save file: the data fd of the saving group (PRE_COPY, PRE_COPY_P2P,
 * STOP_COPY).
 *
 * The firmware cuts images into chunk records and hands them to this file's
 * sink, which seals each one with a CHUNK_CRC record in front; they wait in
 * buf_list until read() copies them out, then go back to avail_list for the
 * next chunk. The memory allocated for one file (counted as really
 * allocated, not as requested) never exceeds its budget: when no buffer is
 * free the firmware's SAVE pauses, and the reader resumes it as it frees
 * buffers. So a 1 GiB device never needs 1 GiB of kernel memory. Buffers
 * are freed when the file is disabled (it leaves the device), not only when
 * its last reference goes.
 *
 * Stream: [MIG_UUID][STOP_COPY_SIZE][initial image][middle images...]
 * [final image], each image one or more [CHUNK_CRC][FW_DATA] record pairs.
 */
#include <linux/anon_inodes.h>
#include <linux/crc32.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/vmalloc.h>

#include "vfmig.h"
#include "trace.h"

enum vfmig_save_state {
	VFMIG_SAVE_PRECOPY,		/* images on request */
	VFMIG_SAVE_PRECOPY_ERROR,	/* firmware refused: fall back */
	VFMIG_SAVE_STOP_COPY,		/* final image requested */
	VFMIG_SAVE_COMPLETE,		/* final image fully queued */
	VFMIG_SAVE_ERROR,		/* a SAVE failed */
};

struct vfmig_save_file {
	struct file *filp;
	struct vfmig_dev *vmdev;		/* pinned by a device reference */
	struct vfmig_trace_dev tdev;
	struct vfmig_fw_sink sink;

	/* Serializes readers; protects pos. */
	struct mutex lock;
	loff_t pos;

	/* Protects everything below; taken by the firmware's SAVE work. */
	spinlock_t list_lock;
	struct list_head buf_list;	/* queued, in stream order */
	struct list_head avail_list;	/* read, ready for reuse */
	struct vfmig_buf *reading_buf;	/* being copied out; see _disable() */
	bool bufs_freed;		/* _disable() emptied the lists */
	wait_queue_head_t poll_wait;
	enum vfmig_save_state state;
	int error;
	bool disabled;
	bool save_inflight;
	bool final_pending;		/* STOP_COPY came during a SAVE */
	bool precopy;			/* dirty tracking on since PRE_COPY */
	bool fallback;			/* PRE_COPY error: final is full */
	u32 kind;			/* enum vfmig_image_kind in flight */
	u32 cur_image;			/* image_seq in flight */
	u32 next_image;
	loff_t max_pos;			/* bytes queued so far */
	loff_t initial_end;		/* end of the initial image */
	size_t chunk_cap;
	u64 alloc_bytes;
	u64 peak_bytes;
	u64 budget;
};

static const struct file_operations vfmig_save_fops;

/*
 * What a buffer of @cap bytes really takes. Chunk records (a page and more)
 * come from vmalloc: kmalloc would round a 1 MiB + 4 KiB record up to
 * 2 MiB. vmalloc takes whole pages plus its page array.
 */
static size_t vfmig_buf_footprint(size_t cap)
{
	size_t bytes = kmalloc_size_roundup(sizeof(struct vfmig_buf));

	if (cap <= PAGE_SIZE)
		return bytes + kmalloc_size_roundup(cap);
	return bytes + vfmig_vmalloc_footprint(cap);
}

static void vfmig_buf_free(struct vfmig_buf *buf)
{
	kvfree(buf->data);
	kfree(buf);
}

static struct vfmig_buf *vfmig_buf_alloc(size_t cap)
{
	struct vfmig_buf *buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);

	if (!buf)
		return NULL;
	if (cap <= PAGE_SIZE)
		buf->data = kmalloc(cap, GFP_KERNEL_ACCOUNT);
	else
		buf->data = __vmalloc(cap, GFP_KERNEL_ACCOUNT);
	if (!buf->data) {
		kfree(buf);
		return NULL;
	}
	buf->cap = cap;
	buf->footprint = vfmig_buf_footprint(cap);
	return buf;
}

/* Account @bytes more against the budget. */
static bool vfmig_save_charge(struct vfmig_save_file *migf, size_t bytes,
			      bool force)
{
	lockdep_assert_held(&migf->list_lock);
	if (!force && migf->alloc_bytes &&
	    migf->alloc_bytes + bytes > migf->budget)
		return false;
	migf->alloc_bytes += bytes;
	if (migf->alloc_bytes > migf->peak_bytes) {
		migf->peak_bytes = migf->alloc_bytes;
		WRITE_ONCE(migf->vmdev->mig_peak_bytes, migf->peak_bytes);
	}
	return true;
}

/* Append a filled buffer to the stream and wake readers. */
static void vfmig_save_queue(struct vfmig_save_file *migf,
			     struct vfmig_buf *buf)
{
	spin_lock(&migf->list_lock);
	buf->start_pos = migf->max_pos;
	migf->max_pos += buf->len;
	list_add_tail(&buf->node, &migf->buf_list);
	spin_unlock(&migf->list_lock);
	wake_up_interruptible(&migf->poll_wait);
}

static int vfmig_save_queue_record(struct vfmig_save_file *migf, u32 tag,
				   u32 flags, const void *payload, size_t len)
{
	struct vfmig_record_header *rh;
	struct vfmig_buf *buf;

	buf = vfmig_buf_alloc(sizeof(*rh) + len);
	if (!buf)
		return -ENOMEM;
	rh = (void *)buf->data;
	rh->size = cpu_to_le64(len);
	rh->flags = cpu_to_le32(flags);
	rh->tag = cpu_to_le32(tag);
	memcpy(rh + 1, payload, len);
	buf->len = sizeof(*rh) + len;

	spin_lock(&migf->list_lock);
	vfmig_save_charge(migf, buf->footprint, true);
	spin_unlock(&migf->list_lock);
	vfmig_trace_file(migf, vfmig_save_record, migf->max_pos, len, tag,
			 flags);
	vfmig_save_queue(migf, buf);
	return 0;
}

/*
 * Fill the CHUNK_CRC record in front of the firmware's FW_DATA record: the
 * target checks the chunk against it before it loads any of it.
 */
static void vfmig_save_seal(struct vfmig_buf *buf)
{
	struct vfmig_record_header *rh = (void *)buf->data;
	struct vfmig_crc_record *cr = (void *)(rh + 1);
	size_t covered = buf->len - buf->head;
	u32 crc = ~__crc32c_le(~0u, buf->data + buf->head, covered);

	BUILD_BUG_ON(sizeof(*rh) + sizeof(*cr) != VFMIG_CRC_RECORD_BYTES);
	cr->crc32c = cpu_to_le32(crc);
	cr->algo = cpu_to_le32(VFMIG_CRC_ALGO_CRC32C);
	cr->covered = cpu_to_le64(covered);
	rh->size = cpu_to_le64(sizeof(*cr));
	rh->flags = cpu_to_le32(VFMIG_RECORD_F_OPTIONAL);
	rh->tag = cpu_to_le32(VFMIG_RECORD_TAG_CHUNK_CRC);
}

/* --- firmware sink ----------------------------------------------------- */

static struct vfmig_buf *vfmig_sink_get_buf(struct vfmig_fw_sink *sink,
					    size_t cap)
{
	struct vfmig_save_file *migf =
		container_of(sink, struct vfmig_save_file, sink);
	size_t footprint, head = VFMIG_CRC_RECORD_BYTES;
	struct vfmig_buf *buf, *tmp;

	cap += head;
	footprint = vfmig_buf_footprint(cap);
	spin_lock(&migf->list_lock);
	list_for_each_entry_safe(buf, tmp, &migf->avail_list, node) {
		if (buf->cap >= cap) {
			list_del(&buf->node);
			spin_unlock(&migf->list_lock);
			buf->head = head;
			return buf;
		}
	}
	if (migf->disabled || !vfmig_save_charge(migf, footprint, false)) {
		spin_unlock(&migf->list_lock);
		return NULL;
	}
	spin_unlock(&migf->list_lock);

	buf = vfmig_buf_alloc(cap);
	if (!buf) {
		spin_lock(&migf->list_lock);
		migf->alloc_bytes -= footprint;
		spin_unlock(&migf->list_lock);
		return ERR_PTR(-ENOMEM);
	}
	buf->head = head;
	return buf;
}

static void vfmig_sink_chunk(struct vfmig_fw_sink *sink, struct vfmig_buf *buf,
			     u32 image_seq, u32 chunk_seq, u32 npages,
			     u32 flags)
{
	struct vfmig_save_file *migf =
		container_of(sink, struct vfmig_save_file, sink);
	loff_t pos = READ_ONCE(migf->max_pos);

	vfmig_save_seal(buf);
	vfmig_trace_file(migf, vfmig_save_record, pos,
			 sizeof(struct vfmig_crc_record),
			 VFMIG_RECORD_TAG_CHUNK_CRC, VFMIG_RECORD_F_OPTIONAL);
	vfmig_trace_file(migf, vfmig_save_record, pos + buf->head,
			 buf->len - buf->head - VFMIG_RECORD_HEADER_SIZE,
			 VFMIG_RECORD_TAG_FW_DATA, VFMIG_RECORD_F_MANDATORY);
	vfmig_trace_file(migf, vfmig_image_chunk, migf->kind, image_seq,
			 chunk_seq, npages, flags, buf->len, pos);
	vfmig_save_queue(migf, buf);
}

/*
 * Start the next image of @kind. Called under list_lock, so that it cannot
 * interleave with vfmig_save_file_disable(): a SAVE starts either before the
 * file is disabled (and is aborted with it) or not at all. On failure the
 * file is in ERROR; the caller traces that and wakes the readers once it has
 * dropped the lock.
 */
static int vfmig_save_start_locked(struct vfmig_save_file *migf, u32 kind,
				   u32 flags)
{
	int ret;

	lockdep_assert_held(&migf->list_lock);
	if (migf->disabled)
		return -ENODEV;
	migf->save_inflight = true;
	migf->kind = kind;
	migf->cur_image = migf->next_image++;
	ret = vfmig_fw_save(&migf->vmdev->fw, flags, migf->cur_image,
			    &migf->sink);
	if (ret) {
		migf->next_image--;
		migf->save_inflight = false;
		migf->state = VFMIG_SAVE_ERROR;
		migf->error = ret;
	}
	return ret;
}

static void vfmig_save_start_failed(struct vfmig_save_file *migf, int ret)
{
	vfmig_trace_file(migf, vfmig_error, VFMIG_ERR_SAVE, ret, 0);
	wake_up_interruptible(&migf->poll_wait);
}

static u32 vfmig_save_final_flags(struct vfmig_save_file *migf)
{
	/* Incremental over what PRE_COPY sent, unless tracking was lost. */
	return VFMIG_FW_SAVE_FINAL |
	       ((migf->precopy && !migf->fallback) ? VFMIG_FW_SAVE_INC : 0);
}

static void vfmig_sink_done(struct vfmig_fw_sink *sink, u32 status,
			    u32 chunks, u64 npages, u64 bytes, u64 ns)
{
	struct vfmig_save_file *migf =
		container_of(sink, struct vfmig_save_file, sink);
	bool fallback = false;
	u32 kind, done_image;
	int start_ret = 0;

	spin_lock(&migf->list_lock);
	kind = migf->kind;
	done_image = migf->cur_image;
	migf->save_inflight = false;
	if (migf->disabled) {
		spin_unlock(&migf->list_lock);
		goto out;
	}
	if (status == VFMIG_FW_STATUS_OK) {
		if (kind == VFMIG_IMAGE_FINAL)
			migf->state = VFMIG_SAVE_COMPLETE;
	} else if (status == VFMIG_FW_STATUS_BAD_RES_STATE &&
		   kind != VFMIG_IMAGE_FINAL) {
		/* mlx5's fallback: stop precopy, send a full final image. */
		migf->fallback = true;
		fallback = true;
		if (migf->state == VFMIG_SAVE_PRECOPY)
			migf->state = VFMIG_SAVE_PRECOPY_ERROR;
		if (kind == VFMIG_IMAGE_INITIAL)
			migf->initial_end = migf->max_pos;
	} else {
		migf->state = VFMIG_SAVE_ERROR;
		migf->error = status == VFMIG_FW_STATUS_BAD_RESOURCE ?
			      -ENOMEM : -EIO;
	}
	/* An image that never reached the stream gives its number back. */
	if (status && !chunks && migf->next_image == done_image + 1)
		migf->next_image = done_image;
	if (migf->final_pending && migf->state == VFMIG_SAVE_STOP_COPY) {
		migf->final_pending = false;
		start_ret = vfmig_save_start_locked(migf, VFMIG_IMAGE_FINAL,
						    vfmig_save_final_flags(migf));
	}
	spin_unlock(&migf->list_lock);
out:
	vfmig_trace_file(migf, vfmig_image_done, kind, done_image, chunks,
			 npages, bytes, status, ns);
	if (fallback)
		vfmig_trace_file(migf, vfmig_error, VFMIG_ERR_PRECOPY_FALLBACK,
				 -EREMOTEIO, status);
	else if (status)
		vfmig_trace_file(migf, vfmig_error, VFMIG_ERR_SAVE, -EIO,
				 status);
	if (start_ret)
		vfmig_save_start_failed(migf, start_ret);
	wake_up_interruptible(&migf->poll_wait);
}

/* --- file operations --------------------------------------------------- */

/* A blocked reader has something to act on. */
static bool vfmig_save_ready(struct vfmig_save_file *migf)
{
	bool ready;

	spin_lock(&migf->list_lock);
	ready = !list_empty(&migf->buf_list) || migf->disabled ||
		migf->state == VFMIG_SAVE_ERROR ||
		migf->state == VFMIG_SAVE_COMPLETE ||
		((migf->state == VFMIG_SAVE_PRECOPY ||
		  migf->state == VFMIG_SAVE_PRECOPY_ERROR) &&
		 !migf->save_inflight);
	spin_unlock(&migf->list_lock);
	return ready;
}

/*
 * With the queue empty, what should read() say? 0 to go on waiting (or
 * -EAGAIN without blocking), else the return value.
 */
static ssize_t vfmig_save_empty_ret(struct vfmig_save_file *migf,
				    bool nonblock)
{
	if (migf->disabled)
		return -ENODEV;
	switch (migf->state) {
	case VFMIG_SAVE_ERROR:
		return migf->error;
	case VFMIG_SAVE_COMPLETE:
		return 0;
	case VFMIG_SAVE_PRECOPY:
	case VFMIG_SAVE_PRECOPY_ERROR:
		/* Temporary end of stream, unless a SAVE is on its way. */
		if (!migf->save_inflight)
			return -ENOMSG;
		fallthrough;
	default:
		return nonblock ? -EAGAIN : 1;
	}
}

static ssize_t vfmig_save_copy(struct vfmig_save_file *migf, char __user *ubuf,
			       size_t len)
{
	struct vfmig_buf *buf;
	ssize_t done = 0;

	while (len) {
		size_t off, n, left;
		bool recycle;

		spin_lock(&migf->list_lock);
		if (migf->disabled) {
			spin_unlock(&migf->list_lock);
			return done ? done : -ENODEV;
		}
		buf = list_first_entry_or_null(&migf->buf_list,
					       struct vfmig_buf, node);
		/* Pinned: a disable now leaves this one for us to free. */
		migf->reading_buf = buf;
		spin_unlock(&migf->list_lock);
		if (!buf)
			break;

		off = migf->pos - buf->start_pos;
		n = min(len, buf->len - off);
		left = copy_to_user(ubuf, buf->data + off, n);
		n -= left;
		migf->pos += n;
		done += n;
		ubuf += n;
		len -= n;

		spin_lock(&migf->list_lock);
		migf->reading_buf = NULL;
		if (migf->bufs_freed) {
			/* vfmig_save_file_disable() left this one to us. */
			migf->alloc_bytes -= buf->footprint;
			spin_unlock(&migf->list_lock);
			vfmig_buf_free(buf);
			return done ? done : -ENODEV;
		}
		if (migf->disabled) {
			/* Still listed: vfmig_save_file_disable() frees it. */
			spin_unlock(&migf->list_lock);
			return done ? done : -ENODEV;
		}
		if (left || off + n < buf->len) {
			spin_unlock(&migf->list_lock);
			if (left)
				return done ? done : -EFAULT;
			continue;
		}
		recycle = buf->cap >= migf->chunk_cap;
		if (recycle) {
			list_move_tail(&buf->node, &migf->avail_list);
		} else {
			list_del(&buf->node);
			migf->alloc_bytes -= buf->footprint;
		}
		spin_unlock(&migf->list_lock);
		if (recycle)
			vfmig_fw_save_kick(&migf->vmdev->fw);
		else
			vfmig_buf_free(buf);
	}
	return done;
}

/* Bytes queued on the stream and not read yet. */
static u64 vfmig_save_queued(struct vfmig_save_file *migf)
{
	loff_t pos = READ_ONCE(migf->pos), max_pos;

	spin_lock(&migf->list_lock);
	max_pos = migf->max_pos;
	spin_unlock(&migf->list_lock);
	return max_pos > pos ? max_pos - pos : 0;
}

static ssize_t vfmig_save_read(struct file *filp, char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	struct vfmig_save_file *migf = filp->private_data;
	bool nonblock = filp->f_flags & O_NONBLOCK;
	u64 start = ktime_get_ns();
	loff_t start_pos;
	ssize_t ret;

	if (ppos)
		return -ESPIPE;

	for (;;) {
		if (!nonblock &&
		    wait_event_interruptible(migf->poll_wait,
					     vfmig_save_ready(migf))) {
			vfmig_trace_file(migf, vfmig_save_read,
					 READ_ONCE(migf->pos), len,
					 -ERESTARTSYS,
					 vfmig_save_queued(migf),
					 ktime_get_ns() - start);
			return -ERESTARTSYS;
		}
		mutex_lock(&migf->lock);
		spin_lock(&migf->list_lock);
		ret = list_empty(&migf->buf_list) ?
		      vfmig_save_empty_ret(migf, nonblock) : 0;
		spin_unlock(&migf->list_lock);
		if (ret != 1)
			break;
		mutex_unlock(&migf->lock);
	}
	start_pos = migf->pos;
	if (!ret && len)
		ret = vfmig_save_copy(migf, ubuf, len);
	mutex_unlock(&migf->lock);

	vfmig_trace_file(migf, vfmig_save_read, start_pos, len, ret,
			 vfmig_save_queued(migf), ktime_get_ns() - start);
	if (ret < 0 && ret != -ENOMSG && ret != -EAGAIN)
		vfmig_trace_file(migf, vfmig_error, VFMIG_ERR_SAVE_READ, ret,
				 0);
	return ret;
}

static __poll_t vfmig_save_poll(struct file *filp, struct poll_table_struct *wait)
{
	struct vfmig_save_file *migf = filp->private_data;
	__poll_t mask = 0;

	poll_wait(filp, &migf->poll_wait, wait);
	spin_lock(&migf->list_lock);
	if (migf->disabled || migf->state == VFMIG_SAVE_ERROR)
		mask = EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	else if (!list_empty(&migf->buf_list) ||
		 migf->state == VFMIG_SAVE_COMPLETE)
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock(&migf->list_lock);
	return mask;
}

/*
 * VFIO_MIG_GET_PRECOPY_INFO. initial_bytes: what is left of the initial
 * image (and the STOP_COPY_SIZE record before it). dirty_bytes: queued but
 * unread beyond the initial image, plus what the device would add now.
 * When everything queued was read and the device has dirty state, start a
 * middle image (at most one SAVE in flight).
 */
static long vfmig_precopy_info(struct vfmig_save_file *migf,
			       unsigned long arg)
{
	unsigned long minsz = offsetofend(struct vfio_precopy_info, dirty_bytes);
	struct vfmig_dev *vmdev = migf->vmdev;
	struct vfio_precopy_info info;
	bool issue = false;
	u64 inc = 0;
	loff_t pos, from;
	int ret = 0;

	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	mutex_lock(&vmdev->state_mutex);
	if (vmdev->mig_state != VFIO_DEVICE_STATE_PRE_COPY &&
	    vmdev->mig_state != VFIO_DEVICE_STATE_PRE_COPY_P2P) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (vmdev->saving_migf != migf || migf->disabled) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (migf->state == VFMIG_SAVE_ERROR) {
		ret = migf->error;
		goto out_unlock;
	}
	if (migf->state == VFMIG_SAVE_PRECOPY) {
		ret = vfmig_save_query_bytes(vmdev, VFMIG_FW_QUERY_INC, &inc,
					     NULL);
		if (ret)
			goto out_unlock;
	}

	pos = READ_ONCE(migf->pos);
	spin_lock(&migf->list_lock);
	info.initial_bytes = migf->initial_end > pos ?
			     migf->initial_end - pos : 0;
	from = max(pos, migf->initial_end);
	info.dirty_bytes = (migf->max_pos > from ? migf->max_pos - from : 0) +
			   inc;
	if (migf->state == VFMIG_SAVE_PRECOPY && !migf->save_inflight &&
	    !info.initial_bytes && migf->max_pos == pos && inc) {
		issue = true;
		ret = vfmig_save_start_locked(migf, VFMIG_IMAGE_MIDDLE,
					      VFMIG_FW_SAVE_INC |
					      VFMIG_FW_SAVE_TRACK);
	}
	spin_unlock(&migf->list_lock);
	if (ret)
		vfmig_save_start_failed(migf, ret);
	info.flags = 0;

out_unlock:
	vfmig_trace_file(migf, vfmig_precopy_info, ret ? 0 : info.initial_bytes,
			 ret ? 0 : info.dirty_bytes, ret, issue);
	if (ret && ret != -EINVAL)
		vfmig_trace_file(migf, vfmig_error, VFMIG_ERR_PRECOPY_INFO,
				 ret, 0);
	vfmig_data_unlock(vmdev);
	if (ret)
		return ret;
	/* Outside state_mutex: a fault here may take mmap_lock. */
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
}

static long vfmig_save_ioctl(struct file *filp, unsigned int cmd,
			     unsigned long arg)
{
	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	return vfmig_precopy_info(filp->private_data, arg);
}

static int vfmig_save_release(struct inode *inode, struct file *filp)
{
	struct vfmig_save_file *migf = filp->private_data;
	struct vfmig_dev *vmdev = migf->vmdev;
	struct vfmig_buf *buf, *tmp;

	vfmig_trace_file(migf, vfmig_file, VFMIG_FILE_SAVE, false, migf->pos,
			 migf->peak_bytes);
	list_for_each_entry_safe(buf, tmp, &migf->buf_list, node)
		vfmig_buf_free(buf);
	list_for_each_entry_safe(buf, tmp, &migf->avail_list, node)
		vfmig_buf_free(buf);
	mutex_destroy(&migf->lock);
	kfree(migf);
	vfio_put_device(&vmdev->vdev);
	return 0;
}

static const struct file_operations vfmig_save_fops = {
	.owner = THIS_MODULE,
	.read = vfmig_save_read,
	.poll = vfmig_save_poll,
	.unlocked_ioctl = vfmig_save_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = vfmig_save_release,
};

/* --- engine entry points (state_mutex held) ---------------------------- */

/*
 * QUERY_STATE_SIZE in stream bytes: the firmware's records plus the
 * CHUNK_CRC record this file puts in front of each. @full (may be NULL):
 * a full final image of the state now.
 */
int vfmig_save_query_bytes(struct vfmig_dev *vmdev, u32 flags, u64 *bytes,
			   u64 *full)
{
	struct vfmig_fw_size sz;
	int ret;

	lockdep_assert_held(&vmdev->state_mutex);
	ret = vfmig_fw_query_size(&vmdev->fw, flags, &sz);
	*bytes = sz.bytes + sz.chunks * VFMIG_CRC_RECORD_BYTES;
	if (full)
		*full = sz.full_bytes + sz.full_chunks * VFMIG_CRC_RECORD_BYTES;
	return ret;
}

/*
 * Create the save file and start its first image: the initial image with
 * dirty tracking for PRE_COPY, the full final image for STOP_COPY.
 */
struct vfmig_save_file *vfmig_save_file_create(struct vfmig_dev *vmdev,
					       bool precopy)
{
	struct vfmig_save_file *migf;
	struct vfmig_mig_uuid_record id;
	__le64 stop_copy_size;
	uuid_t mig_uuid;
	u64 initial, full;
	int ret;

	lockdep_assert_held(&vmdev->state_mutex);
	migf = kzalloc(sizeof(*migf), GFP_KERNEL_ACCOUNT);
	if (!migf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&migf->lock);
	spin_lock_init(&migf->list_lock);
	INIT_LIST_HEAD(&migf->buf_list);
	INIT_LIST_HEAD(&migf->avail_list);
	init_waitqueue_head(&migf->poll_wait);
	migf->sink.get_buf = vfmig_sink_get_buf;
	migf->sink.chunk = vfmig_sink_chunk;
	migf->sink.done = vfmig_sink_done;
	migf->vmdev = vmdev;
	migf->precopy = precopy;
	migf->chunk_cap = VFMIG_CRC_RECORD_BYTES +
			  VFMIG_CHUNK_RECORD_BYTES(vmdev->fw.chunk_pages);
	/* Room for two chunks: one being read while the next is cut. */
	migf->budget = max_t(u64, vmdev->mig_budget,
			     2 * vfmig_buf_footprint(migf->chunk_cap));
	migf->state = precopy ? VFMIG_SAVE_PRECOPY : VFMIG_SAVE_STOP_COPY;
	migf->tdev = vmdev->tdev;

	migf->filp = anon_inode_getfile("vfmig_save", &vfmig_save_fops, migf,
					O_RDONLY);
	if (IS_ERR(migf->filp)) {
		ret = PTR_ERR(migf->filp);
		mutex_destroy(&migf->lock);
		kfree(migf);
		return ERR_PTR(ret);
	}
	/* From here the file owns migf: fput() frees it via release. */
	get_device(&vmdev->vdev.device);
	stream_open(migf->filp->f_inode, migf->filp);
	vfmig_trace_file(migf, vfmig_file, VFMIG_FILE_SAVE, true, 0, 0);

	/* The migration's identity, first on the stream: both sides trace it. */
	uuid_gen(&mig_uuid);
	export_uuid(id.uuid, &mig_uuid);
	ret = vfmig_save_queue_record(migf, VFMIG_RECORD_TAG_MIG_UUID,
				      VFMIG_RECORD_F_OPTIONAL, &id, sizeof(id));
	if (ret)
		goto err_fput;
	vfmig_trace_mig_uuid(migf, VFMIG_FILE_SAVE, id.uuid, 0);

	ret = vfmig_save_query_bytes(vmdev, 0, &initial, &full);
	if (ret)
		goto err_fput;
	/* Tell the target how much data the final image may carry. */
	stop_copy_size = cpu_to_le64(full);
	ret = vfmig_save_queue_record(migf, VFMIG_RECORD_TAG_STOP_COPY_SIZE,
				      VFMIG_RECORD_F_OPTIONAL,
				      &stop_copy_size, sizeof(stop_copy_size));
	if (ret)
		goto err_fput;
	if (precopy)
		migf->initial_end = migf->max_pos + initial;

	spin_lock(&migf->list_lock);
	ret = vfmig_save_start_locked(migf, precopy ? VFMIG_IMAGE_INITIAL :
						      VFMIG_IMAGE_FINAL,
				      precopy ? VFMIG_FW_SAVE_TRACK :
						VFMIG_FW_SAVE_FINAL);
	spin_unlock(&migf->list_lock);
	if (ret)
		goto err_fput;
	return migf;

err_fput:
	vfmig_save_file_disable(migf);
	return ERR_PTR(ret);
}

/* PRE_COPY_P2P -> STOP_COPY: queue the final image behind any SAVE. */
int vfmig_save_file_stop_copy(struct vfmig_save_file *migf)
{
	int ret = 0;

	lockdep_assert_held(&migf->vmdev->state_mutex);
	spin_lock(&migf->list_lock);
	if (migf->state == VFMIG_SAVE_ERROR) {
		ret = migf->error;
		spin_unlock(&migf->list_lock);
		return ret;
	}
	migf->state = VFMIG_SAVE_STOP_COPY;
	if (migf->save_inflight)
		migf->final_pending = true;
	else
		ret = vfmig_save_start_locked(migf, VFMIG_IMAGE_FINAL,
					      vfmig_save_final_flags(migf));
	spin_unlock(&migf->list_lock);
	if (ret)
		vfmig_save_start_failed(migf, ret);
	return ret;
}

/*
 * The file leaves the device: stop its SAVE, free its buffers (a VMM may
 * keep the fd open for as long as it likes), fail its readers (they wake
 * with -ENODEV) and drop the driver's reference. A buffer a reader is
 * copying out right now is left to that reader to free.
 */
void vfmig_save_file_disable(struct vfmig_save_file *migf)
{
	struct vfmig_dev *vmdev = migf->vmdev;
	struct vfmig_buf *buf, *tmp;
	LIST_HEAD(bufs);
	u64 freed = 0;

	lockdep_assert_held(&vmdev->state_mutex);
	spin_lock(&migf->list_lock);
	migf->disabled = true;
	spin_unlock(&migf->list_lock);
	/* After this no sink callback runs: the lists only shrink. */
	vfmig_fw_save_abort(&vmdev->fw);

	spin_lock(&migf->list_lock);
	migf->save_inflight = false;
	migf->final_pending = false;
	list_splice_init(&migf->buf_list, &bufs);
	list_splice_init(&migf->avail_list, &bufs);
	migf->bufs_freed = true;
	if (migf->reading_buf)
		list_del_init(&migf->reading_buf->node);
	list_for_each_entry(buf, &bufs, node)
		freed += buf->footprint;
	migf->alloc_bytes -= freed;
	spin_unlock(&migf->list_lock);
	list_for_each_entry_safe(buf, tmp, &bufs, node)
		vfmig_buf_free(buf);
	wake_up_interruptible(&migf->poll_wait);
	fput(migf->filp);
}

/* Will STOP_COPY send an incremental final image (else a full one)? */
bool vfmig_save_file_final_inc(struct vfmig_save_file *migf)
{
	bool inc;

	spin_lock(&migf->list_lock);
	inc = vfmig_save_final_flags(migf) & VFMIG_FW_SAVE_INC;
	spin_unlock(&migf->list_lock);
	return inc;
}

struct file *vfmig_save_file_get(struct vfmig_save_file *migf)
{
	return get_file(migf->filp);
}
