// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Owners of device migrations and the VMM view's binaries (owner.h).
 * Everything is read from /proc when a process's event is first seen, so
 * that a VMM that quits right after its migration is still named.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "mig_attach.h"
#include "mig_vmm.h"
#include "json_out.h"
#include "owner.h"

#define MAX_PROCS	64
#define MAX_BINS	16
#define CMDLINE_MAX	(64 * 1024)

struct bin {
	dev_t dev;
	ino_t ino;
	char path[256];
	struct vmm_uprobes u;
	int probes;
	bool view;		/* the view's core probes are attached */
	char note[320];
};

struct proc {
	uint32_t pid;
	uint64_t seq;		/* LRU */
	char comm[MIG_COMM_LEN];
	char exe[256];
	int exe_err;		/* errno of reading /proc/PID/exe, 0 = ok */
	char *cmdline;
	size_t cmdlen;
	struct bin *bin;
};

static struct bpf_object *vmm_obj;
static struct proc procs[MAX_PROCS];
static struct bin bins[MAX_BINS];
static int nbins;
static uint64_t seq;
static char status[160];

void owners_init(struct bpf_object *obj)
{
	vmm_obj = obj;
	snprintf(status, sizeof(status), "VMM view: %s", obj ? "no VMM seen yet" : "off");
}

void owners_close(void)
{
	for (int i = 0; i < nbins; i++)
		vmm_uprobes_detach(&bins[i].u);
	nbins = 0;
	for (int i = 0; i < MAX_PROCS; i++)
		free(procs[i].cmdline);
	memset(procs, 0, sizeof(procs));
}

static struct proc *proc_find(uint32_t pid)
{
	for (int i = 0; i < MAX_PROCS; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

/* A whole small /proc file; returns its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (n < len && (r = read(fd, buf + n, len - n)) > 0)
		n += r;
	close(fd);
	return n;
}

static struct bin *bin_of(struct proc *p)
{
	char path[64];
	struct stat st;
	struct vmm_uprobes u;
	struct bin *b;
	const char *base;

	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	if (stat(path, &st))
		return NULL;
	for (int i = 0; i < nbins; i++)
		if (bins[i].dev == st.st_dev && bins[i].ino == st.st_ino)
			return &bins[i];
	if (nbins == MAX_BINS)
		return NULL;
	b = &bins[nbins++];
	memset(b, 0, sizeof(*b));
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	snprintf(b->path, sizeof(b->path), "%s", p->exe);
	base = strrchr(p->exe, '/');
	base = base ? base + 1 : p->exe;
	b->probes = vmm_uprobes_attach(&u, vmm_obj, p->exe);
	b->view = true;
	for (unsigned int k = 0; k < MVP_NR; k++)
		if (mig_vmm_core(k) && !(u.attached & (1u << k)))
			b->view = false;
	if (!b->probes)
		snprintf(b->note, sizeof(b->note), "not QEMU: %.120s: %.180s", p->exe,
			 u.missing);
	else if (!b->view)
		snprintf(b->note, sizeof(b->note), "%.120s lacks what the view needs: %.160s",
			 p->exe, u.missing);
	else if (*u.missing)
		snprintf(b->note, sizeof(b->note), "%.100s: without %.200s", base,
			 u.missing);
	b->u = u;
	if (b->view)
		snprintf(status, sizeof(status), "VMM view: %.100s (%d probes)", base,
			 b->probes);
	else if (b->probes)
		snprintf(status, sizeof(status), "VMM view: %.100s lacks probes", base);
	return b;
}

/* The "vmm" record of a binary probed now (docs/json-schema.json). */
static void announce(struct jw *w, const struct proc *p, const struct bin *b)
{
	jw_record(w, "vmm");
	jw_uint(w, "pid", p->pid);
	jw_string(w, "comm", p->comm);
	jw_string(w, "exe", b->path);
	jw_uint(w, "probes", (uint64_t)b->probes);
	jw_bool(w, "view", b->view);
	jw_string(w, "note", *b->note ? b->note : NULL);
	jw_end_record(w);
}

bool owners_see(uint32_t pid, bool fresh, struct jw *w)
{
	struct proc *p = proc_find(pid);
	char path[64];
	ssize_t n;
	int had = nbins;

	if (!pid)
		return false;
	if (p && !fresh && !p->exe_err) {	/* known (a failed read: retry) */
		p->seq = ++seq;
		return false;
	}
	if (!p) {
		p = &procs[0];
		for (int i = 1; i < MAX_PROCS && p->pid; i++)
			if (!procs[i].pid || procs[i].seq < p->seq)
				p = &procs[i];
	}
	free(p->cmdline);
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->seq = ++seq;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	n = slurp(path, p->comm, sizeof(p->comm) - 1);
	if (n > 0) {
		p->comm[n] = '\0';
		p->comm[strcspn(p->comm, "\n")] = '\0';
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, p->exe, sizeof(p->exe) - 1);
	if (n < 0)
		p->exe_err = errno;
	else
		p->exe[n] = '\0';
	p->cmdline = malloc(CMDLINE_MAX);
	if (p->cmdline) {
		snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
		n = slurp(path, p->cmdline, CMDLINE_MAX);
		p->cmdlen = n > 0 ? (size_t)n : 0;
	}
	if (vmm_obj && !p->exe_err)
		p->bin = bin_of(p);
	if (!p->bin || nbins <= had)
		return false;
	if (w)
		announce(w, p, p->bin);
	return true;
}

void owners_fill(struct mig_owner *o, const char *name)
{
	const struct proc *p = o->pid ? proc_find(o->pid) : NULL;

	if (!p)
		return;
	if (*p->comm)
		snprintf(o->comm, sizeof(o->comm), "%s", p->comm);
	if (!p->cmdline || mig_qemu_dev_id(p->cmdline, p->cmdlen, name,
					   o->qemu_id, sizeof(o->qemu_id)))
		o->qemu_id[0] = '\0';
}

bool owners_vmm_ready(uint32_t pid, char *note, size_t len)
{
	const struct proc *p = pid ? proc_find(pid) : NULL;

	if (!vmm_obj) {
		snprintf(note, len, "VMM view off (--no-vmm)");
		return false;
	}
	if (!p) {
		snprintf(note, len, "no VMM view: the owner%s was not seen",
			 pid ? "'s process" : "");
		return false;
	}
	if (p->exe_err == ENOENT) {
		snprintf(note, len, "no VMM view: pid %u exited before mig-top could read its binary",
			 pid);
		return false;
	}
	if (p->exe_err) {
		snprintf(note, len, "no VMM view: %s (pid %u): its binary: %s",
			 p->comm, pid, strerror(p->exe_err));
		return false;
	}
	if (!p->bin) {
		snprintf(note, len, "no VMM view: %s (pid %u): binary not probed (too many binaries)",
			 p->comm, pid);
		return false;
	}
	if (!p->bin->view) {
		snprintf(note, len, "no VMM view: %s (pid %u): %s", p->comm, pid,
			 p->bin->note);
		return false;
	}
	return true;
}

const char *owners_status(void)
{
	return status;
}
