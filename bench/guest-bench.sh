#!/bin/bash
# The guest half of `make bench` (bench/run boots one vm-run guest for it).
# Loads vfmig.ko and measures, writing raw JSON lines into $BENCH_RAW
# (default build/bench/raw/); bench/report.py turns them into numbers.
#
#   1. downtime: per state size one source/target pair, per dirty rate (on
#      the source only) BENCH_REPS repetitions of `migctl migrate -n`
#      (no PRE_COPY) then `migctl migrate` (PRE_COPY), interleaved, both
#      with -r so the pair is reused                 -> downtime.jsonl
#      and, for BENCH_FLOOR_SIZE, PRE_COPY with fw_latency_us=0 -> floor.jsonl
#   1b. expected downtime: the same sizes and rates, BENCH_EXP_REPS PRE_COPY
#      migrations each under one mig-top -j: its migration records (expected
#      and measured downtime) -> expected-top.jsonl, migctl's -> expected.jsonl
#   2. data path: build/bench/datapath vfmig-256M, BENCH_DP_RUNS times
#                                                     -> datapath.jsonl
#   3. tracing cost: BENCH_TRACE_ROUNDS rounds; each round visits the modes
#      off, tracefs, bpf (mig-top -j), perf (perf record) in a balanced order;
#      each visit runs one untimed and BENCH_TRACE_MIGS timed 64 MiB
#      migrations (no dirtying) and (the bpf visit again with mig-top's
#      process stopped: bpf_stopped, BPF programs only)
#      one trace_burst of BENCH_BURST_CALLS calls -> trace-mig.jsonl,
#      trace-burst.jsonl, drops.jsonl; events per burst call from
#      perf stat (two call counts)                -> burst-count.txt
#      and the events of one such migration        -> migration-count.txt
#   env.json: the guest side of the run (kernel, CPU, knobs).
#
# Internal: guest-bench.sh _session MODE ROUND runs one visit's workload
# (perf record runs it as its child).
set -eu

