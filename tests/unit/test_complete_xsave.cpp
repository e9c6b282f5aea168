// xsave and xrstor (standard form) against the XSAVE image: which bytes move, the
// header rules, every exception, partial feature masks and the legacy modes.
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/support/completion_fixture.hpp"

namespace cr3rig::test {
namespace {

constexpr uint64_t kArea = 0x4000;  // 64-byte aligned, in FlatGuest's RAM
constexpr uint32_t kAvxAt = 576, kAvxSize = 256;
constexpr uint8_t kUntouched = 0xee;

constexpr const char* kXsave = "0fae23";      // xsave [rbx]
constexpr const char* kXsave64 = "480fae23";  // xsave64 [rbx]
constexpr const char* kXrstor = "0fae2b";     // xrstor [rbx]
constexpr const char* kXrstor64 = "480fae2b";  // xrstor64 [rbx]

uint8_t image_pattern(size_t i) { return static_cast<uint8_t>(i * 7 + 1); }
uint8_t memory_pattern(size_t i) { return static_cast<uint8_t>(i * 13 + 5); }

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

void add_leaf_d(CpuState& cpu, unsigned subleaf, uint32_t size, uint32_t offset)
{
    kvm_cpuid_entry2 e{};
    e.function = 0xd;
    e.index = subleaf;
    e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    e.eax = size;
    e.ebx = offset;
    cpu.cpuid.push_back(e);
}

// A 64-bit kernel with XSAVE enabled for x87, SSE and AVX, RBX at the area, EDX:EAX
// asking for everything, and an image whose every byte is distinct from memory's.
CpuState xsave_cpu(bool with_xsavec = false)
{
    CpuState cpu = with_xsavec ? kernel64({"xsave", "xsavec"}) : kernel64({"xsave"});
    cpu.sregs.cr4 |= cr4::kOSXSAVE;
    cpu.xcr0 = 7;
    cpu.regs.rax = 0xffffffff;
    cpu.regs.rdx = 0xffffffff;
    cpu.regs.rbx = kArea;
    add_leaf_d(cpu, 2, kAvxSize, kAvxAt);
    cpu.xsave = XsaveImage{};
    for (size_t i = 0; i < kAvxAt + kAvxSize; i++)
        cpu.xsave->bytes[i] = image_pattern(i);
    image_put<uint32_t>(cpu, 24, 0x1f81);   // MXCSR with IE set
    image_put<uint32_t>(cpu, 28, 0xffff);   // MXCSR_MASK: DAZ supported
    image_put<uint64_t>(cpu, 512, 7);       // XINUSE: x87, SSE, AVX
    std::memset(cpu.xsave->bytes.data() + 520, 0, 56);
    return cpu;
}

// Protected mode, 32-bit code, flat segments: outside 64-bit mode.
CpuState xsave_cpu32()
{
    CpuState cpu = xsave_cpu();
    cpu.sregs.efer = 0;
    cpu.sregs.cs.l = 0;
    cpu.sregs.cs.db = 1;
    for (kvm_segment* s : {&cpu.sregs.ds, &cpu.sregs.ss, &cpu.sregs.es}) {
        s->base = 0;
        s->limit = 0xffffffff;
        s->type = 3;
        s->present = 1;
        s->s = 1;
        s->db = 1;
    }
    return cpu;
}

// Memory filled with kUntouched, so what xsave does not write shows.
FlatGuest untouched_memory()
{
    FlatGuest mem;
    std::memset(mem.bytes.data(), kUntouched, mem.bytes.size());
    return mem;
}

// An area for xrstor: legacy region and AVX from memory_pattern, a valid MXCSR, the
// header with `restore_bv` and zeros.
FlatGuest area_for_xrstor(uint64_t restore_bv, uint64_t at = kArea)
{
    FlatGuest mem;
    for (size_t i = 0; i < kAvxAt + kAvxSize; i++)
        mem.bytes[at + i] = memory_pattern(i);
    mem.put<uint32_t>(at + 24, 0x1f82);
    std::memset(mem.bytes.data() + at + 512, 0, 64);
    mem.put<uint64_t>(at + 512, restore_bv);
    return mem;
}

bool memory_is(const FlatGuest& mem, uint64_t from, size_t size, uint8_t value)
{
    for (size_t i = 0; i < size; i++)
        if (mem.bytes[from + i] != value)
            return false;
    return true;
}

bool saved_from_image(const FlatGuest& mem, const CpuState& cpu, size_t from, size_t size, uint64_t at = kArea)
{
    return std::memcmp(mem.bytes.data() + at + from, cpu.xsave->bytes.data() + from, size) == 0;
}

bool loaded_from_memory(const CpuState& cpu, const FlatGuest& mem, size_t from, size_t size, uint64_t at = kArea)
{
    return std::memcmp(cpu.xsave->bytes.data() + from, mem.bytes.data() + at + from, size) == 0;
}

bool image_is(const CpuState& cpu, size_t from, size_t size, uint8_t value)
{
    for (size_t i = 0; i < size; i++)
        if (cpu.xsave->bytes[from + i] != value)
            return false;
    return true;
}

bool image_untouched(const CpuState& cpu, size_t from, size_t size)
{
    for (size_t i = from; i < from + size; i++)
        if (cpu.xsave->bytes[i] != image_pattern(i))
            return false;
    return true;
}

void require_exception(const Outcome& out, uint8_t vec, std::optional<uint32_t> error_code,
                       std::optional<uint64_t> cr2 = std::nullopt)
{
    const auto* e = std::get_if<RaiseException>(&out);
    REQUIRE(e);
    CHECK(e->vector == vec);
    CHECK(e->error_code == error_code);
    CHECK(e->cr2 == cr2);
}

void require_not_exact(const Outcome& out, const std::string& about)
{
    const auto* n = std::get_if<NotExact>(&out);
    REQUIRE(n);
    CHECK(n->why.find(about) != std::string::npos);
}

}  // namespace

// ---- xsave ----

TEST_CASE("xsave64 saves x87, SSE with MXCSR, AVX and XSTATE_BV from the image", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = untouched_memory();
    mem.put<uint64_t>(kArea + 512, 0xf0);  // old XSTATE_BV: bits outside RFBM stay
    SideEffects fx;
    Outcome out = complete_hex(cpu, mem, kXsave64, &fx);
    REQUIRE(std::holds_alternative<Retired>(out));
    CHECK(cpu.regs.rip == 0x1004);
    CHECK_FALSE(fx.xsave_changed);
    CHECK(saved_from_image(mem, cpu, 0, 24));          // FCW..FDP, 64-bit FIP/FDP
    CHECK(mem.get<uint32_t>(kArea + 24) == 0x1f81);    // MXCSR
    CHECK(mem.get<uint32_t>(kArea + 28) == 0xffff);    // MXCSR_MASK
    CHECK(saved_from_image(mem, cpu, 32, 128));        // ST0-7
    CHECK(saved_from_image(mem, cpu, 160, 256));       // XMM0-15
    CHECK(memory_is(mem, kArea + 416, 96, kUntouched)); // reserved and software bytes
    CHECK(mem.get<uint64_t>(kArea + 512) == 0xf7);
    CHECK(memory_is(mem, kArea + 520, 56, kUntouched)); // the rest of the header is not written
    CHECK(saved_from_image(mem, cpu, kAvxAt, kAvxSize));
    CHECK(memory_is(mem, kArea + kAvxAt + kAvxSize, 64, kUntouched));
    CHECK(memory_is(mem, kArea - 64, 64, kUntouched));
}

TEST_CASE("xsave writes XSTATE_BV as old bits outside RFBM and XINUSE inside it", "[completion]")
{
    CpuState cpu = xsave_cpu();
    image_put<uint64_t>(cpu, 512, 0x5);  // SSE not in use
    cpu.regs.rax = 0x6;                   // SSE and AVX requested
    FlatGuest mem = untouched_memory();
    mem.put<uint64_t>(kArea + 512, 0x8000000000000003ull);
    REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXsave64)));
    // bit 0 kept from memory (not requested), bit 1 cleared (not in use), bit 2 set, bit 63 kept
    CHECK(mem.get<uint64_t>(kArea + 512) == 0x8000000000000005ull);
}

