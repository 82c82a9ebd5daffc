// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig device state: the pages behind BAR2, dirty tracking and the
 * workload that keeps dirtying them while the device runs.
 */
#include <linux/bitmap.h>
#include <linux/crc32.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfmig_abi.h"
#include "devstate.h"

/* The workload ticks this often; each tick writes rate * elapsed pages. */
#define VFMIG_WORK_TICK_MS	10
/*
 * A late tick catches up on at most this much time; the rest is dropped.
 * With the rate bounded by VFMIG_DIRTY_RATE_MAX, one tick writes at most
 * VFMIG_DIRTY_RATE_MAX / 25 pages (about 10k).
 */
#define VFMIG_WORK_MAX_OWED_NS	(4 * VFMIG_WORK_TICK_MS * NSEC_PER_MSEC)
/* Pages written between two cond_resched() calls. */
#define VFMIG_WORK_BATCH	64
/* Second word of a page written at SUSPEND (see vfmig_state_post_suspend()). */
#define VFMIG_POST_SUSPEND_MAGIC	0x444e505355534d47ULL	/* "GMSUSPND" */
/* Bytes of fresh data the workload writes into a page. */
#define VFMIG_WORK_WRITE_BYTES	64

/* The driver's own: the workload neither hogs nor waits for system_wq. */
static struct workqueue_struct *vfmig_workload_wq;

static void vfmig_workload_fn(struct work_struct *work);

int vfmig_state_init(struct vfmig_state *st, u64 size, u32 seed,
		     struct mutex *work_lock)
{
	unsigned long i;

	INIT_DELAYED_WORK(&st->work, vfmig_workload_fn);
	st->work_lock = work_lock;
	mutex_init(&st->wp_lock);
	st->size = size;
	st->npages = size >> PAGE_SHIFT;
	st->precopy_pages = st->npages;
	st->pages = kvcalloc(st->npages, sizeof(*st->pages), GFP_KERNEL);
	if (!st->pages)
		return -ENOMEM;
	st->dirty = bitmap_zalloc(st->npages, GFP_KERNEL);
	st->mapped_wr = bitmap_zalloc(st->npages, GFP_KERNEL);
	if (!st->dirty || !st->mapped_wr)
		goto err_free;

	for (i = 0; i < st->npages; i++) {
		u64 *p;

		st->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!st->pages[i])
			goto err_free;
		/* A recognisable, page-unique pattern: the page's index. */
		p = kmap_local_page(st->pages[i]);
		p[0] = i;
		p[1] = seed;
		kunmap_local(p);
		if (!(i % 4096))
			cond_resched();
	}
	atomic64_set(&st->generation, 0);
	atomic64_set(&st->dirtied, 0);
	prandom_seed_state(&st->rnd, seed);
	st->hotset_pages = min_t(unsigned long, 64, st->npages);
	return 0;

err_free:
	vfmig_state_free(st);
	return -ENOMEM;
}

void vfmig_state_free(struct vfmig_state *st)
{
	unsigned long i;

	if (st->pages) {
		for (i = 0; i < st->npages; i++)
			if (st->pages[i])
				__free_page(st->pages[i]);
	}
	kvfree(st->pages);
	bitmap_free(st->dirty);
	bitmap_free(st->mapped_wr);
	st->pages = NULL;
	st->dirty = NULL;
	st->mapped_wr = NULL;
	mutex_destroy(&st->wp_lock);
}

void vfmig_state_mark_dirty(struct vfmig_state *st, unsigned long pgidx)
{
	/* set_bit() after the data write: pairs with test_and_clear_bit(). */
	smp_mb__before_atomic();
	set_bit(pgidx, st->dirty);
	atomic64_inc(&st->generation);
}

u32 vfmig_state_digest(struct vfmig_state *st)
{
	u32 crc = ~0u;
	unsigned long i;

	for (i = 0; i < st->npages; i++) {
		void *p = kmap_local_page(st->pages[i]);

		crc = __crc32c_le(crc, p, PAGE_SIZE);
		kunmap_local(p);
		if (!(i % 1024))
			cond_resched();
	}
	return ~crc;
}

/*
 * Make the last @bytes (whole pages, at most the state) state that exists
 * only after SUSPEND. The caller holds the device's state_mutex and no
 * migration file exists.
 */
int vfmig_state_set_post_suspend(struct vfmig_state *st, u64 bytes)
{
	if (bytes > st->size || !IS_ALIGNED(bytes, PAGE_SIZE))
		return -EINVAL;
	WRITE_ONCE(st->precopy_pages, st->npages - (bytes >> PAGE_SHIFT));
	return 0;
}

/*
 * SUSPEND(initiator): the device writes the state that exists only now,
 * as a firmware serialises the objects of a quiesced function. Each
 * post-suspend page gets its index, a marker and the suspend count in its
 * first words (so its content differs from any earlier one) and is dirty.
 * The workload is stopped: nothing else writes the pages meanwhile.
 */
