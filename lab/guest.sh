# SPDX-License-Identifier: GPL-2.0
#
# Second stage of the lab guest, run by lab/init after switch_root into the
# build machine's root: load KVM, run the job lab/run wrote, report the
# kernel log as one TAP line, power off. Runs with the host's /bin/sh.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=dumb
out=$LAB_OUT

# The job sets LAB_CWD, LAB_TTY and the command as "$@".
# shellcheck source=/dev/null
. "$out/.lab-job"

# Without a status file lab/run reports a crash; this says why instead.
fail() {
	echo "lab: $*"
	echo "$*" >"$out/lab-error"
	sync
	busybox poweroff -f
}

# The console's \n -> \r\n would end up in captured output.
stty -onlcr 2>/dev/null

modprobe kvm_amd || fail "modprobe kvm_amd failed"
[ -c /dev/kvm ] || fail "/dev/kvm did not appear after modprobe kvm_amd"
ip link set lo up || fail "cannot bring up lo"
cd "$LAB_CWD" || fail "cannot cd to $LAB_CWD (host /tmp, /run, /dev are not shared)"

# A kernel with kmemleak (make check-debug's): forget what booting left
# (WireGuard's QEMU harness does the same), and no background scans: the
# end of the run scans when the tests are done.
kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	echo scan=off >$kmemleak
	echo clear >$kmemleak
fi

stdin=/dev/null
[ "$LAB_TTY" = 1 ] && stdin=/dev/console
read -r up _ </proc/uptime
echo "lab: ${up}s: $*"
# Not a plain pipe into tee: background processes CMD leaves behind would
# hold it open and the run would hang. Give tee up to 10 s to drain (it
# ends at once unless such processes are left), then stop them all (kill -1
# spares only init, which is this script).
mkfifo /run/lab-console
tee "$out/log" </run/lab-console &
"$@" <$stdin >/run/lab-console 2>&1
echo $? >"$out/status"
i=0
while kill -0 $! 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -TERM -1 2>/dev/null

# Number the line after CMD's own top-level TAP results so the two read as
# one stream.
n=$(($(grep -cE '^(not )?ok ' "$out/log") + 1))
# kmemleak reports only objects older than its minimum age (5 s) that no
# scan found a reference to: scan, let that age and RCU grace periods pass,
# scan again, then whatever it lists is a leak.
leaks=
if [ -w $kmemleak ]; then
	echo scan >$kmemleak
	sleep 6
	echo scan >$kmemleak
	cat $kmemleak >"$out/kmemleak" 2>/dev/null
	if [ -s "$out/kmemleak" ]; then
		leaks="kmemleak: suspected leaks in $kmemleak (all of them in $out/kmemleak):"
		leaks="$leaks$(printf '\n%s' "$(head -n 300 "$out/kmemleak")")"
	else
		rm -f "$out/kmemleak"
	fi
fi
pat='WARNING:|BUG:|Oops|general protection|soft lockup|hung task'
pat="$pat|blocked for more than|kernel BUG at"
pat="$pat|rcu_sched self-detected stall|rcu: INFO|Call Trace|kmemleak"
pat="$pat|UBSAN|KASAN|ODEBUG:"
# lockdep; most of its reports also start with "WARNING:".
pat="$pat|possible circular locking dependency|possible recursive locking"
pat="$pat|inconsistent lock state|lock held when returning|bad unlock balance"
pat="$pat|held lock freed|suspicious RCU usage|INFO: lockdep is turned off"
pat="$pat|sleeping function called from invalid context"
# Debug kernels announce these tools at boot; that is not a finding.
benign='kmemleak: (Kernel memory leak detector|Automatic memory scanning)'
benign="$benign|KernelAddressSanitizer initialized"
bad=$(dmesg | grep -E "$pat" | grep -Ev "$benign")
[ -z "$leaks" ] || bad=$(printf '%s\n%s' "$bad" "$leaks" | sed '/./,$!d')
{
	if [ -z "$bad" ]; then
		echo "ok $n - lab: kernel log clean"
	else
		echo "not ok $n - lab: kernel log clean"
		echo "$bad" | sed 's/^/# /'
	fi
} | tee "$out/kernel-log.tap"
sync
busybox poweroff -f
