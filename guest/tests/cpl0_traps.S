/*
 * The exception and interrupt stubs of the cpl0-instructions guests, 64-bit (ELF64 and
 * the long-mode multiboot build) or 32-bit (the protected-mode multiboot build). Each
 * stub records the vector, the error code (0 where the CPU pushes none) and the pushed
 * instruction pointer in trap_vector/trap_error/trap_ip, counts in trap_count, and
 * returns: to trap_resume if the test armed it (a fault: the pushed IP is the faulting
 * instruction, which must not run again), else to the pushed IP (a trap or an
 * interrupt: it is already past the instruction). The saved flags come back. A fault
 * with no trap_resume armed is unexpected: trap_unexpected() fails the run (returning
 * would run the faulting instruction again, forever).
 */
#include "cpl0_traps.h"

    .text

/* Vectors for which the CPU pushes an error code. */
.macro STUB n
trap_stub_\n:
    .if !(\n == 8 || \n == 10 || \n == 11 || \n == 12 || \n == 13 || \n == 14 || \n == 17 || \n == 21 || \n == 29 || \n == 30)
    push    $0
    .endif
    push    $\n
    jmp     trap_common
.endm

    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    STUB    \n
    .endr
trap_stub_int_n:
    push    $0
    push    $INT_N_VECTOR
    jmp     trap_common

#ifdef __x86_64__
/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. */
trap_common:
    push    %rax
    mov     8(%rsp), %rax
    mov     %rax, trap_vector(%rip)
    mov     16(%rsp), %rax
    mov     %rax, trap_error(%rip)
    mov     24(%rsp), %rax
    mov     %rax, trap_ip(%rip)
    incq    trap_count(%rip)
    mov     trap_resume(%rip), %rax
    test    %rax, %rax
    jz      1f
    mov     %rax, 24(%rsp)
    movq    $0, trap_resume(%rip)
    jmp     2f
1:  mov     trap_vector(%rip), %rax
    cmp     $3, %rax                /* the traps a test raises without arming trap_resume */
    je      2f
    cmp     $4, %rax
    je      2f
    cmp     $INT_N_VECTOR, %rax
    je      2f
    and     $-16, %rsp              /* a fault nobody expected: returning would repeat it */
    call    trap_unexpected
2:  pop     %rax
    add     $16, %rsp
    iretq
#define PTR .quad
#else
/* Stack: vector, error code, EIP, CS, EFLAGS (no privilege change: no ESP, SS). */
trap_common:
    push    %eax
    mov     4(%esp), %eax
    mov     %eax, trap_vector
    mov     8(%esp), %eax
    mov     %eax, trap_error
    mov     12(%esp), %eax
    mov     %eax, trap_ip
    incl    trap_count
    mov     trap_resume, %eax
    test    %eax, %eax
    jz      1f
    mov     %eax, 12(%esp)
    movl    $0, trap_resume
    jmp     2f
1:  mov     trap_vector, %eax
    cmp     $3, %eax                /* the traps a test raises without arming trap_resume */
    je      2f
    cmp     $4, %eax
    je      2f
    cmp     $INT_N_VECTOR, %eax
    je      2f
    call    trap_unexpected         /* a fault nobody expected: returning would repeat it */
    /* Return as iret would, without iret: the nested backend of our CI cannot emulate
     * iret in protected mode at CPL0 (nor does cr3rig complete it). With no privilege
     * change iret pops EIP, CS and EFLAGS: EFLAGS first through popf, then a far return
     * that pops EIP and CS and drops the EFLAGS slot. */
2:  pop     %eax
    add     $8, %esp
    pushl   8(%esp)
    popf
    lret    $4
#define PTR .long
#endif

    /* trap_stubs[v] for v < 32, then the INT_N_VECTOR stub. */
    .section .rodata
    .balign 8
    .global trap_stubs
trap_stubs:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    PTR     trap_stub_\n
    .endr
    PTR     trap_stub_int_n

    .section .note.GNU-stack, "", @progbits
