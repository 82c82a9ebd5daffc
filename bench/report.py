#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The host half of `make bench`: raw JSON lines -> numbers, plot, doc.

Reads what bench/guest-bench.sh wrote into build/bench/raw/ (plus
host.json from bench/run and the vm-run log), computes medians, p95,
ratios and bootstrap intervals, and writes build/bench/results.json,
build/bench/downtime.svg, and regenerates docs/benchmarks.md
(+ docs/benchmarks-downtime.svg). Standard library only; the SVG is
written by hand.

    bench/report.py [--raw DIR] [--out DIR] [--vm-log FILE] [--doc FILE] [--doc-svg FILE]
    bench/report.py --stop-rule CI --raw DIR

--stop-rule is the tracing section's stop rule, run in the guest after each
square of rounds: exit 0 once the 95% interval of the direct BPF overhead
is narrower than +-CI (one line on stdout says where it stands), else 1.
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys

TARGETS = {
    # key: (comparison, threshold, text)
    "downtime_reduction_low_dirty_64mib": (">=", 0.5, "downtime reduction, 64 MiB, low dirty rate, "
                                           "profile `precopyable`"),
    "save_read_vs_tmpfs": (">=", 0.9, "save file `read()` with the SAVE done, against tmpfs `read()`"),
    "resume_write_vs_tmpfs": (">=", 0.9, "resume file `write()` less the firmware's LOAD, "
                              "against tmpfs `write()`"),
    "mig_top_cpu_8dev": ("<=", 0.05, "mig-top's CPU share (one CPU = 1), 8 concurrent migrations, 1 Hz"),
    "bpf_overhead": ("<=", 0.02, "mig-top's BPF overhead on migration time (direct)"),
    "events_dropped": ("==", 0, "dropped trace events, tracing section"),
    "storm_events_dropped": ("==", 0, "mig-top's drops in the synthetic event storm"),
    "expected_downtime_error_median": ("<=", 0.10,
                                       "expected downtime: median |error| (fixed part learned)"),
}
MODE_NAMES = {"off": "off", "tracefs": "tracefs (events/vfmig/enable)",
              "bpf": "mig-top BPF (`mig-top -j -i 1s`)",
              "perf": "`perf record -a -e 'vfmig:*'`"}
TRACE_MODES = ("tracefs", "bpf", "perf")
PROFILE_TEXT = {"precopyable": "`precopyable` (every byte pre-copyable, memory-speed firmware)",
                "cx7-vf": "`cx7-vf` (3/4 of the state exists only after SUSPEND, 200 MB/s firmware)"}


# ---------------------------------------------------------------- helpers
def jsonl(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"report: {path}:{n}: bad JSON: {e}")
    return rows


def jload(path, default=None):
    if not os.path.exists(path):
        if default is not None:
            return default
        sys.exit(f"report: {path} missing (did the guest run finish?)")
    with open(path) as f:
        return json.load(f)


def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, q):
    """Percentile with linear interpolation between order statistics."""
    if not xs:
        return None
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def ratio(a, b):
    return a / b if a is not None and b else None


def boot_ci(a, b, stat, n=2000, seed=1):
    """95% bootstrap interval of stat(a, b), a and b resampled independently."""
    if len(a) < 3 or len(b) < 3:
        return None
    rnd = random.Random(seed)
    vals = []
    for _ in range(n):
        ra = [rnd.choice(a) for _ in a]
        rb = [rnd.choice(b) for _ in b]
        v = stat(ra, rb)
        if v is not None:
            vals.append(v)
    return [round(pct(vals, 0.025), 4), round(pct(vals, 0.975), 4)] if vals else None


def rnd(x, nd=4):
    return None if x is None else round(x, nd)


def ms(ns):
    return "-" if ns is None else (f"{ns / 1e6:.1f}" if ns >= 1e6 else f"{ns / 1e6:.2f}")


def fbytes(b):
    if b is None:
        return "-"
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= div:
            return f"{b / div:.1f} {unit}"
    return f"{int(b)} B"


def fpct(x, signed=False):
    if x is None:
        return "-"
    return f"{100 * x:+.1f}%" if signed else f"{100 * x:.1f}%"


def fr(x, nd=3):
    return "-" if x is None else f"{x:.{nd}f}"


def size_mib(size):
    m = re.match(r"(\d+)([MG])", size)
    return int(m.group(1)) * (1024 if m.group(2) == "G" else 1) if m else 0



# ---------------------------------------------------------------- analysis
def parse_rates(spec):
    out = []
    for item in spec.split():
        name, _, pps = item.partition(":")
        out.append((name, int(pps or 0)))
    return out


def mean(xs):
    return statistics.fmean(xs) if xs else None


# Student's t, 97.5% quantile, by degrees of freedom (1..30; 1.96 beyond).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_mean_ci(xs):
    """95% Student t interval of the mean of xs (independent paired units)."""
    if len(xs) < 2:
        return None
    m = statistics.fmean(xs)
    h = (T975[len(xs) - 2] if len(xs) - 1 <= len(T975) else 1.96) * statistics.stdev(xs) / math.sqrt(len(xs))
    return [m - h, m + h]


def events_per_call(raw_dir, calls):
    """Events per trace_burst call from perf stat at 0 and `calls` calls."""
    path = os.path.join(raw_dir, "burst-count.txt")
    if not os.path.exists(path):
        return None, {}, None
    runs, cur = {}, None
    for line in open(path):
        line = line.strip()
        m = re.match(r"== calls (\d+)", line)
        if m:
            cur = runs.setdefault(int(m.group(1)), {})
            continue
        f = line.split(",")
        if cur is not None and len(f) >= 3 and f[2].startswith("vfmig:") and f[0].isdigit():
            cur[f[2]] = int(f[0])
    if 0 not in runs or calls not in runs or not calls:
        return None, {}, None
    per_event = {}
    for ev, n in runs[calls].items():
        d = (n - runs[0].get(ev, 0)) / calls
        if d > 0.001:
            per_event[ev] = round(d, 4)
    return round(sum(per_event.values()), 4), per_event, sum(runs[0].values())


def perf_stat_events(path):
    """{event: count} of a `perf stat -x,` output (counts > 0)."""
    out = {}
    if os.path.exists(path):
        for line in open(path):
            f = line.strip().split(",")
            if len(f) >= 3 and f[2].startswith("vfmig:") and f[0].isdigit() and int(f[0]):
                out[f[2].split(":")[1]] = int(f[0])
    return out


# ---------------------------------------------------------------- 1. downtime
# migctl's downtime parts (docs/migctl.md, "Downtime and its parts").
MIGCTL_PARTS = ("source_set_state_ns", "read_ns", "write_ns", "throttle_ns", "finish_ns",
                "other_ns")


def cell_stats(rs, mode):
    dt = [m["downtime_ns"] for m in rs]
    parts = MIGCTL_PARTS
    st = {
        "n": len(rs),
        "downtime_ns_median": median(dt),
        "downtime_ns_p95": rnd(pct(dt, 0.95), 0),
        "downtime_ns_min": min(dt) if dt else None,
        "downtime_ns_max": max(dt) if dt else None,
        "stop_copy_bytes_median": median([m["stop_copy_bytes"] for m in rs]),
        "precopy_bytes_median": median([m["precopy_bytes"] for m in rs]),
        "total_bytes_median": median([m["total_bytes"] for m in rs]),
        "total_ns_median": median([m["total_ns"] for m in rs]),
        "parts_ns_median": {p: median([m["parts"][p] for m in rs]) for p in parts},
    }
    if mode == "precopy":
        st["iterations_median"] = median([m["iterations"] for m in rs])
        reasons = {}
        for m in rs:
            reasons[m.get("switch_reason", "?")] = reasons.get(m.get("switch_reason", "?"), 0) + 1
        st["switch_reasons"] = reasons
    return st


def downtime_analysis(raw_dir, env):
    rows = jsonl(os.path.join(raw_dir, "downtime.jsonl"))
    for r in rows:
        r.setdefault("profile", "precopyable")
    failures = [r for r in rows if r["m"].get("status") != "ok"]
    ok = [r for r in rows if r["m"].get("status") == "ok"]
    cells = []
    for profile in env.get("profiles", "precopyable").split():
        sizes = env["sizes"] if profile == "precopyable" else env.get("cx7_sizes", "")
        rates = env["rates"] if profile == "precopyable" else env.get("cx7_rates", "")
        for size in sizes.split():
            for rate, pps in parse_rates(rates):
                cell = {"profile": profile, "size": size, "state_mib": size_mib(size), "rate": rate,
                        "dirty_rate_pps": pps}
                data = {}
                for mode in ("no_precopy", "precopy"):
                    rs = [r["m"] for r in ok if r["profile"] == profile and r["size"] == size
                          and r["rate"] == rate and r["mode"] == mode]
                    data[mode] = [m["downtime_ns"] for m in rs]
                    cell[mode] = cell_stats(rs, mode)
                red = (lambda a, b: 1 - median(a) / median(b) if a and b and median(b) else None)
                cell["downtime_reduction"] = rnd(red(data["precopy"], data["no_precopy"]))
                cell["downtime_reduction_ci95"] = boot_ci(data["precopy"], data["no_precopy"], red)
                n, p = cell["no_precopy"], cell["precopy"]
                cell["stop_copy_bytes_ratio"] = rnd(ratio(p["stop_copy_bytes_median"], n["stop_copy_bytes_median"]), 8)
                cell["total_time_ratio"] = rnd(ratio(p["total_ns_median"], n["total_ns_median"]))
                cell["total_bytes_ratio"] = rnd(ratio(p["total_bytes_median"], n["total_bytes_median"]))
                cells.append(cell)
    floor_rows = [r["m"] for r in jsonl(os.path.join(raw_dir, "floor.jsonl")) if r["m"].get("status") == "ok"]
    floor = None
    if floor_rows:
        floor = {"size": jsonl(os.path.join(raw_dir, "floor.jsonl"))[0]["size"], "fw_latency_us": 0,
                 "n": len(floor_rows),
                 "downtime_ns_median": median([m["downtime_ns"] for m in floor_rows]),
                 "parts_ns_median": {p: median([m["parts"][p] for m in floor_rows]) for p in MIGCTL_PARTS}}
    return {"cells": cells, "failures": len(failures), "floor_fw_latency_0": floor,
            "failure_errors": sorted({r["m"].get("error", "?") for r in failures})[:5]}


def find_cell(dt, profile, size, rate):
    return next((c for c in dt["cells"] if c["profile"] == profile and c["size"] == size
                 and c["rate"] == rate), None)


