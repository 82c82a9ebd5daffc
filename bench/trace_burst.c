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
 * Storm mode, a synthetic burst for a consumer (mig-top) to keep up with:
 *
 *   trace_burst storm CALLS_PER_S SECONDS [THREADS [TYPE]]
 *
 * THREADS threads (default 2), each on its own device, call it at a paced
 * total rate of CALLS_PER_S for SECONDS (as fast as they can if the rate
 * is out of reach), and report the calls made and the rate reached.
 *
 * Prints one JSON object. Ratios only mean something within one run.
 */
#include <errno.h>
#include <pthread.h>
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

/* A device of @type in PRE_COPY with its initial image read: *dfd. */
static void precopy_device(struct vfio_dev *d, char *uuid, const char *type, char *buf,
			   size_t bufsz, int *dfd, uint64_t *initial)
{
	uint64_t init_left, dirty;
	ssize_t n;
	int ret = mdev_create(type, uuid);

	if (ret)
		die(type, -ret);
	if (vfio_dev_open(d, uuid)) {
		fprintf(stderr, "trace_burst: %s\n", d->err);
		mdev_remove(uuid);
		exit(1);
	}
	knob(d, "fw_latency_us", "0");
	knob(d, "fw_throughput", "0");
	knob(d, "dirty_rate", "0");

	/* PRE_COPY, then the initial image up to the temporary end. */
	if (vfio_dev_set_state(d, VFIO_DEVICE_STATE_PRE_COPY, dfd)) {
		fprintf(stderr, "trace_burst: %s\n", d->err);
		exit(1);
	}
	*initial = 0;
	for (;;) {
		n = read(*dfd, buf, bufsz);
		if (n > 0) {
			*initial += n;
			continue;
		}
		if (n < 0 && errno == ENOMSG)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		die(n == 0 ? "save fd: unexpected EOF" : "read save fd",
		    n == 0 ? EIO : errno);
	}
	ret = vfio_precopy_info(*dfd, &init_left, &dirty);
	if (ret)
		die("VFIO_MIG_GET_PRECOPY_INFO", -ret);
	if (init_left || dirty)
		die("initial image not consumed or pages dirty", EPROTO);
}

struct storm {
	pthread_t th;
	struct vfio_dev d;
	char uuid[37];
	int dfd;
	double rate;		/* calls per second of this thread */
	uint64_t t0, end, calls;
};

static void *storm_fn(void *arg)
{
	struct storm *w = arg;
	uint64_t t;

	for (;;) {
		/* Pace in batches: ahead of the rate, wait a little. */
		for (int i = 0; i < 64; i++)
			precopy_info(w->dfd);
		w->calls += 64;
		t = now_ns();
		if (t >= w->end)
			break;
		if ((double)w->calls > w->rate * (double)(t - w->t0) / 1e9)
			usleep(200);
	}
	return NULL;
}

static int storm_main(int argc, char **argv)
{
	double rate = argc > 2 ? strtod(argv[2], NULL) : 0;
	double secs = argc > 3 ? strtod(argv[3], NULL) : 0;
	int nth = argc > 4 ? atoi(argv[4]) : 2;
	const char *type = argc > 5 ? argv[5] : "vfmig-4M";
	size_t bufsz = 1 << 20;
	char *buf = malloc(bufsz);
	struct storm *w;
	uint64_t t0, t1, calls = 0, initial;
	int i;

	if (rate <= 0 || secs <= 0 || nth < 1 || nth > 64) {
		fprintf(stderr, "usage: trace_burst storm CALLS_PER_S SECONDS [THREADS [TYPE]]\n");
		return 2;
	}
	w = calloc(nth, sizeof(*w));
	if (!buf || !w)
		die("malloc", ENOMEM);
	for (i = 0; i < nth; i++)
		precopy_device(&w[i].d, w[i].uuid, type, buf, bufsz, &w[i].dfd, &initial);
	t0 = now_ns();
	for (i = 0; i < nth; i++) {
		w[i].rate = rate / nth;
		w[i].t0 = t0;
		w[i].end = t0 + (uint64_t)(secs * 1e9);
		if (pthread_create(&w[i].th, NULL, storm_fn, &w[i]))
			die("pthread_create", EAGAIN);
	}
	for (i = 0; i < nth; i++) {
		pthread_join(w[i].th, NULL);
		calls += w[i].calls;
	}
	t1 = now_ns();
	printf("{\"mode\":\"storm\",\"type\":\"%s\",\"threads\":%d,\"target_calls_per_s\":%.0f,"
	       "\"calls\":%llu,\"ns\":%llu,\"calls_per_s\":%.0f,\"start_mono_ns\":%llu,"
	       "\"end_mono_ns\":%llu}\n",
	       type, nth, rate, (unsigned long long)calls, (unsigned long long)(t1 - t0),
	       calls * 1e9 / (double)(t1 - t0), (unsigned long long)t0, (unsigned long long)t1);
	for (i = 0; i < nth; i++) {
		close(w[i].dfd);
		vfio_dev_close(&w[i].d);
		mdev_remove(w[i].uuid);
	}
	free(w);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	long calls, warmup;
	const char *type;
	uint64_t t0, t, initial = 0;
	size_t bufsz = 1 << 20;
	struct vfio_dev d;
	char uuid[37], *buf;
	int dfd;

	if (argc > 1 && !strcmp(argv[1], "storm"))
		return storm_main(argc, argv);
	calls = argc > 1 ? strtol(argv[1], NULL, 0) : 20000;
	type = argc > 2 ? argv[2] : "vfmig-4M";
	warmup = argc > 3 ? strtol(argv[3], NULL, 0) : 1000;
	if (calls < 0 || warmup < 0) {
		fprintf(stderr, "usage: trace_burst [CALLS [TYPE [WARMUP]]]\n");
		return 2;
	}
	buf = malloc(bufsz);
	if (!buf)
		die("malloc", ENOMEM);
	precopy_device(&d, uuid, type, buf, bufsz, &dfd, &initial);

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
