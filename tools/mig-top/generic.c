// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Generic mode (docs/mig-top.md): hooks a VFIO migration driver that has no
 * vfmig tracepoints. The driver's functions are found by name in
 * /proc/kallsyms among the module's symbols:
 *
 *   set_state  migration_set_state op  *_set_device_state, else *_set_state
 *   read       save file read()        *_save_read
 *   write      resume file write()     *_resume_write
 *   ioctl      save file ioctl()       *_precopy_ioctl, else *_save_ioctl
 *
 * (mtty_set_state, mlx5vf_pci_set_device_state, hisi_acc_vf_save_read...),
 * each overridable with --fn ROLE=NAME; plus vfio_mig_get_next_state() in
 * vfio.ko for the arcs. fentry/fexit when vmlinux, vfio and the module have
 * BTF, else kprobe/kretprobe; the first that loads and attaches wins.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "generic.h"
#include "mig_attach.h"
#include "vfio_generic.skel.h"

#define NEXT_STATE_FN	"vfio_mig_get_next_state"

static const char *const role_names[GR_NR] = {
	"set_state", "read", "write", "ioctl",
};

/* Name suffixes per role, best first. */
static const char *const role_suffix[GR_NR][3] = {
	[GR_SET_STATE] = { "_set_device_state", "_set_state", NULL },
	[GR_READ] = { "_save_read", NULL },
	[GR_WRITE] = { "_resume_write", NULL },
	[GR_IOCTL] = { "_precopy_ioctl", "_save_ioctl", NULL },
};

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

int generic_parse_fn(struct generic_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (!eq || !eq[1])
		return -1;
	for (int r = 0; r < GR_NR; r++) {
		if (strlen(role_names[r]) == (size_t)(eq - arg) &&
		    !strncmp(arg, role_names[r], eq - arg)) {
			o->fn[r] = eq + 1;
			return 0;
		}
	}
	return -1;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

/* Symbols of one module from /proc/kallsyms (text symbols only). */
struct symlist {
	char **names;
	int n, cap;
	bool next_state;	/* vfio_mig_get_next_state is there */
};

static void syms_free(struct symlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

/*
 * Not a candidate: .isra/.cold clones, and compiler or tracepoint generated
 * symbols (__pfx_, __cfi_, __SCT__tp_func_*, __traceiter_*, __probestub_*,
 * __bpf_trace_*, trace_event_raw_event_*, perf_trace_*, trace_raw_output_*).
 */
static bool driver_fn(const char *name)
{
	static const char *const skip[] = {
		"__", "trace_event_raw_event_", "perf_trace_", "trace_raw_output_",
	};

	if (strchr(name, '.'))
		return false;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strncmp(name, skip[i], strlen(skip[i])))
			return false;
	return true;
}

static int syms_load(struct symlist *l, const char *module)
{
	char line[512], type, name[256], mod[128];
	FILE *f = fopen("/proc/kallsyms", "r");

	memset(l, 0, sizeof(*l));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		mod[0] = '\0';
		if (sscanf(line, "%*s %c %255s [%127[^]]]", &type, name, mod) < 2)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (!strcmp(name, NEXT_STATE_FN))
			l->next_state = true;
		if (strcmp(mod, module) || !driver_fn(name))
			continue;
		if (l->n == l->cap) {
			int cap = l->cap ? 2 * l->cap : 256;
			char **p = realloc(l->names, cap * sizeof(*p));

			if (!p)
				break;
			l->names = p;
			l->cap = cap;
		}
		l->names[l->n] = strdup(name);
		if (l->names[l->n])
			l->n++;
	}
	fclose(f);
	return 0;
}

static bool syms_has(const struct symlist *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return true;
	return false;
}

/*
 * Resolve one role: the override, else the only module function with the
 * best matching suffix. Returns 0 (found or none), -1 ambiguous/missing
 * override (message in err).
 */
