#!/usr/bin/env bash
# `make demo-qemu`: the story of `make demo` with QEMU 10 as the VMM. Boots the
# pinned kernel under the harness's QEMU (tests/vm/vm-run) and runs
# tests/vm/demo-qemu-guest.sh inside it, which starts two QEMU 10 processes
# (scripts/qemu10.sh) and live-migrates a VM with a vfmig device between them.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
scripts/qemu10.sh >/dev/null
exec tests/vm/vm-run --timeout "${VFMIG_DEMO_TIMEOUT:-900}" -- tests/vm/demo-qemu-guest.sh
