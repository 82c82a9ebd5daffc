// SPDX-License-Identifier: GPL-2.0-only
/*
 * datapath: how fast do the save file's read() and the resume file's
 * write() move a device image, against the kernel's own fastest file copy:
 * read() and write() of the same bytes, with the same I/O size, on a tmpfs
 * file, in the same run.
 *
 *   datapath [TYPE [IO_SIZE [REPS [TMPFS_DIR]]]]
 *            default vfmig-256M 1048576 5 /tmp
 *
 * Runs in the guest with vfmig.ko loaded. Creates a source and a target of
 * TYPE, captures the source's full image (STOP_COPY) once and writes it to
 * a file on TMPFS_DIR (must be tmpfs), then REPS times, in alternating
 * order:
 *   save_iso   STOP_COPY, wait until the firmware's SAVE has completed
 *              (debugfs fw_stats: every chunk is queued; mig_budget is
 *              raised so that it fits), then time the read() loop: the
 *              driver's read path alone;
 *   tmpfs_read the same bytes read() from the tmpfs file;
 *   resume     write() of the stream into the target in RESUMING, and the
 *              firmware's LOAD time inside those write()s (fw_stats):
 *              write - load is the driver's write path alone;
 *   tmpfs_write the same bytes write() over the tmpfs file (its pages
 *              exist: a plain copy into the page cache, the fastest write);
 *   save_e2e   STOP_COPY and read() at once: the firmware's SAVE (the
 *              emulated DMA into chunk buffers, the CHUNK_CRC) and read().
 * Every read() lands in the same pre-faulted buffer, every write() comes
 * from the same one. Prints one JSON object, per rep and medians.
 * Ratios (tmpfs time / driver time) only mean something within one run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/vfio.h>

#include "mdev.h"
#include "vfio_dev.h"
#include "vfmig_stream.h"

#define MAX_REPS 64

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

static void attr_set(struct vfio_dev *d, const char *attr, const char *val)
{
	int ret = vfmig_sysfs_write(d->sysfs, attr, val);

	if (ret)
		die(attr, -ret);
}

/* One opcode's line of debugfs fw_stats: "<op> count=N failed=N lat_ns=N". */
static void fw_stat(struct vfio_dev *d, const char *op, uint64_t *count,
		    uint64_t *lat_ns)
{
	char path[256], line[256];
	size_t n = strlen(op);
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/vfmig/%s/fw_stats", d->name);
	f = fopen(path, "r");
	if (!f)
		die(path, errno);
	*count = *lat_ns = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long c, fl, l;

		if (strncmp(line, op, n) || line[n] != ' ')
			continue;
		if (sscanf(line + n, " count=%llu failed=%llu lat_ns=%llu", &c, &fl, &l) == 3) {
			*count = c;
			*lat_ns = l;
		}
	}
	fclose(f);
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

/* read() @fd to EOF (at most @cap bytes) in @iosz pieces; returns bytes. */
static size_t read_all(int fd, char *dst, size_t cap, size_t iosz, const char *what)
{
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, dst + len, iosz < cap - len ? iosz : cap - len)) > 0)
		len += n;
	if (n < 0)
		die(what, errno);
	return len;
}

static void write_all(int fd, const char *src, size_t len, size_t iosz, const char *what)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, src + off, iosz < len - off ? iosz : len - off);

		if (n <= 0)
			die(what, n ? errno : EIO);
		off += n;
	}
}

/* Per-operation times of one pass, driver side and tmpfs side. */
struct pass {
	int n;
	double *drv, *tmp;	/* ns per operation */
	double drv_sum, tmp_sum;
};

struct ctx {
	struct vfio_dev src, tgt;
	size_t cap, iosz, len;
	char *dst;		/* every read() lands here */
	char *stream;		/* every write() comes from here */
	char *nocrc;		/* the stream without CHUNK_CRC records */
	size_t nocrc_len;
	int tfd;		/* the tmpfs file */
	uint64_t peak_save;
	size_t maxops;
};

static void pass_init(struct ctx *c, struct pass *p)
{
	p->n = 0;
	p->drv_sum = p->tmp_sum = 0;
	p->drv = calloc(c->maxops, sizeof(double));
	p->tmp = calloc(c->maxops, sizeof(double));
	if (!p->drv || !p->tmp)
		die("calloc", ENOMEM);
}

static void pass_add(struct ctx *c, struct pass *p, double drv, double tmp)
{
	if ((size_t)p->n >= c->maxops) {
		/* Short reads (the reader caught up with the SAVE): more room. */
		c->maxops *= 2;
		p->drv = realloc(p->drv, c->maxops * sizeof(double));
		p->tmp = realloc(p->tmp, c->maxops * sizeof(double));
		if (!p->drv || !p->tmp)
			die("realloc", ENOMEM);
	}
	p->drv[p->n] = drv;
	p->tmp[p->n++] = tmp;
	p->drv_sum += drv;
	p->tmp_sum += tmp;
}

