# shellcheck shell=bash disable=SC2034 # sets variables for its callers
# What tests/vm/vm-run (one guest) and tests/vm/vm-pair (two guests, two
# hosts) share: the kernel and initramfs, the accelerator, the kernel
# command line, the per-run directory that tests/vm/guest-init reads and
# writes, the QEMU command, the splat scan, the verdict and the log.
# Sourced; the caller sets `prog` and calls vm_setup first. See
# docs/testing.md.

: "${prog:=vm-lib}"
vm_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm_build=$vm_repo/build
vmdir=$vm_build/vm

# vm_setup KVER KERNEL: checks what a boot needs, builds the initramfs and
# picks the accelerator. Sets kver, kernel, initrd, accel, cmdline.
vm_setup() {
	kver=${1:-$("$vm_repo/scripts/kver.sh")}
	kernel=${2:-/boot/vmlinuz-$kver}
	[[ $vm_repo != *[[:space:]]* ]] || { echo "$prog: repo path must not contain spaces: $vm_repo" >&2; exit 2; }
	local f
	for f in "$kernel" "/lib/modules/$kver/modules.dep" /bin/busybox; do
		[[ -r $f ]] || { echo "$prog: $f missing (run: make deps)" >&2; exit 2; }
	done
	command -v qemu-system-x86_64 >/dev/null || { echo "$prog: qemu-system-x86_64 missing (run: make deps)" >&2; exit 2; }
	mkdir -p "$vmdir/logs" "$vmdir/runs"

	local msize=512000
	# Slow debug options stay affordable under TCG: slub_debug=FZPU and KFENCE
	# every 100 ms. Any WARN panics the guest at once (panic=-1: no reboot loop).
	cmdline="console=ttyS0 panic=-1 panic_on_warn=1 oops=panic softlockup_panic=1 hung_task_panic=1"
	cmdline+=" slub_debug=FZPU kfence.sample_interval=100 random.trust_cpu=on"
	cmdline+=" VMRUN_REPO=$vm_repo VMRUN_MSIZE=$msize"

	initrd=$vmdir/initramfs-$kver.cpio
	local lockfd
	exec {lockfd}>"$vmdir/.initramfs.lock"
	flock "$lockfd"
	vm_build_initramfs
	flock -u "$lockfd"
	exec {lockfd}>&-
	vm_pick_accel
}

# --- initramfs: busybox + the 9p module closure, rebuilt when inputs change.
vm_build_initramfs() {
	local deps mods key stage m dst
	# A kernel with 9p built in (the debug kernel) needs no module here.
	deps=$(for m in virtio_pci 9pnet_virtio 9p; do
		modprobe -S "$kver" --show-depends "$m" || echo "missing $m"
	done)
	mods=$(awk '$1 == "insmod" && !seen[$2]++ { print $2 }' <<<"$deps")
	if grep -q '^missing ' <<<"$deps" || [[ -z $mods && $(grep -c '^builtin ' <<<"$deps") != 3 ]]; then
		echo "$prog: cannot resolve 9p modules for $kver" >&2; exit 2
	fi
	key=$({
		echo "format 1 $kver"
		sha256sum "$vm_repo/tests/vm/guest-init"
		stat -L -c '%n %s %Y' /bin/busybox
		[[ -z $mods ]] || while read -r m; do stat -L -c '%n %s %Y' "$m"; done <<<"$mods"
	} | sha256sum | cut -d' ' -f1)
	if [[ -r $initrd && -r $initrd.key && $(<"$initrd.key") == "$key" ]]; then
		return 0
	fi
	stage=$(mktemp -d "$vmdir/initramfs.XXXXXX")
	mkdir -p "$stage/bin" "$stage/lib/modules"
	cp /bin/busybox "$stage/bin/busybox"
	: >"$stage/modules.list"
	cp "$vm_repo/tests/vm/guest-init" "$stage/init"
	chmod 0755 "$stage/init"
	[[ -z $mods ]] || while read -r m; do
		dst=$(basename "$m")
		case $m in
		*.ko.xz) xz -dc "$m" >"$stage/lib/modules/${dst%.xz}"; dst=${dst%.xz} ;;
		*.ko.zst) zstd -qdc "$m" >"$stage/lib/modules/${dst%.zst}"; dst=${dst%.zst} ;;
		*.ko.gz) gzip -dc "$m" >"$stage/lib/modules/${dst%.gz}"; dst=${dst%.gz} ;;
		*) cp "$m" "$stage/lib/modules/$dst" ;;
		esac
		echo "$dst" >>"$stage/modules.list"
	done <<<"$mods"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	echo "$key" >"$initrd.key"
	rm -rf "$stage"
}

