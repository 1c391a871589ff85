"""Print the figures of a fuzz campaign from the JSON lines that ``TASIM_FUZZ_REPORT`` collected
(``make fuzz``): cases per input kind and exit status, findings per class, time."""

from __future__ import annotations

import collections
import json
import sys


def main(path: str) -> int:
    try:
        rows = [json.loads(line) for line in open(path) if line.strip()]
    except OSError as exc:
        print(f"no fuzz report at {path} ({exc.strerror})")
        return 1
    kinds = collections.Counter(r["kind"] for r in rows)
    rcs = collections.Counter((r["kind"], r["rc"]) for r in rows)
    findings = collections.Counter((r["finding"] or "").split(":")[0] for r in rows if r["finding"])
    secs = sorted(r["seconds"] for r in rows)
    print(f"fuzz campaign: {len(rows):,} cases, {sum(secs):.0f} s in cases "
          f"(median {secs[len(secs) // 2] * 1e3:.0f} ms, max {secs[-1]:.2f} s)" if rows else "no cases")
    for k in sorted(kinds):
        print(f"  {k:<12} {kinds[k]:>6,} cases  exit 0: {rcs[(k, '0')]:>6,}  exit 2: {rcs[(k, '2')]:>6,}")
    slow = [r for r in rows if r["seconds"] > 5.0]
    print(f"cases above 5 s: {len(slow)}" + (" (" + "; ".join(f"{r['kind']} {r['seconds']:.1f} s" for r in slow[:8])
                                             + ")" if slow else ""))
    print("findings: " + (", ".join(f"{c} {n}" for c, n in sorted(findings.items())) or
                          "none (0 tracebacks, 0 hangs, 0 non-finite or out-of-range outputs)"))
    for r in [r for r in rows if r["finding"]][:20]:
        print(f"  {r['kind']}: tasim {' '.join(r['argv'])[:200]}\n    -> {r['finding'][:300]}")
    return 0 if not findings else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "results/fuzz-report.jsonl"))
