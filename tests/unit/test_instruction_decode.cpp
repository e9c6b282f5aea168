// decode_instruction, the register accessors and linear_address (vmm/completion/instruction.cpp),
// checked against the SDM: lengths, operands and prefixes in each code size, the encodings
// recognised by their bytes, every general-purpose register at every width, and the
// effective-address, segment and canonical rules of SDM vol.1 3.7 / vol.3 5.3.
#include <catch2/catch.hpp>

#include "tests/support/completion_fixture.hpp"

using namespace cr3rig;
using namespace cr3rig::test;

namespace {

std::optional<Instruction> try_decode(const std::string& hex, CodeSize mode)
{
    std::vector<uint8_t> code;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        code.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return decode_instruction(code, mode);
}

const MemoryOperand& memory_operand(const Instruction& insn)
{
    for (const auto& op : insn.operands)
        if (op.kind == Operand::Kind::Memory)
            return op.mem;
    FAIL("no memory operand in " << insn.mnemonic);
    throw std::logic_error("unreachable");
}

// 32-bit protected mode, flat 4 GiB segments, CPL0.
CpuState protected32()
{
    CpuState cpu;
    cpu.sregs.cr0 = cr0::kPE;
    cpu.sregs.cs.selector = 0x8;
    cpu.sregs.cs.db = 1;
    cpu.sregs.cs.present = 1;
    for (kvm_segment* s : {&cpu.sregs.ds, &cpu.sregs.es, &cpu.sregs.ss, &cpu.sregs.fs, &cpu.sregs.gs}) {
        s->limit = 0xffffffff;
        s->type = 0x3;  // read/write data, accessed, expand-up
        s->present = 1;
        s->s = 1;
        s->db = 1;
    }
    cpu.regs.rflags = 0x2;
    return cpu;
}

// Real mode: 64 KiB segments.
CpuState real_mode()
{
    CpuState cpu;
    for (kvm_segment* s : {&cpu.sregs.cs, &cpu.sregs.ds, &cpu.sregs.es, &cpu.sregs.ss, &cpu.sregs.fs, &cpu.sregs.gs}) {
        s->limit = 0xffff;
        s->type = 0x3;
        s->present = 1;
        s->s = 1;
    }
    cpu.regs.rflags = 0x2;
    return cpu;
}

LinearAddress address_of(const CpuState& cpu, const std::string& hex, CodeSize mode, unsigned size)
{
    Instruction insn = decode_hex(hex, mode);
    return linear_address(cpu, insn, memory_operand(insn), size);
}

}  // namespace

TEST_CASE("decode: 64-bit lengths, operands, REX.W, LOCK and the address size", "[completion]")
{
    Instruction mov = decode_hex("488b448b10");  // mov rax, [rbx + rcx*4 + 0x10]
    CHECK(mov.id == X86_INS_MOV);
    CHECK(mov.length() == 5);
    CHECK(mov.mode == CodeSize::Bits64);
    CHECK(mov.rex_w);
    CHECK_FALSE(mov.lock);
    CHECK(mov.address_size == 8);
    REQUIRE(mov.operands.size() == 2);
    CHECK(mov.operands[0].kind == Operand::Kind::Register);
    CHECK(mov.operands[0].reg == X86_REG_RAX);
    CHECK(mov.operands[0].size == 8);
    CHECK(mov.operands[1].kind == Operand::Kind::Memory);
    CHECK(mov.operands[1].size == 8);
    CHECK(mov.operands[1].mem.base == X86_REG_RBX);
    CHECK(mov.operands[1].mem.index == X86_REG_RCX);
    CHECK(mov.operands[1].mem.scale == 4);
    CHECK(mov.operands[1].mem.disp == 0x10);
    CHECK(mov.operands[1].mem.segment == X86_REG_INVALID);

    Instruction no_rex = decode_hex("8b03");  // mov eax, [rbx]
    CHECK_FALSE(no_rex.rex_w);
    CHECK(no_rex.operands[0].size == 4);
    CHECK(no_rex.length() == 2);

    Instruction rex_b = decode_hex("418b00");  // mov eax, [r8]: REX without W
    CHECK_FALSE(rex_b.rex_w);
    CHECK(memory_operand(rex_b).base == X86_REG_R8);

    Instruction locked = decode_hex("f0480fc70e");  // lock cmpxchg16b [rsi]
    CHECK(locked.id == X86_INS_CMPXCHG16B);
    CHECK(locked.length() == 5);
    CHECK(locked.lock);
    CHECK(locked.rex_w);
    REQUIRE(locked.operands.size() == 1);
    CHECK(locked.operands[0].size == 16);
    CHECK(locked.operands[0].mem.base == X86_REG_RSI);

    Instruction short_address = decode_hex("678b03");  // mov eax, [ebx]
    CHECK(short_address.address_size == 4);
    CHECK(short_address.length() == 3);
    CHECK(memory_operand(short_address).base == X86_REG_EBX);

    Instruction rip_relative = decode_hex("8b0510000000");  // mov eax, [rip + 0x10]
    CHECK(rip_relative.length() == 6);
    CHECK(memory_operand(rip_relative).base == X86_REG_RIP);
    CHECK(memory_operand(rip_relative).disp == 0x10);

    Instruction fs = decode_hex("648b03");  // mov eax, fs:[rbx]
    CHECK(memory_operand(fs).segment == X86_REG_FS);

    Instruction int_n = decode_hex("cd80");
    CHECK(int_n.id == X86_INS_INT);
    CHECK(int_n.length() == 2);
    REQUIRE(int_n.operands.size() == 1);
    CHECK(int_n.operands[0].kind == Operand::Kind::Immediate);
    CHECK(int_n.operands[0].imm == 0x80);

    Instruction int3 = decode_hex("cc");
    CHECK(int3.id == X86_INS_INT3);
    CHECK(int3.length() == 1);
    CHECK(int3.operands.empty());

    // Only the first instruction is decoded, and its bytes are exactly its own.
    Instruction first = decode_hex("90cc");
    CHECK(first.id == X86_INS_NOP);
    CHECK(first.bytes == std::vector<uint8_t>{0x90});
}