# vm_base_qemu SMP MEM: the machine every guest gets (array base_qemu).
vm_base_qemu() {
	base_qemu=(qemu-system-x86_64 -M q35 -nodefaults -nographic -no-reboot -monitor none
		-smp "$1" -m "$2" -kernel "$kernel" -initrd "$initrd")
}

# --- accelerator: KVM only if a probe boot on this machine really runs a guest.
# Under TCG the guest CPU hides ERMS/FSRM: TCG emulates "rep movsb" one byte
# per iteration, so with them the kernel's memcpy/copy_to_user crawl at a
# fraction of what user space gets, unlike on hardware. Without them the
# kernel copies with 8-byte moves. VFMIG_VM_CPU overrides the model.
vm_probe_kvm() {
	local key cache out
	[[ -r /dev/kvm && -w /dev/kvm ]] || { echo no; return; }
	key=$({ hostname; uname -r; grep -m1 'model name' /proc/cpuinfo; sha256sum "$kernel"; } | sha256sum | cut -c1-16)
	cache=$vmdir/kvm-probe.$key
	if [[ ! -r $cache ]]; then
		out=$(mktemp "$vmdir/kvm-probe.XXXXXX")
		vm_base_qemu 2 3072
		timeout -k 5 60 "${base_qemu[@]}" -accel kvm -cpu host -serial "file:$out" \
			-append "console=ttyS0 panic=-1 VMRUN_PROBE=1" </dev/null >/dev/null 2>&1 || true
		if grep -q 'vm-init: probe ok' "$out"; then echo yes >"$cache"; else echo no >"$cache"; fi
		rm -f "$out"
	fi
	cat "$cache"
}

vm_pick_accel() {
	# shellcheck disable=SC2054 # "tcg,thread=multi" is one argument
	case ${VFMIG_VM_ACCEL:-auto} in
	kvm) accel=(-accel kvm -cpu host) ;;
	tcg) accel=(-accel tcg,thread=multi -cpu "${VFMIG_VM_CPU:-max,-erms,-fsrm}") ;;
	# Steady guest time for benchmarks (bench/run): one TCG thread, the
	# guest clock advancing 1 ns per instruction executed (shift=0), not
	# with the host's load; idle time passes in real time (sleep=on).
	# VFMIG_VM_ICOUNT replaces the -icount options.
	icount) accel=(-accel tcg,thread=single -icount "${VFMIG_VM_ICOUNT:-shift=0,sleep=on}"
		-cpu "${VFMIG_VM_CPU:-max,-erms,-fsrm}") ;;
	auto)
		if [[ $(vm_probe_kvm) == yes ]]; then accel=(-accel kvm -cpu host); else accel=(-accel tcg,thread=multi -cpu "${VFMIG_VM_CPU:-max,-erms,-fsrm}"); fi ;;
	*) echo "$prog: VFMIG_VM_ACCEL must be tcg, kvm, icount or auto" >&2; exit 2 ;;
	esac
}

# vm_new_run [SUFFIX]: a per-run directory on the writable share (prints it).
vm_new_run() {
	local stamp
	stamp=$(date +%Y%m%d-%H%M%S)
	mktemp -d "$vmdir/runs/$stamp-$$${1:+-$1}.XXXX"
}

