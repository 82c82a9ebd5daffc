// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfmig device front: the mdev parent, the vfio_device (config space, BAR0
 * registers, BAR2 state window with mmap, reset), the sysfs knobs and the
 * firmware model's test controls in debugfs.
 * It reaches the migration engine only through mig.c's entry points.
 */
#include <linux/debugfs.h>
#include <linux/idr.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "vfmig.h"
#include "trace.h"

#define VFMIG_NAME		"vfmig"
#define VFMIG_REGION_MASK	((1ULL << VFMIG_REGION_SHIFT) - 1)
#define VFMIG_REGION_OFFSET(i)	((u64)(i) << VFMIG_REGION_SHIFT)

static unsigned int max_state_mb;
module_param(max_state_mb, uint, 0444);
MODULE_PARM_DESC(max_state_mb,
		 "Memory all vfmig devices may use for state, MiB (default: half of RAM)");

static struct vfmig_parent {
	struct device dev;
	struct class *class;
	struct mdev_parent parent;
	atomic64_t avail_bytes;
	struct ida ids;
} vfmig_parent;

struct vfmig_type {
	struct mdev_type type;
	u64 size;
};

/* The mdev core prefixes the driver name: sysfs shows "vfmig-16M". */
static struct vfmig_type vfmig_types[] = {
	{ .type = { .sysfs_name = "4M", .pretty_name = "vfmig-4M" },
	  .size = SZ_4M },
	{ .type = { .sysfs_name = "16M", .pretty_name = "vfmig-16M" },
	  .size = SZ_16M },
	{ .type = { .sysfs_name = "64M", .pretty_name = "vfmig-64M" },
	  .size = SZ_64M },
	{ .type = { .sysfs_name = "256M", .pretty_name = "vfmig-256M" },
	  .size = SZ_256M },
	{ .type = { .sysfs_name = "1G", .pretty_name = "vfmig-1G" },
	  .size = SZ_1G },
};

static struct mdev_type *vfmig_mdev_types[ARRAY_SIZE(vfmig_types)];

