// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig-trace: record vfmig events while a command runs, and check a
 * declarative spec against them (docs/trace-check.md).
 *
 *   mig-trace record [-o FILE] [-m MODE] -- CMD...   exit: CMD's status
 *   mig-trace check SPEC FILE                         exit: 0 / 1 / 2
 *   mig-trace run SPEC [-o FILE] [-m MODE] -- CMD...  record + check
 *   (check and run: text, -j JSON lines, --tap FILE, --junit FILE)
 *   mig-trace join [-j] [--ack] [-C CLOCK]... EVENTS...  two hosts, one
 *                                                       breakdown each
 *   mig-trace perfetto [-o FILE] [--ack] [-C CLOCK]... EVENTS...
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>

#include "mig_attach.h"
#include "cli.h"
#include "json_out.h"
#include "mig_events.h"
#include "mig_join.h"
#include "trace_check.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: mig-trace record [-o FILE] [-m MODE] [-v] -- CMD [ARGS...]\n"
"       mig-trace check [-j] [--tap FILE] [--junit FILE] SPEC EVENTS\n"
"       mig-trace run [-j] [--tap FILE] [--junit FILE] SPEC [-o FILE] [-m MODE] [-v]\n"
"                     -- CMD [ARGS...]\n"
"       mig-trace join [-j] [--ack] [-C CLOCK]... EVENTS...\n"
"       mig-trace perfetto [-o FILE] [--ack] [-C CLOCK]... EVENTS...\n"
"record: every vfmig event while CMD runs, to FILE (default vfmig-events.txt);\n"
"        exits with CMD's status.\n"
"check:  one line per assertion of SPEC (docs/trace-check.md) and a summary,\n"
"        also when SPEC or EVENTS cannot be read; exit 1 if any assertion\n"
"        fails, 2 on a bad spec or event file. EVENTS - is stdin.\n"
"run:    record, then check (exit 1 if CMD or any assertion fails).\n"
"join:   the recordings of several hosts (one EVENTS file each), joined by\n"
"        migration UUID: one end-to-end breakdown per migration, with the\n"
"        clock uncertainty. Exit 1 on a clock problem, a migration seen on\n"
"        one host only, or bytes that do not match (docs/downtime.md).\n"
"perfetto: a Trace Event Format JSON timeline of EVENTS (one process per\n"
"        host) for ui.perfetto.dev or chrome://tracing, default stdout.\n"
"options (also before the command):\n"
"  -o, --output FILE   record, run: the event file; perfetto: the timeline\n"
"  -m, --mode MODE     attach mode: tp_btf, raw_tp or tp (default: the best that works)\n"
"  -v, --verbose       libbpf debug output\n"
"  -j, --json          check, run, join: JSON lines (docs/json-schema.json)\n"
"      --tap FILE      check, run: a TAP version 13 report into FILE (- : stdout,\n"
"                      instead of the text)\n"
"      --junit FILE    check, run: a JUnit XML report into FILE (- : stdout,\n"
"                      instead of the text)\n"
"  -C, --clock FILE    join, perfetto: a host's `chronyc -c tracking` output,\n"
"                      once per EVENTS file, in their order\n"
"      --ack           join, perfetto: the source's VMM waited for the target to\n"
"                      run before it stopped the source (migctl send)\n"
"  -h, --help          this text\n"
"      --version       the version\n"
"exit status: see above; 2 is also every usage error\n");
}

struct rec {
	FILE *f;
	struct tc_events *keep;
	unsigned long long n;
};

