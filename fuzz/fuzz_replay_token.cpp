// libFuzzer target: the texts a user hands the campaign commands: replay tokens,
// --inject policies and --shard K/N. Each is parsed or refused with BadInput; a token
// that parses encodes back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "campaign/campaign.hpp"
#include "common/errors.hpp"
#include "traps/injection_policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        cr3rig::ReplayToken token = cr3rig::ReplayToken::decode(text);
        if (cr3rig::ReplayToken::decode(token.encode()).encode() != token.encode())
            std::abort();  // a token must survive its own round trip
    } catch (const cr3rig::BadInput&) {
    }
    try {
        cr3rig::InjectionPolicy policy = cr3rig::InjectionPolicy::parse(text);
        for (int i = 0; i < 8; i++)
            if (policy.should_inject())
                (void)policy.delay();
    } catch (const cr3rig::BadInput&) {
    }
    try {
        (void)cr3rig::parse_shard(text);
    } catch (const cr3rig::BadInput&) {
    }
    return 0;
}
