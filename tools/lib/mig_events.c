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
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "json_out.h"
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

/* The names of a0..a6: TP_PROTO's (and the tracepoint records') field names. */
static const char *const ev_fields[MEV_NR][MIG_EV_NARGS] = {
	[MEV_DEVICE] = { "event" },
	[MEV_SET_STATE] = { "from", "target", "result", "ret", "ns" },
	[MEV_STATE_STEP] = { "from", "to", "ret", "ns" },
	[MEV_FILE] = { "kind", "open", "bytes", "peak_bytes" },
	[MEV_SAVE_RECORD] = { "pos", "size", "tag", "flags" },
	[MEV_IMAGE_CHUNK] = { "kind", "image_seq", "chunk_seq", "npages",
			      "chunk_flags", "bytes", "pos" },
	[MEV_IMAGE_DONE] = { "kind", "image_seq", "chunks", "npages", "bytes",
			     "status", "ns" },
	[MEV_SAVE_READ] = { "pos", "len", "ret" },
	[MEV_RESUME_WRITE] = { "pos", "len", "ret" },
	[MEV_RESUME_RECORD] = { "pos", "size", "tag", "flags" },
	[MEV_IMAGE_LOAD] = { "image_seq", "chunk_seq", "npages", "chunk_flags",
			     "bytes", "ret" },
	[MEV_FW_SUBMIT] = { "seq", "opcode", "op_mod", "bytes" },
	[MEV_FW_DONE] = { "seq", "opcode", "op_mod", "status", "bytes",
			  "lat_ns" },
	[MEV_PRECOPY_INFO] = { "initial_bytes", "dirty_bytes", "ret",
			       "save_issued" },
	[MEV_ERROR] = { "site", "err", "fw_status" },
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

int mig_ev_field(unsigned int type, const char *field)
{
	if (type >= MEV_NR)
		return -1;
	for (int i = 0; i < MIG_EV_NARGS; i++)
		if (ev_fields[type][i] && !strcmp(ev_fields[type][i], field))
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
	char u[37];

	fprintf(f, "%" PRIu64 " %s %u %s %" PRIu64 " %" PRIu64, (uint64_t)e->ts,
		mig_ev_name(e->type), e->dev, mig_state_name(e->state),
		(uint64_t)e->mig_id, (uint64_t)e->state_size);
	for (int i = 0; i < MIG_EV_NARGS; i++)
		fprintf(f, " %" PRId64, (int64_t)e->a[i]);
	/* The device's UUID, once per open: enough for a replay to name it. */
	if (e->type == MEV_DEVICE && mig_uuid_str(e->uuid, u))
		fprintf(f, " uuid=%s", u);
	fputc('\n', f);
}

/* A decimal integer, signed or not, as the u64 of a[] (signed: sign-extended). */
static int parse_arg(const char *s, __u64 *v)
{
	char *end;

	errno = 0;
	if (*s == '-')
		*v = (__u64)strtoll(s, &end, 10);
	else
		*v = strtoull(s, &end, 10);
	return errno || end == s || *end ? -1 : 0;
}

const char *mig_uuid_str(const __u8 uuid[16], char buf[37])
{
	static const __u8 zero[16];

	if (!memcmp(uuid, zero, 16))
		return NULL;
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", uuid[0], uuid[1], uuid[2], uuid[3],
		 uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9], uuid[10],
		 uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
	return buf;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into @uuid (text byte order). */
static int parse_uuid(const char *s, __u8 uuid[16])
{
	unsigned int b[16];

	if (strlen(s) != 36 ||
	    sscanf(s, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x",
		   &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7], &b[8],
		   &b[9], &b[10], &b[11], &b[12], &b[13], &b[14], &b[15]) != 16)
		return -1;
	for (int i = 0; i < 16; i++)
		uuid[i] = (__u8)b[i];
	return 0;
}

