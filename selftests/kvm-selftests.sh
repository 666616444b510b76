#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvm-selftests.sh TARBALL DESTDIR
#
# Build a fixed set of the kernel's own KVM selftests
# (tools/testing/selftests/kvm) from a Debian linux-source-SERIES tarball,
# against that source's own uapi headers (make headers_install: Debian 12's
# linux-libc-dev is 6.1's, too old for 6.12's tests), into DESTDIR/bin.
# The Makefile builds one set per kernel series (build/kvm-selftests/
# SERIES/); kvmft/kvm_selftests_test.sh runs, in the lab, the set of the
# kernel it booted, without and with kvmft: a VM kvmft is not attached to
# must not see any change.
#
# The set: quick under nested TCG and about what kvmft could disturb (TSC,
# PIO, MSR exits, register state, nested SVM, memory slots, stats). Left
# out because they cannot pass in the lab with or without kvmft:
# debug_regs and nested_exceptions_test (TCG's nested SVM reports other
# exception details), tsc_scaling_sync (no KVM_CAP_VM_TSC_CONTROL) and
# xss_msr_test (no XSAVES). Should one of the set fail or skip without kvmft
# elsewhere, the test says so instead of failing.
set -eu
tarball=$1
mkdir -p "$2"
dest=$(cd "$2" && pwd -P)
tests="x86_64/cpuid_test x86_64/kvm_clock_test x86_64/kvm_pv_test
x86_64/platform_info_test x86_64/set_sregs_test x86_64/state_test
x86_64/svm_int_ctl_test x86_64/svm_vmcall_test x86_64/sync_regs_test
x86_64/tsc_msrs_test x86_64/userspace_io_test x86_64/userspace_msr_exit_test
kvm_binary_stats_test set_memory_region_test"

[ -r "$tarball" ] || {
	echo "error: $tarball not found; run 'make deps' (linux-source-SERIES)" >&2
	exit 1
}
top=$(basename "$tarball" | sed 's/\.tar\..*//')
src=$dest/src
# What headers_install needs besides the selftests themselves.
if [ ! -f "$src/.extracted-hdr" ]; then
	echo "  EXTRACT $(basename "$tarball") (KVM selftests) -> $src"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1 \
		$top/Makefile $top/Kbuild $top/scripts $top/usr \
		$top/include/uapi $top/arch/x86/include/uapi \
		$top/arch/x86/include/asm $top/arch/x86/entry/syscalls \
		$top/arch/x86/Makefile $top/arch/x86/Kbuild $top/arch/x86/Kconfig \
		$top/arch/x86/tools $top/arch/x86/lib/x86-opcode-map.txt \
		$top/tools/include \
		$top/tools/arch/x86 $top/tools/build $top/tools/lib $top/tools/scripts \
		$top/tools/testing/selftests/lib.mk \
		$top/tools/testing/selftests/kselftest.h \
		$top/tools/testing/selftests/kselftest_harness.h \
		$top/tools/testing/selftests/kvm $top/tools/testing/selftests/rseq
	touch "$src/.extracted-hdr"
fi
if [ ! -f "$dest/hdr/.installed" ]; then
	echo "  HEADERS $top -> $dest/hdr"
	rm -rf "$dest/hdr"
	env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -s -C "$src" ARCH=x86 \
		INSTALL_HDR_PATH="$dest/hdr" headers_install >"$dest/hdr.log" 2>&1 || {
		tail -n 30 "$dest/hdr.log" >&2
		echo "error: make headers_install in $src failed" >&2
		exit 1
	}
	touch "$dest/hdr/.installed"
fi
kvm=$src/tools/testing/selftests/kvm
targets=
for t in $tests; do
	targets="$targets $kvm/$t"
done
echo "  BUILD   $(echo "$tests" | wc -w) KVM selftests -> $dest/bin"
# Their lib.mk works out where to build only when it is the top make.
# shellcheck disable=SC2086
env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -s -j"$(nproc)" -C "$kvm" \
	LINUX_HDR_PATH="$dest/hdr/include/" $targets >"$dest/build.log" 2>&1 || {
	tail -n 30 "$dest/build.log" >&2
	echo "error: building the KVM selftests failed (full log: $dest/build.log)" >&2
	exit 1
}
rm -rf "$dest/bin"
mkdir -p "$dest/bin"
for t in $tests; do
	cp "$kvm/$t" "$dest/bin/"
done
