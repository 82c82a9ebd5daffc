#!/bin/sh
# The guest half of `make check-debug` (tests/run-check --debug-kernel), run
# through tests/vm/vm-run on the debug kernel of scripts/debug-kernel.sh.
#
# In this guest only, build/debug/kernel/ and build/debug/mtty/ (vfmig.ko and
# the mtty/mdpy samples built for the debug kernel) are bind-mounted over
# build/kernel/ and build/mtty/, and build/debug/test-logs/ over
# build/test-logs/, so the guest tests load the debug modules unchanged and a
# `make check` running at the same time in the same tree keeps its logs.
#
#   debug-guest.sh suite
#       The whole guest suite (tests/vm/guest-suite), then a kmemleak scan:
#       every object leaked during the suite is written to
#       build/debug/test-logs/kmemleak.log and the result is appended to
#       build/debug/test-logs/guest-suite.results as
#       PASS|FAIL debug:kmemleak-clean. Exit status: the suite's.
#   debug-guest.sh faultinject [OPTIONS]
#       tests/vm/faultinject-guest.sh [OPTIONS] (the fault-injection pass).
#   debug-guest.sh trigger uaf|abba|leak
#       Loads the test-only build/debug/debugmod/debugmod.ko and triggers one
#       deliberate bug (the leak is followed by a kmemleak scan), for the
#       self-tests that prove vm-run fails such a run.
set -u
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/../guest/lib.sh"
require_guest

kmemleak=/sys/kernel/debug/kmemleak
logs=$VFMIG_BUILD/test-logs

debug_mounts() {
	[ -d "$VFMIG_BUILD/debug/kernel" ] || die "$VFMIG_BUILD/debug/kernel missing: run make check-debug"
	mkdir -p "$VFMIG_BUILD/kernel" "$VFMIG_BUILD/debug/test-logs" "$logs"
	mount --bind "$VFMIG_BUILD/debug/kernel" "$VFMIG_BUILD/kernel" ||
		die "cannot bind-mount build/debug/kernel in the guest"
	if [ -d "$VFMIG_BUILD/debug/mtty" ]; then
		mkdir -p "$VFMIG_BUILD/mtty"
		mount --bind "$VFMIG_BUILD/debug/mtty" "$VFMIG_BUILD/mtty" ||
			die "cannot bind-mount build/debug/mtty in the guest"
	fi
	mount --bind "$VFMIG_BUILD/debug/test-logs" "$logs" ||
		die "cannot bind-mount build/debug/test-logs in the guest"
}

# kmemleak_scan OUT: scan twice (kmemleak never reports an object younger
# than 5 s, and a second pass drops transient false positives), save the
# report to OUT and print the number of leaked objects.
kmemleak_scan() {
	sleep 6
	echo scan >"$kmemleak"
	sleep 1
	echo scan >"$kmemleak"
	cat "$kmemleak" >"$1"
	grep -c '^unreferenced object' "$1" || true
}

case ${1:-} in
suite)
	[ -w "$kmemleak" ] || die "$kmemleak missing: not the debug kernel?"
	debug_mounts
	# Only what the suite leaks counts: boot-time objects are older than
	# this point, and their reports (if any) are cleared first.
	echo clear >"$kmemleak"
	rc=0
	"$VFMIG_REPO/tests/vm/guest-suite" || rc=$?
	# Modules the suite left loaded keep their memory: unload the usual
	# ones so that only real leaks remain referenced by nothing.
	rmmod vfmig 2>/dev/null || true
	n=$(kmemleak_scan "$logs/kmemleak.log")
	if [ "$n" = 0 ]; then
		echo "PASS debug:kmemleak-clean" | tee -a "$logs/guest-suite.results"
	else
		echo "kmemleak: $n unreferenced objects (see $logs/kmemleak.log)"
		head -n 40 "$logs/kmemleak.log"
		echo "FAIL debug:kmemleak-clean" | tee -a "$logs/guest-suite.results"
	fi
	exit "$rc"
	;;
faultinject)
	shift
	debug_mounts
	exec "$VFMIG_REPO/tests/vm/faultinject-guest.sh" "$@"
	;;
trigger)
	debug_mounts
	what=${2:-}
	case $what in
	uaf | abba | leak) ;;
	*) die "usage: debug-guest.sh trigger uaf|abba|leak" ;;
	esac
	insmod "$VFMIG_BUILD/debug/debugmod/debugmod.ko" || die "insmod debugmod.ko failed"
	echo 1 >"/sys/kernel/debug/debugmod/$what" || die "trigger $what failed"
	echo "triggered $what"
	if [ "$what" = leak ]; then
		n=$(kmemleak_scan "$logs/debug-leak-kmemleak.log")
		echo "kmemleak: $n unreferenced objects"
		cat "$logs/debug-leak-kmemleak.log"
	fi
	;;
*)
	die "usage: debug-guest.sh suite | faultinject [OPTIONS] | trigger uaf|abba|leak"
	;;
esac
