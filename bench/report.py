#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The host half of `make bench`: raw JSON lines -> numbers, plot, doc.

Reads what bench/guest-bench.sh wrote into build/bench/raw/ (plus
host.json from bench/run and the vm-run log), computes medians, p95 and
ratios, and writes build/bench/results.json, build/bench/downtime.svg, and
regenerates docs/benchmarks.md (+ docs/benchmarks-downtime.svg).
Standard library only; the SVG is written by hand.

    bench/report.py [--raw DIR] [--out DIR] [--vm-log FILE] [--doc FILE] [--doc-svg FILE]
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import statistics
import sys

# migctl's downtime parts (docs/migctl.md, "Downtime and its parts").
MIGCTL_PARTS = ("source_set_state_ns", "read_ns", "write_ns", "throttle_ns", "finish_ns",
                "other_ns")

TARGETS = {
    # key: (comparison, threshold, text)
    "downtime_reduction_low_dirty_64mib": (">=", 0.5, "downtime reduction, 64 MiB, low dirty rate"),
    "bpf_overhead": ("<=", 0.02, "mig-top BPF overhead on migration time"),
    "save_read_vs_memcpy": (">=", 0.5, "save-file read() throughput / memcpy"),
    "events_dropped": ("==", 0, "dropped trace events, whole run"),
    "expected_downtime_error_median": ("<=", 0.10,
                                       "expected downtime: median |error| (fixed part learned)"),
}
MODE_NAMES = {"off": "off", "tracefs": "tracefs (events/vfmig/enable)",
              "bpf": "mig-top BPF (`mig-top -j -i 1s`)",
              "bpf_stopped": "mig-top's BPF programs only (its process stopped)",
              "perf": "`perf record -a -e 'vfmig:*'`"}


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


def downtime_analysis(raw_dir, env):
    rows = jsonl(os.path.join(raw_dir, "downtime.jsonl"))
    sizes = env["sizes"].split()
    rates = parse_rates(env["rates"])
    failures = [r for r in rows if r["m"].get("status") != "ok"]
    ok = [r for r in rows if r["m"].get("status") == "ok"]
    parts = MIGCTL_PARTS
    cells = []
    for size in sizes:
        for rate, pps in rates:
            cell = {"size": size, "state_mib": size_mib(size), "rate": rate,
                    "dirty_rate_pps": pps,
                    "dirty_pct_of_pages_per_s": rnd(100 * pps * 4096 / (size_mib(size) << 20), 2)}
            data = {}
            for mode in ("no_precopy", "precopy"):
                rs = [r["m"] for r in ok if r["size"] == size and r["rate"] == rate and r["mode"] == mode]
                dt = [m["downtime_ns"] for m in rs]
                data[mode] = rs
                st = {
                    "n": len(rs),
                    "downtime_ns_median": median(dt),
                    "downtime_ns_p95": rnd(pct(dt, 0.95), 0),
                    "downtime_ns_min": min(dt) if dt else None,
                    "downtime_ns_max": max(dt) if dt else None,
                    "stop_copy_bytes_median": median([m["stop_copy_bytes"] for m in rs]),
                    "stop_copy_bytes_max": max([m["stop_copy_bytes"] for m in rs], default=None),
                    "precopy_bytes_median": median([m["precopy_bytes"] for m in rs]),
                    "total_bytes_median": median([m["total_bytes"] for m in rs]),
                    "total_ns_median": median([m["total_ns"] for m in rs]),
                    "total_ns_p95": rnd(pct([m["total_ns"] for m in rs], 0.95), 0),
                    "parts_ns_median": {p: median([m["parts"][p] for m in rs]) for p in parts},
                }
                if mode == "precopy":
                    st["iterations_median"] = median([m["iterations"] for m in rs])
                    reasons = {}
                    for m in rs:
                        reasons[m.get("switch_reason", "?")] = reasons.get(m.get("switch_reason", "?"), 0) + 1
                    st["switch_reasons"] = reasons
                cell[mode] = st
            npd = [m["downtime_ns"] for m in data["no_precopy"]]
            pcd = [m["downtime_ns"] for m in data["precopy"]]
            red = (lambda a, b: 1 - median(a) / median(b) if a and b and median(b) else None)
            cell["downtime_reduction"] = rnd(red(pcd, npd))
            cell["downtime_reduction_ci95"] = boot_ci(pcd, npd, red)
            cell["stop_copy_bytes_ratio"] = rnd(ratio(cell["precopy"]["stop_copy_bytes_median"],
                                                      cell["no_precopy"]["stop_copy_bytes_median"]), 8)
            cell["total_time_ratio"] = rnd(ratio(cell["precopy"]["total_ns_median"],
                                                 cell["no_precopy"]["total_ns_median"]))
            cell["total_bytes_ratio"] = rnd(ratio(cell["precopy"]["total_bytes_median"],
                                                  cell["no_precopy"]["total_bytes_median"]))
            cell["p95_downtime_reduction"] = rnd(
                1 - ratio(cell["precopy"]["downtime_ns_p95"], cell["no_precopy"]["downtime_ns_p95"])
                if cell["precopy"]["downtime_ns_p95"] and cell["no_precopy"]["downtime_ns_p95"] else None)
            cells.append(cell)
    floor_rows = [r["m"] for r in jsonl(os.path.join(raw_dir, "floor.jsonl")) if r["m"].get("status") == "ok"]
    floor = None
    if floor_rows:
        floor = {"size": jsonl(os.path.join(raw_dir, "floor.jsonl"))[0]["size"], "fw_latency_us": 0,
                 "n": len(floor_rows),
                 "downtime_ns_median": median([m["downtime_ns"] for m in floor_rows]),
                 "downtime_ns_p95": rnd(pct([m["downtime_ns"] for m in floor_rows], 0.95), 0),
                 "parts_ns_median": {p: median([m["parts"][p] for m in floor_rows]) for p in parts}}
    return {"cells": cells, "failures": len(failures), "floor_fw_latency_0": floor,
            "failure_errors": sorted({r["m"].get("error", "?") for r in failures})[:5]}


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
    runs = [r["d"] for r in jsonl(os.path.join(raw_dir, "datapath.jsonl"))]
    keys = ("save_read_vs_memcpy", "resume_write_vs_memcpy", "read_ns", "write_ns", "memcpy_ns",
            "save_peak_bytes", "resume_peak_bytes", "save_peak_vs_state")
    out = {"runs": len(runs), "type": runs[0]["type"] if runs else None,
           "stream_bytes": runs[0]["stream_bytes"] if runs else None,
           "io_size": runs[0]["io_size"] if runs else None,
           "per_run": runs}
    for k in keys:
        out[k + "_median"] = median([r[k] for r in runs])
    for k, tk in (("read", "read_ns"), ("write", "write_ns"), ("memcpy", "memcpy_ns")):
        out[k + "_bps_median"] = median([r["stream_bytes"] / r[tk] * 1e9 for r in runs if r[tk]])
    return out


