// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * stream_soak - a corrupted migration stream is rejected, never loaded.
 *
 * Saves a real stream from a vfmig device whose workload dirties it during
 * PRE_COPY (an initial image, middle images, the final image; 64 KiB
 * chunks, so every image has several), records the source state (digest,
 * generation and every byte of BAR2), then loads mutated copies into a
 * target device: RESUMING, write() in random pieces, RESUMING -> STOP.
 * Before each load the target's whole state is overwritten with garbage,
 * so nothing a load leaves out can pass for the source's data. Each stream
 * ends one of four ways:
 *
 *   rej_write  a write() failed (and RESUMING -> STOP then failed too)
 *   rej_stop   every write() succeeded, RESUMING -> STOP failed
 *   acc_equal  accepted; target state == source state
 *   acc_DIFF   accepted; target state != source state: the failure
 *
 * A rejected stream must leave the device in ERROR; it is reset for the
 * next one. Mutations: bit flips, 8-byte overwrites, truncation (anywhere
 * or at a record boundary), duplicated and dropped slices (anywhere or
 * whole records), and structured ones: drop one CHUNK_CRC record, drop a
 * whole middle image, swap two chunks (each with its CRC record).
 *
 * The program fails if any stream is accepted with a different state, if
 * the unmutated stream, or the same without its CHUNK_CRC records (an ABI
 * version 1 source), is not accepted with an equal state, if a rejected
 * stream leaves the device outside ERROR, or if the saved stream lacks the
 * CHUNK_CRC record (ABI version 2) before any FW_DATA record, or one whose
 * CRC-32C the userspace implementation disagrees with.
 *
 * Usage: stream_soak [-s SEED] [-n COUNT] [-t TYPE] [-i ITER] [-o DIR]
 *                    [-r FILE] [-v]
 *   -s SEED   seed of the mutations (default 1)
 *   -n COUNT  mutated streams (default 2200: 200 of each kind)
 *   -t TYPE   mdev type (default vfmig-4M)
 *   -i ITER   run only mutation ITER of the sequence (with -r: replay one)
 *   -o DIR    write the saved stream (base.raw, at the end) and the first
 *             streams accepted with a different state (fail-ITER-KIND.raw)
 *             into DIR
 *   -r FILE   load this saved stream instead of saving one; the reference
 *             state is then what the unmutated stream loads to
 *   -v        one line per stream
 * Mutation ITER of seed S is the same on every run over the same stream.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/vfio.h>

#include "crc32c.h"
#include "mdev.h"
#include "vfio_dev.h"
#include "vfmig_abi.h"
#include "vfmig_stream.h"

#define SRC_DIRTY_RATE	"1000"		/* pages per second in PRE_COPY */
#define SRC_CHUNK_SIZE	"65536"		/* 16 pages per chunk */
#define MIDDLE_ROUNDS	3
#define MAX_DUP		(128u << 10)	/* largest duplicated slice */
#define MAX_DUMPS	5		/* streams written with -o */
#define MAX_REPORTS	50		/* "not ok" lines of mutated streams */

/* ------------------------------------------------------------------ */
/* plumbing                                                            */
/* ------------------------------------------------------------------ */

