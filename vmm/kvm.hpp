// RAII wrappers for the three KVM file descriptors: the system (/dev/kvm), a VM and a vCPU.
// Every failing ioctl throws KvmError naming the ioctl and errno.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cr3rig {

// An owned file descriptor, closed on destruction. Move-only.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    int get() const { return fd_; }
    int release();

private:
    int fd_ = -1;
};

class Vm;
class Vcpu;

// The KVM device node: $CR3RIG_KVM_DEVICE if set, else /dev/kvm.
std::string default_kvm_path();

// /dev/kvm. Construction fails with KvmUnavailable when the device cannot be opened
// or speaks another API version.
class Kvm {
public:
    explicit Kvm(const std::string& path = default_kvm_path());

    int api_version() const;
    int check_extension(long cap) const;  // KVM_CHECK_EXTENSION: 0 = absent
    size_t vcpu_mmap_size() const;
    std::vector<kvm_cpuid_entry2> supported_cpuid() const;
    std::vector<uint32_t> msr_index_list() const;  // the MSRs KVM can save and restore

    // Throws KvmUnavailable naming every required capability this host lacks.
    void require_capabilities() const;

    Vm create_vm() const;
    int fd() const { return fd_.get(); }

private:
    Fd fd_;
};

// Why KVM cannot be used here, or nullopt if a VM can be created. Never throws.
std::optional<std::string> kvm_unusable_reason(const std::string& path = default_kvm_path());

class Vm {
public:
    Vm(Fd fd, size_t vcpu_mmap_size) : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

    int check_extension(long cap) const;  // KVM_CHECK_EXTENSION on the VM
    void enable_cap(uint32_t cap, uint64_t arg0);
    void set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host, uint32_t flags = 0);
    void create_irqchip();
    void set_tss_addr(uint64_t gpa);
    void set_identity_map_addr(uint64_t gpa);
    // An MSI to the in-kernel LAPIC: address 0xfee00000, data = vector (fixed delivery).
    void signal_msi(uint32_t vector);
    // kvmclock: the guest's notion of time, in ns.
    uint64_t clock_ns() const;
    kvm_clock_data get_clock() const;
    void set_clock(const kvm_clock_data& clock);
    kvm_irqchip get_irqchip(uint32_t chip_id) const;  // KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC
    void set_irqchip(const kvm_irqchip& chip);
    // The pages of a memory slot written since the last call (KVM_MEM_LOG_DIRTY_PAGES).
    std::vector<uint64_t> get_dirty_log(uint32_t slot, uint64_t pages);
    Vcpu create_vcpu(int id);
    int fd() const { return fd_.get(); }

private:
    Fd fd_;
    size_t vcpu_mmap_size_;
};

class Vcpu {
public:
    Vcpu(Fd fd, size_t mmap_size);
    Vcpu(Vcpu&& o) noexcept;
    Vcpu& operator=(Vcpu&&) = delete;
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;
    ~Vcpu();

    void set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);
    // What the guest's CPUID answers (e.g. its MAXPHYADDR): the table set_cpuid gave as
    // KVM holds it afterwards (KVM_GET_CPUID2), the backend's changes included.
    const std::vector<kvm_cpuid_entry2>& cpuid() const { return cpuid_; }
    kvm_regs get_regs() const;
    void set_regs(const kvm_regs& regs);
    kvm_sregs get_sregs() const;
    void set_sregs(const kvm_sregs& sregs);

    void set_guest_debug(const kvm_guest_debug& debug);
    kvm_lapic_state get_lapic() const;
    void set_lapic(const kvm_lapic_state& lapic);
    uint32_t mp_state() const;  // KVM_MP_STATE_*
    void set_mp_state(uint32_t state);
    kvm_fpu get_fpu() const;
    void set_fpu(const kvm_fpu& fpu);
    kvm_vcpu_events get_vcpu_events() const;
    void set_vcpu_events(const kvm_vcpu_events& events);
    // Delivers exception `vector` with its error code (#GP, #PF...) at the next entry,
    // as if the instruction at RIP had raised it (RIP is not moved); NMI, SIPI, shadow
    // and SMM state are kept.
    // Without an error code for the vectors that have none (#UD, #NM, #MF...).
    void inject_exception(uint8_t vector, std::optional<uint32_t> error_code);
    // Delivers `vector` through the IDT at the next entry as an event already under way,
    // whatever RFLAGS.IF says: RIP as it is now is what the guest's handler sees pushed
    // (a software interrupt's RIP is past its instruction; the caller moves it there).
    void inject_interrupt(uint8_t vector);
    // XCR0 (KVM_GET_XCRS); 1 (x87 only) when KVM has no XCRs for this vCPU.
    uint64_t get_xcr0() const;
    // The 4 KiB XSAVE image in the standard format (KVM_GET_XSAVE / KVM_SET_XSAVE).
    void get_xsave(uint8_t (&image)[4096]) const;
    void set_xsave(const uint8_t (&image)[4096]);
    // Reads the MSRs in order, up to the first one KVM cannot read.
    std::vector<kvm_msr_entry> get_msrs(const std::vector<uint32_t>& indices) const;
    void set_msrs(const std::vector<kvm_msr_entry>& msrs);  // all or a KvmError
    kvm_debugregs get_debugregs() const;
    void set_debugregs(const kvm_debugregs& dbg);

    // Registers KVM copies into kvm_run on every exit (KVM_SYNC_X86_*), so reading
    // them costs no ioctl; 0 turns it off.
    void set_sync_regs(uint64_t mask) { sync_mask_ = mask; }
    uint64_t sync_regs() const { return sync_mask_; }
    // Synced state of the last exit; write through regs_for_write() to change it.
    const kvm_regs& synced_regs() const { return run_->s.regs.regs; }
    const kvm_sregs& synced_sregs() const { return run_->s.regs.sregs; }
    kvm_regs& regs_for_write()
    {
        run_->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        return run_->s.regs.regs;
    }
    kvm_sregs& sregs_for_write()
    {
        run_->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
        return run_->s.regs.sregs;
    }

    // One KVM_RUN. Returns 0, or EINTR when a signal (the watchdog's kick) interrupted it.
    // Any other failure throws KvmError.
    int run();
    // Finishes the operation of the last exit (an I/O or MMIO access) without running the
    // guest: KVM_RUN with immediate_exit. Only then is the vCPU's state consistent (the
    // KVM API's rule); e.g. VT-x and SVM exit for `out` with RIP still at it and skip it
    // on the next KVM_RUN unless RIP was moved, while an emulated `out` exits with RIP
    // already past it. The synced registers are those after it.
    void complete_pending_io();

    kvm_run& run_state() { return *run_; }
    const kvm_run& run_state() const { return *run_; }
    size_t run_state_size() const { return run_size_; }
    int fd() const { return fd_.get(); }

private:
    Fd fd_;
    kvm_run* run_ = nullptr;
    size_t run_size_ = 0;
    uint64_t sync_mask_ = 0;
    std::vector<kvm_cpuid_entry2> cpuid_;
};

}  // namespace cr3rig
