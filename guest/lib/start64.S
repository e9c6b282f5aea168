/*
 * Entry point of ELF64 guests. The VMM enters here in 64-bit long mode with
 * the identity page tables and flat GDT of cr3rig/abi.h. Interrupts are off.
 * .bss needs no clearing: the VMM zero-fills every PT_LOAD segment's memsz.
 */
    .section .text.start, "ax"
    .global _start
    .type _start, @function
_start:
    lea     guest_stack_top(%rip), %rsp
    xor     %ebp, %ebp
    call    main
    mov     %eax, %edi
    call    guest_exit
1:  jmp     1b
    .size _start, . - _start

    .section .bss
    .balign 16
guest_stack:
    .skip   16384
guest_stack_top:
