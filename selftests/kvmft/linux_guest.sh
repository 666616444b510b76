#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A real Linux guest under stock QEMU, recorded and replayed live (issue 9):
#
#   QEMU A: contract guest (DESIGN §6), kernel-irqchip=split, tap lgtap0
#           (10.77.0.1 here answers its pings) --ftctl record --out - --+
#                                                                        | pipe
#   QEMU B: the same guest, its own disk copy, tap lgtap1 (nobody       |
#           answers)                            <--ftctl replay --in - --+
#
# Both start paused (-S); B is continued first and waits for A's log. The
# guest (scripts/linux-guest-init) boots, loops, reads and writes its IDE
# disk, pings, prints "lg: done" and powers off. A must finish that
# workload; B must never diverge, must print what A printed on its serial
# port, must leave its disk as A left its own, and the two must hash their
# memory equally where both logs pass the positions in LG_VERIFY_AT.
#
# Needs the module with experimental_lapic (set here for the run if the
# parameter is writable, restored after). LG_KEEP=DIR copies the serial
# logs, QMP transcripts, status samples, ftctl output and A's log (a.log,
# for `ftctl log-dump`) there.
. "$(dirname "$0")/tap.sh"
verify_at=${LG_VERIFY_AT:-1000 10000}
# LG_BIOS=qboot boots through QEMU's qboot instead of SeaBIOS: no
# firmware that takes PIT ticks through the userspace PIC (KVM_INTERRUPT).
bios=
[ "${LG_BIOS:-}" != qboot ] || bios="-bios /usr/share/qemu/qboot.rom"
limit=${LG_TIMEOUT:-1200}
tests="image primary backup workload no-divergence serial-same disk-same verify record-exit"
tap_plan 9

skip_all() {
	for t in $tests; do skip "$t" "$1"; done
	exit 0
}
need_root_kvm || skip_all "needs root and /dev/kvm"
"$FTCTL" info >/dev/null 2>&1 || skip_all "needs kvmft loaded"
command -v qemu-system-x86_64 >/dev/null || skip_all "needs qemu-system-x86_64"
[ -c /dev/net/tun ] || modprobe tun 2>/dev/null
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
param=/sys/module/kvmft/parameters/experimental_lapic
[ -r $param ] || skip_all "this kvmft has no experimental_lapic parameter"
lapic_was=$(cat $param)
if [ "$lapic_was" != Y ]; then
	echo Y >$param 2>/dev/null || skip_all "experimental_lapic is off and cannot be set"
fi