void vfmig_state_post_suspend(struct vfmig_state *st)
{
	unsigned long i, first = READ_ONCE(st->precopy_pages);
	u64 seq = ++st->suspends;

	for (i = first; i < st->npages; i++) {
		u64 *p = kmap_local_page(st->pages[i]);

		p[0] = i;
		p[1] = VFMIG_POST_SUSPEND_MAGIC;
		p[2] = seq;
		kunmap_local(p);
		vfmig_state_mark_dirty(st, i);
		if (!((i - first + 1) % 1024))
			cond_resched();
	}
}

/*
 * BAR2 mappings. Correct by construction: a PTE of a BAR2 mapping becomes
 * writable only under wp_lock, after mapped_wr and the dirty bit were set
 * (a write fault on a missing PTE, or pfn_mkwrite upgrading a read-only
 * one); write access is revoked only under wp_lock, by clearing mapped_wr
 * and then zapping every PTE of the page. So whatever the interleaving, a
 * writable PTE always has mapped_wr set, and the SAVE that clears the
 * page's dirty bit either zaps that PTE before it copies (a later write
 * faults and dirties the page again) or runs before the bookkeeping (the
 * page stays dirty and the next image takes it). Read faults install
 * read-only PTEs without the lock: they never let a write through.
 *
 * pfn_mkwrite does not let core mm upgrade the PTE after it returns:
 * between that return and the upgrade, a revoke could zap the PTE and a
 * read fault reinstall an identical read-only one, and the upgrade's
 * pte_same() check would then pass with mapped_wr and the dirty bit
 * clear. It zaps and reinstalls the PTE itself, under the lock.
 */
static vm_fault_t vfmig_state_map_writable(struct vfmig_state *st,
					   struct vm_fault *vmf,
					   unsigned long pgidx)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & PAGE_MASK;
	vm_fault_t ret;

	lockdep_assert_held(&st->wp_lock);
	set_bit(pgidx, st->mapped_wr);
	/* mark_dirty orders the mapped_wr bit before the dirty bit. */
	vfmig_state_mark_dirty(st, pgidx);
	/* Only a missing PTE is replaced: drop the read-only one, if any. */
	if (vmf->flags & FAULT_FLAG_MKWRITE)
		zap_vma_ptes(vma, addr, PAGE_SIZE);
	/*
	 * If a racing read fault put a read-only PTE back in between, this
	 * leaves it: the write faults again and comes back here.
	 */
	ret = vmf_insert_pfn_prot(vma, addr, page_to_pfn(st->pages[pgidx]),
				  vm_get_page_prot(vma->vm_flags));
	return ret;
}

vm_fault_t vfmig_state_mmap_fault(struct vfmig_state *st, struct vm_fault *vmf,
				  unsigned long pgidx)
{
	vm_fault_t ret;

	if (pgidx >= st->npages)
		return VM_FAULT_SIGBUS;
	/* vm_page_prot is write-protected: the VMA has pfn_mkwrite. */
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		return vmf_insert_pfn(vmf->vma, vmf->address & PAGE_MASK,
				      page_to_pfn(st->pages[pgidx]));
	mutex_lock(&st->wp_lock);
	ret = vfmig_state_map_writable(st, vmf, pgidx);
	mutex_unlock(&st->wp_lock);
	return ret;
}

vm_fault_t vfmig_state_mmap_mkwrite(struct vfmig_state *st,
				    struct vm_fault *vmf, unsigned long pgidx)
{
	vm_fault_t ret;

	if (pgidx >= st->npages)
		return VM_FAULT_SIGBUS;
	mutex_lock(&st->wp_lock);
	ret = vfmig_state_map_writable(st, vmf, pgidx);
	mutex_unlock(&st->wp_lock);
	/* NOPAGE: core mm must not upgrade the PTE on its own (see above). */
	return ret ? ret : VM_FAULT_NOPAGE;
}

/*
 * Take write access to @pgidx away from userspace mappings so that the next
 * write through a mapping faults and marks the page dirty. The caller (a
 * SAVE) has cleared the page's dirty bit and copies the page after this.
 */
void vfmig_state_revoke_write(struct vfmig_state *st, unsigned long pgidx)
{
	/*
	 * Order the caller's dirty-bit clear before the mapped_wr test; pairs
	 * with mark_dirty's barrier after set_bit(mapped_wr). If the test
	 * misses a mapped_wr set by a concurrent fault, that fault's dirty
	 * bit came after the clear: the page goes out in the next image,
	 * whose revoke sees mapped_wr. Most pages were never mapped writable:
	 * they skip the lock.
	 */
	smp_mb();
	if (!test_bit(pgidx, st->mapped_wr) || !st->mapping)
		return;
	mutex_lock(&st->wp_lock);
	if (test_and_clear_bit(pgidx, st->mapped_wr))
		unmap_mapping_range(st->mapping,
				    st->mmap_offset + ((u64)pgidx << PAGE_SHIFT),
				    PAGE_SIZE, 1);
	mutex_unlock(&st->wp_lock);
}

