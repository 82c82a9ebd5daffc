#!/usr/bin/env python3
# Checks of tests/pair/20-twohost-migctl.test (stdlib only):
#   twohost_check.py join JOIN.json SEND.json RECEIVE.json A.events B.events
#   twohost_check.py qemu JOIN.json REPORT.json SERVE.json A.events B.events
#   twohost_check.py perfetto TRACE.json JOIN.json
#   twohost_check.py clockproblem JOIN.json TEXT
# Each prints what it measured and exits 1 with the reason on a failure.
import json
import sys


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def lines(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def uuids(events):
    """mig_uuid events of an event file: {(kind, dev, mig_id): uuid}."""
    out = {}
    for l in open(events):
        if l.startswith("#"):
            continue
        f = l.split()
        if len(f) >= 13 and f[1] == "mig_uuid":
            hi, lo = int(f[7]) & (2**64 - 1), int(f[8]) & (2**64 - 1)
            h = "%016x%016x" % (hi, lo)
            u = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
            out[(int(f[6]), int(f[2]), int(f[4]))] = u
    return out


def joined(join, ev_a, ev_b):
    """The one joined migration of JOIN, checked against the recordings."""
    j = lines(join)
    if len(j) != 1:
        fail("%d joined records, want 1: %s" % (len(j), j))
    j = j[0]
    print("# joined: %s" % json.dumps(j))
    if not j["joined"] or not j["clock_ok"]:
        fail("not joined cleanly: %s" % j["clock_problems"])
    # The UUID is the one the source drew (A, kind 0) and the target read (B, kind 1).
    ua = [u for (k, dev, mig), u in uuids(ev_a).items() if k == 0]
    ub = [u for (k, dev, mig), u in uuids(ev_b).items() if k == 1]
    if ua != [j["mig_uuid"]] or ub != [j["mig_uuid"]]:
        fail("UUID %s: source's %s, target's %s" % (j["mig_uuid"], ua, ub))
    if j["source"]["host"] != "vfmig-a" or j["target"]["host"] != "vfmig-b":
        fail("hosts %s -> %s" % (j["source"]["host"], j["target"]["host"]))
    if not j["bytes_match"] or j["bytes"]["read"] != j["bytes"]["written"]:
        fail("bytes %s" % j["bytes"])
    # The parts sum to the window exactly; boundaries in order.
    parts = j["parts"]
    if sum(parts.values()) != j["window_ns"]:
        fail("parts sum to %d, window %d" % (sum(parts.values()), j["window_ns"]))
    t = j["t_tai_ns"]
    order = ["suspend", "stop_copy", "final_done", "last_read", "last_write", "loaded", "running"]
    if j["window_ns"] != t["running"] - t["suspend"]:
        fail("window %d != running - suspend %d" % (j["window_ns"], t["running"] - t["suspend"]))
    u = j["uncertainty_ns"]
    for a, b in zip(order, order[1:]):
        if t[b] < t[a] - (u if (a, b) == ("last_read", "last_write") else 0):
            fail("%s (%d) before %s (%d)" % (b, t[b], a, t[a]))
    # The window holds both hosts' own windows.
    if not (j["source_window_ns"] <= j["window_ns"] and j["target_window_ns"] <= j["window_ns"]):
        fail("window %d does not hold the source's %d and the target's %d"
             % (j["window_ns"], j["source_window_ns"], j["target_window_ns"]))
    print("# end-to-end window %.3f ms +- %.3f ms; parts (ms): %s"
          % (j["window_ns"] / 1e6, u / 1e6,
             ", ".join("%s %.3f" % (k[:-3], v / 1e6) for k, v in parts.items())))
    if j["source_released_tai_ns"] is not None:
        print("# the source was released %.3f ms %s the target ran"
              % (abs(j["source_released_tai_ns"] - t["running"]) / 1e6,
                 "after" if j["source_released_tai_ns"] >= t["running"] else "before"))
    return j


def check_qemu(join, report, serve, ev_a, ev_b):
    j = joined(join, ev_a, ev_b)
    r = json.load(open(report))
    s = json.load(open(serve))
    if r.get("status") != "completed" or r.get("dst_status") != "running":
        fail("QEMU: status %s, target %s, error %s" % (r.get("status"), r.get("dst_status"),
                                                      r.get("error")))
    if r.get("src_digest") != s.get("dst_digest"):
        fail("digests: source %s, target %s" % (r.get("src_digest"), s.get("dst_digest")))
    vfio = r["query_migrate"].get("vfio", {}).get("transferred")
    if vfio != j["bytes"]["read"]:
        fail("QEMU's vfio transferred %s, the source read %d" % (vfio, j["bytes"]["read"]))
    print("# QEMU: downtime %s ms (source only), total %s ms, vfio %d bytes, digest %s"
          % (r["query_migrate"].get("downtime"), r["query_migrate"].get("total-time"), vfio,
             r["src_digest"]))


def check_join(join, send, receive, ev_a, ev_b):
    j = joined(join, ev_a, ev_b)
    s = json.load(open(send))
    r = json.load(open(receive))
    u = j["uncertainty_ns"]
    t = j["t_tai_ns"]
    parts = j["parts"]
    if j["bytes"]["read"] != s["total_bytes"] or j["bytes"]["written"] != r["total_bytes"]:
        fail("bytes %s, migctl send %d, receive %d" % (j["bytes"], s["total_bytes"], r["total_bytes"]))
    if s.get("verified") is not True:
        fail("migctl send --verify: %s" % s.get("verified"))
    # It lies inside migctl's cross-host window, within the clocks' error.
    m0, m5 = s["t_suspend_tai_ns"], r["t_running_tai_ns"]
    if not (m0 - u <= t["suspend"] and t["running"] <= m5 + u):
        fail("kernel window [%d, %d] outside migctl's [%d, %d] +- %d"
             % (t["suspend"], t["running"], m0, m5, u))
    mw = m5 - m0
    print("# end-to-end window %.3f ms +- %.3f ms; migctl's cross-host window %.3f ms"
          " (%.1f%% more); migctl send's own downtime %.3f ms"
          % (j["window_ns"] / 1e6, u / 1e6, mw / 1e6, 100.0 * (mw - j["window_ns"]) / mw,
             s["downtime_ns"] / 1e6))
    print("# parts (ms): " + ", ".join("%s %.3f" % (k[:-3], v / 1e6) for k, v in parts.items()))


def check_perfetto(trace, join):
    d = json.load(open(trace))
    j = lines(join)[0]
    ev = d["traceEvents"]
    known = {"X", "B", "E", "C", "M", "i", "I", "s", "t", "f"}
    last = {}
    stack = {}
    procs = {}
    threads = {}
    for e in ev:
        ph = e.get("ph")
        if ph not in known:
            fail("unknown phase %r: %s" % (ph, e))
        if ph == "M":
            if e["name"] == "process_name":
                procs[e["pid"]] = e["args"]["name"]
            elif e["name"] == "thread_name":
                threads[(e["pid"], e["tid"])] = e["args"]["name"]
            continue
        if not isinstance(e.get("ts"), (int, float)) or e["ts"] < 0:
            fail("bad ts: %s" % e)
        key = (e["pid"], e.get("tid", 0), ph == "C" and e["name"])
        if e["ts"] < last.get(key, 0):
            fail("timestamps go back on track %s: %s" % (key, e))
        last[key] = e["ts"]
        if ph == "X" and (not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0):
            fail("X without a duration: %s" % e)
        if ph == "B":
            stack.setdefault(key, []).append(e)
        if ph == "E":
            if not stack.get(key):
                fail("E without B: %s" % e)
            stack[key].pop()
    if any(stack.values()):
        fail("unbalanced B/E")
    # Slices nest on every track.
    tracks = {}
    for e in ev:
        if e["ph"] == "X":
            tracks.setdefault((e["pid"], e["tid"]), []).append(e)
    for k, xs in tracks.items():
        open_ = []
        for e in xs:
            while open_ and e["ts"] >= open_[-1]["ts"] + open_[-1]["dur"] - 1e-6:
                open_.pop()
            if open_ and e["ts"] + e["dur"] > open_[-1]["ts"] + open_[-1]["dur"] + 1e-3:
                fail("slices overlap without nesting on %s: %s / %s" % (k, open_[-1], e))
            open_.append(e)
    # What the recording holds.
    if sorted(procs.values()) != ["host vfmig-a", "host vfmig-b"]:
        fail("processes %s" % procs)
    pa = [p for p, n in procs.items() if n == "host vfmig-a"][0]
    pb = [p for p, n in procs.items() if n == "host vfmig-b"][0]
    names = lambda pid, what: {e["name"] for e in ev if e["ph"] == "X" and e["pid"] == pid
                               and what in threads.get((pid, e["tid"]), "")}
    for want in ("PRE_COPY", "PRE_COPY_P2P", "STOP_COPY"):
        if want not in names(pa, "states"):
            fail("no %s slice on A: %s" % (want, names(pa, "states")))
    for want in ("RESUMING", "RUNNING"):
        if want not in names(pb, "states"):
            fail("no %s slice on B: %s" % (want, names(pb, "states")))
    if "image 0 initial" not in names(pa, "images") or \
       not any(n.startswith("image") and n.endswith("final") for n in names(pa, "images")):
        fail("images on A: %s" % names(pa, "images"))
    if "load image 0" not in names(pb, "images"):
        fail("loads on B: %s" % names(pb, "images"))
    if not {"SAVE", "SUSPEND"} <= names(pa, "firmware") or "LOAD" not in names(pb, "firmware"):
        fail("firmware commands: A %s, B %s" % (names(pa, "firmware"), names(pb, "firmware")))
    counters = {e["name"] for e in ev if e["ph"] == "C"}
    if not any("bytes read" in c for c in counters) or not any("bytes written" in c for c in counters):
        fail("counters %s" % counters)
    outs = {e["bind_id"] for e in ev if e.get("flow_out")}
    ins = {e["bind_id"] for e in ev if e.get("flow_in")}
    if not outs or not ins <= outs:
        fail("flows: %d out, %d in, %d without a source" % (len(outs), len(ins), len(ins - outs)))
    w = [e for e in ev if e["ph"] == "X" and e["name"] == "end-to-end downtime"]
    if len(w) != 1 or w[0]["pid"] != pa or abs(w[0]["dur"] * 1000 - j["window_ns"]) > 1:
        fail("end-to-end slice %s, window %d ns" % (w, j["window_ns"]))
    print("# perfetto: %d events, %d tracks, %d flows, counters %s"
          % (len(ev), len(tracks), len(ins), sorted(counters)))


def check_clockproblem(join, text):
    j = lines(join)
    if len(j) != 1:
        fail("%d joined records, want 1" % len(j))
    j = j[0]
    print("# joined: %s" % json.dumps(j))
    if j["clock_ok"] or j["window_ns"] is not None or j["parts"]["transport_ns"] is not None:
        fail("a window across a clock problem: %s" % j)
    if not any(text in p for p in j["clock_problems"]):
        fail("no problem mentions %r: %s" % (text, j["clock_problems"]))
    if not j["bytes_match"]:
        fail("bytes %s" % j["bytes"])


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "join" and len(sys.argv) == 7:
        check_join(*sys.argv[2:])
    elif what == "qemu" and len(sys.argv) == 7:
        check_qemu(*sys.argv[2:])
    elif what == "perfetto" and len(sys.argv) == 4:
        check_perfetto(*sys.argv[2:])
    elif what == "clockproblem" and len(sys.argv) == 4:
        check_clockproblem(*sys.argv[2:])
    else:
        sys.exit(__doc__ or "usage: see the header")