TEST_CASE("xsave with a partial RFBM writes only the requested components", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = untouched_memory();
    mem.put<uint64_t>(kArea + 512, 0);

    SECTION("x87 alone: no MXCSR, no XMM, no AVX")
    {
        cpu.regs.rax = 0x1;
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXsave64)));
        CHECK(saved_from_image(mem, cpu, 0, 24));
        CHECK(memory_is(mem, kArea + 24, 8, kUntouched));
        CHECK(saved_from_image(mem, cpu, 32, 128));
        CHECK(memory_is(mem, kArea + 160, 256, kUntouched));
        CHECK(memory_is(mem, kArea + kAvxAt, kAvxSize, kUntouched));
        CHECK(mem.get<uint64_t>(kArea + 512) == 0x1);
    }
    SECTION("AVX alone: MXCSR goes with it, the XMM registers do not")
    {
        cpu.regs.rax = 0x4;
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXsave)));  // no x87: REX.W irrelevant
        CHECK(memory_is(mem, kArea, 24, kUntouched));
        CHECK(mem.get<uint32_t>(kArea + 24) == 0x1f81);
        CHECK(mem.get<uint32_t>(kArea + 28) == 0xffff);
        CHECK(memory_is(mem, kArea + 160, 256, kUntouched));
        CHECK(saved_from_image(mem, cpu, kAvxAt, kAvxSize));
        CHECK(mem.get<uint64_t>(kArea + 512) == 0x4);
    }
    SECTION("EDX:EAX is masked by XCR0, and RAX/RDX bits 63:32 are ignored")
    {
        cpu.xcr0 = 3;
        cpu.regs.rax = 0xffffffff00000006ull;  // SSE and AVX asked, AVX not enabled
        cpu.regs.rdx = 0xffffffff00000000ull;
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXsave)));
        CHECK(memory_is(mem, kArea, 24, kUntouched));
        CHECK(mem.get<uint32_t>(kArea + 24) == 0x1f81);
        CHECK(saved_from_image(mem, cpu, 160, 256));
        CHECK(memory_is(mem, kArea + kAvxAt, kAvxSize, kUntouched));
        CHECK(mem.get<uint64_t>(kArea + 512) == 0x2);
    }
    SECTION("RFBM empty: only XSTATE_BV is rewritten, unchanged")
    {
        cpu.regs.rax = 0;
        cpu.regs.rdx = 0;
        mem.put<uint64_t>(kArea + 512, 0x3);
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXsave)));
        CHECK(memory_is(mem, kArea, 512, kUntouched));
        CHECK(mem.get<uint64_t>(kArea + 512) == 0x3);
    }
}

