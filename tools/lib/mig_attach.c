// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Loading the BPF programs of bpf/ (mig_attach.h): the checks, the
 * attach-mode ladder, the shared maps, vfmig.bpf.o on the vfmig
 * tracepoints (tp_btf when the module has BTF, else raw_tp, else the
 * classic tracepoints) and the VMM view's uprobes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "mig_attach.h"
#include "mig_vmm.h"
#include "vfmig.skel.h"

static bool verbose_libbpf;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!verbose_libbpf)
		return 0;	/* errors are summarized by the caller */
	return vfprintf(stderr, fmt, ap);
}

static bool is_one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strcmp(s, set[i]))
			return true;
	return false;
}

static const char *const vfmig_modes[] = { "tp_btf", "raw_tp", "tp" };
static const char *const generic_modes[] = { "fentry", "kprobe" };

bool mig_attach_mode_valid(const char *mode)
{
	return is_one_of(mode, vfmig_modes, 3);
}

bool mig_generic_mode_valid(const char *mode)
{
	return is_one_of(mode, generic_modes, 2);
}

/*
 * libbpf's probe (it creates one): 1 when the kernel has the BPF ring
 * buffer (Linux 5.8+), 0 when it has not, < 0 when it cannot tell.
 */
int mig_attach_prepare(bool verbose, char *err, size_t errlen)
{
	int rc;

	verbose_libbpf = verbose;
	libbpf_set_print(print_fn);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	if (geteuid() != 0) {
		snprintf(err, errlen, "must run as root (needs CAP_BPF and CAP_PERFMON to load BPF programs)");
		return -1;
	}
	rc = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	if (rc == 0) {
		snprintf(err, errlen, "the kernel has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8 or later)");
		return -1;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot create BPF maps (probing for the BPF ring buffer): %s",
			 strerror(-rc));
		return -1;
	}
	return 0;
}

int mig_attach_btf(const char *const *modules, int n, char *why, size_t len)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int rc = 0;

	why[0] = '\0';
	if (!vmlinux) {
		snprintf(why, len, "no kernel BTF (/sys/kernel/btf/vmlinux)");
		return -1;
	}
	for (int i = 0; i < n && !rc; i++) {
		struct btf *mod = btf__load_module_btf(modules[i], vmlinux);

		if (!mod) {
			snprintf(why, len, "no module BTF (/sys/kernel/btf/%s)", modules[i]);
			rc = -1;
		}
		btf__free(mod);
	}
	btf__free(vmlinux);
	return rc;
}

int mig_attach_prog_type(int prog_type, const char *what, char *why, size_t len)
{
	int rc = libbpf_probe_bpf_prog_type(prog_type, NULL);

	why[0] = '\0';
	if (rc > 0)
		return 0;
	if (rc == 0)
		snprintf(why, len, "the kernel has no %s programs", what);
	else
		snprintf(why, len, "cannot probe for %s programs: %s", what, strerror(-rc));
	return -1;
}

/* ------------------------------------------------------------------ */

int mig_modes_run(struct mig_modes *m, const char *force, mig_try_fn try_mode,
		  void *ctx)
{
	for (int i = 0; i < m->n; i++) {
		char tried[sizeof(m->why[i])] = "";

		if (force && strcmp(force, m->name[i])) {
			m->why[i][0] = '\0';	/* not a candidate */
			continue;
		}
		if (*m->why[i] && (!force || m->never[i]))
			continue;
		if (!try_mode(ctx, i, tried, sizeof(tried)))
			return i;
		/* A forced mode keeps what was missing for it. */
		if (*m->why[i]) {
			char pre[sizeof(m->why[i])];

			memcpy(pre, m->why[i], sizeof(pre));
			snprintf(m->why[i], sizeof(m->why[i]), "%.80s, forced: %.100s",
				 pre, tried);
		} else {
			memcpy(m->why[i], tried, sizeof(m->why[i]));
		}
	}
	return -1;
}

void mig_modes_why(const struct mig_modes *m, int upto, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (int i = 0; i < upto && i < m->n; i++) {
		if (!*m->why[i] || at >= len)
			continue;
		at += snprintf(buf + at, len - at, "%s%s", at ? "; " : "", m->why[i]);
	}
}

