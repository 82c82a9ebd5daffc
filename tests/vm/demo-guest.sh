#!/bin/sh
# The guest half of `make demo` (run by scripts/demo.sh through vm-run): loads
# the VFIO core and vfmig.ko and shows what the driver exposes. Placeholder
# until the full migration demo replaces it.
set -eu
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/../guest/lib.sh"

echo "== guest: $(uname -sr), $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MB" }' /proc/meminfo)"
modprobe -a vfio vfio_iommu_type1 mdev
echo "== VFIO core loaded:"
grep -E '^(vfio|vfio_iommu_type1|mdev) ' /proc/modules | awk '{ print "   " $1 }'

ko=$VFMIG_BUILD/kernel/vfmig.ko
if [ ! -r "$ko" ]; then
	echo "== $ko not built yet: nothing more to show"
	exit 0
fi
echo "== insmod $ko"
insmod "$ko"
echo "   $(grep '^vfmig ' /proc/modules)"
if [ -d /sys/kernel/tracing/events/vfmig ]; then
	echo "== vfmig tracepoints:"
	for e in /sys/kernel/tracing/events/vfmig/*/; do echo "   vfmig:$(basename "$e")"; done
fi
for t in /sys/class/mdev_bus/*/mdev_supported_types/*; do
	[ -d "$t" ] || continue
	echo "== mdev type $(basename "$t"): $(cat "$t/name" 2>/dev/null || true)," \
		"available_instances=$(cat "$t/available_instances" 2>/dev/null || echo ?)"
done
echo "== kernel log of vfmig:"
dmesg | grep -i vfmig | sed 's/^/   /' || true
rmmod vfmig
echo "== vfmig unloaded cleanly"
