#!/usr/bin/env bash
# Prints the kernel release that vfmig builds against and boots in the VM.
# mk/config.mk pins it (VFMIG_KVER_PIN); when that build is not installed
# (Debian's archive dropped it), scripts/deps.sh installs the newest 6.12
# "+deb12" build instead and records it in build/kver. This script is the one
# reader of that decision, so the Makefile and the VM runner always agree.
# VFMIG_KVER, when set, wins: the debug lane (make check-debug) sets it in its
# guest, which runs a kernel of its own (scripts/debug-kernel.sh).
set -euo pipefail

if [[ -n ${VFMIG_KVER:-} ]]; then
	echo "$VFMIG_KVER"
	exit 0
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pin=$(sed -n 's/^VFMIG_KVER_PIN[[:space:]]*:=[[:space:]]*\([^[:space:]]*\).*/\1/p' "$repo/mk/config.mk")
[[ -n $pin ]] || { echo "kver.sh: no VFMIG_KVER_PIN in mk/config.mk" >&2; exit 1; }

usable() { [[ -e /lib/modules/$1/build/Makefile ]]; }

if usable "$pin"; then
	echo "$pin"
	exit 0
fi
if [[ -r $repo/build/kver ]]; then
	rec=$(<"$repo/build/kver")
	if [[ -n $rec ]] && usable "$rec"; then
		echo "$rec"
		exit 0
	fi
fi
# build/ was cleaned after a fallback: take the newest installed 6.12 build.
newest=$(find /lib/modules -mindepth 1 -maxdepth 1 -name '6.12.*+deb12-amd64' -printf '%f\n' 2>/dev/null |
	sort -V | while read -r r; do usable "$r" && echo "$r"; done | tail -n 1)
if [[ -n $newest ]]; then
	echo "$newest"
else
	echo "$pin" # nothing installed yet: name the pin so errors point at it
fi
