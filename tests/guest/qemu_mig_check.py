#!/usr/bin/env python3
"""Check a QEMU-driven vfmig migration against the kernel's own record.

    qemu_mig_check.py --mode precopy|baseline --report REPORT.json
                      --trace VFMIG.trace [--mig-top TOP.json] [--json OUT]

REPORT.json is tests/guest/qemu_migrate.py's report (run with --trace, so
it names QEMU's trace logs); VFMIG.trace is the text of
/sys/kernel/tracing/trace with the vfmig events of that migration only
(trace_clock mono). TOP.json is mig-top -j's output during it (optional).

Checks (each failure is printed as "FAIL: ..."; exit 1 if any):
- QEMU: status completed, the target runs, the source is postmigrate;
  its VFIO_MIGRATION events (migration-events=on) walk the expected states.
- integrity: target digest == source digest, read after the source stopped;
  the source device is in STOP, the target in RUNNING; no vfmig_error.
- the device's path (vfmig_state_step): precopy: PRE_COPY, initial and
  middle images, PRE_COPY_P2P -> STOP_COPY, an incremental final image;
  the switchover ack (QEMU trace: loadvm_approve_switchover on the target,
  source_return_path_thread_switchover_acked on the source before the
  device left PRE_COPY). baseline: no PRE_COPY, no precopy read, one full
  final image, no vfio_save_iterate in QEMU.
- bytes: query-migrate's vfio "transferred" == the bytes vfmig's
  vfmig_save_read returned to QEMU == the bytes the target's resume file
  took (vfmig_resume_write); QEMU's vfio_save_block trace has one line per
  successful read() with the same sizes; HMP's "vfio device transferred"
  is transferred >> 10 (kbytes, rounded down); the migration stream
  (ram "transferred", every byte QEMU wrote) holds at least the device data
  plus QEMU's 16-byte header (VFIO_MIG_FLAG_DEV_DATA_STATE, size) per block.
- mig-top (with --mig-top, run with -j -a): one migration record whose
  bytes equal the trace's and whose downtime equals the device window
  computed here (same events, same clock) within 50 us; its owners are the
  two QEMU processes (pid, comm qemu-system-x86, the device ids the test
  gave); its VMM view (uprobes on QEMU) is there, and on one clock with the
  device's arcs (mig-top's own ns stamps): the source's vm_stop_force_state
  call holds T0 (the device leaves the running states), the source's stop
  entry .. the return of qemu_savevm_state_complete_precopy_iterable holds
  the device's entry into STOP_COPY, and the stop's return .. that return
  holds the source's last STOP_COPY read (the trace's stamp, 1 us
  resolution: QEMU moves the device STOP_COPY -> STOP only in its cleanup,
  after the migration); the target's vm_start call holds its RESUMING ->
  STOP and T5; with PRE_COPY the target sent the switchover ack before the
  source stopped. These are calls and the device steps they make, not
  timings.

QEMU's trace stamps (realtime) are put on the trace's monotonic clock with
the report's clock pair; T0 must fall between QEMU's src-downtime-start and
src-vm-stopped checkpoints (1 ms slack).

Prints the numbers: QEMU's downtime, the device-level window (source
leaves the running states -> target RUNNING, docs/downtime.md), the part
from the source's STOP_COPY entry, and QEMU's downtime checkpoints placed
on the same clock.
"""
import argparse
import json
import re
import sys

TRACE_LINE = re.compile(r"^\s*(?P<task>.*)-(?P<pid>\d+)\s+\[\d+\]\s+\S+\s+"
                        r"(?P<ts>\d+\.\d+): (?P<event>vfmig_\w+): (?P<args>.*)$")
QEMU_LINE = re.compile(r"^(?P<pid>\d+)@(?P<ts>\d+\.\d+):(?P<event>\w+)\s*(?P<args>.*)$")
RUNNING_STATES = ("RUNNING", "PRE_COPY")
STOPPED_STATES = ("RUNNING_P2P", "PRE_COPY_P2P", "STOP", "STOP_COPY")
QEMU_BLOCK_HEADER = 16   # be64 VFIO_MIG_FLAG_DEV_DATA_STATE + be64 size


