#!/usr/bin/env bash
# Makes the Debian package from the project's own build in build/ (RelWithDebInfo, as
# ci/build.sh builds; cpack strips the binary): the CMake target cr3rig-package-deb
# builds cr3rig and its man page, then runs cpack -G DEB in build/
# (cmake/packaging.cmake). Leaves build/cr3rig_<version>_<arch>.deb (version: project()
# in CMakeLists.txt) and prints its path and size. docs/packaging.md says what is in it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh cr3rig-package-deb
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' build/CMakeCache.txt)"
deb="build/cr3rig_${version}_$(dpkg --print-architecture).deb"
if [ ! -f "$deb" ]; then
  echo "ci/package.sh: cpack left no $deb" >&2
  exit 1
fi
size=$(stat -c %s "$deb")
echo "ci/package.sh: $PWD/$deb ($size bytes, $(( (size + 1023) / 1024 )) KiB); install it with: apt-get install ./$deb"
