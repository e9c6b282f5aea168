// The PT_LOAD segments of an ELF executable, for either class: ELF64 guests and
// ELF32 multiboot images are checked by the same code, instantiated for their types.
#pragma once

#include <elf.h>

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
    return segments;
}

}  // namespace cr3rig
