/*
 * Benchmark guest: CR3RIG_PINGPONG_ROUNDS writes to the bench port, each one a
 * full KVM_RUN round trip through the host, then exit 0.
 */
#include "guest.h"

#define CR3RIG_PINGPONG_ROUNDS 20000

int main(void)
{
    for (int i = 0; i < CR3RIG_PINGPONG_ROUNDS; i++)
        outb(CR3RIG_BENCH_PORT, 0);
    return 0;
}
