#!/bin/sh
# The guest half of make check-package (tests/package/check-package.sh):
#  1. the vfmig.ko that `dkms build` made (argument) is loaded with insmod
#     and the whole uAPI suite (tests/guest/20-uapi.test) runs on it;
#  2. `modprobe vfmig` loads the module that installing vfmig-dkms built
#     (/lib/modules/KVER/updates/dkms), and the installed tools work on it:
#     /usr/sbin/migctl migrates a device under /usr/sbin/mig-top -j and the
#     service's command line (mig-top --quiet --prom-file), whose numbers
#     must be migctl's; /usr/bin/mig-trace checks the installed example spec
#     on a second migration; the installed completion offers the devices.
#   tests/package/guest.sh DKMS_VFMIG_KO
set -eu
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/../guest/lib.sh"
ko=${1:?usage: guest.sh DKMS_VFMIG_KO}
require_guest
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
modprobe -a vfio vfio_iommu_type1 mdev || die "modprobe vfio vfio_iommu_type1 mdev failed"
module_loaded vfmig && die "vfmig is loaded already"

# --- 1. dkms build's module: the uAPI suite ----------------------------------
insmod "$ko" || die "insmod $ko failed"
info "loaded $ko"
VFMIG_BUILD=$VFMIG_BUILD tests/guest/20-uapi.test >"$out/uapi.log" 2>&1 || {
	tail -n 40 "$out/uapi.log"
	die "the uAPI suite failed on the DKMS-built module"
}
grep -c '^ok' "$out/uapi.log" | sed 's/^/# uAPI suite on the DKMS-built module: ok lines: /'
tail -n 3 "$out/uapi.log"
module_loaded vfmig && die "20-uapi.test left vfmig loaded"

# --- 2. the package's module and tools ----------------------------------------
# modprobe loads what the module index resolves vfmig to (modinfo -n reads
# the same index): the module DKMS installed with the package.
path=$(modinfo -n vfmig) || die "the module index has no vfmig"
case $path in
"/lib/modules/$(uname -r)/updates/dkms/vfmig.ko"*) ;;
*) die "vfmig resolves to $path, not the DKMS module" ;;
esac
modprobe vfmig || die "modprobe vfmig failed"
info "modprobe loaded $path"

types=/sys/class/vfmig/vfmig/mdev_supported_types/vfmig-16M
mkdev() {
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$types/create" || die "cannot create a vfmig-16M device"
	echo "$u"
}
src=$(mkdev)
dst=$(mkdev)
echo 2000 >"/sys/bus/mdev/devices/$src/vfmig/dirty_rate"

# One mig-top prints JSON and writes metrics (the same numbers exactly);
# another runs the service's command line (its own BPF clock readings).
mkdir "$out/textfile"
/usr/sbin/mig-top -j -i 200ms -N 1 -c 900 --prom-file "$out/top.prom" >"$out/top.json" 2>"$out/top.err" &
top=$!
/usr/sbin/mig-top --quiet --interval 200ms --prom-file "$out/textfile/vfmig.prom" 2>"$out/prom.err" &
prom=$!
i=0
until grep -q '"type":"start"' "$out/top.json" 2>/dev/null && [ -s "$out/textfile/vfmig.prom" ]; do
	i=$((i + 1))
	[ $i -lt 600 ] || die "mig-top did not start: $(cat "$out/top.err" "$out/prom.err")"
	if ! kill -0 $top 2>/dev/null || ! kill -0 $prom 2>/dev/null; then
		die "mig-top exited: $(cat "$out/top.err" "$out/prom.err")"
	fi
	sleep 0.1
done
/usr/sbin/migctl migrate -j -V "$src" "$dst" >"$out/migctl.json" ||
	{ cat "$out/migctl.json"; die "/usr/sbin/migctl migrate failed"; }
wait $top || die "mig-top -j failed: $(cat "$out/top.err")"
kill -TERM $prom
wait $prom || die "mig-top --prom-file failed: $(cat "$out/prom.err")"
grep '"type":"migration"' "$out/top.json"
python3 - "$out/migctl.json" "$out/top.json" "$out/top.prom" "$out/textfile/vfmig.prom" <<'PY' || die "the installed tools disagree"
import json, sys
c = json.load(open(sys.argv[1]))
m = [json.loads(l) for l in open(sys.argv[2]) if '"type":"migration"' in l][0]
def prom(path):
    p = {}
    for line in open(path):
        if not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            p[k] = float(v)
    return p
assert c["status"] == "ok" and c["verified"] is True, c
for mk, ck in (("precopy", "precopy_bytes"), ("stop_copy", "stop_copy_bytes"), ("total", "total_bytes")):
    assert m["bytes"][mk] == c[ck], f"mig-top bytes {mk} {m['bytes'][mk]} != migctl {c[ck]}"
d = 'driver="vfmig"'
for path in sys.argv[3:5]:
    p = prom(path)
    assert p[f"vfmig_migrations_total{{{d}}}"] == 1, (path, p[f"vfmig_migrations_total{{{d}}}"])
    assert p[f'vfmig_migration_bytes_total{{{d},role="source",phase="precopy"}}'] == c["precopy_bytes"], path
    assert p[f'vfmig_migration_bytes_total{{{d},role="source",phase="stop_copy"}}'] == c["stop_copy_bytes"], path
    assert p[f'vfmig_migration_bytes_total{{{d},role="target",phase="resuming"}}'] == c["total_bytes"], path
    assert p[f"vfmig_dropped_events_total{{{d}}}"] == 0, path
    s = round(p[f"vfmig_downtime_seconds_sum{{{d}}}"] * 1e9)
    if path == sys.argv[3]:     # the JSON's own instance: the same number
        assert s == m["downtime_ns"], (s, m["downtime_ns"])
    else:                       # another BPF program reads the clock itself
        assert abs(s - m["downtime_ns"]) <= max(0.05 * m["downtime_ns"], 1e6), (s, m["downtime_ns"])
    print(f"# {path}: 1 migration, {c['total_bytes']} bytes, downtime {s} ns")
print(f"# migctl, mig-top -j and both metrics files agree (migctl's downtime {c['downtime_ns']} ns, "
      f"mig-top's {m['downtime_ns']} ns)")
PY

a=$(mkdev)
b=$(mkdev)
echo 2000 >"/sys/bus/mdev/devices/$a/vfmig/dirty_rate"
/usr/bin/mig-trace run /usr/share/vfmig/examples/migration.spec -o "$out/ev.txt" -- \
	/usr/sbin/migctl migrate -q -V "$a" "$b" || die "mig-trace run of the installed spec failed"

bash tests/host/completion.test --file /usr/share/bash-completion/completions/migctl --bindir /usr/sbin \
	--devices "$src" "$dst" "$a" "$b" || die "the installed completion failed in the guest"

for u in "$src" "$dst" "$a" "$b"; do echo 1 >"/sys/bus/mdev/devices/$u/remove"; done
rmmod vfmig || die "rmmod vfmig failed"
echo "# package guest checks: ok"