TEST_CASE("decode: 32-bit and 16-bit code sizes", "[completion]")
{
    Instruction esp = decode_hex("8b442404", CodeSize::Bits32);  // mov eax, [esp + 4]
    CHECK(esp.mode == CodeSize::Bits32);
    CHECK(esp.length() == 4);
    CHECK(esp.address_size == 4);
    CHECK(memory_operand(esp).base == X86_REG_ESP);
    CHECK(memory_operand(esp).disp == 4);

    // 0x48 is `dec eax` outside 64-bit mode, not a REX prefix.
    Instruction dec = decode_hex("48", CodeSize::Bits32);
    CHECK(dec.id == X86_INS_DEC);
    CHECK_FALSE(dec.rex_w);

    Instruction bx16 = decode_hex("678b07", CodeSize::Bits32);  // mov eax, [bx]
    CHECK(bx16.address_size == 2);
    CHECK(memory_operand(bx16).base == X86_REG_BX);

    Instruction ax = decode_hex("8b07", CodeSize::Bits16);  // mov ax, [bx]
    CHECK(ax.mode == CodeSize::Bits16);
    CHECK(ax.address_size == 2);
    CHECK(ax.operands[0].reg == X86_REG_AX);
    CHECK(ax.operands[0].size == 2);
    Instruction eax = decode_hex("668b07", CodeSize::Bits16);  // mov eax, [bx]
    CHECK(eax.operands[0].size == 4);
    CHECK(eax.address_size == 2);
    Instruction ebx = decode_hex("67668b03", CodeSize::Bits16);  // mov eax, [ebx]
    CHECK(ebx.address_size == 4);
    CHECK(memory_operand(ebx).base == X86_REG_EBX);
    CHECK(ebx.length() == 4);
}

