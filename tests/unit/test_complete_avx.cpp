// vzeroall, vzeroupper, vmovdqa, vmovdqu, vmovntdq and vmovntdqa against the XSAVE
// image: XMM in the legacy area, YMM's upper halves in component 2, ZMM_Hi256 with
// AVX-512F, the XSTATE_BV bits, VEX.128's zeroing above the destination, the alignment
// rules, and every exception path in the SDM's order.
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/support/completion_fixture.hpp"

namespace cr3rig::test {
namespace {

constexpr uint64_t kData = 0x4000;
constexpr uint32_t kXmm = 160, kXstateBv = 512, kYmmHi = 576, kZmmHi = 1152;
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

// Distinct 8-byte patterns: register i's quadword q (0, 1: XMM; 2, 3: YMM_Hi128; 4-7: ZMM_Hi256).
uint64_t pattern(unsigned i, unsigned q) { return 0x1000000000000000ull * (q + 1) + 0x0101010101ull * (i + 1); }

uint64_t xmm(const CpuState& cpu, unsigned i, unsigned q) { return image_get<uint64_t>(cpu, kXmm + 16 * i + 8 * q); }
uint64_t ymm_hi(const CpuState& cpu, unsigned i, unsigned q) { return image_get<uint64_t>(cpu, kYmmHi + 16 * i + 8 * q); }
uint64_t zmm_hi(const CpuState& cpu, unsigned i, unsigned q) { return image_get<uint64_t>(cpu, kZmmHi + 32 * i + 8 * q); }
uint64_t xstate_bv(const CpuState& cpu) { return image_get<uint64_t>(cpu, kXstateBv); }

void add_xsave_component(CpuState& cpu, unsigned i, uint32_t size, uint32_t offset)
{
    kvm_cpuid_entry2 e{};
    e.function = 0xd;
    e.index = i;
    e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    e.eax = size;
    e.ebx = offset;
    cpu.cpuid.push_back(e);
}

// A 64-bit kernel with AVX and AVX2 enabled (CR4.OSXSAVE, XCR0 = x87|SSE|AVX), every
// XMM and YMM_Hi128 holding its pattern, RBX at kData.
CpuState avx_cpu()
{
    CpuState cpu = kernel64({"sse", "sse2", "xsave", "avx", "avx2"});
    add_xsave_component(cpu, 2, 256, kYmmHi);
    cpu.sregs.cr4 |= cr4::kOSXSAVE;
    cpu.xcr0 = 0x7;
    cpu.regs.rbx = kData;
    cpu.xsave = XsaveImage{};
    image_put<uint16_t>(cpu, 0, 0x037f);
    image_put<uint32_t>(cpu, 24, 0x1f80);
    for (unsigned i = 0; i < 16; i++)
        for (unsigned q = 0; q < 2; q++) {
            image_put<uint64_t>(cpu, kXmm + 16 * i + 8 * q, pattern(i, q));
            image_put<uint64_t>(cpu, kYmmHi + 16 * i + 8 * q, pattern(i, q + 2));
        }
    image_put<uint64_t>(cpu, kXstateBv, 0x7);
    return cpu;
}

// As avx_cpu with AVX-512F: ZMM_Hi256 (component 6) holds its patterns too.
CpuState avx512_cpu()
{
    CpuState cpu = avx_cpu();
    const kvm_cpuid_entry2 avx512f = cpuid_with({"avx512f"}).front();
    for (auto& e : cpu.cpuid)
        if (e.function == 7 && e.index == 0)
            e.ebx |= avx512f.ebx;
    add_xsave_component(cpu, 6, 512, kZmmHi);
    for (unsigned i = 0; i < 16; i++)
        for (unsigned q = 0; q < 4; q++)
            image_put<uint64_t>(cpu, kZmmHi + 32 * i + 8 * q, pattern(i, q + 4));
    image_put<uint64_t>(cpu, kXstateBv, 0x47);
    return cpu;
}

// 32 bytes of distinct memory at kData (and around it).
FlatGuest patterned_memory()
{
    FlatGuest memory;
    for (unsigned i = 0; i < 16; i++)
        memory.put<uint64_t>(kData - 32 + 8 * i, 0xc0c0c0c0c0c0c000ull + i);
    return memory;
}
uint64_t memory_pattern(int quad) { return 0xc0c0c0c0c0c0c000ull + static_cast<uint64_t>(4 + quad); }  // the quadword at kData + 8*quad

// The instruction with `prefix` in front of it, as the fetch would give it.
Outcome complete_prefixed(CpuState& cpu, GuestLinear& memory, uint8_t prefix, const std::string& hex)
{
    Instruction insn = decode_hex(hex);
    insn.bytes.insert(insn.bytes.begin(), prefix);
    insn.lock = prefix == 0xf0;
    return complete_instruction(cpu, memory, insn);
}

bool image_unchanged(const CpuState& cpu, const CpuState& before) { return cpu.xsave->bytes == before.xsave->bytes; }

}  // namespace

TEST_CASE("vzeroall zeroes XMM0-15 and YMM0-15 in 64-bit mode", "[completion]")
{
    CpuState cpu = avx_cpu();
    FlatGuest memory;
    SideEffects effects;
    require_retired(cpu, complete_hex(cpu, memory, "c5fc77", &effects), 3);
    CHECK(effects.xsave_changed);
    for (unsigned i = 0; i < 16; i++)
        for (unsigned q = 0; q < 2; q++) {
            CHECK(xmm(cpu, i, q) == 0);
            CHECK(ymm_hi(cpu, i, q) == 0);
        }
    CHECK(image_get<uint32_t>(cpu, 24) == 0x1f80);  // MXCSR kept
    CHECK(memory.writes == 0);
}

TEST_CASE("vzeroall outside 64-bit mode zeroes registers 0-7 only", "[completion]")
{
    CpuState cpu = avx_cpu();
    cpu.sregs.efer = 0;
    cpu.sregs.cs.l = 0;
    cpu.sregs.cs.db = 1;
    cpu.sregs.cs.limit = 0xffffffff;
    FlatGuest memory;
    require_retired(cpu, complete_hex(cpu, memory, "c5fc77"), 3);
    for (unsigned i = 0; i < 16; i++) {
        CHECK(xmm(cpu, i, 0) == (i < 8 ? 0 : pattern(i, 0)));
        CHECK(ymm_hi(cpu, i, 1) == (i < 8 ? 0 : pattern(i, 3)));
    }
}

TEST_CASE("vzeroupper keeps XMM0-15 and zeroes bits 255:128", "[completion]")
{
    CpuState cpu = avx_cpu();
    FlatGuest memory;
    SideEffects effects;
    require_retired(cpu, complete_hex(cpu, memory, "c5f877", &effects), 3);
    CHECK(effects.xsave_changed);
    for (unsigned i = 0; i < 16; i++)
        for (unsigned q = 0; q < 2; q++) {
            CHECK(xmm(cpu, i, q) == pattern(i, q));
            CHECK(ymm_hi(cpu, i, q) == 0);
        }
}

TEST_CASE("vzeroupper and vzeroall with AVX-512F zero bits 511:256 of ZMM0-15", "[completion]")
{
    FlatGuest memory;
    SECTION("vzeroupper")
    {
        CpuState cpu = avx512_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5f877"), 3);
        CHECK(xmm(cpu, 5, 1) == pattern(5, 1));
        CHECK(ymm_hi(cpu, 5, 1) == 0);
        for (unsigned i = 0; i < 16; i++)
            for (unsigned q = 0; q < 4; q++)
                CHECK(zmm_hi(cpu, i, q) == 0);
    }
    SECTION("vzeroall")
    {
        CpuState cpu = avx512_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5fc77"), 3);
        CHECK(xmm(cpu, 15, 0) == 0);
        CHECK(zmm_hi(cpu, 15, 3) == 0);
    }
}

TEST_CASE("vmovdqa ymm1 from memory fills XMM1 and YMM_Hi128", "[completion]")
{
    CpuState cpu = avx_cpu();
    FlatGuest memory = patterned_memory();
    SideEffects effects;
    require_retired(cpu, complete_hex(cpu, memory, "c5fd6f0b", &effects), 4);  // vmovdqa ymm1, [rbx]
    CHECK(effects.xsave_changed);
    CHECK(xmm(cpu, 1, 0) == memory_pattern(0));
    CHECK(xmm(cpu, 1, 1) == memory_pattern(1));
    CHECK(ymm_hi(cpu, 1, 0) == memory_pattern(2));
    CHECK(ymm_hi(cpu, 1, 1) == memory_pattern(3));
    CHECK(xmm(cpu, 0, 0) == pattern(0, 0));
    CHECK(ymm_hi(cpu, 2, 0) == pattern(2, 2));
    CHECK(memory.writes == 0);
}

TEST_CASE("vmovdqa RIP-relative load as xsave.flat does it", "[completion]")
{
    CpuState cpu = avx_cpu();
    FlatGuest memory = patterned_memory();
    // vmovdqa ymm0, [rip + disp32]: the next instruction is at 0x1008, kData = 0x1008 + 0x2ff8.
    require_retired(cpu, complete_hex(cpu, memory, "c5fd6f05f82f0000"), 8);
    CHECK(xmm(cpu, 0, 0) == memory_pattern(0));
    CHECK(ymm_hi(cpu, 0, 1) == memory_pattern(3));
}

TEST_CASE("VEX.128 vmovdqa zeroes the destination above bit 127", "[completion]")
{
    FlatGuest memory = patterned_memory();
    SECTION("bits 255:128")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5f96f0b"), 4);  // vmovdqa xmm1, [rbx]
        CHECK(xmm(cpu, 1, 0) == memory_pattern(0));
        CHECK(xmm(cpu, 1, 1) == memory_pattern(1));
        CHECK(ymm_hi(cpu, 1, 0) == 0);
        CHECK(ymm_hi(cpu, 1, 1) == 0);
        CHECK(ymm_hi(cpu, 2, 0) == pattern(2, 2));
    }
    SECTION("bits 511:128 with AVX-512F")
    {
        CpuState cpu = avx512_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5f96f0b"), 4);
        CHECK(ymm_hi(cpu, 1, 1) == 0);
        for (unsigned q = 0; q < 4; q++)
            CHECK(zmm_hi(cpu, 1, q) == 0);
        CHECK(zmm_hi(cpu, 2, 0) == pattern(2, 4));
    }
    SECTION("VEX.256 with AVX-512F zeroes bits 511:256")
    {
        CpuState cpu = avx512_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5fd6f0b"), 4);
        CHECK(ymm_hi(cpu, 1, 1) == memory_pattern(3));
        CHECK(zmm_hi(cpu, 1, 3) == 0);
    }
}

