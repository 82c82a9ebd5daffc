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

#include "cli.h"
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
"usage: migctl [OPTIONS] COMMAND ARGS  (options may also follow the command)\n"
"  migrate SRC TGT        live-migrate device SRC into TGT on this host\n"
"  send SRC HOST:PORT     live-migrate SRC to a `migctl receive` over TCP\n"
"  receive TGT [HOST:]PORT  listen, receive one migration into TGT\n"
"  save SRC FILE          save SRC's migration stream to FILE (--raw: no frames)\n"
"  load FILE TGT          load a saved stream (migctl or raw) into TGT\n"
"  inspect FILE           records, images and totals of a stream file\n"
"  info DEV               migration flags, state, data size, vfmig digest\n"
"DEV: mdev UUID, /sys/bus/mdev/devices/<uuid> or another sysfs device path.\n"
"DURATION: a number with a unit, ns, us, ms or s (250ms, 1.5s); bare: ms.\n"
"options:\n"
"  -j, --json                 JSON lines on stdout (docs/json-schema.json)\n"
"  -q, --quiet                no human report\n"
"  -d, --downtime-limit DURATION  switchover when the rest fits (default 300ms)\n"
"  -b, --bandwidth RATE       cap in bytes/s, K/M/G suffixes (default none)\n"
"  -I, --max-iterations N     PRE_COPY iteration cap (default 30)\n"
"  -P, --max-precopy-time DURATION  PRE_COPY time cap (default 30s)\n"
"  -n, --no-precopy           straight to STOP_COPY (the baseline)\n"
"  -T, --timeout DURATION     I/O no-progress timeout (default 10s)\n"
"  -A, --accept-timeout DURATION  receive: wait for the sender (default 60s)\n"
"  -V, --verify               compare vfmig source and target digests\n"
"  -x, --exec-stopped CMD     run CMD (sh -c) while the migrated source is stopped\n"
"  -r, --resume-source        source back to RUNNING after success\n"
"      --raw                  save: bare device stream without migctl frames\n"
"  -s, --summary              inspect: no per-record lines\n"
"  -h, --help                 this text\n"
"      --version              the version\n"
"exit status: 0 success, 1 failure, 2 usage error\n");
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

/* A decimal sysfs value as a JSON number, null if not read. */
static void json_dec(struct jw *w, const char *key, const char *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = *v ? strtoull(v, &end, 10) : 0;
	jw_uint_opt(w, key, *v && !errno && !*end, x);
}

static void print_json(const struct report *r, const char *err)
{
	bool source_cmd = r->command && (!strcmp(r->command, "migrate") ||
					 !strcmp(r->command, "send") ||
					 !strcmp(r->command, "save"));
	const struct user_parts *p = &r->parts;
	struct jw w;

	jw_init(&w, stdout);
	jw_record(&w, "migctl_report");
	jw_string(&w, "command", r->command);
	jw_string(&w, "status", err ? "error" : "ok");
	jw_string(&w, "error", err);
	jw_string(&w, "source", *r->source ? r->source : NULL);
	jw_string(&w, "target", *r->target ? r->target : NULL);
	jw_string(&w, "mode", r->mode);
	jw_string(&w, "switch_reason", r->switch_reason);
	jw_uint_opt(&w, "iterations", r->has_iterations, r->iterations);
	jw_uint_opt(&w, "total_ns", !err, r->total_ns);
	jw_uint_opt(&w, "precopy_ns", r->has_downtime && r->mode &&
		    !strcmp(r->mode, "precopy"), r->precopy_ns);
	jw_uint_opt(&w, "t_start_ns", r->has_downtime, r->t_start_ns);
	jw_uint_opt(&w, "t_end_ns", r->has_downtime, r->t_end_ns);
	jw_uint_opt(&w, "downtime_ns", r->has_downtime, r->downtime_ns);
	if (r->has_downtime) {
		jw_object(&w, "parts");
		jw_uint(&w, "source_set_state_ns", p->source_set_state_ns);
		jw_uint(&w, "read_ns", p->read_ns);
		jw_uint(&w, "write_ns", p->write_ns);
		jw_uint(&w, "throttle_ns", p->throttle_ns);
		jw_uint(&w, "finish_ns", p->finish_ns);
		jw_uint(&w, "other_ns", p->other_ns);
		jw_end_object(&w);
	} else {
		jw_null(&w, "parts");
	}
	jw_uint_opt(&w, "downtime_limit_ns", source_cmd, g_opts.downtime_limit_ns);
	jw_uint_opt(&w, "bandwidth_limit_Bps", source_cmd && g_opts.bandwidth,
		    g_opts.bandwidth);
	jw_uint_opt(&w, "bandwidth_Bps", r->has_switchover, r->bandwidth_Bps);
	jw_uint_opt(&w, "pending_bytes", r->has_switchover, r->pending_bytes);
	jw_uint_opt(&w, "expected_downtime_ns", r->has_switchover &&
		    r->expected_downtime_ns != UINT64_MAX, r->expected_downtime_ns);
	jw_uint_opt(&w, "precopy_bytes", r->has_phase_bytes, r->precopy_bytes);
	jw_uint_opt(&w, "stop_copy_bytes", r->has_phase_bytes, r->stop_copy_bytes);
	jw_uint_opt(&w, "total_bytes", r->has_bytes, r->total_bytes);
	if (r->has_target_side) {
		jw_object(&w, "target_side");
		jw_uint(&w, "load_ns", r->tgt_load_ns);
		jw_uint(&w, "load_total_ns", r->tgt_load_total_ns);
		jw_uint(&w, "resume_ns", r->tgt_resume_ns);
		jw_end_object(&w);
	} else {
		jw_null(&w, "target_side");
	}
	jw_string(&w, "source_state", r->source_state);
	jw_string(&w, "target_state", r->target_state);
	jw_string(&w, "src_digest", *r->src_digest ? r->src_digest : NULL);
	jw_string(&w, "tgt_digest", *r->tgt_digest ? r->tgt_digest : NULL);
	json_dec(&w, "src_generation", r->src_generation);
	json_dec(&w, "tgt_generation", r->tgt_generation);
	json_dec(&w, "src_mig_id", r->src_mig_id);
	json_dec(&w, "tgt_mig_id", r->tgt_mig_id);
	jw_bool_opt(&w, "verified", r->verified >= 0, r->verified == 1);
	jw_end_record(&w);
}