TEST_CASE("xsave without REX.W does not save x87 state: its FCS/FDS are not in the image", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = untouched_memory();
    require_not_exact(complete_hex(cpu, mem, kXsave), "FCS");
    CHECK(cpu.regs.rip == 0x1000);
    CHECK(mem.writes == 0);
}

TEST_CASE("xsave outside 64-bit mode leaves XMM8-15 and YMM8_H-15_H alone", "[completion]")
{
    CpuState cpu = xsave_cpu32();
    cpu.regs.rax = 0x6;
    FlatGuest mem = untouched_memory();
    mem.put<uint64_t>(kArea + 512, 0);
    REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXsave)));
    CHECK(cpu.regs.rip == 0x1003);
    CHECK(saved_from_image(mem, cpu, 160, 128));
    CHECK(memory_is(mem, kArea + 288, 128, kUntouched));
    CHECK(mem.get<uint32_t>(kArea + 24) == 0x1f81);
    CHECK(saved_from_image(mem, cpu, kAvxAt, 128));
    CHECK(memory_is(mem, kArea + kAvxAt + 128, 128, kUntouched));
    CHECK(mem.get<uint64_t>(kArea + 512) == 0x6);

    cpu.regs.rip = 0x1000;
    cpu.regs.rax = 0x1;
    require_not_exact(complete_hex(cpu, mem, kXsave), "FCS");
}

