// Guest RAM: one anonymous mapping, registered with KVM as slot 0 at guest-physical 0.
// Every access goes through bounds-checked accessors: a guest-supplied address or
// length is never turned into a host pointer without a check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "common/errors.hpp"

namespace cr3rig {

class GuestMemory {
public:
    explicit GuestMemory(uint64_t size);
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;
    ~GuestMemory();

    uint64_t size() const { return size_; }
    void* host_base() const { return base_; }

    // True when [gpa, gpa + len) lies inside guest memory (overflow-safe).
    bool contains(uint64_t gpa, uint64_t len) const { return gpa <= size_ && len <= size_ - gpa; }

    // The bytes of [gpa, gpa + len). Throws GuestAccessError when out of range.
    std::span<uint8_t> span(uint64_t gpa, uint64_t len);
    std::span<const uint8_t> span(uint64_t gpa, uint64_t len) const;

    template <typename T>
    T read(uint64_t gpa) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        std::memcpy(&value, span(gpa, sizeof(T)).data(), sizeof(T));
        return value;
    }

    template <typename T>
    void write(uint64_t gpa, const T& value)
    {
        static_assert(std::is_trivially_copyable_v<T>);
        std::memcpy(span(gpa, sizeof(T)).data(), &value, sizeof(T));
    }

    void write_bytes(uint64_t gpa, std::span<const uint8_t> bytes);

    // A string of at most max_len bytes at gpa, ending at the first NUL or at the
    // end of guest memory, whichever comes first. Throws only if gpa itself is outside.
    std::string read_cstring(uint64_t gpa, size_t max_len) const;

private:
    uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
};

}  // namespace cr3rig