TEST_CASE("decode: the encodings recognised by their bytes", "[completion]")
{
    for (CodeSize mode : {CodeSize::Bits64, CodeSize::Bits32, CodeSize::Bits16}) {
        INFO("code size " << static_cast<int>(mode));
        Instruction rdpru = decode_hex("0f01fd", mode);
        CHECK(rdpru.id == kInsRdpru);
        CHECK(rdpru.length() == 3);
        CHECK(rdpru.mode == mode);
    }
    // movbe with a register operand (mod = 3): #UD, in either direction, prefixes counted.
    Instruction movbe_load = decode_hex("0f38f0c0");
    CHECK(movbe_load.id == kInsUndefined);
    CHECK(movbe_load.length() == 4);
    Instruction movbe_store = decode_hex("480f38f1c8");
    CHECK(movbe_store.id == kInsUndefined);
    CHECK(movbe_store.length() == 5);
    Instruction movbe_16 = decode_hex("660f38f1c8", CodeSize::Bits32);
    CHECK(movbe_16.id == kInsUndefined);
    CHECK(movbe_16.length() == 5);
    // Its memory form is movbe.
    Instruction movbe_memory = decode_hex("0f38f003");
    CHECK(movbe_memory.id == X86_INS_MOVBE);
    CHECK(memory_operand(movbe_memory).base == X86_REG_RBX);

    // into: invalid in 64-bit mode, `into` in 32-bit mode.
    Instruction into64 = decode_hex("ce");
    CHECK(into64.id == kInsUndefined);
    CHECK(into64.length() == 1);
    Instruction into32 = decode_hex("ce", CodeSize::Bits32);
    CHECK(into32.id == X86_INS_INTO);
    CHECK(into32.length() == 1);

    // Bytes neither Capstone nor the patterns know.
    CHECK_FALSE(try_decode("0f04", CodeSize::Bits64));
    CHECK_FALSE(try_decode("", CodeSize::Bits64));
}

TEST_CASE("decode: crc32 (F2 0F 38 F0/F1) with a register operand is crc32, not movbe", "[completion]")
{
    // SDM vol.2 CRC32: F2 0F 38 F0 /r and F2 0F 38 F1 /r are CRC32, whose register
    // form is valid; only the unprefixed (or 66-prefixed) 0F 38 F0/F1 is MOVBE.
    Instruction crc8 = decode_hex("f20f38f0c1");  // crc32 eax, cl
    CHECK(crc8.id == X86_INS_CRC32);
    CHECK(crc8.length() == 5);
    Instruction crc32 = decode_hex("f20f38f1c1", CodeSize::Bits32);  // crc32 eax, ecx
    CHECK(crc32.id == X86_INS_CRC32);
    CHECK(completer_for(crc32) == nullptr);  // not something to raise #UD for
}

TEST_CASE("decode: a LOCK prefix on a byte-recognised encoding is reported", "[completion]")
{
    // rdpru with LOCK raises #UD (AMD APM vol.3 RDPRU); its completer can only
    // know from insn.lock.
    auto locked = try_decode("f00f01fd", CodeSize::Bits64);
    REQUIRE(locked);
    CHECK(locked->id == kInsRdpru);
    CHECK(locked->length() == 4);
    CHECK(locked->lock);
}

TEST_CASE("decode: LOCK is seen whatever other group-1 prefix follows it", "[completion]")
{
    // Prefixes of one group may come in any order (SDM vol.2 2.1.1); LOCK followed by
    // F3 or F2 (a mandatory prefix, or XACQUIRE/XRELEASE) is still LOCK. A locked
    // popcnt raises #UD; its completer can only know from insn.lock.
    Instruction popcnt = decode_hex("f0f30fb8c1");  // lock popcnt eax, ecx
    CHECK(popcnt.id == X86_INS_POPCNT);
    CHECK(popcnt.lock);
    Instruction xacquire = decode_hex("f0f2480fc70e");  // lock xacquire cmpxchg16b [rsi]
    CHECK(xacquire.id == X86_INS_CMPXCHG16B);
    CHECK(xacquire.lock);
    Instruction xrelease = decode_hex("f2f0480fc70e");  // the other order
    CHECK(xrelease.lock);
    CHECK_FALSE(decode_hex("f30fb8c1").lock);
}

TEST_CASE("decode: a byte-recognised encoding longer than 15 bytes is not an instruction", "[completion]")
{
    // SDM vol.2 2.3.11: an instruction longer than 15 bytes raises #GP(0); 13 prefixes
    // and rdpru's 3 bytes make 16.
    auto too_long = try_decode(std::string(13 * 2, '6') + "0f01fd", CodeSize::Bits64);  // 13 x 66h
    INFO("decoded length " << (too_long ? too_long->length() : 0));
    CHECK((!too_long || too_long->length() <= 15));
    auto fifteen = try_decode(std::string(12 * 2, '6') + "0f01fd", CodeSize::Bits64);
    REQUIRE(fifteen);
    CHECK(fifteen->id == kInsRdpru);
    CHECK(fifteen->length() == 15);
}

