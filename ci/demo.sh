#!/usr/bin/env bash
# The main job of the README: set-up, build, and one run of the default guest.
# Switch the guest with CR3RIG_GUEST=builtin:NAME or a path (cr3rig guests lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh cr3rig
guest=${CR3RIG_GUEST:-}
exec build/cr3rig run --stats ${guest:+"$guest"}