repo=${VFMIG_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
B=${VFMIG_BUILD:-$repo/build}
RAW=${BENCH_RAW:-$B/bench/raw}
REPS=${BENCH_REPS:-7}
SIZES=${BENCH_SIZES:-"16M 64M 256M"}
# name:pages_per_second, the same absolute rates for every size. A 64 MiB
# device has 16384 pages: low ~1%/s, high ~20%/s of its pages; extreme
# (~3x its pages per second, ~200 MB/s of fresh data) is a stress point
# beyond the required three, to find where PRE_COPY stops paying.
RATES=${BENCH_RATES:-"none:0 low:160 high:3200 extreme:50000"}
FW_LATENCY_US=${BENCH_FW_LATENCY_US:-100}
FW_THROUGHPUT=${BENCH_FW_THROUGHPUT:-0}
FLOOR_SIZE=${BENCH_FLOOR_SIZE:-64M}
EXP_REPS=${BENCH_EXP_REPS:-$REPS}
DP_RUNS=${BENCH_DP_RUNS:-5}
DP_TYPE=${BENCH_DP_TYPE:-vfmig-256M}
TRACE_ROUNDS=${BENCH_TRACE_ROUNDS:-8}
TRACE_MIGS=${BENCH_TRACE_MIGS:-6}
TRACE_SIZE=${BENCH_TRACE_SIZE:-64M}
BURST_CALLS=${BENCH_BURST_CALLS:-20000}
TRACEFS_BUF_KB=${BENCH_TRACEFS_BUF_KB:-16384}
PERF_MMAP_PAGES=${BENCH_PERF_MMAP_PAGES:-4096}

MIGCTL=$B/bin/migctl
MIGTOP=$B/bin/mig-top
BURST=$B/bench/trace_burst
DATAPATH=$B/bench/datapath
TYPES=/sys/class/vfmig/vfmig/mdev_supported_types
TRACEFS=/sys/kernel/tracing
[ -d $TRACEFS/events ] || TRACEFS=/sys/kernel/debug/tracing
PERF=$(command -v perf || command -v perf_6.1 || true)
TMP=${TMPDIR:-/tmp}/vfmig-bench

log() { echo "# bench $(date +%T) $*"; }
die() {
	echo "guest-bench: $*" >&2
	exit 1
}

mkdev() {
	local u
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$TYPES/vfmig-$1/create" || die "cannot create a vfmig-$1 device"
	echo "$u"
}
setattr() { echo "$3" >"/sys/bus/mdev/devices/$1/vfmig/$2" || die "cannot set $2=$3 on $1"; }
rmdev() { echo 1 >"/sys/bus/mdev/devices/$1/remove"; }

# bench_dev SIZE: a device with the benchmark's firmware knobs, no dirtying.
bench_dev() {
	local u
	u=$(mkdev "$1")
	setattr "$u" fw_latency_us "$FW_LATENCY_US"
	setattr "$u" fw_throughput "$FW_THROUGHPUT"
	setattr "$u" dirty_rate 0
	echo "$u"
}

# start_migtop OUT: mig-top -j in the background into OUT (errors OUT.err),
# once it is attached; its pid in $top.
start_migtop() {
	local d=0
	"$MIGTOP" -j -i 1s >"$1" 2>"$1.err" &
	top=$!
	until grep -q '"type":"start"' "$1" 2>/dev/null; do
		d=$((d + 1))
		[ $d -lt 600 ] || die "mig-top did not start: $(cat "$1.err")"
		kill -0 "$top" 2>/dev/null || die "mig-top exited: $(cat "$1.err")"
		sleep 0.1
	done
}

# mig OPTS...: one migctl run; its JSON (also on failure) on stdout.
mig() {
	local out
	out=$("$MIGCTL" migrate -j "$@" 2>"$TMP/migctl.err") || true
	[ -n "$out" ] || out="{\"status\":\"error\",\"error\":\"no output: $(head -c 200 "$TMP/migctl.err" | tr -d '"\\\n')\"}"
	printf '%s' "$out" | tr -d '\n'
}

# ------------------------------------------------------------ tracing session
# _session MODE ROUND: the workload of one visit, run directly or as perf's
# child. Needs TRACE_SRC/TRACE_TGT in the environment.
session_migs() {
	local mode=$1 round=$2 i m
	# One migration not counted: whatever the previous visit left behind
	# (page cache, a process exiting) settles before the timed ones.
	mig -r "$TRACE_SRC" "$TRACE_TGT" >/dev/null
	for i in $(seq 1 "$TRACE_MIGS"); do
		m=$(mig -r "$TRACE_SRC" "$TRACE_TGT")
		printf '{"mode":"%s","round":%d,"i":%d,"m":%s}\n' "$mode" "$round" "$i" "$m" >>"$RAW/trace-mig.jsonl"
	done
}

session_workload() {
	local mode=$1 round=$2 b
	session_migs "$mode" "$round"
	b=$("$BURST" "$BURST_CALLS") || die "trace_burst failed"
	printf '{"mode":"%s","round":%d,"b":%s}\n' "$mode" "$round" "$b" >>"$RAW/trace-burst.jsonl"
}

if [ "${1:-}" = _session ]; then
	mkdir -p "$TMP"
	session_workload "$2" "$3"
	exit 0
fi

tracefs_drops() {
	# overrun (overwritten unread events) + dropped events, all CPUs
	cat $TRACEFS/per_cpu/cpu*/stats | awk -F: '
		/^entries/ { e += $2 } /^overrun/ { o += $2 } /^dropped events/ { d += $2 }
		END { printf "{\"entries\":%d,\"overrun\":%d,\"dropped\":%d}", e, o, d }'
}

session() {
	local mode=$1 round=$2 top d lost
	case $mode in
	off)
		session_workload off "$round" ;;
	tracefs)
		echo "$TRACEFS_BUF_KB" >$TRACEFS/buffer_size_kb
		echo mono >$TRACEFS/trace_clock
		: >$TRACEFS/trace
		echo 1 >$TRACEFS/tracing_on
		echo 1 >$TRACEFS/events/vfmig/enable
		session_workload tracefs "$round"
		echo 0 >$TRACEFS/events/vfmig/enable
		d=$(tracefs_drops)
		printf '{"source":"tracefs","round":%d,"stats":%s}\n' "$round" "$d" >>"$RAW/drops.jsonl"
		: >$TRACEFS/trace ;;
	bpf)
		start_migtop "$TMP/top.json"
		session_workload bpf "$round"
		# Split the cost: mig-top's BPF programs stay attached and fill the
		# ring buffer, its user-space consumer is stopped (bpf_stopped).
		kill -STOP "$top"
		session_migs bpf_stopped "$round"
		kill -CONT "$top"
		sleep 1.2 # one more interval: the last rows and counters
		kill -INT "$top"
		wait "$top" || die "mig-top failed: $(cat "$TMP/top.json.err")"
		head -1 "$TMP/top.json" >>"$RAW/migtop-start.jsonl"
		printf '{"source":"mig-top","round":%d,"summary":%s,"migrations_seen":%d,"max_row_drops":%d}\n' "$round" \
			"$(grep '"type":"summary"' "$TMP/top.json" | tail -1)" \
			"$(grep -c '"type":"migration"' "$TMP/top.json" || true)" \
			"$(grep -o '"drops":[0-9]*' "$TMP/top.json" | cut -d: -f2 | sort -n | tail -1)" \
			>>"$RAW/drops.jsonl" ;;
	perf)
		[ -n "$PERF" ] || die "perf not installed"
		TRACE_SRC=$TRACE_SRC TRACE_TGT=$TRACE_TGT \
			"$PERF" record -q -k mono -a -e 'vfmig:*' -m "$PERF_MMAP_PAGES" -o "$TMP/perf.data" -- \
			"$0" _session perf "$round" 2>"$TMP/perf.err" || die "perf record failed: $(cat "$TMP/perf.err")"
		# The first block is the aggregate (per-event blocks follow). "LOST
		# events" / "LOST_SAMPLES events" lines appear only when > 0.
		"$PERF" report -i "$TMP/perf.data" --stats >"$TMP/perf.stats" 2>/dev/null || true
		{ echo "== round $round"; grep 'events:' "$TMP/perf.stats" | head -20; } >>"$RAW/perf-stats.txt"
		lost=$(awk '/LOST[A-Z_]* events:/ && !seen[$1]++ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { n += $i; break } } END { print n + 0 }' "$TMP/perf.stats")
		d=$(awk '/SAMPLE events:/ && !seen++ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { n += $i; break } } END { print n + 0 }' "$TMP/perf.stats")
		printf '{"source":"perf","round":%d,"lost":%d,"samples":%d,"warnings":"%s"}\n' "$round" "$lost" "$d" \
			"$(grep -i 'lost\|warn' "$TMP/perf.err" | head -3 | tr -d '"\\\n')" >>"$RAW/drops.jsonl"
		rm -f "$TMP/perf.data" ;;
	esac
}

