// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * The Perfetto timeline (mig_join.h: mig_perfetto): vfmig events of one or
 * more hosts as a Trace Event Format JSON file, which ui.perfetto.dev and
 * chrome://tracing open. Events are buffered and written sorted by track
 * and time, so every track's timestamps are non-decreasing and slices nest.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig_join.h"
#include "vfmig_abi.h"

enum track { TK_STATES, TK_IMAGES, TK_CHUNKS, TK_FW, TK_NR };
static const char *const track_names[TK_NR] = {
	"states", "images", "chunks and loads", "firmware",
};
#define TID_MIGRATIONS	1	/* per host: the joined windows */

struct pev {
	int pid, tid;
	int64_t ts, dur;	/* ns from the base; dur -1: not a slice */
	int order;		/* metadata first */
	char *json;
};

struct out {
	struct pev *v;
	size_t n, cap;
	int64_t base;
	bool failed;
};

static int tid_of(uint32_t dev, enum track t)
{
	return 16 + (int)dev * TK_NR + (int)t;
}

static void add(struct out *o, int pid, int tid, int64_t ts, int64_t dur,
		int order, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void add(struct out *o, int pid, int tid, int64_t ts, int64_t dur,
		int order, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int len;

	if (o->failed)
		return;
	va_start(ap, fmt);
	len = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (len < 0) {
		o->failed = true;
		return;
	}
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 1024;
		struct pev *p = realloc(o->v, nc * sizeof(*p));

		if (!p) {
			free(s);
			o->failed = true;
			return;
		}
		o->v = p;
		o->cap = nc;
	}
	o->v[o->n++] = (struct pev){ pid, tid, ts, dur, order, s };
}

/* "ts" and "dur" in microseconds with nanosecond digits. */
#define US_FMT "%" PRId64 ".%03" PRId64
#define US(x) (int64_t)((x) / 1000), (int64_t)((x) % 1000)

static void slice(struct out *o, int pid, int tid, int64_t t0, int64_t t1,
		  const char *name, const char *args)
{
	int64_t ts = t0 - o->base, dur = t1 > t0 ? t1 - t0 : 0;

	add(o, pid, tid, ts, dur, 1,
	    "{\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"dur\":" US_FMT
	    ",\"name\":\"%s\",\"args\":{%s}}", pid, tid, US(ts), US(dur), name,
	    args ? args : "");
}

static void counter(struct out *o, int pid, int64_t t, const char *name,
		    uint64_t v)
{
	int64_t ts = t - o->base;

	add(o, pid, 0, ts, -1, 1,
	    "{\"ph\":\"C\",\"pid\":%d,\"ts\":" US_FMT ",\"name\":\"%s\",\"args\":{\"bytes\":%" PRIu64 "}}",
	    pid, US(ts), name, v);
}

static int pev_cmp(const void *a, const void *b)
{
	const struct pev *x = a, *y = b;

	if (x->order != y->order)
		return x->order - y->order;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	/* the enclosing slice first */
	if (x->dur != y->dur)
		return x->dur > y->dur ? -1 : 1;
	return 0;
}

static int64_t ev_time(const struct mig_host *h, const struct mig_event *e,
		       bool tai)
{
	(void)h;
	return tai ? (int64_t)e->tai : (int64_t)e->ts;
}

/* Per device while its events go by. */
struct pdev {
	bool used;
	uint32_t dev;
	uint32_t state;
	int64_t state_since;
	int64_t img_start[64];		/* first chunk of image i % 64 */
	int64_t load_start[64];		/* target: first load of image i % 64 */
	uint64_t read_bytes, written_bytes;
	uint64_t mig_id;
	bool has_uuid;
	__u8 uuid[16];
	bool named;
};

static const char *kind_name(uint64_t k)
{
	return k == VFMIG_IMAGE_INITIAL ? "initial" : k == VFMIG_IMAGE_MIDDLE ?
	       "middle" : k == VFMIG_IMAGE_FINAL ? "final" : "?";
}

/* A flow id for chunk (image, chunk) of migration @uuid. */
static uint64_t flow_id(const __u8 uuid[16], uint64_t image, uint64_t chunk)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < 16; i++)
		h = (h ^ uuid[i]) * 1099511628211ull;
	h ^= image * 0x9e3779b97f4a7c15ull + chunk;
	return h & 0x1fffffffffffffull;	/* exact in a JSON double */
}

static void set_state(struct out *o, int pid, struct pdev *d, int64_t t,
		      uint32_t s)
{
	if (s == d->state)
		return;
	slice(o, pid, tid_of(d->dev, TK_STATES), d->state_since, t,
	      mig_state_name(d->state), NULL);
	d->state = s;
	d->state_since = t;
}

