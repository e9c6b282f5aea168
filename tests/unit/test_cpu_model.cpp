// CPU models in QEMU's -cpu syntax (vmm/cpu_model.hpp) and each vCPU's APIC ID in
// CPUID (vmm/cpu_topology.hpp), on synthetic tables of what "KVM offers": no KVM.
#include <catch2/catch.hpp>

#include <vector>

#include "common/errors.hpp"
#include "vmm/cpu_model.hpp"
#include "vmm/cpu_topology.hpp"

using namespace cr3rig;

namespace {

kvm_cpuid_entry2 entry(uint32_t leaf, uint32_t subleaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx,
                       bool indexed = false)
{
    kvm_cpuid_entry2 e{};
    e.function = leaf;
    e.index = subleaf;
    e.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
    e.eax = eax;
    e.ebx = ebx;
    e.ecx = ecx;
    e.edx = edx;
    return e;
}

constexpr uint32_t bit(unsigned n) { return 1u << n; }

// A host whose KVM offers everything but tsc-deadline (1.ECX bit 24) and pku (7.ECX bit 3).
std::vector<kvm_cpuid_entry2> offered()
{
    return {
        entry(0x0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69),
        entry(0x1, 0, 0x000906ea, 0x00100800 | (7u << 24), ~bit(24), ~0u),
        entry(0x7, 0, 0, ~0u, ~bit(3), ~0u, true),
        entry(0x7, 1, ~0u, 0, 0, 0, true),
        entry(0xb, 0, 1, 2, 0x100, 5, true),
        entry(0xb, 1, 4, 8, 0x201, 5, true),
        entry(0xb, 2, 0, 0, 2, 5, true),
        entry(0x80000001, 0, 0, 0, ~0u, ~0u),
    };
}

const kvm_cpuid_entry2& find(const std::vector<kvm_cpuid_entry2>& t, uint32_t leaf, uint32_t subleaf = 0)
{
    for (const auto& e : t)
        if (e.function == leaf && e.index == subleaf)
            return e;
    FAIL("no CPUID entry " << leaf << "." << subleaf);
    throw std::logic_error("unreachable");
}

bool has(const std::vector<kvm_cpuid_entry2>& t, const char* feature)
{
    const CpuFeature* f = cpu_feature_named(feature);
    REQUIRE(f != nullptr);
    const kvm_cpuid_entry2& e = find(t, f->leaf, f->subleaf);
    uint32_t r = f->reg == CpuidRegister::Eax ? e.eax : f->reg == CpuidRegister::Ebx ? e.ebx
                 : f->reg == CpuidRegister::Ecx ? e.ecx : e.edx;
    return r >> f->bit & 1;
}

}  // namespace

TEST_CASE("host and max are what KVM offers", "[cpu-model]")
{
    for (const char* spec : {"host", "max"}) {
        CpuModel m = apply_cpu_model(offered(), spec);
        CHECK(m.warnings.empty());
        REQUIRE(m.cpuid.size() == offered().size());
        CHECK(find(m.cpuid, 0x1).ecx == ~bit(24));
        CHECK(find(m.cpuid, 0x7).ebx == ~0u);
    }
}

TEST_CASE("qemu64 keeps only QEMU's qemu64 features, x2apic and hypervisor on as QEMU has them under KVM",
          "[cpu-model]")
{
    CpuModel m = apply_cpu_model(offered(), "qemu64");
    CHECK(m.warnings.empty());
    for (const char* f : {"fpu", "pse", "tsc", "msr", "pae", "cx8", "apic", "sep", "pge", "cmov", "pat", "clflush",
                          "mmx", "fxsr", "sse", "sse2", "sse3", "cx16", "x2apic", "hypervisor", "lm", "nx", "syscall",
                          "lahf-lm"})
        CHECK(has(m.cpuid, f));
    for (const char* f : {"vme", "ss", "ht", "vmx", "pcid", "avx", "xsave", "tsc-deadline", "popcnt", "invpcid",
                          "smep", "umip", "svm", "rdtscp", "pdpe1gb"})
        CHECK_FALSE(has(m.cpuid, f));
    CHECK(find(m.cpuid, 0x7).ebx == 0);
    CHECK(find(m.cpuid, 0x7, 1).eax == 0);  // a word no named feature covers is the model's too
    CHECK(find(m.cpuid, 0x0).eax == 0x1f);  // leaves that are not features stay KVM's
    CHECK(find(m.cpuid, 0x1).eax == 0x000906ea);
}

TEST_CASE("+feat and feat=on set what KVM offers, -feat and feat=off clear", "[cpu-model]")
{
    CpuModel m = apply_cpu_model(offered(), "qemu64,+pcid,invpcid=on,-x2apic,+umip,tsc_adjust");
    CHECK(m.warnings.empty());
    CHECK(has(m.cpuid, "pcid"));
    CHECK(has(m.cpuid, "invpcid"));
    CHECK(has(m.cpuid, "umip"));
    CHECK(has(m.cpuid, "tsc-adjust"));  // a bare name is on; underscores read as dashes
    CHECK_FALSE(has(m.cpuid, "x2apic"));
    CHECK_FALSE(has(apply_cpu_model(offered(), "max,-pku,rdtscp=off").cpuid, "rdtscp"));
}

