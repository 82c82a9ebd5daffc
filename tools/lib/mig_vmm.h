/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * mig_vmm: mig-top's VMM view (docs/mig-top.md, "VMM view";
 * docs/downtime.md): the times a VMM's own migration functions took, from
 * uprobes on its binary (MEV_VMM events), placed beside the device's
 * downtime window on the same clock; and the owners' QEMU device ids from
 * their command lines. Pure C (no libbpf, no /proc): the unit tests feed it.
 */
#ifndef MIG_VMM_H
#define MIG_VMM_H

#include <stddef.h>
#include "mig_events.h"

/* The probed function of each enum mig_vmm_probe ("vm_stop_force_state"...). */
const char *mig_vmm_symbol(unsigned int probe);
/* Whether the probe has a uretprobe too (not for entry-only probes). */
bool mig_vmm_has_return(unsigned int probe);
/* Needed for a view (the window's ends); the others refine it. */
bool mig_vmm_core(unsigned int probe);
const char *mig_vmm_part_name(unsigned int part);	/* "stop_vm" ... */

/* The last hits of each probe, per VMM process (least recently seen reused). */
#define MIG_VMM_PROCS	64
struct mig_vmm_proc {
	__u32 pid;
	__u64 seen;			/* last event (LRU) */
	__u64 in[MVP_NR], out[MVP_NR];	/* last entry / return, 0 = none */
};

struct mig_vmm_tracker {
	struct mig_vmm_proc p[MIG_VMM_PROCS];
};

void mig_vmm_feed(struct mig_vmm_tracker *t, const struct mig_event *e);

/*
 * The VMM view of migration @r from its owners' probe hits, into @v:
 *   V0 source vm_stop_force_state entry (its last call before T5),
 *   V1 its return, V2 qemu_savevm_state_complete_precopy_iterable return,
 *   V3 qemu_savevm_state_complete_precopy return (each after the one
 *   before), V4 the target's vm_start entry (its last before T5), V5 its
 *   return. Missing inner boundaries degrade like the device's (the next
 *   part absorbs them); without V0 or V5 there is no view (@v->note says
 *   which is missing). Returns true when the view is final (V5 seen).
 */
bool mig_vmm_view(const struct mig_vmm_tracker *t, const struct mig_result *r,
		  struct mig_vmm *v);

/* "vmm": {...} or null and "vmm_note", members of a migration record. */
struct jw;
void mig_vmm_json(struct jw *w, const struct mig_vmm *v);
/* Human text, two lines (the TUI's exit summary and -t). */
void mig_vmm_text(FILE *f, const struct mig_vmm *v);

/*
 * QEMU's id of the VFIO device @name (an mdev UUID or a PCI address) from a
 * QEMU command line (/proc/PID/cmdline: @len bytes of NUL-separated
 * arguments): the id= of the -device whose sysfsdev= ends in /@name or
 * whose host= is @name (with or without the PCI domain), in the keyval or
 * the JSON form. Returns 0 and the id in @id, -1 when there is none.
 */
int mig_qemu_dev_id(const char *cmdline, size_t len, const char *name,
		    char *id, size_t idlen);

#endif /* MIG_VMM_H */
