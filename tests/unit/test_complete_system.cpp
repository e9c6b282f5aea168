// clac/stac, xgetbv, rdpru, clwb/clflushopt/clflush, fwait/fnclex, invpcid on
// synthetic state: registers, flags, the XSAVE image, the side effects and the
// exceptions of the Intel SDM (and AMD APM for rdpru).
#include "tests/support/completion_fixture.hpp"

using namespace cr3rig;
using namespace cr3rig::test;

namespace {

constexpr uint64_t kData = 0x2000;
constexpr uint64_t kNonCanonical = 0x0000800000000000ull;
constexpr uint64_t kPastRam = 2 << 20;  // FlatGuest has 1 MiB: beyond is not RAM

void enter_user_mode(CpuState& cpu) { cpu.sregs.cs.selector = 0x1b; }

// CPUID Fn8000_0008 with EBX[4] (RDPRU) as given.
void set_rdpru(CpuState& cpu, bool present)
{
    kvm_cpuid_entry2 e{};
    e.function = 0x80000008;
    e.ebx = present ? 1u << 4 : 0;
    cpu.cpuid.push_back(e);
}

// An XSAVE image whose x87 state is in use (XSTATE_BV[0]) with the given FSW and FCW.
XsaveImage x87_image(uint16_t fsw, uint16_t fcw = 0x037f)
{
    XsaveImage image;
    image.bytes[0] = static_cast<uint8_t>(fcw);
    image.bytes[1] = static_cast<uint8_t>(fcw >> 8);
    image.bytes[2] = static_cast<uint8_t>(fsw);
    image.bytes[3] = static_cast<uint8_t>(fsw >> 8);
    image.bytes[512] = 1;
    return image;
}

uint16_t fsw_of(const CpuState& cpu) { return static_cast<uint16_t>(cpu.xsave->bytes[2] | cpu.xsave->bytes[3] << 8); }

constexpr uint16_t kFswEs = 1u << 7;

}  // namespace

// clac / stac ----------------------------------------------------------------------------

TEST_CASE("clac clears RFLAGS.AC and stac sets it, nothing else", "[completion]")
{
    CpuState cpu = kernel64({"smap"});
    FlatGuest mem;
    cpu.regs.rflags = 0x2 | rflags::kAC | rflags::kCF | rflags::kZF;
    require_retired(cpu, complete_hex(cpu, mem, "0f01ca"), 3);  // clac
    CHECK(cpu.regs.rflags == (0x2 | rflags::kCF | rflags::kZF));
    cpu.regs.rip = kKernelRip;
    require_retired(cpu, complete_hex(cpu, mem, "0f01cb"), 3);  // stac
    CHECK(cpu.regs.rflags == (0x2 | rflags::kAC | rflags::kCF | rflags::kZF));
}

TEST_CASE("clac/stac raise #UD without SMAP, at CPL>0 or with LOCK", "[completion]")
{
    CpuState cpu = kernel64({"smap"});
    FlatGuest mem;
    cpu.regs.rflags = 0x2 | rflags::kAC;
    Outcome out;
    SECTION("no smap")
    {
        cpu.cpuid = cpuid_with({"smep"});
        out = complete_hex(cpu, mem, "0f01ca");
    }
    SECTION("CPL3")
    {
        enter_user_mode(cpu);
        out = complete_hex(cpu, mem, "0f01ca");
    }
    SECTION("lock") { out = complete_hex_locked(cpu, mem, "0f01ca"); }
    require_fault(cpu, out, vector::kUD, std::nullopt);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kAC));
}

// xgetbv -----------------------------------------------------------------------------------

TEST_CASE("xgetbv with ECX=0 loads XCR0 into EDX:EAX, zero-extended", "[completion]")
{
    CpuState cpu = kernel64({"xsave"});
    cpu.sregs.cr4 |= cr4::kOSXSAVE;
    cpu.xcr0 = 0x0000000200000007ull;
    FlatGuest mem;
    cpu.regs.rcx = 0xffffffff00000000ull;  // the high half of RCX is ignored
    cpu.regs.rax = cpu.regs.rdx = 0xffffffffffffffffull;
    cpu.regs.rflags = 0x2 | rflags::kCF;
    require_retired(cpu, complete_hex(cpu, mem, "0f01d0"), 3);
    CHECK(cpu.regs.rax == 7);
    CHECK(cpu.regs.rdx == 2);
    CHECK(cpu.regs.rcx == 0xffffffff00000000ull);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kCF));
}

