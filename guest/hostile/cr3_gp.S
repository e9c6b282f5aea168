/*
 * The CR3 accesses of the hostile-cr3-gp guest and its #GP handler, in assembly so
 * that each access is one instruction at a known address.
 */
    .text

/* void cr3_load(uint64_t value): one `mov %rdi, %cr3` at cr3_load_insn. */
    .global cr3_load, cr3_load_insn
    .type cr3_load, @function
cr3_load:
cr3_load_insn:
    mov     %rdi, %cr3
cr3_load_resume:
    ret
    .size cr3_load, . - cr3_load

/* uint64_t cr3_value(void) */
    .global cr3_value
    .type cr3_value, @function
cr3_value:
    mov     %cr3, %rax
    ret
    .size cr3_value, . - cr3_value

/*
 * #GP: records the error code, the RIP and the RFLAGS image the CPU pushed (error
 * code, RIP, CS, RFLAGS, RSP, SS), counts it, and resumes past the mov of cr3_load.
 */
    .global gp_record
    .type gp_record, @function
gp_record:
    push    %rax
    mov     8(%rsp), %rax
    mov     %rax, gp_error(%rip)
    mov     16(%rsp), %rax
    mov     %rax, gp_rip(%rip)
    mov     32(%rsp), %rax
    mov     %rax, gp_rflags(%rip)
    lock incq gp_count(%rip)
    lea     cr3_load_resume(%rip), %rax
    mov     %rax, 16(%rsp)
    pop     %rax
    add     $8, %rsp                /* the error code */
    iretq
    .size gp_record, . - gp_record

    .data
    .balign 8
    .global gp_count, gp_error, gp_rip, gp_rflags
gp_count:  .quad 0
gp_error:  .quad 0
gp_rip:    .quad 0
gp_rflags: .quad 0

    .section .note.GNU-stack, "", @progbits