static bool verbose;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "stream_soak: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* uniform in [0, n), n > 0 */
static uint64_t below(uint64_t *s, uint64_t n)
{
	return rnd(s) % n;
}

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_put(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		uint8_t *p = realloc(b->p, cap);

		if (!p)
			die("out of memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

/* ------------------------------------------------------------------ */
/* devices                                                             */
/* ------------------------------------------------------------------ */

struct dev {
	struct vfio_dev v;
	char uuid[37];
	uint64_t bar2_off, state_size;
	bool created;
};

static struct dev g_src, g_tgt;

static void dev_remove(struct dev *d)
{
	if (d->v.fd >= 0 || d->v.group >= 0 || d->v.container >= 0)
		vfio_dev_close(&d->v);
	if (d->created && mdev_remove(d->uuid))
		fprintf(stderr, "stream_soak: cannot remove mdev %s\n", d->uuid);
	d->created = false;
}

static void cleanup(void)
{
	dev_remove(&g_src);
	dev_remove(&g_tgt);
}

static void dev_create(struct dev *d, const char *type)
{
	uint64_t size;
	int ret;

	memset(d, 0, sizeof(*d));
	d->v.fd = d->v.group = d->v.container = -1;
	ret = mdev_create(type, d->uuid);
	if (ret)
		die("create a %s device: %s", type, strerror(-ret));
	d->created = true;
	if (vfio_dev_open(&d->v, d->uuid))
		die("%s", d->v.err);
	if (!d->v.is_vfmig)
		die("%s is not a vfmig device", d->uuid);
	if (vfio_dev_region(&d->v, VFIO_PCI_BAR2_REGION_INDEX, &d->bar2_off, &size))
		die("%s", d->v.err);
	d->state_size = size;
}

static void knob(struct dev *d, const char *attr, const char *val)
{
	int ret = vfmig_sysfs_write(d->v.sysfs, attr, val);

	if (ret)
		die("%s: write %s=%s: %s", d->uuid, attr, val, strerror(-ret));
}

static uint64_t knob_u64(struct dev *d, const char *attr, int base)
{
	char b[64];
	int ret = vfmig_sysfs_read(d->v.sysfs, attr, b, sizeof(b));

	if (ret)
		die("%s: read %s: %s", d->uuid, attr, strerror(-ret));
	return strtoull(b, NULL, base);
}

static int set_state(struct dev *d, uint32_t st, int *fd)
{
	return vfio_dev_set_state(&d->v, st, fd);
}

static uint32_t get_state(struct dev *d)
{
	uint32_t st;

	if (vfio_dev_get_state(&d->v, &st))
		die("%s", d->v.err);
	return st;
}

static void bar2_read(struct dev *d, uint8_t *out)
{
	size_t done = 0;

	while (done < d->state_size) {
		ssize_t n = pread(d->v.fd, out + done, d->state_size - done,
				  (off_t)(d->bar2_off + done));

		if (n <= 0)
			die("%s: read BAR2 at %zu: %s", d->uuid, done,
			    n ? strerror(errno) : "short read");
		done += (size_t)n;
	}
}

static void bar2_write(struct dev *d, const uint8_t *in)
{
	size_t done = 0;

	while (done < d->state_size) {
		ssize_t n = pwrite(d->v.fd, in + done, d->state_size - done,
				   (off_t)(d->bar2_off + done));

		if (n <= 0)
			die("%s: write BAR2 at %zu: %s", d->uuid, done,
			    n ? strerror(errno) : "short write");
		done += (size_t)n;
	}
}

/* ------------------------------------------------------------------ */
/* the saved stream                                                    */
/* ------------------------------------------------------------------ */

/* A chunk with the CHUNK_CRC record right before it, if any. */
struct unit {
	size_t off, len;	/* [CHUNK_CRC] FW_DATA */
	size_t fw_off;
	uint32_t image_seq, chunk_seq;
	uint16_t flags;
	bool crc;
};

struct image {
	size_t off, len;	/* its units */
	uint32_t seq, chunks;
	bool full, final;
};

struct stream {
	struct buf b;
	struct unit *u;
	size_t nu;
	struct image img[256];
	size_t nimg;
	size_t crc_off[4096];	/* CHUNK_CRC records */
	size_t ncrc;
	size_t bound[8192];	/* record boundaries, 0 and len included */
	size_t nbound;
	struct vs_totals tot;
};

/* Parse the saved stream as a strict loader would; index its records. */
static void index_stream(struct stream *s, char *why, size_t whylen)
{
	struct vs_parser p;
	size_t off = 0, cap = 0;
	size_t prev_crc = SIZE_MAX;

	*why = 0;
	vs_init(&p, VS_OPT_VFMIG);
	s->nu = s->nimg = s->ncrc = s->nbound = 0;
	s->bound[s->nbound++] = 0;
	while (off < s->b.len) {
		struct vs_record r;
		int got;
		ssize_t n = vs_feed(&p, s->b.p + off, s->b.len - off, &r, &got);

		if (n < 0)
			die("the saved stream does not parse: %s", p.err);
		off += (size_t)n;
		if (!got)
			continue;
		if (s->nbound < sizeof(s->bound) / sizeof(s->bound[0]))
			s->bound[s->nbound++] = off;
		if (r.kind == VS_REC_CHUNK_CRC) {
			if (s->ncrc < sizeof(s->crc_off) / sizeof(s->crc_off[0]))
				s->crc_off[s->ncrc++] = r.offset;
			prev_crc = r.offset;
			continue;
		}
		if (r.kind != VS_REC_FW_DATA) {
			prev_crc = SIZE_MAX;
			continue;
		}
		if (s->nu == cap) {
			cap = cap ? cap * 2 : 256;
			s->u = realloc(s->u, cap * sizeof(*s->u));
			if (!s->u)
				die("out of memory");
		}
		{
			struct unit *u = &s->u[s->nu++];

			u->crc = prev_crc != SIZE_MAX &&
				 prev_crc + VFMIG_CRC_RECORD_BYTES == r.offset;
			u->off = u->crc ? prev_crc : r.offset;
			u->fw_off = r.offset;
			u->len = off - u->off;
			u->image_seq = r.chunk.image_seq;
			u->chunk_seq = r.chunk.chunk_seq;
			u->flags = r.chunk.flags;
			if (r.crc_state == VS_CRC_BAD && !*why)
				snprintf(why, whylen,
					 "FW_DATA record at offset %" PRIu64 " (image %u chunk %u): CHUNK_CRC says 0x%08x covering %" PRIu64 " bytes, userspace CRC-32C 0x%08x of %" PRIu64,
					 r.offset, r.chunk.image_seq, r.chunk.chunk_seq,
					 r.crc.crc32c, r.crc.covered, r.crc_actual,
					 16 + r.size);
			else if (r.crc_state != VS_CRC_OK && !*why)
				snprintf(why, whylen,
					 "FW_DATA record at offset %" PRIu64 " (image %u chunk %u) has no CHUNK_CRC record before it",
					 r.offset, r.chunk.image_seq, r.chunk.chunk_seq);
			if (r.chunk.flags & VFMIG_CHUNK_F_FIRST) {
				struct image *im;

				if (s->nimg == sizeof(s->img) / sizeof(s->img[0]))
					die("more than %zu images", s->nimg);
				im = &s->img[s->nimg++];
				memset(im, 0, sizeof(*im));
				im->off = u->off;
				im->seq = r.chunk.image_seq;
				im->full = r.chunk.flags & VFMIG_CHUNK_F_FULL;
				im->final = r.chunk.flags & VFMIG_CHUNK_F_FINAL;
			}
			if (s->nimg) {
				struct image *im = &s->img[s->nimg - 1];

				im->chunks++;
				im->len = off - im->off;
			}
		}
		prev_crc = SIZE_MAX;
	}
	if (vs_end(&p))
		die("the saved stream is incomplete: %s", p.err);
	s->tot = p.tot;
}

/* Read PRE_COPY data until ENOMSG; returns the bytes read. */
static size_t pump(int fd, struct buf *b, uint8_t *tmp, size_t tmplen)
{
	size_t tot = 0;

	for (;;) {
		ssize_t n = read(fd, tmp, tmplen);

		if (n < 0 && errno == ENOMSG)
			return tot;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("save read in PRE_COPY: %s", n ? strerror(errno) : "EOF");
		buf_put(b, tmp, (size_t)n);
		tot += (size_t)n;
	}
}

/*
 * Save a PRE_COPY migration of the source: the initial image, middle
 * images while the workload dirties the state, the final image.
 */
static void save_stream(struct dev *src, struct buf *b)
{
	size_t tmplen = 1 << 20;
	uint8_t *tmp = malloc(tmplen);
	int fd, ret;

	if (!tmp)
		die("out of memory");
	knob(src, "chunk_size", SRC_CHUNK_SIZE);
	knob(src, "dirty_rate", SRC_DIRTY_RATE);
	if (set_state(src, VFIO_DEVICE_STATE_PRE_COPY, &fd) || fd < 0)
		die("source to PRE_COPY: %s", src->v.err);
	pump(fd, b, tmp, tmplen);
	for (int round = 0; round < MIDDLE_ROUNDS; round++) {
		uint64_t initial, dirty;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		msleep(60);
		ret = vfio_precopy_info(fd, &initial, &dirty);
		if (ret)
			die("PRECOPY_INFO: %s", strerror(-ret));
		if (!dirty)
			continue;
		if (poll(&pfd, 1, 60000) != 1)
			die("no middle image within 60 s");
		pump(fd, b, tmp, tmplen);
	}
	msleep(30);	/* pages for the final image */
	if (set_state(src, VFIO_DEVICE_STATE_STOP_COPY, NULL))
		die("source to STOP_COPY: %s", src->v.err);
	for (;;) {
		ssize_t n = read(fd, tmp, tmplen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("save read in STOP_COPY: %s", strerror(errno));
		if (!n)
			break;
		buf_put(b, tmp, (size_t)n);
	}
	close(fd);
	free(tmp);
}

/* ------------------------------------------------------------------ */
/* mutations                                                           */
/* ------------------------------------------------------------------ */

enum kind {
	K_BITFLIP, K_OVERWRITE8, K_TRUNCATE, K_TRUNCATE_REC, K_DUP_SLICE,
	K_DUP_RECORDS, K_DROP_SLICE, K_DROP_RECORDS, K_DROP_CRC,
	K_DROP_IMAGE, K_SWAP_CHUNKS, K_NR,
};

static const char *const kind_names[K_NR] = {
	"bitflip", "overwrite8", "truncate", "truncate_rec", "dup_slice",
	"dup_records", "drop_slice", "drop_records", "drop_crc",
	"drop_image", "swap_chunks",
};

enum outcome { O_REJ_WRITE, O_REJ_STOP, O_ACC_EQUAL, O_ACC_DIFF, O_NR };

static const char *const outcome_names[O_NR] = {
	"rej_write", "rej_stop", "acc_equal", "acc_DIFF",
};

/* Middle images: neither the first nor the final one. */
static size_t middle_images(const struct stream *s, size_t *idx)
{
	size_t n = 0;

	for (size_t i = 1; i < s->nimg; i++)
		if (!s->img[i].final)
			idx[n++] = i;
	return n;
}

static bool applicable(const struct stream *s, enum kind k)
{
	size_t idx[256];

	switch (k) {
	case K_DROP_CRC:
		return s->ncrc > 0;
	case K_DROP_IMAGE:
		return middle_images(s, idx) > 0;
	case K_SWAP_CHUNKS:
		return s->nu >= 2;
	default:
		return s->b.len > 16;
	}
}

/* out = in[0, a) + ins + in[b, len) */
static void edit(struct buf *out, const struct buf *in, size_t a, size_t b,
		   const uint8_t *ins, size_t inslen)
{
	out->len = 0;
	buf_put(out, in->p, a);
	if (inslen)
		buf_put(out, ins, inslen);
	buf_put(out, in->p + b, in->len - b);
}

/* A random record boundary in [lo, hi] (indexes into s->bound). */
static size_t rand_bound(const struct stream *s, uint64_t *r, size_t lo, size_t hi)
{
	return s->bound[lo + below(r, hi - lo + 1)];
}

/*
 * Build mutation @k of the saved stream into @m; @what describes it.
 * Every mutation changes the stream.
 */
static void mutate(const struct stream *s, enum kind k, uint64_t *r,
		   struct buf *m, char *what, size_t wl)
{
	const struct buf *b = &s->b;
	size_t a, n, i, j, idx[256];

	switch (k) {
	case K_BITFLIP:
		a = below(r, b->len);
		i = below(r, 8);
		edit(m, b, b->len, b->len, NULL, 0);
		m->p[a] ^= (uint8_t)(1u << i);
		snprintf(what, wl, "bit %zu of byte %zu", i, a);
		break;
	case K_OVERWRITE8:
		a = below(r, b->len - 7);
		edit(m, b, b->len, b->len, NULL, 0);
		do {
			for (i = 0; i < 8; i++)
				m->p[a + i] = (uint8_t)rnd(r);
		} while (!memcmp(m->p + a, b->p + a, 8));
		snprintf(what, wl, "8 bytes at %zu", a);
		break;
	case K_TRUNCATE:	/* never to 0 bytes: an empty stream is no migration */
		a = 1 + below(r, b->len - 1);
		edit(m, b, b->len, b->len, NULL, 0);
		m->len = a;
		snprintf(what, wl, "cut at %zu of %zu", a, b->len);
		break;
	case K_TRUNCATE_REC:	/* at a record boundary after the first, before the end */
		a = rand_bound(s, r, 1, s->nbound - 2);
		edit(m, b, b->len, b->len, NULL, 0);
		m->len = a;
		snprintf(what, wl, "cut at record boundary %zu of %zu", a, b->len);
		break;
	case K_DUP_SLICE:
		n = 1 + below(r, MAX_DUP);
		a = below(r, b->len);
		if (n > b->len - a)
			n = b->len - a;
		m->len = 0;
		buf_put(m, b->p, a + n);
		buf_put(m, b->p + a, n);
		buf_put(m, b->p + a + n, b->len - a - n);
		snprintf(what, wl, "[%zu, +%zu) twice", a, n);
		break;
	case K_DUP_RECORDS:	/* 1..3 whole records replayed */
		i = below(r, s->nbound - 1);
		j = i + 1 + below(r, 3);
		if (j > s->nbound - 1)
			j = s->nbound - 1;
		a = s->bound[i];
		n = s->bound[j] - a;
		m->len = 0;
		buf_put(m, b->p, a + n);
		buf_put(m, b->p + a, n);
		buf_put(m, b->p + a + n, b->len - a - n);
		snprintf(what, wl, "records %zu..%zu [%zu, +%zu) twice", i, j - 1, a, n);
		break;
	case K_DROP_SLICE:
		n = 1 + below(r, MAX_DUP);
		a = below(r, b->len);
		if (n > b->len - a)
			n = b->len - a;
		edit(m, b, a, a + n, NULL, 0);
		snprintf(what, wl, "[%zu, +%zu) dropped", a, n);
		break;
	case K_DROP_RECORDS:	/* 1..3 whole records */
		i = below(r, s->nbound - 1);
		j = i + 1 + below(r, 3);
		if (j > s->nbound - 1)
			j = s->nbound - 1;
		edit(m, b, s->bound[i], s->bound[j], NULL, 0);
		snprintf(what, wl, "records %zu..%zu [%zu, %zu) dropped", i, j - 1,
			 s->bound[i], s->bound[j]);
		break;
	case K_DROP_CRC:
		i = below(r, s->ncrc);
		a = s->crc_off[i];
		edit(m, b, a, a + VFMIG_CRC_RECORD_BYTES, NULL, 0);
		snprintf(what, wl, "CHUNK_CRC record %zu of %zu (offset %zu) dropped", i,
			 s->ncrc, a);
		break;
	case K_DROP_IMAGE:
		n = middle_images(s, idx);
		i = idx[below(r, n)];
		edit(m, b, s->img[i].off, s->img[i].off + s->img[i].len, NULL, 0);
		snprintf(what, wl, "middle image %u (%u chunks, %zu bytes) dropped",
			 s->img[i].seq, s->img[i].chunks, s->img[i].len);
		break;
	case K_SWAP_CHUNKS: {
		const struct unit *x, *y;

		i = below(r, s->nu);
		do {
			j = below(r, s->nu);
		} while (j == i);
		if (i > j) {
			size_t t = i;

			i = j;
			j = t;
		}
		x = &s->u[i];
		y = &s->u[j];
		m->len = 0;
		buf_put(m, b->p, x->off);
		buf_put(m, b->p + y->off, y->len);
		buf_put(m, b->p + x->off + x->len, y->off - x->off - x->len);
		buf_put(m, b->p + x->off, x->len);
		buf_put(m, b->p + y->off + y->len, b->len - y->off - y->len);
		snprintf(what, wl, "image %u chunk %u <-> image %u chunk %u",
			 x->image_seq, x->chunk_seq, y->image_seq, y->chunk_seq);
		break;
	}
	default:
		die("bad mutation kind %d", k);
	}
}

/* ------------------------------------------------------------------ */
/* loading                                                             */
/* ------------------------------------------------------------------ */

struct ref {
	uint32_t digest;
	uint64_t generation;
	uint8_t *state;
};

struct target {
	struct dev *d;
	uint64_t ns_prepare, ns_write, ns_stop, ns_check;	/* where time goes */
	int rfd;
	uint8_t *garbage;	/* written over the state before each load */
	uint8_t *state;		/* scratch: the state after a load */
	unsigned long not_error;	/* rejected, but the device not in ERROR */
};

/* Target: reset to RUNNING, state overwritten, RESUMING with a new fd. */
static void target_prepare(struct target *t)
{
	if (t->rfd >= 0)
		close(t->rfd);
	t->rfd = -1;
	if (vfio_dev_reset(&t->d->v))
		die("%s", t->d->v.err);
	if (get_state(t->d) != VFIO_DEVICE_STATE_RUNNING)
		die("target not RUNNING after reset");
	bar2_write(t->d, t->garbage);
	if (set_state(t->d, VFIO_DEVICE_STATE_RESUMING, &t->rfd) || t->rfd < 0)
		die("target to RESUMING: %s", t->d->v.err);
}

/*
 * Load @len bytes in random pieces, then RESUMING -> STOP; classify.
 * @diff describes how an accepted state differs.
 */
static enum outcome load(struct target *t, const struct ref *ref,
			 const uint8_t *p, size_t len, uint64_t *r,
			 char *diff, size_t dl, size_t *werr_at, int *werr)
{
	/* one stream in five in pieces of up to 4 KiB, the others mixed */
	bool small = !below(r, 5);
	size_t off = 0;
	bool wfail = false;
	uint32_t digest;
	uint64_t gen;

	uint64_t t0 = now_ns(), t1, t2, t3;

	*diff = 0;
	*werr = 0;
	target_prepare(t);
	t1 = now_ns();
	t->ns_prepare += t1 - t0;
	while (off < len) {
		size_t n = 1 + below(r, small ? 4096 : below(r, 4) ? 256 << 10 : 64);
		ssize_t w;

		if (n > len - off)
			n = len - off;
		w = write(t->rfd, p + off, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*werr = w ? errno : EIO;
			*werr_at = off;
			wfail = true;
			break;
		}
		off += (size_t)w;
	}
	t2 = now_ns();
	t->ns_write += t2 - t1;
	if (set_state(t->d, VFIO_DEVICE_STATE_STOP, NULL)) {
		if (get_state(t->d) != VFIO_DEVICE_STATE_ERROR)
			t->not_error++;
		t->ns_stop += now_ns() - t2;
		return wfail ? O_REJ_WRITE : O_REJ_STOP;
	}
	t3 = now_ns();
	t->ns_stop += t3 - t2;
	/* Accepted (even after a failed write: that is a failure too). */
	digest = (uint32_t)knob_u64(t->d, "digest", 16);
	gen = knob_u64(t->d, "generation", 10);
	bar2_read(t->d, t->state);
	t->ns_check += now_ns() - t3;
	if (digest == ref->digest && gen == ref->generation &&
	    !memcmp(t->state, ref->state, t->d->state_size) && !wfail)
		return O_ACC_EQUAL;
	{
		size_t pages = 0, first = SIZE_MAX;

		for (size_t i = 0; i < t->d->state_size; i += VFMIG_PAGE_SIZE)
			if (memcmp(t->state + i, ref->state + i, VFMIG_PAGE_SIZE)) {
				pages++;
				if (first == SIZE_MAX)
					first = i / VFMIG_PAGE_SIZE;
			}
		snprintf(diff, dl, "digest %08x (source %08x), generation %" PRIu64
			 " (source %" PRIu64 "), %zu pages differ (first %zd)%s",
			 digest, ref->digest, gen, ref->generation, pages,
			 first == SIZE_MAX ? (ssize_t)-1 : (ssize_t)first,
			 wfail ? ", after a failed write()" : "");
	}
	return O_ACC_DIFF;
}

static void dump(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[512];
	FILE *f;

	if (!dir)
		return;
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f))
		fprintf(stderr, "stream_soak: cannot write %s\n", path);
	else
		printf("# wrote %s\n", path);
}

static void read_file(const char *path, struct buf *b)
{
	uint8_t tmp[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_put(b, tmp, n);
	fclose(f);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	uint64_t seed = 1, count = 2200, only = UINT64_MAX, t0;
	const char *type = "vfmig-4M", *outdir = NULL, *replay = NULL;
	static struct stream s;
	struct target t = { .rfd = -1 };
	struct ref ref;
	struct buf m = { 0 };
	unsigned long cnt[K_NR][O_NR] = { { 0 } }, tot[O_NR] = { 0 };
	unsigned long dumps = 0;
	char crc_why[256], diff[256], what[160];
	bool fail = false;
	int c;

	while ((c = getopt(argc, argv, "s:n:t:i:o:r:vh")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 't': type = optarg; break;
		case 'i': only = strtoull(optarg, NULL, 0); break;
		case 'o': outdir = optarg; break;
		case 'r': replay = optarg; break;
		case 'v': verbose = true; break;
		default:
			fprintf(stderr, "usage: stream_soak [-s SEED] [-n COUNT] [-t TYPE] "
				"[-i ITER] [-o DIR] [-r FILE] [-v]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	atexit(cleanup);

	dev_create(&g_tgt, type);
	knob(&g_tgt, "dirty_rate", "0");
	ref.state = malloc(g_tgt.state_size);
	t.d = &g_tgt;
	t.state = malloc(g_tgt.state_size);
	t.garbage = malloc(g_tgt.state_size);
	if (!ref.state || !t.state || !t.garbage)
		die("out of memory");
	{
		uint64_t g = 0x5eed0000u ^ seed;

		for (size_t i = 0; i < g_tgt.state_size; i += 8) {
			uint64_t v = rnd(&g);

			memcpy(t.garbage + i, &v, 8);
		}
	}

	if (replay) {
		read_file(replay, &s.b);
	} else {
		dev_create(&g_src, type);
		save_stream(&g_src, &s.b);
		ref.digest = (uint32_t)knob_u64(&g_src, "digest", 16);
		ref.generation = knob_u64(&g_src, "generation", 10);
		bar2_read(&g_src, ref.state);
		if (set_state(&g_src, VFIO_DEVICE_STATE_STOP, NULL))
			die("source to STOP: %s", g_src.v.err);
		dev_remove(&g_src);
	}
	index_stream(&s, crc_why, sizeof(crc_why));
	printf("# stream: %zu bytes, %" PRIu64 " records, %zu images (", s.b.len,
	       s.tot.records, s.nimg);
	for (size_t i = 0; i < s.nimg; i++)
		printf("%s%s%u:%u", i ? " " : "", s.img[i].full ? "F" : s.img[i].final ? "L" : "M",
		       s.img[i].seq, s.img[i].chunks);
	printf(" chunks), %" PRIu64 " CHUNK_CRC records, %" PRIu64 " chunks verified by userspace CRC-32C\n",
	       s.tot.crc_records, s.tot.crc_ok);
	if (*crc_why) {
		printf("not ok stream-crc: %s\n", crc_why);
		fail = true;
	} else {
		printf("ok stream-crc: a CHUNK_CRC record before each of %zu FW_DATA records, all verified\n",
		       s.nu);
	}
	if (s.nimg < 3 || s.img[0].chunks < 2) {
		printf("not ok stream-shape: want >= 3 images and a multi-chunk initial image\n");
		fail = true;
	}

	/* The unmutated stream loads, in any pieces, to the source's state. */
	for (int k = 0; k < 3; k++) {
		uint64_t r = seed * 31 + (uint64_t)k;
		size_t at = 0;
		int werr = 0;
		enum outcome o;

		if (replay && k == 0) {
			/* the reference: what the unmutated stream loads to */
			target_prepare(&t);
			for (size_t off = 0; off < s.b.len;) {
				ssize_t w = write(t.rfd, s.b.p + off, s.b.len - off);

				if (w <= 0)
					die("replayed stream: write at %zu: %s", off, strerror(errno));
				off += (size_t)w;
			}
			if (set_state(&g_tgt, VFIO_DEVICE_STATE_STOP, NULL))
				die("replayed stream not accepted: %s", g_tgt.v.err);
			ref.digest = (uint32_t)knob_u64(&g_tgt, "digest", 16);
			ref.generation = knob_u64(&g_tgt, "generation", 10);
			bar2_read(&g_tgt, ref.state);
		}
		o = load(&t, &ref, s.b.p, s.b.len, &r, diff, sizeof(diff), &at, &werr);
		if (o != O_ACC_EQUAL) {
			printf("not ok unmutated-%d: %s%s%s%s\n", k, outcome_names[o],
			       werr ? ", write error: " : "", werr ? strerror(werr) : "",
			       diff);
			fail = true;
		} else {
			printf("ok unmutated-%d: accepted, target state == source state "
			       "(digest %08x)\n", k, ref.digest);
		}
	}

	/* Without any CHUNK_CRC record (an ABI version 1 source) it loads too. */
	if (s.ncrc) {
		uint64_t r = seed * 37;
		size_t prev = 0, at = 0;
		int werr = 0;
		enum outcome o;

		m.len = 0;
		for (size_t i = 0; i < s.ncrc; i++) {
			buf_put(&m, s.b.p + prev, s.crc_off[i] - prev);
			prev = s.crc_off[i] + VFMIG_CRC_RECORD_BYTES;
		}
		buf_put(&m, s.b.p + prev, s.b.len - prev);
		o = load(&t, &ref, m.p, m.len, &r, diff, sizeof(diff), &at, &werr);
		if (o != O_ACC_EQUAL) {
			printf("not ok unmutated-nocrc: %s%s%s%s\n", outcome_names[o],
			       werr ? ", write error: " : "", werr ? strerror(werr) : "",
			       diff);
			fail = true;
		} else {
			printf("ok unmutated-nocrc: without its %zu CHUNK_CRC records, accepted "
			       "with the source state\n", s.ncrc);
		}
	}

	t0 = now_ns();
	for (uint64_t it = 0; it < count; it++) {
		uint64_t r = seed ^ (it * 0xd1b54a32d192ed03ull);
		enum kind k = (enum kind)(it % K_NR);
		size_t at = 0;
		int werr = 0;
		enum outcome o;

		rnd(&r);
		if (only != UINT64_MAX && it != only)
			continue;
		if (!applicable(&s, k))
			k = K_BITFLIP;
		mutate(&s, k, &r, &m, what, sizeof(what));
		o = load(&t, &ref, m.p, m.len, &r, diff, sizeof(diff), &at, &werr);
		cnt[k][o]++;
		tot[o]++;
		if (o == O_ACC_DIFF) {
			char name[64];

			if (tot[O_ACC_DIFF] <= MAX_REPORTS)
				printf("not ok %" PRIu64 " %s: %s: accepted, %s\n", it,
				       kind_names[k], what, diff);
			if (dumps++ < MAX_DUMPS) {
				snprintf(name, sizeof(name), "fail-%" PRIu64 "-%s.raw", it,
					 kind_names[k]);
				dump(outdir, name, m.p, m.len);
			}
		} else if (verbose) {
			printf("# %" PRIu64 " %s: %s: %s", it, kind_names[k], what,
			       outcome_names[o]);
			if (o == O_REJ_WRITE)
				printf(" (%s at %zu)", strerror(werr), at);
			printf("\n");
		}
	}
	if (t.rfd >= 0)
		close(t.rfd);

	printf("# %-13s %8s", "mutation", "streams");
	for (int o = 0; o < O_NR; o++)
		printf(" %9s", outcome_names[o]);
	printf("\n");
	for (int k = 0; k < K_NR; k++) {
		unsigned long n = 0;

		for (int o = 0; o < O_NR; o++)
			n += cnt[k][o];
		if (!n)
			continue;
		printf("# %-13s %8lu", kind_names[k], n);
		for (int o = 0; o < O_NR; o++)
			printf(" %9lu", cnt[k][o]);
		printf("\n");
	}
	printf("# %-13s %8lu", "total", tot[0] + tot[1] + tot[2] + tot[3]);
	for (int o = 0; o < O_NR; o++)
		printf(" %9lu", tot[o]);
	printf("\n# %.1f s for the mutated streams (seed %" PRIu64 "): prepare %.1f s, "
	       "write %.1f s, RESUMING->STOP %.1f s, compare %.1f s\n",
	       (double)(now_ns() - t0) / 1e9, seed, t.ns_prepare / 1e9,
	       t.ns_write / 1e9, t.ns_stop / 1e9, t.ns_check / 1e9);
	if (t.not_error) {
		printf("not ok rejected-in-error: %lu rejected streams left the target outside ERROR\n",
		       t.not_error);
		fail = true;
	}
	if (tot[O_ACC_DIFF]) {
		printf("not ok no-silent-corruption: %lu of %lu mutated streams accepted with a target state different from the source\n",
		       tot[O_ACC_DIFF], tot[0] + tot[1] + tot[2] + tot[3]);
		fail = true;
	} else {
		printf("ok no-silent-corruption: 0 of %lu mutated streams accepted with a different state\n",
		       tot[0] + tot[1] + tot[2] + tot[3]);
	}
	if (!replay)
		dump(outdir, "base.raw", s.b.p, s.b.len);
	free(m.p);
	free(s.b.p);
	free(s.u);
	free(ref.state);
	free(t.state);
	free(t.garbage);
	return fail ? 1 : 0;
}
