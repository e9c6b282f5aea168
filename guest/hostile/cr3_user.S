/*
 * Ring 3 for the hostile-cr3-user guest: the way in (iretq), the user code that
 * touches CR3, and the #GP handler that brings the guest back to ring 0.
 */
    .text

/* void enter_user(void (*entry)(void), void *user_rsp): runs entry at CPL 3 until it faults. */
    .global enter_user
    .type enter_user, @function
enter_user:
    push    %rbx
    push    %rbp
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, kernel_rsp(%rip)
    pushq   $0x23                   /* SS: user data, RPL 3 */
    push    %rsi                    /* RSP */
    pushq   $0x2                    /* RFLAGS: interrupts off */
    pushq   $0x2b                   /* CS: user code, RPL 3 */
    push    %rdi                    /* RIP */
    iretq
back_in_ring0:
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbp
    pop     %rbx
    ret
    .size enter_user, . - enter_user

/* The user code: one CR3 access each, which at CPL 3 raises #GP(0). */
    .global user_read_cr3
    .type user_read_cr3, @function
user_read_cr3:
    mov     %cr3, %rax
    ud2
    .size user_read_cr3, . - user_read_cr3

    .global user_write_cr3, user_write_cr3_insn
    .type user_write_cr3, @function
user_write_cr3:
    xor     %eax, %eax
user_write_cr3_insn:
    mov     %rax, %cr3
    ud2
    .size user_write_cr3, . - user_write_cr3

/*
 * #GP from ring 3 (on the TSS's rsp0: error code, RIP, CS, RFLAGS, RSP, SS): record
 * them and return from enter_user in ring 0.
 */
    .global gp_from_user
    .type gp_from_user, @function
gp_from_user:
    mov     (%rsp), %rax
    mov     %rax, gp_error(%rip)
    mov     8(%rsp), %rax
    mov     %rax, gp_rip(%rip)
    mov     16(%rsp), %rax
    mov     %rax, gp_cs(%rip)
    lock incq gp_count(%rip)
    mov     kernel_rsp(%rip), %rsp
    jmp     back_in_ring0
    .size gp_from_user, . - gp_from_user

    .data
    .balign 8
    .global gp_count, gp_error, gp_rip, gp_cs
kernel_rsp: .quad 0
gp_count:   .quad 0
gp_error:   .quad 0
gp_rip:     .quad 0
gp_cs:      .quad 0

    .section .note.GNU-stack, "", @progbits
