#include "campaign/replay.hpp"

#include "campaign/campaign_runner.hpp"
#include "common/errors.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig {

ScheduleResult replay(const std::string& token_text, const ReplayToken& token, const ElfImage& image)
{
    if (content_hash(image.bytes()) != token.guest_hash)
        throw BadInput("replay token " + token_text + " was made for another guest image");
    CampaignOptions options;
    options.rig_clock = token.rig_clock;
    options.livelock_faults = token.livelock_faults;
    return run_schedule(image, token.schedule, options, 0);
}

}  // namespace cr3rig
