// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig-top's input: the tracer (vfmig tracepoints, generic mode or a
 * replay), the events it delivers into the analysis model
 * (tools/lib/mig_events.c), the devices' identity and owners, and the
 * sampling of the devstats map into the rows every view shows (rates,
 * ETA, filter and sort order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devid.h"
#include "json_out.h"
#include "mig-top.h"
#include "owner.h"

struct vfmig_tracer tracer;
struct generic_tracer gtracer;	/* -g: generic mode */
bool generic;
struct mig_model model;

struct mt_row rows[MT_MAX_ROWS];
int nrows;
static struct { uint32_t dev; struct mig_devstats st; bool valid; }
	prev[MT_MAX_ROWS];
static uint64_t last_sample_ns;
enum mt_sort sort_key = MT_SORT_DEV;
bool sort_rev;
char filt[64];

/* The live tracer, vfmig tracepoints or generic (-g), or none (replay). */
const char *t_mode(void)
{
	return generic ? gtracer.mode : tracer.skel ? tracer.mode : "replay";
}

/* The live tracer's object and maps, NULL in a replay. */
const struct mig_bpf *live_bpf(void)
{
	return generic ? &gtracer.bpf : tracer.bpf.obj ? &tracer.bpf : NULL;
}

const char *t_why(void)
{
	return generic ? gtracer.why : tracer.why;
}

unsigned long long replay_drops;	/* "# drops" lines of the event file */
static uint64_t last_ev_ts;

uint64_t t_drops(void)
{
	const struct mig_bpf *b = live_bpf();

	return b ? mig_bpf_drops(b) : replay_drops;
}

/* Now: the clock of the events (a replay ends at its last event). */
uint64_t view_now(void)
{
	return opts.replay ? last_ev_ts : vfmig_now_ns();
}

/* ------------------------------------------------------------------ */
/* Devices and events                                                  */
/* ------------------------------------------------------------------ */

/*
 * The device's mdev UUID: from its events (the model), else from sysfs
 * (devid.c; live vfmig devices), else from its name in generic mode.
 */
const char *dev_uuid(uint32_t dev, char buf[37])
{
	const struct mig_dev *d = mig_model_dev(&model, dev, false);
	const char *u = d ? mig_uuid_str(d->uuid, buf) : NULL;

	return u ? u : devid_uuid(dev);
}

/* A device's name as its VMM knows it: the mdev UUID or the PCI address. */
const char *dev_name(uint32_t dev, char *buf, size_t len)
{
	char u[37];
	const char *n;

	buf[0] = '\0';
	if (generic) {
		generic_dev_name(&gtracer, dev, buf, len);
		if (devid_is_uuid(buf))
			devid_set(dev, buf);
		return buf;
	}
	n = dev_uuid(dev, u);
	snprintf(buf, len, "%s", n ? n : "");
	return buf;
}

/* The owner of @dev with its process name and QEMU device id. */
void owner_of(uint32_t dev, struct mig_owner *o)
{
	char name[64];

	owners_fill(o, dev_name(dev, name, sizeof(name)));
}

/* A task that drives a device: learn it, probe its binary (owner.c). */
static void see_owner(const struct mig_event *e)
{
	bool open = e->type == MEV_DEVICE && e->a[0] == 2 /* VFMIG_DEV_OPEN */;

	if (opts.replay || (e->type != MEV_SET_STATE && !open))
		return;
	if (!owners_see(e->pid, open, opts.out == MT_JSON ? &jw : NULL))
		return;
	if (opts.out == MT_TEXT)
		printf("mig-top: %s\n", owners_status());
	fflush(stdout);
}

/* Every event, live or replayed. */
void feed(const struct mig_event *e)
{
	char u[37];

	if (e->ts > last_ev_ts)
		last_ev_ts = e->ts;
	if (e->type == MEV_VMM) {
		vmm_event(e);
		return;
	}
	see_owner(e);
	mig_model_feed(&model, e);
	prom_event(&prom, e, mig_model_dev(&model, e->dev, false));
	if (opts.arcs && opts.out == MT_JSON && e->type == MEV_STATE_STEP) {
		jw_record(&jw, "arc");
		jw_uint(&jw, "ts_ns", e->ts);
		jw_uint(&jw, "dev", e->dev);
		jw_string(&jw, "uuid", dev_uuid(e->dev, u));
		jw_uint(&jw, "mig_id", e->mig_id);
		jw_string(&jw, "from", mig_state_name(e->a[0]));
		jw_string(&jw, "to", mig_state_name(e->a[1]));
		jw_int(&jw, "ret", (int64_t)e->a[2]);
		jw_uint(&jw, "ns", e->a[3]);
		jw_end_record(&jw);
	}
}

int on_event(void *ctx, void *data, size_t sz)
{
	(void)ctx;
	if (sz >= sizeof(struct mig_event))
		feed(data);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sampling                                                            */
/* ------------------------------------------------------------------ */

static struct mig_devstats *prev_of(uint32_t dev)
{
	for (int i = 0; i < MT_MAX_ROWS; i++)
		if (prev[i].valid && prev[i].dev == dev)
			return &prev[i].st;
	return NULL;
}

static void save_prev(uint32_t ids[], struct mig_devstats st[], int n)
{
	memset(prev, 0, sizeof(prev));
	for (int i = 0; i < n && i < MT_MAX_ROWS; i++) {
		prev[i].dev = ids[i];
		prev[i].st = st[i];
		prev[i].valid = true;
	}
}

static bool row_matches(const struct mt_row *r)
{
	char id[16];

	if (!*filt)
		return true;
	snprintf(id, sizeof(id), "%u", r->dev);
	return !strcmp(id, filt) ||
	       strstr(mig_state_name(r->md->state), filt) ||
	       strstr(mig_dev_phase(r->md), filt);
}

static int row_cmp(const void *a, const void *b)
{
	const struct mt_row *x = a, *y = b;
	int c = 0;

	switch (sort_key) {
	case MT_SORT_STATE:
		c = strcmp(mig_state_name(x->md->state), mig_state_name(y->md->state));
		break;
	case MT_SORT_RATE: {
		double rx = x->read_rate + x->write_rate, ry = y->read_rate + y->write_rate;

		c = rx < ry ? 1 : rx > ry ? -1 : 0;
		break;
	}
	case MT_SORT_MIG:
		c = x->md->mig_id < y->md->mig_id ? 1 : x->md->mig_id > y->md->mig_id ? -1 : 0;
		break;
	default:
		break;
	}
	if (!c)
		c = x->dev < y->dev ? -1 : x->dev > y->dev;
	return sort_rev ? -c : c;
}

void sample(void)
{
	static uint32_t ids[MT_MAX_ROWS];
	static struct mig_devstats st[MT_MAX_ROWS];
	uint64_t now = vfmig_now_ns();
	double dt = last_sample_ns ? (now - last_sample_ns) / 1e9 : 0;
	char u[37];
	int n = 0;

	if (live_bpf())
		n = mig_bpf_devstats(live_bpf(), ids, st, MT_MAX_ROWS);
	for (int i = 0; i < n; i++)
		mig_model_seed(&model, ids[i], st[i].state, st[i].mig_id,
			       st[i].state_size, now);
	mig_model_gc(&model, now, 5ull * 1000000000ull);

	nrows = 0;
	for (int i = 0; i < MIG_MAX_DEVS; i++) {
		struct mig_dev *md = &model.devs[i];
		struct mt_row *r;
		struct mig_devstats *p;

		if (!md->used)
			continue;
		r = &rows[nrows];
		memset(r, 0, sizeof(*r));
		r->dev = md->dev;
		r->md = md;
		for (int j = 0; j < n; j++) {
			if (ids[j] == md->dev) {
				r->st = st[j];
				r->have_st = true;
			}
		}
		p = prev_of(md->dev);
		if (r->have_st && p && dt > 0) {
			r->have_rate = true;
			r->read_rate = (r->st.read_bytes - p->read_bytes) / dt;
			r->write_rate = (r->st.write_bytes - p->write_bytes) / dt;
		}
		r->progress = mig_dev_progress(md);
		r->eta_s = -1;
		if (md->role == MR_SOURCE && md->state == MS_PRE_COPY &&
		    r->read_rate > 0) {
			/* Naive: what is pending now at the last read rate. */
			double left = md->precopy_initial + md->precopy_dirty;

			if (!md->initial_total && r->progress >= 0)
				left = (1 - r->progress) * (md->state_size + md->state_size / 512);
			r->eta_s = left / r->read_rate;
		}
		if (!row_matches(r))
			continue;
		nrows++;
	}
	qsort(rows, nrows, sizeof(rows[0]), row_cmp);
	/* A device whose vfmig_device event came before we attached. */
	for (int i = 0; i < nrows && tracer.skel && !generic; i++)
		if (!dev_uuid(rows[i].dev, u)) {
			devid_scan();
			break;
		}
	save_prev(ids, st, n);
	last_sample_ns = now;
}

/* A replay's rows: every device of the model, no counters. */
void rows_from_model(void)
{
	nrows = 0;
	for (int i = 0; i < MIG_MAX_DEVS; i++)
		if (model.devs[i].used) {
			memset(&rows[nrows], 0, sizeof(rows[0]));
			rows[nrows].dev = model.devs[i].dev;
			rows[nrows].md = &model.devs[i];
			rows[nrows].progress = mig_dev_progress(&model.devs[i]);
			rows[nrows].eta_s = -1;
			nrows++;
		}
}
