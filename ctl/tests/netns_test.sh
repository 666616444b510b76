#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ftd and ftctl between hosts, with no KVM: each host is a network
# namespace with its own ftd and a simulated VM (ftd --sim-vm), all on
# one switch, sharing an arbitration disk (a file, opened O_DIRECT); the
# drawing is in netns_lib.sh.
#
# Killing a host's ftd kills its simulated VM with it: a host that dies.
# What this says about the module: nothing (lab tests do that). Prints
# TAP; needs root and ip netns, else SKIPs. NETNS_ROUNDS (default 20)
# sets the kill/cut/race rounds.
set -u
ROUNDS=${NETNS_ROUNDS:-20}
. "$(dirname "$0")/netns_lib.sh"
n=0 plan=36

echo "TAP version 13"
echo "1..$plan"
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() { if eval "$1"; then ok "$2"; else not_ok "$2"; diag_logs; fi; }
diag() { echo "# $*"; }
skip_all() {
	while [ $n -lt $plan ]; do n=$((n + 1)); echo "ok $n - netns # SKIP $1"; done
	rm -rf "$W"
	exit 0
}

[ -x "$FTD" ] && [ -x "$FTCTL" ] && [ -x "$INJECT" ] || skip_all "build ftd, ftctl and ftinject first"
netns_setup || skip_all "$why"

# --- Configuration and secure defaults. ---
cp "$W/a.conf" "$W/nokey.conf"
sed -i '/key_file/d' "$W/nokey.conf"
ip netns exec "$NS"a "$FTD" --foreground --config "$W/nokey.conf" --sim-vm vm-1 >"$W/nokey.log" 2>&1 &
nk=$!
sleep 0.3
out=$(ctl a pair --vm 1 --peer "$(addr b)" 2>&1); rc=$?
check '[ $rc = 3 ] && echo "$out" | grep -q "pairing is off: no key_file"' \
	"no key_file: pairing is refused and says why (exit $rc)"
kill $nk; wait $nk 2>/dev/null
cp "$W/psk" "$W/psk.loose"; chmod 644 "$W/psk.loose"
sed "s|$W/psk|$W/psk.loose|" "$W/a.conf" >"$W/loose.conf"
out=$(ip netns exec "$NS"a "$FTD" --foreground --config "$W/loose.conf" --sim-vm vm-1 2>&1); rc=$?
check '[ $rc = 3 ] && echo "$out" | grep -q "mode 0600 or 0400"' \
	"a key_file others can read: ftd refuses to start (exit $rc)"
printf 'host_id = 1\nbogus = 2\n' >"$W/bad.conf"
out=$("$FTD" --foreground --config "$W/bad.conf" --sim-vm vm-1 2>&1); rc=$?
check '[ $rc = 4 ] && echo "$out" | grep -q "bad.conf:2: unknown key .bogus."' \
	"a bad configuration line is named (exit $rc)"

# --- Pair, run, unpair, pair again. ---
start a && start b || { not_ok "ftd starts in both namespaces"; diag_logs; exit 1; }
ok "ftd starts in both namespaces"
pair a b; rc=$?
check '[ $rc = 0 ] && grep -q "primary, paired with hostb at generation 1" "$W/out"' "pair: hosta primary, hostb backup, generation 1"
a0=$(field a acked); sleep 0.5; a1=$(field a acked)
check '[ "$(state b)" = backup ] && [ "${a1:-0}" -gt "${a0:-0}" ]' "the log flows: acked $a0 -> $a1"
check 'json b | grep -q "\"channel\":\"up\"" && [ "$(field b hb_age_ms)" -lt 400 ]' "status: channel up, heartbeat fresh"
ctl a unpair --vm 1 >"$W/out" 2>&1; rc=$?
check '[ $rc = 0 ] && wait_state b halted 3 && grep -q "the primary (hosta) ended the pair" <<<"$(field b why; json b)"' \
	"unpair: the primary runs alone, the backup's VM is stopped and says why"
stop b; start b
pair a b; rc=$?
check '[ $rc = 0 ] && grep -q "at generation 2" "$W/out"' "pair again (a new backup VM): generation 2"

# --- Refusals name their cause. ---
out=$(ctl a pair --vm 1 --peer "fe80::1" 2>&1); rc1=$?
out2=$(ctl a pair --vm 1 --peer "$(addr b):99999" 2>&1); rc2=$?
check '[ $rc1 = 1 ] && [ $rc2 = 1 ] && echo "$out" | grep -q "\[IPv6\]" && [ "$(state a)" = primary ]' \
	"a malformed --peer (bare IPv6, port 99999) is refused and changes nothing"

ctl a unpair --vm 1 >/dev/null 2>&1; stop b
start b --sim-vm vm-2
pair a b; rc=$?
check '[ $rc = 7 ] && grep -q "no VM on host hostb was started with identity .vm-1." "$W/out"' \
	"mismatched identity refused: $(head -c 150 "$W/out")"
