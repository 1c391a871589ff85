"""GEMM evaluations per second of the vectorised analytical compute model (prints figures; no assertions).

Target (issue 2): >= 1,000,000 GEMM evaluations per second on one core. One evaluation = mapping,
folds, compute cycles, utilization, mapping efficiency and the three SRAM access counts of one GEMM
on one array (``simulator.analytical.analyze_compute``), for random GEMMs on random arrays and
dataflows, both timing models.

    .venv/bin/python benchmarks/bench_analytical.py [--quick] [--n 1000000]
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200,000 GEMMs, 2 repetitions")
    ap.add_argument("--n", type=int, default=None, help="number of random GEMMs (default 1,000,000)")
    args = ap.parse_args()
    # one core: keep any BLAS/OpenMP pools single-threaded (the model is elementwise numpy anyway)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import numpy as np

    from simulator.analytical import analyze_compute

    n = args.n or (200_000 if args.quick else 1_000_000)
    rep = 2 if args.quick else 5
    rng = np.random.default_rng(0)
    m = rng.integers(1, 4097, n)
    nn = rng.integers(1, 4097, n)
    k = rng.integers(1, 4097, n)
    side = np.array([4, 8, 16, 32, 64, 128, 256])
    rows = rng.choice(side, n)
    cols = rng.choice(side, n)
    df = rng.integers(0, 3, n)  # dataflow codes 0/1/2 = os/ws/is (strings work too, see below)

    print(f"analyze_compute on {n:,} random GEMMs (M, N, K in 1..4096, arrays 4..256, os/ws/is), best of {rep}")
    for label, kwargs in (("scalesim timing", {"scalesim": True}), ("default timing", {"scalesim": False})):
        best = float("inf")
        for _ in range(rep):
            t0 = time.perf_counter()
            out = analyze_compute(m, nn, k, rows, cols, df, **kwargs)
            best = min(best, time.perf_counter() - t0)
        assert out["compute_cycles"].shape == (n,)
        print(f"  {label:<16} {best * 1e3:8.1f} ms  ->  {n / best:>13,.0f} GEMM evaluations/s  (target 1,000,000)")
    names = np.array(["os", "ws", "is"])[df]
    t0 = time.perf_counter()
    analyze_compute(m, nn, k, rows, cols, names, scalesim=True)
    dt = time.perf_counter() - t0
    print(f"  {'dataflow strings':<16} {dt * 1e3:8.1f} ms  ->  {n / dt:>13,.0f} GEMM evaluations/s  "
          "(string -> code conversion included)")

    # the whole closed form with the memory hierarchy: every row its own GEMM, array, dataflow, buffers
    # and links (simulator.memory.analyze_params: what simulate and batched sweeps call)
    from simulator.memory import analyze_params
    from simulator.memory.params import param_matrix

    nm = max(n // 4, 1000)
    kib = rng.choice(np.array([16.0, 64.0, 256.0, 1024.0]), nm) * 1024
    links = rng.choice(np.array([0.0, 1 / 64, 1 / 16, 1 / 4]), (3, nm))
    prm = param_matrix(m=m[:nm], n=nn[:nm], k=k[:nm], h=rows[:nm], w=cols[:nm], df=df[:nm], timing=1, db=True,
                       cap_a=kib, cap_b=kib, cap_c=kib, ab=1.0, bb=1.0, ob=4.0, inv_a=links[0], inv_b=links[1],
                       inv_c=links[2], lat=100.0)
    analyze_params(prm[:10])  # compile / load the kernels
    best = float("inf")
    for _ in range(rep):
        t0 = time.perf_counter()
        analyze_params(prm)
        best = min(best, time.perf_counter() - t0)
    print(f"analyze_params (compute + memory levels, closed form) on {nm:,} random GEMMs with random buffers "
          f"and links\n  {'default timing':<16} {best * 1e3:8.1f} ms  ->  {nm / best:>13,.0f} GEMM evaluations/s")


if __name__ == "__main__":
    main()
