// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig_events: names, the text event file format, and the analysis model
 * behind mig-top, mig-trace and the downtime breakdown. Pure C, no libbpf,
 * so unit tests feed it recorded or synthetic events.
 *
 * Downtime (docs/downtime.md): boundaries T0..T5, each the timestamp of one
 * event (or, for T0, an arc start = step timestamp - step ns); they are
 * forced non-decreasing so the five parts sum exactly to T5 - T0.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "mig_events.h"
#include "mig_vmm.h"
#include "vfmig_abi.h"

static const char *const ev_names[MEV_NR] = {
	[MEV_DEVICE] = "device",
	[MEV_SET_STATE] = "set_state",
	[MEV_STATE_STEP] = "state_step",
	[MEV_FILE] = "file",
	[MEV_SAVE_RECORD] = "save_record",
	[MEV_IMAGE_CHUNK] = "image_chunk",
	[MEV_IMAGE_DONE] = "image_done",
	[MEV_SAVE_READ] = "save_read",
	[MEV_RESUME_WRITE] = "resume_write",
	[MEV_RESUME_RECORD] = "resume_record",
	[MEV_IMAGE_LOAD] = "image_load",
	[MEV_FW_SUBMIT] = "fw_cmd_submit",
	[MEV_FW_DONE] = "fw_cmd_done",
	[MEV_PRECOPY_INFO] = "precopy_info",
	[MEV_ERROR] = "error",
	[MEV_VMM] = "vmm",
};

static const char *const state_names[MS_NR] = {
	"ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P",
	"PRE_COPY", "PRE_COPY_P2P",
};

static const char *const fw_names[MIG_FW_NR] = {
	"QUERY_STATE_SIZE", "SAVE", "LOAD", "SUSPEND", "RESUME",
};

/* enum vfmig_err_site */
static const char *const err_site_names[] = {
	[VFMIG_ERR_SET_STATE] = "set_state",
	[VFMIG_ERR_SAVE] = "save",
	[VFMIG_ERR_SAVE_READ] = "save_read",
	[VFMIG_ERR_PRECOPY_INFO] = "precopy_info",
	[VFMIG_ERR_RESUME_WRITE] = "resume_write",
	[VFMIG_ERR_LOAD] = "load",
	[VFMIG_ERR_PRECOPY_FALLBACK] = "precopy_fallback",
	[VFMIG_ERR_CHECKSUM] = "checksum",
};

static const char *const part_names[MP_NR] = {
	"source_suspend", "final_save", "drain", "target_load",
	"target_resume",
};

const char *mig_ev_name(unsigned int type)
{
	return type < MEV_NR ? ev_names[type] : "?";
}

int mig_ev_lookup(const char *name)
{
	if (!strncmp(name, "vfmig_", 6))
		name += 6;
	for (int i = 0; i < MEV_NR; i++)
		if (!strcmp(name, ev_names[i]))
			return i;
	return -1;
}

const char *mig_state_name(unsigned int s)
{
	return s < MS_NR ? state_names[s] : "?";
}

int mig_state_lookup(const char *name)
{
	for (int i = 0; i < MS_NR; i++)
		if (!strcmp(name, state_names[i]))
			return i;
	return -1;
}

const char *mig_fw_op_name(unsigned int op)
{
	return op < MIG_FW_NR ? fw_names[op] : "?";
}

const char *mig_err_site_name(unsigned int site)
{
	if (site < sizeof(err_site_names) / sizeof(err_site_names[0]) &&
	    err_site_names[site])
		return err_site_names[site];
	return "?";
}

int mig_err_site_lookup(const char *name)
{
	for (unsigned int i = 0; i < sizeof(err_site_names) / sizeof(err_site_names[0]); i++)
		if (err_site_names[i] && !strcmp(name, err_site_names[i]))
			return (int)i;
	return -1;
}

const char *mig_part_name(unsigned int p)
{
	return p < MP_NR ? part_names[p] : "?";
}

