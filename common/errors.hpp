// The typed errors of the VMM. Each maps to one CLI exit code (see verdict.hpp).
#pragma once

#include <stdexcept>
#include <string>

namespace cr3rig {

// A KVM ioctl failed. Names the ioctl and keeps errno: "KVM_CREATE_VM: Permission denied (errno 13)".
class KvmError : public std::runtime_error {
public:
    KvmError(const std::string& ioctl_name, int err);
    const std::string& ioctl_name() const { return ioctl_name_; }
    int err() const { return err_; }

private:
    std::string ioctl_name_;
    int err_;
};

// /dev/kvm is missing, not accessible, or lacks a capability the rig needs: the run is skipped.
class KvmUnavailable : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Input the user handed us is unusable (malformed image, missing file...): exit 2.
class BadInput : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A configuration cr3rig cannot give on this host or at all (a CPU model it does not
// know, more vCPUs than KVM allows): not the user's typo, so the run is skipped (exit 4)
// with the one-line reason, as QEMU's runner skips what QEMU cannot do.
class Unsupported : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The guest named a guest-physical range outside its memory.
class GuestAccessError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace cr3rig
