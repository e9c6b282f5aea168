#include "common/errors.hpp"

#include <cstring>

namespace cr3rig {

KvmError::KvmError(const std::string& ioctl_name, int err)
    : std::runtime_error(ioctl_name + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")"),
      ioctl_name_(ioctl_name),
      err_(err)
{
}

}  // namespace cr3rig
