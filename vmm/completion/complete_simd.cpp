// MMX and SSE register moves (movd, movq) and emms, on KVM's XSAVE image.
//
// The legacy area (FXSAVE layout) holds the x87 registers in stack order: slot j is
// ST(j), the physical register R((TOP + j) mod 8); the abridged tag byte is in
// physical order. MMi is the low 64 bits of physical Ri. An MMX instruction (emms
// aside) sets TOP to 0 and every tag to valid, and a write to MMi sets Ri's bits
// 79:64 to all ones (SDM vol.1 9.5); FIP, FDP and FOP are left alone, as by every
// instruction that is not an x87 one. The XMM registers are at 160; a move into an
// XMM register zeroes its bits 127 to the size moved, and leaves YMM's upper half.
//
// The faults, in the SDM's order: #UD (LOCK, CR0.EM; SSE: CR4.OSFXSR and the CPUID
// feature), #NM (CR0.TS), #MF for a pending unmasked x87 exception (MMX only), then
// the memory operand's #GP/#SS, #PF and #AC.
//
// Not done (NotExact): a pending x87 exception with CR0.NE clear (FERR#, an external
// interrupt); an x87 status word whose ES bit disagrees with its unmasked exception
// flags; a misaligned store at CPL3 with alignment checks on (the #PF that outranks
// #AC needs a write probe that does not write).
#include <cstring>
#include <string>

#include "vmm/completion/completers.hpp"
#include "vmm/completion/operand_access.hpp"