# ---------------------------------------------------------------- 2. data path
def expected_analysis(raw_dir, env):
    """mig-top's expected downtime (at T0) against the downtime it measured."""
    runs = jsonl(os.path.join(raw_dir, "expected.jsonl"))
    tops = jsonl(os.path.join(raw_dir, "expected-top.jsonl"))
    ok = [r for r in runs if r["m"].get("status") == "ok"]
    res = {"runs": len(runs), "failures": len(runs) - len(ok), "records": len(tops),
           "aligned": len(ok) == len(tops), "cells": [], "all": {}, "learned": {},
           "first": {}, "bottlenecks": {}}
    if not res["aligned"]:
        return res
    rows = []
    for r, t in zip(ok, tops):
        if t["bytes"]["total"] != r["m"]["total_bytes"]:
            res["aligned"] = False
            return res
        res["bottlenecks"][t["bottleneck"]] = res["bottlenecks"].get(t["bottleneck"], 0) + 1
        if t.get("expected_downtime_ns") is None:
            continue
        e, d = t["expected_downtime_ns"], t["downtime_ns"]
        rows.append({"size": r["size"], "rate": r["rate"], "rep": r["rep"], "downtime_ns": d,
                     "expected_ns": e, "error": (e - d) / d, "learned": t["expected"]["learned"],
                     "stop_copy": t["bytes"]["stop_copy"], "pending": t["expected"]["pending_bytes"],
                     "migctl_downtime_ns": r["m"].get("downtime_ns")})
    res["rows"] = rows

    def dist(xs):
        a = [abs(x["error"]) for x in xs]
        return {"n": len(a), "abs_median": rnd(median(a)), "abs_p90": rnd(pct(a, 0.9)),
                "abs_max": rnd(max(a)) if a else None,
                "within_10pct": rnd(sum(1 for v in a if v <= 0.10) / len(a)) if a else None,
                "signed_median": rnd(median([x["error"] for x in xs]))}
    res["all"] = dist(rows)
    res["learned"] = dist([x for x in rows if x["learned"]])
    res["first"] = dist([x for x in rows if not x["learned"]])
    # The noise floor: how far each downtime is from its own setting's median
    # (a predictor that knew the future), and from the one measured before it.
    by_cell = {}
    for x in rows:
        by_cell.setdefault((x["size"], x["rate"]), []).append(x)
    oracle, naive = [], []
    for c in by_cell.values():
        med = median([x["downtime_ns"] for x in c])
        for i, x in enumerate(c):
            oracle.append({"error": (med - x["downtime_ns"]) / x["downtime_ns"]})
            if i:
                naive.append({"error": (c[i - 1]["downtime_ns"] - x["downtime_ns"]) / x["downtime_ns"]})
    res["noise_setting_median"] = dist(oracle)
    res["noise_previous"] = dist(naive)
    for size in env["sizes"].split():
        for name, pps in parse_rates(env["rates"]):
            c = [x for x in rows if x["size"] == size and x["rate"] == name]
            if not c:
                continue
            lc = [x for x in c if x["learned"]]
            res["cells"].append({
                "size": size, "rate": name, "dirty_rate": pps, "n": len(c),
                "downtime_median_ns": median([x["downtime_ns"] for x in c]),
                "expected_median_ns": median([x["expected_ns"] for x in c]),
                "error_median": rnd(median([x["error"] for x in lc])) if lc else None,
                "abs_error_max": rnd(max(abs(x["error"]) for x in lc)) if lc else None,
                "stop_copy_median": median([x["stop_copy"] for x in c]),
                "pending_median": median([x["pending"] for x in c])})
    return res


def datapath_analysis(raw_dir):
    rows = jsonl(os.path.join(raw_dir, "datapath.jsonl"))
    if not rows:
        return None
    d = rows[-1]
    length, nocrc = d["stream_bytes"], d.get("nocrc_bytes", d["stream_bytes"])
    per = []
    for r in d["runs"]:
        sr, rw, rn, se = r["save_read"], r["resume_write"], r["resume_write_nocrc"], r["save_read_e2e"]
        per.append({
            "save_read_vs_tmpfs": sr["tmpfs_median_ns"] / sr["drv_median_ns"],
            "resume_write_vs_tmpfs": rw["tmpfs_median_ns"] / rw["drv_median_ns"],
            "resume_write_nocrc_vs_tmpfs": rn["tmpfs_median_ns"] / rn["drv_median_ns"],
            "save_read_e2e_vs_tmpfs": se["tmpfs_sum_ns"] / se["drv_sum_ns"],
            "resume_write_e2e_vs_tmpfs": rw["tmpfs_sum_ns"] / (rw["drv_sum_ns"] + r["load_sum_ns"]),
            # ns per MiB moved, from the sums
            "ns_per_mib": {
                "tmpfs_read": sr["tmpfs_sum_ns"] / length * (1 << 20),
                "save_read_iso": sr["drv_sum_ns"] / length * (1 << 20),
                "save_read_e2e": se["drv_sum_ns"] / length * (1 << 20),
                "tmpfs_write": rw["tmpfs_sum_ns"] / length * (1 << 20),
                "resume_write_driver": rw["drv_sum_ns"] / length * (1 << 20),
                "resume_write_driver_nocrc": rn["drv_sum_ns"] / nocrc * (1 << 20),
                "resume_load": r["load_sum_ns"] / length * (1 << 20),
            },
            "ops": sr["ops"], "save_peak_bytes": r["save_peak_bytes"],
        })
    out = {"type": d["type"], "state_size": d["state_size"], "stream_bytes": length, "nocrc_bytes": nocrc,
           "io_size": d["io_size"], "reps": d["reps"], "per_run": per}
    for k in ("save_read_vs_tmpfs", "resume_write_vs_tmpfs", "resume_write_nocrc_vs_tmpfs",
              "save_read_e2e_vs_tmpfs", "resume_write_e2e_vs_tmpfs"):
        out[k] = rnd(median([p[k] for p in per]))
        out[k + "_range"] = [rnd(min(p[k] for p in per)), rnd(max(p[k] for p in per))]
    out["ns_per_mib"] = {k: rnd(median([p["ns_per_mib"][k] for p in per]), 0) for k in per[0]["ns_per_mib"]}
    out["save_peak_bytes"] = max(p["save_peak_bytes"] for p in per)
    return out


# ---------------------------------------------------------------- 3. memory
def peak_analysis(raw_dir):
    rows = []
    for r in jsonl(os.path.join(raw_dir, "peak.jsonl")):
        rows.append({"size": r["size"], "state_size": r["state_size"], "budget": r["budget"],
                     "save_peak_bytes": r["save_peak_bytes"], "resume_peak_bytes": r["resume_peak_bytes"],
                     "save_peak_vs_state": rnd(r["save_peak_bytes"] / r["state_size"], 5),
                     "status": r["m"].get("status"), "stream_bytes": r["m"].get("total_bytes")})
    return rows


# ---------------------------------------------------------------- 4. concurrency
def fw_avg(rows, side, op):
    """Mean latency (ns) of one opcode's commands over @rows' fw deltas."""
    cnt = lat = 0
    for r in rows:
        a, b = r[f"fw_{side}0"].get(op), r[f"fw_{side}1"].get(op)
        if a and b:
            cnt += b[0] - a[0]
            lat += b[2] - a[2]
    return lat / cnt if cnt else None


def concurrency_analysis(raw_dir, env):
    rows = jsonl(os.path.join(raw_dir, "conc.jsonl"))
    if not rows:
        return None
    migs = [r for r in rows if not r.get("phase")]
    phases = [r for r in rows if r.get("phase")]
    groups = sorted({(r["size"], r["n"]) for r in phases}, key=lambda k: (-size_mib(k[0]), k[1]))
    out = {"groups": [], "failures": len([r for r in migs if r["m"].get("status") != "ok"])}
    agg_by = {}
    for size, n in groups:
        g = {"size": size, "n": n, "rounds": []}
        for ph in [p for p in phases if p["size"] == size and p["n"] == n]:
            ms_ = [r for r in migs if r["size"] == size and r["n"] == n and r["round"] == ph["round"]]
            ok = [r["m"] for r in ms_ if r["m"].get("status") == "ok"]
            if not ok or len(ok) != len(ms_):
                continue
            # From the earliest start (T5 less total_ns: the start a little early by
            # the source's last state change after T5) to the last T5.
            span = max(m["t_end_ns"] for m in ok) - min(m["t_end_ns"] - m["total_ns"] for m in ok)
            g["rounds"].append({
                "round": ph["round"],
                "aggregate_bps": sum(m["total_bytes"] for m in ok) / span * 1e9,
                "span_ns": span,
                "downtime_ns": [m["downtime_ns"] for m in ok],
                "total_ns": [m["total_ns"] for m in ok],
                "save_lat_ns": fw_avg(ms_, "src", "save"),
                "load_lat_ns": fw_avg(ms_, "tgt", "load"),
                "query_lat_ns": fw_avg(ms_, "src", "query"),
                "suspend_lat_ns": fw_avg(ms_, "src", "suspend"),
                "kernel_peak_bytes": sum(r["save_peak_bytes"] + r["resume_peak_bytes"] for r in ms_),
                "top_cpu": ph["top_ticks"] / ph["clk_tck"] / (ph["wall_ns"] / 1e9),
                "top_ticks": ph["top_ticks"], "clk_tck": ph["clk_tck"], "wall_ns": ph["wall_ns"],
            })
        rs = g["rounds"]
        if not rs:
            continue
        g["aggregate_bps_median"] = median([r["aggregate_bps"] for r in rs])
        g["downtime_ns_median"] = median([d for r in rs for d in r["downtime_ns"]])
        g["downtime_ns_max"] = max(d for r in rs for d in r["downtime_ns"])
        g["total_ns_median"] = median([d for r in rs for d in r["total_ns"]])
        for k in ("save_lat_ns", "load_lat_ns", "query_lat_ns", "suspend_lat_ns"):
            g[k] = median([r[k] for r in rs if r[k] is not None])
        g["kernel_peak_bytes_max"] = max(r["kernel_peak_bytes"] for r in rs)
        ticks = sum(r["top_ticks"] / r["clk_tck"] for r in rs)
        g["top_cpu"] = ticks / (sum(r["wall_ns"] for r in rs) / 1e9)
        g["top_cpu_s"] = ticks
        g["wall_s"] = sum(r["wall_ns"] for r in rs) / 1e9
        agg_by[(size, n)] = {r["round"]: r["aggregate_bps"] for r in rs}
        out["groups"].append(g)
    # Ratios against N=1 of the same size, paired by round.
    for g in out["groups"]:
        base = agg_by.get((g["size"], 1))
        mine = agg_by.get((g["size"], g["n"]))
        if base and mine:
            rs = [mine[k] / base[k] for k in mine if k in base]
            g["throughput_vs_1"] = rnd(median(rs))
            g["throughput_vs_1_range"] = [rnd(min(rs)), rnd(max(rs))]
        one = next((x for x in out["groups"] if x["size"] == g["size"] and x["n"] == 1), None)
        if one:
            for k in ("save_lat_ns", "load_lat_ns", "query_lat_ns", "suspend_lat_ns", "downtime_ns_median"):
                g[k + "_vs_1"] = rnd(ratio(g.get(k), one.get(k)))
    top = jsonl(os.path.join(raw_dir, "conc-top.jsonl"))
    if top:
        s = top[-1].get("summary") or {}
        out["mig_top"] = {"drops": max(int(s.get("drops", 0)), int(top[-1].get("max_row_drops") or 0)),
                          "events": int(s.get("events", 0)), "migrations_seen": top[-1].get("migrations_seen")}
    out["migrations"] = len(migs)
    return out