TEST_CASE("xgetbv raises #UD without CR4.OSXSAVE, without XSAVE or with LOCK", "[completion]")
{
    CpuState cpu = kernel64({"xsave"});
    cpu.sregs.cr4 |= cr4::kOSXSAVE;
    FlatGuest mem;
    Outcome out;
    SECTION("CR4.OSXSAVE=0")
    {
        cpu.sregs.cr4 &= ~cr4::kOSXSAVE;
        out = complete_hex(cpu, mem, "0f01d0");
    }
    SECTION("no xsave in CPUID")
    {
        cpu.cpuid = cpuid_with({"avx"});
        out = complete_hex(cpu, mem, "0f01d0");
    }
    SECTION("lock") { out = complete_hex_locked(cpu, mem, "0f01d0"); }
    require_fault(cpu, out, vector::kUD, std::nullopt);
    CHECK(cpu.regs.rax == 0);
}

TEST_CASE("xgetbv with ECX=1 is not completed with XGETBV1, #GP(0) without", "[completion]")
{
    CpuState cpu = kernel64({"xsave", "xgetbv1"});
    cpu.sregs.cr4 |= cr4::kOSXSAVE;
    FlatGuest mem;
    cpu.regs.rcx = 1;
    require_not_exact(cpu, complete_hex(cpu, mem, "0f01d0"));
    cpu.cpuid = cpuid_with({"xsave"});
    require_fault(cpu, complete_hex(cpu, mem, "0f01d0"), vector::kGP, 0u);
}

TEST_CASE("xgetbv with any other ECX raises #GP(0)", "[completion]")
{
    CpuState cpu = kernel64({"xsave", "xgetbv1"});
    cpu.sregs.cr4 |= cr4::kOSXSAVE;
    FlatGuest mem;
    cpu.regs.rcx = GENERATE(2u, 0x80000000u);
    require_fault(cpu, complete_hex(cpu, mem, "0f01d0"), vector::kGP, 0u);
    CHECK(cpu.regs.rax == 0);
}

// rdpru ------------------------------------------------------------------------------------

TEST_CASE("rdpru raises #UD when CPUID lacks RDPRU", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    SECTION("no leaf 0x80000008") {}
    SECTION("EBX[4] clear") { set_rdpru(cpu, false); }
    require_fault(cpu, complete_hex(cpu, mem, "0f01fd"), vector::kUD, std::nullopt);
}

TEST_CASE("rdpru with RDPRU is not completed, with LOCK it raises #UD", "[completion]")
{
    CpuState cpu = kernel64();
    set_rdpru(cpu, true);
    FlatGuest mem;
    require_not_exact(cpu, complete_hex(cpu, mem, "0f01fd"));
    require_fault(cpu, complete_hex(cpu, mem, "f00f01fd"), vector::kUD, std::nullopt);
}

// clwb / clflushopt / clflush ---------------------------------------------------------------

TEST_CASE("clflush, clflushopt and clwb retire without touching memory", "[completion]")
{
    CpuState cpu = kernel64({"clflush", "clflushopt", "clwb"});
    FlatGuest mem;
    mem.put<uint64_t>(kData, 0x1122334455667788ull);
    cpu.regs.rax = kData + 0x3f;
    auto [hex, length] = GENERATE(std::pair<std::string, unsigned>{"0fae38", 3},  // clflush [rax]
                                  std::pair<std::string, unsigned>{"660fae38", 4},  // clflushopt [rax]
                                  std::pair<std::string, unsigned>{"660fae30", 4});  // clwb [rax]
    require_retired(cpu, complete_hex(cpu, mem, hex), length);
    CHECK(mem.writes == 0);
    CHECK(mem.get<uint64_t>(kData) == 0x1122334455667788ull);
    CHECK(cpu.regs.rax == kData + 0x3f);
}

