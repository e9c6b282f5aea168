// int3, int n and into (vmm/completion/complete_interrupts.cpp) against the SDM's INT n
// pseudocode and exception lists: the IDT gate checks (limit, type, DPL for software
// interrupts, present) and those on the gate's code segment, in long mode and in 32-bit
// protected mode, with the IDT and GDT built in a FlatGuest.
#include <catch2/catch.hpp>

#include "tests/support/completion_fixture.hpp"

using namespace cr3rig;
using namespace cr3rig::test;

namespace {

constexpr uint64_t kIdt = 0x2000, kGdt = 0x4000, kLdt = 0x6000;
constexpr uint16_t kCode = 0x08, kData = 0x10, kCodeDpl3 = 0x18, kCode32 = 0x20, kCodeLD = 0x28, kCodeAbsent = 0x30,
                   kCode32Absent = 0x38;

// Descriptors: limit 0xfffff, base 0, G = 1.
constexpr uint64_t kCode64Desc = 0x00af9a000000ffffull;        // P, DPL0, code, L = 1
constexpr uint64_t kDataDesc = 0x00cf92000000ffffull;          // P, DPL0, read/write data
constexpr uint64_t kCode64Dpl3Desc = 0x00affa000000ffffull;    // P, DPL3, code, L = 1
constexpr uint64_t kCode32Desc = 0x00cf9a000000ffffull;        // P, DPL0, code, D = 1
constexpr uint64_t kCodeLDDesc = 0x00ef9a000000ffffull;        // P, DPL0, code, L = 1 and D = 1
constexpr uint64_t kCode64AbsentDesc = 0x00af1a000000ffffull;  // not present, DPL0, code, L = 1
constexpr uint64_t kCode32AbsentDesc = 0x00cf1a000000ffffull;  // not present, DPL0, code, D = 1

// Gate type/attribute bytes: P | DPL << 5 | type.
constexpr uint8_t gate_attr(unsigned type, unsigned dpl = 0, bool present = true)
{
    return static_cast<uint8_t>((present ? 0x80 : 0) | dpl << 5 | type);
}

struct Guest {
    FlatGuest memory;
    CpuState cpu;
    bool long_mode;

    explicit Guest(bool long_mode_) : long_mode(long_mode_)
    {
        if (long_mode)
            cpu = kernel64();
        else {
            cpu.sregs.cr0 = cr0::kPE;
            cpu.sregs.cs.selector = kCode32;
            cpu.sregs.cs.db = 1;
            cpu.sregs.cs.present = 1;
            cpu.sregs.ss.selector = kData;
            cpu.sregs.ss.db = 1;
            cpu.regs.rip = 0x1000;
            cpu.regs.rflags = 0x2;
        }
        cpu.sregs.idt = {kIdt, 0xfff, {}};
        cpu.sregs.gdt = {kGdt, 0x3f, {}};
        memory.put<uint64_t>(kGdt + kCode, kCode64Desc);
        memory.put<uint64_t>(kGdt + kData, kDataDesc);
        memory.put<uint64_t>(kGdt + kCodeDpl3, kCode64Dpl3Desc);
        memory.put<uint64_t>(kGdt + kCode32, kCode32Desc);
        memory.put<uint64_t>(kGdt + kCodeLD, kCodeLDDesc);
        memory.put<uint64_t>(kGdt + kCodeAbsent, kCode64AbsentDesc);
        memory.put<uint64_t>(kGdt + kCode32Absent, kCode32AbsentDesc);
        for (unsigned v = 0; v < 256; v++)
            gate(v, gate_attr(0xe));
    }

    uint16_t own_code() const { return long_mode ? kCode : kCode32; }

    // The gate for `vec`: the handler's code segment and the type/attribute byte.
    void gate(unsigned vec, uint8_t attr, std::optional<uint16_t> selector = std::nullopt)
    {
        uint16_t sel = selector.value_or(own_code());
        unsigned size = long_mode ? 16 : 8;
        uint64_t at = kIdt + vec * size;
        std::memset(memory.bytes.data() + at, 0, size);
        memory.put<uint16_t>(at, 0x5678);   // offset 15:0
        memory.put<uint16_t>(at + 2, sel);
        memory.put<uint8_t>(at + 5, attr);
        memory.put<uint16_t>(at + 6, 0x1234);  // offset 31:16
    }

    void at_cpl3()
    {
        cpu.sregs.cs.selector = static_cast<uint16_t>(kCodeDpl3 | 3);
        cpu.sregs.ss.selector = 0x23;
    }

