// Guest RAM as KVM sees it: memory slots over the one host mapping (GuestMemory).
// All of it is one read-write slot until parts are made read-only: the trap engine
// keeps the guest's text read-only, so that a guest write there exits as MMIO and
// the rig sees code being written (docs/traps.md). Dirty logging (snapshots) and
// re-creating the slots (to drop KVM's shadow pages) go through here, so they cover
// however many slots there are.
#pragma once

#include <cstdint>
#include <vector>

namespace cr3rig {

class GuestMemory;
class Vm;

// Guest-physical [begin, end), page-aligned.
struct PageRange {
    uint64_t begin, end;
};

class RamSlots {
public:
    static constexpr uint64_t kPage = 4096;

    // Maps all of `memory` read-write. Both must outlive this.
    RamSlots(Vm& vm, GuestMemory& memory);
    RamSlots(const RamSlots&) = delete;
    RamSlots& operator=(const RamSlots&) = delete;

    // Makes the pages of `ranges` read-only (rounded outward to pages, clipped to RAM)
    // and every other page read-write; replaces what an earlier call made read-only.
    void set_read_only(std::vector<PageRange> ranges);
    bool read_only(uint64_t gpa) const;

    // From now on KVM logs the guest's writes to the read-write pages; the log starts empty.
    void log_dirty();
    // One bit per page of RAM (bit p % 64 of word p / 64): the read-write pages the guest
    // wrote since the last call (or log_dirty()). Read-only pages are never in it.
    std::vector<uint64_t> take_dirty_pages();
    // Deletes and re-adds every slot: KVM drops its shadow page tables, which do not see
    // what the host writes through its mapping (the nested backend shadows the guest's).
    void remap();

private:
    struct Slot {
        uint64_t gpa, size;
        bool read_only;
    };
    void layout(std::vector<Slot> slots);
    void add(uint32_t id, const Slot& slot);

    Vm& vm_;
    GuestMemory& memory_;
    std::vector<Slot> slots_;  // slot i is KVM's slot i
    bool dirty_log_ = false;
};

}  // namespace cr3rig