static void host_events(struct out *o, const struct mig_host *h, int pid,
			bool tai)
{
	static struct pdev devs[MIG_MAX_DEVS];
	int64_t last = 0;
	char args[192];

	memset(devs, 0, sizeof(devs));
	add(o, pid, 0, 0, -1, 0,
	    "{\"ph\":\"M\",\"pid\":%d,\"name\":\"process_name\",\"args\":{\"name\":\"host %s\"}}",
	    pid, h->name);
	add(o, pid, TID_MIGRATIONS, 0, -1, 0,
	    "{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\",\"args\":{\"name\":\"migrations (end-to-end)\"}}",
	    pid, TID_MIGRATIONS);
	for (size_t i = 0; i < h->nev; i++) {
		const struct mig_event *e = &h->ev[i];
		int64_t t = ev_time(h, e, tai);
		struct pdev *d = NULL;
		__s64 ret;

		if (!t)
			continue;
		last = t > last ? t : last;
		for (int k = 0; k < MIG_MAX_DEVS; k++) {
			if (devs[k].used && devs[k].dev == e->dev) {
				d = &devs[k];
				break;
			}
			if (!devs[k].used) {
				d = &devs[k];
				memset(d, 0, sizeof(*d));
				d->used = true;
				d->dev = e->dev;
				d->state = e->state;
				d->state_since = t;
				break;
			}
		}
		if (!d)
			continue;
		if (!d->named) {
			d->named = true;
			for (int k = 0; k < TK_NR; k++)
				add(o, pid, tid_of(d->dev, k), 0, -1, 0,
				    "{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\",\"args\":{\"name\":\"dev %u %s\"}}",
				    pid, tid_of(d->dev, k), d->dev, track_names[k]);
		}
		if (e->mig_id != d->mig_id) {
			d->mig_id = e->mig_id;
			d->has_uuid = false;
			d->read_bytes = d->written_bytes = 0;
		}
		switch (e->type) {
		case MEV_STATE_STEP:
			if (!(__s64)e->a[2])
				set_state(o, pid, d, t, (uint32_t)e->a[1]);
			break;
		case MEV_SET_STATE:
			set_state(o, pid, d, t, (uint32_t)e->a[2]);
			break;
		case MEV_MIG_UUID:
			d->has_uuid = true;
			mig_ev_uuid(e, d->uuid);
			break;
		case MEV_IMAGE_CHUNK:
			if (e->a[2] == 0)
				d->img_start[e->a[1] % 64] = t;
			snprintf(args, sizeof(args), "\"image\":%" PRIu64 ",\"chunk\":%" PRIu64
				 ",\"npages\":%" PRIu64 ",\"bytes\":%" PRIu64,
				 (uint64_t)e->a[1], (uint64_t)e->a[2],
				 (uint64_t)e->a[3], (uint64_t)e->a[5]);
			if (d->has_uuid)
				add(o, pid, tid_of(d->dev, TK_CHUNKS), t - o->base, 0, 1,
				    "{\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"dur\":0,"
				    "\"name\":\"cut %" PRIu64 ".%" PRIu64 "\",\"bind_id\":%" PRIu64
				    ",\"flow_out\":true,\"args\":{%s}}", pid,
				    tid_of(d->dev, TK_CHUNKS), US(t - o->base),
				    (uint64_t)e->a[1], (uint64_t)e->a[2],
				    flow_id(d->uuid, e->a[1], e->a[2]), args);
			break;
		case MEV_IMAGE_DONE:
			snprintf(args, sizeof(args), "\"kind\":\"%s\",\"chunks\":%" PRIu64
				 ",\"bytes\":%" PRIu64 ",\"status\":%" PRId64,
				 kind_name(e->a[0]), (uint64_t)e->a[2],
				 (uint64_t)e->a[4], (int64_t)e->a[5]);
			{
				char name[48];
				int64_t t0 = d->img_start[e->a[1] % 64];

				snprintf(name, sizeof(name), "image %" PRIu64 " %s",
					 (uint64_t)e->a[1], kind_name(e->a[0]));
				slice(o, pid, tid_of(d->dev, TK_IMAGES),
				      t0 && t0 <= t ? t0 : t, t, name, args);
			}
			break;
		case MEV_IMAGE_LOAD:
			if ((__s64)e->a[5])
				break;
			if (e->a[1] == 0)
				d->load_start[e->a[0] % 64] = t;
			if (e->a[3] & VFMIG_CHUNK_F_LAST) {
				char name[48];
				int64_t t0 = d->load_start[e->a[0] % 64];

				snprintf(name, sizeof(name), "load image %" PRIu64,
					 (uint64_t)e->a[0]);
				slice(o, pid, tid_of(d->dev, TK_IMAGES),
				      t0 && t0 <= t ? t0 : t, t, name, NULL);
			}
			if (d->has_uuid)
				add(o, pid, tid_of(d->dev, TK_CHUNKS), t - o->base, 0, 1,
				    "{\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"dur\":0,"
				    "\"name\":\"load %" PRIu64 ".%" PRIu64 "\",\"bind_id\":%" PRIu64
				    ",\"flow_in\":true,\"args\":{\"bytes\":%" PRIu64 "}}", pid,
				    tid_of(d->dev, TK_CHUNKS), US(t - o->base),
				    (uint64_t)e->a[0], (uint64_t)e->a[1],
				    flow_id(d->uuid, e->a[0], e->a[1]), (uint64_t)e->a[4]);
			break;
		case MEV_FW_DONE:
			snprintf(args, sizeof(args), "\"seq\":%" PRIu64 ",\"status\":%" PRIu64
				 ",\"bytes\":%" PRIu64, (uint64_t)e->a[0],
				 (uint64_t)e->a[3], (uint64_t)e->a[4]);
			slice(o, pid, tid_of(d->dev, TK_FW), t - (int64_t)e->a[5], t,
			      mig_fw_op_name((unsigned int)e->a[1]), args);
			break;
		case MEV_SAVE_READ:
			ret = (__s64)e->a[2];
			if (ret > 0) {
				char name[48];

				d->read_bytes += ret;
				snprintf(name, sizeof(name), "dev %u bytes read", d->dev);
				counter(o, pid, t, name, d->read_bytes);
			}
			break;
		case MEV_RESUME_WRITE:
			ret = (__s64)e->a[2];
			if (ret > 0) {
				char name[48];

				d->written_bytes += ret;
				snprintf(name, sizeof(name), "dev %u bytes written", d->dev);
				counter(o, pid, t, name, d->written_bytes);
			}
			break;
		case MEV_PRECOPY_INFO:
			if (!(__s64)e->a[2]) {
				char name[48];

				snprintf(name, sizeof(name), "dev %u dirty bytes", d->dev);
				counter(o, pid, t, name, e->a[1]);
				snprintf(name, sizeof(name), "dev %u initial bytes", d->dev);
				counter(o, pid, t, name, e->a[0]);
			}
			break;
		default:
			break;
		}
		if (e->type != MEV_SET_STATE && e->type != MEV_STATE_STEP &&
		    e->type != MEV_DEVICE)
			set_state(o, pid, d, t, e->state);
	}
	/* The states the devices are still in at the recording's end. */
	for (int k = 0; k < MIG_MAX_DEVS && devs[k].used; k++)
		slice(o, pid, tid_of(devs[k].dev, TK_STATES), devs[k].state_since,
		      last, mig_state_name(devs[k].state), NULL);
}