TEST_CASE("registers: every general-purpose register at every width", "[completion]")
{
    struct Case {
        x86_reg reg;
        unsigned field, width, shift;
    };
    std::vector<Case> cases;
    const x86_reg legacy[8][5] = {
        {X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH},
        {X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH},
        {X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH},
        {X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH},
        {X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, X86_REG_INVALID},
        {X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_REG_INVALID},
        {X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, X86_REG_INVALID},
        {X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, X86_REG_INVALID},
    };
    for (unsigned f = 0; f < 8; f++) {  // kvm_regs: rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp
        cases.push_back({legacy[f][0], f, 8, 0});
        cases.push_back({legacy[f][1], f, 4, 0});
        cases.push_back({legacy[f][2], f, 2, 0});
        cases.push_back({legacy[f][3], f, 1, 0});
        if (legacy[f][4] != X86_REG_INVALID)
            cases.push_back({legacy[f][4], f, 1, 8});
    }
    const x86_reg numbered[8][4] = {
        {X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B},     {X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B},
        {X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B}, {X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B},
        {X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B}, {X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B},
        {X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B}, {X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B},
    };
    for (unsigned i = 0; i < 8; i++) {
        cases.push_back({numbered[i][0], 8 + i, 8, 0});
        cases.push_back({numbered[i][1], 8 + i, 4, 0});
        cases.push_back({numbered[i][2], 8 + i, 2, 0});
        cases.push_back({numbered[i][3], 8 + i, 1, 0});
    }
    REQUIRE(cases.size() == 16 * 4 + 4);

    auto filled = [] {
        kvm_regs regs{};
        __u64* f = &regs.rax;
        for (unsigned i = 0; i < 16; i++)
            f[i] = 0x0102030405060708ull * (i + 1) ^ 0xa5a5a5a5a5a5a5a5ull;
        regs.rip = 0x1234;
        regs.rflags = 0x202;
        return regs;
    };
    for (const Case& c : cases) {
        INFO("register " << c.reg << " (field " << c.field << ", " << c.width << " bytes, shift " << c.shift << ")");
        const uint64_t mask = c.width == 8 ? ~0ull : ((1ull << (8 * c.width)) - 1);
        kvm_regs regs = filled();
        const kvm_regs before = regs;
        const __u64 original = (&before.rax)[c.field];

        uint64_t value = 0xdead;
        REQUIRE(read_register(regs, c.reg, value));
        CHECK(value == ((original >> c.shift) & mask));

        const uint64_t written = 0xfedcba9876543210ull;
        REQUIRE(write_register(regs, c.reg, written));
        uint64_t expected;
        if (c.width == 8)
            expected = written;
        else if (c.width == 4)
            expected = written & 0xffffffffull;  // zero-extended into the whole register
        else
            expected = (original & ~(mask << c.shift)) | ((written & mask) << c.shift);
        CHECK((&regs.rax)[c.field] == expected);
        for (unsigned other = 0; other < 16; other++)
            if (other != c.field)
                CHECK((&regs.rax)[other] == (&before.rax)[other]);
        CHECK(regs.rip == before.rip);
        CHECK(regs.rflags == before.rflags);

        REQUIRE(read_register(regs, c.reg, value));
        CHECK(value == (written & mask));
    }

    kvm_regs regs{};
    uint64_t value = 0;
    for (x86_reg not_gpr : {X86_REG_RIP, X86_REG_EIP, X86_REG_CS, X86_REG_XMM0, X86_REG_CR0, X86_REG_INVALID}) {
        INFO("register " << not_gpr);
        CHECK_FALSE(read_register(regs, not_gpr, value));
        CHECK_FALSE(write_register(regs, not_gpr, 1));
    }
}

