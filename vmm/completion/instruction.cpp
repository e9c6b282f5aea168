#include "vmm/completion/instruction.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace cr3rig {

namespace {

// One Capstone handle per mode and thread (vCPU threads decode concurrently).
csh handle_for(CodeSize mode)
{
    struct Handles {
        csh h[3] = {0, 0, 0};
        Handles()
        {
            const cs_mode modes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
            for (int i = 0; i < 3; i++) {
                if (cs_open(CS_ARCH_X86, modes[i], &h[i]) == CS_ERR_OK)
                    cs_option(h[i], CS_OPT_DETAIL, CS_OPT_ON);
                else
                    h[i] = 0;
            }
        }
        ~Handles()
        {
            for (csh& x : h)
                if (x)
                    cs_close(&x);
        }
    };
    thread_local Handles handles;
    return handles.h[mode == CodeSize::Bits16 ? 0 : mode == CodeSize::Bits32 ? 1 : 2];
}

// Legacy prefixes and REX in front of an opcode, as the CPU skips them.
size_t prefix_length(std::span<const uint8_t> code, CodeSize mode)
{
    size_t i = 0;
    while (i < code.size() && i < 14) {
        uint8_t b = code[i];
        bool legacy = b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 ||
                      b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65;
        bool rex = mode == CodeSize::Bits64 && (b & 0xf0) == 0x40;
        if (!legacy && !rex)
            break;
        i++;
    }
    return i;
}

// The encodings Capstone 4 does not decode and whose result is certain.
std::optional<Instruction> decode_by_bytes(std::span<const uint8_t> code, CodeSize mode)
{
    size_t p = prefix_length(code, mode);
    auto op = code.subspan(p);
    auto has_prefix = [&](uint8_t b) { return std::find(code.begin(), code.begin() + p, b) != code.begin() + p; };
    auto make = [&](unsigned id, const char* mnemonic, size_t len) -> std::optional<Instruction> {
        if (p + len > 15)
            return std::nullopt;  // longer than the CPU allows: not a certain result here
        Instruction insn;
        insn.id = id;
        insn.mnemonic = mnemonic;
        insn.bytes.assign(code.begin(), code.begin() + static_cast<std::ptrdiff_t>(p + len));
        insn.mode = mode;
        insn.lock = has_prefix(0xf0);
        return insn;
    };
    if (op.size() >= 3 && op[0] == 0x0f && op[1] == 0x01 && op[2] == 0xfd)
        return make(kInsRdpru, "rdpru", 3);
    // movbe's register form (mod = 3) is undefined (#UD); with F2 it is crc32, valid.
    if (op.size() >= 4 && op[0] == 0x0f && op[1] == 0x38 && (op[2] == 0xf0 || op[2] == 0xf1) && (op[3] >> 6) == 3 &&
        !has_prefix(0xf2))
        return make(kInsUndefined, "movbe with a register operand", 4);
    if (mode == CodeSize::Bits64 && !op.empty() && op[0] == 0xce)
        return make(kInsUndefined, "into in 64-bit mode", 1);
    return std::nullopt;
}

Operand operand_of(const cs_x86_op& op)
{
    Operand out;
    out.size = op.size;
    switch (op.type) {
    case X86_OP_REG:
        out.kind = Operand::Kind::Register;
        out.reg = op.reg;
        break;
    case X86_OP_IMM:
        out.kind = Operand::Kind::Immediate;
        out.imm = op.imm;
        break;
    default:
        out.kind = Operand::Kind::Memory;
        out.mem = {static_cast<x86_reg>(op.mem.segment), static_cast<x86_reg>(op.mem.base),
                   static_cast<x86_reg>(op.mem.index), op.mem.scale, op.mem.disp};
        break;
    }
    return out;
}

struct RegisterSlot {
    x86_reg reg;
    unsigned field;  // index into kvm_regs' first 16 members (rax..r15)
    unsigned width;  // bytes
    unsigned shift;  // 8 for AH, CH, DH, BH
};

// kvm_regs begins rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8..r15.
constexpr RegisterSlot kSlots[] = {
    {X86_REG_RAX, 0, 8, 0},   {X86_REG_EAX, 0, 4, 0},   {X86_REG_AX, 0, 2, 0},    {X86_REG_AL, 0, 1, 0},
    {X86_REG_AH, 0, 1, 8},    {X86_REG_RBX, 1, 8, 0},   {X86_REG_EBX, 1, 4, 0},   {X86_REG_BX, 1, 2, 0},
    {X86_REG_BL, 1, 1, 0},    {X86_REG_BH, 1, 1, 8},    {X86_REG_RCX, 2, 8, 0},   {X86_REG_ECX, 2, 4, 0},
    {X86_REG_CX, 2, 2, 0},    {X86_REG_CL, 2, 1, 0},    {X86_REG_CH, 2, 1, 8},    {X86_REG_RDX, 3, 8, 0},
    {X86_REG_EDX, 3, 4, 0},   {X86_REG_DX, 3, 2, 0},    {X86_REG_DL, 3, 1, 0},    {X86_REG_DH, 3, 1, 8},
    {X86_REG_RSI, 4, 8, 0},   {X86_REG_ESI, 4, 4, 0},   {X86_REG_SI, 4, 2, 0},    {X86_REG_SIL, 4, 1, 0},
    {X86_REG_RDI, 5, 8, 0},   {X86_REG_EDI, 5, 4, 0},   {X86_REG_DI, 5, 2, 0},    {X86_REG_DIL, 5, 1, 0},
    {X86_REG_RSP, 6, 8, 0},   {X86_REG_ESP, 6, 4, 0},   {X86_REG_SP, 6, 2, 0},    {X86_REG_SPL, 6, 1, 0},
    {X86_REG_RBP, 7, 8, 0},   {X86_REG_EBP, 7, 4, 0},   {X86_REG_BP, 7, 2, 0},    {X86_REG_BPL, 7, 1, 0},
    {X86_REG_R8, 8, 8, 0},    {X86_REG_R8D, 8, 4, 0},   {X86_REG_R8W, 8, 2, 0},   {X86_REG_R8B, 8, 1, 0},
    {X86_REG_R9, 9, 8, 0},    {X86_REG_R9D, 9, 4, 0},   {X86_REG_R9W, 9, 2, 0},   {X86_REG_R9B, 9, 1, 0},
    {X86_REG_R10, 10, 8, 0},  {X86_REG_R10D, 10, 4, 0}, {X86_REG_R10W, 10, 2, 0}, {X86_REG_R10B, 10, 1, 0},
    {X86_REG_R11, 11, 8, 0},  {X86_REG_R11D, 11, 4, 0}, {X86_REG_R11W, 11, 2, 0}, {X86_REG_R11B, 11, 1, 0},
    {X86_REG_R12, 12, 8, 0},  {X86_REG_R12D, 12, 4, 0}, {X86_REG_R12W, 12, 2, 0}, {X86_REG_R12B, 12, 1, 0},
    {X86_REG_R13, 13, 8, 0},  {X86_REG_R13D, 13, 4, 0}, {X86_REG_R13W, 13, 2, 0}, {X86_REG_R13B, 13, 1, 0},
    {X86_REG_R14, 14, 8, 0},  {X86_REG_R14D, 14, 4, 0}, {X86_REG_R14W, 14, 2, 0}, {X86_REG_R14B, 14, 1, 0},
    {X86_REG_R15, 15, 8, 0},  {X86_REG_R15D, 15, 4, 0}, {X86_REG_R15W, 15, 2, 0}, {X86_REG_R15B, 15, 1, 0},
};

const RegisterSlot* slot_of(x86_reg reg)
{
    for (const auto& s : kSlots)
        if (s.reg == reg)
            return &s;
    return nullptr;
}

__u64* fields(kvm_regs& regs) { return &regs.rax; }
const __u64* fields(const kvm_regs& regs) { return &regs.rax; }
static_assert(offsetof(kvm_regs, r15) == 15 * sizeof(uint64_t), "kvm_regs starts with the 16 GPRs");

uint64_t mask_of(unsigned bytes) { return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1; }

const kvm_segment* segment_of(const kvm_sregs& s, x86_reg reg)
{
    switch (reg) {
    case X86_REG_CS: return &s.cs;
    case X86_REG_DS: return &s.ds;
    case X86_REG_ES: return &s.es;
    case X86_REG_FS: return &s.fs;
    case X86_REG_GS: return &s.gs;
    case X86_REG_SS: return &s.ss;
    default: return nullptr;
    }
}

bool is_stack_base(x86_reg base)
{
    return base == X86_REG_RSP || base == X86_REG_ESP || base == X86_REG_SP || base == X86_REG_RBP ||
           base == X86_REG_EBP || base == X86_REG_BP;
}

bool canonical(uint64_t address, bool la57)
{
    int bits = la57 ? 57 : 48;
    int64_t sign_extended = static_cast<int64_t>(address << (64 - bits)) >> (64 - bits);
    return static_cast<uint64_t>(sign_extended) == address;
}

}  // namespace

