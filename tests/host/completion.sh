#!/usr/bin/env bash
# The bash completion of mig-top, migctl and mig-trace, run the way bash
# runs it: bash-completion loaded, the completion file sourced, COMP_WORDS
# set and the function called. Options offered must be the long options of
# each tool's --help; commands, modes and files where they belong; with
# --devices UUID..., `migctl migrate <TAB>` must offer those mdev devices
# (the package test runs it in the guest, where they exist).
#   tests/host/completion.sh [--file FILE] [--bindir DIR] [--devices UUID...]
#     FILE: the completion (default packaging/bash-completion; the package
#     test passes the installed one); DIR: the tools (default build/bin).
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
file=$repo/packaging/bash-completion bindir=$repo/build/bin devices=()
while (($#)); do
	case $1 in
	--file) file=$2; shift 2 ;;
	--bindir) bindir=$2; shift 2 ;;
	--devices) shift; devices=("$@"); break ;;
	*) echo "usage: $0 [--file FILE] [--bindir DIR] [--devices UUID...]" >&2; exit 2 ;;
	esac
done
bc=/usr/share/bash-completion/bash_completion
[[ -r $bc ]] || { echo "SKIP: bash-completion is not installed (make deps)"; exit 77; }
export PATH=$bindir:${bindir%/sbin}/bin:$PATH
# shellcheck source=/dev/null
. "$bc"
# shellcheck source=packaging/bash-completion
. "$file"

fails=0
# expect TEXT WANT GOT: one ok/FAIL line (lists shown on one line).
expect() {
	if [[ -n $2 && $2 == "$3" ]]; then
		echo "ok   $1"
	else
		echo "FAIL $1: got [${3//$'\n'/ }], want [${2//$'\n'/ }]"
		fails=$((fails + 1))
	fi
}
# complete_line WORD...: the sorted COMPREPLY for the command line WORD...
# (the last word is the one being completed).
complete_line() {
	local fn
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	fn=$(complete -p "$1" 2>/dev/null | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
	[[ -n $fn ]] || return 1
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}" | sort -u
}
sorted() { printf '%s\n' "$@" | sort -u; }
# The long options of TOOL --help, "=" after those with an argument.
long_opts() { "$1" --help | grep -oE '^ {2,6}(-[^ ,]+, )?--[a-zA-Z][a-zA-Z0-9-]*=?' | grep -oE -- '--[a-zA-Z0-9-]+=?' | sort -u; }

for t in mig-top migctl mig-trace; do
	[[ -x $(command -v "$t") ]] || { echo "FAIL: $t not found in $bindir"; exit 1; }
done
expect "mig-top --<TAB>: the long options of --help" "$(long_opts mig-top)" "$(complete_line mig-top --)"
expect "migctl --<TAB>: the long options of --help" "$(long_opts migctl)" "$(complete_line migctl --)"
# mig-trace: short options after the command (but -h), and -- before CMD.
mapfile -t short < <(mig-trace --help | grep -oE '^ {2,6}-[a-z]' | tr -d ' ' | grep -vx -- -h)
expect "mig-trace record -<TAB>: the options of --help and --" "$(sorted "${short[@]}" --)" "$(complete_line mig-trace record -)"
expect "mig-top -m <TAB>: attach modes" "$(sorted tp_btf raw_tp tp fentry kprobe)" "$(complete_line mig-top -m '')"
expect "mig-top --replay <TAB>: files" "$repo/tests/host/data/migrations.events" \
	"$(complete_line mig-top --replay "$repo/tests/host/data/mig")"
expect "migctl <TAB>: the commands" "$(sorted migrate send receive save load inspect info)" "$(complete_line migctl '')"
expect "migctl -d 300 sa<TAB>: save (an option's argument is no command)" save "$(complete_line migctl -d 300 sa)"
expect "migctl inspect <TAB>: files" "$repo/tests/host/data/migrations.events" \
	"$(complete_line migctl inspect "$repo/tests/host/data/mig")"
expect "mig-trace <TAB>: its commands" "$(sorted record check run)" "$(complete_line mig-trace '')"
expect "mig-trace run SPEC -- migc<TAB>: the command" migctl "$(complete_line mig-trace run x.spec -- migc)"
expect "mig-trace record -- migctl mi<TAB>: migctl's own completion" migrate "$(complete_line mig-trace record -- migctl mi)"
if ((${#devices[@]})); then
	expect "migctl migrate -V <TAB>: the mdev devices (${#devices[@]})" "$(sorted "${devices[@]}")" \
		"$(complete_line migctl migrate -V '')"
	expect "migctl load FILE <TAB>: the mdev devices" "$(sorted "${devices[@]}")" "$(complete_line migctl load f.mig '')"
fi
echo "# $fails check(s) failed"
((fails == 0))
