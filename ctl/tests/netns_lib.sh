# SPDX-License-Identifier: GPL-2.0
#
# Hosts as network namespaces for netns_test.sh and netns_bench.sh; source
# it. Each host has its own ftd (with a simulated VM by default) on one
# bridge, and all share an arbitration disk, a file opened O_DIRECT:
#
#   ns A: hosta, host_id 1, 10.77.N.1 -+
#   ns B: hostb, host_id 2, 10.77.N.2 -+- bridge in ns S (cut a link:
#   ns C: hostc, host_id 3, 10.77.N.3 -+  set its port down)
#   $W/disk: the VM's arbitration area; $W/psk: the pre-shared key
#
# netns_setup prints nothing and returns non-zero (with $why) if this
# machine cannot do it.
FTD=${FTD:-$(dirname "$0")/../ftd}
FTCTL=${FTCTL:-$(dirname "$0")/../ftctl}
INJECT=${INJECT:-$(dirname "$0")/../.asan/ftinject}
TIMEOUT_MS=${TIMEOUT_MS:-500}	# hb_timeout_ms in the configurations
W=$(mktemp -d /var/tmp/ftnetns.XXXXXX)
N=$(( ($$ % 200) + 20 ))	# the subnet, so runs side by side do not meet
NS=ftns$$
failed=0
now_ms() { date +%s%3N; }

netns_cleanup() {
	for h in a b c; do stop "$h" 2>/dev/null; done
	for h in a b c s; do ip netns del "$NS$h" 2>/dev/null; done
	if [ $failed = 0 ]; then rm -rf "$W"; else echo "# files kept in $W"; fi
}

netns_setup() {
	[ "$(id -u)" = 0 ] || { why="needs root"; return 1; }
	ip netns add "$NS"s 2>/dev/null || { why="ip netns does not work here"; return 1; }
	trap netns_cleanup EXIT
	ip -n "$NS"s link add br0 type bridge && ip -n "$NS"s link set br0 up
	i=0
	for h in a b c; do
		i=$((i + 1))
		ip netns add "$NS$h"
		ip link add "h$h$$" type veth peer name "s$h$$"
		ip link set "h$h$$" netns "$NS$h" name eth0
		ip link set "s$h$$" netns "$NS"s name "s$h"
		ip -n "$NS"s link set "s$h" master br0 up
		ip -n "$NS$h" addr add "10.77.$N.$i/24" dev eth0
		ip -n "$NS$h" link set eth0 up
		ip -n "$NS$h" link set lo up
		cat >"$W/$h.conf" <<-EOF
		host_id = $i
		host_name = host$h
		key_file = $W/psk
		arb_disk = $W/disk
		control_socket = $W/$h.sock
		state_dir = $W/$h.state
		hb_interval_ms = 100
		hb_timeout_ms = $TIMEOUT_MS
		arb_timeout_ms = 2000
		EOF
	done
	(umask 077; "$FTCTL" genkey >"$W/psk"; "$FTCTL" genkey >"$W/psk2")
	"$FTCTL" arb init --disk "$W/disk" --vm vm-1 --hosts 3 >/dev/null
}

addr() { case $1 in a) echo "10.77.$N.1" ;; b) echo "10.77.$N.2" ;; c) echo "10.77.$N.3" ;; esac; }

# start HOST [ftd options]: an ftd with a simulated VM (default vm-1).
start() {
	h=$1
	shift
	[ $# -gt 0 ] || set -- --sim-vm vm-1,rate=2000
	ip netns exec "$NS$h" env ${FTD_ENV:-} "$FTD" --foreground --config "$W/$h.conf" "$@" \
		>>"$W/$h.log" 2>&1 &
	echo $! >"$W/$h.pid"
	disown
	for _ in $(seq 50); do
		ctl "$h" status >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$W/$h.pid")" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
stop() { [ -f "$W/$1.pid" ] && kill -9 "$(cat "$W/$1.pid")" 2>/dev/null; rm -f "$W/$1.pid"; sleep 0.05; }
ctl() { h=$1; shift; FTD_SOCKET="$W/$h.sock" "$FTCTL" "$@"; }
json() { ctl "$1" status --json 2>/dev/null; }
# field HOST NAME: the first "NAME":value of HOST's status.
field() { json "$1" | grep -o "\"$2\":\"*[^,\"}]*" | head -1 | sed 's/^"[^"]*":"*//'; }
state() { field "$1" state; }
wait_state() {	# HOST STATE SECONDS
	end=$(($(now_ms) + $3 * 1000))
	until [ "$(state "$1")" = "$2" ]; do
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.02
	done
}
alive() { kill -0 "$(cat "$W/$1.pid" 2>/dev/null)" 2>/dev/null; }
pair() { ctl "$1" pair --vm 1 --peer "$(addr "$2")" --timeout 10 >"$W/out" 2>&1; }
diag_logs() { for f in "$W"/out "$W"/*.log; do [ -f "$f" ] && tail -n 6 "$f" | sed "s|^|# $(basename "$f"): |"; done; }