static int resolve(const struct symlist *l, const struct generic_opts *o,
		   int role, char *out, size_t outlen, char *err, size_t errlen)
{
	out[0] = '\0';
	if (o->fn[role]) {
		if (!strcmp(o->fn[role], "-"))
			return 0;
		if (!syms_has(l, o->fn[role])) {
			snprintf(err, errlen, "--fn %s=%s: no such function in module %s (/proc/kallsyms)",
				 role_names[role], o->fn[role], o->module);
			return -1;
		}
		snprintf(out, outlen, "%s", o->fn[role]);
		return 0;
	}
	for (int s = 0; role_suffix[role][s]; s++) {
		const char *suf = role_suffix[role][s];
		char list[256] = "";
		int hits = 0;

		for (int i = 0; i < l->n; i++) {
			if (!ends_with(l->names[i], suf))
				continue;
			if (!hits++)
				snprintf(out, outlen, "%s", l->names[i]);
			if (strlen(list) + strlen(l->names[i]) + 3 < sizeof(list))
				snprintf(list + strlen(list), sizeof(list) - strlen(list),
					 "%s%s", *list ? ", " : "", l->names[i]);
		}
		if (hits > 1) {
			snprintf(err, errlen, "module %s has several *%s functions (%s): pick one with --fn %s=NAME",
				 o->module, suf, list, role_names[role]);
			out[0] = '\0';
			return -1;
		}
		if (hits)
			return 0;
	}
	return 0;
}

struct hook {
	struct bpf_program *prog;
	const char *fn;
	bool retprobe;
};

static int hooks_of(struct vfio_generic_bpf *s, bool fentry,
		    char fn[GR_NR][128], struct hook *h)
{
	int n = 0;

#define H(p, f, r) do { if (*(f)) h[n++] = (struct hook){ s->progs.p, (f), (r) }; } while (0)
	if (fentry) {
		H(f_set_state_in, fn[GR_SET_STATE], false);
		H(f_set_state_out, fn[GR_SET_STATE], true);
		H(f_next_state_out, NEXT_STATE_FN, true);
		H(f_read_out, fn[GR_READ], true);
		H(f_write_out, fn[GR_WRITE], true);
		H(f_ioctl_out, fn[GR_IOCTL], true);
	} else {
		H(k_set_state_in, fn[GR_SET_STATE], false);
		H(k_set_state_out, fn[GR_SET_STATE], true);
		H(k_next_state_in, NEXT_STATE_FN, false);
		H(k_next_state_out, NEXT_STATE_FN, true);
		H(k_read_in, fn[GR_READ], false);
		H(k_read_out, fn[GR_READ], true);
		H(k_write_in, fn[GR_WRITE], false);
		H(k_write_out, fn[GR_WRITE], true);
		H(k_ioctl_in, fn[GR_IOCTL], false);
		H(k_ioctl_out, fn[GR_IOCTL], true);
	}
#undef H
	return n;
}

static void drop_links(struct generic_tracer *t)
{
	for (int i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
}

/* One attempt with one program set. Returns 0 or -errno (reason in why). */
struct generic_try {
	struct generic_tracer *t;
	const struct generic_opts *o;
};

static int try_mode(void *ctx, int mode, char *why, size_t whylen)
{
	struct generic_try *c = ctx;
	struct generic_tracer *t = c->t;
	const struct generic_opts *o = c->o;
	bool fentry = mode == 0;
	const char *kind = fentry ? "fentry" : "kprobe";
	struct hook h[GEN_MAX_LINKS];
	struct vfio_generic_bpf *skel;
	struct bpf_program *prog;
	int n, err;

	skel = vfio_generic_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(why, whylen, "%s: open: %s", kind, strerror(-err));
		return err;
	}
	skel->rodata->dev_filter = o->dev_filter;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, o->vmm &&
					  !strncmp(bpf_program__name(prog), "vmm_", 4));
	n = hooks_of(skel, fentry, t->fn, h);
	for (int i = 0; i < n; i++) {
		bpf_program__set_autoload(h[i].prog, true);
		if (!fentry)
			continue;
		err = bpf_program__set_attach_target(h[i].prog, 0, h[i].fn);
		if (err) {
			snprintf(why, whylen, "fentry: no BTF for %s (%s)", h[i].fn,
				 strerror(-err));
			vfio_generic_bpf__destroy(skel);
			return err;
		}
	}
	err = vfio_generic_bpf__load(skel);
	if (err) {
		snprintf(why, whylen, "%s: load failed: %s", kind, strerror(-err));
		vfio_generic_bpf__destroy(skel);
		return err;
	}
	for (int i = 0; i < n; i++) {
		struct bpf_link *l;

		l = fentry ? bpf_program__attach(h[i].prog) :
		    bpf_program__attach_kprobe(h[i].prog, h[i].retprobe, h[i].fn);
		if (!l) {
			err = -errno;
			snprintf(why, whylen, "%s: attach to %s failed: %s", kind,
				 h[i].fn, strerror(-err));
			drop_links(t);
			vfio_generic_bpf__destroy(skel);
			return err;
		}
		t->links[t->nlinks++] = l;
	}
	t->skel = skel;
	mig_bpf_set(&t->bpf, skel->obj);
	snprintf(t->kind, sizeof(t->kind), "%s", kind);
	return 0;
}

