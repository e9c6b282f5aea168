#!/usr/bin/env bash
# Opens /dev/kvm to every user with a udev rule: GitHub-hosted Linux runners have KVM,
# but only for root and the kvm group. Used by the action (action.yml) and by cr3rig's
# own CI. A runner without /dev/kvm is not an error here: cr3rig doctor then says why,
# and the suite's tests are skipped (cr3rig test exits 4).
set -euo pipefail

if [ ! -e /dev/kvm ]; then
  echo "::warning title=cr3rig::this runner has no /dev/kvm (no virtualisation): cr3rig's tests will be skipped"
  exit 0
fi
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' |
  "${sudo_cmd[@]}" tee /etc/udev/rules.d/99-kvm4all.rules >/dev/null
"${sudo_cmd[@]}" udevadm control --reload-rules
"${sudo_cmd[@]}" udevadm trigger --name-match=kvm
"${sudo_cmd[@]}" udevadm settle
ls -l /dev/kvm
