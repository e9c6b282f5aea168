#include "suite/test_result.hpp"

namespace cr3rig::suite {

Totals count(const std::vector<TestResult>& results, double wall_seconds)
{
    Totals t;
    t.seconds = wall_seconds;
    for (const auto& r : results)
        (r.outcome == Outcome::Pass ? t.passed : r.outcome == Outcome::Fail ? t.failed : t.skipped)++;
    return t;
}

}  // namespace cr3rig::suite