TEST_CASE("each cache write-back raises #UD without its own CPUID feature", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = kernel64();
    cpu.regs.rax = kData;
    std::string hex;
    SECTION("clflush")
    {
        cpu.cpuid = cpuid_with({"clflushopt", "clwb"});
        hex = "0fae38";
    }
    SECTION("clflushopt")
    {
        cpu.cpuid = cpuid_with({"clflush", "clwb"});
        hex = "660fae38";
    }
    SECTION("clwb")
    {
        cpu.cpuid = cpuid_with({"clflush", "clflushopt"});
        hex = "660fae30";
    }
    require_fault(cpu, complete_hex(cpu, mem, hex), vector::kUD, std::nullopt);
}

TEST_CASE("a cache write-back with LOCK raises #UD", "[completion]")
{
    CpuState cpu = kernel64({"clflush", "clflushopt", "clwb"});
    FlatGuest mem;
    cpu.regs.rax = kData;
    require_fault(cpu, complete_hex_locked(cpu, mem, GENERATE("0fae38", "660fae38", "660fae30")), vector::kUD,
                  std::nullopt);
}

TEST_CASE("a cache write-back raises the #PF of a 1-byte read", "[completion]")
{
    CpuState cpu = kernel64({"clwb"});
    FlatGuest mem;
    mem.faulting_pages.insert(kData / 4096);
    cpu.regs.rax = kData + 5;
    require_fault(cpu, complete_hex(cpu, mem, "660fae30"), vector::kPF, 0u, kData + 5);
}

TEST_CASE("a cache write-back raises #GP(0) or #SS(0) for a non-canonical address", "[completion]")
{
    CpuState cpu = kernel64({"clflush"});
    FlatGuest mem;
    cpu.regs.rax = cpu.regs.rsp = kNonCanonical;
    require_fault(cpu, complete_hex(cpu, mem, "0fae38"), vector::kGP, 0u);    // clflush [rax]
    require_fault(cpu, complete_hex(cpu, mem, "0fae3c24"), vector::kSS, 0u);  // clflush [rsp]
}

TEST_CASE("a cache write-back of memory that is not RAM retires", "[completion]")
{
    CpuState cpu = kernel64({"clflushopt"});
    FlatGuest mem;
    cpu.regs.rax = kPastRam;
    require_retired(cpu, complete_hex(cpu, mem, "660fae38"), 4);
}

// fwait / fnclex ---------------------------------------------------------------------------

TEST_CASE("fwait retires without a pending x87 exception", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    SECTION("FSW.ES clear") { cpu.xsave = x87_image(0x3800 | 0x1); }  // TOP=7, a masked IE
    SECTION("x87 state in its initial configuration")
    {
        cpu.xsave = x87_image(kFswEs | 0x1);
        cpu.xsave->bytes[512] = 0;  // XSTATE_BV[0] clear: the FSW bytes do not count
    }
    SECTION("CR0.TS without CR0.MP")
    {
        cpu.xsave = x87_image(0);
        cpu.sregs.cr0 = (cpu.sregs.cr0 | cr0::kTS) & ~cr0::kMP;
    }
    require_retired(cpu, complete_hex(cpu, mem, "9b"), 1);
}

TEST_CASE("fwait raises #NM with CR0.MP and CR0.TS", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    cpu.xsave = x87_image(kFswEs);  // #NM comes first
    cpu.sregs.cr0 |= cr0::kMP | cr0::kTS;
    require_fault(cpu, complete_hex(cpu, mem, "9b"), vector::kNM, std::nullopt);
}

TEST_CASE("fwait with a pending x87 exception raises #MF with CR0.NE", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    cpu.xsave = x87_image(kFswEs | 0x1);
    require_fault(cpu, complete_hex(cpu, mem, "9b"), vector::kMF, std::nullopt);
    CHECK(fsw_of(cpu) == (kFswEs | 0x1));
}

TEST_CASE("fwait with a pending x87 exception and CR0.NE=0 is not completed (FERR#)", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    cpu.xsave = x87_image(kFswEs | 0x1);
    cpu.sregs.cr0 &= ~cr0::kNE;
    require_not_exact(cpu, complete_hex(cpu, mem, "9b"));
}

