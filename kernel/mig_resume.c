// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig resume file: the data fd of RESUMING.
 *
 * A record-header state machine consumes the stream in writes of any size:
 * it reads each 16-byte header, checks the size before allocating anything,
 * gathers a FW_DATA record into one reusable buffer, checks it against the
 * CHUNK_CRC record in front of it and only then LOADs it (one LOAD per
 * chunk, so images load one after the other), keeps the STOP_COPY_SIZE
 * hint, skips unknown optional records without buffering them and rejects
 * unknown mandatory ones. The first error is sticky: the file is then
 * unusable and only a reset brings the device back.
 */
#include <linux/anon_inodes.h>
#include <linux/crc32.h>
#include <linux/file.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "vfmig.h"
#include "trace.h"

enum vfmig_load_state {
	VFMIG_LOAD_READ_HEADER,
	VFMIG_LOAD_READ_STOP_COPY_SIZE,
	VFMIG_LOAD_READ_CRC,
	VFMIG_LOAD_READ_MIG_UUID,
	VFMIG_LOAD_SKIP_RECORD,
	VFMIG_LOAD_READ_CHUNK,
};

struct vfmig_resume_file {
	struct file *filp;
	struct vfmig_dev *vmdev;		/* pinned by a device reference */
	struct vfmig_trace_dev tdev;

	/*
	 * Taken inside the device's state_mutex, which writers hold too: a
	 * disable never races a write.
	 */
	struct mutex lock;
	enum vfmig_load_state load_state;
	bool disabled;
	int error;			/* sticky */
	loff_t pos;
	struct vfmig_record_header hdr;
	u32 hdr_fill;
	loff_t rec_pos;			/* stream offset of the header */
	u64 rec_size;
	u64 rec_fill;
	u32 rec_tag;
	u32 rec_flags;
	__le64 stop_copy_size_le;
	u64 stop_copy_size;
	struct vfmig_crc_record crc;
	struct vfmig_mig_uuid_record mig_uuid;
	bool crc_seen;			/* the stream carries CHUNK_CRC */
	bool crc_armed;			/* crc is for the next record */
	u64 max_record;
	u8 *buf;
	size_t buf_cap;
	u64 peak_bytes;			/* footprint of buf at its largest */
};

static const struct file_operations vfmig_resume_fops;

/* Largest FW_DATA payload this device can load: one chunk, bounded. */
static u64 vfmig_resume_max_record(struct vfmig_dev *vmdev)
{
	u64 pages = min_t(u64, vmdev->st.npages,
			  VFMIG_MAX_CHUNK / VFMIG_PAGE_SIZE);

	return sizeof(struct vfmig_chunk_header) +
	       pages * (sizeof(__le64) + VFMIG_PAGE_SIZE);
}

/* A chunk failed its CRC, or came without one in a stream that has them. */
static int vfmig_resume_bad_crc(struct vfmig_resume_file *migf)
{
	vfmig_trace_file(migf, vfmig_error, VFMIG_ERR_CHECKSUM, -EBADMSG, 0);
	return -EBADMSG;
}

static int vfmig_resume_parse_header(struct vfmig_resume_file *migf)
{
	u64 size = le64_to_cpu(migf->hdr.size);
	u32 flags = le32_to_cpu(migf->hdr.flags);
	u32 tag = le32_to_cpu(migf->hdr.tag);

	vfmig_trace_file(migf, vfmig_resume_record, migf->rec_pos, size, tag,
			 flags);
	migf->rec_size = size;
	migf->rec_fill = 0;
	migf->rec_tag = tag;
	migf->rec_flags = flags;
	migf->hdr_fill = 0;

	/*
	 * A CHUNK_CRC record is for the next FW_DATA record; only records
	 * a target skips may come between.
	 */
	if (migf->crc_armed && (tag == VFMIG_RECORD_TAG_CHUNK_CRC ||
				tag == VFMIG_RECORD_TAG_STOP_COPY_SIZE ||
				tag == VFMIG_RECORD_TAG_MIG_UUID))
		return vfmig_resume_bad_crc(migf);

	switch (tag) {
	case VFMIG_RECORD_TAG_FW_DATA:
		if (size < sizeof(struct vfmig_chunk_header) ||
		    size > migf->max_record)
			return -EINVAL;
		if (migf->crc_seen &&
		    (!migf->crc_armed || le64_to_cpu(migf->crc.covered) !=
					 sizeof(migf->hdr) + size))
			return vfmig_resume_bad_crc(migf);
		if (migf->buf_cap < size) {
			kvfree(migf->buf);
			migf->buf_cap = 0;
			migf->buf = __vmalloc(size, GFP_KERNEL_ACCOUNT);
			if (!migf->buf)
				return -ENOMEM;
			migf->buf_cap = size;
			migf->peak_bytes = vfmig_vmalloc_footprint(size);
			WRITE_ONCE(migf->vmdev->mig_peak_bytes,
				   migf->peak_bytes);
		}
		migf->load_state = VFMIG_LOAD_READ_CHUNK;
		return 0;
	case VFMIG_RECORD_TAG_CHUNK_CRC:
		if (size != sizeof(migf->crc))
			return -EINVAL;
		migf->load_state = VFMIG_LOAD_READ_CRC;
		return 0;
	case VFMIG_RECORD_TAG_STOP_COPY_SIZE:
		if (size != sizeof(migf->stop_copy_size_le))
			return -EINVAL;
		migf->load_state = VFMIG_LOAD_READ_STOP_COPY_SIZE;
		return 0;
	case VFMIG_RECORD_TAG_MIG_UUID:
		if (size != sizeof(migf->mig_uuid))
			return -EINVAL;
		migf->load_state = VFMIG_LOAD_READ_MIG_UUID;
		return 0;
	default:
		if (!(flags & VFMIG_RECORD_F_OPTIONAL))
			return -EOPNOTSUPP;
		/* Skipped as it streams by: nothing is allocated for it. */
		migf->load_state = size ? VFMIG_LOAD_SKIP_RECORD :
					  VFMIG_LOAD_READ_HEADER;
		return 0;
	}
}

