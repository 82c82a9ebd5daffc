# SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
# vfmig-downtime.py: the downtime breakdown of every vfmig migration in a
# perf.data, the same as mig-top's (docs/downtime.md), and optionally where
# the CPUs spent the downtime window.
#
#   perf record -k mono -a -e 'vfmig:*' [-e cpu-clock -F 999 -g] -- CMD
#   perf script -s tools/perf/vfmig-downtime.py            # breakdown
#   VFMIG_JSON=1    perf script -s ...   # one JSON object per migration
#   VFMIG_PROFILE=1 perf script -s ...   # + CPU profile of each downtime
#                                        #   window (needs cpu-clock samples)
#
# -k mono makes perf timestamps CLOCK_MONOTONIC, the clock of mig-top and
# migctl. Fields are read by name (trace_unhandled's dict), so the script
# survives fields appended to the records. Pairing and part boundaries follow
# tools/lib/mig_events.c exactly: a target that reported a migration UUID
# (vfmig_mig_uuid, ABI v3) pairs only with the source of that UUID
# ("pairing": "uuid"); without one, by bytes and time ("bytes_time").
import json
import os
import sys
from collections import Counter, defaultdict

ST = {0: "ERROR", 1: "STOP", 2: "RUNNING", 3: "STOP_COPY", 4: "RESUMING",
      5: "RUNNING_P2P", 6: "PRE_COPY", 7: "PRE_COPY_P2P"}
STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P = 1, 2, 3, 4, 5, 6, 7
PARTS = ["source_suspend", "final_save", "drain", "target_load", "target_resume"]

JSON = os.environ.get("VFMIG_JSON") == "1" or "--json" in sys.argv
PROFILE = os.environ.get("VFMIG_PROFILE") == "1" or "--profile" in sys.argv


class Dev:
    def __init__(self, dev):
        self.dev = dev
        self.state = RUNNING
        self.mig_id = 0
        self.t_susp = 0
        self.reset(0, None)

    def reset(self, mig_id, role):
        t_susp = self.t_susp
        self.mig_id = mig_id
        self.role = role
        self.partial = False
        self.t_stopcopy = self.t_final_done = self.t_last_read = 0
        self.precopy_bytes = self.stopcopy_bytes = self.written = 0
        self.precopy_iters = self.images = self.errors = 0
        self.precopy = False
        self.paired = False
        self.t_loaded = 0
        self.t_open = 0
        self.uuid = None
        self.tai_off = None   # CLOCK_TAI - CLOCK_MONOTONIC from vfmig_mig_uuid
        self.t_susp = t_susp if role == "source" else 0


devs = {}
results = []
samples = []          # (time, cpu, comm, symbol, dso)
nevents = 0


def dev_of(n):
    if n not in devs:
        devs[n] = Dev(n)
    return devs[n]


def s32(v):
    v &= 0xffffffff
    return v - (1 << 32) if v & 0x80000000 else v


def s64(v):
    v &= 0xffffffffffffffff
    return v - (1 << 64) if v & (1 << 63) else v


def pair_source(tgt, now):
    best, best_match = None, False
    for s in devs.values():
        if s is tgt or s.role != "source" or s.paired or not s.t_stopcopy or s.t_stopcopy > now:
            continue
        if tgt.uuid is not None:
            if s.uuid == tgt.uuid:
                return s
            continue
        match = s.precopy_bytes + s.stopcopy_bytes == tgt.written
        if best is None or (match and not best_match) or \
           (match == best_match and s.t_stopcopy > best.t_stopcopy):
            best, best_match = s, match
    return best


def complete(tgt, now):
    src = pair_source(tgt, now)
    if src is None:
        return
    t = [0] * 6
    t[0] = src.t_susp or src.t_stopcopy
    t[1] = src.t_stopcopy
    t[3] = src.t_last_read or src.t_stopcopy
    t[2] = src.t_final_done or src.t_stopcopy
    if t[2] > t[3]:
        t[2] = t[3]
    t[4] = tgt.t_loaded or now
    t[5] = now
    for i in range(1, 6):
        t[i] = max(t[i], t[i - 1])
    r = {
        "type": "migration", "mig_uuid": tgt.uuid,
        "pairing": "uuid" if tgt.uuid is not None else "bytes_time",
        "src_tai_offset_ns": src.tai_off, "dst_tai_offset_ns": tgt.tai_off,
        "src_dev": src.dev, "dst_dev": tgt.dev,
        "src_mig_id": src.mig_id, "dst_mig_id": tgt.mig_id,
        "t_start_ns": t[0], "t_end_ns": t[5], "downtime_ns": t[5] - t[0],
        "parts": {PARTS[i] + "_ns": t[i + 1] - t[i] for i in range(5)},
        "bytes": {"precopy": src.precopy_bytes, "stop_copy": src.stopcopy_bytes,
                  "total": src.precopy_bytes + src.stopcopy_bytes,
                  "written": tgt.written},
        "bytes_match": src.precopy_bytes + src.stopcopy_bytes == tgt.written,
        "precopy": src.precopy, "precopy_iterations": src.precopy_iters,
        "images": src.images, "errors": src.errors + tgt.errors,
        "partial": src.partial or tgt.partial or not src.t_susp,
    }
    src.paired = True
    tgt.role = None
    results.append(r)


