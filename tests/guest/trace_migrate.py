#!/usr/bin/env python3
"""Drive vfmig PRE_COPY migrations so that every vfmig tracepoint fires.

Helper of tests/guest/40-trace-decode.test (derived from the smoke script):
run it inside the vm-run guest with vfmig.ko loaded, under a tracer
(perf record, trace-cmd record). For each pass it creates a source and a
target mdev, makes the source's workload dirty pages, migrates through
RUNNING -> PRE_COPY (initial image, middle images) -> PRE_COPY_P2P ->
STOP_COPY (final image) into the target (STOP -> RESUMING -> STOP ->
RUNNING), checks that the target's digest equals the source's, then tries
the refused arc STOP_COPY -> PRE_COPY (vfmig_error site=set_state), resets
the source (vfmig_device event=reset) and removes both devices.

Passes: "clean" (plain PRE_COPY) and "fault", where the source's second
firmware SAVE (the first middle image) fails with BAD_RES_STATE, so the
driver falls back to a full final image (vfmig_error site=precopy_fallback).

    trace_migrate.py [--pass clean|fault]... [--type SIZE] [--dirty-rate N]

Exit status 0 when every pass migrated the state intact, 1 otherwise.
"""
import argparse
import errno
import fcntl
import glob
import mmap
import os
import struct
import sys
import time
import uuid

VFIO_TYPE = 0x3B


def vfio_io(n):
    return (VFIO_TYPE << 8) | (100 + n)


VFIO_SET_IOMMU = vfio_io(2)
VFIO_GROUP_SET_CONTAINER = vfio_io(4)
VFIO_GROUP_GET_DEVICE_FD = vfio_io(6)
VFIO_DEVICE_RESET = vfio_io(11)
VFIO_DEVICE_FEATURE = vfio_io(17)
VFIO_MIG_GET_PRECOPY_INFO = vfio_io(21)
VFIO_TYPE1v2_IOMMU = 3

FEATURE_GET = 1 << 16
FEATURE_SET = 1 << 17
FEATURE_MIG_DEVICE_STATE = 2

STOP, RUNNING, STOP_COPY, RESUMING = 1, 2, 3, 4
PRE_COPY, PRE_COPY_P2P = 6, 7

TYPES_DIR = "/sys/class/vfmig/vfmig/mdev_supported_types"
MDEV_DIR = "/sys/bus/mdev/devices"
DEBUGFS_DIR = "/sys/kernel/debug/vfmig"  # the firmware model's test controls
READ_SIZE = 1 << 20


def log(*args):
    print("#", *args, flush=True)


def sysfs_write(path, value):
    # One raw write(): a buffered file would retry a failed write on close.
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def sysfs_read(path):
    with open(path) as f:
        return f.read().strip()


def mdev_type(size):
    hits = glob.glob(f"{TYPES_DIR}/*-{size}")
    if not hits:
        sys.exit(f"no mdev type *-{size} under {TYPES_DIR}")
    return hits[0]


class Dev:
    """One vfmig mdev opened through the VFIO group/container API."""

    def __init__(self, mtype, container, first):
        self.uuid = str(uuid.uuid4())
        sysfs_write(f"{mtype}/create", self.uuid)
        self.sysfs = f"{MDEV_DIR}/{self.uuid}/vfmig/"
        group = os.path.basename(os.readlink(f"{MDEV_DIR}/{self.uuid}/iommu_group"))
        self.group = os.open(f"/dev/vfio/{group}", os.O_RDWR)
        fcntl.ioctl(self.group, VFIO_GROUP_SET_CONTAINER, struct.pack("i", container))
        if first:
            fcntl.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
        # A mutable buffer makes ioctl() return the call's result: the fd.
        name = bytearray(self.uuid.encode() + b"\0")
        self.fd = fcntl.ioctl(self.group, VFIO_GROUP_GET_DEVICE_FD, name, True)

    def attr(self, name):
        return sysfs_read(self.sysfs + name)

    def set_attr(self, name, value):
        sysfs_write(self.sysfs + name, value)

    def fw_fault(self, spec):
        """Arms (or with "clear" disarms) a firmware fault: docs/device.md."""
        sysfs_write(f"{DEBUGFS_DIR}/{self.uuid}/fault_inject", spec)

    def _feature(self, flags, data):
        buf = bytearray(struct.pack("II", 8 + len(data), flags) + data)
        fcntl.ioctl(self.fd, VFIO_DEVICE_FEATURE, buf)
        return bytes(buf[8:])

    def set_state(self, state):
        """Returns the data fd the arc created, or -1."""
        out = self._feature(FEATURE_SET | FEATURE_MIG_DEVICE_STATE,
                            struct.pack("Ii", state, -1))
        return struct.unpack("Ii", out)[1]

    def get_state(self):
        out = self._feature(FEATURE_GET | FEATURE_MIG_DEVICE_STATE,
                            struct.pack("Ii", 0, -1))
        return struct.unpack("Ii", out)[0]

    def reset(self):
        fcntl.ioctl(self.fd, VFIO_DEVICE_RESET)

    def close(self):
        os.close(self.fd)
        os.close(self.group)
        sysfs_write(f"{MDEV_DIR}/{self.uuid}/remove", "1")


