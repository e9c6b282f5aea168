// The Capstone site scanner: hand-assembled x86-64 byte sequences (encodings checked
// with GNU as + objdump), and the sites of the real guest images.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "traps/cr3_site.hpp"
#include "vmm/elf_loader.hpp"

using namespace cr3rig;

namespace {

constexpr uint64_t kBase = 0x200000;

std::vector<Cr3Site> scan(const std::vector<uint8_t>& code, uint64_t address = kBase)
{
    return scan_cr3_sites(code.data(), code.size(), address);
}

// The only site of `code`, which must have exactly one.
Cr3Site only_site(const std::vector<uint8_t>& code)
{
    auto sites = scan(code);
    REQUIRE(sites.size() == 1);
    return sites[0];
}

size_t count_kind(const std::vector<Cr3Site>& sites, SiteKind kind)
{
    size_t n = 0;
    for (const auto& s : sites)
        n += s.kind == kind;
    return n;
}

}  // namespace

TEST_CASE("mov %cr3,%rax is a CR3 read into rax (kvm_regs index 0)")
{
    auto s = only_site({0x0f, 0x20, 0xd8});
    CHECK(s.kind == SiteKind::Cr3Read);
    CHECK(s.reg == "rax");
    CHECK(s.reg_index == 0);
    CHECK(s.address == kBase);
    CHECK(s.bytes == std::vector<uint8_t>{0x0f, 0x20, 0xd8});
    CHECK(s.symbol.empty());
}

TEST_CASE("mov %cr3,%r14 (REX.B) is a CR3 read into r14 (index 14)")
{
    auto s = only_site({0x41, 0x0f, 0x20, 0xde});
    CHECK(s.kind == SiteKind::Cr3Read);
    CHECK(s.reg == "r14");
    CHECK(s.reg_index == 14);
    CHECK(s.bytes == std::vector<uint8_t>{0x41, 0x0f, 0x20, 0xde});
}

TEST_CASE("mov %rdi,%cr3 is a CR3 write from rdi (index 5)")
{
    auto s = only_site({0x0f, 0x22, 0xdf});
    CHECK(s.kind == SiteKind::Cr3Write);
    CHECK(s.reg == "rdi");
    CHECK(s.reg_index == 5);
    CHECK(s.bytes == std::vector<uint8_t>{0x0f, 0x22, 0xdf});
}

TEST_CASE("mov %r11,%cr3 is a CR3 write from r11 (index 11)")
{
    auto s = only_site({0x41, 0x0f, 0x22, 0xdb});
    CHECK(s.kind == SiteKind::Cr3Write);
    CHECK(s.reg == "r11");
    CHECK(s.reg_index == 11);
}

TEST_CASE("register indices follow kvm_regs order for rsp, rbp, r8 and r15")
{
    // mov %rsp,%cr3; mov %cr3,%rbp; mov %r8,%cr3; mov %cr3,%r15
    auto sites = scan({0x0f, 0x22, 0xdc, 0x0f, 0x20, 0xdd, 0x41, 0x0f, 0x22, 0xd8, 0x41, 0x0f, 0x20, 0xdf});
    REQUIRE(sites.size() == 4);
    CHECK(sites[0].reg == "rsp");
    CHECK(sites[0].reg_index == 6);
    CHECK(sites[1].reg == "rbp");
    CHECK(sites[1].reg_index == 7);
    CHECK(sites[2].reg == "r8");
    CHECK(sites[2].reg_index == 8);
    CHECK(sites[3].reg == "r15");
    CHECK(sites[3].reg_index == 15);
}

TEST_CASE("mov %rax,%cr4 is a CR4 write, while mov %cr4,%rax and CR0 moves are not sites")
{
    auto s = only_site({0x0f, 0x22, 0xe0});
    CHECK(s.kind == SiteKind::Cr4Write);
    CHECK(s.reg == "rax");
    CHECK(s.reg_index == 0);

    CHECK(scan({0x0f, 0x20, 0xe0}).empty());  // mov %cr4,%rax
    CHECK(scan({0x0f, 0x20, 0xc0}).empty());  // mov %cr0,%rax
    CHECK(scan({0x0f, 0x22, 0xc0}).empty());  // mov %rax,%cr0
}

