/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The emulated device's internal state: memory pages, dirty tracking,
 * generation counter, digest and the built-in workload that dirties it.
 */
#ifndef VFMIG_DEVSTATE_H
#define VFMIG_DEVSTATE_H

#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/random.h>

struct vfmig_state {
	struct page **pages;
	unsigned long npages;
	u64 size;
	/*
	 * A bit is set (atomically, after the page was written) on every
	 * write; SAVE clears it (atomically, before copying the page). So a
	 * write that races a copy is always sent again.
	 */
	unsigned long *dirty;
	/*
	 * Pages a userspace mapping may currently write without faulting.
	 * SAVE clears the page's dirty bit, then revokes that write access
	 * (vfmig_state_revoke_write()), then copies the page: a write after
	 * the revoke faults and sets the dirty bit again. Set and cleared
	 * under wp_lock, see vfmig_state_mmap_fault().
	 */
	unsigned long *mapped_wr;
	/*
	 * Serializes making a BAR2 PTE writable (with its bookkeeping) against
	 * revoking write access. Taken under mmap_lock (faults); takes the
	 * mapping's i_mmap_rwsem and page table locks.
	 */
	struct mutex wp_lock;
	struct address_space *mapping;	/* of the device's BAR2 mmaps */
	u64 mmap_offset;		/* file offset of BAR2 */
	atomic64_t generation;
	/*
	 * Pages [precopy_pages, npages) are the state that exists only once
	 * the device is suspended (post_suspend_bytes): SUSPEND(initiator)
	 * writes them, images cut while the device may run never carry them,
	 * the final image always does. Changed only under the device's
	 * state_mutex while no migration file exists.
	 */
	unsigned long precopy_pages;
	u64 suspends;			/* SUSPEND(initiator) count */

	/* workload */
	struct delayed_work work;
	struct mutex *work_lock;	/* guards work_active: the device's state_mutex */
	bool work_active;
	u32 dirty_rate;			/* pages per second, <= VFMIG_DIRTY_RATE_MAX */
	u32 dirty_pattern;		/* enum vfmig_dirty_pattern */
	u32 hotset_pages;
	u64 carry_ns;			/* fraction of a page owed */
	u64 last_ns;
	atomic64_t dirtied;
	struct rnd_state rnd;
};

int vfmig_state_init(struct vfmig_state *st, u64 size,
		     u32 seed, struct mutex *work_lock);
void vfmig_state_free(struct vfmig_state *st);

void vfmig_state_mark_dirty(struct vfmig_state *st, unsigned long pgidx);
u32 vfmig_state_digest(struct vfmig_state *st);
int vfmig_state_set_post_suspend(struct vfmig_state *st, u64 bytes);
void vfmig_state_post_suspend(struct vfmig_state *st);
void vfmig_state_revoke_write(struct vfmig_state *st, unsigned long pgidx);

vm_fault_t vfmig_state_mmap_fault(struct vfmig_state *st, struct vm_fault *vmf,
				  unsigned long pgidx);
vm_fault_t vfmig_state_mmap_mkwrite(struct vfmig_state *st,
				    struct vm_fault *vmf, unsigned long pgidx);

ssize_t vfmig_state_rw(struct vfmig_state *st, char __user *ubuf,
		       size_t count, u64 off, bool write);

u32 vfmig_state_set_rate(struct vfmig_state *st, u64 pages_per_sec);
void vfmig_workload_start(struct vfmig_state *st);
void vfmig_workload_stop(struct vfmig_state *st);

int vfmig_workload_module_init(void);
void vfmig_workload_module_exit(void);

#endif /* VFMIG_DEVSTATE_H */
