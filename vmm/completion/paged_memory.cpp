#include "vmm/completion/paged_memory.hpp"

#include <algorithm>
#include <cstring>

#include "vmm/guest_memory.hpp"

namespace cr3rig {

namespace {

constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kAccessed = 1 << 5, kDirty = 1 << 6, kLarge = 1 << 7;
constexpr uint64_t kNoExecute = 1ull << 63;
constexpr uint32_t kErrPresent = 1, kErrWrite = 2, kErrUser = 4, kErrReserved = 8, kErrFetch = 16, kErrKey = 32;

// The guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]), 36 when it does not say.
unsigned maxphyaddr_of(const CpuState& cpu)
{
    for (const auto& e : cpu.cpuid)
        if (e.function == 0x80000008 && (e.eax & 0xff))
            return e.eax & 0xff;
    return 36;
}

// CPUID 80000001H:EDX[26]: 1 GiB pages.
bool has_page1gb(const CpuState& cpu)
{
    for (const auto& e : cpu.cpuid)
        if (e.function == 0x80000001)
            return (e.edx >> 26) & 1;
    return false;
}

template <typename T>
void atomic_set_bits(GuestMemory& memory, uint64_t gpa, T bits)
{
    auto* p = reinterpret_cast<T*>(memory.span(gpa, sizeof(T)).data());
    if ((__atomic_load_n(p, __ATOMIC_RELAXED) & bits) != bits)
        __atomic_fetch_or(p, bits, __ATOMIC_SEQ_CST);
}

bool compare_exchange_16(void* host, uint8_t* expected, const uint8_t* desired)
{
    uint64_t lo, hi, dlo, dhi;
    std::memcpy(&lo, expected, 8);
    std::memcpy(&hi, expected + 8, 8);
    std::memcpy(&dlo, desired, 8);
    std::memcpy(&dhi, desired + 8, 8);
    bool swapped;
    __asm__ volatile("lock cmpxchg16b %1"
                     : "=@ccz"(swapped), "+m"(*static_cast<unsigned __int128*>(host)), "+a"(lo), "+d"(hi)
                     : "b"(dlo), "c"(dhi)
                     : "memory");
    std::memcpy(expected, &lo, 8);
    std::memcpy(expected + 8, &hi, 8);
    return swapped;
}

}  // namespace

PagedGuestMemory::PagedGuestMemory(GuestMemory& memory, const CpuState& cpu)
    : memory_(memory), cr0_(cpu.sregs.cr0), cr3_(cpu.sregs.cr3), cr4_(cpu.sregs.cr4), efer_(cpu.sregs.efer),
      cpl_(current_privilege(cpu)), ac_(cpu.regs.rflags & rflags::kAC), maxphyaddr_(maxphyaddr_of(cpu)), pkru_(cpu.pkru), page1gb_(has_page1gb(cpu))
{
}

std::variant<uint64_t, PageFault, NotRam, Unmodelled> PagedGuestMemory::translate(uint64_t linear, Intent intent,
                                                                                  AccessMode mode)
{
    bool long_mode = efer_ & efer::kLMA;
    if (!(cr0_ & cr0::kPG)) {
        uint64_t gpa = long_mode ? linear : linear & 0xffffffffull;
        if (!memory_.contains(gpa, 1))
            return NotRam{gpa};
        return gpa;
    }
    bool pae = cr4_ & cr4::kPAE, wide = long_mode || pae, nxe = efer_ & efer::kNXE;
    bool user_access = mode == AccessMode::Data && cpl_ == 3;
    bool write = intent == Intent::Write, fetch = intent == Intent::Execute;
    uint32_t access_bits = (write ? kErrWrite : 0) | (user_access ? kErrUser : 0) |
                           (fetch && ((wide && nxe) || (cr4_ & cr4::kSMEP)) ? kErrFetch : 0);
    auto fault = [&](uint32_t bits) { return PageFault{linear, access_bits | bits}; };

    const uint64_t phys_mask = wide ? ((1ull << maxphyaddr_) - 1) & ~0xfffull : 0xfffff000ull;
    // Reserved address bits: 51:MAXPHYADDR in 4/5-level entries (62:52 are ignored
    // there), 62:MAXPHYADDR in PAE entries.
    const uint64_t above_maxphy = long_mode ? (((1ull << 52) - 1) & ~((1ull << maxphyaddr_) - 1))
                                  : pae     ? (((1ull << 63) - 1) & ~((1ull << maxphyaddr_) - 1))
                                            : 0;
    int levels = long_mode ? ((cr4_ & cr4::kLA57) ? 5 : 4) : pae ? 3 : 2;
    unsigned entry_size = wide ? 8 : 4;
    uint64_t table = long_mode ? (cr3_ & phys_mask) : pae ? (cr3_ & 0xffffffe0ull) : (cr3_ & 0xfffff000ull);

    uint64_t entry_gpas[5];
    int walked = 0;
    bool writable = true, user = true, no_execute = false;
    uint64_t gpa = 0, leaf = 0;
    for (int level = levels; level >= 1; level--) {
        unsigned shift = wide ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
        unsigned index_bits = wide ? 9 : 10;
        bool pdpte = pae && !long_mode && level == 3;  // PAE's PDPTEs: present and address only
        if (pdpte)
            index_bits = 2;
        uint64_t entry_gpa = table + ((linear >> shift) & ((1ull << index_bits) - 1)) * entry_size;
        if (!memory_.contains(entry_gpa, entry_size))
            return Unmodelled{"page tables outside guest RAM"};
        uint64_t entry = entry_size == 8 ? memory_.read<uint64_t>(entry_gpa) : memory_.read<uint32_t>(entry_gpa);
        if (!(entry & kPresent))
            return fault(0);
        bool reserved = (entry & above_maxphy) != 0;
        if (pdpte)
            reserved = reserved || (entry & (0x1e6ull | kNoExecute));
        else if (wide && !nxe && (entry & kNoExecute))
            reserved = true;
        bool large = !pdpte && level > 1 && (entry & kLarge) && (wide || (cr4_ & (1ull << 4) /* PSE */));
        if (long_mode && level >= 4 && (entry & kLarge))
            reserved = true;  // no pages above 1 GiB
        if (long_mode && level == 3 && (entry & kLarge) && !page1gb_)
            reserved = true;  // 1 GiB pages only where CPUID says so
        if (large && wide && (entry & (((1ull << shift) - 1) & ~0x1fffull)))
            reserved = true;  // the address bits of a large page below its size
        if (large && !wide && (entry & 0x3fe000ull))
            return Unmodelled{"a 4 MiB page with PSE-36 address bits"};
        if (reserved)
            return fault(kErrPresent | kErrReserved);
        if (!pdpte) {
            writable = writable && (entry & kWritable);
            user = user && (entry & kUser);
            no_execute = no_execute || (nxe && (entry & kNoExecute));
        }
        if (!pdpte)  // a PAE PDPTE has no Accessed bit (bits 8:5 are reserved)
            entry_gpas[walked++] = entry_gpa;
        if (level == 1 || large) {
            leaf = entry;
            uint64_t page_mask = (1ull << shift) - 1;
            gpa = ((entry & phys_mask) & ~page_mask) | (linear & page_mask);
            break;
        }
        table = entry & phys_mask;
    }

    bool denied;
    if (user_access)
        denied = !user || (write && !writable);
    else
        denied = (write && !writable && (cr0_ & cr0::kWP)) ||
                 (user && fetch && (cr4_ & cr4::kSMEP)) ||
                 (user && !fetch && (cr4_ & cr4::kSMAP) && (mode == AccessMode::ImplicitSupervisor || !ac_));
    denied = denied || (fetch && no_execute);
    if (denied)
        return fault(kErrPresent);
    // Protection keys: every data access to a user page, supervisor ones included.
    if (long_mode && user && !fetch && (cr4_ & cr4::kPKE)) {
        unsigned key = (leaf >> 59) & 0xf;
        bool no_access = (pkru_ >> (2 * key)) & 1, no_write = (pkru_ >> (2 * key + 1)) & 1;
        if (no_access || (write && no_write && (user_access || (cr0_ & cr0::kWP))))
            return fault(kErrPresent | kErrKey);
    }

    // The CPU sets Accessed in every entry it used, Dirty in the last one on a write.
    for (int i = 0; i < walked; i++) {
        uint64_t bits = kAccessed | (write && i == walked - 1 ? kDirty : 0);
        if (entry_size == 8)
            atomic_set_bits<uint64_t>(memory_, entry_gpas[i], bits);
        else
            atomic_set_bits<uint32_t>(memory_, entry_gpas[i], static_cast<uint32_t>(bits));
    }
    if (!memory_.contains(gpa, 1))
        return NotRam{gpa};
    return gpa;
}

Access PagedGuestMemory::pieces(uint64_t linear, size_t len, Intent intent, AccessMode mode, std::vector<Piece>& out)
{
    uint64_t wrap = (efer_ & efer::kLMA) ? ~0ull : 0xffffffffull;
    for (size_t done = 0; done < len;) {
        uint64_t at = (linear + done) & wrap;
        size_t chunk = std::min<uint64_t>(len - done, 4096 - (at & 4095));
        auto t = translate(at, intent, mode);
        if (auto* f = std::get_if<PageFault>(&t))
            return *f;
        if (auto* n = std::get_if<NotRam>(&t))
            return *n;
        if (auto* u = std::get_if<Unmodelled>(&t))
            return *u;
        uint64_t gpa = std::get<uint64_t>(t);
        if (!memory_.contains(gpa, chunk))
            return NotRam{gpa};
        out.push_back({gpa, chunk});
        done += chunk;
    }
    return AccessOk{};
}

Access PagedGuestMemory::read(uint64_t linear, std::span<uint8_t> out, AccessMode mode)
{
    std::vector<Piece> parts;
    Access a = pieces(linear, out.size(), Intent::Read, mode, parts);
    if (!std::holds_alternative<AccessOk>(a))
        return a;
    size_t at = 0;
    for (const Piece& p : parts) {
        std::memcpy(out.data() + at, memory_.span(p.gpa, p.len).data(), p.len);
        at += p.len;
    }
    return a;
}

Access PagedGuestMemory::write(uint64_t linear, std::span<const uint8_t> in, AccessMode mode)
{
    std::vector<Piece> parts;
    Access a = pieces(linear, in.size(), Intent::Write, mode, parts);
    if (!std::holds_alternative<AccessOk>(a))
        return a;
    size_t at = 0;
    for (const Piece& p : parts) {
        std::memcpy(memory_.span(p.gpa, p.len).data(), in.data() + at, p.len);
        at += p.len;
    }
    return a;
}

Access PagedGuestMemory::compare_exchange(uint64_t linear, std::span<uint8_t> expected,
                                          std::span<const uint8_t> desired, bool& swapped)
{
    std::vector<Piece> parts;
    Access a = pieces(linear, expected.size(), Intent::Write, AccessMode::Data, parts);
    if (!std::holds_alternative<AccessOk>(a))
        return a;
    size_t n = expected.size();
    if (parts.size() == 1 && parts[0].gpa % n == 0 && (n == 8 || n == 16)) {
        void* host = memory_.span(parts[0].gpa, n).data();
        if (n == 16)
            swapped = compare_exchange_16(host, expected.data(), desired.data());
        else {
            uint64_t want, put;
            std::memcpy(&want, expected.data(), 8);
            std::memcpy(&put, desired.data(), 8);
            swapped = __atomic_compare_exchange_n(static_cast<uint64_t*>(host), &want, put, false, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_SEQ_CST);
            std::memcpy(expected.data(), &want, 8);
        }
        return a;
    }
    // A misaligned operand (cmpxchg8b allows one): compared and written in place, which
    // is atomic against this vCPU only (a split lock would be refused by the host).
    std::vector<uint8_t> current(n);
    size_t at = 0;
    for (const Piece& p : parts) {
        std::memcpy(current.data() + at, memory_.span(p.gpa, p.len).data(), p.len);
        at += p.len;
    }
    swapped = std::equal(current.begin(), current.end(), expected.begin());
    const uint8_t* source = swapped ? desired.data() : current.data();
    at = 0;
    for (const Piece& p : parts) {
        std::memcpy(memory_.span(p.gpa, p.len).data(), source + at, p.len);
        at += p.len;
    }
    if (!swapped)
        std::copy(current.begin(), current.end(), expected.begin());
    return a;
}

std::variant<size_t, PageFault, NotRam, Unmodelled> PagedGuestMemory::fetch(uint64_t linear, std::span<uint8_t> out)
{
    size_t got = 0;
    while (got < out.size()) {
        std::vector<Piece> parts;
        uint64_t at = linear + got;
        size_t chunk = std::min<uint64_t>(out.size() - got, 4096 - (at & 4095));
        Access a = pieces(at, chunk, Intent::Execute, AccessMode::Data, parts);
        if (!std::holds_alternative<AccessOk>(a)) {
            if (got > 0)
                break;  // the instruction may end before the page that cannot be fetched
            if (auto* f = std::get_if<PageFault>(&a))
                return *f;
            if (auto* n = std::get_if<NotRam>(&a))
                return *n;
            return std::get<Unmodelled>(a);
        }
        std::memcpy(out.data() + got, memory_.span(parts[0].gpa, chunk).data(), chunk);
        got += chunk;
    }
    return got;
}

}  // namespace cr3rig
