// PagedGuestMemory (vmm/completion/paged_memory.cpp) on a real GuestMemory (no KVM):
// page tables built in guest RAM for each paging mode, checked against the Intel SDM
// vol.3 ch.4 (translation, page sizes, the access rights of 4.6, the #PF error codes of
// 4.7, the Accessed and Dirty flags of 4.8).
#include <catch2/catch.hpp>

#include <cstring>
#include <variant>

#include "tests/support/completion_fixture.hpp"
#include "vmm/completion/paged_memory.hpp"
#include "vmm/guest_memory.hpp"

using namespace cr3rig;
using namespace cr3rig::test;

namespace {

constexpr uint64_t kRam = 16 << 20;
constexpr uint64_t P = 1, W = 2, U = 4, A = 1 << 5, D = 1 << 6, PS = 1 << 7, XD = 1ull << 63;
constexpr uint64_t kPse = 1ull << 4;  // CR4.PSE
constexpr uint32_t kErrP = 1, kErrW = 2, kErrU = 4, kErrRsvd = 8, kErrFetch = 16, kErrKey = 32;

enum class Paging { Bits32, Pae, Level4, Level5 };

// Page tables in guest RAM, allocated upwards from 1 MiB.
class Tables {
public:
    Tables(GuestMemory& ram, Paging paging) : ram_(ram), paging_(paging)
    {
        root = fresh();
        if (paging == Paging::Pae)
            root += 0x20;  // PAE's CR3 needs 32-byte alignment only
    }

    uint64_t root;

    int levels() const
    {
        switch (paging_) {
        case Paging::Bits32: return 2;
        case Paging::Pae: return 3;
        case Paging::Level4: return 4;
        case Paging::Level5: return 5;
        }
        return 0;
    }
    unsigned entry_size() const { return paging_ == Paging::Bits32 ? 4 : 8; }
    unsigned shift(int level) const { return paging_ == Paging::Bits32 ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1); }
    bool pdpt(int level) const { return paging_ == Paging::Pae && level == 3; }

    // Maps the page of `linear` to `gpa`: the leaf at `leaf_level` (PS added above 1)
    // gets `flags`, every entry above it `table_flags` when it is created (a PAE PDPTE
    // only P).
    void map(uint64_t linear, uint64_t gpa, uint64_t flags, int leaf_level = 1, uint64_t table_flags = P | W | U)
    {
        uint64_t table = root;
        for (int level = levels(); level > leaf_level; level--) {
            uint64_t at = slot(table, linear, level);
            uint64_t e = get(at);
            if (!(e & P)) {
                e = fresh() | (pdpt(level) ? P : table_flags);
                set(at, e);
            }
            table = e & 0x000ffffffffff000ull;
        }
        set(slot(table, linear, leaf_level), gpa | flags | (leaf_level > 1 ? PS : 0));
    }

    // The entry's guest-physical address at `level` for `linear` (the tables above must exist).
    uint64_t entry(uint64_t linear, int level) const
    {
        uint64_t table = root;
        for (int l = levels(); l > level; l--)
            table = get(slot(table, linear, l)) & 0x000ffffffffff000ull;
        return slot(table, linear, level);
    }
    uint64_t get(uint64_t at) const { return entry_size() == 8 ? ram_.read<uint64_t>(at) : ram_.read<uint32_t>(at); }
    void set(uint64_t at, uint64_t value)
    {
        if (entry_size() == 8)
            ram_.write<uint64_t>(at, value);
        else
            ram_.write<uint32_t>(at, static_cast<uint32_t>(value));
    }
    void change(uint64_t linear, int level, uint64_t set_bits, uint64_t clear_bits = 0)
    {
        uint64_t at = entry(linear, level);
        set(at, (get(at) & ~clear_bits) | set_bits);
    }

private:
    uint64_t slot(uint64_t table, uint64_t linear, int level) const
    {
        uint64_t mask = paging_ == Paging::Bits32 ? 0x3ff : pdpt(level) ? 0x3 : 0x1ff;
        return table + ((linear >> shift(level)) & mask) * entry_size();
    }
    uint64_t fresh()
    {
        uint64_t at = next_;
        next_ += 0x1000;
        std::memset(ram_.span(at, 0x1000).data(), 0, 0x1000);
        return at;
    }

    GuestMemory& ram_;
    Paging paging_;
    uint64_t next_ = 0x100000;
};

CpuState paged(Paging paging, uint64_t cr3)
{
    CpuState cpu;
    cpu.sregs.cr0 = cr0::kPE | cr0::kPG | cr0::kWP;
    cpu.sregs.cr3 = cr3;
    cpu.sregs.cs.selector = 0x8;
    cpu.sregs.cs.present = 1;
    cpu.regs.rflags = 0x2;
    switch (paging) {
    case Paging::Bits32:
        cpu.sregs.cr4 = kPse;
        cpu.sregs.cs.db = 1;
        break;
    case Paging::Pae:
        cpu.sregs.cr4 = cr4::kPAE;
        cpu.sregs.efer = efer::kNXE;
        cpu.sregs.cs.db = 1;
        break;
    case Paging::Level5:
        cpu.sregs.cr4 = cr4::kLA57;
        [[fallthrough]];
    case Paging::Level4:
        cpu.sregs.cr4 |= cr4::kPAE;
        cpu.sregs.efer = efer::kLME | efer::kLMA | efer::kNXE;
        cpu.sregs.cs.l = 1;
        break;
    }
    cpu.cpuid = cpuid_with({"pdpe1gb"});
    return cpu;
}

void at_cpl3(CpuState& cpu) { cpu.sregs.cs.selector = 0x2b; }

void set_maxphyaddr(CpuState& cpu, unsigned bits)
{
    kvm_cpuid_entry2 e{};
    e.function = 0x80000008;
    e.eax = bits | (48u << 8);
    cpu.cpuid.push_back(e);
}