static const char *const vfmig_state_names[] = {
	[VFIO_DEVICE_STATE_ERROR] = "ERROR",
	[VFIO_DEVICE_STATE_STOP] = "STOP",
	[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
	[VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
	[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
};

/* --- config space ------------------------------------------------------ */

static void vfmig_build_config(struct vfmig_dev *vmdev)
{
	u8 *cfg = vmdev->vconfig;
	u64 bar2_mask = ~(vmdev->st.size - 1);

	memset(cfg, 0, VFMIG_CONFIG_SIZE);
	*(__le16 *)&cfg[PCI_VENDOR_ID] = cpu_to_le16(VFMIG_PCI_VENDOR_ID);
	*(__le16 *)&cfg[PCI_DEVICE_ID] = cpu_to_le16(VFMIG_PCI_DEVICE_ID);
	cfg[PCI_REVISION_ID] = VFMIG_ABI_VERSION;
	cfg[PCI_CLASS_PROG] = 0;
	*(__le16 *)&cfg[PCI_CLASS_DEVICE] =
		cpu_to_le16(PCI_CLASS_ACCELERATOR_PROCESSING);
	cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	*(__le32 *)&cfg[PCI_BASE_ADDRESS_0] =
		cpu_to_le32(PCI_BASE_ADDRESS_MEM_TYPE_32);
	*(__le32 *)&cfg[PCI_BASE_ADDRESS_2] =
		cpu_to_le32(PCI_BASE_ADDRESS_MEM_TYPE_64 |
			    PCI_BASE_ADDRESS_MEM_PREFETCH);
	*(__le16 *)&cfg[PCI_SUBSYSTEM_VENDOR_ID] =
		cpu_to_le16(VFMIG_PCI_VENDOR_ID);
	*(__le16 *)&cfg[PCI_SUBSYSTEM_ID] = cpu_to_le16(VFMIG_PCI_DEVICE_ID);

	/* Writable BAR bits; the low bits keep the type flags. */
	vmdev->bar_mask[0] = ~(VFMIG_REGS_SIZE - 1);
	vmdev->bar_mask[2] = lower_32_bits(bar2_mask);
	vmdev->bar_mask[3] = upper_32_bits(bar2_mask);
}

static void vfmig_config_write(struct vfmig_dev *vmdev, u32 off, const u8 *val,
			       u32 n)
{
	u8 *cfg = vmdev->vconfig;
	u32 i, bar;

	for (i = 0; i < n; i++) {
		u32 o = off + i;

		if (o == PCI_COMMAND)
			cfg[o] = val[i] & (PCI_COMMAND_MEMORY |
					   PCI_COMMAND_MASTER);
		else if (o == PCI_COMMAND + 1 || o == PCI_INTERRUPT_LINE ||
			 o == PCI_CACHE_LINE_SIZE || o == PCI_LATENCY_TIMER)
			cfg[o] = o == PCI_COMMAND + 1 ? 0 : val[i];
		else if (o >= PCI_BASE_ADDRESS_0 && o < PCI_BASE_ADDRESS_5 + 4)
			cfg[o] = val[i];
	}
	/* Apply BAR size masks, as a real device's decoders would. */
	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		u32 o = PCI_BASE_ADDRESS_0 + bar * 4;
		__le32 *reg = (__le32 *)&cfg[o];
		u32 v = le32_to_cpu(*reg), flags = 0;

		if (o + 4 <= off || o >= off + n)
			continue;
		if (bar == 0)
			flags = PCI_BASE_ADDRESS_MEM_TYPE_32;
		else if (bar == 2)
			flags = PCI_BASE_ADDRESS_MEM_TYPE_64 |
				PCI_BASE_ADDRESS_MEM_PREFETCH;
		if (bar == 0 || bar == 2)
			v &= vmdev->bar_mask[bar] & PCI_BASE_ADDRESS_MEM_MASK;
		else
			v &= vmdev->bar_mask[bar];
		*reg = cpu_to_le32(v | flags);
	}
}

/* --- BAR0 registers ---------------------------------------------------- */

/*
 * The register file is a run of 32-bit registers and naturally aligned
 * 64-bit ones. A 4-byte access to either half of a 64-bit register sees that
 * half; an 8-byte access at an 8-byte aligned offset sees a 64-bit register
 * whole (one read, so both halves belong together) or the two 32-bit
 * registers at off (low) and off + 4 (high), as hardware would.
 */
static bool vfmig_reg_is64(u32 off)
{
	switch (round_down(off, 8)) {
	case VFMIG_REG_STATE_SIZE:
	case VFMIG_REG_GENERATION:
	case VFMIG_REG_DIRTIED:
		return true;
	}
	return false;
}

static u64 vfmig_reg64_read(struct vfmig_dev *vmdev, u32 off)
{
	struct vfmig_state *st = &vmdev->st;

	switch (off) {
	case VFMIG_REG_STATE_SIZE:
		return st->size;
	case VFMIG_REG_GENERATION:
		return atomic64_read(&st->generation);
	case VFMIG_REG_DIRTIED:
		return atomic64_read(&st->dirtied);
	}
	return 0;
}

static u32 vfmig_reg32_read(struct vfmig_dev *vmdev, u32 off)
{
	struct vfmig_state *st = &vmdev->st;
	u64 v;

	if (vfmig_reg_is64(off)) {
		v = vfmig_reg64_read(vmdev, round_down(off, 8));
		return off % 8 ? upper_32_bits(v) : lower_32_bits(v);
	}
	switch (off) {
	case VFMIG_REG_MAGIC:
		return VFMIG_REGS_MAGIC_VALUE;
	case VFMIG_REG_VERSION:
		return VFMIG_ABI_VERSION;
	case VFMIG_REG_DIGEST:
		return vfmig_state_digest(st);
	case VFMIG_REG_DIRTY_RATE:
		return READ_ONCE(st->dirty_rate);
	case VFMIG_REG_DIRTY_PATTERN:
		return READ_ONCE(st->dirty_pattern);
	case VFMIG_REG_HOTSET_PAGES:
		return READ_ONCE(st->hotset_pages);
	}
	return 0;	/* reserved registers read as zero */
}

static u64 vfmig_regs_read(struct vfmig_dev *vmdev, u32 off, u32 size)
{
	if (size == 4)
		return vfmig_reg32_read(vmdev, off);
	if (vfmig_reg_is64(off))
		return vfmig_reg64_read(vmdev, off);
	return vfmig_reg32_read(vmdev, off) |
	       (u64)vfmig_reg32_read(vmdev, off + 4) << 32;
}

static int vfmig_set_pattern(struct vfmig_state *st, u32 pattern)
{
	if (pattern != VFMIG_DIRTY_UNIFORM && pattern != VFMIG_DIRTY_HOTSET)
		return -EINVAL;
	WRITE_ONCE(st->dirty_pattern, pattern);
	return 0;
}

static int vfmig_set_hotset(struct vfmig_state *st, u64 pages)
{
	if (!pages || pages > st->npages)
		return -EINVAL;
	WRITE_ONCE(st->hotset_pages, pages);
	return 0;
}

static int vfmig_reg32_write(struct vfmig_dev *vmdev, u32 off, u32 val)
{
	struct vfmig_state *st = &vmdev->st;

	switch (off) {
	case VFMIG_REG_DIRTY_RATE:
		/* Larger rates clamp: the register reads back what is in force. */
		vfmig_state_set_rate(st, val);
		return 0;
	case VFMIG_REG_DIRTY_PATTERN:
		return vfmig_set_pattern(st, val);
	case VFMIG_REG_HOTSET_PAGES:
		return vfmig_set_hotset(st, val);
	}
	return 0;	/* read-only and reserved: writes ignored */
}

static int vfmig_regs_write(struct vfmig_dev *vmdev, u32 off, u64 val,
			    u32 size)
{
	int ret;

	if (vfmig_reg_is64(off))
		return 0;	/* the 64-bit registers are read-only */
	ret = vfmig_reg32_write(vmdev, off, lower_32_bits(val));
	if (!ret && size == 8)
		ret = vfmig_reg32_write(vmdev, off + 4, upper_32_bits(val));
	return ret;
}

/* --- region access ----------------------------------------------------- */

static ssize_t vfmig_rw(struct vfio_device *vdev, char __user *ubuf,
			size_t count, loff_t *ppos, bool write)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);
	u32 index = *ppos >> VFMIG_REGION_SHIFT;
	u64 off = *ppos & VFMIG_REGION_MASK;
	u8 tmp[VFMIG_CONFIG_SIZE];
	ssize_t ret;
	u64 val;

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		if (off >= VFMIG_CONFIG_SIZE)
			return -EINVAL;
		count = min_t(size_t, count, VFMIG_CONFIG_SIZE - off);
		mutex_lock(&vmdev->ops_lock);
		if (write) {
			ret = copy_from_user(tmp, ubuf, count) ? -EFAULT : count;
			if (ret > 0)
				vfmig_config_write(vmdev, off, tmp, count);
		} else {
			ret = copy_to_user(ubuf, vmdev->vconfig + off, count) ?
			      -EFAULT : count;
		}
		mutex_unlock(&vmdev->ops_lock);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		if ((count != 4 && count != 8) || off % count ||
		    off + count > VFMIG_REGS_SIZE)
			return -EINVAL;
		val = 0;
		if (write) {
			if (copy_from_user(&val, ubuf, count))
				return -EFAULT;
			ret = vfmig_regs_write(vmdev, off, val, count);
		} else {
			val = vfmig_regs_read(vmdev, off, count);
			ret = copy_to_user(ubuf, &val, count) ? -EFAULT : 0;
		}
		if (!ret)
			ret = count;
		break;
	case VFIO_PCI_BAR2_REGION_INDEX:
		ret = vfmig_state_rw(&vmdev->st, ubuf, count, off, write);
		break;
	default:
		return -EINVAL;
	}
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t vfmig_read(struct vfio_device *vdev, char __user *buf,
			  size_t count, loff_t *ppos)
{
	return vfmig_rw(vdev, buf, count, ppos, false);
}