TEST_CASE("xsave of an extended component the guest's CPUID does not place is not done", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = untouched_memory();
    SECTION("no leaf 0DH subleaf 2")
    {
        cpu.cpuid.pop_back();
        require_not_exact(complete_hex(cpu, mem, kXsave64), "component 2");
    }
    SECTION("past the 4 KiB image")
    {
        cpu.cpuid.back().ebx = 4000;
        require_not_exact(complete_hex(cpu, mem, kXsave64), "does not fit");
    }
    CHECK(mem.writes == 0);
    CHECK(cpu.regs.rip == 0x1000);
}

TEST_CASE("xsave crosses pages, and a #PF on any page is the CPU's", "[completion]")
{
    CpuState cpu = xsave_cpu();
    uint64_t at = 0x6000 - 0x200;  // legacy region in one page, header and AVX in the next
    cpu.regs.rbx = at;
    FlatGuest mem = untouched_memory();
    mem.put<uint64_t>(at + 512, 0);
    SECTION("no fault")
    {
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXsave64)));
        CHECK(saved_from_image(mem, cpu, 0, 24, at));
        CHECK(saved_from_image(mem, cpu, kAvxAt, kAvxSize, at));
        CHECK(mem.get<uint64_t>(at + 512) == 7);
    }
    SECTION("the header's page faults, as a write")
    {
        mem.faulting_pages.insert(0x6);
        require_exception(complete_hex(cpu, mem, kXsave64), vector::kPF, 2u, 0x6000);
        CHECK(cpu.regs.rip == 0x1000);
        CHECK(mem.writes == 0);
    }
    SECTION("the legacy region's page faults")
    {
        mem.faulting_pages.insert(0x5);
        require_exception(complete_hex(cpu, mem, kXsave64), vector::kPF, 2u, at);
        CHECK(cpu.regs.rip == 0x1000);
        CHECK(mem.get<uint64_t>(at + 512) == 0);
    }
}

// ---- checks both make before memory ----

TEST_CASE("xsave and xrstor raise #UD, #NM, #GP and #SS as the SDM orders them", "[completion]")
{
    for (const char* hex : {kXsave64, kXrstor64}) {
        CAPTURE(hex);
        CpuState cpu = xsave_cpu();
        FlatGuest mem = area_for_xrstor(7);
        std::vector<uint8_t> before = mem.bytes;
        XsaveImage image = *cpu.xsave;
        SideEffects fx;
        Outcome out = Retired{};
        SECTION("CR4.OSXSAVE clear: #UD, even with CR0.TS")
        {
            cpu.sregs.cr4 &= ~cr4::kOSXSAVE;
            cpu.sregs.cr0 |= cr0::kTS;
            out = complete_hex(cpu, mem, hex, &fx);
            require_exception(out, vector::kUD, std::nullopt);
        }
        SECTION("no xsave in the guest's CPUID: #UD")
        {
            cpu.cpuid = cpuid_with({"xsavec"});
            add_leaf_d(cpu, 2, kAvxSize, kAvxAt);
            out = complete_hex(cpu, mem, hex, &fx);
            require_exception(out, vector::kUD, std::nullopt);
        }
        SECTION("CR0.TS: #NM")
        {
            cpu.sregs.cr0 |= cr0::kTS;
            out = complete_hex(cpu, mem, hex, &fx);
            require_exception(out, vector::kNM, std::nullopt);
        }
        SECTION("an area not 64-byte aligned: #GP(0)")
        {
            cpu.regs.rbx = kArea + 32;
            out = complete_hex(cpu, mem, hex, &fx);
            require_exception(out, vector::kGP, 0u);
        }
        SECTION("a non-canonical area: #GP(0)")
        {
            cpu.regs.rbx = 0x0000800000000000ull;
            out = complete_hex(cpu, mem, hex, &fx);
            require_exception(out, vector::kGP, 0u);
        }
        SECTION("an area whose end is non-canonical: #GP(0)")
        {
            cpu.regs.rbx = 0x0000800000000000ull - 512;
            out = complete_hex(cpu, mem, hex, &fx);
            require_exception(out, vector::kGP, 0u);
        }
        SECTION("misaligned at CPL3 with alignment checks on: #AC or #GP, not done")
        {
            cpu.regs.rbx = kArea + 32;
            cpu.sregs.cs.selector = 0x1b;
            cpu.sregs.cr0 |= 1ull << 18;
            cpu.regs.rflags |= rflags::kAC;
            out = complete_hex(cpu, mem, hex, &fx);
            require_not_exact(out, "#AC");
        }
        CHECK(cpu.regs.rip == 0x1000);
        CHECK(mem.bytes == before);
        CHECK(cpu.xsave->bytes == image.bytes);
        CHECK_FALSE(fx.xsave_changed);
    }
}

