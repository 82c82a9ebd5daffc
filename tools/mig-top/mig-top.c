// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig-top: live view of vfmig migrations (docs/mig-top.md).
 *
 * Data paths: phase events arrive on the BPF ring buffer and drive the
 * analysis model (tools/lib/mig_events.c: states, migrations, pairing,
 * downtime breakdown); per-device counters (bytes, chunks, firmware command
 * counts and latencies) are polled from the devstats map every interval and
 * turned into rates. One thread: the loop polls the ring buffer in 50 ms
 * slices, reads keys, and draws every interval.
 *
 * This file: the options and the two loops (live, replay). sample.c: the
 * tracer, events and sampling; migrations.c: completed migrations;
 * output.c: JSON, text and metrics; tui.c: the ncurses view.
 */
#include <argp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ncurses.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "devid.h"
#include "json_out.h"
#include "mig-top.h"
#include "owner.h"

struct mt_opts opts = {
	.out = MT_TUI, .interval = 1.0, .dev_filter = -1, .keep = 5,
};
struct jw jw;
volatile sig_atomic_t exiting;

const char *argp_program_bug_address = "vfmig project";
static const char doc[] =
"Live, top-like view of vfmig device migrations.\n"
"\n"
"USAGE: mig-top [-i DURATION] [-c COUNT] [-j | -t] [-D DEV] [-m MODE] [-g MODULE]\n"
"       mig-top -R FILE [-j | -t] [-a]\n"
"\n"
"EXAMPLES:\n"
"    mig-top                 # ncurses view, 1 s refresh\n"
"    mig-top -j -i 500ms     # JSON lines every 0.5 s (devices, migrations)\n"
"    mig-top -t -c 10        # plain text, 10 intervals\n"
"    mig-top -j -N 1         # exit after the first completed migration\n"
"    mig-top -j -R ev.txt    # replay a mig-trace event file (no BPF)\n"
"    mig-top -D UUID         # only this device\n"
"    mig-top -g mtty         # generic mode: any VFIO migration driver\n"
"    mig-top -g mtty -m kprobe -j -a   # kprobes, JSON with every arc\n"
"    mig-top -q --prom-file /var/lib/prometheus/node-exporter/vfmig.prom\n"
"                            # metrics for node_exporter's textfile collector\n"
"    mig-top -q --prom-listen 127.0.0.1:9477   # serve /metrics\n"
"\n"
"DURATION: a number with a unit, ns, us, ms or s (250ms, 1.5s); bare: ms.\n"
"Keys: q quit, s sort field, r reverse, f filter, c clear filter,\n"
"      +/- refresh interval.\n"
"Exit status: 0 success, 1 failure, 2 usage error.";

#define OPT_NO_VMM	0x100
#define OPT_VERSION	0x101
#define OPT_USAGE	0x102

#define OPT_PROM_FILE	0x103
#define OPT_PROM_LISTEN	0x104