static ssize_t vfmig_write(struct vfio_device *vdev, const char __user *buf,
			   size_t count, loff_t *ppos)
{
	return vfmig_rw(vdev, (char __user *)buf, count, ppos, true);
}

/* --- BAR2 mmap: writes through the mapping are dirty-tracked ----------- */

static unsigned long vfmig_vma_page(struct vm_fault *vmf)
{
	return vmf->pgoff -
	       (VFMIG_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX) >> PAGE_SHIFT);
}

/* Dirty tracking through the mapping: see vfmig_state_mmap_fault(). */
static vm_fault_t vfmig_mmap_fault(struct vm_fault *vmf)
{
	struct vfmig_dev *vmdev = vmf->vma->vm_private_data;

	return vfmig_state_mmap_fault(&vmdev->st, vmf, vfmig_vma_page(vmf));
}

static vm_fault_t vfmig_mmap_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vfmig_dev *vmdev = vmf->vma->vm_private_data;

	return vfmig_state_mmap_mkwrite(&vmdev->st, vmf, vfmig_vma_page(vmf));
}

static const struct vm_operations_struct vfmig_mmap_ops = {
	.fault = vfmig_mmap_fault,
	.pfn_mkwrite = vfmig_mmap_pfn_mkwrite,
};

static int vfmig_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);
	u64 start = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	u64 base = VFMIG_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);

	if (start < base || start - base >= vmdev->st.size ||
	    len > vmdev->st.size - (start - base))
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	vma->vm_private_data = vmdev;
	vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &vfmig_mmap_ops;
	return 0;
}

/* --- ioctls ------------------------------------------------------------ */

static int vfmig_region_info(struct vfmig_dev *vmdev,
			     struct vfio_region_info *info)
{
	info->offset = VFMIG_REGION_OFFSET(info->index);
	info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	switch (info->index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info->size = VFMIG_CONFIG_SIZE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		info->size = VFMIG_REGS_SIZE;
		break;
	case VFIO_PCI_BAR2_REGION_INDEX:
		info->size = vmdev->st.size;
		info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
		break;
	default:
		if (info->index >= VFIO_PCI_NUM_REGIONS)
			return -EINVAL;
		info->size = 0;
		info->flags = 0;
	}
	info->cap_offset = 0;
	return 0;
}

static long vfmig_ioctl(struct vfio_device *vdev, unsigned int cmd,
			unsigned long arg)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);
	void __user *uarg = (void __user *)arg;
	unsigned long minsz;
	int ret;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info info;

		minsz = offsetofend(struct vfio_device_info, num_irqs);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
		info.num_regions = VFIO_PCI_NUM_REGIONS;
		info.num_irqs = VFIO_PCI_NUM_IRQS;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info info;

		minsz = offsetofend(struct vfio_region_info, offset);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		ret = vfmig_region_info(vmdev, &info);
		if (ret)
			return ret;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info info;

		minsz = offsetofend(struct vfio_irq_info, count);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
			return -EINVAL;
		/*
		 * As vfio-pci-core for a conventional PCI device: no error
		 * (AER) interrupt. Nor a device request one: the device
		 * cannot ask its user to let go of it.
		 */
		if (info.index == VFIO_PCI_ERR_IRQ_INDEX ||
		    info.index == VFIO_PCI_REQ_IRQ_INDEX)
			return -EINVAL;
		info.flags = 0;
		info.count = 0;	/* the device raises no interrupts */
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_SET_IRQS:
		return -EINVAL;
	case VFIO_DEVICE_RESET:
		mutex_lock(&vmdev->ops_lock);
		*(__le16 *)&vmdev->vconfig[PCI_COMMAND] = 0;
		mutex_unlock(&vmdev->ops_lock);
		vfmig_reset_done(vmdev);
		return 0;
	}
	return -ENOTTY;
}

/* --- open/close, init/release ------------------------------------------ */

