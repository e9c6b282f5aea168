#!/usr/bin/env bash
# Installs the dependencies (Debian packages) and builds into build/: everything
# (cr3rig, guest images in build/guests/, tests, benchmarks), or only the CMake
# targets given as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$(nproc)" ${1:+--target "$@"}