def conc_group(conc, size, n):
    return next((g for g in (conc or {}).get("groups", []) if g["size"] == size and g["n"] == n), None)


# ---------------------------------------------------------------- 4b. storm
def storm_analysis(raw_dir, epc, epc_by_event):
    rows = jsonl(os.path.join(raw_dir, "storm.jsonl"))
    if not rows:
        return None
    r = rows[-1]
    st, s = r["storm"], r.get("summary") or {}
    ring_per_call = sum(v for k, v in epc_by_event.items() if k.endswith("precopy_info")) or None
    out = {"threads": st["threads"], "target_calls_per_s": st["target_calls_per_s"], "calls": st["calls"],
           "seconds": st["ns"] / 1e9, "calls_per_s": st["calls_per_s"],
           "events_per_s": st["calls_per_s"] * epc if epc else None,
           "ring_events_per_s": st["calls_per_s"] * ring_per_call if ring_per_call else None,
           "drops": max(int(s.get("drops", 0)), int(r.get("max_row_drops") or 0)),
           "mig_top_events": int(s.get("events", 0)),
           "top_cpu": r["top_ticks"] / r["clk_tck"] / (r["wall_ns"] / 1e9)}
    return out


# ---------------------------------------------------------------- 5. tracing
def visit_medians(rows, key):
    """{(mode, round): median total_ns of the visit's timed migrations}."""
    acc = {}
    for r in rows:
        if r["m"].get("status") == "ok":
            acc.setdefault((r[key], r["round"]), []).append(r["m"]["total_ns"])
    return {k: median(v) for k, v in acc.items()}


def paired(vm, mode, base):
    """Per round: visit median of @mode over that of @base."""
    return [vm[(mode, rd)] / vm[(base, rd)] for (m, rd) in sorted(vm) if m == mode and (base, rd) in vm]


def direct_overhead(vm, mode, base):
    q = paired(vm, mode, base)
    if not q:
        return None, None, 0
    ci = t_mean_ci(q)
    return rnd(mean(q) - 1, 5), [rnd(ci[0] - 1, 5), rnd(ci[1] - 1, 5)] if ci else None, len(q)


def tracing_analysis(raw_dir, env):
    migs = jsonl(os.path.join(raw_dir, "trace-mig.jsonl"))
    if not migs:
        return None
    bursts = jsonl(os.path.join(raw_dir, "trace-burst.jsonl"))
    epc, epc_by, _ = events_per_call(raw_dir, env["burst_calls"])
    by_event = perf_stat_events(os.path.join(raw_dir, "migration-count.txt"))
    ev_mig = sum(by_event.values()) or None
    vm = visit_medians(migs, "mode")
    bm = {(r["mode"], r["round"]): r["b"]["ns_per_call"] for r in bursts}
    off_times = [v for (m, _), v in vm.items() if m == "off"]
    off_mean = mean(off_times)
    modes = {"off": {"n": len([r for r in migs if r["mode"] == "off" and r["m"].get("status") == "ok"]),
                     "total_ns_mean_of_visit_medians": rnd(off_mean, 0),
                     "burst_ns_per_call": rnd(mean([v for (m, _), v in bm.items() if m == "off"]), 1)}}
    for mode in TRACE_MODES:
        ov, ci, rounds = direct_overhead(vm, mode, "off")
        st = {"n": len([r for r in migs if r["mode"] == mode and r["m"].get("status") == "ok"]),
              "rounds": rounds, "overhead": ov, "overhead_ci95": ci,
              "overhead_ci95_halfwidth": rnd((ci[1] - ci[0]) / 2, 5) if ci else None,
              "burst_ns_per_call": rnd(mean([v for (m, _), v in bm.items() if m == mode]), 1)}
        if epc:
            per = [(bm[(mode, rd)] - bm[("off", rd)]) / epc for (m, rd) in bm if m == mode and ("off", rd) in bm]
            st["ns_per_event"] = rnd(mean(per), 1)
            pci = t_mean_ci(per)
            st["ns_per_event_ci95"] = [rnd(pci[0], 1), rnd(pci[1], 1)] if pci else None
            if ev_mig and off_mean and st["ns_per_event"] is not None:
                st["expected_overhead"] = rnd(ev_mig * st["ns_per_event"] / off_mean, 5)
                if pci:
                    st["expected_overhead_ci95"] = [rnd(ev_mig * pci[0] / off_mean, 5),
                                                    rnd(ev_mig * pci[1] / off_mean, 5)]
        modes[mode] = st
    stop = jload(os.path.join(raw_dir, "trace-stop.json"), {})
    return {"modes": modes, "events_per_call": epc, "events_per_call_by_event": epc_by,
            "events_per_migration": ev_mig, "events_per_migration_by_event": by_event,
            "rounds": max((r["round"] for r in migs), default=0), "stop": stop,
            "failures": len([r for r in migs if r["m"].get("status") != "ok"])}


def notrace_analysis(raw_dir, epc, ev_mig):
    rows = jsonl(os.path.join(raw_dir, "notrace.jsonl"))
    if not rows:
        return None
    migs = [r for r in rows if "m" in r]
    vm = visit_medians(migs, "variant")
    bm = {(r["variant"], r["round"]): r["b"]["ns_per_call"] for r in rows if "b" in r}
    ov, ci, rounds = direct_overhead(vm, "on", "out")
    diff = [bm[("on", rd)] - bm[("out", rd)] for (v, rd) in bm if v == "on" and ("out", rd) in bm]
    dci = t_mean_ci(diff)
    out_mean = mean([v for (k, _), v in vm.items() if k == "out"])
    out = {"rounds": rounds, "overhead": ov, "overhead_ci95": ci,
           "n": {v: len([r for r in migs if r["variant"] == v]) for v in ("on", "out")},
           "total_ns_mean_out": rnd(out_mean, 0),
           "burst_ns_per_call_on": rnd(mean([v for (k, _), v in bm.items() if k == "on"]), 1),
           "burst_ns_per_call_out": rnd(mean([v for (k, _), v in bm.items() if k == "out"]), 1),
           "burst_diff_ns_per_call": rnd(mean(diff), 2),
           "burst_diff_ci95": [rnd(dci[0], 2), rnd(dci[1], 2)] if dci else None}
    if epc and diff:
        out["ns_per_site"] = rnd(mean(diff) / epc, 2)
        if ev_mig and out_mean:
            out["expected_overhead"] = rnd(ev_mig * mean(diff) / epc / out_mean, 6)
    return out


