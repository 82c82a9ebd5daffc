# shellcheck shell=bash disable=SC2154 # run-check's variables
# The tests that only the debug lane runs (make check-debug), sourced by
# tests/run-check --debug-kernel DIR after the guest suite. Uses run-check's
# result, verdict_of, vmrun, vmopts, modb, logs and B.
#
#   debug:kmemleak-clean     nothing the guest suite allocated leaked
#                            (tests/vm/debug-guest.sh suite scanned after it)
#   debug:kasan-detected     self-test: a use-after-free in the test-only
#   debug:lockdep-detected     module tests/vm/debugmod, an ABBA lock-order
#   debug:kmemleak-detected    inversion and a leak each fail vm-run (125)
#   debug:faultinject        allocations on vfmig's call paths fail at random
#                            while migrations run (tests/vm/faultinject-guest.sh):
#                            clean errors, devices recover by reset, rmmod
#                            works, no splat and no leak

# --- the kmemleak scan that followed the suite
line=$(grep -E '^(PASS|FAIL) debug:kmemleak-clean$' "$logs/guest-suite.results" 2>/dev/null | tail -n 1 || true)
if [[ -z $line ]]; then
	result FAIL debug:kmemleak-clean "$logs/vm-guest-suite.log"
else
	result "${line%% *}" debug:kmemleak-clean "$logs/kmemleak.log"
fi

# --- self-tests: each deliberate bug must make vm-run fail with its splat verdict.
# debug_selftest NAME TRIGGER PATTERN...: every PATTERN must be in the run's log.
debug_selftest() {
	local name=$1 what=$2 log=$logs/vm-$1.log rc=0 p ok=1
	shift 2
	if [[ ! -r $modb/debugmod/debugmod.ko ]]; then
		echo "$modb/debugmod/debugmod.ko not built (make check-debug builds it)" >"$log"
		result FAIL "$name" "$log"
		return 0
	fi
	# KFENCE off: a sampled allocation would be caught by KFENCE, not KASAN.
	"$vmrun" "${vmopts[@]}" --append kfence.sample_interval=0 --quiet \
		--timeout 300 --log "$log" -- \
		"VFMIG_KVER=$debug_rel tests/vm/debug-guest.sh trigger $what" \
		>/dev/null 2>"$logs/vm-$name.stderr" || rc=$?
	if ((rc != 125)) || ! grep -q 'FAIL: kernel splat' "$logs/vm-$name.stderr"; then ok=0; fi
	for p; do grep -qE "$p" "$log" || { ok=0; echo "pattern not found: $p" >>"$log"; }; done
	if ((ok)); then
		result PASS "$name"
	else
		echo "vm-run exit $rc, verdict '$(verdict_of "$log")' (want 125, splat)" >>"$log"
		result FAIL "$name" "$log"
	fi
}
debug_selftest debug:kasan-detected uaf 'BUG: KASAN: slab-use-after-free' 'debugmod_uaf_write'
debug_selftest debug:lockdep-detected abba 'WARNING: possible circular locking dependency detected' 'debugmod_abba_write'
debug_selftest debug:kmemleak-detected leak 'new suspected memory leak' 'unreferenced object' 'debugmod_leak_write'

# --- fault injection while migrations run
log=$logs/vm-faultinject.log
rc=0
"$vmrun" "${vmopts[@]}" --quiet --timeout 1800 --log "$log" -- \
	"VFMIG_KVER=$debug_rel tests/vm/debug-guest.sh faultinject" \
	>/dev/null 2>"$logs/vm-faultinject.stderr" || rc=$?
if ((rc == 0)) && [[ $(verdict_of "$log") == "clean 0" ]]; then
	result PASS debug:faultinject
else
	echo "vm-run exit $rc, verdict '$(verdict_of "$log")' (want 0, 'clean 0')" >>"$log"
	result FAIL debug:faultinject "$log"
	sed 's/^/    /' "$logs/vm-faultinject.stderr" >&2
fi
