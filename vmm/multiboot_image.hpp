// Multiboot (version 1) images: a file with a multiboot header in its first 8 KiB,
// loaded from its ELF32 program headers or, with header flags bit 16 (the "a.out
// kludge"), from the header's own address fields. Entered in 32-bit protected mode
// with EAX = 0x2BADB002 and EBX = the boot information (multiboot_info.hpp); the
// image builds its own long mode. This is how kvm-unit-tests' x86 binaries boot.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/boot_image.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig {

// The offset of the first valid multiboot header (magic, then flags and a checksum
// that sum to zero with it) at a 4-byte boundary in the file's first 8 KiB, if any.
// Throws BadInput when the magic is there but no checksum matches: a broken header
// is an error, not a reason to try the file as something else.
std::optional<uint32_t> find_multiboot_header(std::span<const uint8_t> file);

class MultibootImage : public BootImage {
public:
    // Validates the header, its flags and everything it loads; BadInput with one line.
    static MultibootImage parse(std::vector<uint8_t> file);

    std::string_view kind() const override { return "multiboot"; }
    const std::vector<uint8_t>& bytes() const override { return file_; }
    uint32_t header_offset() const { return header_offset_; }
    uint32_t flags() const { return flags_; }
    uint32_t entry() const { return entry_; }  // physical
    const std::vector<LoadSegment>& segments() const { return segments_; }
    uint64_t end() const;  // the first byte past everything the image loads (bss included)

    // Copies the image to its physical addresses (anywhere outside [0xa0000, 1 MiB))
    // and writes the boot information right after it, page-aligned, at 1 MiB or above. Returns the
    // information's guest-physical address (EBX). Throws BadInput if anything does not fit.
    uint32_t load_into(GuestMemory& memory, const BootArgs& args) const;
    void boot(GuestMemory& memory, Vcpu& vcpu, const BootArgs& args) const override;
    // Crash dumps of multiboot guests show bare addresses: no symbols are read.
    std::optional<std::string> symbolize(uint64_t) const override { return std::nullopt; }

private:
    std::vector<uint8_t> file_;
    uint32_t header_offset_ = 0;
    uint32_t flags_ = 0;
    uint32_t entry_ = 0;
    std::vector<LoadSegment> segments_;
};

}  // namespace cr3rig
