// movd, movq (MMX and SSE forms) and emms against the XSAVE image: the aliasing of
// MMi onto physical Ri through TOP, the x87 state an MMX instruction leaves, the
// zero-extension into XMM registers, memory operands, and every exception path.
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/support/completion_fixture.hpp"

namespace cr3rig::test {
namespace {

constexpr uint64_t kData = 0x4000;
constexpr uint32_t kFsw = 2, kFtw = 4, kSt = 32, kXmm = 160, kXstateBv = 512;
constexpr uint64_t kCr0Am = 1ull << 18;

template <typename T>
T image_get(const CpuState& cpu, size_t at)
{
    T v;
    std::memcpy(&v, cpu.xsave->bytes.data() + at, sizeof v);
    return v;
}

template <typename T>
void image_put(CpuState& cpu, size_t at, T v)
{
    std::memcpy(cpu.xsave->bytes.data() + at, &v, sizeof v);
}

// The 64-bit mantissa in stack slot j of the image (distinct per slot).
uint64_t slot_pattern(unsigned j) { return 0x1111111111111111ull * (j + 1) ^ 0x0123456789abcdefull; }
uint64_t xmm_pattern(unsigned i) { return 0xa5a5a5a500000000ull | i; }

// A 64-bit kernel with MMX and SSE2, the x87 at TOP = `top` with tags for three
// registers, each slot and XMM register holding its own pattern, FCW 037FH (all
// exceptions masked), nothing pending, RBX at kData.
CpuState simd_cpu(unsigned top = 3)
{
    CpuState cpu = kernel64({"mmx", "sse", "sse2"});
    cpu.regs.rbx = kData;
    cpu.xsave = XsaveImage{};
    image_put<uint16_t>(cpu, 0, 0x037f);
    image_put<uint16_t>(cpu, kFsw, static_cast<uint16_t>(top << 11));
    cpu.xsave->bytes[kFtw] = 0x07;
    image_put<uint16_t>(cpu, 6, 0x1234);  // FOP
    image_put<uint64_t>(cpu, 8, 0xfeed);  // FIP
    for (unsigned j = 0; j < 8; j++) {
        image_put<uint64_t>(cpu, kSt + 16 * j, slot_pattern(j));
        image_put<uint16_t>(cpu, kSt + 16 * j + 8, static_cast<uint16_t>(0x4000 + j));
    }
    for (unsigned i = 0; i < 16; i++) {
        image_put<uint64_t>(cpu, kXmm + 16 * i, xmm_pattern(i));
        image_put<uint64_t>(cpu, kXmm + 16 * i + 8, ~xmm_pattern(i));
    }
    image_put<uint32_t>(cpu, 24, 0x1f80);
    image_put<uint64_t>(cpu, kXstateBv, 0);
    return cpu;
}

unsigned top_of(const CpuState& cpu) { return (image_get<uint16_t>(cpu, kFsw) >> 11) & 7; }

bool retired(const Outcome& out) { return std::holds_alternative<Retired>(out); }

void require_exception(const Outcome& out, uint8_t vec, std::optional<uint32_t> error = std::nullopt)
{
    const auto* e = std::get_if<RaiseException>(&out);
    REQUIRE(e);
    CHECK(e->vector == vec);
    CHECK(e->error_code == error);
}

// Capstone 4 does not decode a LOCK prefix on these: the prefix as the decoder would mark it.
Outcome complete_locked(CpuState& cpu, GuestLinear& memory, const std::string& hex)
{
    Instruction insn = decode_hex(hex);
    insn.lock = true;
    insn.bytes.insert(insn.bytes.begin(), 0xf0);
    const Completer* c = completer_for(insn);
    REQUIRE(c);
    CompletionContext ctx{cpu, memory, {}};
    return c->complete(ctx, insn);
}

bool not_exact(const Outcome& out) { return std::holds_alternative<NotExact>(out); }

// An x87 exception pending: 0/0 left IE and ES set with IM clear.
void make_pending(CpuState& cpu)
{
    image_put<uint16_t>(cpu, 0, 0x037e);
    image_put<uint16_t>(cpu, kFsw, static_cast<uint16_t>(image_get<uint16_t>(cpu, kFsw) | 0x81));
}

}  // namespace

TEST_CASE("movq mm0 from rax: MM0 is physical R0 and the x87 goes to TOP 0 with all tags valid", "[completion]")
{
    CpuState cpu = simd_cpu(3);
    cpu.regs.rax = 0x8877665544332211ull;
    FlatGuest memory;
    SideEffects effects;
    REQUIRE(retired(complete_hex(cpu, memory, "480f6ec0", &effects)));
    CHECK(cpu.regs.rip == 0x1004);
    CHECK(effects.xsave_changed);
    CHECK(top_of(cpu) == 0);
    CHECK(cpu.xsave->bytes[kFtw] == 0xff);
    CHECK(image_get<uint64_t>(cpu, kSt) == 0x8877665544332211ull);
    CHECK(image_get<uint16_t>(cpu, kSt + 8) == 0xffff);
    // Every other physical register kept: Rp was in slot (p - 3) mod 8.
    for (unsigned p = 1; p < 8; p++) {
        CHECK(image_get<uint64_t>(cpu, kSt + 16 * p) == slot_pattern((p - 3) & 7));
        CHECK(image_get<uint16_t>(cpu, kSt + 16 * p + 8) == 0x4000 + ((p - 3) & 7));
    }
    CHECK((image_get<uint64_t>(cpu, kXstateBv) & 1) == 1);
    CHECK(image_get<uint16_t>(cpu, 6) == 0x1234);  // FOP and FIP: not an x87 instruction
    CHECK(image_get<uint64_t>(cpu, 8) == 0xfeed);
    CHECK(memory.writes == 0);
}

TEST_CASE("movd mm0 from eax zero-extends into MM0", "[completion]")
{
    CpuState cpu = simd_cpu(0);
    cpu.regs.rax = 0xffffffff89abcdefull;
    FlatGuest memory;
    REQUIRE(retired(complete_hex(cpu, memory, "0f6ec0")));
    CHECK(cpu.regs.rip == 0x1003);
    CHECK(image_get<uint64_t>(cpu, kSt) == 0x89abcdefull);
    CHECK(image_get<uint16_t>(cpu, kSt + 8) == 0xffff);
}

TEST_CASE("movd eax and movq rax from mm1 read physical R1 through TOP", "[completion]")
{
    FlatGuest memory;
    SECTION("movd: 32 bits, RAX's upper half cleared")
    {
        CpuState cpu = simd_cpu(2);
        cpu.regs.rax = ~0ull;
        REQUIRE(retired(complete_hex(cpu, memory, "0f7ec8")));
        CHECK(cpu.regs.rax == (slot_pattern(7) & 0xffffffffull));  // R1 was slot (1 - 2) mod 8
        CHECK(cpu.regs.rip == 0x1003);
        CHECK(top_of(cpu) == 0);
        CHECK(cpu.xsave->bytes[kFtw] == 0xff);
        CHECK(image_get<uint64_t>(cpu, kSt + 16) == slot_pattern(7));  // not written: exponent kept
        CHECK(image_get<uint16_t>(cpu, kSt + 16 + 8) == 0x4007);
    }
    SECTION("movq: 64 bits")
    {
        CpuState cpu = simd_cpu(2);
        REQUIRE(retired(complete_hex(cpu, memory, "480f7ec8")));
        CHECK(cpu.regs.rax == slot_pattern(7));
        CHECK(cpu.regs.rip == 0x1004);
    }
}

TEST_CASE("movq between MMX registers and memory", "[completion]")
{
    FlatGuest memory;
    memory.put<uint64_t>(kData - 8, 0x5555555555555555ull);
    memory.put<uint64_t>(kData, 0x0102030405060708ull);
    memory.put<uint64_t>(kData + 8, 0x6666666666666666ull);
    SECTION("load: movq mm2, [rbx]")
    {
        CpuState cpu = simd_cpu(1);
        REQUIRE(retired(complete_hex(cpu, memory, "0f6f13")));
        CHECK(image_get<uint64_t>(cpu, kSt + 32) == 0x0102030405060708ull);
        CHECK(image_get<uint16_t>(cpu, kSt + 32 + 8) == 0xffff);
        CHECK(top_of(cpu) == 0);
        CHECK(memory.writes == 0);
    }
    SECTION("store: movq [rbx], mm2")
    {
        CpuState cpu = simd_cpu(1);
        REQUIRE(retired(complete_hex(cpu, memory, "0f7f13")));
        CHECK(memory.get<uint64_t>(kData) == slot_pattern(1));  // R2 was slot 1
        CHECK(memory.get<uint64_t>(kData - 8) == 0x5555555555555555ull);
        CHECK(memory.get<uint64_t>(kData + 8) == 0x6666666666666666ull);
        CHECK(top_of(cpu) == 0);
        CHECK(cpu.regs.rip == 0x1003);
    }
    SECTION("REX.W's movd: movq [rbx], mm2 (48 0f 7e) writes 8 bytes")
    {
        CpuState cpu = simd_cpu(0);
        REQUIRE(retired(complete_hex(cpu, memory, "480f7e13")));
        CHECK(memory.get<uint64_t>(kData) == slot_pattern(2));
        CHECK(memory.get<uint64_t>(kData + 8) == 0x6666666666666666ull);
    }
    SECTION("store: movd [rbx], mm2 writes 4 bytes")
    {
        CpuState cpu = simd_cpu(0);
        REQUIRE(retired(complete_hex(cpu, memory, "0f7e13")));
        CHECK(memory.get<uint32_t>(kData) == (slot_pattern(2) & 0xffffffffull));
        CHECK(memory.get<uint32_t>(kData + 4) == 0x01020304u);
    }
    SECTION("register to register: movq mm3, mm2")
    {
        CpuState cpu = simd_cpu(5);
        REQUIRE(retired(complete_hex(cpu, memory, "0f6fda")));
        CHECK(image_get<uint64_t>(cpu, kSt + 48) == slot_pattern((2 - 5) & 7));
        CHECK(image_get<uint16_t>(cpu, kSt + 48 + 8) == 0xffff);
        CHECK(image_get<uint64_t>(cpu, kSt + 32) == slot_pattern((2 - 5) & 7));
    }
}

TEST_CASE("MMX moves: #UD then #NM then #MF before anything changes", "[completion]")
{
    FlatGuest memory;
    CpuState cpu = simd_cpu(3);
    cpu.regs.rax = 42;
    SECTION("CR0.EM: #UD")
    {
        cpu.sregs.cr0 |= cr0::kEM | cr0::kTS;
        require_exception(complete_hex(cpu, memory, "480f6ec0"), vector::kUD);
    }
    SECTION("LOCK: #UD")
    {
        require_exception(complete_locked(cpu, memory, "480f6ec0"), vector::kUD);
    }
    SECTION("no MMX in the guest's CPUID: #UD")
    {
        cpu.cpuid = cpuid_with({"sse", "sse2"});
        require_exception(complete_hex(cpu, memory, "480f6ec0"), vector::kUD);
    }
    SECTION("CR0.TS: #NM")
    {
        cpu.sregs.cr0 |= cr0::kTS;
        require_exception(complete_hex(cpu, memory, "480f6ec0"), vector::kNM);
    }
    SECTION("a pending unmasked x87 exception: #MF, on a load, a store and emms")
    {
        make_pending(cpu);
        require_exception(complete_hex(cpu, memory, "480f6ec0"), vector::kMF);
        require_exception(complete_hex(cpu, memory, "0f7f13"), vector::kMF);
        require_exception(complete_hex(cpu, memory, "0f77"), vector::kMF);
        CHECK(memory.writes == 0);
    }
    SECTION("a pending exception with CR0.NE clear goes through FERR#: not done")
    {
        make_pending(cpu);
        cpu.sregs.cr0 &= ~cr0::kNE;
        CHECK(not_exact(complete_hex(cpu, memory, "480f6ec0")));
    }
    SECTION("ES that disagrees with the unmasked flags: not done")
    {
        image_put<uint16_t>(cpu, kFsw, static_cast<uint16_t>(image_get<uint16_t>(cpu, kFsw) | 0x80));
        CHECK(not_exact(complete_hex(cpu, memory, "480f6ec0")));
    }
    SECTION("a masked exception flag is not pending")
    {
        image_put<uint16_t>(cpu, kFsw, static_cast<uint16_t>(image_get<uint16_t>(cpu, kFsw) | 0x01));
        REQUIRE(retired(complete_hex(cpu, memory, "480f6ec0")));
        CHECK(image_get<uint64_t>(cpu, kSt) == 42);
        return;
    }
    CHECK(cpu.regs.rip == 0x1000);
    CHECK(top_of(cpu) == 3);
    CHECK(cpu.xsave->bytes[kFtw] == 0x07);
}

TEST_CASE("MMX moves: the memory operand's faults leave the x87 state alone", "[completion]")
{
    FlatGuest memory;
    CpuState cpu = simd_cpu(3);
    SideEffects effects;
    SECTION("#PF on a store, with CR2 and the write bit")
    {
        memory.faulting_pages.insert(kData / 4096);
        const auto out = complete_hex(cpu, memory, "0f7f13", &effects);
        require_exception(out, vector::kPF, 2u);
        CHECK(std::get<RaiseException>(out).cr2 == kData);
    }
    SECTION("#PF on a load")
    {
        memory.faulting_pages.insert(kData / 4096);
        require_exception(complete_hex(cpu, memory, "0f6f13", &effects), vector::kPF, 0u);
    }
    SECTION("a non-canonical address: #GP(0)")
    {
        cpu.regs.rbx = 0x8000000000000000ull;
        require_exception(complete_hex(cpu, memory, "0f7f13", &effects), vector::kGP, 0u);
    }
    SECTION("a non-canonical RSP-based address: #SS(0)")
    {
        cpu.regs.rsp = 0x8000000000000000ull;
        require_exception(complete_hex(cpu, memory, "0f7f1424", &effects), vector::kSS, 0u);  // movq [rsp], mm2
    }
    SECTION("a misaligned load at CPL3 with alignment checks: #AC(0)")
    {
        cpu.sregs.cs.selector = 0x1b;
        cpu.sregs.cr0 |= kCr0Am;
        cpu.regs.rflags |= rflags::kAC;
        cpu.regs.rbx = kData + 4;
        require_exception(complete_hex(cpu, memory, "0f6f13", &effects), vector::kAC, 0u);
    }
    SECTION("a misaligned store at CPL3 with alignment checks: not done")
    {
        cpu.sregs.cs.selector = 0x1b;
        cpu.sregs.cr0 |= kCr0Am;
        cpu.regs.rflags |= rflags::kAC;
        cpu.regs.rbx = kData + 4;
        CHECK(not_exact(complete_hex(cpu, memory, "0f7f13", &effects)));
    }
    CHECK(cpu.regs.rip == 0x1000);
    CHECK(top_of(cpu) == 3);
    CHECK(cpu.xsave->bytes[kFtw] == 0x07);
    CHECK_FALSE(effects.xsave_changed);
    CHECK(memory.writes == 0);
}

TEST_CASE("a misaligned MMX access is fine outside CPL3 alignment checking", "[completion]")
{
    FlatGuest memory;
    CpuState cpu = simd_cpu(0);
    cpu.sregs.cr0 |= kCr0Am;
    cpu.regs.rflags |= rflags::kAC;  // CPL0: no #AC
    cpu.regs.rbx = kData + 3;
    REQUIRE(retired(complete_hex(cpu, memory, "0f7f13")));
    CHECK(memory.get<uint64_t>(kData + 3) == slot_pattern(2));
}

TEST_CASE("SSE movd/movq: zero-extension into XMM and the x87 untouched", "[completion]")
{
    FlatGuest memory;
    memory.put<uint64_t>(kData, 0x0102030405060708ull);
    memory.put<uint64_t>(kData + 8, 0x6666666666666666ull);
    CpuState cpu = simd_cpu(3);
    cpu.regs.rax = 0xfedcba9876543210ull;
    SideEffects effects;
    SECTION("movd xmm1, eax")
    {
        REQUIRE(retired(complete_hex(cpu, memory, "660f6ec8", &effects)));
        CHECK(image_get<uint64_t>(cpu, kXmm + 16) == 0x76543210ull);
        CHECK(image_get<uint64_t>(cpu, kXmm + 24) == 0);
        CHECK(cpu.regs.rip == 0x1004);
    }
    SECTION("movq xmm1, rax")
    {
        REQUIRE(retired(complete_hex(cpu, memory, "66480f6ec8", &effects)));
        CHECK(image_get<uint64_t>(cpu, kXmm + 16) == 0xfedcba9876543210ull);
        CHECK(image_get<uint64_t>(cpu, kXmm + 24) == 0);
    }
    SECTION("movq xmm1, [rbx]")
    {
        REQUIRE(retired(complete_hex(cpu, memory, "f30f7e0b", &effects)));
        CHECK(image_get<uint64_t>(cpu, kXmm + 16) == 0x0102030405060708ull);
        CHECK(image_get<uint64_t>(cpu, kXmm + 24) == 0);
    }
    SECTION("movq xmm9, xmm1")
    {
        REQUIRE(retired(complete_hex(cpu, memory, "f3440f7ec9", &effects)));
        CHECK(image_get<uint64_t>(cpu, kXmm + 16 * 9) == xmm_pattern(1));
        CHECK(image_get<uint64_t>(cpu, kXmm + 16 * 9 + 8) == 0);
        CHECK(image_get<uint64_t>(cpu, kXmm + 16 + 8) == ~xmm_pattern(1));  // the source kept
    }
    SECTION("movq [rbx], xmm1 (66 0f d6)")
    {
        REQUIRE(retired(complete_hex(cpu, memory, "660fd60b", &effects)));
        CHECK(memory.get<uint64_t>(kData) == xmm_pattern(1));
        CHECK(memory.get<uint64_t>(kData + 8) == 0x6666666666666666ull);
        CHECK(image_get<uint64_t>(cpu, kXstateBv) == 0);  // no register written
    }
    SECTION("movd [rbx], xmm1")
    {
        REQUIRE(retired(complete_hex(cpu, memory, "660f7e0b", &effects)));
        CHECK(memory.get<uint32_t>(kData) == static_cast<uint32_t>(xmm_pattern(1)));
        CHECK(memory.get<uint32_t>(kData + 4) == 0x01020304u);
    }
    SECTION("movq rax, xmm2")
    {
        REQUIRE(retired(complete_hex(cpu, memory, "66480f7ed0", &effects)));
        CHECK(cpu.regs.rax == xmm_pattern(2));
    }
    SECTION("a pending x87 exception does not concern SSE")
    {
        make_pending(cpu);
        REQUIRE(retired(complete_hex(cpu, memory, "660f6ec8", &effects)));
        CHECK(image_get<uint64_t>(cpu, kXmm + 16) == 0x76543210ull);
    }
    CHECK(effects.xsave_changed);
    CHECK(top_of(cpu) == 3);
    CHECK(cpu.xsave->bytes[kFtw] == 0x07);
    CHECK((image_get<uint64_t>(cpu, kXstateBv) & 1) == 0);
}

TEST_CASE("SSE movd/movq: #UD and #NM", "[completion]")
{
    FlatGuest memory;
    CpuState cpu = simd_cpu(3);
    SECTION("CR4.OSFXSR clear: #UD") { cpu.sregs.cr4 &= ~cr4::kOSFXSR; }
    SECTION("CR0.EM: #UD") { cpu.sregs.cr0 |= cr0::kEM; }
    SECTION("no SSE2 in the guest's CPUID: #UD") { cpu.cpuid = cpuid_with({"mmx", "sse"}); }
    SECTION("LOCK: #UD")
    {
        require_exception(complete_locked(cpu, memory, "660f6ec8"), vector::kUD);
        return;
    }
    SECTION("CR0.TS: #NM")
    {
        cpu.sregs.cr0 |= cr0::kTS;
        require_exception(complete_hex(cpu, memory, "660f6ec8"), vector::kNM);
        CHECK(cpu.regs.rip == 0x1000);
        return;
    }
    require_exception(complete_hex(cpu, memory, "660f6ec8"), vector::kUD);
    CHECK(cpu.regs.rip == 0x1000);
    CHECK(image_get<uint64_t>(cpu, kXmm + 16) == xmm_pattern(1));
}

TEST_CASE("emms empties every tag and keeps TOP and the registers", "[completion]")
{
    FlatGuest memory;
    CpuState cpu = simd_cpu(3);
    SideEffects effects;
    REQUIRE(retired(complete_hex(cpu, memory, "0f77", &effects)));
    CHECK(cpu.regs.rip == 0x1002);
    CHECK(effects.xsave_changed);
    CHECK(cpu.xsave->bytes[kFtw] == 0);
    CHECK(top_of(cpu) == 3);
    CHECK(image_get<uint64_t>(cpu, kSt) == slot_pattern(0));
}

TEST_CASE("emms: #UD with CR0.EM and #NM with CR0.TS", "[completion]")
{
    FlatGuest memory;
    CpuState cpu = simd_cpu(3);
    cpu.sregs.cr0 |= cr0::kTS;
    require_exception(complete_hex(cpu, memory, "0f77"), vector::kNM);
    cpu.sregs.cr0 |= cr0::kEM;
    require_exception(complete_hex(cpu, memory, "0f77"), vector::kUD);
    CHECK(cpu.xsave->bytes[kFtw] == 0x07);
    CHECK(cpu.regs.rip == 0x1000);
}

}  // namespace cr3rig::test
