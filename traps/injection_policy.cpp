#include "traps/injection_policy.hpp"

#include <algorithm>
#include <charconv>

#include "common/errors.hpp"

namespace cr3rig {

namespace {

template <typename T>
std::optional<T> number(const std::string& s)
{
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size())
        return std::nullopt;
    return value;
}

[[noreturn]] void bad(const std::string& text, const std::string& why)
{
    throw BadInput("--inject " + text + ": " + why +
                   " (expected none, after-read, after-read:K, nth:N[:K][,N[:K]...] or random:SEED[:P])");
}

}  // namespace

InjectionPolicy InjectionPolicy::parse(const std::string& text)
{
    InjectionPolicy p;
    p.text_ = text;
    auto colon = text.find(':');
    std::string head = text.substr(0, colon), rest = colon == std::string::npos ? "" : text.substr(colon + 1);
    bool has_arg = colon != std::string::npos;
    if (head == "none" && !has_arg) {
        p.mode_ = Mode::None;
    } else if (head == "after-read") {
        p.mode_ = Mode::AfterRead;
        if (has_arg) {
            auto k = number<unsigned>(rest);
            if (!k || *k > 1000)
                bad(text, "K must be a number of instructions from 0 to 1000");
            p.delay_ = *k;
        }
    } else if (head == "nth") {
        if (!has_arg)
            bad(text, "N must be a positive number");
        for (size_t start = 0, end; start <= rest.size(); start = end + 1) {
            end = std::min(rest.find(',', start), rest.size());
            Point point = parse_point(text, rest.substr(start, end - start));
            if (!p.points_.empty() && point.read <= p.points_.back().read)
                bad(text, "the reads of several preemptions must increase");
            p.points_.push_back(point);
        }
        p.mode_ = Mode::Nth;
        p.delay_ = p.points_.front().delay;
    } else if (head == "random") {
        auto second = rest.find(':');
        auto seed = has_arg ? number<uint64_t>(rest.substr(0, second)) : std::nullopt;
        if (!seed)
            bad(text, "SEED must be a number");
        if (second != std::string::npos) {
            auto prob = number<double>(rest.substr(second + 1));
            if (!prob || !(*prob >= 0 && *prob <= 1))  // also refuses NaN
                bad(text, "P must be a probability from 0 to 1");
            p.probability_ = *prob;
        }
        p.mode_ = Mode::Random;
        p.rng_.seed(*seed);
    } else {
        bad(text, "unknown policy");
    }
    return p;
}

InjectionPolicy::Point InjectionPolicy::parse_point(const std::string& policy, const std::string& point)
{
    auto colon = point.find(':');
    auto n = number<uint64_t>(point.substr(0, colon));
    if (!n || *n == 0)
        bad(policy, "N must be a positive number");
    Point out{*n, 0};
    if (colon != std::string::npos) {
        auto k = number<unsigned>(point.substr(colon + 1));
        if (!k || *k > 1000)
            bad(policy, "K must be a number of instructions from 0 to 1000");
        out.delay = *k;
    }
    return out;
}

bool InjectionPolicy::should_inject()
{
    reads_++;
    switch (mode_) {
    case Mode::None: return false;
    case Mode::AfterRead: return true;
    case Mode::Nth:
        for (const Point& point : points_)
            if (point.read == reads_) {
                delay_ = point.delay;
                return true;
            }
        return false;
    case Mode::Random: return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < probability_;
    }
    return false;
}

}  // namespace cr3rig