CodeSize code_size(const CpuState& cpu)
{
    if (!(cpu.sregs.cr0 & cr0::kPE) || (cpu.regs.rflags & rflags::kVM))
        return CodeSize::Bits16;
    if ((cpu.sregs.efer & efer::kLMA) && cpu.sregs.cs.l)
        return CodeSize::Bits64;
    return cpu.sregs.cs.db ? CodeSize::Bits32 : CodeSize::Bits16;
}

std::optional<Instruction> decode_instruction(std::span<const uint8_t> code, CodeSize mode)
{
    if (auto by_bytes = decode_by_bytes(code, mode))
        return by_bytes;
    csh handle = handle_for(mode);
    if (!handle)
        return std::nullopt;
    cs_insn* raw = nullptr;
    size_t n = cs_disasm(handle, code.data(), std::min<size_t>(code.size(), 15), 0, 1, &raw);
    if (n == 0)
        return std::nullopt;
    std::unique_ptr<cs_insn, void (*)(cs_insn*)> owned(raw, [](cs_insn* p) { cs_free(p, 1); });
    const cs_x86& x = raw->detail->x86;
    Instruction insn;
    insn.id = raw->id;
    insn.mnemonic = std::string(raw->mnemonic) + (raw->op_str[0] ? std::string(" ") + raw->op_str : "");
    insn.bytes.assign(raw->bytes, raw->bytes + raw->size);
    insn.mode = mode;
    insn.address_size = x.addr_size;
    insn.rex_w = (x.rex & 0x08) != 0;
    // Capstone keeps one prefix of the LOCK/REP group: look at the bytes themselves.
    size_t prefixes = prefix_length(insn.bytes, mode);
    insn.lock = std::find(insn.bytes.begin(), insn.bytes.begin() + static_cast<std::ptrdiff_t>(prefixes), 0xf0) !=
                insn.bytes.begin() + static_cast<std::ptrdiff_t>(prefixes);
    for (unsigned i = 0; i < x.op_count; i++)
        insn.operands.push_back(operand_of(x.operands[i]));
    return insn;
}

