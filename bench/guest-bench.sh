#!/bin/bash
# The guest half of `make bench` (bench/run boots one vm-run guest for it).
# Loads vfmig.ko and measures, writing raw JSON lines into $BENCH_RAW
# (default build/bench/raw/); bench/report.py turns them into numbers.
# BENCH_PARTS (default: all, in this order) picks sections:
#
#   downtime    per device profile (BENCH_PROFILES: precopyable, cx7-vf) and
#               state size one source/target pair; per dirty rate (on the
#               source only) BENCH_REPS repetitions of `migctl migrate -n`
#               (no PRE_COPY) then `migctl migrate` (PRE_COPY), interleaved,
#               both with -r so the pair is reused      -> downtime.jsonl
#               and, for BENCH_FLOOR_SIZE, PRE_COPY with fw_latency_us=0
#                                                        -> floor.jsonl
#   expected    mig-top's expected downtime against the measured one: the
#               precopyable sizes and rates, BENCH_EXP_REPS PRE_COPY
#               migrations each under one mig-top -j: its migration records
#               -> expected-top.jsonl, migctl's          -> expected.jsonl
#   datapath    build/bench/datapath BENCH_DP_TYPE: save read() / resume
#               write() against tmpfs read() / write()   -> datapath.jsonl
#   memory      one migration without PRE_COPY per BENCH_PEAK_SIZES:
#               mig_peak_bytes of source and target      -> peak.jsonl
#   concurrency BENCH_CONC_ROUNDS rounds of N concurrent migctl migrations
#               (N in BENCH_CONC_NS on BENCH_CONC_SIZE pairs, then 1 and
#               BENCH_CONC_SMALL_N on BENCH_CONC_SMALL_SIZE pairs), mig-top
#               -j -i 1s running: migctl JSON, firmware command statistics,
#               peaks, mig-top's CPU time per phase      -> conc.jsonl
#   storm       trace_burst storm at BENCH_STORM_CALLS calls/s for
#               BENCH_STORM_S s under mig-top -j -i 1s   -> storm.jsonl
#   tracing     rounds of visits to the modes off, tracefs, bpf (mig-top
#               -j), perf (perf record) in a balanced order; each visit runs
#               one untimed and BENCH_TRACE_MIGS timed BENCH_TRACE_SIZE
#               migrations and one trace_burst of BENCH_BURST_CALLS calls;
#               from BENCH_TRACE_MIN_ROUNDS rounds on, bench/report.py
#               --stop-rule ends them once the 95% intervals of the direct
#               overheads are within +-BENCH_TRACE_CI (or at
#               BENCH_TRACE_MAX_ROUNDS / BENCH_TRACE_BUDGET_S)
#                         -> trace-mig.jsonl, trace-burst.jsonl, drops.jsonl;
#               events per burst call from perf stat (two call counts)
#                                                        -> burst-count.txt
#               and the events of one such migration     -> migration-count.txt
#   notrace     BENCH_NOTRACE_ROUNDS rounds, each visiting build/kernel/vfmig.ko
#               (tracepoints compiled in, disabled) and build/bench/notrace/
#               vfmig.ko (compiled out) in alternating order: migrations and
#               a burst as in tracing                    -> notrace.jsonl
#   env.json: the guest side of the run (kernel, CPU, knobs).
#
# Internal: guest-bench.sh _session MODE ROUND runs one visit's workload
# (perf record runs it as its child).
set -eu

