/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * generic: mig-top's generic mode (docs/mig-top.md, "Generic mode"): load
 * bpf/vfio_generic.bpf.c on the VFIO core and on a driver module's
 * migration callbacks found at run time in /proc/kallsyms, with fentry/fexit
 * when the module has BTF, else kprobes.
 */
#ifndef MIG_TOP_GENERIC_H
#define MIG_TOP_GENERIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mig_attach.h"
#include "mig_events.h"

struct vfio_generic_bpf;
struct bpf_link;
struct bpf_object;

/* The driver functions generic mode hooks (one "role" each). */
enum gen_role { GR_SET_STATE, GR_READ, GR_WRITE, GR_IOCTL, GR_NR };

#define GEN_MAX_LINKS	16

struct generic_tracer {
	struct vfio_generic_bpf *skel;
	struct mig_bpf bpf;	/* its object and maps */
	struct bpf_link *links[GEN_MAX_LINKS];
	int nlinks;
	char module[64];
	char fn[GR_NR][128];	/* resolved function, "" = not hooked */
	char kind[16];		/* "fentry" or "kprobe" */
	char mode[96];		/* "generic fentry (mtty)" */
	char why[512];		/* hooked functions, fallback reasons */
};

struct generic_opts {
	const char *module;		/* driver module, e.g. "mtty" */
	const char *force_mode;		/* "fentry", "kprobe" or NULL */
	const char *fn[GR_NR];		/* overrides; "-" = do not hook */
	long long dev_filter;
	bool verbose;
	bool vmm;			/* also load the VMM view's uprobe programs */
};

/* Parses "ROLE=FUNC" (set_state, read, write, ioctl) into o->fn; -1 if bad. */
int generic_parse_fn(struct generic_opts *o, const char *arg);

int generic_open(struct generic_tracer *t, const struct generic_opts *o,
		 char *err, size_t errlen);
void generic_close(struct generic_tracer *t);
/* The device's name (PCI BDF, mdev UUID), "" when unknown. */
const char *generic_dev_name(struct generic_tracer *t, uint32_t id,
			     char *buf, size_t len);

#endif
