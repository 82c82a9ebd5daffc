# SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
# vfmig-downtime.py: the downtime breakdown of every vfmig migration in a
# perf.data. A thin converter: the vfmig samples become mig-top's event-file
# format (tools/lib/mig_events.h, fields by name) and mig-top -r - computes
# the breakdown, its attribution and the expected downtime (docs/downtime.md)
# with the same code as the live view. Optionally it shows where the CPUs
# spent each downtime window.
#
#   perf record -k mono -a -e 'vfmig:*' [-e cpu-clock -F 997 -g] -- CMD
#   perf script -s tools/perf/vfmig-downtime.py            # mig-top's text
#   VFMIG_JSON=1    perf script -s ...   # mig-top -j: one JSON object per
#                                        #   migration (and device, summary)
#   VFMIG_EVENTS=1  perf script -s ... | mig-top -r -     # the events only
#   VFMIG_PROFILE=1 perf script -s ...   # + CPU profile of each downtime
#                                        #   window (needs cpu-clock samples)
#
# mig-top is $VFMIG_MIG_TOP, else build/bin/mig-top of this checkout, else
# the one on PATH. -k mono makes perf timestamps CLOCK_MONOTONIC, the clock
# of mig-top and migctl.
import json
import os
import shutil
import subprocess
import sys
from collections import Counter

JSON = os.environ.get("VFMIG_JSON") == "1" or "--json" in sys.argv
PROFILE = os.environ.get("VFMIG_PROFILE") == "1" or "--profile" in sys.argv
EVENTS = os.environ.get("VFMIG_EVENTS") == "1" or "--events" in sys.argv

# Record fields perf may hand over unsigned although the kernel's are signed.
SIGNED = {"ret": 64, "err": 32, "status": 32}

lines = []            # the event file
samples = []          # (time, cpu, comm, symbol, dso) for the profile


def mig_top():
    m = os.environ.get("VFMIG_MIG_TOP")
    if m:
        return m
    # perf runs the script without __file__; argv[0] is its path.
    here = os.path.dirname(os.path.abspath(sys.argv[0] if sys.argv else "."))
    m = os.path.join(here, "..", "..", "build", "bin", "mig-top")
    if os.access(m, os.X_OK):
        return os.path.normpath(m)
    return shutil.which("mig-top") or "mig-top"


def signed(name, v):
    bits = SIGNED.get(name)
    if bits and v >= 1 << (bits - 1) and v < 1 << bits:
        v -= 1 << bits
    return v


def trace_unhandled(event_name, context, fields, *rest):
    name = event_name.split("__", 1)[-1]
    if not name.startswith("vfmig_"):
        return
    ts = fields["common_s"] * 1000000000 + fields["common_ns"] \
        if "common_s" in fields else fields["common_secs"] * 1000000000 + fields["common_nsecs"]
    # <ts> <event> <dev> <state> <mig_id> <state_size> NAME=VALUE...:
    # mig-top maps the names to its arguments and skips the others.
    args = ["%s=%d" % (k, signed(k, v)) for k, v in fields.items()
            if not k.startswith("common_") and isinstance(v, int) and
            k not in ("dev", "state", "mig_id", "state_size")]
    lines.append("%d %s %d %d %d %d %s" % (ts, name, fields["dev"], fields["state"],
                                           fields["mig_id"], fields.get("state_size", 0),
                                           " ".join(args)))


def process_event(param):
    """Non-tracepoint samples (cpu-clock...): kept for the profile mode."""
    if not PROFILE:
        return
    s = param.get("sample", {})
    samples.append((s.get("time", 0), s.get("cpu", -1), param.get("comm", "?"),
                    param.get("symbol") or "[unknown]", param.get("dso") or "?"))


def replay(json_out):
    cmd = [mig_top(), "-r", "-"] + (["-j"] if json_out else [])
    try:
        p = subprocess.run(cmd, input="# mode perf\n" + "\n".join(lines) + "\n",
                           capture_output=True, text=True)
    except OSError as e:
        sys.exit("vfmig-downtime: %s: %s (set VFMIG_MIG_TOP)" % (cmd[0], e))
    if p.returncode:
        sys.exit("vfmig-downtime: %s failed: %s" % (" ".join(cmd), p.stderr.strip()))
    return p.stdout


def print_profile(r):
    t0, t1 = r["t_start_ns"], r["t_end_ns"]
    win = [s for s in samples if t0 <= s[0] <= t1]
    print("  CPU profile of the downtime window %d.%09d .. %d.%09d (%d samples)"
          % (t0 // 10**9, t0 % 10**9, t1 // 10**9, t1 % 10**9, len(win)))
    if not win:
        print("    no samples: record with -e cpu-clock -F 999 (or more) -a")
        return
    by_comm = Counter(s[2] for s in win)
    by_sym = Counter((s[2], s[3]) for s in win)
    print("    by command: " + ", ".join("%s %.1f%%" % (c, 100.0 * n / len(win))
                                           for c, n in by_comm.most_common(6)))
    for (comm, sym), n in by_sym.most_common(15):
        print("    %6.2f%%  %-16s %s" % (100.0 * n / len(win), comm, sym))
    print("    (same window: perf report --time %d.%09d,%d.%09d)"
          % (t0 // 10**9, t0 % 10**9, t1 // 10**9, t1 % 10**9))


def trace_end():
    if EVENTS:
        print("# mode perf")
        print("\n".join(lines))
        return
    if JSON:
        sys.stdout.write(replay(True))
        return
    print("vfmig-downtime: %d vfmig events" % len(lines))
    sys.stdout.write(replay(False))
    if PROFILE:
        for line in replay(True).splitlines():
            r = json.loads(line)
            if r.get("type") == "migration":
                print("migration dev %d -> dev %d:" % (r["src_dev"], r["dst_dev"]))
                print_profile(r)