def is_running(s):
    return s in (RUNNING, PRE_COPY)


def feed(ev, ts, f):
    global nevents
    nevents += 1
    d = dev_of(f["dev"])
    mig_id, state = f["mig_id"], f["state"]
    if mig_id > d.mig_id and ev != "vfmig_file":
        role = "target" if state == RESUMING else \
            "source" if state in (PRE_COPY, PRE_COPY_P2P, STOP_COPY) else None
        d.reset(mig_id, role)
        d.partial = role is not None
        d.precopy = state in (PRE_COPY, PRE_COPY_P2P)
    if ev == "vfmig_state_step":
        if s32(f["ret"]):
            return
        frm, to = f["from"], f["to"]
        if is_running(frm) and not is_running(to):
            d.t_susp = ts - f["ns"]
        if is_running(to):
            d.t_susp = 0
        if to == STOP_COPY and d.role == "source":
            d.t_stopcopy = ts
        if frm == RESUMING and to == STOP and d.role == "target":
            d.t_loaded = ts
        d.state = to
    elif ev == "vfmig_set_state":
        d.state = f["result"]
        if not s32(f["ret"]) and f["result"] == RUNNING and d.role == "target" and \
           (d.t_loaded or d.partial):
            complete(d, ts)
    elif ev == "vfmig_file":
        if f["open"]:
            d.reset(mig_id, "source" if f["kind"] == 0 else "target")
            d.t_open = ts
            d.precopy = state in (PRE_COPY, PRE_COPY_P2P, RUNNING, RUNNING_P2P)
    elif ev == "vfmig_image_done":
        if mig_id == d.mig_id:
            if not s32(f["status"]):
                d.images += 1
            if f["kind"] == 2:
                d.t_final_done = ts
    elif ev == "vfmig_save_read":
        ret = s64(f["ret"])
        if mig_id == d.mig_id and ret > 0:
            if state == STOP_COPY:
                d.stopcopy_bytes += ret
                d.t_last_read = ts
            else:
                d.precopy_bytes += ret
    elif ev == "vfmig_resume_write":
        ret = s64(f["ret"])
        if mig_id == d.mig_id and ret > 0:
            d.written += ret
    elif ev == "vfmig_precopy_info":
        if mig_id == d.mig_id and not s32(f["ret"]) and f["save_issued"]:
            d.precopy_iters += 1
    elif ev == "vfmig_error":
        d.errors += 1
    elif ev == "vfmig_mig_uuid":
        if mig_id == d.mig_id:
            d.uuid = uuid_text(f["uuid"])
            d.tai_off = f["tai_ns"] - f["mono_ns"]


def uuid_text(v):
    """perf hands a u8[16] field over as bytes, a bytearray or a list."""
    b = v.encode("latin-1") if isinstance(v, str) else bytes(v)
    h = b[:16].hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def trace_unhandled(event_name, context, fields, *rest):
    name = event_name.split("__", 1)[-1]
    if not name.startswith("vfmig_"):
        return
    ts = fields["common_s"] * 1000000000 + fields["common_ns"] \
        if "common_s" in fields else fields["common_secs"] * 1000000000 + fields["common_nsecs"]
    feed(name, ts, fields)


def process_event(param):
    """Non-tracepoint samples (cpu-clock...): kept for the profile mode."""
    if not PROFILE:
        return
    s = param.get("sample", {})
    samples.append((s.get("time", 0), s.get("cpu", -1), param.get("comm", "?"),
                    param.get("symbol") or "[unknown]", param.get("dso") or "?"))


def fmt_ns(ns):
    if ns < 1000:
        return "%dns" % ns
    if ns < 1000000:
        return "%.1fus" % (ns / 1e3)
    if ns < 1000000000:
        return "%.3fms" % (ns / 1e6)
    return "%.3fs" % (ns / 1e9)


def print_text(r):
    tot = r["downtime_ns"]
    print("migration dev %d -> dev %d: downtime %.3f ms, %d bytes (precopy %d, stop_copy %d)%s"
          % (r["src_dev"], r["dst_dev"], tot / 1e6, r["bytes"]["total"],
             r["bytes"]["precopy"], r["bytes"]["stop_copy"],
             " [partial]" if r["partial"] else ""))
    print("  migration %s (paired by UUID)" % r["mig_uuid"] if r["mig_uuid"]
          else "  no migration UUID: paired by bytes and time")
    width = 50
    bar = ""
    for i, p in enumerate(PARTS):
        bar += "SFDLR"[i] * int(round(r["parts"][p + "_ns"] * width / tot if tot else 0))
    print("  [%s]" % bar[:width].ljust(width))
    for p in PARTS:
        v = r["parts"][p + "_ns"]
        print("  %-15s %10.3f ms %5.1f%%" % (p, v / 1e6, 100.0 * v / tot if tot else 0))


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
    if JSON:
        for r in results:
            print(json.dumps(r, separators=(",", ":")))
        print(json.dumps({"type": "summary", "events": nevents,
                          "migrations": len(results)}, separators=(",", ":")))
        return
    print("vfmig-downtime: %d vfmig events, %d migration(s)" % (nevents, len(results)))
    for r in results:
        print_text(r)
        if PROFILE:
            print_profile(r)
