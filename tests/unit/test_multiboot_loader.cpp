// The multiboot loader on synthetic images built here (ELF32 and the a.out kludge),
// good and malformed, and on the real mb-* images; the boot information it writes is
// read back from guest memory field by field. No KVM.
#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "cr3rig/multiboot.h"
#include "harness/run_command.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/multiboot_image.hpp"
#include "vmm/multiboot_info.hpp"

using namespace cr3rig;

namespace {

constexpr uint32_t kLoad = 0x100000;     // where the synthetic images load
constexpr uint32_t kHeaderOffset = 0x100;  // of the multiboot header in the ELF32 file
constexpr uint64_t kMemory = 8 << 20;

void put_header(std::vector<uint8_t>& bytes, size_t offset, uint32_t flags)
{
    cr3rig_mb_header h{};
    h.magic = CR3RIG_MB_HEADER_MAGIC;
    h.flags = flags;
    h.checksum = 0u - (h.magic + h.flags);
    std::memcpy(bytes.data() + offset, &h, 12);
}

// An ELF32 i386 executable: one PT_LOAD from file offset kHeaderOffset (the multiboot
// header, then code) of 64 bytes, 0x3000 in memory (bss), entry just after the header.
struct SyntheticElf32 {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kHeaderOffset + 64, 0x90);

    explicit SyntheticElf32(uint32_t flags = CR3RIG_MB_PAGE_ALIGN | CR3RIG_MB_MEMORY_INFO)
    {
        Elf32_Ehdr eh{};
        std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS32;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_EXEC;
        eh.e_machine = EM_386;
        eh.e_version = EV_CURRENT;
        eh.e_entry = kLoad + 12;
        eh.e_phoff = sizeof(Elf32_Ehdr);
        eh.e_ehsize = sizeof(Elf32_Ehdr);
        eh.e_phentsize = sizeof(Elf32_Phdr);
        eh.e_phnum = 1;
        Elf32_Phdr ph{};
        ph.p_type = PT_LOAD;
        ph.p_flags = PF_R | PF_X;
        ph.p_offset = kHeaderOffset;
        ph.p_vaddr = ph.p_paddr = kLoad;
        ph.p_filesz = 64;
        ph.p_memsz = 0x3000;
        std::memcpy(bytes.data(), &eh, sizeof eh);
        std::memcpy(bytes.data() + sizeof eh, &ph, sizeof ph);
        put_header(bytes, kHeaderOffset, flags);
    }

    Elf32_Ehdr& header() { return *reinterpret_cast<Elf32_Ehdr*>(bytes.data()); }
    Elf32_Phdr& phdr() { return *reinterpret_cast<Elf32_Phdr*>(bytes.data() + sizeof(Elf32_Ehdr)); }
};

// Not ELF at all: 16 bytes of padding, then a header with flags bit 16 whose address
// fields place the file from offset 0 at 0x200000, 0x100 bytes of text and data,
// bss up to 0x202000, entry 0x200040.
struct SyntheticAout {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(0x100, 0xf4);
    cr3rig_mb_header h{};

    SyntheticAout()
    {
        h.magic = CR3RIG_MB_HEADER_MAGIC;
        h.flags = CR3RIG_MB_AOUT_KLUDGE;
        h.header_addr = 0x200010;
        h.load_addr = 0x200000;
        h.load_end_addr = 0x200100;
        h.bss_end_addr = 0x202000;
        h.entry_addr = 0x200040;
        write();
    }

    void write()
    {
        h.checksum = 0u - (h.magic + h.flags);
        std::memcpy(bytes.data() + 16, &h, sizeof h);
    }
};

std::string parse_error(const std::vector<uint8_t>& bytes)
{
    try {
        MultibootImage::parse(bytes);
    } catch (const BadInput& e) {
        return e.what();
    }
    return "(accepted)";
}

