// SPDX-License-Identifier: GPL-2.0-only
/*
 * trace_burst: the cost of one tracepoint hit, from a tight loop of one
 * cheap ioctl that fires a fixed number of vfmig events per call.
 *
 * Runs in the guest with vfmig.ko loaded. Creates one device of the given
 * mdev type (firmware latency 0, workload off), enters PRE_COPY, reads the
 * initial image up to PRE_COPY's temporary end of stream, then calls
 * VFIO_MIG_GET_PRECOPY_INFO CALLS times. With nothing dirty, each call runs
 * a QUERY_STATE_SIZE (vfmig_fw_cmd_submit, vfmig_fw_cmd_done) and reports
 * vfmig_precopy_info: count the events per call with
 * `perf stat -a -e 'vfmig:*'` around runs with different CALLS (bench/run
 * does). Time it once with tracing off and once per tracing mode:
 * ns per event = (ns per call, mode - ns per call, off) / events per call.
 *
 *   trace_burst [CALLS [TYPE [WARMUP]]]     default 20000 vfmig-4M 1000
 *
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
	fprintf(stderr, "trace_burst: %s: %s\n", what, strerror(errno));
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

static void dev_attr(const char *uuid, const char *attr, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), SYSDEV "%s/vfmig/%s", uuid, attr);
	sys_write(path, val);
}

static int set_state(int fd, uint32_t state)
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

	if (ioctl(fd, VFIO_DEVICE_FEATURE, &req))
		die("set state");
	return req.s.data_fd;
}

static int precopy_info(int dfd, struct vfio_precopy_info *info)
{
	info->argsz = sizeof(*info);
	info->flags = 0;
	return ioctl(dfd, VFIO_MIG_GET_PRECOPY_INFO, info);
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? strtol(argv[1], NULL, 0) : 20000;
	const char *type = argc > 2 ? argv[2] : "vfmig-4M";
	long warmup = argc > 3 ? strtol(argv[3], NULL, 0) : 1000;
	char path[256], link[256], uuid[37], *g, *buf;
	struct vfio_precopy_info info;
	uint64_t t0, t, initial = 0;
	int container, group, fd, dfd;
	size_t bufsz = 1 << 20;
	ssize_t n, len;

	if (calls < 0 || warmup < 0) {
		fprintf(stderr, "usage: trace_burst [CALLS [TYPE [WARMUP]]]\n");
		return 2;
	}
	buf = malloc(bufsz);
	if (!buf)
		die("malloc");

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	snprintf(uuid, sizeof(uuid), "b0f1e000-0000-4000-8000-%012x",
		 (unsigned int)getpid() << 4 | 7);
	snprintf(path, sizeof(path), TYPES "%s/create", type);
	sys_write(path, uuid);
	dev_attr(uuid, "fw_latency_us", "0");
	dev_attr(uuid, "fw_throughput", "0");
	dev_attr(uuid, "dirty_rate", "0");
	snprintf(path, sizeof(path), SYSDEV "%s/iommu_group", uuid);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		die(path);
	link[len] = 0;
	g = strrchr(link, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%s", g + 1);
	group = open(path, O_RDWR);
	if (group < 0)
		die(path);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (fd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");

	/* PRE_COPY, then the initial image up to the temporary end. */
	dfd = set_state(fd, VFIO_DEVICE_STATE_PRE_COPY);
	for (;;) {
		n = read(dfd, buf, bufsz);
		if (n > 0) {
			initial += n;
			continue;
		}
		if (n < 0 && errno == ENOMSG)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		die(n == 0 ? "save fd: unexpected EOF" : "read save fd");
	}
	if (precopy_info(dfd, &info))
		die("VFIO_MIG_GET_PRECOPY_INFO");
	if (info.initial_bytes || info.dirty_bytes) {
		errno = EPROTO;
		die("initial image not consumed or pages dirty");
	}

	for (long i = 0; i < warmup; i++)
		if (precopy_info(dfd, &info))
			die("VFIO_MIG_GET_PRECOPY_INFO");
	t0 = now_ns();
	for (long i = 0; i < calls; i++)
		if (precopy_info(dfd, &info))
			die("VFIO_MIG_GET_PRECOPY_INFO");
	t = now_ns() - t0;

	printf("{\"type\":\"%s\",\"calls\":%ld,\"warmup\":%ld,"
	       "\"initial_bytes_read\":%llu,\"total_ns\":%llu,"
	       "\"ns_per_call\":%.1f}\n",
	       type, calls, warmup, (unsigned long long)initial,
	       (unsigned long long)t, calls ? (double)t / calls : 0.0);

	close(dfd);
	close(fd);
	close(group);
	close(container);
	snprintf(path, sizeof(path), SYSDEV "%s/remove", uuid);
	sys_write(path, "1");
	free(buf);
	return 0;
}
