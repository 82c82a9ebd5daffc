// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * vfio_generic.bpf.c: mig-top's generic mode (docs/mig-top.md, "Generic
 * mode"): follows the migration of any VFIO migration driver, without
 * tracepoints, from
 *
 *   the driver's migration_set_state op   entry/exit: request, result, ret,
 *                                         and the data file it returns
 *   vfio_mig_get_next_state() (vfio.ko)   exit: each arc the driver steps
 *   the driver's save read / resume write exit: bytes and return value
 *   the driver's precopy ioctl            exit: VFIO_MIG_GET_PRECOPY_INFO
 *                                         result, read back from the user
 *
 * and turns them into the struct mig_event stream of bpf/vfmig.bpf.c
 * (include/vfmig_events.h), so mig-top's model, JSON and TUI work unchanged.
 *
 * The driver functions are found at run time (tools/mig-top/generic.c):
 * every program is a placeholder, retargeted with
 * bpf_program__set_attach_target() (fentry/fexit, needs the module's BTF)
 * or attached by name (kprobe/kretprobe, no BTF needed; the arguments a
 * kretprobe needs are stashed per thread by its kprobe). Userspace loads
 * one set: f_* (fentry) or k_* (kprobe).
 *
 * Arc timing: the driver calls vfio_mig_get_next_state() before each arc,
 * so an arc runs from that call's return (the first arc: from the entry of
 * migration_set_state) to the next call's return or to the exit of
 * migration_set_state; the arcs of one request tile the request.
 *
 * Identity: the device id is vfio_device->index (the N of
 * /dev/vfio/devices/vfioN, CO-RE against vfio.ko's BTF), its name the
 * struct device name (PCI BDF or mdev UUID), kept in the "devnames" map.
 * Migration session ids (mig_id) are handed out here, one per data file.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vfmig_abi.h"
#include "vfmig_events.h"
#include "mig_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __s64 dev_filter = -1;	/* only this device id, -1 = all */

#define GEN_STATE_UNKNOWN	0xffffffffu
#define GEN_NAME_LEN		64
#define VFIO_STATE_STOP_COPY	3
#define VFIO_STATE_RESUMING	4
#define PRECOPY_INFO_CMD	0x3b79	/* _IO(VFIO_TYPE, VFIO_BASE + 21) */
#define MAX_ERRNO		4095

/* Only the fields used; CO-RE finds them in vfio.ko's BTF. */
struct vfio_device___gen {
	struct device *dev;
	unsigned int index;
} __attribute__((preserve_access_index));

struct gen_name {
	char name[GEN_NAME_LEN];
};

struct gdev {			/* per struct vfio_device * */
	__u32 id;
	__u32 state;		/* last known state or GEN_STATE_UNKNOWN */
	__u64 mig_id;
	__u64 ss_start;		/* migration_set_state entry */
	__u32 ss_from, ss_target;
	__u32 in_ss, arcs;	/* inside set_state; arcs seen in it */
	__u32 arc_pending, arc_from, arc_to, pad;
	__u64 arc_start;
};

struct gfile {			/* per data file (struct file *) */
	__u64 vdev;
	__u64 mig_id;
	__u32 id;
	__u32 kind;		/* 0 save, 1 resume */
};

struct stash_key {
	__u64 pid_tgid;
	__u32 hook;
	__u32 pad;
};

struct stash_val {
	__u64 a[4];
};

enum { H_SET_STATE, H_NEXT_STATE, H_READ, H_WRITE, H_IOCTL };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct gdev);
} gdevs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct gen_name);
} devnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct gfile);
} files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct stash_key);
	__type(value, struct stash_val);
} stash SEC(".maps");

/* Plain counters: no fetch-and-add (BPF v1); users serialize per device. */
__u64 mig_seq;
__u32 id_seq;

static __always_inline bool is_err(__s64 v)
{
	return v < 0 && v >= -MAX_ERRNO;
}

