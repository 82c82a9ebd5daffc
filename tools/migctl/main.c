// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * migctl: the VMM side of VFIO live migration. See docs/migctl.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/vfio.h>

#include "migctl.h"

volatile sig_atomic_t g_stop;
struct opts g_opts = {
	.downtime_limit_ns = 300000000ull,	/* QEMU's default 300 ms */
	.max_iterations = 30,
	.max_precopy_ns = 30000000000ull,
	.io_timeout_ms = 10000,
	.accept_timeout_ms = 60000,
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: migctl COMMAND [OPTIONS] ARGS\n"
"  migrate SRC TGT        live-migrate device SRC into TGT on this host\n"
"  send SRC HOST:PORT     live-migrate SRC to a `migctl receive` over TCP\n"
"  receive TGT [HOST:]PORT  listen, receive one migration into TGT\n"
"  save SRC FILE          save SRC's migration stream to FILE (--raw: no frames)\n"
"  load FILE TGT          load a saved stream (migctl or raw) into TGT\n"
"  inspect FILE           records, images and totals of a stream file\n"
"  info DEV               migration flags, state, data size, vfmig digest\n"
"DEV: mdev UUID, /sys/bus/mdev/devices/<uuid> or another sysfs device path.\n"
"options:\n"
"  -j, --json                 machine-readable report on stdout\n"
"  -q, --quiet                no human report\n"
"  -d, --downtime-limit MS    switchover when the rest fits (default 300)\n"
"  -b, --bandwidth RATE       cap in bytes/s, K/M/G suffixes (default none)\n"
"  -i, --max-iterations N     PRE_COPY iteration cap (default 30)\n"
"  -t, --max-precopy-time MS  PRE_COPY time cap (default 30000)\n"
"  -n, --no-precopy           straight to STOP_COPY (the baseline)\n"
"  -T, --timeout MS           I/O no-progress timeout (default 10000)\n"
"  -A, --accept-timeout MS    receive: wait for the sender (default 60000)\n"
"  -V, --verify               compare vfmig source and target digests\n"
"  -x, --exec-stopped CMD     run CMD (sh -c) while the migrated source is stopped\n"
"  -r, --resume-source        source back to RUNNING after success\n"
"      --raw                  save: bare device stream without migctl frames\n"
"  -s, --summary              inspect: no per-record lines\n");
}

