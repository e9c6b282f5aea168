/*
 * Physical pages, page tables and mm lifetimes, after Linux 3.2:
 * mm_users counts the tasks that own the mm, mm_count the references to the
 * struct itself (all users together hold one; each lazy borrower holds one).
 * exit_mmap() runs when the last user goes, __mmdrop() frees the pgd when the
 * last reference goes.
 */
#include "kernel.h"

/* ---- page allocator: frames [POOL_START, POOL_END), a LIFO like a per-cpu list ---- */
#define POOL_START 0x800000ull
#define POOL_PAGES 2048u
static uint32_t free_frames[POOL_PAGES];
static unsigned nr_free;

void page_alloc_init(void)
{
    for (unsigned i = 0; i < POOL_PAGES; i++)
        free_frames[nr_free++] = POOL_PAGES - 1 - i;
}

void *get_zeroed_page(void)
{
    if (!nr_free)
        panic("out of pages", 0);
    uint64_t *page = (uint64_t *)(POOL_START + (uint64_t)free_frames[--nr_free] * PAGE_SIZE);
    uint64_t *cursor = page, qwords = PAGE_SIZE / 8;
    __asm__ volatile("rep stosq" : "+D"(cursor), "+c"(qwords) : "a"(0ull) : "memory");
    return page;
}

/* Freed pages keep their contents, as in Linux: a stale CR3 pointing at a freed pgd
 * still finds the kernel half there, so the kernel survives and user space faults. */
void free_page(void *page)
{
    uint64_t pa = (uint64_t)page;
    if (pa < POOL_START || pa >= POOL_START + POOL_PAGES * PAGE_SIZE || (pa & (PAGE_SIZE - 1)))
        panic("free_page: bad page", pa);
    free_frames[nr_free++] = (uint32_t)((pa - POOL_START) / PAGE_SIZE);
}

unsigned nr_free_pages(void) { return nr_free; }

/* ---- kernel mappings: the first 1 GiB, identity, supervisor only, shared by every pgd ---- */
static uint64_t kernel_pdpt[512] __attribute__((aligned(4096)));
static uint64_t kernel_pd[512] __attribute__((aligned(4096)));
static uint64_t swapper_pg_dir[512] __attribute__((aligned(4096)));

struct mm_struct init_mm = {.pgd = swapper_pg_dir, .mm_users = 1, .mm_count = 1, .id = 0};
uint64_t loaded_cr3;

#ifndef LAZYTLB_INLINE
/* Out of line, as native_read_cr3()/native_write_cr3() are behind Linux's paravirt
 * ops: one instruction site for each direction. */
__attribute__((noinline)) uint64_t read_cr3(void) { return native_read_cr3(); }

__attribute__((noinline)) void write_cr3(uint64_t value) { native_write_cr3(value); }
#endif

void kernel_page_tables_init(void)
{
    for (uint64_t i = 0; i < 512; i++)
        kernel_pd[i] = (i << 21) | PTE_P | PTE_W | PTE_PS;
    kernel_pdpt[0] = (uint64_t)kernel_pd | PTE_P | PTE_W;
    swapper_pg_dir[0] = (uint64_t)kernel_pdpt | PTE_P | PTE_W;
    load_cr3(swapper_pg_dir);
}

/* ---- user mappings ---- */
static uint64_t *next_table(struct mm_struct *mm, uint64_t *table, unsigned index)
{
    if (!(table[index] & PTE_P)) {
        table[index] = (uint64_t)get_zeroed_page() | PTE_P | PTE_W | PTE_U;
        mm->pages++;
    }
    return (uint64_t *)(table[index] & PTE_ADDR);
}

static void map_user_page(struct mm_struct *mm, uint64_t va, void *frame, bool writable)
{
    uint64_t *pdpt = next_table(mm, mm->pgd, (va >> 39) & 511);
    uint64_t *pd = next_table(mm, pdpt, (va >> 30) & 511);
    uint64_t *pt = next_table(mm, pd, (va >> 21) & 511);
    unsigned slot = (va >> 12) & 511;
    pt[slot] = (uint64_t)frame | PTE_P | PTE_U | (writable ? PTE_W : 0);
    if (slot + 1 > mm->pte_end)
        mm->pte_end = slot + 1;
}

