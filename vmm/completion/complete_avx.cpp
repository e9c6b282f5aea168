// AVX (VEX-encoded) instructions on KVM's XSAVE image: vzeroall, vzeroupper and the
// 128/256-bit integer moves vmovdqa, vmovdqu, vmovntdqa and vmovntdq.
//
// YMMi is XMMi (the legacy area at 160) and, above it, bits 255:128 in state
// component 2 (YMM_Hi128); with AVX-512, bits 511:256 of ZMM0-15 are in component 6
// (ZMM_Hi256). Both at the offsets CPUID.(0DH, i).EBX gives. A component whose
// XSTATE_BV bit is clear is in its initial configuration (zeros) whatever the image's
// bytes hold; writing a value that is not zero into it first makes the whole component
// zero and sets its bit, because KVM_SET_XSAVE re-initialises every component whose
// bit is clear. A VEX-encoded write zeroes its destination above the length written,
// up to the widest vector the CPU has (VLMAX: 512 bits with AVX-512F).
//
// The faults, in the SDM's order (vol.2 2.8, exception types 1, 4 and 8): #UD (real or
// virtual-8086 mode, a LOCK/66/F2/F3/REX prefix before VEX, CR4.OSXSAVE, XCR0[2:1],
// the CPUID feature, VEX.vvvv other than 1111b, a register where only memory is
// allowed), #NM (CR0.TS), the memory operand's #GP/#SS, #GP(0) for a misaligned
// operand of an aligned move, then #PF.
//
// Not done (NotExact): EVEX encodings; VEX.vvvv = 0111b outside 64-bit mode (whether
// its ignored high bit still counts is not documented); a misaligned vmovdqu at CPL3
// with alignment checks on (whether #AC is raised is implementation-specific); an
// XSAVE component the guest's CPUID does not place inside KVM's 4 KiB image.
#include <algorithm>
#include <cstring>
#include <string>
#include <variant>

#include "vmm/completion/completers.hpp"
#include "vmm/completion/operand_access.hpp"

namespace cr3rig::complete {

namespace {

constexpr uint32_t kXmmAt = 160, kXstateBvAt = 512, kExtendedAt = 576;
constexpr uint64_t kSse = 1ull << 1, kAvx = 1ull << 2;
constexpr unsigned kVectorBytes = 64;                // a ZMM register, the widest VLMAX

// What the VEX prefix says, read from the bytes (Capstone 4 does not report it).
struct Vex {
    bool long_form = false;       // c4 (three bytes) or c5 (two)
    bool illegal_prefix = false;  // LOCK, 66, F2, F3 or REX in front of it
    unsigned vvvv = 0xf;          // the register specifier as encoded (inverted): 1111b when unused
    bool l256 = false;            // VEX.L
};

std::optional<Vex> vex_of(const Instruction& insn)
{
    Vex vex;
    size_t i = 0;
    for (; i < insn.bytes.size(); i++) {
        uint8_t b = insn.bytes[i];
        if (b == 0xf0 || b == 0x66 || b == 0xf2 || b == 0xf3 || (insn.mode == CodeSize::Bits64 && (b & 0xf0) == 0x40))
            vex.illegal_prefix = true;
        else if (!(b == 0x67 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65))
            break;
    }
    if (i + 2 >= insn.bytes.size() || (insn.bytes[i] != 0xc4 && insn.bytes[i] != 0xc5))
        return std::nullopt;
    vex.long_form = insn.bytes[i] == 0xc4;
    uint8_t last = insn.bytes[vex.long_form ? i + 2 : i + 1];
    vex.vvvv = (last >> 3) & 0xf;
    vex.l256 = (last & 0x4) != 0;
    return vex;
}

// One XSAVE state component: its bit in XSTATE_BV and where it lies in the image.
struct Component {
    uint64_t bit;
    uint32_t offset;
    uint32_t size;
};

std::variant<Component, NotExact> component_in_image(const CpuState& cpu, unsigned i, uint32_t size)
{
    for (const auto& e : cpu.cpuid)
        if (e.function == 0xd && e.index == i) {
            if (e.eax != size || e.ebx < kExtendedAt || uint64_t{e.ebx} + e.eax > sizeof(XsaveImage::bytes))
                break;
            return Component{1ull << i, e.ebx, e.eax};
        }
    return NotExact{"XSAVE state component " + std::to_string(i) +
                    " is not where the guest's CPUID leaf 0DH can place it in KVM's 4 KiB image"};
}

// The vector registers as the XSAVE image holds them: 16 bytes of XMM, 16 of
// YMM_Hi128 and, with AVX-512F, 32 of ZMM_Hi256 per register.
class VectorRegisters {
public:
    VectorRegisters(XsaveImage& image, std::optional<Component> ymm_hi, std::optional<Component> zmm_hi)
        : image_(image)
    {
        lanes_[0] = Lane{Component{kSse, kXmmAt, 256}, 16};
        if (ymm_hi)
            lanes_[1] = Lane{*ymm_hi, 16};
        if (zmm_hi)
            lanes_[2] = Lane{*zmm_hi, 32};
    }