def burst_events_per_call(raw_dir, calls):
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


def tracing_analysis(raw_dir, env):
    migs = jsonl(os.path.join(raw_dir, "trace-mig.jsonl"))
    bursts = jsonl(os.path.join(raw_dir, "trace-burst.jsonl"))
    epc, per_event, setup_events = burst_events_per_call(raw_dir, env["burst_calls"])
    # Events of one tracing-cost migration: tracefs sessions hold the
    # migrations' events plus one burst (setup + calls * events per call).
    ev_mig = None
    if epc is not None:
        calls = {r["round"]: r["b"]["calls"] + r["b"].get("warmup", 0) for r in bursts if r["mode"] == "tracefs"}
        per = [(r["stats"]["entries"] + r["stats"]["overrun"] - setup_events
                - calls.get(r["round"], env["burst_calls"]) * epc) / env["trace_migs"]
               for r in jsonl(os.path.join(raw_dir, "drops.jsonl")) if r["source"] == "tracefs"]
        ev_mig = rnd(median(per), 0) if per else None
    modes = {}
    failures = 0
    present = {r["mode"] for r in migs}
    for mode in [m for m in ("off", "tracefs", "bpf", "bpf_stopped", "perf") if m in present or m != "bpf_stopped"]:
        ms_ = [r["m"] for r in migs if r["mode"] == mode and r["m"].get("status") == "ok"]
        failures += len([r for r in migs if r["mode"] == mode and r["m"].get("status") != "ok"])
        tot = [m["total_ns"] for m in ms_]
        tput = [m["total_bytes"] / m["total_ns"] * 1e9 for m in ms_ if m["total_ns"]]
        b = [r["b"]["ns_per_call"] for r in bursts if r["mode"] == mode]
        modes[mode] = {
            "n": len(ms_),
            "total_ns_median": median(tot),
            "total_ns_p95": rnd(pct(tot, 0.95), 0),
            "downtime_ns_median": median([m["downtime_ns"] for m in ms_]),
            "throughput_bps_median": rnd(median(tput), 0),
            "burst_runs": len(b),
            "burst_ns_per_call_median": median(b),
            "_tot": tot, "_tput": tput,
        }
    off = modes["off"]
    for mode, st in modes.items():
        st["time_ratio_vs_off"] = rnd(ratio(st["total_ns_median"], off["total_ns_median"]))
        st["throughput_ratio_vs_off"] = rnd(ratio(st["throughput_bps_median"], off["throughput_bps_median"]))
        st["downtime_ratio_vs_off"] = rnd(ratio(st["downtime_ns_median"], off["downtime_ns_median"]))
        if mode != "off":
            st["overhead"] = rnd(st["time_ratio_vs_off"] - 1 if st["time_ratio_vs_off"] else None)
            st["overhead_ci95"] = boot_ci(
                st["_tot"], off["_tot"],
                lambda a, b: median(a) / median(b) - 1 if a and b and median(b) else None)
            if epc and st["burst_ns_per_call_median"] is not None and off["burst_ns_per_call_median"] is not None:
                st["ns_per_event"] = rnd((st["burst_ns_per_call_median"] - off["burst_ns_per_call_median"]) / epc, 1)
            else:
                st["ns_per_event"] = None
        if mode != "off" and ev_mig and st.get("ns_per_event") is not None and off["total_ns_median"]:
            st["expected_overhead_from_burst"] = rnd(ev_mig * st["ns_per_event"] / off["total_ns_median"])
    for st in modes.values():
        del st["_tot"], st["_tput"]
    by_event = {}
    mc = os.path.join(raw_dir, "migration-count.txt")
    if os.path.exists(mc):
        for line in open(mc):
            f = line.strip().split(",")
            if len(f) >= 3 and f[2].startswith("vfmig:") and f[0].isdigit() and int(f[0]):
                by_event[f[2].split(":")[1]] = int(f[0])
    return {"modes": modes, "events_per_migration_by_event": by_event, "events_per_call": epc, "events_per_call_by_event": per_event,
            "burst_setup_events": setup_events, "events_per_migration": ev_mig,
            "failures": failures}


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
                info["cpu_model"] = c.group(1) if c else "unknown"
                info["vm_mem_mb"] = int(m.group(3))
            m = re.match(r"===== vm-run: verdict=(\S+) .*seconds=([\d.]+)", line)
            if m:
                info["verdict"] = m.group(1)
                info["vm_seconds"] = float(m.group(2))
    return info