int mig_ev_read(FILE *f, struct mig_event *e, unsigned long long *drops,
		char *mode, size_t modelen, unsigned long *lineno)
{
	char line[2048], m[64], *tok[6 + 64], *save, *t;
	unsigned long long n;
	__u64 v[4];
	int ntok, type, s;

	while (fgets(line, sizeof(line), f)) {
		(*lineno)++;
		if (line[0] == '#') {
			if (drops && sscanf(line, "# drops %llu", &n) == 1)
				*drops += n;
			if (mode && modelen && sscanf(line, "# mode %63s", m) == 1)
				snprintf(mode, modelen, "%s", m);
			continue;
		}
		ntok = 0;
		for (t = strtok_r(line, " \t\r\n", &save); t && ntok < 6 + 64;
		     t = strtok_r(NULL, " \t\r\n", &save))
			tok[ntok++] = t;
		if (!ntok)
			continue;
		if (ntok < 6)
			return -1;
		type = mig_ev_lookup(tok[1]);
		if (type < 0 && !strncmp(tok[1], "vfmig_", 6))
			continue;	/* a tracepoint this version does not know */
		s = mig_state_lookup(tok[3]);
		if (s < 0 && !parse_arg(tok[3], &v[3]) && v[3] < MS_NR)
			s = (int)v[3];		/* a state by number */
		if (type < 0 || s < 0 || parse_arg(tok[0], &v[0]) ||
		    parse_arg(tok[2], &v[1]) || v[1] > UINT32_MAX ||
		    parse_arg(tok[4], &v[2]) || parse_arg(tok[5], &v[3]))
			return -1;
		memset(e, 0, sizeof(*e));
		e->ts = v[0];
		e->type = type;
		e->dev = (__u32)v[1];
		e->state = s;
		e->mig_id = v[2];
		e->state_size = v[3];
		for (int i = 6; i < ntok; i++) {
			char *eq = strchr(tok[i], '=');
			int k;

			if (!eq) {		/* positional: a0 a1 ... */
				if (i - 6 >= MIG_EV_NARGS || parse_arg(tok[i], &e->a[i - 6]))
					return -1;
				continue;
			}
			*eq++ = '\0';		/* named: FIELD=VALUE */
			if (!strcmp(tok[i], "uuid")) {
				if (parse_uuid(eq, e->uuid))
					return -1;
				continue;
			}
			k = mig_ev_field(type, tok[i]);
			if (k >= 0 && parse_arg(eq, &e->a[k]))
				return -1;
			/* other fields (a record's extra ones): ignored */
		}
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

void mig_owner_json(struct jw *w, const char *key, const struct mig_owner *o)
{
	if (!o->pid) {
		jw_null(w, key);
		return;
	}
	jw_object(w, key);
	jw_uint(w, "pid", o->pid);
	jw_string(w, "comm", o->comm);
	jw_string(w, "qemu_id", *o->qemu_id ? o->qemu_id : NULL);
	jw_end_object(w);
}

void mig_result_json(struct jw *w, const struct mig_result *r)
{
	char key[32];

	jw_uint(w, "src_dev", r->src_dev);
	jw_uint(w, "dst_dev", r->dst_dev);
	jw_uint(w, "src_mig_id", r->src_mig_id);
	jw_uint(w, "dst_mig_id", r->dst_mig_id);
	jw_uint(w, "t_start_ns", r->t[0]);
	jw_uint(w, "t_end_ns", r->t[MP_NR]);
	jw_uint(w, "downtime_ns", r->downtime_ns);
	jw_object(w, "parts");
	for (int i = 0; i < MP_NR; i++) {
		snprintf(key, sizeof(key), "%s_ns", part_names[i]);
		jw_uint(w, key, r->part_ns[i]);
	}
	jw_end_object(w);
	jw_object(w, "bytes");
	jw_uint(w, "precopy", r->precopy_bytes);
	jw_uint(w, "stop_copy", r->stopcopy_bytes);
	jw_uint(w, "total", r->precopy_bytes + r->stopcopy_bytes);
	jw_uint(w, "written", r->written_bytes);
	jw_end_object(w);
	jw_bool(w, "bytes_match", r->bytes_match);
	jw_bool(w, "precopy", r->precopy);
	jw_uint(w, "precopy_iterations", r->precopy_iters);
	jw_uint(w, "images", r->images);
	jw_uint(w, "errors", r->errors);
	jw_bool(w, "partial", r->partial);
	mig_owner_json(w, "src_owner", &r->src_owner);
	mig_owner_json(w, "dst_owner", &r->dst_owner);
	mig_vmm_json(w, &r->vmm);
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