/* Consume up to @len bytes; returns bytes used or -errno. */
static ssize_t vfmig_resume_step(struct vfmig_resume_file *migf,
				 const char __user *ubuf, size_t len)
{
	u8 *dst;
	size_t n;
	int ret;

	switch (migf->load_state) {
	case VFMIG_LOAD_READ_HEADER:
		if (!migf->hdr_fill)
			migf->rec_pos = migf->pos;
		n = min_t(size_t, len, sizeof(migf->hdr) - migf->hdr_fill);
		if (copy_from_user((u8 *)&migf->hdr + migf->hdr_fill, ubuf, n))
			return -EFAULT;
		migf->hdr_fill += n;
		if (migf->hdr_fill == sizeof(migf->hdr)) {
			ret = vfmig_resume_parse_header(migf);
			if (ret)
				return ret;
		}
		return n;
	case VFMIG_LOAD_READ_STOP_COPY_SIZE:
		dst = (u8 *)&migf->stop_copy_size_le;
		break;
	case VFMIG_LOAD_READ_CRC:
		dst = (u8 *)&migf->crc;
		break;
	case VFMIG_LOAD_READ_MIG_UUID:
		dst = migf->mig_uuid.uuid;
		break;
	case VFMIG_LOAD_SKIP_RECORD:
		n = min_t(u64, len, migf->rec_size - migf->rec_fill);
		migf->rec_fill += n;
		if (migf->rec_fill == migf->rec_size)
			migf->load_state = VFMIG_LOAD_READ_HEADER;
		return n;
	case VFMIG_LOAD_READ_CHUNK:
		dst = migf->buf;
		break;
	default:
		return -EINVAL;
	}

	n = min_t(u64, len, migf->rec_size - migf->rec_fill);
	if (copy_from_user(dst + migf->rec_fill, ubuf, n))
		return -EFAULT;
	migf->rec_fill += n;
	if (migf->rec_fill < migf->rec_size)
		return n;

	migf->load_state = VFMIG_LOAD_READ_HEADER;
	if (migf->rec_tag == VFMIG_RECORD_TAG_STOP_COPY_SIZE) {
		migf->stop_copy_size = le64_to_cpu(migf->stop_copy_size_le);
		return n;
	}
	if (migf->rec_tag == VFMIG_RECORD_TAG_MIG_UUID) {
		/* Only reported: the target's half of the migration's identity. */
		vfmig_trace_mig_uuid(migf, VFMIG_FILE_RESUME,
				     migf->mig_uuid.uuid, migf->rec_pos);
		return n;
	}
	if (migf->rec_tag == VFMIG_RECORD_TAG_CHUNK_CRC) {
		if (le32_to_cpu(migf->crc.algo) != VFMIG_CRC_ALGO_CRC32C)
			return -EOPNOTSUPP;
		migf->crc_seen = true;
		migf->crc_armed = true;
		return n;
	}
	if (migf->crc_armed) {
		u32 crc = __crc32c_le(~0u, (const u8 *)&migf->hdr,
				      sizeof(migf->hdr));

		crc = ~__crc32c_le(crc, migf->buf, migf->rec_size);
		migf->crc_armed = false;
		if (crc != le32_to_cpu(migf->crc.crc32c))
			return vfmig_resume_bad_crc(migf);
	}
	ret = vfmig_fw_load(&migf->vmdev->fw, migf->buf, migf->rec_size);
	return ret ? ret : n;
}

