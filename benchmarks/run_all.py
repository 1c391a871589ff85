"""Run every ``benchmarks/bench_*.py`` in turn (with ``--quick`` unless ``--full``) and print their output.

    .venv/bin/python benchmarks/run_all.py           # quick versions, a minute or two
    .venv/bin/python benchmarks/run_all.py --full    # full versions (SCALE-Sim FFN1 alone takes minutes)

Benchmarks print figures and ratios; none asserts a speed. The exit status is non-zero when a
benchmark script fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="run the full benchmarks (no --quick)")
    ap.add_argument("names", nargs="*", help="only these benchmarks (e.g. bench_scalesim)")
    args = ap.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem in args.names or s.name in args.names]
    failed = []
    for script in scripts:
        cmd = [sys.executable, str(script)] + ([] if args.full else ["--quick"])
        print(f"==> {script.name} {'' if args.full else '--quick'}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, cwd=HERE.parent).returncode
        print(f"<== {script.name}: exit {rc}, {time.perf_counter() - t0:.1f} s\n", flush=True)
        if rc != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
