#include "suite/selection.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "suite/hostability.hpp"

namespace cr3rig::suite {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string joined(const std::vector<std::string>& v)
{
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

// In run_tests.sh's order (runtime.bash's run()): nodefault, then arch, machine, accel,
// disabled_if, then check; after them what only cr3rig cannot give.
std::string planned_skip_reason(const ManifestEntry& e, bool filtered)
{
    if (!filtered && e.in_group("nodefault"))
        return "test marked as manual run only";
    if (!e.skip_reason.empty())
        return e.skip_reason;
    if (std::string why = failed_check(e); !why.empty())
        return why;
    return e.unhostable;
}

}  // namespace

std::vector<PlannedTest> select_tests(const Manifest& manifest, const Filters& filters)
{
    for (const auto& name : filters.only)
        if (std::none_of(manifest.entries.begin(), manifest.entries.end(), [&](const auto& e) { return e.name == name; }))
            throw BadInput("--only " + name + ": no entry [" + name + "] in " + manifest.path.string());

    bool filtered = !filters.groups.empty() || !filters.only.empty();
    std::vector<PlannedTest> planned;
    for (const auto& e : manifest.entries) {
        if (!filters.only.empty() && !contains(filters.only, e.name))
            continue;
        if (!filters.groups.empty() &&
            std::none_of(filters.groups.begin(), filters.groups.end(), [&](const auto& g) { return e.in_group(g); }))
            continue;
        planned.push_back({&e, planned_skip_reason(e, filtered)});
    }
    if (planned.empty())
        throw BadInput("no entry of " + manifest.path.string() + " is in group " + joined(filters.groups) +
                       (filters.only.empty() ? "" : " and named " + joined(filters.only)));
    return planned;
}

}  // namespace cr3rig::suite
