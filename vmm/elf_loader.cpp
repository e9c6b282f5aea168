#include "vmm/elf_loader.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include "common/errors.hpp"
#include "common/hex.hpp"
#include "cr3rig/abi.h"
#include "vmm/elf_segments.hpp"
#include "vmm/entry_state.hpp"
#include "vmm/guest_memory.hpp"

namespace cr3rig {

namespace {

Elf64_Ehdr parse_header(const FileView& f)
{
    if (f.size() < EI_NIDENT || std::memcmp(f.data(), ELFMAG, SELFMAG) != 0)
        throw BadInput("not an ELF image (bad magic)");
    if (f.data()[EI_CLASS] == ELFCLASS32)
        throw BadInput("ELF32 image: cr3rig run expects an ELF64 x86-64 guest");
    if (f.data()[EI_CLASS] != ELFCLASS64)
        throw BadInput("unknown ELF class " + std::to_string(f.data()[EI_CLASS]));
    if (f.data()[EI_DATA] != ELFDATA2LSB)
        throw BadInput("big-endian ELF image: expected little-endian x86-64");
    auto eh = f.at<Elf64_Ehdr>(0, "ELF header");
    if (eh.e_machine != EM_X86_64)
        throw BadInput("ELF image for machine " + std::to_string(eh.e_machine) + ", expected x86-64 (62)");
    check_program_headers<Elf64_Ehdr, Elf64_Phdr>(f, eh);
    return eh;
}

std::string symbol_name(const FileView& f, const Elf64_Shdr& strtab, uint32_t st_name)
{
    if (st_name >= strtab.sh_size)
        throw BadInput("ELF symbol name offset " + hex(st_name) + " lies outside its string table");
    const char* start = reinterpret_cast<const char*>(f.data() + strtab.sh_offset + st_name);
    size_t max = strtab.sh_size - st_name;
    size_t len = strnlen(start, max);
    if (len == max)
        throw BadInput("ELF symbol name at " + hex(st_name) + " is not NUL-terminated");
    return {start, len};
}

// A symbol table names its string table by sh_link: that must be another section,
// and a string table (a table read as its own names would make names of symbol bytes).
template <typename SectionAt>
Elf64_Shdr linked_string_table(const Elf64_Ehdr& eh, unsigned symtab, uint32_t link, const SectionAt& section)
{
    std::string what = "ELF symbol table (section " + std::to_string(symtab) + ")";
    if (link >= eh.e_shnum)
        throw BadInput(what + " links to missing section " + std::to_string(link));
    if (link == symtab)
        throw BadInput(what + " links to itself as its string table");
    auto strtab = section(link);
    if (strtab.sh_type != SHT_STRTAB)
        throw BadInput(what + " links to section " + std::to_string(link) + ", which is not a string table (type " +
                       std::to_string(strtab.sh_type) + ")");
    return strtab;
}

// The symbol table is optional (a stripped guest still runs), but when present it must be sound.
std::vector<Symbol> parse_symbols(const FileView& f, const Elf64_Ehdr& eh)
{
    std::vector<Symbol> symbols;
    if (eh.e_shoff == 0 || eh.e_shnum == 0)
        return symbols;
    if (eh.e_shentsize != sizeof(Elf64_Shdr))
        throw BadInput("ELF section header size " + std::to_string(eh.e_shentsize) + ", expected " +
                       std::to_string(sizeof(Elf64_Shdr)));
    f.require(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr), "section header table");
    auto section = [&](unsigned i) { return f.at<Elf64_Shdr>(eh.e_shoff + i * sizeof(Elf64_Shdr), "section header"); };