using Translation = std::variant<uint64_t, PageFault, NotRam, Unmodelled>;
using Intent = PagedGuestMemory::Intent;

Translation translate(GuestMemory& ram, const CpuState& cpu, uint64_t linear, Intent intent = Intent::Read,
                      AccessMode mode = AccessMode::Data)
{
    PagedGuestMemory m(ram, cpu);
    return m.translate(linear, intent, mode);
}

void check_gpa(const Translation& t, uint64_t gpa)
{
    INFO("translation index " << t.index());
    if (const auto* f = std::get_if<PageFault>(&t))
        INFO("page fault at " << f->address << " error " << f->error_code);
    REQUIRE(std::holds_alternative<uint64_t>(t));
    CHECK(std::get<uint64_t>(t) == gpa);
}

void check_fault(const Translation& t, uint64_t linear, uint32_t error)
{
    INFO("translation index " << t.index());
    REQUIRE(std::holds_alternative<PageFault>(t));
    CHECK(std::get<PageFault>(t).address == linear);
    CHECK(std::get<PageFault>(t).error_code == error);
}

void check_fault(const Access& a, uint64_t linear, uint32_t error)
{
    INFO("access index " << a.index());
    REQUIRE(std::holds_alternative<PageFault>(a));
    CHECK(std::get<PageFault>(a).address == linear);
    CHECK(std::get<PageFault>(a).error_code == error);
}

bool ok(const Access& a) { return std::holds_alternative<AccessOk>(a); }

// PAE tests other than the one on PDPTEs' bit 5 clear it before each access, so that
// one defect shows in one test.
void clear_pdpte_bit5(GuestMemory& ram, const Tables& t)
{
    for (uint64_t i = 0; i < 4; i++)
        ram.write<uint64_t>(t.root + 8 * i, ram.read<uint64_t>(t.root + 8 * i) & ~A);
}

Translation translate_pae(GuestMemory& ram, const Tables& t, const CpuState& cpu, uint64_t linear,
                          Intent intent = Intent::Read)
{
    clear_pdpte_bit5(ram, t);
    return translate(ram, cpu, linear, intent);
}

// A 4-level guest with one page, U/S and R/W set everywhere: linear kPage -> kFrame.
constexpr uint64_t kPage = 0x00007f1234567000ull, kFrame = 0x5000;

}  // namespace

TEST_CASE("paging: 4-level translation, reads and writes, Accessed and Dirty flags", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    t.map(0xffff800000001000ull, 0x6000, P | W);
    CpuState cpu = paged(Paging::Level4, t.root);
    ram.write<uint32_t>(kFrame + 0x123, 0xcafef00d);

    check_gpa(translate(ram, cpu, kPage + 0x123), kFrame + 0x123);
    for (int level = 4; level >= 1; level--) {
        INFO("level " << level);
        CHECK((t.get(t.entry(kPage, level)) & A) != 0);
        CHECK((t.get(t.entry(kPage, level)) & D) == 0);
    }
    PagedGuestMemory m(ram, cpu);
    uint32_t value = 0;
    REQUIRE(ok(m.read(kPage + 0x123, {reinterpret_cast<uint8_t*>(&value), 4})));
    CHECK(value == 0xcafef00d);
    CHECK((t.get(t.entry(kPage, 1)) & D) == 0);

    const uint32_t put = 0x11223344;
    REQUIRE(ok(m.write(kPage + 0x123, {reinterpret_cast<const uint8_t*>(&put), 4})));
    CHECK(ram.read<uint32_t>(kFrame + 0x123) == put);
    CHECK((t.get(t.entry(kPage, 1)) & D) != 0);
    for (int level = 4; level >= 2; level--) {
        INFO("level " << level);
        CHECK((t.get(t.entry(kPage, level)) & D) == 0);
    }

    // The upper half, through PML4 entry 256.
    check_gpa(translate(ram, cpu, 0xffff800000001abcull), 0x6abc);
    // CR3's low bits (PCID, PWT/PCD) and bit 63 are not part of the table's address.
    cpu.sregs.cr3 = t.root | 0x18 | 0x005;
    check_gpa(translate(ram, cpu, kPage + 0x8), kFrame + 0x8);
}

TEST_CASE("paging: the Dirty flag is set on the leaf only, and only for writes", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    CpuState cpu = paged(Paging::Level4, t.root);
    check_gpa(translate(ram, cpu, kPage, Intent::Execute), kFrame);
    CHECK((t.get(t.entry(kPage, 1)) & (A | D)) == A);
    check_gpa(translate(ram, cpu, kPage, Intent::Write), kFrame);
    CHECK((t.get(t.entry(kPage, 1)) & (A | D)) == (A | D));

    // A 2 MiB page: the PDE is the leaf.
    t.map(0x40000000, 0x200000, P | W, 2);
    check_gpa(translate(ram, cpu, 0x40000010, Intent::Write), 0x200010);
    CHECK((t.get(t.entry(0x40000000, 2)) & (A | D)) == (A | D));
    CHECK((t.get(t.entry(0x40000000, 3)) & (A | D)) == A);
}

TEST_CASE("paging: 5-level translation with CR4.LA57", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level5);
    const uint64_t linear = 0x00ff123456789000ull;  // bits 56:48 pick the PML5 entry
    t.map(linear, 0x7000, P | W | U);
    CpuState cpu = paged(Paging::Level5, t.root);
    check_gpa(translate(ram, cpu, linear + 0x42), 0x7042);
    for (int level = 5; level >= 1; level--) {
        INFO("level " << level);
        CHECK((t.get(t.entry(linear, level)) & A) != 0);
    }
    // A page-size bit in a PML5E is reserved.
    t.change(linear, 5, PS);
    check_fault(translate(ram, cpu, linear), linear, kErrP | kErrRsvd);
}

