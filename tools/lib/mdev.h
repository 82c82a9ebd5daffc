/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * mdev: create and remove mediated devices through sysfs, for programs
 * that need a throwaway device (benchmarks, tests).
 */
#ifndef MDEV_H
#define MDEV_H

/*
 * Create an mdev of TYPE (a name under some parent's mdev_supported_types,
 * e.g. "vfmig-64M") with a fresh UUID written into uuid. 0 or -errno.
 */
int mdev_create(const char *type, char uuid[37]);
/* Remove /sys/bus/mdev/devices/<uuid>. 0 or -errno. */
int mdev_remove(const char *uuid);

#endif /* MDEV_H */