TEST_CASE("fwait without the XSAVE image is not completed, with LOCK it raises #UD", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    require_not_exact(cpu, complete_hex(cpu, mem, "9b"));
    require_fault(cpu, complete_hex_locked(cpu, mem, "9b"), vector::kUD, std::nullopt);
}

TEST_CASE("fnclex clears the exception flags, SF, ES and B, keeps C0-C3 and TOP", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    cpu.xsave = x87_image(0xffff, 0x1234);
    SideEffects effects;
    require_retired(cpu, complete_hex(cpu, mem, "dbe2", &effects), 2);
    CHECK(fsw_of(cpu) == 0x7f00);
    CHECK(cpu.xsave->bytes[0] == 0x34);  // FCW untouched
    CHECK(cpu.xsave->bytes[1] == 0x12);
    CHECK(effects.xsave_changed);
    CHECK_FALSE(effects.flush_tlb);
}

TEST_CASE("fnclex raises #NM with CR0.EM or CR0.TS", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    cpu.xsave = x87_image(0x00ff);
    cpu.sregs.cr0 &= ~cr0::kMP;  // unlike fwait, MP does not matter
    cpu.sregs.cr0 |= GENERATE(cr0::kEM, cr0::kTS);
    SideEffects effects;
    require_fault(cpu, complete_hex(cpu, mem, "dbe2", &effects), vector::kNM, std::nullopt);
    CHECK(fsw_of(cpu) == 0x00ff);
    CHECK_FALSE(effects.xsave_changed);
}

TEST_CASE("fnclex without the XSAVE image is not completed, with LOCK it raises #UD", "[completion]")
{
    CpuState cpu = kernel64();
    FlatGuest mem;
    require_not_exact(cpu, complete_hex(cpu, mem, "dbe2"));
    cpu.xsave = x87_image(0x00ff);
    require_fault(cpu, complete_hex_locked(cpu, mem, "dbe2"), vector::kUD, std::nullopt);
    CHECK(fsw_of(cpu) == 0x00ff);
}

// invpcid ----------------------------------------------------------------------------------

namespace {

constexpr const char* kInvpcid = "660f388203";  // invpcid rax, [rbx] (eax in 32-bit mode)

// A kernel with INVPCID and CR4.PCIDE, type in RAX, the descriptor at kData.
CpuState invpcid_kernel(FlatGuest& mem, uint64_t type, uint64_t pcid_word, uint64_t address)
{
    CpuState cpu = kernel64({"invpcid", "pcid"});
    cpu.sregs.cr4 |= cr4::kPCIDE;
    cpu.regs.rax = type;
    cpu.regs.rbx = kData;
    mem.put<uint64_t>(kData, pcid_word);
    mem.put<uint64_t>(kData + 8, address);
    return cpu;
}

}  // namespace

TEST_CASE("invpcid of each type flushes the TLB and retires", "[completion]")
{
    FlatGuest mem;
    uint64_t type = GENERATE(0u, 1u, 2u, 3u);
    CpuState cpu = invpcid_kernel(mem, type, 0x5, 0xffff800000001000ull);
    cpu.regs.rflags = 0x2 | rflags::kZF;
    SideEffects effects;
    require_retired(cpu, complete_hex(cpu, mem, kInvpcid, &effects), 5);
    CHECK(effects.flush_tlb);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kZF));
}

TEST_CASE("invpcid raises #UD without INVPCID, with LOCK, or in virtual-8086 mode", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, 2, 0, 0);
    Outcome out;
    SECTION("no invpcid")
    {
        cpu.cpuid = cpuid_with({"pcid"});
        out = complete_hex(cpu, mem, kInvpcid);
    }
    SECTION("lock") { out = complete_hex_locked(cpu, mem, kInvpcid); }
    SECTION("virtual-8086")
    {
        cpu.regs.rflags |= rflags::kVM;
        out = complete_hex(cpu, mem, kInvpcid);
    }
    require_fault(cpu, out, vector::kUD, std::nullopt);
}

TEST_CASE("invpcid at CPL>0 raises #GP(0)", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, 2, 0, 0);
    enter_user_mode(cpu);
    SideEffects effects;
    require_fault(cpu, complete_hex(cpu, mem, kInvpcid, &effects), vector::kGP, 0u);
    CHECK_FALSE(effects.flush_tlb);
}

