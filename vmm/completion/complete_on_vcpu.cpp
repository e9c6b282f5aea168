#include "vmm/completion/complete_on_vcpu.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>

#include "common/hex.hpp"
#include "vmm/completion/completer.hpp"
#include "vmm/completion/paged_memory.hpp"
#include "vmm/kvm.hpp"

namespace cr3rig {

namespace {

constexpr const char* kFailed = "KVM internal error, suberror 1 (instruction emulation failed)";

Stop crash(std::string reason) { return Stop{VerdictKind::Crash, std::move(reason), std::nullopt}; }

std::string named(const Instruction& insn, uint64_t rip)
{
    return "`" + insn.mnemonic + "` (" + format_bytes(insn.bytes) + ") at " + hex(rip);
}

// Every translation the guest may hold is dropped: KVM rebuilds its MMU context when
// CR4 changes, so CR4.PGE goes off and on again (as a guest kernel flushes global
// pages). The architecture allows invalidating more than invpcid asks.
void flush_guest_tlb(Vcpu& vcpu, kvm_sregs sregs)
{
    sregs.cr4 ^= cr4::kPGE;
    vcpu.set_sregs(sregs);
    sregs.cr4 ^= cr4::kPGE;
    vcpu.set_sregs(sregs);
}

// PKRU from the XSAVE image: state component 9 at the offset CPUID.(0DH, 9).EBX
// gives; its init value 0 when the header says the component is in its init state.
uint32_t read_pkru(const Vcpu& vcpu, const CpuState& cpu)
{
    uint8_t image[4096];
    vcpu.get_xsave(image);
    uint64_t xstate_bv;
    std::memcpy(&xstate_bv, image + 512, 8);
    if (!(xstate_bv & (1u << 9)))
        return 0;
    for (const auto& e : cpu.cpuid)
        if (e.function == 0xd && e.index == 9 && e.ebx + 4 <= sizeof image) {
            uint32_t pkru;
            std::memcpy(&pkru, image + e.ebx, 4);
            return pkru;
        }
    return 0;
}

}  // namespace

uint64_t CompletionCounts::total() const
{
    uint64_t n = 0;
    for (const auto& [name, count] : by_name)
        n += count;
    return n;
}

std::string CompletionCounts::format() const
{
    std::string out = "completions: " + std::to_string(total()) + " total\n";
    for (const auto& [name, count] : by_name) {
        char line[80];
        std::snprintf(line, sizeof line, "  %-16s %10llu\n", name.c_str(), static_cast<unsigned long long>(count));
        out += line;
    }
    return out;
}

bool is_emulation_failure(const VmExit& exit)
{
    return exit.kind == ExitKind::InternalError && exit.detail == KVM_INTERNAL_ERROR_EMULATION;
}

InstructionCompletion::InstructionCompletion(GuestMemory& memory, bool enabled,
                                             std::function<void(const std::string&)> on_first)
    : memory_(memory), enabled_(enabled), on_first_(std::move(on_first))
{
}

std::optional<Stop> InstructionCompletion::complete(Vcpu& vcpu, CompletionCounts& counts)
{
    CpuState cpu;
    constexpr uint64_t kBoth = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    bool synced = (vcpu.sync_regs() & kBoth) == kBoth;  // the copies in kvm_run are this exit's
    cpu.regs = synced ? vcpu.synced_regs() : vcpu.get_regs();
    cpu.sregs = synced ? vcpu.synced_sregs() : vcpu.get_sregs();
    cpu.cpuid = vcpu.cpuid();  // before the walker: it reads MAXPHYADDR
    CodeSize mode = code_size(cpu);
    uint64_t rip = cpu.regs.rip;
    uint64_t linear_rip = mode == CodeSize::Bits64 ? rip : (cpu.sregs.cs.base + rip) & 0xffffffffull;
    if (cpu.sregs.cr4 & cr4::kPKE)
        cpu.pkru = read_pkru(vcpu, cpu);
    PagedGuestMemory memory(memory_, cpu);

    uint8_t code[15];
    auto fetched = memory.fetch(linear_rip, code);
    if (!std::holds_alternative<size_t>(fetched))
        return crash(std::string(kFailed) + " at " + hex(rip) + ", whose bytes cr3rig cannot fetch");
    auto insn = decode_instruction(std::span(code, std::get<size_t>(fetched)), mode);
    if (!insn)
        return crash(std::string(kFailed) + " at " + hex(rip) + ": bytes " +
                     format_bytes(std::span(code, std::min<size_t>(std::get<size_t>(fetched), 8))) +
                     " that cr3rig does not decode");
    const Completer* completer = completer_for(*insn);
    if (!enabled_)
        return crash(std::string(kFailed) + ": " + named(*insn, rip) + "; completion is off (--no-complete)");
    if (!completer)
        return crash(std::string(kFailed) + ": " + named(*insn, rip) + ", which cr3rig does not complete");

    // XCR0 costs an ioctl: only for what reads it (xgetbv, and the XSAVE-state completers).
    if (completer->needs_xsave || std::string_view(completer->name) == "xgetbv")
        cpu.xcr0 = vcpu.get_xcr0();
    if (completer->needs_xsave) {
        cpu.xsave.emplace();
        uint8_t image[4096];
        vcpu.get_xsave(image);
        std::memcpy(cpu.xsave->bytes.data(), image, sizeof image);
    }
    kvm_sregs sregs_before = cpu.sregs;
    CompletionContext ctx{cpu, memory, {}};
    Outcome outcome = completer->complete(ctx, *insn);
    if (const auto* not_exact = std::get_if<NotExact>(&outcome))
        return crash(std::string(kFailed) + ": " + named(*insn, rip) + ", which cr3rig cannot complete exactly: " +
                     not_exact->why);

    if (ctx.effects.xsave_changed && cpu.xsave) {
        uint8_t image[4096];
        std::memcpy(image, cpu.xsave->bytes.data(), sizeof image);
        vcpu.set_xsave(image);
    }
    if (ctx.effects.flush_tlb)
        flush_guest_tlb(vcpu, cpu.sregs);
    auto write_sregs = [&] {
        if (synced)
            vcpu.sregs_for_write() = cpu.sregs;  // KVM sets them at the next entry
        else
            vcpu.set_sregs(cpu.sregs);
    };
    if (const auto* exception = std::get_if<RaiseException>(&outcome)) {
        if (exception->cr2) {
            cpu.sregs.cr2 = *exception->cr2;
            write_sregs();
        }
        vcpu.inject_exception(exception->vector, exception->error_code);  // RIP stays at the instruction
    } else {
        if (std::memcmp(&cpu.sregs, &sregs_before, sizeof sregs_before) != 0)
            write_sregs();
        if (synced)
            vcpu.regs_for_write() = cpu.regs;
        else
            vcpu.set_regs(cpu.regs);
        if (const auto* interrupt = std::get_if<SoftwareInterrupt>(&outcome))
            vcpu.inject_interrupt(interrupt->vector);
    }
    if (counts.by_name[completer->name]++ == 0 && on_first_)
        on_first_("completing " + std::string(completer->name) + " for the guest: the backend cannot emulate it (first " +
                  named(*insn, rip) + ")");
    return std::nullopt;
}

}  // namespace cr3rig
