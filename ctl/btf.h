/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM's internal layout, read from the kernel's BTF with libbpf (CO-RE
 * style), so one module binary serves many kernel builds.
 */
#ifndef FT_BTF_H
#define FT_BTF_H

#include <stddef.h>
#include <stdint.h>

#define FTBTF_KVM_AMD	"/sys/kernel/btf/kvm_amd"

/*
 * Byte offset of member in struct type, looking inside anonymous structs
 * and unions. module is a file under /sys/kernel/btf split on vmlinux, or
 * NULL for vmlinux itself. Returns 0, or -errno with msg filled.
 */
int ftbtf_member_offset(const char *module, const char *type,
			const char *member, uint32_t *off, char *msg,
			size_t len);

#endif
