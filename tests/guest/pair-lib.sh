# shellcheck shell=sh
# Helpers for two-host tests (tests/pair/*.test), sourced after lib.sh. They
# run on guest A of tests/vm/vm-pair; guest B runs what A gives it through
# the shared directory $VFMIG_PAIR_DIR (tests/vm/pair-guest's agent): one
# file per command, its output and status back the same way, so the link
# between the guests carries only what a test sends over it.
#
#   on_b CMD          run the shell command line CMD on B (cwd = repo, as
#                     root), print its output, return its status
#   on_b_bg CMD       start CMD on B; prints a job id
#   b_wait JOB        wait for a job of on_b_bg; print its output, its status
#   b_kill JOB [SIG]  signal the job's whole process group (default TERM)
#   pair_fetch B_PATH LOCAL_PATH   copy a file of B to A
# VFMIG_SELF / VFMIG_PEER: this guest's and B's link addresses.

[ "${VFMIG_PAIR_ROLE:-}" = a ] || skip "needs guest A of tests/vm/vm-pair"
PAIR_CTL=$VFMIG_PAIR_DIR
PAIR_SEQ_FILE=$PAIR_CTL/seq

on_b_bg() {
	n=$(($(cat "$PAIR_SEQ_FILE" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$PAIR_SEQ_FILE"
	printf 'cd %s || exit 126\n%s\n' "$VFMIG_REPO" "$1" >"$PAIR_CTL/cmd.$n.tmp"
	mv "$PAIR_CTL/cmd.$n.tmp" "$PAIR_CTL/cmd.$n"
	echo "$n"
}

b_wait() {
	while [ ! -e "$PAIR_CTL/job.$1.rc" ]; do sleep 0.1; done
	cat "$PAIR_CTL/job.$1.out"
	return "$(cat "$PAIR_CTL/job.$1.rc")"
}

on_b() {
	_j=$(on_b_bg "$1")
	b_wait "$_j"
}

b_kill() {
	echo "${2:-TERM}" >"$PAIR_CTL/kill.$1"
}

pair_fetch() {
	on_b "cp '$1' '$PAIR_CTL/fetch.tmp'" || return 1
	mv "$PAIR_CTL/fetch.tmp" "$2"
}
