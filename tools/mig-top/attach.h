/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * attach: load bpf/vfmig.bpf.c with the best attach mode the kernel allows
 * (tp_btf -> raw_tp -> classic tp), shared by mig-top and mig-trace
 * (tools/mig-trace/attach.c includes attach.c).
 */
#ifndef VFMIG_ATTACH_H
#define VFMIG_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include "mig_events.h"

struct vfmig_bpf;
struct bpf_object;
struct bpf_link;

struct vfmig_tracer {
	struct vfmig_bpf *skel;
	char mode[16];		/* "tp_btf", "raw_tp", "tp" */
	char why[512];		/* why this mode (fallback reasons) */
};

struct vfmig_attach_opts {
	int rb_mode;		/* MIG_RB_PHASE or MIG_RB_ALL */
	long long dev_filter;	/* -1 = all devices */
	const char *force_mode;	/* NULL = best available */
	bool verbose;		/* libbpf debug output */
	bool vmm;		/* also load the VMM view's uprobe programs */
};

/*
 * Checks root, kernel version, module, BTF; loads and attaches. Returns 0,
 * or -1 with a one-line message in err (for the user, no newline).
 */
int vfmig_tracer_open(struct vfmig_tracer *t, const struct vfmig_attach_opts *o,
		      char *err, size_t errlen);
void vfmig_tracer_close(struct vfmig_tracer *t);
int vfmig_tracer_events_fd(struct vfmig_tracer *t);
struct bpf_object *vfmig_tracer_obj(struct vfmig_tracer *t);
/* Ring buffer drops + devstats-full drops, summed over CPUs. */
uint64_t vfmig_tracer_drops(struct vfmig_tracer *t);
/*
 * Snapshot of the devstats map: fills up to max entries, returns how many.
 */
int vfmig_tracer_devstats(struct vfmig_tracer *t, uint32_t *ids,
			  struct mig_devstats *st, int max);
/* CLOCK_MONOTONIC now in ns (same clock as bpf_ktime_get_ns()). */
uint64_t vfmig_now_ns(void);

/*
 * The VMM view's uprobes on one binary (docs/mig-top.md, "VMM view"): the
 * vmm_in_N / vmm_out_N programs of a loaded object (bpf/mig_common.bpf.h,
 * in both mig-top objects) on the functions mig_vmm_symbol(N)
 * (tools/lib/mig_vmm.h), for every process that runs the binary.
 */
struct vmm_uprobes {
	struct bpf_link *links[2 * MVP_NR];
	int nlinks;
	unsigned int attached;	/* bit N: probe N attached (entry and return) */
	char missing[256];	/* the probes not attached, and why */
};

/*
 * Attach what @binary has; returns how many probes are attached (0 when it
 * has none of the functions, e.g. it is not QEMU: the first missing one
 * ends the attempt). Detach with vmm_uprobes_detach().
 */
int vmm_uprobes_attach(struct vmm_uprobes *u, struct bpf_object *obj,
		       const char *binary);
void vmm_uprobes_detach(struct vmm_uprobes *u);

#endif
