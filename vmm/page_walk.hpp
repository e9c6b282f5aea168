// Guest-virtual to guest-physical translation through the guest's own page tables
// (4-level, with 1 GiB and 2 MiB pages), for reading guest kernel data and stacks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cr3rig {

class GuestMemory;

// nullopt when a level is not present or a table lies outside guest memory.
std::optional<uint64_t> translate(const GuestMemory& memory, uint64_t cr3, uint64_t gva);

// Reads through translate(); nullopt when any byte is unmapped.
std::optional<uint64_t> read_guest_u64(const GuestMemory& memory, uint64_t cr3, uint64_t gva);
std::optional<std::vector<uint8_t>> read_guest_bytes(const GuestMemory& memory, uint64_t cr3, uint64_t gva,
                                                     size_t len);
std::optional<std::string> read_guest_cstring(const GuestMemory& memory, uint64_t cr3, uint64_t gva, size_t max);

}  // namespace cr3rig