int generic_open(struct generic_tracer *t, const struct generic_opts *o,
		 char *err, size_t errlen)
{
	struct mig_modes m = { .n = 2, .name = { "fentry", "kprobe" } };
	struct generic_try c = { t, o };
	char p[128], why[400], hooked[300] = "";
	struct symlist syms;
	int rc = -1, i;

	memset(t, 0, sizeof(*t));
	snprintf(t->module, sizeof(t->module), "%s", o->module);
	if (mig_attach_prepare(o->verbose, err, errlen))
		return -1;
	snprintf(p, sizeof(p), "/sys/module/%s", o->module);
	if (!*o->module || strchr(o->module, '/') || !exists(p)) {
		snprintf(err, errlen, "generic mode: module %s is not loaded (%s missing)",
			 o->module, p);
		return -1;
	}
	if (syms_load(&syms, o->module)) {
		snprintf(err, errlen, "cannot read /proc/kallsyms: %s", strerror(errno));
		return -1;
	}
	if (!syms.next_state) {
		snprintf(err, errlen, "generic mode: %s not found (is vfio.ko loaded?)",
			 NEXT_STATE_FN);
		goto out;
	}
	if (!syms.n) {
		snprintf(err, errlen, "generic mode: no functions of module %s in /proc/kallsyms",
			 o->module);
		goto out;
	}
	for (int r = 0; r < GR_NR; r++)
		if (resolve(&syms, o, r, t->fn[r], sizeof(t->fn[r]), err, errlen))
			goto out;
	if (!*t->fn[GR_SET_STATE]) {
		snprintf(err, errlen, "generic mode: no migration_set_state op found in module %s (a function named *_set_device_state or *_set_state): name it with --fn set_state=NAME",
			 o->module);
		goto out;
	}
	for (int r = 0; r < GR_NR; r++)
		snprintf(hooked + strlen(hooked), sizeof(hooked) - strlen(hooked),
			 "%s%s=%s", r ? " " : "", role_names[r],
			 *t->fn[r] ? t->fn[r] : "-");

	if (mig_attach_btf((const char *const[]){ "vfio", o->module }, 2, why, sizeof(why)))
		snprintf(m.why[0], sizeof(m.why[0]), "fentry: %.180s", why);
	if (mig_attach_prog_type(BPF_PROG_TYPE_KPROBE, "kprobe", why, sizeof(why)))
		snprintf(m.why[1], sizeof(m.why[1]), "kprobe: %.180s", why);
	i = mig_modes_run(&m, o->force_mode, try_mode, &c);
	if (i < 0) {
		mig_modes_why(&m, m.n, why, sizeof(why));
		snprintf(err, errlen, "generic mode: could not attach to %s: %s%s",
			 o->module, why, o->verbose ? "" : " (-v for libbpf messages)");
		goto out;
	}
	mig_modes_why(&m, i, why, sizeof(why));
	snprintf(t->mode, sizeof(t->mode), "generic %s (%s)", t->kind, o->module);
	snprintf(t->why, sizeof(t->why), "%s%s%s%s", hooked, *why ? "; " : "", why,
		 o->force_mode ? "; forced" : "");
	rc = 0;
out:
	syms_free(&syms);
	return rc;
}

void generic_close(struct generic_tracer *t)
{
	drop_links(t);
	if (t->skel)
		vfio_generic_bpf__destroy(t->skel);
	t->skel = NULL;
	t->bpf.obj = NULL;
}

const char *generic_dev_name(struct generic_tracer *t, uint32_t id,
			     char *buf, size_t len)
{
	char name[64];

	buf[0] = '\0';
	if (t->skel && !bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.devnames),
					    &id, name)) {
		name[sizeof(name) - 1] = '\0';
		snprintf(buf, len, "%s", name);
	}
	return buf;
}
