/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * vfio_dev: open a VFIO device through the legacy group/container API
 * (type1) by mdev UUID or sysfs path, and drive its migration uAPI.
 *
 * Every function returns 0 or a negative errno and, on failure, leaves a
 * one-line message in dev->err (no trailing newline).
 */
#ifndef VFIO_DEV_H
#define VFIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vfio_dev {
	int container;
	int group;
	int fd;			/* device fd */
	int group_id;
	char name[64];		/* device name (mdev UUID) */
	char sysfs[512];	/* /sys/bus/mdev/devices/<uuid> (resolved) */
	uint64_t mig_flags;	/* VFIO_MIGRATION_* */
	bool is_vfmig;		/* has the vfmig/ sysfs directory */
	char err[256];
};

/* "uuid", "/sys/bus/mdev/devices/<uuid>" or any sysfs device path. */
int vfio_dev_open(struct vfio_dev *d, const char *spec);
void vfio_dev_close(struct vfio_dev *d);

/* The fd-level calls below need an open device. */
int vfio_dev_get_state(struct vfio_dev *d, uint32_t *state);
/*
 * Set the state. *data_fd (if non-NULL) receives the new data fd or -1.
 * On failure the device may sit in any intermediate state.
 */
int vfio_dev_set_state(struct vfio_dev *d, uint32_t state, int *data_fd);
int vfio_dev_data_size(struct vfio_dev *d, uint64_t *stop_copy_length);
int vfio_dev_reset(struct vfio_dev *d);
/* VFIO_DEVICE_GET_REGION_INFO: file offset and size of region @index. */
int vfio_dev_region(struct vfio_dev *d, uint32_t index, uint64_t *offset,
		    uint64_t *size);
/* VFIO_MIG_GET_PRECOPY_INFO on a saving data fd. */
int vfio_precopy_info(int data_fd, uint64_t *initial, uint64_t *dirty);

/* State names: mig_state_name() of mig_events.h, the one table. */
/* "STOP_COPY|P2P|PRE_COPY" into buf. */
const char *vfio_mig_flags_str(uint64_t flags, char *buf, size_t len);

/*
 * vfmig sysfs attributes (/sys/bus/mdev/devices/<uuid>/vfmig/<attr>) of
 * a device opened or not: read into buf without the newline.
 */
int vfmig_sysfs_read(const char *sysfs_dev, const char *attr, char *buf,
		     size_t len);
int vfmig_sysfs_write(const char *sysfs_dev, const char *attr,
		      const char *val);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

#endif /* VFIO_DEV_H */
