#!/usr/bin/env bash
# Keeps an out-of-tree Kbuild directory under build/ in sync with a source
# folder: one relative symlink per *.c, *.h and Kbuild file, dangling links
# removed. Kbuild writes its objects next to the sources it is given, so
# building in this farm keeps kernel/ (and tests/vm/warnmod/) free of build
# products. Silent unless something changed.
#   scripts/symlink-farm.sh SRC_DIR DST_DIR     (both relative to the repo top)
set -euo pipefail

src=${1:?usage: symlink-farm.sh SRC_DIR DST_DIR} dst=${2:?usage: symlink-farm.sh SRC_DIR DST_DIR}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
mkdir -p "$dst"
# Path from DST_DIR back to the repo top, e.g. build/kernel -> ../..
up=$(echo "$dst" | sed -E 's#[^/]+#..#g')

shopt -s nullglob
for f in "$src"/*.c "$src"/*.h "$src"/Kbuild; do
	want=$up/$f
	link=$dst/$(basename "$f")
	if [[ ! -L $link || $(readlink "$link") != "$want" ]]; then
		ln -sfn "$want" "$link"
	fi
done
for link in "$dst"/*; do
	[[ -L $link && ! -e $link ]] && rm -f "$link"
done
exit 0
