// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* devid: mdev UUIDs of mig-top's device ids (devid.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devid.h"

#define MDEV_DIR	"/sys/bus/mdev/devices"

static struct { bool used; uint32_t dev; char uuid[37]; } tab[MIG_MAX_DEVS];
static unsigned int next_victim;

bool devid_is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return s[36] == '\0';
}

void devid_set(uint32_t dev, const char *uuid)
{
	int slot = -1;

	for (int i = 0; i < MIG_MAX_DEVS; i++) {
		if (tab[i].used && tab[i].dev == dev) {
			slot = i;
			break;
		}
		if (!tab[i].used && slot < 0)
			slot = i;
	}
	if (slot < 0)		/* full: forget one, round robin */
		slot = (int)(next_victim++ % MIG_MAX_DEVS);
	tab[slot].used = true;
	tab[slot].dev = dev;
	snprintf(tab[slot].uuid, sizeof(tab[slot].uuid), "%s", uuid);
}

const char *devid_uuid(uint32_t dev)
{
	for (int i = 0; i < MIG_MAX_DEVS; i++)
		if (tab[i].used && tab[i].dev == dev)
			return tab[i].uuid;
	return NULL;
}

/* The decimal number in @path; -1 if none. */
static long long read_id(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

void devid_scan(void)
{
	DIR *d = opendir(MDEV_DIR);
	struct dirent *de;
	char path[512];
	long long id;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!devid_is_uuid(de->d_name))
			continue;
		snprintf(path, sizeof(path), MDEV_DIR "/%s/vfmig/id", de->d_name);
		id = read_id(path);
		if (id >= 0)
			devid_set((uint32_t)id, de->d_name);
	}
	closedir(d);
}

/* generic mode: the N of the mdev's vfio-dev/vfioN. */
static long long vfio_index(const char *uuid)
{
	char path[512];
	struct dirent *de;
	long long id = -1;
	DIR *d;

	snprintf(path, sizeof(path), MDEV_DIR "/%s/vfio-dev", uuid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4) && isdigit((unsigned char)de->d_name[4]))
			id = strtoll(de->d_name + 4, NULL, 10);
	closedir(d);
	return id;
}

int devid_parse(const char *arg, bool generic, long long *id, char *err,
		size_t errlen)
{
	char path[512];
	char *end;

	if (isdigit((unsigned char)*arg)) {
		errno = 0;
		*id = strtoll(arg, &end, 10);
		if (!errno && !*end && *id <= UINT32_MAX)
			return 0;
	}
	if (!devid_is_uuid(arg)) {
		snprintf(err, errlen, "-D takes a device id or an mdev UUID, not '%s'", arg);
		return -1;
	}
	snprintf(path, sizeof(path), MDEV_DIR "/%s", arg);
	if (access(path, F_OK)) {
		snprintf(err, errlen, "no mdev device %s (%s)", arg, path);
		return -1;
	}
	if (generic) {
		*id = vfio_index(arg);
		if (*id < 0) {
			snprintf(err, errlen, "mdev %s has no VFIO device node (%s/vfio-dev)",
				 arg, path);
			return -1;
		}
	} else {
		snprintf(path, sizeof(path), MDEV_DIR "/%s/vfmig/id", arg);
		*id = read_id(path);
		if (*id < 0) {
			snprintf(err, errlen, "mdev %s is not a vfmig device (no %s; -g MODULE for other drivers)",
				 arg, path);
			return -1;
		}
	}
	devid_set((uint32_t)*id, arg);
	return 0;
}