static __always_inline void update_stats(struct mig_event *e)
{
	static const struct mig_devstats zero;
	struct mig_devstats *s;
	__u32 key = e->dev;

	s = bpf_map_lookup_elem(&devstats, &key);
	if (!s) {
		if (bpf_map_update_elem(&devstats, &key, &zero, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&devstats, &key)) {
			count_drop(1);
			return;
		}
		s = bpf_map_lookup_elem(&devstats, &key);
		if (!s)
			return;
	}
	s->state = e->state;
	s->mig_id = e->mig_id;
	s->last_ts = e->ts;
	__sync_fetch_and_add(&s->events, 1);

	switch (e->type) {
	case MEV_SAVE_READ:
		if ((__s64)e->a[2] > 0) {
			__sync_fetch_and_add(&s->reads, 1);
			__sync_fetch_and_add(&s->read_bytes, e->a[2]);
		}
		break;
	case MEV_RESUME_WRITE:
		if ((__s64)e->a[2] > 0) {
			__sync_fetch_and_add(&s->writes, 1);
			__sync_fetch_and_add(&s->write_bytes, e->a[2]);
		}
		break;
	case MEV_PRECOPY_INFO:
		if (!e->a[2]) {
			s->precopy_initial = e->a[0];
			s->precopy_dirty = e->a[1];
		}
		break;
	case MEV_ERROR:
		__sync_fetch_and_add(&s->errors, 1);
		break;
	}
}

static __always_inline void emit(__u32 type, __u32 dev, __u32 state,
				 __u64 mig_id, __u64 a0, __u64 a1, __u64 a2,
				 __u64 a3, __u64 a4)
{
	struct mig_event e = {};

	if (dev_filter >= 0 && dev != (__u32)dev_filter)
		return;
	e.ts = bpf_ktime_get_ns();
	e.tai = bpf_ktime_get_tai_ns();
	e.cpu = bpf_get_smp_processor_id();
	set_task(&e);
	e.type = type;
	e.dev = dev;
	e.state = state == GEN_STATE_UNKNOWN ? 0 : state;
	e.mig_id = mig_id;
	e.a[0] = a0;
	e.a[1] = a1;
	e.a[2] = a2;
	e.a[3] = a3;
	e.a[4] = a4;
	update_stats(&e);
	submit_event(&e);
}

/* ------------------------------------------------------------------ */
/* Devices                                                             */
/* ------------------------------------------------------------------ */

static __always_inline struct gdev *gdev_get(__u64 vdev)
{
	struct vfio_device___gen *v = (void *)vdev;
	struct gdev *g, z = {};
	struct gen_name nm = {};
	struct device *d;
	const char *n;

	g = bpf_map_lookup_elem(&gdevs, &vdev);
	if (g)
		return g;
	if (bpf_core_field_exists(struct vfio_device___gen, index)) {
		z.id = BPF_CORE_READ(v, index);
		d = BPF_CORE_READ(v, dev);
		n = BPF_CORE_READ(d, kobj.name);
		if (n)
			bpf_probe_read_kernel_str(nm.name, sizeof(nm.name), n);
	} else {
		/* No vfio.ko BTF: number devices in order of appearance. */
		z.id = 1000000 + id_seq++;
	}
	z.state = GEN_STATE_UNKNOWN;
	z.ss_from = GEN_STATE_UNKNOWN;
	if (bpf_map_update_elem(&gdevs, &vdev, &z, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&gdevs, &vdev)) {
		count_drop(1);
		return NULL;
	}
	bpf_map_update_elem(&devnames, &z.id, &nm, BPF_ANY);
	return bpf_map_lookup_elem(&gdevs, &vdev);
}

/* ------------------------------------------------------------------ */
/* Handlers shared by both program sets                                */
/* ------------------------------------------------------------------ */

