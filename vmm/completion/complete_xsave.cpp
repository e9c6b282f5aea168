// xsave and xrstor in the standard (non-compacted) format, on KVM's XSAVE image
// (KVM_GET_XSAVE: the standard-format 4 KiB area, legacy region at 0, header at 512).
// The image's XSTATE_BV stands for the processor's XINUSE. KVM_SET_XSAVE initialises
// every component whose XSTATE_BV bit is clear, whatever its bytes, so after xrstor a
// component that is not in its initial configuration keeps its bit set (the SDM lets
// the processor track any component as in use).
//
// Not done (NotExact): the compacted form; x87 state in the 32-bit pointer format
// (no REX.W: FCS and FDS are not in KVM's 64-bit image); outside 64-bit mode, an
// extended component whose mode-dependent layout is not modelled; a component that
// does not fit the 4 KiB image; a misaligned area where #AC may be raised instead of
// #GP (CPL3 with CR0.AM and RFLAGS.AC).
#include <algorithm>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "vmm/completion/completers.hpp"
#include "vmm/completion/operand_access.hpp"

namespace cr3rig::complete {

namespace {

constexpr uint64_t kX87 = 1ull << 0, kSse = 1ull << 1, kAvx = 1ull << 2;
constexpr uint64_t kCompactedForm = 1ull << 63;
constexpr uint32_t kMxcsrAt = 24, kMxcsrMaskAt = 28, kStAt = 32, kXmmAt = 160, kHeaderAt = 512,
                   kExtendedAt = 576;
constexpr uint32_t kHeaderChecked = 24;  // XSTATE_BV, then bytes 23:8 that the standard form requires to be 0
constexpr uint16_t kFcwInit = 0x037f;
constexpr uint32_t kMxcsrInit = 0x1f80, kMxcsrDaz = 1u << 6, kMxcsrMaskDefault = 0xffbf;

// Bytes of the XSAVE area, as offsets from its base.
struct Span {
    uint32_t offset;
    uint32_t size;
};

bool all_zero(const XsaveImage& image, Span s)
{
    const uint8_t* p = image.bytes.data() + s.offset;
    return std::all_of(p, p + s.size, [](uint8_t b) { return b == 0; });
}

const kvm_cpuid_entry2* cpuid_leaf_d(const CpuState& cpu, unsigned subleaf)
{
    for (const auto& e : cpu.cpuid)
        if (e.function == 0xd && e.index == subleaf)
            return &e;
    return nullptr;
}

// Where extended component i (i >= 2) lies in the standard format: CPUID.(0DH, i).
std::variant<Span, NotExact> extended_area(const CpuState& cpu, unsigned i)
{
    const kvm_cpuid_entry2* e = cpuid_leaf_d(cpu, i);
    std::string name = "XSAVE state component " + std::to_string(i);
    if (!e || e->eax == 0)
        return NotExact{name + " has no size in the guest's CPUID leaf 0DH"};
    if (e->ebx < kExtendedAt || uint64_t{e->ebx} + e->eax > sizeof(XsaveImage::bytes))
        return NotExact{name + " (offset " + std::to_string(e->ebx) + ", size " + std::to_string(e->eax) +
                        ") does not fit KVM's 4 KiB XSAVE image"};
    return Span{e->ebx, e->eax};
}

// The bytes of component i that this execution saves or loads. The x87 and XMM
// parts only; MXCSR goes by its own rule. Outside 64-bit mode the registers that
// exist only there (XMM8-15, YMM8_H-15_H, ZMM8_H-15_H, ZMM16-31) are left alone
// (SDM vol.1 13.5).
std::variant<std::vector<Span>, NotExact> spans_of(const CpuState& cpu, const Instruction& insn, unsigned i)
{
    bool bits64 = insn.mode == CodeSize::Bits64;
    if (i == 0) {
        if (!insn.rex_w)
            return NotExact{"x87 state in the 32-bit pointer format (FIP/FCS, FDP/FDS) needs FCS and FDS, "
                            "which KVM's XSAVE image does not hold"};
        return std::vector<Span>{{0, kMxcsrAt}, {kStAt, 128}};
    }
    if (i == 1)
        return std::vector<Span>{{kXmmAt, bits64 ? 256u : 128u}};
    auto area = extended_area(cpu, i);
    if (auto* bad = std::get_if<NotExact>(&area))
        return *bad;
    Span s = std::get<Span>(area);
    if (bits64)
        return std::vector<Span>{s};
    uint32_t outside64 = 0;
    switch (i) {
    case 2: outside64 = 128; break;  // YMM0_H-YMM7_H
    case 6: outside64 = 256; break;  // ZMM0_H-ZMM7_H
    case 7: return std::vector<Span>{};  // ZMM16-31: 64-bit mode only
    case 3: case 4: case 5: case 9: outside64 = s.size; break;  // MPX, opmask, PKRU: the same in every mode
    default:
        return NotExact{"XSAVE state component " + std::to_string(i) + " outside 64-bit mode is not modelled"};
    }
    if (outside64 > s.size)
        return NotExact{"XSAVE state component " + std::to_string(i) + " is smaller than its architectural size"};
    return std::vector<Span>{{s.offset, outside64}};
}

// The spans of every component in `mask`, or why they cannot be known.
std::variant<std::vector<Span>, NotExact> spans_of_all(const CpuState& cpu, const Instruction& insn, uint64_t mask)
{
    std::vector<Span> out;
    for (unsigned i = 0; i < 63; i++) {
        if (!(mask & (1ull << i)))
            continue;
        auto spans = spans_of(cpu, insn, i);
        if (auto* bad = std::get_if<NotExact>(&spans))
            return *bad;
        for (Span s : std::get<std::vector<Span>>(spans))
            out.push_back(s);
    }
    return out;
}

uint32_t end_of(const std::vector<Span>& spans, uint32_t at_least)
{
    for (Span s : spans)
        at_least = std::max(at_least, s.offset + s.size);
    return at_least;
}

// The faults both instructions check before they touch memory, in the SDM's order.
std::optional<Outcome> check_enabled(const CpuState& cpu, const Instruction& insn)
{
    if (insn.lock || !(cpu.sregs.cr4 & cr4::kOSXSAVE) || !guest_has(cpu, "xsave"))
        return undefined_opcode();
    if (cpu.sregs.cr0 & cr0::kTS)
        return RaiseException{vector::kNM, std::nullopt, std::nullopt};
    if (insn.operands.size() != 1 || insn.operands[0].kind != Operand::Kind::Memory)
        return NotExact{"an xsave/xrstor without its memory operand"};
    if (!cpu.xsave)
        return NotExact{"the XSAVE image was not loaded"};
    return std::nullopt;
}

// The area's linear address, with `extent` bytes of it checked against the segment
// (or for canonical form), and its 64-byte alignment.
std::optional<Outcome> locate(const CpuState& cpu, const Instruction& insn, uint32_t extent, uint64_t& base)
{
    LinearAddress where = linear_address(cpu, insn, insn.operands[0].mem, extent);
    if (!where.modelled)
        return NotExact{"its memory operand is in an expand-down segment, which is not modelled"};
    if (!where.address)
        return RaiseException{where.fault_vector, 0, std::nullopt};
    base = *where.address;
    if (base % 64 == 0)
        return std::nullopt;
    bool may_raise_ac = alignment_checked(cpu);
    if (may_raise_ac)
        return NotExact{"a misaligned XSAVE area at CPL3 with alignment checks on raises #AC or #GP, "
                        "depending on the processor"};
    return general_protection();
}

uint64_t requested_features(const CpuState& cpu)
{
    uint64_t mask = (cpu.regs.rdx & 0xffffffffull) << 32 | (cpu.regs.rax & 0xffffffffull);
    return cpu.xcr0 & mask;
}

uint64_t xstate_bv(const XsaveImage& image) { return load<uint64_t>(image.bytes.data() + kHeaderAt); }

// x87 init: FCW 037FH, FSW 0, all tags empty (abridged FTW 0), FOP/FIP/FDP 0, ST0-7 0.
void initialise_x87(XsaveImage& image)
{
    std::fill(image.bytes.begin(), image.bytes.begin() + kMxcsrAt, 0);
    std::fill(image.bytes.begin() + kStAt, image.bytes.begin() + kXmmAt, 0);
    store<uint16_t>(image.bytes.data(), kFcwInit);
}

void zero(XsaveImage& image, Span s)
{
    std::fill(image.bytes.begin() + s.offset, image.bytes.begin() + s.offset + s.size, 0);
}

// Whether component i (1 or extended) of the image is in its initial configuration,
// as KVM_SET_XSAVE would otherwise make it.
std::variant<bool, NotExact> in_init_configuration(const CpuState& cpu, const XsaveImage& image, unsigned i)
{
    if (i == 1)
        return all_zero(image, {kXmmAt, 256}) && load<uint32_t>(image.bytes.data() + kMxcsrAt) == kMxcsrInit;
    auto area = extended_area(cpu, i);
    if (auto* bad = std::get_if<NotExact>(&area))
        return *bad;
    return all_zero(image, std::get<Span>(area));
}

}  // namespace

Outcome xsave(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    if (auto fault = check_enabled(cpu, insn))
        return *fault;
    uint64_t rfbm = requested_features(cpu);
    auto planned = spans_of_all(cpu, insn, rfbm);
    if (auto* bad = std::get_if<NotExact>(&planned))
        return *bad;
    std::vector<Span> spans = std::get<std::vector<Span>>(planned);
    if (rfbm & (kSse | kAvx))  // MXCSR and MXCSR_MASK go with SSE or AVX
        spans.push_back({kMxcsrAt, 8});
    spans.push_back({kHeaderAt, 8});
    std::sort(spans.begin(), spans.end(), [](Span a, Span b) { return a.offset < b.offset; });

    uint64_t base = 0;
    if (auto fault = locate(cpu, insn, end_of(spans, kHeaderAt + 8), base))
        return *fault;

    // XSTATE_BV is read, then written back: read it with a write's permission check
    // (the compare-exchange of 0 with 0 leaves memory as it is).
    uint8_t old_bv[8] = {}, unchanged[8] = {};
    bool swapped = false;
    if (auto fault = access_outcome(ctx.memory.compare_exchange(base + kHeaderAt, old_bv, unchanged, swapped)))
        return *fault;
    XsaveImage out = *cpu.xsave;
    uint64_t xinuse = xstate_bv(out);
    store<uint64_t>(out.bytes.data() + kHeaderAt, (load<uint64_t>(old_bv) & ~rfbm) | (xinuse & rfbm));

    // In ascending order; a #PF on a later page leaves the earlier parts written, as
    // an xsave that faults may (it is restartable: the retry writes the same bytes).
    for (Span s : spans)
        if (auto fault = access_outcome(
                ctx.memory.write(base + s.offset, std::span<const uint8_t>(out.bytes.data() + s.offset, s.size))))
            return *fault;
    advance_rip(cpu, insn);
    return Retired{};
}

Outcome xrstor(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    if (auto fault = check_enabled(cpu, insn))
        return *fault;
    uint64_t rfbm = requested_features(cpu);
    uint64_t base = 0;
    if (auto fault = locate(cpu, insn, kHeaderAt + kHeaderChecked, base))
        return *fault;

    uint8_t header[kHeaderChecked] = {};
    if (auto fault = access_outcome(ctx.memory.read(base + kHeaderAt, header)))
        return *fault;
    uint64_t restore_bv = load<uint64_t>(header), xcomp_bv = load<uint64_t>(header + 8),
             reserved = load<uint64_t>(header + 16);
    if (xcomp_bv & kCompactedForm) {
        if (!guest_has(cpu, "xsavec"))
            return general_protection();
        return NotExact{"the compacted form of xrstor is not modelled"};
    }
    if ((restore_bv & ~cpu.xcr0) || xcomp_bv || reserved)
        return general_protection();

    uint64_t loaded = rfbm & restore_bv, initialised = rfbm & ~restore_bv;
    auto planned = spans_of_all(cpu, insn, loaded);
    if (auto* bad = std::get_if<NotExact>(&planned))
        return *bad;
    auto to_initialise = spans_of_all(cpu, insn, initialised & ~kX87);  // x87 init needs no layout
    if (auto* bad = std::get_if<NotExact>(&to_initialise))
        return *bad;
    std::vector<Span> spans = std::get<std::vector<Span>>(planned);
    bool loads_mxcsr = rfbm & (kSse | kAvx);  // the standard form, whatever XSTATE_BV says
    if (auto fault = locate(cpu, insn, end_of(spans, kHeaderAt + kHeaderChecked), base))
        return *fault;

    XsaveImage next = *cpu.xsave;
    if (loads_mxcsr) {
        uint8_t raw[4] = {};
        if (auto fault = access_outcome(ctx.memory.read(base + kMxcsrAt, raw)))
            return *fault;
        uint32_t mxcsr = load<uint32_t>(raw);
        uint32_t mask = load<uint32_t>(next.bytes.data() + kMxcsrMaskAt);
        if (mask == 0) {  // the processor reports none: the SDM's default, unless DAZ decides
            if (mxcsr & kMxcsrDaz)
                return NotExact{"MXCSR.DAZ set while KVM's image gives no MXCSR_MASK"};
            mask = kMxcsrMaskDefault;
        }
        if (mxcsr & ~mask)
            return general_protection();
        store<uint32_t>(next.bytes.data() + kMxcsrAt, mxcsr);  // MXCSR_MASK is not loaded
    }
    for (Span s : std::get<std::vector<Span>>(to_initialise))
        zero(next, s);
    if (initialised & kX87)
        initialise_x87(next);
    for (Span s : spans)  // memory's bytes straight into the image; nothing changes on a fault
        if (auto fault = access_outcome(
                ctx.memory.read(base + s.offset, std::span<uint8_t>(next.bytes.data() + s.offset, s.size))))
            return *fault;

    uint64_t xinuse = (xstate_bv(next) & ~rfbm) | (restore_bv & rfbm);
    // A component KVM would initialise for a clear bit but that is not in its initial
    // configuration (XMM8-15 kept outside 64-bit mode, an MXCSR other than 1F80H)
    // stays tracked as in use.
    uint64_t check = (rfbm & ~kX87) | (loads_mxcsr ? kSse : 0);
    for (unsigned i = 1; i < 63; i++) {
        uint64_t bit = 1ull << i;
        if (!(check & bit) || (xinuse & bit))
            continue;
        auto init = in_init_configuration(cpu, next, i);
        if (auto* bad = std::get_if<NotExact>(&init))
            return *bad;
        if (std::get<bool>(init))
            continue;
        if (!(rfbm & bit))
            return NotExact{"MXCSR loaded with SSE state not in use: KVM's image cannot hold it"};
        xinuse |= bit;
    }
    store<uint64_t>(next.bytes.data() + kHeaderAt, xinuse);
    cpu.xsave = next;
    ctx.effects.xsave_changed = true;
    advance_rip(cpu, insn);
    return Retired{};
}

}  // namespace cr3rig::complete