stop b
sed "s|$W/psk|$W/psk2|" "$W/b.conf" >"$W/b2.conf"
ip netns exec "$NS"b "$FTD" --foreground --config "$W/b2.conf" --sim-vm vm-1 >>"$W/b.log" 2>&1 &
echo $! >"$W/b.pid"; disown; sleep 0.3
pair a b; rc=$?
check '[ $rc = 7 ] && grep -q "different keys" "$W/out" && [ "$(field b forged)" -ge 1 ] && alive b' \
	"wrong key refused, counted as forged on the peer, which runs on"
stop b
FTD_ENV=FTD_TEST_PROTO=2 start b
pair a b; rc=$?
check '[ $rc = 7 ] && grep -q "no common protocol version" "$W/out"' \
	"wrong protocol version refused: $(head -c 150 "$W/out")"
stop b; start b
pair a b; rc=$?
start c
pair c b; rc=$?
check '[ $rc = 6 ] && grep -q "host hosta (id 1) owns generation" "$W/out"' \
	"a second primary for the same VM refused: $(head -c 120 "$W/out")"
stop c

# --- Bad frames and heartbeats: refused, counted, the pair undisturbed. ---
pid=$(field b pair_id)
h0=$(field b held)
bad=0
for m in garbage truncated oversized forged replayed version flood; do
	ip netns exec "$NS"c "$INJECT" chan "$(addr b)" 7788 "$W/psk" $m || bad=1
done
for m in garbage truncated oversized forged replayed; do
	ip netns exec "$NS"c "$INJECT" hb "$(addr b)" 7788 "$W/psk" "$pid" $m || bad=1
