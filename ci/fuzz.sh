#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan + UBSan) in build-fuzz/ and runs
# each for FUZZ_SECONDS (default 20) from its committed seed corpus. New inputs go
# to a scratch directory, so the committed corpus only changes by hand. A crash
# stops the script with the target's name and the crashing input
# (build-fuzz/crash-*); it then belongs in a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
seconds="${FUZZ_SECONDS:-20}"
targets=(fuzz_elf_loader fuzz_multiboot_loader fuzz_replay_token fuzz_manifest fuzz_trace_reader)

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCR3RIG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  log="build-fuzz/$t.log"
  if ! "build-fuzz/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=build-fuzz/crash-"$t"- \
      "$scratch/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    echo "ci/fuzz.sh: $t FAILED, see $log:" >&2
    grep -E "ERROR|SUMMARY|Test unit written" "$log" >&2 || tail -20 "$log" >&2
    exit 1
  fi
  runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$")
  echo "ci/fuzz.sh: $t: $runs executions in ${seconds} s, no crash"
done
