"""One GEMM on one accelerator: the API behind ``tasim gemm``.

``run_gemm`` returns a plain nested dict (JSON-ready) with the figures of the compute model (mapping,
cycles, utilization, SRAM accesses) and of the memory model (stalls, DRAM traffic per operand).
"""

from __future__ import annotations

import time
from typing import Any

from simulator.analytical import analyze_compute
from simulator.arch import ArchSpec
from workloads.errors import InputError

ENGINES = ("analytical", "cycle")
TIMINGS = ("default", "scalesim")


def run_gemm(
    arch: ArchSpec,
    m: int,
    n: int,
    k: int,
    *,
    engine: str = "analytical",
    timing: str | None = None,
) -> dict[str, Any]:
    if engine not in ENGINES:
        raise InputError(f"{engine!r} is not allowed (allowed: {', '.join(ENGINES)})", key="--engine")
    timing = timing or arch.array.timing
    if timing not in TIMINGS:
        raise InputError(f"{timing!r} is not allowed (allowed: {', '.join(TIMINGS)})", key="--timing")
    a = arch.array
    t0 = time.perf_counter()
    if engine == "cycle":
        raise InputError("the cycle engine is not built into this version (allowed: analytical)", key="--engine")
    r = analyze_compute(
        m, n, k, a.rows, a.cols, a.dataflow, scalesim=timing == "scalesim", prefetch=a.prefetch_stationary
    )
    elapsed = time.perf_counter() - t0
    compute = int(r["compute_cycles"])
    stall = 0
    return {
        "arch": arch.name,
        "gemm": {"m": m, "n": n, "k": k},
        "dataflow": a.dataflow,
        "timing": timing,
        "engine": engine,
        "folds": int(r["folds"]),
        "compute_cycles": compute,
        "stall_cycles": stall,
        "total_cycles": compute + stall,
        "macs": int(r["macs"]),
        "utilization": float(r["utilization"]),
        "mapping_efficiency": float(r["mapping_efficiency"]),
        "sram_reads": {"ifmap": int(r["sram_ifmap_reads"]), "filter": int(r["sram_filter_reads"])},
        "sram_writes": {"ofmap": int(r["sram_ofmap_writes"])},
        "dram_read_bytes": {"ifmap": m * k, "filter": k * n, "ofmap": 0},
        "dram_write_bytes": {"ofmap": m * n},
        "elapsed_s": elapsed,
    }
