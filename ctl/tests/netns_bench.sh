#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The controller's numbers, between two hosts as network namespaces with
# simulated VMs (netns_lib.sh): failure detection (primary killed to the
# backup's arbitration starting), arbitration, failover (killed to the
# backup live: promoted; with the module, its outputs released follow at
# once), each the median of BENCH_FAILOVERS runs; and the logging
# channel's bandwidth for an idle and a busy guest. The lab's loopback
# and simulated VMs are faster than a LAN and a real guest: the times
# are ftd's own share of a failover.
set -u
. "$(dirname "$0")/netns_lib.sh"
RUNS=${BENCH_FAILOVERS:-5}

netns_setup || { echo "bench: skipped: $why"; exit 0; }

# ms since the epoch of the first log line of HOST matching RE, after byte OFF.
log_ms() {
	tail -c +"$3" "$W/$1.log" | grep -m1 "$2" | cut -d' ' -f1 |
		xargs -r -I{} date -d {} +%s%3N
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "?") }'; }

det="" arb="" fo=""
p=a q=b
start a && start b || { echo "bench: ftd did not start"; exit 1; }
for r in $(seq "$RUNS"); do
	stop "$q"; start "$q"
	pair "$p" "$q" || { echo "bench: pairing failed: $(cat "$W/out")"; exit 1; }
	sleep 0.3
	off=$(($(stat -c %s "$W/$q.log") + 1))
	t0=$(now_ms); stop "$p"
	wait_state "$q" live 5 || { echo "bench: no failover"; exit 1; }
	det="$det $(($(log_ms "$q" "arbitrating:" $off) - t0))"
	fo="$fo $(($(log_ms "$q" " live: won" $off) - t0))"
	arb="$arb $(field "$q" arb_ms)"
	x=$p; p=$q; q=$x
done

# Bandwidth: records acked and bytes on the wire over 3 s.
# From $p, the host that owns the generation now.
rate() {	# RATE -> "records/s KiB/s"
	stop "$p"; stop "$q"
	start "$p" --sim-vm "vm-1,rate=$1"; start "$q"
	pair "$p" "$q" || { echo "? ?"; return; }
	sleep 0.5
	r0=$(field "$p" acked); b0=$(field "$p" chan_bytes_tx); t0=$(now_ms)
	sleep 3
	r1=$(field "$p" acked); b1=$(field "$p" chan_bytes_tx); t1=$(now_ms)
	echo "$(( (r1 - r0) * 1000 / (t1 - t0) )) $(( (b1 - b0) * 1000 / (t1 - t0) / 1024 ))"
	ctl "$p" unpair --vm 1 >/dev/null 2>&1
}
idle=$(rate 200)
busy=$(rate 2000000)

printf "controller (ftd between two namespaces, simulated VMs; hb every 100 ms, timeout %s ms)\n" "$TIMEOUT_MS"
printf "  %-22s %6s ms   (median of %d: %s)\n" "failure detection" "$(echo $det | tr ' ' '\n' | median)" "$RUNS" "$det"
printf "  %-22s %6s ms   (%s)\n" "arbitration" "$(echo $arb | tr ' ' '\n' | median)" "$arb"
printf "  %-22s %6s ms   (primary killed to backup live: %s)\n" "failover" "$(echo $fo | tr ' ' '\n' | median)" "$fo"
set -- $idle
printf "  %-22s %6s records/s, %s KiB/s on the channel (guest at 200 records/s)\n" "logging, idle guest" "$1" "$2"
set -- $busy
printf "  %-22s %6s records/s, %s KiB/s on the channel (guest as fast as ftd takes)\n" "logging, busy guest" "$1" "$2"
