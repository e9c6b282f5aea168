// The ELF64 loader on a real guest image and on synthetic good and malformed images.
#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "common/errors.hpp"
#include "harness/run_command.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"

using namespace cr3rig;

namespace {

constexpr uint64_t kLoadAddr = 0x100000;

// A minimal valid ELF64 executable: header, `segments` PT_LOADs (64 KiB apart) of
// the same 16 bytes of code (filesz) and 4 KiB of memory (memsz) each, entry at the
// first one's start. No sections unless with_symbols() adds them.
struct SyntheticElf {
    std::vector<uint8_t> bytes;

    explicit SyntheticElf(unsigned segments = 1)
    {
        size_t code = sizeof(Elf64_Ehdr) + segments * sizeof(Elf64_Phdr);
        bytes.resize(code + 16, 0x90);
        Elf64_Ehdr eh{};
        std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_EXEC;
        eh.e_machine = EM_X86_64;
        eh.e_version = EV_CURRENT;
        eh.e_entry = kLoadAddr;
        eh.e_phoff = sizeof(Elf64_Ehdr);
        eh.e_ehsize = sizeof(Elf64_Ehdr);
        eh.e_phentsize = sizeof(Elf64_Phdr);
        eh.e_phnum = static_cast<uint16_t>(segments);
        header() = eh;
        for (unsigned i = 0; i < segments; i++) {
            Elf64_Phdr ph{};
            ph.p_type = PT_LOAD;
            ph.p_flags = PF_R | PF_X;
            ph.p_offset = code;
            ph.p_vaddr = ph.p_paddr = kLoadAddr + i * 0x10000;
            ph.p_filesz = 16;
            ph.p_memsz = 4096;
            phdr(i) = ph;
        }
    }

    // Appends a string table ("\0main\0"), a symbol table naming `main` at the entry,
    // and section headers [0] null, [1] the symbol table (sh_link = link), [2] the strings.
    void with_symbols(uint32_t link)
    {
        const char names[] = "\0main";
        Elf64_Off strtab = append(names, sizeof names);
        Elf64_Sym syms[2]{};
        syms[1].st_name = 1;
        syms[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
        syms[1].st_shndx = 1;
        syms[1].st_value = kLoadAddr;
        Elf64_Off symtab = append(syms, sizeof syms);
        Elf64_Shdr sections[3]{};
        sections[1] = {0, SHT_SYMTAB, 0, 0, symtab, sizeof syms, link, 1, 8, sizeof(Elf64_Sym)};
        sections[2] = {0, SHT_STRTAB, 0, 0, strtab, sizeof names, 0, 0, 1, 0};
        header().e_shoff = append(sections, sizeof sections);
        header().e_shnum = 3;
        header().e_shentsize = sizeof(Elf64_Shdr);
    }

    Elf64_Ehdr& header() { return *reinterpret_cast<Elf64_Ehdr*>(bytes.data()); }
    Elf64_Phdr& phdr(unsigned i = 0)
    {
        return *reinterpret_cast<Elf64_Phdr*>(bytes.data() + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
    }

private:
    Elf64_Off append(const void* data, size_t size)
    {
        bytes.resize((bytes.size() + 7) & ~size_t{7});
        Elf64_Off at = bytes.size();
        bytes.insert(bytes.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
        return at;
    }
};

std::string parse_error(std::vector<uint8_t> bytes)
{
    try {
        ElfImage::parse(std::move(bytes));
    } catch (const BadInput& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("a synthetic minimal ELF64 image parses and loads")
{
    SyntheticElf elf;
    ElfImage image = ElfImage::parse(elf.bytes);
    CHECK(image.entry() == kLoadAddr);
    REQUIRE(image.segments().size() == 1);
    CHECK(image.segments()[0].memsz == 4096);
    CHECK(image.symbols().empty());

    GuestMemory memory(2 << 20);
    memory.write<uint32_t>(kLoadAddr + 100, 0xdeadbeef);  // must be zero-filled by the load
    image.load_into(memory, kLoadAddr);
    CHECK(memory.read<uint8_t>(kLoadAddr) == 0x90);
    CHECK(memory.read<uint32_t>(kLoadAddr + 100) == 0);
}

TEST_CASE("the hello guest image has its segments and symbols")
{
    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/hello.elf");
    CHECK(image.entry() >= kLoadAddr);
    const Symbol* main_fn = image.find_symbol("main");
    REQUIRE(main_fn != nullptr);
    CHECK(main_fn->is_function);
    CHECK(image.symbolize(main_fn->value) == "main");
    CHECK(image.symbolize(main_fn->value + 1) == "main+0x1");
    CHECK(image.find_symbol("_start") != nullptr);
    CHECK(image.find_symbol("no_such_symbol") == nullptr);
}

TEST_CASE("malformed ELF images are rejected with a one-line reason")
{
    SyntheticElf elf;

    SECTION("empty file") { CHECK_THAT(parse_error({}), Catch::Contains("not an ELF image")); }
    SECTION("bad magic")
    {
        elf.bytes[1] = 'X';
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("bad magic"));
    }
    SECTION("ELF32 class")
    {
        elf.bytes[EI_CLASS] = ELFCLASS32;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("ELF32"));
    }
    SECTION("big-endian")
    {
        elf.bytes[EI_DATA] = ELFDATA2MSB;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("big-endian"));
    }
    SECTION("truncated header")
    {
        elf.bytes.resize(40);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("truncated"));
    }
    SECTION("truncated program header table")
    {
        elf.bytes.resize(sizeof(Elf64_Ehdr) + 10);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("program header table"));
    }
    SECTION("segment data past the end of the file")
    {
        elf.phdr().p_filesz = 1 << 20;
        elf.phdr().p_memsz = 1 << 20;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("runs past the end"));
    }
    SECTION("segment offset that overflows")
    {
        elf.phdr().p_offset = UINT64_MAX - 4;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("runs past the end"));
    }
    SECTION("file size larger than memory size")
    {
        elf.phdr().p_memsz = 8;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("exceeds memory size"));
    }
    SECTION("wrong machine")
    {
        elf.header().e_machine = EM_AARCH64;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("expected x86-64"));
    }
    SECTION("not an executable")
    {
        elf.header().e_type = ET_DYN;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("not an executable"));
    }
    SECTION("no loadable segment")
    {
        elf.phdr().p_type = PT_NOTE;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("no loadable"));
    }
    SECTION("entry outside every executable segment")
    {
        elf.header().e_entry = 0x500000;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("entry point"));
    }
    SECTION("section header table past the end")
    {
        elf.header().e_shoff = 1 << 20;
        elf.header().e_shnum = 3;
        elf.header().e_shentsize = sizeof(Elf64_Shdr);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("section header table"));
    }
}

