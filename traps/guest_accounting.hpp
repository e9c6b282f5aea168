// The guest kernel's own count of stale CR3 writes (struct cr3rig_accounting in
// cr3rig/abi.h) against the rig's findings: when they differ, one of the two missed
// something, and the verdict must say so rather than stay silent.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/trap_event.hpp"

namespace cr3rig {

class GuestMemory;

// What the guest counted, read from its memory through `cr3` at `accounting_gva`;
// nothing when the object is unreadable or lacks CR3RIG_ACCOUNTING_MAGIC.
std::optional<uint64_t> read_guest_stale_writes(const GuestMemory& memory, uint64_t cr3, uint64_t accounting_gva);

// A GuestDisagrees finding when the guest's count differs from the number of writes
// the rig found loading a CR3 that is not current->active_mm's pgd (the same test the
// guest makes).
std::optional<Finding> compare_guest_accounting(uint64_t guest_stale_writes, const std::vector<Finding>& findings);

}  // namespace cr3rig