TEST_CASE("invpcid with a type above 3 raises #GP(0), the type being all of RAX in 64-bit mode", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, GENERATE(4ull, 0x100000000ull), 0, 0);
    SideEffects effects;
    require_fault(cpu, complete_hex(cpu, mem, kInvpcid, &effects), vector::kGP, 0u);
    CHECK_FALSE(effects.flush_tlb);
}

TEST_CASE("invpcid takes its type from EAX in 32-bit mode", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, 0xffffffff00000002ull, 0, 0);
    cpu.sregs.efer = 0;
    cpu.sregs.cs.l = 0;
    cpu.sregs.cs.db = 1;
    SideEffects effects;
    require_retired(cpu, complete_hex(cpu, mem, kInvpcid, &effects), 5);
    CHECK(effects.flush_tlb);
}

TEST_CASE("invpcid with an invalid type and a descriptor that faults is not completed", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, 7, 0, 0);
    mem.faulting_pages.insert(kData / 4096);
    require_not_exact(cpu, complete_hex(cpu, mem, kInvpcid));
}

TEST_CASE("invpcid with descriptor bits 63:12 set raises #GP(0)", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, GENERATE(0u, 1u, 2u, 3u), 1ull << GENERATE(12, 63), 0);
    require_fault(cpu, complete_hex(cpu, mem, kInvpcid), vector::kGP, 0u);
}

TEST_CASE("invpcid type 0 with a non-canonical address raises #GP(0), other types do not check it", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, 0, 0, 0x00ff000000000000ull);  // canonical only with 5-level paging
    require_fault(cpu, complete_hex(cpu, mem, kInvpcid), vector::kGP, 0u);
    cpu.sregs.cr4 |= cr4::kLA57;
    require_retired(cpu, complete_hex(cpu, mem, kInvpcid), 5);
    cpu = invpcid_kernel(mem, 1, 0, kNonCanonical);
    require_retired(cpu, complete_hex(cpu, mem, kInvpcid), 5);
}

TEST_CASE("invpcid types 0 and 1 with a PCID and CR4.PCIDE=0 raise #GP(0)", "[completion]")
{
    FlatGuest mem;
    uint64_t type = GENERATE(0u, 1u);
    CpuState cpu = invpcid_kernel(mem, type, 0x1, 0x1000);
    cpu.sregs.cr4 &= ~cr4::kPCIDE;
    require_fault(cpu, complete_hex(cpu, mem, kInvpcid), vector::kGP, 0u);
    cpu = invpcid_kernel(mem, type, 0, 0x1000);  // PCID 0 is fine
    cpu.sregs.cr4 &= ~cr4::kPCIDE;
    require_retired(cpu, complete_hex(cpu, mem, kInvpcid), 5);
    cpu = invpcid_kernel(mem, 2, 0x1, 0x1000);  // types 2 and 3 do not check the PCID
    cpu.sregs.cr4 &= ~cr4::kPCIDE;
    require_retired(cpu, complete_hex(cpu, mem, kInvpcid), 5);
}

TEST_CASE("invpcid raises the #PF of reading its descriptor", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, 2, 0, 0);
    cpu.regs.rbx = 0x2ff8;  // the descriptor crosses into the faulting page
    mem.faulting_pages.insert(3);
    SideEffects effects;
    require_fault(cpu, complete_hex(cpu, mem, kInvpcid, &effects), vector::kPF, 0u, 0x3000);
    CHECK_FALSE(effects.flush_tlb);
}

TEST_CASE("invpcid raises #GP(0) for a non-canonical descriptor address, not RAM is not completed", "[completion]")
{
    FlatGuest mem;
    CpuState cpu = invpcid_kernel(mem, 2, 0, 0);
    cpu.regs.rbx = kNonCanonical;
    require_fault(cpu, complete_hex(cpu, mem, kInvpcid), vector::kGP, 0u);
    cpu.regs.rbx = kPastRam;
    require_not_exact(cpu, complete_hex(cpu, mem, kInvpcid));
}
