#include "vmm/devices/pc_testdev.hpp"

#include <sys/mman.h>

#include <cstring>

#include "cr3rig/abi.h"
#include "vmm/devices/io_elements.hpp"
#include "vmm/guest_memory.hpp"

namespace cr3rig {

namespace {

constexpr uint16_t kData = CR3RIG_TESTDEV_PORT, kFlush = CR3RIG_TESTDEV_PORT + 4, kByteData = CR3RIG_TESTDEV_PORT + 8;
constexpr uint64_t kPage = 4096;
static_assert(CR3RIG_TESTDEV_MMIO_LEN == 0x10000, "iomem is QEMU's 64 KiB");

}  // namespace

PcTestdev::PcTestdev(GuestMemory& memory, Platform& platform) : memory_(memory), platform_(platform) {}

Claims PcTestdev::claims() const
{
    return {{{CR3RIG_TESTDEV_PORT, CR3RIG_TESTDEV_LEN}, {CR3RIG_TESTDEV_IRQ_PORT, CR3RIG_TESTDEV_IRQ_LEN}},
            {{CR3RIG_TESTDEV_MMIO, CR3RIG_TESTDEV_MMIO_LEN}}};
}

ExitAction PcTestdev::io(const IoAccess& access)
{
    if (access.port == kFlush) {
        if (access.out && access.size == 4)  // QEMU takes only 4-byte writes here
            flush_page(access.value());
        else if (!access.out)
            std::memset(access.data.data(), 0, access.data.size());
        return std::nullopt;
    }
    for_each_io_byte(access, [&](uint16_t port, uint8_t& byte) {
        if (port >= CR3RIG_TESTDEV_IRQ_PORT) {
            unsigned line = port - CR3RIG_TESTDEV_IRQ_PORT;
            if (!access.out)
                byte = 0;
            else if (line < CR3RIG_TESTDEV_IRQ_LEN)
                platform_.set_irq_line(line, byte != 0);
            return;
        }
        unsigned offset = port >= kByteData ? port - kByteData : port - kData;
        if (offset >= 4) {  // past the data register (the flush port's other bytes)
            if (!access.out)
                byte = 0xff;
            return;
        }
        if (access.out)
            state_.data = (state_.data & ~(0xffu << (8 * offset))) | (uint32_t{byte} << (8 * offset));
        else
            byte = static_cast<uint8_t>(state_.data >> (8 * offset));
    });
    return std::nullopt;
}

ExitAction PcTestdev::mmio(const MmioAccess& access)
{
    uint64_t offset = access.gpa - CR3RIG_TESTDEV_MMIO;
    for (size_t i = 0; i < access.data.size(); i++) {
        uint64_t at = offset + i;
        if (at >= state_.iomem.size()) {  // an access that runs off the end: nothing there
            if (!access.write)
                access.data[i] = 0xff;
        } else if (access.write) {
            state_.iomem[at] = access.data[i];
        } else {
            access.data[i] = state_.iomem[at];
        }
    }
    return std::nullopt;
}

// What QEMU does: unmap the host page and map it again. The contents stay; KVM, told by
// the kernel's MMU notifier, drops what it had mapped of the page and faults it in again.
void PcTestdev::flush_page(uint64_t gpa)
{
    uint64_t page = gpa & ~(kPage - 1);
    if (!memory_.contains(page, kPage))
        return;
    void* host = static_cast<uint8_t*>(memory_.host_base()) + page;
    if (::mprotect(host, kPage, PROT_NONE) == 0)
        ::mprotect(host, kPage, PROT_READ | PROT_WRITE);
    pages_flushed_++;
}

}  // namespace cr3rig
