// movbe, cmpxchg8b/16b, popcnt on synthetic state: registers, flags, memory and the
// exceptions of the Intel SDM.
#include "tests/support/completion_fixture.hpp"

using namespace cr3rig;
using namespace cr3rig::test;

namespace {

constexpr uint64_t kData = 0x2000;
constexpr uint64_t kNonCanonical = 0x0000800000000000ull;
constexpr uint64_t kPastRam = 2 << 20;  // FlatGuest has 1 MiB: beyond is not RAM

// A user-mode (CPL3) state with alignment checking on (CR0.AM and RFLAGS.AC).
void enable_alignment_check(CpuState& cpu)
{
    cpu.sregs.cs.selector = 0x1b;
    cpu.sregs.cr0 |= 1ull << 18;
    cpu.regs.rflags |= rflags::kAC;
}

}  // namespace

// movbe ----------------------------------------------------------------------------

TEST_CASE("movbe loads 32 bits byte-reversed and zero-extends the register", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest mem;
    mem.put<uint32_t>(kData, 0x11223344);
    cpu.regs.rbx = kData;
    cpu.regs.rax = 0xffffffffffffffffull;
    cpu.regs.rflags = 0x2 | rflags::kCF | rflags::kZF;
    require_retired(cpu, complete_hex(cpu, mem, "0f38f003"), 4);  // movbe eax, [rbx]
    CHECK(cpu.regs.rax == 0x44332211);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kCF | rflags::kZF));  // flags unaffected
}

TEST_CASE("movbe loads 64 bits byte-reversed", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest mem;
    mem.put<uint64_t>(kData, 0x0102030405060708ull);
    cpu.regs.rbx = kData;
    require_retired(cpu, complete_hex(cpu, mem, "480f38f003"), 5);  // movbe rax, [rbx]
    CHECK(cpu.regs.rax == 0x0807060504030201ull);
}

TEST_CASE("movbe loads 16 bits byte-reversed and keeps the register's upper bits", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest mem;
    mem.put<uint16_t>(kData, 0xaabb);
    cpu.regs.rbx = kData;
    cpu.regs.rax = 0x1122334455667788ull;
    require_retired(cpu, complete_hex(cpu, mem, "660f38f003"), 5);  // movbe ax, [rbx]
    CHECK(cpu.regs.rax == 0x112233445566bbaaull);
}

TEST_CASE("movbe stores 16, 32 and 64 bits byte-reversed", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest mem;
    mem.put<uint64_t>(kData, 0xeeeeeeeeeeeeeeeeull);
    cpu.regs.rbx = kData;
    cpu.regs.rax = 0x0102030405060708ull;
    SECTION("16")
    {
        require_retired(cpu, complete_hex(cpu, mem, "660f38f103"), 5);  // movbe [rbx], ax
        CHECK(mem.get<uint64_t>(kData) == 0xeeeeeeeeeeee0807ull);
    }
    SECTION("32")
    {
        require_retired(cpu, complete_hex(cpu, mem, "0f38f103"), 4);  // movbe [rbx], eax
        CHECK(mem.get<uint64_t>(kData) == 0xeeeeeeee08070605ull);
    }
    SECTION("64")
    {
        require_retired(cpu, complete_hex(cpu, mem, "480f38f103"), 5);  // movbe [rbx], rax
        CHECK(mem.get<uint64_t>(kData) == 0x0807060504030201ull);
    }
    CHECK(cpu.regs.rax == 0x0102030405060708ull);
}

TEST_CASE("movbe in 32-bit protected mode", "[completion]")
{
    CpuState cpu = kernel32({"movbe"});
    FlatGuest mem;
    mem.put<uint32_t>(kData + 4, 0xdeadbeef);
    cpu.regs.rbx = kData;
    require_retired(cpu, complete_hex(cpu, mem, "0f38f04304"), 5);  // movbe eax, [ebx+4]
    CHECK(cpu.regs.rax == 0xefbeadde);
}

TEST_CASE("movbe raises #UD without MOVBE in CPUID, with LOCK or with REP", "[completion]")
{
    FlatGuest mem;
    mem.put<uint32_t>(kData, 0x11223344);
    CpuState cpu = kernel64({"movbe"});
    cpu.regs.rbx = kData;
    Outcome out;
    SECTION("no movbe")
    {
        cpu.cpuid = cpuid_with({"popcnt"});
        out = complete_hex(cpu, mem, "0f38f003");
    }
    SECTION("lock") { out = complete_hex_locked(cpu, mem, "0f38f003"); }
    SECTION("rep") { out = complete_hex(cpu, mem, "f30f38f003"); }
    require_fault(cpu, out, vector::kUD, std::nullopt);
    CHECK(cpu.regs.rax == 0);
}

