// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig_vmm: the VMM view of a migration (mig_vmm.h, docs/downtime.md) and
 * the QEMU device ids of command lines. The probed functions are QEMU's
 * (10.0 exports them from its binary); mig-top attaches the uprobes
 * (tools/lib/mig_attach.c) and feeds their MEV_VMM events here.
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include <linux/types.h>

#include "json_out.h"
#include "mig_vmm.h"

static const struct {
	const char *sym;
	bool ret;	/* also a uretprobe */
	bool core;	/* a window's end: needed for a view */
} probes[MVP_NR] = {
	[MVP_STOP_VM] = { "vm_stop_force_state", true, true },
	[MVP_SAVE_ITERABLE] = { "qemu_savevm_state_complete_precopy_iterable", true, false },
	[MVP_SAVE_COMPLETE] = { "qemu_savevm_state_complete_precopy", true, false },
	[MVP_VM_START] = { "vm_start", true, true },
	/*
	 * Entry only: it runs in the incoming migration's coroutine, and a
	 * uretprobe in a coroutine is not safe: the kernel pairs returns by
	 * stack pointer, and a coroutine switch makes it drop or mismatch
	 * the return (the process gets SIGILL or a wrong return address).
	 * That is also why the target's qemu_loadvm_state is not probed.
	 */
	[MVP_SWITCHOVER_ACK] = { "migrate_send_rp_switchover_ack", false, false },
};

static const char *const part_names[MV_NR] = {
	"stop_vm", "save_iterable", "save_non_iterable", "target_load",
	"target_start",
};

/* The boundaries V0..V5 as JSON keys, and the ack. */
static const char *const t_names[MV_NR + 1] = {
	"stop_vm_enter", "stop_vm_exit", "save_iterable_exit",
	"save_complete_exit", "vm_start_enter", "vm_start_exit",
};

const char *mig_vmm_symbol(unsigned int probe)
{
	return probe < MVP_NR ? probes[probe].sym : "?";
}

bool mig_vmm_has_return(unsigned int probe)
{
	return probe < MVP_NR && probes[probe].ret;
}

bool mig_vmm_core(unsigned int probe)
{
	return probe < MVP_NR && probes[probe].core;
}

const char *mig_vmm_part_name(unsigned int part)
{
	return part < MV_NR ? part_names[part] : "?";
}

static const struct mig_vmm_proc *proc_of(const struct mig_vmm_tracker *t,
					  __u32 pid)
{
	if (!pid)
		return NULL;
	for (int i = 0; i < MIG_VMM_PROCS; i++)
		if (t->p[i].pid == pid)
			return &t->p[i];
	return NULL;
}

void mig_vmm_feed(struct mig_vmm_tracker *t, const struct mig_event *e)
{
	struct mig_vmm_proc *p = (struct mig_vmm_proc *)proc_of(t, e->pid);
	__u64 probe = e->a[0];

	if (e->type != MEV_VMM || probe >= MVP_NR || !e->pid)
		return;
	if (!p) {
		p = &t->p[0];
		for (int i = 1; i < MIG_VMM_PROCS && p->pid; i++)
			if (!t->p[i].pid || t->p[i].seen < p->seen)
				p = &t->p[i];
		memset(p, 0, sizeof(*p));
		p->pid = e->pid;
	}
	p->seen = e->ts;
	if (e->a[1])
		p->out[probe] = e->ts;
	else
		p->in[probe] = e->ts;
}

static void add_note(struct mig_vmm *v, const char *what)
{
	size_t n = strlen(v->note);

	snprintf(v->note + n, sizeof(v->note) - n, "%s%s",
		 n ? ", " : "not seen: ", what);
}

bool mig_vmm_view(const struct mig_vmm_tracker *t, const struct mig_result *r,
		  struct mig_vmm *v)
{
	const struct mig_vmm_proc *s = proc_of(t, r->src_owner.pid);
	const struct mig_vmm_proc *d = proc_of(t, r->dst_owner.pid);
	__u64 t5 = r->t[MP_NR], V[MV_NR + 1] = { 0 }, b[MV_NR + 1], prev;

