// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/* Create and remove mediated devices through sysfs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mdev.h"

#define MDEV_BUS "/sys/class/mdev_bus"
#define MDEV_DEVICES "/sys/bus/mdev/devices"

/* One raw write(): a failed sysfs write must not be retried. */
static int write_attr(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int new_uuid(char uuid[37])
{
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, uuid, 36);
	close(fd);
	if (n != 36)
		return n < 0 ? -errno : -EIO;
	uuid[36] = 0;
	return 0;
}

int mdev_create(const char *type, char uuid[37])
{
	char path[512];
	struct dirent *de;
	DIR *bus;
	int ret = new_uuid(uuid);

	if (ret)
		return ret;
	bus = opendir(MDEV_BUS);
	if (!bus)
		return -errno;
	ret = -ENOENT;
	while ((de = readdir(bus))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), MDEV_BUS "/%s/mdev_supported_types/%s/create",
			 de->d_name, type);
		if (access(path, W_OK))
			continue;
		ret = write_attr(path, uuid);
		break;
	}
	closedir(bus);
	return ret;
}

int mdev_remove(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/remove", uuid);
	return write_attr(path, "1");
}