TEST_CASE("vmovdqa between YMM registers including ymm15", "[completion]")
{
    FlatGuest memory;
    SECTION("vmovdqa ymm15, ymm0 (6f)")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c57d6ff8"), 4);
        for (unsigned q = 0; q < 2; q++) {
            CHECK(xmm(cpu, 15, q) == pattern(0, q));
            CHECK(ymm_hi(cpu, 15, q) == pattern(0, q + 2));
            CHECK(xmm(cpu, 0, q) == pattern(0, q));
        }
    }
    SECTION("vmovdqa ymm0, ymm15 (7f)")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c57d7ff8"), 4);
        CHECK(xmm(cpu, 0, 1) == pattern(15, 1));
        CHECK(ymm_hi(cpu, 0, 1) == pattern(15, 3));
    }
    SECTION("vmovdqa xmm3, xmm2 zeroes YMM3's upper half")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5f96fda"), 4);
        CHECK(xmm(cpu, 3, 1) == pattern(2, 1));
        CHECK(ymm_hi(cpu, 3, 0) == 0);
        CHECK(ymm_hi(cpu, 2, 0) == pattern(2, 2));
    }
}

TEST_CASE("vmovdqa store writes 32 or 16 bytes and leaves the image", "[completion]")
{
    FlatGuest memory = patterned_memory();
    SECTION("vmovdqa [rbx], ymm2")
    {
        CpuState cpu = avx_cpu();
        CpuState before = cpu;
        SideEffects effects;
        require_retired(cpu, complete_hex(cpu, memory, "c5fd7f13", &effects), 4);
        CHECK(memory.get<uint64_t>(kData) == pattern(2, 0));
        CHECK(memory.get<uint64_t>(kData + 8) == pattern(2, 1));
        CHECK(memory.get<uint64_t>(kData + 16) == pattern(2, 2));
        CHECK(memory.get<uint64_t>(kData + 24) == pattern(2, 3));
        CHECK(memory.get<uint64_t>(kData + 32) == memory_pattern(4));
        CHECK(memory.get<uint64_t>(kData - 8) == memory_pattern(-1));
        CHECK(image_unchanged(cpu, before));
    }
    SECTION("vmovdqa [rbx], xmm2")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5f97f13"), 4);
        CHECK(memory.get<uint64_t>(kData + 8) == pattern(2, 1));
        CHECK(memory.get<uint64_t>(kData + 16) == memory_pattern(2));
    }
}

