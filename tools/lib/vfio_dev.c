// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* VFIO group/container device access and the migration uAPI. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/vfio.h>

#include "mig_events.h"
#include "vfio_dev.h"

static int fail(struct vfio_dev *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct vfio_dev *d, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : (err ? err : -EINVAL);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *vfio_mig_flags_str(uint64_t flags, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s",
		 flags & VFIO_MIGRATION_STOP_COPY ? "STOP_COPY" : "",
		 flags & VFIO_MIGRATION_P2P ? "|P2P" : "",
		 flags & VFIO_MIGRATION_PRE_COPY ? "|PRE_COPY" : "",
		 flags ? "" : "none");
	return buf;
}

static int read_file_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

int vfmig_sysfs_read(const char *sysfs_dev, const char *attr, char *buf,
		     size_t len)
{
	char path[768];

	snprintf(path, sizeof(path), "%s/vfmig/%s", sysfs_dev, attr);
	return read_file_str(path, buf, len);
}

int vfmig_sysfs_write(const char *sysfs_dev, const char *attr, const char *val)
{
	char path[768];
	size_t n = strlen(val);
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/vfmig/%s", sysfs_dev, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, n) != (ssize_t)n)
		ret = -errno;
	close(fd);
	return ret;
}

static int resolve(struct vfio_dev *d, const char *spec)
{
	char path[PATH_MAX], link[PATH_MAX], *base;
	struct stat st;
	ssize_t n;

	if (!*spec)
		return fail(d, EINVAL, "empty device name");
	if (strchr(spec, '/'))
		snprintf(path, sizeof(path), "%s", spec);
	else
		snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s", spec);
	if (!realpath(path, link))
		return fail(d, ENODEV, "no such device: %s (%s: %s)", spec, path,
			    strerror(errno));
	if (strlen(link) >= sizeof(d->sysfs))
		return fail(d, ENAMETOOLONG, "device path too long: %s", link);
	strcpy(d->sysfs, link);
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) >= sizeof(d->name))
		return fail(d, ENAMETOOLONG, "device name too long: %s", base);
	strcpy(d->name, base);

	snprintf(path, sizeof(path), "%s/iommu_group", d->sysfs);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return fail(d, ENODEV, "%s is not a VFIO device (no iommu_group)",
			    spec);
	link[n] = 0;
	base = strrchr(link, '/');
	d->group_id = atoi(base ? base + 1 : link);
	snprintf(path, sizeof(path), "%s/vfmig", d->sysfs);
	d->is_vfmig = !stat(path, &st) && S_ISDIR(st.st_mode);
	return 0;
}

static int open_dev_node(struct vfio_dev *d, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == EACCES || errno == EPERM)
		return fail(d, errno, "permission denied opening %s", path);
	if (errno == EBUSY)
		return fail(d, errno, "%s is busy (device in use by another process)",
			    path);
	return fail(d, errno, "cannot open %s: %s", path, strerror(errno));
}

int vfio_dev_open(struct vfio_dev *d, const char *spec)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_migration m;
	} mf;
	char path[64];
	int ret, iommu;

	memset(d, 0, sizeof(*d));
	d->container = d->group = d->fd = -1;
	ret = resolve(d, spec);
	if (ret)
		return ret;

	d->container = open_dev_node(d, "/dev/vfio/vfio");
	if (d->container < 0) {
		ret = d->container;
		goto err;
	}
	if (ioctl(d->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		ret = fail(d, EINVAL, "unsupported VFIO API version");
		goto err;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", d->group_id);
	d->group = open_dev_node(d, path);
	if (d->group < 0) {
		ret = d->group;
		goto err;
	}
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &gs)) {
		ret = fail(d, errno, "VFIO_GROUP_GET_STATUS on %s: %s", path,
			   strerror(errno));
		goto err;
	}
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = fail(d, EINVAL, "VFIO group %d is not viable (not all its devices are bound to VFIO)",
			   d->group_id);
		goto err;
	}
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container)) {
		ret = fail(d, errno, "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
		goto err;
	}
	iommu = ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ?
		VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU;
	if (ioctl(d->container, VFIO_SET_IOMMU, iommu)) {
		ret = fail(d, errno, "VFIO_SET_IOMMU(type1): %s", strerror(errno));
		goto err;
	}
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->name);
	if (d->fd < 0) {
		ret = fail(d, errno, "cannot get device fd for %s: %s", d->name,
			   errno == EBUSY ? "device in use" : strerror(errno));
		d->fd = -1;
		goto err;
	}

	memset(&mf, 0, sizeof(mf));
	mf.f.argsz = sizeof(mf);
	mf.f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION;
	if (!ioctl(d->fd, VFIO_DEVICE_FEATURE, &mf))
		d->mig_flags = mf.m.flags;
	else
		d->mig_flags = 0;	/* ENOTTY: no migration support */
	return 0;