lg_cleanup() {
	for p in $(cat "$work"/*.qpid 2>/dev/null); do kill "$p" 2>/dev/null; done
	ip link del lgtap0 2>/dev/null
	ip link del lgtap1 2>/dev/null
	[ "$lapic_was" = Y ] || echo N >$param 2>/dev/null
	if [ -n "${LG_KEEP:-}" ]; then
		mkdir -p "$LG_KEEP"
		cp "$work"/*.serial "$work"/*.qmp.log "$work"/*.err "$work"/*.out \
			"$work"/status.log "$work"/a.log "$LG_KEEP/" 2>/dev/null
	fi
	tap_cleanup
}
trap 'lg_cleanup' EXIT

# 1. The guest: built here unless the build machine's cache is fresh (the
# lab's repository is read-only).
img=$("$top/scripts/linux-guest.sh" 2>"$work/image.err") ||
	img=$("$top/scripts/linux-guest.sh" --out "$work/image" 2>"$work/image.err")
check "image: the contract Linux guest is built (scripts/linux-guest.sh: $img)" \
	test -n "$img" -a -r "$img/vmlinuz" -a -r "$img/initramfs.cpio"
[ -n "$img" ] || { sed 's/^/# /' "$work/image.err"; give_up "no guest image"; }

ip tuntap add dev lgtap0 mode tap && ip addr add 10.77.0.1/24 dev lgtap0 &&
	ip link set lgtap0 up || give_up "cannot set up tap lgtap0"
ip tuntap add dev lgtap1 mode tap && ip link set lgtap1 up ||
	give_up "cannot set up tap lgtap1"

# start_qemu NAME TAP: QEMU paused, QMP on a pipe pair (POSIX sh has no
# socket client: fifo/NAME.in and .out, kept apart from the files LG_KEEP
# copies, which must not include a FIFO); prints its pid.
# shellcheck disable=SC2086
start_qemu() {
	cp "$img/disk.img" "$work/$1.img"
	mkdir -p "$work/fifo"
	mkfifo "$work/fifo/$1.in" "$work/fifo/$1.out"
	cat "$work/fifo/$1.out" >"$work/$1.qmp.log" &
	qemu-system-x86_64 -enable-kvm -machine pc,hpet=off,kernel-irqchip=split \
		-cpu host,kvm=off,-rdrand,-rdseed,-svm -smp 1 -m 256 \
		-vga none -display none -monitor none -no-reboot -S $bios \
		-chardev "pipe,id=qmp,path=$work/fifo/$1" -mon chardev=qmp,mode=control \
		-serial "file:$work/$1.serial" \
		-drive "file=$work/$1.img,format=raw,if=ide" \
		-netdev "tap,id=n0,ifname=$2,script=no,downscript=no" \
		-device ne2k_pci,netdev=n0 \
		-kernel "$img/vmlinuz" -initrd "$img/initramfs.cpio" \
		-append "$(cat "$img/cmdline")" >"$work/$1.err" 2>&1 &
	echo $! >"$work/$1.qpid"
	echo $!
}
qmp() {
	printf '%s\n' '{"execute":"qmp_capabilities"}' "{\"execute\":\"$2\"}" \
		>"$work/fifo/$1.in"
}
has_vm_fd() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q 'anon_inode:kvm-vm'; }
vm_fd_or_gone() { has_vm_fd "$1" || ! kill -0 "$1" 2>/dev/null; }
alive() { kill -0 "$1" 2>/dev/null; }
serial_has() { grep -q "^lg: $2" "$work/$1.serial" 2>/dev/null; }

qa=$(start_qemu a lgtap0)
qb=$(start_qemu b lgtap1)
wait_for 300 vm_fd_or_gone "$qa"
wait_for 300 vm_fd_or_gone "$qb"
has_vm_fd "$qa" && has_vm_fd "$qb" || {
	sed 's/^/# A: /' "$work/a.err"; sed 's/^/# B: /' "$work/b.err"
	give_up "QEMU did not create its VMs"
}
ida=$(attach_pid "$qa")
idb=$(attach_pid "$qb")
[ -n "$ida" ] && [ -n "$idb" ] || give_up "ftctl attach failed (A '$ida', B '$idb')"
diag "A: QEMU $qa, VM $ida; B: QEMU $qb, VM $idb"

"$FTCTL" events --json >"$work/events.out" 2>&1 &
# A diverged B stops reading its log; the replay is then ended (below) so
# that the pipe does not fill and stall A, and tee goes on filling a.log.
(
	"$FTCTL" record --vm "$ida" --out - 2>"$work/rec.err"
	echo $? >"$work/rec.rc"
) | tee --output-error=warn-nopipe "$work/a.log" 2>/dev/null | (
	# An asynchronous command's stdin is /dev/null unless redirected.
	exec 3<&0
	"$FTCTL" replay --vm "$idb" --in - <&3 >"$work/rep.out" 2>&1 &
	echo $! >"$work/rep.pid"
	wait $!
	echo $? >"$work/rep.rc"
) &
pipe=$!
if wait_role "$ida" primary; then
	ok "primary: LOG_OPEN took the split-irqchip QEMU VM as primary"
else
	not_ok "primary: LOG_OPEN took the split-irqchip QEMU VM as primary"
	sed 's/^/# rec: /' "$work/rec.err"
	give_up "A never became primary"
fi
if wait_role "$idb" backup; then
	ok "backup: B became its backup"
else
	not_ok "backup: B became its backup"
	sed 's/^/# rep: /' "$work/rep.out"
	give_up "B never became backup"
fi

# Both hash their memory at each position their log reaches; one request
# per VM at a time. Runs until both QEMUs are gone.
(
	for at in $verify_at; do
		timeout "$limit" "$FTCTL" verify --vm "$ida" --at "$at" >>"$work/va.out" 2>&1 &
		timeout "$limit" "$FTCTL" verify --vm "$idb" --at "$at" >>"$work/vb.out" 2>&1
		wait
	done
) &
# A sample of both VMs' state every 2 s: the evidence when something stops.
(
	while alive "$qa" || alive "$qb"; do
		date +%s
		"$FTCTL" status --json 2>&1
		sleep 2
	done
) >"$work/status.log" 2>&1 &

qmp b cont
qmp a cont
b_json() { "$FTCTL" status --vm "$idb" --json 2>/dev/null | tr -d '\n'; }
b_field() { b_json | sed -n "s/.*\"$1\": *\"*\([0-9a-z_]*\).*/\1/p"; }
# A: its workload to the end, and QEMU gone (poweroff).
end=$(($(date +%s) + limit))
while alive "$qa" && [ "$(date +%s)" -lt $end ]; do
	if [ -s "$work/rep.pid" ] && [ -n "$(b_field diverged)" ]; then
		diag "B diverged at record $(b_field diverged) ($(b_field diverged_why)) while A ran; replay ended"
		kill "$(cat "$work/rep.pid")" 2>/dev/null
		: >"$work/rep.pid"
	fi
	sleep 1
done
alive "$qa" && diag "A still runs after ${limit}s; its serial ends:" &&
	tail -n 5 "$work/a.serial" | sed 's/^/#   /'
read_md5=$(sed -n 's/^read=//p' "$img/expect")
wrote=$(sed -n 's/^lg: wrote=//p' "$work/a.serial")
check "workload: A booted, read its disk ($read_md5), wrote and read back, pinged and powered off" \
	sh -c "grep -q '^lg: read=$read_md5' '$work/a.serial' &&
		grep -q '^lg: readback=$wrote' '$work/a.serial' &&
		grep -q '^lg: ping=ok' '$work/a.serial' &&
		grep -q '^lg: done' '$work/a.serial' && ! kill -0 $qa"

# B: replays to the end of A's log, then waits there for a promotion that
# never comes (its poweroff lies past the last record). Wait until it
# printed all A printed, diverged, went away, or its log position stopped
# moving for 60 s.
last_pos=-1 still=0
end=$(($(date +%s) + limit))
while [ "$(date +%s)" -lt $end ] && alive "$qb" && [ -z "$(b_field diverged)" ] &&
	! cmp -s "$work/a.serial" "$work/b.serial" && [ $still -lt 30 ]; do
	pos=$(b_field replayed)
	if [ "$pos" = "$last_pos" ]; then still=$((still + 1)); else still=0; fi
	last_pos=$pos
	sleep 2
done
diag "B at the end: $(b_json | tr -s ' ')"
div=$(b_field diverged)
if [ -z "$div" ] && [ "$(b_field role)" = backup ]; then
	ok "no-divergence: B replayed A's log without diverging (replayed $(b_field replayed) of $(b_field seq))"
else
	not_ok "no-divergence: B replayed A's log without diverging"
	diag "B diverged at record ${div:-?} ($(b_field diverged_why)), role $(b_field role)"
fi
if cmp -s "$work/a.serial" "$work/b.serial"; then
	ok "serial-same: B's serial output is A's ($(wc -l <"$work/a.serial") lines)"
else
	not_ok "serial-same: B's serial output is A's"
	diag "A printed $(wc -l <"$work/a.serial") lines, B $(wc -l <"$work/b.serial"); B's last lines:"
	tail -n 5 "$work/b.serial" | sed 's/^/#   /'
	diag "first difference (A <, B >):"
	diff "$work/a.serial" "$work/b.serial" | head -n 10 | sed 's/^/#   /'
fi
check "disk-same: B's disk equals A's after the workload" cmp "$work/a.img" "$work/b.img"

kill "$qb" 2>/dev/null
pipe_gone() { ! kill -0 $pipe 2>/dev/null; }
wait_for 120 pipe_gone || diag "the record | replay pipe did not end within 120 s"
hashes() { sed -n 's/.*memory at record \([0-9]*\): \([0-9a-f]*\)$/\1 \2/p' "$work/$1"; }
hashes va.out | sort >"$work/ha"
hashes vb.out | sort >"$work/hb"
diag "memory hashes A: $(tr '\n' ' ' <"$work/ha")"
diag "memory hashes B: $(tr '\n' ' ' <"$work/hb")"
# Positions both reached, and whether their hashes agree.
same=$(join "$work/ha" "$work/hb" | awk '$2 == $3' | wc -l)
differ=$(join "$work/ha" "$work/hb" | awk '$2 != $3' | wc -l)
check "verify: A and B hash their memory equally where both logs passed LG_VERIFY_AT '$verify_at' ($same equal, $differ differ)" \
	test "$same" -gt 0 -a "$differ" = 0
check "record-exit: ftctl record exited 0 when A went away ($(tail -n1 "$work/rec.err" 2>/dev/null))" \
	test "$(cat "$work/rec.rc" 2>/dev/null)" = 0
