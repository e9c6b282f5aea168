#include "traps/patched_text.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/hex.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"

namespace cr3rig {

PatchedText::PatchedText(const ElfImage& image, const GuestMemory& memory)
{
    for (const auto& s : image.segments()) {
        if (!s.executable || s.filesz == 0 || !memory.contains(s.gpa, s.filesz))
            continue;
        auto bytes = memory.span(s.gpa, s.filesz);
        segments_.push_back({s.gpa, s.vaddr, {bytes.begin(), bytes.end()}});
    }
}

std::vector<PageRange> PatchedText::pages() const
{
    std::vector<PageRange> pages;
    for (const auto& s : segments_)
        pages.push_back({s.gpa, s.gpa + s.guest_view.size()});
    return pages;
}

std::vector<Cr3Site> PatchedText::scan(const ElfImage& image) const
{
    std::vector<Cr3Site> sites;
    for (const auto& s : segments_) {
        for (auto& site : scan_cr3_sites(s.guest_view.data(), s.guest_view.size(), s.vaddr)) {
            site.symbol = image.symbolize(site.address).value_or("");
            sites.push_back(std::move(site));
        }
    }
    return sites;
}

std::optional<uint64_t> PatchedText::physical(uint64_t address) const
{
    for (const auto& s : segments_) {
        if (address >= s.vaddr && address - s.vaddr < s.guest_view.size())
            return s.gpa + (address - s.vaddr);
    }
    return std::nullopt;
}

bool PatchedText::guest_write(GuestMemory& memory, uint64_t gpa, std::span<const uint8_t> data)
{
    bool code = false;
    for (size_t i = 0; i < data.size(); i++) {
        uint64_t at = gpa + i;
        for (auto& s : segments_) {
            if (at >= s.gpa && at - s.gpa < s.guest_view.size()) {
                s.guest_view[at - s.gpa] = data[i];
                code = true;
            }
        }
        // Under a trap the guest's byte waits in its view until the site is unpatched.
        auto p = patches_.upper_bound(at);
        bool covered = p != patches_.begin() && !std::prev(p)->second.lifted &&
                       at - std::prev(p)->first < std::prev(p)->second.trap.size();
        if (!covered)
            memory.write_bytes(at, data.subspan(i, 1));
    }
    return code;
}

void PatchedText::patch(GuestMemory& memory, const Cr3Site& site, std::vector<uint8_t> trap)
{
    auto gpa = physical(site.address);
    if (!gpa || trap.empty() || trap.size() > site.bytes.size())
        throw std::logic_error("PatchedText::patch: no room for the trap at " + hex(site.address));
    memory.write_bytes(*gpa, trap);
    patches_[*gpa] = Patch{site, std::move(trap), false};
}

// The guest's bytes under the trap, from its view (which may be newer than the site's).
void PatchedText::unpatch(GuestMemory& memory, uint64_t gpa)
{
    auto it = patches_.find(gpa);
    if (it == patches_.end())
        return;
    for (const auto& s : segments_) {
        if (gpa >= s.gpa && gpa - s.gpa < s.guest_view.size()) {
            size_t n = std::min(it->second.trap.size(), s.guest_view.size() - (gpa - s.gpa));
            memory.write_bytes(gpa, std::span(s.guest_view).subspan(gpa - s.gpa, n));
        }
    }
    patches_.erase(it);
}

void PatchedText::lift(GuestMemory& memory, uint64_t gpa)
{
    auto it = patches_.find(gpa);
    if (it == patches_.end() || it->second.lifted)
        return;
    Patch patch = it->second;
    unpatch(memory, gpa);
    patch.lifted = true;
    patches_[gpa] = std::move(patch);
}

void PatchedText::lower(GuestMemory& memory, uint64_t gpa)
{
    auto it = patches_.find(gpa);
    if (it == patches_.end() || !it->second.lifted)
        return;
    memory.write_bytes(gpa, it->second.trap);
    it->second.lifted = false;
}

const PatchedText::Patch* PatchedText::patch_at(uint64_t gpa) const
{
    auto it = patches_.find(gpa);
    return it == patches_.end() ? nullptr : &it->second;
}

}  // namespace cr3rig