	memset(v, 0, sizeof(*v));
	v->src_pid = r->src_owner.pid;
	v->dst_pid = r->dst_owner.pid;
	if (s) {
		if (s->in[MVP_STOP_VM] && s->in[MVP_STOP_VM] <= t5)
			V[0] = s->in[MVP_STOP_VM];
		if (V[0] && s->out[MVP_STOP_VM] >= V[0])
			V[1] = s->out[MVP_STOP_VM];
		if (V[1] && s->out[MVP_SAVE_ITERABLE] >= V[1])
			V[2] = s->out[MVP_SAVE_ITERABLE];
		prev = V[2] ? V[2] : V[1];
		if (prev && s->out[MVP_SAVE_COMPLETE] >= prev)
			V[3] = s->out[MVP_SAVE_COMPLETE];
	}
	if (d) {
		if (d->in[MVP_VM_START] && d->in[MVP_VM_START] <= t5)
			V[4] = d->in[MVP_VM_START];
		if (V[4] && d->out[MVP_VM_START] >= V[4])
			V[5] = d->out[MVP_VM_START];
		if (d->in[MVP_SWITCHOVER_ACK] && d->in[MVP_SWITCHOVER_ACK] <= t5)
			v->t_ack = d->in[MVP_SWITCHOVER_ACK];
	}
	memcpy(v->t, V, sizeof(v->t));
	if (!V[0] || !V[5]) {
		snprintf(v->note, sizeof(v->note), "no VMM view: not seen:%s%s",
			 V[0] ? "" : " the source's vm_stop_force_state",
			 V[5] ? "" : " the target's vm_start (return)");
		return V[5] != 0;
	}
	for (int i = 1; i < MV_NR; i++)
		if (!V[i])
			add_note(v, t_names[i]);
	/* Forced non-decreasing, missing ones taking the one before. */
	b[0] = V[0];
	for (int i = 1; i <= MV_NR; i++)
		b[i] = V[i] > b[i - 1] ? V[i] : b[i - 1];
	for (int i = 0; i < MV_NR; i++)
		v->part_ns[i] = b[i + 1] - b[i];
	v->window_ns = b[MV_NR] - b[0];
	v->valid = true;
	return true;
}

void mig_vmm_json(struct jw *w, const struct mig_vmm *v)
{
	char key[32];

	if (!v->valid) {
		jw_null(w, "vmm");
	} else {
		jw_object(w, "vmm");
		jw_uint(w, "src_pid", v->src_pid);
		jw_uint(w, "dst_pid", v->dst_pid);
		jw_uint(w, "window_ns", v->window_ns);
		jw_object(w, "parts");
		for (int i = 0; i < MV_NR; i++) {
			snprintf(key, sizeof(key), "%s_ns", part_names[i]);
			jw_uint(w, key, v->part_ns[i]);
		}
		jw_end_object(w);
		jw_object(w, "t_ns");
		for (int i = 0; i <= MV_NR; i++)	/* 0: not seen */
			jw_uint_opt(w, t_names[i], v->t[i], v->t[i]);
		jw_uint_opt(w, "switchover_ack", v->t_ack, v->t_ack);
		jw_end_object(w);
		jw_end_object(w);
	}
	jw_string(w, "vmm_note", *v->note ? v->note : NULL);
}

void mig_vmm_text(FILE *f, const struct mig_vmm *v)
{
	double tot = (double)v->window_ns;

	if (!v->valid) {
		if (*v->note)
			fprintf(f, "  %s\n", v->note);
		return;
	}
	fprintf(f, "  VMM (pid %u -> pid %u): %.3f ms from the source's vm_stop_force_state to the target's vm_start return%s%s\n",
		v->src_pid, v->dst_pid, tot / 1e6, *v->note ? "; " : "", v->note);
	for (int i = 0; i < MV_NR; i++)
		fprintf(f, "    %-17s %10.3f ms %5.1f%%\n", part_names[i],
			v->part_ns[i] / 1e6,
			tot > 0 ? 100.0 * v->part_ns[i] / tot : 0.0);
}

