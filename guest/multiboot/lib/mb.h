/*
 * The library of cr3rig's multiboot test binaries, after kvm-unit-tests' x86 one:
 * main(argc, argv) with argv from the multiboot command line (argv[0] = the image's
 * name), the environment from the first module (KEY=VALUE lines), fw_cfg reads, and
 * reports printed as kvm-unit-tests prints them ("PASS: name", "SUMMARY: ...").
 * main's return value goes to the debug-exit port: 0 pass, 77 skip, else fail.
 */
#ifndef CR3RIG_MB_H
#define CR3RIG_MB_H

#include "base.h"
#include "cr3rig/multiboot.h"

int main(int argc, char **argv);

/* The boot information as the loader gave it (identity-mapped: its address is a pointer). */
const struct cr3rig_mb_info *mb_info(void);
/* The value of KEY in the environment module, or NULL. */
const char *mb_getenv(const char *key);
/* Each KEY=VALUE line of the environment, in order; NULL past the last. */
const char *mb_environ(int index);

int mb_streq(const char *a, const char *b);

/* fw_cfg (cr3rig/abi.h keys): the first `bytes` bytes of an item, little-endian. */
uint64_t fw_cfg_read(uint16_t key, unsigned bytes);

/* kvm-unit-tests style results. report_summary() prints "SUMMARY: N tests, M
 * unexpected failures[, K skipped]" and returns main's exit code: 1 if anything
 * failed, 77 if every test was skipped, else 0. */
void report(const char *name, int pass);
void report_skip(const char *name);
int report_summary(void);

/* A check that ends the run, as kvm-unit-tests' assert(): "FAIL: file:line: expr",
 * then exit 1. Named as the ELF64 guests' GUEST_ASSERT so one test source builds
 * for both libraries (guest/tests/cr3_switch.c). */
#define GUEST_ASSERT(expr)                                  \
    do {                                                    \
        if (!(expr))                                        \
            mb_assert_failed(__FILE__, __LINE__, #expr);    \
    } while (0)
__attribute__((noreturn)) void mb_assert_failed(const char *file, unsigned line, const char *expr);

#endif