err:
	vfio_dev_close(d);
	return ret;
}

void vfio_dev_close(struct vfio_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	d->fd = d->group = d->container = -1;
}

struct mig_state_feature {
	struct vfio_device_feature f;
	struct vfio_device_feature_mig_state s;
};

int vfio_dev_get_state(struct vfio_dev *d, uint32_t *state)
{
	struct mig_state_feature m;

	memset(&m, 0, sizeof(m));
	m.f.argsz = sizeof(m);
	m.f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	if (ioctl(d->fd, VFIO_DEVICE_FEATURE, &m))
		return fail(d, errno, "%s: get migration state: %s", d->name,
			    strerror(errno));
	*state = m.s.device_state;
	return 0;
}

int vfio_dev_set_state(struct vfio_dev *d, uint32_t state, int *data_fd)
{
	struct mig_state_feature m;

	memset(&m, 0, sizeof(m));
	m.f.argsz = sizeof(m);
	m.f.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	m.s.device_state = state;
	m.s.data_fd = -1;
	if (data_fd)
		*data_fd = -1;
	if (ioctl(d->fd, VFIO_DEVICE_FEATURE, &m)) {
		int e = errno;
		uint32_t cur;
		const char *now = "?";

		if (!vfio_dev_get_state(d, &cur))
			now = mig_state_name(cur);
		return fail(d, e, "%s: set state %s failed: %s (device now %s)",
			    d->name, mig_state_name(state), strerror(e), now);
	}
	if (data_fd)
		*data_fd = m.s.data_fd;
	else if (m.s.data_fd >= 0)
		close(m.s.data_fd);
	return 0;
}

int vfio_dev_data_size(struct vfio_dev *d, uint64_t *len)
{
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_mig_data_size s;
	} m;

	memset(&m, 0, sizeof(m));
	m.f.argsz = sizeof(m);
	m.f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE;
	if (ioctl(d->fd, VFIO_DEVICE_FEATURE, &m))
		return fail(d, errno, "%s: MIG_DATA_SIZE: %s", d->name,
			    strerror(errno));
	*len = m.s.stop_copy_length;
	return 0;
}

int vfio_dev_reset(struct vfio_dev *d)
{
	if (ioctl(d->fd, VFIO_DEVICE_RESET))
		return fail(d, errno, "%s: VFIO_DEVICE_RESET: %s", d->name,
			    strerror(errno));
	return 0;
}

int vfio_dev_region(struct vfio_dev *d, uint32_t index, uint64_t *offset,
		    uint64_t *size)
{
	struct vfio_region_info ri;

	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = index;
	if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return fail(d, errno, "%s: region %u info: %s", d->name, index,
			    strerror(errno));
	*offset = ri.offset;
	*size = ri.size;
	return 0;
}

int vfio_precopy_info(int data_fd, uint64_t *initial, uint64_t *dirty)
{
	struct vfio_precopy_info info;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	if (ioctl(data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info))
		return -errno;
	*initial = info.initial_bytes;
	*dirty = info.dirty_bytes;
	return 0;
}