namespace cr3rig::complete {

namespace {

constexpr uint32_t kFcwAt = 0, kFswAt = 2, kFtwAt = 4, kStAt = 32, kXmmAt = 160, kXstateBvAt = 512;
constexpr uint64_t kX87 = 1ull << 0, kSse = 1ull << 1;
constexpr uint16_t kFswTop = 7u << 11, kFswEs = 1u << 7, kExceptionFlags = 0x3f;

bool is_mmx(x86_reg r) { return r >= X86_REG_MM0 && r <= X86_REG_MM7; }
bool is_xmm(x86_reg r) { return r >= X86_REG_XMM0 && r <= X86_REG_XMM15; }

bool names_mmx(const Instruction& insn)
{
    for (const auto& op : insn.operands)
        if (op.kind == Operand::Kind::Register && is_mmx(op.reg))
            return true;
    return false;
}

// Capstone names REX.W's movd (movq) by the mnemonic "movd": the size moved is the
// general-purpose or memory operand's; between two vector registers, movq's 8.
unsigned moved_size(const Instruction& insn)
{
    for (const auto& op : insn.operands)
        if (op.kind == Operand::Kind::Memory || (op.kind == Operand::Kind::Register && !is_mmx(op.reg) && !is_xmm(op.reg)))
            return op.size;
    return 8;
}

void mark_in_use(XsaveImage& image, uint64_t components)
{
    uint8_t* at = image.bytes.data() + kXstateBvAt;
    store<uint64_t>(at, load<uint64_t>(at) | components);
}

// The x87 unit as an MMX instruction leaves it: the registers renumbered so that
// slot i is physical Ri (TOP = 0), every tag valid.
void enter_mmx_mode(XsaveImage& image)
{
    uint8_t* legacy = image.bytes.data();
    uint16_t fsw = load<uint16_t>(legacy + kFswAt);
    unsigned top = (fsw & kFswTop) >> 11;
    uint8_t slots[8][16];
    std::memcpy(slots, legacy + kStAt, sizeof slots);
    for (unsigned physical = 0; physical < 8; physical++)
        std::memcpy(legacy + kStAt + 16 * physical, slots[(physical - top) & 7], 16);
    store<uint16_t>(legacy + kFswAt, static_cast<uint16_t>(fsw & ~kFswTop));
    legacy[kFtwAt] = 0xff;
    mark_in_use(image, kX87);
}

// The faults an MMX instruction checks before it does anything (SDM vol.3 table
// "Exception conditions for legacy SIMD/MMX instructions without FP exception").
std::optional<Outcome> check_mmx(const CpuState& cpu, const Instruction& insn)
{
    if (insn.lock || (cpu.sregs.cr0 & cr0::kEM) || !guest_has(cpu, "mmx"))
        return undefined_opcode();
    if (cpu.sregs.cr0 & cr0::kTS)
        return RaiseException{vector::kNM, std::nullopt, std::nullopt};
    if (!cpu.xsave)
        return NotExact{"the XSAVE image was not loaded"};
    const uint8_t* legacy = cpu.xsave->bytes.data();
    uint16_t fcw = load<uint16_t>(legacy + kFcwAt), fsw = load<uint16_t>(legacy + kFswAt);
    bool unmasked = (fsw & ~fcw & kExceptionFlags) != 0, summary = (fsw & kFswEs) != 0;
    if (unmasked != summary)
        return NotExact{"the x87 status word's ES bit disagrees with its unmasked exception flags"};
    if (!unmasked)
        return std::nullopt;
    if (!(cpu.sregs.cr0 & cr0::kNE))
        return NotExact{"a pending x87 exception with CR0.NE clear is reported through FERR#, not #MF"};
    return RaiseException{vector::kMF, std::nullopt, std::nullopt};
}

// The faults a legacy SSE instruction (here SSE2's movd/movq) checks first.
std::optional<Outcome> check_sse(const CpuState& cpu, const Instruction& insn)
{
    if (insn.lock || (cpu.sregs.cr0 & cr0::kEM) || !(cpu.sregs.cr4 & cr4::kOSFXSR) || !guest_has(cpu, "sse2"))
        return undefined_opcode();
    if (cpu.sregs.cr0 & cr0::kTS)
        return RaiseException{vector::kNM, std::nullopt, std::nullopt};
    if (!cpu.xsave)
        return NotExact{"the XSAVE image was not loaded"};
    return std::nullopt;
}

// The memory operand's linear address, or the fault its address raises.
std::optional<Outcome> locate(const CpuState& cpu, const Instruction& insn, const Operand& op, unsigned size,
                              uint64_t& linear)
{
    LinearAddress where = linear_address(cpu, insn, op.mem, size);
    if (!where.modelled)
        return NotExact{"its memory operand is in an expand-down segment, which is not modelled"};
    if (!where.address)
        return RaiseException{where.fault_vector, 0, std::nullopt};
    linear = *where.address;
    return std::nullopt;
}

// The source operand's low `size` bytes, zero-extended to 16.
std::optional<Outcome> read_source(CompletionContext& ctx, const Instruction& insn, const Operand& op, unsigned size,
                                   uint8_t (&value)[16])
{
    const CpuState& cpu = ctx.cpu;
    std::memset(value, 0, sizeof value);
    if (op.kind == Operand::Kind::Memory) {
        uint64_t linear = 0;
        if (auto fault = locate(cpu, insn, op, size, linear))
            return *fault;
        if (auto fault = access_outcome(ctx.memory.read(linear, std::span<uint8_t>(value, size))))
            return *fault;
        if (alignment_checked(cpu) && linear % size != 0)
            return RaiseException{vector::kAC, 0, std::nullopt};
        return std::nullopt;
    }
    if (op.kind != Operand::Kind::Register)
        return NotExact{"a move with an immediate operand"};
    const uint8_t* image = cpu.xsave->bytes.data();
    if (is_mmx(op.reg)) {
        // Before the instruction, physical Ri is in slot (i - TOP) mod 8.
        unsigned top = (load<uint16_t>(image + kFswAt) & kFswTop) >> 11;
        unsigned physical = static_cast<unsigned>(op.reg - X86_REG_MM0);
        std::memcpy(value, image + kStAt + 16 * ((physical - top) & 7), size);
    } else if (is_xmm(op.reg)) {
        std::memcpy(value, image + kXmmAt + 16 * static_cast<unsigned>(op.reg - X86_REG_XMM0), size);
    } else {
        uint64_t gpr = 0;
        if (!read_register(cpu.regs, op.reg, gpr))
            return NotExact{"a source register that is not a general-purpose, MMX or XMM one"};
        std::memcpy(value, &gpr, size);
    }
    return std::nullopt;
}

// The destination's write, once every fault is known not to happen (memory last: its
// fault leaves the registers alone). MMX state is already in MMX mode (TOP = 0).
std::optional<Outcome> write_destination(CompletionContext& ctx, const Instruction& insn, const Operand& op,
                                         unsigned size, const uint8_t (&value)[16], XsaveImage& image)
{
    CpuState& cpu = ctx.cpu;
    if (op.kind == Operand::Kind::Memory) {
        uint64_t linear = 0;
        if (auto fault = locate(cpu, insn, op, size, linear))
            return *fault;
        if (alignment_checked(cpu) && linear % size != 0)
            return NotExact{"a misaligned store at CPL3 with alignment checks on (#PF outranks #AC)"};
        if (auto fault = access_outcome(ctx.memory.write(linear, std::span<const uint8_t>(value, size))))
            return *fault;
        return std::nullopt;
    }
    if (op.kind != Operand::Kind::Register)
        return NotExact{"a move to an immediate operand"};
    if (is_mmx(op.reg)) {
        uint8_t* slot = image.bytes.data() + kStAt + 16 * static_cast<unsigned>(op.reg - X86_REG_MM0);
        std::memset(slot, 0, 16);
        std::memcpy(slot, value, 8);
        store<uint16_t>(slot + 8, 0xffff);  // the exponent and sign of an MMX write
        mark_in_use(image, kX87);
    } else if (is_xmm(op.reg)) {
        std::memcpy(image.bytes.data() + kXmmAt + 16 * static_cast<unsigned>(op.reg - X86_REG_XMM0), value, 16);
        mark_in_use(image, kSse);
    } else {
        uint64_t gpr = 0;
        std::memcpy(&gpr, value, 8);
        if (!write_register(cpu.regs, op.reg, gpr))
            return NotExact{"a destination register that is not a general-purpose, MMX or XMM one"};
    }
    return std::nullopt;
}

void commit(CompletionContext& ctx, const Instruction& insn, const XsaveImage& image)
{
    ctx.cpu.xsave = image;
    ctx.effects.xsave_changed = true;
    advance_rip(ctx.cpu, insn);
}

}  // namespace

Outcome move_vector(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    if (insn.operands.size() != 2)
        return NotExact{"a movd/movq without its two operands"};
    bool mmx = names_mmx(insn);
    if (auto fault = mmx ? check_mmx(cpu, insn) : check_sse(cpu, insn))
        return *fault;
    unsigned size = moved_size(insn);
    if (size != 4 && size != 8)
        return NotExact{"a movd/movq of " + std::to_string(size) + " bytes"};
    uint8_t value[16];
    if (auto fault = read_source(ctx, insn, insn.operands[1], size, value))
        return *fault;
    XsaveImage image = *cpu.xsave;
    if (mmx)
        enter_mmx_mode(image);
    if (auto fault = write_destination(ctx, insn, insn.operands[0], size, value, image))
        return *fault;
    commit(ctx, insn, image);
    return Retired{};
}

Outcome emms(CompletionContext& ctx, const Instruction& insn)
{
    if (auto fault = check_mmx(ctx.cpu, insn))
        return *fault;
    XsaveImage image = *ctx.cpu.xsave;
    image.bytes[kFtwAt] = 0;  // every register empty; TOP stays
    mark_in_use(image, kX87);
    commit(ctx, insn, image);
    return Retired{};
}

}  // namespace cr3rig::complete
