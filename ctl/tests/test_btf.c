// SPDX-License-Identifier: GPL-2.0
/*
 * Member offsets from the kernel's BTF (btf.c), as `ftctl attach` reads
 * vcpu_svm.vmcb. Checked on vmlinux types whose layout has not moved in
 * years; kvm_amd only where it is loaded.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "btf.h"
#include "tap.h"

int main(void)
{
	char msg[160] = "";
	uint32_t off = 0;
	int ret;

	tap_plan(5);
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		for (int i = 0; i < 4; i++)
			tap_skip("no /sys/kernel/btf/vmlinux", "vmlinux BTF lookups");
	} else {
		ret = ftbtf_member_offset(NULL, "list_head", "prev", &off, msg, sizeof(msg));
		ok(ret == 0 && off == 8, "list_head.prev at 8 (%d %u %s)", ret, off, msg);
		/* next, prev and dev sit in anonymous structs and unions. */
		ret = ftbtf_member_offset(NULL, "sk_buff", "dev", &off, msg, sizeof(msg));
		ok(ret == 0 && off == 16, "sk_buff.dev at 16, inside anonymous members (%d %u %s)",
		   ret, off, msg);
		ret = ftbtf_member_offset(NULL, "list_head", "nope", &off, msg, sizeof(msg));
		ok(ret == -ENOENT && strstr(msg, "no member nope"), "a missing member: %s", msg);
		ret = ftbtf_member_offset(NULL, "ftbtf_no_such_struct", "x", &off, msg, sizeof(msg));
		ok(ret == -ENOENT && strstr(msg, "no struct"), "a missing struct: %s", msg);
	}
	if (access(FTBTF_KVM_AMD, R_OK)) {
		tap_skip("kvm_amd is not loaded", "vcpu_svm.vmcb from the kvm_amd BTF");
	} else {
		ret = ftbtf_member_offset(FTBTF_KVM_AMD, "vcpu_svm", "vmcb", &off, msg, sizeof(msg));
		ok(ret == 0 && off > 0, "vcpu_svm.vmcb from the kvm_amd BTF at %u (%s)", off, msg);
	}
	return tap_done();
}
