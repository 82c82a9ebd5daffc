#!/usr/bin/env bash
# The one place that says how to run the project's QEMU 10 (the VMM of the
# QEMU tests and of `make demo-qemu`). scripts/deps.sh unpacks
# qemu-system-x86, qemu-system-common, qemu-system-data and seabios of the
# series VFMIG_QEMU10_SERIES (mk/config.mk) from Debian's bookworm-backports
# into VFMIG_QEMU10_PREFIX and records the package versions in
# <prefix>/VERSION. The host root is the guest's root (tests/vm/vm-run), so
# the same command works on the host and in the test guest.
#
#   scripts/qemu10.sh             print the command: BINARY -L DIR -L DIR
#   scripts/qemu10.sh --version   print <prefix>/VERSION (package versions)
#   scripts/qemu10.sh --prefix    print the prefix
#   scripts/qemu10.sh --check     exit 0 if it is installed and runs
#
# Usage: qemu=$(scripts/qemu10.sh) && $qemu -M q35 ... (no path has spaces).
# Exit 1 with a message on stderr when it is not installed (run make deps).
# VFMIG_QEMU10_PREFIX in the environment overrides mk/config.mk.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${VFMIG_QEMU10_PREFIX:-$(sed -n 's/^VFMIG_QEMU10_PREFIX[[:space:]]*:=[[:space:]]*\([^[:space:]]*\).*/\1/p' "$repo/mk/config.mk")}
[[ -n $prefix ]] || { echo "qemu10.sh: no VFMIG_QEMU10_PREFIX in mk/config.mk" >&2; exit 1; }
bin=$prefix/usr/bin/qemu-system-x86_64

if [[ ! -x $bin || ! -r $prefix/VERSION ]]; then
	echo "qemu10.sh: QEMU 10 is not installed in $prefix (run: make deps)" >&2
	exit 1
fi

case ${1:-} in
'') echo "$bin -L $prefix/usr/share/seabios -L $prefix/usr/share/qemu" ;;
--version) cat "$prefix/VERSION" ;;
--prefix) echo "$prefix" ;;
--check) "$bin" --version >/dev/null ;;
*) echo "usage: $0 [--version|--prefix|--check]" >&2; exit 2 ;;
esac
