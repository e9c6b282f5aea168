/*
 * Low-level entry: interrupt and exception stubs, the common path that builds a
 * struct pt_regs, the return to the interrupted context, switch_to, and the first
 * return to user space of a new task.
 */
    .text

/* Vectors without a CPU-pushed error code push a zero so every frame looks alike. */
.macro STUB_NOERR vec
    .global vector_\vec
vector_\vec:
    pushq   $0
    pushq   $\vec
    jmp     interrupt_common
.endm
.macro STUB_ERR vec
    .global vector_\vec
vector_\vec:
    pushq   $\vec
    jmp     interrupt_common
.endm

STUB_NOERR 0
STUB_NOERR 1
STUB_NOERR 2
STUB_NOERR 3
STUB_NOERR 4
STUB_NOERR 5
STUB_NOERR 6
STUB_NOERR 7
STUB_ERR   8
STUB_NOERR 9
STUB_ERR   10
STUB_ERR   11
STUB_ERR   12
STUB_ERR   13
STUB_ERR   14
STUB_NOERR 15
STUB_NOERR 16
STUB_ERR   17
STUB_NOERR 18
STUB_NOERR 19
STUB_NOERR 48      /* TIMER_VECTOR */
STUB_NOERR 255     /* SPURIOUS_VECTOR */

interrupt_common:
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, %rdi
    call    interrupt_dispatch
    .global interrupt_return
interrupt_return:
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rbp
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rbx
    pop     %rax
    add     $16, %rsp          /* vector, error code */
    iretq

/*
 * struct task_struct *switch_to(struct task_struct *prev, struct task_struct *next)
 * Saves the callee-saved registers on prev's kernel stack and its rsp in
 * prev->rsp (offset 0), resumes next. Returns the task that was running before
 * next resumed, as Linux's switch_to's "last".
 */
    .global switch_to
switch_to:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, (%rdi)
    mov     (%rsi), %rsp
    mov     %rdi, %rax
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret

/* A new task's first switch_to returns here; its pt_regs lead to user space. */
    .global ret_from_fork
ret_from_fork:
    mov     %rax, %rdi
    call    schedule_tail
    jmp     interrupt_return

    .section .note.GNU-stack, "", @progbits