TEST_CASE("xsave and xrstor through the stack segment raise #SS(0) for a non-canonical area", "[completion]")
{
    for (const char* hex : {"480fae2424", "480fae2c24"}) {  // xsave64 / xrstor64 [rsp]
        CAPTURE(hex);
        CpuState cpu = xsave_cpu();
        cpu.regs.rsp = 0xffff700000000000ull;
        FlatGuest mem;
        require_exception(complete_hex(cpu, mem, hex), vector::kSS, 0u);
        CHECK(cpu.regs.rip == 0x1000);
    }
}

// Capstone does not decode a LOCK prefix on these; the completers check it all the same.
TEST_CASE("xsave and xrstor with a LOCK prefix raise #UD", "[completion]")
{
    for (const char* hex : {kXsave64, kXrstor64}) {
        CAPTURE(hex);
        CpuState cpu = xsave_cpu();
        FlatGuest mem = area_for_xrstor(7);
        Instruction insn = decode_hex(hex);
        insn.lock = true;
        const Completer* c = completer_for(insn);
        REQUIRE(c);
        CompletionContext ctx{cpu, mem, {}};
        require_exception(c->complete(ctx, insn), vector::kUD, std::nullopt);
        CHECK(cpu.regs.rip == 0x1000);
        CHECK(mem.writes == 0);
        CHECK_FALSE(ctx.effects.xsave_changed);
    }
}

TEST_CASE("xsave and xrstor without the XSAVE image are not done", "[completion]")
{
    for (const char* hex : {kXsave64, kXrstor64}) {
        CpuState cpu = xsave_cpu();
        cpu.xsave.reset();
        FlatGuest mem = area_for_xrstor(7);
        require_not_exact(complete_hex(cpu, mem, hex), "image");
    }
}

// ---- xrstor ----

TEST_CASE("xrstor64 loads every requested component from memory", "[completion]")
{
    CpuState cpu = xsave_cpu();
    image_put<uint64_t>(cpu, 512, 0x1);
    std::memset(cpu.xsave->bytes.data() + 160, 0, 256);  // SSE and AVX in their init configuration
    std::memset(cpu.xsave->bytes.data() + kAvxAt, 0, kAvxSize);
    image_put<uint32_t>(cpu, 24, 0x1f80);
    FlatGuest mem = area_for_xrstor(7);
    mem.put<uint32_t>(kArea + 28, 0x1234);  // MXCSR_MASK in memory is ignored
    SideEffects fx;
    REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor64, &fx)));
    CHECK(fx.xsave_changed);
    CHECK(cpu.regs.rip == 0x1004);
    CHECK(loaded_from_memory(cpu, mem, 0, 24));
    CHECK(image_get<uint32_t>(cpu, 24) == 0x1f82);
    CHECK(image_get<uint32_t>(cpu, 28) == 0xffff);
    CHECK(loaded_from_memory(cpu, mem, 32, 128));
    CHECK(loaded_from_memory(cpu, mem, 160, 256));
    CHECK(image_untouched(cpu, 416, 96));
    CHECK(image_get<uint64_t>(cpu, 512) == 7);
    CHECK(loaded_from_memory(cpu, mem, kAvxAt, kAvxSize));
    CHECK(mem.writes == 0);
}

