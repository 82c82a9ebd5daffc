#!/usr/bin/env bash
# make check-package: vfmig as Debian packages, on this machine, for real
# (README.md, "Install"; docs/testing.md, "Package lane"). As root. Prints
# one `PASS|FAIL|SKIP pkg:NAME` line per step and ends with
# `N passed, N failed, N skipped`; logs in build/test-logs/pkg-*.log.
#
#  1. deb-build: `dpkg-buildpackage -b -us -uc` in a copy of the tree
#     (build/pkg/vfmig-VERSION; the .debs land in build/pkg/);
#  2. lintian: no tag at any level (-I --pedantic) but the overrides of
#     debian/*.lintian-overrides, each explained by a comment above it;
#  3. dkms-build: vfmig-dkms's /usr/src tree, `dkms build` for the pinned
#     kernel with private DKMS trees (dkms's own build, not the Makefile's);
#  4. install: apt installs both .debs; DKMS builds and installs vfmig.ko for
#     the pinned kernel (/lib/modules/KVER/updates/dkms); the installed
#     tools, man pages (man-pages.test) and completion (completion.test),
#     systemd-analyze verify of the unit;
#  5. one guest boot (tests/package/guest.sh): the module of step 3 loaded
#     with insmod runs the whole uAPI suite (tests/guest/20-uapi.test);
#     then `modprobe vfmig` loads the package's DKMS module, and the
#     installed /usr/sbin/migctl migrates under /usr/sbin/mig-top (JSON, and
#     the service's command line writing Prometheus metrics) and
#     /usr/bin/mig-trace with the installed example spec; the completion
#     offers the guest's mdev devices;
#  6. purge: apt purges both; every file the packages had, the DKMS tree and
#     module and the module index entry are gone, and the watched system
#     directories list exactly what they listed before the install.
# shellcheck disable=SC2317 # the step functions are called through step()
set -uo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
((EUID == 0)) || { echo "check-package: run as root (it installs packages)" >&2; exit 2; }
ver=$(sed -n 's/^VFMIG_VERSION[[:space:]]*:=[[:space:]]*//p' mk/config.mk)
kver=$(scripts/kver.sh)
logs=build/test-logs
pkg=$repo/build/pkg
mkdir -p "$logs"

npass=0 nfail=0 nskip=0
result() { # result PASS|FAIL|SKIP NAME [LOG]
	echo "$1 pkg:$2"
	case $1 in
	PASS) npass=$((npass + 1)) ;;
	SKIP) nskip=$((nskip + 1)) ;;
	*) nfail=$((nfail + 1)); [[ -n ${3:-} ]] && echo "    log: $3" >&2 ;;
	esac
	return 0
}
# step NAME FUNCTION: run FUNCTION in a subshell (fail exits it) with its
# output in build/test-logs/pkg-NAME.log.
step() {
	local log=$logs/pkg-$1.log rc=0
	("$2") >"$log" 2>&1 || rc=$?
	case $rc in
	0) result PASS "$1" ;;
	77) result SKIP "$1" ;;
	*) result FAIL "$1" "$log" ;;
	esac
	return "$rc"
}
fail() { echo "FAIL: $*"; exit 1; }
finish() {
	echo "$npass passed, $nfail failed, $nskip skipped"
	((nfail == 0))
	exit
}

# The system directories whose listing must be the same after the purge.
watched() {
	find /usr/src /var/lib/dkms "/lib/modules/$kver" /usr/sbin /usr/bin /usr/share/man/man1 \
		/usr/share/man/man4 /usr/share/man/man8 /usr/share/doc /usr/share/bash-completion/completions \
		/lib/systemd/system /usr/share/vfmig -xdev 2>/dev/null | sort
}

purge_installed() {
	local p
	for p in vfmig-tools vfmig-dkms; do
		if dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.[iHUFWt]'; then
			echo "purging $p left by an earlier run"
			apt-get purge -y -qq "$p" || return 1
		fi
	done
}

