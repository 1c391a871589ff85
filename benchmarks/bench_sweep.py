"""Sweep throughput (batched vs point by point, per executor), the quickstart end to end, Pareto speed
and what NSGA-II saves versus the grid.

    python benchmarks/bench_sweep.py           # ~23,000 BERT-base design points per executor
    python benchmarks/bench_sweep.py --quick   # ~3,900 points

Prints, measured in one run (quote medians and ratios: the machine may be shared):
* design points per minute on BERT-base seq 128 (analytical engine, per-op-kind rows stored) for the
  local executor in-process and with 2 processes and for Dask (a LocalCluster of 2 workers on
  127.0.0.1, warmed once; cluster start-up reported separately), the batched evaluation's ratio to
  the point-by-point path (same sweep, same results), CPU seconds per point and peak RSS;
* the quickstart spec end to end as a command (`tasim sweep quickstart`: sweep + report) and the
  report alone (streamed analysis + figures in parallel processes), wall and CPU time;
* the time to find the Pareto front of 1 M random points (2 and 3 objectives);
* on the shipped LLM-decode spec, the hypervolume NSGA-II reaches with a fraction of the grid.
Targets (issue 13): >= 1,000,000 points/min analytical on BERT-base-class workloads on 2 cores;
quickstart sweep + report < 5 s, its report < 2 s. End to end with --no-report, and the 10 M-point
memory bound: benchmarks/bench_sweep_scale.py. Start-up: benchmarks/bench_startup.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sweeps.executors import DaskExecutor, LocalExecutor
from sweeps.pareto import default_reference, hypervolume, pareto_mask
from sweeps.runner import run_sweep
from sweeps.spec import load_sweep, sweep_from_dict
from sweeps.store import load_totals

ROOT = Path(__file__).resolve().parents[1]


def bert_spec(quick: bool) -> dict:
    sizes = {"pow2": [8, 256]}
    return {
        "name": "bench-bert",
        "base": {"arch": "gemmini"},
        "axes": {
            "array.rows": sizes,
            "array.cols": sizes,
            "pe.precision_mode": ["fixed", "bit_fusion", "bit_serial"],
            "dram.bytes_per_cycle": [8, 16, 32, 64, 128, 256],
            **({} if quick else {"array.dataflow": ["os", "ws"], "array.freq_mhz": [500, 750, 1000]}),
        },
        "workloads": {"models": ["bert-base"], "seq_lens": [128]},
        "recipes": ["w8a8", "w4a8", "nm-2of4+w8a8"],
        "objectives": {"latency_s": "min", "energy_pj": "min"},
    }


def _cpu() -> float:
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def throughput(quick: bool, tmp: Path) -> None:
    spec = bert_spec(quick)
    n = sweep_from_dict(spec).grid_size()
    print(f"== throughput: BERT-base seq 128, {n:,} design points, analytical engine, per-op-kind rows stored "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    warm = dict(spec, axes={"array.rows": [16]}, name="warm-up")  # imports, numba cache, workload build
    run_sweep(sweep_from_dict(warm), tmp / "warm", executor=LocalExecutor(1), progress=False)
    sub = dict(spec, axes=dict(spec["axes"], **{"dram.bytes_per_cycle": [16]}), name="bench-bert-sub")
    n_sub = sweep_from_dict(sub).grid_size()
    rates = {}
    for name, make, s, batched in (
            (f"point by point, local x1 ({n_sub:,} pts)", lambda: LocalExecutor(1), sub, False),
            (f"batched, local x1 ({n_sub:,} pts)", lambda: LocalExecutor(1), sub, True),
            ("batched, local x1", lambda: LocalExecutor(1), spec, True),
            ("batched, local x2", lambda: LocalExecutor(2), spec, True),
            ("batched, dask-local x2", lambda: DaskExecutor(local_workers=2), spec, True)):
        t0 = time.perf_counter()
        ex = make()
        startup = time.perf_counter() - t0
        out = tmp / "run"
        c0 = _cpu()
        try:
            r = run_sweep(sweep_from_dict(s), out, executor=ex, progress=False, batched=batched)
        finally:
            ex.close()
        cpu = _cpu() - c0
        rates[name] = r.points_per_min
        extra = f" (+{startup:.1f} s cluster start-up)" if startup > 0.5 else ""
        cpu_txt = f", {1e6 * cpu / r.evaluated:.0f} us CPU/point" if "dask" not in name else ""
        print(f"  {name:>38}: {r.evaluated:,} points in {r.wall_s:.2f} s = {r.points_per_min:,.0f} points/min"
              f"{cpu_txt}, batches of {r.batch_size}{extra}")
        shutil.rmtree(out)
    a, b = rates[f"batched, local x1 ({n_sub:,} pts)"], rates[f"point by point, local x1 ({n_sub:,} pts)"]
    print(f"  batched / point by point: {a / b:.1f}x;  local x2 / x1: "
          f"{rates['batched, local x2'] / rates['batched, local x1']:.2f}x;  peak RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (target >= 1,000,000 points/min on 2 cores)")


def quickstart(tmp: Path) -> None:
    print("== quickstart: tasim sweep sweeps/specs/quickstart.yaml (sweep + report), then the report alone")
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = tmp / "qs"
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "sweeps.cli", "sweep", "quickstart", "-o", str(out), "--quiet"],
                       env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    print("  " + p.stdout.strip().splitlines()[0])
    print(f"  command end to end: wall {wall:.2f} s, CPU {cpu:.2f} s (driver + workers)  (target < 5 s)")
    from sweeps.report import write_report

    write_report(out)  # imports (matplotlib) and first-use costs
    walls, cpus = [], []
    for _ in range(3):
        c0, t0 = _cpu(), time.perf_counter()
        write_report(out)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    print(f"  report alone (streamed analysis, 6 figures as PNG in parallel): wall {np.median(walls):.2f} s, "
          f"CPU {np.median(cpus):.2f} s (median of 3)  (target < 2 s)")


def pareto_speed() -> None:
    print("== Pareto front of 1,000,000 random points")
    rng = np.random.default_rng(0)
    for k in (2, 3):
        v = rng.random((1_000_000, k))
        pareto_mask(v[:1000])  # JIT
        t0 = time.perf_counter()
        m = pareto_mask(v, ["min"] * (k - 1) + ["max"])
        dt = time.perf_counter() - t0
        print(f"  k={k} (mixed min/max): {dt:.3f} s, {int(m.sum())} non-dominated  (target < 1 s)")


def nsga2_vs_grid(tmp: Path, quick: bool) -> None:
    base = load_sweep(ROOT / "sweeps/specs/llm-decode.yaml")
    spec = dict(base.spec.__dict__)
    from workloads.schema import to_dict

    spec = to_dict(base.spec)
    spec["base"]["arch"] = "hbm-llm"
    grid = sweep_from_dict(spec)
    objs = grid.objectives
    print(f"== NSGA-II vs grid on llm-decode ({grid.grid_size()} grid points; objectives {objs}, "
          f"constraints {[c.text for c in grid.constraints]})")
    s = run_sweep(grid, tmp / "grid", executor=LocalExecutor(2), progress=False)
    g = load_totals(tmp / "grid")
    from sweeps.report import feasible

    gf = feasible(g, [c.text for c in grid.constraints])
    cols, senses = list(objs), list(objs.values())
    ref = default_reference(gf[cols].to_numpy(float), senses)
    hv_grid = hypervolume(gf[cols].to_numpy(float), ref, senses)
    print(f"  grid: {s.evaluated} evaluations in {s.wall_s:.1f} s, front {int(pareto_mask(gf[cols].to_numpy(float), senses).sum())} points, hypervolume 1.000")
    for n in ((80, 160) if quick else (80, 160, 320)):
        spec_n = dict(spec, strategy={"kind": "nsga2", "n": n, "population": 16, "seed": 0})
        out = tmp / f"nsga2-{n}"
        sn = run_sweep(sweep_from_dict(spec_n), out, executor=LocalExecutor(2), progress=False)
        t = feasible(load_totals(out), [c.text for c in grid.constraints])
        hv = hypervolume(t[cols].to_numpy(float), ref, senses)
        print(f"  nsga2 n={n}: {sn.evaluated} distinct evaluations ({sn.evaluated / s.evaluated:.0%} of the grid) "
              f"in {sn.wall_s:.1f} s, hypervolume {hv / hv_grid:.3f} of the grid's")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sweeps")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tasim-bench-sweep-"))
    try:
        throughput(args.quick, tmp)
        quickstart(tmp)
        pareto_speed()
        nsga2_vs_grid(tmp, args.quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