static int vfmig_open_device(struct vfio_device *vdev)
{
	vfmig_mig_open(to_vfmig(vdev));
	return 0;
}

static void vfmig_close_device(struct vfio_device *vdev)
{
	vfmig_mig_close(to_vfmig(vdev));
}

/* Byte i of a UUID's text form is byte vfmig_guid_order[i] of its guid_t. */
static const u8 vfmig_guid_order[16] = {
	3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15
};

static int vfmig_init_dev(struct vfio_device *vdev)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);
	struct mdev_device *mdevice = to_mdev_device(vdev->dev);
	struct vfmig_type *type = container_of(mdevice->type,
					       struct vfmig_type, type);
	s64 avail = atomic64_read(&vfmig_parent.avail_bytes);
	unsigned int i;
	int ret, id;

	do {
		if (avail < (s64)type->size)
			return -ENOSPC;
	} while (!atomic64_try_cmpxchg(&vfmig_parent.avail_bytes, &avail,
				       avail - type->size));

	id = ida_alloc(&vfmig_parent.ids, GFP_KERNEL);
	if (id < 0) {
		ret = id;
		goto err_avail;
	}
	vmdev->mdevice = mdevice;
	vmdev->tdev.id = id;
	vmdev->tdev.state_size = type->size;
	/* mdev's guid_t layout -> RFC 4122 byte order, as %pUb prints it */
	for (i = 0; i < sizeof(vmdev->tdev.uuid); i++)
		vmdev->tdev.uuid[i] = mdevice->uuid.b[vfmig_guid_order[i]];

	ret = vfmig_state_init(&vmdev->st, type->size, id, &vmdev->state_mutex);
	if (ret)
		goto err_ida;
	vmdev->st.mapping = vdev->inode->i_mapping;
	vmdev->st.mmap_offset = VFMIG_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);

	mutex_init(&vmdev->ops_lock);
	vfmig_build_config(vmdev);
	vfmig_fw_init(&vmdev->fw, &vmdev->st, &vmdev->tdev);
	vmdev->chunk_size = VFMIG_DEFAULT_CHUNK;
	vmdev->fw.chunk_pages = vmdev->chunk_size / VFMIG_PAGE_SIZE;
	vmdev->mig_budget = VFMIG_DEFAULT_BUDGET;
	vfmig_mig_init(vmdev);
	return 0;

err_ida:
	ida_free(&vfmig_parent.ids, id);
err_avail:
	atomic64_add(type->size, &vfmig_parent.avail_bytes);
	return ret;
}

static void vfmig_release_dev(struct vfio_device *vdev)
{
	struct vfmig_dev *vmdev = to_vfmig(vdev);

	mutex_destroy(&vmdev->state_mutex);
	mutex_destroy(&vmdev->ops_lock);
	vfmig_state_free(&vmdev->st);
	ida_free(&vfmig_parent.ids, vmdev->tdev.id);
	atomic64_add(vmdev->tdev.state_size, &vfmig_parent.avail_bytes);
}

static const struct vfio_device_ops vfmig_dev_ops = {
	.name = "vfio-vfmig",
	.init = vfmig_init_dev,
	.release = vfmig_release_dev,
	.open_device = vfmig_open_device,
	.close_device = vfmig_close_device,
	.read = vfmig_read,
	.write = vfmig_write,
	.ioctl = vfmig_ioctl,
	.mmap = vfmig_mmap,
	.bind_iommufd = vfio_iommufd_emulated_bind,
	.unbind_iommufd = vfio_iommufd_emulated_unbind,
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
};

/* --- sysfs knobs ------------------------------------------------------- */

static struct vfmig_dev *dev_to_vfmig(struct device *dev)
{
	return dev_get_drvdata(dev);
}

#define VFMIG_RO_ATTR(_name, _fmt, _expr)				\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct vfmig_dev *vmdev = dev_to_vfmig(dev);			\
									\
	return sysfs_emit(buf, _fmt "\n", _expr);			\
}									\
static DEVICE_ATTR_RO(_name)

VFMIG_RO_ATTR(id, "%u", vmdev->tdev.id);
VFMIG_RO_ATTR(state_size, "%llu", vmdev->st.size);
VFMIG_RO_ATTR(generation, "%lld", atomic64_read(&vmdev->st.generation));
VFMIG_RO_ATTR(digest, "%08x", vfmig_state_digest(&vmdev->st));
VFMIG_RO_ATTR(dirtied_pages, "%lld", atomic64_read(&vmdev->st.dirtied));
VFMIG_RO_ATTR(mig_state, "%s",
	      vfmig_state_names[READ_ONCE(vmdev->mig_state)]);
VFMIG_RO_ATTR(mig_id, "%llu", READ_ONCE(vmdev->tdev.mig_id));
VFMIG_RO_ATTR(mig_peak_bytes, "%llu", READ_ONCE(vmdev->mig_peak_bytes));

/* Parse a knob value: 0 (when @zero_ok) or within [min, max]. */
static int vfmig_parse_knob(const char *buf, u64 min, u64 max, bool zero_ok,
			    u64 *v)
{
	int ret = kstrtou64(buf, 0, v);

	if (ret)
		return ret;
	if ((*v || !zero_ok) && (*v < min || *v > max))
		return -ERANGE;
	return 0;
}

static ssize_t dirty_rate_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(dev_to_vfmig(dev)->st.dirty_rate));
}