/* The leaf entry for a user address in mm's own page tables, or 0. */
static uint64_t lookup_pte(struct mm_struct *mm, uint64_t va)
{
    uint64_t *table = mm->pgd;
    for (int shift = 39; shift >= 12; shift -= 9) {
        uint64_t e = table[(va >> shift) & 511];
        if (!(e & PTE_P))
            return 0;
        if (shift == 12)
            return e;
        table = (uint64_t *)(e & PTE_ADDR);
    }
    return 0;
}

struct mm_struct *mm_create(const void *code, size_t code_len)
{
    static struct mm_struct mms[MAX_TASKS];
    static int next_id = 1;
    struct mm_struct *mm = &mms[next_id - 1];
    mm->id = next_id++;
    mm->mm_users = 1;
    mm->mm_count = 1;
    mm->pgd = get_zeroed_page();
    mm->pages = 1;
    mm->pgd[0] = swapper_pg_dir[0]; /* the kernel half */

    uint8_t *text = get_zeroed_page();
    for (size_t i = 0; i < code_len && i < PAGE_SIZE; i++)
        text[i] = ((const uint8_t *)code)[i];
    map_user_page(mm, USER_CODE, text, false);
    for (uint64_t i = 0; i < USER_DATA_PAGES; i++)
        map_user_page(mm, USER_ARGS + i * PAGE_SIZE, get_zeroed_page(), true);
    map_user_page(mm, USER_STACK, get_zeroed_page(), true);
    mm->pages += 2 + USER_DATA_PAGES;
    return mm;
}

/* Linux 3.2 open-codes this as atomic_inc(&mm->mm_count); mmgrab() is its later name. */
void mmgrab(struct mm_struct *mm) { mm->mm_count++; }

static void __mmdrop(struct mm_struct *mm)
{
    free_page(mm->pgd);
    mm->pages--;
    kstats.pages_freed_by_exit++;
    kstats.pgds_freed++;
}

void mmdrop(struct mm_struct *mm)
{
    if (mm == &init_mm)
        return;
    if (--mm->mm_count == 0)
        __mmdrop(mm);
}

/* Unmap every user page (freeing the frames), flush, then free the page tables and
 * clear the pgd's user slot: the work of 3.2's unmap_vmas(), free_pgtables() and
 * tlb_finish_mmu(), whose mmu_gather frees no page before a flush. */
static void exit_mmap(struct mm_struct *mm)
{
    uint64_t *pdpt = (uint64_t *)(mm->pgd[USER_BASE >> 39 & 511] & PTE_ADDR);
    if (!pdpt)
        return;
    uint64_t *pd = (uint64_t *)(pdpt[0] & PTE_ADDR);
    uint64_t *pt = (uint64_t *)(pd[0] & PTE_ADDR);
    for (unsigned i = 0; i < mm->pte_end; i++) {
        if (pt[i] & PTE_P) {
            free_page((void *)(pt[i] & PTE_ADDR));
            pt[i] = 0;
            mm->pages--;
            kstats.pages_freed_by_exit++;
        }
    }
    flush_tlb_mm(mm);
    mm->pgd[USER_BASE >> 39 & 511] = 0;
    free_page(pt);
    free_page(pd);
    free_page(pdpt);
    mm->pages -= 3;
    kstats.pages_freed_by_exit += 3;
}

void mmput(struct mm_struct *mm)
{
    if (--mm->mm_users == 0) {
        exit_mmap(mm);
        mmdrop(mm);
    }
}

#ifndef LAZYTLB_INLINE
#define MMU_CONTEXT_INLINE
#include "mmu_context.h"
#endif

/* handle_mm_fault(), reduced to what this kernel has: every user page is mapped
 * when the process is created, so a fault on a present page with the right rights
 * can only be a stale TLB entry: return and let the CPU retry. Anything else is an
 * invalid access. Returns 0 to retry, -1 to kill the task. */
int handle_mm_fault(struct mm_struct *mm, uint64_t address, uint64_t error_code)
{
    bool write = error_code & 2;
    uint64_t pte = lookup_pte(mm, address);
    if (!(pte & PTE_P) || !(pte & PTE_U) || (write && !(pte & PTE_W)))
        return -1;
    return 0;
}