TEST_CASE("movbe with a register operand raises #UD", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest mem;
    require_fault(cpu, complete_hex(cpu, mem, "0f38f0c3"), vector::kUD, std::nullopt);
}

TEST_CASE("movbe at a non-canonical address raises #GP(0), or #SS(0) through the stack", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest mem;
    cpu.regs.rbx = cpu.regs.rsp = kNonCanonical;
    require_fault(cpu, complete_hex(cpu, mem, "0f38f103"), vector::kGP, 0u);    // movbe [rbx], eax
    require_fault(cpu, complete_hex(cpu, mem, "0f38f00424"), vector::kSS, 0u);  // movbe eax, [rsp]
}

TEST_CASE("movbe past the segment limit in 32-bit mode raises #GP(0)", "[completion]")
{
    CpuState cpu = kernel32({"movbe"});
    cpu.sregs.ds.limit = 0xffff;
    FlatGuest mem;
    cpu.regs.rbx = 0xfffe;  // the last two bytes are in, the other two are not
    require_fault(cpu, complete_hex(cpu, mem, "0f38f003"), vector::kGP, 0u);
}

TEST_CASE("movbe raises the #PF of its access and changes nothing", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest mem;
    mem.faulting_pages.insert(kData / 4096);
    cpu.regs.rbx = kData + 0x10;
    cpu.regs.rax = 0x1234;
    require_fault(cpu, complete_hex(cpu, mem, "0f38f003"), vector::kPF, 0u, kData + 0x10);  // load: read fault
    CHECK(cpu.regs.rax == 0x1234);
    require_fault(cpu, complete_hex(cpu, mem, "0f38f103"), vector::kPF, 2u, kData + 0x10);  // store: write fault
    CHECK(mem.writes == 0);
}

TEST_CASE("movbe on memory that is not RAM is not completed", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest mem;
    cpu.regs.rbx = kPastRam;
    require_not_exact(cpu, complete_hex(cpu, mem, "0f38f003"));
}

TEST_CASE("movbe misaligned at CPL3 with alignment checking is not completed", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    enable_alignment_check(cpu);
    FlatGuest mem;
    cpu.regs.rbx = kData + 1;
    require_not_exact(cpu, complete_hex(cpu, mem, "0f38f003"));
    cpu.regs.rbx = kData + 4;  // aligned: completed
    mem.put<uint32_t>(kData + 4, 0x01020304);
    require_retired(cpu, complete_hex(cpu, mem, "0f38f003"), 4);
    CHECK(cpu.regs.rax == 0x04030201);
}

// cmpxchg8b / cmpxchg16b ------------------------------------------------------------------

TEST_CASE("cmpxchg8b: equal stores ECX:EBX and sets ZF alone", "[completion]")
{
    CpuState cpu = kernel64({"cx8"});
    FlatGuest mem;
    mem.put<uint64_t>(kData, 0x1111111122222222ull);
    cpu.regs.rdi = kData;
    cpu.regs.rax = 0xaaaaaaaa22222222ull;  // upper halves are not compared and kept
    cpu.regs.rdx = 0xbbbbbbbb11111111ull;
    cpu.regs.rbx = 0x44444444;
    cpu.regs.rcx = 0x33333333;
    cpu.regs.rflags = 0x2 | rflags::kCF | rflags::kSF;
    require_retired(cpu, complete_hex(cpu, mem, "0fc70f"), 3);  // cmpxchg8b [rdi]
    CHECK(mem.get<uint64_t>(kData) == 0x3333333344444444ull);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kCF | rflags::kSF | rflags::kZF));
    CHECK(cpu.regs.rax == 0xaaaaaaaa22222222ull);
    CHECK(cpu.regs.rdx == 0xbbbbbbbb11111111ull);
}

TEST_CASE("cmpxchg8b: different loads EDX:EAX zero-extended and clears ZF alone", "[completion]")
{
    CpuState cpu = kernel64({"cx8"});
    FlatGuest mem;
    mem.put<uint64_t>(kData, 0x1111111122222222ull);
    cpu.regs.rdi = kData;
    cpu.regs.rax = 0xaaaaaaaa00000000ull;
    cpu.regs.rdx = 0xbbbbbbbb11111111ull;
    cpu.regs.rbx = 0x44444444;
    cpu.regs.rcx = 0x33333333;
    cpu.regs.rflags = 0x2 | rflags::kZF | rflags::kOF;
    require_retired(cpu, complete_hex(cpu, mem, "f00fc70f"), 4);  // lock cmpxchg8b [rdi]: LOCK is allowed
    CHECK(mem.get<uint64_t>(kData) == 0x1111111122222222ull);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kOF));
    CHECK(cpu.regs.rax == 0x22222222);
    CHECK(cpu.regs.rdx == 0x11111111);
}