/* Larger values clamp to VFMIG_DIRTY_RATE_MAX; the file reads back the rate. */
static ssize_t dirty_rate_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	u64 v;
	int ret = kstrtou64(buf, 0, &v);

	if (ret)
		return ret;
	vfmig_state_set_rate(&dev_to_vfmig(dev)->st, v);
	return count;
}
static DEVICE_ATTR_RW(dirty_rate);

static ssize_t dirty_pattern_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	u32 p = READ_ONCE(dev_to_vfmig(dev)->st.dirty_pattern);

	return sysfs_emit(buf, "%s\n",
			  p == VFMIG_DIRTY_HOTSET ? "hotset" : "uniform");
}

static ssize_t dirty_pattern_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t count)
{
	struct vfmig_state *st = &dev_to_vfmig(dev)->st;
	int ret;

	if (sysfs_streq(buf, "uniform"))
		ret = vfmig_set_pattern(st, VFMIG_DIRTY_UNIFORM);
	else if (sysfs_streq(buf, "hotset"))
		ret = vfmig_set_pattern(st, VFMIG_DIRTY_HOTSET);
	else
		ret = -EINVAL;
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(dirty_pattern);

static ssize_t hotset_pages_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(dev_to_vfmig(dev)->st.hotset_pages));
}

static ssize_t hotset_pages_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	u64 v;
	int ret = kstrtou64(buf, 0, &v);

	if (!ret)
		ret = vfmig_set_hotset(&dev_to_vfmig(dev)->st, v);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(hotset_pages);

static ssize_t fw_latency_us_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(dev_to_vfmig(dev)->fw.latency_us));
}

static ssize_t fw_latency_us_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t count)
{
	u64 v;
	int ret = vfmig_parse_knob(buf, 0, 10 * USEC_PER_SEC, true, &v);

	if (ret)
		return ret;
	WRITE_ONCE(dev_to_vfmig(dev)->fw.latency_us, v);
	return count;
}
static DEVICE_ATTR_RW(fw_latency_us);

static ssize_t fw_throughput_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(dev_to_vfmig(dev)->fw.throughput));
}

/*
 * Below 1 MiB/s no real device saves or loads its state, and a 16 MiB
 * chunk would already take 16 s.
 */
static ssize_t fw_throughput_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t count)
{
	u64 v;
	int ret = vfmig_parse_knob(buf, SZ_1M, U64_MAX, true, &v);

	if (ret)
		return ret;
	WRITE_ONCE(dev_to_vfmig(dev)->fw.throughput, v);
	return count;
}
static DEVICE_ATTR_RW(fw_throughput);

/* Knobs that shape a migration file: refused while one exists. */
static int vfmig_set_mig_knob(struct vfmig_dev *vmdev, u64 *knob, u64 v)
{
	int ret = 0;

	vfmig_state_mutex_lock(vmdev);
	if (vmdev->saving_migf || vmdev->resuming_migf)
		ret = -EBUSY;
	else
		*knob = v;
	vfmig_state_mutex_unlock(vmdev);
	return ret;
}

static ssize_t chunk_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(dev_to_vfmig(dev)->chunk_size));
}

static ssize_t chunk_size_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	struct vfmig_dev *vmdev = dev_to_vfmig(dev);
	u64 v, pages;
	int ret = vfmig_parse_knob(buf, VFMIG_MIN_CHUNK, VFMIG_MAX_CHUNK, false,
				   &v);

	if (ret)
		return ret;
	if (!IS_ALIGNED(v, VFMIG_PAGE_SIZE))
		return -EINVAL;
	pages = v / VFMIG_PAGE_SIZE;
	vfmig_state_mutex_lock(vmdev);
	if (vmdev->saving_migf || vmdev->resuming_migf) {
		ret = -EBUSY;
	} else {
		vmdev->chunk_size = v;
		spin_lock(&vmdev->fw.lock);
		vmdev->fw.chunk_pages = pages;
		spin_unlock(&vmdev->fw.lock);
	}
	vfmig_state_mutex_unlock(vmdev);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(chunk_size);

static ssize_t mig_budget_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(dev_to_vfmig(dev)->mig_budget));
}

static ssize_t mig_budget_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	struct vfmig_dev *vmdev = dev_to_vfmig(dev);
	u64 v;
	int ret = vfmig_parse_knob(buf, 2 * VFMIG_MIN_CHUNK, SZ_1G, false, &v);

	if (ret)
		return ret;
	ret = vfmig_set_mig_knob(vmdev, &vmdev->mig_budget, v);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(mig_budget);

static ssize_t post_suspend_bytes_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	struct vfmig_state *st = &dev_to_vfmig(dev)->st;

	return sysfs_emit(buf, "%llu\n",
			  (u64)(st->npages - READ_ONCE(st->precopy_pages)) <<
			  PAGE_SHIFT);
}