/* ------------------------------------------------------------------ */
/* QEMU command lines                                                  */
/* ------------------------------------------------------------------ */

/* "0000:01:00.0" and "01:00.0" are the same PCI address. */
static const char *pci_short(const char *s)
{
	if (!strncasecmp(s, "0000:", 5) && strchr(s + 5, ':'))
		return s + 5;
	return s;
}

static bool dev_matches(const char *sysfsdev, const char *host,
			const char *name)
{
	if (*sysfsdev) {
		char p[256];
		size_t n;
		const char *b;

		snprintf(p, sizeof(p), "%s", sysfsdev);
		n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			p[--n] = '\0';
		b = strrchr(p, '/');
		b = b ? b + 1 : p;
		if (!strcasecmp(b, name) || !strcasecmp(pci_short(b), pci_short(name)))
			return true;
	}
	return *host && !strcasecmp(pci_short(host), pci_short(name));
}

/* The value of "key": "value" in a JSON object (no escapes), "" if absent. */
static void json_member(const char *obj, const char *key, char *out, size_t len)
{
	char pat[32];
	const char *p;
	size_t n = 0;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	for (p = strstr(obj, pat); p; p = strstr(p + 1, pat)) {
		const char *q = p + strlen(pat);

		while (isspace((unsigned char)*q))
			q++;
		if (*q != ':')
			continue;
		q++;
		while (isspace((unsigned char)*q))
			q++;
		if (*q != '"')
			continue;
		for (q++; *q && *q != '"' && n + 1 < len; q++)
			out[n++] = *q;
		out[n] = '\0';
		return;
	}
}

/* One keyval -device argument: "drv,key=val,..." with ",," for a comma. */
static void keyval(const char *arg, char *sysfsdev, char *host, char *id,
		   size_t len)
{
	const char *p = arg;

	sysfsdev[0] = host[0] = id[0] = '\0';
	while (*p) {
		char item[512];
		size_t n = 0;
		char *eq, *dst = NULL;

		for (; *p; p++) {
			if (*p == ',') {
				if (p[1] != ',')
					break;
				p++;
			}
			if (n + 1 < sizeof(item))
				item[n++] = *p;
		}
		item[n] = '\0';
		if (*p == ',')
			p++;
		eq = strchr(item, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (!strcmp(item, "sysfsdev"))
			dst = sysfsdev;
		else if (!strcmp(item, "host"))
			dst = host;
		else if (!strcmp(item, "id"))
			dst = id;
		if (dst)
			snprintf(dst, len, "%s", eq + 1);
	}
}

int mig_qemu_dev_id(const char *cmdline, size_t len, const char *name,
		    char *id, size_t idlen)
{
	const char *p = cmdline, *end = cmdline + len, *prev = NULL;

	if (!name || !*name)
		return -1;
	while (p < end) {
		const char *arg = p;
		size_t n = strnlen(arg, end - arg);

		p += n + 1;
		if (n == (size_t)(end - arg))	/* not NUL-terminated: the end */
			break;
		if (prev && (!strcmp(prev, "-device") || !strcmp(prev, "--device"))) {
			char sysfsdev[256], host[64], did[128];

			if (arg[0] == '{') {
				json_member(arg, "sysfsdev", sysfsdev, sizeof(sysfsdev));
				json_member(arg, "host", host, sizeof(host));
				json_member(arg, "id", did, sizeof(did));
			} else {
				char h[256], i[256];

				keyval(arg, sysfsdev, h, i, sizeof(sysfsdev));
				snprintf(host, sizeof(host), "%s", h);
				snprintf(did, sizeof(did), "%s", i);
			}
			if (*did && dev_matches(sysfsdev, host, name)) {
				snprintf(id, idlen, "%s", did);
				return 0;
			}
		}
		prev = arg;
	}
	return -1;
}
