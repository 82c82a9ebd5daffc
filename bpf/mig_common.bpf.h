/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * What both BPF objects (vfmig.bpf.c on the tracepoints, vfio_generic.bpf.c
 * on any VFIO driver) share: the output maps userspace reads
 * (tools/lib/mig_attach.c), drop counting, the ring's wakeup policy and
 * event submission. Each keeps its own update_stats(): generic mode sees a
 * subset of the events, and the full version did not pass the verifier in
 * its fentry programs.
 * Include after vmlinux.h, the libbpf headers, vfmig_abi.h and
 * vfmig_events.h.
 */
#ifndef MIG_COMMON_BPF_H
#define MIG_COMMON_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct mig_devstats);
} devstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * Waking the reader for every event costs more than the event (a lot more
 * under emulation): readers drain on their own tick, and are woken only
 * when a quarter of the ring is full.
 */
static __always_inline __u64 rb_wakeup_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= (1 << 20) ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void count_drop(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&drops, &which);

	if (v)
		(*v)++;
}

/* Queue @e for userspace; a full ring counts as drop [0]. */
static __always_inline void submit_event(struct mig_event *e)
{
	if (bpf_ringbuf_output(&events, e, sizeof(*e), rb_wakeup_flags()))
		count_drop(0);
}

/* The task an event fires in: who drives the device (docs/mig-top.md). */
static __always_inline void set_task(struct mig_event *e)
{
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/*
 * The VMM view (tools/lib/mig_vmm.c): uprobes and uretprobes on the VMM's
 * migration functions, one pair of programs per enum mig_vmm_probe
 * (vmm_in_N / vmm_out_N), attached by userspace to the owner's binary
 * (tools/lib/mig_attach.c). Not autoloaded unless asked for; no CO-RE, so
 * the object still loads without kernel BTF.
 */
static __always_inline int vmm_hit(__u32 probe, __u32 ret)
{
	struct mig_event e = {};

	e.ts = bpf_ktime_get_ns();
	e.cpu = bpf_get_smp_processor_id();
	e.type = MEV_VMM;
	e.dev = MIG_VMM_DEV;
	set_task(&e);
	e.a[0] = probe;
	e.a[1] = ret;
	submit_event(&e);
	return 0;
}

#define VMM_PROBE(n)							\
SEC("uprobe") int vmm_in_##n(void *ctx) { return vmm_hit(n, 0); }	\
SEC("uretprobe") int vmm_out_##n(void *ctx) { return vmm_hit(n, 1); }

VMM_PROBE(0)
VMM_PROBE(1)
VMM_PROBE(2)
VMM_PROBE(3)
VMM_PROBE(4)
_Static_assert(MVP_NR == 5, "one VMM_PROBE per enum mig_vmm_probe");

#endif /* MIG_COMMON_BPF_H */
