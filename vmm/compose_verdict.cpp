#include "vmm/compose_verdict.hpp"

#include <utility>

namespace cr3rig {

Verdict compose_verdict(Stop end, std::vector<Finding> findings)
{
    Verdict v{end.kind, std::move(end.reason), std::move(findings), end.guest_status};
    if (v.findings.empty())
        return v;
    std::string guest = v.kind == VerdictKind::Fail ? v.reason : std::string(name_of(v.kind)) + ", " + v.reason;
    v.reason = describe(v.findings.front()) + " (guest: " + guest + ")";
    v.kind = VerdictKind::Fail;
    return v;
}

}  // namespace cr3rig
