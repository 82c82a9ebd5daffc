#!/usr/bin/env bash
# make install / make uninstall into a DESTDIR (README.md, "Install"): the
# tree is exactly the documented one, for PREFIX=/usr and the default
# /usr/local; the installed tools run (a replay from the installed mig-top),
# the installed man pages and completion pass their tests, the systemd unit
# names the installed mig-top and passes systemd-analyze verify, the DKMS
# tree holds the module's sources with a dkms.conf of the release, and dkms
# itself (private trees) refuses a kernel before 6.2 with vfmig's reason
# (exit 77) and would build for the pinned one; make uninstall leaves no
# file behind. Needs a built tree (make).
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
ver=$(sed -n 's/^VFMIG_VERSION[[:space:]]*:=[[:space:]]*//p' mk/config.mk)
kver=$(scripts/kver.sh)
tmp=$(mktemp -d /tmp/vfmig-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check CONDITION-STATUS TEXT [DETAIL]
	if [[ $1 == 0 ]]; then
		echo "ok   $2"
	else
		echo "FAIL $2"
		[[ -n ${3:-} ]] && while IFS= read -r l; do echo "     $l"; done <<<"$3"
		fails=$((fails + 1))
	fi
}

# expected PREFIX: the documented tree, relative to DESTDIR.
expected() {
	local p=${1#/} d
	printf '%s\n' "$p/sbin/mig-top" "$p/sbin/migctl" "$p/bin/mig-trace" \
		"$p/share/man/man8/mig-top.8" "$p/share/man/man8/migctl.8" \
		"$p/share/man/man1/mig-trace.1" "$p/share/man/man4/vfmig.4" \
		"$p/share/vfmig/perf/vfmig-downtime.py" "$p/share/vfmig/examples/migration.spec" \
		"$p/share/vfmig/examples/vfmig-alerts.yml" "$p/share/doc/vfmig/README.md" \
		"$p/share/bash-completion/completions/mig-top" "$p/share/bash-completion/completions/migctl" \
		"$p/share/bash-completion/completions/mig-trace" "$p/lib/systemd/system/mig-top.service" \
		"usr/src/vfmig-$ver/dkms.conf" "usr/src/vfmig-$ver/include/vfmig_abi.h" \
		"usr/src/vfmig-$ver/kernel/Kbuild"
	for d in docs/*.md docs/*.svg; do echo "$p/share/doc/vfmig/${d#docs/}"; done
	for d in kernel/*.[ch]; do echo "usr/src/vfmig-$ver/$d"; done
}

for prefix in /usr /usr/local; do
	dest=$tmp/dest${prefix//\//-}
	args=(DESTDIR="$dest")
	[[ $prefix == /usr ]] && args+=(PREFIX=/usr)
	out=$(make -s install "${args[@]}" 2>&1)
	check $? "make install ${args[*]#DESTDIR=$tmp/}" "$out"
	got=$(cd "$dest" && find . \( -type f -o -type l \) -printf '%P\n' | sort)
	want=$(expected "$prefix" | sort)
	check "$([[ $got == "$want" ]]; echo $?)" "PREFIX=$prefix: the installed files are the documented tree ($(wc -l <<<"$want") files)" \
		"$(diff <(echo "$want") <(echo "$got"))"
	p=$dest$prefix
	check "$([[ $(readlink "$p/share/bash-completion/completions/migctl") == mig-top ]]; echo $?)" \
		"PREFIX=$prefix: completions/migctl links to mig-top's file"
	check "$(grep -qx "ExecStart=$prefix/sbin/mig-top --quiet --interval 5 --prom-file /var/lib/prometheus/node-exporter/vfmig.prom \$MIG_TOP_ARGS" \
		"$p/lib/systemd/system/mig-top.service"; echo $?)" "PREFIX=$prefix: the unit runs $prefix/sbin/mig-top"
	bad=$(find "$dest" -type f \( -path '*/sbin/*' -o -path '*/bin/*' \) ! -perm 0755; find "$dest" -type f ! -path '*bin/*' ! -perm 0644)
	check "$([[ -z $bad ]]; echo $?)" "PREFIX=$prefix: programs 0755, everything else 0644" "$bad"
done

p=$tmp/dest-usr/usr
v=$("$p/sbin/mig-top" --version 2>&1)
check "$([[ $v == "mig-top $ver" ]]; echo $?)" "installed mig-top --version: $v"
n=$("$p/sbin/mig-top" -j -r tests/host/data/migrations.events | grep -c '"type":"migration"')
check "$([[ $n -ge 1 ]]; echo $?)" "installed mig-top replays a recording ($n migrations)"
out=$(python3 tests/host/man-pages.py --man "$p/share/man" --bindir "$p/sbin" 2>&1)
check $? "installed man pages: tests/host/man-pages.py passes on them" "$(grep -v '^ok' <<<"$out")"
out=$(tests/host/completion.sh --file "$p/share/bash-completion/completions/mig-trace" --bindir "$p/sbin" 2>&1)
check $? "installed completion (through the mig-trace link): tests/host/completion.sh passes" "$(grep -v '^ok' <<<"$out")"
if command -v systemd-analyze >/dev/null; then
	sed "s|ExecStart=/usr/sbin/mig-top|ExecStart=$p/sbin/mig-top|" "$tmp/dest-usr/usr/lib/systemd/system/mig-top.service" >"$tmp/mig-top.service"
	out=$(systemd-analyze verify --man=no --generators=no "$tmp/mig-top.service" 2>&1)
	check $? "systemd-analyze verify mig-top.service" "$out"
fi

src=$tmp/dest-usr/usr/src/vfmig-$ver
out=$(for f in kernel/*.[ch] kernel/Kbuild include/vfmig_abi.h; do cmp "$f" "$src/$f" || echo "$f differs"; done)
check "$([[ -z $out ]]; echo $?)" "the DKMS tree has the module's sources" "$out"
conf=$(grep -E '^(PACKAGE_NAME|PACKAGE_VERSION|BUILT_MODULE_NAME\[0\])=' "$src/dkms.conf" | tr '\n' ' ')
check "$([[ $conf == "PACKAGE_NAME=\"vfmig\" PACKAGE_VERSION=\"$ver\" BUILT_MODULE_NAME[0]=\"vfmig\" " ]]; echo $?)" \
	"dkms.conf: vfmig $ver, builds vfmig.ko" "$conf"
if command -v dkms >/dev/null; then
	mkdir -p "$tmp/dkms"
	dk=(--sourcetree "$tmp/dest-usr/usr/src" --dkmstree "$tmp/dkms")
	out=$(dkms add -m vfmig -v "$ver" "${dk[@]}" 2>&1)
	check $? "dkms add vfmig/$ver (private trees)" "$out"
	rc=0
	out=$(dkms build -m vfmig -v "$ver" -k 6.1.0-99-amd64 "${dk[@]}" 2>&1) || rc=$?
	check "$( ((rc == 77)) && grep -q 'vfmig: kernel 6.1.0-99-amd64 is older than Linux 6.2 and has no VFIO PRE_COPY migration uAPI' <<<"$out"; echo $?)" \
		"dkms build for a 6.1 kernel: skipped (exit $rc, want 77) with vfmig's reason" "$out"
	# The pinned kernel passes dkms.conf's BUILD_EXCLUSIVE_KERNEL (the build itself: make check-package).
	rc=0
	out=$(bash -c 'kernelver=$1; . "$2"; [[ $kernelver =~ $BUILD_EXCLUSIVE_KERNEL ]]' _ "$kver" "$src/dkms.conf" 2>&1) || rc=$?
	check "$( ((rc == 0)) && [[ -z $out ]]; echo $?)" "dkms.conf accepts the pinned kernel $kver quietly" "$out"
else
	echo "SKIP dkms checks: dkms not installed (make deps)"
fi

for prefix in /usr /usr/local; do
	dest=$tmp/dest${prefix//\//-}
	args=(DESTDIR="$dest")
	[[ $prefix == /usr ]] && args+=(PREFIX=/usr)
	out=$(make -s uninstall "${args[@]}" 2>&1)
	check $? "make uninstall PREFIX=$prefix" "$out"
	left=$(find "$dest" ! -type d)
	check "$([[ -z $left ]]; echo $?)" "PREFIX=$prefix: make uninstall leaves no file" "$left"
done
echo "# $fails check(s) failed"
((fails == 0))
