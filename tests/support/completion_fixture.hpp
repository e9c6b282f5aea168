// What the completer unit tests share: a flat guest memory (linear = offset) whose
// pages can be made to fault, a vCPU state in 64-bit mode at CPL0 with a chosen CPUID,
// and decoding from hex.
#pragma once

#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "vmm/completion/completer.hpp"
#include "vmm/cpu_model.hpp"

namespace cr3rig::test {

class FlatGuest : public GuestLinear {
public:
    explicit FlatGuest(size_t size = 1 << 20) : bytes(size) {}

    std::vector<uint8_t> bytes;
    std::set<uint64_t> faulting_pages;  // page numbers that raise #PF (not present)
    unsigned writes = 0;                // successful write and compare_exchange calls

    Access read(uint64_t linear, std::span<uint8_t> out, AccessMode) override
    {
        if (auto f = check(linear, out.size(), false))
            return *f;
        std::memcpy(out.data(), bytes.data() + linear, out.size());
        return AccessOk{};
    }
    Access write(uint64_t linear, std::span<const uint8_t> in, AccessMode) override
    {
        if (auto f = check(linear, in.size(), true))
            return *f;
        std::memcpy(bytes.data() + linear, in.data(), in.size());
        writes++;
        return AccessOk{};
    }
    Access compare_exchange(uint64_t linear, std::span<uint8_t> expected, std::span<const uint8_t> desired,
                            bool& swapped) override
    {
        if (auto f = check(linear, expected.size(), true))
            return *f;
        swapped = std::memcmp(bytes.data() + linear, expected.data(), expected.size()) == 0;
        if (swapped)
            std::memcpy(bytes.data() + linear, desired.data(), desired.size());
        else
            std::memcpy(expected.data(), bytes.data() + linear, expected.size());
        writes++;
        return AccessOk{};
    }

    template <typename T>
    void put(uint64_t at, T value) { std::memcpy(bytes.data() + at, &value, sizeof value); }
    template <typename T>
    T get(uint64_t at) const { T v; std::memcpy(&v, bytes.data() + at, sizeof v); return v; }

private:
    std::optional<Access> check(uint64_t linear, size_t len, bool write) const
    {
        for (uint64_t p = linear / 4096; p <= (linear + len - 1) / 4096; p++)
            if (faulting_pages.count(p))
                return Access{PageFault{std::max(linear, p * 4096), write ? 2u : 0u}};
        if (linear + len > bytes.size())
            return Access{NotRam{linear}};
        return std::nullopt;
    }
};

// CPUID entries with the named features (cpu_model's names) set, and nothing else.
inline std::vector<kvm_cpuid_entry2> cpuid_with(std::initializer_list<std::string_view> features)
{
    std::vector<kvm_cpuid_entry2> out;
    for (auto name : features) {
        const CpuFeature* f = cpu_feature_named(name);
        REQUIRE(f);
        kvm_cpuid_entry2* e = nullptr;
        for (auto& x : out)
            if (x.function == f->leaf && x.index == f->subleaf)
                e = &x;
        if (!e) {
            out.push_back(kvm_cpuid_entry2{});
            e = &out.back();
            e->function = f->leaf;
            e->index = f->subleaf;
            e->flags = (f->leaf == 7 || f->leaf == 0xd) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
        }
        uint32_t* reg = f->reg == CpuidRegister::Eax ? &e->eax
                        : f->reg == CpuidRegister::Ebx ? &e->ebx
                        : f->reg == CpuidRegister::Ecx ? &e->ecx
                                                       : &e->edx;
        *reg |= 1u << f->bit;
    }
    return out;
}

// A 64-bit kernel: long mode, paging, CPL0, flat segments, RIP at 0x1000.
inline CpuState kernel64(std::initializer_list<std::string_view> features = {})
{
    CpuState cpu;
    cpu.sregs.cr0 = cr0::kPE | cr0::kPG | cr0::kWP | cr0::kNE | cr0::kMP;
    cpu.sregs.cr4 = cr4::kPAE | cr4::kOSFXSR;
    cpu.sregs.efer = efer::kLME | efer::kLMA | efer::kNXE;
    cpu.sregs.cs.selector = 0x8;
    cpu.sregs.cs.l = 1;
    cpu.sregs.cs.present = 1;
    cpu.sregs.ss.selector = 0x10;
    cpu.sregs.ds.limit = cpu.sregs.ss.limit = cpu.sregs.es.limit = 0xffffffff;
    cpu.regs.rip = 0x1000;
    cpu.regs.rflags = 0x2;
    cpu.cpuid = cpuid_with(features);
    return cpu;
}

inline Instruction decode_hex(const std::string& hex, CodeSize mode = CodeSize::Bits64)
{
    std::vector<uint8_t> code;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        code.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    auto insn = decode_instruction(code, mode);
    REQUIRE(insn);
    return *insn;
}

// Runs the completer the table picks for `hex` on `cpu` and `memory`.
inline Outcome complete_hex(CpuState& cpu, GuestLinear& memory, const std::string& hex, SideEffects* effects = nullptr)
{
    Instruction insn = decode_hex(hex, in_64bit_mode(cpu) ? CodeSize::Bits64 : CodeSize::Bits32);
    const Completer* c = completer_for(insn);
    REQUIRE(c);
    CompletionContext ctx{cpu, memory, {}};
    Outcome out = c->complete(ctx, insn);
    if (effects)
        *effects = ctx.effects;
    return out;
}

}  // namespace cr3rig::test
