// Puts a fresh vCPU straight into 64-bit long mode, the way ELF64 guests expect
// to start: flat GDT, identity-mapped first 4 GiB, paging on, interrupts off.
#pragma once

#include <cstdint>

namespace cr3rig {

class GuestMemory;
class Vcpu;

// Writes the boot GDT and page tables (addresses in cr3rig/abi.h) into memory and
// loads the vCPU's special and general registers so that it starts at `entry`.
void enter_long_mode(GuestMemory& memory, Vcpu& vcpu, uint64_t entry);

}  // namespace cr3rig