deb_build() {
	local src=$pkg/vfmig-$ver
	rm -rf "$pkg"
	mkdir -p "$src"
	# The tree as git sees it (committed, changed and new files, not build/).
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src" || return 1
	(cd "$src" && dpkg-buildpackage -b -us -uc) || fail "dpkg-buildpackage failed"
	ls -l "$pkg"/*.deb
	[[ -r $pkg/vfmig-dkms_${ver}_all.deb && -r $pkg/vfmig-tools_${ver}_amd64.deb ]] ||
		fail "no vfmig-dkms_${ver}_all.deb and vfmig-tools_${ver}_amd64.deb"
	dpkg-deb -f "$pkg/vfmig-tools_${ver}_amd64.deb" Depends | tee "$pkg/tools.depends"
	for d in libbpf1 libncursesw6 libc6; do
		grep -q "\\<$d\\>" "$pkg/tools.depends" || fail "vfmig-tools does not depend on $d"
	done
	dpkg-deb -f "$pkg/vfmig-dkms_${ver}_all.deb" Depends | grep -q '\<dkms\>' || fail "vfmig-dkms does not depend on dkms"
	! grep -q usr/src <<<"$(dpkg-deb -c "$pkg/vfmig-tools_${ver}_amd64.deb")" || fail "vfmig-tools ships /usr/src"
}

run_lintian() {
	local f out
	# Every override explained: a comment right above it.
	for f in debian/*.lintian-overrides; do
		[[ -e $f ]] || continue
		awk -v f="$f" '/^#/ { c = 1; next } /^[[:space:]]*$/ { c = 0; next }
			!c { print f ": override without a comment: " $0; bad = 1 } END { exit bad }' "$f" || return 1
		grep -v '^#' "$f"
	done
	# lintian as nobody (it warns when run as root); the .changes lists the .debs.
	chmod -R a+rX "$pkg"
	lint() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp \
			lintian -I --pedantic "$@" "$pkg/vfmig_${ver}_amd64.changes"
	}
	echo "--- the overridden tags:"
	lint --show-overrides 2>&1 | grep '^O: '
	# Without --show-overrides (with it lintian 2.116 fails on overridden tags).
	out=$(lint --fail-on error,warning,info,pedantic 2>&1)
	local rc=$?
	echo "--- lintian -I --pedantic: exit $rc"
	echo "$out"
	if ((rc)) || [[ -n $out ]]; then fail "lintian reports tags (exit $rc)"; fi
}

dkms_build() {
	local t=$pkg/dkms-private
	rm -rf "$t"
	mkdir -p "$t/root" "$t/dkms"
	dpkg-deb -x "$pkg/vfmig-dkms_${ver}_all.deb" "$t/root" || return 1
	dkms add -m vfmig -v "$ver" --sourcetree "$t/root/usr/src" --dkmstree "$t/dkms" || fail "dkms add"
	dkms build -m vfmig -v "$ver" -k "$kver" --sourcetree "$t/root/usr/src" --dkmstree "$t/dkms" ||
		fail "dkms build for $kver"
	ko=$(find "$t/dkms/vfmig/$ver/$kver" -name 'vfmig.ko*' | head -n 1)
	[[ -n $ko ]] || fail "dkms built no vfmig.ko"
	modinfo -F vermagic "$ko" | tee /dev/stderr | grep -q "^${kver} " || fail "$ko is not for $kver"
	ln -sf "$ko" "$pkg/dkms-vfmig.ko${ko##*.ko}"
	echo "built $ko"
}

install_debs() {
	watched >"$pkg/before.list"
	apt-get install -y -qq --no-install-recommends "$pkg/vfmig-dkms_${ver}_all.deb" \
		"$pkg/vfmig-tools_${ver}_amd64.deb" || fail "apt-get install"
	dpkg -L vfmig-tools vfmig-dkms | sort -u >"$pkg/files.list"
	# (not `| grep -q` after tee: grep's early exit fails the pipeline when
	# dkms lists more than one kernel)
	local st
	st=$(dkms status vfmig) || fail "dkms status"
	printf '%s\n' "$st" >&2
	grep -qF "vfmig/$ver, $kver, x86_64: installed" <<<"$st" ||
		fail "dkms status: vfmig/$ver not installed for $kver"
	local ko
	ko=$(modinfo -k "$kver" -n vfmig) || fail "modinfo -k $kver vfmig"
	[[ $ko == "/lib/modules/$kver/updates/dkms/vfmig.ko"* ]] || fail "modprobe would load $ko, not DKMS's"
	[[ $(/usr/sbin/mig-top --version) == "mig-top (vfmig tools) $ver" ]] || fail "installed mig-top --version"
	/usr/sbin/migctl --help >/dev/null || fail "installed migctl --help"
	/usr/bin/mig-trace --help >/dev/null || fail "installed mig-trace --help"
	[[ $(man -w mig-top) == /usr/share/man/man8/mig-top.8.gz ]] || fail "man -w mig-top: $(man -w mig-top)"
	python3 tests/host/man-pages.test --man /usr/share/man --bindir /usr/sbin || fail "installed man pages"
	tests/host/completion.test --file /usr/share/bash-completion/completions/migctl --bindir /usr/sbin ||
		fail "installed completion"
	systemd-analyze verify --man=no --generators=no /lib/systemd/system/mig-top.service ||
		fail "systemd-analyze verify mig-top.service"
	systemctl is-enabled mig-top.service 2>/dev/null | grep -qx enabled && fail "mig-top.service is enabled"
	return 0
}

guest_run() {
	local ko
	ko=$(ls "$pkg"/dkms-vfmig.ko*) || fail "no DKMS-built module (pkg:dkms-build)"
	VFMIG_TEST_TIMEOUT=${VFMIG_TEST_TIMEOUT:-900} tests/vm/vm-run --timeout 1800 --log "$logs/pkg-vm-guest.log" -- \
		tests/package/guest.sh "$ko"
}

purge_debs() {
	apt-get purge -y -qq vfmig-tools vfmig-dkms || fail "apt-get purge"
	local left=() f
	while read -r f; do
		[[ -d $f ]] && continue
		[[ -e $f || -L $f ]] && left+=("$f")
	done <"$pkg/files.list"
	((${#left[@]} == 0)) || fail "left behind: ${left[*]}"
	[[ ! -e /var/lib/dkms/vfmig ]] || fail "/var/lib/dkms/vfmig is left"
	[[ -z $(find /lib/modules -name 'vfmig.ko*' 2>/dev/null) ]] || fail "a vfmig.ko is left in /lib/modules"
	! modinfo -k "$kver" -n vfmig 2>/dev/null || fail "the module index still has vfmig"
	watched >"$pkg/after.list"
	diff "$pkg/before.list" "$pkg/after.list" || fail "the watched directories differ from before the install"
	echo "nothing left: $(wc -l <"$pkg/files.list") package paths gone, $(wc -l <"$pkg/before.list") watched paths as before"
}

step prepare purge_installed || finish
step deb-build deb_build || finish
step lintian run_lintian
step dkms-build dkms_build
if step install install_debs; then
	step guest guest_run
else
	result SKIP guest
fi
step purge purge_debs
finish
