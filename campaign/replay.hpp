// `cr3rig replay`: one campaign schedule run again from its replay token, in a fresh VM.
#pragma once

#include <string>

#include "campaign/campaign.hpp"

namespace cr3rig {

class ElfImage;

// Runs the token's schedule on `image` with the token's rig clock and livelock
// threshold. Throws BadInput, naming `token_text`, when the token was made for
// another guest image.
ScheduleResult replay(const std::string& token_text, const ReplayToken& token, const ElfImage& image);

// The exit code of the run's verdict (0 pass, 1 fail, 3 crash, 124 timeout, 4 skip),
// that of a FAIL when a run the guest passed or skipped has findings.
int replay_exit_code(const ScheduleResult& result);

}  // namespace cr3rig