# ---------------------------------------------------------------- SVG
def svg_downtime(dt, env, reps):
    cells = dt["cells"]
    sizes = env["sizes"].split()
    rates = parse_rates(env["rates"])
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


def write_doc(path, svg_name, res):
    run, dt, dp, tr, dr = res["run"], res["downtime"], res["datapath"], res["tracing"], res["drops"]
    env = run["guest"]
    cells = dt["cells"]
    L = []
    a = L.append
    a("# Benchmarks")
    a("")
    a("<!-- Generated by `make bench` (bench/report.py) from build/bench/raw/. Do not edit by hand:")
    a("     run `make bench` (or `bench/run --report-only` to re-render the last run). -->")
    a("")
    a("`make bench` builds everything, boots **one** `tests/vm/vm-run` guest that runs")
    a("`bench/guest-bench.sh`, and renders the raw measurements with `bench/report.py`")
    a("into `build/bench/results.json`, `build/bench/downtime.svg` and this page. It")
    a(f"took {run.get('wall_seconds', '?')} s on the machine below. Four questions:")
    a("")
    a("1. [Downtime](#1-downtime-with-and-without-pre_copy): how much does PRE_COPY cut the")
    a("   VM-visible downtime, and where does it not help?")
    a("2. [Data path](#2-data-path): how fast do the save file's `read()` and the resume")
    a("   file's `write()` move bytes, against `memcpy()` of the same bytes?")
    a("3. [Tracing cost](#3-tracing-cost): what do the tracepoints cost when off, on")
    a("   through tracefs, with mig-top's BPF attached and under `perf record`?")
    a("4. [Expected downtime](#4-expected-downtime): how close is the downtime mig-top")
    a("   expects for a source in PRE_COPY to the one it then measures?")
    a("")
    a("## The run")
    a("")
    a("Everything below comes from one run; compare numbers **within** it. The guest is")
    a("emulated (QEMU TCG, no KVM), so absolute times are many times those of real")
    a("hardware and only ratios measured side by side in the same run mean something.")
    a("The machine is shared with other work, which shows up as noise: hence medians,")
    a("p95 and bootstrap intervals rather than single runs.")
    a("")
    a("| | |")
    a("| --- | --- |")
    a(f"| date (UTC) | {res['date']} |")
    a(f"| host CPU | {run.get('host_cpu', '?')}, {run.get('host_cpus', '?')} CPUs |")
    a(f"| host kernel | {run.get('host_kernel', '?')} |")
    a(f"| QEMU | {run.get('qemu', '?')} |")
    a(f"| accelerator | `-accel {res['accel']}` (`-smp {env.get('guest_cpus', '?')} -m {run.get('vm_mem_mb', '?')}`) |")
    a(f"| guest CPU model | `-cpu {run.get('cpu_model', '?')}` (reported as \"{env.get('guest_cpu', '?')}\") |")
    a(f"| guest kernel | {res['kernel']} |")
    a(f"| perf | {env.get('perf', '?')} |")
    a(f"| machine load | load average {run.get('loadavg_before', '?')} before, "
      f"{' '.join(run.get('loadavg_after', []) or ['?'])} after; "
      f"{run.get('other_qemus_at_start', '?')} other QEMU guest(s) running at the start |")
    a("")
    a("Why `-cpu max,-erms,-fsrm`: `tests/vm/vm-run` hides ERMS/FSRM from the guest under")
    a("TCG because TCG emulates `rep movsb` one byte per iteration; with them the guest")
    a("kernel's `memcpy`/`copy_to_user` would crawl at a fraction of user space's speed,")
    a("unlike on hardware. Without them the kernel copies with 8-byte moves. The guest")
    a("also runs vm-run's debug options (`slub_debug=FZPU`, KFENCE every 100 ms,")
    a("`panic_on_warn`), which slow allocations a little for every mode alike.")
    a("")
    a("## Targets")
    a("")
    a("| key in results.json | what | target | reached | met |")
    a("| --- | --- | --- | --- | --- |")
    for key, (op, thr, text) in TARGETS.items():
        v = res.get(key)
        t = res["targets"][key]
        shown = fr(v) if isinstance(v, float) else str(v)
        extra = ""
        if key == "bpf_overhead" and tr["modes"]["bpf"].get("overhead_ci95"):
            ci = tr["modes"]["bpf"]["overhead_ci95"]
            extra = f" (95% CI {ci[0]:+.3f} .. {ci[1]:+.3f})"
        if key == "downtime_reduction_low_dirty_64mib":
            c = next((c for c in cells if c["size"] == "64M" and c["rate"] == "low"), None)
            if c and c.get("downtime_reduction_ci95"):
                ci = c["downtime_reduction_ci95"]
                extra = f" (95% CI {ci[0]:.3f} .. {ci[1]:.3f})"
        verdict = "yes" if t["met"] else ("no" if t["met"] is False else "?")
        if t.get("conclusive") is False:
            verdict += " (point estimate; the interval spans the target)"
        a(f"| `{key}` | {text} | {op} {thr} | {shown}{extra} | {verdict} |")
    a("")
    if res["targets"]["bpf_overhead"].get("conclusive") is False:
        a("The BPF overhead's interval spans the 0.02 target: at this run's noise level the")
        a("migration-time measurement cannot tell whether the target is met. The burst test")
        a("([tracing cost](#3-tracing-cost)) gives the per-event cost, which migration-to-migration")
        a("noise does not blur, and with it the expected overhead.")
        a("")
    # ---- 1
    a("## 1. Downtime with and without PRE_COPY")
    a("")
    a(f"![median downtime by mode, state size and dirty rate]({svg_name})")
    a("")
    rates = parse_rates(env["rates"])
    a("Setup: per state size one source and one target device; for every dirty rate")
    a(f"{env['reps']} repetitions of `migctl migrate -j -r -n SRC TGT` (no PRE_COPY) and")
    a("`migctl migrate -j -r SRC TGT` (PRE_COPY), interleaved (no-precopy then PRE_COPY")
    a("each repetition, same device pair, `-r` returns the source to RUNNING). Before")
    a("the repetitions, one verified (`-V`) migration per mode warms up and checks the")
    a("digests (not counted). Settings:")
    a("")
    a(f"- firmware model, both devices: `fw_latency_us={env['fw_latency_us']}` (every command), "
      f"`fw_throughput={env['fw_throughput']}`"
      + (" (unlimited: the data moves at memory speed)" if not env["fw_throughput"] else " bytes/s") + ";")
    a(f"- `chunk_size={env['chunk_size']}`, `mig_budget={env['mig_budget']}` (defaults);")
    a("- dirty rates, on the source only (the target's workload stays off), pattern `uniform`: "
      + ", ".join(f"{n} = {p} pages/s" for n, p in rates)
      + ". The same absolute rates for every size: for a 64 MiB device (16384 pages)")
    a("  low is ~1% and high ~20% of its pages per second; `extreme` (if present) is a stress")
    a("  point beyond the three the issue asks for, to find where PRE_COPY stops paying;")
    a(f"- migctl defaults: downtime limit {env['downtime_limit_ms']} ms, at most 30 iterations.")
    a("")
    a("| state | dirty rate | no PRE_COPY median / p95 | PRE_COPY median / p95 | reduction (median) [95% CI] "
      "| stop-copy bytes no-pc / pc (ratio) | total time no-pc / pc (ratio) | bytes moved pc / no-pc | iter. |")
    a("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in cells:
        n, p = c["no_precopy"], c["precopy"]
        ci = c["downtime_reduction_ci95"]
        cis = f" [{100 * ci[0]:.0f}%..{100 * ci[1]:.0f}%]" if ci else ""
        a(f"| {c['state_mib']} MiB | {c['rate']} ({c['dirty_rate_pps']}/s) "
          f"| {ms(n['downtime_ns_median'])} / {ms(n['downtime_ns_p95'])} ms "
          f"| {ms(p['downtime_ns_median'])} / {ms(p['downtime_ns_p95'])} ms "
          f"| **{fpct(c['downtime_reduction'])}**{cis} "
          f"| {fbytes(n['stop_copy_bytes_median'])} / {fbytes(p['stop_copy_bytes_median'])} "
          f"({c['stop_copy_bytes_ratio']:.2g}) "
          f"| {ms(n['total_ns_median'])} / {ms(p['total_ns_median'])} ms ({fr(c['total_time_ratio'], 2)}) "
          f"| {fr(c['total_bytes_ratio'], 2)} | {p.get('iterations_median', '-')} |")
    a("")
    if dt["failures"]:
        a(f"**{dt['failures']} migration(s) failed** and are left out: {', '.join(dt['failure_errors'])}.")
        a("")
    a("How to read it: *downtime* is migctl's `downtime_ns`, from the source leaving the")
    a("running states to the target reaching RUNNING ([migctl.md](migctl.md#downtime-and-its-parts));")
    a("*reduction* is `1 - median(PRE_COPY) / median(no PRE_COPY)` (the bracket: a")
    a("bootstrap 95% interval of it); *stop-copy bytes* are the device stream bytes read")
    a("after STOP_COPY (the PRE_COPY ones are the last dirty pages plus a 56-byte empty")
    a("final image when nothing was dirty); *total time* is migctl's `total_ns`, from")
    a("preparing the target to the source in STOP, PRE_COPY included; *bytes moved* is")
    a("PRE_COPY's total stream bytes over no-PRE_COPY's (re-sent dirty pages).")
    a("")
    # findings, computed
    a("### What it shows")
    a("")
    low64 = next((c for c in cells if c["size"] == "64M" and c["rate"] == "low"), None)
    reds = [c for c in cells if c["downtime_reduction"] is not None]
    helped = [c for c in reds if (c["downtime_reduction_ci95"][0] > 0 if c["downtime_reduction_ci95"]
                                  else c["downtime_reduction"] > 0)]
    not_helped = [c for c in reds if c not in helped]
    if low64:
        a(f"- At 64 MiB and the low dirty rate PRE_COPY cuts the median downtime from "
          f"{ms(low64['no_precopy']['downtime_ns_median'])} ms to {ms(low64['precopy']['downtime_ns_median'])} ms: "
          f"a reduction of {fpct(low64['downtime_reduction'])}, against the 20-30% the mlx5 PRE_COPY")
        a("  series reported on hardware. The comparison is qualitative: vfmig's state is all")
        a("  pre-copyable memory, so with few dirty pages the stop-copy image is nearly empty")
        a(f"  (ratio {low64['stop_copy_bytes_ratio']:.2g} of the no-PRE_COPY bytes), and what is left is the")
        a("  fixed cost of the switchover, not data; a real device has state that can only be")
        a("  saved once stopped, which bounds its gain.")
    if reds:
        best = max(reds, key=lambda c: c["downtime_reduction"])
        worst = min(reds, key=lambda c: c["downtime_reduction"])
        a(f"- PRE_COPY lowered the median downtime in {len(helped)} of {len(reds)} settings (bootstrap")
        a(f"  interval above zero); the reduction ranges from {fpct(worst['downtime_reduction'])} "
          f"({worst['state_mib']} MiB, {worst['rate']}) to {fpct(best['downtime_reduction'])} "
          f"({best['state_mib']} MiB, {best['rate']}).")
    if not_helped:
        worse = [c for c in not_helped if c["downtime_reduction"] <= 0]
        a("- **Where this run cannot show a gain** (bootstrap interval reaching zero): "
          + "; ".join(f"{c['state_mib']} MiB {c['rate']} (median {fpct(c['downtime_reduction'])}, interval "
                      f"{fpct(c['downtime_reduction_ci95'][0]) if c['downtime_reduction_ci95'] else '-'} .. "
                      f"{fpct(c['downtime_reduction_ci95'][1]) if c['downtime_reduction_ci95'] else '-'})"
                      for c in not_helped) + "."
          + (" In these the PRE_COPY median downtime was not lower." if worse else
             " The medians still favour PRE_COPY; the interval is wide because of outliers (see the p95)."))
    # small states: floor
    small = [c for c in reds if c["state_mib"] == min(x["state_mib"] for x in reds)]
    quiet = [c for c in reds if c["dirty_rate_pps"] == 0]
    if small and quiet:
        fl = median([c["precopy"]["downtime_ns_median"] for c in quiet])
        a("- **Where PRE_COPY helps least: small states.** Its downtime has a floor of about "
          f"{ms(fl)} ms")
        a("  (median of the PRE_COPY medians with nothing dirty) that does")
        a("  not shrink with the state: for the smallest state the gain is smallest in")
        saved = ", ".join("%s: %s ms saved" % (c["rate"], ms(c["no_precopy"]["downtime_ns_median"]
                                                             - c["precopy"]["downtime_ns_median"]))
                          for c in small)
        a(f"  absolute terms ({saved}),")
        a("  and a state small enough to be copied within that floor would gain nothing.")
    hb = [c for c in reds if c["stop_copy_bytes_ratio"] and c["stop_copy_bytes_ratio"] > 0.001]
    if hb:
        a("- **Where PRE_COPY helps less: fast dirtying.** The pages dirtied between the last PRE_COPY")
        a("  iteration and the switchover are real data for stop-copy, and the downtime grows with them: "
          + "; ".join(f"{c['state_mib']} MiB {c['rate']}: {fbytes(c['precopy']['stop_copy_bytes_median'])} "
                      f"median stop-copy, {fpct(c['downtime_reduction'])} reduction" for c in hb) + ".")
    tt = [c for c in reds if c["total_time_ratio"] and c["total_time_ratio"] > 1]
    if tt:
        a(f"- **Where PRE_COPY does not help: total time and bandwidth.** In {len(tt)} of {len(reds)} settings "
          "the whole migration took longer "
          f"(total-time ratio up to {max(c['total_time_ratio'] for c in tt):.2f}), and dirty pages are sent")
        a(f"  again (up to {max(c['total_bytes_ratio'] for c in reds):.2f}x the bytes of a no-PRE_COPY migration).")
        a("  PRE_COPY trades total time and bandwidth for downtime; with no dirtying it sends the")
        a("  same bytes, just earlier.")
    if low64:
        p = low64["precopy"]["parts_ns_median"]
        n = low64["no_precopy"]["parts_ns_median"]
        a("- Where the downtime goes (64 MiB, low; medians of each part, ms):")
        a("")
        a("  | part | no PRE_COPY | PRE_COPY |")
        a("  | --- | --- | --- |")
        for k in MIGCTL_PARTS:
            a(f"  | {k[:-3]} | {ms(n[k])} | {ms(p[k])} |")
        a("")
        a("  (migctl's parts, docs/migctl.md.) Without PRE_COPY the time is the full image: the")
        a("  source's save (`read`) and the target's load (`write`, `finish`). With PRE_COPY the")
        a("  load has moved into the PRE_COPY phase and the rest is dominated by `read`: the")
        a("  final SAVE of a (nearly) empty image still goes")
        a("  through the firmware model, which starts an asynchronous SAVE after its command")
        a("  latency with `queue_delayed_work(..., usecs_to_jiffies(fw_latency_us))`")
        a(f"  (`kernel/fw.c`): a configured {env['fw_latency_us']} us becomes one jiffy, so the work runs at the")
        a("  next timer tick, up to 4 ms later at the guest's HZ=250.")
        fl = dt.get("floor_fw_latency_0")
        none = fl and next((c for c in cells if c["size"] == fl["size"] and c["rate"] == "none"), None)
        if fl and none:
            d0 = fl["parts_ns_median"]["read_ns"]
            d1 = none["precopy"]["parts_ns_median"]["read_ns"]
            a(f"  Check, same run: with `fw_latency_us=0` ({fl['n']} PRE_COPY migrations, {size_mib(fl['size'])} MiB, no")
            a(f"  dirtying) the median downtime is {ms(fl['downtime_ns_median'])} ms with a read time of {ms(d0)} ms,")
            dn = none["precopy"]["downtime_ns_median"]
            share = (dn - fl["downtime_ns_median"]) / dn if dn else 0
            a(f"  against {ms(dn)} ms and {ms(d1)} ms at {env['fw_latency_us']} us: about {fpct(share)} of the")
            a("  remaining PRE_COPY downtime is that latency rounded up to ticks; the rest is the")
            a("  final SAVE's own work, the state transitions and emulation.")
    a("")
    # ---- 2
    a("## 2. Data path")
    a("")
    a(f"`build/bench/datapath {dp['type']}` ({dp['runs']} runs, medians): the source saved in STOP_COPY")
    a(f"(one full image, {fbytes(dp['stream_bytes'])} of stream) read with {fbytes(dp['io_size'])} `read()`s,")
    a("the stream written into the target's resume file with writes of the same size, and a")
    a("`memcpy()` of the same byte count between two pre-faulted buffers, all in the same process")
    a("and run. Ratio = memcpy time / file time (1.0 = as fast as memcpy).")
    a("")
    a("| | throughput | vs memcpy |")
    a("| --- | --- | --- |")
    a(f"| save file `read()` | {fbytes(dp['read_bps_median'])}/s | **{fr(dp['save_read_vs_memcpy_median'])}** |")
    a(f"| resume file `write()` | {fbytes(dp['write_bps_median'])}/s | **{fr(dp['resume_write_vs_memcpy_median'])}** |")
    a(f"| `memcpy()` | {fbytes(dp['memcpy_bps_median'])}/s | 1 |")
    a("")
    a(f"Kernel buffer peak: save {fbytes(dp['save_peak_bytes_median'])} "
      f"({fpct(dp['save_peak_vs_state_median'])} of the state), resume {fbytes(dp['resume_peak_bytes_median'])}: "
      "bounded by `mig_budget` and one chunk, whatever the state size")
    a("([architecture.md](architecture.md#memory-bound)). Per run: "
      + ", ".join(f"read {r['save_read_vs_memcpy']:.3f} / write {r['resume_write_vs_memcpy']:.3f}" for r in dp["per_run"])
      + ".")
    a("")
    a("How to read it: `read()` includes the firmware model's SAVE work on its workqueue")
    a("(per page: dirty-bit bookkeeping, revoking user mappings, a copy into a chunk buffer)")
    a("and the copy to user space; `write()` copies each record into a kernel buffer, parses")
    a("it and LOADs the chunk into the device's pages. Both move every byte twice, so a")
    a("ratio of 0.5 is what two plain copies would give. Under TCG, user space's vectorised")
    a("`memcpy()` and the kernel's copy routines are emulated at different relative speeds")
    a("than hardware runs them, so the ratio says little about a real machine; the per-run")
    a("values show how much the shared machine moves it.")
    a("")
    # ---- 3
    a("## 3. Tracing cost")
    a("")
    m = tr["modes"]
    a(f"Migration: a {size_mib(env['trace_size'])} MiB pair (PRE_COPY, no dirtying, the firmware knobs above), "
      f"{env['trace_migs']} timed migrations per visit after one untimed, {env['trace_rounds']} rounds. Each round")
    a("visits the four modes in the order of a row of a Williams square (over four rounds each mode")
    a("comes first and last once, and right after each other mode once), so drift and carry-over")
    a("from the previous visit do not favour one. Modes: off; tracefs")
    a(f"(`events/vfmig/enable`, `buffer_size_kb={env['tracefs_buf_kb']}`, mono clock, nobody reading); "
      "mig-top's BPF (`mig-top -j -i 1s` in the background, started and")
    a("attached before the migrations, stopped after); `perf record -k mono -a -e 'vfmig:*' "
      f"-m {env['perf_mmap_pages']}` running the migrations as its child (so its setup is done before they start).")
    a("")
    a("Burst: `build/bench/trace_burst` creates a 4 MiB device (firmware latency 0), enters")
    a(f"PRE_COPY, reads the initial image, then times {env['burst_calls']} `VFIO_MIG_GET_PRECOPY_INFO` calls,")
    epc = tr["events_per_call"]
    if epc:
        a(f"once per visit. Events per call, counted with `perf stat -a -e 'vfmig:*'` (difference of "
          f"{env['burst_calls']} and 0 calls): **{epc:g}** ("
          + ", ".join(f"`{k.split(':')[1]}` {v:g}" for k, v in sorted(tr["events_per_call_by_event"].items())) + ").")
    a("ns per event = (median ns per call in the mode - median ns per call off) / events per call.")
    a("")
    a("| mode | migrations | median total time | time vs off [95% CI of overhead] | throughput vs off "
      "| burst ns/call | ns per event | expected overhead |")
    a("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode in m:
        s = m[mode]
        ci = s.get("overhead_ci95")
        cis = f" [{ci[0]:+.3f} .. {ci[1]:+.3f}]" if ci else ""
        a(f"| {MODE_NAMES[mode]} | {s['n']} | {ms(s['total_ns_median'])} ms | {fr(s['time_ratio_vs_off'])}{cis} "
          f"| {fr(s['throughput_ratio_vs_off'])} | {fr(s['burst_ns_per_call_median'], 0) if s['burst_runs'] else '-'} "
          f"| {fr(s.get('ns_per_event'), 0) if mode != 'off' else '-'} "
          f"| {fpct(s.get('expected_overhead_from_burst'), True) if mode != 'off' else '-'} |")
    a("")
    evm = tr.get("events_per_migration")
    a(f"How to read it: one of these migrations fires about {fr(evm, 0)} events (one per record, chunk,")
    a("`read()`/`write()` call and firmware command; from the tracefs sessions' entries minus")
    a("the burst's).")
    bye = tr.get("events_per_migration_by_event") or {}
    if bye:
        a(f"`perf stat` of one more such migration: {sum(bye.values())} events, "
          + ", ".join(f"`{k}` {v}" for k, v in sorted(bye.items(), key=lambda kv: -kv[1])[:6])
          + (", ..." if len(bye) > 6 else "") + ".")
    a("*Expected overhead* = events per migration x ns per event / median migration time off:")
    a("what the per-event cost of the burst predicts (the burst's mix, one of three events into")
    a("mig-top's ring buffer and two only counted, is close to a migration's). When it is far below the")
    a("migration-to-migration noise, the measured time ratios are noise around it: read them")
    a("with their intervals.")
    a("The BPF number includes mig-top's user-space side (its ring-buffer consumer and one")
    a("JSON sample per second) on the same two vCPUs.")
    if "bpf_stopped" in m and m["bpf_stopped"]["n"]:
        bs, bb = m["bpf_stopped"], m["bpf"]
        ci = bs.get("overhead_ci95")
        a("")
        a(f"**Where mig-top's cost is.** In each bpf visit, after the timed migrations, mig-top's")
        a(f"process is stopped (SIGSTOP) and {env['trace_migs']} more migrations run with its BPF programs still")
        a(f"attached and filling the ring buffer (`bpf_stopped`, always right after `bpf`): time ratio")
        a(f"{fr(bs['time_ratio_vs_off'])}" + (f" [overhead {ci[0]:+.3f} .. {ci[1]:+.3f}]" if ci else "")
          + f", against {fr(bb['time_ratio_vs_off'])} with the consumer running.")
        bci = bb.get("overhead_ci95")
        separated = bci and ci and bci[0] > ci[1]
        if separated:
            a("The intervals do not overlap: the BPF programs themselves cost about what the burst")
            a("predicts, and most of `bpf_overhead` is mig-top's user-space side competing with the")
            a("migration for the two vCPUs.")
        else:
            a("The intervals overlap: in this run the consumer's share cannot be told from noise.")
        a("A likely source of a consumer cost (a hypothesis, not measured here): `bpf/vfmig.bpf.c`")
        a("submits each phase event with `bpf_ringbuf_output(..., 0)`, whose adaptive notification")
        a("wakes a waiting consumer whenever it has caught up, i.e. up to once per event (a few")
        a("hundred wakeups per migration), and wakeups are expensive under TCG. `BPF_RB_NO_WAKEUP`")
        a("(or a wakeup every N events) with mig-top draining on its 50 ms poll timeout would take")
        a("them out; that is a change to `bpf/` and `tools/mig-top/`, outside the benchmark.")
    a("")
    # ---- 4 (rendered after 3's tables, before the drops)
    a("")
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
    a(f"| **total** (`events_dropped`) | | | **{dr['total']}** |")
    a("")
    a("## Reproducing")
    a("")
    a("```sh")
    a("make bench                       # about 10 minutes under TCG; one guest boot")
    a("bench/run --report-only          # re-render from build/bench/raw/")
    a("BENCH_REPS=11 make bench         # more repetitions (BENCH_* knobs: bench/guest-bench.sh)")
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
    a("## 4. Expected downtime")
    a("")
    a(f"Setup: the downtime matrix's devices, settings and dirty rates; per state size one pair and, per")
    a(f"dirty rate, {env.get('exp_reps', env['reps'])} PRE_COPY migrations (`migctl migrate -j -r`), all under one `mig-top -j -d 1`.")
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
def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", default=os.path.join(repo, "build/bench/raw"))
    ap.add_argument("--out", default=os.path.join(repo, "build/bench"))
    ap.add_argument("--vm-log", default=os.path.join(repo, "build/bench/vm.log"))
    ap.add_argument("--doc", default=os.path.join(repo, "docs/benchmarks.md"))
    ap.add_argument("--doc-svg", default=os.path.join(repo, "docs/benchmarks-downtime.svg"))
    args = ap.parse_args()

    env = jload(os.path.join(args.raw, "env.json"))
    host = jload(os.path.join(args.raw, "host.json"), {})
    jload(os.path.join(args.raw, "done.json"))
    vm = vm_info(args.vm_log)

    dt = downtime_analysis(args.raw, env)
    dp = datapath_analysis(args.raw)
    tr = tracing_analysis(args.raw, env)
    dr = drops_analysis(args.raw)
    ex = expected_analysis(args.raw, env)

    low64 = next((c for c in dt["cells"] if c["size"] == "64M" and c["rate"] == "low"), None)
    run = dict(host)
    run.update({k: v for k, v in vm.items()})
    run["guest"] = env
    res = {
        "downtime_reduction_low_dirty_64mib": low64["downtime_reduction"] if low64 else None,
        "stop_copy_bytes_ratio_low_dirty_64mib": low64["stop_copy_bytes_ratio"] if low64 else None,
        "save_read_vs_memcpy": rnd(dp["save_read_vs_memcpy_median"]),
        "resume_write_vs_memcpy": rnd(dp["resume_write_vs_memcpy_median"]),
        "bpf_overhead": tr["modes"]["bpf"].get("overhead"),
        "bpf_programs_only_overhead": tr["modes"].get("bpf_stopped", {}).get("overhead"),
        "tracefs_overhead": tr["modes"]["tracefs"].get("overhead"),
        "perf_overhead": tr["modes"]["perf"].get("overhead"),
        "ns_per_event_tracefs": tr["modes"]["tracefs"].get("ns_per_event"),
        "ns_per_event_bpf": tr["modes"]["bpf"].get("ns_per_event"),
        "ns_per_event_perf": tr["modes"]["perf"].get("ns_per_event"),
        "events_dropped": dr["total"],
        "expected_downtime_error_median": ex["learned"].get("abs_median"),
        "expected_downtime_error_p90": ex["learned"].get("abs_p90"),
        "host": f"{host.get('host_cpu', 'unknown CPU')}, {host.get('host_cpus', '?')} CPUs, "
                f"Linux {host.get('host_kernel', '?')} ({host.get('hostname', '?')})",
        "kernel": env.get("guest_kernel", vm.get("vm_kernel", "unknown")),
        "accel": vm["accel"],
        "date": host.get("date", "unknown"),
        "qemu": host.get("qemu", "unknown"),
        "cpu_model": vm["cpu_model"],
    }
    cis = {"downtime_reduction_low_dirty_64mib": low64.get("downtime_reduction_ci95") if low64 else None,
           "bpf_overhead": tr["modes"]["bpf"].get("overhead_ci95")}
    res["targets"] = {}
    for k, (op, thr, _) in TARGETS.items():
        t = {"op": op, "target": thr, "value": res.get(k), "met": check_target(k, res.get(k))}
        ci = cis.get(k)
        if ci:
            t["ci95"] = ci
            # conclusive: the whole interval is on one side of the target
            t["conclusive"] = check_target(k, ci[0]) == check_target(k, ci[1])
        res["targets"][k] = t
    res.update({"run": run, "downtime": dt, "datapath": dp, "tracing": tr, "drops": dr,
                "expected": ex})

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    svg = svg_downtime(dt, env, env["reps"])
    svg_path = os.path.join(args.out, "downtime.svg")
    with open(svg_path, "w") as f:
        f.write(svg)
    if args.doc:
        if args.doc_svg:
            shutil.copyfile(svg_path, args.doc_svg)
        write_doc(args.doc, os.path.basename(args.doc_svg or svg_path), res)

    print(f"bench: {os.path.join(args.out, 'results.json')}")
    for k in ("downtime_reduction_low_dirty_64mib", "stop_copy_bytes_ratio_low_dirty_64mib",
              "save_read_vs_memcpy", "resume_write_vs_memcpy", "bpf_overhead", "events_dropped",
              "expected_downtime_error_median"):
        t = res["targets"].get(k)
        met = "" if not t else ("  [target %s %s: %s]" % (t["op"], t["target"],
                                                            {True: "met", False: "NOT met", None: "?"}[t["met"]]))
        if t and t.get("ci95"):
            met += " 95%% CI %s%s" % (t["ci95"], "" if t.get("conclusive") else " (spans the target)")
        print(f"  {k} = {res[k]}{met}")
    if dt["failures"] or tr["failures"]:
        print(f"  failed migrations: downtime {dt['failures']}, tracing {tr['failures']}")


if __name__ == "__main__":
    main()
