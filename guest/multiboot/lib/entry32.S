/*
 * Entry of cr3rig's multiboot test binaries. A multiboot loader (cr3rig, QEMU -kernel,
 * GRUB) enters _start in 32-bit protected mode, paging off, EAX = 0x2BADB002 and
 * EBX = the boot information. We build long mode ourselves: our own GDT, identity
 * page tables of the first 4 GiB in 2 MiB pages (static data: filling them in a loop
 * would cost milliseconds where CPL0 code is emulated), PAE, EFER.LME, paging, and a
 * far jump into 64-bit code, which calls mb_start(magic, info) in C.
 * The binary is linked as ELF64 and converted with objcopy -O elf32-i386, so the
 * loader sees an ELF32 image (as kvm-unit-tests builds its x86_64 tests).
 */
#include "cr3rig/multiboot.h"

#define MB_FLAGS      (CR3RIG_MB_PAGE_ALIGN | CR3RIG_MB_MEMORY_INFO)
#define CR0_PE        (1 << 0)
#define CR0_PG        (1 << 31)
#define CR4_PAE       (1 << 5)
#define MSR_EFER      0xc0000080
#define EFER_LME      (1 << 8)
#define PTE_PRESENT   (1 << 0)
#define PTE_WRITE     (1 << 1)
#define PTE_HUGE      (1 << 7)
#define SEL_CODE64    0x08
#define SEL_DATA      0x10

    /* .text.start comes first in the image (guest.ld): the header is in the first 8 KiB. */
    .section .text.start, "ax"
    .balign 4
multiboot_header:
    .long CR3RIG_MB_HEADER_MAGIC
    .long MB_FLAGS
    .long -(CR3RIG_MB_HEADER_MAGIC + MB_FLAGS)

    .code32
    .global _start
    .type _start, @function
_start:
    mov     %eax, %edi              /* the boot magic and information, for mb_start() */
    mov     %ebx, %esi
    lgdt    gdt_descriptor
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $pml4, %eax
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_PE), %eax
    mov     %eax, %cr0
    ljmp    $SEL_CODE64, $start64
    .size _start, . - _start

    .code64
start64:
    mov     $SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %eax, %fs
    mov     %eax, %gs
    lea     stack_top(%rip), %rsp
    xor     %ebp, %ebp
    call    mb_start                /* edi = magic, esi = info: does not return */
1:  cli
    hlt
    jmp     1b

    .section .rodata
    .balign 8
gdt:
    .quad   0
    .quad   0x00af9a000000ffff      /* SEL_CODE64: 64-bit code, DPL 0 */
    .quad   0x00cf92000000ffff      /* SEL_DATA: flat data */
gdt_end:
gdt_descriptor:
    .word   gdt_end - gdt - 1
    .long   gdt

    .section .data
    .balign 4096
pml4:
    .quad   pdpt + PTE_PRESENT + PTE_WRITE
    .fill   511, 8, 0
pdpt:
    .quad   page_dirs + 0x0000 + PTE_PRESENT + PTE_WRITE
    .quad   page_dirs + 0x1000 + PTE_PRESENT + PTE_WRITE
    .quad   page_dirs + 0x2000 + PTE_PRESENT + PTE_WRITE
    .quad   page_dirs + 0x3000 + PTE_PRESENT + PTE_WRITE
    .fill   508, 8, 0
page_dirs:                          /* 4 x 512 entries of 2 MiB: 0 .. 4 GiB */
    .set    page, 0
    .rept   4 * 512
    .quad   (page << 21) + PTE_HUGE + PTE_WRITE + PTE_PRESENT
    .set    page, page + 1
    .endr

    .section .bss
    .balign 16
stack:
    .skip   16384
stack_top:
