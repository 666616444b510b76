# SPDX-License-Identifier: GPL-2.0
# Source it: host_lock WHAT takes the host-wide kvmft lock for the rest of
# the calling script. make check, check-debug, demo and bench reinstall the
# DKMS module and boot labs that load it from this host's /lib/modules;
# two at once on one host would swap the module under each other's lab.
# The second waits, saying so; the lock goes with the process.
host_lock() {
	lockfile=${KVMFT_HOST_LOCK:-/run/lock/kvmft-lab.lock}
	# Started by a script that holds it (make check-debug runs make
	# check's pipeline): it is ours already.
	[ "${KVMFT_HOST_LOCK_HELD:-}" = "$lockfile" ] && return 0
	exec 9>"$lockfile" || return 0	# no lock possible: run unserialised
	if ! flock -n 9; then
		echo "== $1: another make check/check-debug/demo/bench runs on this host; waiting for it ($lockfile)" >&2
		flock 9
	fi
	export KVMFT_HOST_LOCK_HELD="$lockfile"
}
