#!/usr/bin/env bash
# Builds (once per machine) the debug guest kernel of `make check-debug`:
# Debian's linux-source-6.12 configured with `make allnoconfig` plus the
# fragment tests/vm/debug.config (KASAN, lockdep, kmemleak, fault injection,
# BTF, VFIO + mdev, 9p over virtio built in), and prints its cache directory.
#
#   scripts/debug-kernel.sh          build if needed; print the cache dir
#   scripts/debug-kernel.sh --key    print the cache key only
#
# The cache directory, $VFMIG_DEBUG_CACHE/<key> (default
# /var/cache/vfmig/debug-kernel/<key>, key = sha256 of the linux-source
# package version, the fragment and the recipe version below), holds:
#   bzImage    the kernel to boot (tests/vm/vm-run --kernel)
#   release    its release, e.g. 6.12.117-vfmig-debug
#   src/       the configured and built tree: KDIR for out-of-tree modules
#   modroot/lib/modules/<release>/   modules_install output (mtty sample too)
#   build.log, build-seconds, ok     build output, cold build time, done stamp
# /lib/modules/<release> is (re)pointed at modroot/lib/modules/<release>,
# beside Debian's trees (the release names differ), so the guest, which sees
# the host root, finds vfio/mdev/mtty with modprobe; its `build` link is src/.
# Builds run under nice -n 19 with -j2 (the machine is shared) and resume
# where they stopped if interrupted; concurrent callers wait on a lock.
set -euo pipefail

recipe=1 # bump when the build steps below change what is produced
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
frag=$repo/tests/vm/debug.config
tarball=/usr/src/linux-source-6.12.tar.xz
base=${VFMIG_DEBUG_CACHE:-/var/cache/vfmig/debug-kernel}
jobs=2

say() { echo "debug-kernel: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[[ -r $frag ]] || die "$frag missing"
[[ -r $tarball ]] || die "$tarball missing (make deps)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || die "linux-source-6.12 not installed (make deps)"
key=$({
	echo "recipe $recipe"
	echo "linux-source-6.12 $srcver"
	cat "$frag"
} | sha256sum | cut -c1-16)
case ${1:-} in
--key) echo "$key"; exit 0 ;;
'') ;;
*) echo "usage: $0 [--key]" >&2; exit 2 ;;
esac

dir=$base/$key
mkdir -p "$base"
exec {lockfd}>"$base/$key.lock"
flock "$lockfd"

# check_config: every symbol the fragment sets must have that value in .config.
check_config() {
	local line sym want got bad=0
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			sym=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]} want=n
		else
			continue
		fi
		got=$(sed -n -e "s/^$sym=//p" -e "s/^# $sym is not set$/n/p" "$dir/src/.config")
		[[ -n $got ]] || got=n
		if [[ $got != "$want" ]]; then
			say "config: $sym=$want requested, got $got (a dependency is missing from $frag?)"
			bad=1
		fi
	done <"$frag"
	return "$bad"
}

build() {
	local t0 rel kmake
	t0=$(date +%s)
	mkdir -p "$dir"
	say "building the debug kernel in $dir (log: $dir/build.log); the first build takes a while"
	: >"$dir/build.log"
	if [[ ! -r $dir/src/Makefile ]]; then
		rm -rf "$dir/src" "$dir/src.tmp"
		mkdir -p "$dir/src.tmp"
		say "extracting $tarball"
		tar -xJf "$tarball" -C "$dir/src.tmp" --strip-components=1
		mv "$dir/src.tmp" "$dir/src"
	fi
	kmake=(nice -n 19 make -C "$dir/src" -j"$jobs")
	if [[ ! -e $dir/config.ok ]]; then
		"${kmake[@]}" KCONFIG_ALLCONFIG="$frag" allnoconfig >>"$dir/build.log" 2>&1 ||
			die "allnoconfig failed: see $dir/build.log"
		check_config || die "the fragment did not apply cleanly"
		touch "$dir/config.ok"
	fi
	say "compiling (nice -n 19, -j$jobs)"
	"${kmake[@]}" all >>"$dir/build.log" 2>&1 || {
		tail -n 30 "$dir/build.log" >&2
		die "kernel build failed: see $dir/build.log"
	}
	rel=$(make -s -C "$dir/src" kernelrelease)
	rm -rf "$dir/modroot"
	"${kmake[@]}" INSTALL_MOD_PATH="$dir/modroot" modules_install >>"$dir/build.log" 2>&1 ||
		die "modules_install failed: see $dir/build.log"
	ln -sfn "$dir/src" "$dir/modroot/lib/modules/$rel/build"
	cp "$dir/src/arch/x86/boot/bzImage" "$dir/bzImage"
	echo "$rel" >"$dir/release"
	echo $(($(date +%s) - t0)) >"$dir/build-seconds"
	touch "$dir/ok"
	say "built $rel in $(<"$dir/build-seconds") s"
}

[[ -e $dir/ok ]] || build
rel=$(<"$dir/release")

# Point /lib/modules/<release> at this build (a symlink we own, never a real tree).
link=/lib/modules/$rel
want=$dir/modroot/lib/modules/$rel
if [[ -e $link && ! -L $link ]]; then
	die "$link exists and is not a symlink: refusing to replace it"
fi
if [[ ! -L $link || $(readlink "$link") != "$want" ]]; then
	ln -sfn "$want" "$link.tmp.$$" && mv -T "$link.tmp.$$" "$link"
fi
flock -u "$lockfd"
echo "$dir"
