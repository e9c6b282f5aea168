#!/usr/bin/env bash
# Puts the cr3rig package the action installs at $RUNNER_TEMP/cr3rig-action/cr3rig.deb:
# the workspace file the `deb` input names, else the `version` input's release asset
# cr3rig_VERSION_amd64.deb of the action's own repository (or `release-repository`).
# Bad input: one ::error:: line, exit 2.
# Env: INPUT_DEB, INPUT_VERSION, INPUT_RELEASE_REPOSITORY, ACTION_REPOSITORY
# (github.action_repository), and the runner's GITHUB_* and RUNNER_TEMP.
set -euo pipefail

fail() {
  echo "::error title=cr3rig action::$1"
  exit 2
}

# The owner/name this action was used from. github.action_repository is empty inside
# composite actions (actions/runner#2525), but the runner checks the action out at
# .../_actions/OWNER/NAME/REF; a local `uses: ./` is the workflow's own repository.
action_repository() {
  if [ -n "${ACTION_REPOSITORY:-}" ]; then
    echo "$ACTION_REPOSITORY"
  elif [[ "${GITHUB_ACTION_PATH:-}" =~ /_actions/([^/]+)/([^/]+)/ ]]; then
    echo "${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"
  else
    echo "$GITHUB_REPOSITORY"
  fi
}

stage="$RUNNER_TEMP/cr3rig-action"
mkdir -p "$stage"
if [ -n "${INPUT_DEB:-}" ]; then
  deb=$INPUT_DEB
  [[ "$deb" = /* ]] || deb="$GITHUB_WORKSPACE/$deb"
  [ -f "$deb" ] || fail "deb: $INPUT_DEB: no such file (give the path of a cr3rig .deb in the workspace)"
  cp "$deb" "$stage/cr3rig.deb"
elif [ -n "${INPUT_VERSION:-}" ]; then
  version=${INPUT_VERSION#v}
  repository=${INPUT_RELEASE_REPOSITORY:-$(action_repository)}
  url="$GITHUB_SERVER_URL/$repository/releases/download/v$version/cr3rig_${version}_amd64.deb"
  echo "cr3rig action: downloading $url"
  curl -fsSL --retry 3 -o "$stage/cr3rig.deb" "$url" ||
    fail "version: $INPUT_VERSION: cannot download $url (no such release asset, or a private repository: download it yourself and give it as deb)"
else
  fail "set version (a cr3rig release, e.g. 0.1.0) or deb (the path of a cr3rig .deb in the workspace)"
fi

package=$(dpkg-deb --field "$stage/cr3rig.deb" Package 2>/dev/null) ||
  fail "${INPUT_DEB:-release $INPUT_VERSION}: not a Debian package"
[ "$package" = cr3rig ] || fail "${INPUT_DEB:-release $INPUT_VERSION}: a package of $package, not cr3rig"
echo "cr3rig action: installing $(dpkg-deb --field "$stage/cr3rig.deb" Package Version Architecture | paste -sd ' ')"
