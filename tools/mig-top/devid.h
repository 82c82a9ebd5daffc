/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * devid: which device a mig-top device id is (docs/mig-top.md, "Device
 * identity"), where its events do not say (struct mig_event's uuid): the
 * mdev UUID of a vfmig device id read from sysfs
 * (/sys/bus/mdev/devices/<uuid>/vfmig/id), generic mode's device names;
 * and -D's UUID form.
 */
#ifndef MIG_TOP_DEVID_H
#define MIG_TOP_DEVID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mig_events.h"

/* The UUID of @dev ("xxxxxxxx-xxxx-...") found so, NULL if not known. */
const char *devid_uuid(uint32_t dev);
/* Look up the vfmig devices present in sysfs. */
void devid_scan(void);
/* Remember @uuid for @dev (generic mode: from the device's name). */
void devid_set(uint32_t dev, const char *uuid);
bool devid_is_uuid(const char *s);
/*
 * -D ARG: a device id, or the UUID of an mdev that exists now: its vfmig
 * id (@generic: the N of its /dev/vfio/devices/vfioN). 0, or -1 with err.
 */
int devid_parse(const char *arg, bool generic, long long *id, char *err,
		size_t errlen);

#endif
