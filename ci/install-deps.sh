#!/usr/bin/env bash
# Installs everything cr3rig needs to build, test and benchmark (QEMU included, as
# the peer the multiboot guests are compared with), from Debian packages only.
# Idempotent: a second run installs nothing and takes ~1 s.
set -euo pipefail

packages=(
  build-essential cmake g++ pkg-config
  libcapstone-dev libspdlog-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev
  chromium  # the browser test opens the HTML report headless (it skips without it)
  libxml2-utils  # xmllint: the tests read the JUnit reports of `cr3rig test` back
  clang libclang-rt-14-dev  # ci/fuzz.sh: libFuzzer targets with ASan + UBSan
  qemu-system-x86  # the peer of the multiboot tests and benchmark (tests/qemu)
  gdb  # drives QEMU's gdb stub: the do-it-yourself CR3 traps the benchmark compares with
  nodejs shellcheck  # ci/lint-workflows.sh: its linters (from npm) run on Node.js; ShellCheck reads run: scripts
  help2man dpkg-dev  # the Debian package (ci/package.sh): its man page, its Depends (dpkg-shlibdeps)
)
command -v npm >/dev/null || packages+=(npm)  # not where Node.js brought its own (NodeSource's conflicts with Debian's)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=sudo
else
  sudo_cmd=
fi
export DEBIAN_FRONTEND=noninteractive
echo "ci/install-deps.sh: installing ${missing[*]}"
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
