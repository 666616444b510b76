/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Embeds a flat guest image into the test binary as
 * guest_<GUEST_NAME>_start[] .. guest_<GUEST_NAME>_end[] (see GUEST_IMAGE()
 * in lib/vmm.h). Assembled with -DGUEST_NAME=name -DGUEST_BIN="path".
 */
#define __CAT3(a, b, c)	a##b##c
#define CAT3(a, b, c)	__CAT3(a, b, c)

	.section .rodata.guest_image, "a"
	.balign	4096
	.globl	CAT3(guest_, GUEST_NAME, _start)
	.globl	CAT3(guest_, GUEST_NAME, _end)
CAT3(guest_, GUEST_NAME, _start):
	.incbin	GUEST_BIN
CAT3(guest_, GUEST_NAME, _end):

	.section .note.GNU-stack, "", @progbits