/* ------------------------------------------------------------------ */

uint64_t vfmig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void mig_bpf_set(struct mig_bpf *b, struct bpf_object *obj)
{
	b->obj = obj;
	b->events_fd = bpf_object__find_map_fd_by_name(obj, "events");
	b->drops_fd = bpf_object__find_map_fd_by_name(obj, "drops");
	b->devstats_fd = bpf_object__find_map_fd_by_name(obj, "devstats");
}

uint64_t mig_bpf_drops(const struct mig_bpf *b)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;

	if (ncpu <= 0 || ncpu > 4096)
		return 0;
	{
		uint64_t vals[ncpu];

		for (uint32_t k = 0; k < 2; k++) {
			if (bpf_map_lookup_elem(b->drops_fd, &k, vals))
				continue;
			for (int c = 0; c < ncpu; c++)
				sum += vals[c];
		}
	}
	return sum;
}

int mig_bpf_devstats(const struct mig_bpf *b, uint32_t *ids,
		     struct mig_devstats *st, int max)
{
	uint32_t key, next, *prev = NULL;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(b->devstats_fd, prev, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(b->devstats_fd, &key, &st[n]))
			ids[n++] = key;
		prev = &key;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* vfmig.bpf.o                                                         */
/* ------------------------------------------------------------------ */

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static const char *prefix_of(const char *mode)
{
	if (!strcmp(mode, "tp_btf"))
		return "btf_";
	if (!strcmp(mode, "raw_tp"))
		return "raw_";
	return "tp_";
}

static bool have_vfmig_events(void)
{
	return exists("/sys/kernel/tracing/events/vfmig") ||
	       exists("/sys/kernel/debug/tracing/events/vfmig");
}

/* Whether the loaded vfmig has the vfmig_mig_uuid tracepoint (ABI v3). */
static bool has_mig_uuid(void)
{
	if (exists("/sys/kernel/tracing/events/vfmig"))
		return exists("/sys/kernel/tracing/events/vfmig/vfmig_mig_uuid");
	if (exists("/sys/kernel/debug/tracing/events/vfmig"))
		return exists("/sys/kernel/debug/tracing/events/vfmig/vfmig_mig_uuid");
	return true;	/* no tracefs to ask: try */
}

struct vfmig_try {
	struct vfmig_tracer *t;
	const struct vfmig_attach_opts *o;
};

/* One attempt with one program set. Returns 0 or -errno. */
static int vfmig_try_mode(void *ctx, int i, char *why, size_t whylen)
{
	struct vfmig_try *c = ctx;
	const struct vfmig_attach_opts *o = c->o;
	const char *mode = vfmig_modes[i], *pfx = prefix_of(mode);
	struct bpf_program *prog;
	struct vfmig_bpf *skel;
	int err;

	skel = vfmig_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(why, whylen, "open: %s", strerror(-err));
		return err;
	}
	skel->rodata->rb_mode = o->rb_mode;
	skel->rodata->dev_filter = o->dev_filter;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		bool on = !strncmp(name, pfx, strlen(pfx)) ||
			  (o->vmm && !strncmp(name, "vmm_", 4));

		/* A module before ABI v3 has no vfmig_mig_uuid: go without. */
		if (strstr(name, "vfmig_mig_uuid") && !has_mig_uuid())
			on = false;
		bpf_program__set_autoload(prog, on);
	}
	err = vfmig_bpf__load(skel);
	if (err) {
		snprintf(why, whylen, "%s load failed: %s", mode, strerror(-err));
		vfmig_bpf__destroy(skel);
		return err;
	}
	err = vfmig_bpf__attach(skel);
	if (err) {
		snprintf(why, whylen, "%s attach failed: %s", mode, strerror(-err));
		vfmig_bpf__destroy(skel);
		return err;
	}
	c->t->skel = skel;
	mig_bpf_set(&c->t->bpf, skel->obj);
	snprintf(c->t->mode, sizeof(c->t->mode), "%s", mode);
	return 0;
}

