#include "campaign/campaign.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/errors.hpp"
#include "common/hex.hpp"
#include "common/verdict.hpp"
#include "traps/trap_engine.hpp"

namespace cr3rig {

std::string Schedule::policy() const
{
    if (injections.empty())
        return "none";
    std::string out = "nth:";
    // Separators are appended, never prepended to a temporary ("," + std::to_string(...)):
    // that is string::insert(0, ...), where g++ 12 at -O3 reports a false
    // -Werror=restrict (GCC PR 105329). Likewise below.
    for (const auto& i : injections) {
        if (out.size() > 4)
            out += ',';
        out += std::to_string(i.read) + ":" + std::to_string(i.delay);
    }
    return out;
}

std::vector<Schedule> extensions(const Schedule& parent, const std::vector<unsigned>& windows)
{
    std::vector<Schedule> out;
    for (size_t i = parent.last_read(); i < windows.size(); i++)
        for (unsigned k = 0; k < std::max(windows[i], 1u); k++) {
            Schedule child = parent;
            child.injections.push_back({i + 1, k});
            out.push_back(std::move(child));
        }
    return out;
}

std::vector<size_t> shard_indices(size_t count, unsigned k, unsigned n)
{
    std::vector<size_t> out;
    for (size_t i = k - 1; i < count; i += n)
        out.push_back(i);
    return out;
}

namespace {

template <typename T>
std::optional<T> number(const std::string& s, int base = 10)
{
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        return std::nullopt;
    return value;
}

std::vector<std::string> split(const std::string& s, char sep)
{
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t pos; (pos = s.find(sep, start)) != std::string::npos; start = pos + 1)
        parts.push_back(s.substr(start, pos - start));
    parts.push_back(s.substr(start));
    return parts;
}

// A token holds what a campaign ran with; other values were never a campaign's.
void check_token_settings(const std::string& text, uint64_t clock, uint64_t faults)
{
    if (clock == kHostTime)
        throw BadInput("replay token '" + text + "' has rig clock 0, host time, which no campaign runs on");
    if (clock < kMinCampaignRigClock || clock > kMaxCampaignRigClock)
        throw BadInput("replay token '" + text + "' has rig clock " + std::to_string(clock) +
                       ", outside what a campaign takes (1 to 2^32 exits per tick)");
    if (faults < kMinLivelockFaults || faults > kMaxLivelockFaults)
        throw BadInput("replay token '" + text + "' has livelock threshold " + std::to_string(faults) +
                       ", outside what a campaign takes (2 to 2^40 faults)");
}

}  // namespace

std::pair<unsigned, unsigned> parse_shard(const std::string& text)
{
    auto parts = split(text, '/');
    std::optional<unsigned> k, n;
    if (parts.size() == 2) {
        k = number<unsigned>(parts[0]);
        n = number<unsigned>(parts[1]);
    }
    if (!k || !n || *k < 1 || *k > *n)
        throw BadInput("--shard " + text + ": expected K/N with 1 <= K <= N");
    return {*k, *n};
}

std::string ReplayToken::encode() const
{
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(guest_hash));
    std::string reads, delays;
    for (const auto& i : schedule.injections) {
        if (!reads.empty())
            reads += '.';
        reads += std::to_string(i.read);
        if (!delays.empty())
            delays += '.';
        delays += std::to_string(i.delay);
    }
    return std::string("cr3rig1-") + hash + "-" + reads + "-" + delays + "-" + std::to_string(rig_clock) + "-" +
           std::to_string(livelock_faults) + (backend == TrapBackend::Auto ? "" : std::string("-") + name_of(backend));
}

ReplayToken ReplayToken::decode(const std::string& text)
{
    auto parts = split(text, '-');
    ReplayToken t;
    auto bad = [&] {
        return BadInput("replay token '" + text +
                        "' is malformed (expected cr3rig1-HASH-READS-DELAYS-CLOCK-FAULTS[-BACKEND])");
    };
    if (parts.size() < 6 || parts.size() > 7 || parts[0] != "cr3rig1" || parts[1].size() != 16)
        throw bad();
    if (parts.size() == 7) {
        auto backend = parse_trap_backend(parts[6]);
        if (!backend || *backend == TrapBackend::Auto)
            throw bad();
        t.backend = *backend;
    }
    auto hash = number<uint64_t>(parts[1], 16);
    auto clock = number<uint64_t>(parts[4]);
    auto faults = number<uint64_t>(parts[5]);
    auto reads = split(parts[2], '.'), delays = split(parts[3], '.');
    if (!hash || !clock || !faults || reads.size() != delays.size() || reads.size() > kMaxPreemptions)
        throw bad();
    check_token_settings(text, *clock, *faults);
    for (size_t i = 0; i < reads.size(); i++) {
        auto read = number<uint64_t>(reads[i]);
        auto delay = number<unsigned>(delays[i]);
        if (!read || !delay || *read <= t.schedule.last_read() || *delay > 1000)
            throw bad();
        t.schedule.injections.push_back({*read, *delay});
    }
    t.guest_hash = *hash;
    t.rig_clock = *clock;
    t.livelock_faults = *faults;
    return t;
}

