/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * mig_attach: loading and attaching the BPF programs of bpf/, for mig-top
 * and mig-trace (docs/mig-top.md, "Attach modes"):
 *
 *  - the checks every tracer makes first (root, the BPF ring buffer) and
 *    the feature probes of the modes (BTF, program types): libbpf's;
 *  - the attach-mode ladder: modes tried best first, the first that loads
 *    and attaches wins; a mode skipped for a missing prerequisite keeps
 *    the reason, and so does a mode forced with -m in spite of it;
 *  - the maps both objects share (bpf/mig_common.bpf.h: drops, devstats);
 *  - bpf/vfmig.bpf.c on the vfmig tracepoints (tp_btf -> raw_tp -> tp);
 *  - the VMM view's uprobes on a VMM binary.
 *
 * mig-top's generic mode (tools/mig-top/generic.c) loads
 * bpf/vfio_generic.bpf.c through the same checks, ladder and maps.
 * Linked with -lbpf; the unit tests do not link it.
 */
#ifndef MIG_ATTACH_H
#define MIG_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mig_events.h"

struct vfmig_bpf;
struct bpf_object;
struct bpf_link;

/* -m values: vfmig's tracepoints, and generic mode's. */
#define MIG_ATTACH_MODES	"tp_btf, raw_tp or tp"
#define MIG_GENERIC_MODES	"fentry or kprobe"
bool mig_attach_mode_valid(const char *mode);	/* one of MIG_ATTACH_MODES */
bool mig_generic_mode_valid(const char *mode);	/* one of MIG_GENERIC_MODES */

/*
 * Before loading anything: libbpf's messages (to stderr with @verbose,
 * else none) and strict mode; root; the BPF ring buffer (libbpf's probe).
 * Returns 0, or -1 with a one-line message in err (for the user, no
 * newline).
 */
int mig_attach_prepare(bool verbose, char *err, size_t errlen);

/*
 * Feature probes for a mode's prerequisites, with libbpf's: 0, or -1 with
 * what is missing in @why. mig_attach_btf(): the kernel and each of
 * @modules have BTF (btf__load_vmlinux_btf(), btf__load_module_btf()), as
 * fentry and tp_btf programs need. mig_attach_prog_type(): the kernel
 * loads programs of @prog_type (enum bpf_prog_type), @what naming them.
 * (Debian 12's libbpf 1.1 cannot probe BPF_PROG_TYPE_TRACING without an
 * attach target: fentry and tp_btf are known by their BTF and their load.)
 */
int mig_attach_btf(const char *const *modules, int n, char *why, size_t len);
int mig_attach_prog_type(int prog_type, const char *what, char *why, size_t len);

/* ------------------------------------------------------------------ */
/* The attach-mode ladder                                              */
/* ------------------------------------------------------------------ */

#define MIG_MODES_MAX	3

struct mig_modes {
	int n;
	const char *name[MIG_MODES_MAX];	/* best first */
	/*
	 * Filled by the caller before mig_modes_run(): a prerequisite a mode
	 * lacks ("" = none); a mode that lacks one is skipped unless forced.
	 * After: why each mode was not used.
	 */
	char why[MIG_MODES_MAX][200];
	bool never[MIG_MODES_MAX];	/* not even when forced */
};

/* One attempt at mode @i: 0, or -errno with the reason in @why. */
typedef int (*mig_try_fn)(void *ctx, int i, char *why, size_t whylen);

/*
 * Try the modes in order (only @force when not NULL). Returns the index
 * of the mode that attached, or -1 (the reasons are in m->why).
 */
int mig_modes_run(struct mig_modes *m, const char *force, mig_try_fn try_mode,
		  void *ctx);
/* The reasons of modes [0, @upto), "; " between them. */
void mig_modes_why(const struct mig_modes *m, int upto, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* The maps of bpf/mig_common.bpf.h                                    */
/* ------------------------------------------------------------------ */

/* What a loaded object of bpf/ gives userspace (bpf/mig_common.bpf.h). */
struct mig_bpf {
	struct bpf_object *obj;	/* NULL: none loaded */
	int events_fd;		/* ring buffer "events" */
	int drops_fd;		/* per-CPU array "drops" */
	int devstats_fd;	/* hash "devstats" */
};

/* Fill @b from a loaded object (its maps found by name). */
void mig_bpf_set(struct mig_bpf *b, struct bpf_object *obj);
/* Ring buffer drops + devstats-full drops, summed over CPUs. */
uint64_t mig_bpf_drops(const struct mig_bpf *b);
/* Snapshot of the devstats map: fills up to max entries, returns how many. */
int mig_bpf_devstats(const struct mig_bpf *b, uint32_t *ids,
		     struct mig_devstats *st, int max);
/* CLOCK_MONOTONIC now in ns (same clock as bpf_ktime_get_ns()). */
uint64_t vfmig_now_ns(void);

/* ------------------------------------------------------------------ */
/* bpf/vfmig.bpf.c on the vfmig tracepoints                            */
/* ------------------------------------------------------------------ */

struct vfmig_tracer {
	struct vfmig_bpf *skel;
	struct mig_bpf bpf;	/* its object and maps */
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
 * Checks root, kernel features, module, BTF; loads and attaches. Returns 0,
 * or -1 with a one-line message in err (for the user, no newline).
 */
int vfmig_tracer_open(struct vfmig_tracer *t, const struct vfmig_attach_opts *o,
		      char *err, size_t errlen);
void vfmig_tracer_close(struct vfmig_tracer *t);

/* ------------------------------------------------------------------ */
/* The VMM view's uprobes                                              */
/* ------------------------------------------------------------------ */

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

#endif /* MIG_ATTACH_H */