TEST_CASE("xrstor initialises the requested components whose XSTATE_BV bit is clear", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = area_for_xrstor(0);
    mem.put<uint32_t>(kArea + 24, 0x1f80);
    SideEffects fx;
    REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor64, &fx)));
    CHECK(fx.xsave_changed);
    CHECK(image_get<uint16_t>(cpu, 0) == 0x037f);   // FCW
    CHECK(image_is(cpu, 2, 22, 0));                 // FSW, FTW (all empty), FOP, FIP, FDP
    CHECK(image_is(cpu, 32, 128, 0));               // ST0-7
    CHECK(image_get<uint32_t>(cpu, 24) == 0x1f80);  // MXCSR from memory all the same
    CHECK(image_get<uint32_t>(cpu, 28) == 0xffff);
    CHECK(image_is(cpu, 160, 256, 0));
    CHECK(image_is(cpu, kAvxAt, kAvxSize, 0));
    CHECK(image_get<uint64_t>(cpu, 512) == 0);
}

TEST_CASE("the standard form of xrstor loads MXCSR even when SSE is initialised", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = area_for_xrstor(0x1);
    mem.put<uint32_t>(kArea + 24, 0x1fc0);  // DAZ: valid with MXCSR_MASK 0xffff
    REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor64)));
    CHECK(image_get<uint32_t>(cpu, 24) == 0x1fc0);
    CHECK(image_is(cpu, 160, 256, 0));
    // MXCSR is not 1F80H, so SSE stays tracked as in use: KVM_SET_XSAVE keeps it
    CHECK(image_get<uint64_t>(cpu, 512) == 0x3);
}

TEST_CASE("xrstor with a partial RFBM changes only the requested components", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = area_for_xrstor(7);
    SECTION("x87 alone: MXCSR, XMM and AVX stay")
    {
        cpu.regs.rax = 0x1;
        mem.put<uint32_t>(kArea + 24, 0xffff0000);  // reserved bits, but MXCSR is not loaded
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor64)));
        CHECK(loaded_from_memory(cpu, mem, 0, 24));
        CHECK(loaded_from_memory(cpu, mem, 32, 128));
        CHECK(image_get<uint32_t>(cpu, 24) == 0x1f81);
        CHECK(image_untouched(cpu, 160, 256));
        CHECK(image_untouched(cpu, kAvxAt, kAvxSize));
        CHECK(image_get<uint64_t>(cpu, 512) == 7);
    }
    SECTION("AVX alone: MXCSR is loaded, the XMM registers are not")
    {
        cpu.regs.rax = 0x4;
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor)));
        CHECK(image_untouched(cpu, 0, 24));
        CHECK(image_get<uint32_t>(cpu, 24) == 0x1f82);
        CHECK(image_untouched(cpu, 160, 256));
        CHECK(loaded_from_memory(cpu, mem, kAvxAt, kAvxSize));
    }
    SECTION("XSTATE_BV bits outside RFBM keep the image's")
    {
        image_put<uint64_t>(cpu, 512, 0x5);
        std::memset(cpu.xsave->bytes.data() + 160, 0, 256);
        image_put<uint32_t>(cpu, 24, 0x1f80);
        cpu.regs.rax = 0x3;
        mem.put<uint64_t>(kArea + 512, 0x6);  // x87 initialised, SSE loaded
        mem.put<uint32_t>(kArea + 24, 0x1f80);
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor64)));
        CHECK(image_get<uint16_t>(cpu, 0) == 0x037f);
        CHECK(loaded_from_memory(cpu, mem, 160, 256));
        CHECK(image_untouched(cpu, kAvxAt, kAvxSize));
        CHECK(image_get<uint64_t>(cpu, 512) == 0x6);
    }
    SECTION("AVX alone with an MXCSR the image cannot hold while SSE is not in use")
    {
        image_put<uint64_t>(cpu, 512, 0x5);
        std::memset(cpu.xsave->bytes.data() + 160, 0, 256);
        image_put<uint32_t>(cpu, 24, 0x1f80);
        cpu.regs.rax = 0x4;
        SideEffects fx;
        require_not_exact(complete_hex(cpu, mem, kXrstor64, &fx), "MXCSR");
        CHECK_FALSE(fx.xsave_changed);
        CHECK(image_get<uint32_t>(cpu, 24) == 0x1f80);
    }
}