std::string boot_image_error(const std::vector<uint8_t>& bytes)
{
    try {
        parse_boot_image(bytes);
    } catch (const BadInput& e) {
        return e.what();
    }
    return "(accepted)";
}

std::vector<uint8_t> file_bytes(const char* name)
{
    auto text = cr3rig::testing::read_file(std::string(CR3RIG_GUEST_DIR "/") + name);
    return {text.begin(), text.end()};
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("a synthetic ELF32 multiboot image parses and loads at its physical address")
{
    SyntheticElf32 elf;
    elf.phdr().p_vaddr = 0xc0100000;  // a higher-half link: the entry is translated
    elf.header().e_entry = 0xc0100000 + 12;
    MultibootImage image = MultibootImage::parse(elf.bytes);
    CHECK(image.kind() == "multiboot");
    CHECK(image.header_offset() == kHeaderOffset);
    CHECK(image.flags() == (CR3RIG_MB_PAGE_ALIGN | CR3RIG_MB_MEMORY_INFO));
    CHECK(image.entry() == kLoad + 12);
    REQUIRE(image.segments().size() == 1);
    CHECK(image.end() == kLoad + 0x3000);

    GuestMemory memory(kMemory);
    memory.write<uint32_t>(kLoad + 0x100, 0xdeadbeef);  // bss: must be zero-filled
    uint32_t info_gpa = image.load_into(memory, {});
    CHECK(memory.read<uint32_t>(kLoad) == CR3RIG_MB_HEADER_MAGIC);
    CHECK(memory.read<uint8_t>(kLoad + 63) == 0x90);
    CHECK(memory.read<uint32_t>(kLoad + 0x100) == 0);
    CHECK(info_gpa == kLoad + 0x3000);  // right after the image, page-aligned
}

TEST_CASE("the boot information describes memory, command line, modules and loader")
{
    SyntheticElf32 elf;
    MultibootImage image = MultibootImage::parse(elf.bytes);
    GuestMemory memory(kMemory);
    BootArgs args{"mb-args alpha beta=2",
                  {{"env.txt", bytes_of("ANSWER=42\n")}, {"second", bytes_of("xyz")}}};
    auto info = memory.read<cr3rig_mb_info>(image.load_into(memory, args));

    CHECK(info.flags == (CR3RIG_MBI_MEMORY | CR3RIG_MBI_CMDLINE | CR3RIG_MBI_MODULES | CR3RIG_MBI_MEMORY_MAP |
                         CR3RIG_MBI_LOADER_NAME));
    CHECK(info.mem_lower == 640);
    CHECK(info.mem_upper == (kMemory - (1 << 20)) / 1024);
    CHECK(memory.read_cstring(info.cmdline, 100) == "mb-args alpha beta=2");
    CHECK(memory.read_cstring(info.boot_loader_name, 100) == "cr3rig");

    REQUIRE(info.mods_count == 2);
    auto env = memory.read<cr3rig_mb_module>(info.mods_addr);
    auto second = memory.read<cr3rig_mb_module>(info.mods_addr + sizeof(cr3rig_mb_module));
    CHECK(memory.read_cstring(env.string, 100) == "env.txt");
    CHECK(env.mod_end - env.mod_start == 10);
    CHECK(memory.read_cstring(env.mod_start, 10) == "ANSWER=42\n");
    CHECK(memory.read_cstring(second.string, 100) == "second");
    CHECK(memory.read_cstring(second.mod_start, 3) == "xyz");
    // Flags bit 0: modules on page boundaries.
    CHECK(env.mod_start % 4096 == 0);
    CHECK(second.mod_start % 4096 == 0);
    CHECK(second.mod_end <= kMemory);

    // The memory map: low memory, the legacy hole (reserved), upper memory to the end of RAM.
    REQUIRE(info.mmap_length == 3 * sizeof(cr3rig_mb_mmap_entry));
    std::vector<cr3rig_mb_mmap_entry> map;
    for (uint32_t p = info.mmap_addr; p < info.mmap_addr + info.mmap_length;) {
        map.push_back(memory.read<cr3rig_mb_mmap_entry>(p));
        p += map.back().size + 4;
    }
    REQUIRE(map.size() == 3);
    CHECK((map[0].base_addr == 0 && map[0].length == 0xa0000 && map[0].type == CR3RIG_MB_MEMORY_AVAILABLE));
    CHECK((map[1].base_addr == 0xa0000 && map[1].length == 0x60000 && map[1].type == CR3RIG_MB_MEMORY_RESERVED));
    CHECK((map[2].base_addr == 0x100000 && map[2].length == kMemory - 0x100000 &&
           map[2].type == CR3RIG_MB_MEMORY_AVAILABLE));
}

TEST_CASE("without flags bit 0 modules are not page-aligned")
{
    SyntheticElf32 elf(CR3RIG_MB_MEMORY_INFO);
    GuestMemory memory(kMemory);
    BootArgs args{"x", {{"a", bytes_of("abc")}, {"b", bytes_of("defg")}}};
    auto info = memory.read<cr3rig_mb_info>(MultibootImage::parse(elf.bytes).load_into(memory, args));
    auto a = memory.read<cr3rig_mb_module>(info.mods_addr);
    auto b = memory.read<cr3rig_mb_module>(info.mods_addr + sizeof(cr3rig_mb_module));
    CHECK(a.mod_start % 8 == 0);
    CHECK(b.mod_start % 8 == 0);
    CHECK(b.mod_start - a.mod_start < 4096);  // packed, not one page each
    CHECK(memory.read_cstring(b.mod_start, 4) == "defg");
}

TEST_CASE("an a.out kludge image loads from the header's addresses")
{
    SyntheticAout aout;
    MultibootImage image = MultibootImage::parse(aout.bytes);
    CHECK(image.entry() == 0x200040);
    REQUIRE(image.segments().size() == 1);
    CHECK(image.segments()[0].offset == 0);  // header at 16, header_addr - load_addr = 16
    CHECK(image.end() == 0x202000);

    GuestMemory memory(kMemory);
    memory.write<uint32_t>(0x201000, 0xdeadbeef);
    image.load_into(memory, {});
    CHECK(memory.read<uint32_t>(0x200010) == CR3RIG_MB_HEADER_MAGIC);
    CHECK(memory.read<uint8_t>(0x2000ff) == 0xf4);
    CHECK(memory.read<uint32_t>(0x201000) == 0);  // bss zeroed up to bss_end_addr

    SECTION("load_end_addr 0 loads the rest of the file, bss_end_addr 0 means no bss")
    {
        aout.h.load_end_addr = 0;
        aout.h.bss_end_addr = 0;
        aout.write();
        MultibootImage whole = MultibootImage::parse(aout.bytes);
        CHECK(whole.segments()[0].filesz == 0x100);
        CHECK(whole.end() == 0x200100);
    }
}

TEST_CASE("malformed multiboot images are rejected with a one-line reason")
{
    SyntheticElf32 elf;

    SECTION("no magic")
    {
        elf.bytes[kHeaderOffset] ^= 0xff;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("no multiboot header"));
    }
    SECTION("bad checksum")
    {
        elf.bytes[kHeaderOffset + 8] ^= 1;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("bad checksum"));
    }
    SECTION("magic not 4-byte aligned")
    {
        // Sized first, then copied in: g++ 12 at -O3 reports a false -Werror=array-bounds
        // inside vector::insert at the end of a small vector. Likewise below.
        std::vector<uint8_t> shifted(2 + elf.bytes.size(), 0);
        std::memcpy(shifted.data() + 2, elf.bytes.data(), elf.bytes.size());
        CHECK_THAT(parse_error(shifted), Catch::Contains("no multiboot header"));
    }
    SECTION("header beyond the first 8 KiB")
    {
        SyntheticAout aout;
        std::vector<uint8_t> late(8192 + aout.bytes.size(), 0);
        std::memcpy(late.data() + 8192, aout.bytes.data(), aout.bytes.size());
        CHECK_THAT(parse_error(late), Catch::Contains("no multiboot header"));
    }
    SECTION("truncated: the file ends inside the segment")
    {
        elf.bytes.resize(kHeaderOffset + 16);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("truncated ELF image"));
    }
    SECTION("truncated: the program header table runs past the end")
    {
        elf.header().e_phoff = static_cast<uint32_t>(elf.bytes.size() - 8);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("program header table"));
    }
    SECTION("truncated: segment data past the end of the file")
    {
        elf.phdr().p_filesz = 0x1000;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("runs past the end"));
    }
    SECTION("ELF64 with a header but no load addresses")
    {
        elf.bytes[EI_CLASS] = ELFCLASS64;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("objcopy -O elf32-i386"));
    }
    SECTION("wrong machine")
    {
        elf.header().e_machine = EM_ARM;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("expected i386"));
    }
    SECTION("entry outside every executable segment")
    {
        elf.header().e_entry = 0x900000;
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("entry point"));
    }
    SECTION("a video mode is required")
    {
        put_header(elf.bytes, kHeaderOffset, CR3RIG_MB_VIDEO_MODE);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("video mode"));
    }
    SECTION("an unknown required flag")
    {
        put_header(elf.bytes, kHeaderOffset, 1u << 5);
        CHECK_THAT(parse_error(elf.bytes), Catch::Contains("requires features cr3rig does not know"));
    }
    SECTION("not ELF and no load addresses")
    {
        std::vector<uint8_t> raw(64, 0);
        put_header(raw, 0, 0);
        CHECK_THAT(parse_error(raw), Catch::Contains("not ELF"));
    }
}

