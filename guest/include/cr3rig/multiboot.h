/*
 * Multiboot version 1, the parts cr3rig speaks: the header an image carries, and
 * the boot information the loader hands over in EBX. Written from the Multiboot
 * Specification 0.6.96; the VMM (C++) writes these structures and the multiboot
 * guest library (C and its 32-bit entry in asm) reads them, so all include this
 * one header; the constants come first, usable from assembly.
 */
#ifndef CR3RIG_MULTIBOOT_H
#define CR3RIG_MULTIBOOT_H

/* Unsigned in C, plain in assembly (which has no suffixes). */
#ifdef __ASSEMBLER__
#define CR3RIG_MB_U(x) x
#else
#define CR3RIG_MB_U(x) x##u
#endif

/* The image's header: 4-byte aligned, within the first 8 KiB of the file. */
#define CR3RIG_MB_HEADER_MAGIC  CR3RIG_MB_U(0x1BADB002)
#define CR3RIG_MB_HEADER_SEARCH CR3RIG_MB_U(8192)

/* Header flags. Bits 0-15 are requirements: a loader that lacks one must refuse the image. */
#define CR3RIG_MB_PAGE_ALIGN    (CR3RIG_MB_U(1) << 0)  /* modules on 4 KiB boundaries */
#define CR3RIG_MB_MEMORY_INFO   (CR3RIG_MB_U(1) << 1)  /* mem_lower/mem_upper (and a map if there is one) */
#define CR3RIG_MB_VIDEO_MODE    (CR3RIG_MB_U(1) << 2)  /* a video mode: cr3rig has no display */
#define CR3RIG_MB_REQUIRED_MASK CR3RIG_MB_U(0x0000ffff)
#define CR3RIG_MB_AOUT_KLUDGE   (CR3RIG_MB_U(1) << 16) /* load addresses in the header, not from ELF */

/* What the loader leaves in EAX for the image. */
#define CR3RIG_MB_BOOT_MAGIC CR3RIG_MB_U(0x2BADB002)

/* Boot information flags: which fields of struct cr3rig_mb_info are valid. */
#define CR3RIG_MBI_MEMORY      (CR3RIG_MB_U(1) << 0) /* mem_lower, mem_upper */
#define CR3RIG_MBI_CMDLINE     (CR3RIG_MB_U(1) << 2)
#define CR3RIG_MBI_MODULES     (CR3RIG_MB_U(1) << 3)
#define CR3RIG_MBI_MEMORY_MAP  (CR3RIG_MB_U(1) << 6)
#define CR3RIG_MBI_LOADER_NAME (CR3RIG_MB_U(1) << 9)

#define CR3RIG_MB_MEMORY_AVAILABLE CR3RIG_MB_U(1)
#define CR3RIG_MB_MEMORY_RESERVED  CR3RIG_MB_U(2)

#ifndef __ASSEMBLER__

#include "abi.h"

struct cr3rig_mb_header {
    uint32_t magic;
    uint32_t flags;
    uint32_t checksum;      /* magic + flags + checksum == 0 (mod 2^32) */
    /* valid with CR3RIG_MB_AOUT_KLUDGE; physical addresses */
    uint32_t header_addr;   /* where the magic lands: fixes the file-to-memory offset */
    uint32_t load_addr;     /* start of text; <= header_addr */
    uint32_t load_end_addr; /* end of data; 0 = to the end of the file */
    uint32_t bss_end_addr;  /* end of bss, zeroed; 0 = no bss */
    uint32_t entry_addr;
};

struct cr3rig_mb_info {
    uint32_t flags;
    uint32_t mem_lower;    /* KiB of RAM from 0, at most 640 */
    uint32_t mem_upper;    /* KiB of RAM from 1 MiB to the first hole */
    uint32_t boot_device;
    uint32_t cmdline;      /* physical address of a NUL-terminated string */
    uint32_t mods_count;
    uint32_t mods_addr;    /* array of struct cr3rig_mb_module */
    uint32_t syms[4];
    uint32_t mmap_length;  /* bytes of memory map */
    uint32_t mmap_addr;    /* first struct cr3rig_mb_mmap_entry */
    uint32_t drives_length;
    uint32_t drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe[4];
    uint8_t framebuffer[28];
};

struct cr3rig_mb_module {
    uint32_t mod_start; /* [mod_start, mod_end) physical */
    uint32_t mod_end;
    uint32_t string;    /* physical address of the module's NUL-terminated name */
    uint32_t reserved;
};

/* A memory map entry; `size` does not count itself, so the next entry is at
 * (char *)entry + entry->size + 4. Packed: base_addr sits at offset 4. */
struct __attribute__((packed)) cr3rig_mb_mmap_entry {
    uint32_t size;
    uint64_t base_addr;
    uint64_t length;
    uint32_t type;
};

CR3RIG_STATIC_ASSERT(sizeof(struct cr3rig_mb_header) == 32, "multiboot header layout");
CR3RIG_STATIC_ASSERT(sizeof(struct cr3rig_mb_info) == 116, "multiboot information layout");
CR3RIG_STATIC_ASSERT(__builtin_offsetof(struct cr3rig_mb_info, mmap_addr) == 48 &&
                     __builtin_offsetof(struct cr3rig_mb_info, boot_loader_name) == 64, "multiboot information offsets");
CR3RIG_STATIC_ASSERT(sizeof(struct cr3rig_mb_module) == 16, "multiboot module layout");
CR3RIG_STATIC_ASSERT(sizeof(struct cr3rig_mb_mmap_entry) == 24, "multiboot memory map entry layout");

#endif /* __ASSEMBLER__ */

#endif /* CR3RIG_MULTIBOOT_H */
