"""A large sweep end to end (`tasim sweep ... --no-report`): points per minute and peak memory.

    python benchmarks/bench_sweep_scale.py                       # 1,000,000 BERT-base design points
    python benchmarks/bench_sweep_scale.py --points 10000000     # the 10 M-point run (disk: ~7 GB)
    python benchmarks/bench_sweep_scale.py --points 200000 --workers 1
    python benchmarks/bench_sweep_scale.py --points 1000000 --base tpuv1   # memory: levels, residency
    python benchmarks/bench_sweep_scale.py --points 1000000 --base multi-gb  # 16 arrays, shared buffer
    python benchmarks/bench_sweep_scale.py --points 500000 --dask 1,2      # Dask LocalCluster, 1 then 2 workers

Runs the real command in a subprocess (start-up, planning, calibration, workers, Parquet writes and the
final compaction all included) on BERT-base seq 128 (w8a8) over array rows x cols x PE precision
mode x DRAM bandwidth x clock x input-buffer size, and samples the RSS of the driver and of the whole
process tree (driver + pool workers) every 0.2 s. Prints the command's own summary line, the wall
time, points/min end to end, the peak RSS of the driver and of the tree, and the store size on disk.
Targets (issue 13): >= 500,000 points/min end to end with --no-report on 2 cores; a 10 M-point sweep
with peak RSS under 2 GiB.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


# per base: the DRAM bandwidth axis and the buffer-capacity axis (a memory: level, or buffers:)
BASES = {
    "gemmini": ("dram.bytes_per_cycle", {"start": 4, "stop": 1024}, "buffers.ifmap_kib", (32, 4096)),
    "tpuv1": ("memory.weight_memory.bandwidth_gbps", {"start": 8, "stop": 2048}, "memory.unified_buffer.capacity_kib",
              (256, 65536)),
    "multi-gb": ("memory.dram.bandwidth_gbps", {"start": 25, "stop": 3200}, "memory.global_buffer.capacity_kib",
                 (256, 65536)),
}


def spec_for(points: int, base: str = "gemmini") -> dict:
    """About ``points`` design points: 8 x 8 array shapes x 3 PE modes x n^2 x m bandwidth/clock/buffer values."""
    rest = max(1, math.ceil(points / 192))
    z = max(1, round(rest ** (1 / 3)))
    x = max(1, math.ceil(math.sqrt(rest / z)))
    y = max(1, math.ceil(rest / (x * z)))
    axes = {
        "array.rows": {"pow2": [4, 512]},
        "array.cols": {"pow2": [4, 512]},
        "pe.precision_mode": ["fixed", "bit_fusion", "bit_serial"],
    }
    bw, bw_range, buf, (lo, hi) = BASES[base]
    axes[bw] = dict(bw_range, num=x, log=True) if x > 1 else [bw_range["start"] * 4]
    axes["array.freq_mhz"] = {"start": 200, "stop": 2000, "num": y} if y > 1 else [1000]
    axes[buf] = {"start": lo, "stop": hi, "num": z, "log": True} if z > 1 else [lo * 4]
    return {"name": f"scale-{points}-{base}", "base": {"arch": base}, "axes": axes,
            "workloads": {"models": ["bert-base"], "seq_lens": [128]}, "recipes": ["w8a8"],
            "objectives": {"latency_s": "min", "energy_pj": "min"}}


def tree_rss(pid: int, cpu: dict[int, float] | None = None) -> tuple[int, int]:
    """(driver RSS, driver + descendants RSS) in bytes; ``cpu`` collects each process's CPU seconds
    (user + system) as last seen (the driver under key 0)."""
    try:
        import psutil

        p = psutil.Process(pid)
        own = p.memory_info().rss
        kids = p.children(recursive=True)
        total = own
        if cpu is not None:
            t = p.cpu_times()
            cpu[0] = t.user + t.system
        for c in kids:
            try:
                total += c.memory_info().rss
                if cpu is not None:
                    t = c.cpu_times()
                    cpu[c.pid] = t.user + t.system
            except Exception:  # noqa: BLE001 - gone meanwhile
                pass
        return own, total
    except Exception:  # noqa: BLE001 - process gone between listing and reading
        return 0, 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="50,000 points (benchmarks/run_all.py)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--base", choices=sorted(BASES), default="gemmini",
                    help="base design: gemmini (buffers:/dram:), tpuv1 (memory: levels) or multi-gb (16 arrays)")
    ap.add_argument("--keep", metavar="DIR", default=None, help="write the results here and keep them")
    ap.add_argument("--every", type=float, default=0.0, metavar="S", help="print partial figures every S seconds")
    ap.add_argument("--dask", metavar="N,N,...", default=None,
                    help="run on a Dask LocalCluster (127.0.0.1) of each worker count in turn and print the scaling")
    args = ap.parse_args()
    if args.quick:
        args.points = 50_000
    if args.dask:
        if args.keep:
            ap.error("--keep with --dask would resume the first run's results in the later ones")
        rates = {}
        for n_w in (int(x) for x in args.dask.split(",")):
            rates[n_w] = run_once(args, ["--dask-local", str(n_w)])
        one = rates[min(rates)]
        for n_w, r in rates.items():
            print(f"Dask x{n_w}: {r:,.0f} points/min end to end = {r / one:.2f}x the {min(rates)}-worker rate "
                  f"({r / one / (n_w / min(rates)):.0%} scaling efficiency)")
        return
    run_once(args, ["--workers", str(args.workers)])


def run_once(args: argparse.Namespace, executor: list[str]) -> float:
    """One run of the command; prints its figures and returns points/min end to end."""
    tmp = Path(tempfile.mkdtemp(prefix="tasim-bench-scale-"))
    out = Path(args.keep) if args.keep else tmp / "out"
    spec = spec_for(args.points, args.base)
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec))
    cmd = [sys.executable, "-m", "sweeps.cli", "sweep", str(tmp / "spec.yaml"), "-o", str(out), "--no-report",
           *executor]
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    print(f"== {' '.join(cmd[1:])}  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
    t0 = time.perf_counter()
    err_path = tmp / "stderr.txt"
    with open(err_path, "w") as err_file:
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err_file, text=True)
        peak_own = peak_tree = 0
        cpu: dict[int, float] = {}
        last = t0
        while p.poll() is None:
            own, total = tree_rss(p.pid, cpu)
            peak_own, peak_tree = max(peak_own, own), max(peak_tree, total)
            if args.every and time.perf_counter() - last >= args.every:  # partial figures of long runs
                last = time.perf_counter()
                lines = err_path.read_text().strip().splitlines()
                print(f"  [{last - t0:6.0f} s] peak RSS driver {peak_own / 2**20:,.0f} MiB, tree "
                      f"{peak_tree / 2**20:,.0f} MiB; {lines[-1] if lines else ''}", flush=True)
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        stdout, _ = p.communicate()
    stderr = err_path.read_text()
    if p.returncode:
        print(stderr)
        raise SystemExit(p.returncode)
    print(stdout.strip())
    for line in stderr.strip().splitlines()[-3:]:
        print("  stderr:", line)
    n = int(stdout.split(" design points")[0].split()[-1])
    disk = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"end to end: {n:,} points in {wall:.1f} s = {60 * n / wall:,.0f} points/min (target >= 500,000 on 2 cores)")
    print(f"peak RSS: driver {peak_own / 2**20:,.0f} MiB, driver + workers {peak_tree / 2**20:,.0f} MiB "
          f"(target < 2048 MiB); store {disk / 2**30:.2f} GiB on disk ({disk / max(n, 1):.0f} bytes/point)")
    driver_cpu = cpu.get(0, 0.0)
    workers_cpu = sum(v for k, v in cpu.items() if k)
    per_pt = driver_cpu / max(n, 1) * 1e6
    print(f"CPU: driver {driver_cpu:.1f} s ({per_pt:.1f} us/point: the driver alone could feed "
          f"{60e6 / max(per_pt, 1e-9):,.0f} points/min), workers {workers_cpu:.1f} s "
          f"({workers_cpu / max(n, 1) * 1e6:.1f} us/point: {60e6 / max(workers_cpu / max(n, 1) * 1e6, 1e-9):,.0f} "
          f"points/min per busy core); sampled every 0.2 s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 60 * n / wall


if __name__ == "__main__":
    main()
