#!/bin/sh
# The guest half of `make demo` (run by scripts/demo.sh through vm-run): a
# live migration with PRE_COPY of a vfmig device whose workload keeps
# dirtying it, watched by mig-top (its ncurses screen, captured from tmux
# while the migration runs), then the same migration without PRE_COPY as the
# baseline, so the two downtimes can be compared.
set -eu
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/../guest/lib.sh"

B=$VFMIG_BUILD
TYPE=${VFMIG_DEMO_TYPE:-vfmig-64M}
RATE=${VFMIG_DEMO_DIRTY_RATE:-1500}	# pages per second
BW=${VFMIG_DEMO_BANDWIDTH:-16M}	# migctl's bandwidth cap
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

mkdev() {
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >/sys/class/vfmig/vfmig/mdev_supported_types/"$TYPE"/create
	devs="${devs:-} $u"
	echo "$u"
}

# Print mig-top's screen without its trailing blank lines.
frame() {
	tmux -S "$sock" capture-pane -p | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

banner "guest: $(uname -r), $(nproc) CPUs (QEMU TCG)"
vfmig_load
for t in "$B/bin/migctl" "$B/bin/mig-top"; do
	[ -x "$t" ] || die "$t not built: run make"
done

src=$(mkdev)
dst=$(mkdev)
echo "$RATE" >/sys/bus/mdev/devices/"$src"/vfmig/dirty_rate
banner "two $TYPE devices: source $src (workload: $RATE dirty pages/s), target $dst"

tmux -S "$sock" new-session -d -x 200 -y 34 \
	"TERM=xterm-256color $B/bin/mig-top -i 500ms"
i=0
until frame | grep -q 'mode: '; do
	i=$((i + 1))
	[ $i -lt 120 ] || die "mig-top did not start"
	sleep 0.25
done

banner "migctl migrate (PRE_COPY, bandwidth cap $BW), under mig-top"
"$B/bin/migctl" migrate -V -b "$BW" "$src" "$dst" >"$work/precopy.txt" 2>&1 &
mc=$!
n=0
while kill -0 $mc 2>/dev/null; do
	sleep 1.5
	n=$((n + 1))
	kill -0 $mc 2>/dev/null || break
	banner "mig-top, $((n * 3 / 2)) s into the migration"
	frame
done
wait $mc || { cat "$work/precopy.txt"; die "migctl failed"; }
sleep 1.2
banner "mig-top after STOP_COPY: the downtime breakdown"
frame
banner "migctl's report"
cat "$work/precopy.txt"

# The workload follows the role: a target must not change its state before
# migctl -V has compared its digest with the source's.
echo "$RATE" >/sys/bus/mdev/devices/"$dst"/vfmig/dirty_rate
echo 0 >/sys/bus/mdev/devices/"$src"/vfmig/dirty_rate
banner "baseline: migrated back, same workload and cap, without PRE_COPY (migctl -n)"
"$B/bin/migctl" migrate -V -n -b "$BW" "$dst" "$src"
sleep 1.2
banner "mig-top: the two migrations"
frame

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