/* Wait until the firmware's SAVE in flight has completed. */
static void wait_save(struct vfio_dev *d, uint64_t cnt0, uint64_t lat0)
{
	uint64_t cnt, lat;

	/* A SAVE's latency is accounted when it completes. */
	do {
		usleep(2000);
		fw_stat(d, "save", &cnt, &lat);
	} while (cnt == cnt0 || lat == lat0);
}

static uint64_t timed_read(int fd, char *dst, size_t n, ssize_t *got, const char *what)
{
	uint64_t t0 = now_ns();

	*got = read(fd, dst, n);
	if (*got < 0)
		die(what, errno);
	return now_ns() - t0;
}

/*
 * The save file's read() against tmpfs read(), one operation each in turn
 * (which goes first alternates), over the whole stream: a time slice lost
 * to the rest of the machine hits either side alike. @iso: first wait
 * until the SAVE has queued every chunk. The source goes back to STOP.
 */
static void read_pass(struct ctx *c, bool iso, struct pass *p)
{
	size_t offd = 0, offt = 0;
	uint64_t cnt0, lat0, td, tt;
	bool eofd = false, eoft = false;
	ssize_t nd, nt;
	int fd, k = 0;

	pass_init(c, p);
	fw_stat(&c->src, "save", &cnt0, &lat0);
	fd = set_state(&c->src, VFIO_DEVICE_STATE_STOP_COPY);
	if (iso) {
		wait_save(&c->src, cnt0, lat0);
		c->peak_save = attr_u64(&c->src, "mig_peak_bytes");
	}
	if (lseek(c->tfd, 0, SEEK_SET))
		die("lseek", errno);
	while (!eofd || !eoft) {
		td = tt = 0;
		nd = nt = 0;
		/* Each side reads its own way through the same bytes. */
		if (k++ % 2 && !eoft)
			tt = timed_read(c->tfd, c->dst + offt, c->iosz, &nt, "read tmpfs");
		if (!eofd)
			td = timed_read(fd, c->dst + offd, c->iosz, &nd, "read save fd");
		if (k % 2 && !eoft)
			tt = timed_read(c->tfd, c->dst + offt, c->iosz, &nt, "read tmpfs");
		eofd |= !nd;
		eoft |= !nt;
		offd += nd;
		offt += nt;
		if (nd || nt)
			pass_add(c, p, td, tt);
		if (offd > c->len || offt > c->len)
			die("the stream changed size", EIO);
	}
	if (offd != c->len || offt != c->len)
		die("the stream changed size", EIO);
	close(fd);
	set_state(&c->src, VFIO_DEVICE_STATE_STOP);
}

/*
 * The resume file's write() against tmpfs write() over the file's existing
 * pages, in turn as above. The driver side is the write() less the
 * firmware's LOAD time inside it (fw_stats, read between operations).
 */
static void write_pass(struct ctx *c, const char *src, size_t len, struct pass *p,
		       double *load_sum)
{
	uint64_t cnt, lat0, lat, t0, td, tt;
	int fd = set_state(&c->tgt, VFIO_DEVICE_STATE_RESUMING), k = 0;
	ssize_t nd, nt;

	pass_init(c, p);
	*load_sum = 0;
	if (lseek(c->tfd, 0, SEEK_SET))
		die("lseek", errno);
	for (size_t off = 0; off < len; off += nd, k++) {
		size_t want = c->iosz < len - off ? c->iosz : len - off;

		fw_stat(&c->tgt, "load", &cnt, &lat0);
		if (k % 2) {
			t0 = now_ns();
			nt = write(c->tfd, src + off, want);
			tt = now_ns() - t0;
		}
		t0 = now_ns();
		nd = write(fd, src + off, want);
		td = now_ns() - t0;
		if (!(k % 2)) {
			t0 = now_ns();
			nt = write(c->tfd, src + off, want);
			tt = now_ns() - t0;
		}
		if (nd <= 0 || nt != nd)
			die("write resume fd / tmpfs", nd < 0 || nt < 0 ? errno : EIO);
		fw_stat(&c->tgt, "load", &cnt, &lat);
		*load_sum += lat - lat0;
		pass_add(c, p, td > lat - lat0 ? td - (lat - lat0) : 0, tt);
	}
	set_state(&c->tgt, VFIO_DEVICE_STATE_STOP);
	close(fd);
}

/*
 * The stream without its CHUNK_CRC records, as an ABI version 1 source
 * sends it: the target loads it without checking (tools/lib's parser
 * finds the records). Returns its length.
 */
