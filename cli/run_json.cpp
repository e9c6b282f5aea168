#include "cli/run_json.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/errors.hpp"
#include "common/verdict.hpp"
#include "traps/finding_json.hpp"

namespace cr3rig::cli {

namespace {

nlohmann::json trap_statistics(const TrapStats& t)
{
    return {{"reads", t.reads},
            {"writes", t.writes},
            {"flushes", t.flushes},
            {"injections", t.injections},
            {"page_faults", t.page_faults},
            {"single_steps", t.single_steps},
            {"rig_ticks", t.rig_ticks},
            {"idt_loads", t.idt_loads},
            {"rescans", t.rescans},
            {"text_writes", t.text_writes},
            {"patched_exits", t.patched_exits}};
}

nlohmann::json statistics(const RunResult& r, const TrappedResult* trapped)
{
    nlohmann::json exits{{"total", r.stats.total()}};
    for (size_t k = 0; k < kExitKindCount; k++)
        if (uint64_t n = r.stats.of(static_cast<ExitKind>(k)))
            exits[name_of(static_cast<ExitKind>(k))] = n;
    nlohmann::json s{{"exits", exits},
                     {"completions", {{"total", r.completions.total()}, {"by_instruction", r.completions.by_name}}},
                     {"console_bytes", r.console.size() + r.console_dropped},
                     {"unclaimed", {{"ports", r.unclaimed_port_accesses}, {"mmio", r.unclaimed_mmio_accesses}}},
                     {"rig_messages", {{"bad", r.bad_rig_messages}, {"dropped", r.dropped_rig_messages}}}};
    if (trapped)
        s["traps"] = trap_statistics(trapped->stats);
    return s;
}

}  // namespace

nlohmann::json run_json(const std::string& guest, const RunResult& result, const std::optional<TrapJson>& traps)
{
    const Verdict& v = result.verdict;
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : v.findings)
        findings.push_back(finding_json(f));
    nlohmann::json j{{"format", "cr3rig-run/1"},
                     {"guest", guest},
                     {"verdict", name_of(v.kind)},
                     {"exit_code", exit_code_of(v)},
                     {"reason", v.reason},
                     {"guest_status", v.guest_status ? nlohmann::json(*v.guest_status) : nlohmann::json()},
                     {"seconds", std::chrono::duration<double>(result.run_time).count()},
                     {"findings", findings},
                     {"trap_engine", nullptr},
                     {"statistics", statistics(result, traps ? &traps->trapped : nullptr)}};
    if (traps) {
        j["trap_engine"] = {
            {"backend", traps->trapped.backend},
            {"inject", traps->inject},
            {"rig_clock", traps->rig_clock == kHostTime ? nlohmann::json("host time") : nlohmann::json(traps->rig_clock)},
            {"replay_token", traps->replay_token ? nlohmann::json(*traps->replay_token) : nlohmann::json()},
            {"notes", traps->trapped.notes}};
    }
    return j;
}

JsonFile::JsonFile(std::string path) : path_(std::move(path))
{
    if (is_stdout()) {
        file_.reset(stdout);
        return;
    }
    std::error_code ec;
    made_here_ = !std::filesystem::exists(std::filesystem::symlink_status(path_, ec));
    file_.reset(std::fopen(path_.c_str(), "w"));
    if (!file_)
        throw BadInput("cannot write --json " + path_ + ": " + std::strerror(errno));
}

JsonFile::~JsonFile()
{
    if (!written_ && made_here_) {
        file_.reset();
        std::remove(path_.c_str());
    }
}

void JsonFile::write(const nlohmann::json& object)
{
    // Guest text (a reason, a task name) may hold bytes that are not UTF-8: replaced,
    // never allowed to abort the output.
    std::string text = object.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size() || std::fflush(file_.get()) != 0)
        throw std::runtime_error("cannot write --json " + path_ + ": " + std::strerror(errno));
    written_ = true;
}

}  // namespace cr3rig::cli