static const struct argp_option options[] = {
	{ "interval", 'i', "DURATION", 0, "Refresh interval (default 1s, bare number: ms)", 0 },
	{ "count", 'c', "N", 0, "Exit after N intervals", 0 },
	{ "json", 'j', NULL, 0, "JSON lines: one object per device per interval and per migration", 0 },
	{ "text", 't', NULL, 0, "Plain text per interval (no TUI)", 0 },
	{ "migrations", 'N', "N", 0, "Exit after N completed migrations", 0 },
	{ "dev", 'D', "DEV", 0, "Only this device: id or mdev UUID (filtered in BPF)", 0 },
	{ "mode", 'm', "MODE", 0, "Force attach mode: tp_btf, raw_tp or tp (generic: fentry or kprobe)", 0 },
	{ "generic", 'g', "MODULE", 0, "Generic mode: hook the VFIO core and MODULE's migration callbacks instead of the vfmig tracepoints", 0 },
	{ "fn", 'F', "ROLE=FUNC", 0, "Generic mode: hook FUNC as ROLE (set_state, read, write, ioctl; FUNC - = none)", 0 },
	{ "arcs", 'a', NULL, 0, "JSON: also one line per state arc", 0 },
	{ "keep", 'k', "N", 0, "Completed migrations kept on screen (default 5)", 0 },
	{ "replay", 'R', "FILE", 0, "Analyze an event file (- for stdin) instead of tracing", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output", 0 },
	{ "no-vmm", OPT_NO_VMM, NULL, 0, "No VMM view: no uprobes on the owners' binaries", 0 },
	{ "prom-file", OPT_PROM_FILE, "FILE", 0, "Prometheus metrics into FILE every interval and at exit (written to a temporary file, then renamed: for node_exporter's textfile collector)", 0 },
	{ "prom-listen", OPT_PROM_LISTEN, "HOST:PORT", 0, "Serve Prometheus metrics on http://HOST:PORT/metrics (an empty HOST: every address)", 0 },
	{ "quiet", 'q', NULL, 0, "No table, text or JSON: metrics only", 0 },
	{ "help", 'h', NULL, 0, "This help", 0 },
	{ "version", OPT_VERSION, NULL, 0, "The version", 0 },
	{ "usage", OPT_USAGE, NULL, OPTION_HIDDEN, "A short usage message", 0 },
	{},
};

/* Options seen, for the warnings about those that do not apply. */
static bool seen[OPT_USAGE + 1];
static const char *dev_arg;

static void warn_ignored(void)
{
	static const struct { int key; const char *name; int when; } ign[] = {
		/* when: 1 with --replay, 2 without --json, 3 without -g, 4 not in the TUI */
		{ 'i', "--interval", 1 }, { 'c', "--count", 1 }, { 'N', "--migrations", 1 },
		{ 'D', "--dev", 1 }, { 'm', "--mode", 1 }, { 'g', "--generic", 1 },
		{ 'F', "--fn", 1 }, { 'v', "--verbose", 1 }, { OPT_NO_VMM, "--no-vmm", 1 },
		{ 'a', "--arcs", 2 }, { 'F', "--fn", 3 }, { 'k', "--keep", 4 },
	};

	for (size_t i = 0; i < sizeof(ign) / sizeof(ign[0]); i++) {
		int w = ign[i].when;

		if (!seen[ign[i].key])
			continue;
		if (w == 1 && opts.replay)
			cli_warn_ignored("mig-top", ign[i].name, "with --replay");
		else if (w == 2 && opts.out != MT_JSON)
			cli_warn_ignored("mig-top", ign[i].name, "without --json");
		else if (w == 3 && !opts.gen.module && !opts.replay)
			cli_warn_ignored("mig-top", ign[i].name, "without --generic");
		else if (w == 4 && opts.out != MT_TUI)
			cli_warn_ignored("mig-top", ign[i].name, "outside the TUI");
	}
	if (seen['t'] && opts.out == MT_JSON)
		cli_warn_ignored("mig-top", "--text", "with --json");
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	uint64_t v;

	if (key >= 0 && key <= OPT_USAGE)
		seen[key] = true;
	switch (key) {
	case 'i':
		if (cli_parse_duration(arg, 1000000, &v) || v < 50000000ull ||
		    v > 3600000000000ull)
			argp_error(state, "interval must be 50ms..3600s");
		opts.interval = (double)v / 1e9;
		break;
	case 'c':
		if (cli_parse_u64(arg, &v, 0) || !v || v > 1000000000)
			argp_error(state, "bad count '%s'", arg);
		opts.count = (long)v;
		break;
	case 'N':
		if (cli_parse_u64(arg, &v, 0) || !v || v > 1000000000)
			argp_error(state, "bad migration count '%s'", arg);
		opts.migrations = (long)v;
		break;
	case 'j': opts.out = MT_JSON; break;
	case 't': if (opts.out != MT_JSON) opts.out = MT_TEXT; break;
	case 'D': dev_arg = arg; break;
	case 'm':
		if (!mig_attach_mode_valid(arg) && !mig_generic_mode_valid(arg))
			argp_error(state, "mode is " MIG_ATTACH_MODES " (generic: " MIG_GENERIC_MODES ")");
		opts.force_mode = arg;
		break;
	case 'g': opts.gen.module = arg; break;
	case 'F':
		if (generic_parse_fn(&opts.gen, arg))
			argp_error(state, "--fn takes ROLE=FUNC, ROLE one of set_state, read, write, ioctl");
		break;
	case 'a': opts.arcs = true; break;
	case 'q': opts.out = MT_QUIET; break;
	case OPT_PROM_FILE: opts.prom_file = arg; break;
	case OPT_PROM_LISTEN: opts.prom_listen = arg; break;
	case ARGP_KEY_END:
		if (opts.out == MT_QUIET && !opts.prom_file && !opts.prom_listen)
			argp_error(state, "--quiet is for --prom-file or --prom-listen");
		if (opts.force_mode && !opts.replay && !!opts.gen.module !=
		    mig_generic_mode_valid(opts.force_mode))
			argp_error(state, opts.gen.module ? "generic mode (-g) attaches with " MIG_GENERIC_MODES :
				   "fentry and kprobe are generic-mode (-g MODULE) attach modes");
		break;
	case 'k':
		if (cli_parse_u64(arg, &v, 0) || v < 1 || v > MT_KEEP_MAX)
			argp_error(state, "keep is 1..%d", MT_KEEP_MAX);
		opts.keep = (int)v;
		break;
	case 'R': opts.replay = arg; break;
	case 'v': opts.verbose = true; break;
	case OPT_NO_VMM: opts.no_vmm = true; break;
	case OPT_VERSION: cli_version("mig-top"); exit(0);
	case 'h': argp_state_help(state, stdout, ARGP_HELP_STD_HELP); break;
	case OPT_USAGE: argp_state_help(state, stdout, ARGP_HELP_USAGE | ARGP_HELP_EXIT_OK); break;
	case ARGP_KEY_ARG: argp_usage(state); break;
	default: return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
}

/* ------------------------------------------------------------------ */

static int replay(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	unsigned long lineno = 0;
	struct mig_event e;
	char mode[32] = "replay";
	int rc;

	if (!f) {
		fprintf(stderr, "mig-top: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((rc = mig_ev_read(f, &e, &replay_drops, mode, sizeof(mode), &lineno)) > 0)
		feed(&e);
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		fprintf(stderr, "mig-top: %s:%lu: bad event line\n", path, lineno);
		return 1;
	}
	rows_from_model();
	if (opts.out == MT_JSON) {
		print_json_rows();
		print_summary(replay_drops, mode);
	} else if (opts.out == MT_TEXT) {
		print_text();
	}
	fflush(stdout);
	if (prom_output(mode, replay_drops)) {
		mig_model_free(&model);
		return 1;
	}
	/* --prom-listen: serve the replay's numbers until SIGINT or SIGTERM. */
	while (prom.listen_fd >= 0 && !exiting) {
		struct pollfd pfd = { .fd = prom.listen_fd, .events = POLLIN };

		if (poll(&pfd, 1, 200) > 0)
			prom_serve(&prom, &model, replay_drops, mode);
	}
	mig_model_free(&model);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { options, parse_arg, NULL, doc, NULL, NULL, NULL };
	struct vfmig_attach_opts ao = { 0 };
	struct ring_buffer *rb = NULL;
	char err[512];
	long intervals = 0;
	uint64_t next_draw;
	int rc = 0;

	argp_err_exit_status = CLI_EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, ARGP_NO_HELP, NULL, NULL))
		return CLI_EXIT_USAGE;
	jw_init(&jw, stdout);
	warn_ignored();
	if (opts.out == MT_TUI && !isatty(STDOUT_FILENO))
		opts.out = MT_TEXT;
	mig_model_init(&model, on_migration, NULL);
	prom_init(&prom, opts.gen.module ? opts.gen.module : "vfmig");
	model.on_side = on_side;
	if (opts.out == MT_TUI && opts.replay)
		opts.out = MT_TEXT;
	if (prom_start())
		return 1;
	signal(SIGINT, sig_handler);
	signal(SIGTERM, sig_handler);
	if (opts.replay) {
		rc = replay(opts.replay);
		prom_close(&prom);
		return rc;
	}
	if (dev_arg && devid_parse(dev_arg, opts.gen.module, &opts.dev_filter, err,
				   sizeof(err))) {
		fprintf(stderr, "mig-top: %s\n", err);
		return 1;
	}

	ao.rb_mode = MIG_RB_PHASE;
	ao.dev_filter = opts.dev_filter;
	ao.force_mode = opts.force_mode;
	ao.verbose = opts.verbose;
	ao.vmm = !opts.no_vmm;
	opts.gen.vmm = !opts.no_vmm;
	opts.gen.force_mode = opts.force_mode;
	opts.gen.dev_filter = opts.dev_filter;
	opts.gen.verbose = opts.verbose;
	generic = opts.gen.module != NULL;
	if (generic ? generic_open(&gtracer, &opts.gen, err, sizeof(err)) :
	    vfmig_tracer_open(&tracer, &ao, err, sizeof(err))) {
		fprintf(stderr, "mig-top: %s\n", err);
		return 1;
	}
	rb = ring_buffer__new(live_bpf()->events_fd, on_event, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "mig-top: ring buffer: %s\n", strerror(errno));
		generic ? generic_close(&gtracer) : vfmig_tracer_close(&tracer);
		return 1;
	}
	owners_init(opts.no_vmm ? NULL : live_bpf()->obj);
	if (opts.out == MT_JSON) {
		jw_record(&jw, "start");
		jw_string(&jw, "mode", t_mode());
		jw_string(&jw, "why", t_why());
		jw_uint(&jw, "interval_ns", (uint64_t)(opts.interval * 1e9 + 0.5));
		jw_uint_opt(&jw, "dev", opts.dev_filter >= 0, (uint64_t)opts.dev_filter);
		jw_string(&jw, "uuid", opts.dev_filter >= 0 ? devid_uuid(opts.dev_filter) : NULL);
		jw_end_record(&jw);
	} else if (opts.out == MT_TEXT)
		printf("mig-top: attached with %s (%s)\n", t_mode(), t_why());
	fflush(stdout);
	sample();	/* seed devices already migrating */
	if (opts.out == MT_TUI)
		tui_init();
	next_draw = vfmig_now_ns() + (uint64_t)(opts.interval * 1e9);

	while (!exiting) {
		int n = ring_buffer__poll(rb, 50);
		bool redraw = false;

		/* BPF wakes us only when the ring fills: drain every tick. */
		if (n >= 0)
			n = ring_buffer__consume(rb);
		if (n < 0 && n != -EINTR) {
			rc = 1;
			break;
		}
		if (opts.out == MT_TUI)
			redraw = tui_keys();
		prom_serve(&prom, &model, t_drops(), t_mode());
		if (npending) {
			long before = total_done;

			flush_pending(false);
			redraw |= total_done != before;
		}
		if (opts.migrations && total_done >= opts.migrations) {
			sample();
			if (opts.out == MT_JSON)
				print_json_rows();
			break;
		}
		if (vfmig_now_ns() >= next_draw) {
			sample();
			intervals++;
			next_draw = vfmig_now_ns() + (uint64_t)(opts.interval * 1e9);
			if (opts.out == MT_JSON)
				print_json_rows();
			else if (opts.out == MT_TEXT)
				print_text();
			prom_output(t_mode(), t_drops());
			redraw = true;
			if (opts.count && intervals >= opts.count)
				break;
		}
		if (redraw && opts.out == MT_TUI)
			draw_tui();
	}
	ring_buffer__consume(rb);
	flush_pending(true);
	if (prom_output(t_mode(), t_drops()))
		rc = 1;
	prom_close(&prom);
	if (opts.out == MT_TUI)
		endwin();
	if (opts.out == MT_JSON)
		print_summary(t_drops(), t_mode());
	else if (opts.out == MT_TUI && ndone)
		for (int i = 0; i < ndone; i++)
			mig_result_text(stdout, &done[i]);
	ring_buffer__free(rb);
	mig_model_free(&model);
	owners_close();
	if (generic)
		generic_close(&gtracer);
	else
		vfmig_tracer_close(&tracer);
	return rc;
}