TEST_CASE("vmovdqa raises #GP(0) for an operand not aligned to its size", "[completion]")
{
    FlatGuest memory = patterned_memory();
    SECTION("ymm load at a 16-byte boundary")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rbx = kData + 16;
        CpuState before = cpu;
        Outcome out = complete_hex(cpu, memory, "c5fd6f0b");
        require_fault(cpu, out, vector::kGP, 0u);
        CHECK(image_unchanged(cpu, before));
    }
    SECTION("xmm store at +8")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rbx = kData + 8;
        require_fault(cpu, complete_hex(cpu, memory, "c5f97f13"), vector::kGP, 0u);
        CHECK(memory.writes == 0);
    }
    SECTION("xmm load at a 16-byte boundary is aligned")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rbx = kData + 16;
        require_retired(cpu, complete_hex(cpu, memory, "c5f96f0b"), 4);
        CHECK(xmm(cpu, 1, 0) == memory_pattern(2));
    }
}

TEST_CASE("vmovdqu moves misaligned operands", "[completion]")
{
    FlatGuest memory = patterned_memory();
    SECTION("load ymm1 from rbx+1")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5fe6f4b01"), 5);
        CHECK(xmm(cpu, 1, 0) == memory.get<uint64_t>(kData + 1));
        CHECK(ymm_hi(cpu, 1, 1) == memory.get<uint64_t>(kData + 25));
    }
    SECTION("store ymm1 to rbx+1")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5fe7f4b01"), 5);
        CHECK(memory.get<uint64_t>(kData + 1) == pattern(1, 0));
        CHECK(memory.get<uint64_t>(kData + 25) == pattern(1, 3));
        CHECK(memory.get<uint8_t>(kData) == uint8_t(memory_pattern(0)));
    }
    SECTION("misaligned at CPL3 with alignment checks on: not exact")
    {
        CpuState cpu = avx_cpu();
        cpu.sregs.cs.selector = 0x1b;
        cpu.sregs.cr0 |= kCr0Am;
        cpu.regs.rflags |= rflags::kAC;
        require_not_exact(cpu, complete_hex(cpu, memory, "c5fe6f4b01"));
    }
    SECTION("aligned at CPL3 with alignment checks on")
    {
        CpuState cpu = avx_cpu();
        cpu.sregs.cs.selector = 0x1b;
        cpu.sregs.cr0 |= kCr0Am;
        cpu.regs.rflags |= rflags::kAC;
        require_retired(cpu, complete_hex(cpu, memory, "c5fe6f0b"), 4);
        CHECK(xmm(cpu, 1, 0) == memory_pattern(0));
    }
}

