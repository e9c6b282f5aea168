/*
 * The system calls that change a process's mappings (LAZYTLB_INLINE only), after
 * Linux 3.2's mm/mmap.c, mm/munmap paths, mm/mprotect.c, mm/mremap.c and
 * mm/madvise.c, reduced to anonymous pages in a window of the user page table
 * (USER_MMAP_BASE..USER_MMAP_END). Each flushes the TLB where 3.2 does on a
 * uniprocessor, and so carries its own CR3 read and write when inlined:
 *   munmap    do_munmap -> unmap_region -> tlb_finish_mmu -> tlb_flush -> flush_tlb_mm
 *   mmap      MAP_FIXED over pages already mapped: mmap_region -> do_munmap -> the same
 *   madvise   MADV_DONTNEED: zap_page_range -> tlb_finish_mmu -> ... -> flush_tlb_mm
 *   mprotect  mprotect_fixup -> change_protection -> flush_tlb_range
 *   mremap    move_vma -> move_page_tables -> flush_tlb_range
 * As 3.2's mmu_gather, the unmapping paths free the frames only after the flush,
 * and flush only when they cleared an entry (tlb->need_flush). mmap of new pages
 * needs no flush. There is no demand paging: a page zapped by MADV_DONTNEED is
 * gone until it is mapped again (Linux would fault in a zero page).
 */
#include "kernel.h"

#define WINDOW_PAGES ((USER_MMAP_END - USER_MMAP_BASE) / PAGE_SIZE)
#define SYSCALL_ERROR ((uint64_t)-1)

uint64_t mm_syscalls;

/* The leaf page table of user space: one, for the 2 MiB at USER_BASE. */
static uint64_t *user_pt(struct mm_struct *mm)
{
    uint64_t *pdpt = (uint64_t *)(mm->pgd[USER_BASE >> 39 & 511] & PTE_ADDR);
    uint64_t *pd = (uint64_t *)(pdpt[0] & PTE_ADDR);
    return (uint64_t *)(pd[0] & PTE_ADDR);
}

static unsigned pt_slot(uint64_t addr) { return (unsigned)((addr >> 12) & 511); }

/* [addr, addr + len) is page-aligned, not empty, and inside the window. */
static bool in_window(uint64_t addr, uint64_t len)
{
    return !(addr & (PAGE_SIZE - 1)) && !(len & (PAGE_SIZE - 1)) && len && addr >= USER_MMAP_BASE &&
           len <= USER_MMAP_END - USER_MMAP_BASE && addr <= USER_MMAP_END - len;
}

/* Every page of the range mapped (want = true) or none of them (want = false). */
static bool all_mapped(const uint64_t *pt, uint64_t addr, uint64_t len, bool want)
{
    for (uint64_t a = addr; a < addr + len; a += PAGE_SIZE)
        if (!!(pt[pt_slot(a)] & PTE_P) != want)
            return false;
    return true;
}

static uint64_t pte_of(void *frame, uint64_t prot)
{
    return (uint64_t)frame | PTE_P | PTE_U | ((prot & PROT_WRITE) ? PTE_W : 0);
}

static uint64_t succeeded(uint64_t result)
{
    mm_syscalls++;
    return result;
}

/* Clears the range's entries, flushes once if it cleared any, then frees the frames:
 * the mmu_gather of unmap_region() and zap_page_range(), up to tlb_finish_mmu().
 * Inline at each of them: 3.2 flushes in one tlb_flush_mmu() for all mmu_gather
 * users, this kernel gives each its own site (as exit_mmap() has its own). */
static inline __attribute__((always_inline)) void unmap_and_free(struct mm_struct *mm, uint64_t addr, uint64_t len)
{
    uint64_t *pt = user_pt(mm);
    void *gathered[WINDOW_PAGES];
    unsigned n = 0;
    for (uint64_t a = addr; a < addr + len; a += PAGE_SIZE) {
        uint64_t *pte = &pt[pt_slot(a)];
        if (*pte & PTE_P) {
            gathered[n++] = (void *)(*pte & PTE_ADDR);
            *pte = 0;
        }
    }
    if (!n)
        return; /* !tlb->need_flush */
    flush_tlb_mm(mm);
    for (unsigned i = 0; i < n; i++)
        free_page(gathered[i]);
    mm->pages -= n;
}

/* MAP_FIXED: whatever was mapped in the range is unmapped first, as mmap_region() does. */
uint64_t sys_mmap(uint64_t addr, uint64_t len, uint64_t prot)
{
    struct mm_struct *mm = current->mm;
    if (!in_window(addr, len) || !(prot & PROT_READ) || (prot & ~(uint64_t)(PROT_READ | PROT_WRITE)))
        return SYSCALL_ERROR;
    unmap_and_free(mm, addr, len);
    uint64_t *pt = user_pt(mm);
    for (uint64_t a = addr; a < addr + len; a += PAGE_SIZE) {
        pt[pt_slot(a)] = pte_of(get_zeroed_page(), prot);
        mm->pages++;
        if (pt_slot(a) + 1 > mm->pte_end)
            mm->pte_end = pt_slot(a) + 1;
    }
    return succeeded(addr);
}

/* do_munmap(): holes inside the range are allowed, as in Linux. */
uint64_t sys_munmap(uint64_t addr, uint64_t len)
{
    if (!in_window(addr, len))
        return SYSCALL_ERROR;
    unmap_and_free(current->mm, addr, len);
    return succeeded(0);
}

uint64_t sys_madvise(uint64_t addr, uint64_t len, uint64_t advice)
{
    if (!in_window(addr, len) || advice != MADV_DONTNEED)
        return SYSCALL_ERROR;
    unmap_and_free(current->mm, addr, len);
    return succeeded(0);
}

/* mprotect_fixup() -> change_protection(): rewrite the entries, then flush the range. */
uint64_t sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot)
{
    struct mm_struct *mm = current->mm;
    if (!in_window(addr, len) || !(prot & PROT_READ) || (prot & ~(uint64_t)(PROT_READ | PROT_WRITE)))
        return SYSCALL_ERROR;
    uint64_t *pt = user_pt(mm);
    if (!all_mapped(pt, addr, len, true))
        return SYSCALL_ERROR; /* ENOMEM: a hole in the range */
    for (uint64_t a = addr; a < addr + len; a += PAGE_SIZE)
        pt[pt_slot(a)] = pte_of((void *)(pt[pt_slot(a)] & PTE_ADDR), prot);
    flush_tlb_range(mm, addr, addr + len);
    return succeeded(0);
}

/* move_vma() -> move_page_tables(): move the entries, flush the old range. The old
 * range is then empty, so move_vma()'s do_munmap() of it has nothing to flush. */
uint64_t sys_mremap(uint64_t old_addr, uint64_t len, uint64_t new_addr)
{
    struct mm_struct *mm = current->mm;
    if (!in_window(old_addr, len) || !in_window(new_addr, len) ||
        (new_addr < old_addr + len && old_addr < new_addr + len))
        return SYSCALL_ERROR;
    uint64_t *pt = user_pt(mm);
    if (!all_mapped(pt, old_addr, len, true) || !all_mapped(pt, new_addr, len, false))
        return SYSCALL_ERROR;
    for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
        pt[pt_slot(new_addr + off)] = pt[pt_slot(old_addr + off)];
        pt[pt_slot(old_addr + off)] = 0;
    }
    if (pt_slot(new_addr + len - 1) + 1 > mm->pte_end)
        mm->pte_end = pt_slot(new_addr + len - 1) + 1;
    flush_tlb_range(mm, old_addr, old_addr + len);
    return succeeded(new_addr);
}
