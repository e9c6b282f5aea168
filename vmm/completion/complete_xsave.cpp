// xsave and xrstor in the standard (non-compacted) format.
#include "vmm/completion/completers.hpp"

namespace cr3rig::complete {

Outcome xsave(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome xrstor(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }

}  // namespace cr3rig::complete