def module_functions(ko):
    """Text symbols of a module (nm), or None."""
    try:
        out = subprocess.run(["nm", ko], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {f[2] for f in (line.split() for line in out.splitlines())
            if len(f) == 3 and f[1] in "tT" and f[2].startswith("vfmig_")}


def drops_analysis(raw_dir):
    rows = jsonl(os.path.join(raw_dir, "drops.jsonl"))
    out = {"mig_top": 0, "perf_lost": 0, "tracefs_overrun": 0, "tracefs_dropped": 0,
           "mig_top_sessions": 0, "perf_sessions": 0, "tracefs_sessions": 0,
           "perf_samples": 0, "tracefs_entries": 0, "mig_top_events": 0}
    for r in rows:
        if r["source"] == "mig-top":
            out["mig_top_sessions"] += 1
            s = r.get("summary") or {}
            out["mig_top"] += max(int(s.get("drops", 0)), int(r.get("max_row_drops") or 0))
            out["mig_top_events"] += int(s.get("events", 0))
        elif r["source"] == "perf":
            out["perf_sessions"] += 1
            out["perf_lost"] += int(r.get("lost", 0))
            out["perf_samples"] += int(r.get("samples", 0))
        elif r["source"] == "tracefs":
            out["tracefs_sessions"] += 1
            out["tracefs_overrun"] += int(r["stats"].get("overrun", 0))
            out["tracefs_dropped"] += int(r["stats"].get("dropped", 0))
            out["tracefs_entries"] += int(r["stats"].get("entries", 0))
    out["total"] = out["mig_top"] + out["perf_lost"] + out["tracefs_overrun"] + out["tracefs_dropped"]
    return out


def stop_rule(raw_dir, target):
    """The tracing section's stop rule: 0 when bpf's direct interval is within +-target."""
    vm = visit_medians(jsonl(os.path.join(raw_dir, "trace-mig.jsonl")), "mode")
    words, done = [], True
    for mode in TRACE_MODES:
        ov, ci, rounds = direct_overhead(vm, mode, "off")
        hw = (ci[1] - ci[0]) / 2 if ci else None
        words.append(f"{mode} {ov:+.4f} +-{hw:.4f}" if hw is not None else f"{mode} -")
        if mode == "bpf" and (hw is None or hw > target):
            done = False
    print(f"# stop rule after {rounds} rounds (target +-{target}): " + ", ".join(words)
          + ("; done" if done else "; going on"))
    return 0 if done else 1


def vm_info(vm_log):
    info = {"accel": "unknown", "cpu_model": "unknown", "vm_mem_mb": None, "verdict": "unknown"}
    if not vm_log or not os.path.exists(vm_log):
        return info
    with open(vm_log, errors="replace") as f:
        for line in f:
            m = re.match(r"===== vm-run: kernel (\S+), (.*), (\d+) MB, timeout (\d+)s =====", line)
            if m:
                info["vm_kernel"] = m.group(1)
                a = re.search(r"-accel (\S+)", m.group(2))
                c = re.search(r"-cpu (\S+)", m.group(2))
                info["accel"] = a.group(1) if a else "unknown"
                ic = re.search(r"-icount (\S+)", m.group(2))
                info["vm_accel_line"] = f"-accel {info['accel']}" + (f" -icount {ic.group(1)}" if ic else "")
                info["cpu_model"] = c.group(1) if c else "unknown"
                info["vm_mem_mb"] = int(m.group(3))
            m = re.match(r"===== vm-run: verdict=(\S+) .*seconds=([\d.]+)", line)
            if m:
                info["verdict"] = m.group(1)
                info["vm_seconds"] = float(m.group(2))
    return info


# ---------------------------------------------------------------- SVG
def svg_downtime(cells, sizes, rates, reps):
    W, H = 980, 470
    ml, mr, mt, mb = 78, 20, 72, 96
    pw, ph = W - ml - mr, H - mt - mb
    vals = [c[m][k] for c in cells for m in ("no_precopy", "precopy")
            for k in ("downtime_ns_median", "downtime_ns_p95") if c[m][k]]
    if not vals:
        return "<svg xmlns='http://www.w3.org/2000/svg' width='200' height='40'><text x='5' y='20'>no data</text></svg>\n"
    lo = 10 ** math.floor(math.log10(min(vals) / 1e6 * 0.9))
    hi = max(vals) / 1e6 * 2.2  # headroom for the reduction labels

    def y(v_ms):
        v_ms = max(v_ms, lo)
        return mt + ph - (math.log10(v_ms) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * ph

    col = {"no_precopy": "#c8553d", "precopy": "#2e6f9e"}
    lab = {"no_precopy": "no PRE_COPY (--no-precopy)", "precopy": "PRE_COPY"}
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
         'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
         'vfmig migration downtime: no PRE_COPY vs PRE_COPY</text>',
         f'<text x="{W / 2}" y="40" text-anchor="middle" fill="#444">bar: median, whisker: p95, '
         f'{reps} runs each (interleaved); label: median downtime reduction with PRE_COPY</text>']
    # grid + y labels
    d = lo
    while d <= hi * 1.0001:
        for mult in (1, 2, 5):
            v = d * mult
            if v > hi * 1.0001:
                break
            yy = y(v)
            o.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{yy:.1f}" y2="{yy:.1f}" '
                     f'stroke="{"#bbb" if mult == 1 else "#e6e6e6"}" stroke-width="1"/>')
            txt = f"{v:g}"
            o.append(f'<text x="{ml - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#333">{txt}</text>')
        d *= 10
    o.append(f'<text transform="translate(18 {mt + ph / 2}) rotate(-90)" text-anchor="middle">'
             'downtime, ms (log scale)</text>')
    o.append(f'<line x1="{ml}" x2="{ml}" y1="{mt}" y2="{mt + ph}" stroke="#333"/>')
    o.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" stroke="#333"/>')
    ng = len(sizes) * len(rates)
    gw = pw / ng
    bw = gw * 0.34
    for si, size in enumerate(sizes):
        for ri, (rate, pps) in enumerate(rates):
            g = si * len(rates) + ri
            c = next((c for c in cells if c["size"] == size and c["rate"] == rate), None)
            x0 = ml + g * gw
            if c is None:
                continue
            for bi, mode in enumerate(("no_precopy", "precopy")):
                med, p95 = c[mode]["downtime_ns_median"], c[mode]["downtime_ns_p95"]
                if med is None:
                    continue
                bx = x0 + gw * 0.14 + bi * bw
                yt = y(med / 1e6)
                o.append(f'<rect x="{bx:.1f}" y="{yt:.1f}" width="{bw:.1f}" height="{mt + ph - yt:.1f}" '
                         f'fill="{col[mode]}"><title>{size} {rate}: {lab[mode]} median {ms(med)} ms, '
                         f'p95 {ms(p95)} ms</title></rect>')
                if p95 is not None:
                    cx, yp = bx + bw / 2, y(p95 / 1e6)
                    o.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{yt:.1f}" y2="{yp:.1f}" stroke="#111"/>')
                    o.append(f'<line x1="{cx - bw / 4:.1f}" x2="{cx + bw / 4:.1f}" y1="{yp:.1f}" '
                             f'y2="{yp:.1f}" stroke="#111"/>')
            red = c["downtime_reduction"]
            if red is not None:
                top = min(y(c[m]["downtime_ns_p95"] / 1e6) for m in ("no_precopy", "precopy")
                          if c[m]["downtime_ns_p95"])
                o.append(f'<text x="{x0 + gw / 2:.1f}" y="{top - 6:.1f}" text-anchor="middle" '
                         f'font-size="11" fill="#222">{-100 * red:+.0f}%</text>')
            o.append(f'<text x="{x0 + gw / 2:.1f}" y="{mt + ph + 16}" text-anchor="middle">{rate}</text>')
            o.append(f'<text x="{x0 + gw / 2:.1f}" y="{mt + ph + 30}" text-anchor="middle" '
                     f'font-size="10" fill="#555">{pps}/s</text>')
        sx = ml + si * len(rates) * gw
        if si:
            o.append(f'<line x1="{sx:.1f}" x2="{sx:.1f}" y1="{mt}" y2="{mt + ph + 52}" stroke="#999" '
                     'stroke-dasharray="4 3"/>')
        o.append(f'<text x="{sx + len(rates) * gw / 2:.1f}" y="{mt + ph + 52}" text-anchor="middle" '
                 f'font-weight="bold">{size_mib(size)} MiB state</text>')
    o.append(f'<text x="{ml + pw / 2}" y="{H - 10}" text-anchor="middle">state size and source dirty rate '
             '(pages/s, 4 KiB pages)</text>')
    lx = ml + pw - 330
    for i, mode in enumerate(("no_precopy", "precopy")):
        o.append(f'<rect x="{lx + i * 210}" y="{mt - 17}" width="12" height="12" fill="{col[mode]}"/>')
        o.append(f'<text x="{lx + i * 210 + 18}" y="{mt - 7}">{lab[mode]}</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


# ---------------------------------------------------------------- doc
def check_target(key, value):
    op, thr, _ = TARGETS[key]
    if value is None:
        return None
    return {">=": value >= thr, "<=": value <= thr, "==": value == thr}[op]


def fns(ns):
    if ns is None:
        return "-"
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms" if ns >= 1e7 else f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.0f} us"
    return f"{ns:.0f} ns"


def fci(ci, signed=True, pct_=False):
    if not ci:
        return ""
    if pct_:
        return f" [{fpct(ci[0], signed)} .. {fpct(ci[1], signed)}]"
    return f" [{ci[0]:+.4f} .. {ci[1]:+.4f}]" if signed else f" [{ci[0]:.3f} .. {ci[1]:.3f}]"


def downtime_table(a, cells):
    a("| state | dirty rate | no PRE_COPY median / p95 | PRE_COPY median / p95 | reduction (median) [95% CI] "
      "| stop-copy bytes no-pc / pc | total time no-pc / pc | bytes moved pc / no-pc | iter. (switch) |")
    a("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in cells:
        n, p = c["no_precopy"], c["precopy"]
        ci = c["downtime_reduction_ci95"]
        cis = f" [{100 * ci[0]:.0f}%..{100 * ci[1]:.0f}%]" if ci else ""
        sw = ",".join(f"{k} {v}" for k, v in sorted((p.get("switch_reasons") or {}).items()))
        a(f"| {c['state_mib']} MiB | {c['rate']} ({c['dirty_rate_pps']}/s) "
          f"| {fns(n['downtime_ns_median'])} / {fns(n['downtime_ns_p95'])} "
          f"| {fns(p['downtime_ns_median'])} / {fns(p['downtime_ns_p95'])} "
          f"| **{fpct(c['downtime_reduction'])}**{cis} "
          f"| {fbytes(n['stop_copy_bytes_median'])} / {fbytes(p['stop_copy_bytes_median'])} "
          f"| {fns(n['total_ns_median'])} / {fns(p['total_ns_median'])} "
          f"| {fr(c['total_bytes_ratio'], 2)} | {p.get('iterations_median', '-')} ({sw}) |")
    a("")


def parts_table(a, c):
    p, n = c["precopy"]["parts_ns_median"], c["no_precopy"]["parts_ns_median"]
    a("| part | no PRE_COPY | PRE_COPY |")
    a("| --- | --- | --- |")
    for k in MIGCTL_PARTS:
        a(f"| {k[:-3]} | {fns(n[k])} | {fns(p[k])} |")
    a("")


def write_doc(path, svg_name, res):
    run, dt, dp = res["run"], res["downtime"], res["datapath"]
    pk, conc, storm, tr, nt, dr = (res["memory"], res["concurrency"], res["storm"], res["tracing"],
                                   res["notrace"], res["drops"])
    env = run["guest"]
    L = []
    a = L.append
    a("# Benchmarks")
    a("")
    a("<!-- Generated by `make bench` (bench/report.py) from build/bench/raw/. Do not edit by hand:")
    a("     run `make bench` (or `bench/run --report-only` to re-render the last run). -->")
    a("")
    a("`make bench` builds everything (and `build/bench/notrace/vfmig.ko`, the module with its")
    a("tracepoints compiled out), boots **one** `tests/vm/vm-run` guest that runs")
    a("`bench/guest-bench.sh`, and renders the raw measurements with `bench/report.py` into")
    a("`build/bench/results.json`, `build/bench/downtime.svg` and this page. This run took "
      f"{run.get('wall_seconds', '?')} s. Questions:")
    a("")
    a("1. [Downtime](#1-downtime-with-and-without-pre_copy): how much does PRE_COPY cut the")
    a("   VM-visible downtime, for a device whose every byte can be pre-copied and for one")
    a("   shaped like a ConnectX-7 VF, and where does it not help?")
    a("2. [Data path](#2-data-path): how fast do the save file's `read()` and the resume")
    a("   file's `write()` move bytes, against the kernel's own fastest file copy (tmpfs)?")
    a("   How many CPU copies per byte?")
    a("3. [Kernel memory](#3-kernel-buffer-peak): how much kernel memory does one migration hold?")
    a("4. [Many devices](#4-many-devices-at-once): what do 1 to 32 concurrent migrations get,")
    a("   and what does mig-top cost at that load and under an event storm?")
    a("5. [Tracing cost](#5-tracing-cost): what do the tracepoints cost compiled in but off,")
    a("   on through tracefs, with mig-top's BPF attached and under `perf record`?")
    a("6. [Expected downtime](#6-expected-downtime): how close is the downtime mig-top")
    a("   expects for a source in PRE_COPY to the one it then measures?")
    a("")
    # ---- run
    a("## The run")
    a("")
    icount = "icount" in str(res.get("accel", "")) or "icount" in str(run.get("vm_accel_line", ""))
    a("Everything below comes from one run; compare numbers **within** it. The guest is")
    a("emulated (QEMU TCG, no KVM), so absolute times are many times those of real hardware;")
    a("only ratios measured side by side in the same run mean something.")
    if icount:
        a("The guest runs with **`-icount shift=0,sleep=on`** (`VFMIG_VM_ACCEL=icount`, the")
        a("default of `bench/run`): one TCG thread executes both vCPUs, and the guest's clock")
        a("advances 1 ns per guest instruction while a vCPU runs (idle time passes in real time).")
        a("So a time measured in the guest is the work done, not how much of the shared host the")
        a("guest got: on this 2-CPU machine, shared with other helpers' guests, a 16 MiB")
        a("migration's time varied with a coefficient of variation of 111% under the usual")
        a("multi-threaded TCG and of 5% under icount (30 migrations each, same build, same")
        a("hour). The price: the two vCPUs share one instruction stream, so work on both")
        a("vCPUs does not finish sooner than on one (see [many devices](#4-many-devices-at-once)),")
        a("and a process's CPU time as the guest accounts it may include its vCPU's waits for the")
        a("other one (at most twice its own work; an upper bound).")
    a("")
    a("| | |")
    a("| --- | --- |")
    a(f"| date (UTC) | {res['date']} |")
    a(f"| host CPU | {run.get('host_cpu', '?')}, {run.get('host_cpus', '?')} CPUs |")
    a(f"| host kernel | {run.get('host_kernel', '?')} |")
    a(f"| QEMU | {run.get('qemu', '?')} |")
    a(f"| accelerator | `{run.get('vm_accel_line', '-accel ' + str(res['accel']))}` "
      f"(`-smp {env.get('guest_cpus', '?')} -m {run.get('vm_mem_mb', '?')}`) |")
    a(f"| guest CPU model | `-cpu {run.get('cpu_model', '?')}` (reported as \"{env.get('guest_cpu', '?')}\") |")
    a(f"| guest kernel | {res['kernel']} |")
    a(f"| perf | {env.get('perf', '?')} |")
    a(f"| machine load | load average {run.get('loadavg_before', '?')} before, "
      f"{' '.join(run.get('loadavg_after', []) or ['?'])} after; "
      f"{run.get('other_qemus_at_start', '?')} other QEMU guest(s) running at the start |")
    a("")
    a("`-cpu max,-erms,-fsrm`: `tests/vm/vm-run` hides ERMS/FSRM from the guest under TCG")
    a("because TCG emulates `rep movsb` one byte per iteration; the kernel then copies with")
    a("8-byte moves. The guest also runs vm-run's debug options (`slub_debug=FZPU`, KFENCE,")
    a("`panic_on_warn`), which slow allocations a little for every mode alike.")
    a("")
    # ---- keys
    a("## Keys and targets")
    a("")
    a("Every key is in `build/bench/results.json` (with everything else on this page).")
    a("")
    a("| key | what it is | target | this run | met |")
    a("| --- | --- | --- | --- | --- |")
    for key, (op, thr, text) in TARGETS.items():
        v = res.get(key)
        t = res["targets"][key]
        shown = fr(v, 4) if isinstance(v, float) else str(v)
        if t.get("ci95"):
            shown += f" (95% CI {t['ci95'][0]:+.4f} .. {t['ci95'][1]:+.4f})"
        verdict = "yes" if t["met"] else ("**no**" if t["met"] is False else "?")
        if t.get("conclusive") is False:
            verdict += " (point estimate; the interval spans the target)"
        elif t.get("conclusive"):
            verdict += " (the whole interval)"
        a(f"| `{key}` | {text} | {op} {thr} | {shown} | {verdict} |")
    for key, text in INFO_KEYS.items():
        v = res.get(key)
        shown = fr(v, 4) if isinstance(v, float) else ("-" if v is None else str(v))
        a(f"| `{key}` | {text} | - | {shown} | |")
    a("")
    # ---- 1
    a("## 1. Downtime with and without PRE_COPY")
    a("")
    a(f"![median downtime by mode, state size and dirty rate, profile precopyable]({svg_name})")
    a("")
    a("Setup: per device profile and state size one source and one target device; for every")
    a(f"dirty rate {env['reps']} repetitions of `migctl migrate -j -r -n SRC TGT` (no PRE_COPY) and")
    a("`migctl migrate -j -r SRC TGT` (PRE_COPY), interleaved (same device pair, `-r` returns the")
    a("source to RUNNING). Before the repetitions one verified (`-V`) migration per mode warms up")
    a("and checks the digests (not counted). Profiles ([device.md](device.md#profiles)):")
    a("")
    a(f"- {PROFILE_TEXT['precopyable']}, with `fw_latency_us={env['fw_latency_us']}` set on top;")
    a(f"- {PROFILE_TEXT['cx7-vf']}: `post_suspend_bytes` = 3/4 of the state, `fw_throughput=200000000`,")
    a("  `fw_latency_us=100`.")
    a("")
    a(f"`chunk_size={env['chunk_size']}`, `mig_budget={env['mig_budget']}` (defaults). Dirty rates on the")
    a("source only, pattern `uniform`, the same absolute rates for every size (for 64 MiB, 16384")
    a("pages, low is ~1% and high ~20% of the pages per second). migctl defaults: downtime limit")
    a(f"{env['downtime_limit_ms']} ms, at most 30 iterations.")
    a("")
    for profile in env.get("profiles", "precopyable").split():
        cells = [c for c in dt["cells"] if c["profile"] == profile]
        if not cells:
            continue
        a(f"### Profile `{profile}`")
        a("")
        downtime_table(a, cells)
    if dt["failures"]:
        a(f"**{dt['failures']} migration(s) failed** and are left out: {', '.join(dt['failure_errors'])}.")
        a("")
    a("How to read it: *downtime* is migctl's `downtime_ns`, from the source leaving the running")
    a("states to the target reaching RUNNING ([migctl.md](migctl.md#downtime-and-its-parts));")
    a("*reduction* is `1 - median(PRE_COPY) / median(no PRE_COPY)` (bracket: a bootstrap 95%")
    a("interval); *stop-copy bytes*: the stream read after STOP_COPY; *total time*: migctl's")
    a("`total_ns`, PRE_COPY included; *bytes moved*: PRE_COPY's stream over no-PRE_COPY's;")
    a("*iter.*: median PRE_COPY iterations and why migctl switched over.")
    a("")
    a("### What it shows")
    a("")
    lowp = find_cell(dt, "precopyable", "64M", "low")
    lowc = find_cell(dt, "cx7-vf", "64M", "low")
    if lowp:
        a(f"- **Everything pre-copyable** (64 MiB, low): PRE_COPY cuts the median downtime from "
          f"{fns(lowp['no_precopy']['downtime_ns_median'])} to {fns(lowp['precopy']['downtime_ns_median'])}, "
          f"**{fpct(lowp['downtime_reduction'])}** (`downtime_reduction_low_dirty_64mib`): with few")
        a("  dirty pages the stop-copy image is nearly empty and what is left is the fixed cost of")
        a("  the switchover. No real device is like this.")
    if lowc:
        n, p = lowc["no_precopy"], lowc["precopy"]
        a(f"- **ConnectX-7-like** (64 MiB, low): from {fns(n['downtime_ns_median'])} to "
          f"{fns(p['downtime_ns_median'])}, **{fpct(lowc['downtime_reduction'])}** "
          "(`downtime_reduction_realistic_64mib`). Three quarters of")
        a(f"  the state exist only after SUSPEND: stop-copy still carries {fbytes(p['stop_copy_bytes_median'])} "
          f"(against {fbytes(n['stop_copy_bytes_median'])}), saved and")
        a("  loaded at the firmware's 200 MB/s, so PRE_COPY can only take the other quarter out of")
        a("  the downtime. This is the regime the mlx5 PRE_COPY series reports (20-30%); the")
        a("  post-suspend share was chosen to resemble it ([device.md](device.md#profiles)).")
        a("")
        a("  Where its downtime goes (medians of each part):")
        a("")
        parts_table(lambda x: a("  " + x if x else ""), lowc)
    reds = [c for c in dt["cells"] if c["downtime_reduction"] is not None]
    if reds:
        helped = [c for c in reds if (c["downtime_reduction_ci95"][0] > 0 if c["downtime_reduction_ci95"]
                                      else c["downtime_reduction"] > 0)]
        a(f"- PRE_COPY lowered the median downtime in {len(helped)} of {len(reds)} settings (bootstrap")
        a("  interval above zero). "
          + "; ".join(f"`{pr}`: {fpct(min(c['downtime_reduction'] for c in reds if c['profile'] == pr))} .. "
                      f"{fpct(max(c['downtime_reduction'] for c in reds if c['profile'] == pr))}"
                      for pr in sorted({c['profile'] for c in reds})) + ".")
    hb = [c for c in reds if c["profile"] == "precopyable" and c["stop_copy_bytes_ratio"]
          and c["stop_copy_bytes_ratio"] > 0.001]
    if hb:
        a("- **Where PRE_COPY helps less: fast dirtying.** Pages dirtied after the last iteration are")
        a("  stop-copy data: " + "; ".join(f"{c['state_mib']} MiB {c['rate']}: {fbytes(c['precopy']['stop_copy_bytes_median'])}"
                                           f" stop-copy, {fpct(c['downtime_reduction'])}" for c in hb) + ".")
    tt = [c for c in reds if c["total_time_ratio"] and c["total_time_ratio"] > 1]
    if tt:
        a(f"- **Where PRE_COPY does not help: total time and bandwidth.** In {len(tt)} of {len(reds)} settings the")
        a(f"  whole migration took longer (total-time ratio up to {max(c['total_time_ratio'] for c in tt):.2f}),"
          f" and dirty pages are sent again (up to {max(c['total_bytes_ratio'] for c in reds):.2f}x the bytes).")
    fl = dt.get("floor_fw_latency_0")
    none = fl and find_cell(dt, "precopyable", fl["size"], "none")
    if fl and none:
        dn = none["precopy"]["downtime_ns_median"]
        a(f"- **The floor.** With nothing dirty, PRE_COPY's downtime at {size_mib(fl['size'])} MiB is {fns(dn)} with")
        a(f"  `fw_latency_us={env['fw_latency_us']}` and {fns(fl['downtime_ns_median'])} with 0 ({fl['n']} migrations, same run):")
        a("  the firmware's per-command latency (SUSPEND, the final SAVE, RESUME...) and the state")
        a("  transitions, not data.")
    a("")
    # ---- 2
    a("## 2. Data path")
    a("")
    if dp:
        a(f"`build/bench/datapath {dp['type']} {dp['io_size']} {dp['reps']} /tmp`: a source and a target of")
        a(f"{fbytes(dp['state_size'])}; the source's full image ({fbytes(dp['stream_bytes'])} of stream) is")
        a("captured once and written to a tmpfs file. Then, per repetition, the same bytes move")
        a(f"in {fbytes(dp['io_size'])} operations, driver and tmpfs **one operation each in turn** (which")
        a("goes first alternates), into the same pre-faulted buffer or from it:")
        a("")
        a("- *save read*: STOP_COPY, then wait until the firmware's SAVE has queued every chunk")
        a("  (`mig_budget` raised to fit the image; debugfs `fw_stats` says when the SAVE completed),")
        a("  then `read()`: the driver's read path alone, against tmpfs `read()`;")
        a("- *resume write*: `write()` into the target in RESUMING, less the firmware's LOAD time")
        a("  inside it (`fw_stats`, read between operations): the driver's write path alone, against")
        a("  tmpfs `write()` over the file's existing pages (a plain copy into the page cache);")
        a("- the same write without the stream's CHUNK_CRC records (as an ABI version 1 source")
        a("  sends it: the target then loads without checking), to show what the check costs;")
        a("- end to end: STOP_COPY and `read()` at once (the firmware's SAVE, its emulated DMA and")
        a("  the CHUNK_CRC seal, runs meanwhile), and `write()` with the LOAD in it.")
        a("")
        a("Ratio = tmpfs time / driver time (1.0 = as fast as tmpfs; above 1 = faster). Isolated")
        a("paths: ratio of the median operation times; end to end: ratio of the summed times (the")
        a("waits for the firmware are the point). The value is the median over repetitions,")
        a("the range the smallest and largest.")
        a("")
        a("| path | key | driver vs tmpfs [range] | target |")
        a("| --- | --- | --- | --- |")
        for k, what, tgt in (("save_read_vs_tmpfs", "save `read()`, SAVE done", ">= 0.9"),
                             ("resume_write_vs_tmpfs", "resume `write()` less LOAD", ">= 0.9"),
                             ("resume_write_nocrc_vs_tmpfs", "resume `write()` less LOAD, no CHUNK_CRC records", "-"),
                             ("save_read_e2e_vs_tmpfs", "save `read()` end to end (SAVE running)", "-"),
                             ("resume_write_e2e_vs_tmpfs", "resume `write()` end to end (LOAD in it)", "-")):
            rg = dp[k + "_range"]
            a(f"| {what} | `{k}` | **{fr(dp[k])}** [{fr(rg[0])} .. {fr(rg[1])}] | {tgt} |")
        a("")
        c = dp["ns_per_mib"]
        a("Time per MiB moved (medians over repetitions, guest time):")
        a("")
        a("| | per MiB |")
        a("| --- | --- |")
        for k, what in (("tmpfs_read", "tmpfs `read()`"), ("save_read_iso", "save `read()`, SAVE done"),
                        ("save_read_e2e", "save `read()` end to end"), ("tmpfs_write", "tmpfs `write()`"),
                        ("resume_write_driver", "resume `write()` less LOAD (copy, CRC check, parse)"),
                        ("resume_write_driver_nocrc", "the same without CHUNK_CRC records (copy, parse)"),
                        ("resume_load", "the firmware's LOAD (the emulated DMA into the device)")):
            a(f"| {what} | {fns(c[k])} |")
        a("")
        crc = c["resume_write_driver"] - c["resume_write_driver_nocrc"]
        a("What it shows: the read path, once the data is queued, is one `copy_to_user()` of a")
        a("vmalloc'd chunk buffer and keeps up with tmpfs, which copies page by page out of the")
        a("page cache. The write path's own copy does too (the row without CHUNK_CRC records), but")
        a("the target checks each chunk's CRC-32C before it applies any of it, and that pass costs")
        a(f"about {fns(crc)} per MiB here. Linux 6.12's `__crc32c_le()` is the generic slice-by-8")
        a("table code, some 28 instructions per 8 bytes, and under icount guest time counts")
        a("instructions: a `rep movsq` copy counts one per 8 bytes however much memory it moves.")
        a("So this run weighs the check far more heavily against a copy than a real CPU would,")
        a("where copies are bound by memory bandwidth and the SSE4.2 `crc32` instruction")
        a("(crc32c-intel, `crc32c()` through the crypto API; the plain `crc32c()` from Linux 6.14")
        a("on) checksums several GB/s. That instruction is no way out here: TCG emulates it bit by")
        a("bit, and it ran at 30-90 MB/s against 330-570 MB/s for slice-by-8 in a user-space loop in")
        a("this guest (wall time), so `make check` would slow down. The check stays: it is what")
        a("lets a target refuse a corrupted chunk before anything of it reaches the device. It is")
        a("what keeps `resume_write_vs_tmpfs` below 0.9 in this run, not a copy.")
        a("")
        a("**CPU copies per byte** ([architecture.md](architecture.md#cpu-copies-per-byte)):")
        a("source: the firmware model's emulated DMA (page -> chunk buffer), one CRC pass (the seal,")
        a("a read), one `copy_to_user()`; target: one `copy_from_user()` into the record buffer, one")
        a("CRC pass, the firmware model's emulated DMA (record -> device pages). The driver's own")
        a("copies are one per byte on each side, what mlx5 makes too (its device DMAs into or out of")
        a("the buffer the driver copies from or to). The target's buffer copy cannot go: checking")
        a("the CRC on the user's pages and then loading from them would let the user change a chunk")
        a("between the check and the load.")
        a("")
    # ---- 3
    a("## 3. Kernel buffer peak")
    a("")
    if pk:
        a("One migration without PRE_COPY per size (`migctl migrate -n`, default `mig_budget`), then")
        a("`mig_peak_bytes` of both devices: what the save and the resume file had allocated at")
        a("their peak, in bytes really taken (vmalloc's whole pages and page array, kmalloc size")
        a("classes; [architecture.md](architecture.md#memory-bound)).")
        a("")
        a("| state | stream | `mig_budget` | save file peak | peak / state | resume file peak |")
        a("| --- | --- | --- | --- | --- | --- |")
        for r in pk:
            a(f"| {fbytes(r['state_size'])} | {fbytes(r['stream_bytes'])} | {fbytes(r['budget'])} "
              f"| {r['save_peak_bytes']} ({fbytes(r['save_peak_bytes'])}) | {fpct(r['save_peak_vs_state'])} "
              f"| {r['resume_peak_bytes']} ({fbytes(r['resume_peak_bytes'])}) |")
        a("")
        a("The save file stays within its budget (the SAVE pauses when no buffer is free) and the")
        a("resume file holds one chunk record, whatever the state size.")
        a("")
    # ---- 4
    a("## 4. Many devices at once")
    a("")
    if conc:
        a(f"{env['conc_rounds']} rounds; in each, N = {env['conc_ns']} concurrent `migctl migrate -j -r` processes,")
        a(f"one per {env['conc_size']} source/target pair (profile `precopyable`, `fw_latency_us={env['fw_latency_us']}`,")
        a(f"PRE_COPY, no dirtying), the order of N rotating from round to round; then 1 and "
          f"{env['conc_small_n']} x {env['conc_small_size']} pairs.")
        a("`mig-top -j -i 1s` runs throughout. *Aggregate throughput*: the stream bytes of all N")
        a("over the span from the first start (`t_end_ns - total_ns` of migctl's JSON) to the last")
        a("target running (`t_end_ns`); *vs N=1*: paired by round, median; *downtime*: every migration's;")
        a("*firmware*: mean latency of each command (debugfs `fw_stats` deltas: SAVE from")
        a("submission to its last chunk, stalls for a free buffer included; LOAD inside `write()`);")
        a("*kernel memory*: the sum of every save and resume file's `mig_peak_bytes`;")
        a("*mig-top CPU*: its user + system time over the phases' wall time.")
        a("")
        a("| N x state | aggregate throughput | vs N=1 [range] | downtime median / max | SAVE latency (vs N=1) "
          "| LOAD latency (vs N=1) | SUSPEND latency (vs N=1) | kernel memory | mig-top CPU |")
        a("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for g in conc["groups"]:
            rg = g.get("throughput_vs_1_range")
            a(f"| {g['n']} x {g['size']} | {fbytes(g['aggregate_bps_median'])}/s "
              f"| {fr(g.get('throughput_vs_1'), 2)}" + (f" [{fr(rg[0], 2)} .. {fr(rg[1], 2)}]" if rg else "")
              + f" | {fns(g['downtime_ns_median'])} / {fns(g['downtime_ns_max'])} "
              f"| {fns(g['save_lat_ns'])} ({fr(g.get('save_lat_ns_vs_1'), 2)}) "
              f"| {fns(g['load_lat_ns'])} ({fr(g.get('load_lat_ns_vs_1'), 2)}) "
              f"| {fns(g['suspend_lat_ns'])} ({fr(g.get('suspend_lat_ns_vs_1'), 2)}) "
              f"| {fbytes(g['kernel_peak_bytes_max'])} | {fpct(g['top_cpu'])} |")
        a("")
        g8 = conc_group(conc, env["conc_size"], 8)
        mt = conc.get("mig_top") or {}
        a("What it shows: the migrations are independent (each device has its own locks, firmware")
        a("and files), so nothing serialises them but the CPU: under icount the two vCPUs share")
        a("one instruction stream, so when the migrations are CPU-bound the aggregate throughput")
        a("cannot grow with N, and a ratio near 1 says that N migrations lose nothing to each other")
        a("(locks, wake-ups, the shared firmware workqueue). Each migration then takes about N times")
        a("as long, which is what the firmware latencies show: the emulated firmware has no shared")
        a("command queue; its work items wait for a CPU like everything else. Kernel memory grows")
        a("with N, bounded by N x (`mig_budget` + one chunk).")
        low = [g for g in conc["groups"] if g.get("throughput_vs_1") is not None and g["throughput_vs_1"] < 0.9]
        if low:
            a("Where concurrency costs: " + "; ".join(
                f"{g['n']} x {g['size']} moves {fr(g['throughput_vs_1'], 2)} of one migration's throughput"
                for g in low)
              + ": with small devices the fixed work of each migration (its state changes and firmware")
            a("commands, a migctl process, mig-top's per-device rows) weighs more than the data, and")
            a("the commands of all of them queue for the same CPU (see the SUSPEND latency).")
        if g8:
            a(f"mig-top at 8 concurrent migrations: **{fpct(g8['top_cpu'])}** of a CPU (`mig_top_cpu_8dev`, "
              f"{g8['top_cpu_s']:.2f} s over {g8['wall_s']:.1f} s);")
        a(f"over the whole section it saw {mt.get('events', '?')} ring-buffer events and "
          f"{mt.get('migrations_seen', '?')} completed migrations with **{mt.get('drops', '?')} drops**.")
        a("")
    if storm:
        a(f"**Event storm.** `trace_burst storm {env['storm_calls']} {env['storm_s']} {env['storm_threads']}`: "
          f"{storm['threads']} threads, each on its own")
        a("4 MiB device in PRE_COPY, call `VFIO_MIG_GET_PRECOPY_INFO` at a paced total rate, with")
        a("`mig-top -j -i 1s` attached. Each call fires "
          + (f"{tr['events_per_call']:g} vfmig events" if tr and tr.get("events_per_call") else "three vfmig events")
          + " (one, `vfmig_precopy_info`, goes through mig-top's ring buffer; the")
        a("firmware command events only update its per-device counters).")
        a("")
        a("| calls/s asked | calls/s reached | events/s | ring-buffer events/s | mig-top CPU | drops |")
        a("| --- | --- | --- | --- | --- | --- |")
        a(f"| {storm['target_calls_per_s']:.0f} | {storm['calls_per_s']:.0f} "
          f"| {storm['events_per_s']:.0f} | {storm['ring_events_per_s']:.0f} | {fpct(storm['top_cpu'])} "
          f"| **{storm['drops']}** |" if storm.get("events_per_s") and storm.get("ring_events_per_s") else
          f"| {storm['target_calls_per_s']:.0f} | {storm['calls_per_s']:.0f} | - | - | {fpct(storm['top_cpu'])} "
          f"| **{storm['drops']}** |")
        a("")
        if storm.get("events_per_s") and storm["events_per_s"] < 1e6:
            a(f"The storm reached {storm['events_per_s'] / 1e6:.2f} M events/s, not 1 M: under icount the guest executes")
            a("about 10^9 instructions per second in all, and each call with mig-top's programs")
            a("attached takes a few microseconds of it ([tracing cost](#5-tracing-cost)).")
            a("")
    # ---- 5
    a("## 5. Tracing cost")
    a("")
    if tr:
        m = tr["modes"]
        stop = tr.get("stop") or {}
        a(f"**Direct.** A {size_mib(env['trace_size'])} MiB pair (PRE_COPY, no dirtying, `fw_latency_us="
          f"{env['trace_fw_latency_us']}`), rounds of visits to four")
        a("modes in the order of a row of a Williams square (over four rounds each mode comes first")
        a("and last once and right after each other mode once); each visit: one untimed and")
        a(f"{env['trace_migs']} timed migrations, then one burst (below). Modes: off (compiled in, disabled);")
        a(f"tracefs (`events/vfmig/enable`, `buffer_size_kb={env['tracefs_buf_kb']}`, mono clock, nobody reading);")
        a("mig-top (`mig-top -j -i 1s`, attached before the migrations, stopped after); `perf record")
        a(f"-k mono -a -e 'vfmig:*' -m {env['perf_mmap_pages']}` running the visit as its child. Per round, the median")
        a("migration time of a mode's visit over that of the off visit; the overhead is the mean of")
        a("these paired ratios minus 1, its 95% interval Student's t over rounds. Rounds went on, a")
        a(f"square at a time, until the mig-top interval was within +-{100 * env['trace_ci']:g}% "
          f"(at most {env['trace_max_rounds']} rounds or {env['trace_budget_s']} s):")
        a(f"**{tr['rounds']} rounds**, " + ("the interval reached" if stop.get("reason") == "ci" else
                                             "stopped by the budget before the interval reached it") + ".")
        a("")
        epc = tr.get("events_per_call")
        a("**From the per-event cost.** `build/bench/trace_burst` times "
          f"{env['burst_calls']} `VFIO_MIG_GET_PRECOPY_INFO` calls on a 4 MiB")
        a("device in PRE_COPY (nothing dirty), once per visit; ns per event = (ns per call in the")
        a("mode - ns per call off, same round) / events per call"
          + (f" (**{epc:g}**, counted with `perf stat -a -e 'vfmig:*'`: "
             + ", ".join(f"`{k.split(':')[1]}` {v:g}" for k, v in sorted(tr["events_per_call_by_event"].items())) + ")"
             if epc else "") + ".")
        evm = tr.get("events_per_migration")
        bye = tr.get("events_per_migration_by_event") or {}
        if evm:
            a(f"One of these migrations fires **{evm} events** (`perf stat` of one more: "
              + ", ".join(f"`{k}` {v}" for k, v in sorted(bye.items(), key=lambda kv: -kv[1])[:6])
              + (", ..." if len(bye) > 6 else "") + ").")
        a("*Expected overhead* = events per migration x ns per event / mean migration time off.")
        a("")
        a("| mode | migrations | overhead, direct [95% CI] | burst ns/call | ns per event [95% CI] | expected overhead [95% CI] |")
        a("| --- | --- | --- | --- | --- | --- |")
        a(f"| off | {m['off']['n']} | 0 (mean {fns(m['off']['total_ns_mean_of_visit_medians'])}) "
          f"| {fr(m['off']['burst_ns_per_call'], 0)} | - | - |")
        for mode in TRACE_MODES:
            s = m[mode]
            ec = s.get("expected_overhead_ci95")
            nc = s.get("ns_per_event_ci95")
            a(f"| {MODE_NAMES[mode]} | {s['n']} | **{fpct(s['overhead'], True)}**{fci(s['overhead_ci95'], pct_=True)} "
              f"| {fr(s['burst_ns_per_call'], 0)} | {fr(s.get('ns_per_event'), 0)}"
              + (f" [{nc[0]:.0f} .. {nc[1]:.0f}]" if nc else "")
              + f" | {fpct(s.get('expected_overhead'), True)}" + (fci(ec, pct_=True) if ec else "") + " |")
        a("")
        b = m["bpf"]
        a(f"`bpf_overhead` = {fpct(b['overhead'], True)}, 95% interval {fci(b['overhead_ci95'], pct_=True).strip()}: "
          f"`bpf_overhead_ci95_hi` = {fr(res.get('bpf_overhead_ci95_hi'), 4)}.")
        if b.get("expected_overhead") is not None and b.get("overhead_ci95"):
            inside = b["overhead_ci95"][0] <= b["expected_overhead"] <= b["overhead_ci95"][1]
            a(f"The per-event estimate, {fpct(b['expected_overhead'], True)}, is "
              + ("inside" if inside else "outside") + " the direct interval"
              + ("." if inside else ": the direct number includes mig-top's own process (its ring-buffer"
                 " consumer and one JSON sample per second) competing for the CPU, which the burst's"
                 " per-event cost leaves out."))
        a("")
    if nt:
        a(f"**Compiled in but disabled, against compiled out.** {nt['rounds']} rounds, each loading")
        a("`build/kernel/vfmig.ko` (tracepoints compiled in, all disabled) and")
        a("`build/bench/notrace/vfmig.ko` (`make bench-notrace`: `VFMIG_NO_TRACE` makes every")
        a("`trace_*()` an empty inline function, [kernel/trace.h](../kernel/trace.h)) in alternating")
        a("order; each visit creates the pair and runs the same migrations and burst as above.")
        a("")
        a("| | compiled in, off | compiled out |")
        a("| --- | --- | --- |")
        a(f"| migrations | {nt['n'].get('on')} | {nt['n'].get('out')} |")
        a(f"| burst ns/call | {fr(nt['burst_ns_per_call_on'], 1)} | {fr(nt['burst_ns_per_call_out'], 1)} |")
        a("")
        dci = nt.get("burst_diff_ci95")
        a(f"`tracepoints_off_overhead` = {fpct(nt['overhead'], True)}{fci(nt['overhead_ci95'], pct_=True)} "
          "(direct, paired by round).")
        a(f"In the burst the compiled-in module takes {fr(nt['burst_diff_ns_per_call'], 1)} ns more per call"
          + (f" [{dci[0]:+.1f} .. {dci[1]:+.1f}]" if dci else "")
          + (f" ({fr(nt.get('ns_per_site'), 1)} per event it would fire)" if nt.get("ns_per_site") is not None else "")
          + ". A disabled tracepoint itself is a jump label patched to one no-op instruction; most of")
        inl = nt.get("inlined_without_tracepoints") or []
        if inl:
            a("the difference is code layout: without the tracepoints the compiler inlines "
              + ", ".join(f"`{f}()`" for f in inl))
            a("(functions of the compiled-in module that the other one does not have, `nm`), so the")
            a("calls into them go.")
        a("Per migration"
          + (f", at {tr['events_per_migration']} events, that predicts {100 * nt['expected_overhead']:+.3f}%"
             if tr and tr.get("events_per_migration") and nt.get("expected_overhead") is not None else "")
          + ": within the direct interval's reach, far below anything a user would notice.")
        a("")
    # ---- 6 (rendered after 5's tables, before the drops)
    if res.get("expected"):
        write_expected(a, res["expected"], env)
        a("")
    a("### Dropped events")
    a("")
    a("| source | sessions | events seen | dropped |")
    a("| --- | --- | --- | --- |")
    a(f"| mig-top (`drops`: BPF ring buffer full + device map full) | {dr['mig_top_sessions']} | "
      f"{dr['mig_top_events']} ring-buffer events | {dr['mig_top']} |")
    a(f"| perf (`perf report --stats` LOST events) | {dr['perf_sessions']} | {dr['perf_samples']} samples | {dr['perf_lost']} |")
    a(f"| tracefs (per-CPU `stats`: overrun + dropped events) | {dr['tracefs_sessions']} | "
      f"{dr['tracefs_entries']} entries | {dr['tracefs_overrun'] + dr['tracefs_dropped']} |")
    a(f"| **tracing section** (`events_dropped`) | | | **{dr['total']}** |")
    if conc and conc.get("mig_top"):
        a(f"| mig-top, many devices | 1 | {conc['mig_top']['events']} | {conc['mig_top']['drops']} |")
    if storm:
        a(f"| mig-top, event storm (`storm_events_dropped`) | 1 | {storm['mig_top_events']} | **{storm['drops']}** |")
    a("")
    a("## Reproducing")
    a("")
    a("```sh")
    a("make bench                       # 30-90 minutes under TCG; one guest boot")
    a("bench/run --report-only          # re-render from build/bench/raw/")
    a("BENCH_REPS=11 make bench         # more repetitions (BENCH_* knobs: bench/guest-bench.sh)")
    a("BENCH_PARTS='datapath memory' bench/run   # some sections only (the page shows what ran)")
    a("```")
    a("")
    a("Outputs: `build/bench/results.json` (every number on this page), `build/bench/downtime.svg`,")
    a("`build/bench/raw/*.jsonl` (one line per migration, with migctl's full JSON report),")
    a("`build/bench/vm.log` (the guest's console, output and dmesg). Never run two guests at")
    a("once on a 2-CPU machine while benchmarking.")
    a("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def write_expected(a, ex, env):
    a("## 6. Expected downtime")
    a("")
    a(f"Setup: the downtime matrix's devices, settings and dirty rates; per state size one pair and, per")
    a(f"dirty rate, {env.get('exp_reps', env['reps'])} PRE_COPY migrations (`migctl migrate -j -r`), all under one `mig-top -j -i 1s`.")
    a("Each migration record carries the downtime mig-top expected when the source left PRE_COPY")
    a("(`expected_downtime_ns`: what was pending at the rate its PRE_COPY rounds measured through")
    a("the slowest stage, plus the fixed part; [downtime.md](downtime.md#expected-downtime)) next to the")
    a("downtime it measured (`downtime_ns`). *error* = expected / measured - 1. The fixed part and the")
    a("downtime's pace relative to PRE_COPY's are *learned* from the source's last PRE_COPY")
    a("migrations (medians of up to five); the first migration of a pair has nothing to learn from and")
    a("estimates the fixed part from the source's command time.")
    a("")
    if not ex.get("aligned"):
        a(f"(mig-top's {ex.get('records')} records did not line up with migctl's {ex.get('runs')} runs: no analysis.)")
        return
    a("| migrations | n | median \\|error\\| | p90 \\|error\\| | max \\|error\\| | within 10% | median error |")
    a("| --- | --- | --- | --- | --- | --- | --- |")
    for key, label in (("learned", "learned (all but a pair's first)"), ("first", "a pair's first (nothing learned)"),
                       ("all", "all"),
                       ("noise_setting_median", "*noise floor: its setting's median downtime as the guess*"),
                       ("noise_previous", "*noise floor: the previous downtime of its setting as the guess*")):
        d = ex[key]
        if not d.get("n"):
            continue
        a(f"| {label} | {d['n']} | {fpct(d['abs_median'])} | {fpct(d['abs_p90'])} | {fpct(d['abs_max'])} "
          f"| {fpct(d['within_10pct'])} | {fpct(d['signed_median'], True)} |")
    a("")
    a("Per setting (medians; the error columns over the learned migrations):")
    a("")
    a("| state | dirty rate | n | measured downtime | expected | median error | max \\|error\\| | pending at T0 | stop-copy bytes |")
    a("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in ex["cells"]:
        a(f"| {size_mib(c['size'])} MiB | {c['rate']} ({c['dirty_rate']}/s) | {c['n']} | {ms(c['downtime_median_ns'])} ms "
          f"| {ms(c['expected_median_ns'])} ms | {fpct(c['error_median'], True)} | {fpct(c['abs_error_max'])} "
          f"| {fbytes(c['pending_median'])} | {fbytes(c['stop_copy_median'])} |")
    a("")
    bn = ", ".join(f"`{k}` {v}" for k, v in sorted(ex["bottlenecks"].items(), key=lambda kv: -kv[1]))
    a(f"Bottlenecks mig-top named for these migrations: {bn}.")
    a("")
    a("How to read it: the two *noise floor* rows are not estimates but what no estimate made before")
    a("the switchover can beat: how far each measured downtime lies from its own setting's median (as")
    a("if the median of all its repetitions were known in advance), and from the downtime measured just")
    a("before it with the same setting. When they are far above 10 %, the downtimes of identical")
    a("migrations scatter that much on this machine (a TCG guest whose two vCPUs are shared with other")
    a("work: a stall of the host shows as milliseconds in a downtime of a few), and the estimate's")
    a("error is mostly that scatter. With nothing dirty the downtime is its fixed part (the SUSPEND and")
    a("RESUME commands, the last image's SAVE and LOAD, the VMM's requests), learned as the median of")
    a("the source's last five; with fast dirtying the pending bytes dominate, and under TCG the running")
    a("workload slows PRE_COPY's rounds (it competes for the vCPUs) more than the downtime, whose")
    a("workload is stopped, which the learned pace ratio corrects.")


# ---------------------------------------------------------------- main
INFO_KEYS = {
    "downtime_reduction_realistic_64mib": "downtime reduction, 64 MiB, low dirty rate, profile `cx7-vf`",
    "resume_write_nocrc_vs_tmpfs": "resume `write()` less LOAD of the stream without CHUNK_CRC records, "
                                   "against tmpfs `write()`",
    "save_read_e2e_vs_tmpfs": "save `read()` end to end (firmware SAVE running), against tmpfs `read()`",
    "resume_write_e2e_vs_tmpfs": "resume `write()` end to end (LOAD included), against tmpfs `write()`",
    "concurrent_8_throughput_vs_1": "aggregate stream throughput of 8 concurrent migrations over 1",
    "bpf_overhead_ci95_hi": "upper end of `bpf_overhead`'s 95% interval",
    "bpf_overhead_expected": "mig-top BPF overhead from the per-event cost (burst)",
    "tracefs_overhead": "tracefs overhead on migration time (direct)",
    "perf_overhead": "`perf record` overhead on migration time (direct)",
    "tracepoints_off_overhead": "tracepoints compiled in but disabled, against compiled out (direct)",
    "ns_per_event_bpf": "ns per event with mig-top's BPF attached (burst)",
    "storm_events_per_s": "events/s the storm reached",
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", default=os.path.join(repo, "build/bench/raw"))
    ap.add_argument("--out", default=os.path.join(repo, "build/bench"))
    ap.add_argument("--vm-log", default=os.path.join(repo, "build/bench/vm.log"))
    ap.add_argument("--doc", default=os.path.join(repo, "docs/benchmarks.md"))
    ap.add_argument("--doc-svg", default=os.path.join(repo, "docs/benchmarks-downtime.svg"))
    ap.add_argument("--stop-rule", type=float, metavar="CI")
    args = ap.parse_args()
    if args.stop_rule is not None:
        sys.exit(stop_rule(args.raw, args.stop_rule))

    env = jload(os.path.join(args.raw, "env.json"))
    host = jload(os.path.join(args.raw, "host.json"), {})
    jload(os.path.join(args.raw, "done.json"))
    vm = vm_info(args.vm_log)

    dt = downtime_analysis(args.raw, env)
    dp = datapath_analysis(args.raw)
    pk = peak_analysis(args.raw)
    conc = concurrency_analysis(args.raw, env)
    tr = tracing_analysis(args.raw, env)
    epc, epc_by, _ = events_per_call(args.raw, env["burst_calls"])
    storm = storm_analysis(args.raw, epc, epc_by)
    nt = notrace_analysis(args.raw, epc, tr and tr.get("events_per_migration"))
    if nt:
        on = module_functions(os.path.join(repo, "build/kernel/vfmig.ko"))
        out_ = module_functions(os.path.join(repo, "build/bench/notrace/vfmig.ko"))
        if on and out_:
            nt["inlined_without_tracepoints"] = sorted(on - out_)
    dr = drops_analysis(args.raw)
    ex = expected_analysis(args.raw, env) if "expected" in env.get("parts", "expected").split() else None

    lowp = find_cell(dt, "precopyable", "64M", "low")
    lowc = find_cell(dt, "cx7-vf", "64M", "low")
    g8 = conc_group(conc, env.get("conc_size", "64M"), 8)
    tm = (tr or {}).get("modes", {})
    run = dict(host)
    run.update({k: v for k, v in vm.items()})
    run["guest"] = env
    res = {
        "downtime_reduction_low_dirty_64mib": lowp["downtime_reduction"] if lowp else None,
        "downtime_reduction_realistic_64mib": lowc["downtime_reduction"] if lowc else None,
        "stop_copy_bytes_ratio_low_dirty_64mib": lowp["stop_copy_bytes_ratio"] if lowp else None,
        "stop_copy_bytes_ratio_realistic_64mib": lowc["stop_copy_bytes_ratio"] if lowc else None,
        "save_read_vs_tmpfs": dp and dp["save_read_vs_tmpfs"],
        "resume_write_vs_tmpfs": dp and dp["resume_write_vs_tmpfs"],
        "resume_write_nocrc_vs_tmpfs": dp and dp["resume_write_nocrc_vs_tmpfs"],
        "save_read_e2e_vs_tmpfs": dp and dp["save_read_e2e_vs_tmpfs"],
        "resume_write_e2e_vs_tmpfs": dp and dp["resume_write_e2e_vs_tmpfs"],
        "concurrent_8_throughput_vs_1": g8 and g8.get("throughput_vs_1"),
        "mig_top_cpu_8dev": g8 and rnd(g8["top_cpu"]),
        "bpf_overhead": tm.get("bpf", {}).get("overhead"),
        "bpf_overhead_ci95_hi": (tm.get("bpf", {}).get("overhead_ci95") or [None, None])[1],
        "bpf_overhead_expected": tm.get("bpf", {}).get("expected_overhead"),
        "tracefs_overhead": tm.get("tracefs", {}).get("overhead"),
        "perf_overhead": tm.get("perf", {}).get("overhead"),
        "tracepoints_off_overhead": nt and nt["overhead"],
        "ns_per_event_tracefs": tm.get("tracefs", {}).get("ns_per_event"),
        "ns_per_event_bpf": tm.get("bpf", {}).get("ns_per_event"),
        "ns_per_event_perf": tm.get("perf", {}).get("ns_per_event"),
        "events_dropped": dr["total"] if tr else None,
        "storm_events_dropped": storm and storm["drops"],
        "storm_events_per_s": storm and rnd(storm["events_per_s"], 0),
        "expected_downtime_error_median": ex and ex["learned"].get("abs_median"),
        "expected_downtime_error_p90": ex and ex["learned"].get("abs_p90"),
        "host": f"{host.get('host_cpu', 'unknown CPU')}, {host.get('host_cpus', '?')} CPUs, "
                f"Linux {host.get('host_kernel', '?')} ({host.get('hostname', '?')})",
        "kernel": env.get("guest_kernel", vm.get("vm_kernel", "unknown")),
        "accel": vm["accel"],
        "date": host.get("date", "unknown"),
        "qemu": host.get("qemu", "unknown"),
        "cpu_model": vm["cpu_model"],
    }
    cis = {"downtime_reduction_low_dirty_64mib": lowp.get("downtime_reduction_ci95") if lowp else None,
           "bpf_overhead": tm.get("bpf", {}).get("overhead_ci95")}
    res["targets"] = {}
    for k, (op, thr, _) in TARGETS.items():
        t = {"op": op, "target": thr, "value": res.get(k), "met": check_target(k, res.get(k))}
        ci = cis.get(k)
        if ci:
            t["ci95"] = ci
            # conclusive: the whole interval is on one side of the target
            t["conclusive"] = check_target(k, ci[0]) == check_target(k, ci[1])
        res["targets"][k] = t
    res.update({"run": run, "downtime": dt, "datapath": dp, "memory": pk, "concurrency": conc,
                "storm": storm, "tracing": tr, "notrace": nt, "drops": dr,
                "expected": ex})

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    pc = [c for c in dt["cells"] if c["profile"] == "precopyable"]
    svg = svg_downtime(pc, env["sizes"].split(), parse_rates(env["rates"]), env["reps"])
    svg_path = os.path.join(args.out, "downtime.svg")
    with open(svg_path, "w") as f:
        f.write(svg)
    if args.doc:
        if args.doc_svg:
            shutil.copyfile(svg_path, args.doc_svg)
        write_doc(args.doc, os.path.basename(args.doc_svg or svg_path), res)

    print(f"bench: {os.path.join(args.out, 'results.json')}")
    for k in list(TARGETS) + list(INFO_KEYS):
        t = res["targets"].get(k)
        met = "" if not t else ("  [target %s %s: %s]" % (t["op"], t["target"],
                                                            {True: "met", False: "NOT met", None: "?"}[t["met"]]))
        if t and t.get("ci95"):
            met += " 95%% CI %s%s" % (t["ci95"], "" if t.get("conclusive") else " (spans the target)")
        print(f"  {k} = {res.get(k)}{met}")
    if dt["failures"] or (tr and tr["failures"]) or (conc and conc["failures"]):
        print(f"  failed migrations: downtime {dt['failures']}, tracing {tr and tr['failures']}, "
              f"concurrency {conc and conc['failures']}")


if __name__ == "__main__":
    main()