done
sleep 0.5
j=$(json b)
cnt() { echo "$j" | grep -o "\"$1\":{[^}]*}" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
check '[ $bad = 0 ] && (for k in garbage truncated oversized forged replayed bad_version; do [ "$(cnt channel $k)" -ge 1 ] || exit 1; done)' \
	"channel: garbage, truncated, oversized, forged, replayed, bad version each refused and counted; a flood of connections capped"
check '(for k in garbage truncated oversized forged replayed; do [ "$(cnt heartbeat $k)" -ge 1 ] || exit 1; done)' \
	"heartbeats: garbage, truncated, oversized, forged, replayed each refused and counted"
check 'alive b && [ "$(state b)" = backup ] && [ "$(state a)" = primary ] && [ "$(field b held)" -gt "$h0" ]' \
	"the daemon runs on and the pair is undisturbed (held $h0 -> $(field b held))"

# --- The channel dropped 5 times: the primary resends, nothing lost. ---
# The simulated backup checks every record's sequence and session: a
# record lost or sent twice would stop it (a divergence).
h0=$(field b held); bad=0
for r in 1 2 3 4 5; do
	ctl "$([ $((r % 2)) = 0 ] && echo a || echo b)" reconnect --vm 1 >/dev/null 2>&1 || bad=1
	sleep 0.4
done
check '[ $bad = 0 ] && wait_state b backup 2 && json b | grep -q "\"channel\":\"up\"" && [ "$(field b divergences)" = 0 ] && [ "$(field b held)" -gt "$h0" ] && [ "$(state a)" = primary ] && grep -q "resending from record" "$W/a.log"' \
	"channel dropped 5 times from either side: reconnected and resent, no record lost or repeated, no failover"

# --- The primary's ftd killed and restarted: the pair goes on. ---
# The module keeps a primary's recording for the next reader
# (KVMFT_LOG_KEEP); a simulated VM with state=FILE keeps it there, so it
# outlives its ftd, as a VM outlives its host's ftd. keep=0 is a module
# without KEEP. docs/ftd-restart.md.
ctl a unpair --vm 1 >/dev/null 2>&1; stop a; stop b
start a --sim-vm vm-1,rate=2000,keep=0 && start b && pair a b; rc=$?
check '[ $rc = 0 ] && grep -q "pair will not survive a restart of its ftd" "$W/a.log"' \
	"a module without KEEP: the pair is made, and the primary says an ftd restart would end it"
ctl a unpair --vm 1 >/dev/null 2>&1; stop a; stop b
sim_a="vm-1,rate=2000,state=$W/a.vm"
# Back after the backup won: the newer generation stops the VM.
start a --sim-vm "$sim_a" && start b && pair a b
stop a
wait_state b live 5
start a --sim-vm "$sim_a"
check 'wait_state a halted 5 && field a why | grep -q "hostb (id 2) won generation"' \
	"the primary's ftd back after the backup won: it finds the newer generation and stops its VM"
g=$(field b gen)
ip netns exec "$NS"a "$FTCTL" arb acquire --disk "$W/disk" --host-id 1 --name hosta --base "$g" >/dev/null
stop a; stop b
# Back within hb_timeout_ms, at random moments: the pair goes on. The
# timeout is 3 s here: a loaded machine takes longer to start an ftd.
# Every other round, the backup holds records whose acks the killed ftd
# never read (B stopped while A sends, then A stopped while B acks): the
# next ftd acks them to the module first.
sed -i "s/^hb_timeout_ms = .*/hb_timeout_ms = 3000/" "$W/a.conf" "$W/b.conf"
start a --sim-vm "$sim_a" && start b && pair a b
good=0 rounds=$(( (ROUNDS + 3) / 4 ))
for r in $(seq "$rounds"); do
	sleep 0.$((RANDOM % 10)); h0=$(field b held)
	if [ $((r % 2)) = 0 ]; then
		kill -STOP "$(cat "$W/b.pid")"; sleep 0.2
		kill -STOP "$(cat "$W/a.pid")"; kill -CONT "$(cat "$W/b.pid")"; sleep 0.3
	fi
	stop a; start a --sim-vm "$sim_a"
	end=$(($(now_ms) + 5000))
	until [ "$(grep -c "primary again from record" "$W/a.log")" -ge "$r" ] || [ "$(now_ms)" -gt $end ]; do sleep 0.05; done
	sleep 0.5
	if [ "$(grep -c "primary again from record" "$W/a.log")" -ge "$r" ] && [ "$(state a)" = primary ] &&
	   [ "$(state b)" = backup ] && [ "$(field b held)" -gt "$((h0 + 100))" ]; then
		good=$((good + 1))
	else
		diag "round $r: a $(state a) ($(field a why)), b $(state b), held $h0 -> $(field b held)"
	fi
done
check '[ $good = $rounds ]' \
	"the primary's ftd killed -9 and restarted $rounds times: primary again from the backup's next record, the backup stays, the log flows on"
ahead=$(sed -n 's/.*primary again from record \([0-9]*\) (the module had acks to \([0-9]*\)).*/\1 \2/p' "$W/a.log" |
	while read -r nx ak; do [ "$nx" -gt $((ak + 1)) ] && echo x; done | wc -l)
check '[ "$ahead" -ge 1 ]' \
	"... the backup held records beyond the module's acks ($ahead times): acked to the module, shipped from the next"
check '[ "$(field b divergences)" = 0 ] && ! grep -q "out of sequence\|log-error\|cannot go on" "$W/a.log" "$W/b.log"' \
	"... no record lost or repeated (the backup checks each), none out of sequence"
sed -i "s/^hb_timeout_ms = .*/hb_timeout_ms = $TIMEOUT_MS/" "$W/a.conf" "$W/b.conf"
stop a; stop b
start a && start b && pair a b

# --- The disk unreachable, then the primary killed: no promotion. ---
mv "$W/disk" "$W/disk.away"
stop a
sleep 2
check '[ "$(state b)" = arbitrating ] && grep -q "arbitration-failed.*cannot open.*nobody goes live" "$W/b.log"' \
	"disk unreachable, primary killed: the backup does not promote and says why"
mv "$W/disk.away" "$W/disk"
check 'wait_state b live 5' "the disk back: the backup wins and goes live"

# --- Kill the primary ROUNDS times. ---
p=b q=a worst=0 good=0
for r in $(seq "$ROUNDS"); do
	start "$q" && pair "$p" "$q" || { diag "round $r: pairing failed: $(cat "$W/out")"; continue; }
	sleep 0.$((RANDOM % 5))
	t0=$(now_ms); stop "$p"
	if wait_state "$q" live 5 && field "$q" why | grep -q "won generation"; then
		t=$(($(now_ms) - t0)); [ $t -gt $worst ] && worst=$t
		[ $t -le $((TIMEOUT_MS + 1000)) ] && good=$((good + 1))
	else
		diag "round $r: $q is $(state "$q"): $(field "$q" why)"
	fi
	x=$p; p=$q; q=$x
done
check '[ $good = $ROUNDS ]' "primary killed $ROUNDS times: the backup won and went live each time within timeout+1 s (worst $worst ms)"

# --- Cut both links ROUNDS times, both hosts alive. ---
good=0
for r in $(seq "$ROUNDS"); do
	stop "$q"; start "$q" && pair "$p" "$q" || { diag "round $r: pairing failed: $(cat "$W/out")"; continue; }
	ip -n "$NS"s link set "s$q" down
	sleep 1.5
	sp=$(state "$p"); sq=$(state "$q")
	ip -n "$NS"s link set "s$q" up
	if { [ "$sp" = live ] && [ "$sq" = halted ]; } || { [ "$sp" = halted ] && [ "$sq" = live ]; }; then
		good=$((good + 1))
	else
		diag "round $r: $p is $sp, $q is $sq"
	fi
	[ "$sq" = live ] && { x=$p; p=$q; q=$x; }
done
check '[ $good = $ROUNDS ]' "links cut $ROUNDS times, both alive: exactly one live, the other stopped, every time"
check 'grep -q "won generation .*: this host.s VM is stopped and must not run" "$W/a.log" "$W/b.log"' \
	"the loser says why it stopped"

# --- Both race for the next generation. ---
good=0
"$FTCTL" arb init --disk "$W/race" --vm vm-race >/dev/null	# the pair's disk stays as it is
for r in $(seq $((ROUNDS * 5))); do
	g=$((r - 1))
	ip netns exec "$NS"a "$FTCTL" arb acquire --disk "$W/race" --host-id 1 --name hosta --base $g >/dev/null 2>&1 & x=$!
	ip netns exec "$NS"b "$FTCTL" arb acquire --disk "$W/race" --host-id 2 --name hostb --base $g >/dev/null 2>&1 & y=$!
	wait $x; rx=$?; wait $y; ry=$?
	{ [ $rx = 0 ] && [ $ry = 6 ]; } || { [ $rx = 6 ] && [ $ry = 0 ]; } && good=$((good + 1))
done
check '[ $good = $((ROUNDS * 5)) ]' "two hosts race on the disk $((ROUNDS * 5)) times: exactly one wins each time ($good)"
good=0
for r in $(seq "$ROUNDS"); do
	stop "$q"; start "$q" && pair "$p" "$q" || { diag "round $r: pairing failed: $(cat "$W/out")"; continue; }
	ctl "$q" promote --vm 1 >"$W/pq" 2>&1 & x=$!
	ctl "$p" unpair --vm 1 >"$W/pp" 2>&1 & y=$!
	wait $x; rq=$?; wait $y; rp=$?
	# Either the promotion won (q live, p stopped), or the unpair did (p
	# alone, no pair; q stopped, its promote refused or lost). The loser's
	# own command may still succeed (an unpair of a pair that just lost).
	sleep 0.3
	sp=$(field "$p" stopped); sq=$(field "$q" stopped)
	if [ $rq = 0 ] && [ "$(state "$q")" = live ] && [ "$sp" = true ] && [ "$sq" = false ]; then
		good=$((good + 1)); x=$p; p=$q; q=$x
	elif [ $rp = 0 ] && [ -z "$(state "$p")" ] && [ "$sp" = false ] && [ "$sq" = true ]; then
		good=$((good + 1))
	else
		diag "round $r: promote on $q exit $rq ($(cat "$W/pq")), stopped $sq; unpair on $p exit $rp ($(cat "$W/pp")), stopped $sp"
		[ "$sq" = false ] && [ "$sp" = true ] && { x=$p; p=$q; q=$x; }
	fi
done
check '[ $good = $ROUNDS ]' "ftctl promote (backup) races unpair (primary) $ROUNDS times: exactly one side goes on, the other stops"

# --- ftctl promote by hand, then the old primary comes back. ---
stop "$q"; start "$q" && pair "$p" "$q"
ctl "$q" promote --vm 1 >"$W/out" 2>&1; rc=$?
check '[ $rc = 0 ] && grep -q "won generation" "$W/out" && wait_state "$p" halted 3' \
	"ftctl promote: the backup wins and goes live; the primary, told, loses and stops"
check 'field "$p" why | grep -q "won generation"' "the old primary says it lost: $(field "$p" why | head -c 100)"
g=$(field "$q" gen)
ip netns exec "$NS$p" "$FTCTL" arb acquire --disk "$W/disk" --host-id $([ "$p" = a ] && echo 1 || echo 2) \
	--name "host$p" --base $((g - 1)) >"$W/out" 2>&1; rc=$?
check '[ $rc = 6 ] && grep -q "lost: generation $g belongs to" "$W/out"' \
	"an old primary asking for its next generation finds it lost"

# --- Events, and nothing leaked or crashed. ---
ctl "$q" events --json --count 1 --timeout 2 >"$W/out" 2>&1; rc=$?
check '[ $rc = 0 ] && grep -q "\"time\":.*\"event\":\"exists\"" "$W/out"' "ftctl events (from ftd): timestamped JSON lines"
ctl "$q" status --vm 9 >"$W/out" 2>&1; rc=$?
check '[ $rc = 7 ] && grep -q "no VM with id 9" "$W/out"' "status of an unknown VM: exit 7, says so"
# SIGTERM: ftd exits cleanly, so LeakSanitizer gets to look.
for h in a b; do
	pid=$(cat "$W/$h.pid" 2>/dev/null) && kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	rm -f "$W/$h.pid"
done
check '! grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$W"/*.log' "no sanitizer report in any ftd log"
exit $failed
