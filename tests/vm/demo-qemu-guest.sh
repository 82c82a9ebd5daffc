#!/bin/sh
# The guest half of `make demo-qemu` (run by scripts/demo-qemu.sh through
# vm-run): the story of `make demo` with QEMU 10 as the VMM. Two QEMU
# processes in this guest, each a SeaBIOS-only VM with a vfmig device; the
# source's workload dirties its device while QEMU live-migrates the VM over
# QMP (tests/guest/qemu_migrate.py) with PRE_COPY and switchover-ack. mig-top's
# ncurses screen is captured from tmux while it runs, then the downtime
# breakdown, QEMU's HMP `info migrate` beside the kernel's numbers, and the
# same migration without PRE_COPY (the device's precopy knob) as the baseline.
set -eu
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/../guest/lib.sh"

B=$VFMIG_BUILD
TYPE=${VFMIG_DEMO_TYPE:-vfmig-64M}
RATE=${VFMIG_DEMO_DIRTY_RATE:-1000}	# pages per second
BW=${VFMIG_DEMO_BANDWIDTH:-16}	# QEMU's max-bandwidth, MiB/s
# The baseline's avail-switchover-bandwidth, MiB/s: the rate QEMU assumes
# when it estimates the downtime. Without it QEMU never switches over a
# device without PRE_COPY on an idle VM (it measures ~0 B/s, docs/vmm.md).
# The PRE_COPY migration runs with QEMU's own estimate.
SBW=${VFMIG_DEMO_SWITCHOVER_BANDWIDTH:-256}
work=$(mktemp -d)
sock=$work/tmux.sock

