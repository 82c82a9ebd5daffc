/* SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause */
/*
 * owner: the processes that drive devices' migrations (docs/mig-top.md,
 * "Owners" and "VMM view"): their name (/proc/PID/comm), binary
 * (/proc/PID/exe) and command line (QEMU's device ids), learned when an
 * event of theirs is first seen, while they run; and, once per binary, the
 * VMM view's uprobes (tools/lib/mig_attach.c) when the binary has QEMU's functions.
 */
#ifndef MIG_TOP_OWNER_H
#define MIG_TOP_OWNER_H

#include <stdbool.h>
#include <stdint.h>
#include "mig_events.h"

struct bpf_object;

/* @obj: where the vmm_* programs are loaded; NULL = no VMM view. */
void owners_init(struct bpf_object *obj);
void owners_close(void);

/*
 * An owner event of @pid (a device's set_state or open): learn the process
 * if it is new (or @fresh: it just opened a device, the pid may be reused)
 * and probe its binary. Returns true when it probed a binary for the first
 * time, and then writes a "vmm" record to @w (unless NULL).
 */
struct jw;
bool owners_see(uint32_t pid, bool fresh, struct jw *w);

/* The process's comm and QEMU's id of the device named @name into @o. */
void owners_fill(struct mig_owner *o, const char *name);

/*
 * Whether the VMM view can come for @pid (its binary has the probes the
 * view needs); if not, why, in @note.
 */
bool owners_vmm_ready(uint32_t pid, char *note, size_t len);

/* A short status for the TUI header: "VMM view: qemu-system-x86_64 (5 probes)". */
const char *owners_status(void);

#endif