TEST_CASE("PT_LOAD segments that overlap are refused, in either address space")
{
    SyntheticElf elf(2);
    SECTION("apart, they load")
    {
        CHECK(ElfImage::parse(elf.bytes).segments().size() == 2);
    }
    SECTION("in guest-physical memory")
    {
        elf.phdr(1).p_paddr = kLoadAddr + 0xfff;  // the first one's last byte
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("overlap in guest-physical memory"));
    }
    SECTION("in virtual memory")
    {
        elf.phdr(1).p_vaddr = kLoadAddr + 0x800;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("overlap in virtual memory"));
    }
    SECTION("one inside another, listed first")
    {
        elf.phdr(0).p_paddr = kLoadAddr + 0x10100;
        elf.phdr(0).p_memsz = 16;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("overlap in guest-physical memory"));
    }
    SECTION("touching is not overlapping")
    {
        elf.phdr(1).p_paddr = elf.phdr(1).p_vaddr = kLoadAddr + 0x1000;
        CHECK(ElfImage::parse(elf.bytes).segments().size() == 2);
    }
}

TEST_CASE("a symbol table must link to a string table other than itself")
{
    SyntheticElf elf;
    SECTION("linked to its string table, its symbols are read")
    {
        elf.with_symbols(2);
        ElfImage image = ElfImage::parse(elf.bytes);
        REQUIRE(image.find_symbol("main") != nullptr);
        CHECK(image.find_symbol("main")->value == kLoadAddr);
    }
    SECTION("linked to itself")
    {
        elf.with_symbols(1);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("symbol table (section 1) links to itself"));
    }
    SECTION("linked to a section that is no string table")
    {
        elf.with_symbols(0);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("links to section 0, which is not a string table"));
    }
    SECTION("linked to a missing section")
    {
        elf.with_symbols(7);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("links to missing section 7"));
    }
}

TEST_CASE("a truncated copy of a real guest is rejected")
{
    auto bytes = cr3rig::testing::read_file(CR3RIG_GUEST_DIR "/hello.elf");
    REQUIRE(bytes.size() > 200);
    // Cut inside the first segment's data: the header and program headers are intact.
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + 200);
    CHECK_THAT(parse_error(cut), Catch::Contains("truncated ELF image"));
}

TEST_CASE("segments that do not fit guest memory are rejected at load time")
{
    SyntheticElf elf;
    GuestMemory memory(2 << 20);

    SECTION("beyond the end of memory")
    {
        elf.phdr().p_paddr = (2 << 20) - 16;
        CHECK_THROWS_WITH(ElfImage::parse(elf.bytes).load_into(memory, kLoadAddr), Catch::Contains("does not fit"));
    }
    SECTION("over the VMM's boot area")
    {
        elf.phdr().p_paddr = 0x1000;
        CHECK_THROWS_WITH(ElfImage::parse(elf.bytes).load_into(memory, kLoadAddr), Catch::Contains("boot area"));
    }
}