    // Register i's bytes, as wide as the image holds them (zeros above).
    void read(unsigned i, uint8_t (&out)[kVectorBytes]) const
    {
        std::memset(out, 0, sizeof out);
        unsigned at = 0;
        for (const auto& lane : lanes_) {
            if (lane.bytes && in_use(lane.where.bit))
                std::memcpy(out + at, image_.bytes.data() + lane.where.offset + i * lane.bytes, lane.bytes);
            at += lane.bytes;
        }
    }

    // Register i := `value`'s first `length` bytes, zero above them (VLMAX).
    void write(unsigned i, const uint8_t* value, unsigned length)
    {
        uint8_t full[kVectorBytes] = {};
        std::memcpy(full, value, length);
        unsigned at = 0;
        for (const auto& lane : lanes_) {
            if (lane.bytes)
                write_lane(lane, i, full + at);
            at += lane.bytes;
        }
    }

private:
    struct Lane {
        Component where{};
        unsigned bytes = 0;  // per register; 0: the CPU lacks the lane
    };

    bool in_use(uint64_t bit) const { return load<uint64_t>(image_.bytes.data() + kXstateBvAt) & bit; }

    void write_lane(const Lane& lane, unsigned i, const uint8_t* bytes)
    {
        if (!in_use(lane.where.bit)) {
            if (std::all_of(bytes, bytes + lane.bytes, [](uint8_t b) { return b == 0; }))
                return;  // still its initial configuration
            std::memset(image_.bytes.data() + lane.where.offset, 0, lane.where.size);
            uint64_t bv = load<uint64_t>(image_.bytes.data() + kXstateBvAt) | lane.where.bit;
            std::memcpy(image_.bytes.data() + kXstateBvAt, &bv, sizeof bv);
        }
        std::memcpy(image_.bytes.data() + lane.where.offset + i * lane.bytes, bytes, lane.bytes);
    }