/* Bytes of the record being gathered: consumed, not loaded yet. */
static u64 vfmig_resume_queued(struct vfmig_resume_file *migf)
{
	lockdep_assert_held(&migf->lock);
	if (migf->load_state == VFMIG_LOAD_READ_HEADER && !migf->hdr_fill)
		return 0;
	return migf->pos - migf->rec_pos;
}

static ssize_t vfmig_resume_write(struct file *filp, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	struct vfmig_resume_file *migf = filp->private_data;
	struct vfmig_dev *vmdev = migf->vmdev;
	u64 start = ktime_get_ns(), queued;
	loff_t start_pos;
	ssize_t done = 0, ret = 0;
	int gen;

	if (ppos)
		return -ESPIPE;

	mutex_lock(&vmdev->state_mutex);
	mutex_lock(&migf->lock);
	gen = vfmig_fw_interrupts(&vmdev->fw);
	start_pos = migf->pos;
	if (migf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	if (migf->error) {
		ret = migf->error;
		goto out;
	}
	while (done < len) {
		/*
		 * state_mutex is held across every LOAD of this write: give it
		 * up early (a short write) for a signal, a reset or a close.
		 */
		if (done && (signal_pending(current) ||
			     vfmig_fw_interrupts(&vmdev->fw) != gen))
			break;
		ret = vfmig_resume_step(migf, ubuf + done, len - done);
		if (ret < 0) {
			migf->error = ret;
			vfmig_trace_file(migf, vfmig_error,
					 VFMIG_ERR_RESUME_WRITE, ret, 0);
			break;
		}
		done += ret;
		migf->pos += ret;
		ret = 0;
	}
out:
	queued = vfmig_resume_queued(migf);
	mutex_unlock(&migf->lock);
	ret = ret ? ret : done;
	vfmig_trace_file(migf, vfmig_resume_write, start_pos, len, ret, queued,
			 ktime_get_ns() - start);
	vfmig_data_unlock(vmdev);
	return ret;
}

static int vfmig_resume_release(struct inode *inode, struct file *filp)
{
	struct vfmig_resume_file *migf = filp->private_data;
	struct vfmig_dev *vmdev = migf->vmdev;

	vfmig_trace_file(migf, vfmig_file, VFMIG_FILE_RESUME, false, migf->pos,
			 migf->peak_bytes);
	kvfree(migf->buf);
	mutex_destroy(&migf->lock);
	kfree(migf);
	vfio_put_device(&vmdev->vdev);
	return 0;
}

static const struct file_operations vfmig_resume_fops = {
	.owner = THIS_MODULE,
	.write = vfmig_resume_write,
	.release = vfmig_resume_release,
};

/* --- engine entry points (state_mutex held) ---------------------------- */

struct vfmig_resume_file *vfmig_resume_file_create(struct vfmig_dev *vmdev)
{
	struct vfmig_resume_file *migf;
	int ret;

	lockdep_assert_held(&vmdev->state_mutex);
	migf = kzalloc(sizeof(*migf), GFP_KERNEL_ACCOUNT);
	if (!migf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&migf->lock);
	migf->vmdev = vmdev;
	migf->max_record = vfmig_resume_max_record(vmdev);
	migf->tdev = vmdev->tdev;

	migf->filp = anon_inode_getfile("vfmig_resume", &vfmig_resume_fops,
					migf, O_WRONLY);
	if (IS_ERR(migf->filp)) {
		ret = PTR_ERR(migf->filp);
		mutex_destroy(&migf->lock);
		kfree(migf);
		return ERR_PTR(ret);
	}
	get_device(&vmdev->vdev.device);
	stream_open(migf->filp->f_inode, migf->filp);
	vfmig_fw_load_reset(&vmdev->fw);
	vfmig_trace_file(migf, vfmig_file, VFMIG_FILE_RESUME, true, 0, 0);
	return migf;
}

/* RESUMING -> STOP: the stream must have ended with the final image. */
int vfmig_resume_file_finish(struct vfmig_resume_file *migf)
{
	lockdep_assert_held(&migf->vmdev->state_mutex);
	if (migf->error)
		return migf->error;
	if (migf->load_state != VFMIG_LOAD_READ_HEADER || migf->hdr_fill ||
	    migf->crc_armed)
		return -EINVAL;
	return vfmig_fw_load_finish(&migf->vmdev->fw, migf->pos);
}

/*
 * The file leaves the device: free its buffer now (a VMM may keep the fd
 * for as long as it likes), later writes fail with -ENODEV.
 */
void vfmig_resume_file_disable(struct vfmig_resume_file *migf)
{
	lockdep_assert_held(&migf->vmdev->state_mutex);
	/* Writers hold state_mutex too, so none is running now. */
	migf->disabled = true;
	kvfree(migf->buf);
	migf->buf = NULL;
	migf->buf_cap = 0;
	fput(migf->filp);
}

struct file *vfmig_resume_file_get(struct vfmig_resume_file *migf)
{
	return get_file(migf->filp);
}
