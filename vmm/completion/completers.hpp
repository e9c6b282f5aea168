// The completers, by family; the table in completer_table.cpp lists them.
#pragma once

#include "vmm/completion/completer.hpp"

namespace cr3rig::complete {

// complete_interrupts.cpp: software interrupts and the #UD encodings
Outcome int3(CompletionContext& ctx, const Instruction& insn);
Outcome int_n(CompletionContext& ctx, const Instruction& insn);
Outcome into(CompletionContext& ctx, const Instruction& insn);
Outcome undefined(CompletionContext& ctx, const Instruction& insn);

// complete_data.cpp: instructions that compute on registers and memory
Outcome movbe(CompletionContext& ctx, const Instruction& insn);
Outcome cmpxchg8b_16b(CompletionContext& ctx, const Instruction& insn);
Outcome popcnt(CompletionContext& ctx, const Instruction& insn);

// complete_system.cpp: flags, XCRs, caches, x87 control, TLB
Outcome clac_stac(CompletionContext& ctx, const Instruction& insn);
Outcome xgetbv(CompletionContext& ctx, const Instruction& insn);
Outcome rdpru(CompletionContext& ctx, const Instruction& insn);
Outcome cache_line_write_back(CompletionContext& ctx, const Instruction& insn);  // clwb, clflushopt, clflush
Outcome fwait(CompletionContext& ctx, const Instruction& insn);
Outcome fnclex(CompletionContext& ctx, const Instruction& insn);
Outcome invpcid(CompletionContext& ctx, const Instruction& insn);

// complete_xsave.cpp: XSAVE and XRSTOR (standard format) through the XSAVE image
Outcome xsave(CompletionContext& ctx, const Instruction& insn);
Outcome xrstor(CompletionContext& ctx, const Instruction& insn);

// complete_simd.cpp: MMX and SSE register moves and emms through the XSAVE image
Outcome move_vector(CompletionContext& ctx, const Instruction& insn);  // movd, movq
Outcome emms(CompletionContext& ctx, const Instruction& insn);

// complete_avx.cpp: VEX-encoded register zeroing and integer moves through the XSAVE image
Outcome vzeroall(CompletionContext& ctx, const Instruction& insn);
Outcome vzeroupper(CompletionContext& ctx, const Instruction& insn);
Outcome vmovdqa(CompletionContext& ctx, const Instruction& insn);
Outcome vmovdqu(CompletionContext& ctx, const Instruction& insn);
Outcome vmovntdq(CompletionContext& ctx, const Instruction& insn);
Outcome vmovntdqa(CompletionContext& ctx, const Instruction& insn);

}  // namespace cr3rig::complete