TEST_CASE("invlpg and invpcid are flush sites without a register operand")
{
    auto invlpg = only_site({0x0f, 0x01, 0x38});  // invlpg (%rax)
    CHECK(invlpg.kind == SiteKind::Invlpg);
    CHECK(invlpg.reg.empty());
    CHECK(invlpg.reg_index == -1);
    CHECK(invlpg.bytes == std::vector<uint8_t>{0x0f, 0x01, 0x38});

    auto invpcid = only_site({0x66, 0x0f, 0x38, 0x82, 0x08});  // invpcid (%rax),%rcx
    CHECK(invpcid.kind == SiteKind::Invpcid);
    CHECK(invpcid.reg.empty());
    CHECK(invpcid.reg_index == -1);
    CHECK(invpcid.bytes == std::vector<uint8_t>{0x66, 0x0f, 0x38, 0x82, 0x08});
}

TEST_CASE("code without sites (nops, ordinary movs, ret) yields nothing")
{
    // nop; mov %rsp,%rbp; mov %rdi,%rax; ret
    CHECK(scan({0x90, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xf8, 0xc3}).empty());
    CHECK(scan({}).empty());
}

TEST_CASE("sites among other instructions get the base address plus their offset, in order")
{
    const std::vector<uint8_t> code = {
        0x90,                          // +0x00 nop
        0x0f, 0x20, 0xd8,              // +0x01 mov %cr3,%rax
        0x90, 0x90,                    // +0x04 nop; nop
        0x41, 0x0f, 0x22, 0xdb,        // +0x06 mov %r11,%cr3
        0x0f, 0x22, 0xe0,              // +0x0a mov %rax,%cr4
        0x0f, 0x20, 0xe0,              // +0x0d mov %cr4,%rax  (not a site)
        0x0f, 0x01, 0x38,              // +0x10 invlpg (%rax)
        0x66, 0x0f, 0x38, 0x82, 0x08,  // +0x13 invpcid (%rax),%rcx
        0xc3,                          // +0x18 ret
    };
    auto sites = scan(code, 0x100b80);
    REQUIRE(sites.size() == 5);
    CHECK(sites[0].address == 0x100b81);
    CHECK(sites[0].kind == SiteKind::Cr3Read);
    CHECK(sites[1].address == 0x100b86);
    CHECK(sites[1].kind == SiteKind::Cr3Write);
    CHECK(sites[1].bytes == std::vector<uint8_t>{0x41, 0x0f, 0x22, 0xdb});
    CHECK(sites[2].address == 0x100b8a);
    CHECK(sites[2].kind == SiteKind::Cr4Write);
    CHECK(sites[3].address == 0x100b90);
    CHECK(sites[3].kind == SiteKind::Invlpg);
    CHECK(sites[4].address == 0x100b93);
    CHECK(sites[4].kind == SiteKind::Invpcid);
}

TEST_CASE("bytes that do not decode do not stop the sweep")
{
    // 0x06 (push %es) and 0x27 (daa) are invalid in 64-bit mode.
    const std::vector<uint8_t> code = {
        0x0f, 0x20, 0xd8,  // +0 mov %cr3,%rax
        0x06, 0x27, 0x06,  // +3 invalid
        0x0f, 0x22, 0xdf,  // +6 mov %rdi,%cr3
        0x06,              // +9 invalid
        0x0f, 0x01, 0x38,  // +10 invlpg (%rax)
        0x27,              // +13 invalid, last byte
    };
    auto sites = scan(code);
    REQUIRE(sites.size() == 3);
    CHECK(sites[0].kind == SiteKind::Cr3Read);
    CHECK(sites[0].address == kBase);
    CHECK(sites[1].kind == SiteKind::Cr3Write);
    CHECK(sites[1].reg == "rdi");
    CHECK(sites[1].address == kBase + 6);
    CHECK(sites[2].kind == SiteKind::Invlpg);
    CHECK(sites[2].address == kBase + 10);
}

TEST_CASE("a site truncated at the end of the code is not reported")
{
    // nop, then the first two bytes of mov %cr3,%rax.
    CHECK(scan({0x90, 0x0f, 0x20}).empty());
}