TEST_CASE("paging: PAE translation", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Pae);
    REQUIRE((t.root & 0xfff) == 0x20);
    t.map(0xc0001000, 0x6000, P | W | U);
    t.map(0x00400000, 0x400000, P | W, 2);  // a 2 MiB page
    CpuState cpu = paged(Paging::Pae, t.root);
    ram.write<uint32_t>(0x6010, 0x12345678);

    check_gpa(translate_pae(ram, t, cpu, 0xc0001010), 0x6010);
    check_gpa(translate_pae(ram, t, cpu, 0x005abcde), 0x5abcde);
    CHECK((t.get(t.entry(0xc0001000, 2)) & A) != 0);
    CHECK((t.get(t.entry(0xc0001000, 1)) & A) != 0);
    check_gpa(translate_pae(ram, t, cpu, 0xc0001010, Intent::Write), 0x6010);
    CHECK((t.get(t.entry(0xc0001000, 1)) & D) != 0);
    CHECK((t.get(t.entry(0xc0001000, 2)) & D) == 0);

    // 32-bit linear addresses: an access at the top of the space wraps to 0.
    t.map(0xfffff000, 0x8000, P | W);
    t.map(0x00000000, 0x9000, P | W);
    ram.write<uint8_t>(0x8fff, 0xaa);
    ram.write<uint8_t>(0x9000, 0xbb);
    clear_pdpte_bit5(ram, t);
    PagedGuestMemory m(ram, cpu);
    uint8_t two[2] = {};
    REQUIRE(ok(m.read(0xffffffff, two)));
    CHECK(two[0] == 0xaa);
    CHECK(two[1] == 0xbb);

    // A PDPTE that is not present.
    check_fault(translate_pae(ram, t, cpu, 0x80000000, Intent::Write), 0x80000000, kErrW);
}

TEST_CASE("paging: PAE PDPTEs have no Accessed flag (bit 5 is reserved there)", "[completion]")
{
    // SDM vol.3 4.4.1, Table 4-8: in a PAE PDPTE bits 8:5 are reserved; the processor
    // does not set an Accessed flag in it (4.8 lists A for the other entries only).
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Pae);
    t.map(0xc0001000, 0x6000, P | W | U);
    CpuState cpu = paged(Paging::Pae, t.root);
    const uint64_t pdpte = t.get(t.entry(0xc0001000, 3));
    check_gpa(translate(ram, cpu, 0xc0001010), 0x6010);
    CHECK(t.get(t.entry(0xc0001000, 3)) == pdpte);
    // And the second access still translates.
    check_gpa(translate(ram, cpu, 0xc0001020), 0x6020);
}

TEST_CASE("paging: PAE entries reserve bits 62:MAXPHYADDR", "[completion]")
{
    // SDM vol.3 Tables 4-9..4-11 (PAE PDE/PTE formats): bits 62:MAXPHYADDR are
    // reserved (bit 63 is XD with EFER.NXE, else reserved). Unlike 4-level paging, bits
    // 62:52 are not ignored.
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Pae);
    t.map(0xc0001000, 0x6000, P | W | U);
    CpuState cpu = paged(Paging::Pae, t.root);
    t.change(0xc0001000, 1, 1ull << 52);
    check_fault(translate_pae(ram, t, cpu, 0xc0001000), 0xc0001000, kErrP | kErrRsvd);
    t.change(0xc0001000, 1, 1ull << 62, 1ull << 52);
    check_fault(translate_pae(ram, t, cpu, 0xc0001000), 0xc0001000, kErrP | kErrRsvd);
    t.change(0xc0001000, 1, 0, 1ull << 62);
    t.change(0xc0001000, 2, 1ull << 55);
    check_fault(translate_pae(ram, t, cpu, 0xc0001000), 0xc0001000, kErrP | kErrRsvd);
}

TEST_CASE("paging: PAE execute-disable", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Pae);
    t.map(0xc0001000, 0x6000, P | W | U | XD);
    CpuState cpu = paged(Paging::Pae, t.root);
    check_gpa(translate_pae(ram, t, cpu, 0xc0001000), 0x6000);
    check_fault(translate_pae(ram, t, cpu, 0xc0001000, Intent::Execute), 0xc0001000, kErrP | kErrFetch);
    // Without EFER.NXE, bit 63 is reserved; the I/D flag stays clear.
    cpu.sregs.efer = 0;
    check_fault(translate_pae(ram, t, cpu, 0xc0001000), 0xc0001000, kErrP | kErrRsvd);
    check_fault(translate_pae(ram, t, cpu, 0xc0001000, Intent::Execute), 0xc0001000, kErrP | kErrRsvd);
}

TEST_CASE("paging: 32-bit paging, 4 KiB and 4 MiB pages", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Bits32);
    t.map(0x00401000, 0x7000, P | W | U);
    t.map(0x80000000, 0x400000, P | W, 2);  // a 4 MiB page
    CpuState cpu = paged(Paging::Bits32, t.root);

    check_gpa(translate(ram, cpu, 0x00401234), 0x7234);
    CHECK((t.get(t.entry(0x00401000, 2)) & (A | D)) == A);
    CHECK((t.get(t.entry(0x00401000, 1)) & (A | D)) == A);
    check_gpa(translate(ram, cpu, 0x00401234, Intent::Write), 0x7234);
    CHECK((t.get(t.entry(0x00401000, 1)) & (A | D)) == (A | D));
    CHECK((t.get(t.entry(0x00401000, 2)) & D) == 0);
    // Neighbouring 4-byte entries are untouched by the flag updates.
    CHECK(ram.read<uint32_t>(t.entry(0x00401000, 1) + 4) == 0);

    check_gpa(translate(ram, cpu, 0x80123456, Intent::Write), 0x523456);
    CHECK((t.get(t.entry(0x80000000, 2)) & (A | D)) == (A | D));

    // Not present, write, user.
    at_cpl3(cpu);
    check_fault(translate(ram, cpu, 0x00402000, Intent::Write), 0x00402000, kErrW | kErrU);
    check_fault(translate(ram, cpu, 0x80000000), 0x80000000, kErrP | kErrU);
}