static __always_inline int on_set_state_enter(__u64 vdev, __u32 target)
{
	struct gdev *g = gdev_get(vdev);

	if (!g)
		return 0;
	g->ss_start = bpf_ktime_get_ns();
	g->ss_from = g->state;
	g->ss_target = target;
	g->in_ss = 1;
	g->arcs = 0;
	g->arc_pending = 0;
	return 0;
}

static __always_inline void open_file(struct gdev *g, __u64 vdev, __u64 filp,
				      __u32 state_before, __u32 new_state)
{
	struct gfile f = {};
	__u64 id = mig_seq + 1;

	if (id <= g->mig_id)
		id = g->mig_id + 1;
	mig_seq = id;
	g->mig_id = id;
	f.vdev = vdev;
	f.mig_id = id;
	f.id = g->id;
	f.kind = new_state == VFIO_STATE_RESUMING ? 1 : 0;
	bpf_map_update_elem(&files, &filp, &f, BPF_ANY);
	/* MEV_FILE: a0 kind, a1 open, a2 bytes, a3 peak_bytes */
	emit(MEV_FILE, g->id, state_before, id, f.kind, 1, 0, 0, 0);
}

static __always_inline int on_set_state_exit(__u64 vdev, __u32 target, __s64 ret)
{
	struct gdev *g = bpf_map_lookup_elem(&gdevs, &vdev);
	__u64 now = bpf_ktime_get_ns();
	__s64 err = is_err(ret) ? ret : 0;
	bool file = !err && ret;
	__u32 result;

	if (!g || !g->in_ss)
		return 0;
	g->in_ss = 0;
	if (g->arc_pending) {
		/* The last arc: a file can only come from it. */
		if (file)
			open_file(g, vdev, (__u64)ret, g->arc_from, g->arc_to);
		emit(MEV_STATE_STEP, g->id, g->arc_from, g->mig_id,
		     g->arc_from, g->arc_to, err, now - g->arc_start, 0);
		if (!err)
			g->state = g->arc_to;
		else
			g->state = g->arc_from;
		g->arc_pending = 0;
	} else if (!g->arcs && g->ss_from != GEN_STATE_UNKNOWN &&
		   g->ss_from != target) {
		/* A driver that does not step through vfio_mig_get_next_state(). */
		if (file)
			open_file(g, vdev, (__u64)ret, g->ss_from, target);
		emit(MEV_STATE_STEP, g->id, g->ss_from, g->mig_id, g->ss_from,
		     target, err, now - g->ss_start, 0);
		if (!err)
			g->state = target;
	} else if (file) {
		open_file(g, vdev, (__u64)ret, g->state, target);
	}
	if (!err && g->state == GEN_STATE_UNKNOWN)
		g->state = target;
	result = g->state;
	if (err)
		emit(MEV_ERROR, g->id, result, g->mig_id, 0, err, 0, 0, 0);
	/* MEV_SET_STATE: a0 from, a1 target, a2 result, a3 ret, a4 ns */
	emit(MEV_SET_STATE, g->id, result, g->mig_id,
	     g->ss_from == GEN_STATE_UNKNOWN ? 0 : g->ss_from, target,
	     result == GEN_STATE_UNKNOWN ? 0 : result, err, now - g->ss_start);
	return 0;
}

static __always_inline int on_next_state_exit(__u64 vdev, __u32 cur, __u32 next,
					      int ret)
{
	struct gdev *g = bpf_map_lookup_elem(&gdevs, &vdev);
	__u64 now = bpf_ktime_get_ns(), start;

	if (!g || !g->in_ss)
		return 0;
	if (g->arc_pending) {
		/* The previous arc is done: the driver asks for the next one. */
		emit(MEV_STATE_STEP, g->id, g->arc_from, g->mig_id,
		     g->arc_from, g->arc_to, 0, now - g->arc_start, 0);
		start = now;
	} else {
		start = g->ss_start;
	}
	if (g->ss_from == GEN_STATE_UNKNOWN)
		g->ss_from = cur;
	g->state = cur;		/* the driver's own idea of its state */
	g->arc_pending = 0;
	if (ret)
		return 0;
	g->arc_pending = 1;
	g->arc_from = cur;
	g->arc_to = next;
	g->arc_start = start;
	g->arcs++;
	return 0;
}