ssize_t vfmig_state_rw(struct vfmig_state *st, char __user *ubuf,
		       size_t count, u64 off, bool write)
{
	size_t done = 0;

	if (off >= st->size)
		return -EINVAL;
	count = min_t(u64, count, st->size - off);

	while (done < count) {
		unsigned long pgidx = (off + done) >> PAGE_SHIFT;
		size_t pgoff = offset_in_page(off + done);
		size_t n = min_t(size_t, count - done, PAGE_SIZE - pgoff);
		void *p = kmap_local_page(st->pages[pgidx]);
		unsigned long left;

		if (write)
			left = copy_from_user(p + pgoff, ubuf + done, n);
		else
			left = copy_to_user(ubuf + done, p + pgoff, n);
		kunmap_local(p);
		if (write && left != n)
			vfmig_state_mark_dirty(st, pgidx);
		if (left) {
			done += n - left;
			return done ? done : -EFAULT;
		}
		done += n;
	}
	return done;
}

static unsigned long vfmig_workload_pick(struct vfmig_state *st)
{
	u32 span = st->npages;

	if (st->dirty_pattern == VFMIG_DIRTY_HOTSET)
		span = clamp_t(u32, st->hotset_pages, 1, st->npages);
	return prandom_u32_state(&st->rnd) % span;
}

static void vfmig_workload_fn(struct work_struct *work)
{
	struct vfmig_state *st = container_of(to_delayed_work(work),
					      struct vfmig_state, work);
	u64 now = ktime_get_ns();
	u64 owed_ns = st->carry_ns + (now - st->last_ns);
	u32 rate = READ_ONCE(st->dirty_rate);
	u64 n = 0, i;

	st->last_ns = now;
	/* Never catch up on more than a few ticks after a stall. */
	owed_ns = min_t(u64, owed_ns, VFMIG_WORK_MAX_OWED_NS);
	if (rate) {
		n = div64_u64(owed_ns * rate, NSEC_PER_SEC);
		st->carry_ns = owed_ns - div64_u64(n * NSEC_PER_SEC, rate);
	} else {
		st->carry_ns = 0;
	}

	for (i = 0; i < n; i++) {
		unsigned long pgidx = vfmig_workload_pick(st);
		u32 off = prandom_u32_state(&st->rnd) %
			  (PAGE_SIZE / VFMIG_WORK_WRITE_BYTES);
		u8 *p = kmap_local_page(st->pages[pgidx]);

		prandom_bytes_state(&st->rnd, p + off * VFMIG_WORK_WRITE_BYTES,
				    VFMIG_WORK_WRITE_BYTES);
		kunmap_local(p);
		vfmig_state_mark_dirty(st, pgidx);
		if (!((i + 1) % VFMIG_WORK_BATCH)) {
			atomic64_add(VFMIG_WORK_BATCH, &st->dirtied);
			cond_resched();
		}
	}
	atomic64_add(n % VFMIG_WORK_BATCH, &st->dirtied);
	queue_delayed_work(vfmig_workload_wq, &st->work,
			   msecs_to_jiffies(VFMIG_WORK_TICK_MS));
}

/*
 * Set the workload's rate, clamped to VFMIG_DIRTY_RATE_MAX; returns the rate
 * in force. A change takes effect at the next tick.
 */
u32 vfmig_state_set_rate(struct vfmig_state *st, u64 pages_per_sec)
{
	u32 rate = min_t(u64, pages_per_sec, VFMIG_DIRTY_RATE_MAX);

	WRITE_ONCE(st->dirty_rate, rate);
	return rate;
}

void vfmig_workload_start(struct vfmig_state *st)
{
	lockdep_assert_held(st->work_lock);
	if (st->work_active)
		return;
	st->work_active = true;
	st->last_ns = ktime_get_ns();
	st->carry_ns = 0;
	queue_delayed_work(vfmig_workload_wq, &st->work,
			   msecs_to_jiffies(VFMIG_WORK_TICK_MS));
}

/*
 * Returns with the workload fully stopped: no page changes after this,
 * which is what "suspended" means.
 */
void vfmig_workload_stop(struct vfmig_state *st)
{
	lockdep_assert_held(st->work_lock);
	if (!st->work_active)
		return;
	st->work_active = false;
	cancel_delayed_work_sync(&st->work);
}

int vfmig_workload_module_init(void)
{
	vfmig_workload_wq = alloc_workqueue("vfmig_workload", WQ_UNBOUND, 0);
	return vfmig_workload_wq ? 0 : -ENOMEM;
}

void vfmig_workload_module_exit(void)
{
	destroy_workqueue(vfmig_workload_wq);
}
