#include "vmm/cpu_model.hpp"

#include <algorithm>
#include <cstdio>
#include <initializer_list>

#include "common/errors.hpp"

namespace cr3rig {

namespace {

using R = CpuidRegister;

// The features cr3rig can name: every one kvm-unit-tests' unittests.cfg names, and
// those QEMU's qemu64 model is made of. Bits from the Intel SDM and AMD APM, names as
// QEMU spells them.
constexpr CpuFeature kFeatures[] = {
    // CPUID.01H:EDX
    {"fpu", 0x1, 0, R::Edx, 0}, {"vme", 0x1, 0, R::Edx, 1}, {"de", 0x1, 0, R::Edx, 2},
    {"pse", 0x1, 0, R::Edx, 3}, {"tsc", 0x1, 0, R::Edx, 4}, {"msr", 0x1, 0, R::Edx, 5},
    {"pae", 0x1, 0, R::Edx, 6}, {"mce", 0x1, 0, R::Edx, 7}, {"cx8", 0x1, 0, R::Edx, 8},
    {"apic", 0x1, 0, R::Edx, 9}, {"sep", 0x1, 0, R::Edx, 11}, {"mtrr", 0x1, 0, R::Edx, 12},
    {"pge", 0x1, 0, R::Edx, 13}, {"mca", 0x1, 0, R::Edx, 14}, {"cmov", 0x1, 0, R::Edx, 15},
    {"pat", 0x1, 0, R::Edx, 16}, {"pse36", 0x1, 0, R::Edx, 17}, {"clflush", 0x1, 0, R::Edx, 19},
    {"mmx", 0x1, 0, R::Edx, 23}, {"fxsr", 0x1, 0, R::Edx, 24}, {"sse", 0x1, 0, R::Edx, 25},
    {"sse2", 0x1, 0, R::Edx, 26}, {"ss", 0x1, 0, R::Edx, 27}, {"ht", 0x1, 0, R::Edx, 28},
    // CPUID.01H:ECX
    {"pni", 0x1, 0, R::Ecx, 0}, {"sse3", 0x1, 0, R::Ecx, 0}, {"pclmulqdq", 0x1, 0, R::Ecx, 1},
    {"monitor", 0x1, 0, R::Ecx, 3}, {"vmx", 0x1, 0, R::Ecx, 5}, {"ssse3", 0x1, 0, R::Ecx, 9},
    {"fma", 0x1, 0, R::Ecx, 12}, {"cx16", 0x1, 0, R::Ecx, 13}, {"pdcm", 0x1, 0, R::Ecx, 15},
    {"pcid", 0x1, 0, R::Ecx, 17}, {"sse4.1", 0x1, 0, R::Ecx, 19}, {"sse4.2", 0x1, 0, R::Ecx, 20},
    {"x2apic", 0x1, 0, R::Ecx, 21}, {"movbe", 0x1, 0, R::Ecx, 22}, {"popcnt", 0x1, 0, R::Ecx, 23},
    {"tsc-deadline", 0x1, 0, R::Ecx, 24}, {"aes", 0x1, 0, R::Ecx, 25}, {"xsave", 0x1, 0, R::Ecx, 26},
    {"avx", 0x1, 0, R::Ecx, 28}, {"f16c", 0x1, 0, R::Ecx, 29}, {"rdrand", 0x1, 0, R::Ecx, 30},
    {"hypervisor", 0x1, 0, R::Ecx, 31},
    // CPUID.07H.0:EBX, ECX, EDX
    {"fsgsbase", 0x7, 0, R::Ebx, 0}, {"tsc-adjust", 0x7, 0, R::Ebx, 1}, {"bmi1", 0x7, 0, R::Ebx, 3},
    {"hle", 0x7, 0, R::Ebx, 4}, {"avx2", 0x7, 0, R::Ebx, 5}, {"smep", 0x7, 0, R::Ebx, 7},
    {"bmi2", 0x7, 0, R::Ebx, 8}, {"erms", 0x7, 0, R::Ebx, 9}, {"invpcid", 0x7, 0, R::Ebx, 10},
    {"rtm", 0x7, 0, R::Ebx, 11}, {"mpx", 0x7, 0, R::Ebx, 14}, {"avx512f", 0x7, 0, R::Ebx, 16},
    {"rdseed", 0x7, 0, R::Ebx, 18}, {"adx", 0x7, 0, R::Ebx, 19}, {"smap", 0x7, 0, R::Ebx, 20},
    {"clflushopt", 0x7, 0, R::Ebx, 23}, {"clwb", 0x7, 0, R::Ebx, 24}, {"sha-ni", 0x7, 0, R::Ebx, 29},
    {"umip", 0x7, 0, R::Ecx, 2}, {"pku", 0x7, 0, R::Ecx, 3}, {"la57", 0x7, 0, R::Ecx, 16},
    {"rdpid", 0x7, 0, R::Ecx, 22}, {"md-clear", 0x7, 0, R::Edx, 10}, {"spec-ctrl", 0x7, 0, R::Edx, 26},
    {"arch-capabilities", 0x7, 0, R::Edx, 29},
    // CPUID.0DH.1:EAX
    {"xsaveopt", 0xd, 1, R::Eax, 0}, {"xsavec", 0xd, 1, R::Eax, 1}, {"xgetbv1", 0xd, 1, R::Eax, 2},
    {"xsaves", 0xd, 1, R::Eax, 3},
    // CPUID.80000001H:EDX, ECX
    {"syscall", 0x80000001, 0, R::Edx, 11}, {"nx", 0x80000001, 0, R::Edx, 20},
    {"pdpe1gb", 0x80000001, 0, R::Edx, 26}, {"rdtscp", 0x80000001, 0, R::Edx, 27},
    {"lm", 0x80000001, 0, R::Edx, 29}, {"lahf-lm", 0x80000001, 0, R::Ecx, 0}, {"svm", 0x80000001, 0, R::Ecx, 2},
    {"cr8legacy", 0x80000001, 0, R::Ecx, 4}, {"abm", 0x80000001, 0, R::Ecx, 5},
    {"sse4a", 0x80000001, 0, R::Ecx, 6}, {"skinit", 0x80000001, 0, R::Ecx, 12},
    // CPUID.8000000AH:EDX (SVM)
    {"npt", 0x8000000a, 0, R::Edx, 0}, {"lbrv", 0x8000000a, 0, R::Edx, 1}, {"nrip-save", 0x8000000a, 0, R::Edx, 3},
    {"tsc-scale", 0x8000000a, 0, R::Edx, 4}, {"vmcb-clean", 0x8000000a, 0, R::Edx, 5},
    {"flushbyasid", 0x8000000a, 0, R::Edx, 6}, {"decodeassists", 0x8000000a, 0, R::Edx, 7},
    {"pause-filter", 0x8000000a, 0, R::Edx, 10}, {"pfthreshold", 0x8000000a, 0, R::Edx, 12},
    {"avic", 0x8000000a, 0, R::Edx, 13}, {"v-vmsave-vmload", 0x8000000a, 0, R::Edx, 15},
    {"vgif", 0x8000000a, 0, R::Edx, 16},
};

// The feature words a model defines whole: bits of these cr3rig does not name are
// features too, and a model that lacks them clears them.
struct FeatureWord {
    uint32_t leaf, subleaf;
    CpuidRegister reg;
};
constexpr FeatureWord kFeatureWords[] = {
    {0x1, 0, R::Edx},        {0x1, 0, R::Ecx},        {0x7, 0, R::Ebx},        {0x7, 0, R::Ecx},
    {0x7, 0, R::Edx},        {0x7, 1, R::Eax},        {0xd, 1, R::Eax},        {0x80000001, 0, R::Edx},
    {0x80000001, 0, R::Ecx}, {0x8000000a, 0, R::Edx},
};

// QEMU's qemu64 (target/i386/cpu.c, builtin_x86_defs): PPRO_FEATURES plus mtrr, clflush,
// mca and pse36; sse3 and cx16; lm, syscall and nx; lahf_lm (its svm is off under KVM,
// QEMU's kvm_default_props, which also turn x2apic on). The hypervisor bit, as QEMU
// sets it on KVM.
constexpr std::string_view kQemu64Features[] = {
    "fpu", "de", "pse", "tsc", "msr", "mce", "cx8", "pge", "cmov", "pat", "fxsr", "mmx", "sse", "sse2", "pae", "sep",
    "apic", "mtrr", "clflush", "mca", "pse36", "sse3", "cx16", "x2apic", "hypervisor", "lm", "syscall", "nx",
    "lahf-lm",
};

const char* const kKnownModels = "cr3rig knows the models host, max and qemu64";

// The register of an entry, const or mutable as the entry.
template <typename Entry>
auto& reg_of(Entry& e, CpuidRegister r)
{
    switch (r) {
    case R::Eax: return e.eax;
    case R::Ebx: return e.ebx;
    case R::Ecx: return e.ecx;
    case R::Edx: break;
    }
    return e.edx;
}

const char* reg_name(CpuidRegister r)
{
    switch (r) {
    case R::Eax: return "EAX";
    case R::Ebx: return "EBX";
    case R::Ecx: return "ECX";
    case R::Edx: break;
    }
    return "EDX";
}

// The entry of (leaf, subleaf), for a const or a mutable table.
template <typename Table>
auto find_entry(Table& table, uint32_t leaf, uint32_t subleaf) -> decltype(&table[0])
{
    for (auto& e : table)
        if (e.function == leaf && (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index == subleaf))
            return &e;
    return nullptr;
}

bool offers(const std::vector<kvm_cpuid_entry2>& offered, const CpuFeature& f)
{
    const kvm_cpuid_entry2* e = find_entry(offered, f.leaf, f.subleaf);
    return e && (reg_of(*e, f.reg) >> f.bit & 1);
}

void set_bit(std::vector<kvm_cpuid_entry2>& table, const CpuFeature& f, bool on)
{
    if (kvm_cpuid_entry2* e = find_entry(table, f.leaf, f.subleaf)) {
        uint32_t& r = reg_of(*e, f.reg);
        r = on ? r | (1u << f.bit) : r & ~(1u << f.bit);
    }
}

std::vector<kvm_cpuid_entry2> qemu64_of(const std::vector<kvm_cpuid_entry2>& offered)
{
    std::vector<kvm_cpuid_entry2> out = offered;
    for (const FeatureWord& w : kFeatureWords)
        if (kvm_cpuid_entry2* e = find_entry(out, w.leaf, w.subleaf))
            reg_of(*e, w.reg) = 0;
    for (std::string_view name : kQemu64Features) {
        const CpuFeature& f = *cpu_feature_named(name);
        if (offers(offered, f))
            set_bit(out, f, true);
    }
    return out;
}

std::string warning_for(const CpuFeature& f)
{
    char where[48];
    std::snprintf(where, sizeof where, "CPUID.%02XH:%s.", f.leaf, reg_name(f.reg));
    return "host doesn't support requested feature: " + std::string(where) + std::string(f.name) + " [bit " +
           std::to_string(f.bit) + "]";
}

std::vector<std::string_view> parts_of(std::string_view spec)
{
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (;;) {
        size_t comma = spec.find(',', start);
        parts.push_back(spec.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos)
            return parts;
        start = comma + 1;
    }
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes)
{
    return std::any_of(prefixes.begin(), prefixes.end(), [s](std::string_view p) { return s.substr(0, p.size()) == p; });
}

// One part after the model: a feature turned on or off, or a property.
struct Setting {
    std::string name;  // dashes for underscores
    std::string value;
};

Setting setting_of(std::string_view part, std::string_view spec)
{
    auto bad = [&](const std::string& why) {
        return BadInput("-cpu " + std::string(spec) + ": " + why);
    };
    if (part.empty())
        throw bad("an empty part (two commas in a row, or a comma at an end)");
    Setting s;
    if (part[0] == '+' || part[0] == '-') {
        s.name = part.substr(1);
        s.value = part[0] == '+' ? "on" : "off";
    } else if (size_t eq = part.find('='); eq != std::string_view::npos) {
        s.name = part.substr(0, eq);
        s.value = part.substr(eq + 1);
        if (s.value.empty())
            throw bad("'" + std::string(part) + "' has no value");
    } else {
        s.name = part;  // a bare feature or flag, as QEMU takes it: on
        s.value = "on";
    }
    if (s.name.empty())
        throw bad("'" + std::string(part) + "' names no feature");
    std::replace(s.name.begin(), s.name.end(), '_', '-');
    return s;
}

}  // namespace

const CpuFeature* cpu_feature_named(std::string_view name)
{
    std::string dashed(name);
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    for (const CpuFeature& f : kFeatures)
        if (f.name == dashed)
            return &f;
    return nullptr;
}

CpuModel apply_cpu_model(const std::vector<kvm_cpuid_entry2>& offered, std::string_view spec)
{
    if (spec.empty())
        throw BadInput("-cpu: an empty CPU model");
    std::vector<std::string_view> parts = parts_of(spec);
    std::string_view model = parts[0];
    if (model.empty())
        throw BadInput("-cpu " + std::string(spec) + ": no model before the first comma");
    CpuModel out;
    if (model == "qemu64")
        out.cpuid = qemu64_of(offered);
    else if (model == "host" || model == "max")
        out.cpuid = offered;
    else
        throw Unsupported("-cpu " + std::string(model) + ": " + kKnownModels);

    std::string prefix = "-cpu " + std::string(spec) + ": ";
    for (size_t i = 1; i < parts.size(); i++) {
        Setting s = setting_of(parts[i], spec);
        bool on = s.value == "on";
        if (!on && s.value != "off") {
            if (cpu_feature_named(s.name))
                throw BadInput(prefix + s.name + " takes on or off, not '" + s.value + "'");
            throw Unsupported(prefix + "cr3rig cannot set " + s.name + "=" + s.value);
        }
        if (s.name == "host-phys-bits") {
            if (!on)  // KVM's table has the host's address sizes; any other needs its own leaf 0x80000008
                throw Unsupported(prefix + "cr3rig gives the host's physical address bits only (host-phys-bits=on)");
            continue;
        }
        if (starts_with_any(s.name, {"hv-", "vmx-"}) || s.name == "migratable")
            throw Unsupported(prefix + "cr3rig cannot set " + s.name + " (Hyper-V, VMX controls and migratable are "
                                                                   "QEMU's)");
        const CpuFeature* f = cpu_feature_named(s.name);
        if (!f)
            throw Unsupported(prefix + "unknown CPU feature '" + s.name + "'");
        if (on && !offers(offered, *f)) {
            out.warnings.push_back(warning_for(*f));
            on = false;
        }
        set_bit(out.cpuid, *f, on);
    }
    return out;
}

}  // namespace cr3rig