TEST_CASE("cmpxchg16b: equal stores RCX:RBX, different loads RDX:RAX", "[completion]")
{
    CpuState cpu = kernel64({"cx16"});
    FlatGuest mem;
    mem.put<uint64_t>(kData, 0x0123456789abcdefull);
    mem.put<uint64_t>(kData + 8, 0xfedcba9876543210ull);
    cpu.regs.rdi = kData;
    cpu.regs.rbx = 0x5555555555555555ull;
    cpu.regs.rcx = 0x6666666666666666ull;
    SECTION("equal")
    {
        cpu.regs.rax = 0x0123456789abcdefull;
        cpu.regs.rdx = 0xfedcba9876543210ull;
        require_retired(cpu, complete_hex(cpu, mem, "480fc70f"), 4);  // cmpxchg16b [rdi]
        CHECK(mem.get<uint64_t>(kData) == 0x5555555555555555ull);
        CHECK(mem.get<uint64_t>(kData + 8) == 0x6666666666666666ull);
        CHECK(cpu.regs.rflags == (0x2 | rflags::kZF));
    }
    SECTION("different")
    {
        cpu.regs.rax = 0x0123456789abcdefull;
        cpu.regs.rdx = 0;
        cpu.regs.rflags |= rflags::kZF | rflags::kPF;
        require_retired(cpu, complete_hex(cpu, mem, "f0480fc70f"), 5);
        CHECK(cpu.regs.rax == 0x0123456789abcdefull);
        CHECK(cpu.regs.rdx == 0xfedcba9876543210ull);
        CHECK(mem.get<uint64_t>(kData) == 0x0123456789abcdefull);
        CHECK(cpu.regs.rflags == (0x2 | rflags::kPF));
    }
}

TEST_CASE("cmpxchg8b in 32-bit protected mode", "[completion]")
{
    CpuState cpu = kernel32({"cx8"});
    FlatGuest mem;
    mem.put<uint64_t>(kData, 0x0000000700000009ull);
    cpu.regs.rsi = kData;
    cpu.regs.rax = 9;
    cpu.regs.rdx = 7;
    cpu.regs.rbx = 1;
    cpu.regs.rcx = 2;
    require_retired(cpu, complete_hex(cpu, mem, "0fc70e"), 3);  // cmpxchg8b [esi]
    CHECK(mem.get<uint64_t>(kData) == 0x0000000200000001ull);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kZF));
}

TEST_CASE("cmpxchg8b/16b raise #UD without CX8/CX16 in CPUID", "[completion]")
{
    CpuState cpu = kernel64({"cx8"});  // cx8 but not cx16
    FlatGuest mem;
    cpu.regs.rdi = kData;
    require_fault(cpu, complete_hex(cpu, mem, "480fc70f"), vector::kUD, std::nullopt);
    cpu.cpuid = cpuid_with({"cx16"});  // cx16 but not cx8
    require_fault(cpu, complete_hex(cpu, mem, "0fc70f"), vector::kUD, std::nullopt);
    CHECK(mem.writes == 0);
}

TEST_CASE("cmpxchg16b on an operand not aligned on 16 bytes raises #GP(0)", "[completion]")
{
    CpuState cpu = kernel64({"cx16"});
    FlatGuest mem;
    cpu.regs.rdi = kData + 8;
    require_fault(cpu, complete_hex(cpu, mem, "480fc70f"), vector::kGP, 0u);
    CHECK(mem.writes == 0);
}

TEST_CASE("cmpxchg8b not aligned on 8 bytes is not completed (a split lock)", "[completion]")
{
    CpuState cpu = kernel64({"cx8"});
    FlatGuest mem;
    cpu.regs.rdi = kData + 4;
    require_not_exact(cpu, complete_hex(cpu, mem, "0fc70f"));
    CHECK(mem.writes == 0);
}

TEST_CASE("cmpxchg16b at a non-canonical address raises #GP(0)", "[completion]")
{
    CpuState cpu = kernel64({"cx16"});
    FlatGuest mem;
    cpu.regs.rdi = kNonCanonical;
    require_fault(cpu, complete_hex(cpu, mem, "480fc70f"), vector::kGP, 0u);
}

TEST_CASE("cmpxchg16b raises a write #PF even when the comparison fails", "[completion]")
{
    CpuState cpu = kernel64({"cx16"});
    FlatGuest mem;
    mem.faulting_pages.insert(kData / 4096);
    cpu.regs.rdi = kData;
    cpu.regs.rax = 0x77;
    require_fault(cpu, complete_hex(cpu, mem, "480fc70f"), vector::kPF, 2u, kData);
    CHECK(cpu.regs.rax == 0x77);
}