TEST_CASE("linear_address: 64-bit effective addresses", "[completion]")
{
    CpuState cpu = kernel64();
    cpu.regs.rbx = 0x10000;
    cpu.regs.rcx = 0x20;
    SECTION("base + index * scale + displacement")
    {
        LinearAddress a = address_of(cpu, "488b448b10", CodeSize::Bits64, 8);
        REQUIRE(a.address);
        CHECK(*a.address == 0x10000 + 0x20 * 4 + 0x10);
        CHECK(a.modelled);
    }
    SECTION("a negative displacement")
    {
        LinearAddress a = address_of(cpu, "8b43f0", CodeSize::Bits64, 4);  // [rbx - 0x10]
        REQUIRE(a.address);
        CHECK(*a.address == 0x10000 - 0x10);
    }
    SECTION("RIP-relative: from the next instruction's RIP")
    {
        cpu.regs.rip = 0x401000;
        LinearAddress a = address_of(cpu, "8b0510000000", CodeSize::Bits64, 4);
        REQUIRE(a.address);
        CHECK(*a.address == 0x401000 + 6 + 0x10);
        LinearAddress back = address_of(cpu, "8b05f0ffffff", CodeSize::Bits64, 4);  // [rip - 0x10]
        REQUIRE(back.address);
        CHECK(*back.address == 0x401000 + 6 - 0x10);
    }
    SECTION("0x67: the effective address is truncated to 32 bits")
    {
        cpu.regs.rbx = 0x100000010ull;
        LinearAddress a = address_of(cpu, "678b03", CodeSize::Bits64, 4);  // [ebx]
        REQUIRE(a.address);
        CHECK(*a.address == 0x10);
        cpu.regs.rbx = 0xfffffff0;
        LinearAddress wrapped = address_of(cpu, "678b4320", CodeSize::Bits64, 4);  // [ebx + 0x20]
        REQUIRE(wrapped.address);
        CHECK(*wrapped.address == 0x10);
        cpu.regs.rip = 0xfffffff0;
        LinearAddress eip = address_of(cpu, "678b0520000000", CodeSize::Bits64, 4);  // [eip + 0x20]
        REQUIRE(eip.address);
        CHECK(*eip.address == ((0xfffffff0ull + 7 + 0x20) & 0xffffffff));
    }
    SECTION("only FS and GS have a base in 64-bit mode")
    {
        cpu.sregs.ds.base = 0x7000;
        cpu.sregs.es.base = 0x7000;
        cpu.sregs.ss.base = 0x7000;
        cpu.sregs.cs.base = 0x7000;
        cpu.sregs.fs.base = 0xffff800000000000ull;
        cpu.sregs.gs.base = 0x5000;
        CHECK(address_of(cpu, "8b03", CodeSize::Bits64, 4).address == 0x10000u);
        CHECK(address_of(cpu, "3e8b03", CodeSize::Bits64, 4).address == 0x10000u);
        CHECK(address_of(cpu, "268b03", CodeSize::Bits64, 4).address == 0x10000u);
        CHECK(address_of(cpu, "2e8b03", CodeSize::Bits64, 4).address == 0x10000u);
        CHECK(address_of(cpu, "368b03", CodeSize::Bits64, 4).address == 0x10000u);
        CHECK(address_of(cpu, "648b03", CodeSize::Bits64, 4).address == 0xffff800000010000ull);
        CHECK(address_of(cpu, "658b03", CodeSize::Bits64, 4).address == 0x15000u);
        // 0x67 truncates the offset, not the FS base.
        cpu.regs.rbx = 0x100000010ull;
        CHECK(address_of(cpu, "64678b03", CodeSize::Bits64, 4).address == 0xffff800000000010ull);
    }
    SECTION("a non-canonical address: #GP(0), or #SS(0) through RSP or RBP")
    {
        cpu.regs.rbx = 0x0000800000000000ull;
        LinearAddress gp = address_of(cpu, "8b03", CodeSize::Bits64, 4);
        CHECK_FALSE(gp.address);
        CHECK(gp.fault_vector == vector::kGP);
        cpu.regs.rsp = 0x0000800000000000ull;
        LinearAddress ss_rsp = address_of(cpu, "8b0424", CodeSize::Bits64, 4);  // [rsp]
        CHECK_FALSE(ss_rsp.address);
        CHECK(ss_rsp.fault_vector == vector::kSS);
        cpu.regs.rbp = 0xfff0000000000000ull;
        LinearAddress ss_rbp = address_of(cpu, "8b4500", CodeSize::Bits64, 4);  // [rbp]
        CHECK_FALSE(ss_rbp.address);
        CHECK(ss_rbp.fault_vector == vector::kSS);
        // An explicit DS override on RBP: a DS access, #GP.
        LinearAddress ds_rbp = address_of(cpu, "3e8b4500", CodeSize::Bits64, 4);
        CHECK_FALSE(ds_rbp.address);
        CHECK(ds_rbp.fault_vector == vector::kGP);
        // An SS override on RBX: #SS.
        LinearAddress ss_rbx = address_of(cpu, "368b03", CodeSize::Bits64, 4);
        CHECK_FALSE(ss_rbx.address);
        CHECK(ss_rbx.fault_vector == vector::kSS);
        // An FS base that makes the address non-canonical.
        cpu.regs.rbx = 0x10;
        cpu.sregs.fs.base = 0x00007ffffffffff8ull;
        LinearAddress fs = address_of(cpu, "648b03", CodeSize::Bits64, 4);
        CHECK_FALSE(fs.address);
        CHECK(fs.fault_vector == vector::kGP);
    }
    SECTION("the last byte of the access must be canonical too")
    {
        cpu.regs.rbx = 0x00007ffffffffff8ull;
        CHECK(address_of(cpu, "488b03", CodeSize::Bits64, 8).address == 0x00007ffffffffff8ull);
        cpu.regs.rbx = 0x00007ffffffffffcull;
        LinearAddress crossing = address_of(cpu, "488b03", CodeSize::Bits64, 8);
        CHECK_FALSE(crossing.address);
        CHECK(crossing.fault_vector == vector::kGP);
    }
    SECTION("canonical high addresses, and 57-bit addresses with CR4.LA57")
    {
        cpu.regs.rbx = 0xffff800000000000ull;
        CHECK(address_of(cpu, "8b03", CodeSize::Bits64, 4).address == 0xffff800000000000ull);
        cpu.regs.rbx = 0x00ff000000000000ull;
        CHECK_FALSE(address_of(cpu, "8b03", CodeSize::Bits64, 4).address);
        cpu.sregs.cr4 |= cr4::kLA57;
        CHECK(address_of(cpu, "8b03", CodeSize::Bits64, 4).address == 0x00ff000000000000ull);
        cpu.regs.rbx = 0x0100000000000000ull;
        LinearAddress beyond = address_of(cpu, "8b03", CodeSize::Bits64, 4);
        CHECK_FALSE(beyond.address);
        CHECK(beyond.fault_vector == vector::kGP);
        cpu.regs.rbx = 0xff00000000000000ull;
        CHECK(address_of(cpu, "8b03", CodeSize::Bits64, 4).address == 0xff00000000000000ull);
    }
}