TEST_CASE("paging: without CR4.PSE, a PDE's PS bit is ignored in 32-bit paging", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Bits32);
    t.map(0x00401000, 0x7000, P | W | U);
    t.change(0x00401000, 2, PS);
    CpuState cpu = paged(Paging::Bits32, t.root);
    cpu.sregs.cr4 = 0;
    check_gpa(translate(ram, cpu, 0x00401010), 0x7010);
}

TEST_CASE("paging: the I/D flag needs PAE and EFER.NXE (or SMEP)", "[completion]")
{
    // SDM vol.3 4.7: I/D is 1 for an instruction fetch when CR4.SMEP = 1, or when
    // CR4.PAE = 1 and IA32_EFER.NXE = 1; with 32-bit paging and NXE it stays 0.
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Bits32);
    t.map(0x00401000, 0x7000, P | W | U);
    CpuState cpu = paged(Paging::Bits32, t.root);
    check_fault(translate(ram, cpu, 0x00402000, Intent::Execute), 0x00402000, 0);
    cpu.sregs.cr4 |= cr4::kSMEP;
    check_fault(translate(ram, cpu, 0x00402000, Intent::Execute), 0x00402000, kErrFetch);
    cpu.sregs.cr4 &= ~cr4::kSMEP;
    cpu.sregs.efer = efer::kNXE;
    check_fault(translate(ram, cpu, 0x00402000, Intent::Execute), 0x00402000, 0);
}

TEST_CASE("paging: paging off", "[completion]")
{
    GuestMemory ram(kRam);
    CpuState cpu;
    cpu.sregs.cr0 = cr0::kPE;
    cpu.sregs.cs.db = 1;
    check_gpa(translate(ram, cpu, 0x123456, Intent::Write), 0x123456);
    ram.write<uint32_t>(0x2000, 0xabcdef01);
    PagedGuestMemory m(ram, cpu);
    uint32_t value = 0;
    REQUIRE(ok(m.read(0x2000, {reinterpret_cast<uint8_t*>(&value), 4})));
    CHECK(value == 0xabcdef01);
    auto past = translate(ram, cpu, kRam + 0x10);
    REQUIRE(std::holds_alternative<NotRam>(past));
    CHECK(std::get<NotRam>(past).address == kRam + 0x10);
    CpuState real;  // real mode too
    check_gpa(translate(ram, real, 0xffff0), 0xffff0);
}

TEST_CASE("paging: 1 GiB pages", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(0x40000000, 0, P | W, 3);
    CpuState cpu = paged(Paging::Level4, t.root);
    check_gpa(translate(ram, cpu, 0x40123456, Intent::Write), 0x123456);
    CHECK((t.get(t.entry(0x40000000, 3)) & (A | D)) == (A | D));
    CHECK((t.get(t.entry(0x40000000, 4)) & (A | D)) == A);
    // Past guest RAM within the page.
    auto past = translate(ram, cpu, 0x40000000 + kRam);
    REQUIRE(std::holds_alternative<NotRam>(past));
    CHECK(std::get<NotRam>(past).address == kRam);
    // Bit 12 is PAT, not address; bits 29:13 are reserved.
    t.change(0x40000000, 3, 1 << 12);
    check_gpa(translate(ram, cpu, 0x40000010), 0x10);
    t.change(0x40000000, 3, 1 << 13);
    check_fault(translate(ram, cpu, 0x40000010), 0x40000010, kErrP | kErrRsvd);
    t.change(0x40000000, 3, 1 << 29, 1 << 13);
    check_fault(translate(ram, cpu, 0x40000010, Intent::Write), 0x40000010, kErrP | kErrW | kErrRsvd);
}

TEST_CASE("paging: a PDPTE's PS bit is reserved without 1 GiB page support", "[completion]")
{
    // SDM vol.3 4.5.4: if CPUID.80000001H:EDX.Page1GB [bit 26] = 0, bit 7 of a PDPTE
    // is reserved (e.g. QEMU's qemu64 model lacks pdpe1gb).
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(0x40000000, 0, P | W, 3);
    CpuState cpu = paged(Paging::Level4, t.root);
    cpu.cpuid.clear();
    check_fault(translate(ram, cpu, 0x40000010), 0x40000010, kErrP | kErrRsvd);
}

TEST_CASE("paging: 2 MiB pages", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(0x40000000, 0x600000, P | W, 2);
    CpuState cpu = paged(Paging::Level4, t.root);
    check_gpa(translate(ram, cpu, 0x401fffff), 0x7fffff);
    t.change(0x40000000, 2, 1 << 12);  // PAT
    check_gpa(translate(ram, cpu, 0x40000010), 0x600010);
    t.change(0x40000000, 2, 1 << 20);
    check_fault(translate(ram, cpu, 0x40000010), 0x40000010, kErrP | kErrRsvd);
    t.change(0x40000000, 2, 1 << 13, 1 << 20);
    check_fault(translate(ram, cpu, 0x40000010), 0x40000010, kErrP | kErrRsvd);
}

