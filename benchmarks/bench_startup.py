"""Command start-up: `tasim gemm`, `tasim scalesim` and `tasim simulate` end to end, against `tasim --help`.

    python benchmarks/bench_startup.py           # 7 runs each, medians
    python benchmarks/bench_startup.py --runs 15

Each command runs as a fresh process (`python -m sweeps.cli ...`, as the `tasim` entry point does),
warm (files in the page cache, numba's kernel cache filled by a first run). Prints the median wall time
of each, its ratio to `tasim --help` (the interpreter + argument parsing floor) and whether numba was
imported (`-X importtime`). Target (issue 13): warm `tasim gemm` under 0.25 s end to end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(tmp: str) -> list[tuple[str, list[str]]]:
    return [
        ("tasim --help", ["--help"]),
        ("tasim gemm", ["gemm", "--arch", "edge-32", "--m", "128", "--n", "3072", "--k", "768"]),
        ("tasim gemm --json", ["gemm", "--arch", "tpuv1", "--m", "512", "--n", "1024", "--k", "1024", "--json"]),
        ("tasim scalesim --example", ["scalesim", "--example", "-p", tmp, "--quiet"]),
        ("tasim simulate bert-base", ["simulate", "--arch", "tpuv1", "--model", "bert-base", "--seq-len", "128"]),
        ("tasim simulate --format json", ["simulate", "--arch", "edge-32", "--model", "distilbert", "--format", "json"]),
    ]


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the process: user + system)."""
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sweeps.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def imports_numba(args: list[str], env: dict[str, str]) -> bool:
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "sweeps.cli", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return any(line.split("|")[-1].strip() == "numba" for line in r.stderr.splitlines() if "|" in line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 runs per command")
    args = ap.parse_args()
    if args.quick:
        args.runs = 3
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a warm install has its .pyc files
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(tmp)
        for _, a in cmds:  # warm: page cache, numba cache
            run(a, env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in cmds}
        for _ in range(args.runs):  # interleaved, so load changes hit every command alike
            for name, a in cmds:
                times[name].append(run(a, env))
        base = statistics.median(w for w, _ in times["tasim --help"])
        print(f"== command start-up, median of {args.runs} warm runs (load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores; on a busy machine wall time exceeds CPU time)")
        for name, a in cmds:
            wall = statistics.median(w for w, _ in times[name])
            cpu = statistics.median(c for _, c in times[name])
            numba = "" if name == "tasim --help" else ("  imports numba" if imports_numba(a, env) else "  no numba")
            print(f"  {name:<30} wall {wall * 1e3:6.0f} ms  CPU {cpu * 1e3:5.0f} ms  ({wall / base:4.2f}x tasim --help)"
                  f"{numba}")
        print("  target: warm `tasim gemm` < 250 ms end to end")


if __name__ == "__main__":
    main()
