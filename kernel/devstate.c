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
/* Bytes of fresh data the workload writes into a page. */
#define VFMIG_WORK_WRITE_BYTES	64

static void vfmig_workload_fn(struct work_struct *work);

int vfmig_state_init(struct vfmig_state *st, u64 size, u32 seed)
{
	unsigned long i;

	INIT_DELAYED_WORK(&st->work, vfmig_workload_fn);
	st->size = size;
	st->npages = size >> PAGE_SHIFT;
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
}

void vfmig_state_mark_dirty(struct vfmig_state *st, unsigned long pgidx)
{
	/* set_bit() after the data write: pairs with test_and_clear_bit(). */
	smp_mb__before_atomic();
	set_bit(pgidx, st->dirty);
	atomic64_inc(&st->generation);
}

unsigned long vfmig_state_dirty_pages(struct vfmig_state *st)
{
	return bitmap_weight(st->dirty, st->npages);
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
 * Take write access to @pgidx away from userspace mappings so that the next
 * write through a mapping faults (page_mkwrite) and marks the page dirty.
 */
void vfmig_state_revoke_write(struct vfmig_state *st, unsigned long pgidx)
{
	/* Plain test first: most pages were never mapped writable. */
	if (!test_bit(pgidx, st->mapped_wr) ||
	    !test_and_clear_bit(pgidx, st->mapped_wr) || !st->mapping)
		return;
	unmap_mapping_range(st->mapping,
			    st->mmap_offset + ((u64)pgidx << PAGE_SHIFT),
			    PAGE_SIZE, 1);
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
	if (rate) {
		n = div64_u64(owed_ns * rate, NSEC_PER_SEC);
		st->carry_ns = owed_ns - div64_u64(n * NSEC_PER_SEC, rate);
	} else {
		st->carry_ns = 0;
	}
	/* Never fall behind by more than a second's worth after a stall. */
	n = min_t(u64, n, rate);

	for (i = 0; i < n; i++) {
		unsigned long pgidx = vfmig_workload_pick(st);
		u32 off = prandom_u32_state(&st->rnd) %
			  (PAGE_SIZE / VFMIG_WORK_WRITE_BYTES);
		u8 *p = kmap_local_page(st->pages[pgidx]);

		prandom_bytes_state(&st->rnd, p + off * VFMIG_WORK_WRITE_BYTES,
				    VFMIG_WORK_WRITE_BYTES);
		kunmap_local(p);
		vfmig_state_mark_dirty(st, pgidx);
	}
	atomic64_add(n, &st->dirtied);
	schedule_delayed_work(&st->work,
			      msecs_to_jiffies(VFMIG_WORK_TICK_MS));
}

/* Caller holds the device's state_mutex. */
void vfmig_workload_start(struct vfmig_state *st)
{
	if (st->work_active)
		return;
	st->work_active = true;
	st->last_ns = ktime_get_ns();
	st->carry_ns = 0;
	schedule_delayed_work(&st->work, msecs_to_jiffies(VFMIG_WORK_TICK_MS));
}

/*
 * Caller holds the device's state_mutex. Returns with the workload fully
 * stopped: no page changes after this, which is what "suspended" means.
 */
void vfmig_workload_stop(struct vfmig_state *st)
{
	if (!st->work_active)
		return;
	st->work_active = false;
	cancel_delayed_work_sync(&st->work);
}