/* Shapes every image of a migration: refused while a file exists. */
static ssize_t post_suspend_bytes_store(struct device *dev,
					struct device_attribute *attr,
					const char *buf, size_t count)
{
	struct vfmig_dev *vmdev = dev_to_vfmig(dev);
	u64 v;
	int ret = kstrtou64(buf, 0, &v);

	if (ret)
		return ret;
	vfmig_state_mutex_lock(vmdev);
	if (vmdev->saving_migf || vmdev->resuming_migf)
		ret = -EBUSY;
	else
		ret = vfmig_state_set_post_suspend(&vmdev->st, v);
	vfmig_state_mutex_unlock(vmdev);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(post_suspend_bytes);

/*
 * Named device profiles (docs/device.md, "Profiles"): values for the
 * knobs that decide how much PRE_COPY can do. post_suspend is the share
 * of the state, in 1/1024, rounded down to whole pages.
 */
static const struct vfmig_profile {
	const char *name;
	u32 post_suspend_1024;
	u64 fw_throughput;
	u32 fw_latency_us;
} vfmig_profiles[] = {
	/* the device's defaults: every byte can be pre-copied */
	{ "precopyable", 0, 0, 0 },
	/* a ConnectX-7 VF: 3/4 post-suspend, 200 MB/s, 100 us commands */
	{ "cx7-vf", 768, 200000000, 100 },
};

static u64 vfmig_profile_post_suspend(const struct vfmig_profile *p,
				      struct vfmig_state *st)
{
	return round_down(st->size * p->post_suspend_1024 / 1024, PAGE_SIZE);
}

static ssize_t profile_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct vfmig_dev *vmdev = dev_to_vfmig(dev);
	struct vfmig_state *st = &vmdev->st;
	u64 ps = (u64)(st->npages - READ_ONCE(st->precopy_pages)) << PAGE_SHIFT;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vfmig_profiles); i++) {
		const struct vfmig_profile *p = &vfmig_profiles[i];

		if (ps == vfmig_profile_post_suspend(p, st) &&
		    READ_ONCE(vmdev->fw.throughput) == p->fw_throughput &&
		    READ_ONCE(vmdev->fw.latency_us) == p->fw_latency_us)
			return sysfs_emit(buf, "%s\n", p->name);
	}
	return sysfs_emit(buf, "custom\n");
}

/* Sets the profile's knobs at once; refused while a migration file exists. */
static ssize_t profile_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	struct vfmig_dev *vmdev = dev_to_vfmig(dev);
	const struct vfmig_profile *p = NULL;
	unsigned int i;
	u64 ps;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vfmig_profiles); i++)
		if (sysfs_streq(buf, vfmig_profiles[i].name))
			p = &vfmig_profiles[i];
	if (!p)
		return -EINVAL;
	ps = vfmig_profile_post_suspend(p, &vmdev->st);
	vfmig_state_mutex_lock(vmdev);
	if (vmdev->saving_migf || vmdev->resuming_migf) {
		ret = -EBUSY;
	} else {
		ret = vfmig_state_set_post_suspend(&vmdev->st, ps);
		WRITE_ONCE(vmdev->fw.throughput, p->fw_throughput);
		WRITE_ONCE(vmdev->fw.latency_us, p->fw_latency_us);
	}
	vfmig_state_mutex_unlock(vmdev);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(profile);

/*
 * Migration capabilities the device advertises (VFIO_DEVICE_FEATURE_MIGRATION),
 * for VMM developers who need a device without PRE_COPY or P2P. The VFIO
 * core reads migration_flags while the device is open, so they only change
 * while it is closed; STOP_COPY is always there.
 */
static ssize_t vfmig_mig_flag_show(struct device *dev, char *buf, u64 flag)
{
	return sysfs_emit(buf, "%d\n",
			  !!(READ_ONCE(dev_to_vfmig(dev)->vdev.migration_flags) &
			     flag));
}

static ssize_t vfmig_mig_flag_store(struct device *dev, const char *buf,
				    size_t count, u64 flag)
{
	struct vfmig_dev *vmdev = dev_to_vfmig(dev);
	int ret = 0;
	u64 flags;
	bool on;

	if (sysfs_streq(buf, "0"))
		on = false;
	else if (sysfs_streq(buf, "1"))
		on = true;
	else
		return -EINVAL;
	vfmig_state_mutex_lock(vmdev);
	if (vmdev->opened) {
		ret = -EBUSY;
	} else {
		flags = vmdev->vdev.migration_flags & ~flag;
		WRITE_ONCE(vmdev->vdev.migration_flags, flags | (on ? flag : 0));
	}
	vfmig_state_mutex_unlock(vmdev);
	return ret ? ret : count;
}

static ssize_t precopy_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return vfmig_mig_flag_show(dev, buf, VFIO_MIGRATION_PRE_COPY);
}

static ssize_t precopy_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	return vfmig_mig_flag_store(dev, buf, count, VFIO_MIGRATION_PRE_COPY);
}
static DEVICE_ATTR_RW(precopy);

static ssize_t p2p_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	return vfmig_mig_flag_show(dev, buf, VFIO_MIGRATION_P2P);
}

static ssize_t p2p_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	return vfmig_mig_flag_store(dev, buf, count, VFIO_MIGRATION_P2P);
}
static DEVICE_ATTR_RW(p2p);

static struct attribute *vfmig_dev_attrs[] = {
	&dev_attr_id.attr,
	&dev_attr_state_size.attr,
	&dev_attr_generation.attr,
	&dev_attr_digest.attr,
	&dev_attr_dirty_rate.attr,
	&dev_attr_dirty_pattern.attr,
	&dev_attr_hotset_pages.attr,
	&dev_attr_dirtied_pages.attr,
	&dev_attr_mig_state.attr,
	&dev_attr_mig_id.attr,
	&dev_attr_fw_latency_us.attr,
	&dev_attr_fw_throughput.attr,
	&dev_attr_chunk_size.attr,
	&dev_attr_mig_budget.attr,
	&dev_attr_mig_peak_bytes.attr,
	&dev_attr_post_suspend_bytes.attr,
	&dev_attr_profile.attr,
	&dev_attr_precopy.attr,
	&dev_attr_p2p.attr,
	NULL,
};