static int parse_u64(const char *s, uint64_t *v, bool suffix)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	if (suffix && *end) {
		switch (*end | 0x20) {
		case 'k': x <<= 10; break;
		case 'm': x <<= 20; break;
		case 'g': x <<= 30; break;
		default: return -1;
		}
		end++;
	}
	if (*end)
		return -1;
	*v = x;
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void json_str(const char *k, const char *v, bool *first)
{
	printf("%s\"%s\": \"", *first ? "" : ", ", k);
	for (; v && *v; v++) {
		if (*v == '"' || *v == '\\')
			printf("\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			printf("\\u%04x", *v);
		else
			putchar(*v);
	}
	putchar('"');
	*first = false;
}

static void json_u64(const char *k, uint64_t v, bool *first)
{
	printf("%s\"%s\": %" PRIu64, *first ? "" : ", ", k, v);
	*first = false;
}

static void print_json(const struct report *r, const char *err)
{
	bool f = true;

	printf("{");
	json_str("command", r->command, &f);
	json_str("status", err ? "error" : "ok", &f);
	if (err)
		json_str("error", err, &f);
	json_str("source", r->source, &f);
	json_str("target", r->target, &f);
	if (r->mode)
		json_str("mode", r->mode, &f);
	if (r->switch_reason)
		json_str("switch_reason", r->switch_reason, &f);
	json_u64("iterations", r->iterations, &f);
	json_u64("total_ns", r->total_ns, &f);
	json_u64("precopy_ns", r->precopy_ns, &f);
	if (r->end_mono_ns) {
		json_u64("start_mono_ns", r->start_mono_ns, &f);
		json_u64("end_mono_ns", r->end_mono_ns, &f);
	}
	if (r->has_downtime) {
		json_u64("downtime_ns", r->downtime_ns, &f);
		json_u64("suspend_ns", r->suspend_ns, &f);
		json_u64("drain_ns", r->drain_ns, &f);
		json_u64("transfer_ns", r->transfer_ns, &f);
		json_u64("load_ns", r->load_ns, &f);
		json_u64("resume_ns", r->resume_ns, &f);
		json_u64("load_overlap_ns", r->load_overlap_ns, &f);
		json_u64("downtime_limit_ns", g_opts.downtime_limit_ns, &f);
		json_u64("expected_downtime_ns",
			 r->expected_downtime_ns == UINT64_MAX ? 0 : r->expected_downtime_ns, &f);
		json_u64("bandwidth_bps", r->bandwidth_bps, &f);
		json_u64("pending_bytes", r->pending_bytes, &f);
	} else if (r->command && (!strcmp(r->command, "receive") ||
				  !strcmp(r->command, "load"))) {
		json_u64("load_ns", r->load_ns, &f);
		json_u64("resume_ns", r->resume_ns, &f);
	}
	json_u64("load_total_ns", r->load_total_ns, &f);
	json_u64("precopy_bytes", r->precopy_bytes, &f);
	json_u64("stop_copy_bytes", r->stop_copy_bytes, &f);
	json_u64("total_bytes", r->total_bytes, &f);
	if (r->source_state)
		json_str("source_state", r->source_state, &f);
	if (r->target_state)
		json_str("target_state", r->target_state, &f);
	if (*r->src_digest)
		json_str("src_digest", r->src_digest, &f);
	if (*r->tgt_digest)
		json_str("tgt_digest", r->tgt_digest, &f);
	if (*r->src_generation)
		json_str("src_generation", r->src_generation, &f);
	if (*r->tgt_generation)
		json_str("tgt_generation", r->tgt_generation, &f);
	if (*r->src_mig_id)
		json_str("src_mig_id", r->src_mig_id, &f);
	if (*r->tgt_mig_id)
		json_str("tgt_mig_id", r->tgt_mig_id, &f);
	if (r->verified >= 0)
		printf(", \"verified\": %s", r->verified ? "true" : "false");
	printf("}\n");
	fflush(stdout);
}

static void print_human(const struct report *r)
{
	printf("migctl %s %s -> %s: ok, %s", r->command, r->source, r->target,
	       r->mode ? r->mode : "-");
	if (r->switch_reason)
		printf(", %u iteration%s, switchover: %s", r->iterations,
		       r->iterations == 1 ? "" : "s", r->switch_reason);
	printf("\n  total %.1f ms", ms(r->total_ns));
	if (r->precopy_ns)
		printf(", precopy %.1f ms", ms(r->precopy_ns));
	printf("; bytes: precopy %" PRIu64 ", stop-copy %" PRIu64 ", total %" PRIu64 "\n",
	       r->precopy_bytes, r->stop_copy_bytes, r->total_bytes);
	if (r->has_downtime) {
		printf("  downtime %.3f ms = suspend %.3f + drain %.3f + transfer %.3f"
		       " + load %.3f + resume %.3f", ms(r->downtime_ns),
		       ms(r->suspend_ns), ms(r->drain_ns), ms(r->transfer_ns),
		       ms(r->load_ns), ms(r->resume_ns));
		if (r->load_overlap_ns)
			printf(" (load overlapped drain by %.3f)", ms(r->load_overlap_ns));
		printf("\n");
		if (r->bandwidth_bps)
			printf("  at switchover: %" PRIu64 " bytes pending, bandwidth %.1f MB/s,"
			       " expected downtime %.1f ms (limit %.1f ms)\n",
			       r->pending_bytes, (double)r->bandwidth_bps / 1e6,
			       ms(r->expected_downtime_ns), ms(g_opts.downtime_limit_ns));
	} else if (r->load_total_ns || r->resume_ns) {
		printf("  target: load %.3f ms (STOP_COPY data + RESUMING->STOP %.3f ms), resume %.3f ms\n",
		       ms(r->load_total_ns), ms(r->load_ns), ms(r->resume_ns));
	}
	if (r->source_state)
		printf("  source left in %s\n", r->source_state);
	if (*r->src_digest || *r->tgt_digest)
		printf("  digest: source %s target %s%s\n",
		       *r->src_digest ? r->src_digest : "-",
		       *r->tgt_digest ? r->tgt_digest : "-",
		       r->verified == 1 ? " (equal)" : r->verified == 0 ? " (DIFFERENT)" : "");
}

static int open_dev(struct vfio_dev *d, const char *spec, char *err)
{
	if (vfio_dev_open(d, spec)) {
		set_err(err, "%s", d->err);
		return -1;
	}
	return 0;
}

static int cmd_info(struct vfio_dev *d)
{
	char fl[64], v[64];
	uint32_t st = 0;
	uint64_t sz = 0;
	bool mig = d->mig_flags & VFIO_MIGRATION_STOP_COPY;

	if (mig)
		vfio_dev_get_state(d, &st);
	if (mig)
		vfio_dev_data_size(d, &sz);
	if (g_opts.json) {
		bool f = true;

		printf("{");
		json_str("device", d->name, &f);
		json_str("sysfs", d->sysfs, &f);
		json_u64("iommu_group", (uint64_t)d->group_id, &f);
		json_u64("mig_flags", d->mig_flags, &f);
		json_str("mig_flags_str", vfio_mig_flags_str(d->mig_flags, fl, sizeof(fl)), &f);
		if (mig) {
			json_str("state", vfio_state_name(st), &f);
			json_u64("stop_copy_length", sz, &f);
		}
		json_str("driver", d->is_vfmig ? "vfmig" : "other", &f);
		if (d->is_vfmig) {
			static const char *const attrs[] = { "state_size", "digest",
				"generation", "dirty_rate", "mig_id" };

			for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
				if (!vfmig_sysfs_read(d->sysfs, attrs[i], v, sizeof(v)))
					json_str(attrs[i], v, &f);
		}
		printf("}\n");
		return 0;
	}
	printf("device %s (group %d, %s)\n  migration: %s\n", d->name, d->group_id,
	       d->sysfs, vfio_mig_flags_str(d->mig_flags, fl, sizeof(fl)));
	if (mig)
		printf("  state: %s\n  stop-copy length: %" PRIu64 " bytes\n",
		       vfio_state_name(st), sz);
	if (d->is_vfmig) {
		static const char *const attrs[] = { "state_size", "digest",
			"generation", "dirty_rate", "mig_id" };

		for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
			if (!vfmig_sysfs_read(d->sysfs, attrs[i], v, sizeof(v)))
				printf("  %s: %s\n", attrs[i], v);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "downtime-limit", required_argument, NULL, 'd' },
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "max-iterations", required_argument, NULL, 'i' },
		{ "max-precopy-time", required_argument, NULL, 't' },
		{ "no-precopy", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "accept-timeout", required_argument, NULL, 'A' },
		{ "verify", no_argument, NULL, 'V' },
		{ "exec-stopped", required_argument, NULL, 'x' },
		{ "resume-source", no_argument, NULL, 'r' },
		{ "raw", no_argument, NULL, 'R' },
		{ "summary", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct vfio_dev src = { .fd = -1, .group = -1, .container = -1 };
	struct vfio_dev tgt = { .fd = -1, .group = -1, .container = -1 };
	struct report r = { .verified = -1 };
	char err[MSG_LEN] = "";
	struct sigaction sa = { .sa_handler = on_signal };
	const char *cmd;
	char **a;
	uint64_t v;
	int c, na, rc = -1;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "jqd:b:i:t:nT:A:Vx:rsh", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': g_opts.json = true; break;
		case 'q': g_opts.quiet = true; break;
		case 'n': g_opts.no_precopy = true; break;
		case 'V': g_opts.verify = true; break;
		case 'x': g_opts.exec_stopped = optarg; break;
		case 'r': g_opts.resume_source = true; break;
		case 'R': g_opts.raw = true; break;
		case 's': g_opts.summary = true; break;
		case 'h': usage(stdout); return 0;
		case 'd': case 'b': case 'i': case 't': case 'T': case 'A':
			if (parse_u64(optarg, &v, c == 'b')) {
				fprintf(stderr, "migctl: error: bad value for -%c: %s\n", c, optarg);
				return 2;
			}
			if (c == 'd')
				g_opts.downtime_limit_ns = v * 1000000ull;
			else if (c == 'b')
				g_opts.bandwidth = v;
			else if (c == 'i')
				g_opts.max_iterations = v ? (unsigned int)v : 1;
			else if (c == 't')
				g_opts.max_precopy_ns = v * 1000000ull;
			else if (c == 'T')
				g_opts.io_timeout_ms = v ? v : 1;
			else
				g_opts.accept_timeout_ms = v;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	a = argv + optind;
	na = argc - optind;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

#define NEED(n) do { if (na != (n)) { \
		fprintf(stderr, "migctl: error: %s takes %d argument%s (see migctl --help)\n", \
			cmd, (n), (n) == 1 ? "" : "s"); return 2; } } while (0)

	if (!strcmp(cmd, "migrate")) {
		NEED(2);
		if (!open_dev(&src, a[0], err) && !open_dev(&tgt, a[1], err))
			rc = cmd_migrate(&src, &tgt, &r, err);
	} else if (!strcmp(cmd, "send")) {
		NEED(2);
		if (!open_dev(&src, a[0], err))
			rc = cmd_send(&src, a[1], &r, err);
	} else if (!strcmp(cmd, "receive")) {
		NEED(2);
		if (!open_dev(&tgt, a[0], err))
			rc = cmd_receive(&tgt, a[1], &r, err);
	} else if (!strcmp(cmd, "save")) {
		NEED(2);
		if (!open_dev(&src, a[0], err))
			rc = cmd_save(&src, a[1], &r, err);
	} else if (!strcmp(cmd, "load")) {
		NEED(2);
		if (!open_dev(&tgt, a[1], err))
			rc = cmd_load(a[0], &tgt, &r, err);
	} else if (!strcmp(cmd, "inspect")) {
		NEED(1);
		rc = cmd_inspect(a[0], err);
		if (rc)
			fprintf(stderr, "migctl: error: %s\n", err);
		return rc ? 1 : 0;
	} else if (!strcmp(cmd, "info")) {
		NEED(1);
		if (!open_dev(&src, a[0], err))
			rc = cmd_info(&src);
		if (rc)
			fprintf(stderr, "migctl: error: %s\n", err);
		vfio_dev_close(&src);
		return rc ? 1 : 0;
	} else {
		fprintf(stderr, "migctl: error: unknown command %s (see migctl --help)\n", cmd);
		return 2;
	}

	if (!rc && g_opts.verify && (!strcmp(cmd, "migrate") || !strcmp(cmd, "send"))) {
		if (!*r.src_digest || !*r.tgt_digest) {
			fprintf(stderr, "migctl: note: --verify needs vfmig devices on both sides; not checked\n");
		} else {
			r.verified = !strcmp(r.src_digest, r.tgt_digest);
			if (!r.verified) {
				set_err(err, "verify failed: source digest %s, target digest %s",
					r.src_digest, r.tgt_digest);
				rc = -1;
			}
		}
	}
	if (rc) {
		/* Show where a failure left the devices (RUNNING, after recovery). */
		uint32_t st;

		if (src.fd >= 0 && !vfio_dev_get_state(&src, &st))
			r.source_state = vfio_state_name(st);
		if (tgt.fd >= 0 && !vfio_dev_get_state(&tgt, &st))
			r.target_state = vfio_state_name(st);
	}
	if (g_opts.json)
		print_json(&r, rc ? err : NULL);
	else if (!rc && !g_opts.quiet)
		print_human(&r);
	if (rc)
		fprintf(stderr, "migctl: error: %s\n", err);
	vfio_dev_close(&src);
	vfio_dev_close(&tgt);
	return rc ? 1 : 0;
}
