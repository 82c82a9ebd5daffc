// SPDX-License-Identifier: GPL-2.0-only
/*
 * datapath: how fast do the save file's read() and the resume file's
 * write() move a device image, compared with a plain memcpy() of the same
 * bytes in the same run? And how much kernel buffer memory does one
 * migration hold, compared with the state size?
 *
 * Runs in the guest with vfmig.ko loaded. Creates two devices of the given
 * mdev type, saves the source with STOP_COPY (one full image), times the
 * read() loop, times write() of the stream into the target, then times
 * memcpy() of the same byte count between two pre-faulted buffers.
 * Prints one JSON object. Ratios only mean something within one run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define SYSDEV "/sys/bus/mdev/devices/"
#define TYPES "/sys/class/vfmig/vfmig/mdev_supported_types/"

static void die(const char *what)
{
	fprintf(stderr, "datapath: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sys_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		die(path);
	close(fd);
}

static uint64_t sys_read_u64(const char *uuid, const char *attr)
{
	char path[256], buf[64] = "";
	int fd;

	snprintf(path, sizeof(path), SYSDEV "%s/vfmig/%s", uuid, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		die(path);
	close(fd);
	return strtoull(buf, NULL, 0);
}

struct dev {
	char uuid[37];
	int group;
	int fd;
};

static void dev_create(struct dev *d, const char *type, int container,
		       int first, int n)
{
	char path[256], link[256], *g;
	ssize_t len;

	snprintf(d->uuid, sizeof(d->uuid),
		 "b0f1e000-0000-4000-8000-%012x", n + (getpid() << 4));
	snprintf(path, sizeof(path), TYPES "%s/create", type);
	sys_write(path, d->uuid);
	snprintf(path, sizeof(path), SYSDEV "%s/iommu_group", d->uuid);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		die(path);
	link[len] = 0;
	g = strrchr(link, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%s", g + 1);
	d->group = open(path, O_RDWR);
	if (d->group < 0)
		die(path);
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (first && ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->uuid);
	if (d->fd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
}

static void dev_destroy(struct dev *d)
{
	char path[256];

	close(d->fd);
	close(d->group);
	snprintf(path, sizeof(path), SYSDEV "%s/remove", d->uuid);
	sys_write(path, "1");
}

static int set_state(struct dev *d, uint32_t state)
{
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_mig_state s;
	} req = {
		.f.argsz = sizeof(req),
		.f.flags = VFIO_DEVICE_FEATURE_SET |
			   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		.s.device_state = state,
		.s.data_fd = -1,
	};

	if (ioctl(d->fd, VFIO_DEVICE_FEATURE, &req))
		die("set state");
	return req.s.data_fd;
}

static void *prefaulted(size_t len)
{
	char *p = malloc(len);

	if (!p)
		die("malloc");
	memset(p, 1, len);
	return p;
}

int main(int argc, char **argv)
{
	const char *type = argc > 1 ? argv[1] : "vfmig-256M";
	size_t iosz = argc > 2 ? strtoul(argv[2], NULL, 0) : 1 << 20;
	size_t cap, len = 0;
	uint64_t t0, t_read, t_write, t_memcpy, state_size, peak_save,
		 peak_resume;
	struct dev src, tgt;
	char *stream, *copy;
	int container, sfd, rfd;
	ssize_t n;

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	dev_create(&src, type, container, 1, 1);
	dev_create(&tgt, type, container, 0, 2);
	state_size = sys_read_u64(src.uuid, "state_size");
	cap = state_size + state_size / 8 + (1 << 20);
	stream = prefaulted(cap);
	copy = prefaulted(cap);

	set_state(&src, VFIO_DEVICE_STATE_STOP);
	t0 = now_ns();
	sfd = set_state(&src, VFIO_DEVICE_STATE_STOP_COPY);
	while ((n = read(sfd, stream + len, iosz < cap - len ? iosz : cap - len)) > 0)
		len += n;
	t_read = now_ns() - t0;
	if (n < 0)
		die("read save fd");
	peak_save = sys_read_u64(src.uuid, "mig_peak_bytes");
	close(sfd);

	set_state(&tgt, VFIO_DEVICE_STATE_STOP);
	rfd = set_state(&tgt, VFIO_DEVICE_STATE_RESUMING);
	t0 = now_ns();
	for (size_t off = 0; off < len; off += n) {
		n = write(rfd, stream + off, iosz < len - off ? iosz : len - off);
		if (n <= 0)
			die("write resume fd");
	}
	t_write = now_ns() - t0;
	set_state(&tgt, VFIO_DEVICE_STATE_STOP);
	peak_resume = sys_read_u64(tgt.uuid, "mig_peak_bytes");
	close(rfd);

	t0 = now_ns();
	memcpy(copy, stream, len);
	t_memcpy = now_ns() - t0;
	/* Keep the copy observable so it is not optimised away. */
	if (memcmp(copy, stream, 64))
		return 1;

	printf("{\"type\":\"%s\",\"state_size\":%llu,\"stream_bytes\":%zu,"
	       "\"io_size\":%zu,\"read_ns\":%llu,\"write_ns\":%llu,"
	       "\"memcpy_ns\":%llu,\"save_read_vs_memcpy\":%.3f,"
	       "\"resume_write_vs_memcpy\":%.3f,\"save_peak_bytes\":%llu,"
	       "\"resume_peak_bytes\":%llu,\"save_peak_vs_state\":%.4f}\n",
	       type, (unsigned long long)state_size, len, iosz,
	       (unsigned long long)t_read, (unsigned long long)t_write,
	       (unsigned long long)t_memcpy, (double)t_memcpy / t_read,
	       (double)t_memcpy / t_write, (unsigned long long)peak_save,
	       (unsigned long long)peak_resume,
	       (double)peak_save / state_size);
	free(stream);
	free(copy);
	dev_destroy(&src);
	dev_destroy(&tgt);
	close(container);
	return 0;
}