TEST_CASE("malformed a.out kludge addresses are rejected")
{
    struct Case {
        const char* what;
        void (*change)(cr3rig_mb_header&);
        const char* error;
    };
    const Case cases[] = {
        {"load_addr above header_addr", [](cr3rig_mb_header& h) { h.load_addr = 0x200020; }, "above header_addr"},
        {"load_addr before the start of the file", [](cr3rig_mb_header& h) { h.load_addr = 0x1f0000; },
         "before the file"},
        {"text and data past the end of the file", [](cr3rig_mb_header& h) { h.load_end_addr = 0x201000; },
         "runs past the end"},
        {"bss ending before the data", [](cr3rig_mb_header& h) { h.bss_end_addr = 0x200080; }, "bss_end_addr"},
        // In the bss: nothing to run there.
        {"entry outside what is loaded", [](cr3rig_mb_header& h) { h.entry_addr = 0x201000; }, "entry_addr"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        SyntheticAout aout;
        c.change(aout.h);
        aout.write();
        CHECK_THAT(parse_error(aout.bytes), Catch::Contains(c.error));
    }
    SyntheticAout cut;
    cut.bytes.resize(16 + 20);  // the header's address fields cut off
    CHECK_THAT(parse_error(cut.bytes), Catch::Contains("truncated multiboot image"));
}

TEST_CASE("multiboot images load below 1 MiB (realmode.flat at 0x8000), their boot information at 1 MiB")
{
    SyntheticElf32 elf;
    elf.phdr().p_paddr = 0x8000;
    GuestMemory memory(kMemory);
    uint32_t info = MultibootImage::parse(elf.bytes).load_into(memory, {});
    CHECK(info >= 0x100000u);
    CHECK(memory.read<uint8_t>(0x8000) == elf.bytes[elf.phdr().p_offset]);
}

TEST_CASE("multiboot images that do not fit guest memory are rejected at load time")
{
    SyntheticElf32 elf;
    GuestMemory memory(kMemory);

    SECTION("a segment beyond the end of memory")
    {
        elf.phdr().p_paddr = kMemory - 16;
        CHECK_THROWS_WITH(MultibootImage::parse(elf.bytes).load_into(memory, {}), Catch::Contains("does not fit"));
    }
    SECTION("a segment over the VGA hole and the BIOS area")
    {
        elf.phdr().p_paddr = 0x9f000;
        CHECK_THROWS_WITH(MultibootImage::parse(elf.bytes).load_into(memory, {}), Catch::Contains("BIOS area"));
        elf.phdr().p_paddr = 0xf0000;
        CHECK_THROWS_WITH(MultibootImage::parse(elf.bytes).load_into(memory, {}), Catch::Contains("BIOS area"));
    }
    SECTION("modules that do not fit after the image")
    {
        BootArgs args{"", {{"big", std::vector<uint8_t>(kMemory, 1)}}};
        CHECK_THROWS_WITH(MultibootImage::parse(elf.bytes).load_into(memory, args), Catch::Contains("do not fit"));
    }
    SECTION("boot information right at the end of memory")
    {
        elf.phdr().p_paddr = kMemory - 0x3000;  // the image fills memory to its last byte
        CHECK_THROWS_WITH(MultibootImage::parse(elf.bytes).load_into(memory, {}), Catch::Contains("do not fit"));
    }
}

TEST_CASE("parse_boot_image picks the format by content")
{
    CHECK(parse_boot_image(SyntheticElf32().bytes)->kind() == "multiboot");
    CHECK(parse_boot_image(SyntheticAout().bytes)->kind() == "multiboot");
    auto hello = parse_boot_image(file_bytes("hello.elf"));
    CHECK(hello->kind() == "ELF64");
    CHECK(hello->elf64() != nullptr);
    CHECK(parse_boot_image(SyntheticElf32().bytes)->elf64() == nullptr);

    SyntheticElf32 no_header;
    no_header.bytes[kHeaderOffset] = 0;
    CHECK_THAT(boot_image_error(no_header.bytes), Catch::Contains("ELF32 image without a multiboot header"));
    CHECK_THAT(boot_image_error(bytes_of("#!/bin/sh\n")), Catch::Contains("not an ELF image"));
    CHECK_THAT(boot_image_error({}), Catch::Contains("not an ELF image"));
    // An ELF64 guest of ours has no multiboot header: the multiboot loader refuses it.
    CHECK_THAT(parse_error(file_bytes("hello.elf")), Catch::Contains("no multiboot header"));
    CHECK_THAT(std::string([]() -> std::string {  // a copy: what() dies with the exception
                   try {
                       require_elf64(*parse_boot_image(SyntheticElf32().bytes), "cr3rig sites");
                   } catch (const BadInput& e) {
                       return e.what();
                   }
                   return "(accepted)";
               }()),
               Catch::Contains("cr3rig sites works on ELF64 images only: this is a multiboot image"));
}

TEST_CASE("the mb guests are ELF32 multiboot images with their header up front")
{
    for (const char* name : {"mb-pass.elf", "mb-fail.elf", "mb-skip.elf", "mb-args.elf", "mb-fwcfg.elf",
                             "mb-timeout.elf", "mb-cr3-switch.elf"}) {
        INFO(name);
        auto bytes = file_bytes(name);
        REQUIRE(bytes.size() > EI_NIDENT);
        CHECK(bytes[EI_CLASS] == ELFCLASS32);
        MultibootImage image = MultibootImage::parse(bytes);
        CHECK(image.header_offset() < CR3RIG_MB_HEADER_SEARCH);
        CHECK(image.flags() == (CR3RIG_MB_PAGE_ALIGN | CR3RIG_MB_MEMORY_INFO));
        CHECK(image.entry() == image.segments().front().gpa + 12);  // _start follows the header
        GuestMemory memory(kMemory);
        CHECK(image.load_into(memory, {"x", {}}) % 4096 == 0);
    }
}
