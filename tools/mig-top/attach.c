// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Load vfmig.bpf.o: tp_btf when the module has BTF, else raw_tp, else the
 * classic tracepoints; the first that loads and attaches wins, and the
 * reasons for skipping the better ones are kept for the user.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "mig_vmm.h"
#include "vfmig.skel.h"

static bool verbose_libbpf;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	if (!verbose_libbpf)
		return 0;	/* errors are summarized by the caller */
	return vfprintf(stderr, fmt, ap);
}

uint64_t vfmig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

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

/* One attempt with one program set. Returns 0 or -errno. */
static int try_mode(struct vfmig_tracer *t, const struct vfmig_attach_opts *o,
		    const char *mode, char *why, size_t whylen)
{
	const char *pfx = prefix_of(mode);
	struct bpf_program *prog;
	struct vfmig_bpf *skel;
	int err;

	skel = vfmig_bpf__open();
	if (!skel) {
		snprintf(why, whylen, "open: %s", strerror(errno));
		return -errno;
	}
	skel->rodata->rb_mode = o->rb_mode;
	skel->rodata->dev_filter = o->dev_filter;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);

		bpf_program__set_autoload(prog, !strncmp(name, pfx, strlen(pfx)) ||
					  (o->vmm && !strncmp(name, "vmm_", 4)));
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
	t->skel = skel;
	snprintf(t->mode, sizeof(t->mode), "%s", mode);
	return 0;
}

static int kernel_older_than(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return 0;
	return a < maj || (a == maj && b < min);
}

int vfmig_tracer_open(struct vfmig_tracer *t, const struct vfmig_attach_opts *o,
		      char *err, size_t errlen)
{
	static const char *const order[] = { "tp_btf", "raw_tp", "tp" };
	char why[3][160] = { "", "", "" };
	bool have_vmlinux_btf, have_mod_btf;
	int i, rc = -1;

	memset(t, 0, sizeof(*t));
	verbose_libbpf = o->verbose;
	libbpf_set_print(print_fn);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);

	if (geteuid() != 0) {
		snprintf(err, errlen, "must run as root (needs CAP_BPF and CAP_PERFMON to load BPF programs)");
		return -1;
	}
	if (kernel_older_than(5, 8)) {
		snprintf(err, errlen, "kernel too old: the BPF ring buffer needs Linux 5.8 or later");
		return -1;
	}
	if (!exists("/sys/module/vfmig")) {
		snprintf(err, errlen, "vfmig module not loaded (insmod build/kernel/vfmig.ko): no vfmig tracepoints to attach to");
		return -1;
	}
	have_vmlinux_btf = exists("/sys/kernel/btf/vmlinux");
	have_mod_btf = exists("/sys/kernel/btf/vfmig");

	for (i = 0; i < 3; i++) {
		const char *m = order[i];

		if (o->force_mode && strcmp(o->force_mode, m))
			continue;
		if (i == 0 && !have_vmlinux_btf) {
			snprintf(why[i], sizeof(why[i]), "no kernel BTF (/sys/kernel/btf/vmlinux)");
			if (!o->force_mode)
				continue;
		} else if (i == 0 && !have_mod_btf) {
			snprintf(why[i], sizeof(why[i]), "no module BTF (/sys/kernel/btf/vfmig)");
			if (!o->force_mode)
				continue;
		}
		if (i == 2 && !exists("/sys/kernel/tracing/events/vfmig") &&
		    !exists("/sys/kernel/debug/tracing/events/vfmig")) {
			snprintf(why[i], sizeof(why[i]), "no tracefs events/vfmig (mount tracefs)");
			continue;
		}
		{
			char tried[160] = "";

			if (!try_mode(t, o, m, tried, sizeof(tried))) {
				rc = 0;
				break;
			}
			/* A forced mode keeps what was missing for it. */
			if (*why[i]) {
				char pre[sizeof(why[i])];

				memcpy(pre, why[i], sizeof(pre));
				snprintf(why[i], sizeof(why[i]), "%.60s, forced: %.80s", pre, tried);
			} else {
				memcpy(why[i], tried, sizeof(why[i]));
			}
		}
	}
	if (rc) {
		snprintf(err, errlen, "could not attach to vfmig tracepoints: %s%s%s%s%s%s",
			 why[0], *why[0] ? "; " : "", why[1], *why[1] ? "; " : "",
			 why[2], o->verbose ? "" : " (-v for libbpf messages)");
		return -1;
	}
	if (i == 0)
		snprintf(t->why, sizeof(t->why), "module BTF");
	else
		snprintf(t->why, sizeof(t->why), "%s%s%s", why[0],
			 i == 2 && *why[1] ? "; " : "", i == 2 ? why[1] : "");
	if (o->force_mode)
		snprintf(t->why, sizeof(t->why), "forced with -m %s", o->force_mode);
	return 0;
}

void vfmig_tracer_close(struct vfmig_tracer *t)
{
	if (t->skel)
		vfmig_bpf__destroy(t->skel);
	t->skel = NULL;
}

int vfmig_tracer_events_fd(struct vfmig_tracer *t)
{
	return bpf_map__fd(t->skel->maps.events);
}

struct bpf_object *vfmig_tracer_obj(struct vfmig_tracer *t)
{
	return t->skel->obj;
}

uint64_t vfmig_tracer_drops(struct vfmig_tracer *t)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;
	int fd = bpf_map__fd(t->skel->maps.drops);

	if (ncpu <= 0 || ncpu > 4096)
		return 0;
	{
		uint64_t vals[ncpu];

		for (uint32_t k = 0; k < 2; k++) {
			if (bpf_map_lookup_elem(fd, &k, vals))
				continue;
			for (int c = 0; c < ncpu; c++)
				sum += vals[c];
		}
	}
	return sum;
}

int vfmig_tracer_devstats(struct vfmig_tracer *t, uint32_t *ids,
			  struct mig_devstats *st, int max)
{
	int fd = bpf_map__fd(t->skel->maps.devstats);
	uint32_t key, next, *prev = NULL;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &st[n]))
			ids[n++] = key;
		prev = &key;
	}
	return n;
}

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
