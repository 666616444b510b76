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

/*
 * The interrupt vector GUEST_IRQ_VECTOR: save what a C call may clobber,
 * call guest_irq(interrupted RIP), return. After the CPU's five pushes and
 * these nine the stack is 16-byte aligned for the call.
 */
	.balign	16
	.globl	guest_irq_stub
guest_irq_stub:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	mov	72(%rsp), %rdi
	call	guest_irq
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq

exc_common:
	mov	(%rsp), %rdi		/* vector */
	mov	8(%rsp), %rsi		/* error code */
	mov	16(%rsp), %rdx		/* rip */
	and	$-16, %rsp
	call	guest_exception
2:	hlt
	jmp	2b

	.section .note.GNU-stack, "", @progbits
