// The CPU's rules for `mov` to and from CR3 that the trap engine follows when it
// performs a trapped access for the guest (traps/cr3_rules.hpp).
#include <catch2/catch.hpp>

#include "traps/cr3_rules.hpp"

using namespace cr3rig;

namespace {

kvm_cpuid_entry2 leaf(uint32_t function, uint32_t index, uint32_t eax)
{
    kvm_cpuid_entry2 e{};
    e.function = function;
    e.index = index;
    e.eax = eax;
    return e;
}

constexpr uint64_t kRoot = 0x2000;

}  // namespace

TEST_CASE("MAXPHYADDR and LAM come from the guest's CPUID, 36 bits without leaf 0x80000008")
{
    CHECK(Cr3Rules::of_cpuid({}).maxphyaddr == 36);
    CHECK(Cr3Rules::of_cpuid({leaf(0x80000000, 0, 0x80000008), leaf(0x80000008, 0, 0x3027)}).maxphyaddr == 39);
    // A leaf beyond the highest extended function is not there.
    CHECK(Cr3Rules::of_cpuid({leaf(0x80000000, 0, 0x80000004), leaf(0x80000008, 0, 0x3027)}).maxphyaddr == 36);
    CHECK_FALSE(Cr3Rules::of_cpuid({leaf(7, 0, 1), leaf(7, 1, 0)}).lam);
    CHECK(Cr3Rules::of_cpuid({leaf(7, 0, 1), leaf(7, 1, 1u << 26)}).lam);
}

TEST_CASE("a CR3 write with a reserved bit set faults, as on the CPU")
{
    Cr3Rules rules{46, false};
    SECTION("address bits below MAXPHYADDR and the low bits are valid")
    {
        CHECK_FALSE(rules.write_faults(kRoot | 0x18, 0));
        CHECK_FALSE(rules.write_faults((1ull << 45) | kRoot, 0));
        CHECK_FALSE(rules.write_faults(kRoot | 0xfff, kCr4PcidEnable));  // a PCID
    }
    SECTION("bits from MAXPHYADDR up fault")
    {
        CHECK(rules.write_faults((1ull << 46) | kRoot, 0));
        CHECK(rules.write_faults((1ull << 59) | kRoot, kCr4PcidEnable));
    }
    SECTION("bit 63 is reserved without PCIDE, the no-flush hint with it")
    {
        CHECK(rules.write_faults(kCr3PcidNoFlush | kRoot, 0));
        CHECK_FALSE(rules.write_faults(kCr3PcidNoFlush | kRoot, kCr4PcidEnable));
        CHECK(Cr3Rules::loaded(kCr3PcidNoFlush | kRoot | 5, kCr4PcidEnable) == (kRoot | 5));
        CHECK(Cr3Rules::loaded(kRoot | 0x18, 0) == (kRoot | 0x18));
    }
    SECTION("bits 61 and 62 are LAM's where the CPU has LAM")
    {
        CHECK(rules.write_faults(kCr3LamBits | kRoot, 0));
        CHECK_FALSE(Cr3Rules{46, true}.write_faults(kCr3LamBits | kRoot, 0));
        CHECK(Cr3Rules{46, true}.write_faults(kCr3PcidNoFlush | kRoot, 0));
    }
}

TEST_CASE("control-register accesses fault above CPL 0")
{
    kvm_sregs sregs{};
    sregs.cs.selector = 0x08;
    CHECK_FALSE(cr_access_faults_at(sregs));
    sregs.cs.selector = 0x2b;  // a user code selector, RPL 3
    CHECK(cr_access_faults_at(sregs));
}
