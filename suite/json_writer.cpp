#include <nlohmann/json.hpp>

#include "suite/writers.hpp"

namespace cr3rig::suite {

namespace {

nlohmann::json or_null(const std::string& text) { return text.empty() ? nlohmann::json() : nlohmann::json(text); }

nlohmann::json entry_json(const TestResult& r, const Rerun& rerun)
{
    bool failed = r.outcome == Outcome::Fail;
    return {{"name", r.name},
            {"verdict", name_of(r.outcome)},
            {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json()},
            {"seconds", r.seconds},
            {"reason", failed ? r.failure_message() : r.detail},
            {"cause", or_null(r.cause)},
            {"log", or_null(r.log_path)},
            {"replay_token", or_null(r.replay_token)},
            {"rerun", rerun.test_command(r)},
            {"replay", or_null(rerun.replay_command(r))}};
}

}  // namespace

void write_json(std::ostream& out, const std::string& suite_name, const std::vector<TestResult>& results,
                const Totals& totals, const Rerun& rerun, const std::string& log_dir, const std::string& interruption)
{
    nlohmann::json tests = nlohmann::json::array();
    for (const auto& r : results)
        tests.push_back(entry_json(r, rerun));
    nlohmann::json j{{"format", "cr3rig-test/1"},
                     {"suite", suite_name},
                     {"logs", log_dir},
                     {"passed", totals.passed},
                     {"failed", totals.failed},
                     {"skipped", totals.skipped},
                     {"seconds", totals.seconds},
                     {"interrupted", or_null(interruption)},
                     {"tests", tests}};
    // A guest's text may hold bytes that are not UTF-8: replaced, never an abort.
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace cr3rig::suite
