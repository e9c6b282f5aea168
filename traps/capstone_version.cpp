#include "traps/capstone_version.hpp"

#include <capstone/capstone.h>

namespace cr3rig {

std::string capstone_version()
{
    int major = 0, minor = 0;
    cs_version(&major, &minor);
    return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace cr3rig
