/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test VMM and the guest code it runs agree on: the guest physical
 * memory layout, the ucall port and the ucall record. Included by host code
 * and by freestanding guest code, so it needs nothing but <stdint.h>.
 *
 * Guest physical memory (identity mapped, 2 MiB pages, first 1 GiB):
 *
 *   0x001000  GDT: null, 64-bit code (0x08), data (0x10), TSS (0x18)
 *   0x002000  PML4
 *   0x003000  PDPT
 *   0x004000  PD
 *   0x005000  TSS
 *   0x100000  guest image: code, data, bss, stack (see guest/guest.lds)
 *   ...       up to the VM's memory size (GUEST_MEM_DEFAULT)
 */
#ifndef KVMFT_GUEST_ABI_H
#define KVMFT_GUEST_ABI_H

#include <stdint.h>

#define GUEST_GDT_GPA		0x1000ULL
#define GUEST_PML4_GPA		0x2000ULL
#define GUEST_PDPT_GPA		0x3000ULL
#define GUEST_PD_GPA		0x4000ULL
#define GUEST_TSS_GPA		0x5000ULL
/* Must match the link address in guest/guest.lds. */
#define GUEST_LOAD_GPA		0x100000ULL
#define GUEST_MEM_DEFAULT	(4ULL << 20)

#define GUEST_SEL_CODE		0x08
#define GUEST_SEL_DATA		0x10
#define GUEST_SEL_TSS		0x18

/*
 * A ucall is an OUT of a dword to UCALL_PORT; the dword is the guest
 * physical address of a struct ucall on the guest's stack. The VMM reads
 * the record while the vCPU is stopped in the exit, so it never goes stale.
 */
#define UCALL_PORT		0x7f00
#define UCALL_MAX_ARGS		6
#define UCALL_MSG_LEN		128

enum ucall_cmd {
	UCALL_NONE,		/* the exit was not a ucall */
	UCALL_SYNC,		/* guest reports values and waits to be run */
	UCALL_DONE,		/* guest finished; args are its results */
	UCALL_ABORT,		/* GUEST_ASSERT failed: msg, line, args */
	UCALL_EXCEPTION,	/* CPU exception: vector, error code, rip, cr2 */
};

struct ucall {
	uint64_t cmd;
	uint64_t nargs;
	uint64_t args[UCALL_MAX_ARGS];
	uint64_t line;
	char msg[UCALL_MSG_LEN];
};

#endif /* KVMFT_GUEST_ABI_H */