static void print_human(const struct report *r)
{
	const struct user_parts *p = &r->parts;

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
		printf("  downtime %.3f ms = source set_state %.3f + read %.3f + write %.3f"
		       " + throttle %.3f + finish %.3f + other %.3f\n", ms(r->downtime_ns),
		       ms(p->source_set_state_ns), ms(p->read_ns), ms(p->write_ns),
		       ms(p->throttle_ns), ms(p->finish_ns), ms(p->other_ns));
		if (r->has_switchover)
			printf("  at switchover: %" PRIu64 " bytes pending, bandwidth %.1f MB/s,"
			       " expected downtime %.1f ms (limit %.1f ms)\n",
			       r->pending_bytes, (double)r->bandwidth_Bps / 1e6,
			       ms(r->expected_downtime_ns), ms(g_opts.downtime_limit_ns));
	}
	if (r->has_target_side)
		printf("  target: load %.3f ms (all writes + RESUMING->STOP; STOP_COPY data %.3f ms),"
		       " resume %.3f ms\n", ms(r->tgt_load_total_ns), ms(r->tgt_load_ns),
		       ms(r->tgt_resume_ns));
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

static const char *const vfmig_attrs[] = { "state_size", "digest", "generation",
					   "dirty_rate", "mig_id" };
#define NATTRS (sizeof(vfmig_attrs) / sizeof(vfmig_attrs[0]))