TEST_CASE("lazytlb-buggy has one CR3 read in read_cr3 and one write in write_cr3")
{
    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/lazytlb-buggy.elf");
    auto sites = scan_cr3_sites(image);
    REQUIRE(count_kind(sites, SiteKind::Cr3Read) == 1);
    REQUIRE(count_kind(sites, SiteKind::Cr3Write) == 1);
    for (const auto& s : sites) {
        if (s.kind == SiteKind::Cr3Read) {
            CHECK(s.symbol == "read_cr3");
            const Symbol* fn = image.find_symbol("read_cr3");
            REQUIRE(fn != nullptr);
            CHECK(s.address == fn->value);
        }
        if (s.kind == SiteKind::Cr3Write) {
            CHECK(s.symbol == "write_cr3");
            const Symbol* fn = image.find_symbol("write_cr3");
            REQUIRE(fn != nullptr);
            CHECK(s.address == fn->value);
        }
    }
    for (size_t i = 1; i < sites.size(); i++)
        CHECK(sites[i - 1].address < sites[i].address);
}

TEST_CASE("the hello guest has no CR3 sites")
{
    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/hello.elf");
    CHECK(scan_cr3_sites(image).empty());
}

// guest/tests/cr3_switch.c is built twice: with out-of-line read_cr3()/write_cr3() and,
// as cr3-switch-inline, with the accessors inlined at each of their three uses.
TEST_CASE("cr3-switch has one read and one write site in its out-of-line accessors, and two flushes")
{
    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/cr3-switch.elf");
    auto sites = scan_cr3_sites(image);
    REQUIRE(sites.size() == 4);
    CHECK(sites[0].kind == SiteKind::Cr3Read);
    CHECK(sites[0].symbol == "read_cr3");
    CHECK(sites[1].kind == SiteKind::Cr3Write);
    CHECK(sites[1].symbol == "write_cr3");
    CHECK(sites[2].kind == SiteKind::Cr4Write);
    CHECK(sites[2].symbol == "write_cr4");
    CHECK(sites[3].kind == SiteKind::Invlpg);
    CHECK_THAT(sites[3].symbol, Catch::StartsWith("main+0x"));
}

// mb-cr3-switch is cr3_switch.c again, linked against the multiboot library: past its
// 32-bit entry (a CR4 and a CR3 write of its own, run once), the same sites with the
// same bytes in the same functions as cr3-switch. The gdb-stub benchmark relies on it.
TEST_CASE("mb-cr3-switch has cr3-switch's sites, plus its entry's CR4 and CR3 writes")
{
    auto elf64 = scan_cr3_sites(ElfImage::read_file(CR3RIG_GUEST_DIR "/cr3-switch.elf"));
    auto mb = scan_cr3_sites(ElfImage::read_file(CR3RIG_GUEST_DIR "/mb-cr3-switch.elf64"));
    REQUIRE(mb.size() == elf64.size() + 2);
    CHECK(mb[0].kind == SiteKind::Cr4Write);
    CHECK(mb[1].kind == SiteKind::Cr3Write);
    for (size_t i = 0; i < 2; i++)
        CHECK_THAT(mb[i].symbol, Catch::StartsWith("_start+0x"));
    for (size_t i = 0; i < elf64.size(); i++) {
        const Cr3Site &a = elf64[i], &b = mb[i + 2];
        INFO(a.symbol);
        CHECK(a.kind == b.kind);
        CHECK(a.bytes == b.bytes);
        CHECK(a.symbol.substr(0, a.symbol.find('+')) == b.symbol.substr(0, b.symbol.find('+')));
    }
}

TEST_CASE("cr3-switch-inline has three CR3 reads, three CR3 writes and the flushes, all inside main")
{
    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/cr3-switch-inline.elf");
    auto sites = scan_cr3_sites(image);
    CHECK(count_kind(sites, SiteKind::Cr3Read) == 3);
    CHECK(count_kind(sites, SiteKind::Cr3Write) == 3);
    CHECK(count_kind(sites, SiteKind::Cr4Write) == 2);  // PGE off, PGE on: both inlined
    CHECK(count_kind(sites, SiteKind::Invlpg) == 1);
    CHECK(sites.size() == 9);
    for (const auto& s : sites) {
        CHECK_THAT(s.symbol, Catch::StartsWith("main+0x"));
        CHECK((s.kind == SiteKind::Invlpg || s.reg_index >= 0));
        CHECK(s.bytes.size() >= 3);
    }
    for (size_t i = 1; i < sites.size(); i++)
        CHECK(sites[i - 1].address < sites[i].address);
}
