// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig-trace: record vfmig events while a command runs, and check a
 * declarative spec against them (docs/trace-check.md).
 *
 *   mig-trace record [-o FILE] [-m MODE] -- CMD...   exit: CMD's status
 *   mig-trace check SPEC FILE                         exit: 0 / 1 / 2
 *   mig-trace run SPEC [-o FILE] [-m MODE] -- CMD...  record + check
 *   mig-trace join [-j] [--ack] [-c CLOCK]... EVENTS...  two hosts, one
 *                                                       breakdown each
 *   mig-trace perfetto [-o FILE] [--ack] [-c CLOCK]... EVENTS...
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
"       mig-trace check [-j] SPEC EVENTS\n"
"       mig-trace run [-j] SPEC [-o FILE] [-m MODE] [-v] -- CMD [ARGS...]\n"
"       mig-trace join [-j] [--ack] [-c CLOCK]... EVENTS...\n"
"       mig-trace perfetto [-o FILE] [--ack] [-c CLOCK]... EVENTS...\n"
"record: every vfmig event while CMD runs, to FILE (default vfmig-events.txt);\n"
"        exits with CMD's status.\n"
"check:  one line per assertion of SPEC (docs/trace-check.md); exit 1 if\n"
"        any fails, 2 on a bad spec or event file. EVENTS - is stdin.\n"
"run:    record, then check (exit 1 if CMD or any assertion fails).\n"
"join:   the recordings of several hosts (one EVENTS file each), joined by\n"
"        migration UUID: one end-to-end breakdown per migration, with the\n"
"        clock uncertainty; -c CLOCK, once per EVENTS file in order: that\n"
"        host's `chronyc -c tracking` output; --ack: the source's VMM waits\n"
"        for the target to run before it stops the source (migctl send);\n"
"        -j JSON lines. Exit 1 on a clock problem, a migration seen on one\n"
"        host only, or bytes that do not match (docs/downtime.md).\n"
"perfetto: a Trace Event Format JSON timeline of EVENTS (one process per\n"
"        host) for ui.perfetto.dev or chrome://tracing, default stdout.\n"
"options (also before the command):\n"
"  -o, --output FILE   the event file (record, run)\n"
"  -m, --mode MODE     attach mode: tp_btf, raw_tp or tp (default: the best that works)\n"
"  -v, --verbose       libbpf debug output\n"
"  -j, --json          check, run: JSON lines, one per assertion and a summary\n"
"                      (docs/json-schema.json)\n"
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

/* Record while CMD runs. Returns CMD's exit status (or 125 on setup error). */
static int record(const char *out, const char *mode, bool verbose, char **cmd,
		  struct tc_events *keep)
{
	struct vfmig_attach_opts ao = { .rb_mode = MIG_RB_ALL, .dev_filter = -1,
					.force_mode = mode, .verbose = verbose };
	struct vfmig_tracer t;
	struct ring_buffer *rb;
	struct rec r = { .keep = keep };
	char err[512];
	int status = 0, rc;
	pid_t pid;

