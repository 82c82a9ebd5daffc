// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig_attrib: whom a downtime waited for, and the downtime a source in
 * PRE_COPY can expect (docs/downtime.md, "Attribution" and "Expected
 * downtime"). Part of the analysis model of mig_events.c, which calls the
 * hooks at the end of this file; pure C, fed the same phase events live
 * (mig-top), from an event file (mig-top -r, mig-trace) or from perf.
 *
 * Attribution: while the devices migrate, each keeps a log of what it was
 * busy with (struct mig_span): its state arcs and state change requests,
 * the SAVE's stalls on a full
 * budget, the chunks it queued, the reads of the save file and the writes
 * of the resume file.
 * When a migration completes, one sweep over the logs of its source and
 * target charges every instant of T0..T5 to one cause (enum mig_cause),
 * by the part it falls in:
 *
 *   source_suspend  a source arc or request runs: device; else vmm
 *   final_save      nothing is queued for the reader (and the SAVE does
 *   drain           not stall), or a source request still runs: device;
 *                   else reader()
 *   target_load     a target write or arc runs: target_load; bytes read
 *                   and not written yet: transport; else vmm
 *   target_resume   a target arc or request runs: device; else vmm
 *
 * reader() is the time data waits for the reader (the SAVE stalls on a
 * full budget, or chunks are queued and not read): target_load while a
 * target write runs (a VMM that writes each chunk before it reads the
 * next), transport while bytes read are not at the target, else vmm_read.
 * The queue is empty while the bytes read reach the end of the last chunk
 * queued (vfmig_image_chunk's pos + bytes; vfmig_save_read's pos + ret +
 * queued tells the same): then everyone waits for the firmware, whatever
 * else the reader does meanwhile.
 * The intervals between the sweep's points partition T0..T5, so every part
 * splits exactly into its causes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "json_out.h"
#include "mig_events.h"

#define SPANS_MAX	(1u << 18)	/* per device: 12 MiB of log at most */
#define ERESTARTSYS_	512		/* the kernel's, not in errno.h */
#define K_MIN_BYTES	(1u << 20)	/* stop-copy data to learn a pace from */

static const char *const cause_names[MC_NR + 1] = {
	[MC_DEVICE] = "device",
	[MC_VMM_READ] = "vmm_read",
	[MC_TRANSPORT] = "transport",
	[MC_TARGET_LOAD] = "target_load",
	[MC_VMM] = "vmm",
	[MC_DIRTY] = "dirty",
};

const char *mig_cause_name(unsigned int c)
{
	return c <= MC_NR ? cause_names[c] : "?";
}

const char *mig_cause_words(unsigned int c, unsigned int part)
{
	switch (c) {
	case MC_DEVICE:
		if (part == MP_SRC_SUSPEND)
			return "the source device suspending";
		if (part == MP_FINAL_SAVE)
			return "the device cutting the final image";
		if (part == MP_TGT_RESUME)
			return "the target device resuming";
		return "the devices' firmware at work";
	case MC_VMM_READ:
		return "blocked on the reader";
	case MC_TRANSPORT:
		return "bytes in transit to the target";
	case MC_TARGET_LOAD:
		return part == MP_TGT_LOAD ? "the target loading" :
		       "blocked on the target's load";
	case MC_VMM:
		return "waiting for the VMM's next request";
	case MC_DIRTY:
		return "state left dirty at switchover";
	}
	return "?";
}

bool mig_cause_device_bound(unsigned int c)
{
	return c == MC_DEVICE || c == MC_TARGET_LOAD;
}

unsigned int mig_bottleneck(const __u64 cause_ns[MC_NR], __u64 downtime_ns,
			    bool precopy, __u64 dirty_ns, unsigned int *stage)
{
	unsigned int best = 0;

	for (unsigned int c = 1; c < MC_NR; c++)
		if (cause_ns[c] > cause_ns[best])
			best = c;
	if (stage)
		*stage = best;
	if (precopy && downtime_ns && dirty_ns > downtime_ns / 2)
		return MC_DIRTY;
	return best;
}

static __u64 sub0(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

/* ------------------------------------------------------------------ */
/* The span log                                                        */
/* ------------------------------------------------------------------ */

static struct mig_span *span_add(struct mig_dev *d, __u32 kind, __u64 start,
				 __u64 end, __u64 pos0, __u64 pos1)
{
	struct mig_span *sp;

	if (d->nspans == d->spans_cap) {
		__u32 cap = d->spans_cap ? 2 * d->spans_cap : 64;

		if (d->spans_cap >= SPANS_MAX) {
			d->spans_lost = true;
			return NULL;
		}
		sp = realloc(d->spans, cap * sizeof(*sp));
		if (!sp) {
			d->spans_lost = true;
			return NULL;
		}
		d->spans = sp;
		d->spans_cap = cap;
	}
	sp = &d->spans[d->nspans++];
	sp->kind = kind;
	sp->start = start < end ? start : end;
	sp->end = end;
	sp->pos0 = pos0;
	sp->pos1 = pos1;
	sp->queued = 0;
	return sp;
}

/* A source inside its downtime window: target writes matter now. */
static bool window_open(const struct mig_model *m)
{
	for (int i = 0; i < MIG_MAX_DEVS; i++) {
		const struct mig_dev *s = &m->devs[i];

		if (s->used && s->role == MR_SOURCE && s->t_susp && !s->paired)
			return true;
	}
	return false;
}

void mig_attrib_free(struct mig_dev *d)
{
	free(d->spans);
	d->spans = NULL;
	d->nspans = d->spans_cap = 0;
}

/*
 * A new migration session on @d (reset_migration() has set role and
 * t_susp). A save file opened in STOP_COPY keeps the suspend arcs logged
 * before it; the expected downtime keeps what it learned before.
 */
void mig_attrib_reset(struct mig_dev *d)
{
	__u32 n = 0;

	if (d->role == MR_SOURCE && d->t_susp) {
		for (__u32 i = 0; i < d->nspans; i++)
			if (d->spans[i].end >= d->t_susp)
				d->spans[n++] = d->spans[i];
	} else {
		d->spans_lost = false;
	}
	d->nspans = n;
	d->q_end = d->q_end_t1 = 0;
	memset(&d->ex, 0, sizeof(d->ex));
	memset(&d->at_t0, 0, sizeof(d->at_t0));
	d->at_t0_valid = false;
}

/* ------------------------------------------------------------------ */
/* Expected downtime                                                   */
/* ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define MEDIAN_MAX	(MIG_ARCS > MIG_HIST ? MIG_ARCS : MIG_HIST)

/* The median of the first @n (1..MEDIAN_MAX) of @v. */
static double median_of(const double *v, __u32 n)
{
	double s[MEDIAN_MAX];

	if (n > MEDIAN_MAX)
		n = MEDIAN_MAX;

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static __u32 hist_n(__u32 n)
{
	return n < MIG_HIST ? n : MIG_HIST;
}

static void hist_add(struct mig_hist *h, __u64 fixed_ns, double k)
{
	h->fixed_ns[h->nfixed++ % MIG_HIST] = fixed_ns;
	if (k > 0)
		h->k[h->nk++ % MIG_HIST] = k;
}

/* Medians of what the source's last migrations taught; false if none. */
static bool hist_get(const struct mig_hist *h, double *fixed_ns, double *k)
{
	double f[MIG_HIST];
	__u32 n = hist_n(h->nfixed);

	*k = h->nk ? median_of(h->k, hist_n(h->nk)) : 0;
	if (!n)
		return false;
	for (__u32 i = 0; i < n; i++)
		f[i] = (double)h->fixed_ns[i];
	*fixed_ns = median_of(f, n);
	return true;
}

/*
 * A round is one SAVE seen from the VMM: from its start (the RUNNING ->
 * PRE_COPY arc, or the precopy_info that issued it) to the last byte of it
 * read. Its time is what the final image will take, through the same
 * stages: the firmware, the reader, transport, the target's writes.
 */
static void round_open(struct mig_dev *d, __u64 start)
{
	d->ex.round_open = true;
	d->ex.round_done = false;
	d->ex.round_start = start;
	d->ex.round_end = start;
	d->ex.round_read0 = d->precopy_bytes;
}

static void round_close(struct mig_dev *d)
{
	struct mig_expect *x = &d->ex;
	double b, t;

	if (!x->round_open || !x->round_done)
		return;
	x->round_open = false;
	b = (double)(d->precopy_bytes - x->round_read0);
	t = (double)(x->round_end - x->round_start);
	if (b <= 0 || t <= 0)
		return;
	x->sx += b;
	x->sy += t;
	x->sxx += b * b;
	x->sxy += b * t;
	if (!x->rounds || b < x->xmin)
		x->xmin = b;
	if (b > x->xmax)
		x->xmax = b;
	x->rounds++;
}

/*
 * What one firmware command costs, as a SUSPEND or RESUME arc: the median
 * of the model's last arcs of any device (a target prepared for this
 * migration has made some); else the source's arc into PRE_COPY.
 */
static double arc_cost(const struct mig_model *m, const struct mig_dev *d)
{
	double v[MIG_ARCS];
	__u32 n = m->narcs < MIG_ARCS ? m->narcs : MIG_ARCS;

	if (!n)
		return (double)d->ex.cmd_ns;
	for (__u32 i = 0; i < n; i++)
		v[i] = (double)m->arc_ns[i];
	return median_of(v, n);
}

/* One SUSPEND or RESUME command: the arcs arc_cost() learns from. */
static bool simple_arc(__u64 from, __u64 to)
{
	static const __u8 arcs[][2] = {
		{ MS_RUNNING, MS_RUNNING_P2P }, { MS_RUNNING_P2P, MS_RUNNING },
		{ MS_RUNNING_P2P, MS_STOP }, { MS_STOP, MS_RUNNING_P2P },
		{ MS_PRE_COPY, MS_PRE_COPY_P2P }, { MS_PRE_COPY_P2P, MS_PRE_COPY },
	};

	for (size_t i = 0; i < sizeof(arcs) / sizeof(arcs[0]); i++)
		if (from == arcs[i][0] && to == arcs[i][1])
			return true;
	return false;
}

/*
 * Time of a round of @bytes = a + b * bytes, by least squares over the
 * rounds when their sizes differ enough (twice) to tell a from b; else (or
 * with no usable line) the intercept is @a0, a command's time: what a SAVE
 * costs before its first chunk. false: no round yet.
 */
static bool round_fit(const struct mig_expect *x, double a0, double *a,
		      double *b)
{
	double n = x->rounds;

	if (!x->rounds || x->sx <= 0)
		return false;
	if (x->rounds >= 2 && x->xmax >= 2 * x->xmin) {
		double den = n * x->sxx - x->sx * x->sx;

		if (den > 0) {
			*b = (n * x->sxy - x->sx * x->sy) / den;
			*a = (x->sy - *b * x->sx) / n;
			if (*b > 0 && *a >= 0)
				return true;
		}
	}
	*a = a0;
	if (*a * n >= x->sy)
		*a = 0;
	*b = (x->sy - *a * n) / x->sx;
	return true;
}

bool mig_dev_expected(const struct mig_model *m, const struct mig_dev *d,
		      __u64 now, struct mig_expected *out)
{
	const struct mig_expect *x = &d->ex;
	__u64 full = d->state_size + d->state_size / 512, left, grow = 0;
	double a, b, pending, fixed, k, arc = arc_cost(m, d);
	bool learned = hist_get(&d->hist, &fixed, &k);

	if (d->role != MR_SOURCE || !d->precopy || d->partial)
		return false;
	if (!round_fit(x, arc, &a, &b)) {
		/* Before the first round ends: the current one's pace. */
		if (!x->round_open || d->precopy_bytes <= x->round_read0 ||
		    now <= x->round_start)
			return false;
		a = arc;
		b = (double)(now - x->round_start) /
		    (double)(d->precopy_bytes - x->round_read0);
	}
	/* The last downtimes moved data k times as slow as PRE_COPY did. */
	if (k > 0)
		b *= k;
	if (x->queries) {
		left = sub0(x->q_pending, d->precopy_bytes - x->q_read);
		if (x->dirt_ns && now > x->q_ts)
			grow = (__u64)((double)x->dirt_bytes *
				       (double)(now - x->q_ts) /
				       (double)x->dirt_ns);
	} else {
		left = sub0(full, d->precopy_bytes);
	}
	pending = (double)left + (double)grow;
	if (full && pending > full + 4096)
		pending = full + 4096;
	memset(out, 0, sizeof(*out));
	out->learned = learned;
	/* Without history: SUSPEND x2 on the source, RESUME x2 on the target. */
	out->fixed_ns = (__u64)(learned ? fixed : 4.0 * arc) + (__u64)a;
	out->pending = (__u64)pending;
	out->rate = b > 0 ? (__u64)(1e9 / b) : 0;
	out->ns = out->fixed_ns + (__u64)(b * pending);
	return true;
}

void mig_expected_json(struct jw *w, const struct mig_model *m,
		       const struct mig_dev *d, __u64 now)
{
	struct mig_expected x;
	bool have = mig_dev_expected(m, d, now, &x);

	jw_uint_opt(w, "expected_downtime_ns", have, have ? x.ns : 0);
	if (!have) {
		jw_null(w, "expected");
		return;
	}
	jw_object(w, "expected");
	jw_uint(w, "pending_bytes", x.pending);
	jw_uint(w, "rate_Bps", x.rate);
	jw_uint(w, "fixed_ns", x.fixed_ns);
	jw_bool(w, "learned", x.learned);
	jw_end_object(w);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/*
 * A state change request the driver handled (vfmig_set_state, from ts - ns
 * to ts): the device's time like its arcs, with what the driver does
 * between and around them (locking, the VFIO core's loop).
 */
void mig_attrib_request(struct mig_dev *d, const struct mig_event *e)
{
	if (d->t_susp || d->role == MR_TARGET)
		span_add(d, MSPAN_ARC, sub0(e->ts, e->a[4]), e->ts, 0, 0);
}

static bool is_precopy(__u64 s)
{
	return s == MS_PRE_COPY || s == MS_PRE_COPY_P2P;
}

void mig_attrib_event(struct mig_model *m, struct mig_dev *d,
		      const struct mig_event *e)
{
	bool src = d->role == MR_SOURCE && e->mig_id == d->mig_id;
	__s64 ret;
	__u64 start, pos;

	switch (e->type) {
	case MEV_STATE_STEP:
		if ((__s64)e->a[2])
			break;
		start = sub0(e->ts, e->a[3]);
		if (d->t_susp || d->role == MR_TARGET)
			span_add(d, MSPAN_ARC, start, e->ts, 0, 0);
		if (simple_arc(e->a[0], e->a[1]))
			m->arc_ns[m->narcs++ % MIG_ARCS] = e->a[3];
		if (!src)
			break;
		if (e->a[1] == MS_STOP_COPY)
			d->q_end_t1 = d->q_end;
		if (!is_precopy(e->a[0]) && is_precopy(e->a[1])) {
			d->ex.cmd_ns = e->a[3];
			round_open(d, start);
			/* As if queried now: the whole initial image pending, so
			 * the first query already measures dirtying. */
			d->ex.q_ts = start;
			d->ex.q_pending = d->state_size + d->state_size / 512;
			d->ex.q_read = d->precopy_bytes;
			d->ex.queries = 1;
		}
		if (e->a[0] == MS_PRE_COPY && d->precopy && d->t_susp == start) {
			/* T0: what the downtime should be from here */
			round_close(d);
			d->at_t0_valid = mig_dev_expected(m, d, start, &d->at_t0);
		}
		break;
	case MEV_SAVE_STALL:
		if (!e->a[1] && d->t_susp)
			span_add(d, MSPAN_STALL, sub0(e->ts, e->a[2]), e->ts,
				 0, 0);
		break;
	case MEV_SAVE_READ:
		if (!src)
			break;
		ret = (__s64)e->a[2];
		if (ret == -ERESTARTSYS_)	/* a signal: nothing changed */
			break;
		pos = e->a[0] + (ret > 0 ? (__u64)ret : 0);
		if (pos + e->a[3] > d->q_end)
			d->q_end = pos + e->a[3];
		if (d->t_susp) {
			struct mig_span *sp;

			sp = span_add(d, MSPAN_READ, sub0(e->ts, e->a[4]),
				      e->ts, e->a[0], pos);
			if (sp)
				sp->queued = e->a[3];
		}
		if (ret > 0 && d->ex.round_open && is_precopy(e->state) &&
		    e->ts > d->ex.round_end)
			d->ex.round_end = e->ts;
		if (ret == -ENOMSG)
			round_close(d);
		break;
	case MEV_RESUME_WRITE:
		ret = (__s64)e->a[2];
		if (ret > 0 && d->role == MR_TARGET && e->mig_id == d->mig_id &&
		    window_open(m))
			span_add(d, MSPAN_WRITE, sub0(e->ts, e->a[4]), e->ts,
				 e->a[0], e->a[0] + (__u64)ret);
		break;
	case MEV_IMAGE_CHUNK:
		if (!src)
			break;
		pos = e->a[6] + e->a[5];	/* the chunk record's end */
		if (pos > d->q_end)
			d->q_end = pos;
		if (d->t_susp)
			span_add(d, MSPAN_CHUNK, e->ts, e->ts, 0, pos);
		break;
	case MEV_IMAGE_DONE:
		if (!src || e->a[0] == 2 /* FINAL */)
			break;
		if ((__s64)e->a[5]) {
			d->ex.round_open = false;	/* failed: no round */
		} else if (d->ex.round_open) {
			d->ex.round_done = true;
			if (e->ts > d->ex.round_end)
				d->ex.round_end = e->ts;
		}
		break;
	case MEV_PRECOPY_INFO:
		if (!src || (__s64)e->a[2])
			break;
		round_close(d);
		if (d->ex.queries) {
			__u64 have = sub0(d->ex.q_pending,
					  d->precopy_bytes - d->ex.q_read);
			__u64 now = e->a[0] + e->a[1];

			d->ex.dirt_bytes += sub0(now, have);
			d->ex.dirt_ns += sub0(e->ts, d->ex.q_ts);
		}
		d->ex.q_ts = e->ts;
		d->ex.q_pending = e->a[0] + e->a[1];
		d->ex.q_read = d->precopy_bytes;
		d->ex.queries++;
		if (e->a[3])
			round_open(d, e->ts);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The sweep                                                           */
/* ------------------------------------------------------------------ */

enum { E_BOUND, E_SRC_ARC, E_STALL, E_TGT_ARC, E_WRITE, E_READ_END, E_CHUNK };

struct edge {
	__u64 t;
	__u64 pos;
	__u64 queued;
	__u32 what;
	__s32 delta;
	__u32 rank;	/* boundaries in order at equal times */
};

static int edge_cmp(const void *pa, const void *pb)
{
	const struct edge *a = pa, *b = pb;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

struct sweep {
	int arc_src, arc_tgt, stall, write;
	__u64 r, w;	/* bytes read from the source, written to the target */
	__u64 q;	/* stream offset queued up to: r >= q, nothing queued */
};

/* Data is waiting for the reader: whom is the reader waiting for? */
static unsigned int reader_cause(const struct sweep *s)
{
	if (s->write > 0)
		return MC_TARGET_LOAD;
	return s->r > s->w ? MC_TRANSPORT : MC_VMM_READ;
}

static unsigned int classify(const struct sweep *s, int part)
{
	switch (part) {
	case MP_SRC_SUSPEND:
		return s->arc_src > 0 ? MC_DEVICE : MC_VMM;
	case MP_FINAL_SAVE:
	case MP_DRAIN:
		/* nothing queued, or the reader still in the driver's request */
		if ((s->r >= s->q && !s->stall) || s->arc_src > 0)
			return MC_DEVICE;
		return reader_cause(s);
	case MP_TGT_LOAD:
		if (s->write > 0 || s->arc_tgt > 0)
			return MC_TARGET_LOAD;
		return s->r > s->w ? MC_TRANSPORT : MC_VMM;
	default:
		return s->arc_tgt > 0 ? MC_DEVICE : MC_VMM;
	}
}

static void push_spans(struct edge *ev, size_t *n, const struct mig_dev *d,
		       bool source)
{
	for (__u32 i = 0; i < d->nspans; i++) {
		const struct mig_span *sp = &d->spans[i];
		__u32 what;

		switch (sp->kind) {
		case MSPAN_ARC:
			what = source ? E_SRC_ARC : E_TGT_ARC;
			break;
		case MSPAN_STALL:
			what = E_STALL;
			break;
		case MSPAN_WRITE:
			what = E_WRITE;
			break;
		case MSPAN_CHUNK:
			ev[(*n)++] = (struct edge){ sp->end, sp->pos1, 0,
						    E_CHUNK, 0, 10 };
			continue;
		default:
			ev[(*n)++] = (struct edge){ sp->end, sp->pos1,
						    sp->queued, E_READ_END, 0,
						    10 };
			continue;
		}
		ev[(*n)++] = (struct edge){ sp->start, 0, 0, what, 1, 10 };
		ev[(*n)++] = (struct edge){ sp->end, sp->pos1, 0, what, -1, 10 };
	}
}

static __u64 first_pos(const struct mig_dev *d, __u32 kind, __u64 none)
{
	for (__u32 i = 0; i < d->nspans; i++)
		if (d->spans[i].kind == kind)
			return d->spans[i].pos0;
	return none;
}

static void sweep(const struct mig_dev *src, const struct mig_dev *tgt,
		  struct mig_result *r)
{
	size_t n = 0, cap = 2 * ((size_t)src->nspans + tgt->nspans) + MP_NR + 1;
	struct edge *ev = malloc(cap * sizeof(*ev));
	struct sweep s = { 0 };
	__u64 prev = 0;
	int part = -1;

	if (!ev) {
		/* No memory for the sweep: everything to the VMM, sums kept. */
		for (int p = 0; p < MP_NR; p++)
			r->cause_ns[p][MC_VMM] = r->part_ns[p];
		r->attrib_complete = false;
		return;
	}
	for (int i = 0; i <= MP_NR; i++)
		ev[n++] = (struct edge){ r->t[i], 0, 0, E_BOUND, i, (__u32)i };
	push_spans(ev, &n, src, true);
	push_spans(ev, &n, tgt, false);
	qsort(ev, n, sizeof(*ev), edge_cmp);
	s.r = first_pos(src, MSPAN_READ, r->precopy_bytes + r->stopcopy_bytes);
	s.w = first_pos(tgt, MSPAN_WRITE, r->written_bytes);
	s.q = src->q_end_t1;

	for (size_t i = 0; i < n && part < MP_NR;) {
		__u64 t = ev[i].t;

		if (part >= 0 && t > prev)
			r->cause_ns[part][classify(&s, part)] += t - prev;
		for (; i < n && ev[i].t == t; i++) {
			const struct edge *x = &ev[i];

			switch (x->what) {
			case E_BOUND:
				part = x->delta;
				break;
			case E_SRC_ARC:
				s.arc_src += x->delta;
				break;
			case E_TGT_ARC:
				s.arc_tgt += x->delta;
				break;
			case E_STALL:
				s.stall += x->delta;
				break;
			case E_WRITE:
				s.write += x->delta;
				if (x->delta < 0)
					s.w = x->pos;
				break;
			case E_READ_END:
				s.r = x->pos;
				if (x->pos + x->queued > s.q)
					s.q = x->pos + x->queued;
				break;
			case E_CHUNK:
				if (x->pos > s.q)
					s.q = x->pos;
				break;
			}
		}
		prev = t;
	}
	free(ev);
}

/* ------------------------------------------------------------------ */
/* A completed migration                                               */
/* ------------------------------------------------------------------ */

void mig_attrib_result(struct mig_model *m, struct mig_dev *src,
		       struct mig_dev *tgt, struct mig_result *r)
{
	__u64 total[MC_NR] = { 0 }, data;
	unsigned int stage;
	double a, b;

	r->attrib_complete = !src->spans_lost && !tgt->spans_lost &&
			     !r->partial;
	sweep(src, tgt, r);
	for (int p = 0; p < MP_NR; p++)
		for (int c = 0; c < MC_NR; c++)
			total[c] += r->cause_ns[p][c];
	/*
	 * Moving the data left dirty: final_save + drain beyond what a SAVE
	 * costs before its first chunk (a command), when STOP_COPY carried
	 * more than a page (an empty final image is 88 bytes).
	 */
	if (!round_fit(&src->ex, arc_cost(m, src), &a, &b)) {
		a = arc_cost(m, src);
		b = 0;
	}
	data = sub0(r->part_ns[MP_FINAL_SAVE] + r->part_ns[MP_DRAIN],
		    (__u64)arc_cost(m, src));
	if (r->precopy && r->stopcopy_bytes > 4096)
		r->dirty_ns = data;
	r->bottleneck = mig_bottleneck(total, r->downtime_ns, r->precopy,
				       r->dirty_ns, &stage);
	r->stage = stage;

	if (src->at_t0_valid) {
		r->expected = true;
		r->expected_ns = src->at_t0.ns;
		r->expected_pending = src->at_t0.pending;
		r->expected_rate = src->at_t0.rate;
		r->expected_fixed_ns = src->at_t0.fixed_ns;
		r->expected_learned = src->at_t0.learned;
	}
	/*
	 * For this source's next estimate: what did not move data, and, if
	 * enough moved, how its pace compared with PRE_COPY's.
	 */
	if (r->precopy && !r->partial) {
		double k = 0;

		if (b > 0 && r->stopcopy_bytes >= K_MIN_BYTES) {
			k = (double)sub0(r->part_ns[MP_FINAL_SAVE] +
					 r->part_ns[MP_DRAIN], (__u64)a) /
			    (b * (double)r->stopcopy_bytes);
			k = k < 0.05 ? 0.05 : k > 20 ? 20 : k;
		}
		hist_add(&src->hist, r->part_ns[MP_SRC_SUSPEND] +
			 r->part_ns[MP_TGT_LOAD] + r->part_ns[MP_TGT_RESUME], k);
	}
}