TEST_CASE("cmpxchg16b on memory that is not RAM is not completed", "[completion]")
{
    CpuState cpu = kernel64({"cx16"});
    FlatGuest mem;
    cpu.regs.rdi = kPastRam;
    require_not_exact(cpu, complete_hex(cpu, mem, "480fc70f"));
}

// popcnt --------------------------------------------------------------------------------------

TEST_CASE("popcnt counts a 32-bit register and clears the arithmetic flags", "[completion]")
{
    CpuState cpu = kernel64({"popcnt"});
    FlatGuest mem;
    cpu.regs.rbx = 0xffffffff000000f1ull;  // the 32-bit source is the low half
    cpu.regs.rax = 0xffffffffffffffffull;
    cpu.regs.rflags = 0x2 | rflags::kArithmetic;
    require_retired(cpu, complete_hex(cpu, mem, "f30fb8c3"), 4);  // popcnt eax, ebx
    CHECK(cpu.regs.rax == 5);
    CHECK(cpu.regs.rflags == 0x2);
}

TEST_CASE("popcnt of zero sets ZF alone", "[completion]")
{
    CpuState cpu = kernel64({"popcnt"});
    FlatGuest mem;
    cpu.regs.rax = 0x1234;
    cpu.regs.rflags = 0x2 | rflags::kCF | rflags::kSF | rflags::kOF | rflags::kAF | rflags::kPF;
    require_retired(cpu, complete_hex(cpu, mem, "f30fb8c3"), 4);
    CHECK(cpu.regs.rax == 0);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kZF));
}

TEST_CASE("popcnt 16-bit keeps the destination's upper bits, 64-bit counts all", "[completion]")
{
    CpuState cpu = kernel64({"popcnt"});
    FlatGuest mem;
    cpu.regs.rbx = 0xffff00000000000full;
    cpu.regs.rax = 0x1111111111111111ull;
    require_retired(cpu, complete_hex(cpu, mem, "66f30fb8c3"), 5);  // popcnt ax, bx
    CHECK(cpu.regs.rax == 0x1111111111110004ull);
    cpu.regs.rip = kKernelRip;
    require_retired(cpu, complete_hex(cpu, mem, "f3480fb8c3"), 5);  // popcnt rax, rbx
    CHECK(cpu.regs.rax == 20);
}

TEST_CASE("popcnt reads its source from memory", "[completion]")
{
    CpuState cpu = kernel64({"popcnt"});
    FlatGuest mem;
    mem.put<uint64_t>(kData, 0x8000000000000001ull);
    cpu.regs.rbx = kData;
    require_retired(cpu, complete_hex(cpu, mem, "f3480fb803"), 5);  // popcnt rax, [rbx]
    CHECK(cpu.regs.rax == 2);
}

TEST_CASE("popcnt raises #UD without POPCNT in CPUID or with LOCK", "[completion]")
{
    CpuState cpu = kernel64({"popcnt"});
    FlatGuest mem;
    cpu.regs.rbx = 7;
    Outcome out;
    SECTION("no popcnt")
    {
        cpu.cpuid = cpuid_with({"movbe"});
        out = complete_hex(cpu, mem, "f30fb8c3");
    }
    // Capstone reports one prefix of the LOCK/REP group: here REP, so LOCK is in the bytes only.
    SECTION("lock in front of the mandatory F3") { out = complete_hex(cpu, mem, "f0f30fb8c3"); }
    SECTION("lock") { out = complete_hex_locked(cpu, mem, "f30fb8c3"); }
    require_fault(cpu, out, vector::kUD, std::nullopt);
    CHECK(cpu.regs.rax == 0);
}

TEST_CASE("popcnt raises the #PF or #GP(0) of its memory source", "[completion]")
{
    CpuState cpu = kernel64({"popcnt"});
    FlatGuest mem;
    mem.faulting_pages.insert(kData / 4096);
    cpu.regs.rbx = kData;
    cpu.regs.rax = 0x99;
    cpu.regs.rflags = 0x2 | rflags::kCF;
    require_fault(cpu, complete_hex(cpu, mem, "f3480fb803"), vector::kPF, 0u, kData);
    cpu.regs.rbx = kNonCanonical;
    require_fault(cpu, complete_hex(cpu, mem, "f3480fb803"), vector::kGP, 0u);
    CHECK(cpu.regs.rax == 0x99);
    CHECK(cpu.regs.rflags == (0x2 | rflags::kCF));
}

TEST_CASE("popcnt from memory that is not RAM is not completed", "[completion]")
{
    CpuState cpu = kernel64({"popcnt"});
    FlatGuest mem;
    cpu.regs.rbx = kPastRam;
    require_not_exact(cpu, complete_hex(cpu, mem, "f3480fb803"));
}