static int on_event(void *ctx, void *data, size_t sz)
{
	struct rec *r = ctx;

	if (sz < sizeof(struct mig_event))
		return 0;
	mig_ev_write(r->f, data);
	if (r->keep)
		tc_append(r->keep, data);
	r->n++;
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *p = realloc(buf, cap + 65536);

			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/*
 * Record while CMD runs. Returns CMD's exit status, or 125 when the
 * recording could not start (why in @err, also on stderr).
 */
static int record(const char *out, const char *mode, bool verbose, char **cmd,
		  struct tc_events *keep, char *err, size_t errlen)
{
	struct vfmig_attach_opts ao = { .rb_mode = MIG_RB_ALL, .dev_filter = -1,
					.force_mode = mode, .verbose = verbose };
	struct vfmig_tracer t;
	struct ring_buffer *rb;
	struct rec r = { .keep = keep };
	int status = 0, rc;
	pid_t pid;

	if (vfmig_tracer_open(&t, &ao, err, errlen)) {
		fprintf(stderr, "mig-trace: %s\n", err);
		return 125;
	}
	r.f = fopen(out, "w");
	if (!r.f) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		fprintf(stderr, "mig-trace: %s\n", err);
		vfmig_tracer_close(&t);
		return 125;
	}
	rb = ring_buffer__new(t.bpf.events_fd, on_event, &r, NULL);
	if (!rb) {
		snprintf(err, errlen, "ring buffer: %s", strerror(errno));
		fprintf(stderr, "mig-trace: %s\n", err);
		fclose(r.f);
		vfmig_tracer_close(&t);
		return 125;
	}
	{
		char host[64] = "";

		if (gethostname(host, sizeof(host) - 1) || !*host)
			snprintf(host, sizeof(host), "localhost");
		fprintf(r.f, "# vfmig events v1\n# mode %s\n# host %s\n", t.mode, host);
	}
	fprintf(stderr, "mig-trace: recording with %s (%s)\n", t.mode, t.why);
	signal(SIGINT, SIG_IGN);	/* the child gets it, we drain after */
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		fprintf(stderr, "mig-trace: %s\n", err);
		fclose(r.f);
		ring_buffer__free(rb);
		vfmig_tracer_close(&t);
		return 125;
	}
	if (!pid) {
		signal(SIGINT, SIG_DFL);
		execvp(cmd[0], cmd);
		fprintf(stderr, "mig-trace: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		rc = waitpid(pid, &status, WNOHANG);
		if (rc == pid)
			break;
		/* BPF wakes us only when the ring fills: drain every tick. */
		ring_buffer__poll(rb, 50);
		ring_buffer__consume(rb);
	}
	/* Events submitted just before the exit: drain what is left. */
	ring_buffer__consume(rb);
	fprintf(r.f, "# drops %llu\n# events %llu\n",
		(unsigned long long)mig_bpf_drops(&t.bpf), r.n);
	if (keep)
		keep->drops = mig_bpf_drops(&t.bpf);
	if (keep)
		snprintf(keep->mode, sizeof(keep->mode), "%s", t.mode);
	fclose(r.f);
	ring_buffer__free(rb);
	vfmig_tracer_close(&t);
	fprintf(stderr, "mig-trace: %llu events to %s\n", r.n, out);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

struct cli {
	const char *out, *mode, *spec, *tap, *junit;
	const char *clocks[16];
	int nclocks;
	bool verbose, json, ack, seen_out, seen_mode;
};

/* Each report asked for; the text (or -j) on stdout unless a report is there. 0, or 2. */
static int emit(const struct cli *o, const struct tc_report *r)
{
	const struct {
		const char *path;
		int (*write)(FILE *f, const struct tc_report *r);
	} reports[] = { { o->tap, tc_write_tap }, { o->junit, tc_write_junit } };
	bool on_stdout = false;
	int rc = 0;

	for (size_t i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
		const char *path = reports[i].path;
		bool std = path && !strcmp(path, "-");
		FILE *f;

		if (!path)
			continue;
		f = std ? stdout : fopen(path, "w");
		on_stdout |= std;
		if (!f) {
			fprintf(stderr, "mig-trace: %s: %s\n", path, strerror(errno));
			rc = 2;
			continue;
		}
		if (reports[i].write(f, r) | (!std && fclose(f))) {
			fprintf(stderr, "mig-trace: %s: write error\n", std ? "stdout" : path);
			rc = 2;
		}
	}
	if (!on_stdout) {
		struct jw w;
		int bad;

		jw_init(&w, stdout);
		bad = o->json ? tc_write_json(&w, r) : tc_write_text(stdout, r);
		if (bad) {
			fprintf(stderr, "mig-trace: stdout: write error\n");
			rc = 2;
		}
	}
	return rc;
}

/* Read the spec; if it cannot be, an error of the report (and on stderr). */
static char *read_spec(const struct cli *o, struct tc_report *r)
{
	char *spec = slurp(o->spec), name[512];

	if (!spec) {
		int e = errno ? errno : ENOMEM;

		fprintf(stderr, "mig-trace: %s: %s\n", o->spec, strerror(e));
		snprintf(name, sizeof(name), "spec %s", o->spec);
		tc_report_add(r, 0, TC_ERROR, name, strerror(e));
	}
	return spec;
}

/* Check, report, and the exit status: the report's, or 2 if it could not be written. */
static int finish(const struct cli *o, struct tc_report *r, const char *spec,
		  struct tc_events *evs, const char *skip)
{
	int rc;

	if (spec && tc_check(spec, evs, skip, r) < 0 && !r->sum.errors)
		fprintf(stderr, "mig-trace: out of memory\n");
	rc = emit(o, r);
	if (!rc)
		rc = tc_report_exit(r);
	tc_report_free(r);
	tc_free(evs);
	return rc;
}

static int check_cmd(const struct cli *o, const char *path)
{
	struct tc_events evs = { 0 };
	struct tc_report r;
	const char *skip = NULL;
	char err[256] = "", *spec;
	FILE *f;
	int rc;

	tc_report_init(&r, o->spec, path);
	spec = read_spec(o, &r);
	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		snprintf(err, sizeof(err), "%s", strerror(errno));
	else if (tc_load(f, &evs, err, sizeof(err)) && !*err)
		snprintf(err, sizeof(err), "cannot read it");
	if (f && f != stdin)
		fclose(f);
	if (*err) {
		char name[512];

		fprintf(stderr, "mig-trace: %s: %s\n", path, err);
		snprintf(name, sizeof(name), "events %s", path);
		tc_report_add(&r, 0, TC_ERROR, name, err);
		skip = "not checked: the events could not be read";
		tc_free(&evs);
	} else {
		tc_report_events(&r, &evs);
	}
	rc = finish(o, &r, spec, &evs, skip);
	free(spec);
	return rc;
}

/* run: the spec first (nothing runs without one), record CMD, check. */
static int run_cmd(const struct cli *o, char **cmd)
{
	struct tc_events evs = { 0 };
	struct tc_report r;
	char err[512] = "", *spec;
	int status, rc;

	tc_report_init(&r, o->spec, o->out);
	spec = read_spec(o, &r);
	if (!spec)
		return finish(o, &r, NULL, &evs, NULL);
	status = record(o->out, o->mode, o->verbose, cmd, &evs, err, sizeof(err));
	if (status == 125) {
		tc_report_add(&r, 0, TC_ERROR, "recording", *err ? err : "could not start");
		rc = finish(o, &r, spec, &evs, "not checked: no recording");
	} else {
		if (status)
			fprintf(stderr, "mig-trace: command exited with status %d\n", status);
		if (tc_report_command(&r, cmd, status))
			fprintf(stderr, "mig-trace: out of memory\n");
		tc_report_events(&r, &evs);
		rc = finish(o, &r, spec, &evs, NULL);
	}
	free(spec);
	return rc;
}

static char *read_text(const char *path)
{
	char *s = slurp(path);

	return s ? s : strdup("");
}

/* join and perfetto: load EVENTS files, clocks, join. */
static int join_cmd(const struct cli *o, int nfiles, char **files, bool perfetto)
{
	struct mig_host hosts[16];
	struct mig_joined *j = NULL;
	char err[256];
	int rc = 0;
	size_t nj;

	if (!nfiles || nfiles > 16 || (o->nclocks && o->nclocks != nfiles)) {
		fprintf(stderr, "mig-trace: error: %s\n", !nfiles ? "no EVENTS file" :
			nfiles > 16 ? "at most 16 EVENTS files" :
			"give one --clock FILE per EVENTS file");
		return CLI_EXIT_USAGE;
	}
	for (int h = 0; h < nfiles; h++) {
		if (mig_host_load(&hosts[h], files[h], perfetto, err, sizeof(err))) {
			fprintf(stderr, "mig-trace: %s\n", err);
			while (h--)
				mig_host_free(&hosts[h]);
			return 2;
		}
		if (h < o->nclocks) {
			char *t = read_text(o->clocks[h]);

			mig_clock_chrony(t, &hosts[h].clock);
			free(t);
		}
	}
	nj = mig_join(hosts, nfiles, o->ack, &j);
	if (perfetto) {
		const char *out = o->seen_out ? o->out : NULL;
		FILE *f = out ? fopen(out, "w") : stdout;

		if (!f) {
			fprintf(stderr, "mig-trace: %s: %s\n", out, strerror(errno));
			rc = 2;
		} else {
			if (mig_perfetto(f, hosts, nfiles, j, nj, err, sizeof(err))) {
				fprintf(stderr, "mig-trace: %s\n", err);
				rc = 2;
			}
			if (f != stdout && fclose(f))
				rc = 2;
		}
	} else {
		for (size_t i = 0; i < nj; i++) {
			if (o->json) {
				struct jw w;

				jw_init(&w, stdout);
				jw_record(&w, "joined");
				mig_joined_json(&w, &j[i], hosts);
				if (jw_end_record(&w))
					rc = 2;
			} else {
				mig_joined_text(stdout, &j[i], hosts);
			}
			if (!j[i].joined || !j[i].clock_ok || !j[i].bytes_match)
				rc = 1;
		}
		if (!o->json)
			printf("# %zu migration(s) with a UUID in %d recording(s)\n", nj, nfiles);
	}
	free(j);
	for (int h = 0; h < nfiles; h++)
		mig_host_free(&hosts[h]);
	return rc;
}

/* The commands each option is for; any other warns that it has no effect. */
static void warn_ignored(const struct cli *o, const char *cmd)
{
	const struct {
		bool seen;
		const char *opt, *cmds;
	} opts[] = {
		{ o->seen_out, "--output", " record run perfetto " },
		{ o->seen_mode, "--mode", " record run " },
		{ o->verbose, "--verbose", " record run " },
		{ o->json, "--json", " check run join " },
		{ o->tap != NULL, "--tap", " check run " },
		{ o->junit != NULL, "--junit", " check run " },
		{ o->nclocks > 0, "--clock", " join perfetto " },
		{ o->ack, "--ack", " join perfetto " },
	};
	char word[32], why[48];

	snprintf(word, sizeof(word), " %s ", cmd);
	snprintf(why, sizeof(why), "on %s", cmd);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (opts[i].seen && !strstr(opts[i].cmds, word))
			cli_warn_ignored("mig-trace", opts[i].opt, why);
}

#define OPT_VERSION	0x100
#define OPT_TAP		0x101
#define OPT_JUNIT	0x102
#define OPT_ACK		0x103

/*
 * Options at argv[optind...]: @permute for check, join and perfetto
 * (options anywhere), else up to the first non-option or "--" (CMD's own
 * options follow). Returns -1 to go on, else the exit status.
 */
static int parse_opts(int argc, char **argv, bool permute, struct cli *o)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "tap", required_argument, NULL, OPT_TAP },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "clock", required_argument, NULL, 'C' },
		{ "ack", no_argument, NULL, OPT_ACK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, permute ? "o:m:vjC:h" : "+o:m:vjC:h",
				lopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; o->seen_out = true; break;
		case 'm':
			if (!mig_attach_mode_valid(optarg)) {
				fprintf(stderr, "mig-trace: error: mode is " MIG_ATTACH_MODES ", not '%s'\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			o->mode = optarg;
			o->seen_mode = true;
			break;
		case 'v': o->verbose = true; break;
		case 'j': o->json = true; break;
		case OPT_TAP: o->tap = optarg; break;
		case OPT_JUNIT: o->junit = optarg; break;
		case 'C':
			if (o->nclocks == 16) {
				fprintf(stderr, "mig-trace: error: at most 16 --clock files\n");
				return CLI_EXIT_USAGE;
			}
			o->clocks[o->nclocks++] = optarg;
			break;
		case OPT_ACK: o->ack = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: cli_version("mig-trace"); return 0;
		default:
			fprintf(stderr, "mig-trace: see mig-trace --help\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (o->json + (o->tap && !strcmp(o->tap, "-")) + (o->junit && !strcmp(o->junit, "-")) > 1) {
		fprintf(stderr, "mig-trace: error: only one of --json, --tap - and --junit - can write to stdout\n");
		return CLI_EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct cli o = { .out = "vfmig-events.txt" };
	const char *cmd;
	int rc, base;

	rc = parse_opts(argc, argv, false, &o);
	if (rc >= 0)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = argv[optind];
	base = optind;
	/* The command's own arguments: parse again from after its name. */
	optind = 0;
	if (!strcmp(cmd, "check") || !strcmp(cmd, "join") || !strcmp(cmd, "perfetto")) {
		rc = parse_opts(argc - base, argv + base, true, &o);
		if (rc >= 0)
			return rc;
		warn_ignored(&o, cmd);
		argv += base + optind;
		argc -= base + optind;
		if (strcmp(cmd, "check"))
			return join_cmd(&o, argc, argv, !strcmp(cmd, "perfetto"));
		if (argc != 2) {
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
		o.spec = argv[0];
		return check_cmd(&o, argv[1]);
	}
	if (strcmp(cmd, "record") && strcmp(cmd, "run")) {
		fprintf(stderr, "mig-trace: error: unknown command %s (see mig-trace --help)\n", cmd);
		return CLI_EXIT_USAGE;
	}
	rc = parse_opts(argc - base, argv + base, false, &o);
	if (rc >= 0)
		return rc;
	base += optind;
	if (!strcmp(cmd, "run")) {
		/* run SPEC [OPTIONS] -- CMD */
		if (base >= argc || !strcmp(argv[base - 1], "--")) {
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
		o.spec = argv[base++];
		optind = 0;
		rc = parse_opts(argc - base + 1, argv + base - 1, false, &o);
		if (rc >= 0)
			return rc;
		base += optind - 1;
	}
	warn_ignored(&o, cmd);
	if (base >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (o.spec)
		return run_cmd(&o, argv + base);
	{
		char err[512];

		return record(o.out, o.mode, o.verbose, argv + base, NULL, err, sizeof(err));
	}
}