	if (vfmig_tracer_open(&t, &ao, err, sizeof(err))) {
		fprintf(stderr, "mig-trace: %s\n", err);
		return 125;
	}
	r.f = fopen(out, "w");
	if (!r.f) {
		fprintf(stderr, "mig-trace: %s: %s\n", out, strerror(errno));
		vfmig_tracer_close(&t);
		return 125;
	}
	rb = ring_buffer__new(t.bpf.events_fd, on_event, &r, NULL);
	if (!rb) {
		fprintf(stderr, "mig-trace: ring buffer: %s\n", strerror(errno));
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
		fprintf(stderr, "mig-trace: fork: %s\n", strerror(errno));
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
	const char *out, *mode, *spec;
	bool verbose, json, seen_out, seen_mode;
};

/* Check SPEC against the events; @cmd_status: run's command status, or -1. */
static int check(const struct cli *o, struct tc_events *evs, int cmd_status)
{
	char *spec = slurp(o->spec);
	struct tc_summary sum = { 0 };
	struct jw w;
	int fails;

	if (!spec) {
		fprintf(stderr, "mig-trace: %s: %s\n", o->spec, strerror(errno));
		return 2;
	}
	jw_init(&w, stdout);
	if (!o->json)
		printf("# %zu events, mode %s, %llu dropped\n", evs->n,
		       *evs->mode ? evs->mode : "?", evs->drops);
	fails = tc_check(spec, evs, stdout, o->json ? &w : NULL, &sum);
	free(spec);
	if (o->json) {
		jw_record(&w, "check_summary");
		jw_string(&w, "spec", o->spec);
		jw_uint(&w, "events", evs->n);
		jw_string(&w, "mode", *evs->mode ? evs->mode : NULL);
		jw_uint(&w, "drops", evs->drops);
		jw_uint(&w, "assertions", (uint64_t)sum.assertions);
		jw_uint(&w, "failed", (uint64_t)sum.failed);
		jw_uint(&w, "errors", (uint64_t)sum.errors);
		jw_int_opt(&w, "command_status", cmd_status >= 0, cmd_status);
		jw_string(&w, "status", sum.errors ? "error" : sum.failed ? "fail" : "pass");
		jw_end_record(&w);
	} else if (sum.errors) {
		printf("# ERROR: %d spec error(s); %d of %d assertion(s) failed\n",
		       sum.errors, sum.failed, sum.assertions - sum.errors);
	} else {
		printf("# %s: %d assertion(s) failed\n", fails ? "FAIL" : "PASS", fails);
	}
	fflush(stdout);
	if (fails < 0)
		return 2;
	return fails ? 1 : 0;
}

static char *read_text(const char *path)
{
	char *s = slurp(path);

	return s ? s : strdup("");
}

/* join and perfetto: load EVENTS files, clocks, join. */
static int join_cmd(int argc, char **argv, bool perfetto)
{
	const char *clocks[16] = { 0 }, *files[16] = { 0 }, *out = NULL;
	int nclocks = 0, nfiles = 0, rc = 0;
	struct mig_host hosts[16];
	struct mig_joined *j = NULL;
	bool json = false, ack = false;
	char err[256];
	size_t nj;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc && nclocks < 16) {
			clocks[nclocks++] = argv[++i];
		} else if (!strcmp(argv[i], "-j") && !perfetto) {
			json = true;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc && perfetto) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--ack")) {
			ack = true;
		} else if (argv[i][0] != '-' && nfiles < 16) {
			files[nfiles++] = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!nfiles || (nclocks && nclocks != nfiles)) {
		fprintf(stderr, "mig-trace: %s\n", nfiles ? "give one -c CLOCK per EVENTS file" :
			"no EVENTS file");
		return 2;
	}
	for (int h = 0; h < nfiles; h++) {
		if (mig_host_load(&hosts[h], files[h], perfetto, err, sizeof(err))) {
			fprintf(stderr, "mig-trace: %s\n", err);
			while (h--)
				mig_host_free(&hosts[h]);
			return 2;
		}
		if (h < nclocks) {
			char *t = read_text(clocks[h]);

			mig_clock_chrony(t, &hosts[h].clock);
			free(t);
		}
	}
	nj = mig_join(hosts, nfiles, ack, &j);
	if (perfetto) {
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
			if (json) {
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
		if (!json)
			printf("# %zu migration(s) with a UUID in %d recording(s)\n", nj, nfiles);
	}
	free(j);
	for (int h = 0; h < nfiles; h++)
		mig_host_free(&hosts[h]);
	return rc;
}

#define OPT_VERSION 0x100

/*
 * Options at argv[optind...]: @permute for check (options anywhere),
 * else up to the first non-option or "--" (CMD's own options follow).
 * Returns -1 to go on, else the exit status.
 */
static int parse_opts(int argc, char **argv, bool permute, struct cli *o)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, permute ? "o:m:vjh" : "+o:m:vjh",
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
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: cli_version("mig-trace"); return 0;
		default:
			fprintf(stderr, "mig-trace: see mig-trace --help\n");
			return CLI_EXIT_USAGE;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct cli o = { .out = "vfmig-events.txt" };
	struct tc_events evs = { 0 };
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
	if (!strcmp(cmd, "join") || !strcmp(cmd, "perfetto"))
		return join_cmd(argc - base, argv + base, !strcmp(cmd, "perfetto"));
	/* The command's own arguments: parse again from after its name. */
	optind = 0;
	if (!strcmp(cmd, "check")) {
		char err[256];
		FILE *f;

		rc = parse_opts(argc - base, argv + base, true, &o);
		if (rc >= 0)
			return rc;
		if (argc - base - optind != 2) {
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
		if (o.seen_out)
			cli_warn_ignored("mig-trace", "--output", "on check");
		if (o.seen_mode)
			cli_warn_ignored("mig-trace", "--mode", "on check");
		if (o.verbose)
			cli_warn_ignored("mig-trace", "--verbose", "on check");
		o.spec = argv[base + optind];
		cmd = argv[base + optind + 1];
		f = strcmp(cmd, "-") ? fopen(cmd, "r") : stdin;
		if (!f) {
			fprintf(stderr, "mig-trace: %s: %s\n", cmd, strerror(errno));
			return 2;
		}
		if (tc_load(f, &evs, err, sizeof(err))) {
			fprintf(stderr, "mig-trace: %s: %s\n", cmd, err);
			return 2;
		}
		rc = check(&o, &evs, -1);
		tc_free(&evs);
		return rc;
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
	} else if (o.json) {
		cli_warn_ignored("mig-trace", "--json", "on record");
	}
	if (base >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	rc = record(o.out, o.mode, o.verbose, argv + base, o.spec ? &evs : NULL);
	if (!o.spec)
		return rc;
	if (rc == 125) {
		tc_free(&evs);
		return 2;
	}
	if (rc)
		fprintf(stderr, "mig-trace: command exited with status %d\n", rc);
	base = check(&o, &evs, rc);
	tc_free(&evs);
	return rc ? 1 : base;
}
