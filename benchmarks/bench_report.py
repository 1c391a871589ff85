"""The quickstart's report: where its time goes, and the command end to end.

    python benchmarks/bench_report.py            # 5 runs of each, medians
    python benchmarks/bench_report.py --quick    # 3 runs

Prints, measured in one run (quote medians and the load average: the machine may be shared):
* `tasim sweep quickstart` as a command (sweep + report + explorer page), and with `--no-report`
  (the sweep alone): wall and CPU time (driver + workers + figure processes), and their difference;
* the report rebuilt from the stored results as a command (`tasim plot DIR --kind report --formats png`:
  interpreter start-up, imports, streamed analysis, figures, report.md/.html);
* in one process, warm: `write_report` (analysis + the figures drawn in parallel processes + report
  files), `write_explorer`, and each figure drawn alone (wall and CPU).
Targets (issue 13): quickstart sweep + report < 5 s, its report < 2 s. No speed is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def command(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the process and its children)."""
    c0, t0 = _cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "sweeps.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, _cpu() - c0


def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = _cpu(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 runs instead of 5")
    ap.add_argument("--runs", type=int, default=None)
    args = ap.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    tmp = Path(tempfile.mkdtemp(prefix="tasim-bench-report-"))
    load0 = os.getloadavg()
    try:
        out = tmp / "qs"
        command(["sweep", "quickstart", "-o", str(out), "--quiet"], env)  # warm: page cache, numba cache
        res = {}
        for name, extra in (("sweep + report + explorer", []), ("sweep alone (--no-report)", ["--no-report"])):
            w, c = [], []
            for i in range(runs):
                d = tmp / f"run-{i}"
                wall, cpu = command(["sweep", "quickstart", "-o", str(d), "--quiet", *extra], env)
                w.append(wall)
                c.append(cpu)
                shutil.rmtree(d)
            res[name] = (statistics.median(w), statistics.median(c))
        print(f"== quickstart (1,440 design points), {runs} runs each, medians; load average "
              f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} on {os.cpu_count()} cores")
        for name, (w, c) in res.items():
            print(f"  tasim sweep quickstart, {name:>26}: wall {w:.2f} s, CPU {c:.2f} s")
        (wa, ca), (wb, cb) = res["sweep + report + explorer"], res["sweep alone (--no-report)"]
        print(f"  difference (report + explorer page, as the command runs them): wall {wa - wb:.2f} s, CPU {ca - cb:.2f} s"
              "  (targets: sweep + report < 5 s, report < 2 s)")
        w = [command(["plot", str(out), "--kind", "report", "--formats", "png"], env) for _ in range(runs)]
        print(f"  tasim plot DIR --kind report --formats png (fresh process): wall "
              f"{statistics.median(x[0] for x in w):.2f} s, CPU {statistics.median(x[1] for x in w):.2f} s")

        from sweeps import report
        from sweeps.explorer import write_explorer

        report.write_report(out)  # imports and first-use costs
        wr, cr = timed(lambda: report.write_report(out), runs)
        we, ce = timed(lambda: write_explorer(out), runs)
        print(f"  in one process, warm: write_report wall {wr:.2f} s, CPU {cr:.2f} s (figures in parallel "
              f"processes); write_explorer wall {we:.2f} s, CPU {ce:.2f} s")
        jobs: list = []
        original = report._draw
        report._draw = lambda j, parallel: (jobs.extend(j), {})[1]  # collect the figure jobs, draw nothing
        try:
            report.make_figures(report.analyse(out), out)
        finally:
            report._draw = original
        wa_, ca_ = timed(lambda: report.analyse(out), runs)
        parts = [f"analysis {wa_:.2f} s"]
        total = 0.0
        for name, fn, fargs, kw in jobs:
            w_, c_ = timed(lambda: fn(*fargs, **kw), runs)  # noqa: B023  (called at once)
            total += c_
            parts.append(f"{name} {w_:.2f} s")
        print("  alone, wall: " + ", ".join(parts) + f"; figures' CPU in all {total:.2f} s")
        load1 = os.getloadavg()
        print(f"  load average at the end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