def precopy_info(fd):
    buf = bytearray(struct.pack("IIQQ", 24, 0, 0, 0))
    fcntl.ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, buf)
    return struct.unpack("IIQQ", buf)[2:]


def drain_precopy(fd, stream):
    """Read until the temporary end of the PRE_COPY stream (ENOMSG)."""
    while True:
        try:
            data = os.read(fd, READ_SIZE)
        except OSError as e:
            if e.errno == errno.ENOMSG:
                return
            raise
        stream += data


def migrate(args, fault):
    mtype = mdev_type(args.type)
    # A container per pass: it loses its IOMMU when its last group leaves.
    container = os.open("/dev/vfio/vfio", os.O_RDWR)
    src = Dev(mtype, container, True)
    dst = Dev(mtype, container, False)
    log(f"source {src.uuid} target {dst.uuid} type {os.path.basename(mtype)}")
    if fault:
        # The 2nd SAVE (the first middle image) fails: PRE_COPY fallback.
        src.fw_fault("save 2 bad_res_state")
    src.set_attr("dirty_rate", str(args.dirty_rate))
    # Two chunks of budget: the 4 MiB initial image cannot fit unread.
    src.set_attr("mig_budget", str(2 << 20))
    # Write through the BAR2 mapping too, like a guest would.
    bar2 = mmap.mmap(src.fd, 4 * 4096, mmap.MAP_SHARED,
                     mmap.PROT_READ | mmap.PROT_WRITE, offset=2 << 40)
    bar2[0:5] = b"hello"
    time.sleep(0.3)

    stream = bytearray()
    save = src.set_state(PRE_COPY)
    assert save >= 0 and src.get_state() == PRE_COPY
    # Nobody reads yet: the initial SAVE fills the file's budget and stalls
    # (vfmig_save_stall), reading resumes it.
    time.sleep(1.0)
    drain_precopy(save, stream)
    log("initial image read:", len(stream), "bytes, precopy info", precopy_info(save))
    bar2[4096:4100] = b"abcd"
    for _ in range(args.rounds):
        time.sleep(0.2)
        info = precopy_info(save)  # starts a middle image when dirty
        drain_precopy(save, stream)
        log("precopy info", info, "stream", len(stream))
    bar2.close()

    src.set_state(PRE_COPY_P2P)
    src.set_state(STOP_COPY)
    while True:
        data = os.read(save, READ_SIZE)
        if not data:
            break
        stream += data
    src_digest = src.attr("digest")
    log("stream", len(stream), "bytes, source digest", src_digest)

    dst.set_state(STOP)
    resume = dst.set_state(RESUMING)
    assert resume >= 0
    pos = 0
    while pos < len(stream):
        pos += os.write(resume, stream[pos:pos + 300000])
    dst.set_state(STOP)
    dst.set_state(RUNNING)
    dst_digest = dst.attr("digest")
    log("target digest", dst_digest)
    os.close(save)
    os.close(resume)

    # A refused arc: vfmig_error site=set_state.
    try:
        src.set_state(PRE_COPY)
        log("STOP_COPY -> PRE_COPY was accepted")
        ok_refused = False
    except OSError as e:
        ok_refused = e.errno == errno.EINVAL
    src.set_state(STOP)
    src.reset()
    src.fw_fault("clear")
    src.close()
    dst.close()
    os.close(container)
    ok = src_digest == dst_digest and ok_refused
    log("pass", "fault" if fault else "clean", "OK" if ok else "FAILED")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pass", dest="passes", action="append",
                    choices=("clean", "fault"),
                    help="passes to run, in order (default: clean fault)")
    ap.add_argument("--type", default="4M", help="mdev type size (default 4M)")
    ap.add_argument("--dirty-rate", type=int, default=2000,
                    help="source workload pages per second (default 2000)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="PRE_COPY iterations after the initial image")
    args = ap.parse_args()
    ok = True
    for name in args.passes or ["clean", "fault"]:
        ok = migrate(args, name == "fault") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