def parse_vfmig(path):
    evs = []
    with open(path) as f:
        for line in f:
            m = TRACE_LINE.match(line)
            if not m:
                continue
            e = {"ts": float(m["ts"]), "ev": m["event"][len("vfmig_"):],
                 "task": m["task"].strip(), "pid": int(m["pid"])}
            for tok in m["args"].split():
                k, _, v = tok.partition("=")
                e[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
            evs.append(e)
    evs.sort(key=lambda e: e["ts"])
    return evs


def parse_qemu(path):
    out = []
    with open(path) as f:
        for line in f:
            m = QEMU_LINE.match(line.rstrip("\n"))
            if m:
                out.append({"ts": float(m["ts"]), "ev": m["event"],
                            "args": m["args"], "pid": int(m["pid"])})
    return out


class Checker:
    def __init__(self):
        self.failures = []

    def check(self, cond, msg):
        if not cond:
            self.failures.append(msg)
        return cond


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("precopy", "baseline"), required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--mig-top")
    ap.add_argument("--json")
    a = ap.parse_args()
    c = Checker()
    ck = c.check
    rep = json.load(open(a.report))
    q = rep.get("query_migrate", {})
    ck("error" not in rep, "qemu_migrate.py: %s" % rep.get("error"))
    ck(rep.get("status") == "completed", "QEMU status %r" % rep.get("status"))
    ck(rep.get("dst_status") == "running", "target VM %r, not running" % rep.get("dst_status"))
    ck(rep.get("src_status") == "postmigrate",
       "source VM %r, not postmigrate" % rep.get("src_status"))
    ck(rep.get("src_digest") and rep.get("src_digest") == rep.get("dst_digest"),
       "digests differ: source %s target %s" % (rep.get("src_digest"), rep.get("dst_digest")))
    ck(rep.get("src_mig_state") == "STOP", "source device in %s, not STOP" % rep.get("src_mig_state"))
    ck(rep.get("dst_mig_state") == "RUNNING", "target device in %s" % rep.get("dst_mig_state"))

    # QEMU's VFIO_MIGRATION events: the device states QEMU set, in order.
    ev = rep.get("events", {})
    vstates = {r: [e["data"]["device-state"] for e in ev.get(r, [])
                   if e["event"] == "VFIO_MIGRATION"] for r in ("src", "dst")}
    want = {"src": ["pre-copy", "pre-copy-p2p", "stop-copy", "stop"] if a.mode == "precopy"
            else ["running-p2p", "stop", "stop-copy", "stop"],
            "dst": ["resuming", "running-p2p", "running"]}
    for r in ("src", "dst"):
        ck(vstates[r] == want[r], "%s VFIO_MIGRATION states %s, want %s" % (r, vstates[r], want[r]))

    # The kernel's record.
    evs = parse_vfmig(a.trace)
    opens = {}
    for e in evs:   # "kind=save open": the bare word is a key with value ""
        if e["ev"] == "file" and "open" in e:
            opens[e["kind"]] = e["dev"]
    ok = ck("save" in opens and "resume" in opens,
            "no save/resume file open in the vfmig trace (%d events)" % len(evs))
    if not ok:
        return finish(c, {}, a)
    sdev, ddev = opens["save"], opens["resume"]
    ck(sdev != ddev, "source and target are the same device")
    src = [e for e in evs if e["dev"] == sdev]
    dst = [e for e in evs if e["dev"] == ddev]
    errors = [e for e in evs if e["ev"] == "error"]
    ck(not errors, "vfmig_error events: %s" % errors[:3])

    steps = [e for e in src if e["ev"] == "state_step" and e["ret"] == 0]
    path = [(e["from"], e["to"]) for e in steps]
    to_sc = [e for e in steps if e["to"] == "STOP_COPY"]
    ck(len(to_sc) == 1, "source entered STOP_COPY %d times" % len(to_sc))
    images = [e for e in src if e["ev"] == "image_done"]
    kinds = [e["kind"] for e in images]
    finals = [e for e in images if e["kind"] == "final"]
    chunks = [e for e in src if e["ev"] == "image_chunk"]
    ck(len(finals) == 1 and finals[0]["status"] == 0, "final images: %s" % finals)
    if a.mode == "precopy":
        ck(("RUNNING", "PRE_COPY") in path, "source never went RUNNING -> PRE_COPY: %s" % path)
        ck(("PRE_COPY_P2P", "STOP_COPY") in path, "source path %s: no PRE_COPY_P2P -> STOP_COPY" % path)
        ck(kinds.count("initial") == 1, "initial images: %d" % kinds.count("initial"))
        ck(kinds.count("middle") >= 1, "no middle image (PRE_COPY iterations): %s" % kinds)
        fc = [e for e in chunks if e["kind"] == "final"]
        ck(all("FULL" not in str(e["flags"]) for e in fc), "final image is full: %s" % fc)
    else:
        ck(not any("PRE_COPY" in s for p in path for s in p), "baseline source used PRE_COPY: %s" % path)
        ck(("STOP", "STOP_COPY") in path, "source path %s: no STOP -> STOP_COPY" % path)
        ck(kinds == ["final"], "baseline images %s, want one final" % kinds)
        fc = [e for e in chunks if e["kind"] == "final"]
        ck(fc and all("FULL" in str(e["flags"]) for e in fc), "baseline final image not full")
        ck(not [e for e in src if e["ev"] == "precopy_info"], "baseline saw VFIO_MIG_GET_PRECOPY_INFO")
    dsteps = [(e["from"], e["to"]) for e in dst if e["ev"] == "state_step" and e["ret"] == 0]
    tail = [("STOP", "RESUMING"), ("RESUMING", "STOP"), ("STOP", "RUNNING_P2P"),
            ("RUNNING_P2P", "RUNNING")]
    ok = False
    for i in range(len(dsteps) - len(tail) + 1):
        ok = ok or dsteps[i:i + len(tail)] == tail
    ck(ok, "target path %s lacks STOP->RESUMING->STOP->RUNNING_P2P->RUNNING" % dsteps)

    # Bytes.
    reads = [e for e in src if e["ev"] == "save_read" and e["ret"] > 0]
    writes = [e for e in dst if e["ev"] == "resume_write" and e["ret"] > 0]
    t1 = to_sc[0]["ts"] if to_sc else float("inf")
    read_bytes = sum(e["ret"] for e in reads)
    pre_bytes = sum(e["ret"] for e in reads if e["ts"] < t1)
    stop_bytes = read_bytes - pre_bytes
    written = sum(e["ret"] for e in writes)
    vfio = q.get("vfio", {}).get("transferred")
    ck(vfio == read_bytes, "query-migrate vfio transferred %s != vfmig bytes read %d" % (vfio, read_bytes))
    ck(written == read_bytes, "target took %d bytes, source gave %d" % (written, read_bytes))
    if a.mode == "baseline":
        ck(pre_bytes == 0, "baseline read %d bytes before STOP_COPY" % pre_bytes)
    else:
        ck(pre_bytes > 0 and stop_bytes > 0, "precopy %d / stop_copy %d bytes" % (pre_bytes, stop_bytes))
    m = re.search(r"vfio device transferred: (\d+) kbytes", rep.get("hmp_info_migrate", ""))
    ck(m and vfio is not None and int(m.group(1)) == vfio >> 10,
       "HMP vfio kbytes %s, want %s >> 10" % (m and m.group(1), vfio))
    ram_tx = q.get("ram", {}).get("transferred", 0)
    ck(ram_tx >= read_bytes + QEMU_BLOCK_HEADER * len(reads),
       "stream %d bytes < device data %d + 16 x %d blocks" % (ram_tx, read_bytes, len(reads)))

    # QEMU's trace logs.
    qs = parse_qemu(rep["trace"]["src"])
    qd = parse_qemu(rep["trace"]["dst"])
    blocks = [int(re.search(r"data_size (\d+)", e["args"]).group(1))
              for e in qs if e["ev"] == "vfio_save_block"]
    ck(blocks == [e["ret"] for e in reads],
       "QEMU read sizes (vfio_save_block, %d) differ from vfmig_save_read (%d)"
       % (len(blocks), len(reads)))
    iters = [e for e in qs if e["ev"] == "vfio_save_iterate"]
    approve = [e for e in qd if e["ev"] == "loadvm_approve_switchover"]
    acked = [i for i, e in enumerate(qs) if e["ev"] == "source_return_path_thread_switchover_acked"]
    p2p = [i for i, e in enumerate(qs) if e["ev"] == "vfio_migration_set_state"
           and "new state PRE_COPY_P2P" in e["args"]]
    init_sent = [e for e in qd if e["ev"] == "vfio_load_state" and e["args"].endswith("0xffffffffef100005")]
    if a.mode == "precopy":
        ck(iters, "QEMU never iterated the device (vfio_save_iterate)")
        ck(init_sent, "target never got VFIO_MIG_FLAG_DEV_INIT_DATA_SENT")
        ck(approve, "target QEMU never approved the switchover (loadvm_approve_switchover)")
        ck(acked and p2p and acked[0] < p2p[0],
           "source: switchover ack %s not before PRE_COPY_P2P %s" % (acked, p2p))
    else:
        ck(not iters, "baseline: QEMU iterated the device %d times" % len(iters))
        ck(not init_sent, "baseline: INIT_DATA_SENT was sent")

    # Device-level window (docs/downtime.md) and QEMU's numbers.
    us = 1e6
    t0 = None
    for e in steps:
        if e["ts"] <= t1 and e["from"] in RUNNING_STATES and e["to"] in STOPPED_STATES:
            t0 = e["ts"] - e["ns"] / 1e9
    loaded = [e for e in dst if e["ev"] == "state_step" and e["from"] == "RESUMING" and e["ret"] == 0]
    t5 = None
    if loaded:
        run = [e for e in dst if e["ev"] == "set_state" and e["result"] == "RUNNING"
               and e["ret"] == 0 and e["ts"] > loaded[0]["ts"]]
        t5 = run[0]["ts"] if run else None
    ck(t0 is not None and t5 is not None, "no device window (T0 %s, T5 %s)" % (t0, t5))
    s = {"mode": a.mode, "qemu_downtime_ms": q.get("downtime"),
         "qemu_total_ms": q.get("total-time"), "qemu_setup_ms": q.get("setup-time"),
         "vfio_transferred": vfio, "vfmig_read_bytes": read_bytes,
         "vfmig_precopy_bytes": pre_bytes, "vfmig_stop_copy_bytes": stop_bytes,
         "vfmig_written_bytes": written, "qemu_blocks": len(blocks),
         "stream_bytes": ram_tx, "hmp_vfio_kbytes": int(m.group(1)) if m else None,
         "images": kinds, "digest": rep.get("src_digest")}
    if t0 is not None and t5 is not None:
        s["device_window_us"] = round((t5 - t0) * us)
        s["stop_copy_to_running_us"] = round((t5 - t1) * us)
        # QEMU's checkpoints (gettimeofday) on the monotonic clock of the trace.
        clk = rep.get("clock", {})
        off = (clk.get("real_ns", 0) - clk.get("mono_ns", 0)) / 1e9
        cps = {}
        for e in qs + qd:
            if e["ev"] == "vmstate_downtime_checkpoint":
                cps[e["args"].strip()] = round((e["ts"] - off - t0) * us)
        s["qemu_checkpoints_us_from_t0"] = cps
        # QEMU stops the VM (its VM-state handlers stop the device: T0)
        # between these two checkpoints; on one clock they must bracket T0.
        tol = 1000 + clk.get("error_ns", 0) / 1e3
        a0, a1 = cps.get("src-downtime-start"), cps.get("src-vm-stopped")
        ck(a0 is not None and a1 is not None and a0 - tol <= 0 <= a1 + tol,
           "QEMU's VM stop (%s .. %s us) does not bracket the device's stop (T0)"
           " on one clock: the clock pair is off" % (a0, a1))

    if a.mig_top:
        recs, arcs, devs, vmms = [], [], [], []
        with open(a.mig_top) as f:
            for line in f:
                try:
                    o = json.loads(line)
                except ValueError:
                    c.check(False, "mig-top printed a line that is not JSON: %r" % line)
                    continue
                {"migration": recs, "arc": arcs, "device": devs,
                 "vmm": vmms}.get(o["type"], []).append(o)
        if ck(len(recs) == 1, "mig-top reported %d migrations" % len(recs)):
            r = recs[0]
            b = r["bytes"]
            ck((b["precopy"], b["stop_copy"], b["written"]) == (pre_bytes, stop_bytes, written),
               "mig-top bytes %s, trace precopy %d stop_copy %d written %d"
               % (b, pre_bytes, stop_bytes, written))
            ck(sum(r["parts"].values()) == r["downtime_ns"], "mig-top parts do not add up")
            ck(not r.get("partial") and r.get("errors") == 0, "mig-top record %s" % r)
            if "device_window_us" in s:
                d = abs(r["downtime_ns"] / 1e3 - (t5 - t0) * us)
                ck(d <= 50, "mig-top downtime %d ns, trace window %.1f us (diff %.1f us)"
                   % (r["downtime_ns"], (t5 - t0) * us, d))
            s["mig_top_downtime_us"] = round(r["downtime_ns"] / 1e3)
            s["mig_top_parts_us"] = {k.replace("_ns", ""): round(v / 1e3)
                                     for k, v in r["parts"].items()}
            check_owners(c, rep, r, devs, vmms)
            last_sc = [e["ts"] for e in reads if e["ts"] >= t1]
            check_vmm(c, a.mode, rep, r, arcs, s,
                      round(last_sc[-1] * 1e9) if last_sc else None)
    return finish(c, s, a)


def check_owners(c, rep, r, devs, vmms):
    """mig-top names QEMU as the owner of both devices, with their ids."""
    ck = c.check
    for side in ("src", "dst"):
        o = r.get(side + "_owner") or {}
        want = {"pid": rep.get(side + "_pid"), "comm": "qemu-system-x86",
                "qemu_id": rep.get("dev_id", {}).get(side)}
        ck(o == want, "mig-top %s_owner %s, want %s" % (side, o, want))
        rows = [d for d in devs if d["dev"] == r[side + "_dev"] and d.get("owner")]
        ck(rows and rows[-1]["owner"] == want,
           "mig-top device rows of dev %d: owner %s, want %s"
           % (r[side + "_dev"], rows[-1]["owner"] if rows else None, want))
    ck(len(vmms) == 1 and vmms[0]["view"] and vmms[0]["probes"] >= 4
       and vmms[0]["comm"] == "qemu-system-x86",
       "mig-top's VMM probes on QEMU: %s" % vmms)


def check_vmm(c, mode, rep, r, arcs, s, t3):
    """The VMM view on one clock with the device's arcs (see the docstring)."""
    ck = c.check
    v = r.get("vmm")
    if not ck(v, "no VMM view in mig-top's record (vmm_note %r)" % r.get("vmm_note")):
        return
    ck(v["src_pid"] == rep.get("src_pid") and v["dst_pid"] == rep.get("dst_pid"),
       "VMM view of pids %s -> %s" % (v["src_pid"], v["dst_pid"]))
    ck(sum(v["parts"].values()) == v["window_ns"], "VMM parts do not add up")
    t = v["t_ns"]
    ck(all(t[k] for k in ("stop_vm_enter", "stop_vm_exit", "save_iterable_exit",
                          "save_complete_exit", "vm_start_enter", "vm_start_exit")),
       "VMM view lacks boundaries: %s (%s)" % (t, r.get("vmm_note")))
    sa = [e for e in arcs if e["dev"] == r["src_dev"] and e["ret"] == 0]
    da = [e for e in arcs if e["dev"] == r["dst_dev"] and e["ret"] == 0]
    t0 = r["t_start_ns"]
    t5 = r["t_end_ns"]
    into_sc = [e["ts_ns"] for e in sa if e["to"] == "STOP_COPY"]
    loaded = [e["ts_ns"] - e["ns"] for e in da if e["from"] == "RESUMING" and e["to"] == "STOP"]
    if not ck(into_sc and loaded and t3,
              "mig-top arcs lack STOP_COPY or RESUMING -> STOP (%d, %d arcs), or no "
              "STOP_COPY read in the trace" % (len(sa), len(da))) or \
            not all(t[k] for k in t if k != "switchover_ack"):
        return
    v0, v1, v2 = t["stop_vm_enter"], t["stop_vm_exit"], t["save_iterable_exit"]
    ck(v0 <= t0 <= v1, "T0 %d outside the source's vm_stop_force_state %d..%d" % (t0, v0, v1))
    ck(v0 <= into_sc[-1] <= v2,
       "the source entered STOP_COPY at %d, outside vm_stop_force_state entry %d .. "
       "complete_precopy_iterable return %d" % (into_sc[-1], v0, v2))
    # The trace's stamp t3 is truncated to the us: the true one is in [t3, t3 + 1 us).
    ck(v1 < t3 + 1000 and t3 <= v2,
       "the source's last STOP_COPY read (trace, %d ns) outside vm_stop_force_state's "
       "return %d .. complete_precopy_iterable's %d" % (t3, v1, v2))
    ck(t["vm_start_enter"] <= loaded[-1] and t5 <= t["vm_start_exit"],
       "the target's RESUMING -> STOP %d .. RUNNING %d outside its vm_start %d..%d"
       % (loaded[-1], t5, t["vm_start_enter"], t["vm_start_exit"]))
    if mode == "precopy":
        ck(t["switchover_ack"] and t["switchover_ack"] <= v0,
           "switchover ack %s not before the source stopped %d" % (t["switchover_ack"], v0))
    s["vmm_window_us"] = round(v["window_ns"] / 1e3)
    s["vmm_parts_us"] = {k.replace("_ns", ""): round(x / 1e3) for k, x in v["parts"].items()}
    s["vmm_from_t0_us"] = {k: round((x - t0) / 1e3) if x else None for k, x in t.items()}


def finish(c, s, a):
    for k, v in s.items():
        print("# %s: %s" % (k, v))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(s, f, indent=1)
    for msg in c.failures:
        print("FAIL: %s" % msg)
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