static size_t strip_crc(const char *in, size_t len, char *out)
{
	struct vs_parser p;
	size_t off = 0, start = 0, olen = 0;

	vs_init(&p, VS_OPT_VFMIG);
	while (off < len) {
		struct vs_record r;
		int got;
		ssize_t n = vs_feed(&p, in + off, len - off, &r, &got);

		if (n < 0) {
			fprintf(stderr, "datapath: the saved stream does not parse: %s\n", p.err);
			exit(1);
		}
		off += n;
		if (!got)
			continue;
		if (r.kind != VS_REC_CHUNK_CRC) {
			memcpy(out + olen, in + start, off - start);
			olen += off - start;
		}
		start = off;
	}
	return olen;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_pass(const char *name, struct pass *p, bool comma)
{
	double ds = p->drv_sum, ts = p->tmp_sum;

	printf("%s\"%s\":{\"ops\":%d,\"drv_sum_ns\":%.0f,\"tmpfs_sum_ns\":%.0f,"
	       "\"drv_median_ns\":%.0f,\"tmpfs_median_ns\":%.0f}",
	       comma ? "," : "", name, p->n, ds, ts, median(p->drv, p->n), median(p->tmp, p->n));
	free(p->drv);
	free(p->tmp);
}

int main(int argc, char **argv)
{
	const char *type = argc > 1 ? argv[1] : "vfmig-256M";
	size_t iosz = argc > 2 ? strtoul(argv[2], NULL, 0) : 1 << 20;
	int reps = argc > 3 ? atoi(argv[3]) : 5;
	const char *dir = argc > 4 ? argv[4] : "/tmp";
	char path[512], budget[32], sdig[16], tdig[16];
	struct pass iso, wr, wr_nocrc, e2e;
	struct ctx c = { .iosz = iosz };
	uint64_t state_size;
	struct statfs sf;
	double load_sum, load_sum_nocrc;
	int i;

	if (reps < 1 || !iosz) {
		fprintf(stderr, "usage: datapath [TYPE [IO_SIZE [REPS [TMPFS_DIR]]]]\n");
		return 2;
	}
	if (statfs(dir, &sf) || sf.f_type != TMPFS_MAGIC) {
		fprintf(stderr, "datapath: %s is not a tmpfs\n", dir);
		return 1;
	}
	dev_create(&c.src, type);
	dev_create(&c.tgt, type);
	state_size = attr_u64(&c.src, "state_size");
	/* Every chunk buffer of a full image fits: the SAVE never pauses. */
	snprintf(budget, sizeof(budget), "%llu",
		 (unsigned long long)(state_size * 2 < (1ull << 30) ? state_size * 2 : 1ull << 30));
	attr_set(&c.src, "mig_budget", budget);
	c.cap = state_size + state_size / 8 + (1 << 20);
	c.maxops = c.cap / iosz + 2;
	c.dst = prefaulted(c.cap);
	c.stream = prefaulted(c.cap);
	c.nocrc = prefaulted(c.cap);

	/* The stream, once, into the write buffer and the tmpfs file. */
	set_state(&c.src, VFIO_DEVICE_STATE_STOP);
	set_state(&c.tgt, VFIO_DEVICE_STATE_STOP);
	i = set_state(&c.src, VFIO_DEVICE_STATE_STOP_COPY);
	c.len = read_all(i, c.stream, c.cap, iosz, "read save fd");
	close(i);
	set_state(&c.src, VFIO_DEVICE_STATE_STOP);
	snprintf(path, sizeof(path), "%s/datapath.XXXXXX", dir);
	c.tfd = mkstemp(path);
	if (c.tfd < 0)
		die(path, errno);
	unlink(path);
	write_all(c.tfd, c.stream, c.len, iosz, "write tmpfs");
	c.nocrc_len = strip_crc(c.stream, c.len, c.nocrc);

	printf("{\"type\":\"%s\",\"state_size\":%llu,\"stream_bytes\":%zu,\"io_size\":%zu,"
	       "\"nocrc_bytes\":%zu,\"reps\":%d,\"runs\":[", type,
	       (unsigned long long)state_size, c.len, iosz, c.nocrc_len, reps);
	for (i = 0; i < reps; i++) {
		read_pass(&c, true, &iso);
		write_pass(&c, c.stream, c.len, &wr, &load_sum);
		write_pass(&c, c.nocrc, c.nocrc_len, &wr_nocrc, &load_sum_nocrc);
		read_pass(&c, false, &e2e);
		printf("%s{\"save_peak_bytes\":%llu,\"load_sum_ns\":%.0f,"
		       "\"load_sum_nocrc_ns\":%.0f,", i ? "," : "",
		       (unsigned long long)c.peak_save, load_sum, load_sum_nocrc);
		print_pass("save_read", &iso, false);
		print_pass("resume_write", &wr, true);
		print_pass("resume_write_nocrc", &wr_nocrc, true);
		print_pass("save_read_e2e", &e2e, true);
		printf("}");
		fflush(stdout);
	}
	printf("]}\n");
	/* The target loaded the source's state. */
	if (vfmig_sysfs_read(c.src.sysfs, "digest", sdig, sizeof(sdig)) ||
	    vfmig_sysfs_read(c.tgt.sysfs, "digest", tdig, sizeof(tdig)))
		die("digest", EIO);
	if (strcmp(sdig, tdig)) {
		fprintf(stderr, "datapath: target digest %s != source %s\n", tdig, sdig);
		return 1;
	}
	close(c.tfd);
	free(c.dst);
	free(c.stream);
	free(c.nocrc);
	dev_destroy(&c.src);
	dev_destroy(&c.tgt);
	return 0;
}