    Outcome run(const std::string& hex)
    {
        Instruction insn = decode_hex(hex, code_size(cpu));
        const Completer* c = completer_for(insn);
        REQUIRE(c);
        CompletionContext ctx{cpu, memory, {}};
        return c->complete(ctx, insn);
    }
};

std::string describe(const Outcome& out)
{
    if (const auto* ex = std::get_if<RaiseException>(&out))
        return "exception " + std::to_string(ex->vector) + " error " +
               (ex->error_code ? std::to_string(*ex->error_code) : std::string("none"));
    if (const auto* ne = std::get_if<NotExact>(&out))
        return "not exact: " + ne->why;
    if (const auto* si = std::get_if<SoftwareInterrupt>(&out))
        return "software interrupt " + std::to_string(si->vector);
    return "retired";
}

void check_interrupt(const Outcome& out, uint8_t vec)
{
    INFO("outcome: " << describe(out));
    const auto* si = std::get_if<SoftwareInterrupt>(&out);
    REQUIRE(si);
    CHECK(si->vector == vec);
}

void check_exception(const Outcome& out, uint8_t vec, std::optional<uint32_t> error)
{
    INFO("outcome: " << describe(out));
    const auto* ex = std::get_if<RaiseException>(&out);
    REQUIRE(ex);
    CHECK(int{ex->vector} == int{vec});
    CHECK(ex->error_code == error);
}

void check_not_exact(const Outcome& out)
{
    REQUIRE(std::holds_alternative<NotExact>(out));
    CHECK_FALSE(std::get<NotExact>(out).why.empty());
}

// A guest that records how each read was made.
class RecordingGuest : public FlatGuest {
public:
    std::vector<std::pair<uint64_t, AccessMode>> reads;
    Access read(uint64_t linear, std::span<uint8_t> out, AccessMode mode) override
    {
        reads.emplace_back(linear, mode);
        return FlatGuest::read(linear, out, mode);
    }
};

}  // namespace

TEST_CASE("software interrupts through a valid gate", "[completion]")
{
    for (bool long_mode : {true, false}) {
        INFO((long_mode ? "long mode" : "32-bit protected mode"));
        Guest g(long_mode);
        check_interrupt(g.run("cd80"), 0x80);
        CHECK(g.cpu.regs.rip == 0x1002);
        check_interrupt(g.run("cc"), vector::kBP);
        CHECK(g.cpu.regs.rip == 0x1003);
        check_interrupt(g.run("cd03"), vector::kBP);
        CHECK(g.cpu.regs.rip == 0x1005);
        g.gate(0x21, gate_attr(0xf));  // a trap gate
        check_interrupt(g.run("cd21"), 0x21);
        CHECK(g.cpu.regs.rip == 0x1007);
        check_interrupt(g.run("cdff"), 0xff);  // the last vector
        CHECK(g.cpu.regs.rip == 0x1009);
        CHECK(g.memory.writes == 0);
    }
}

TEST_CASE("software interrupts: 32-bit gates of every valid type", "[completion]")
{
    Guest g(false);
    for (unsigned type : {0x6u, 0x7u, 0xeu, 0xfu}) {
        INFO("gate type " << type);
        g.cpu.regs.rip = 0x1000;
        g.gate(0x40, gate_attr(type));
        check_interrupt(g.run("cd40"), 0x40);
        CHECK(g.cpu.regs.rip == 0x1002);
    }
    // A task gate passes the gate checks and is refused as not modelled.
    g.cpu.regs.rip = 0x1000;
    g.gate(0x40, gate_attr(0x5), 0x48);
    check_not_exact(g.run("cd40"));
    CHECK(g.cpu.regs.rip == 0x1000);
}

TEST_CASE("software interrupts: the IDT limit", "[completion]")
{
    for (bool long_mode : {true, false}) {
        INFO((long_mode ? "long mode" : "32-bit protected mode"));
        Guest g(long_mode);
        unsigned size = long_mode ? 16 : 8;
        g.cpu.sregs.idt.limit = static_cast<uint16_t>(0x80 * size + size - 2);  // one byte short
        check_exception(g.run("cd80"), vector::kGP, 0x80 * 8 + 2);
        CHECK(g.cpu.regs.rip == 0x1000);
        g.cpu.sregs.idt.limit = static_cast<uint16_t>(0x80 * size + size - 1);
        check_interrupt(g.run("cd80"), 0x80);
        CHECK(g.cpu.regs.rip == 0x1002);
        g.cpu.regs.rip = 0x1000;
        g.cpu.sregs.idt.limit = 0;
        check_exception(g.run("cc"), vector::kGP, 3 * 8 + 2);
        CHECK(g.cpu.regs.rip == 0x1000);
    }
}