TEST_CASE("xrstor raises #GP(0) for a bad header or MXCSR and changes nothing", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = area_for_xrstor(7);
    SECTION("XSTATE_BV sets a bit XCR0 does not") { mem.put<uint64_t>(kArea + 512, 0xf); }
    SECTION("XSTATE_BV sets a bit XCR0 does not, outside RFBM too")
    {
        cpu.regs.rax = 1;
        mem.put<uint64_t>(kArea + 512, 0x9);
    }
    SECTION("XCOMP_BV is not zero") { mem.put<uint64_t>(kArea + 520, 0x1); }
    SECTION("header bytes 23:16 are not zero") { mem.put<uint8_t>(kArea + 535, 0x1); }
    SECTION("the compacted form without XSAVEC") { mem.put<uint64_t>(kArea + 520, 0x8000000000000007ull); }
    SECTION("MXCSR sets a reserved bit") { mem.put<uint32_t>(kArea + 24, 0x11f80); }
    SECTION("MXCSR sets a reserved bit with AVX alone requested")
    {
        cpu.regs.rax = 0x4;
        mem.put<uint32_t>(kArea + 24, 0x11f80);
    }
    SECTION("MXCSR sets DAZ where MXCSR_MASK lacks it")
    {
        image_put<uint32_t>(cpu, 28, 0xffbf);
        mem.put<uint32_t>(kArea + 24, 0x1fc0);
    }
    SECTION("MXCSR past the default mask when the image reports none")
    {
        image_put<uint32_t>(cpu, 28, 0);
        mem.put<uint32_t>(kArea + 24, 0x10000);
    }
    XsaveImage image = *cpu.xsave;
    SideEffects fx;
    require_exception(complete_hex(cpu, mem, kXrstor64, &fx), vector::kGP, 0u);
    CHECK(cpu.regs.rip == 0x1000);
    CHECK(cpu.xsave->bytes == image.bytes);
    CHECK_FALSE(fx.xsave_changed);
}

TEST_CASE("xrstor ignores header bytes 63:24, which the SDM does not check", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = area_for_xrstor(7);
    mem.put<uint64_t>(kArea + 536, 0xffffffffffffffffull);
    mem.put<uint64_t>(kArea + 568, 0x1);
    REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor64)));
    CHECK(image_get<uint64_t>(cpu, 512) == 7);
    CHECK(image_get<uint64_t>(cpu, 536) == 0);  // the image's own header is not loaded
}

TEST_CASE("xrstor of the compacted form with XSAVEC is not done", "[completion]")
{
    CpuState cpu = xsave_cpu(true);
    FlatGuest mem = area_for_xrstor(7);
    mem.put<uint64_t>(kArea + 520, 0x8000000000000007ull);
    require_not_exact(complete_hex(cpu, mem, kXrstor64), "compacted");
}

TEST_CASE("xrstor with an MXCSR_MASK of 0 leaves a DAZ MXCSR undone", "[completion]")
{
    CpuState cpu = xsave_cpu();
    image_put<uint32_t>(cpu, 28, 0);
    FlatGuest mem = area_for_xrstor(7);
    mem.put<uint32_t>(kArea + 24, 0x1fc0);
    require_not_exact(complete_hex(cpu, mem, kXrstor64), "DAZ");
}

TEST_CASE("xrstor raises the #PF of the page it reads and changes nothing", "[completion]")
{
    CpuState cpu = xsave_cpu();
    uint64_t at = 0x6000 - 0x200;
    cpu.regs.rbx = at;
    FlatGuest mem = area_for_xrstor(7, at);
    XsaveImage image = *cpu.xsave;
    SideEffects fx;
    SECTION("the header's page")
    {
        mem.faulting_pages.insert(0x6);
        require_exception(complete_hex(cpu, mem, kXrstor64, &fx), vector::kPF, 0u, 0x6000);
    }
    SECTION("the legacy region's page")
    {
        mem.faulting_pages.insert(0x5);  // MXCSR is the first thing read there
        require_exception(complete_hex(cpu, mem, kXrstor64, &fx), vector::kPF, 0u, at + 24);
    }
    CHECK(cpu.regs.rip == 0x1000);
    CHECK(cpu.xsave->bytes == image.bytes);
    CHECK_FALSE(fx.xsave_changed);
}

