#!/usr/bin/env bash
# Installs the staged cr3rig .deb (stage-deb.sh) and runs `cr3rig doctor` and
# `cr3rig test` inside a Debian container (debian:bookworm by default: the package is
# built there and depends on bookworm's library packages, which apt resolves inside),
# with the runner's /dev/kvm and the workspace mounted at its own path (so every path
# in the inputs and the manifest means the same inside). Exits with cr3rig test's exit
# code, also written as the step output exit-code; a set-up failure (docker, apt) exits
# non-zero with no exit-code.
# Env: the INPUT_* of action.yml, and the runner's GITHUB_*, RUNNER_OS and RUNNER_TEMP.
set -euo pipefail

if [ "$RUNNER_OS" != Linux ]; then
  echo "::error title=cr3rig action::cr3rig needs a Linux runner with KVM (this one is $RUNNER_OS)"
  exit 2
fi

stage="$RUNNER_TEMP/cr3rig-action"
cp "$(dirname "$0")/in-container.sh" "$stage/"
rm -f "$stage/exit-code"
device=()
[ ! -e /dev/kvm ] || device=(--device /dev/kvm)

status=0
docker run --rm "${device[@]}" \
  -v "$GITHUB_WORKSPACE:$GITHUB_WORKSPACE" -w "$GITHUB_WORKSPACE" -v "$stage:/cr3rig-action" \
  -e INPUT_MANIFEST -e INPUT_JOBS -e INPUT_TAP -e INPUT_JUNIT -e INPUT_JSON -e INPUT_LOGS -e INPUT_ARGS \
  -e OWNER="$(id -u):$(id -g)" \
  "$INPUT_IMAGE" bash /cr3rig-action/in-container.sh || status=$?

if [ ! -f "$stage/exit-code" ]; then
  echo "::error title=cr3rig action::cr3rig test did not run: the set-up in $INPUT_IMAGE failed (exit $status), see above"
  exit "$status"
fi
code=$(cat "$stage/exit-code")
echo "exit-code=$code" >>"$GITHUB_OUTPUT"
if [ "$code" -eq 4 ] && [ "$INPUT_FAIL_ON_ALL_SKIPPED" = false ]; then
  echo "::warning title=cr3rig test::every test was skipped (exit 4), accepted as fail-on-all-skipped is false"
  exit 0
fi
exit "$code"
