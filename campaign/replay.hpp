// `cr3rig replay`: one campaign schedule run again from its replay token, in a fresh VM.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "campaign/campaign.hpp"
#include "traps/trap_engine.hpp"

namespace cr3rig {

class ElfImage;

struct ReplayOptions {
    std::chrono::milliseconds timeout{30'000};  // as a campaign's default
    std::string history_path;                   // the run's CR3 history, if given
};

// Runs the token's schedule on `image` with the token's rig clock and livelock
// threshold. Throws BadInput, naming `token_text`, when the token was made for
// another guest image, or names a CR3 read the run never came to before it ended
// (other than by its deadline): no campaign of this guest makes such a token.
ScheduleResult replay(const std::string& token_text, const ReplayToken& token, const ElfImage& image,
                      const ReplayOptions& options = {});

// The token that replays one `cr3rig run` of `image` under the trap engine, when one
// can: an nth: policy of at most kMaxPreemptions preemptions, on the rig clock, with
// the campaign's task symbols and livelock abort. nullopt otherwise (after-read and
// random: are not one schedule; host time is not reproducible).
std::optional<std::string> run_replay_token(const ElfImage& image, const TrapOptions& options);

}  // namespace cr3rig