TEST_CASE("linear_address: 32-bit segments, limits and expand-down", "[completion]")
{
    CpuState cpu = protected32();
    cpu.sregs.ds.base = 0x10000;
    cpu.sregs.ds.limit = 0xffff;
    SECTION("the base is added and the limit checked on the last byte")
    {
        cpu.regs.rbx = 0x100;
        CHECK(address_of(cpu, "8b03", CodeSize::Bits32, 4).address == 0x10100u);
        cpu.regs.rbx = 0xfffc;
        CHECK(address_of(cpu, "8b03", CodeSize::Bits32, 4).address == 0x1fffcu);
        cpu.regs.rbx = 0xfffd;
        LinearAddress past = address_of(cpu, "8b03", CodeSize::Bits32, 4);
        CHECK_FALSE(past.address);
        CHECK(past.fault_vector == vector::kGP);
        CHECK(past.modelled);
        cpu.regs.rbx = 0xffff;
        CHECK(address_of(cpu, "8a03", CodeSize::Bits32, 1).address == 0x1ffffu);  // mov al, [ebx]
    }
    SECTION("a stack access past SS's limit is #SS(0)")
    {
        cpu.sregs.ss.limit = 0xfff;
        cpu.regs.rsp = 0xffe;
        LinearAddress esp = address_of(cpu, "8b0424", CodeSize::Bits32, 4);  // [esp]
        CHECK_FALSE(esp.address);
        CHECK(esp.fault_vector == vector::kSS);
        cpu.regs.rbp = 0xffc;
        CHECK(address_of(cpu, "8b4500", CodeSize::Bits32, 4).address == 0xffcu);  // [ebp]
        cpu.regs.rbp = 0xffd;
        LinearAddress ebp = address_of(cpu, "8b4500", CodeSize::Bits32, 4);
        CHECK_FALSE(ebp.address);
        CHECK(ebp.fault_vector == vector::kSS);
    }
    SECTION("the sum wraps at 4 GiB")
    {
        cpu.sregs.ds.base = 0xfffff000;
        cpu.sregs.ds.limit = 0xffffffff;
        cpu.regs.rbx = 0x2000;
        CHECK(address_of(cpu, "8b03", CodeSize::Bits32, 4).address == 0x1000u);
    }
    SECTION("an override picks the segment")
    {
        cpu.sregs.es.base = 0x300000;
        cpu.sregs.fs.base = 0x400000;
        cpu.sregs.gs.base = 0x500000;
        cpu.regs.rbx = 0x10;
        CHECK(address_of(cpu, "268b03", CodeSize::Bits32, 4).address == 0x300010u);
        CHECK(address_of(cpu, "648b03", CodeSize::Bits32, 4).address == 0x400010u);
        CHECK(address_of(cpu, "658b03", CodeSize::Bits32, 4).address == 0x500010u);
    }
    SECTION("0x67: 16-bit addressing, BP-based addresses in SS")
    {
        cpu.sregs.ss.base = 0x20000;
        cpu.regs.rbx = 0x12345678;
        CHECK(address_of(cpu, "678b07", CodeSize::Bits32, 4).address == 0x10000u + 0x5678);  // [bx]
        cpu.regs.rbp = 0xabcd0010;
        CHECK(address_of(cpu, "678b4600", CodeSize::Bits32, 4).address == 0x20000u + 0x10);  // [bp]
    }
    SECTION("an unusable (null) segment is #GP(0)")
    {
        cpu.sregs.ds.unusable = 1;
        LinearAddress a = address_of(cpu, "8b03", CodeSize::Bits32, 4);
        CHECK_FALSE(a.address);
        CHECK(a.fault_vector == vector::kGP);
    }
    SECTION("an expand-down data segment is not modelled")
    {
        cpu.sregs.ds.type = 0x7;  // read/write, expand-down, accessed
        cpu.regs.rbx = 0x20000;
        LinearAddress a = address_of(cpu, "8b03", CodeSize::Bits32, 4);
        CHECK_FALSE(a.address);
        CHECK_FALSE(a.modelled);
    }
    SECTION("compatibility mode follows the 32-bit rules")
    {
        cpu.sregs.efer = efer::kLME | efer::kLMA;
        cpu.sregs.cr0 |= cr0::kPG;
        cpu.sregs.cr4 |= cr4::kPAE;
        REQUIRE(code_size(cpu) == CodeSize::Bits32);
        cpu.regs.rbx = 0x10000;  // past DS's limit
        LinearAddress a = address_of(cpu, "8b03", CodeSize::Bits32, 4);
        CHECK_FALSE(a.address);
        CHECK(a.fault_vector == vector::kGP);
    }
}