repo=${VFMIG_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
B=${VFMIG_BUILD:-$repo/build}
RAW=${BENCH_RAW:-$B/bench/raw}
PARTS=${BENCH_PARTS:-"downtime expected datapath memory concurrency storm tracing notrace"}
REPS=${BENCH_REPS:-7}
EXP_REPS=${BENCH_EXP_REPS:-$REPS}
PROFILES=${BENCH_PROFILES:-"precopyable cx7-vf"}
SIZES=${BENCH_SIZES:-"16M 64M"}
# name:pages_per_second, the same absolute rates for every size. A 64 MiB
# device has 16384 pages: low ~1%/s, high ~20%/s of its pages; extreme
# (~3x its pages per second, ~200 MB/s of fresh data) is a stress point
# beyond the required three, to find where PRE_COPY stops paying.
RATES=${BENCH_RATES:-"none:0 low:160 high:3200 extreme:50000"}
CX7_SIZES=${BENCH_CX7_SIZES:-64M}
CX7_RATES=${BENCH_CX7_RATES:-"none:0 low:160 high:3200"}
FW_LATENCY_US=${BENCH_FW_LATENCY_US:-100}
FW_THROUGHPUT=${BENCH_FW_THROUGHPUT:-0}
FLOOR_SIZE=${BENCH_FLOOR_SIZE:-64M}
DP_TYPE=${BENCH_DP_TYPE:-vfmig-256M}
DP_IOSIZE=${BENCH_DP_IOSIZE:-1048576}
DP_REPS=${BENCH_DP_REPS:-3}
PEAK_SIZES=${BENCH_PEAK_SIZES:-"64M 256M 1G"}
CONC_NS=${BENCH_CONC_NS:-"1 2 4 8"}
CONC_SIZE=${BENCH_CONC_SIZE:-64M}
CONC_SMALL_N=${BENCH_CONC_SMALL_N:-32}
CONC_SMALL_SIZE=${BENCH_CONC_SMALL_SIZE:-4M}
CONC_ROUNDS=${BENCH_CONC_ROUNDS:-3}
STORM_CALLS=${BENCH_STORM_CALLS:-333334}
STORM_S=${BENCH_STORM_S:-5}
STORM_THREADS=${BENCH_STORM_THREADS:-2}
TRACE_MIN_ROUNDS=${BENCH_TRACE_MIN_ROUNDS:-4}
TRACE_MAX_ROUNDS=${BENCH_TRACE_MAX_ROUNDS:-48}
TRACE_BUDGET_S=${BENCH_TRACE_BUDGET_S:-1500}
TRACE_CI=${BENCH_TRACE_CI:-0.01}
TRACE_MIGS=${BENCH_TRACE_MIGS:-10}
TRACE_SIZE=${BENCH_TRACE_SIZE:-16M}
TRACE_FW_LATENCY_US=${BENCH_TRACE_FW_LATENCY_US:-0}
BURST_CALLS=${BENCH_BURST_CALLS:-20000}
TRACEFS_BUF_KB=${BENCH_TRACEFS_BUF_KB:-16384}
PERF_MMAP_PAGES=${BENCH_PERF_MMAP_PAGES:-4096}
NOTRACE_ROUNDS=${BENCH_NOTRACE_ROUNDS:-8}

MIGCTL=$B/bin/migctl
MIGTOP=$B/bin/mig-top
BURST=$B/bench/trace_burst
DATAPATH=$B/bench/datapath
NOTRACE_KO=$B/bench/notrace/vfmig.ko
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
getattr() { cat "/sys/bus/mdev/devices/$1/vfmig/$2"; }
rmdev() { echo 1 >"/sys/bus/mdev/devices/$1/remove"; }
# The firmware model's command statistics of a device, as one JSON object:
# {"save":[count,failed,lat_ns],...}.
fwstats() {
	awk '{ split($2, c, "="); split($3, f, "="); split($4, l, "=");
	       printf "%s\"%s\":[%s,%s,%s]", (NR > 1 ? "," : "{"), $1, c[2], f[2], l[2] }
	     END { print "}" }' "/sys/kernel/debug/vfmig/$1/fw_stats"
}
# CPU time (clock ticks, user + system) of a process.
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
now_ns() { date +%s%N; }

# mig OPTS...: one migctl run; its JSON (also on failure) on stdout.
mig() {
	local out
	out=$("$MIGCTL" migrate -j "$@" 2>"$TMP/migctl.err") || true
	[ -n "$out" ] || out="{\"status\":\"error\",\"error\":\"no output: $(head -c 200 "$TMP/migctl.err" | tr -d '"\\\n')\"}"
	printf '%s' "$out" | tr -d '\n'
}

# migtop_start FILE: mig-top -j -i 1s in the background, attached; sets TOP.
migtop_start() {
	local d=0
	"$MIGTOP" -j -i 1s >"$1" 2>"$TMP/top.err" &
	TOP=$!
	until grep -q '"type":"start"' "$1" 2>/dev/null; do
		d=$((d + 1))
		[ $d -lt 600 ] || die "mig-top did not start: $(cat "$TMP/top.err")"
		kill -0 $TOP 2>/dev/null || die "mig-top exited: $(cat "$TMP/top.err")"
		sleep 0.1
	done
}