static __always_inline int on_data_exit(__u32 type, struct file *filp,
					__u64 len, __s64 ret)
{
	__u64 key = (__u64)filp;
	struct gfile *f = bpf_map_lookup_elem(&files, &key);
	__u32 state = GEN_STATE_UNKNOWN;
	struct gdev *g;
	__s64 pos;

	if (!f)
		return 0;
	g = bpf_map_lookup_elem(&gdevs, &f->vdev);
	if (g)
		state = g->state;
	pos = BPF_CORE_READ(filp, f_pos);
	if (ret > 0)
		pos -= ret;
	/* MEV_SAVE_READ / MEV_RESUME_WRITE: a0 pos, a1 len, a2 ret */
	emit(type, f->id, state, f->mig_id, pos, len, ret, 0, 0);
	return 0;
}

static __always_inline int on_ioctl_exit(struct file *filp, __u32 cmd,
					 __u64 arg, __s64 ret)
{
	struct { __u32 argsz, flags; __u64 initial, dirty; } info = {};
	__u64 key = (__u64)filp;
	struct gfile *f;
	struct gdev *g;
	__u32 state = GEN_STATE_UNKNOWN;

	if (cmd != PRECOPY_INFO_CMD)
		return 0;
	f = bpf_map_lookup_elem(&files, &key);
	if (!f)
		return 0;
	g = bpf_map_lookup_elem(&gdevs, &f->vdev);
	if (g)
		state = g->state;
	if (!ret && bpf_probe_read_user(&info, sizeof(info), (void *)arg))
		ret = -14;	/* could not read the result back: -EFAULT */
	/* MEV_PRECOPY_INFO: a0 initial, a1 dirty, a2 ret, a3 save_issued */
	emit(MEV_PRECOPY_INFO, f->id, state, f->mig_id, info.initial,
	     info.dirty, ret, 0, 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* fentry/fexit: placeholders, retargeted at run time                  */
/* ------------------------------------------------------------------ */

SEC("fentry/vfmig_generic_set_state")
int BPF_PROG(f_set_state_in, void *vdev, __u32 new_state)
{
	return on_set_state_enter((__u64)vdev, new_state);
}

SEC("fexit/vfmig_generic_set_state")
int BPF_PROG(f_set_state_out, void *vdev, __u32 new_state, long ret)
{
	return on_set_state_exit((__u64)vdev, new_state, ret);
}

/*
 * The verifier refuses a direct read of argument 3 (a pointer to an enum,
 * "not a struct"): bpf_get_func_arg() reads it from the trampoline.
 */
SEC("fexit/vfio_mig_get_next_state")
int f_next_state_out(__u64 *ctx)
{
	__u64 vdev = 0, cur = 0, next = 0, ret = 0;
	__u32 n = 0;

	if (bpf_get_func_arg(ctx, 0, &vdev) || bpf_get_func_arg(ctx, 1, &cur) ||
	    bpf_get_func_arg(ctx, 3, &next) || bpf_get_func_ret(ctx, &ret))
		return 0;
	if (!(int)ret)
		bpf_probe_read_kernel(&n, sizeof(n), (void *)next);
	return on_next_state_exit(vdev, (__u32)cur, n, (int)ret);
}

SEC("fexit/vfmig_generic_save_read")
int BPF_PROG(f_read_out, struct file *filp, char *buf, __u64 len, void *pos,
	     long ret)
{
	return on_data_exit(MEV_SAVE_READ, filp, len, ret);
}

SEC("fexit/vfmig_generic_resume_write")
int BPF_PROG(f_write_out, struct file *filp, const char *buf, __u64 len,
	     void *pos, long ret)
{
	return on_data_exit(MEV_RESUME_WRITE, filp, len, ret);
}

SEC("fexit/vfmig_generic_precopy_ioctl")
int BPF_PROG(f_ioctl_out, struct file *filp, unsigned int cmd,
	     unsigned long arg, long ret)
{
	return on_ioctl_exit(filp, cmd, arg, ret);
}

/* ------------------------------------------------------------------ */
/* kprobe/kretprobe: attached by function name                         */
/* ------------------------------------------------------------------ */

static __always_inline void stash_put(__u32 hook, __u64 a0, __u64 a1,
				      __u64 a2, __u64 a3)
{
	struct stash_key k = { .pid_tgid = bpf_get_current_pid_tgid(), .hook = hook };
	struct stash_val v = { .a = { a0, a1, a2, a3 } };

	bpf_map_update_elem(&stash, &k, &v, BPF_ANY);
}

static __always_inline bool stash_take(__u32 hook, struct stash_val *v)
{
	struct stash_key k = { .pid_tgid = bpf_get_current_pid_tgid(), .hook = hook };
	struct stash_val *p = bpf_map_lookup_elem(&stash, &k);

	if (!p)
		return false;
	*v = *p;
	bpf_map_delete_elem(&stash, &k);
	return true;
}

SEC("kprobe")
int BPF_KPROBE(k_set_state_in, void *vdev, __u32 new_state)
{
	stash_put(H_SET_STATE, (__u64)vdev, new_state, 0, 0);
	return on_set_state_enter((__u64)vdev, new_state);
}

SEC("kretprobe")
int BPF_KRETPROBE(k_set_state_out, long ret)
{
	struct stash_val v;

	if (!stash_take(H_SET_STATE, &v))
		return 0;
	return on_set_state_exit(v.a[0], (__u32)v.a[1], ret);
}

SEC("kprobe")
int BPF_KPROBE(k_next_state_in, void *vdev, __u32 cur, __u32 new_state,
	       __u32 *next)
{
	stash_put(H_NEXT_STATE, (__u64)vdev, cur, new_state, (__u64)next);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(k_next_state_out, int ret)
{
	struct stash_val v;
	__u32 n = 0;

	if (!stash_take(H_NEXT_STATE, &v))
		return 0;
	if (!ret)
		bpf_probe_read_kernel(&n, sizeof(n), (void *)v.a[3]);
	return on_next_state_exit(v.a[0], (__u32)v.a[1], n, ret);
}

SEC("kprobe")
int BPF_KPROBE(k_read_in, struct file *filp, char *buf, __u64 len)
{
	stash_put(H_READ, (__u64)filp, len, 0, 0);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(k_read_out, long ret)
{
	struct stash_val v;

	if (!stash_take(H_READ, &v))
		return 0;
	return on_data_exit(MEV_SAVE_READ, (struct file *)v.a[0], v.a[1], ret);
}

SEC("kprobe")
int BPF_KPROBE(k_write_in, struct file *filp, const char *buf, __u64 len)
{
	stash_put(H_WRITE, (__u64)filp, len, 0, 0);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(k_write_out, long ret)
{
	struct stash_val v;

	if (!stash_take(H_WRITE, &v))
		return 0;
	return on_data_exit(MEV_RESUME_WRITE, (struct file *)v.a[0], v.a[1], ret);
}

SEC("kprobe")
int BPF_KPROBE(k_ioctl_in, struct file *filp, unsigned int cmd, unsigned long arg)
{
	if (cmd == PRECOPY_INFO_CMD)
		stash_put(H_IOCTL, (__u64)filp, cmd, arg, 0);
	return 0;
}

SEC("kretprobe")
int BPF_KRETPROBE(k_ioctl_out, long ret)
{
	struct stash_val v;

	if (!stash_take(H_IOCTL, &v))
		return 0;
	return on_ioctl_exit((struct file *)v.a[0], (__u32)v.a[1], v.a[2], ret);
}
