#!/usr/bin/env python3
"""Live-migrate a VM with a vfmig device from one QEMU 10 process to another,
both in this machine, over QMP (tests/guest/qmp.py); prints a JSON report.

    qemu_migrate.py --src UUID --dst UUID --dir DIR [options]

Each QEMU is a 128 MiB q35 VM that only runs SeaBIOS (no disk), with the
mdev attached as `-device vfio-pci,sysfsdev=...,enable-migration=on`
(scripts/qemu10.sh gives the binary). The target starts with
`-incoming defer`; both get the capabilities events, return-path and
switchover-ack; the stream goes over TCP on 127.0.0.1. The script polls
query-migrate until completed or failed, waits for the target to run, reads
both devices' sysfs digests (the source's after it stopped: QEMU has it in
STOP when the migration completes), takes query-migrate of both sides and
HMP `info migrate` of the source, quits both QEMUs and prints:

    {"status", "qemu_version", "src_pid", "dst_pid", "dev_id" {"src", "dst"},
     "query_migrate" (source),
     "dst_query_migrate", "hmp_info_migrate", "src_digest", "dst_digest",
     "src_mig_state", "dst_mig_state", "events" {"src": [...], "dst": [...]},
     "trace" {"src": FILE, "dst": FILE} (with --trace),
     "clock" {"mono_ns", "real_ns", "error_ns"} (one reading of both clocks)}

Exit status 0 when the migration completed and the target runs, else 1
(the report is printed either way). Files (QMP sockets, QEMU's stderr,
trace logs) are kept in DIR.

QEMU estimates the downtime as pending bytes / the bandwidth it measured in
the last iteration, and switches over once that is below downtime-limit.
An idle VM with a device that has no PRE_COPY sends nothing while it
iterates, so that estimate never falls below the device's STOP_COPY size:
--avail-switchover-bandwidth tells QEMU the bandwidth instead.

--hold-file FILE: after the migration, wait until FILE exists before
quitting the QEMUs (the demo uses it to show both processes).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import QMP, QMPError  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# QEMU trace events (log backend, `-trace events=FILE -D LOG`): the VFIO
# migration steps, the switchover ack and the downtime checkpoints.
TRACE_EVENTS = """
vfio_migration_set_state
vfio_save_setup
vfio_save_iterate
vfio_save_block
vfio_save_block_precopy_empty_hit
vfio_save_complete_precopy
vfio_save_cleanup
vfio_state_pending_exact
vfio_load_state
vfio_load_state_device_data
vfio_load_cleanup
loadvm_approve_switchover
source_return_path_thread_switchover_acked
vmstate_downtime_checkpoint
"""


def sysfs(uuid, name):
    with open("/sys/bus/mdev/devices/%s/vfmig/%s" % (uuid, name)) as f:
        return f.read().strip()


def clock_pair():
    """One reading of CLOCK_MONOTONIC and CLOCK_REALTIME at the same moment:
    of 20 tries (monotonic, realtime, monotonic), the one whose monotonic
    readings are closest (a preemption between the calls, ms under TCG,
    would skew the pair); "error_ns" is that closest gap."""
    best = None
    for _ in range(20):
        m1 = time.monotonic_ns()
        r = time.time_ns()
        m2 = time.monotonic_ns()
        if best is None or m2 - m1 < best[0]:
            best = (m2 - m1, (m1 + m2) // 2, r)
    return {"mono_ns": best[1], "real_ns": best[2], "error_ns": best[0]}


def qemu_cmd():
    out = subprocess.run([os.path.join(REPO, "scripts", "qemu10.sh")],
                         check=True, capture_output=True, text=True).stdout
    return shlex.split(out)


class VM:
    def __init__(self, role, uuid, args):
        self.role = role
        d = args.dir
        self.qmp_path = os.path.join(d, role + ".qmp")
        self.log = os.path.join(d, role + ".trace")
        self.dev_id = getattr(args, role + "_id")
        dev = "vfio-pci,id=%s,sysfsdev=/sys/bus/mdev/devices/%s" % (self.dev_id, uuid)
        dev += ",enable-migration=on,migration-events=on"
        cmd = qemu_cmd() + [
            "-name", "vfmig-" + role, "-M", "q35", "-accel", "tcg",
            "-m", str(args.mem), "-nodefaults", "-nographic",
            "-serial", "none", "-monitor", "none",
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
            "-device", dev]
        if args.trace:
            cmd += ["-trace", "events=" + os.path.join(d, "trace-events"),
                    "-D", self.log, "-msg", "timestamp=on"]
        if role == "dst":
            cmd += ["-incoming", "defer"]
        self.cmdline = cmd
        self.err = open(os.path.join(d, role + ".err"), "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.err, stderr=subprocess.STDOUT)
        try:
            self.qmp = QMP(self.qmp_path, timeout=120)
        except Exception:
            self.kill()
            raise

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.err.close()

    def quit(self):
        try:
            self.qmp.cmd("quit", timeout=30)
        except (EOFError, OSError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        self.kill()


def events_of(vm, t0):
    """The QMP events of VM (name, data, seconds since T0 on QEMU's clock)."""
    out = []
    for ev in vm.qmp.events:
        ts = ev["timestamp"]["seconds"] + ev["timestamp"]["microseconds"] / 1e6
        out.append({"event": ev["event"], "data": ev.get("data", {}),
                    "t": round(ts - t0, 6)})
    return out


def migrate(args):
    os.makedirs(args.dir, exist_ok=True)
    if args.trace:
        with open(os.path.join(args.dir, "trace-events"), "w") as f:
            f.write(TRACE_EVENTS.lstrip())
    report = {"status": "not-started"}
    caps = [{"capability": c, "state": True}
            for c in ("events", "return-path", "switchover-ack")]
    uri = "tcp:127.0.0.1:%d" % args.port
    vms = []
    try:
        dst = VM("dst", args.dst, args)
        vms.append(dst)
        src = VM("src", args.src, args)
        vms.append(src)
        report["qemu_version"] = src.qmp.version
        report["src_pid"], report["dst_pid"] = src.proc.pid, dst.proc.pid
        report["dev_id"] = {"src": src.dev_id, "dst": dst.dev_id}
        for vm in (src, dst):
            vm.qmp.cmd("migrate-set-capabilities", {"capabilities": caps})
        dst.qmp.cmd("migrate-incoming", {"uri": uri})
        params = {}
        if args.max_bandwidth:
            params["max-bandwidth"] = args.max_bandwidth
        if args.downtime_limit:
            params["downtime-limit"] = args.downtime_limit
        if args.avail_switchover_bandwidth:
            params["avail-switchover-bandwidth"] = args.avail_switchover_bandwidth
        if params:
            src.qmp.cmd("migrate-set-parameters", params)
        # Let the source VM run (and its device's workload dirty state).
        time.sleep(args.settle)
        if src.qmp.cmd("query-status")["status"] != "running":
            raise RuntimeError("source VM is not running")
        t0 = time.time()
        src.qmp.cmd("migrate", {"uri": uri})
        deadline = time.monotonic() + args.timeout
        while True:
            info = src.qmp.cmd("query-migrate")
            report["status"] = info.get("status")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                src.qmp.cmd("migrate_cancel")
                raise RuntimeError("migration did not finish in %d s: %r"
                                   % (args.timeout, info))
            time.sleep(0.1)
        report["status"] = info["status"]
        report["query_migrate"] = info

        # After a failure the target QEMU has usually exited (its default
        # exit-on-error): what cannot be read is named in "unavailable".
        def attempt(key, fn):
            try:
                report[key] = fn()
            except (OSError, EOFError, TimeoutError, QMPError) as e:
                report.setdefault("unavailable", {})[key] = "%s: %s" % (type(e).__name__, e)

        if info["status"] == "completed":
            # The target runs once it has loaded everything (RESUME event).
            attempt("dst_resume", lambda: dst.qmp.wait_event("RESUME", timeout=120)["event"])
        attempt("dst_status", lambda: dst.qmp.cmd("query-status")["status"])
        attempt("src_status", lambda: src.qmp.cmd("query-status")["status"])
        attempt("dst_query_migrate", lambda: dst.qmp.cmd("query-migrate"))
        attempt("hmp_info_migrate", lambda: src.qmp.hmp("info migrate"))
        for role, uuid in (("src", args.src), ("dst", args.dst)):
            attempt(role + "_digest", lambda u=uuid: sysfs(u, "digest"))
            attempt(role + "_mig_state", lambda u=uuid: sysfs(u, "mig_state"))
        report["clock"] = clock_pair()
        if args.hold_file:
            while not os.path.exists(args.hold_file):
                time.sleep(0.2)
        for vm in (src, dst):
            try:
                vm.qmp.poll_events()
            except (OSError, EOFError):
                pass
        report["events"] = {vm.role: events_of(vm, t0) for vm in (src, dst)}
        if args.trace:
            report["trace"] = {vm.role: vm.log for vm in (src, dst)}
        report["cmdline"] = {vm.role: " ".join(vm.cmdline) for vm in (src, dst)}
    except Exception as e:  # the report says what went wrong
        report["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        for vm in vms:
            vm.quit()
    for vm in vms:
        with open(os.path.join(args.dir, vm.role + ".err")) as f:
            err = f.read()
        if err:
            report.setdefault("stderr", {})[vm.role] = err
    ok = (report["status"] == "completed" and report.get("dst_status") == "running"
          and "error" not in report)
    return report, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", required=True, help="source mdev UUID")
    ap.add_argument("--dst", required=True, help="target mdev UUID")
    ap.add_argument("--dir", required=True, help="work directory")
    ap.add_argument("--port", type=int, default=4444)
    ap.add_argument("--src-id", default="vf0", help="the source device's QEMU id")
    ap.add_argument("--dst-id", default="vf0", help="the target device's QEMU id")
    ap.add_argument("--mem", type=int, default=128, help="VM memory, MiB")
    ap.add_argument("--max-bandwidth", type=int, help="bytes/s (QEMU's default: 128 MiB/s)")
    ap.add_argument("--downtime-limit", type=int, help="ms (QEMU's default: 300)")
    ap.add_argument("--avail-switchover-bandwidth", type=int,
                    help="bytes/s QEMU assumes for the switchover (default: the "
                    "rate it measured in the last iteration)")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds the source runs before the migration starts")
    ap.add_argument("--timeout", type=int, default=90,
                    help="seconds the migration may take")
    ap.add_argument("--trace", action="store_true", help="QEMU trace logs in DIR")
    ap.add_argument("--hold-file", help="quit the QEMUs only once this file exists")
    ap.add_argument("--json", help="write the report here instead of stdout")
    args = ap.parse_args()
    report, ok = migrate(args)
    text = json.dumps(report, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
