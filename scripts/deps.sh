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
#
# QEMU 10 (VFIO migration v2 with PRE_COPY; bookworm's 7.2 has only v1):
# qemu-system-x86, qemu-system-common, qemu-system-data and seabios of the
# series VFMIG_QEMU10_SERIES from bookworm-backports, unpacked with dpkg -x
# into VFMIG_QEMU10_PREFIX (mk/config.mk), next to the system's QEMU 7.2,
# which stays the harness's own VMM. The backports suite is only used for
# fetching, through a private apt state in /var/cache/vfmig/qemu10-apt: the
# system's sources and package lists are not touched. The libraries it links
# come from bookworm (the same ones as 7.2's). scripts/qemu10.sh prints how
# to run it; <prefix>/VERSION records the package versions.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cfg() { sed -n "s/^$1[[:space:]]*:=[[:space:]]*\\([^[:space:]]*\\).*/\\1/p" "$repo/mk/config.mk"; }
pin=$(cfg VFMIG_KVER_PIN)
[[ -n $pin ]] || { echo "deps.sh: no VFMIG_KVER_PIN in mk/config.mk" >&2; exit 1; }
q10_series=$(cfg VFMIG_QEMU10_SERIES)
q10_prefix=${VFMIG_QEMU10_PREFIX:-$(cfg VFMIG_QEMU10_PREFIX)}
[[ -n $q10_series && -n $q10_prefix ]] || { echo "deps.sh: no VFMIG_QEMU10_SERIES/PREFIX in mk/config.mk" >&2; exit 1; }