bool mig_ev_is_phase(unsigned int type)
{
	switch (type) {
	case MEV_SAVE_RECORD:
	case MEV_IMAGE_CHUNK:
	case MEV_RESUME_RECORD:
	case MEV_IMAGE_LOAD:
	case MEV_FW_SUBMIT:
	case MEV_FW_DONE:
		return false;
	default:
		return true;
	}
}

/* ------------------------------------------------------------------ */
/* Event files                                                         */
/* ------------------------------------------------------------------ */

void mig_ev_write(FILE *f, const struct mig_event *e)
{
	fprintf(f, "%" PRIu64 " %s %u %s %" PRIu64 " %" PRIu64, (uint64_t)e->ts,
		mig_ev_name(e->type), e->dev, mig_state_name(e->state),
		(uint64_t)e->mig_id, (uint64_t)e->state_size);
	for (int i = 0; i < MIG_EV_NARGS; i++)
		fprintf(f, " %" PRId64, (int64_t)e->a[i]);
	fputc('\n', f);
}

int mig_ev_read(FILE *f, struct mig_event *e, unsigned long long *drops,
		char *mode, size_t modelen, unsigned long *lineno)
{
	char line[1024], name[64], state[32], m[64];
	unsigned long long ts, mig_id, ssz, n;
	long long a[MIG_EV_NARGS];
	unsigned int dev;
	int t, s;

	while (fgets(line, sizeof(line), f)) {
		(*lineno)++;
		if (line[0] == '#') {
			if (drops && sscanf(line, "# drops %llu", &n) == 1)
				*drops += n;
			if (mode && modelen && sscanf(line, "# mode %63s", m) == 1)
				snprintf(mode, modelen, "%s", m);
			continue;
		}
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		memset(a, 0, sizeof(a));
		if (sscanf(line, "%llu %63s %u %31s %llu %llu %lld %lld %lld %lld %lld %lld %lld",
			   &ts, name, &dev, state, &mig_id, &ssz, &a[0], &a[1],
			   &a[2], &a[3], &a[4], &a[5], &a[6]) < 6)
			return -1;
		t = mig_ev_lookup(name);
		s = mig_state_lookup(state);
		if (t < 0 || s < 0)
			return -1;
		memset(e, 0, sizeof(*e));
		e->ts = ts;
		e->type = t;
		e->dev = dev;
		e->state = s;
		e->mig_id = mig_id;
		e->state_size = ssz;
		for (int i = 0; i < MIG_EV_NARGS; i++)
			e->a[i] = (uint64_t)a[i];
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Model                                                               */
/* ------------------------------------------------------------------ */

void mig_model_init(struct mig_model *m,
		    void (*on_migration)(const struct mig_result *, void *),
		    void *arg)
{
	memset(m, 0, sizeof(*m));
	m->on_migration = on_migration;
	m->arg = arg;
}

struct mig_dev *mig_model_dev(struct mig_model *m, __u32 dev, bool create)
{
	struct mig_dev *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < MIG_MAX_DEVS; i++) {
		struct mig_dev *d = &m->devs[i];

		if (d->used && d->dev == dev)
			return d;
		if (!d->used && !free_slot)
			free_slot = d;
		if (d->used && d->removed &&
		    (!oldest || d->remove_ts < oldest->remove_ts))
			oldest = d;
	}
	if (!create)
		return NULL;
	if (!free_slot)
		free_slot = oldest;	/* recycle the longest-gone device */
	if (!free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->dev = dev;
	free_slot->state = MS_RUNNING;
	return free_slot;
}

static void reset_migration(struct mig_dev *d, __u64 mig_id, __u8 role)
{
	__u64 t_susp = d->t_susp;

	d->mig_id = mig_id;
	d->role = role;
	d->partial = false;
	d->t_open = 0;
	d->t_stopcopy = d->t_final_done = d->t_last_read = 0;
	d->read_eof = false;
	d->precopy_bytes = d->stopcopy_bytes = 0;
	d->initial_total = 0;
	d->precopy_initial = d->precopy_dirty = 0;
	d->precopy_iters = d->images = d->errors = 0;
	d->last_err_site = 0;
	d->last_err = 0;
	d->precopy = false;
	d->paired = false;
	d->complete_ts = 0;
	d->written_bytes = 0;
	d->t_loaded = 0;
	/* A STOP_COPY-only save file opens after the suspend arcs. */
	d->t_susp = role == MR_SOURCE ? t_susp : 0;
}

void mig_model_seed(struct mig_model *m, __u32 dev, __u32 state,
		    __u64 mig_id, __u64 state_size, __u64 now)
{
	struct mig_dev *d = mig_model_dev(m, dev, false);

	if (d)
		return;
	d = mig_model_dev(m, dev, true);
	if (!d)
		return;
	d->state = state;
	d->mig_id = mig_id;
	d->state_size = state_size;
	d->state_since = now;
	switch (state) {
	case MS_PRE_COPY: case MS_PRE_COPY_P2P: case MS_STOP_COPY:
		d->role = MR_SOURCE;
		d->partial = true;
		d->precopy = state != MS_STOP_COPY;
		break;
	case MS_RESUMING:
		d->role = MR_TARGET;
		d->partial = true;
		break;
	}
}

void mig_model_gc(struct mig_model *m, __u64 now, __u64 keep_ns)
{
	for (int i = 0; i < MIG_MAX_DEVS; i++) {
		struct mig_dev *d = &m->devs[i];

		if (d->used && d->removed && now - d->remove_ts > keep_ns)
			memset(d, 0, sizeof(*d));
	}
}

static __u64 max64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

/*
 * Pairing (docs/downtime.md): the target that reaches RUNNING is paired
 * with an unpaired source that reached STOP_COPY before that moment; a
 * source whose bytes read equal the target's bytes written wins, then the
 * one that entered STOP_COPY last.
 */
static struct mig_dev *pair_source(struct mig_model *m, struct mig_dev *tgt,
				   __u64 now)
{
	struct mig_dev *best = NULL;
	bool best_match = false;

	for (int i = 0; i < MIG_MAX_DEVS; i++) {
		struct mig_dev *s = &m->devs[i];
		bool match;

		if (!s->used || s == tgt || s->role != MR_SOURCE || s->paired ||
		    !s->t_stopcopy || s->t_stopcopy > now)
			continue;
		match = s->precopy_bytes + s->stopcopy_bytes ==
			tgt->written_bytes;
		if (!best || (match && !best_match) ||
		    (match == best_match && s->t_stopcopy > best->t_stopcopy)) {
			best = s;
			best_match = match;
		}
	}
	return best;
}

static void complete_migration(struct mig_model *m, struct mig_dev *tgt,
			       __u64 now)
{
	struct mig_dev *src = pair_source(m, tgt, now);
	struct mig_result r;
	__u64 t[MP_NR + 1];

	if (!src)
		return;
	memset(&r, 0, sizeof(r));
	r.src_dev = src->dev;
	r.dst_dev = tgt->dev;
	r.src_mig_id = src->mig_id;
	r.dst_mig_id = tgt->mig_id;
	t[0] = src->t_susp ? src->t_susp : src->t_stopcopy;
	t[1] = src->t_stopcopy;
	t[3] = src->t_last_read ? src->t_last_read : src->t_stopcopy;
	t[2] = src->t_final_done ? src->t_final_done : src->t_stopcopy;
	if (t[2] > t[3])	/* last chunk read before image_done fired */
		t[2] = t[3];
	t[4] = tgt->t_loaded ? tgt->t_loaded : now;
	t[5] = now;
	for (int i = 1; i <= MP_NR; i++)
		t[i] = max64(t[i], t[i - 1]);
	for (int i = 0; i <= MP_NR; i++)
		r.t[i] = t[i];
	for (int i = 0; i < MP_NR; i++)
		r.part_ns[i] = t[i + 1] - t[i];
	r.downtime_ns = t[MP_NR] - t[0];
	r.precopy_bytes = src->precopy_bytes;
	r.stopcopy_bytes = src->stopcopy_bytes;
	r.written_bytes = tgt->written_bytes;
	r.bytes_match = r.precopy_bytes + r.stopcopy_bytes == r.written_bytes;
	r.precopy_iters = src->precopy_iters;
	r.images = src->images;
	r.errors = src->errors + tgt->errors;
	r.partial = src->partial || tgt->partial || !src->t_susp;
	r.precopy = src->precopy;
	r.src_owner = src->owner;
	r.dst_owner = tgt->owner;
	src->paired = true;
	tgt->role = MR_NONE;
	m->nr_migrations++;
	if (m->on_migration)
		m->on_migration(&r, m->arg);
}

static bool is_running(__u32 s)
{
	return s == MS_RUNNING || s == MS_PRE_COPY;
}

/* The task of @e drives @d's state from now on (docs/mig-top.md, "Owners"). */
static void take_owner(struct mig_dev *d, const struct mig_event *e)
{
	if (!e->pid)
		return;
	if (d->owner.pid != e->pid)
		memset(&d->owner, 0, sizeof(d->owner));
	d->owner.pid = e->pid;
	memcpy(d->owner.comm, e->comm, sizeof(d->owner.comm));
	d->owner.comm[sizeof(d->owner.comm) - 1] = '\0';
}

void mig_model_feed(struct mig_model *m, const struct mig_event *e)
{
	struct mig_dev *d;
	__s64 ret;

	if (e->type >= MEV_VMM) {	/* not a device's event (mig_vmm.c) */
		m->events++;
		return;
	}
	d = mig_model_dev(m, e->dev, true);
	m->events++;
	if (!d)
		return;
	if (e->state_size)
		d->state_size = e->state_size;
	for (size_t i = 0; i < sizeof(e->uuid); i++) {
		if (e->uuid[i]) {
			memcpy(d->uuid, e->uuid, sizeof(d->uuid));
			break;
		}
	}
	/* An event of a newer migration than we know of: we missed its start. */
	if (e->mig_id > d->mig_id && e->type != MEV_FILE) {
		__u8 role = MR_NONE;

		if (e->state == MS_RESUMING)
			role = MR_TARGET;
		else if (e->state == MS_PRE_COPY || e->state == MS_PRE_COPY_P2P ||
			 e->state == MS_STOP_COPY)
			role = MR_SOURCE;
		reset_migration(d, e->mig_id, role);
		d->partial = role != MR_NONE;
		d->precopy = e->state == MS_PRE_COPY ||
			     e->state == MS_PRE_COPY_P2P;
	}
	if (e->type != MEV_SET_STATE && e->type != MEV_STATE_STEP &&
	    e->state != d->state) {
		d->state = e->state;
		d->state_since = e->ts;
	}

	switch (e->type) {
	case MEV_DEVICE:
		if (e->a[0] == 1 /* VFMIG_DEV_REMOVE */) {
			d->removed = true;
			d->remove_ts = e->ts;
		} else if (e->a[0] == 0 /* CREATE */) {
			d->removed = false;
		} else if (e->a[0] == 2 /* OPEN */) {
			take_owner(d, e);
		}
		break;
	case MEV_STATE_STEP:
		ret = (__s64)e->a[2];
		if (ret)
			break;
		/* P2P arcs, or RUNNING -> STOP / PRE_COPY -> STOP_COPY without P2P */
		if (is_running((__u32)e->a[0]) && !is_running((__u32)e->a[1]))
			d->t_susp = e->ts - e->a[3];
		if (is_running((__u32)e->a[1]))
			d->t_susp = 0;
		if (e->a[1] == MS_STOP_COPY && d->role == MR_SOURCE) {
			d->t_stopcopy = e->ts;
			if (d->t_susp && !d->t_open)
				d->t_open = d->t_susp;
		}
		if (e->a[0] == MS_RESUMING && e->a[1] == MS_STOP &&
		    d->role == MR_TARGET)
			d->t_loaded = e->ts;
		d->state = (__u32)e->a[1];
		d->state_since = e->ts;
		break;
	case MEV_SET_STATE:
		ret = (__s64)e->a[3];
		take_owner(d, e);
		if (d->state != e->a[2]) {
			d->state = (__u32)e->a[2];
			d->state_since = e->ts;
		}
		if (!ret && e->a[2] == MS_RUNNING && d->role == MR_TARGET &&
		    (d->t_loaded || d->partial))
			complete_migration(m, d, e->ts);
		break;
	case MEV_FILE:
		if (e->a[1]) {	/* open: a new migration session */
			reset_migration(d, e->mig_id,
					e->a[0] == 0 ? MR_SOURCE : MR_TARGET);
			d->t_open = e->ts;
			d->precopy = e->state == MS_PRE_COPY ||
				     e->state == MS_PRE_COPY_P2P ||
				     e->state == MS_RUNNING ||
				     e->state == MS_RUNNING_P2P;
		}
		break;
	case MEV_IMAGE_DONE:
		if (e->mig_id != d->mig_id)
			break;
		if (!(__s64)e->a[5])
			d->images++;
		if (e->a[0] == 2 /* FINAL */)
			d->t_final_done = e->ts;
		break;
	case MEV_SAVE_READ:
		if (e->mig_id != d->mig_id)
			break;
		ret = (__s64)e->a[2];
		if (ret > 0) {
			if (e->state == MS_STOP_COPY) {
				d->stopcopy_bytes += ret;
				d->t_last_read = e->ts;
			} else {
				d->precopy_bytes += ret;
			}
		} else if (ret == 0 && e->state == MS_STOP_COPY) {
			d->read_eof = true;
		}
		break;
	case MEV_RESUME_WRITE:
		if (e->mig_id != d->mig_id)
			break;
		ret = (__s64)e->a[2];
		if (ret > 0)
			d->written_bytes += ret;
		break;
	case MEV_PRECOPY_INFO:
		if (e->mig_id != d->mig_id || (__s64)e->a[2])
			break;
		d->precopy_initial = e->a[0];
		d->precopy_dirty = e->a[1];
		d->initial_total = max64(d->initial_total,
					 e->a[0] + d->precopy_bytes);
		if (e->a[3])
			d->precopy_iters++;
		break;
	case MEV_ERROR:
		d->errors++;
		d->last_err_site = (__u32)e->a[0];
		d->last_err = (__s32)e->a[1];
		break;
	}
}

const char *mig_dev_phase(const struct mig_dev *d)
{
	if (d->removed)
		return "removed";
	switch (d->state) {
	case MS_PRE_COPY:
		return d->precopy_initial || !d->initial_total ?
		       "precopy-initial" : "precopy-dirty";
	case MS_PRE_COPY_P2P:
		return "precopy-p2p";
	case MS_STOP_COPY:
		return d->read_eof ? "stop_copy-done" : "stop_copy";
	case MS_RESUMING:
		return "resuming";
	case MS_ERROR:
		return "error";
	case MS_RUNNING_P2P:
		return "p2p";
	case MS_STOP:
		return d->role == MR_TARGET ? "loaded" : "stopped";
	default:
		/* Back in RUNNING: after a completed migration, or an abort. */
		if (d->role == MR_SOURCE && d->paired)
			return "migrated";
		return d->role == MR_SOURCE && d->t_open ? "aborted" : "idle";
	}
}

double mig_dev_progress(const struct mig_dev *d)
{
	__u64 total = d->initial_total;

	if (d->role != MR_SOURCE || !d->precopy)
		return -1;
	if (!total)	/* no precopy_info yet: the image is about the state */
		total = d->state_size + d->state_size / 512;
	if (!total)
		return -1;
	if (d->precopy_bytes >= total)
		return 1.0;
	return (double)d->precopy_bytes / (double)total;
}

void mig_json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void mig_owner_json(FILE *f, const struct mig_owner *o)
{
	if (!o->pid) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"pid\":%u,\"comm\":", o->pid);
	mig_json_str(f, o->comm);
	fputs(",\"qemu_id\":", f);
	mig_json_str(f, *o->qemu_id ? o->qemu_id : NULL);
	fputc('}', f);
}

void mig_result_json(FILE *f, const struct mig_result *r)
{
	fprintf(f, "{\"type\":\"migration\",\"src_dev\":%u,\"dst_dev\":%u,"
		"\"src_mig_id\":%" PRIu64 ",\"dst_mig_id\":%" PRIu64 ","
		"\"t_start_ns\":%" PRIu64 ",\"t_end_ns\":%" PRIu64 ","
		"\"downtime_ns\":%" PRIu64 ",\"parts\":{",
		r->src_dev, r->dst_dev, (uint64_t)r->src_mig_id,
		(uint64_t)r->dst_mig_id, (uint64_t)r->t[0],
		(uint64_t)r->t[MP_NR], (uint64_t)r->downtime_ns);
	for (int i = 0; i < MP_NR; i++)
		fprintf(f, "%s\"%s_ns\":%" PRIu64, i ? "," : "",
			part_names[i], (uint64_t)r->part_ns[i]);
	fprintf(f, "},\"bytes\":{\"precopy\":%" PRIu64 ",\"stop_copy\":%" PRIu64
		",\"total\":%" PRIu64 ",\"written\":%" PRIu64 "},"
		"\"bytes_match\":%s,\"precopy\":%s,\"precopy_iterations\":%u,"
		"\"images\":%u,\"errors\":%u,\"partial\":%s",
		(uint64_t)r->precopy_bytes, (uint64_t)r->stopcopy_bytes,
		(uint64_t)(r->precopy_bytes + r->stopcopy_bytes),
		(uint64_t)r->written_bytes, r->bytes_match ? "true" : "false",
		r->precopy ? "true" : "false", r->precopy_iters, r->images,
		r->errors, r->partial ? "true" : "false");
	fputs(",\"src_owner\":", f);
	mig_owner_json(f, &r->src_owner);
	fputs(",\"dst_owner\":", f);
	mig_owner_json(f, &r->dst_owner);
	mig_vmm_json(f, &r->vmm);
	fputc('}', f);
}

void mig_result_text(FILE *f, const struct mig_result *r)
{
	double tot = (double)r->downtime_ns;

	fprintf(f, "migration dev %u -> dev %u: downtime %.3f ms, %" PRIu64
		" bytes (precopy %" PRIu64 ", stop_copy %" PRIu64 ")%s\n",
		r->src_dev, r->dst_dev, tot / 1e6,
		(uint64_t)(r->precopy_bytes + r->stopcopy_bytes),
		(uint64_t)r->precopy_bytes, (uint64_t)r->stopcopy_bytes,
		r->partial ? " [partial]" : "");
	for (int i = 0; i < MP_NR; i++)
		fprintf(f, "  %-15s %10.3f ms %5.1f%%\n", part_names[i],
			r->part_ns[i] / 1e6,
			tot > 0 ? 100.0 * r->part_ns[i] / tot : 0.0);
	for (int i = 0; i < 2; i++) {
		const struct mig_owner *o = i ? &r->dst_owner : &r->src_owner;

		if (!o->pid)
			continue;
		fprintf(f, "  %s owner: %s pid %u%s%s\n", i ? "target" : "source",
			o->comm, o->pid, *o->qemu_id ? ", QEMU device id " : "",
			o->qemu_id);
	}
	mig_vmm_text(f, &r->vmm);
}
