#include "vmm/completion/cpu_state.hpp"

#include <stdexcept>
#include <string>

#include "vmm/cpu_model.hpp"

namespace cr3rig {

unsigned current_privilege(const CpuState& cpu)
{
    if (!(cpu.sregs.cr0 & cr0::kPE))
        return 0;
    if (cpu.regs.rflags & rflags::kVM)
        return 3;
    return cpu.sregs.cs.selector & 3;
}

bool alignment_checked(const CpuState& cpu)
{
    return current_privilege(cpu) == 3 && (cpu.sregs.cr0 & cr0::kAM) && (cpu.regs.rflags & rflags::kAC);
}

bool in_64bit_mode(const CpuState& cpu) { return (cpu.sregs.efer & efer::kLMA) && cpu.sregs.cs.l; }

bool guest_has(const CpuState& cpu, std::string_view name)
{
    const CpuFeature* f = cpu_feature_named(name);
    if (!f)
        throw std::logic_error("no CPU feature named " + std::string(name));
    for (const auto& e : cpu.cpuid) {
        bool indexed = e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        if (e.function != f->leaf || (indexed && e.index != f->subleaf))
            continue;
        uint32_t reg = f->reg == CpuidRegister::Eax ? e.eax
                       : f->reg == CpuidRegister::Ebx ? e.ebx
                       : f->reg == CpuidRegister::Ecx ? e.ecx
                                                      : e.edx;
        return (reg >> f->bit) & 1;
    }
    return false;
}

}  // namespace cr3rig