TEST_CASE("paging: not-present entries at every level, with the W, U and I/D bits", "[completion]")
{
    for (int level = 4; level >= 1; level--) {
        INFO("level " << level);
        GuestMemory ram(kRam);
        Tables t(ram, Paging::Level4);
        t.map(kPage, kFrame, P | W | U);
        t.change(kPage, level, 0, P);
        CpuState cpu = paged(Paging::Level4, t.root);
        const uint64_t linear = kPage + 0x321;
        check_fault(translate(ram, cpu, linear), linear, 0);
        check_fault(translate(ram, cpu, linear, Intent::Write), linear, kErrW);
        check_fault(translate(ram, cpu, linear, Intent::Execute), linear, kErrFetch);
        at_cpl3(cpu);
        check_fault(translate(ram, cpu, linear), linear, kErrU);
        check_fault(translate(ram, cpu, linear, Intent::Write), linear, kErrW | kErrU);
        check_fault(translate(ram, cpu, linear, Intent::Execute), linear, kErrFetch | kErrU);
        // An implicit supervisor access at CPL3 reports a supervisor access.
        check_fault(translate(ram, cpu, linear, Intent::Read, AccessMode::ImplicitSupervisor), linear, 0);
        // The CPU never sets a flag in an entry that is not present.
        if (level > 1)
            CHECK((t.get(t.entry(kPage, level)) & A) == 0);
    }
}

TEST_CASE("paging: reserved bits above MAXPHYADDR", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    CpuState cpu = paged(Paging::Level4, t.root);
    SECTION("36 bits when CPUID does not say")
    {
        t.change(kPage, 1, 1ull << 36);
        check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrRsvd);
        check_fault(translate(ram, cpu, kPage, Intent::Write), kPage, kErrP | kErrW | kErrRsvd);
        at_cpl3(cpu);
        check_fault(translate(ram, cpu, kPage, Intent::Execute), kPage, kErrP | kErrU | kErrRsvd | kErrFetch);
    }
    SECTION("CPUID 0x80000008's EAX[7:0]")
    {
        set_maxphyaddr(cpu, 46);
        t.change(kPage, 2, 1ull << 45);  // an address bit: the page table is then not in RAM
        auto beyond = translate(ram, cpu, kPage);
        CHECK(std::holds_alternative<Unmodelled>(beyond));
        t.change(kPage, 2, 1ull << 46, 1ull << 45);
        check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrRsvd);
        t.change(kPage, 2, 1ull << 51, 1ull << 46);
        check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrRsvd);
        t.change(kPage, 2, 0, 1ull << 51);
        t.change(kPage, 4, 1ull << 50);  // in the PML4E
        check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrRsvd);
        t.change(kPage, 4, 0, 1ull << 50);
        t.change(kPage, 1, 1ull << 40);  // a frame past guest RAM, not reserved
        auto frame = translate(ram, cpu, kPage);
        REQUIRE(std::holds_alternative<NotRam>(frame));
        CHECK(std::get<NotRam>(frame).address == (kFrame | 1ull << 40));
    }
    SECTION("bits 58:52 are ignored in 4-level paging")
    {
        t.change(kPage, 1, 0x7full << 52);
        t.change(kPage, 3, 0x7full << 52);
        check_gpa(translate(ram, cpu, kPage + 8), kFrame + 8);
    }
    SECTION("reserved bits are checked in a non-present entry's parents only")
    {
        t.change(kPage, 1, 0, P);
        t.change(kPage, 3, 1ull << 40);
        check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrRsvd);
    }
}

TEST_CASE("paging: XD without EFER.NXE, and PS in a PML4E, are reserved", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    CpuState cpu = paged(Paging::Level4, t.root);
    cpu.sregs.efer &= ~efer::kNXE;
    t.change(kPage, 2, XD);
    check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrRsvd);
    check_fault(translate(ram, cpu, kPage, Intent::Execute), kPage, kErrP | kErrRsvd);  // no I/D without NXE
    t.change(kPage, 2, 0, XD);
    check_gpa(translate(ram, cpu, kPage), kFrame);
    t.change(kPage, 4, PS);
    check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrRsvd);
}

TEST_CASE("paging: CR0.WP and read-only pages", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | U);
    CpuState cpu = paged(Paging::Level4, t.root);
    check_gpa(translate(ram, cpu, kPage), kFrame);
    check_fault(translate(ram, cpu, kPage + 4, Intent::Write), kPage + 4, kErrP | kErrW);
    CHECK((t.get(t.entry(kPage, 1)) & D) == 0);
    cpu.sregs.cr0 &= ~cr0::kWP;
    check_gpa(translate(ram, cpu, kPage + 4, Intent::Write), kFrame + 4);
    CHECK((t.get(t.entry(kPage, 1)) & D) != 0);
    at_cpl3(cpu);  // user-mode writes need R/W whatever WP says
    check_fault(translate(ram, cpu, kPage, Intent::Write), kPage, kErrP | kErrW | kErrU);

    // R/W clear above the leaf makes the page read-only too.
    GuestMemory ram2(kRam);
    Tables t2(ram2, Paging::Level4);
    t2.map(kPage, kFrame, P | W | U);
    t2.change(kPage, 3, 0, W);
    CpuState cpu2 = paged(Paging::Level4, t2.root);
    check_fault(translate(ram2, cpu2, kPage, Intent::Write), kPage, kErrP | kErrW);
}

TEST_CASE("paging: U/S at CPL3", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W);  // a supervisor page
    CpuState cpu = paged(Paging::Level4, t.root);
    at_cpl3(cpu);
    check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrU);
    check_fault(translate(ram, cpu, kPage, Intent::Write), kPage, kErrP | kErrW | kErrU);
    check_fault(translate(ram, cpu, kPage, Intent::Execute), kPage, kErrP | kErrU | kErrFetch);
    // The CPU's own accesses (descriptor tables) are supervisor accesses.
    check_gpa(translate(ram, cpu, kPage, Intent::Read, AccessMode::ImplicitSupervisor), kFrame);
    check_gpa(translate(ram, cpu, kPage, Intent::Write, AccessMode::ImplicitSupervisor), kFrame);

    // U/S clear in the PML4E alone: still a supervisor page.
    t.change(kPage, 1, U);
    check_gpa(translate(ram, cpu, kPage), kFrame);
    t.change(kPage, 4, 0, U);
    check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrU);
}