# migtop_stop FILE: one more interval for the last rows, then stop it.
migtop_stop() {
	sleep 1.2
	kill -INT "$TOP"
	wait "$TOP" || die "mig-top failed: $(cat "$TMP/top.err")"
}

# The largest "drops" of any line of a mig-top JSON file (cumulative).
migtop_drops() { grep -o '"drops":[0-9]*' "$1" | cut -d: -f2 | sort -n | tail -1; }

# ------------------------------------------------------------ tracing session
# _session MODE ROUND: the workload of one visit, run directly or as perf's
# child. Needs TRACE_SRC/TRACE_TGT in the environment.
session_migs() {
	local mode=$1 round=$2 out=$3 i m
	# One migration not counted: whatever the previous visit left behind
	# (page cache, a process exiting) settles before the timed ones.
	mig -r "$TRACE_SRC" "$TRACE_TGT" >/dev/null
	for i in $(seq 1 "$TRACE_MIGS"); do
		m=$(mig -r "$TRACE_SRC" "$TRACE_TGT")
		printf '{"mode":"%s","round":%d,"i":%d,"m":%s}\n' "$mode" "$round" "$i" "$m" >>"$out"
	done
}

session_workload() {
	local mode=$1 round=$2 b
	session_migs "$mode" "$round" "$RAW/trace-mig.jsonl"
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
	local mode=$1 round=$2 d lost
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
		migtop_start "$TMP/top.json"
		session_workload bpf "$round"
		migtop_stop
		head -1 "$TMP/top.json" >>"$RAW/migtop-start.jsonl"
		printf '{"source":"mig-top","round":%d,"summary":%s,"migrations_seen":%d,"max_row_drops":%d}\n' "$round" \
			"$(grep '"type":"summary"' "$TMP/top.json" | tail -1)" \
			"$(grep -c '"type":"migration"' "$TMP/top.json" || true)" \
			"$(migtop_drops "$TMP/top.json")" >>"$RAW/drops.jsonl" ;;
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

# ------------------------------------------------------------ sections
# A source/target pair of SIZE with PROFILE; the bench's firmware latency
# on top of the precopyable profile. Sets SRC and TGT.
pair() {
	local size=$1 profile=$2 u
	SRC=$(mkdev "$size")
	TGT=$(mkdev "$size")
	for u in "$SRC" "$TGT"; do
		setattr "$u" profile "$profile"
		if [ "$profile" = precopyable ]; then
			setattr "$u" fw_latency_us "$FW_LATENCY_US"
			setattr "$u" fw_throughput "$FW_THROUGHPUT"
		fi
		setattr "$u" dirty_rate 0
	done
}

downtime_cell() {
	local profile=$1 size=$2 name=$3 pps=$4 opt m rep
	setattr "$SRC" dirty_rate "$pps"
	# Warm-up, not counted: one verified migration per mode.
	for opt in -n ""; do
		# shellcheck disable=SC2086 # $opt: no word or one option
		m=$(mig -r -V $opt "$SRC" "$TGT")
		printf '{"profile":"%s","size":"%s","rate":"%s","dirty_rate":%d,"opt":"%s","m":%s}\n' \
			"$profile" "$size" "$name" "$pps" "$opt" "$m" >>"$RAW/warmup.jsonl"
	done
	log "downtime $profile $size $name ($pps pages/s): $REPS reps"
	for rep in $(seq 1 "$REPS"); do
		m=$(mig -r -n "$SRC" "$TGT")
		printf '{"profile":"%s","size":"%s","rate":"%s","dirty_rate":%d,"mode":"no_precopy","rep":%d,"m":%s}\n' \
			"$profile" "$size" "$name" "$pps" "$rep" "$m" >>"$RAW/downtime.jsonl"
		m=$(mig -r "$SRC" "$TGT")
		printf '{"profile":"%s","size":"%s","rate":"%s","dirty_rate":%d,"mode":"precopy","rep":%d,"m":%s}\n' \
			"$profile" "$size" "$name" "$pps" "$rep" "$m" >>"$RAW/downtime.jsonl"
	done
}

bench_downtime() {
	local profile size rate sizes rates m rep u
	for profile in $PROFILES; do
		sizes=$SIZES rates=$RATES
		[ "$profile" = precopyable ] || sizes=$CX7_SIZES rates=$CX7_RATES
		for size in $sizes; do
			pair "$size" "$profile"
			for rate in $rates; do
				downtime_cell "$profile" "$size" "${rate%%:*}" "${rate#*:}"
			done
			setattr "$SRC" dirty_rate 0
			# Where PRE_COPY's remaining downtime goes: the same with fw_latency_us=0.
			if [ "$profile" = precopyable ] && [ "$size" = "$FLOOR_SIZE" ]; then
				for u in "$SRC" "$TGT"; do setattr "$u" fw_latency_us 0; done
				log "downtime floor $size: PRE_COPY, fw_latency_us=0, $REPS reps"
				mig -r "$SRC" "$TGT" >/dev/null
				for rep in $(seq 1 "$REPS"); do
					m=$(mig -r "$SRC" "$TGT")
					printf '{"size":"%s","rate":"none","fw_latency_us":0,"mode":"precopy","rep":%d,"m":%s}\n' \
						"$size" "$rep" "$m" >>"$RAW/floor.jsonl"
				done
			fi
			rmdev "$SRC"
			rmdev "$TGT"
		done
	done
}

# mig-top's estimate at T0 against the downtime that followed.
bench_expected() {
	local size rate name pps rep m
	migtop_start "$TMP/exp-top.json"
	for size in $SIZES; do
		pair "$size" precopyable
		for rate in $RATES; do
			name=${rate%%:*} pps=${rate#*:}
			setattr "$SRC" dirty_rate "$pps"
			log "expected downtime $size $name ($pps pages/s): $EXP_REPS reps"
			for rep in $(seq 1 "$EXP_REPS"); do
				m=$(mig -r "$SRC" "$TGT")
				printf '{"size":"%s","rate":"%s","dirty_rate":%d,"rep":%d,"m":%s}\n' \
					"$size" "$name" "$pps" "$rep" "$m" >>"$RAW/expected.jsonl"
			done
		done
		rmdev "$SRC"
		rmdev "$TGT"
	done
	migtop_stop
	grep '"type":"migration"' "$TMP/exp-top.json" >"$RAW/expected-top.jsonl" || true
}

bench_datapath() {
	local d
	log "datapath $DP_TYPE, $DP_REPS reps of $DP_IOSIZE-byte operations"
	d=$("$DATAPATH" "$DP_TYPE" "$DP_IOSIZE" "$DP_REPS" /tmp) || die "datapath failed"
	printf '%s\n' "$d" >>"$RAW/datapath.jsonl"
}

bench_memory() {
	local size m
	for size in $PEAK_SIZES; do
		log "kernel buffer peak, $size, no PRE_COPY"
		pair "$size" precopyable
		m=$(mig -n "$SRC" "$TGT")
		printf '{"size":"%s","state_size":%s,"budget":%s,"save_peak_bytes":%s,"resume_peak_bytes":%s,"m":%s}\n' \
			"$size" "$(getattr "$SRC" state_size)" "$(getattr "$SRC" mig_budget)" \
			"$(getattr "$SRC" mig_peak_bytes)" "$(getattr "$TGT" mig_peak_bytes)" "$m" >>"$RAW/peak.jsonl"
		rmdev "$SRC"
		rmdev "$TGT"
	done
}

# conc_phase N ROUND SIZE: N concurrent migrations on the first N pairs.
conc_phase() {
	local n=$1 round=$2 size=$3 i t0 t1 c0 c1
	for i in $(seq 0 $((n - 1))); do
		fwstats "${CSRC[$i]}" >"$TMP/fw-src-$i.0"
		fwstats "${CTGT[$i]}" >"$TMP/fw-tgt-$i.0"
	done
	c0=$(cputicks "$TOP")
	t0=$(now_ns)
	for i in $(seq 0 $((n - 1))); do
		mig -r "${CSRC[$i]}" "${CTGT[$i]}" >"$TMP/conc-$i.json" &
	done
	# shellcheck disable=SC2046 # one word per job
	wait $(jobs -p | grep -vx "$TOP")
	t1=$(now_ns)
	c1=$(cputicks "$TOP")
	for i in $(seq 0 $((n - 1))); do
		printf '{"n":%d,"round":%d,"size":"%s","i":%d,"m":%s,"fw_src0":%s,"fw_src1":%s,"fw_tgt0":%s,"fw_tgt1":%s,"save_peak_bytes":%s,"resume_peak_bytes":%s}\n' \
			"$n" "$round" "$size" "$i" "$(cat "$TMP/conc-$i.json")" \
			"$(cat "$TMP/fw-src-$i.0")" "$(fwstats "${CSRC[$i]}")" \
			"$(cat "$TMP/fw-tgt-$i.0")" "$(fwstats "${CTGT[$i]}")" \
			"$(getattr "${CSRC[$i]}" mig_peak_bytes)" "$(getattr "${CTGT[$i]}" mig_peak_bytes)" >>"$RAW/conc.jsonl"
	done
	printf '{"phase":true,"n":%d,"round":%d,"size":"%s","wall_ns":%d,"top_ticks":%d,"clk_tck":%d}\n' \
		"$n" "$round" "$size" $((t1 - t0)) $((c1 - c0)) "$(getconf CLK_TCK)" >>"$RAW/conc.jsonl"
}

conc_pairs() {
	local n=$1 size=$2 i
	CSRC=() CTGT=()
	for i in $(seq 0 $((n - 1))); do
		pair "$size" precopyable
		CSRC+=("$SRC")
		CTGT+=("$TGT")
	done
}

conc_unpair() {
	local u
	for u in "${CSRC[@]}" "${CTGT[@]}"; do rmdev "$u"; done
}

bench_concurrency() {
	local max=1 n round order
	for n in $CONC_NS; do [ "$n" -gt "$max" ] && max=$n; done
	conc_pairs "$max" "$CONC_SIZE"
	migtop_start "$TMP/conc-top.json"
	for round in $(seq 1 "$CONC_ROUNDS"); do
		# Rotate the order of N from round to round.
		order=$(echo "$CONC_NS" | tr ' ' '\n' | awk -v r="$round" '{ a[NR] = $0 } END { for (i = 0; i < NR; i++) print a[(i + r - 1) % NR + 1] }')
		for n in $order; do
			log "concurrency round $round/$CONC_ROUNDS: $n x $CONC_SIZE"
			conc_phase "$n" "$round" "$CONC_SIZE"
		done
	done
	conc_unpair
	if [ "$CONC_SMALL_N" -gt 0 ]; then
		conc_pairs "$CONC_SMALL_N" "$CONC_SMALL_SIZE"
		for round in $(seq 1 "$CONC_ROUNDS"); do
			# One alone as the baseline, first or last in turn.
			for n in $([ $((round % 2)) -eq 1 ] && echo 1 "$CONC_SMALL_N" || echo "$CONC_SMALL_N" 1); do
				log "concurrency round $round/$CONC_ROUNDS: $n x $CONC_SMALL_SIZE"
				conc_phase "$n" "$round" "$CONC_SMALL_SIZE"
			done
		done
		conc_unpair
	fi
	migtop_stop
	printf '{"source":"mig-top","section":"concurrency","summary":%s,"migrations_seen":%d,"max_row_drops":%d}\n' \
		"$(grep '"type":"summary"' "$TMP/conc-top.json" | tail -1)" \
		"$(grep -c '"type":"migration"' "$TMP/conc-top.json" || true)" \
		"$(migtop_drops "$TMP/conc-top.json")" >>"$RAW/conc-top.jsonl"
}

bench_storm() {
	local c0 c1 t0 t1 s
	migtop_start "$TMP/storm-top.json"
	log "storm: $STORM_CALLS calls/s for $STORM_S s, $STORM_THREADS threads, under mig-top"
	c0=$(cputicks "$TOP")
	t0=$(now_ns)
	s=$("$BURST" storm "$STORM_CALLS" "$STORM_S" "$STORM_THREADS") || die "trace_burst storm failed"
	t1=$(now_ns)
	c1=$(cputicks "$TOP")
	migtop_stop
	printf '{"storm":%s,"wall_ns":%d,"top_ticks":%d,"clk_tck":%d,"summary":%s,"max_row_drops":%d}\n' \
		"$s" $((t1 - t0)) $((c1 - c0)) "$(getconf CLK_TCK)" \
		"$(grep '"type":"summary"' "$TMP/storm-top.json" | tail -1)" \
		"$(migtop_drops "$TMP/storm-top.json")" >>"$RAW/storm.jsonl"
}

bench_tracing() {
	local u williams round order mode t0 n
	TRACE_SRC=$(mkdev "$TRACE_SIZE")
	TRACE_TGT=$(mkdev "$TRACE_SIZE")
	export TRACE_SRC TRACE_TGT
	for u in "$TRACE_SRC" "$TRACE_TGT"; do
		setattr "$u" fw_latency_us "$TRACE_FW_LATENCY_US"
		setattr "$u" fw_throughput 0
		setattr "$u" dirty_rate 0
	done
	# Warm-up (not counted): the first migrations and mig-top's first BPF load.
	mig -r "$TRACE_SRC" "$TRACE_TGT" >/dev/null
	"$BURST" 2000 >/dev/null
	# Visit orders: a Williams square, so over 4 rounds every mode comes first,
	# last, and right after each other mode once (drift and carry-over from the
	# previous visit, e.g. perf's post-processing, do not favour one mode).
	williams="off tracefs perf bpf|tracefs bpf off perf|bpf perf tracefs off|perf off bpf tracefs"
	t0=$(date +%s)
	round=0
	while :; do
		round=$((round + 1))
		order=$(echo "$williams" | cut -d'|' -f$(((round - 1) % 4 + 1)))
		for mode in $order; do
			log "tracing round $round: $mode"
			session "$mode" "$round"
		done
		# Whole Williams squares only, then the stop rule.
		if [ $((round % 4)) -ne 0 ] || [ "$round" -lt "$TRACE_MIN_ROUNDS" ]; then
			continue
		fi
		if python3 "$repo/bench/report.py" --stop-rule "$TRACE_CI" --raw "$RAW"; then
			echo "{\"rounds\":$round,\"reason\":\"ci\"}" >"$RAW/trace-stop.json"
			break
		fi
		n=$(($(date +%s) - t0))
		if [ "$round" -ge "$TRACE_MAX_ROUNDS" ] || [ $((n * (round + 4) / round)) -gt "$TRACE_BUDGET_S" ]; then
			echo "{\"rounds\":$round,\"reason\":\"budget\",\"seconds\":$n}" >"$RAW/trace-stop.json"
			break
		fi
	done
	# Events per burst call: perf stat around 0 and BURST_CALLS calls.
	if [ -n "$PERF" ]; then
		for n in 0 "$BURST_CALLS"; do
			echo "== calls $n" >>"$RAW/burst-count.txt"
			"$PERF" stat -a -x, -e 'vfmig:*' -- "$BURST" "$n" vfmig-4M 0 >/dev/null 2>>"$RAW/burst-count.txt" ||
				die "perf stat failed"
		done
		# Which events one tracing-cost migration fires.
		"$PERF" stat -a -x, -e 'vfmig:*' -- "$MIGCTL" migrate -q -r "$TRACE_SRC" "$TRACE_TGT" \
			2>"$RAW/migration-count.txt" || die "perf stat of a migration failed"
	fi
	rmdev "$TRACE_SRC"
	rmdev "$TRACE_TGT"
}

# notrace_visit VARIANT ROUND: load that module, migrations and a burst.
notrace_visit() {
	local variant=$1 round=$2 ko i m b u
	vfmig_unload
	ko=$B/kernel/vfmig.ko
	[ "$variant" = on ] || ko=$NOTRACE_KO
	insmod "$ko" || die "insmod $ko failed"
	TRACE_SRC=$(mkdev "$TRACE_SIZE")
	TRACE_TGT=$(mkdev "$TRACE_SIZE")
	for u in "$TRACE_SRC" "$TRACE_TGT"; do
		setattr "$u" fw_latency_us "$TRACE_FW_LATENCY_US"
		setattr "$u" dirty_rate 0
	done
	mig -r "$TRACE_SRC" "$TRACE_TGT" >/dev/null
	for i in $(seq 1 "$TRACE_MIGS"); do
		m=$(mig -r "$TRACE_SRC" "$TRACE_TGT")
		printf '{"variant":"%s","round":%d,"i":%d,"m":%s}\n' "$variant" "$round" "$i" "$m" >>"$RAW/notrace.jsonl"
	done
	b=$("$BURST" "$BURST_CALLS") || die "trace_burst failed"
	printf '{"variant":"%s","round":%d,"b":%s}\n' "$variant" "$round" "$b" >>"$RAW/notrace.jsonl"
	rmdev "$TRACE_SRC"
	rmdev "$TRACE_TGT"
}

bench_notrace() {
	local round v
	[ -r "$NOTRACE_KO" ] || die "$NOTRACE_KO missing: make bench-notrace"
	for round in $(seq 1 "$NOTRACE_ROUNDS"); do
		# ABBA: each variant first in every other round.
		for v in $([ $((round % 2)) -eq 1 ] && echo on out || echo out on); do
			log "notrace round $round/$NOTRACE_ROUNDS: tracepoints $v"
			notrace_visit "$v" "$round"
		done
	done
	vfmig_unload
	vfmig_load
}

# ------------------------------------------------------------ main
[ "${VFMIG_IN_GUEST:-}" = 1 ] || die "runs inside the vm-run guest (use make bench)"
for f in "$MIGCTL" "$MIGTOP" "$BURST" "$DATAPATH"; do
	[ -x "$f" ] || die "$f missing: run make"
done
mkdir -p "$RAW" "$TMP"
rm -f "$RAW"/*.jsonl "$RAW"/*.txt "$RAW"/env.json "$RAW"/trace-stop.json "$RAW"/done.json
. "$repo/tests/guest/lib.sh"
vfmig_load
t_start=$(date +%s)

probe=$(mkdev 16M)
chunk=$(getattr "$probe" chunk_size)
budget=$(getattr "$probe" mig_budget)
rmdev "$probe"
cat >"$RAW/env.json" <<EOF
{"guest_kernel":"$(uname -r)","guest_cpu":"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')",
 "guest_cpus":$(nproc),"guest_mem_kb":$(awk '/MemTotal/ {print $2}' /proc/meminfo),
 "guest_cmdline":"$(tr -d '"\n' </proc/cmdline)",
 "perf":"$(${PERF:-false} --version 2>/dev/null | tr -d '"\n')",
 "parts":"$PARTS","reps":$REPS,"exp_reps":$EXP_REPS,"profiles":"$PROFILES","sizes":"$SIZES","rates":"$RATES",
 "cx7_sizes":"$CX7_SIZES","cx7_rates":"$CX7_RATES",
 "fw_latency_us":$FW_LATENCY_US,"fw_throughput":$FW_THROUGHPUT,"chunk_size":$chunk,"mig_budget":$budget,
 "downtime_limit_ms":300,
 "dp_type":"$DP_TYPE","dp_iosize":$DP_IOSIZE,"dp_reps":$DP_REPS,"peak_sizes":"$PEAK_SIZES",
 "conc_ns":"$CONC_NS","conc_size":"$CONC_SIZE","conc_small_n":$CONC_SMALL_N,
 "conc_small_size":"$CONC_SMALL_SIZE","conc_rounds":$CONC_ROUNDS,
 "storm_calls":$STORM_CALLS,"storm_s":$STORM_S,"storm_threads":$STORM_THREADS,
 "trace_min_rounds":$TRACE_MIN_ROUNDS,"trace_max_rounds":$TRACE_MAX_ROUNDS,
 "trace_budget_s":$TRACE_BUDGET_S,"trace_ci":$TRACE_CI,
 "trace_migs":$TRACE_MIGS,"trace_size":"$TRACE_SIZE","trace_fw_latency_us":$TRACE_FW_LATENCY_US,
 "burst_calls":$BURST_CALLS,"tracefs_buf_kb":$TRACEFS_BUF_KB,"perf_mmap_pages":$PERF_MMAP_PAGES,
 "notrace_rounds":$NOTRACE_ROUNDS}
EOF

for p in $PARTS; do
	t=$(date +%s)
	case $p in
	downtime) bench_downtime ;;
	expected) bench_expected ;;
	datapath) bench_datapath ;;
	memory) bench_memory ;;
	concurrency) bench_concurrency ;;
	storm) bench_storm ;;
	tracing) bench_tracing ;;
	notrace) bench_notrace ;;
	*) die "unknown part $p (BENCH_PARTS)" ;;
	esac
	echo "{\"part\":\"$p\",\"seconds\":$(($(date +%s) - t))}" >>"$RAW/parts.jsonl"
done

echo "{\"seconds\":$(($(date +%s) - t_start))}" >"$RAW/done.json"
log "done in $(($(date +%s) - t_start)) s"
vfmig_unload
