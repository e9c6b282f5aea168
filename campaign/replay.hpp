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

}  // namespace cr3rig
