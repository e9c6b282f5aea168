/*
 * cpl0-instructions: executes at CPL0 each instruction the nested backend of our CI
 * cannot emulate (docs: issue 16) and checks its architectural result: registers,
 * flags, memory, and the exception (vector, error code, pushed instruction pointer)
 * where the SDM says one is raised, #UD included where CPUID lacks the feature.
 * One source, three builds: the ELF64 guest cpl0-instructions (long mode, cr3rig's
 * entry), mb64-cpl0-instructions (long mode, the multiboot library's entry) and
 * mb-cpl0-instructions (32-bit protected mode, paging off: entry_flat32.S), where
 * `into` raises #OF and the register operands are 32-bit. The multiboot builds boot
 * under QEMU too (TCG: another implementation of every instruction checked here).
 * Each check prints PASS:/FAIL:/SKIP:; the exit status is report_summary()'s.
 */
#include "mb.h"

#include "cpl0_traps.h"

typedef uintptr_t reg_t; /* a general register: 64 or 32 bits */

enum { VEC_BP = 3, VEC_OF = 4, VEC_UD = 6, VEC_GP = 13, VEC_MF = 16 };

/* What the last exception or interrupt left (cpl0_traps.S writes them). */
volatile reg_t trap_vector, trap_error, trap_ip, trap_count, trap_resume;
/* The addresses of the instruction under test and of the next one (MARK and TRY). */
volatile reg_t try_at, try_next;
extern void (*const trap_stubs[33])(void);

#ifdef __x86_64__
#define STORE(value, var) "movq $" value ", " var "(%%rip)\n\t"
#else
#define STORE(value, var) "movl $" value ", " var "\n\t"
#endif
/* Asm text: `insn` between the labels 8 (its address, in try_at) and 9 (after it, in try_next). */
#define MARK(insn) STORE("8f", "try_at") STORE("9f", "try_next") "8:\t" insn "\n9:\n\t"
/* The same, and a fault in it resumes after it (label 9): the instruction is not run again. */
#define TRY(insn) STORE("9f", "trap_resume") MARK(insn) STORE("0", "trap_resume")

#define STR_(x) #x
#define STR(x) STR_(x)

#define RFLAGS_ARITH 0x8d5u /* CF PF AF ZF SF OF */
#define RFLAGS_ZF 0x40u
#define RFLAGS_AC 0x40000u
#define RFLAGS_FIXED 0x2u
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_OSXSAVE (1u << 18)
#define XCR0_X87 1u
#define XCR0_SSE 2u
#define XCR0_AVX 4u

/* ---- IDT ---- */

#ifdef __x86_64__
struct gate {
    uint16_t offset0, selector;
    uint8_t ist, type;
    uint16_t offset1;
    uint32_t offset2, reserved;
} __attribute__((packed));
#else
struct gate {
    uint16_t offset0, selector;
    uint8_t reserved, type;
    uint16_t offset1;
} __attribute__((packed));
#endif

static struct gate idt[256] __attribute__((aligned(16)));

static void set_gate(int vector, void (*handler)(void))
{
    uintptr_t a = (uintptr_t)handler;
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    struct gate g = {0};
    g.offset0 = (uint16_t)a;
    g.selector = cs;
    g.type = 0x8e; /* present, DPL 0, interrupt gate of the mode's width */
    g.offset1 = (uint16_t)(a >> 16);
#ifdef __x86_64__
    g.offset2 = (uint32_t)(a >> 32);
#endif
    idt[vector] = g;
}

static void load_idt(void)
{
    struct {
        uint16_t limit;
        uintptr_t base;
    } __attribute__((packed)) idtr = {sizeof idt - 1, (uintptr_t)idt};
    __asm__ volatile("lidt %0" ::"m"(idtr) : "memory");
}

/* ---- control registers, CPUID ---- */