/* info: @d is open, or @err says why not (JSON: the same record, with the error). */
static int cmd_info(struct vfio_dev *d, const char *spec, const char *err)
{
	char fl[64], v[NATTRS][64];
	uint32_t st = 0;
	uint64_t sz = 0;
	bool mig = !err && (d->mig_flags & VFIO_MIGRATION_STOP_COPY);
	bool have_st = mig && !vfio_dev_get_state(d, &st);
	bool have_sz = mig && !vfio_dev_data_size(d, &sz);
	bool have[NATTRS] = { false };

	for (size_t i = 0; i < NATTRS && !err && d->is_vfmig; i++)
		have[i] = !vfmig_sysfs_read(d->sysfs, vfmig_attrs[i], v[i], sizeof(v[i]));
	if (g_opts.json) {
		struct jw w;

		jw_init(&w, stdout);
		jw_record(&w, "migctl_info");
		jw_string(&w, "status", err ? "error" : "ok");
		jw_string(&w, "error", err);
		jw_string(&w, "device", err ? spec : d->name);
		jw_string(&w, "sysfs", err ? NULL : d->sysfs);
		jw_uint_opt(&w, "iommu_group", !err, (uint64_t)d->group_id);
		jw_uint_opt(&w, "mig_flags", !err, d->mig_flags);
		jw_string(&w, "mig_flags_str", err ? NULL :
			  vfio_mig_flags_str(d->mig_flags, fl, sizeof(fl)));
		jw_string(&w, "state", have_st ? mig_state_name(st) : NULL);
		jw_uint_opt(&w, "stop_copy_length", have_sz, sz);
		jw_string(&w, "driver", err ? NULL : d->is_vfmig ? "vfmig" : "other");
		if (!err && d->is_vfmig) {
			jw_object(&w, "vfmig");
			for (size_t i = 0; i < NATTRS; i++) {
				if (!strcmp(vfmig_attrs[i], "digest"))
					jw_string(&w, vfmig_attrs[i], have[i] ? v[i] : NULL);
				else
					json_dec(&w, vfmig_attrs[i], have[i] ? v[i] : "");
			}
			jw_end_object(&w);
		} else {
			jw_null(&w, "vfmig");
		}
		jw_end_record(&w);
		return err ? -1 : 0;
	}
	if (err)
		return -1;
	printf("device %s (group %d, %s)\n  migration: %s\n", d->name, d->group_id,
	       d->sysfs, vfio_mig_flags_str(d->mig_flags, fl, sizeof(fl)));
	if (have_st || have_sz)
		printf("  state: %s\n  stop-copy length: %" PRIu64 " bytes\n",
		       have_st ? mig_state_name(st) : "?", sz);
	for (size_t i = 0; i < NATTRS; i++)
		if (have[i])
			printf("  %s: %s\n", vfmig_attrs[i], v[i]);
	return 0;
}

/* Which commands each option applies to (the rest: a warning). */
enum {
	C_MIGRATE = 1, C_SEND = 2, C_RECEIVE = 4, C_SAVE = 8, C_LOAD = 16,
	C_INSPECT = 32, C_INFO = 64,
	C_SOURCE = C_MIGRATE | C_SEND | C_SAVE,
	C_RUN = C_SOURCE | C_RECEIVE | C_LOAD,
	C_ALL = C_RUN | C_INSPECT | C_INFO,
};

#define OPT_RAW		0x100
#define OPT_VERSION	0x101

static const struct option lopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "downtime-limit", required_argument, NULL, 'd' },
	{ "bandwidth", required_argument, NULL, 'b' },
	{ "max-iterations", required_argument, NULL, 'I' },
	{ "max-precopy-time", required_argument, NULL, 'P' },
	{ "no-precopy", no_argument, NULL, 'n' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "accept-timeout", required_argument, NULL, 'A' },
	{ "verify", no_argument, NULL, 'V' },
	{ "exec-stopped", required_argument, NULL, 'x' },
	{ "resume-source", no_argument, NULL, 'r' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "summary", no_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 }
};

static const struct { int opt; unsigned int cmds; } opt_cmds[] = {
	{ 'j', C_ALL }, { 'q', C_RUN }, { 'd', C_SOURCE }, { 'b', C_SOURCE },
	{ 'I', C_SOURCE }, { 'P', C_SOURCE }, { 'n', C_SOURCE },
	{ 'T', C_RUN | C_INSPECT }, { 'A', C_RECEIVE },
	{ 'V', C_RUN }, { 'x', C_SOURCE }, { 'r', C_SOURCE },
	{ OPT_RAW, C_SAVE }, { 's', C_INSPECT },
};

static const struct { const char *name; unsigned int bit; int nargs; } commands[] = {
	{ "migrate", C_MIGRATE, 2 }, { "send", C_SEND, 2 },
	{ "receive", C_RECEIVE, 2 }, { "save", C_SAVE, 2 },
	{ "load", C_LOAD, 2 }, { "inspect", C_INSPECT, 1 }, { "info", C_INFO, 1 },
};

static void warn_ignored(const bool *seen, const char *cmd, unsigned int bit)
{
	char why[64];

	snprintf(why, sizeof(why), "on %s", cmd);
	for (size_t i = 0; i < sizeof(opt_cmds) / sizeof(opt_cmds[0]); i++) {
		char name[40];

		if (!seen[opt_cmds[i].opt] || (opt_cmds[i].cmds & bit))
			continue;
		for (const struct option *o = lopts; o->name; o++)
			if (o->val == opt_cmds[i].opt)
				snprintf(name, sizeof(name), "--%s", o->name);
		cli_warn_ignored("migctl", name, why);
	}
}