TEST_CASE("vmovntdq stores aligned and raises #GP(0) misaligned", "[completion]")
{
    FlatGuest memory = patterned_memory();
    SECTION("vmovntdq [rbx], ymm1")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5fde70b"), 4);
        CHECK(memory.get<uint64_t>(kData) == pattern(1, 0));
        CHECK(memory.get<uint64_t>(kData + 24) == pattern(1, 3));
    }
    SECTION("vmovntdq [rbx], xmm1")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5f9e70b"), 4);
        CHECK(memory.get<uint64_t>(kData + 8) == pattern(1, 1));
        CHECK(memory.get<uint64_t>(kData + 16) == memory_pattern(2));
    }
    SECTION("misaligned")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rbx = kData + 16;
        require_fault(cpu, complete_hex(cpu, memory, "c5fde70b"), vector::kGP, 0u);
        CHECK(memory.writes == 0);
    }
}

TEST_CASE("vmovntdqa loads aligned and needs AVX2 for VEX.256", "[completion]")
{
    FlatGuest memory = patterned_memory();
    SECTION("vmovntdqa ymm1, [rbx]")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c4e27d2a0b"), 5);
        CHECK(xmm(cpu, 1, 0) == memory_pattern(0));
        CHECK(ymm_hi(cpu, 1, 1) == memory_pattern(3));
    }
    SECTION("VEX.256 without AVX2: #UD")
    {
        CpuState cpu = avx_cpu();
        cpu.cpuid = cpuid_with({"sse", "sse2", "xsave", "avx"});
        add_xsave_component(cpu, 2, 256, kYmmHi);
        require_fault(cpu, complete_hex(cpu, memory, "c4e27d2a0b"), vector::kUD, std::nullopt);
    }
    SECTION("VEX.128 with AVX alone")
    {
        CpuState cpu = avx_cpu();
        cpu.cpuid = cpuid_with({"sse", "sse2", "xsave", "avx"});
        add_xsave_component(cpu, 2, 256, kYmmHi);
        require_retired(cpu, complete_hex(cpu, memory, "c4e2792a0b"), 5);
        CHECK(xmm(cpu, 1, 1) == memory_pattern(1));
        CHECK(ymm_hi(cpu, 1, 0) == 0);
    }
    SECTION("misaligned")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rbx = kData + 1;
        require_fault(cpu, complete_hex(cpu, memory, "c4e27d2a0b"), vector::kGP, 0u);
    }
}