cleanup() {
	tmux -S "$sock" kill-server 2>/dev/null || true
	for u in ${devs:-}; do
		echo 1 >/sys/bus/mdev/devices/"$u"/remove 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

banner() {
	printf '\n==== %s\n' "$*"
}

# mkdev: create a device; its UUID in u (and in devs, for cleanup).
mkdev() {
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >/sys/class/vfmig/vfmig/mdev_supported_types/"$TYPE"/create
	devs="${devs:-} $u"
}

# Print mig-top's screen without its trailing blank lines.
frame() {
	tmux -S "$sock" capture-pane -p | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

# jq-less field access: report FILE EXPR (a Python expression over r).
report() {
	python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# migrate NAME SRC DST PORT [qemu_migrate.py options]: QEMU migrates the VM while tracefs records the
# vfmig events and mig-top's screen is shown every second; then the kernel's
# record is checked against QEMU's (tests/guest/qemu_mig_check.py).
migrate() {
	name=$1 s=$2 t=$3 port=$4
	shift 4
	d=$work/$name
	echo >$tr/trace
	python3 tests/guest/qemu_migrate.py --src "$s" --dst "$t" --dir "$d" --trace \
		--max-bandwidth $((BW << 20)) --port "$port" --json "$d.json" "$@" >"$d.log" 2>&1 &
	qm=$!
	# Frames from the moment QEMU starts the migration (the source device
	# leaves RUNNING), every second.
	n=0
	while kill -0 $qm 2>/dev/null; do
		if [ $n = 0 ] && [ "$(cat /sys/bus/mdev/devices/"$s"/vfmig/mig_state)" = RUNNING ]; then
			sleep 0.1
			continue
		fi
		[ $n = 0 ] || sleep 1
		kill -0 $qm 2>/dev/null || break
		banner "mig-top, $n s into the migration ($name)"
		frame
		n=$((n + 1))
	done
	wait $qm || { cat "$d.json" "$d.log" 2>/dev/null; die "QEMU's migration failed"; }
	cat $tr/trace >"$d.trace"
	python3 tests/guest/qemu_mig_check.py --mode "$name" --report "$d.json" \
		--trace "$d.trace" --json "$d.sum" >"$d.check" ||
		{ cat "$d.check"; die "the $name migration failed its checks"; }
}

# side_by_side NAME: HMP info migrate (QEMU's view) beside the kernel's numbers.
side_by_side() {
	report "$work/$1.json" 'r["hmp_info_migrate"]' | tr -d '\r' |
		grep -E 'status|time|downtime|setup|transferred|throughput|vfio' >"$work/left"
	report "$work/$1.sum" '"\n".join([
	    "device-level downtime     %8.1f ms" % (r["device_window_us"] / 1e3),
	    "  (source leaves running -> target RUNNING)",
	    "source STOP_COPY->target RUNNING %5.1f ms" % (r["stop_copy_to_running_us"] / 1e3),
	    "bytes QEMU read (vfmig)   %10d" % r["vfmig_read_bytes"],
	    "  in PRE_COPY             %10d" % r["vfmig_precopy_bytes"],
	    "  in STOP_COPY            %10d" % r["vfmig_stop_copy_bytes"],
	    "bytes the target took     %10d" % r["vfmig_written_bytes"],
	    "QEMU read() calls         %10d (+16 B framing each)" % r["qemu_blocks"],
	    "images: " + " ".join(r["images"]),
	    "QEMU checkpoints, ms after the device left running:"] +
	    ["  %-28s %7.1f" % (k, v / 1e3) for k, v in r["qemu_checkpoints_us_from_t0"].items()])' \
		>"$work/right"
	printf '%-44s| %s\n' "QEMU: HMP info migrate (source)" "vfmig: tracepoints (tracefs)"
	printf '%-44s+%s\n' "--------------------------------------------" "-------------------------------------------"
	paste "$work/left" "$work/right" | awk -F'\t' '{ printf "%-44s| %s\n", $1, $2 }'
}

banner "guest: $(uname -r), $(nproc) CPUs (QEMU TCG)"
qemu=$(scripts/qemu10.sh) || die "QEMU 10 missing: run make deps"
banner "VMM: QEMU $(scripts/qemu10.sh --version | sed -n 's/^qemu-system-x86 //p') ($qemu)"
vfmig_load
[ -x "$B/bin/mig-top" ] || die "$B/bin/mig-top not built: run make"

mkdev
src=$u
mkdev
dst=$u
echo "$RATE" >/sys/bus/mdev/devices/"$src"/vfmig/dirty_rate
banner "two $TYPE devices: source $src (workload: $RATE dirty pages/s), target $dst"
cat <<EOF
Each QEMU: $qemu -M q35 -accel tcg -m 128 -nodefaults -nographic
    -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/<uuid>,enable-migration=on,migration-events=on
    -qmp unix:<sock>,server=on,wait=off      (target also: -incoming defer)
QMP: capabilities events, return-path, switchover-ack; max-bandwidth $BW MiB/s,
     downtime-limit 300 ms (default);
     migrate-incoming / migrate tcp:127.0.0.1:<port>; poll query-migrate
EOF

tmux -S "$sock" new-session -d -x 200 -y 34 \
	"TERM=xterm-256color $B/bin/mig-top -i 500ms"
i=0
until frame | grep -q 'mode: '; do
	i=$((i + 1))
	[ $i -lt 120 ] || die "mig-top did not start"
	sleep 0.25
done

tr=/sys/kernel/tracing
echo mono >$tr/trace_clock
echo 8192 >$tr/buffer_size_kb
echo 1 >$tr/events/vfmig/enable

banner "QEMU live-migrates the VM (PRE_COPY, switchover-ack), under mig-top"
migrate precopy "$src" "$dst" 4444
sleep 1.2
banner "mig-top after the switchover: the downtime breakdown"
frame
banner "QEMU's view beside the device's"
side_by_side precopy
report "$work/precopy.json" '"QEMU pids: source %d, target %d" % (r["src_pid"], r["dst_pid"])'

knob=precopy
for u in $devs; do
	echo 1 >/sys/bus/mdev/devices/"$u"/remove
done
devs=""
mkdev
src=$u
mkdev
dst=$u
if [ -w /sys/bus/mdev/devices/"$src"/vfmig/$knob ]; then
	echo "$RATE" >/sys/bus/mdev/devices/"$src"/vfmig/dirty_rate
	# Both sides: a target that offers PRE_COPY waits for the source's
	# initial data before it acks the switchover, forever (docs/vmm.md).
	echo 0 >/sys/bus/mdev/devices/"$src"/vfmig/$knob
	echo 0 >/sys/bus/mdev/devices/"$dst"/vfmig/$knob
	banner "baseline: the same, but the devices do not offer PRE_COPY (vfmig/precopy = 0); QEMU's avail-switchover-bandwidth $SBW MiB/s"
	migrate baseline "$src" "$dst" 4445 --avail-switchover-bandwidth $((SBW << 20))
	sleep 1.2
	banner "mig-top: the two migrations"
	frame
	banner "QEMU's view beside the device's (baseline)"
	side_by_side baseline
	banner "PRE_COPY against the baseline"
	for m in precopy baseline; do
		report "$work/$m.sum" '"%-9s QEMU downtime %5d ms   device-level %8.1f ms   STOP_COPY bytes %9d" % (
		    r["mode"], r["qemu_downtime_ms"], r["device_window_us"] / 1e3, r["vfmig_stop_copy_bytes"])'
	done
else
	banner "baseline skipped: this vfmig.ko has no vfmig/precopy knob"
fi

echo 0 >$tr/events/vfmig/enable
# mig-top quits (detaching its probes) before the module goes.
tmux -S "$sock" send-keys q
i=0
while tmux -S "$sock" has-session 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
cleanup
trap - EXIT
vfmig_unload
banner "done: vfmig unloaded cleanly"
