#!/usr/bin/env bash
# The main job of the README: set-up, build, and the seed scenario on the embedded
# lazytlb kernels. Expected: fixed and buggy (no injection) pass; selfpreempt, which
# preempts itself between CR3 read and write, shows the stale write, the fault storm
# and the recovery, and fails (exit 1); fixed-selfpreempt survives the same.
# Exits non-zero only if an outcome differs from that.
# CR3RIG_GUEST=builtin:NAME (or a path) runs just that guest instead.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh cr3rig
if [ -n "${CR3RIG_GUEST:-}" ]; then
  exec build/cr3rig run --stats "$CR3RIG_GUEST"
fi

unexpected=0
for pair in lazytlb-fixed:0 lazytlb-buggy:0 lazytlb-selfpreempt:1 lazytlb-fixed-selfpreempt:0; do
  guest=${pair%%:*} expected=${pair##*:}
  echo "=== cr3rig run builtin:$guest (expect exit $expected)"
  status=0
  build/cr3rig run "builtin:$guest" || status=$?
  if [ "$status" -ne "$expected" ]; then
    echo "ci/demo.sh: builtin:$guest exited $status, expected $expected"
    unexpected=1
  fi
done
[ "$unexpected" -eq 0 ] && echo "ci/demo.sh: every outcome as expected"
exit "$unexpected"
