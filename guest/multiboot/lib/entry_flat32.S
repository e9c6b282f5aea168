/*
 * Entry of cr3rig's 32-bit multiboot test binaries (built with -m32): unlike entry32.S
 * they stay where the loader enters them, in 32-bit protected mode with paging off, so
 * their checks run in that mode (what `into`, 32-bit operand sizes and a 32-bit IDT
 * mean there). We load our own GDT (the multiboot specification leaves the loader's
 * undefined), a stack, and call mb_start(magic, info) in C, cdecl.
 */
#include "cr3rig/multiboot.h"

#define MB_FLAGS   (CR3RIG_MB_PAGE_ALIGN | CR3RIG_MB_MEMORY_INFO)
#define SEL_CODE32 0x08
#define SEL_DATA   0x10

    /* .text.start comes first in the image (lib/guest.ld): the header is in the first 8 KiB. */
    .section .text.start, "ax"
    .balign 4
multiboot_header:
    .long CR3RIG_MB_HEADER_MAGIC
    .long MB_FLAGS
    .long -(CR3RIG_MB_HEADER_MAGIC + MB_FLAGS)

    .global _start
    .type _start, @function
_start:
    lgdt    gdt_descriptor
    ljmp    $SEL_CODE32, $1f
1:  mov     $SEL_DATA, %ecx
    mov     %ecx, %ds
    mov     %ecx, %es
    mov     %ecx, %ss
    mov     %ecx, %fs
    mov     %ecx, %gs
    mov     $stack_top, %esp
    xor     %ebp, %ebp
    push    %ebx                    /* info */
    push    %eax                    /* magic */
    call    mb_start                /* does not return */
2:  cli
    hlt
    jmp     2b
    .size _start, . - _start

    .section .rodata
    .balign 8
gdt:
    .quad   0
    .quad   0x00cf9a000000ffff      /* SEL_CODE32: 32-bit code, DPL 0, flat */
    .quad   0x00cf92000000ffff      /* SEL_DATA: flat data */
gdt_end:
gdt_descriptor:
    .word   gdt_end - gdt - 1
    .long   gdt

    .section .bss
    .balign 16
stack:
    .skip   16384
stack_top:

    .section .note.GNU-stack, "", @progbits
