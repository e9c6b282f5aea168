// ELF64 guest images: parse and validate the whole file first, then copy the
// PT_LOAD segments into guest memory and enter them in long mode. The symbol table
// is kept because the trap engine names CR3 sites and finds kernel variables by symbol.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/boot_image.hpp"

namespace cr3rig {

class GuestMemory;

struct LoadSegment {
    uint64_t gpa;      // where it goes in guest memory (p_paddr)
    uint64_t vaddr;    // where the guest sees it (p_vaddr)
    uint64_t offset;   // in the file
    uint64_t filesz;
    uint64_t memsz;    // memsz - filesz bytes are zero-filled
    bool executable;
};

struct Symbol {
    std::string name;
    uint64_t value;
    uint64_t size;
    bool is_function;
};

// Copies each segment's file bytes to its gpa and zero-fills the rest of its memsz.
// Throws BadInput if a segment lies below min_gpa (the VMM's boot structures) or
// beyond the end of guest memory.
void load_segments(GuestMemory& memory, std::span<const uint8_t> file, const std::vector<LoadSegment>& segments,
                   uint64_t min_gpa);

class ElfImage : public BootImage {
public:
    // Validates every header, segment and symbol-table bound; throws BadInput with a
    // one-line reason ("truncated ELF header", "ELF32 image, expected ELF64", ...).
    static ElfImage parse(std::vector<uint8_t> file);
    static ElfImage read_file(const std::string& path);

    std::string_view kind() const override { return "ELF64"; }
    uint64_t entry() const { return entry_; }
    const std::vector<uint8_t>& bytes() const override { return file_; }
    const std::vector<LoadSegment>& segments() const { return segments_; }
    const std::vector<Symbol>& symbols() const { return symbols_; }
    // The file bytes of a segment (its filesz part), e.g. for disassembly.
    std::span<const uint8_t> segment_bytes(const LoadSegment& segment) const
    {
        return {file_.data() + segment.offset, static_cast<size_t>(segment.filesz)};
    }

    const Symbol* find_symbol(const std::string& name) const;
    // "name+0x1f" for the function or object containing vaddr, if any.
    std::optional<std::string> symbolize(uint64_t vaddr) const override;

    // Copies the segments into memory (see load_segments).
    void load_into(GuestMemory& memory, uint64_t min_gpa) const;
    // load_into at CR3RIG_GUEST_LOAD_MIN, then long mode at the entry point. An ELF64
    // guest takes no boot information: non-empty args are BadInput.
    void boot(GuestMemory& memory, Vcpu& vcpu, const BootArgs& args) const override;
    const ElfImage* elf64() const override { return this; }

private:
    std::vector<uint8_t> file_;
    uint64_t entry_ = 0;
    std::vector<LoadSegment> segments_;
    std::vector<Symbol> symbols_;  // sorted by value
};

}  // namespace cr3rig
