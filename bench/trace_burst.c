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
	fprintf(stderr, "trace_burst: %s: %s\n", what, strerror(err));
	exit(1);
}

static void knob(struct vfio_dev *d, const char *attr, const char *val)
{
	int ret = vfmig_sysfs_write(d->sysfs, attr, val);

	if (ret)
		die(attr, -ret);
}

static void precopy_info(int dfd)
{
	uint64_t initial, dirty;
	int ret = vfio_precopy_info(dfd, &initial, &dirty);

	if (ret)
		die("VFIO_MIG_GET_PRECOPY_INFO", -ret);
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? strtol(argv[1], NULL, 0) : 20000;
	const char *type = argc > 2 ? argv[2] : "vfmig-4M";
	long warmup = argc > 3 ? strtol(argv[3], NULL, 0) : 1000;
	uint64_t t0, t, initial = 0, init_left, dirty;
	size_t bufsz = 1 << 20;
	struct vfio_dev d;
	char uuid[37], *buf;
	int dfd, ret;
	ssize_t n;

	if (calls < 0 || warmup < 0) {
		fprintf(stderr, "usage: trace_burst [CALLS [TYPE [WARMUP]]]\n");
		return 2;
	}
	buf = malloc(bufsz);
	if (!buf)
		die("malloc", ENOMEM);

	ret = mdev_create(type, uuid);
	if (ret)
		die(type, -ret);
	if (vfio_dev_open(&d, uuid)) {
		fprintf(stderr, "trace_burst: %s\n", d.err);
		mdev_remove(uuid);
		return 1;
	}
	knob(&d, "fw_latency_us", "0");
	knob(&d, "fw_throughput", "0");
	knob(&d, "dirty_rate", "0");

	/* PRE_COPY, then the initial image up to the temporary end. */
	if (vfio_dev_set_state(&d, VFIO_DEVICE_STATE_PRE_COPY, &dfd)) {
		fprintf(stderr, "trace_burst: %s\n", d.err);
		return 1;
	}
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
		die(n == 0 ? "save fd: unexpected EOF" : "read save fd",
		    n == 0 ? EIO : errno);
	}
	ret = vfio_precopy_info(dfd, &init_left, &dirty);
	if (ret)
		die("VFIO_MIG_GET_PRECOPY_INFO", -ret);
	if (init_left || dirty)
		die("initial image not consumed or pages dirty", EPROTO);

	for (long i = 0; i < warmup; i++)
		precopy_info(dfd);
	t0 = now_ns();
	for (long i = 0; i < calls; i++)
		precopy_info(dfd);
	t = now_ns() - t0;

	printf("{\"type\":\"%s\",\"calls\":%ld,\"warmup\":%ld,"
	       "\"initial_bytes_read\":%llu,\"total_ns\":%llu,"
	       "\"ns_per_call\":%.1f}\n",
	       type, calls, warmup, (unsigned long long)initial,
	       (unsigned long long)t, calls ? (double)t / calls : 0.0);

	close(dfd);
	vfio_dev_close(&d);
	mdev_remove(uuid);
	free(buf);
	return 0;
}