    XsaveImage& image_;
    Lane lanes_[3];
};

// The image's vector registers, or why they cannot be located.
std::variant<VectorRegisters, NotExact> vector_registers(const CpuState& cpu, XsaveImage& image)
{
    auto ymm_hi = component_in_image(cpu, 2, 256);
    if (auto* missing = std::get_if<NotExact>(&ymm_hi))
        return *missing;
    std::optional<Component> zmm_hi;
    if (guest_has(cpu, "avx512f")) {
        auto found = component_in_image(cpu, 6, 512);
        if (auto* missing = std::get_if<NotExact>(&found))
            return *missing;
        zmm_hi = std::get<Component>(found);
    }
    return VectorRegisters(image, std::get<Component>(ymm_hi), zmm_hi);
}

// The checks every VEX instruction makes before it touches an operand (#UD, #NM).
std::optional<Outcome> check_vex(const CpuState& cpu, const Instruction& insn, const Vex& vex, const char* feature)
{
    bool protected_mode = (cpu.sregs.cr0 & cr0::kPE) && !(cpu.regs.rflags & rflags::kVM);
    if (!protected_mode || vex.illegal_prefix || insn.lock || !(cpu.sregs.cr4 & cr4::kOSXSAVE) ||
        (cpu.xcr0 & (kSse | kAvx)) != (kSse | kAvx) || !guest_has(cpu, feature))
        return undefined_opcode();
    if (vex.vvvv != 0xf) {
        if (in_64bit_mode(cpu) || (vex.vvvv & 7) != 7)
            return undefined_opcode();
        return NotExact{"VEX.vvvv = 0111b outside 64-bit mode (its high bit is ignored there)"};
    }
    if (cpu.sregs.cr0 & cr0::kTS)
        return RaiseException{vector::kNM, std::nullopt, std::nullopt};
    if (!cpu.xsave)
        return NotExact{"the XSAVE image was not loaded"};
    return std::nullopt;
}

// The memory operand's address after its segment, alignment and #AC checks.
std::optional<Outcome> locate(const CpuState& cpu, const Instruction& insn, const Operand& op, unsigned length,
                              bool aligned, uint64_t& linear)
{
    if (auto fault = memory_operand_address(cpu, insn, op, length, linear))
        return *fault;
    if (linear % length == 0)
        return std::nullopt;
    if (aligned)
        return general_protection(0);
    if (alignment_checked(cpu))
        return NotExact{"a misaligned vmovdqu at CPL3 with alignment checks on (#AC is implementation-specific)"};
    return std::nullopt;
}

// The VEX register number of an XMM or YMM operand, or nullopt.
std::optional<unsigned> vector_index(const Operand& op, unsigned length)
{
    if (op.kind != Operand::Kind::Register)
        return std::nullopt;
    x86_reg first = length == 32 ? X86_REG_YMM0 : X86_REG_XMM0;
    if (op.reg < first || op.reg > first + 15)
        return std::nullopt;
    return static_cast<unsigned>(op.reg - first);
}

enum class Form { RegisterOrMemory, StoreOnly, LoadOnly };
enum class Alignment { Any, Required };

Outcome move(CompletionContext& ctx, const Instruction& insn, Form form, Alignment alignment, const char* feature128,
             const char* feature256)
{
    CpuState& cpu = ctx.cpu;
    auto vex = vex_of(insn);
    if (!vex)
        return NotExact{"an encoding other than VEX (EVEX)"};
    if (auto fault = check_vex(cpu, insn, *vex, vex->l256 ? feature256 : feature128))
        return *fault;
    if (insn.operands.size() != 2)
        return NotExact{"a vector move without its two operands"};
    const Operand &destination = insn.operands[0], &source = insn.operands[1];
    if ((form == Form::StoreOnly && destination.kind != Operand::Kind::Memory) ||
        (form == Form::LoadOnly && source.kind != Operand::Kind::Memory))
        return undefined_opcode();  // ModRM.mod = 11b
    unsigned length = vex->l256 ? 32 : 16;
    if (destination.size != length || source.size != length)
        return NotExact{"operand sizes that disagree with VEX.L"};
    XsaveImage image = *cpu.xsave;
    auto registers = vector_registers(cpu, image);
    if (auto* missing = std::get_if<NotExact>(&registers))
        return *missing;
    VectorRegisters& vectors = std::get<VectorRegisters>(registers);
    bool aligned = alignment == Alignment::Required;

    uint8_t value[kVectorBytes] = {};
    if (source.kind == Operand::Kind::Memory) {
        uint64_t linear = 0;
        if (auto fault = locate(cpu, insn, source, length, aligned, linear))
            return *fault;
        if (auto fault = access_outcome(ctx.memory.read(linear, std::span<uint8_t>(value, length))))
            return *fault;
    } else {
        auto index = vector_index(source, length);
        if (!index)
            return NotExact{"a source that is not an XMM or YMM register"};
        vectors.read(*index, value);
    }

    if (destination.kind == Operand::Kind::Memory) {
        uint64_t linear = 0;
        if (auto fault = locate(cpu, insn, destination, length, aligned, linear))
            return *fault;
        if (auto fault = access_outcome(ctx.memory.write(linear, std::span<const uint8_t>(value, length))))
            return *fault;
    } else {
        auto index = vector_index(destination, length);
        if (!index)
            return NotExact{"a destination that is not an XMM or YMM register"};
        vectors.write(*index, value, length);
        cpu.xsave = image;
        ctx.effects.xsave_changed = true;
    }
    advance_rip(cpu, insn);
    return Retired{};
}

// vzeroall and vzeroupper: registers 0-15 (0-7 outside 64-bit mode) keep their low
// `kept` bytes and are zero above.
Outcome zero_vectors(CompletionContext& ctx, const Instruction& insn, unsigned kept)
{
    CpuState& cpu = ctx.cpu;
    auto vex = vex_of(insn);
    if (!vex)
        return NotExact{"an encoding other than VEX"};
    if (auto fault = check_vex(cpu, insn, *vex, "avx"))
        return *fault;
    XsaveImage image = *cpu.xsave;
    auto registers = vector_registers(cpu, image);
    if (auto* missing = std::get_if<NotExact>(&registers))
        return *missing;
    VectorRegisters& vectors = std::get<VectorRegisters>(registers);
    unsigned count = in_64bit_mode(cpu) ? 16 : 8;
    for (unsigned i = 0; i < count; i++) {
        uint8_t value[kVectorBytes];
        vectors.read(i, value);
        vectors.write(i, value, kept);
    }
    cpu.xsave = image;
    ctx.effects.xsave_changed = true;
    advance_rip(cpu, insn);
    return Retired{};
}

}  // namespace

Outcome vzeroall(CompletionContext& ctx, const Instruction& insn) { return zero_vectors(ctx, insn, 0); }

Outcome vzeroupper(CompletionContext& ctx, const Instruction& insn) { return zero_vectors(ctx, insn, 16); }

Outcome vmovdqa(CompletionContext& ctx, const Instruction& insn)
{
    return move(ctx, insn, Form::RegisterOrMemory, Alignment::Required, "avx", "avx");
}

Outcome vmovdqu(CompletionContext& ctx, const Instruction& insn)
{
    return move(ctx, insn, Form::RegisterOrMemory, Alignment::Any, "avx", "avx");
}

Outcome vmovntdq(CompletionContext& ctx, const Instruction& insn)
{
    return move(ctx, insn, Form::StoreOnly, Alignment::Required, "avx", "avx");
}

// VEX.256 vmovntdqa came with AVX2.
Outcome vmovntdqa(CompletionContext& ctx, const Instruction& insn)
{
    return move(ctx, insn, Form::LoadOnly, Alignment::Required, "avx", "avx2");
}

}  // namespace cr3rig::complete
