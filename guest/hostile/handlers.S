/*
 * Exception and interrupt handlers of the hostile guests. At a #PF the CPU has
 * pushed (no privilege change): error code, RIP, CS, RFLAGS, RSP, SS.
 */
    .text

    .global fault_once
    .type fault_once, @function
fault_once:
    movabs  0x4000000000, %al       /* UNMAPPED_ADDRESS: #PF */
    .global fault_resume
fault_resume:
    ret
    .size fault_once, . - fault_once

/* Count the fault in \counter and resume at fault_resume, past the faulting load. */
.macro PF_SKIP name, counter
    .global \name
    .type \name, @function
\name:
    push    %rax
    lock incq \counter(%rip)
    lea     fault_resume(%rip), %rax
    mov     %rax, 16(%rsp)          /* the saved RIP, above rax and the error code */
    pop     %rax
    add     $8, %rsp                /* the error code */
    iretq
    .size \name, . - \name
.endm

    PF_SKIP pf_skip_a, faults_a
    PF_SKIP pf_skip_b, faults_b

    .global pf_retry
    .type pf_retry, @function
pf_retry:
    add     $8, %rsp
    iretq
    .size pf_retry, . - pf_retry

    .global storm_isr
    .type storm_isr, @function
storm_isr:
    push    %rax
    push    %rcx
    push    %rdx
    lock incq storm_count(%rip)
    testl   $0x3ff, storm_count(%rip)
    jnz     1f
    mov     $0x3f8, %dx             /* a '.' on the UART every 1024 interrupts */
    mov     $'.', %al
    outb    %al, %dx
1:  mov     $0x80b, %ecx            /* x2APIC EOI */
    xor     %eax, %eax
    xor     %edx, %edx
    wrmsr
    mov     $0x83f, %ecx            /* x2APIC SELF_IPI: the next one, at once */
    mov     $0x40, %eax
    wrmsr
    pop     %rdx
    pop     %rcx
    pop     %rax
    iretq
    .size storm_isr, . - storm_isr

    .data
    .balign 8
    .global faults_a, faults_b, storm_count
faults_a:    .quad 0
faults_b:    .quad 0
storm_count: .quad 0

    .section .note.GNU-stack, "", @progbits
