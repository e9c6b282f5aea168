#!/usr/bin/env bash
# The main job of the README: set-up, build, then `cr3rig run` with no guest, which
# runs the seed scenario on the embedded lazytlb-buggy and lazytlb-fixed kernels under
# --inject after-read and prints the two verdicts side by side. It exits 0 when the rig
# caught the buggy kernel and found the fixed one clean, and ends by saying where the
# HTML report of each run is (build/report-buggy.html, build/report-fixed.html).
# CR3RIG_GUEST=builtin:NAME (or a path) runs just that guest, with CR3RIG_INJECT if set.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh cr3rig
if [ -n "${CR3RIG_GUEST:-}" ]; then
  exec build/cr3rig run --stats ${CR3RIG_INJECT:+--inject "$CR3RIG_INJECT"} "$CR3RIG_GUEST"
fi
rm -f build/report-buggy.html build/report-fixed.html  # never point at an older run's
status=0
build/cr3rig run -q --report build/report.html || status=$?
if [ -f build/report-buggy.html ]; then
  echo "the report of the buggy run: $PWD/build/report-buggy.html (open it in a browser; the fixed run's is beside it)"
fi
exit $status
