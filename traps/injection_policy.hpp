// When to force a timer-interrupt preemption after a CR3 read.
//   none              trap and record only
//   after-read        after every read
//   after-read:K      K instructions after every read (still before the write)
//   nth:N[:K]         only after the N-th read of the run (1-based), K instructions later
//   nth:N[:K],M[:L]   several preemptions in one run: after the N-th and the M-th read
//                     (N < M, counted over the whole run, injected reads included)
//   random:SEED[:P]   after each read with probability P (default 0.5); same seed, same choices
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace cr3rig {

class InjectionPolicy {
public:
    enum class Mode { None, AfterRead, Nth, Random };

    // Throws BadInput with a one-line reason for anything else.
    static InjectionPolicy parse(const std::string& text);

    // Called at each dynamic CR3 read, in order: inject after this one?
    bool should_inject();
    // Instructions to single-step after the read before injecting (after-read:K), for
    // the read should_inject() last said yes to.
    unsigned delay() const { return delay_; }
    bool traps_only() const { return mode_ == Mode::None; }
    const std::string& text() const { return text_; }

    // nth:'s preemptions, in increasing read order: after the `read`-th CR3 read,
    // `delay` instructions later. Empty for every other policy.
    struct Point {
        uint64_t read;
        unsigned delay;
    };
    const std::vector<Point>& nth_points() const { return points_; }

private:
    Mode mode_ = Mode::None;

    static Point parse_point(const std::string& policy, const std::string& point);

    unsigned delay_ = 0;
    std::vector<Point> points_;  // nth: in increasing read order
    double probability_ = 0.5;
    uint64_t reads_ = 0;
    std::mt19937_64 rng_;
    std::string text_ = "none";
};

}  // namespace cr3rig
