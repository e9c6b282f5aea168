#include "vmm/guest_memory.hpp"

#include "common/hex.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace cr3rig {

GuestMemory::GuestMemory(uint64_t size) : size_(size)
{
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        throw KvmError("mmap(guest memory)", errno);
    base_ = static_cast<uint8_t*>(p);
}

GuestMemory::~GuestMemory() { ::munmap(base_, size_); }

static std::string range_text(uint64_t gpa, uint64_t len, uint64_t size)
{
    return "guest-physical range " + hex(gpa) + "+" + hex(len) + " is outside guest memory (" + hex(size) + " bytes)";
}

std::span<uint8_t> GuestMemory::span(uint64_t gpa, uint64_t len)
{
    if (!contains(gpa, len))
        throw GuestAccessError(range_text(gpa, len, size_));
    return {base_ + gpa, static_cast<size_t>(len)};
}

std::span<const uint8_t> GuestMemory::span(uint64_t gpa, uint64_t len) const
{
    if (!contains(gpa, len))
        throw GuestAccessError(range_text(gpa, len, size_));
    return {base_ + gpa, static_cast<size_t>(len)};
}

void GuestMemory::write_bytes(uint64_t gpa, std::span<const uint8_t> bytes)
{
    auto dst = span(gpa, bytes.size());
    std::copy(bytes.begin(), bytes.end(), dst.begin());
}

std::string GuestMemory::read_cstring(uint64_t gpa, size_t max_len) const
{
    if (!contains(gpa, 1))
        throw GuestAccessError(range_text(gpa, 1, size_));
    auto bytes = span(gpa, std::min<uint64_t>(max_len, size_ - gpa));
    auto end = std::find(bytes.begin(), bytes.end(), uint8_t{0});
    return {bytes.begin(), end};
}

}  // namespace cr3rig
