# SPDX-License-Identifier: GPL-2.0
# TAP helpers for the shell selftests; source it. Each test prints
# "ok N - name" / "not ok N - name", SKIPs say why, and the script exits
# non-zero if anything failed.
# Paths come from the test script's own place ($0 is selftests/kvmft/*);
# a script elsewhere that sources this sets FTCTL and CHECKSUM_VM first.
here=$(cd "$(dirname "$0")" && pwd -P)
top=$(cd "$here/../.." && pwd -P)
FTCTL=${FTCTL:-$top/ctl/ftctl}
CHECKSUM_VM=${CHECKSUM_VM:-$here/checksum_vm}
tap_n=0
tap_failed=0
work=$(mktemp -d /tmp/kvmft-test.XXXXXX)
trap 'tap_cleanup' EXIT

tap_plan() { tap_total=$1; echo "TAP version 13"; echo "1..$1"; }
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=1
	echo "not ok $tap_n - $*"
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
# check NAME CMD...: one TAP line for a command's success.
check() {
	name=$1
	shift
	if "$@" >"$work/last.out" 2>&1; then
		ok "$name"
	else
		not_ok "$name"
		sed 's/^/# /' "$work/last.out"
	fi
}
diag() { echo "# $*"; }
# give_up WHY: a step the rest depend on failed; the remaining planned tests
# fail with WHY instead of with confusing consequences of it.
give_up() {
	while [ $tap_n -lt "$tap_total" ]; do
		not_ok "not run: $*"
	done
	exit 1
}

tap_cleanup() {
	# Not $(jobs -p): dash runs that in a subshell, which has no jobs.
	jobs -p >"$work/jobs"
	for p in $(cat "$work/jobs"); do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	# KVMFT_KEEP_WORK=DIR keeps a failed test's files (its daemons' logs).
	if [ "$tap_failed" != 0 ] && [ -n "${KVMFT_KEEP_WORK:-}" ]; then
		mkdir -p "$KVMFT_KEEP_WORK" &&
			cp -r "$work" "$KVMFT_KEEP_WORK/$(basename "$0").$$"
	fi
	rm -rf "$work"
	exit $tap_failed
}

# wait_for SECS CMD...: run CMD every 0.1 s until it succeeds; fails once
# SECS seconds have passed. Caps are generous: the lab's speed varies a lot.
wait_for() {
	wait_end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt $wait_end ] || return 1
		sleep 0.1
	done
}

# has_event FILE EVENT ID: `ftctl events --json` output in FILE has an EVENT
# line for VM ID.
has_event() {
	grep "\"event\": *\"$2\"" "$1" | grep -q "\"id\": *$3[,}]"
}

# live_zero: the module's live-object count is back to zero. Objects go in
# an RCU callback, so this may take a moment after a detach.
live_zero() {
	[ "$(cat /sys/kernel/debug/kvmft/live_objects 2>/dev/null)" = 0 ]
}

need_root_kvm() {
	[ "$(id -u)" = 0 ] && [ -c /dev/kvm ]
}

ready_or_gone() { grep -q '^ready pid=' "$1" 2>/dev/null || ! kill -0 "$2" 2>/dev/null; }

# start_vm NAME ARGS...: run checksum_vm in the background, waiting for a
# go-file; sets VM_PID. The guest starts once go_vm NAME is called.
start_vm() {
	name=$1
	shift
	VM_PID=
	"$CHECKSUM_VM" --wait-file "$work/$name.go" "$@" >"$work/$name.out" 2>&1 &
	wait_for 300 ready_or_gone "$work/$name.out" $!
	if ! grep -q '^ready pid=' "$work/$name.out"; then
		diag "checksum_vm $name never got ready:"
		sed 's/^/# /' "$work/$name.out"
		return 1
	fi
	VM_PID=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$work/$name.out")
}
go_vm() { touch "$work/$1.go"; }
# wait_vm NAME: wait for the checksum line; prints the checksum.
wait_vm() {
	i=0
	while ! grep -q '^checksum=' "$work/$1.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 3000 ]; then
			sed 's/^/# /' "$work/$1.out" >&2
			return 1
		fi
		sleep 0.1
	done
	sed -n 's/^checksum=\(.*\)/\1/p' "$work/$1.out"
}
vm_exits() { sed -n 's/^exits=\([0-9]*\).*/\1/p' "$work/$1.out"; }

# attach_pid PID: attach with ftctl, print the VM id.
attach_pid() {
	"$FTCTL" attach --pid "$1" | sed -n 's/^attached vm \([0-9]*\).*/\1/p'
}
role_of() {
	"$FTCTL" status --vm "$1" --json | grep -o '"role": *"[a-z]*"' | sed 's/.*"\([a-z]*\)"$/\1/'
}
is_role() { [ "$(role_of "$1")" = "$2" ]; }
wait_role() { wait_for 120 is_role "$1" "$2"; }