TEST_CASE("AVX moves: #UD for the OS and CPUID enables", "[completion]")
{
    FlatGuest memory = patterned_memory();
    CpuState cpu = avx_cpu();
    CpuState before = cpu;
    SECTION("CR4.OSXSAVE clear") { cpu.sregs.cr4 &= ~cr4::kOSXSAVE; }
    SECTION("XCR0 without AVX") { cpu.xcr0 = 0x3; }
    SECTION("XCR0 without SSE") { cpu.xcr0 = 0x5; }
    SECTION("CPUID without AVX")
    {
        cpu.cpuid = cpuid_with({"sse", "sse2", "xsave"});
        add_xsave_component(cpu, 2, 256, kYmmHi);
    }
    SECTION("real mode") { cpu.sregs.cr0 &= ~cr0::kPE; }
    SECTION("#UD outranks #NM") { cpu.sregs.cr4 &= ~cr4::kOSXSAVE; cpu.sregs.cr0 |= cr0::kTS; }
    for (const char* hex : {"c5fd6f0b", "c5fc77", "c5f877", "c5fde70b", "c4e27d2a0b"}) {
        CpuState attempt = cpu;
        require_fault(attempt, complete_hex(attempt, memory, hex), vector::kUD, std::nullopt);
        CHECK(image_unchanged(attempt, before));
    }
    CHECK(memory.writes == 0);
}

TEST_CASE("AVX moves: #UD for a LOCK 66 F2 F3 or REX prefix before VEX", "[completion]")
{
    FlatGuest memory = patterned_memory();
    for (uint8_t prefix : {0xf0, 0x66, 0xf2, 0xf3, 0x40, 0x48}) {
        CpuState cpu = avx_cpu();
        require_fault(cpu, complete_prefixed(cpu, memory, prefix, "c5fd6f0b"), vector::kUD, std::nullopt);
        CpuState zeroing = avx_cpu();
        require_fault(zeroing, complete_prefixed(zeroing, memory, prefix, "c5fc77"), vector::kUD, std::nullopt);
        CHECK(zeroing.xsave->bytes == avx_cpu().xsave->bytes);
    }
    SECTION("a segment override is allowed")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_prefixed(cpu, memory, 0x3e, "c5fd6f0b"), 5);
        CHECK(xmm(cpu, 1, 0) == memory_pattern(0));
    }
}