TEST_CASE("software interrupts: gate types that are not interrupt or trap gates", "[completion]")
{
    SECTION("long mode: only 64-bit interrupt and trap gates")
    {
        Guest g(true);
        for (unsigned type : {0x0u, 0x1u, 0x2u, 0x4u, 0x5u, 0x6u, 0x7u, 0x9u, 0xcu, 0xdu}) {
            INFO("gate type " << type);
            g.gate(0x80, gate_attr(type));
            check_exception(g.run("cd80"), vector::kGP, 0x402);
            CHECK(g.cpu.regs.rip == 0x1000);
        }
        g.gate(0x80, gate_attr(0x1e));  // S = 1: a code/data descriptor, not a gate
        check_exception(g.run("cd80"), vector::kGP, 0x402);
    }
    SECTION("32-bit protected mode")
    {
        Guest g(false);
        for (unsigned type : {0x0u, 0x1u, 0x2u, 0x3u, 0x4u, 0x9u, 0xcu, 0x1eu}) {
            INFO("gate type " << type);
            g.gate(0x80, gate_attr(type));
            check_exception(g.run("cd80"), vector::kGP, 0x402);
            CHECK(g.cpu.regs.rip == 0x1000);
        }
    }
}

TEST_CASE("software interrupts: the gate's DPL against the CPL, and not-present gates", "[completion]")
{
    for (bool long_mode : {true, false}) {
        INFO((long_mode ? "long mode" : "32-bit protected mode"));
        Guest g(long_mode);
        g.at_cpl3();
        g.gate(0x80, gate_attr(0xe, 0));
        check_exception(g.run("cd80"), vector::kGP, 0x402);
        g.gate(0x80, gate_attr(0xe, 2));
        check_exception(g.run("cd80"), vector::kGP, 0x402);
        g.gate(3, gate_attr(0xe, 0));
        check_exception(g.run("cc"), vector::kGP, 3 * 8 + 2);
        CHECK(g.cpu.regs.rip == 0x1000);
        // The DPL check comes before the present check.
        g.gate(0x80, gate_attr(0xe, 0, false));
        check_exception(g.run("cd80"), vector::kGP, 0x402);
        g.gate(0x80, gate_attr(0xe, 3, false));
        check_exception(g.run("cd80"), vector::kNP, 0x402);
        CHECK(g.cpu.regs.rip == 0x1000);
        g.gate(0x80, gate_attr(0xe, 3));
        check_interrupt(g.run("cd80"), 0x80);
        CHECK(g.cpu.regs.rip == 0x1002);

        Guest k(long_mode);  // CPL0: any DPL passes
        k.gate(0x80, gate_attr(0xe, 0, false));
        check_exception(k.run("cd80"), vector::kNP, 0x402);
        CHECK(k.cpu.regs.rip == 0x1000);
    }
}

