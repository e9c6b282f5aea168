#include "traps/guest_accounting.hpp"

#include <set>
#include <string>

#include "cr3rig/abi.h"
#include "vmm/page_walk.hpp"

namespace cr3rig {

std::optional<uint64_t> read_guest_stale_writes(const GuestMemory& memory, uint64_t cr3, uint64_t accounting_gva)
{
    auto magic = read_guest_u64(memory, cr3, accounting_gva + offsetof(cr3rig_accounting, magic));
    if (!magic || *magic != CR3RIG_ACCOUNTING_MAGIC)
        return std::nullopt;
    return read_guest_u64(memory, cr3, accounting_gva + offsetof(cr3rig_accounting, stale_cr3_writes));
}

std::optional<Finding> compare_guest_accounting(uint64_t guest_stale_writes, const std::vector<Finding>& findings)
{
    std::set<uint64_t> rig_writes;  // one write can be reported by more than one detector
    for (const auto& f : findings)
        if (f.kind == FindingKind::Cr3NotActiveMm)
            rig_writes.insert(f.seq);
    if (rig_writes.size() == guest_stale_writes)
        return std::nullopt;
    Finding f{};
    f.kind = FindingKind::GuestDisagrees;
    f.seq = 0;  // no event of the history: it is about the whole run
    f.value = guest_stale_writes;
    f.expected = rig_writes.size();
    f.summary = "the guest counted " + std::to_string(guest_stale_writes) + " stale CR3 write(s) (" +
                CR3RIG_ACCOUNTING_SYMBOL + "), the rig found " + std::to_string(rig_writes.size()) +
                " (cr3-not-active-mm): one of the two missed something";
    return f;
}

}  // namespace cr3rig
