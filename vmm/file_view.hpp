// A typed view of an image file that refuses every out-of-bounds read: the loaders
// read headers through it, so a truncated or lying file is BadInput, never a crash.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "common/errors.hpp"
#include "common/hex.hpp"

namespace cr3rig {

// True if [off, off + len) lies inside a buffer of `size` bytes (overflow-safe).
inline bool in_bounds(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }

class FileView {
public:
    // `kind` names the file in errors: "truncated ELF image: ...".
    explicit FileView(std::span<const uint8_t> bytes, std::string kind = "ELF image")
        : bytes_(bytes), kind_(std::move(kind))
    {
    }

    template <typename T>
    T at(uint64_t off, const char* what) const
    {
        if (!in_bounds(off, sizeof(T), bytes_.size()))
            throw BadInput("truncated " + kind_ + ": " + what + " at offset " + hex(off) +
                           " runs past the end of the file (" + std::to_string(bytes_.size()) + " bytes)");
        T value;
        std::memcpy(&value, bytes_.data() + off, sizeof(T));
        return value;
    }

    void require(uint64_t off, uint64_t len, const std::string& what) const
    {
        if (!in_bounds(off, len, bytes_.size()))
            throw BadInput("truncated " + kind_ + ": " + what + " (" + hex(off) + "+" + hex(len) +
                           ") runs past the end of the file (" + std::to_string(bytes_.size()) + " bytes)");
    }

    uint64_t size() const { return bytes_.size(); }
    const uint8_t* data() const { return bytes_.data(); }

private:
    std::span<const uint8_t> bytes_;
    std::string kind_;
};

}  // namespace cr3rig
