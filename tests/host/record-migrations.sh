#!/bin/sh
# Makes tests/data/migrations.events, the recording that
# tests/host/prometheus.test replays: mig-trace records seven migrations
# between vfmig devices in the guest (PRE_COPY and the baseline, quick and
# slow firmware, a PRE_COPY fallback error, a LOAD failure that aborts one).
# Run in the guest from the repo (it is committed; rerun to refresh it):
#   tests/vm/vm-run --timeout 900 -- tests/host/record-migrations.sh build/migrations.events
set -eu
if [ "${1:-}" = --inner ]; then
	# The migrations, run under mig-trace record; devices in $A $B $C $D.
	m=$VFMIG_BUILD/bin/migctl
	sys=/sys/bus/mdev/devices
	fw() { echo "$2" >"$sys/$1/vfmig/fw_latency_us"; echo "$3" >"$sys/$1/vfmig/fw_throughput"; }
	fw "$A" 0 0
	fw "$B" 0 0
	"$m" migrate -q "$A" "$B"                 # PRE_COPY, quick firmware
	"$m" migrate -q -n "$B" "$A"              # the baseline
	fw "$A" 3000 200000000
	fw "$B" 3000 200000000
	"$m" migrate -q "$A" "$B"                 # PRE_COPY, slow firmware
	echo "save 2 bad_res_state" >"/sys/kernel/debug/vfmig/$C/fault_inject"
	"$m" migrate -q "$C" "$D"                 # PRE_COPY fallback (an error)
	echo "load 3 internal_err" >"/sys/kernel/debug/vfmig/$A/fault_inject"
	if "$m" migrate -q "$B" "$A" 2>/dev/null; then  # the target fails: no migration
		echo "the LOAD fault did not fail the migration" >&2
		exit 1
	fi
	fw "$A" 1000 0
	"$m" migrate -q -b 64M "$B" "$A"          # PRE_COPY, bandwidth cap
	fw "$D" 0 50000000
	"$m" migrate -q -n "$D" "$C"              # the baseline, slow SAVE
	exit 0
fi

out=${1:?usage: record-migrations.sh OUT}
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/../guest/lib.sh"
vfmig_load
types=/sys/class/vfmig/vfmig/mdev_supported_types/vfmig-16M
mk() {
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$types/create" || die "cannot create a vfmig-16M device"
	echo 2000 >"/sys/bus/mdev/devices/$u/vfmig/dirty_rate"
	echo "$u"
}
A=$(mk) B=$(mk) C=$(mk) D=$(mk)
export A B C D
"$VFMIG_BUILD/bin/mig-trace" record -o "$out" -- "$0" --inner || die "the migrations failed"
for u in "$A" "$B" "$C" "$D"; do echo 1 >"/sys/bus/mdev/devices/$u/remove"; done
vfmig_unload
grep -c . "$out"
