#include "vmm/multiboot_image.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include "common/errors.hpp"
#include "common/hex.hpp"
#include "cr3rig/multiboot.h"
#include "vmm/elf_segments.hpp"
#include "vmm/entry_state.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/multiboot_info.hpp"

namespace cr3rig {

namespace {

// The required flags (bits 0-15) cr3rig honours: page-aligned modules, memory info
// (always given, with a memory map).
constexpr uint32_t kSupportedRequiredFlags = CR3RIG_MB_PAGE_ALIGN | CR3RIG_MB_MEMORY_INFO;
constexpr uint64_t kPage = 4096;

void check_flags(uint32_t flags)
{
    uint32_t unsupported = flags & CR3RIG_MB_REQUIRED_MASK & ~kSupportedRequiredFlags;
    if (unsupported & CR3RIG_MB_VIDEO_MODE)
        throw BadInput("multiboot header asks for a video mode (flags bit 2): cr3rig has no display");
    if (unsupported)
        throw BadInput("multiboot header requires features cr3rig does not know (flags " + hex(flags) +
                       ", unknown required bits " + hex(unsupported) + ")");
}

struct Layout {
    std::vector<LoadSegment> segments;
    uint32_t entry;  // physical
};

// Header flags bit 16: one piece of text and data, placed by the header's addresses.
Layout from_load_addresses(const FileView& f, uint32_t offset)
{
    auto h = f.at<cr3rig_mb_header>(offset, "multiboot header with load addresses (flags bit 16)");
    if (h.load_addr > h.header_addr)
        throw BadInput("multiboot load_addr " + hex(h.load_addr) + " lies above header_addr " + hex(h.header_addr));
    uint32_t lead = h.header_addr - h.load_addr;
    if (lead > offset)
        throw BadInput("multiboot load_addr " + hex(h.load_addr) + " would start " + hex(lead - offset) +
                       " bytes before the file (header at offset " + hex(offset) + ", header_addr " +
                       hex(h.header_addr) + ")");
    uint64_t file_offset = offset - lead;
    uint64_t load_size = f.size() - file_offset;  // load_end_addr 0: the rest of the file
    if (h.load_end_addr != 0) {
        if (h.load_end_addr < h.header_addr + sizeof h)
            throw BadInput("multiboot load_end_addr " + hex(h.load_end_addr) + " ends before the header does");
        load_size = h.load_end_addr - h.load_addr;
        f.require(file_offset, load_size, "multiboot text and data (load_addr to load_end_addr)");
    }
    uint64_t memory_size = load_size;
    if (h.bss_end_addr != 0) {
        if (h.bss_end_addr < h.load_addr + load_size)
            throw BadInput("multiboot bss_end_addr " + hex(h.bss_end_addr) + " lies below the end of text and data " +
                           hex(h.load_addr + load_size));
        memory_size = h.bss_end_addr - h.load_addr;
    }
    if (h.entry_addr < h.load_addr || h.entry_addr - h.load_addr >= load_size)
        throw BadInput("multiboot entry_addr " + hex(h.entry_addr) + " is not inside the loaded text and data");
    return {{{h.load_addr, h.load_addr, file_offset, load_size, memory_size, true}}, h.entry_addr};
}

// Without bit 16: an ELF32 i386 executable, each PT_LOAD at its physical address.
Layout from_elf32(const FileView& f)
{
    if (f.size() < EI_NIDENT || std::memcmp(f.data(), ELFMAG, SELFMAG) != 0)
        throw BadInput("multiboot image is not ELF and its header has no load addresses (flags bit 16)");
    if (f.data()[EI_CLASS] == ELFCLASS64)
        throw BadInput("ELF64 image with a multiboot header but no load addresses (flags bit 16): multiboot "
                       "loads ELF32; convert it with objcopy -O elf32-i386, as kvm-unit-tests does");
    if (f.data()[EI_CLASS] != ELFCLASS32)
        throw BadInput("unknown ELF class " + std::to_string(f.data()[EI_CLASS]));
    if (f.data()[EI_DATA] != ELFDATA2LSB)
        throw BadInput("big-endian ELF image: expected little-endian i386");
    auto eh = f.at<Elf32_Ehdr>(0, "ELF header");
    if (eh.e_machine != EM_386)
        throw BadInput("multiboot ELF32 image for machine " + std::to_string(eh.e_machine) + ", expected i386 (3)");
    check_program_headers<Elf32_Ehdr, Elf32_Phdr>(f, eh);
    Layout layout{parse_load_segments<Elf32_Ehdr, Elf32_Phdr>(f, eh), 0};
    // e_entry is virtual; a boot loader jumps to where that byte was loaded.
    for (const auto& s : layout.segments) {
        if (s.executable && eh.e_entry >= s.vaddr && eh.e_entry - s.vaddr < s.memsz) {
            layout.entry = static_cast<uint32_t>(s.gpa + (eh.e_entry - s.vaddr));
            return layout;
        }
    }
    throw BadInput("ELF entry point " + hex(eh.e_entry) + " is not inside an executable segment");
}

}  // namespace

std::optional<uint32_t> find_multiboot_header(std::span<const uint8_t> file)
{
    std::optional<uint32_t> broken;
    uint64_t limit = std::min<uint64_t>(file.size(), CR3RIG_MB_HEADER_SEARCH);
    for (uint32_t off = 0; off + 3 * sizeof(uint32_t) <= limit; off += 4) {
        uint32_t magic, flags, checksum;
        std::memcpy(&magic, file.data() + off, 4);
        if (magic != CR3RIG_MB_HEADER_MAGIC)
            continue;
        std::memcpy(&flags, file.data() + off + 4, 4);
        std::memcpy(&checksum, file.data() + off + 8, 4);
        if (static_cast<uint32_t>(magic + flags + checksum) == 0)
            return off;
        if (!broken)
            broken = off;
    }
    if (broken)
        throw BadInput("multiboot header at offset " + hex(*broken) +
                       " has a bad checksum (magic + flags + checksum must be 0)");
    return std::nullopt;
}

MultibootImage MultibootImage::parse(std::vector<uint8_t> file)
{
    MultibootImage image;
    image.file_ = std::move(file);
    auto offset = find_multiboot_header(image.file_);
    if (!offset)
        throw BadInput("no multiboot header (magic 0x1badb002, 4-byte aligned) in the first 8 KiB of the image");
    FileView f(image.file_, "multiboot image");
    image.header_offset_ = *offset;
    image.flags_ = f.at<uint32_t>(*offset + 4, "multiboot flags");
    check_flags(image.flags_);
    Layout layout = (image.flags_ & CR3RIG_MB_AOUT_KLUDGE) ? from_load_addresses(f, *offset)
                                                          : from_elf32(FileView(image.file_, "ELF image"));
    image.segments_ = std::move(layout.segments);
    image.entry_ = layout.entry;
    return image;
}

uint64_t MultibootImage::end() const
{
    uint64_t end = 0;
    for (const auto& s : segments_)
        end = std::max(end, s.gpa + s.memsz);
    return end;
}

uint32_t MultibootImage::load_into(GuestMemory& memory, const BootArgs& args) const
{
    // Anywhere but the legacy hole and the BIOS area (the ACPI tables, the boot GDT and
    // stack): kvm-unit-tests' realmode.flat is linked at 0x8000.
    for (const auto& seg : segments_)
        if (seg.gpa < kUpperMemoryStart && seg.gpa + seg.memsz > kLowMemoryEnd)
            throw BadInput("segment " + hex(seg.gpa) + "+" + hex(seg.memsz) + " overlaps [" + hex(kLowMemoryEnd) +
                           ", " + hex(kUpperMemoryStart) + "): the VGA hole and the BIOS area, where the VMM puts "
                           "the ACPI tables and the boot GDT");
    load_segments(memory, file_, segments_, 0);
    // The boot information goes after the image, and never below 1 MiB, where an image
    // linked low keeps its own stack and data.
    uint64_t info_base = std::max<uint64_t>((end() + kPage - 1) / kPage * kPage, kUpperMemoryStart);
    return write_multiboot_info(memory, info_base, args, (flags_ & CR3RIG_MB_PAGE_ALIGN) != 0);
}

void MultibootImage::boot(GuestMemory& memory, Vcpu& vcpu, const BootArgs& args) const
{
    uint32_t info = load_into(memory, args);
    enter_protected_mode(memory, vcpu, entry_, CR3RIG_MB_BOOT_MAGIC, info);
}

}  // namespace cr3rig
