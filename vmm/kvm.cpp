#include "vmm/kvm.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/errors.hpp"
#include "common/hex.hpp"

namespace cr3rig {

namespace {

// ioctl that retries on EINTR (except where the caller wants EINTR) and throws KvmError otherwise.
template <typename Arg>
int checked_ioctl(int fd, unsigned long request, const char* name, Arg arg)
{
    for (;;) {
        int r = ::ioctl(fd, request, arg);
        if (r >= 0)
            return r;
        if (errno != EINTR)
            throw KvmError(name, errno);
    }
}

#define KVM_IOCTL(fd, req, arg) checked_ioctl((fd), (req), #req, (arg))

// <asm/kvm.h> declares the entries of kvm_cpuid2, kvm_msrs and kvm_msr_list with
// __DECLARE_FLEX_ARRAY, whose empty struct is 1 byte in C++: g++ sizes kvm_cpuid2 as
// 12 bytes and puts the entries at offset 12, so both the ioctl numbers and the layout
// would differ from the kernel's. These ioctls therefore use headers of our own with
// the entries right after them.
struct CpuidHeader {
    uint32_t nent;
    uint32_t padding;
};
struct MsrsHeader {
    uint32_t nmsrs;
    uint32_t pad;
};
struct MsrListHeader {
    uint32_t nmsrs;
};
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
constexpr unsigned long kGetCpuid2 = _IOWR(KVMIO, 0x91, CpuidHeader);
constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);

// A header followed by `n` entries, laid out as the kernel expects; the header's count
// field is the first 32 bits in all of them.
template <typename Header, typename Entry>
class FlexBuffer {
public:
    explicit FlexBuffer(size_t n) : bytes_(sizeof(Header) + n * sizeof(Entry))
    {
        uint32_t count = static_cast<uint32_t>(n);
        std::memcpy(bytes_.data(), &count, sizeof count);
    }
    Header* header() { return reinterpret_cast<Header*>(bytes_.data()); }
    Entry* entries() { return reinterpret_cast<Entry*>(bytes_.data() + sizeof(Header)); }
    void* data() { return bytes_.data(); }

private:
    std::vector<uint8_t> bytes_;
};
using CpuidBuffer = FlexBuffer<CpuidHeader, kvm_cpuid_entry2>;
using MsrBuffer = FlexBuffer<MsrsHeader, kvm_msr_entry>;

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept
{
    if (this != &o) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd()
{
    if (fd_ >= 0)
        ::close(fd_);
}

int Fd::release()
{
    int fd = fd_;
    fd_ = -1;
    return fd;
}

std::string default_kvm_path()
{
    const char* env = std::getenv("CR3RIG_KVM_DEVICE");
    return env && *env ? env : "/dev/kvm";
}

Kvm::Kvm(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        throw KvmUnavailable("cannot open " + path + ": " + std::strerror(errno));
    fd_ = Fd(fd);
    if (int v = api_version(); v != KVM_API_VERSION)
        throw KvmUnavailable(path + " speaks KVM API version " + std::to_string(v) + ", the rig needs " +
                             std::to_string(KVM_API_VERSION));
}

int Kvm::api_version() const { return KVM_IOCTL(fd_.get(), KVM_GET_API_VERSION, 0); }

int Kvm::check_extension(long cap) const { return KVM_IOCTL(fd_.get(), KVM_CHECK_EXTENSION, cap); }

size_t Kvm::vcpu_mmap_size() const
{
    return static_cast<size_t>(KVM_IOCTL(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0));
}

std::vector<kvm_cpuid_entry2> Kvm::supported_cpuid() const
{
    // The kernel says E2BIG until the buffer is large enough.
    for (uint32_t n = 64;; n *= 2) {
        CpuidBuffer buf(n);
        if (::ioctl(fd_.get(), kGetSupportedCpuid, buf.data()) == 0)
            return {buf.entries(), buf.entries() + std::min(buf.header()->nent, n)};
        if (errno != E2BIG || n >= 4096)
            throw KvmError("KVM_GET_SUPPORTED_CPUID", errno);
    }
}

std::vector<uint32_t> Kvm::msr_index_list() const
{
    // The kernel says E2BIG (and how many there are) until the buffer is large enough.
    for (uint32_t n = 256;; n *= 2) {
        FlexBuffer<MsrListHeader, uint32_t> buf(n);
        if (::ioctl(fd_.get(), kGetMsrIndexList, buf.data()) == 0)
            return {buf.entries(), buf.entries() + std::min(buf.header()->nmsrs, n)};
        if (errno != E2BIG || n >= 65536)
            throw KvmError("KVM_GET_MSR_INDEX_LIST", errno);
    }
}

void Kvm::require_capabilities() const
{
    struct Required {
        long cap;
        const char* name;
    };
    static constexpr Required required[] = {
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
        {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
        {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
        {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    };
    std::string missing;
    for (const auto& r : required)
        if (check_extension(r.cap) <= 0)
            missing += std::string(missing.empty() ? "" : ", ") + r.name;
    if (!missing.empty())
        throw KvmUnavailable("KVM lacks capabilities the rig needs: " + missing);
}

Vm Kvm::create_vm() const
{
    int fd = KVM_IOCTL(fd_.get(), KVM_CREATE_VM, 0);
    return Vm(Fd(fd), vcpu_mmap_size());
}

std::optional<std::string> kvm_unusable_reason(const std::string& path)
{
    try {
        Kvm kvm(path);
        kvm.require_capabilities();
        Vm vm = kvm.create_vm();
        (void)vm;
        return std::nullopt;
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
}

int Vm::check_extension(long cap) const { return KVM_IOCTL(fd_.get(), KVM_CHECK_EXTENSION, cap); }

void Vm::enable_cap(uint32_t cap, uint64_t arg0)
{
    kvm_enable_cap c{};
    c.cap = cap;
    c.args[0] = arg0;
    KVM_IOCTL(fd_.get(), KVM_ENABLE_CAP, &c);
}

void Vm::set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host, uint32_t flags)
{
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.flags = flags;
    region.guest_phys_addr = gpa;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    KVM_IOCTL(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region);
}

void Vm::create_irqchip() { KVM_IOCTL(fd_.get(), KVM_CREATE_IRQCHIP, 0); }

void Vm::set_tss_addr(uint64_t gpa) { KVM_IOCTL(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(gpa)); }

void Vm::set_identity_map_addr(uint64_t gpa)
{
    uint64_t addr = gpa;
    KVM_IOCTL(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &addr);
}

void Vm::signal_msi(uint32_t vector)
{
    kvm_msi msi{};
    msi.address_lo = 0xfee00000;
    msi.data = vector;
    KVM_IOCTL(fd_.get(), KVM_SIGNAL_MSI, &msi);
}

uint64_t Vm::clock_ns() const
{
    kvm_clock_data clock{};
    KVM_IOCTL(fd_.get(), KVM_GET_CLOCK, &clock);
    return clock.clock;
}

kvm_clock_data Vm::get_clock() const
{
    kvm_clock_data clock{};
    KVM_IOCTL(fd_.get(), KVM_GET_CLOCK, &clock);
    return clock;
}

void Vm::set_clock(const kvm_clock_data& clock)
{
    kvm_clock_data c{};
    c.clock = clock.clock;
    KVM_IOCTL(fd_.get(), KVM_SET_CLOCK, &c);
}

kvm_irqchip Vm::get_irqchip(uint32_t chip_id) const
{
    kvm_irqchip chip{};
    chip.chip_id = chip_id;
    KVM_IOCTL(fd_.get(), KVM_GET_IRQCHIP, &chip);
    return chip;
}

void Vm::set_irqchip(const kvm_irqchip& chip) { KVM_IOCTL(fd_.get(), KVM_SET_IRQCHIP, &chip); }

std::vector<uint64_t> Vm::get_dirty_log(uint32_t slot, uint64_t pages)
{
    std::vector<uint64_t> bitmap((pages + 63) / 64);
    kvm_dirty_log log{};
    log.slot = slot;
    log.dirty_bitmap = bitmap.data();
    KVM_IOCTL(fd_.get(), KVM_GET_DIRTY_LOG, &log);
    return bitmap;
}

Vcpu Vm::create_vcpu(int id)
{
    int fd = KVM_IOCTL(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
    return Vcpu(Fd(fd), vcpu_mmap_size_);
}

Vcpu::Vcpu(Fd fd, size_t mmap_size) : fd_(std::move(fd)), run_size_(mmap_size)
{
    void* p = ::mmap(nullptr, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (p == MAP_FAILED)
        throw KvmError("mmap(vcpu kvm_run)", errno);
    run_ = static_cast<kvm_run*>(p);
}

Vcpu::Vcpu(Vcpu&& o) noexcept
    : fd_(std::move(o.fd_)), run_(o.run_), run_size_(o.run_size_), sync_mask_(o.sync_mask_),
      cpuid_(std::move(o.cpuid_))
{
    o.run_ = nullptr;
    o.run_size_ = 0;
}

Vcpu::~Vcpu()
{
    if (run_)
        ::munmap(run_, run_size_);
}

void Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries)
{
    CpuidBuffer buf(entries.size());
    std::memcpy(buf.entries(), entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
    checked_ioctl(fd_.get(), kSetCpuid2, "KVM_SET_CPUID2", buf.data());
    // What the guest's CPUID answers is KVM's table after the backend's own changes
    // (PVM adds host features such as SMAP and XSAVE): read it back.
    CpuidBuffer back(entries.size() + 64);
    if (::ioctl(fd_.get(), kGetCpuid2, back.data()) == 0)
        cpuid_.assign(back.entries(), back.entries() + std::min<size_t>(back.header()->nent, entries.size() + 64));
    else
        cpuid_ = entries;
}

kvm_regs Vcpu::get_regs() const
{
    kvm_regs regs{};
    KVM_IOCTL(fd_.get(), KVM_GET_REGS, &regs);
    return regs;
}

void Vcpu::set_regs(const kvm_regs& regs) { KVM_IOCTL(fd_.get(), KVM_SET_REGS, &regs); }

kvm_sregs Vcpu::get_sregs() const
{
    kvm_sregs sregs{};
    KVM_IOCTL(fd_.get(), KVM_GET_SREGS, &sregs);
    return sregs;
}

void Vcpu::set_sregs(const kvm_sregs& sregs) { KVM_IOCTL(fd_.get(), KVM_SET_SREGS, &sregs); }

void Vcpu::set_guest_debug(const kvm_guest_debug& debug) { KVM_IOCTL(fd_.get(), KVM_SET_GUEST_DEBUG, &debug); }

kvm_lapic_state Vcpu::get_lapic() const
{
    kvm_lapic_state lapic{};
    KVM_IOCTL(fd_.get(), KVM_GET_LAPIC, &lapic);
    return lapic;
}

void Vcpu::set_lapic(const kvm_lapic_state& lapic) { KVM_IOCTL(fd_.get(), KVM_SET_LAPIC, &lapic); }

uint32_t Vcpu::mp_state() const
{
    kvm_mp_state state{};
    KVM_IOCTL(fd_.get(), KVM_GET_MP_STATE, &state);
    return state.mp_state;
}

void Vcpu::set_debugregs(const kvm_debugregs& dbg) { KVM_IOCTL(fd_.get(), KVM_SET_DEBUGREGS, &dbg); }

void Vcpu::set_mp_state(uint32_t state)
{
    kvm_mp_state mp{state};
    KVM_IOCTL(fd_.get(), KVM_SET_MP_STATE, &mp);
}

kvm_fpu Vcpu::get_fpu() const
{
    kvm_fpu fpu{};
    KVM_IOCTL(fd_.get(), KVM_GET_FPU, &fpu);
    return fpu;
}

void Vcpu::set_fpu(const kvm_fpu& fpu) { KVM_IOCTL(fd_.get(), KVM_SET_FPU, &fpu); }

kvm_vcpu_events Vcpu::get_vcpu_events() const
{
    kvm_vcpu_events events{};
    KVM_IOCTL(fd_.get(), KVM_GET_VCPU_EVENTS, &events);
    return events;
}

void Vcpu::set_vcpu_events(const kvm_vcpu_events& events) { KVM_IOCTL(fd_.get(), KVM_SET_VCPU_EVENTS, &events); }

// "injected", not "pending": without KVM_CAP_EXCEPTION_PAYLOAD that is the one way in,
// and it enters the guest as the exception itself. Flags 0: the fields they guard stay.
void Vcpu::inject_exception(uint8_t vector, std::optional<uint32_t> error_code)
{
    kvm_vcpu_events events = get_vcpu_events();
    events.flags = 0;
    events.exception.injected = 1;
    events.exception.nr = vector;
    events.exception.has_error_code = error_code.has_value();
    events.exception.error_code = error_code.value_or(0);
    set_vcpu_events(events);
}

// Injected with soft = 0: an external-interrupt-type event, which pushes RIP as it is
// (a soft one would add an instruction length KVM keeps from the last exit).
void Vcpu::inject_interrupt(uint8_t vector)
{
    kvm_vcpu_events events = get_vcpu_events();
    events.flags = 0;
    events.interrupt.injected = 1;
    events.interrupt.nr = vector;
    events.interrupt.soft = 0;
    set_vcpu_events(events);
}

uint64_t Vcpu::get_xcr0() const
{
    kvm_xcrs xcrs{};
    KVM_IOCTL(fd_.get(), KVM_GET_XCRS, &xcrs);
    for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
        if (xcrs.xcrs[i].xcr == 0)
            return xcrs.xcrs[i].value;
    return 1;
}

namespace {
// kvm_xsave ends in a flexible array (see the note on kvm_cpuid2 above): the ioctls
// are declared on a 4 KiB region of our own, the size the kernel's numbers encode.
struct XsaveRegion {
    uint8_t bytes[4096];
};
constexpr unsigned long kGetXsave = _IOR(KVMIO, 0xa4, XsaveRegion);
constexpr unsigned long kSetXsave = _IOW(KVMIO, 0xa5, XsaveRegion);
}  // namespace

void Vcpu::get_xsave(uint8_t (&image)[4096]) const { checked_ioctl(fd_.get(), kGetXsave, "KVM_GET_XSAVE", image); }

void Vcpu::set_xsave(const uint8_t (&image)[4096])
{
    checked_ioctl(fd_.get(), kSetXsave, "KVM_SET_XSAVE", const_cast<uint8_t*>(image));
}

std::vector<kvm_msr_entry> Vcpu::get_msrs(const std::vector<uint32_t>& indices) const
{
    MsrBuffer buf(indices.size());
    for (size_t i = 0; i < indices.size(); i++)
        buf.entries()[i] = kvm_msr_entry{indices[i], 0, 0};
    // KVM_GET_MSRS returns how many it read; it stops at the first it cannot.
    int read = checked_ioctl(fd_.get(), kGetMsrs, "KVM_GET_MSRS", buf.data());
    return {buf.entries(), buf.entries() + read};
}

void Vcpu::set_msrs(const std::vector<kvm_msr_entry>& msrs)
{
    MsrBuffer buf(msrs.size());
    std::copy(msrs.begin(), msrs.end(), buf.entries());
    int written = checked_ioctl(fd_.get(), kSetMsrs, "KVM_SET_MSRS", buf.data());
    if (static_cast<size_t>(written) != msrs.size())
        throw KvmError("KVM_SET_MSRS (MSR " + hex(msrs[static_cast<size_t>(written)].index) + " refused)", EINVAL);
}

kvm_debugregs Vcpu::get_debugregs() const
{
    kvm_debugregs dbg{};
    KVM_IOCTL(fd_.get(), KVM_GET_DEBUGREGS, &dbg);
    return dbg;
}

int Vcpu::run()
{
    run_->kvm_valid_regs = sync_mask_;
    for (;;) {
        if (::ioctl(fd_.get(), KVM_RUN, 0) == 0)
            return 0;
        if (errno == EINTR)
            return EINTR;
        // An application processor that got INIT and waits for its SIPI: KVM returns to
        // user space once per INIT and expects KVM_RUN again (a kick still ends it: EINTR).
        if (errno != EAGAIN)
            throw KvmError("KVM_RUN", errno);
    }
}

void Vcpu::complete_pending_io()
{
    run_->kvm_valid_regs = sync_mask_;
    uint8_t kicked = __atomic_exchange_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
    int rc = ::ioctl(fd_.get(), KVM_RUN, 0);
    int err = errno;
    if (!kicked)  // the watchdog's own request to stop stays
        __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (rc != 0 && err != EINTR)
        throw KvmError("KVM_RUN (immediate exit)", err);
}

}  // namespace cr3rig