TEST_CASE("AVX moves: #UD for VEX.vvvv other than 1111b", "[completion]")
{
    FlatGuest memory = patterned_memory();
    CpuState cpu = avx_cpu();
    Instruction insn = decode_hex("c5fd6f0b");
    insn.bytes[1] = 0xf5;  // VEX.vvvv = 1110b: xmm1/ymm1 named
    require_fault(cpu, complete_instruction(cpu, memory, insn), vector::kUD, std::nullopt);
    Instruction zeroing = decode_hex("c5fc77");
    zeroing.bytes[1] = 0x84;  // VEX.vvvv = 0000b, VEX.R kept
    require_fault(cpu, complete_instruction(cpu, memory, zeroing), vector::kUD, std::nullopt);
    CHECK(cpu.xsave->bytes == avx_cpu().xsave->bytes);
}

TEST_CASE("AVX moves: VEX.vvvv outside 64-bit mode", "[completion]")
{
    FlatGuest memory = patterned_memory();
    CpuState cpu = avx_cpu();
    cpu.sregs.efer = 0;
    cpu.sregs.cs.l = 0;
    cpu.sregs.cs.db = 1;
    cpu.sregs.cs.limit = 0xffffffff;
    Instruction insn = decode_hex("c5fc77", CodeSize::Bits32);
    insn.bytes[1] = 0xf4;  // VEX.vvvv = 1110b: #UD
    require_fault(cpu, complete_instruction(cpu, memory, insn), vector::kUD, std::nullopt);
    insn.bytes[1] = 0xbc;  // VEX.vvvv = 0111b: the ignored high bit
    require_not_exact(cpu, complete_instruction(cpu, memory, insn));
    CHECK(cpu.xsave->bytes == avx_cpu().xsave->bytes);
}

TEST_CASE("AVX moves: #UD for a register operand where only memory is allowed", "[completion]")
{
    FlatGuest memory;
    CpuState cpu = avx_cpu();
    // vmovntdq [rbx], ymm1 with its ModRM made a register form (mod 11b).
    Instruction store = decode_hex("c5fde70b");
    store.operands[0] = store.operands[1];
    store.operands[0].reg = X86_REG_YMM3;
    require_fault(cpu, complete_instruction(cpu, memory, store), vector::kUD, std::nullopt);
    Instruction load = decode_hex("c4e27d2a0b");
    load.operands[1] = load.operands[0];
    require_fault(cpu, complete_instruction(cpu, memory, load), vector::kUD, std::nullopt);
}

TEST_CASE("AVX moves: #NM with CR0.TS after the #UD checks", "[completion]")
{
    FlatGuest memory = patterned_memory();
    for (const char* hex : {"c5fd6f0b", "c5fd7f13", "c5fc77", "c5f877", "c4e27d2a0b"}) {
        CpuState cpu = avx_cpu();
        cpu.sregs.cr0 |= cr0::kTS;
        cpu.regs.rbx = kData + 1;  // #NM outranks the alignment #GP
        require_fault(cpu, complete_hex(cpu, memory, hex), vector::kNM, std::nullopt);
        CHECK(cpu.xsave->bytes == avx_cpu().xsave->bytes);
    }
    CHECK(memory.writes == 0);
}

