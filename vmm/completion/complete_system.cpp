// clac/stac, xgetbv, rdpru, the cache write-backs, fwait/fnclex, invpcid.
#include "vmm/completion/completers.hpp"

namespace cr3rig::complete {

Outcome clac_stac(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome xgetbv(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome rdpru(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome cache_line_write_back(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome fwait(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome fnclex(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome invpcid(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }

}  // namespace cr3rig::complete
