#!/usr/bin/env bash
# The test command of the README and of CI: set-up, build, every test, and the
# benchmarks in their short mode (so they cannot rot; timing never fails this).
# KVM tests report "Skipped" with the reason when /dev/kvm is unusable.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)")
bench_status=0
build/cr3rig-bench --quick || bench_status=$?
case $bench_status in
  0) ;;
  4) echo "ci/test.sh: benchmarks skipped (no usable KVM)" ;;
  *) echo "ci/test.sh: benchmarks failed to run (exit $bench_status)"; exit 1 ;;
esac
