#!/usr/bin/env bash
# `make demo`: boots the pinned kernel under QEMU (tests/vm/vm-run) and runs
# tests/vm/demo-guest.sh inside it. The guest part is its own file so that it
# can grow into the full migration demo without touching this wrapper.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
rc=0
tests/vm/vm-run --timeout "${VFMIG_DEMO_TIMEOUT:-900}" -- tests/vm/demo-guest.sh || rc=$?
printf '\n==== the same with QEMU 10 as the VMM (a VM with a vfmig device, migrated over QMP): make demo-qemu\n'
exit "$rc"
