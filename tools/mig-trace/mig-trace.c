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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>

#include "../mig-top/attach.h"
#include "mig_events.h"
#include "mig_join.h"
#include "trace_check.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: mig-trace record [-o FILE] [-m MODE] [-v] -- CMD [ARGS...]\n"
"       mig-trace check SPEC EVENTS\n"
"       mig-trace run SPEC [-o FILE] [-m MODE] [-v] -- CMD [ARGS...]\n"
"       mig-trace join [-j] [--ack] [-c CLOCK]... EVENTS...\n"
"       mig-trace perfetto [-o FILE] [--ack] [-c CLOCK]... EVENTS...\n"
"record: every vfmig event while CMD runs, to FILE (default vfmig-events.txt);\n"
"        exits with CMD's status.\n"
"check:  one line per assertion of SPEC (docs/trace-check.md); exit 1 if\n"
"        any fails, 2 on a bad spec or event file.\n"
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
"MODE: tp_btf, raw_tp or tp (default: the best that works).\n");
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
	rb = ring_buffer__new(vfmig_tracer_events_fd(&t), on_event, &r, NULL);
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
		(unsigned long long)vfmig_tracer_drops(&t), r.n);
	if (keep)
		keep->drops = vfmig_tracer_drops(&t);
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

static int check(const char *spec_path, struct tc_events *evs)
{
	char *spec = slurp(spec_path);
	int fails;

	if (!spec) {
		fprintf(stderr, "mig-trace: %s: %s\n", spec_path, strerror(errno));
		return 2;
	}
	printf("# %zu events, mode %s, %llu dropped\n", evs->n,
	       *evs->mode ? evs->mode : "?", evs->drops);
	fails = tc_check(spec, evs, stdout);
	free(spec);
	if (fails < 0)
		return 2;
	printf("# %s: %d assertion(s) failed\n", fails ? "FAIL" : "PASS", fails);
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

	for (int i = 2; i < argc; i++) {
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
				mig_joined_json(stdout, &j[i], hosts);
				putchar('\n');
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

int main(int argc, char **argv)
{
	const char *out = "vfmig-events.txt", *mode = NULL, *spec = NULL;
	struct tc_events evs = { 0 };
	bool verbose = false;
	int i = 2, rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "join") || !strcmp(argv[1], "perfetto"))
		return join_cmd(argc, argv, !strcmp(argv[1], "perfetto"));
	if (!strcmp(argv[1], "check")) {
		char err[256];
		FILE *f;

		if (argc != 4) {
			usage(stderr);
			return 2;
		}
		f = strcmp(argv[3], "-") ? fopen(argv[3], "r") : stdin;
		if (!f) {
			fprintf(stderr, "mig-trace: %s: %s\n", argv[3], strerror(errno));
			return 2;
		}
		if (tc_load(f, &evs, err, sizeof(err))) {
			fprintf(stderr, "mig-trace: %s: %s\n", argv[3], err);
			return 2;
		}
		rc = check(argv[2], &evs);
		tc_free(&evs);
		return rc;
	}
	if (strcmp(argv[1], "record") && strcmp(argv[1], "run")) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "run")) {
		if (argc < 3) {
			usage(stderr);
			return 2;
		}
		spec = argv[2];
		i = 3;
	}
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "-m") && i + 1 < argc) {
			mode = argv[++i];
		} else if (!strcmp(argv[i], "-v")) {
			verbose = true;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	rc = record(out, mode, verbose, argv + i, spec ? &evs : NULL);
	if (!spec)
		return rc;
	if (rc == 125) {
		tc_free(&evs);
		return 2;
	}
	if (rc)
		fprintf(stderr, "mig-trace: command exited with status %d\n", rc);
	i = check(spec, &evs);
	tc_free(&evs);
	return rc ? 1 : i;
}