TEST_CASE("AVX moves: the memory operand's #GP #SS and #PF leave state alone", "[completion]")
{
    FlatGuest memory = patterned_memory();
    SECTION("non-canonical: #GP(0)")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rbx = 0x8000000000000000ull;
        require_fault(cpu, complete_hex(cpu, memory, "c5fd6f0b"), vector::kGP, 0u);
    }
    SECTION("non-canonical through RSP: #SS(0)")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rsp = 0x8000000000000000ull;
        require_fault(cpu, complete_hex(cpu, memory, "c5fd7f1424"), vector::kSS, 0u);  // vmovdqa [rsp], ymm2
        CHECK(memory.writes == 0);
    }
    SECTION("load from a page that faults: #PF, image unchanged")
    {
        CpuState cpu = avx_cpu();
        CpuState before = cpu;
        memory.faulting_pages.insert(kData / 4096);
        require_fault(cpu, complete_hex(cpu, memory, "c5fd6f0b"), vector::kPF, 0u, kData);
        CHECK(image_unchanged(cpu, before));
    }
    SECTION("store across into a faulting page: #PF, nothing written")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rbx = kData + 4096 - 16;
        memory.faulting_pages.insert(kData / 4096 + 1);
        require_fault(cpu, complete_hex(cpu, memory, "c5fe7f0b"), vector::kPF, 2u, kData + 4096);  // vmovdqu
        CHECK(memory.writes == 0);
    }
    SECTION("memory that is not RAM: not exact")
    {
        CpuState cpu = avx_cpu();
        cpu.regs.rbx = memory.bytes.size();
        require_not_exact(cpu, complete_hex(cpu, memory, "c5fd6f0b"));
    }
}

TEST_CASE("AVX state in its initial configuration reads as zero and is marked in use when written", "[completion]")
{
    FlatGuest memory = patterned_memory();
    SECTION("YMM_Hi128 with XSTATE_BV[2] clear reads as zero")
    {
        CpuState cpu = avx_cpu();
        image_put<uint64_t>(cpu, kXstateBv, 0x3);  // the image's YMM_Hi128 bytes are stale
        require_retired(cpu, complete_hex(cpu, memory, "c5fd7f13"), 4);  // vmovdqa [rbx], ymm2
        CHECK(memory.get<uint64_t>(kData + 8) == pattern(2, 1));
        CHECK(memory.get<uint64_t>(kData + 16) == 0);
        CHECK(memory.get<uint64_t>(kData + 24) == 0);
    }
    SECTION("a load into YMM1 sets XSTATE_BV[1] and [2] and zeroes the other registers' stale bytes")
    {
        CpuState cpu = avx_cpu();
        image_put<uint64_t>(cpu, kXstateBv, 0x1);
        SideEffects effects;
        require_retired(cpu, complete_hex(cpu, memory, "c5fd6f0b", &effects), 4);
        CHECK(effects.xsave_changed);
        CHECK(xstate_bv(cpu) == 0x7);
        CHECK(xmm(cpu, 1, 0) == memory_pattern(0));
        CHECK(ymm_hi(cpu, 1, 1) == memory_pattern(3));
        CHECK(xmm(cpu, 0, 0) == 0);
        CHECK(ymm_hi(cpu, 2, 0) == 0);
    }
    SECTION("a VEX.128 load leaves XSTATE_BV[2] clear")
    {
        CpuState cpu = avx_cpu();
        image_put<uint64_t>(cpu, kXstateBv, 0x3);
        require_retired(cpu, complete_hex(cpu, memory, "c5f96f0b"), 4);
        CHECK(xstate_bv(cpu) == 0x3);
        CHECK(xmm(cpu, 1, 1) == memory_pattern(1));
    }
    SECTION("vzeroall keeps XSTATE_BV and leaves zeros")
    {
        CpuState cpu = avx_cpu();
        require_retired(cpu, complete_hex(cpu, memory, "c5fc77"), 3);
        CHECK(xstate_bv(cpu) == 0x7);
    }
}

TEST_CASE("AVX moves: not exact without CPUID leaf 0DH's place for YMM_Hi128", "[completion]")
{
    FlatGuest memory = patterned_memory();
    CpuState cpu = avx_cpu();
    SECTION("missing") { cpu.cpuid.pop_back(); }
    SECTION("outside the 4 KiB image") { cpu.cpuid.back().ebx = 4000; }
    require_not_exact(cpu, complete_hex(cpu, memory, "c5fd6f0b"));
    require_not_exact(cpu, complete_hex(cpu, memory, "c5fc77"));
}

}  // namespace cr3rig::test