TEST_CASE("xrstor reads only what it loads: a faulting AVX page does not matter when AVX is initialised",
          "[completion]")
{
    CpuState cpu = xsave_cpu();
    uint64_t at = 0x6000 - 0x240;  // AVX area at 0x6000 - 0x240 + 576 = 0x6000
    cpu.regs.rbx = at;
    FlatGuest mem = area_for_xrstor(0x3, at);
    mem.faulting_pages.insert(0x6);
    REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor64)));
    CHECK(image_is(cpu, kAvxAt, kAvxSize, 0));
    CHECK(image_get<uint64_t>(cpu, 512) == 0x3);

    cpu.regs.rip = 0x1000;
    mem.put<uint64_t>(at + 512, 0x7);
    require_exception(complete_hex(cpu, mem, kXrstor64), vector::kPF, 0u, 0x6000);
}

TEST_CASE("xrstor outside 64-bit mode leaves XMM8-15 and YMM8_H-15_H alone", "[completion]")
{
    CpuState cpu = xsave_cpu32();
    SideEffects fx;
    SECTION("loaded")
    {
        cpu.regs.rax = 0x6;
        FlatGuest mem = area_for_xrstor(0x6);
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor, &fx)));
        CHECK(loaded_from_memory(cpu, mem, 160, 128));
        CHECK(image_untouched(cpu, 288, 128));
        CHECK(loaded_from_memory(cpu, mem, kAvxAt, 128));
        CHECK(image_untouched(cpu, kAvxAt + 128, 128));
        CHECK(image_get<uint64_t>(cpu, 512) == 0x7);
    }
    SECTION("initialised: XMM8-15 keep their values, so SSE stays in use")
    {
        cpu.regs.rax = 0x6;
        FlatGuest mem = area_for_xrstor(0x0);
        mem.put<uint32_t>(kArea + 24, 0x1f80);
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor, &fx)));
        CHECK(image_is(cpu, 160, 128, 0));
        CHECK(image_untouched(cpu, 288, 128));
        CHECK(image_is(cpu, kAvxAt, 128, 0));
        CHECK(image_untouched(cpu, kAvxAt + 128, 128));
        CHECK(image_get<uint64_t>(cpu, 512) == 0x7);
    }
    SECTION("initialised with nothing left: SSE is tracked as init")
    {
        std::memset(cpu.xsave->bytes.data() + 288, 0, 128);
        cpu.regs.rax = 0x2;
        FlatGuest mem = area_for_xrstor(0x0);
        mem.put<uint32_t>(kArea + 24, 0x1f80);
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor, &fx)));
        CHECK(image_is(cpu, 160, 256, 0));
        CHECK(image_get<uint64_t>(cpu, 512) == 0x5);
    }
    SECTION("x87 initialised needs no pointer format")
    {
        cpu.regs.rax = 0x1;
        FlatGuest mem = area_for_xrstor(0x0);
        REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor, &fx)));
        CHECK(image_get<uint16_t>(cpu, 0) == 0x037f);
        CHECK(image_is(cpu, 2, 22, 0));
        CHECK(image_get<uint64_t>(cpu, 512) == 0x6);
    }
    SECTION("x87 loaded in the 32-bit pointer format is not done")
    {
        cpu.regs.rax = 0x1;
        FlatGuest mem = area_for_xrstor(0x1);
        require_not_exact(complete_hex(cpu, mem, kXrstor, &fx), "FCS");
        CHECK_FALSE(fx.xsave_changed);
        CHECK(image_untouched(cpu, 0, 24));
    }
}

TEST_CASE("xrstor without REX.W in 64-bit mode loads SSE but not x87", "[completion]")
{
    CpuState cpu = xsave_cpu();
    FlatGuest mem = area_for_xrstor(0x2);
    cpu.regs.rax = 0x2;
    REQUIRE(std::holds_alternative<Retired>(complete_hex(cpu, mem, kXrstor)));
    CHECK(loaded_from_memory(cpu, mem, 160, 256));
    CHECK(cpu.regs.rip == 0x1003);

    cpu.regs.rip = 0x1000;
    cpu.regs.rax = 0x3;
    mem.put<uint64_t>(kArea + 512, 0x3);
    require_not_exact(complete_hex(cpu, mem, kXrstor), "FCS");
}

}  // namespace cr3rig::test
