#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TAP test of the lab itself, run on the build machine. Each lab/run boots a
# guest, so the checks share boots, and the boots run side by side:
#
#   clean  CMD checks /dev/kvm, runs a nested KVM VM, echoes its args; exit 0
#   warn   CMD prints one TAP line, writes a WARNING to /dev/kmsg; exit 0
#   exit3  CMD leaves a process behind and exits 3
#   crash  CMD panics the guest kernel
#   slow   --timeout 2 expires during boot
#   nocwd  run from a directory the guest cannot see (host /tmp)
set -u
lab=$(cd "$(dirname "$0")/.." && pwd -P)
# Per run, so parallel runs keep apart; kept only when something failed.
t=$(dirname "$lab")/build/lab-test/$$
mkdir -p "$t"

# A 64 KiB BIOS whose reset vector does `mov al,42; out 0xf4,al; hlt`: the
# isa-debug-exit device then makes QEMU exit (42 << 1) | 1 = 85, which only
# happens if the nested VM really executed guest code.
mkdir -p "$t/clean"
{ head -c 65520 /dev/zero; printf '\260\052\346\364\364'; head -c 11 /dev/zero; } >"$t/clean/exit.bin"

run() { # name dir args...: lab/run in dir in the background; status in name.rc
	name=$1 dir=$2
	shift 2
	(
		cd "$dir" || exit
		"$lab/run" --out "$t/$name" "$@" >"$t/$name.txt" 2>&1
		echo $? >"$t/$name.rc"
	) &
}
# The nested VM's own limit, stretched like lab/run's for a slow kernel.
nested=$((300 * ${LAB_TIMEOUT_SCALE:-1}))
# shellcheck disable=SC2016 # expanded in the guest
run clean . --timeout 600 -- sh -c '
	[ -c /dev/kvm ] && echo "check: /dev/kvm present"
	timeout '"$nested"' qemu-system-x86_64 -enable-kvm -machine pc -m 16 \
		-nodefaults -display none -no-reboot -bios "$0/exit.bin" \
		-device isa-debug-exit,iobase=0xf4,iosize=1
	echo "check: nested qemu exited $?"
	echo "check: cwd $(pwd)"
	echo "check: args [$1] [$2]"' "$t/clean" "a b" "it's"
run warn . --timeout 600 -- sh -c '
	echo "ok 1 - inner"
	echo "<4>WARNING: lab self-test" >/dev/kmsg'
# Its limit is the others' (six labs boot at once here: a debug kernel
# took 389 s to its command); the leftover outlives any limit, so a
# lab/run held up by it times out (124), never exits 3.
run exit3 . --timeout 600 -- sh -c 'sleep 100000 & exit 3'
run crash . --timeout 600 -- sh -c 'echo c >/proc/sysrq-trigger'
run slow . --timeout 2 -- true
hosttmp=$(mktemp -d /tmp/lab_test.XXXXXX)
run nocwd "$hosttmp" --timeout 600 -- true
wait
rmdir "$hosttmp"

pass=0 fail=0 n=0
check() { # description command...
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
		pass=$((pass + 1))
	else
		echo "not ok $n - $desc"
		fail=$((fail + 1))
	fi
}
rc() { [ "$(cat "$t/$1.rc")" = "$2" ]; }
has() { grep -qF -- "$2" "$t/$1"; }

echo "TAP version 13"
echo "1..14"
check "true: lab/run exits 0" rc clean 0
# Whole lines: "not ok 1 - ..." contains "ok 1 - ...".
check "true: kernel log clean" grep -qx "ok 1 - lab: kernel log clean" "$t/clean/kernel-log.tap"
check "true: output in console and \$OUT/log" \
	eval 'has clean.txt "check: cwd" && has clean/log "check: cwd"'
check "guest: /dev/kvm exists" has clean/log "check: /dev/kvm present"
check "guest: nested KVM VM ran guest code" has clean/log "check: nested qemu exited 85"
check "guest: cwd is the host's" has clean/log "check: cwd $PWD"
check "guest: arguments arrive intact" has clean/log "check: args [a b] [it's]"
check "exit 3: lab/run exits 3, not held up by a leftover process" rc exit3 3
check "WARNING: lab/run exits 1" rc warn 1
check "WARNING: not-ok line numbered after CMD's TAP" \
	has warn.txt "not ok 2 - lab: kernel log clean"
check "WARNING: offending line shown" has warn.txt "WARNING: lab self-test"
check "panic: lab/run exits 125 saying no status" \
	eval 'rc crash 125 && has crash.txt "never wrote"'
check "timeout: lab/run exits 124" rc slow 124
check "guest setup failure: lab/run exits 125 and says why" \
	eval 'rc nocwd 125 && has nocwd.txt "guest setup failed: cannot cd"'

# The boots' output only matters when something failed.
[ "$fail" = 0 ] || for f in "$t"/*.txt; do
	sed "s|^|# $(basename "$f" .txt): |" "$f" | tr -d '\r'
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] || exit 1
rm -rf "$t"
rmdir "$(dirname "$t")" 2>/dev/null || :