    for (unsigned i = 0; i < eh.e_shnum; i++) {
        auto sh = section(i);
        if (sh.sh_type != SHT_SYMTAB)
            continue;
        if (sh.sh_entsize != sizeof(Elf64_Sym))
            throw BadInput("ELF symbol table entry size " + std::to_string(sh.sh_entsize) + ", expected " +
                           std::to_string(sizeof(Elf64_Sym)));
        f.require(sh.sh_offset, sh.sh_size, "symbol table");
        auto strtab = linked_string_table(eh, i, sh.sh_link, section);
        f.require(strtab.sh_offset, strtab.sh_size, "symbol string table");
        for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
            auto sym = f.at<Elf64_Sym>(sh.sh_offset + off, "symbol");
            int type = ELF64_ST_TYPE(sym.st_info);
            if (sym.st_name == 0 || sym.st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE))
                continue;
            symbols.push_back({symbol_name(f, strtab, sym.st_name), sym.st_value, sym.st_size, type == STT_FUNC});
        }
    }
    std::sort(symbols.begin(), symbols.end(), [](const Symbol& a, const Symbol& b) { return a.value < b.value; });
    return symbols;
}

}  // namespace

ElfImage ElfImage::parse(std::vector<uint8_t> file)
{
    ElfImage image;
    image.file_ = std::move(file);
    FileView f(image.file_);
    auto eh = parse_header(f);
    image.entry_ = eh.e_entry;
    image.segments_ = parse_load_segments<Elf64_Ehdr, Elf64_Phdr>(f, eh);
    image.symbols_ = parse_symbols(f, eh);
    bool entry_ok = std::any_of(image.segments_.begin(), image.segments_.end(), [&](const LoadSegment& s) {
        return s.executable && eh.e_entry >= s.vaddr && eh.e_entry - s.vaddr < s.memsz;
    });
    if (!entry_ok)
        throw BadInput("ELF entry point " + hex(eh.e_entry) + " is not inside an executable segment");
    return image;
}

ElfImage ElfImage::read_file(const std::string& path) { return parse(read_file_bytes(path, "guest image")); }

const Symbol* ElfImage::find_symbol(const std::string& name) const
{
    auto it = std::find_if(symbols_.begin(), symbols_.end(), [&](const Symbol& s) { return s.name == name; });
    return it == symbols_.end() ? nullptr : &*it;
}

std::optional<std::string> ElfImage::symbolize(uint64_t vaddr) const
{
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                               [](uint64_t v, const Symbol& s) { return v < s.value; });
    // The nearest symbol at or below vaddr; asm labels have no size and match any offset.
    if (it == symbols_.begin())
        return std::nullopt;
    --it;
    if (it->size != 0 && vaddr - it->value >= it->size)
        return std::nullopt;
    // Appended, not "+" + hex(...): that prepends with string::insert(0, ...), where
    // g++ 12 at -O3 reports a false -Werror=restrict (GCC PR 105329).
    std::string name = it->name;
    if (vaddr != it->value)
        name.append("+").append(hex(vaddr - it->value));
    return name;
}

void load_segments(GuestMemory& memory, std::span<const uint8_t> file, const std::vector<LoadSegment>& segments,
                   uint64_t min_gpa)
{
    for (const auto& s : segments) {
        if (s.gpa < min_gpa)
            throw BadInput("segment at " + hex(s.gpa) + " overlaps the VMM's boot area below " + hex(min_gpa));
        if (!memory.contains(s.gpa, s.memsz))
            throw BadInput("segment " + hex(s.gpa) + "+" + hex(s.memsz) + " does not fit in " +
                           std::to_string(memory.size() >> 20) + " MiB of guest memory");
        auto dst = memory.span(s.gpa, s.memsz);
        std::memcpy(dst.data(), file.data() + s.offset, s.filesz);
        std::memset(dst.data() + s.filesz, 0, s.memsz - s.filesz);
    }
}

void ElfImage::load_into(GuestMemory& memory, uint64_t min_gpa) const { load_segments(memory, file_, segments_, min_gpa); }

void ElfImage::boot(GuestMemory& memory, Vcpu& vcpu, const BootArgs& args) const
{
    if (!args.empty())
        throw BadInput("a command line and modules are multiboot boot information: an ELF64 guest, entered in "
                       "long mode, takes none");
    load_into(memory, CR3RIG_GUEST_LOAD_MIN);
    enter_long_mode(memory, vcpu, entry());
}

}  // namespace cr3rig