static const struct attribute_group vfmig_dev_group = {
	.name = "vfmig",
	.attrs = vfmig_dev_attrs,
};

static const struct attribute_group *vfmig_dev_groups[] = {
	&vfmig_dev_group,
	NULL,
};

/* --- debugfs: the firmware model's test controls ------------------------ */

/* /sys/kernel/debug/vfmig/; NULL or an error pointer if debugfs is not there */
static struct dentry *vfmig_debugfs_root;

static const struct {
	const char *name;
	u32 status;
} vfmig_status_names[] = {
	{ "internal_err", VFMIG_FW_STATUS_INTERNAL_ERR },
	{ "bad_param", VFMIG_FW_STATUS_BAD_PARAM },
	{ "bad_resource", VFMIG_FW_STATUS_BAD_RESOURCE },
	{ "bad_res_state", VFMIG_FW_STATUS_BAD_RES_STATE },
};

static int fault_inject_show(struct seq_file *m, void *unused)
{
	struct vfmig_fw *fw = &((struct vfmig_dev *)m->private)->fw;
	struct vfmig_fw_fault fault[VFMIG_FW_NR_OPCODES];
	int i;

	spin_lock(&fw->lock);
	memcpy(fault, fw->fault, sizeof(fault));
	spin_unlock(&fw->lock);
	for (i = 0; i < VFMIG_FW_NR_OPCODES; i++)
		if (fault[i].nth)
			seq_printf(m, "%s %u %#x\n", vfmig_fw_opcode_names[i],
				   fault[i].nth, fault[i].status);
	return 0;
}

static int fault_inject_open(struct inode *inode, struct file *file)
{
	return single_open(file, fault_inject_show, inode->i_private);
}

/* "<opcode> <nth> <status>" or "clear"; see docs/device.md. */
static int vfmig_fault_inject_parse(struct vfmig_fw *fw, const char *buf)
{
	char op[16], st[24];
	u32 nth, status, i, opcode = VFMIG_FW_NR_OPCODES;
	bool found = false;

	if (sysfs_streq(buf, "clear")) {
		vfmig_fw_clear_faults(fw);
		return 0;
	}
	if (sscanf(buf, "%15s %u %23s", op, &nth, st) != 3 || !nth)
		return -EINVAL;
	for (i = 0; i < VFMIG_FW_NR_OPCODES; i++)
		if (!strcmp(op, vfmig_fw_opcode_names[i]))
			opcode = i;
	if (opcode == VFMIG_FW_NR_OPCODES)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(vfmig_status_names); i++) {
		if (!strcmp(st, vfmig_status_names[i].name)) {
			status = vfmig_status_names[i].status;
			found = true;
		}
	}
	if (!found && (kstrtou32(st, 0, &status) || !status))
		return -EINVAL;
	return vfmig_fw_set_fault(fw, opcode, nth, status);
}

static ssize_t fault_inject_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct vfmig_dev *vmdev = ((struct seq_file *)file->private_data)->private;
	char buf[64];
	int ret;

	if (*ppos || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = 0;
	ret = vfmig_fault_inject_parse(&vmdev->fw, buf);
	return ret ? ret : count;
}

