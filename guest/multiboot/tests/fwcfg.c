/*
 * mb-fwcfg: what fw_cfg reports agrees with the machine: the "QEMU" signature, one
 * CPU, and a RAM size that agrees with the multiboot memory info and memory map.
 */
#include "mb.h"

/* "Agrees": RAM as the loader describes it ends at the fw_cfg RAM size, or a little
 * short of it: firmware may keep the top for itself (SeaBIOS keeps 128 KiB under
 * QEMU, which mem_upper and the map then leave out). cr3rig reports it exactly. */
static int agrees_with_ram_size(uint64_t end, uint64_t ram) { return end <= ram && ram - end < (1u << 20); }

/* The end of the highest available range in the multiboot memory map, 0 without one. */
static uint64_t memory_map_end(const struct cr3rig_mb_info *info)
{
    uint64_t end = 0;
    if (!(info->flags & CR3RIG_MBI_MEMORY_MAP))
        return 0;
    uintptr_t p = info->mmap_addr, stop = (uintptr_t)info->mmap_addr + info->mmap_length;
    while (p < stop) {
        const struct cr3rig_mb_mmap_entry *e = (const struct cr3rig_mb_mmap_entry *)p;
        /* Only below 4 GiB: memory above the PCI hole is not in mem_upper either. */
        if (e->type == CR3RIG_MB_MEMORY_AVAILABLE && e->base_addr + e->length <= (1ull << 32) &&
            e->base_addr + e->length > end)
            end = e->base_addr + e->length;
        p += e->size + sizeof e->size;
    }
    return end;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const struct cr3rig_mb_info *info = mb_info();
    uint64_t signature = fw_cfg_read(CR3RIG_FW_CFG_SIGNATURE, 4);
    uint64_t cpus = fw_cfg_read(CR3RIG_FW_CFG_NB_CPUS, 2);
    uint64_t ram = fw_cfg_read(CR3RIG_FW_CFG_RAM_SIZE, 8);
    uint64_t upper_end = ((uint64_t)info->mem_upper + 1024) * 1024;

    console_puts("fw_cfg: ");
    console_put_u64(cpus);
    console_puts(" CPU, RAM ");
    console_put_u64(ram);
    console_puts(" bytes; multiboot mem_upper ");
    console_put_u64(info->mem_upper);
    console_puts(" KiB, memory map to ");
    console_put_u64(memory_map_end(info));
    console_putc('\n');

    report("fw_cfg signature is QEMU", signature == ('Q' | 'E' << 8 | 'M' << 16 | (uint64_t)'U' << 24));
    report("fw_cfg ID has the port interface", fw_cfg_read(CR3RIG_FW_CFG_ID, 4) & 1);
    report("fw_cfg reports 1 CPU", cpus == 1);
    report("fw_cfg RAM size agrees with mem_upper",
           (info->flags & CR3RIG_MBI_MEMORY) && agrees_with_ram_size(upper_end, ram));
    report("fw_cfg RAM size agrees with the memory map", agrees_with_ram_size(memory_map_end(info), ram));
    report("an unknown fw_cfg key reads as zeros", fw_cfg_read(0x3fff, 8) == 0);
    return report_summary();
}