check_only=0
case ${1:-} in
--check) check_only=1 ;;
'') ;;
*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# Build, VM, BPF, tracing and debug-kernel-lane tools; libclang-rt-19-dev
# is libFuzzer and the sanitizer runtimes for clang (make fuzz); chrony
# syncs the clocks of the two-host test guests (tests/vm/pair-guest runs
# it inside them; installing it replaces systemd-timesyncd and, where
# policy-rc.d forbids it as in containers, starts no service on the host).
# xmllint (libxml2-utils) validates mig-trace's JUnit reports, perl's prove
# and TAP::Parser read its TAP (tests/trace-report-check).
# Packaging (tests/host, make check-package): man-db (man --warnings),
# bash-completion, systemd (systemd.pc, systemd-analyze), dkms, the Debian
# build tools and lintian, and Debian's prometheus and
# prometheus-node-exporter (the tests start their own on loopback; the
# packages' services are not used).
pkgs=(
	make gcc libc6-dev git perl python3
	linux-source-6.12
	qemu-system-x86 busybox-static
	clang-19 llvm-19 lld-19 bpftool libbpf-dev libelf-dev zlib1g-dev pahole
	libclang-rt-19-dev
	libncurses-dev pkg-config
	linux-perf trace-cmd sparse tmux iproute2 xz-utils kmod cpio
	flex bison bc libssl-dev
	shellcheck python3-jsonschema libxml2-utils
	man-db groff-base bash-completion systemd
	dkms dh-dkms debhelper dpkg-dev lintian
	prometheus prometheus-node-exporter
	chrony
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

q10_bin=$q10_prefix/usr/bin/qemu-system-x86_64
q10_ok() { [[ -x $q10_bin && -r $q10_prefix/VERSION ]]; }

# Fast path: everything, including the pinned kernel and QEMU 10, is installed.
missing_of "${pkgs[@]}" "linux-headers-$pin" "linux-image-$pin"
if ((${#missing[@]} == 0)) && q10_ok; then
	((check_only)) || record_kver "$pin"
	exit 0
fi
if ((check_only)); then
	q10_ok || missing+=("QEMU $q10_series in $q10_prefix")
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

# ---------------------------------------------------------------- QEMU 10
# apt with a private state: only bookworm-backports, its lists and downloads
# under /var/cache/vfmig/qemu10-apt. dpkg's status is the system's (read only).
q10_pkgs=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
q10_apt_dir=/var/cache/vfmig/qemu10-apt
q10_apt_opts=(
	-o "Dir::Etc::SourceList=$q10_apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$q10_apt_dir/lists" -o "Dir::Cache=$q10_apt_dir/cache"
	-o APT::Sandbox::User=root
)
q10_candidate() {
	apt-cache "${q10_apt_opts[@]}" show "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | sort -V | tail -n 1
}

install_qemu10() {
	if ((EUID != 0)); then
		echo "deps.sh: QEMU $q10_series is not in $q10_prefix; run as root (sudo make deps)" >&2
		exit 1
	fi
	mkdir -p "$q10_apt_dir/lists/partial" "$q10_apt_dir/cache/archives/partial"
	# The mirror the system uses for bookworm (deb.debian.org if none is found).
	local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg opt=""
	mirror=$(apt-cache policy 2>/dev/null |
		sed -n 's|^ *[0-9]* \(https\{0,1\}://[^ ]*\) bookworm/main amd64 Packages$|\1|p' | head -n 1)
	[[ -r $keyring ]] && opt="[signed-by=$keyring] "
	echo "deb ${opt}${mirror:-http://deb.debian.org/debian} bookworm-backports main" >"$q10_apt_dir/sources.list"
	echo "deps.sh: apt-get update (bookworm-backports, private lists in $q10_apt_dir)" >&2
	apt-get "${q10_apt_opts[@]}" update -qq
	local v p series
	v=$(q10_candidate qemu-system-x86)
	[[ -n $v ]] || { echo "deps.sh: ERROR: bookworm-backports has no qemu-system-x86" >&2; exit 1; }
	series=${v#*:}
	series=$(cut -d. -f1,2 <<<"${series%%[+~-]*}")
	if [[ $series != "$q10_series" ]]; then
		if [[ ${series%%.*} -lt 10 ]]; then
			echo "deps.sh: ERROR: bookworm-backports has qemu-system-x86 $v, need $q10_series" >&2
			exit 1
		fi
		cat >&2 <<-BANNER

		######################################################################
		#  WARNING: bookworm-backports no longer has QEMU $q10_series.
		#  WARNING: using qemu-system-x86 $v instead; update
		#  WARNING: VFMIG_QEMU10_SERIES in mk/config.mk once it is checked.
		######################################################################

		BANNER
	fi
	local dl new
	dl=$(mktemp -d "$q10_apt_dir/dl.XXXXXX")
	new=$(mktemp -d "$(dirname "$q10_prefix")/.$(basename "$q10_prefix").new.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$dl' '$new'" EXIT
	echo "deps.sh: downloading ${q10_pkgs[*]} from bookworm-backports" >&2
	(cd "$dl" && apt-get "${q10_apt_opts[@]}" download -qq "${q10_pkgs[@]}")
	for p in "${q10_pkgs[@]}"; do
		dpkg-deb -x "$dl/${p}_"*.deb "$new"
		# shellcheck disable=SC2016 # dpkg-deb fields
		dpkg-deb -W --showformat='${Package} ${Version}\n' "$dl/${p}_"*.deb >>"$new/VERSION.tmp"
	done
	# The libraries QEMU links (its Depends less the packages unpacked here
	# and ipxe-qemu, NIC boot ROMs), from bookworm: the same set as 7.2's, so
	# normally all present already.
	local deps
	mapfile -t deps < <(for p in qemu-system-x86 qemu-system-common; do
		dpkg-deb -f "$dl/${p}_"*.deb Depends; done | tr ',' '\n' |
		sed -e 's/|.*//' -e 's/(.*//' -e 's/[[:space:]]//g' |
		grep -vxE 'qemu-system-.*|seabios|ipxe-qemu|' | sort -u)
	missing_of "${deps[@]}"
	if ((${#missing[@]})); then
		echo "deps.sh: installing QEMU $q10_series's libraries: ${missing[*]}" >&2
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
	"$new/usr/bin/qemu-system-x86_64" --version >/dev/null ||
		{ echo "deps.sh: ERROR: the unpacked QEMU does not run" >&2; exit 1; }
	mv "$new/VERSION.tmp" "$new/VERSION"
	chmod 755 "$new"
	rm -rf "$q10_prefix"
	mv "$new" "$q10_prefix"
	rm -rf "$dl"
	trap - EXIT
	rm -rf "$q10_apt_dir/cache/archives"/*.deb
}

if ! q10_ok; then
	install_qemu10
fi
echo "deps.sh: QEMU $(sed -n 's/^qemu-system-x86 //p' "$q10_prefix/VERSION") ready: $("$repo/scripts/qemu10.sh")" >&2
