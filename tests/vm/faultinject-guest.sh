#!/bin/sh
# The fault-injection pass of `make check-debug` (debug:faultinject), run in a
# vm-run guest on the debug kernel: loads the debug build of vfmig.ko, points
# failslab and fail_page_alloc at the module's text (a failure is injected
# only into allocations with a vfmig function on the stack, sleeping ones
# included), and runs tests/vm/faultinject.py, which migrates devices while
# injection is on at several probabilities and checks that every failure is
# a clean error and every device resets to RUNNING. Then no mdev device may be
# left, `rmmod vfmig` must work and kmemleak must find nothing leaked.
# A splat anywhere fails the run through vm-run. Run it through
# `tests/vm/debug-guest.sh faultinject`, which puts the debug build of
# vfmig.ko in place.
#   faultinject-guest.sh [faultinject.py options]
set -u
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/../guest/lib.sh"
require_guest

dbgfs=/sys/kernel/debug
kmemleak=$dbgfs/kmemleak
if [ ! -d "$dbgfs/failslab" ] || [ ! -d "$dbgfs/fail_page_alloc" ] || [ ! -w "$kmemleak" ]; then
	die "failslab, fail_page_alloc or kmemleak missing: not the debug kernel?"
fi
echo clear >"$kmemleak"
vfmig_load

# faultinject.py sets failslab and fail_page_alloc up (require-start/end =
# vfmig's text, ignore-gfp-wait=N, ...) and switches them on and off.
rc=0
python3 "$VFMIG_REPO/tests/vm/faultinject.py" "$@" || rc=1
for fi in failslab fail_page_alloc; do echo 0 >"$dbgfs/$fi/probability"; done

for d in /sys/bus/mdev/devices/*; do
	[ -e "$d/vfmig" ] || continue
	echo "FAIL: leftover mdev device $(basename "$d")"
	echo 1 >"$d/remove" || true
	rc=1
done
if rmmod vfmig; then
	info "rmmod vfmig ok"
else
	echo "FAIL: rmmod vfmig failed"
	rc=1
fi
sleep 6
echo scan >"$kmemleak"
sleep 1
echo scan >"$kmemleak"
leaks=$(grep -c '^unreferenced object' "$kmemleak" || true)
if [ "$leaks" != 0 ]; then
	echo "FAIL: kmemleak: $leaks unreferenced objects"
	cat "$kmemleak"
	rc=1
fi
[ "$rc" = 0 ] && info "fault injection pass OK"
exit "$rc"