TEST_CASE("paging: SMAP", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    CpuState cpu = paged(Paging::Level4, t.root);
    check_gpa(translate(ram, cpu, kPage), kFrame);  // SMAP off
    cpu.sregs.cr4 |= cr4::kSMAP;
    check_fault(translate(ram, cpu, kPage), kPage, kErrP);
    check_fault(translate(ram, cpu, kPage, Intent::Write), kPage, kErrP | kErrW);
    // SMAP does not apply to instruction fetches.
    check_gpa(translate(ram, cpu, kPage, Intent::Execute), kFrame);
    // RFLAGS.AC lifts it for explicit accesses, not implicit ones.
    cpu.regs.rflags |= rflags::kAC;
    check_gpa(translate(ram, cpu, kPage), kFrame);
    check_gpa(translate(ram, cpu, kPage, Intent::Write), kFrame);
    check_fault(translate(ram, cpu, kPage, Intent::Read, AccessMode::ImplicitSupervisor), kPage, kErrP);
    // At CPL3: user accesses are not affected; implicit supervisor ones are, whatever AC.
    at_cpl3(cpu);
    check_gpa(translate(ram, cpu, kPage), kFrame);
    check_fault(translate(ram, cpu, kPage, Intent::Read, AccessMode::ImplicitSupervisor), kPage, kErrP);
    cpu.regs.rflags &= ~rflags::kAC;
    check_fault(translate(ram, cpu, kPage, Intent::Write, AccessMode::ImplicitSupervisor), kPage, kErrP | kErrW);
    // A supervisor page is never subject to SMAP.
    t.change(kPage, 1, 0, U);
    check_gpa(translate(ram, cpu, kPage, Intent::Read, AccessMode::ImplicitSupervisor), kFrame);
}

TEST_CASE("paging: SMEP", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    CpuState cpu = paged(Paging::Level4, t.root);
    check_gpa(translate(ram, cpu, kPage, Intent::Execute), kFrame);
    cpu.sregs.cr4 |= cr4::kSMEP;
    check_fault(translate(ram, cpu, kPage, Intent::Execute), kPage, kErrP | kErrFetch);
    check_gpa(translate(ram, cpu, kPage), kFrame);  // data accesses are not affected
    check_gpa(translate(ram, cpu, kPage, Intent::Write), kFrame);
    cpu.sregs.efer &= ~efer::kNXE;  // I/D is set by SMEP alone
    check_fault(translate(ram, cpu, kPage, Intent::Execute), kPage, kErrP | kErrFetch);
    at_cpl3(cpu);
    check_gpa(translate(ram, cpu, kPage, Intent::Execute), kFrame);
}

TEST_CASE("paging: execute-disable", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U | XD);
    CpuState cpu = paged(Paging::Level4, t.root);
    check_gpa(translate(ram, cpu, kPage), kFrame);
    check_gpa(translate(ram, cpu, kPage, Intent::Write), kFrame);
    check_fault(translate(ram, cpu, kPage, Intent::Execute), kPage, kErrP | kErrFetch);
    at_cpl3(cpu);
    check_fault(translate(ram, cpu, kPage, Intent::Execute), kPage, kErrP | kErrU | kErrFetch);
    // XD in the PML4E alone.
    t.change(kPage, 1, 0, XD);
    check_gpa(translate(ram, cpu, kPage, Intent::Execute), kFrame);
    t.change(kPage, 4, XD);
    check_fault(translate(ram, cpu, kPage, Intent::Execute), kPage, kErrP | kErrU | kErrFetch);
}

TEST_CASE("paging: protection keys", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    const uint64_t key5 = 5ull << 59;
    t.map(kPage, kFrame, P | W | U | key5);
    t.map(kPage + 0x1000, kFrame + 0x1000, P | W | U);  // key 0
    t.map(kPage + 0x2000, kFrame + 0x2000, P | W | key5);  // a supervisor page
    CpuState cpu = paged(Paging::Level4, t.root);
    cpu.sregs.cr4 |= cr4::kPKE;
    const uint32_t ad5 = 1u << 10, wd5 = 1u << 11;

    SECTION("access disable")
    {
        cpu.pkru = ad5;
        check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrKey);
        check_fault(translate(ram, cpu, kPage, Intent::Write), kPage, kErrP | kErrW | kErrKey);
        check_gpa(translate(ram, cpu, kPage, Intent::Execute), kFrame);  // fetches are not checked
        check_gpa(translate(ram, cpu, kPage + 0x1000), kFrame + 0x1000);  // another key
        check_gpa(translate(ram, cpu, kPage + 0x2000), kFrame + 0x2000);  // supervisor pages have no key
        at_cpl3(cpu);
        check_fault(translate(ram, cpu, kPage), kPage, kErrP | kErrU | kErrKey);
        check_fault(translate(ram, cpu, kPage, Intent::Write), kPage, kErrP | kErrW | kErrU | kErrKey);
        cpu.sregs.cr4 &= ~cr4::kPKE;
        check_gpa(translate(ram, cpu, kPage), kFrame);
    }
    SECTION("write disable")
    {
        cpu.pkru = wd5;
        check_gpa(translate(ram, cpu, kPage), kFrame);
        check_fault(translate(ram, cpu, kPage, Intent::Write), kPage, kErrP | kErrW | kErrKey);
        CHECK((t.get(t.entry(kPage, 1)) & D) == 0);
        cpu.sregs.cr0 &= ~cr0::kWP;  // supervisor writes ignore WD without CR0.WP
        check_gpa(translate(ram, cpu, kPage, Intent::Write), kFrame);
        at_cpl3(cpu);  // user writes do not
        check_fault(translate(ram, cpu, kPage, Intent::Write), kPage, kErrP | kErrW | kErrU | kErrKey);
        check_gpa(translate(ram, cpu, kPage), kFrame);
    }
}

