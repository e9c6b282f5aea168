// Instructions in guest code that read, write or flush the translation root, and
// those that move the IDT (where the #PF entry is found).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cr3rig {

class ElfImage;

enum class SiteKind {
    Cr3Read,   // mov %cr3, reg: an injection point
    Cr3Write,  // mov reg, %cr3
    Cr4Write,  // mov reg, %cr4: may toggle PGE/PCIDE, which flushes the TLB
    Invlpg,    // flushes one translation
    Invpcid,   // flushes by PCID
    Lidt,      // loads the IDT: the #PF entry the rig watches may move
};

const char* name_of(SiteKind kind);

struct Cr3Site {
    uint64_t address;       // guest virtual address of the instruction
    SiteKind kind;
    std::string reg;        // the general-purpose operand ("rax", "r14"), empty for invlpg/invpcid
    int reg_index;          // kvm_regs order: 0 rax, 1 rbx, 2 rcx, 3 rdx, 4 rsi, 5 rdi, 6 rsp, 7 rbp, 8..15 r8..r15; -1 none
    std::vector<uint8_t> bytes;
    std::string symbol;     // "read_cr3+0x0", or empty
};

// Every site in the executable PT_LOAD segments of the image, in address order.
std::vector<Cr3Site> scan_cr3_sites(const ElfImage& image);

// Same, for raw code bytes mapped at `address` (guest memory when there is no ELF).
std::vector<Cr3Site> scan_cr3_sites(const uint8_t* code, size_t size, uint64_t address);

}  // namespace cr3rig
