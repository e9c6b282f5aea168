#include "vmm/ram_slots.hpp"

#include <linux/kvm.h>

#include <algorithm>

#include "vmm/guest_memory.hpp"
#include "vmm/kvm.hpp"

namespace cr3rig {

RamSlots::RamSlots(Vm& vm, GuestMemory& memory) : vm_(vm), memory_(memory)
{
    layout({{0, memory_.size(), false}});
}

void RamSlots::set_read_only(std::vector<PageRange> ranges)
{
    uint64_t ram = memory_.size();
    for (auto& r : ranges) {
        r.begin = std::min(r.begin / kPage * kPage, ram);
        r.end = std::min((std::max(r.end, r.begin) + kPage - 1) / kPage * kPage, ram);
    }
    std::sort(ranges.begin(), ranges.end(), [](const PageRange& a, const PageRange& b) { return a.begin < b.begin; });
    std::vector<Slot> slots;
    uint64_t at = 0;
    for (const auto& r : ranges) {
        uint64_t begin = std::max(r.begin, at);
        if (r.end <= begin)
            continue;
        if (begin > at)
            slots.push_back({at, begin - at, false});
        if (!slots.empty() && slots.back().read_only && slots.back().gpa + slots.back().size == begin)
            slots.back().size += r.end - begin;  // adjacent ranges: one slot
        else
            slots.push_back({begin, r.end - begin, true});
        at = r.end;
    }
    if (at < ram)
        slots.push_back({at, ram - at, false});
    layout(std::move(slots));
}

bool RamSlots::read_only(uint64_t gpa) const
{
    return std::any_of(slots_.begin(), slots_.end(),
                       [&](const Slot& s) { return s.read_only && gpa >= s.gpa && gpa - s.gpa < s.size; });
}

void RamSlots::add(uint32_t id, const Slot& slot)
{
    uint32_t flags = slot.read_only ? KVM_MEM_READONLY : (dirty_log_ ? KVM_MEM_LOG_DIRTY_PAGES : 0);
    vm_.set_user_memory_region(id, slot.gpa, slot.size, static_cast<uint8_t*>(memory_.host_base()) + slot.gpa, flags);
}

void RamSlots::layout(std::vector<Slot> slots)
{
    for (uint32_t id = 0; id < slots_.size(); id++)  // a slot's size cannot change in place
        vm_.set_user_memory_region(id, slots_[id].gpa, 0, memory_.host_base());
    slots_ = std::move(slots);
    for (uint32_t id = 0; id < slots_.size(); id++)
        add(id, slots_[id]);
}

void RamSlots::log_dirty()
{
    dirty_log_ = true;
    layout(slots_);
    take_dirty_pages();
}

std::vector<uint64_t> RamSlots::take_dirty_pages()
{
    std::vector<uint64_t> all((memory_.size() / kPage + 63) / 64);
    for (uint32_t id = 0; id < slots_.size(); id++) {
        const Slot& s = slots_[id];
        if (s.read_only || !dirty_log_)
            continue;
        uint64_t pages = s.size / kPage, first = s.gpa / kPage;
        auto bits = vm_.get_dirty_log(id, pages);
        for (uint64_t p = 0; p < pages; p++) {
            if (bits[p / 64] & (1ull << (p % 64)))
                all[(first + p) / 64] |= 1ull << ((first + p) % 64);
        }
    }
    return all;
}

void RamSlots::remap() { layout(slots_); }

}  // namespace cr3rig
