/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest startup. The VMM enters here (GUEST_LOAD_GPA) in 64-bit mode with
 * paging on, interrupts off and the arguments in rdi, rsi, rdx.
 */
	.section .text.start, "ax"
	.code64
	.globl	_start
_start:
	lea	__stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	guest_entry
1:	hlt
	jmp	1b

/*
 * One 16-byte stub per exception vector: push a dummy error code where the
 * CPU pushes none, push the vector, report it.
 */
	.macro	exc_stub vec
	.balign	16
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || \
	    (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	exc_common
	.endm

	.text
	.balign	16
	.globl	guest_exc_stubs
guest_exc_stubs:
	.altmacro
	.set	vec, 0
	.rept	32
	exc_stub %vec
	.set	vec, vec + 1
	.endr
	.noaltmacro

exc_common:
	mov	(%rsp), %rdi		/* vector */
	mov	8(%rsp), %rsi		/* error code */
	mov	16(%rsp), %rdx		/* rip */
	and	$-16, %rsp
	call	guest_exception
2:	hlt
	jmp	2b

	.section .note.GNU-stack, "", @progbits
