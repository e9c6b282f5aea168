#!/bin/sh
# Stands in for `cr3rig run` in the runner's unit tests, which need no KVM: the guest's
# name says how this "run" ends. Called as:
#   run --timeout=T --memory=M [--smp=N] [--cpu=SPEC] [--cmdline=TEXT] -- GUEST
# A --cpu starting with "nope" is a configuration it cannot give: exit 4 with the reason
# on its last line, as `cr3rig run` does.
[ "$1" = run ] || exit 99
shift
timeout='' cmdline='' memory='' smp=1 cpu=''
while [ "$1" != "--" ]; do
  case "$1" in
    --timeout=*) timeout=${1#--timeout=} ;;
    --memory=*) memory=${1#--memory=} ;;
    --smp=*) smp=${1#--smp=} ;;
    --cpu=*) cpu=${1#--cpu=} ;;
    --cmdline=*) cmdline=${1#--cmdline=} ;;
    *) echo "fake-cr3rig: unexpected argument $1" >&2; exit 98 ;;
  esac
  shift
done
guest=$2
echo "fake: timeout=$timeout memory=$memory smp=$smp cpu=$cpu cmdline=$cmdline"
case "$cpu" in
  nope*) echo "cr3rig: -cpu $cpu: no such CPU model" >&2; exit 4 ;;
esac

# meet-X: wait until the other of meet-a and meet-b has started too, which happens
# only when both run at once (-j 2). Bounded, so a broken -j fails instead of hanging.
meet() {
  touch "$FAKE_CR3RIG_DIR/$1"
  i=0
  while [ $i -lt 1000 ]; do
    [ -e "$FAKE_CR3RIG_DIR/$2" ] && { echo "met $2"; exit 0; }
    sleep 0.05
    i=$((i + 1))
  done
  echo "FAIL: $2 never started"
  exit 1
}

case "$guest" in
  builtin:pass) echo "PASS: one"; echo "SUMMARY: 1 tests"; exit 0 ;;
  builtin:fail) echo "FAIL: two"; echo "cr3rig: $guest: FAIL: guest exit code 1 [1.0 ms]" >&2; exit 1 ;;
  builtin:skip) echo "cr3rig: SKIP: no usable KVM: fake" >&2; exit 4 ;;
  builtin:timeout) echo "cr3rig: $guest: TIMEOUT: deadline reached [1.0 ms]" >&2; exit 124 ;;
  builtin:hang) exec sleep 1000 ;;  # ignores its deadline: the runner must kill it
  builtin:segv) kill -SEGV $$ ;;
  builtin:meet-a) meet meet-a meet-b ;;
  builtin:meet-b) meet meet-b meet-a ;;
  *) echo "cr3rig: error: cannot open guest image $guest" >&2; exit 2 ;;
esac
