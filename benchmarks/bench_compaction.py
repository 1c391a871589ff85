"""Store compaction at the end of a long sweep: how many files, how long, how much memory.

    python benchmarks/bench_compaction.py            # 600 parts of 34,000 rows (20 M rows)
    python benchmarks/bench_compaction.py --quick    # 150 parts
    python benchmarks/bench_compaction.py --parts 3000   # a 10 M-point sweep's worth (100 M rows, minutes)

Writes synthetic part files shaped like a BERT sweep's (per task: 3,400 design points, one total row
and nine op-kind rows each, totals first in their own row group, ~40 numeric columns), then runs
``Store.compact`` and prints the number of files before and after, the wall time, rows per second and
the growth of this process's peak RSS (the merge streams one row group at a time). No speed is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sweeps.store import COMPACT_ROWS, MAX_PART_FILES, Store


def part(points: int, rng: np.random.Generator) -> pa.Table:
    """One task's rows (ids set per part by the caller); values from a few hundred distinct numbers,
    as a grid sweep's are (a real 10 M-point store takes 82 B per point)."""
    n_ops = 9
    n = points * (1 + n_ops)
    cols: dict[str, object] = {"point_id": np.full(n, "0" * 16), "row": ["total"] * points + ["op_kind"] * (n - points),
                               "status": np.full(n, "ok"),
                               "op_kind": np.concatenate([np.full(points, ""), np.tile([f"k{j}" for j in range(n_ops)], points)]),
                               "model": np.full(n, "bert-base"), "seq_len": np.full(n, 128)}
    for c in range(40):
        cols[f"m{c}"] = rng.integers(1, 400, n) * 1.5 ** c
    return pa.table(cols)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--parts", type=int, default=None)
    args = ap.parse_args()
    n_parts = args.parts or (150 if args.quick else 600)
    tmp = Path(tempfile.mkdtemp(prefix="tasim-bench-compact-"))
    try:
        store = Store(tmp / "s")
        rng = np.random.default_rng(0)
        t = part(3400, rng)
        local = np.char.mod("%08x", np.concatenate([np.arange(3400), np.repeat(np.arange(3400), 9)]))
        for i in range(n_parts):
            t = t.set_column(0, "point_id", pa.array(np.char.add(f"{i:08x}", local)))
            with pq.ParquetWriter(store.parts_dir / f"part-{i:08x}.parquet", t.schema, compression="zstd") as w:
                w.write_table(t.slice(0, 3400))  # totals first, in their own row group
                w.write_table(t.slice(3400))
        rows = n_parts * t.num_rows
        size = sum(f.stat().st_size for f in store.parts_dir.iterdir()) / 2**20
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"== {n_parts:,} parts of {t.num_rows:,} rows ({rows:,} rows, {size:,.0f} MiB on disk; load average "
              f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores); limits: {MAX_PART_FILES} files, "
              f"{COMPACT_ROWS:,} rows per merged file")
        t0 = time.perf_counter()
        store.compact(log=sys.stdout)
        wall = time.perf_counter() - t0
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        after = store.part_files()
        print(f"  compact: {n_parts:,} -> {len(after)} files in {wall:.1f} s ({rows / wall / 1e6:.2f} M rows/s); "
              f"peak RSS {rss0:.0f} -> {rss1:.0f} MiB (+{rss1 - rss0:.0f} MiB)")
        t0 = time.perf_counter()
        n = sum(x.num_rows for x in store.scan(["point_id"], totals=True))
        print(f"  reading every total row afterwards: {n:,} in {time.perf_counter() - t0:.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