TEST_CASE("paging: an access crossing pages", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    t.map(kPage + 0x1000, 0x9000, P | U);  // read-only
    CpuState cpu = paged(Paging::Level4, t.root);
    ram.write<uint32_t>(kFrame + 0xffc, 0x44332211);
    ram.write<uint32_t>(0x9000, 0x88776655);
    PagedGuestMemory m(ram, cpu);

    uint64_t value = 0;
    REQUIRE(ok(m.read(kPage + 0xffc, {reinterpret_cast<uint8_t*>(&value), 8})));
    CHECK(value == 0x8877665544332211ull);

    const uint64_t put = 0x0102030405060708ull;
    Access write = m.write(kPage + 0xffc, {reinterpret_cast<const uint8_t*>(&put), 8});
    check_fault(write, kPage + 0x1000, kErrP | kErrW);
    CHECK(ram.read<uint32_t>(kFrame + 0xffc) == 0x44332211);
    CHECK(ram.read<uint32_t>(0x9000) == 0x88776655);

    // The second page not present.
    t.change(kPage + 0x1000, 1, 0, P);
    PagedGuestMemory m2(ram, cpu);
    check_fault(m2.write(kPage + 0xffe, {reinterpret_cast<const uint8_t*>(&put), 4}), kPage + 0x1000, kErrW);
    CHECK(ram.read<uint32_t>(kFrame + 0xffc) == 0x44332211);
    check_fault(m2.read(kPage + 0xfff, {reinterpret_cast<uint8_t*>(&value), 2}), kPage + 0x1000, 0);
}

TEST_CASE("paging: frames and tables outside guest RAM", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    t.map(kPage + 0x1000, kRam, P | W | U);  // the first page past RAM
    CpuState cpu = paged(Paging::Level4, t.root);
    auto past = translate(ram, cpu, kPage + 0x1010);
    REQUIRE(std::holds_alternative<NotRam>(past));
    CHECK(std::get<NotRam>(past).address == kRam + 0x10);

    PagedGuestMemory m(ram, cpu);
    ram.write<uint32_t>(kFrame + 0xffc, 0x44332211);
    const uint64_t put = 0x0102030405060708ull;
    Access a = m.write(kPage + 0xffc, {reinterpret_cast<const uint8_t*>(&put), 8});
    REQUIRE(std::holds_alternative<NotRam>(a));
    CHECK(std::get<NotRam>(a).address == kRam);
    CHECK(ram.read<uint32_t>(kFrame + 0xffc) == 0x44332211);

    cpu.sregs.cr3 = kRam + 0x1000;  // the PML4 itself past RAM
    CHECK(std::holds_alternative<Unmodelled>(translate(ram, cpu, kPage)));
}

