/*
 * Snapshot check: sets KERNEL_GS_BASE, reaches snapshot_point() (where the KVM test
 * pauses the run and saves the VM), then reads the MSR, bumps it and passes only if
 * it still held the value from before the snapshot. Run twice from one snapshot,
 * the second run passes only if the restore put the MSR back.
 */
#include "guest.h"

#define MSR_KERNEL_GS_BASE 0xc0000102u
#define SNAPSHOT_VALUE 0x1111u

/* The test puts a hardware breakpoint here; noinline keeps it one address. */
__attribute__((noinline)) void snapshot_point(void) { __asm__ volatile("" ::: "memory"); }

int main(void)
{
    wrmsr(MSR_KERNEL_GS_BASE, SNAPSHOT_VALUE);
    snapshot_point();
    uint64_t seen = rdmsr(MSR_KERNEL_GS_BASE);
    wrmsr(MSR_KERNEL_GS_BASE, seen + 1);
    console_puts("KERNEL_GS_BASE after the snapshot: ");
    console_put_u64(seen);
    console_puts("\n");
    return seen == SNAPSHOT_VALUE ? 0 : 1;
}
