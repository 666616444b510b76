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
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
fi
pat='WARNING:|BUG:|Oops|general protection|soft lockup|hung task'
pat="$pat|rcu_sched self-detected stall|rcu: INFO|Call Trace|kmemleak"
pat="$pat|UBSAN|KASAN"
# Debug kernels announce these tools at boot; that is not a finding.
benign='kmemleak: (Kernel memory leak detector|Automatic memory scanning)'
benign="$benign|KernelAddressSanitizer initialized"
bad=$(dmesg | grep -E "$pat" | grep -Ev "$benign")
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