TEST_CASE("paging: compare_exchange of 8 and 16 bytes", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W | U);
    t.map(kPage + 0x1000, 0x9000, P | W | U);
    t.map(kPage + 0x2000, 0xa000, P | U);  // read-only
    CpuState cpu = paged(Paging::Level4, t.root);
    PagedGuestMemory m(ram, cpu);
    auto bytes = [](uint64_t lo, uint64_t hi = 0) {
        std::array<uint8_t, 16> b{};
        std::memcpy(b.data(), &lo, 8);
        std::memcpy(b.data() + 8, &hi, 8);
        return b;
    };

    SECTION("8 bytes, aligned")
    {
        ram.write<uint64_t>(kFrame + 0x10, 0x1111);
        auto expected = bytes(0x1111), desired = bytes(0x2222);
        bool swapped = false;
        REQUIRE(ok(m.compare_exchange(kPage + 0x10, std::span(expected.data(), 8), std::span(desired.data(), 8), swapped)));
        CHECK(swapped);
        CHECK(ram.read<uint64_t>(kFrame + 0x10) == 0x2222);
        CHECK((t.get(t.entry(kPage, 1)) & D) != 0);

        auto stale = bytes(0x1111), other = bytes(0x3333);
        swapped = true;
        REQUIRE(ok(m.compare_exchange(kPage + 0x10, std::span(stale.data(), 8), std::span(other.data(), 8), swapped)));
        CHECK_FALSE(swapped);
        CHECK(ram.read<uint64_t>(kFrame + 0x10) == 0x2222);
        CHECK(stale == bytes(0x2222));
    }
    SECTION("16 bytes, aligned")
    {
        ram.write<uint64_t>(kFrame + 0x20, 0xaaaa);
        ram.write<uint64_t>(kFrame + 0x28, 0xbbbb);
        auto expected = bytes(0xaaaa, 0xbbbb), desired = bytes(0xcccc, 0xdddd);
        bool swapped = false;
        REQUIRE(ok(m.compare_exchange(kPage + 0x20, expected, desired, swapped)));
        CHECK(swapped);
        CHECK(ram.read<uint64_t>(kFrame + 0x20) == 0xcccc);
        CHECK(ram.read<uint64_t>(kFrame + 0x28) == 0xdddd);

        auto stale = bytes(0xcccc, 0xbbbb), other = bytes(1, 2);
        REQUIRE(ok(m.compare_exchange(kPage + 0x20, stale, other, swapped)));
        CHECK_FALSE(swapped);
        CHECK(stale == bytes(0xcccc, 0xdddd));
        CHECK(ram.read<uint64_t>(kFrame + 0x20) == 0xcccc);
        CHECK(ram.read<uint64_t>(kFrame + 0x28) == 0xdddd);
    }
    SECTION("the D flag is set when the comparison fails (the CPU writes either way)")
    {
        ram.write<uint64_t>(kFrame + 0x10, 0x1111);
        auto stale = bytes(0x9999), desired = bytes(0x2222);
        bool swapped = true;
        REQUIRE(ok(m.compare_exchange(kPage + 0x10, std::span(stale.data(), 8), std::span(desired.data(), 8), swapped)));
        CHECK_FALSE(swapped);
        CHECK((t.get(t.entry(kPage, 1)) & D) != 0);
    }
    SECTION("8 bytes across a page boundary, onto discontiguous frames")
    {
        ram.write<uint32_t>(kFrame + 0xffc, 0x44332211);
        ram.write<uint32_t>(0x9000, 0x88776655);
        auto expected = bytes(0x8877665544332211ull), desired = bytes(0x0102030405060708ull);
        bool swapped = false;
        REQUIRE(ok(m.compare_exchange(kPage + 0xffc, std::span(expected.data(), 8), std::span(desired.data(), 8), swapped)));
        CHECK(swapped);
        CHECK(ram.read<uint32_t>(kFrame + 0xffc) == 0x05060708);
        CHECK(ram.read<uint32_t>(0x9000) == 0x01020304);

        auto stale = bytes(0), other = bytes(~0ull);
        REQUIRE(ok(m.compare_exchange(kPage + 0xffc, std::span(stale.data(), 8), std::span(other.data(), 8), swapped)));
        CHECK_FALSE(swapped);
        CHECK(stale == bytes(0x0102030405060708ull));
        CHECK(ram.read<uint32_t>(kFrame + 0xffc) == 0x05060708);
        CHECK(ram.read<uint32_t>(0x9000) == 0x01020304);
    }
    SECTION("a read-only page faults as a write, matching or not")
    {
        ram.write<uint64_t>(0xa010, 0x1111);
        auto expected = bytes(0x1111), desired = bytes(0x2222);
        bool swapped = false;
        check_fault(m.compare_exchange(kPage + 0x2010, std::span(expected.data(), 8), std::span(desired.data(), 8), swapped),
                    kPage + 0x2010, kErrP | kErrW);
        CHECK(ram.read<uint64_t>(0xa010) == 0x1111);
        auto stale = bytes(0x5555);
        check_fault(m.compare_exchange(kPage + 0x2010, std::span(stale.data(), 8), std::span(desired.data(), 8), swapped),
                    kPage + 0x2010, kErrP | kErrW);
        CHECK(stale == bytes(0x5555));
        // Across into the read-only page: the first page is left as it was.
        ram.write<uint32_t>(0x9ffc, 0x44332211);
        auto across = bytes(ram.read<uint32_t>(0x9ffc) | uint64_t{ram.read<uint32_t>(0xa000)} << 32);
        check_fault(m.compare_exchange(kPage + 0x1ffc, std::span(across.data(), 8), std::span(desired.data(), 8), swapped),
                    kPage + 0x2000, kErrP | kErrW);
        CHECK(ram.read<uint32_t>(0x9ffc) == 0x44332211);
    }
    SECTION("at CPL3 on a supervisor page")
    {
        t.change(kPage, 1, 0, U);
        at_cpl3(cpu);
        PagedGuestMemory user(ram, cpu);
        auto expected = bytes(0), desired = bytes(1);
        bool swapped = false;
        check_fault(user.compare_exchange(kPage, std::span(expected.data(), 8), std::span(desired.data(), 8), swapped),
                    kPage, kErrP | kErrW | kErrU);
    }
}

TEST_CASE("paging: instruction fetch", "[completion]")
{
    GuestMemory ram(kRam);
    Tables t(ram, Paging::Level4);
    t.map(kPage, kFrame, P | W);  // supervisor, executable
    CpuState cpu = paged(Paging::Level4, t.root);
    for (unsigned i = 0; i < 16; i++)
        ram.write<uint8_t>(kFrame + 0xff0 + i, static_cast<uint8_t>(0xa0 + i));

    PagedGuestMemory m(ram, cpu);
    std::array<uint8_t, 15> code{};
    auto got = m.fetch(kPage + 0xff5, code);
    REQUIRE(std::holds_alternative<size_t>(got));
    CHECK(std::get<size_t>(got) == 11);  // up to the page that is not there
    CHECK(code[0] == 0xa5);
    CHECK(code[10] == 0xaf);

    check_fault(std::visit([](auto v) -> Translation { return v; }, m.fetch(kPage + 0x1000, code)), kPage + 0x1000,
                kErrFetch);

    t.map(kPage + 0x1000, 0x9000, P | W | XD);
    ram.write<uint8_t>(0x9000, 0x90);
    PagedGuestMemory m2(ram, cpu);
    got = m2.fetch(kPage + 0xff5, code);
    REQUIRE(std::holds_alternative<size_t>(got));
    CHECK(std::get<size_t>(got) == 11);  // the execute-disabled page stops it too
    check_fault(std::visit([](auto v) -> Translation { return v; }, m2.fetch(kPage + 0x1000, code)), kPage + 0x1000,
                kErrP | kErrFetch);

    t.change(kPage + 0x1000, 1, 0, XD);
    PagedGuestMemory m3(ram, cpu);
    got = m3.fetch(kPage + 0xff5, code);
    REQUIRE(std::holds_alternative<size_t>(got));
    CHECK(std::get<size_t>(got) == 15);
    CHECK(code[11] == 0x90);

    at_cpl3(cpu);
    PagedGuestMemory user(ram, cpu);
    check_fault(std::visit([](auto v) -> Translation { return v; }, user.fetch(kPage + 0x10, code)), kPage + 0x10,
                kErrP | kErrU | kErrFetch);
}