TEST_CASE("software interrupts: the gate's code-segment selector", "[completion]")
{
    for (bool long_mode : {true, false}) {
        INFO((long_mode ? "long mode" : "32-bit protected mode"));
        Guest g(long_mode);
        auto refused = [&](uint16_t selector, uint8_t vec, std::optional<uint32_t> error) {
            INFO("selector " << selector);
            g.cpu.regs.rip = 0x1000;
            g.gate(0x80, gate_attr(0xe), selector);
            check_exception(g.run("cd80"), vec, error);
            CHECK(g.cpu.regs.rip == 0x1000);
        };
        refused(0, vector::kGP, 0);
        refused(3, vector::kGP, 0);      // a null selector with RPL 3
        refused(0x40, vector::kGP, 0x40);  // past the GDT's limit (0x3f)
        refused(0x43, vector::kGP, 0x40);  // RPL dropped from the error code
        refused(kData, vector::kGP, kData);
        refused(kCodeDpl3, vector::kGP, kCodeDpl3);  // DPL 3 > CPL 0
        refused(kCodeDpl3 | 3, vector::kGP, kCodeDpl3);
        if (long_mode) {
            refused(kCode32, vector::kGP, kCode32);  // not a 64-bit code segment
            refused(kCodeLD, vector::kGP, kCodeLD);  // L = 1 and D = 1
            refused(kCodeAbsent, vector::kNP, kCodeAbsent);
        } else {
            refused(kCode32Absent, vector::kNP, kCode32Absent);
            refused(kCode32Absent | 1, vector::kNP, kCode32Absent);
        }
        // The last descriptor that fits in the GDT's limit.
        g.cpu.sregs.gdt.limit = kCodeAbsent + 7 + (long_mode ? 0 : 8);
        g.cpu.regs.rip = 0x1000;
        g.gate(0x80, gate_attr(0xe), static_cast<uint16_t>(long_mode ? kCodeAbsent : kCode32Absent));
        check_exception(g.run("cd80"), vector::kNP, long_mode ? kCodeAbsent : kCode32Absent);
        g.cpu.sregs.gdt.limit = static_cast<uint16_t>((long_mode ? kCodeAbsent : kCode32Absent) + 6);
        check_exception(g.run("cd80"), vector::kGP, long_mode ? kCodeAbsent : kCode32Absent);

        // A code segment of DPL <= CPL: a DPL0 segment entered from CPL3.
        Guest user(long_mode);
        user.at_cpl3();
        user.gate(0x80, gate_attr(0xe, 3), user.own_code());
        check_interrupt(user.run("cd80"), 0x80);
        CHECK(user.cpu.regs.rip == 0x1002);
    }
}

TEST_CASE("software interrupts: a selector in the LDT", "[completion]")
{
    Guest g(true);
    g.memory.put<uint64_t>(kLdt + 8, kCode64Desc);
    g.cpu.sregs.ldt.base = kLdt;
    g.cpu.sregs.ldt.limit = 0xf;
    g.cpu.sregs.ldt.present = 1;
    g.gate(0x80, gate_attr(0xe), 0x0c);  // index 1, TI = 1
    check_interrupt(g.run("cd80"), 0x80);
    CHECK(g.cpu.regs.rip == 0x1002);
    g.cpu.regs.rip = 0x1000;
    g.gate(0x80, gate_attr(0xe), 0x14);  // index 2: past the LDT's limit
    check_exception(g.run("cd80"), vector::kGP, 0x14);
    g.gate(0x80, gate_attr(0xe), 0x0c);
    g.cpu.sregs.ldt.unusable = 1;
    check_exception(g.run("cd80"), vector::kGP, 0x0c);
    CHECK(g.cpu.regs.rip == 0x1000);
}

TEST_CASE("software interrupts: an LDT whose limit is above 64 KiB", "[completion]")
{
    // The LDT register's limit is 32 bits (a byte-granular descriptor limit goes up to
    // 0xfffff); every selector (offset <= 0xfff8) is within a limit of 0x1000f.
    Guest g(true);
    g.memory.put<uint64_t>(kLdt + 0x10, kCode64Desc);
    g.cpu.sregs.ldt.base = kLdt;
    g.cpu.sregs.ldt.limit = 0x1000f;
    g.cpu.sregs.ldt.present = 1;
    g.gate(0x80, gate_attr(0xe), 0x14);  // index 2, TI = 1
    check_interrupt(g.run("cd80"), 0x80);
    CHECK(g.cpu.regs.rip == 0x1002);
}

TEST_CASE("software interrupts: the IDT and GDT reads are implicit supervisor accesses", "[completion]")
{
    Guest g(true);
    RecordingGuest memory;
    g.at_cpl3();
    g.gate(0x80, gate_attr(0xe, 3));
    memory.bytes = g.memory.bytes;
    CompletionContext ctx{g.cpu, memory, {}};
    Instruction insn = decode_hex("cd80");
    check_interrupt(completer_for(insn)->complete(ctx, insn), 0x80);
    REQUIRE(memory.reads.size() == 2);
    CHECK(memory.reads[0].first == kIdt + 0x80 * 16);
    CHECK(memory.reads[0].second == AccessMode::ImplicitSupervisor);
    CHECK(memory.reads[1].first == kGdt + kCode);
    CHECK(memory.reads[1].second == AccessMode::ImplicitSupervisor);
}