static reg_t read_cr0(void)
{
    reg_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
static void write_cr0(reg_t v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static reg_t read_cr4(void)
{
    reg_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
static void write_cr4(reg_t v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

struct cpuid {
    uint32_t a, b, c, d;
};
static struct cpuid cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid r;
    __asm__ volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(subleaf));
    return r;
}
static int has_leaf7;
static int has_feature(int leaf, char reg, int bit)
{
    if (leaf == 7 && !has_leaf7)
        return 0;
    struct cpuid r = cpuid((uint32_t)leaf, 0);
    uint32_t v = reg == 'b' ? r.b : reg == 'c' ? r.c : r.d;
    return (v >> bit) & 1;
}
#define HAS_CX8() has_feature(1, 'd', 8)
#define HAS_CLFLUSH() has_feature(1, 'd', 19)
#define HAS_CX16() has_feature(1, 'c', 13)
#define HAS_MOVBE() has_feature(1, 'c', 22)
#define HAS_POPCNT() has_feature(1, 'c', 23)
#define HAS_XSAVE() has_feature(1, 'c', 26)
#define HAS_INVPCID() has_feature(7, 'b', 10)
#define HAS_SMAP() has_feature(7, 'b', 20)
#define HAS_CLFLUSHOPT() has_feature(7, 'b', 23)
#define HAS_CLWB() has_feature(7, 'b', 24)

/* ---- reporting ---- */

static void put_hex(reg_t v)
{
    console_puts("0x");
    for (int shift = (int)sizeof v * 8 - 4; shift >= 0; shift -= 4)
        console_putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

/* From cpl0_traps.S: a fault no test armed trap_resume for. */
__attribute__((noreturn)) void trap_unexpected(void);
void trap_unexpected(void)
{
    console_puts("FAIL: unexpected exception, vector ");
    put_hex(trap_vector);
    console_puts(" error code ");
    put_hex(trap_error);
    console_puts(" at ");
    put_hex(trap_ip);
    console_putc('\n');
    guest_exit(1);
}

static void detail(const char *what, reg_t got, reg_t want)
{
    console_puts("  ");
    console_puts(what);
    console_puts(": got ");
    put_hex(got);
    console_puts(", want ");
    put_hex(want);
    console_putc('\n');
}

/* A check of one value: PASS/FAIL, and on a failure what was found. */
static void check_eq(const char *name, reg_t got, reg_t want)
{
    report(name, got == want);
    if (got != want)
        detail("value", got, want);
}

static void reset_traps(void)
{
    trap_count = 0;
    trap_vector = trap_error = trap_ip = ~(reg_t)0;
}

/* Exactly one event since reset_traps(): `vector`, pushed IP `ip`, error code `error`
 * (0 where the CPU pushes none). */
static void check_event(const char *name, reg_t vector, reg_t ip, reg_t error)
{
    int ok = trap_count == 1 && trap_vector == vector && trap_ip == ip && trap_error == error;
    report(name, ok);
    if (!ok) {
        detail("events", trap_count, 1);
        detail("vector", trap_vector, vector);
        detail("pushed IP", trap_ip, ip);
        detail("error code", trap_error, error);
    }
}

static void check_no_event(const char *name)
{
    report(name, trap_count == 0);
    if (trap_count)
        detail("vector", trap_vector, ~(reg_t)0);
}

/* ---- software interrupts ---- */

static void test_int3(void)
{
    reg_t after = 0;
    reset_traps();
    __asm__ volatile(MARK("int3") "mov $1, %0" : "+r"(after)::"memory");
    check_event("int3: #BP (vector 3), pushed IP after it", VEC_BP, try_next, 0);
    check_eq("int3: its handler returns to the next instruction", after, 1);

    reset_traps();
    __asm__ volatile(MARK("int $3")::: "memory");
    check_event("int $3 (0xcd 0x03): vector 3, pushed IP after its 2 bytes", VEC_BP, try_next, 0);
}

static void test_int_n(void)
{
    reg_t after = 0;
    reset_traps();
    __asm__ volatile(MARK("int $" STR(INT_N_VECTOR)) "mov $1, %0" : "+r"(after)::"memory");
    check_event("int $0x80: vector 0x80, pushed IP after it", INT_N_VECTOR, try_next, 0);
    check_eq("int $0x80: its handler returns to the next instruction", after, 1);
}

static void test_into(void)
{
    reset_traps();
#ifdef __x86_64__
    /* 0xce is invalid in 64-bit mode, whatever OF is. */
    __asm__ volatile("mov $0x7f, %%al\n\tadd $1, %%al\n\t" TRY(".byte 0xce")::: "rax", "cc", "memory");
    check_event("into (0xce) in 64-bit mode: #UD at it", VEC_UD, try_at, 0);
#else
    __asm__ volatile("mov $0x7f, %%al\n\tadd $1, %%al\n\t" MARK("into")::: "eax", "cc", "memory");
    check_event("into with OF=1: #OF (vector 4), pushed EIP after it", VEC_OF, try_next, 0);
    reset_traps();
    __asm__ volatile("xor %%eax, %%eax\n\t" MARK("into")::: "eax", "cc", "memory");
    check_no_event("into with OF=0: no event");
#endif
}

/* ---- data instructions ---- */

static void check_flags(const char *name, reg_t flags, reg_t arith_want)
{
    check_eq(name, flags & RFLAGS_ARITH, arith_want);
}

static void test_movbe(void)
{
    static volatile uint64_t mem;
    reg_t r, fl;
    if (!HAS_MOVBE()) {
        reset_traps();
        __asm__ volatile(TRY("movbe %0, %%eax")::"m"(mem) : "eax", "memory");
        check_event("movbe without CPUID.MOVBE: #UD at it", VEC_UD, try_at, 0);
        return;
    }
    reset_traps();
    mem = 0x1122334455667788ull;
    r = ~(reg_t)0;
    fl = RFLAGS_ARITH | RFLAGS_FIXED;
    __asm__ volatile("push %1\n\tpopf\n\t" TRY("movbe %2, %w0") "pushf\n\tpop %1" : "+r"(r), "+r"(fl) : "m"(mem) : "cc", "memory");
    check_eq("movbe m16 -> r16: bytes swapped, the rest of the register kept", r, (~(reg_t)0 << 16) | 0x8877);
    check_flags("movbe m16 -> r16: flags unchanged", fl, RFLAGS_ARITH);

    r = ~(reg_t)0;
    fl = RFLAGS_FIXED;
    __asm__ volatile("push %1\n\tpopf\n\t" TRY("movbe %2, %k0") "pushf\n\tpop %1" : "+r"(r), "+r"(fl) : "m"(mem) : "cc", "memory");
    check_eq("movbe m32 -> r32: bytes swapped (zero-extended in 64-bit mode)", r, 0x88776655u);
    check_flags("movbe m32 -> r32: flags unchanged", fl, 0);

    mem = 0xccccccccccccccccull;
    r = 0x1234;
    __asm__ volatile(TRY("movbe %w1, %0") : "+m"(mem) : "r"(r) : "memory");
    check_eq("movbe r16 -> m16: bytes swapped, the next bytes untouched", (reg_t)(mem & 0xffffffffu), 0xcccc3412u);
    r = 0x12345678;
    fl = RFLAGS_ARITH | RFLAGS_FIXED;
    __asm__ volatile("push %1\n\tpopf\n\t" TRY("movbe %k2, %0") "pushf\n\tpop %1" : "+m"(mem), "+r"(fl) : "r"(r) : "cc", "memory");
    check_eq("movbe r32 -> m32: bytes swapped", (reg_t)(mem & 0xffffffffu), 0x78563412u);
    check_eq("movbe r32 -> m32: the next bytes untouched", (reg_t)(mem >> 32), 0xccccccccu);
    check_flags("movbe r32 -> m32: flags unchanged", fl, RFLAGS_ARITH);
#ifdef __x86_64__
    mem = 0x1122334455667788ull;
    __asm__ volatile(TRY("movbe %1, %0") : "=r"(r) : "m"(mem) : "memory");
    check_eq("movbe m64 -> r64: bytes swapped", r, 0x8877665544332211ull);
    r = 0x0102030405060708ull;
    __asm__ volatile(TRY("movbe %1, %0") : "=m"(mem) : "r"(r) : "memory");
    check_eq("movbe r64 -> m64: bytes swapped", (reg_t)mem, 0x0807060504030201ull);
#endif
    check_no_event("movbe: every form above retired without an exception");
}

static void test_cmpxchg8b(void)
{
    static volatile uint64_t mem __attribute__((aligned(8)));
    if (!HAS_CX8()) {
        report_skip("cmpxchg8b: CPUID has no CX8");
        return;
    }
    /* Equal: ZF=1, memory = ECX:EBX, EDX:EAX kept; the other flags unchanged. */
    reset_traps();
    mem = 0x1111111122222222ull;
    reg_t a = 0x22222222, d = 0x11111111, fl = RFLAGS_ARITH & ~RFLAGS_ZF;
    fl |= RFLAGS_FIXED;
    __asm__ volatile("push %2\n\tpopf\n\t" TRY("lock cmpxchg8b %3") "pushf\n\tpop %2"
                     : "+a"(a), "+d"(d), "+r"(fl), "+m"(mem)
                     : "b"((reg_t)0x44444444), "c"((reg_t)0x33333333)
                     : "cc", "memory");
    check_eq("cmpxchg8b equal: memory low half = EBX", (reg_t)(uint32_t)mem, 0x44444444);
    check_eq("cmpxchg8b equal: memory high half = ECX", (reg_t)(mem >> 32), 0x33333333);
    check_eq("cmpxchg8b equal: EAX kept", a, 0x22222222);
    check_eq("cmpxchg8b equal: EDX kept", d, 0x11111111);
    check_flags("cmpxchg8b equal: ZF set, the other flags unchanged", fl, RFLAGS_ARITH);

    /* Not equal: ZF=0, EDX:EAX = memory (zero-extended in 64-bit mode), memory kept. */
    mem = 0x5555555566666666ull;
    a = ~(reg_t)0;
    d = ~(reg_t)0;
    fl = RFLAGS_ARITH | RFLAGS_FIXED;
    __asm__ volatile("push %2\n\tpopf\n\t" TRY("cmpxchg8b %3") "pushf\n\tpop %2"
                     : "+a"(a), "+d"(d), "+r"(fl), "+m"(mem)
                     : "b"((reg_t)0x44444444), "c"((reg_t)0x33333333)
                     : "cc", "memory");
    check_eq("cmpxchg8b not equal: memory kept", (reg_t)(mem >> 32), 0x55555555);
    check_eq("cmpxchg8b not equal: memory low half kept", (reg_t)(uint32_t)mem, 0x66666666);
    check_eq("cmpxchg8b not equal: EAX = memory low half", a, 0x66666666);
    check_eq("cmpxchg8b not equal: EDX = memory high half", d, 0x55555555);
    check_flags("cmpxchg8b not equal: ZF clear, the other flags unchanged", fl, RFLAGS_ARITH & ~RFLAGS_ZF);
    check_no_event("cmpxchg8b: both cases retired without an exception");
}

#ifdef __x86_64__
static void test_cmpxchg16b(void)
{
    static volatile uint64_t mem[4] __attribute__((aligned(16)));
    if (!HAS_CX16()) {
        reset_traps();
        __asm__ volatile(TRY("cmpxchg16b %0")::"m"(mem[0]) : "memory");
        check_event("cmpxchg16b without CPUID.CX16: #UD at it", VEC_UD, try_at, 0);
        return;
    }
    uint64_t a, d, fl;
    reset_traps();
    mem[0] = 0x1111111111111111ull;
    mem[1] = 0x2222222222222222ull;
    a = mem[0];
    d = mem[1];
    fl = RFLAGS_FIXED;
    __asm__ volatile("push %2\n\tpopf\n\t" TRY("lock cmpxchg16b (%5)") "pushf\n\tpop %2"
                     : "+a"(a), "+d"(d), "+r"(fl)
                     : "b"(0x3333333333333333ull), "c"(0x4444444444444444ull), "r"(&mem[0])
                     : "cc", "memory");
    check_eq("cmpxchg16b equal: memory low = RBX", mem[0], 0x3333333333333333ull);
    check_eq("cmpxchg16b equal: memory high = RCX", mem[1], 0x4444444444444444ull);
    check_eq("cmpxchg16b equal: RAX kept", a, 0x1111111111111111ull);
    check_eq("cmpxchg16b equal: RDX kept", d, 0x2222222222222222ull);
    check_flags("cmpxchg16b equal: ZF set, the other flags unchanged", fl, RFLAGS_ZF);

    mem[0] = 0x5555555555555555ull;
    mem[1] = 0x6666666666666666ull;
    a = 0x5555555555555555ull; /* the low half equal, the high half not */
    d = 0x7777777777777777ull;
    fl = RFLAGS_ARITH | RFLAGS_FIXED;
    __asm__ volatile("push %2\n\tpopf\n\t" TRY("cmpxchg16b (%5)") "pushf\n\tpop %2"
                     : "+a"(a), "+d"(d), "+r"(fl)
                     : "b"(0x3333333333333333ull), "c"(0x4444444444444444ull), "r"(&mem[0])
                     : "cc", "memory");
    check_eq("cmpxchg16b not equal: memory low kept", mem[0], 0x5555555555555555ull);
    check_eq("cmpxchg16b not equal: memory high kept", mem[1], 0x6666666666666666ull);
    check_eq("cmpxchg16b not equal: RAX = memory low", a, 0x5555555555555555ull);
    check_eq("cmpxchg16b not equal: RDX = memory high", d, 0x6666666666666666ull);
    check_flags("cmpxchg16b not equal: ZF clear, the other flags unchanged", fl, RFLAGS_ARITH & ~RFLAGS_ZF);

    check_no_event("cmpxchg16b: both cases retired without an exception");

    /* A 16-byte operand that is not 16-byte aligned: #GP(0), nothing written. */
    mem[1] = 0x1111111111111111ull;
    mem[2] = 0x2222222222222222ull;
    a = mem[1];
    d = mem[2];
    reset_traps();
    __asm__ volatile(TRY("lock cmpxchg16b (%2)")
                     : "+a"(a), "+d"(d)
                     : "r"(&mem[1]), "b"(0x3333333333333333ull), "c"(0x4444444444444444ull)
                     : "cc", "memory");
    check_event("cmpxchg16b misaligned: #GP(0) at it", VEC_GP, try_at, 0);
    check_eq("cmpxchg16b misaligned: memory untouched (low)", mem[1], 0x1111111111111111ull);
    check_eq("cmpxchg16b misaligned: memory untouched (high)", mem[2], 0x2222222222222222ull);
    check_eq("cmpxchg16b misaligned: RAX untouched", a, 0x1111111111111111ull);
}
#endif

static void test_popcnt(void)
{
    static volatile uint32_t mem = 0x80000001u;
    reg_t r, fl;
    if (!HAS_POPCNT()) {
        reset_traps();
        __asm__ volatile(TRY("popcnt %0, %%eax")::"m"(mem) : "eax", "memory");
        check_event("popcnt without CPUID.POPCNT: #UD at it", VEC_UD, try_at, 0);
        return;
    }
    reset_traps();
    fl = RFLAGS_ARITH | RFLAGS_FIXED;
    __asm__ volatile("push %1\n\tpopf\n\t" TRY("popcnt %k2, %k0") "pushf\n\tpop %1"
                     : "=&r"(r), "+r"(fl)
                     : "r"((reg_t)0xf0f00f01u)
                     : "cc", "memory");
    check_eq("popcnt r32: 13 bits of 0xf0f00f01", r, 13);
    check_flags("popcnt r32: nonzero source clears ZF, CF, OF, SF, AF, PF", fl, 0);

    fl = RFLAGS_ARITH | RFLAGS_FIXED;
    __asm__ volatile("push %1\n\tpopf\n\t" TRY("popcnt %k2, %k0") "pushf\n\tpop %1" : "=&r"(r), "+r"(fl) : "r"((reg_t)0) : "cc", "memory");
    check_eq("popcnt r32 of 0: 0", r, 0);
    check_flags("popcnt r32 of 0: ZF set, the other flags clear", fl, RFLAGS_ZF);

    r = ~(reg_t)0;
    __asm__ volatile(TRY("popcnt %w1, %w0") : "+r"(r) : "r"((reg_t)0x0107u) : "cc", "memory");
    check_eq("popcnt r16: 4, the rest of the register kept", r, (~(reg_t)0 << 16) | 4);

    __asm__ volatile(TRY("popcnt %1, %k0") : "=r"(r) : "m"(mem) : "cc", "memory");
    check_eq("popcnt m32: 2", r, 2);
#ifdef __x86_64__
    __asm__ volatile(TRY("popcnt %1, %0") : "=r"(r) : "r"(~(reg_t)0) : "cc", "memory");
    check_eq("popcnt r64: 64", r, 64);
#endif
    check_no_event("popcnt: every form above retired without an exception");
}

/* ---- system instructions ---- */

static reg_t flags_after(reg_t flags_in, int stac)
{
    reg_t fl = flags_in;
    if (stac)
        __asm__ volatile("push %0\n\tpopf\n\t" TRY("stac") "pushf\n\tpop %0" : "+r"(fl):: "cc", "memory");
    else
        __asm__ volatile("push %0\n\tpopf\n\t" TRY("clac") "pushf\n\tpop %0" : "+r"(fl):: "cc", "memory");
    return fl;
}

static void test_clac_stac(void)
{
    if (!HAS_SMAP()) {
        reset_traps();
        __asm__ volatile(TRY("stac")::: "cc", "memory");
        check_event("stac without CPUID.SMAP: #UD at it", VEC_UD, try_at, 0);
        reset_traps();
        __asm__ volatile(TRY("clac")::: "cc", "memory");
        check_event("clac without CPUID.SMAP: #UD at it", VEC_UD, try_at, 0);
        return;
    }
    reset_traps();
    reg_t fl = flags_after(RFLAGS_ARITH | RFLAGS_FIXED, 1);
    check_eq("stac: RFLAGS.AC set", fl & RFLAGS_AC, RFLAGS_AC);
    check_flags("stac: the other flags unchanged", fl, RFLAGS_ARITH);
    fl = flags_after(RFLAGS_AC | RFLAGS_FIXED, 0);
    check_eq("clac: RFLAGS.AC clear", fl & RFLAGS_AC, 0);
    check_flags("clac: the other flags unchanged", fl, 0);
    check_no_event("clac, stac: retired without an exception");
}

static void cache_line_check(const char *name, const char *intact, int has, int which)
{
    static volatile uint64_t line[8] __attribute__((aligned(64))) = {1, 2, 3, 4, 5, 6, 7, 8};
    reset_traps();
    if (which == 0)
        __asm__ volatile(TRY("clwb %0")::"m"(line[3]) : "memory");
    else if (which == 1)
        __asm__ volatile(TRY("clflushopt %0")::"m"(line[3]) : "memory");
    else
        __asm__ volatile(TRY("clflush %0")::"m"(line[3]) : "memory");
    if (has) {
        check_no_event(name);
        report(intact, line[0] == 1 && line[3] == 4 && line[7] == 8);
    } else {
        check_event(name, VEC_UD, try_at, 0);
    }
}

static void test_cache_lines(void)
{
    int clwb = HAS_CLWB(), opt = HAS_CLFLUSHOPT(), clflush = HAS_CLFLUSH();
    cache_line_check(clwb ? "clwb on a mapped line retires" : "clwb without CPUID.CLWB: #UD at it",
                     "clwb: the line's data intact", clwb, 0);
    cache_line_check(opt ? "clflushopt on a mapped line retires" : "clflushopt without CPUID.CLFLUSHOPT: #UD at it",
                     "clflushopt: the line's data intact", opt, 1);
    cache_line_check(clflush ? "clflush on a mapped line retires" : "clflush without CPUID.CLFSH: #UD at it",
                     "clflush: the line's data intact", clflush, 2);
}

/* The x87 and SSE state goes in and out through fxrstor/fxsave: the nested backend
 * cannot emulate fldcw, ldmxcsr or stmxcsr at CPL0 (and cr3rig does not complete them). */
/* An XSAVE/FXSAVE area, read and written by its fields' sizes. */
union xstate_area {
    uint8_t b[4096 + 64];
    uint16_t w[(4096 + 64) / 2];
    uint32_t d[(4096 + 64) / 4];
};
static union xstate_area fxarea __attribute__((aligned(64)));
#define FX_FCW 0
#define FX_FSW 2
#define FX_MXCSR 24
#define FX_XMM0 160

static void fx_save(void) { __asm__ volatile("fxsave %0" : "=m"(fxarea.b[0])::"memory"); }
static void fx_restore(void) { __asm__ volatile("fxrstor %0" ::"m"(fxarea.b[0]) : "memory"); }

static uint16_t fpu_status(void)
{
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=m"(sw));
    return sw;
}

/* A divide-by-zero left pending: FSW.ZE with ES and B (what 1.0/0.0 leaves), and FCW.ZM
 * clear (unmasked), loaded with fxrstor; the next waiting x87 instruction reports it. */
static void x87_divide_by_zero_pending(void)
{
    __asm__ volatile("fninit" ::: "memory");
    fx_save();
    fxarea.w[FX_FCW / 2] = 0x037b;
    fxarea.w[FX_FSW / 2] = 0x8084;
    fx_restore();
}

static void test_x87(void)
{
    write_cr0((read_cr0() | CR0_NE | CR0_MP) & ~(reg_t)(CR0_EM | CR0_TS));
    x87_divide_by_zero_pending();
    uint16_t sw = fpu_status();
    check_eq("x87 divide-by-zero pending (fxrstor): FSW.ZE and ES set", sw & 0x84, 0x84);
    reset_traps();
    __asm__ volatile(MARK("fnclex")::: "memory");
    sw = fpu_status();
    check_no_event("fnclex with an exception pending: no event (it does not wait)");
    check_eq("fnclex: FSW exception flags, SF, ES and B clear", sw & 0x80ff, 0);

    reset_traps();
    __asm__ volatile(TRY("fwait")::: "memory");
    check_no_event("fwait with nothing pending retires");

    x87_divide_by_zero_pending();
    reset_traps();
    __asm__ volatile(TRY("fwait")::: "memory");
    check_event("fwait with an unmasked exception pending, CR0.NE=1: #MF (vector 16) at it", VEC_MF, try_at, 0);
    __asm__ volatile("fnclex\n\tfninit" ::: "memory");
}

static void test_invpcid(void)
{
    static struct {
        uint64_t pcid, address;
    } desc __attribute__((aligned(16)));
    int has = HAS_INVPCID();
    static const struct {
        reg_t type;
        uint64_t pcid;
        const char *name;
        int gp;
    } cases[] = {
        {2, 0, "invpcid type 2 (all contexts, globals too) retires", 0},
        {3, 0, "invpcid type 3 (all contexts but globals) retires", 0},
        {0, 0, "invpcid type 0 (one address, PCID 0) retires", 0},
        {1, 1, "invpcid type 1 with PCID 1 and CR4.PCIDE=0: #GP(0) at it", 1},
        {4, 0, "invpcid type 4 (invalid): #GP(0) at it", 1},
        {2, 1ull << 12, "invpcid with reserved descriptor bits 12-63 set: #GP(0) at it", 1},
    };
    if (!has) {
        reset_traps();
        __asm__ volatile(TRY("invpcid %0, %1")::"m"(desc), "r"((reg_t)2) : "memory");
        check_event("invpcid without CPUID.INVPCID: #UD at it", VEC_UD, try_at, 0);
        return;
    }
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        desc.pcid = cases[i].pcid;
        desc.address = (uintptr_t)&desc;
        reset_traps();
        __asm__ volatile(TRY("invpcid %0, %1")::"m"(desc), "r"(cases[i].type) : "memory");
        if (cases[i].gp)
            check_event(cases[i].name, VEC_GP, try_at, 0);
        else
            check_no_event(cases[i].name);
    }
}

/* ---- XCR0, xsave and xrstor ---- */

static uint64_t xgetbv(uint32_t index)
{
    uint32_t lo, hi;
    __asm__ volatile(TRY("xgetbv") : "=a"(lo), "=d"(hi) : "c"(index) : "memory");
    return ((uint64_t)hi << 32) | lo;
}
static void xsetbv(uint32_t index, uint64_t v)
{
    __asm__ volatile("xsetbv" ::"c"(index), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static void test_xgetbv(void)
{
    write_cr4(read_cr4() & ~(reg_t)CR4_OSXSAVE);
    reset_traps();
    __asm__ volatile(TRY("xgetbv")::"c"(0) : "eax", "edx", "memory");
    check_event("xgetbv with CR4.OSXSAVE=0: #UD at it", VEC_UD, try_at, 0);
    if (!HAS_XSAVE())
        return;
    write_cr4(read_cr4() | CR4_OSXSAVE);
    uint32_t supported = cpuid(0xd, 0).a;
    reset_traps();
    xsetbv(0, XCR0_X87 | XCR0_SSE);
    check_eq("xgetbv(0) after xsetbv(0, x87|SSE): 3", (reg_t)xgetbv(0), XCR0_X87 | XCR0_SSE);
    if (supported & XCR0_AVX) {
        xsetbv(0, XCR0_X87 | XCR0_SSE | XCR0_AVX);
        check_eq("xgetbv(0) after xsetbv(0, x87|SSE|AVX): 7", (reg_t)xgetbv(0), XCR0_X87 | XCR0_SSE | XCR0_AVX);
        xsetbv(0, XCR0_X87 | XCR0_SSE);
    } else {
        report_skip("xgetbv(0) with AVX in XCR0: CPUID.0xD has no AVX state");
    }
    check_no_event("xgetbv(0): retired without an exception");
    reset_traps();
    __asm__ volatile(TRY("xgetbv")::"c"(0x10) : "eax", "edx", "memory");
    check_event("xgetbv(0x10), no such XCR: #GP(0) at it", VEC_GP, try_at, 0);
}

static union xstate_area xarea __attribute__((aligned(64)));
#define XSTATE_BV 512
static const uint32_t xmm_pattern[4] = {0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210};
static const uint32_t xmm_other[4] = {0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef};
#define MXCSR_DEFAULT 0x1f80u
#define MXCSR_ROUND_DOWN 0x3f80u /* RC = 01 */

static void load_sse(const uint32_t *xmm0, uint32_t mxcsr)
{
    fx_save();
    fxarea.d[FX_MXCSR / 4] = mxcsr;
    for (int i = 0; i < 4; i++)
        fxarea.d[FX_XMM0 / 4 + i] = xmm0[i];
    fx_restore();
}
static uint32_t store_sse(uint32_t *xmm0)
{
    fx_save();
    for (int i = 0; i < 4; i++)
        xmm0[i] = fxarea.d[FX_XMM0 / 4 + i];
    return fxarea.d[FX_MXCSR / 4];
}
static int same_xmm(const uint32_t *a, const uint32_t *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

#ifdef __x86_64__
#define XSAVE "xsave64"
#define XRSTOR "xrstor64"
#else
#define XSAVE "xsave"
#define XRSTOR "xrstor"
#endif

static void test_xsave(void)
{
    if (!HAS_XSAVE()) {
        report_skip("xsave/xrstor: CPUID has no XSAVE");
        return;
    }
#ifdef __x86_64__
    const uint32_t rfbm = XCR0_X87 | XCR0_SSE;
#else
    /* The 32-bit format's x87 part holds FCS/FDS, which KVM's XSAVE image lacks:
     * cr3rig does not complete it (docs/completion.md), so SSE alone here. */
    const uint32_t rfbm = XCR0_SSE;
#endif
    uint32_t xmm[4];
    for (unsigned i = 0; i < sizeof xarea.b; i++)
        xarea.b[i] = 0;
    load_sse(xmm_pattern, MXCSR_ROUND_DOWN);
    reset_traps();
    __asm__ volatile(TRY(XSAVE " %0")::"m"(xarea.b[0]), "a"(rfbm), "d"(0) : "memory");
    check_no_event("xsave retires");
    check_eq("xsave: MXCSR in the legacy area", xarea.d[FX_MXCSR / 4], MXCSR_ROUND_DOWN);
    report("xsave: XMM0 in the legacy area", same_xmm(&xarea.d[FX_XMM0 / 4], xmm_pattern));
    check_eq("xsave: XSTATE_BV has SSE", xarea.b[XSTATE_BV] & XCR0_SSE, XCR0_SSE);

    load_sse(xmm_other, MXCSR_DEFAULT);
    reset_traps();
    __asm__ volatile(TRY(XRSTOR " %0")::"m"(xarea.b[0]), "a"(rfbm), "d"(0) : "memory");
    check_no_event("xrstor retires");
    check_eq("xrstor: MXCSR back", store_sse(xmm), MXCSR_ROUND_DOWN);
    report("xrstor: XMM0 back", same_xmm(xmm, xmm_pattern));

    /* XSTATE_BV[1] = 0: XMM registers to their initial value (0); MXCSR still from memory. */
    xarea.b[XSTATE_BV] &= (uint8_t)~XCR0_SSE;
    load_sse(xmm_other, MXCSR_DEFAULT);
    __asm__ volatile(XRSTOR " %0" ::"m"(xarea.b[0]), "a"(rfbm), "d"(0) : "memory");
    check_eq("xrstor with XSTATE_BV.SSE=0: MXCSR still loaded", store_sse(xmm), MXCSR_ROUND_DOWN);
    static const uint32_t zeros[4];
    report("xrstor with XSTATE_BV.SSE=0: XMM0 initialised to 0", same_xmm(xmm, zeros));

    /* XSTATE_BV with a component XCR0 lacks (AVX): #GP(0). */
    xarea.b[XSTATE_BV] |= XCR0_AVX;
    reset_traps();
    __asm__ volatile(TRY(XRSTOR " %0")::"m"(xarea.b[0]), "a"(rfbm), "d"(0) : "memory");
    check_event("xrstor with XSTATE_BV beyond XCR0: #GP(0) at it", VEC_GP, try_at, 0);

    reset_traps();
    __asm__ volatile(TRY(XSAVE " %0")::"m"(xarea.b[16]), "a"(rfbm), "d"(0) : "memory");
    check_event("xsave to an area not 64-byte aligned: #GP(0) at it", VEC_GP, try_at, 0);
    load_sse(xmm_other, MXCSR_DEFAULT);
}

/* ---- main ---- */

static void setup(void)
{
    for (int v = 0; v < 32; v++)
        set_gate(v, trap_stubs[v]);
    set_gate(INT_N_VECTOR, trap_stubs[32]);
    load_idt();
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    has_leaf7 = cpuid(0, 0).a >= 7;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    setup();
#ifdef __x86_64__
    console_puts("cpl0-instructions: 64-bit mode, CPL0\n");
#else
    console_puts("cpl0-instructions: 32-bit protected mode, paging off, CPL0\n");
#endif
    test_int3();
    test_int_n();
    test_into();
    test_movbe();
    test_cmpxchg8b();
#ifdef __x86_64__
    test_cmpxchg16b();
#endif
    test_popcnt();
    test_clac_stac();
    test_cache_lines();
    test_x87();
    test_invpcid();
    test_xgetbv();
    test_xsave();
    return report_summary();
}
