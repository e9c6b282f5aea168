/*
 * The user programs, position-independent machine code that the kernel copies
 * into each process's text page at USER_CODE. Arguments live at USER_ARGS, the
 * same virtual address in every process (in different physical frames).
 * System calls: `ud2`, rax = number, rdi = argument (see kernel.h).
 */
#define USER_ARGS 0x8000010000
#define USER_UNMAPPED 0x8000100000
#define SYS_EXIT 0
#define SYS_YIELD 1
#define SYS_WAIT 3

    .section .rodata.user_programs, "a"

/*
 * spinner: spin args[0] iterations in user mode, yield the CPU once, then
 * exit(args[1]). (The yield makes the exit start right after a scheduling point,
 * early in a tick, rather than anywhere in one.)
 */
    .global prog_spinner, prog_spinner_end
prog_spinner:
    movabs  $USER_ARGS, %rbx
    mov     (%rbx), %rcx
1:  dec     %rcx
    jnz     1b
    mov     $SYS_YIELD, %eax
    ud2
    mov     $SYS_EXIT, %eax
    mov     8(%rbx), %rdi
    ud2
2:  jmp     2b
prog_spinner_end:

/*
 * rt_periodic: an RT supervisor. Each period it writes the period number to its
 * three data pages and reads it back (an error if it differs), then waits up to
 * one tick for a child to exit. It stops after args[0] periods once args[1]
 * children are reaped, or after args[2] periods; exit code = errors, +1000 if a
 * child was never reaped.
 */
    .global prog_rt_periodic, prog_rt_periodic_end
prog_rt_periodic:
    movabs  $USER_ARGS, %rbx
    lea     0x1000(%rbx), %rbp
    xor     %r12d, %r12d            /* period */
    xor     %r13d, %r13d            /* children reaped */
    xor     %r14d, %r14d            /* errors */
.Lperiod:
    mov     %r12, (%rbp)
    mov     %r12, 0x1000(%rbp)
    mov     %r12, 0x2000(%rbp)
    cmp     (%rbp), %r12
    je      1f
    inc     %r14
1:  cmp     0x1000(%rbp), %r12
    je      2f
    inc     %r14
2:  cmp     0x2000(%rbp), %r12
    je      3f
    inc     %r14
3:  mov     $SYS_WAIT, %eax
    mov     $1, %edi
    ud2
    test    %rax, %rax
    jz      4f
    inc     %r13
4:  inc     %r12
    cmp     16(%rbx), %r12
    jae     .Ldone
    cmp     (%rbx), %r12
    jb      .Lperiod
    cmp     8(%rbx), %r13
    jb      .Lperiod
.Ldone:
    cmp     8(%rbx), %r13
    jae     5f
    add     $1000, %r14
5:  mov     $SYS_EXIT, %eax
    mov     %r14, %rdi
    ud2
6:  jmp     6b
prog_rt_periodic_end:

/* segv: read an address that was never mapped; the kernel must kill it. */
    .global prog_segv, prog_segv_end
prog_segv:
    movabs  $USER_UNMAPPED, %rax
    mov     (%rax), %rax
    mov     $SYS_EXIT, %eax
    xor     %edi, %edi
    ud2
1:  jmp     1b
prog_segv_end:

#ifdef LAZYTLB_INLINE
#define SYS_MMAP 4
#define SYS_MUNMAP 5
#define SYS_MPROTECT 6
#define SYS_MREMAP 7
#define SYS_MADVISE 8
#define MMAP_P 0x8000040000 /* USER_MMAP_BASE */
#define MMAP_Q 0x8000050000

/*
 * mm_churn: args[2] rounds of the mapping system calls (LAZYTLB_INLINE) on a
 * two-page mapping: mmap one page at P, then two over it (MAP_FIXED replaces the
 * first: it must read zero), write both pages, mprotect it read-only,
 * read back, mprotect it read-write, write, mremap P -> Q, read back at Q,
 * madvise(MADV_DONTNEED) Q's first page, munmap Q. Then spin args[0] iterations,
 * yield, and exit(args[1] + errors); the first error ends the rounds.
 */
    .global prog_mm_churn, prog_mm_churn_end
prog_mm_churn:
    movabs  $USER_ARGS, %rbx
    movabs  $MMAP_P, %rbp
    movabs  $MMAP_Q, %r15
    xor     %r12d, %r12d            /* round */
    xor     %r14d, %r14d            /* errors */
.Lchurn_round:
    cmp     16(%rbx), %r12
    jae     .Lchurn_spin
    mov     $SYS_MMAP, %eax
    mov     %rbp, %rdi
    mov     $0x1000, %esi
    mov     $3, %edx                /* PROT_READ | PROT_WRITE */
    ud2
    cmp     %rbp, %rax
    jne     .Lchurn_error
    movq    $-1, (%rbp)
    mov     $SYS_MMAP, %eax         /* MAP_FIXED over it: a fresh zeroed page replaces it */
    mov     %rbp, %rdi
    mov     $0x2000, %esi
    mov     $3, %edx
    ud2
    cmp     %rbp, %rax
    jne     .Lchurn_error
    cmpq    $0, (%rbp)
    jne     .Lchurn_error
    mov     %r12, (%rbp)
    mov     %r12, 0x1000(%rbp)
    mov     $SYS_MPROTECT, %eax
    mov     %rbp, %rdi
    mov     $0x2000, %esi
    mov     $1, %edx                /* PROT_READ */
    ud2
    test    %rax, %rax
    jnz     .Lchurn_error
    cmp     (%rbp), %r12
    jne     .Lchurn_error
    mov     $SYS_MPROTECT, %eax
    mov     %rbp, %rdi
    mov     $0x2000, %esi
    mov     $3, %edx
    ud2
    test    %rax, %rax
    jnz     .Lchurn_error
    mov     %r12, 8(%rbp)           /* writable again */
    mov     $SYS_MREMAP, %eax
    mov     %rbp, %rdi
    mov     $0x2000, %esi
    mov     %r15, %rdx
    ud2
    cmp     %r15, %rax
    jne     .Lchurn_error
    cmp     8(%r15), %r12
    jne     .Lchurn_error
    cmp     0x1000(%r15), %r12
    jne     .Lchurn_error
    mov     $SYS_MADVISE, %eax
    mov     %r15, %rdi
    mov     $0x1000, %esi
    mov     $4, %edx                /* MADV_DONTNEED */
    ud2
    test    %rax, %rax
    jnz     .Lchurn_error
    mov     $SYS_MUNMAP, %eax
    mov     %r15, %rdi
    mov     $0x2000, %esi
    ud2
    test    %rax, %rax
    jnz     .Lchurn_error
    inc     %r12
    jmp     .Lchurn_round
.Lchurn_error:
    inc     %r14
.Lchurn_spin:
    mov     (%rbx), %rcx
1:  dec     %rcx
    jnz     1b
    mov     $SYS_YIELD, %eax
    ud2
    mov     $SYS_EXIT, %eax
    mov     8(%rbx), %rdi
    add     %r14, %rdi
    ud2
2:  jmp     2b
prog_mm_churn_end:
#endif

    .section .note.GNU-stack, "", @progbits