TEST_CASE("software interrupts: a page fault on the IDT or GDT read", "[completion]")
{
    Guest g(true);
    g.memory.faulting_pages.insert(kIdt / 4096);
    Outcome idt = g.run("cd80");
    const auto* ex = std::get_if<RaiseException>(&idt);
    REQUIRE(ex);
    CHECK(int{ex->vector} == vector::kPF);
    CHECK(ex->cr2 == kIdt + 0x80 * 16);
    CHECK(g.cpu.regs.rip == 0x1000);

    Guest d(true);
    d.memory.faulting_pages.insert(kGdt / 4096);
    Outcome out = d.run("cd80");
    const auto* gdt = std::get_if<RaiseException>(&out);
    REQUIRE(gdt);
    CHECK(int{gdt->vector} == vector::kPF);
    CHECK(gdt->cr2 == kGdt + kCode);
    CHECK(d.cpu.regs.rip == 0x1000);

    Guest n(true);
    n.cpu.sregs.idt.base = (1 << 20) - 0x100;  // the gate is past the FlatGuest's RAM
    check_not_exact(n.run("cd80"));
    CHECK(n.cpu.regs.rip == 0x1000);
}

TEST_CASE("into: retires without OF, interrupts with it, #UD in 64-bit mode", "[completion]")
{
    Guest g(false);
    Outcome clear = g.run("ce");
    CHECK(std::holds_alternative<Retired>(clear));
    CHECK(g.cpu.regs.rip == 0x1001);
    g.cpu.regs.rflags |= rflags::kOF;
    check_interrupt(g.run("ce"), vector::kOF);
    CHECK(g.cpu.regs.rip == 0x1002);
    // The gate checks apply to into as to int n.
    g.at_cpl3();
    g.gate(vector::kOF, gate_attr(0xe, 0));
    check_exception(g.run("ce"), vector::kGP, vector::kOF * 8 + 2);
    CHECK(g.cpu.regs.rip == 0x1002);

    Guest l(true);
    l.cpu.regs.rflags |= rflags::kOF;
    check_exception(l.run("ce"), vector::kUD, std::nullopt);
    CHECK(l.cpu.regs.rip == 0x1000);
}

TEST_CASE("into in compatibility mode: IA-32e gates of 16 bytes and a 64-bit target", "[completion]")
{
    Guest g(true);
    g.cpu.sregs.cs.l = 0;
    g.cpu.sregs.cs.db = 1;
    REQUIRE(code_size(g.cpu) == CodeSize::Bits32);
    g.cpu.regs.rflags |= rflags::kOF;
    check_interrupt(g.run("ce"), vector::kOF);
    CHECK(g.cpu.regs.rip == 0x1001);
    g.gate(vector::kOF, gate_attr(0xe), kCode32);
    check_exception(g.run("ce"), vector::kGP, kCode32);
    CHECK(g.cpu.regs.rip == 0x1001);
    g.cpu.sregs.idt.limit = vector::kOF * 16 + 14;
    check_exception(g.run("ce"), vector::kGP, vector::kOF * 8 + 2);
}

TEST_CASE("software interrupts in real mode and virtual-8086 mode", "[completion]")
{
    CpuState cpu;
    cpu.regs.rip = 0xfffe;  // the pushed IP wraps at 64 KiB
    cpu.regs.rflags = 0x2;
    cpu.sregs.idt = {0, 0x3ff, {}};
    FlatGuest memory;
    Instruction insn = decode_hex("cd10", CodeSize::Bits16);
    CompletionContext ctx{cpu, memory, {}};
    check_interrupt(completer_for(insn)->complete(ctx, insn), 0x10);
    CHECK(cpu.regs.rip == 0x0000);
    CHECK(memory.writes == 0);

    Instruction int3 = decode_hex("cc", CodeSize::Bits16);
    cpu.regs.rip = 0x100;
    check_interrupt(completer_for(int3)->complete(ctx, int3), vector::kBP);
    CHECK(cpu.regs.rip == 0x101);

    CpuState vm86;
    vm86.sregs.cr0 = cr0::kPE;
    vm86.regs.rflags = 0x2 | rflags::kVM;
    vm86.regs.rip = 0x100;
    CompletionContext vctx{vm86, memory, {}};
    check_not_exact(completer_for(insn)->complete(vctx, insn));
    CHECK(vm86.regs.rip == 0x100);
}

TEST_CASE("undefined encodings raise #UD with RIP unchanged", "[completion]")
{
    CpuState cpu = kernel64({"movbe"});
    FlatGuest memory;
    for (const char* hex : {"0f38f0c0", "0f38f1c8", "ce"}) {
        INFO(hex);
        check_exception(complete_hex(cpu, memory, hex), vector::kUD, std::nullopt);
        CHECK(cpu.regs.rip == 0x1000);
    }
}
