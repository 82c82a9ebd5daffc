#!/usr/bin/env bash
# Installs everything vfmig needs to build and test, from Debian's archive.
# The project's own files must install what it needs (machines are handed out
# fresh), so `make deps`, `make check` and `make demo` all come through here.
# Idempotent and fast: when every package is present it only asks dpkg-query
# (no apt at all) and exits. Installing needs root.
#
#   scripts/deps.sh            install what is missing
#   scripts/deps.sh --check    exit 0 if nothing is missing, 1 otherwise
#
# Kernel: linux-headers-$VFMIG_KVER_PIN (mk/config.mk), which pulls the
# matching linux-image into /boot and /lib/modules. If the archive no longer
# carries it, the newest linux-headers-6.12.*+deb12-amd64 is installed
# instead, a WARNING banner names both, and the choice is recorded in
# build/kver for scripts/kver.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pin=$(sed -n 's/^VFMIG_KVER_PIN[[:space:]]*:=[[:space:]]*\([^[:space:]]*\).*/\1/p' "$repo/mk/config.mk")
[[ -n $pin ]] || { echo "deps.sh: no VFMIG_KVER_PIN in mk/config.mk" >&2; exit 1; }

check_only=0
case ${1:-} in
--check) check_only=1 ;;
'') ;;
*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# Build, VM, BPF, tracing and debug-kernel-lane tools; libclang-rt-19-dev
# is libFuzzer and the sanitizer runtimes for clang (make fuzz).
pkgs=(
	make gcc libc6-dev git perl python3
	linux-source-6.12
	qemu-system-x86 busybox-static
	clang-19 llvm-19 lld-19 bpftool libbpf-dev libelf-dev zlib1g-dev pahole
	libclang-rt-19-dev
	libncurses-dev pkg-config
	linux-perf trace-cmd sparse tmux iproute2 xz-utils kmod cpio
	flex bison bc libssl-dev
	shellcheck
)

installed() { [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]; }

record_kver() {
	mkdir -p "$repo/build"
	if [[ ! -r $repo/build/kver || $(<"$repo/build/kver") != "$1" ]]; then
		echo "$1" >"$repo/build/kver"
	fi
}

# missing_of PKG...: sets missing=() to those not installed (one dpkg-query).
missing_of() {
	local -A ok=()
	local p s
	while read -r p s; do
		[[ $s == ii* ]] && ok[${p%%:*}]=1
	done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
	missing=()
	for p; do [[ -n ${ok[$p]:-} ]] || missing+=("$p"); done
}

# Fast path: everything, including the pinned kernel, is installed.
missing_of "${pkgs[@]}" "linux-headers-$pin" "linux-image-$pin"
if ((${#missing[@]} == 0)); then
	((check_only)) || record_kver "$pin"
	exit 0
fi
if ((check_only)); then
	echo "deps.sh: missing: ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
has_candidate() {
	local c
	c=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	[[ -n $c && $c != "(none)" ]]
}
updated=0
apt_update() {
	((updated)) && return 0
	updated=1
	if ((EUID != 0)); then
		echo "deps.sh: not root: cannot refresh the package lists" >&2
		return 0
	fi
	echo "deps.sh: apt-get update" >&2
	apt-get update -qq
}
# Refresh the package lists only when they are absent, or when a package we
# need has no candidate and the lists are more than a day old.
lists_fresh() {
	[[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null) ]]
}
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	apt_update
fi
for p in "${pkgs[@]}" "linux-headers-$pin"; do
	if ! installed "$p" && ! has_candidate "$p"; then
		lists_fresh || apt_update
		break
	fi
done

# Choose the kernel: the pin if installed or installable, else the newest 6.12.
if installed "linux-headers-$pin" || has_candidate "linux-headers-$pin"; then
	kver=$pin
else
	fallback=$(apt-cache pkgnames linux-headers-6.12. |
		grep -E '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' |
		sed 's/^linux-headers-//' | sort -V | tail -n 1 || true)
	if [[ -z $fallback ]]; then
		echo "deps.sh: ERROR: neither linux-headers-$pin nor any linux-headers-6.12.*+deb12-amd64 is in the archive" >&2
		exit 1
	fi
	kver=$fallback
	cat >&2 <<-BANNER

	######################################################################
	#  WARNING: pinned kernel $pin is not in Debian's archive.
	#  WARNING: falling back to $fallback.
	#  WARNING: update VFMIG_KVER_PIN in mk/config.mk (and run
	#  WARNING: make vmlinux.h) once this kernel has been checked.
	######################################################################

	BANNER
fi

missing_of "${pkgs[@]}" "linux-headers-$kver" "linux-image-$kver"
if ((${#missing[@]})); then
	if ((EUID != 0)); then
		echo "deps.sh: missing packages: ${missing[*]}" >&2
		echo "deps.sh: run as root (sudo make deps) to install them" >&2
		exit 1
	fi
	echo "deps.sh: installing: ${missing[*]}" >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for f in "/lib/modules/$kver/build/Makefile" "/boot/vmlinuz-$kver" "/usr/src/linux-headers-$kver/vmlinux"; do
	[[ -e $f ]] || { echo "deps.sh: ERROR: $f missing after install" >&2; exit 1; }
done
record_kver "$kver"
echo "deps.sh: kernel $kver ready" >&2
