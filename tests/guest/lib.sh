# shellcheck shell=sh
# Helpers for guest tests (tests/guest/*.test), sourced with
#   . "$(dirname "$0")/lib.sh"
# Tests run inside the vm-run guest as root, cwd = repo, with VFMIG_BUILD set
# by tests/vm/guest-suite. Exit 0 = pass, 77 = skip, anything else = fail.

VFMIG_REPO=${VFMIG_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
VFMIG_BUILD=${VFMIG_BUILD:-$VFMIG_REPO/build}
export VFMIG_REPO VFMIG_BUILD

die() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

info() {
	echo "# $*"
}

# Skip unless running inside the vm-run guest (the host cannot load modules).
require_guest() {
	[ "${VFMIG_IN_GUEST:-}" = 1 ] || skip "needs the vm-run guest (tests/vm/vm-run)"
}

module_loaded() {
	grep -q "^$1 " /proc/modules
}

# vfmig_load [PARAM=VALUE...]: load the VFIO core modules and build/kernel/vfmig.ko
# (unless already loaded). Skips while the driver has no kernel/Kbuild yet.
vfmig_load() {
	require_guest
	modprobe -a vfio vfio_iommu_type1 mdev || die "modprobe vfio vfio_iommu_type1 mdev failed"
	module_loaded vfmig && return 0
	if [ ! -r "$VFMIG_BUILD/kernel/vfmig.ko" ]; then
		[ -e "$VFMIG_REPO/kernel/Kbuild" ] || skip "vfmig.ko not written yet (no kernel/Kbuild)"
		die "$VFMIG_BUILD/kernel/vfmig.ko missing: run make"
	fi
	insmod "$VFMIG_BUILD/kernel/vfmig.ko" "$@" || die "insmod vfmig.ko failed"
}

# vfmig_unload: rmmod vfmig. A BPF program on vfmig's tracepoints (mig-top,
# mig-trace) holds the module until the kernel frees it, an RCU grace period
# after its tracer closed it: a module in use is retried for up to 10 s.
vfmig_unload() {
	module_loaded vfmig || return 0
	n=0
	until rmmod vfmig 2>/dev/null; do
		n=$((n + 1))
		if [ $n -ge 50 ]; then
			rmmod vfmig || die "rmmod vfmig failed"
			return 0
		fi
		sleep 0.2
	done
}
