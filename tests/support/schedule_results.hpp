// Campaign results made up for tests that need no KVM: the one-preemption schedule at
// `index` (nth:index+1:0) with a given verdict and signature, token "t<index>".
#pragma once

#include <string>

#include "campaign/campaign.hpp"

namespace cr3rig::testing {

inline ScheduleResult made_up_result(size_t index, VerdictKind verdict, const std::string& signature)
{
    ScheduleResult r;
    r.index = index;
    r.schedule = {index + 1, 0};
    // Constructed, then appended: "t" + std::to_string() (string::insert) and r.token = "t"
    // (string::replace) both get a false -Werror=restrict from g++ 12 at -O3 (GCC PR 105329).
    r.token = std::string("t").append(std::to_string(index));
    r.verdict = verdict;
    r.signature = signature;
    return r;
}

}  // namespace cr3rig::testing