static const struct file_operations vfmig_fault_inject_fops = {
	.owner = THIS_MODULE,
	.open = fault_inject_open,
	.read = seq_read,
	.write = fault_inject_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int fw_stats_show(struct seq_file *m, void *unused)
{
	struct vfmig_fw *fw = &((struct vfmig_dev *)m->private)->fw;
	struct vfmig_fw_stats stats[VFMIG_FW_NR_OPCODES];
	int i;

	spin_lock(&fw->lock);
	memcpy(stats, fw->stats, sizeof(stats));
	spin_unlock(&fw->lock);
	for (i = 0; i < VFMIG_FW_NR_OPCODES; i++)
		seq_printf(m, "%s count=%llu failed=%llu lat_ns=%llu\n",
			   vfmig_fw_opcode_names[i], stats[i].count,
			   stats[i].failed, stats[i].lat_ns);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(fw_stats);

/* Failures are not fatal: the device works without its debugfs files. */
static void vfmig_debugfs_add(struct vfmig_dev *vmdev)
{
	struct dentry *dir;

	dir = debugfs_create_dir(dev_name(&vmdev->mdevice->dev),
				 vfmig_debugfs_root);
	debugfs_create_file("fault_inject", 0600, dir, vmdev,
			    &vfmig_fault_inject_fops);
	debugfs_create_file("fw_stats", 0400, dir, vmdev, &fw_stats_fops);
}

/* Returns once no file operation runs any more. */
static void vfmig_debugfs_remove(struct vfmig_dev *vmdev)
{
	if (!IS_ERR_OR_NULL(vfmig_debugfs_root))
		debugfs_lookup_and_remove(dev_name(&vmdev->mdevice->dev),
					  vfmig_debugfs_root);
}

/* --- mdev driver and parent -------------------------------------------- */

static int vfmig_probe(struct mdev_device *mdevice)
{
	struct vfmig_dev *vmdev;
	int ret;

	vmdev = vfio_alloc_device(vfmig_dev, vdev, &mdevice->dev,
				  &vfmig_dev_ops);
	if (IS_ERR(vmdev))
		return PTR_ERR(vmdev);
	/* Set before registration: sysfs knobs appear with the device. */
	dev_set_drvdata(&mdevice->dev, vmdev);
	ret = vfio_register_emulated_iommu_dev(&vmdev->vdev);
	if (ret)
		goto err_put;
	vfmig_debugfs_add(vmdev);
	trace_vfmig_device(&vmdev->tdev, VFMIG_DEV_CREATE);
	return 0;

err_put:
	dev_set_drvdata(&mdevice->dev, NULL);
	vfio_put_device(&vmdev->vdev);
	return ret;
}

static void vfmig_remove(struct mdev_device *mdevice)
{
	struct vfmig_dev *vmdev = dev_get_drvdata(&mdevice->dev);

	trace_vfmig_device(&vmdev->tdev, VFMIG_DEV_REMOVE);
	vfmig_debugfs_remove(vmdev);
	vfio_unregister_group_dev(&vmdev->vdev);
	vfio_put_device(&vmdev->vdev);
}

static unsigned int vfmig_get_available(struct mdev_type *mtype)
{
	struct vfmig_type *type = container_of(mtype, struct vfmig_type, type);
	s64 avail = atomic64_read(&vfmig_parent.avail_bytes);

	return avail > 0 ? div64_u64(avail, type->size) : 0;
}

static ssize_t vfmig_show_description(struct mdev_type *mtype, char *buf)
{
	struct vfmig_type *type = container_of(mtype, struct vfmig_type, type);

	return sysfs_emit(buf, "vfmig migratable device, %llu MiB state\n",
			  type->size >> 20);
}

static struct mdev_driver vfmig_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.driver = {
		.name = VFMIG_NAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		.dev_groups = vfmig_dev_groups,
	},
	.probe = vfmig_probe,
	.remove = vfmig_remove,
	.get_available = vfmig_get_available,
	.show_description = vfmig_show_description,
};

static void vfmig_parent_release(struct device *dev)
{
}

static int __init vfmig_init(void)
{
	u64 budget;
	int ret, i;

	BUILD_BUG_ON(ARRAY_SIZE(vfmig_state_names) != VFIO_DEVICE_STATE_NR);
	BUILD_BUG_ON(sizeof(struct vfmig_record_header) !=
		     VFMIG_RECORD_HEADER_SIZE);
	BUILD_BUG_ON(sizeof(struct vfmig_chunk_header) != 40);
	/* A device page is a kernel page: BAR2 maps and copies them 1:1. */
	BUILD_BUG_ON(PAGE_SIZE != VFMIG_PAGE_SIZE);

	budget = max_state_mb ? (u64)max_state_mb << 20 :
				(u64)totalram_pages() << PAGE_SHIFT >> 1;
	atomic64_set(&vfmig_parent.avail_bytes, budget);
	ida_init(&vfmig_parent.ids);
	for (i = 0; i < ARRAY_SIZE(vfmig_types); i++)
		vfmig_mdev_types[i] = &vfmig_types[i].type;

	ret = vfmig_fw_module_init();
	if (ret)
		return ret;
	ret = vfmig_workload_module_init();
	if (ret)
		goto err_fw;
	vfmig_debugfs_root = debugfs_create_dir(VFMIG_NAME, NULL);
	ret = mdev_register_driver(&vfmig_driver);
	if (ret)
		goto err_wq;

	vfmig_parent.class = class_create(VFMIG_NAME);
	if (IS_ERR(vfmig_parent.class)) {
		ret = PTR_ERR(vfmig_parent.class);
		goto err_driver;
	}
	vfmig_parent.dev.class = vfmig_parent.class;
	vfmig_parent.dev.release = vfmig_parent_release;
	dev_set_name(&vfmig_parent.dev, "%s", VFMIG_NAME);
	ret = device_register(&vfmig_parent.dev);
	if (ret)
		goto err_put;

	ret = mdev_register_parent(&vfmig_parent.parent, &vfmig_parent.dev,
				   &vfmig_driver, vfmig_mdev_types,
				   ARRAY_SIZE(vfmig_mdev_types));
	if (ret)
		goto err_device;
	return 0;

err_device:
	device_del(&vfmig_parent.dev);
err_put:
	put_device(&vfmig_parent.dev);
	class_destroy(vfmig_parent.class);
err_driver:
	mdev_unregister_driver(&vfmig_driver);
err_wq:
	debugfs_remove(vfmig_debugfs_root);
	vfmig_workload_module_exit();
err_fw:
	vfmig_fw_module_exit();
	return ret;
}

static void __exit vfmig_exit(void)
{
	mdev_unregister_parent(&vfmig_parent.parent);
	device_unregister(&vfmig_parent.dev);
	class_destroy(vfmig_parent.class);
	mdev_unregister_driver(&vfmig_driver);
	debugfs_remove(vfmig_debugfs_root);
	vfmig_workload_module_exit();
	vfmig_fw_module_exit();
	ida_destroy(&vfmig_parent.ids);
}

module_init(vfmig_init);
module_exit(vfmig_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfmig: observable VFIO live migration with PRE_COPY over an emulated device");
MODULE_SOFTDEP("pre: vfio vfio_iommu_type1 mdev");
