// The CPU state a fresh vCPU starts a guest in. ELF64 guests: straight in 64-bit
// long mode, flat GDT, identity-mapped first 4 GiB, paging on, interrupts off.
// Multiboot images: 32-bit protected mode, paging off, flat 4 GiB segments, as the
// Multiboot Specification (v1) says; they build their own long mode.
#pragma once

#include <cstdint>

namespace cr3rig {

class GuestMemory;
class Vcpu;

// Writes the boot GDT and page tables (addresses in cr3rig/abi.h) into memory and
// loads the vCPU's special and general registers so that it starts at `entry`.
void enter_long_mode(GuestMemory& memory, Vcpu& vcpu, uint64_t entry);

// Writes the boot GDT (in the BIOS area, out of the way of images below 1 MiB) and
// starts the vCPU at `eip` in 32-bit protected mode, the stack below that GDT:
// CS = 32-bit flat code, DS/ES/FS/GS/SS = flat data, CR0.PE only, EFLAGS.IF = 0,
// EAX and EBX as given (the multiboot magic and boot information address).
void enter_protected_mode(GuestMemory& memory, Vcpu& vcpu, uint32_t eip, uint32_t eax, uint32_t ebx);

}  // namespace cr3rig