TEST_CASE("a feature KVM does not offer stays clear, with QEMU's warning", "[cpu-model]")
{
    CpuModel m = apply_cpu_model(offered(), "qemu64,+x2apic,+tsc-deadline,+pku");
    CHECK_FALSE(has(m.cpuid, "tsc-deadline"));
    CHECK_FALSE(has(m.cpuid, "pku"));
    CHECK(has(m.cpuid, "x2apic"));
    REQUIRE(m.warnings.size() == 2);
    CHECK(m.warnings[0] == "host doesn't support requested feature: CPUID.01H:ECX.tsc-deadline [bit 24]");
    CHECK(m.warnings[1] == "host doesn't support requested feature: CPUID.07H:ECX.pku [bit 3]");
    CHECK(apply_cpu_model(offered(), "max,+svm").warnings.empty());
    // svm is 80000001H:ECX bit 2, offered here; skinit too
    CHECK(has(apply_cpu_model(offered(), "max,+svm,-npt,-rdtscp,-xsave,-invpcid,-skinit").cpuid, "svm"));
}

TEST_CASE("host-phys-bits (on) is taken: KVM's table has the host's address sizes", "[cpu-model]")
{
    CHECK(apply_cpu_model(offered(), "max,host-phys-bits").cpuid.size() == offered().size());
    CHECK(apply_cpu_model(offered(), "max,host-phys-bits=on,+vmx").warnings.empty());
}

TEST_CASE("what cr3rig cannot give is Unsupported, naming the part", "[cpu-model]")
{
    auto unsupported = [](const char* spec, const char* part) {
        INFO(spec);
        try {
            apply_cpu_model(offered(), spec);
            FAIL("accepted");
        } catch (const Unsupported& e) {
            CHECK_THAT(e.what(), Catch::Contains(part));
        }
    };
    unsupported("Skylake-Server,host-phys-bits,+vmx,+vmx-mbec", "-cpu Skylake-Server: cr3rig knows the models host, max and qemu64");
    unsupported("IvyBridge,phys-bits=36,host-phys-bits=off", "IvyBridge");
    unsupported("Opteron_G1,vendor=AuthenticAMD", "Opteron_G1");
    unsupported("max,vendor=GenuineIntel", "vendor=GenuineIntel");
    unsupported("qemu64,phys-bits=36", "phys-bits=36");
    unsupported("max,host-phys-bits=off", "host-phys-bits");
    unsupported("host,migratable=no", "migratable=no");
    unsupported("host,hv_passthrough", "hv-passthrough");
    unsupported("max,host-phys-bits,+vmx,-vmx-mbec", "vmx-mbec");
    unsupported("qemu64,+frobnicate", "unknown CPU feature 'frobnicate'");
}

TEST_CASE("a malformed spec is BadInput", "[cpu-model]")
{
    for (const char* spec : {"", ",", "qemu64,,+x2apic", "qemu64,", "qemu64,+", "qemu64,-", ",+x2apic", "max,=on",
                             "max,x2apic=", "max,x2apic=maybe"}) {
        INFO("'" << spec << "'");
        CHECK_THROWS_AS(apply_cpu_model(offered(), spec), BadInput);
    }
}

TEST_CASE("every feature unittests.cfg names is known", "[cpu-model]")
{
    for (const char* f : {"x2apic", "tsc-deadline", "pcid", "invpcid", "umip", "pku", "vmx", "svm", "xsave", "rdtscp",
                          "npt", "skinit"})
        CHECK(cpu_feature_named(f) != nullptr);
}

TEST_CASE("each vCPU's CPUID reports its own APIC ID, one package per vCPU", "[cpu-model]")
{
    for (uint32_t id : {0u, 1u, 2u, 200u}) {
        auto t = cpuid_for_vcpu(offered(), id);
        CHECK(find(t, 0x1).ebx >> 24 == id);
        CHECK((find(t, 0x1).ebx >> 16 & 0xff) == 1);
        CHECK((find(t, 0x1).ebx & 0xffff) == 0x0800);  // CLFLUSH line size and brand stay
        CHECK_FALSE(find(t, 0x1).edx & bit(28));       // no HTT: one logical processor
        for (uint32_t level : {0u, 1u, 2u}) {
            const auto& e = find(t, 0xb, level);
            CHECK(e.edx == id);
            CHECK((e.ecx & 0xff) == level);
            CHECK(e.eax == 0);  // no APIC ID bits below the package
        }
        CHECK(find(t, 0xb, 0).ebx == 1);
        CHECK((find(t, 0xb, 0).ecx >> 8 & 0xff) == 1);  // SMT
        CHECK((find(t, 0xb, 1).ecx >> 8 & 0xff) == 2);  // core
        CHECK((find(t, 0xb, 2).ecx >> 8 & 0xff) == 0);  // invalid: the end
    }
}
