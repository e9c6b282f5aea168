#!/usr/bin/env bash
# Inside the container of run-suite.sh, as root, in the workspace: installs
# /cr3rig-action/cr3rig.deb with apt (which brings its dependencies), runs
# `cr3rig doctor` (for the log: a host cr3rig cannot use only warns, as the tests then
# report SKIP and say why) and `cr3rig test`, records the latter's exit code in
# /cr3rig-action/exit-code and exits with it. What it writes in the workspace is given
# to the runner's user ($OWNER, uid:gid) so later steps can change it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

echo "::group::Install cr3rig"
apt-get update -qq
apt-get install -y -qq --no-install-recommends /cr3rig-action/cr3rig.deb
echo "::endgroup::"

echo "::group::cr3rig doctor"
doctor=0
cr3rig doctor || doctor=$?
echo "::endgroup::"
[ "$doctor" -eq 0 ] ||
  echo "::warning title=cr3rig doctor::cr3rig cannot run guests on this runner (doctor exit $doctor, its log says why)"

# The report files, and the directories they and the logs need. Whatever is created
# here belongs to root; it goes back to $OWNER at the end (created: the first missing
# directory of each, which mkdir -p makes).
outputs=()
for path in "$INPUT_TAP" "$INPUT_JUNIT" "$INPUT_JSON"; do
  [ -z "$path" ] || outputs+=("$path")
done
dirs=("$INPUT_LOGS")
for path in "${outputs[@]}"; do
  dirs+=("$(dirname "$path")")
done
created=()
for dir in "${dirs[@]}"; do
  top=
  while [ ! -e "$dir" ]; do
    top=$dir
    dir=$(dirname "$dir")
  done
  [ -z "$top" ] || created+=("$top")
done
mkdir -p "${dirs[@]}"

args=(test "$INPUT_MANIFEST" -j "$INPUT_JOBS" --logs "$INPUT_LOGS")
[ -z "$INPUT_TAP" ] || args+=(--tap "$INPUT_TAP")
[ -z "$INPUT_JUNIT" ] || args+=(--junit "$INPUT_JUNIT")
[ -z "$INPUT_JSON" ] || args+=(--json "$INPUT_JSON")
read -r -a extra <<<"$INPUT_ARGS"
args+=("${extra[@]}")

echo "cr3rig ${args[*]}"
status=0
cr3rig "${args[@]}" || status=$?
echo "$status" >/cr3rig-action/exit-code
for path in "${outputs[@]}" "$INPUT_LOGS" "${created[@]}"; do
  [ ! -e "$path" ] || chown -R "$OWNER" "$path" || echo "::warning::cannot give $path to $OWNER"
done
exit "$status"