TEST_CASE("linear_address: real mode", "[completion]")
{
    CpuState cpu = real_mode();
    cpu.sregs.ds.base = 0x12340;
    cpu.sregs.ss.base = 0x20000;
    cpu.regs.rbx = 0xffff0100;  // only BX counts
    CHECK(address_of(cpu, "8b07", CodeSize::Bits16, 2).address == 0x12340u + 0x100);
    cpu.regs.rbx = 0xfffe;
    CHECK(address_of(cpu, "8b07", CodeSize::Bits16, 2).address == 0x12340u + 0xfffe);
    cpu.regs.rbx = 0xffff;  // a word at FFFF: past the limit
    LinearAddress past = address_of(cpu, "8b07", CodeSize::Bits16, 2);
    CHECK_FALSE(past.address);
    CHECK(past.fault_vector == vector::kGP);
    cpu.regs.rbp = 0xffff;
    LinearAddress stack = address_of(cpu, "8b4600", CodeSize::Bits16, 2);  // [bp]
    CHECK_FALSE(stack.address);
    CHECK(stack.fault_vector == vector::kSS);
    cpu.regs.rbp = 0x10;
    cpu.regs.rsi = 0x20;
    CHECK(address_of(cpu, "8b4204", CodeSize::Bits16, 2).address == 0x20000u + 0x34);  // [bp + si + 4]
}

TEST_CASE("code_size follows CR0.PE, RFLAGS.VM, CS.L and CS.D", "[completion]")
{
    CHECK(code_size(kernel64()) == CodeSize::Bits64);
    CHECK(code_size(protected32()) == CodeSize::Bits32);
    CHECK(code_size(real_mode()) == CodeSize::Bits16);
    CpuState vm86 = protected32();
    vm86.regs.rflags |= rflags::kVM;
    CHECK(code_size(vm86) == CodeSize::Bits16);
    CpuState pm16 = protected32();
    pm16.sregs.cs.db = 0;
    CHECK(code_size(pm16) == CodeSize::Bits16);
}