int vfmig_tracer_open(struct vfmig_tracer *t, const struct vfmig_attach_opts *o,
		      char *err, size_t errlen)
{
	struct mig_modes m = { .n = 3, .name = { "tp_btf", "raw_tp", "tp" } };
	struct vfmig_try c = { t, o };
	char why[400];
	int i;

	memset(t, 0, sizeof(*t));
	if (mig_attach_prepare(o->verbose, err, errlen))
		return -1;
	if (!exists("/sys/module/vfmig")) {
		snprintf(err, errlen, "vfmig module not loaded (insmod build/kernel/vfmig.ko): no vfmig tracepoints to attach to");
		return -1;
	}
	mig_attach_btf((const char *const[]){ "vfmig" }, 1, m.why[0], sizeof(m.why[0]));
	mig_attach_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, "raw tracepoint",
			     m.why[1], sizeof(m.why[1]));
	if (mig_attach_prog_type(BPF_PROG_TYPE_TRACEPOINT, "tracepoint", m.why[2],
				 sizeof(m.why[2]))) {
		m.never[2] = true;
	} else if (!have_vfmig_events()) {
		snprintf(m.why[2], sizeof(m.why[2]), "no tracefs events/vfmig (mount tracefs)");
		m.never[2] = true;
	}
	i = mig_modes_run(&m, o->force_mode, vfmig_try_mode, &c);
	if (i < 0) {
		mig_modes_why(&m, m.n, why, sizeof(why));
		snprintf(err, errlen, "could not attach to vfmig tracepoints: %s%s", why,
			 o->verbose ? "" : " (-v for libbpf messages)");
		return -1;
	}
	if (o->force_mode)
		snprintf(t->why, sizeof(t->why), "forced with -m %s", o->force_mode);
	else if (i == 0)
		snprintf(t->why, sizeof(t->why), "module BTF");
	else
		mig_modes_why(&m, i, t->why, sizeof(t->why));
	return 0;
}

void vfmig_tracer_close(struct vfmig_tracer *t)
{
	if (t->skel)
		vfmig_bpf__destroy(t->skel);
	t->skel = NULL;
	t->bpf.obj = NULL;
}

/* ------------------------------------------------------------------ */
/* The VMM view's uprobes                                              */
/* ------------------------------------------------------------------ */

/* One uprobe (or uretprobe) of the VMM view. Returns the link or NULL (errno). */
static struct bpf_link *vmm_uprobe(struct bpf_object *obj, const char *binary,
				   unsigned int probe, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret,
		    .func_name = mig_vmm_symbol(probe));
	struct bpf_program *prog;
	struct bpf_link *l;
	char name[32];

	snprintf(name, sizeof(name), "vmm_%s_%u", ret ? "out" : "in", probe);
	prog = bpf_object__find_program_by_name(obj, name);
	if (!prog || bpf_program__fd(prog) < 0) {
		errno = ENOENT;
		return NULL;
	}
	l = bpf_program__attach_uprobe_opts(prog, -1, binary, 0, &uo);
	if (!l && !errno)
		errno = EINVAL;
	return l;
}

int vmm_uprobes_attach(struct vmm_uprobes *u, struct bpf_object *obj,
		       const char *binary)
{
	int n = 0;

	memset(u, 0, sizeof(*u));
	for (unsigned int p = 0; p < MVP_NR; p++) {
		struct bpf_link *in, *out = NULL;
		size_t len = strlen(u->missing);
		int err = 0;

		in = vmm_uprobe(obj, binary, p, false);
		if (!in)
			err = errno;
		if (in && mig_vmm_has_return(p)) {
			out = vmm_uprobe(obj, binary, p, true);
			if (!out) {
				err = errno;
				bpf_link__destroy(in);
				in = NULL;
			}
		}
		if (!in) {
			snprintf(u->missing + len, sizeof(u->missing) - len, "%s%s (%s)",
				 len ? ", " : "", mig_vmm_symbol(p),
				 err == ENOENT ? "no such symbol" : strerror(err));
			if (!n && err == ENOENT)
				break;	/* the first is missing: not QEMU */
			continue;
		}
		u->links[u->nlinks++] = in;
		if (out)
			u->links[u->nlinks++] = out;
		u->attached |= 1u << p;
		n++;
	}
	return n;
}

void vmm_uprobes_detach(struct vmm_uprobes *u)
{
	for (int i = 0; i < u->nlinks; i++)
		bpf_link__destroy(u->links[i]);
	u->nlinks = 0;
	u->attached = 0;
}
