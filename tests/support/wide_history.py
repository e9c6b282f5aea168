#!/usr/bin/env python3
"""Writes a synthetic cr3rig-history/1 file (docs/trace-format.md) of EVENTS events
spread over TASKS tasks, each task on its own pgd: the input that made the HTML report
grow without bound. Measure a report of it with, e.g.:

  python3 tests/support/wide_history.py 20000 20000 > /tmp/wide.jsonl
  /usr/bin/time -v build/cr3rig trace /tmp/wide.jsonl --to html -o /tmp/wide.html
"""
import json
import sys

KINDS = ["cr3_read", "cr3_write", "injection", "flush", "page_fault"]


def event(seq, tasks):
    pid = seq % tasks + 1
    pgd = "0x%x" % (0x100000 + 0x1000 * pid)
    e = {"type": KINDS[seq % len(KINDS)], "seq": seq, "rip": "0x100b80", "symbol": "sym",
         "rsp": "0x7000", "cr3_before": pgd, "cr3_after": pgd, "guest_ns": 1000 * seq,
         "host_ns": 1100 * seq, "task": {"pid": pid, "name": "t%d" % pid}, "mm_pgd": pgd}
    if e["type"] in ("cr3_read", "cr3_write"):
        e["value"] = pgd
    elif e["type"] == "injection":
        e["vector"] = 48
    elif e["type"] == "flush":
        e["instruction"] = "invlpg"
    else:
        e.update(fault_rip="0x%x" % (0x500000 + seq), fault_addr="0x%x" % (0x500000 + seq), error_code=2)
    return e


def main():
    events, tasks = int(sys.argv[1]), int(sys.argv[2])
    out = sys.stdout
    out.write(json.dumps({"type": "run", "format": "cr3rig-history/1", "guest": "synthetic-wide",
                          "inject": "none", "backend": "test"}) + "\n")
    for seq in range(1, events + 1):
        out.write(json.dumps(event(seq, tasks)) + "\n")
    out.write(json.dumps({"type": "verdict", "verdict": "PASS", "reason": "synthetic"}) + "\n")


if __name__ == "__main__":
    main()
