#include "injection_policy.hpp"

#include <charconv>

#include "errors.hpp"

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
                   " (expected none, after-read, after-read:K, nth:N[:K] or random:SEED[:P])");
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
        auto second = rest.find(':');
        auto n = has_arg ? number<uint64_t>(rest.substr(0, second)) : std::nullopt;
        if (!n || *n == 0)
            bad(text, "N must be a positive number");
        if (second != std::string::npos) {
            auto k = number<unsigned>(rest.substr(second + 1));
            if (!k || *k > 1000)
                bad(text, "K must be a number of instructions from 0 to 1000");
            p.delay_ = *k;
        }
        p.mode_ = Mode::Nth;
        p.nth_ = *n;
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

bool InjectionPolicy::should_inject()
{
    reads_++;
    switch (mode_) {
    case Mode::None: return false;
    case Mode::AfterRead: return true;
    case Mode::Nth: return reads_ == nth_;
    case Mode::Random: return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < probability_;
    }
    return false;
}

}  // namespace cr3rig
