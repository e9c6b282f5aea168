// The lazytlb kernel's summary lines on its console ("lazytlb: task B exit=0 faults=0
// ...", "lazytlb: stale_cr3_writes=0 ..."), read back as numbers: how the KVM tests
// judge the kernel by what it reports itself.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

namespace cr3rig::testing {

// key=value fields of the console line that starts with `prefix`.
inline std::map<std::string, std::string> summary_fields(const std::string& console, const std::string& prefix)
{
    std::map<std::string, std::string> fields;
    std::istringstream lines(console);
    for (std::string l; std::getline(lines, l);) {
        if (l.rfind(prefix, 0) != 0)
            continue;
        std::istringstream words(l.substr(prefix.size()));
        for (std::string w; words >> w;)
            if (auto eq = w.find('='); eq != std::string::npos)
                fields[w.substr(0, eq)] = w.substr(eq + 1);
    }
    return fields;
}

inline uint64_t summary_number(const std::string& console, const std::string& prefix, const std::string& key)
{
    auto fields = summary_fields(console, prefix);
    REQUIRE(fields.count(key));
    return std::stoull(fields[key], nullptr, 0);
}

// A task's field ("lazytlb: task B faults=...") and a kernel-wide one ("lazytlb: tlb_flushes=...").
inline uint64_t task_number(const std::string& console, const std::string& task, const std::string& key)
{
    return summary_number(console, "lazytlb: task " + task + " ", key);
}

inline uint64_t kernel_number(const std::string& console, const std::string& key)
{
    return summary_number(console, "lazytlb: ", key);
}

}  // namespace cr3rig::testing
