// The PT_LOAD segments of an ELF executable, for either class: ELF64 guests and
// ELF32 multiboot images are checked by the same code, instantiated for their types.
#pragma once

#include <elf.h>

#include <algorithm>
#include <string>
#include <vector>

#include "vmm/elf_loader.hpp"
#include "vmm/file_view.hpp"

namespace cr3rig {

// Checks e_type and the program header table's size and bounds.
template <typename Ehdr, typename Phdr>
void check_program_headers(const FileView& f, const Ehdr& eh)
{
    if (eh.e_type != ET_EXEC)
        throw BadInput("ELF image is not an executable (e_type " + std::to_string(eh.e_type) + ")");
    if (eh.e_phnum == 0)
        throw BadInput("ELF image has no program headers");
    if (eh.e_phentsize != sizeof(Phdr))
        throw BadInput("ELF program header size " + std::to_string(eh.e_phentsize) + ", expected " +
                       std::to_string(sizeof(Phdr)));
    f.require(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Phdr), "program header table");
}

// Two segments that share an address would each overwrite the other as they load (the
// later one wins): no linker makes such an image, so it is refused, not guessed at.
// Checked for where they go (gpa) and where the guest sees them (vaddr), sorted by
// start so a header table of any length is checked in n log n.
inline void check_segments_disjoint(std::vector<LoadSegment> segments, uint64_t LoadSegment::*start,
                                    const std::string& space)
{
    std::sort(segments.begin(), segments.end(),
              [&](const LoadSegment& a, const LoadSegment& b) { return a.*start < b.*start; });
    for (size_t i = 1; i < segments.size(); i++) {
        const LoadSegment& a = segments[i - 1];
        const LoadSegment& b = segments[i];
        if (b.*start - a.*start < a.memsz)
            throw BadInput("ELF PT_LOAD segments " + hex(a.*start) + "+" + hex(a.memsz) + " and " + hex(b.*start) +
                           "+" + hex(b.memsz) + " overlap in " + space);
    }
}

// The non-empty PT_LOAD segments, each checked against the file and for wrap-around.
template <typename Ehdr, typename Phdr>
std::vector<LoadSegment> parse_load_segments(const FileView& f, const Ehdr& eh)
{
    std::vector<LoadSegment> segments;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        auto ph = f.at<Phdr>(eh.e_phoff + i * sizeof(Phdr), "program header");
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)  // an empty segment loads nothing
            continue;
        std::string what = "segment " + std::to_string(i);
        if (ph.p_filesz > ph.p_memsz)
            throw BadInput(what + ": file size " + hex(ph.p_filesz) + " exceeds memory size " + hex(ph.p_memsz));
        f.require(ph.p_offset, ph.p_filesz, what);
        if (!in_bounds(ph.p_paddr, ph.p_memsz, UINT64_MAX) || !in_bounds(ph.p_vaddr, ph.p_memsz, UINT64_MAX))
            throw BadInput(what + ": address range wraps around");
        segments.push_back({ph.p_paddr, ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, (ph.p_flags & PF_X) != 0});
    }
    if (segments.empty())
        throw BadInput("ELF image has no loadable (PT_LOAD) segment");
    check_segments_disjoint(segments, &LoadSegment::gpa, "guest-physical memory");
    check_segments_disjoint(segments, &LoadSegment::vaddr, "virtual memory");
    return segments;
}

}  // namespace cr3rig