# ------------------------------------------------------------ main
[ "${VFMIG_IN_GUEST:-}" = 1 ] || die "runs inside the vm-run guest (use make bench)"
for f in "$MIGCTL" "$MIGTOP" "$BURST" "$DATAPATH"; do
	[ -x "$f" ] || die "$f missing: run make"
done
mkdir -p "$RAW" "$TMP"
rm -f "$RAW"/*.jsonl "$RAW"/*.txt "$RAW"/env.json
. "$repo/tests/guest/lib.sh"
vfmig_load
t_start=$(date +%s)

probe=$(mkdev 16M)
chunk=$(cat /sys/bus/mdev/devices/"$probe"/vfmig/chunk_size)
budget=$(cat /sys/bus/mdev/devices/"$probe"/vfmig/mig_budget)
rmdev "$probe"
cat >"$RAW/env.json" <<EOF
{"guest_kernel":"$(uname -r)","guest_cpu":"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')",
 "guest_cpus":$(nproc),"guest_mem_kb":$(awk '/MemTotal/ {print $2}' /proc/meminfo),
 "guest_cmdline":"$(tr -d '"\n' </proc/cmdline)",
 "perf":"$(${PERF:-false} --version 2>/dev/null | tr -d '"\n')",
 "reps":$REPS,"exp_reps":$EXP_REPS,"sizes":"$SIZES","rates":"$RATES",
 "fw_latency_us":$FW_LATENCY_US,"fw_throughput":$FW_THROUGHPUT,"chunk_size":$chunk,"mig_budget":$budget,
 "downtime_limit_ms":300,
 "dp_runs":$DP_RUNS,"dp_type":"$DP_TYPE",
 "trace_rounds":$TRACE_ROUNDS,"trace_migs":$TRACE_MIGS,"trace_size":"$TRACE_SIZE",
 "burst_calls":$BURST_CALLS,"tracefs_buf_kb":$TRACEFS_BUF_KB,"perf_mmap_pages":$PERF_MMAP_PAGES}
EOF

# ---- 1. downtime matrix
for size in $SIZES; do
	src=$(bench_dev "$size")
	tgt=$(bench_dev "$size")
	for rate in $RATES; do
		name=${rate%%:*} pps=${rate#*:}
		setattr "$src" dirty_rate "$pps"
		# Warm-up, not counted: one verified migration per mode.
		for opt in -n ""; do
			# shellcheck disable=SC2086 # $opt: no word or one option
			m=$(mig -r -V $opt "$src" "$tgt")
			printf '{"size":"%s","rate":"%s","dirty_rate":%d,"opt":"%s","m":%s}\n' \
				"$size" "$name" "$pps" "$opt" "$m" >>"$RAW/warmup.jsonl"
		done
		log "downtime $size $name ($pps pages/s): $REPS reps"
		for rep in $(seq 1 "$REPS"); do
			m=$(mig -r -n "$src" "$tgt")
			printf '{"size":"%s","rate":"%s","dirty_rate":%d,"mode":"no_precopy","rep":%d,"m":%s}\n' \
				"$size" "$name" "$pps" "$rep" "$m" >>"$RAW/downtime.jsonl"
			m=$(mig -r "$src" "$tgt")
			printf '{"size":"%s","rate":"%s","dirty_rate":%d,"mode":"precopy","rep":%d,"m":%s}\n' \
				"$size" "$name" "$pps" "$rep" "$m" >>"$RAW/downtime.jsonl"
		done
	done
	setattr "$src" dirty_rate 0
	# Where PRE_COPY's remaining downtime goes: the same with fw_latency_us=0.
	if [ "$size" = "$FLOOR_SIZE" ]; then
		for u in "$src" "$tgt"; do setattr "$u" fw_latency_us 0; done
		log "downtime floor $size: PRE_COPY, fw_latency_us=0, $REPS reps"
		mig -r "$src" "$tgt" >/dev/null
		for rep in $(seq 1 "$REPS"); do
			m=$(mig -r "$src" "$tgt")
			printf '{"size":"%s","rate":"none","fw_latency_us":0,"mode":"precopy","rep":%d,"m":%s}\n' \
				"$size" "$rep" "$m" >>"$RAW/floor.jsonl"
		done
	fi
	rmdev "$src"
	rmdev "$tgt"
done

# ---- 1b. expected downtime: mig-top's estimate at T0 against the downtime
start_migtop "$TMP/exp-top.json"
for size in $SIZES; do
	src=$(bench_dev "$size")
	tgt=$(bench_dev "$size")
	for rate in $RATES; do
		name=${rate%%:*} pps=${rate#*:}
		setattr "$src" dirty_rate "$pps"
		log "expected downtime $size $name ($pps pages/s): $EXP_REPS reps"
		for rep in $(seq 1 "$EXP_REPS"); do
			m=$(mig -r "$src" "$tgt")
			printf '{"size":"%s","rate":"%s","dirty_rate":%d,"rep":%d,"m":%s}\n' \
				"$size" "$name" "$pps" "$rep" "$m" >>"$RAW/expected.jsonl"
		done
	done
	rmdev "$src"
	rmdev "$tgt"
done
sleep 1.2 # mig-top's last records
kill -INT "$top"
wait "$top" || die "mig-top failed: $(cat "$TMP/exp-top.json.err")"
grep '"type":"migration"' "$TMP/exp-top.json" >"$RAW/expected-top.jsonl" || true

# ---- 2. data path
for i in $(seq 1 "$DP_RUNS"); do
	log "datapath $DP_TYPE run $i"
	d=$("$DATAPATH" "$DP_TYPE") || die "datapath failed"
	printf '{"run":%d,"d":%s}\n' "$i" "$d" >>"$RAW/datapath.jsonl"
done

# ---- 3. tracing cost
TRACE_SRC=$(bench_dev "$TRACE_SIZE")
TRACE_TGT=$(bench_dev "$TRACE_SIZE")
export TRACE_SRC TRACE_TGT
# Warm-up (not counted): the first migrations and mig-top's first BPF load.
mig -r "$TRACE_SRC" "$TRACE_TGT" >/dev/null
"$BURST" 2000 >/dev/null
# Visit orders: a Williams square, so over 4 rounds every mode comes first,
# last, and right after each other mode once (drift and carry-over from the
# previous visit, e.g. perf's post-processing, do not favour one mode).
williams="off tracefs perf bpf|tracefs bpf off perf|bpf perf tracefs off|perf off bpf tracefs"
for round in $(seq 1 "$TRACE_ROUNDS"); do
	order=$(echo "$williams" | cut -d'|' -f$(((round - 1) % 4 + 1)))
	for mode in $order; do
		log "tracing round $round/$TRACE_ROUNDS: $mode"
		session "$mode" "$round"
	done
done
# Events per burst call: perf stat around 0 and BURST_CALLS calls.
if [ -n "$PERF" ]; then
	for n in 0 "$BURST_CALLS"; do
		echo "== calls $n" >>"$RAW/burst-count.txt"
		"$PERF" stat -a -x, -e 'vfmig:*' -- "$BURST" "$n" vfmig-4M 0 >/dev/null 2>>"$RAW/burst-count.txt" ||
			die "perf stat failed"
	done
fi
# Which events one tracing-cost migration fires.
if [ -n "$PERF" ]; then
	"$PERF" stat -a -x, -e 'vfmig:*' -- "$MIGCTL" migrate -q -r "$TRACE_SRC" "$TRACE_TGT" \
		2>"$RAW/migration-count.txt" || die "perf stat of a migration failed"
fi
rmdev "$TRACE_SRC"
rmdev "$TRACE_TGT"

echo "{\"seconds\":$(($(date +%s) - t_start))}" >"$RAW/done.json"
log "done in $(($(date +%s) - t_start)) s"
vfmig_unload
