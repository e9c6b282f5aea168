#include "campaign/plan.hpp"

#include <algorithm>
#include <random>
#include <tuple>
#include <utility>

#include "vmm/elf_loader.hpp"

namespace cr3rig {

CampaignPlan plan_campaign(const ElfImage& image, const CampaignSettings& settings)
{
    CampaignPlan plan;
    std::tie(plan.shard_k, plan.shard_n) =
        settings.shard.empty() ? std::pair{1u, 1u} : parse_shard(settings.shard);
    plan.start = CampaignClock::now();

    ReferenceRun reference = reference_run(image, settings.options);
    plan.reference = reference.verdict;
    plan.reads = reference.windows.size();
    plan.schedules = enumerate_schedules(reference.windows);
    plan.enumerated = plan.schedules.size();
    if (settings.random_seed) {
        std::mt19937_64 rng(*settings.random_seed);
        std::shuffle(plan.schedules.begin(), plan.schedules.end(), rng);
    }
    if (settings.max && plan.schedules.size() > settings.max)
        plan.schedules.resize(settings.max);
    plan.indices = shard_indices(plan.schedules.size(), plan.shard_k, plan.shard_n);
    plan.deadline = settings.time_s > 0
                        ? plan.start + std::chrono::milliseconds(static_cast<long long>(settings.time_s * 1000))
                        : CampaignClock::time_point::max();
    return plan;
}

}  // namespace cr3rig