std::string format_bytes(std::span<const uint8_t> bytes)
{
    std::string out;
    for (uint8_t b : bytes) {
        char two[4];
        std::snprintf(two, sizeof two, "%02x", b);
        if (!out.empty())
            out += ' ';
        out += two;
    }
    return out;
}

bool read_register(const kvm_regs& regs, x86_reg reg, uint64_t& value)
{
    const RegisterSlot* s = slot_of(reg);
    if (!s)
        return false;
    value = (fields(regs)[s->field] >> s->shift) & mask_of(s->width);
    return true;
}

bool write_register(kvm_regs& regs, x86_reg reg, uint64_t value)
{
    const RegisterSlot* s = slot_of(reg);
    if (!s)
        return false;
    __u64& field = fields(regs)[s->field];
    if (s->width == 4)
        field = value & 0xffffffffull;  // a 32-bit write clears the upper half
    else {
        uint64_t mask = mask_of(s->width) << s->shift;
        field = (field & ~mask) | ((value << s->shift) & mask);
    }
    return true;
}

LinearAddress linear_address(const CpuState& cpu, const Instruction& insn, const MemoryOperand& mem,
                             unsigned access_size)
{
    uint64_t offset = static_cast<uint64_t>(mem.disp), part = 0;
    if (mem.base == X86_REG_RIP || mem.base == X86_REG_EIP)
        offset += cpu.regs.rip + insn.length();
    else if (mem.base != X86_REG_INVALID) {
        if (!read_register(cpu.regs, mem.base, part))
            return {std::nullopt, vector::kGP};
        offset += part;
    }
    if (mem.index != X86_REG_INVALID) {
        if (!read_register(cpu.regs, mem.index, part))
            return {std::nullopt, vector::kGP};
        offset += part * static_cast<uint64_t>(mem.scale);
    }
    offset &= mask_of(insn.address_size);
    x86_reg seg_reg = mem.segment != X86_REG_INVALID ? mem.segment : is_stack_base(mem.base) ? X86_REG_SS : X86_REG_DS;
    uint8_t fault = seg_reg == X86_REG_SS ? vector::kSS : vector::kGP;
    const kvm_segment* seg = segment_of(cpu.sregs, seg_reg);
    if (!seg)
        return {std::nullopt, fault};
    if (insn.mode == CodeSize::Bits64) {
        // Only FS and GS have a base in 64-bit mode; no limits, but canonical addresses.
        uint64_t base = (seg_reg == X86_REG_FS || seg_reg == X86_REG_GS) ? seg->base : 0;
        uint64_t linear = base + offset;
        bool la57 = cpu.sregs.cr4 & cr4::kLA57;
        if (!canonical(linear, la57) || !canonical(linear + access_size - 1, la57))
            return {std::nullopt, fault};
        return {linear, fault};
    }
    // Legacy modes: the segment limit of an expand-up segment (real mode keeps the
    // limit of the last load too). Expand-down data segments are not modelled.
    if ((cpu.sregs.cr0 & cr0::kPE) && seg->unusable)
        return {std::nullopt, fault};
    if ((cpu.sregs.cr0 & cr0::kPE) && (seg->type & 0x0c) == 0x04)
        return {std::nullopt, fault, false};
    if (offset + access_size - 1 > seg->limit)
        return {std::nullopt, fault};
    return {(seg->base + offset) & 0xffffffffull, fault};
}

}  // namespace cr3rig