# vm_write_cmd RUN PRELUDE CMD...: RUN/cmd.sh, which guest-init runs in the
# repo: PRELUDE (shell lines, may be empty), then CMD. One CMD word is a
# shell command line (sh -c style); several words are quoted as an argv.
vm_write_cmd() {
	local run=$1 prelude=$2 a
	shift 2
	{
		echo "# generated by tests/vm/$prog"
		printf "cd '%s' || exit 126\n" "$vm_repo"
		[[ -z $prelude ]] || printf '%s\n' "$prelude"
		if (($# == 1)); then
			printf '%s\n' "$1"
		else
			for a; do vm_sq "$a"; printf ' '; done
			echo
		fi
	} >"$run/cmd.sh"
	: >"$run/output"
	: >"$run/console"
}

# vm_sq WORD: WORD single-quoted for sh.
vm_sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

# vm_launch RUN TIMEOUT APPEND QEMU-ARGS...: boots one guest for RUN in the
# background (timeout(1) makes itself a process-group leader: killing
# -PID takes QEMU too). Sets vm_pid (not in a subshell: the caller waits).
vm_launch() {
	local run=$1 tmo=$2 app=$3
	shift 3
	timeout -k 5 "$tmo" "${base_qemu[@]}" "${accel[@]}" "$@" \
		-serial "file:$run/console" \
		-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$vm_repo,mount_tag=repo,security_model=none,multidevs=remap" \
		-append "$cmdline VMRUN_DIR=$run$app" </dev/null >"$run/qemu.out" 2>&1 &
	vm_pid=$!
}

splat_re='WARNING|-----------\[ cut here \]|BUG[: ]|Oops|KFENCE|KASAN|UBSAN|Object corrupt|Redzone|Poison overwritten|general protection fault|[Kk]ernel panic|hung_task|blocked for more than|soft lockup|hard LOCKUP|RCU stall|rcu.*detected stall|self-detected stall|possible circular locking|inconsistent lock state|kmemleak'

# vm_verdict RUN QEMU-EXIT: sets splats, status, verdict, rc for one guest.
vm_verdict() {
	local run=$1
	vm_qrc=$2
	# The kernel echoes its command line (which names hung_task_panic etc.);
	# a debug kernel announces kmemleak at boot (its reports still match),
	# and kmemleak says so when its own metadata allocation fails, which
	# fail_page_alloc/failslab make happen (debug:faultinject).
	splats=$(cat "$run/console" "$run/dmesg" 2>/dev/null |
		grep -v -e 'Command line:' -e 'Kernel command line:' -e 'Unknown kernel command line parameters' -e 'will be passed to user space' \
			-e 'kmemleak: Kernel memory leak detector initialized' \
			-e 'kmemleak: Cannot allocate a scan area' |
		grep -E "$splat_re" || true)
	status=''
	[[ -r $run/rc ]] && status=$(<"$run/rc")
	if [[ -n $splats ]]; then
		verdict=splat rc=125
	elif ((vm_qrc == 124 || vm_qrc == 137)); then
		verdict=timeout rc=124
	elif [[ ! $status =~ ^[0-9]+$ ]]; then
		verdict=died rc=123
	else
		verdict=clean rc=$status
	fi
}

# vm_emulator_int3 RUN: whether the guest died of QEMU's multi-threaded
# TCG running stale code, not of a kernel bug: the first report is an
# int3 Oops although the byte before RIP, which held the int3, no longer
# is 0xcc (the text patch that removed it had landed). QEMU 7.2 does this
# now and then while the kernel patches static branches, at boot (seen in
# run_timer_softirq and sched_clock_cpu, before any module was loaded) or
# later; docs/testing.md.
vm_emulator_int3() {
	local con=$1/console first code
	[[ " ${accel[*]} " == *' tcg,thread=multi '* ]] || return 1
	first=$(head -n 1 <<<"$splats")
	[[ $first == *'Oops: int3'* ]] || return 1
	code=$(grep -F -m 1 -A 8 -e "$first" "$con" | grep -m 1 'Code:') || return 1
	[[ $code =~ ([0-9a-f]{2})\ \<[0-9a-f]{2}\> ]] || return 1
	[[ ${BASH_REMATCH[1]} != cc ]]
}

# vm_log_sections RUN: console, output, dmesg and QEMU's messages of a run.
vm_log_sections() {
	local run=$1
	echo "===== vm-run: command: $(tail -n +3 "$run/cmd.sh") ====="
	echo "===== vm-run: guest console ====="
	cat "$run/console"
	echo "===== vm-run: command output ====="
	cat "$run/output"
	echo "===== vm-run: guest dmesg ====="
	cat "$run/dmesg" 2>/dev/null || echo "(none: the guest did not finish)"
	if [[ -s $run/qemu.out ]]; then
		echo "===== vm-run: qemu ====="
		cat "$run/qemu.out"
	fi
}

# vm_report RUN LOG TIMEOUT [WHO]: the message for a verdict (stderr).
vm_report() {
	local run=$1 log=$2 tmo=$3 who=${4:-} first
	case $verdict in
	splat)
		echo "$prog: FAIL: kernel splat in the guest log${who:+ of $who}:" >&2
		head -n 5 <<<"$splats" | sed 's/^/    /' >&2
		# CI keeps only what is printed: show the first report whole (its
		# registers and call trace), from the console the guest died on.
		first=$(head -n 1 <<<"$splats")
		echo "$prog: first report, from the guest console:" >&2
		grep -h -F -m 1 -A 60 -e "$first" "$run/console" "$run/dmesg" 2>/dev/null |
			head -n 61 | sed 's/^/    /' >&2 || true
		echo "$prog: log: $log" >&2 ;;
	timeout)
		echo "$prog: FAIL: ${who:+$who: }guest did not power off within ${tmo}s (QEMU killed)" >&2
		echo "$prog: log: $log" >&2 ;;
	died)
		echo "$prog: FAIL: ${who:+$who: }guest stopped without reporting the command's status (qemu exit $vm_qrc)" >&2
		echo "$prog: log: $log" >&2 ;;
	clean)
		if ((rc != 0)); then echo "$prog: ${who:+$who: }command exited with status $rc; log: $log" >&2; fi ;;
	esac
}
