// Checks a Chrome trace-event JSON document (the object form) against the format's
// rules as the Perfetto UI and chrome://tracing read them; returns what is wrong.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace cr3rig::testing {

inline std::vector<std::string> trace_event_problems(const nlohmann::json& doc)
{
    std::vector<std::string> problems;
    auto problem = [&](size_t i, const std::string& what) {
        problems.push_back("event " + std::to_string(i) + ": " + what);
    };
    if (!doc.is_object() || !doc.contains("traceEvents") || !doc["traceEvents"].is_array())
        return {"not an object with a traceEvents array"};
    if (doc.contains("displayTimeUnit") && doc["displayTimeUnit"] != "ns" && doc["displayTimeUnit"] != "ms")
        problems.push_back("displayTimeUnit must be \"ns\" or \"ms\"");
    const std::set<std::string> metadata_names{"process_name", "thread_name", "process_sort_index",
                                               "thread_sort_index", "process_labels"};
    const auto& events = doc["traceEvents"];
    for (size_t i = 0; i < events.size(); i++) {
        const auto& e = events[i];
        if (!e.is_object()) {
            problem(i, "not an object");
            continue;
        }
        if (!e.contains("ph") || !e["ph"].is_string()) {
            problem(i, "no ph");
            continue;
        }
        std::string ph = e["ph"];
        for (const char* key : {"pid", "tid"})
            if (!e.contains(key) || !e[key].is_number_integer())
                problem(i, std::string("no integer ") + key);
        if (!e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty())
            problem(i, "no name");
        if (ph == "M") {
            if (!metadata_names.count(e.value("name", "")))
                problem(i, "unknown metadata name");
            else if (!e.contains("args") || !e["args"].is_object() ||
                     !(e["args"].contains("name") || e["args"].contains("sort_index") || e["args"].contains("labels")))
                problem(i, "metadata without args.name or args.sort_index");
            continue;
        }
        if (!e.contains("ts") || !e["ts"].is_number() || e["ts"].get<double>() < 0)
            problem(i, "no ts >= 0");
        if (ph == "X") {
            if (!e.contains("dur") || !e["dur"].is_number() || e["dur"].get<double>() < 0)
                problem(i, "X without dur >= 0");
        } else if (ph == "i" || ph == "I") {
            if (e.contains("s") && e["s"] != "g" && e["s"] != "p" && e["s"] != "t")
                problem(i, "instant scope must be g, p or t");
        } else {
            problem(i, "phase " + ph + " is not one this writer uses");
        }
        if (e.contains("args") && !e["args"].is_object())
            problem(i, "args is not an object");
    }
    return problems;
}

}  // namespace cr3rig::testing