static int bad_value(int c, const char *arg)
{
	fprintf(stderr, "migctl: error: bad value for -%c: %s (see migctl --help)\n", c, arg);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct vfio_dev src = { .fd = -1, .group = -1, .container = -1 };
	struct vfio_dev tgt = { .fd = -1, .group = -1, .container = -1 };
	struct report r = { .verified = -1 };
	char err[MSG_LEN] = "";
	struct sigaction sa = { .sa_handler = on_signal };
	bool seen[OPT_VERSION + 1] = { false };
	unsigned int bit = 0;
	const char *cmd;
	char **a;
	uint64_t v;
	int c, na, nargs = 0, rc = -1;

	/* Options anywhere: before the command, between or after its arguments. */
	while ((c = getopt_long(argc, argv, "jqd:b:I:P:nT:A:Vx:rsh", lopts, NULL)) != -1) {
		if (c >= 0 && c <= OPT_VERSION)
			seen[c] = true;
		switch (c) {
		case 'j': g_opts.json = true; break;
		case 'q': g_opts.quiet = true; break;
		case 'n': g_opts.no_precopy = true; break;
		case 'V': g_opts.verify = true; break;
		case 'x': g_opts.exec_stopped = optarg; break;
		case 'r': g_opts.resume_source = true; break;
		case OPT_RAW: g_opts.raw = true; break;
		case 's': g_opts.summary = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: cli_version("migctl"); return 0;
		case 'b':
			if (cli_parse_u64(optarg, &g_opts.bandwidth, 1))
				return bad_value(c, optarg);
			break;
		case 'I':
			if (cli_parse_u64(optarg, &v, 0) || v > UINT32_MAX)
				return bad_value(c, optarg);
			g_opts.max_iterations = v ? (unsigned int)v : 1;
			break;
		case 'd': case 'P': case 'T': case 'A':
			if (cli_parse_duration(optarg, 1000000, &v))
				return bad_value(c, optarg);
			if (c == 'd')
				g_opts.downtime_limit_ns = v;
			else if (c == 'P')
				g_opts.max_precopy_ns = v;
			else if (c == 'T')
				g_opts.io_timeout_ms = v >= 1000000 ? v / 1000000 : 1;
			else
				g_opts.accept_timeout_ms = v / 1000000;
			break;
		default:
			fprintf(stderr, "migctl: see migctl --help\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = argv[optind];
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name)) {
			bit = commands[i].bit;
			nargs = commands[i].nargs;
		}
	if (!bit) {
		fprintf(stderr, "migctl: error: unknown command %s (see migctl --help)\n", cmd);
		return CLI_EXIT_USAGE;
	}
	a = argv + optind + 1;
	na = argc - optind - 1;
	if (na != nargs) {
		fprintf(stderr, "migctl: error: %s takes %d argument%s (see migctl --help)\n",
			cmd, nargs, nargs == 1 ? "" : "s");
		return CLI_EXIT_USAGE;
	}
	warn_ignored(seen, cmd, bit);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (bit == C_MIGRATE) {
		if (!open_dev(&src, a[0], err) && !open_dev(&tgt, a[1], err))
			rc = cmd_migrate(&src, &tgt, &r, err);
	} else if (bit == C_SEND) {
		if (!open_dev(&src, a[0], err))
			rc = cmd_send(&src, a[1], &r, err);
	} else if (bit == C_RECEIVE) {
		if (!open_dev(&tgt, a[0], err))
			rc = cmd_receive(&tgt, a[1], &r, err);
	} else if (bit == C_SAVE) {
		if (!open_dev(&src, a[0], err))
			rc = cmd_save(&src, a[1], &r, err);
	} else if (bit == C_LOAD) {
		if (!open_dev(&tgt, a[1], err))
			rc = cmd_load(a[0], &tgt, &r, err);
	} else if (bit == C_INSPECT) {
		rc = cmd_inspect(a[0], err);
		if (rc)
			fprintf(stderr, "migctl: error: %s\n", err);
		return rc ? 1 : 0;
	} else {
		rc = open_dev(&src, a[0], err);
		rc = cmd_info(&src, a[0], rc ? err : NULL);
		if (rc)
			fprintf(stderr, "migctl: error: %s\n", err);
		vfio_dev_close(&src);
		return rc ? 1 : 0;
	}
	if (!r.command) {	/* a device did not open: name the arguments */
		r.command = cmd;
		snprintf(r.source, sizeof(r.source), "%s", bit == C_RECEIVE ? "" : a[0]);
		snprintf(r.target, sizeof(r.target), "%s", bit == C_RECEIVE ? a[0] : a[1]);
	}

	if (!rc && g_opts.verify && (bit == C_MIGRATE || bit == C_SEND)) {
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
			r.source_state = mig_state_name(st);
		if (tgt.fd >= 0 && !vfio_dev_get_state(&tgt, &st))
			r.target_state = mig_state_name(st);
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
