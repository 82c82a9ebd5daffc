#!/usr/bin/env python3
"""Migrate vfmig devices while allocations on vfmig's call paths fail.

Helper of tests/vm/faultinject-guest.sh (make check-debug), which loads
vfmig.ko on the debug kernel. It points failslab and fail_page_alloc at the
module's text (require-start/require-end: an allocation fails only with a
vfmig function on its stack, so failures inside the VFIO core functions that
vfmig calls count too), sleeping allocations included (ignore-gfp-wait=N),
order 0 up (min-order=0). Each cycle creates a source and a target mdev and
migrates the source into the target (PRE_COPY, STOP_COPY, RESUMING,
RUNNING), with one of them on at a given probability, either from the start
("create" cycles: device creation and opening fail most) or only once both
devices are open ("migrate" cycles: the migration itself fails). Then it
checks what the cycle left behind:

- every failure surfaced as an OSError (a clean errno), and a migration that
  reported no error delivered the source's state intact (same digest);
- every device that was created can be reset (VFIO_DEVICE_RESET) and is
  RUNNING afterwards, and can be removed.

After the cycles, one migration without injection must succeed (the driver
is not wedged). Uses the VFIO helpers of tests/guest/trace_migrate.py.

Known upstream bug kept out of the way (reject-start/reject-end): Linux
6.12's vfio_create_group() (drivers/vfio/group.c) puts a half-made group
with group->iommu_group still set when dev_set_name() or cdev_device_add()
fails, so vfio_group_release() hits WARN_ON(group->iommu_group). Allocations
under vfio_create_group are therefore never failed.

    faultinject.py [--cycles-per-level N] [--type SIZE] [--stacks]

Exit status 0 when all of that held, 1 otherwise.
"""
import argparse
import collections
import errno
import fcntl
import glob
import mmap
import os
import struct
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "guest"))
import trace_migrate as tm  # noqa: E402

FI = {"slab": "/sys/kernel/debug/failslab",
      "page": "/sys/kernel/debug/fail_page_alloc"}
TIMES = 1000000
LEVELS = {"create": (2, 10, 50), "migrate": (1, 2, 5, 10, 25, 100)}
REJECT = ("vfio", "vfio_create_group")


def text_symbols():
    """{module: sorted [(address, function)]} of text symbols in /proc/kallsyms."""
    syms = collections.defaultdict(list)
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and parts[1] in ("t", "T"):
                syms[parts[3].strip("[]")].append((int(parts[0], 16), parts[2]))
    for mod in syms:
        syms[mod].sort()
    return syms


def fi_setup(verbose):
    syms = text_symbols()
    if not syms.get("vfmig"):
        sys.exit("vfmig has no text symbols in /proc/kallsyms: not loaded?")
    # The last function of the module is well under a page long.
    start, end = syms["vfmig"][0][0], syms["vfmig"][-1][0] + 4096
    rej = syms.get(REJECT[0], [])
    rstart = rend = 0
    for i, (addr, name) in enumerate(rej):
        if name == REJECT[1]:
            rstart = addr
            rend = rej[i + 1][0] if i + 1 < len(rej) else addr + 4096
    tm.log(f"fail only under vfmig's text {start:#x}..{end:#x}, "
           f"never under {REJECT[1]} {rstart:#x}..{rend:#x}")
    for path in FI.values():
        for attr, value in (("probability", 0), ("interval", 1), ("times", TIMES),
                            ("space", 0), ("verbose", verbose), ("ignore-gfp-wait", "N"),
                            ("task-filter", "N"), ("stacktrace-depth", 32),
                            ("require-start", start), ("require-end", end),
                            ("reject-start", rstart), ("reject-end", rend)):
            sysfs_write(f"{path}/{attr}", str(value))
    sysfs_write(f"{FI['page']}/min-order", "0")
    sysfs_write(f"{FI['page']}/ignore-gfp-highmem", "N")


