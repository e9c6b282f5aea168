#!/bin/sh
# Stands in for `cr3rig run` in the runner's unit tests, which need no KVM: the guest's
# name says how this "run" ends. Called as:
#   run --timeout=T [--boot-timeout=B] --memory=M [--smp=N] [--cpu=SPEC] [--cmdline=TEXT]
#       [--inject=POLICY...] --json=FILE -- GUEST
# A --cpu starting with "nope" is a configuration it cannot give: exit 4 with the reason
# on its last line, as `cr3rig run` does.
[ "$1" = run ] || exit 99
shift
timeout='' boot='' cmdline='' memory='' smp=1 cpu='' json='' rig=''
while [ "$1" != "--" ]; do
  case "$1" in
    --timeout=*) timeout=${1#--timeout=} ;;
    --boot-timeout=*) boot=${1#--boot-timeout=} ;;
    --json=*) json=${1#--json=} ;;
    --inject=*|--trap-backend=*|--rig-clock=*) rig="$rig $1" ;;
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
echo "fake: boot=$boot rig=$rig json=$json"
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
  builtin:silent) echo "cr3rig: $guest: TIMEOUT: no output from the guest in $boot s [1.0 ms]" >&2; exit 124 ;;
  builtin:token)  # a trap-engine run that found something, with its replay token in --json
    echo '{"verdict": "FAIL", "trap_engine": {"inject": "nth:2:0", "replay_token": "cr3rig1-00000000000000aa-2-0-32-16"}}' > "$json"
    echo "cr3rig: $guest: FAIL: stale-cr3-write: at write_cr3 [1.0 ms]" >&2; exit 1 ;;
  builtin:hang) exec sleep 1000 ;;  # ignores its deadline: the runner must kill it
  builtin:segv) kill -SEGV $$ ;;
  builtin:meet-a) meet meet-a meet-b ;;
  builtin:meet-b) meet meet-b meet-a ;;
  *) echo "cr3rig: error: cannot open guest image $guest" >&2; exit 2 ;;
esac
