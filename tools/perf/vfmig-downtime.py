# SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
# vfmig-downtime.py: the downtime breakdown of every vfmig migration in a
# perf.data, by mig-top's own model: this script only turns perf's vfmig
# samples into a mig-trace event file (one event a line, fields by name,
# tools/lib/mig_events.h) and feeds it to `mig-top -R -` (docs/downtime.md).
#
#   perf record -k mono -a -e 'vfmig:*' [-e cpu-clock -F 999 -g] -- CMD
#   perf script -s tools/perf/vfmig-downtime.py            # breakdown (text)
#   VFMIG_JSON=1    perf script -s ...   # mig-top's JSON lines (docs/json-schema.json)
#   VFMIG_PROFILE=1 perf script -s ...   # + CPU profile of each downtime
#                                        #   window (needs cpu-clock samples)
#   VFMIG_EVENTS=FILE perf script -s ... # also keep the event file
#   VFMIG_MIG_TOP=PATH                   # mig-top (default build/bin/mig-top
#                                        #   of this checkout)
#
# -k mono makes perf timestamps CLOCK_MONOTONIC, the clock of mig-top and
# migctl. Fields are written by name, so the file survives fields appended
# to the records (mig-top skips names it does not know).
import json
import os
import subprocess
import sys
from collections import Counter

JSON = os.environ.get("VFMIG_JSON") == "1" or "--json" in sys.argv
PROFILE = os.environ.get("VFMIG_PROFILE") == "1" or "--profile" in sys.argv
EVENTS = os.environ.get("VFMIG_EVENTS")
HERE = os.path.dirname(os.path.abspath(globals().get("__file__", sys.argv[0])))
MIG_TOP = os.environ.get("VFMIG_MIG_TOP") or os.path.join(HERE, "..", "..", "build", "bin", "mig-top")
POSITIONAL = ("dev", "state", "mig_id", "state_size")

lines = ["# vfmig events v1\n", "# mode perf\n"]
samples = []          # (time, cpu, comm, symbol, dso)


def value(v):
    if isinstance(v, (bytes, bytearray, str)):      # the device's mdev UUID
        b = v.encode("latin-1") if isinstance(v, str) else bytes(v)
        h = b.hex()
        return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
    return str(v)


def trace_unhandled(event_name, context, fields, *rest):
    name = event_name.split("__", 1)[-1]
    if not name.startswith("vfmig_"):
        return
    ts = fields["common_s"] * 1000000000 + fields["common_ns"] \
        if "common_s" in fields else fields["common_secs"] * 1000000000 + fields["common_nsecs"]
    named = " ".join("%s=%s" % (k, value(v)) for k, v in fields.items()
                     if not k.startswith("common_") and k not in POSITIONAL)
    lines.append("%d %s %d %d %d %d %s\n" % (ts, name, fields["dev"], fields["state"],
                                             fields["mig_id"], fields.get("state_size", 0), named))


def process_event(param):
    """Non-tracepoint samples (cpu-clock...): kept for the profile mode."""
    if not PROFILE:
        return
    s = param.get("sample", {})
    samples.append((s.get("time", 0), s.get("cpu", -1), param.get("comm", "?"),
                    param.get("symbol") or "[unknown]", param.get("dso") or "?"))


def mig_top(*args):
    r = subprocess.run([MIG_TOP, "-R", "-"] + list(args), input="".join(lines),
                       stdout=subprocess.PIPE, universal_newlines=True)
    if r.returncode:
        sys.exit("vfmig-downtime: %s failed (exit %d)" % (MIG_TOP, r.returncode))
    return r.stdout


def print_profile(r):
    t0, t1 = r["t_start_ns"], r["t_end_ns"]
    win = [s for s in samples if t0 <= s[0] <= t1]
    print("CPU profile of the downtime window of dev %d -> dev %d, %d.%09d .. %d.%09d (%d samples)"
          % (r["src_dev"], r["dst_dev"], t0 // 10**9, t0 % 10**9, t1 // 10**9, t1 % 10**9,
             len(win)))
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
        with open(EVENTS, "w") as f:
            f.writelines(lines)
    if JSON:
        sys.stdout.write(mig_top("-j"))
        return
    sys.stdout.write(mig_top("-t"))
    if PROFILE:
        for line in mig_top("-j").splitlines():
            r = json.loads(line)
            if r["type"] == "migration":
                print_profile(r)