def sysfs_write(path, value):
    """One write(2). Python's buffered files write again on close after a
    failed flush, so a failed mdev `create` would be retried behind our back
    (trace_migrate.sysfs_write has that retry)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def fi_set(kind, probability):
    sysfs_write(f"{FI[kind]}/times", str(TIMES))
    sysfs_write(f"{FI[kind]}/probability", str(probability))


def fi_off():
    """Turns injection off; returns how many faults each kind injected."""
    out = {}
    for kind, path in FI.items():
        sysfs_write(f"{path}/probability", "0")
        out[kind] = TIMES - int(tm.sysfs_read(f"{path}/times"))
        sysfs_write(f"{path}/times", str(TIMES))
    return out


class Dev:
    """A vfmig mdev that tolerates failing at any step of its creation."""

    def __init__(self, mtype, container, first, devs):
        """Appends itself to devs as soon as the mdev exists."""
        self.uuid = str(uuid.uuid4())
        self.sysfs = f"{tm.MDEV_DIR}/{self.uuid}/vfmig/"
        self.group = self.fd = None
        self.created = False
        sysfs_write(f"{mtype}/create", self.uuid)
        self.created = True
        devs.append(self)
        self.open(container, first)

    def open(self, container, first):
        if self.group is None:
            link = os.readlink(f"{tm.MDEV_DIR}/{self.uuid}/iommu_group")
            self.group = os.open(f"/dev/vfio/{os.path.basename(link)}", os.O_RDWR)
            fcntl.ioctl(self.group, tm.VFIO_GROUP_SET_CONTAINER,
                        struct.pack("i", container))
            if first:
                fcntl.ioctl(container, tm.VFIO_SET_IOMMU, tm.VFIO_TYPE1v2_IOMMU)
        if self.fd is None:
            name = bytearray(self.uuid.encode() + b"\0")
            self.fd = fcntl.ioctl(self.group, tm.VFIO_GROUP_GET_DEVICE_FD, name, True)

    # The state helpers of trace_migrate.Dev, on this object.
    _feature = tm.Dev._feature
    set_state = tm.Dev.set_state
    get_state = tm.Dev.get_state
    reset = tm.Dev.reset
    attr = tm.Dev.attr

    def release(self):
        for fd in (self.fd, self.group):
            if fd is not None:
                os.close(fd)
        self.fd = self.group = None
        if self.created:
            sysfs_write(f"{tm.MDEV_DIR}/{self.uuid}/remove", "1")
            self.created = False


def migrate(mtype, container, devs, fds, step, inject):
    """Migrates a new source into a new target; step[0] names the step."""
    step[0] = "create"
    if inject[1] == "create":
        fi_set(*inject[0])
    src = Dev(mtype, container, True, devs)
    dst = Dev(mtype, container, False, devs)
    if inject[1] == "migrate":
        fi_set(*inject[0])
    step[0] = "pre_copy"
    bar2 = mmap.mmap(src.fd, 4 * 4096, mmap.MAP_SHARED,
                     mmap.PROT_READ | mmap.PROT_WRITE, offset=2 << 40)
    bar2[0:8] = b"faultinj"
    bar2.close()
    stream = bytearray()
    save = src.set_state(tm.PRE_COPY)
    fds.append(save)
    tm.drain_precopy(save, stream)
    tm.precopy_info(save)
    tm.drain_precopy(save, stream)
    step[0] = "stop_copy"
    src.set_state(tm.STOP_COPY)
    while True:
        data = os.read(save, tm.READ_SIZE)
        if not data:
            break
        stream += data
    step[0] = "resuming"
    resume = dst.set_state(tm.RESUMING)
    fds.append(resume)
    pos = 0
    while pos < len(stream):
        pos += os.write(resume, stream[pos:pos + 300000])
    step[0] = "running"
    dst.set_state(tm.RUNNING)
    if src.attr("digest") != dst.attr("digest"):
        raise AssertionError(f"digest mismatch after a migration that reported "
                             f"no error: {src.attr('digest')} != {dst.attr('digest')}")


def recover(devs, fds):
    """With injection off: every device resets to RUNNING and is removed."""
    ok = True
    for fd in fds:
        os.close(fd)
    container = os.open("/dev/vfio/vfio", os.O_RDWR)
    first = True  # the next group attached to this container sets its IOMMU
    for d in devs:
        if not d.created:
            continue
        try:
            if d.fd is None:
                # Its creation stopped half way: finish opening it now.
                if d.group is not None:
                    os.close(d.group)
                    d.group = None
                d.open(container, first)
                first = False
            d.reset()
            state = d.get_state()
            if state != tm.RUNNING:
                tm.log(f"device {d.uuid}: state {state} after reset, want RUNNING")
                ok = False
        except OSError as e:
            tm.log(f"device {d.uuid}: recovery failed: {e}")
            ok = False
        try:
            d.release()
        except OSError as e:
            tm.log(f"device {d.uuid}: remove failed: {e}")
            ok = False
    os.close(container)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles-per-level", type=int, default=2)
    ap.add_argument("--type", default="4M", help="mdev type size (default 4M)")
    ap.add_argument("--stacks", action="store_true",
                    help="log a stack trace for every injected fault (verbose=2)")
    args = ap.parse_args()
    mtype = tm.mdev_type(args.type)
    fi_setup(2 if args.stacks else 1)
    fi_off()
    ok = True
    errnos = collections.Counter()
    injected = collections.Counter()
    ncycles = nclean = 0
    plan = [(phase, level, kind) for phase, levels in LEVELS.items()
            for level in levels for kind in FI]
    for phase, level, kind in plan:
        for _ in range(args.cycles_per_level):
            ncycles += 1
            devs, fds, step = [], [], [""]
            container = os.open("/dev/vfio/vfio", os.O_RDWR)
            outcome = "migrated"
            try:
                migrate(mtype, container, devs, fds, step, ((kind, level), phase))
                nclean += 1
            except OSError as e:
                outcome = f"{errno.errorcode.get(e.errno, e.errno)} at {step[0]}"
                errnos[outcome] += 1
            except AssertionError as e:
                outcome = f"BROKEN: {e}"
                ok = False
            finally:
                n = fi_off()
            injected.update(n)
            tm.log(f"cycle {ncycles}: {phase} {kind} {level}%: "
                   f"{n[kind]} faults injected, {outcome}")
            # Keep the old container open until recovery is done, so the
            # devices' fds stay valid for the reset.
            if not recover(devs, fds):
                ok = False
            os.close(container)
            known = {d.uuid for d in devs}
            for path in glob.glob(f"{tm.MDEV_DIR}/*/vfmig"):
                u = os.path.basename(os.path.dirname(path))
                tm.log(f"cycle {ncycles}: device {u} left behind "
                       f"({'one of ours' if u in known else 'its creation reported an error'})")
                sysfs_write(f"{tm.MDEV_DIR}/{u}/remove", "1")
                ok = False
    tm.log(f"{ncycles} cycles, {nclean} migrations completed, errors {dict(errnos)}, "
           f"faults injected {dict(injected)}")
    if sum(injected.values()) == 0:
        tm.log("no fault was injected: the filter matched nothing")
        ok = False
    tm.log("final migration without injection")
    final = argparse.Namespace(type=args.type, dirty_rate=1000, rounds=1)
    if not tm.migrate(final, False):
        ok = False
    tm.log("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
