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

tap_plan() { echo "TAP version 13"; echo "1..$1"; }
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

tap_cleanup() {
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
	exit $tap_failed
}

need_root_kvm() {
	[ "$(id -u)" = 0 ] && [ -c /dev/kvm ]
}

# start_vm NAME ARGS...: run checksum_vm in the background, waiting for a
# go-file; sets VM_PID. The guest starts once go_vm NAME is called.
start_vm() {
	name=$1
	shift
	"$CHECKSUM_VM" --wait-file "$work/$name.go" "$@" >"$work/$name.out" 2>&1 &
	i=0
	while ! grep -q '^ready pid=' "$work/$name.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 600 ] && return 1
		sleep 0.1
	done
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
wait_role() {
	i=0
	while [ "$(role_of "$1")" != "$2" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		sleep 0.1
	done
}