int mig_perfetto(FILE *f, const struct mig_host *hosts, int n,
		 const struct mig_joined *j, size_t nj, char *err,
		 size_t errlen)
{
	struct out o = { 0 };
	bool tai = true;
	int64_t base = INT64_MAX;

	for (int h = 0; h < n; h++)
		if (!hosts[h].tai)
			tai = false;
	if (!tai && n > 1) {
		snprintf(err, errlen, "a recording has no CLOCK_TAI stamps: its hosts cannot share a timeline");
		return -1;
	}
	for (int h = 0; h < n; h++)
		for (size_t i = 0; i < hosts[h].nev; i++) {
			int64_t t = ev_time(&hosts[h], &hosts[h].ev[i], tai);

			if (t && t < base)
				base = t;
		}
	o.base = base == INT64_MAX ? 0 : base;
	for (int h = 0; h < n; h++)
		host_events(&o, &hosts[h], h + 1, tai);
	/* Each joined migration: its window and parts on the source host. */
	for (size_t i = 0; i < nj && tai; i++) {
		char u[37], args[256];
		int pid;

		if (!j[i].joined || !j[i].clock_ok)
			continue;
		pid = j[i].src_host + 1;
		mig_uuid_str(j[i].uuid, u);
		snprintf(args, sizeof(args), "\"mig_uuid\":\"%s\",\"uncertainty_ns\":%" PRIu64
			 ",\"source\":\"%s dev %u\",\"target\":\"%s dev %u\"", u,
			 j[i].uncertainty_ns, hosts[j[i].src_host].name, j[i].src->dev,
			 hosts[j[i].tgt_host].name, j[i].tgt->dev);
		slice(&o, pid, TID_MIGRATIONS, j[i].t_tai[0], j[i].t_tai[JP_NR],
		      "end-to-end downtime", args);
		for (int p = 0; p < JP_NR; p++)
			slice(&o, pid, TID_MIGRATIONS, j[i].t_tai[p], j[i].t_tai[p + 1],
			      mig_jpart_name(p), NULL);
	}
	if (o.failed) {
		snprintf(err, errlen, "out of memory");
		for (size_t i = 0; i < o.n; i++)
			free(o.v[i].json);
		free(o.v);
		return -1;
	}
	qsort(o.v, o.n, sizeof(o.v[0]), pev_cmp);
	fprintf(f, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"clock\":\"%s\",\"base_ns\":%" PRId64
		"},\"traceEvents\":[\n", tai ? "CLOCK_TAI" : "CLOCK_MONOTONIC", o.base);
	for (size_t i = 0; i < o.n; i++) {
		fprintf(f, "%s%s", o.v[i].json, i + 1 < o.n ? ",\n" : "\n");
		free(o.v[i].json);
	}
	fputs("]}\n", f);
	free(o.v);
	return 0;
}
