// Port accesses element by element (a `rep ins/outs` has count > 1), each element
// byte by byte, for devices whose registers are bytes at consecutive ports: a wider
// access is its bytes at port, port + 1..., as QEMU splits it for byte-sized registers.
#pragma once

#include <cstdint>
#include <span>

#include "vmm/vm_exit.hpp"

namespace cr3rig {

// fn(port, byte&) for every byte of every element: for `in` the device sets the byte,
// for `out` it reads it.
template <typename Fn>
void for_each_io_byte(const IoAccess& access, Fn&& fn)
{
    size_t elements = access.size ? access.data.size() / access.size : 0;
    for (size_t e = 0; e < elements; e++) {
        std::span<uint8_t> element = access.data.subspan(e * access.size, access.size);
        for (uint32_t i = 0; i < access.size; i++)
            fn(static_cast<uint16_t>(access.port + i), element[i]);
    }
}

}  // namespace cr3rig
