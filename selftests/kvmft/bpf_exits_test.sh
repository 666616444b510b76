#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `ftctl exits` counts a KVM guest's exits per reason, from the kvm_exit and
# kvm_entry tracepoints through the kvmft_exits BPF program.
#
#   this script --+-- checksum_vm --iters N --port P   one vCPU, N port reads,
#                 |     (held on a fifo until the       each an I/O exit
#                 |      tracers are attached)
#                 +-- ftctl exits --pid VM --json      must see >= N io exits
#                 +-- ftctl exits --json               (every process) too
#                 +-- ftctl exits --pid $$ --json      must see none
#
# Run as root where KVM is loaded, e.g. `lab/run -- selftests/kvmft/bpf_exits_test.sh`.
# Uses ctl/ftctl, or bpf/.output/kvmft-exits (the same code) when ftctl is
# not built. TAP output ending in "N passed, N failed, N skipped"; exits 1
# if a test failed, else 0.
#
# Environment: FTCTL, CHECKSUM_VM (paths), ITERS (default 2000), PORT.

set -u

top=$(cd "$(dirname "$0")/../.." && pwd -P)
iters=${ITERS:-2000}
port=${PORT:-4660}
checksum_vm=${CHECKSUM_VM:-$top/selftests/kvmft/checksum_vm}
pass=0 fail=0 skip=0 n=0
tests=(
	"exits refuses an unknown option (status 1)"
	"exits --pid VM counts the VM's io exits (>= $iters, timed)"
	"exits without --pid counts them too"
	"exits --pid OTHER counts none of them"
)

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /' "$@"; }
summary() {
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
}
# skip_all REASON: every test skipped, each on its own line so it is counted.
skip_all() {
	local t
	echo "1..${#tests[@]}"
	for t in "${tests[@]}"; do skip "$t" "$*"; done
	summary
	exit
}

echo "TAP version 13"
[ "$(id -u)" = 0 ] || skip_all "needs root"
if [ ! -c /dev/kvm ] || [ ! -d /sys/module/kvm ]; then
	skip_all "KVM is not loaded"
fi
command -v jq >/dev/null || skip_all "jq not found"
if [ -n "${FTCTL:-}" ]; then
	exits=("$FTCTL" exits)
elif [ -x "$top/ctl/ftctl" ]; then
	exits=("$top/ctl/ftctl" exits)
elif [ -x "$top/bpf/.output/kvmft-exits" ]; then
	exits=("$top/bpf/.output/kvmft-exits")
else
	skip_all "neither ctl/ftctl nor bpf/.output/kvmft-exits is built (make ctl bpf)"
fi
tmp=$(mktemp -d)
pids=()
declare -A tracer	# name -> pid
mounted_tracefs=0
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "$mounted_tracefs" = 0 ] || umount /sys/kernel/tracing
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
	mount -t tracefs nodev /sys/kernel/tracing || skip_all "cannot mount tracefs"
	mounted_tracefs=1
fi

echo "1..${#tests[@]}"
echo "# using ${exits[*]}"

# 1: bad usage must be refused with the usage status, before any BPF.
"${exits[@]}" --no-such-option >"$tmp/usage.out" 2>&1
rc=$?
if [ "$rc" = 1 ]; then
	ok "${tests[0]}"
else
	not_ok "${tests[0]}"
	echo "# status $rc"
	diag "$tmp/usage.out"
fi

if [ ! -x "$checksum_vm" ]; then
	why="$checksum_vm is not built (make selftests)"
	for t in "${tests[@]:1}"; do skip "$t" "$why"; done
	summary
	exit
fi

# Start a tracer in the background; its stderr says when it is attached.
start_exits() {
	local name=$1
	shift
	echo "# ${exits[*]} $*"
	"${exits[@]}" "$@" --interval 1 --json >"$tmp/$name.json" 2>"$tmp/$name.err" &
	pids+=($!)
	tracer[$name]=$!
}

# wait_attached NAME PID: until NAME's tracer says "tracing", or it dies.
wait_attached() {
	local tries=3000	# 300 s: three tracers load BPF at once on a slow guest
	while [ "$tries" -gt 0 ]; do
		tries=$((tries - 1))
		grep -q "tracing" "$tmp/$1.err" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "# $1 tracer did not attach:"
	diag "$tmp/$1.err"
	return 1
}

# wait_gone PID SECS: wait for a background job, killing it after SECS.
wait_gone() {
	local tries=$(($2 * 10))
	while [ "$tries" -gt 0 ]; do
		tries=$((tries - 1))
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && { kill "$1"; echo "# pid $1 still running after $2 s, killed"; }
	wait "$1"
}

# io_field FILE FIELD: FIELD summed over the io exits of every interval.
io_field() {
	jq -s "[.[].exits[] | select(.reason == \"io\" or .reason == \"IO_INSTRUCTION\")
		| .$2] | add // 0" "$1"
}

mkfifo "$tmp/go"
# The VM's pid is known before it runs: the subshell execs it after the gate.
(read -r _ <"$tmp/go" && exec "$checksum_vm" --iters "$iters" --port "$port") \
	>"$tmp/vm.out" 2>&1 &
vm=$!
pids+=("$vm")
echo "# $checksum_vm --iters $iters --port $port (pid $vm)"

start_exits vm --pid "$vm"
start_exits all
start_exits other --pid $$
attached=1
for t in vm all other; do
	wait_attached "$t" "${tracer[$t]}" || attached=0
done

echo go >"$tmp/go"
wait_gone "$vm" 600
vm_rc=$?
# The --pid VM tracer stops by itself when the VM ends; the others on SIGINT.
wait_gone "${tracer[vm]}" 30
vm_exits_rc=$?
kill -INT "${tracer[all]}" "${tracer[other]}" 2>/dev/null
wait_gone "${tracer[all]}" 30
all_rc=$?
wait_gone "${tracer[other]}" 30
other_rc=$?

if [ "$vm_rc" != 0 ]; then
	echo "# checksum_vm exited with status $vm_rc:"
	diag "$tmp/vm.out"
fi

# check NAME RC WANT_MIN: a tracer's run was clean and io counts are right.
check() {
	local name=$1 rc=$2 io samples
	if [ "$attached" != 1 ] || [ "$vm_rc" != 0 ] || [ "$rc" != 0 ]; then
		echo "# $name tracer exited with status $rc"
		diag "$tmp/$name.err"
		return 1
	fi
	if ! io=$(io_field "$tmp/$name.json" count) ||
		! samples=$(io_field "$tmp/$name.json" latency_samples); then
		echo "# $name tracer wrote bad JSON:"
		diag "$tmp/$name.json"
		return 1
	fi
	echo "# $name: $io io exits, $samples timed"
	if [ "$name" = other ]; then
		[ "$io" = 0 ] && return 0
	elif [ "$io" -ge "$iters" ] && [ "$samples" -gt 0 ]; then
		return 0
	fi
	diag "$tmp/$name.json"
	return 1
}

i=1
for t in "vm $vm_exits_rc" "all $all_rc" "other $other_rc"; do
	# shellcheck disable=SC2086 # name and status
	if check $t; then ok "${tests[$i]}"; else not_ok "${tests[$i]}"; fi
	i=$((i + 1))
done
summary
