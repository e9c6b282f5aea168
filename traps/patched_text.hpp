// The guest's code twice: as the guest wrote it (its view, which the site scanner
// reads) and as it is in memory, where the rig has replaced the bytes of each patched
// site by a trap that exits to the VMM. The text is read-only to the guest
// (RamSlots), so every guest write to it reaches the rig, which performs it here:
// into the guest's view, and into memory except where a patch covers it; the caller
// then rescans. Sites are keyed by guest-physical address: the guest may run the
// same code at another virtual address.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "traps/cr3_site.hpp"
#include "vmm/ram_slots.hpp"

namespace cr3rig {

class ElfImage;
class GuestMemory;

class PatchedText {
public:
    struct Patch {
        Cr3Site site;                // as scanned: its virtual address and original bytes
        std::vector<uint8_t> trap;   // what memory holds at its start instead
        bool lifted = false;         // the original bytes are back for one single step
    };

    // The executable segments of the image, with the bytes `memory` holds for them now
    // (the image as loaded).
    PatchedText(const ElfImage& image, const GuestMemory& memory);

    // The pages to keep read-only to the guest.
    std::vector<PageRange> pages() const;
    // Every site in the text as the guest wrote it, scanned and symbolized.
    std::vector<Cr3Site> scan(const ElfImage& image) const;
    // Where the site at virtual `address` (in one of the image's segments) is in guest memory.
    std::optional<uint64_t> physical(uint64_t address) const;

    // Performs a guest write of `data` at `gpa` (inside pages()): the guest's view gets
    // it, and memory too where no patch covers it. True if it touched code (an
    // executable segment's bytes), so the sites must be scanned again.
    bool guest_write(GuestMemory& memory, uint64_t gpa, std::span<const uint8_t> data);

    // Writes `trap` over the start of the site (the rest of its bytes stay, never run).
    void patch(GuestMemory& memory, const Cr3Site& site, std::vector<uint8_t> trap);
    // Puts the guest's bytes back and forgets the patch.
    void unpatch(GuestMemory& memory, uint64_t gpa);
    // For one single step of the original instruction: its bytes back, then the trap again.
    void lift(GuestMemory& memory, uint64_t gpa);
    void lower(GuestMemory& memory, uint64_t gpa);

    const Patch* patch_at(uint64_t gpa) const;
    const std::map<uint64_t, Patch>& patches() const { return patches_; }

private:
    struct Segment {
        uint64_t gpa, vaddr;
        std::vector<uint8_t> guest_view;  // filesz bytes
    };

    std::vector<Segment> segments_;
    std::map<uint64_t, Patch> patches_;  // by the site's guest-physical address
};

}  // namespace cr3rig