uint64_t content_hash(const std::vector<uint8_t>& bytes)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint8_t b : bytes) {
        h ^= b;
        h *= 0x100000001b3ull;
    }
    return h;
}

std::string signature(const std::vector<Finding>& findings)
{
    std::vector<std::string> parts;
    for (const auto& f : findings) {
        std::string part = name_of(f.kind);
        if (f.kind == FindingKind::StaleCr3Write)
            part += "(write " + hex(f.site) + ", read " + hex(f.other_site) + ")";
        else
            part.append("(").append(hex(f.site)).append(f.unresolved ? ", unresolved" : "").append(")");
        if (std::find(parts.begin(), parts.end(), part) == parts.end())
            parts.push_back(part);
    }
    if (parts.empty())
        return "clean";
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : " + ") + p;
    return out;
}

std::string ScheduleResult::to_json_line() const
{
    nlohmann::json points = nlohmann::json::array();
    for (const auto& i : schedule.injections)
        points.push_back({i.read, i.delay});
    nlohmann::json j{{"index", index},
                     {"sub", sub},
                     {"injections", points},
                     {"token", token},
                     {"verdict", std::string(name_of(verdict))},
                     {"signature", signature},
                     {"findings", findings},
                     {"ms", ms}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ScheduleResult ScheduleResult::from_json_line(const std::string& line)
{
    try {
        auto j = nlohmann::json::parse(line);
        ScheduleResult r;
        r.index = j.at("index");
        r.sub = j.at("sub");
        for (const auto& point : j.at("injections"))
            r.schedule.injections.push_back({point.at(0).get<uint64_t>(), point.at(1).get<unsigned>()});
        if (r.schedule.injections.empty())
            throw BadInput("not a campaign result line: a schedule without injections");
        r.token = j.at("token");
        std::string verdict = j.at("verdict");
        auto kind = verdict_kind_named(verdict);
        if (!kind)
            throw BadInput("not a campaign result line: unknown verdict '" + verdict + "'");
        r.verdict = *kind;
        r.signature = j.at("signature");
        r.findings = j.at("findings").get<std::vector<std::string>>();
        r.ms = j.at("ms");
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw BadInput(std::string("not a campaign result line: ") + e.what());
    }
}

void explore(const Schedule& root, unsigned max_preemptions,
             const std::function<ScheduleResult(const Schedule&, size_t sub)>& run,
             const std::function<bool(const ScheduleResult&)>& emit)
{
    size_t sub = 0;
    // Depth first with an explicit stack: a root's subtree runs in one worker, from
    // one snapshot, in an order that is the same in every run.
    std::vector<Schedule> stack{root};
    while (!stack.empty()) {
        Schedule schedule = std::move(stack.back());
        stack.pop_back();
        ScheduleResult r = run(schedule, sub++);
        if (!emit(r))
            return;
        if (r.clean() && schedule.injections.size() < max_preemptions) {
            auto children = extensions(schedule, r.windows);
            stack.insert(stack.end(), std::make_move_iterator(children.rbegin()),
                         std::make_move_iterator(children.rend()));
        }
    }
}

bool campaign_order(const ScheduleResult& a, const ScheduleResult& b)
{
    return std::pair{a.index, a.sub} < std::pair{b.index, b.sub};
}

std::vector<FindingGroup> group_results(const std::vector<ScheduleResult>& results)
{
    std::vector<ScheduleResult> sorted = results;
    std::sort(sorted.begin(), sorted.end(), campaign_order);
    std::vector<FindingGroup> groups;
    for (const auto& r : sorted) {
        // A run can fail or crash without a finding (the guest's own verdict): keep
        // those apart from the clean passes.
        std::string key = r.signature;
        if (r.signature == "clean" && r.verdict != VerdictKind::Pass)
            key = "no finding, " + std::string(name_of(r.verdict));
        else if (r.verdict == VerdictKind::Crash || r.verdict == VerdictKind::Timeout)
            key += " [" + std::string(name_of(r.verdict)) + "]";
        auto it = std::find_if(groups.begin(), groups.end(), [&](const FindingGroup& g) { return g.signature == key; });
        if (it == groups.end())
            groups.push_back({key, 1, r});
        else
            it->count++;
    }
    return groups;
}

int campaign_exit_code(const std::vector<ScheduleResult>& results)
{
    bool failed = false, crashed = false, timed_out = false;
    for (const auto& r : results) {
        failed |= r.verdict == VerdictKind::Fail || r.signature != "clean";
        crashed |= r.verdict == VerdictKind::Crash;
        timed_out |= r.verdict == VerdictKind::Timeout;
    }
    VerdictKind worst = failed      ? VerdictKind::Fail
                        : crashed   ? VerdictKind::Crash
                        : timed_out ? VerdictKind::Timeout
                                    : VerdictKind::Pass;
    return exit_code_of(worst);
}

}  // namespace cr3rig
