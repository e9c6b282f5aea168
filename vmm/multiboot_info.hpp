// The boot information a multiboot image finds at EBX: memory sizes and a memory map
// of the guest RAM, the command line, the modules (each with its name) and the boot
// loader's name. Layout in cr3rig/multiboot.h.
#pragma once

#include <cstdint>

#include "vmm/boot_image.hpp"

namespace cr3rig {

class GuestMemory;

// Where the PC convention puts the hole between low and upper memory; the map reports
// it reserved (it is RAM in cr3rig's slot, but no guest should rely on that).
inline constexpr uint64_t kLowMemoryEnd = 0xa0000;
inline constexpr uint64_t kUpperMemoryStart = 0x100000;

// Writes the structure, its memory map, module list and strings, then the modules,
// upwards from `base` (the end of the loaded image); modules start on 4 KiB
// boundaries when `page_align_modules` (header flags bit 0), else on 8 bytes.
// Returns the structure's guest-physical address. Throws BadInput if it does not
// all fit below the end of guest memory (and below 4 GiB: the fields are 32-bit).
uint32_t write_multiboot_info(GuestMemory& memory, uint64_t base, const BootArgs& args, bool page_align_modules);

}  // namespace cr3rig
