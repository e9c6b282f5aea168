// A register dump for crash verdicts, in the layout kernel people read every day.
#pragma once

#include <linux/kvm.h>

#include <string>

namespace cr3rig {

class BootImage;

// `symbols` names RIP when the image can (nullptr: bare addresses).
std::string format_registers(const kvm_regs& regs, const kvm_sregs& sregs, const BootImage* symbols);

}  // namespace cr3rig
