# shellcheck shell=sh
# Helpers for migctl's guest tests (3x-migctl*.test), sourced after lib.sh.

MIGCTL=$VFMIG_BUILD/bin/migctl
VFMIG_TYPES=/sys/class/vfmig/vfmig/mdev_supported_types
MC_DEVS=""
MC_TMP=$(mktemp -d /tmp/migctl-test.XXXXXX)

[ -x "$MIGCTL" ] || die "$MIGCTL missing: run make"

# mc_create TYPE_DIR: create an mdev under TYPE_DIR (a mdev_supported_types/<t>
# directory, or a vfmig type name); prints its UUID; removed by mc_cleanup.
mc_create() {
	t=$1
	case $t in /*) ;; *) t=$VFMIG_TYPES/$t ;; esac
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$t/create" || die "cannot create $u in $t"
	MC_DEVS="$MC_DEVS $u"
	echo "$u"
}

mc_cleanup() {
	for u in $MC_DEVS; do
		[ -e "/sys/bus/mdev/devices/$u" ] && echo 1 >"/sys/bus/mdev/devices/$u/remove"
	done
	MC_DEVS=""
	rm -rf "$MC_TMP"
}

# attr UUID NAME: a vfmig sysfs attribute.
attr() {
	cat "/sys/bus/mdev/devices/$1/vfmig/$2"
}

setattr() {
	echo "$3" >"/sys/bus/mdev/devices/$1/vfmig/$2" || die "cannot set $2=$3 on $1"
}

# fwfault UUID SPEC: arm a firmware fault ("save 2 bad_res_state") or
# "clear" through the device's debugfs fault_inject (docs/device.md).
fwfault() {
	echo "$2" >"/sys/kernel/debug/vfmig/$1/fault_inject" ||
		die "cannot write fault_inject '$2' on $1"
}

# jget FILE KEY: a top-level value of a JSON report ("" if null or absent).
jget() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); v=d.get(sys.argv[2])
print("" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# check_report FILE LABEL: a successful migration report is self-consistent:
# status ok, the downtime parts sum to downtime_ns, the phase bytes to
# total_bytes, and (with --verify) the digests are equal. Sets R_MODE,
# R_SWITCH, R_ITER, R_PRE, R_STOP, R_DOWN_US, R_SRC_DIGEST for the caller
# (one python3 run: it is slow to start under emulation).
check_report() {
	vars=$(python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
label = sys.argv[2]
def fail(msg):
    print("FAIL: %s: %s" % (label, msg), file=sys.stderr)
    sys.exit(1)
if d.get("status") != "ok":
    fail("status %r" % d.get("status"))
if d["mode"] != "raw" and d["precopy_bytes"] + d["stop_copy_bytes"] != d["total_bytes"]:
    fail("precopy_bytes + stop_copy_bytes != total_bytes")
if d["downtime_ns"] is not None:
    parts = sum(d["parts"].values())
    if parts != d["downtime_ns"]:
        fail("downtime parts sum to %d, downtime_ns %d" % (parts, d["downtime_ns"]))
    if d["t_end_ns"] - d["t_start_ns"] != d["downtime_ns"]:
        fail("t_end_ns - t_start_ns != downtime_ns")
    if d["downtime_ns"] <= 0 or d["downtime_ns"] > d["total_ns"]:
        fail("downtime_ns %d outside (0, total_ns %d]" % (d["downtime_ns"], d["total_ns"]))
if d["verified"] is not None and d["verified"] is not True:
    fail("verified is %r" % d["verified"])
if d["src_digest"] and d["tgt_digest"] and d["src_digest"] != d["tgt_digest"]:
    fail("digest %s != %s" % (d["src_digest"], d["tgt_digest"]))
print("R_MODE=%s R_SWITCH=%s R_ITER=%d R_PRE=%d R_STOP=%d R_DOWN_US=%d R_SRC_DIGEST=%s" % (
    d["mode"] or "", d["switch_reason"] or "", d["iterations"] or 0,
    d["precopy_bytes"] or 0, d["stop_copy_bytes"] or 0, (d["downtime_ns"] or 0) // 1000,
    d["src_digest"] or ""))
PY
) || die "$2: bad report: $(cat "$1")"
	eval "$vars"
}

# expect_fail LABEL MAX_SECONDS PATTERN CMD...: CMD must fail (exit 1) within
# MAX_SECONDS with exactly one stderr line "migctl: error: ..." matching
# PATTERN (grep -E). stdout is kept in $MC_TMP/out, stderr in $MC_TMP/err.
expect_fail() {
	label=$1 max=$2 pat=$3
	shift 3
	t0=$(date +%s)
	rc=0
	timeout -k 2 $((max + 5)) "$@" >"$MC_TMP/out" 2>"$MC_TMP/err" || rc=$?
	dt=$(($(date +%s) - t0))
	[ "$rc" = 1 ] || die "$label: exit status $rc, want 1 (stderr: $(cat "$MC_TMP/err"))"
	[ "$dt" -le "$max" ] || die "$label: took ${dt}s, bound ${max}s"
	one_error_line "$MC_TMP/err" "$label" "$pat"
	info "$label: $(cat "$MC_TMP/err") (${dt}s)"
}

# one_error_line FILE LABEL PATTERN: FILE (stderr) is exactly one line
# "migctl: error: ..." matching PATTERN (grep -E).
one_error_line() {
	[ "$(wc -l <"$1")" = 1 ] || die "$2: stderr is not one line: $(cat "$1")"
	grep -q '^migctl: error: ' "$1" || die "$2: no 'migctl: error:' line: $(cat "$1")"
	grep -Eq "$3" "$1" || die "$2: error '$(cat "$1")' does not match /$3/"
}

# wait_rc PID MAX_SECONDS: sets RC to the exit status of PID (a child of
# this shell), which must end within MAX_SECONDS.
# shellcheck disable=SC2034 # RC is for the caller
wait_rc() {
	n=0
	while kill -0 "$1" 2>/dev/null; do
		n=$((n + 1))
		[ $n -le $(($2 * 10)) ] || die "pid $1 still running after $2 s"
		sleep 0.1
	done
	RC=0
	wait "$1" || RC=$?
}

# expect_gone LABEL ERRFILE JSONFILE PREFIX ERE: a failed migctl --json run
# printed one stderr line "migctl: error: PREFIX(REST)", REST matches ERE
# (grep -E), and its JSON report has the same error. PREFIX is the leading
# message for a vanished peer (docs/migctl.md, "A vanished peer").
expect_gone() {
	{ read -r line && ! read -r _; } <"$2" ||
		die "$1: stderr is not one line: $(cat "$2")"
	case $line in
	"migctl: error: $4"*) ;;
	*) die "$1: '$line' does not start with 'migctl: error: $4'" ;;
	esac
	rest=${line#"migctl: error: $4"}
	printf '%s\n' "$rest" | grep -Eq "^\($5\)\$" ||
		die "$1: '$line': '$rest' does not match /^\($5\)\$/"
	[ "$(jget "$3" error)" = "${line#migctl: error: }" ] ||
		die "$1: JSON error differs from stderr: $(cat "$3")"
	info "$1: $line"
}

# A device nobody has open is RUNNING with its workload stopped.
assert_state() {
	s=$(attr "$1" mig_state)
	[ "$s" = "$2" ] || die "$3: device $1 is in $s, want $2"
}
