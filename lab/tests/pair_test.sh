#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP test of ftd between two real hosts, run on the build machine: two
# lab guests (lab/run), each a host with its own kernel, kvmft, ftd and
# VM (checksum_vm, identity pair-1), joined by a network (QEMU's dgram
# netdev, 10.91.0.1 and .2) and a disk (one image file, opened by both
# QEMUs with cache=none: the VM's arbitration area). Each guest runs
# lab/tests/pair-host.sh, which runs the commands this script writes into
# its out dir. A host dies as a whole: its QEMU is killed -9.
#
#   pair       a pair across the two hosts; the backup replays the log
#   kill       the primary host killed PAIR_KILLS times (20) at random
#              moments: the backup wins the disk and goes live within
#              hb_timeout_ms + 1 s, every time; the dead host boots again
#              and the next pair (fresh VMs) has the survivor as primary
#   cut        the network cut PAIR_CUTS times (20), both hosts alive:
#              exactly one side live, the other stopped, saying why
#   race       both hosts ask for the same generation PAIR_RACES times
#              (100) at once (ftctl arb acquire, the test's hook into
#              arbitration): exactly one wins each time
#   no-disk    the backup's disk unreachable, then the primary host
#              killed: the backup does not go live and says why
#
# PAIR_HB_TIMEOUT_MS (1000) is the pair's hb_timeout_ms. The labs run
# with the DKMS module of KVER (make check installs it); KVMFT_KO=PATH
# insmods that file instead. Kept in build/pair-test/PID when a test
# failed.
set -u
lab=$(cd "$(dirname "$0")/.." && pwd -P)
repo=$(dirname "$lab")
FTCTL=$repo/ctl/ftctl
KILLS=${PAIR_KILLS:-20} CUTS=${PAIR_CUTS:-20} RACES=${PAIR_RACES:-100}
HB_MS=${PAIR_HB_TIMEOUT_MS:-1000}
t=$repo/build/pair-test/$$
mkdir -p "$t"
n=0 failed=0
echo "TAP version 13"
echo "1..6"
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
diag() { echo "# $*"; }
check() { # NAME CMD...
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
give_up() {
	diag "$*"
	while [ $n -lt 6 ]; do not_ok "not run: $*"; done
	finish
}
now_ms() { date +%s%3N; }

[ -x "$FTCTL" ] || give_up "$FTCTL not built (make)"
truncate -s 4M "$t/disk.img"
"$FTCTL" arb init --disk "$t/disk.img" --vm pair-1 --force >/dev/null ||
	give_up "ftctl arb init on $t/disk.img failed"
(umask 077 && "$FTCTL" genkey >"$t/psk") || give_up "ftctl genkey failed"
# Each host's UDP port on the build machine; two test runs must not meet.
base=$((20000 + ($$ % 10000) * 2))

# The hosts' out dirs: out[H] for the current boot of host H.
declare -A out boots cmdn
boots[1]=0 boots[2]=0
boot() { # H: boot host H (again); waits until its pair-host.sh is ready
	h=$1 o=$((3 - $1))
	boots[$h]=$((boots[$h] + 1))
	d=$t/h$h.${boots[$h]}
	out[$h]=$d cmdn[$h]=0
	mkdir -p "$d"
	cp "$t/psk" "$d/psk"
	args="-netdev dgram,id=pn,local.type=inet,local.host=127.0.0.1,local.port=$((base + h))"
	args="$args,remote.type=inet,remote.host=127.0.0.1,remote.port=$((base + o))"
	args="$args -device virtio-net-pci,netdev=pn,mac=52:54:00:91:00:0$h"
	args="$args -drive file=$t/disk.img,if=virtio,format=raw,cache=none,file.locking=off"
	(
		cd "$repo" &&
		LAB_QEMU_ARGS=$args lab/run --timeout 5400 --out "$d" -- env \
			PAIR_HB_TIMEOUT_MS="$HB_MS" KVMFT_KO="${KVMFT_KO:-}" \
			lab/tests/pair-host.sh "$h" >"$d.console" 2>&1
		echo $? >"$d.rc"
	) &
	for _ in $(seq 3000); do
		[ -f "$d/ready" ] && return 0
		[ -f "$d/setup-failed" ] || [ -f "$d.rc" ] && break
		sleep 0.1
	done
	diag "host $h did not come up: $(cat "$d/setup-failed" 2>/dev/null)"
	tail -n 20 "$d.console" | sed 's/^/# console: /'
	return 1
}
# send_at H CMD: send CMD to host H without waiting (its answer: done.K).
send_at() {
	h=$1 d=${out[$1]}
	cmdn[$h]=$((cmdn[$h] + 1))
	echo "$2" >"$d/cmd.${cmdn[$h]}.tmp" && mv "$d/cmd.${cmdn[$h]}.tmp" "$d/cmd.${cmdn[$h]}"
}
answer() { # H: wait for the answer to the last send_at; its status
	d=${out[$1]} k=${cmdn[$1]}
	for _ in $(seq 3000); do
		[ -f "$d/done.$k" ] && return "$(head -n 1 "$d/done.$k")"
		[ -f "$d.rc" ] && break
		sleep 0.05
	done
	return 125
}
# send H CMD: run CMD on host H; prints its output, returns its status.
send() {
	send_at "$1" "$2"
	answer "$1"
	st=$?
	if [ $st = 125 ]; then
		echo "host $1: no answer to '$2'"
	else
		tail -n +2 "${out[$1]}/done.${cmdn[$1]}"
	fi
	return $st
}
kill_host() { # H: the host dies (its QEMU killed -9)
	pkill -9 -f "path=${out[$1]},mount_tag=labout" || return 1
	for _ in $(seq 600); do
		[ -f "${out[$1]}.rc" ] && return 0
		sleep 0.05
	done
}
# field H NAME: the first NAME of host H's ftd status (JSON).
field() {
	grep -o "\"$2\": *\"*[^,\"}]*" "${out[$1]}/st" 2>/dev/null | head -n 1 |
		sed 's/^"[^"]*": *"*//'
}
wait_state() { # H STATE SECS
	for _ in $(seq $(($3 * 20))); do
		[ "$(field "$1" state)" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
replaying() { # H: its backup VM took more than 100 records
	for _ in $(seq 2400); do
		[ "$(field "$1" replayed)" -gt 100 ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
seed=0
# pair P B: fresh VMs on both hosts (the same seed), P's the primary; both
# run, and B's replays.
pair() {
	seed=$((seed + 1))
	send "$1" "vm $seed 100000000" >"$t/vm.out" &&
		send "$2" "vm $seed 100000000" >>"$t/vm.out" || {
		diag "VMs: $(cat "$t/vm.out")"
		return 1
	}
	send "$1" "ctl pair --vm \$VM --peer 10.91.0.$2:7791 --timeout 60" >"$t/pair.out" &&
		grep -q "primary, paired with host$2" "$t/pair.out" || {
		diag "pair: $(cat "$t/pair.out")"
		return 1
	}
	send "$1" go >/dev/null && send "$2" go >/dev/null && replaying "$2"
}
finish() {
	for h in 1 2; do
		[ -n "${out[$h]:-}" ] && [ ! -f "${out[$h]}.rc" ] && send_at "$h" quit
	done
	wait
	if [ $failed = 0 ]; then
		rm -rf "$t"
	else
		diag "kept: $t"
	fi
	exit $failed
}
trap 'pkill -9 -f "path=$t/h" 2>/dev/null' EXIT

boot 1 & b1=$!
boot 2 & b2=$!
# boot runs in a subshell here: out[] is set again below, as boot would.
wait $b1 && wait $b2 || give_up "the lab hosts did not come up"
out[1]=$t/h1.1 out[2]=$t/h2.1 boots[1]=1 boots[2]=1 cmdn[1]=0 cmdn[2]=0

check "pair: host 1 primary, host 2 backup across the lab network; the backup replays" \
	pair 1 2

# failover_ms H: on host H's ftd log, from the primary's last sign of life
# (the backup saw nothing for hb_timeout_ms) to the backup live: the
# configured timeout, arbitration, taking the log, going live.
failover_ms() {
	f=${out[$1]}/ftd.log
	a=$(grep 'arbitrating: no heartbeat or log traffic' "$f" | tail -n 1)
	l=$(grep 'live: won generation' "$f" | tail -n 1)
	[ -n "$a" ] && [ -n "$l" ] || return 1
	quiet=$(echo "$a" | sed -n 's/.* for \([0-9]*\) ms:.*/\1/p')
	echo $(($(date -d "${l%% *}" +%s%3N) - $(date -d "${a%% *}" +%s%3N) + quiet))
}

# --- The primary host dies, KILLS times. ---
p=1 q=2 good=0 worst=0
for r in $(seq "$KILLS"); do
	sleep "0.$((RANDOM % 10))"
	t0=$(now_ms)
	kill_host "$p"
	if wait_state "$q" live 10 && field "$q" why | grep -q "won generation" &&
		ms=$(failover_ms "$q"); then
		[ "$ms" -le "$worst" ] || worst=$ms
		[ "$ms" -gt $((HB_MS + 1000)) ] || good=$((good + 1))
		diag "round $r: host $q live $ms ms after host $p's last sign of life ($(($(now_ms) - t0)) ms after the kill, as this test saw it)"
	else
		diag "round $r: host $q is $(field "$q" state): $(field "$q" why)"
	fi
	# The survivor is the primary of the next pair, the dead host its
	# backup once it is up again.
	x=$p p=$q q=$x
	[ "$r" = "$KILLS" ] && break
	boot "$q" || break
	send "$p" "vm_stop; fresh_ftd" >/dev/null
	pair "$p" "$q" || { diag "round $r: no new pair"; break; }
done
check "kill: the primary host killed $KILLS times: the backup won and went live within hb_timeout_ms + 1 s of its last sign of life, each time ($good good, worst $worst ms)" \
	test "$good" = "$KILLS"
# Both hosts up again, no pair: every test below starts from here.
[ -f "${out[$q]}.rc" ] && { boot "$q" || give_up "host $q did not boot again"; }
renew() { # P B: a new pair, P primary, from whatever the hosts hold
	send "$1" "vm_stop; fresh_ftd" >/dev/null
	send "$2" "vm_stop; fresh_ftd; link_heal" >/dev/null
	pair "$1" "$2"
}

# --- The network cut, CUTS times, both hosts alive. ---
good=0 says=0
for r in $(seq "$CUTS"); do
	renew "$p" "$q" || { diag "round $r: no pair"; continue; }
	sleep "0.$((RANDOM % 10))"
	send_at "$p" link_cut
	send_at "$q" link_cut
	answer "$p"
	answer "$q"
	# Both find the other silent, both ask the disk: one wins.
	for _ in $(seq $(((HB_MS / 1000 + 10) * 20))); do
		sp=$(field "$p" state) sq=$(field "$q" state)
		case "$sp $sq" in
		"live halted" | "halted live") break ;;
		esac
		sleep 0.05
	done
	case "$sp $sq" in
	"live halted" | "halted live") good=$((good + 1)) ;;
	*) diag "round $r: host $p is $sp, host $q is $sq" ;;
	esac
	loser=$p
	[ "$sq" = halted ] && loser=$q
	field "$loser" why | grep -q "won generation" && says=$((says + 1))
	[ "$sq" = live ] && { x=$p p=$q q=$x; }
	send "$p" link_heal >/dev/null
	send "$q" link_heal >/dev/null
done
check "cut: the network cut $CUTS times, both hosts alive: exactly one side live, the other stopped, every time ($good good)" \
	test "$good" = "$CUTS"
check "cut-why: the stopped side says why, every time ($says of $CUTS: 'won generation')" \
	test "$says" = "$CUTS"

# --- Both hosts race for the same generation, RACES times. ---
send "$p" "vm_stop; fresh_ftd" >/dev/null
send "$q" "vm_stop; fresh_ftd" >/dev/null
good=0
for r in $(seq "$RACES"); do
	g=$("$FTCTL" arb show --disk "$t/disk.img" --json | grep -o '"gen": *[0-9]*' | head -n 1 | grep -o '[0-9]*$')
	send_at 1 "race $g"
	send_at 2 "race $g"
	answer 1; r1=$?
	answer 2; r2=$?
	case "$r1 $r2" in
	"0 6" | "6 0") good=$((good + 1)) ;;
	*) diag "round $r (generation $g): host 1 exit $r1, host 2 exit $r2" ;;
	esac
done
check "race: both hosts ask for the same generation $RACES times at once: exactly one wins each time ($good good)" \
	test "$good" = "$RACES"

# --- The backup's disk unreachable, then the primary host killed. ---
renew "$p" "$q" || give_up "no pair for the disk test"
send "$q" disk_fail >/dev/null
kill_host "$p"
sleep $((HB_MS / 1000 + 5))
sq=$(field "$q" state)
check "no-disk: the backup's disk unreachable, the primary host killed: it does not go live ($sq) and says why" \
	sh -c "[ '$sq' != live ] && grep -q 'nobody goes live' '${out[$q]}/ftd.log'"
finish
