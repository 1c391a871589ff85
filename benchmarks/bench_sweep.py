"""Sweep throughput, Pareto speed and what NSGA-II saves versus the grid.

    python benchmarks/bench_sweep.py           # ~3,900 BERT-base design points per executor
    python benchmarks/bench_sweep.py --quick   # ~650 points

Prints: design points per minute for the local executor (1 and 2 processes) and for Dask (a
LocalCluster of 2 workers on 127.0.0.1, cluster start-up excluded and reported separately), the time
to find the Pareto front of 1 M random points (2 and 3 objectives), and, on the shipped LLM-decode
spec, the hypervolume an NSGA-II search reaches with a quarter of the grid's evaluations.
Targets (issue 6): >= 50,000 points/min analytical on BERT-base-sized workloads on 2 cores; Pareto
on 1 M points < 1 s.
"""

from __future__ import annotations

import argparse
import shutil
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
            "dram.bytes_per_cycle": [16, 64, 256] if quick else [8, 16, 32, 64, 128, 256],
            **({} if quick else {"array.dataflow": ["os", "ws"]}),
        },
        "workloads": {"models": ["bert-base"], "seq_lens": [128]},
        "recipes": ["w8a8", "w4a8"] if quick else ["w8a8", "w4a8", "nm-2of4+w8a8"],
        "objectives": {"latency_s": "min", "energy_pj": "min"},
    }


def throughput(quick: bool, tmp: Path) -> None:
    spec = bert_spec(quick)
    n = sweep_from_dict(spec).grid_size()
    print(f"== throughput: BERT-base seq 128, {n:,} design points, analytical engine (with per-op-kind rows)")
    warm = dict(spec, axes={"array.rows": [16]}, name="warm-up")  # imports, numba cache, workload build
    run_sweep(sweep_from_dict(warm), tmp / "warm", executor=LocalExecutor(1), progress=False)
    runs = [("local x1", lambda: LocalExecutor(1)), ("local x2", lambda: LocalExecutor(2)),
            ("dask-local x2", lambda: DaskExecutor(local_workers=2))]
    for name, make in runs:
        t0 = time.perf_counter()
        ex = make()
        startup = time.perf_counter() - t0
        out = tmp / name.replace(" ", "_")
        try:
            s = run_sweep(sweep_from_dict(spec), out, executor=ex, progress=False)
        finally:
            ex.close()
        extra = f" (+{startup:.1f} s cluster start-up)" if startup > 0.5 else ""
        print(f"{name:>14}: {s.evaluated:,} points in {s.wall_s:.2f} s = {s.points_per_min:,.0f} points/min, "
              f"batches of {s.batch_size}{extra}")
        shutil.rmtree(out)


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
        pareto_speed()
        nsga2_vs_grid(tmp, args.quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
