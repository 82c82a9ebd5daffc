/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfmig: a VFIO live-migration driver with PRE_COPY over an emulated device.
 *
 * Parts (see docs/architecture.md):
 *   main.c       device front: mdev parent, vfio_device ops, config space,
 *                BARs, sysfs knobs
 *   devstate.c   the device's memory, dirty tracking, workload, digest
 *   fw.c         firmware model: the command interface to the device
 *   mig.c        migration engine: FSM stepping, reset, data size
 *   mig_save.c   save file: chunk queue, read/poll, precopy info
 *   mig_resume.c resume file: record parser, one LOAD per chunk
 * Calls go one way: main.c -> mig.c -> mig_save.c/mig_resume.c -> fw.c ->
 * devstate.c.
 *
 * Locking, outermost first:
 *   vfmig_dev.state_mutex    FSM, file creation/teardown, precopy info,
 *                            resume writes, knob changes
 *   vfmig_save_file.lock     one reader at a time (copy_to_user under it)
 *   vfmig_save_file.list_lock  queue and counters (spinlock, also taken by
 *                            the firmware's SAVE work)
 *   vfmig_fw.lock            firmware bookkeeping (spinlock, innermost)
 * reset_lock (spinlock) only guards deferred_reset. Nothing under
 * save_file.lock takes state_mutex. The BAR2 fault handlers take only
 * vfmig_state.wp_lock (under mmap_lock), which nests no other vfmig lock,
 * so mmap_lock never nests the wrong way. A save file's SAVE is started
 * under its list_lock (vfmig_fw.lock nests inside), so it cannot
 * interleave with the file being disabled.
 */
#ifndef VFMIG_H
#define VFMIG_H

#include <linux/mdev.h>
#include <linux/mutex.h>
#include <linux/pci_regs.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "vfmig_abi.h"
#include "devstate.h"
#include "fw.h"

#define VFMIG_CONFIG_SIZE	PCI_CFG_SPACE_SIZE
#define VFMIG_DEFAULT_CHUNK	SZ_1M
#define VFMIG_MIN_CHUNK		SZ_64K
#define VFMIG_MAX_CHUNK		SZ_16M
#define VFMIG_DEFAULT_BUDGET	SZ_8M

struct vfmig_save_file;
struct vfmig_resume_file;

struct vfmig_dev {
	struct vfio_device vdev;
	struct mdev_device *mdevice;
	struct vfmig_trace_dev tdev;	/* identity passed to tracepoints */

	/* Device front: config space and registers. */
	struct mutex ops_lock;
	u8 vconfig[VFMIG_CONFIG_SIZE];
	u32 bar_mask[PCI_STD_NUM_BARS];

	struct vfmig_state st;
	struct vfmig_fw fw;

	/* Migration; everything below is under state_mutex. */
	struct mutex state_mutex;
	enum vfio_device_mig_state mig_state;
	struct vfmig_save_file *saving_migf;
	struct vfmig_resume_file *resuming_migf;
	u32 chunk_size;
	u64 mig_budget;
	u64 mig_peak_bytes;		/* of the latest migration file */
	bool opened;

	/* See vfmig_reset_done(): a reset must not wait for state_mutex. */
	spinlock_t reset_lock;
	bool deferred_reset;
	struct work_struct reset_work;	/* deferred reset left by data files */
};

static inline struct vfmig_dev *to_vfmig(struct vfio_device *vdev)
{
	return container_of(vdev, struct vfmig_dev, vdev);
}

/*
 * Trace @event of a data file with the device's state at that moment as
 * the identity's state: files are used from several contexts at once, so
 * the state goes into a copy, built only when the event is on.
 */
#define vfmig_trace_file(migf, event, ...)				\
do {									\
	if (trace_##event##_enabled()) {				\
		typeof(migf) __migf = (migf);				\
		struct vfmig_trace_dev __td = __migf->tdev;		\
									\
		__td.state = READ_ONCE(__migf->vmdev->mig_state);	\
		trace_##event(&__td, ##__VA_ARGS__);			\
	}								\
} while (0)

/* vfmig_mig_uuid of a data file, with the clock pair read together. */
#define vfmig_trace_mig_uuid(migf, kind, uuid, pos)			\
do {									\
	if (trace_vfmig_mig_uuid_enabled()) {				\
		u64 __mono = ktime_get_ns();				\
									\
		vfmig_trace_file(migf, vfmig_mig_uuid, kind, uuid, pos,	\
				 __mono, ktime_get_clocktai_ns());	\
	}								\
} while (0)

/*
 * Data files take state_mutex for their own work (resume writes,
 * PRECOPY_INFO) and release it through here: a reset that came meanwhile
 * is left to the FSM's reset work, so they never call back into mig.c.
 */
static inline void vfmig_data_unlock(struct vfmig_dev *vmdev)
{
	bool pending;

	spin_lock(&vmdev->reset_lock);
	pending = vmdev->deferred_reset;
	mutex_unlock(&vmdev->state_mutex);
	spin_unlock(&vmdev->reset_lock);
	if (pending)
		schedule_work(&vmdev->reset_work);
}

/*
 * Bytes a vmalloc() of @size really takes: whole pages plus its page
 * array. The data files charge buffers at this size.
 */
static inline u64 vfmig_vmalloc_footprint(u64 size)
{
	return PAGE_ALIGN(size) +
	       kmalloc_size_roundup((PAGE_ALIGN(size) >> PAGE_SHIFT) *
				    sizeof(struct page *));
}

/* mig.c */
extern const struct vfio_migration_ops vfmig_migration_ops;
void vfmig_mig_init(struct vfmig_dev *vmdev);
void vfmig_state_mutex_lock(struct vfmig_dev *vmdev);
void vfmig_state_mutex_unlock(struct vfmig_dev *vmdev);
void vfmig_reset_done(struct vfmig_dev *vmdev);
void vfmig_mig_open(struct vfmig_dev *vmdev);
void vfmig_mig_close(struct vfmig_dev *vmdev);

/* mig_save.c */
int vfmig_save_query_bytes(struct vfmig_dev *vmdev, u32 flags, u64 *bytes,
			   u64 *full);
struct vfmig_save_file *vfmig_save_file_create(struct vfmig_dev *vmdev,
					       bool precopy);
int vfmig_save_file_stop_copy(struct vfmig_save_file *migf);
void vfmig_save_file_disable(struct vfmig_save_file *migf);
bool vfmig_save_file_final_inc(struct vfmig_save_file *migf);
struct file *vfmig_save_file_get(struct vfmig_save_file *migf);

/* mig_resume.c */
struct vfmig_resume_file *vfmig_resume_file_create(struct vfmig_dev *vmdev);
int vfmig_resume_file_finish(struct vfmig_resume_file *migf);
void vfmig_resume_file_disable(struct vfmig_resume_file *migf);
struct file *vfmig_resume_file_get(struct vfmig_resume_file *migf);

#endif /* VFMIG_H */
