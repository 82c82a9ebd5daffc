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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "mdev.h"
#include "vfio_dev.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "datapath: %s: %s\n", what, strerror(err));
	exit(1);
}

static uint64_t attr_u64(struct vfio_dev *d, const char *attr)
{
	char buf[64];
	int ret = vfmig_sysfs_read(d->sysfs, attr, buf, sizeof(buf));

	if (ret)
		die(attr, -ret);
	return strtoull(buf, NULL, 0);
}

static void dev_create(struct vfio_dev *d, const char *type)
{
	char uuid[37];
	int ret = mdev_create(type, uuid);

	if (ret)
		die(type, -ret);
	ret = vfio_dev_open(d, uuid);
	if (ret) {
		fprintf(stderr, "datapath: %s\n", d->err);
		mdev_remove(uuid);
		exit(1);
	}
}

static void dev_destroy(struct vfio_dev *d)
{
	char uuid[sizeof(d->name)];

	snprintf(uuid, sizeof(uuid), "%s", d->name);
	vfio_dev_close(d);
	mdev_remove(uuid);
}

static int set_state(struct vfio_dev *d, uint32_t state)
{
	int fd, ret = vfio_dev_set_state(d, state, &fd);

	if (ret) {
		fprintf(stderr, "datapath: %s\n", d->err);
		exit(1);
	}
	return fd;
}

static void *prefaulted(size_t len)
{
	char *p = malloc(len);

	if (!p)
		die("malloc", ENOMEM);
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
	struct vfio_dev src, tgt;
	char *stream, *copy;
	int sfd, rfd;
	ssize_t n;

	dev_create(&src, type);
	dev_create(&tgt, type);
	state_size = attr_u64(&src, "state_size");
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
		die("read save fd", errno);
	peak_save = attr_u64(&src, "mig_peak_bytes");
	close(sfd);

	set_state(&tgt, VFIO_DEVICE_STATE_STOP);
	rfd = set_state(&tgt, VFIO_DEVICE_STATE_RESUMING);
	t0 = now_ns();
	for (size_t off = 0; off < len; off += n) {
		n = write(rfd, stream + off, iosz < len - off ? iosz : len - off);
		if (n <= 0)
			die("write resume fd", n ? errno : EIO);
	}
	t_write = now_ns() - t0;
	set_state(&tgt, VFIO_DEVICE_STATE_STOP);
	peak_resume = attr_u64(&tgt, "mig_peak_bytes");
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
	return 0;
}
