"""``simulate`` design by design against ``simulate_batch`` (one group core call per group), per base
design: two-level (``buffers:``/``dram:``), ``memory:`` levels with residency, several arrays with the
per-op mapping choice. Prints per-design times, the ratio and the group count (no assertions).

    python benchmarks/bench_batch.py [--designs 256] [--model bert-base] [--seq 128]

Designs: array rows x cols (and, on memory-level bases, a level capacity) varied from each base, so a
batch holds one group per base (``simulator.group.group_key``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

# per base: the second varied field (besides array rows) and its values
AXES = {
    "gemmini": ("array.cols", [16, 32, 64, 128]),
    "tpuv1": ("memory.unified_buffer.capacity_kib", [1024.0, 4096.0, 24576.0, 65536.0]),
    "multi-gb": ("memory.global_buffer.capacity_kib", [4096.0, 8192.0, 32768.0, 65536.0]),
    "hbm-llm": ("array.cols", [16, 32, 64, 128]),
    "a100": ("array.cols", [16, 32, 64, 128]),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--designs", type=int, default=256, help="designs per base (default 256)")
    ap.add_argument("--model", default="bert-base")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--quick", action="store_true", help="64 designs per base")
    args = ap.parse_args()
    if args.quick:
        args.designs = 64

    from simulator.arch import load_arch
    from simulator.batch import simulate_batch
    from simulator.group import group_key
    from simulator.run import simulate_totals
    from sweeps.spec import replace_path
    from workloads.zoo import build_workload

    w = build_workload(args.model, seq_len=args.seq)
    print(f"== {args.model} s{args.seq}, {args.designs} designs per base (load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores); median of 3")
    print(f"  {'base':<9} {'count':>5} {'dataflow':>8} {'levels':>7} {'simulate':>12} {'batch':>14} {'ratio':>6} groups")
    for name, (path, values) in AXES.items():
        base = load_arch(name)
        rows = [16, 32, 64, 128]
        combos = [(r, v) for r in rows for v in values]
        archs = [replace_path(base, {"array.rows": r, path: v}) for r, v in
                 (combos * (args.designs // len(combos) + 1))[:args.designs]]
        simulate_totals(w, base)
        simulate_batch(w, archs[:4])  # warm: kernels, workload preparation
        one, many = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            for a in archs[:16]:
                simulate_totals(w, a)
            one.append((time.perf_counter() - t0) / 16)
            t0 = time.perf_counter()
            simulate_batch(w, archs)
            many.append((time.perf_counter() - t0) / len(archs))
        t1, t2 = float(np.median(one)), float(np.median(many))
        groups = len({group_key(a) for a in archs})
        print(f"  {name:<9} {base.array.count:>5} {base.array.dataflow:>8} {str(base.memory is not None):>7} "
              f"{t1 * 1e3:>9.2f} ms {t2 * 1e6:>8.1f} us/dsg {t1 / t2:>5.0f}x {groups}")


if __name__ == "__main__":
    main()
