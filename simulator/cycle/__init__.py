"""Cycle-level systolic-array + memory engine (numba kernels, on-disk JIT cache).

Public API:

* ``simulate_gemms(m, n, k, arch, *, a_bytes, b_bytes, out_bytes, timing, trace_dir)`` -- same keys as
  ``simulator.memory.analyze_gemms``, obtained by stepping every fold cycle by cycle.
* ``functional_gemm(A, B, arch, *, timing)`` -- moves the real values through the PEs and returns
  ``(C, stats)``; for integer operands ``C == A.astype(int64) @ B`` exactly.

See docs/cycle.md.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from simulator import results as R
from simulator.arch import ArchSpec
from simulator.cycle.engine import simulate_many
from simulator.dataflows import T_PREFETCH, T_SCALESIM, event_length, streamed_dim
from simulator.memory import as_dims, evaluate_choosing_dataflow, memory_params
from simulator.memory import params as P
from workloads.errors import InputError

__all__ = ["simulate_gemms", "simulate_params", "functional_gemm"]


def simulate_gemms(
    m: Any,
    n: Any,
    k: Any,
    arch: ArchSpec,
    *,
    a_bytes: float = 1.0,
    b_bytes: float = 1.0,
    out_bytes: float = 1.0,
    timing: str | None = None,
    trace_dir: str | Path | None = None,
) -> dict[str, np.ndarray]:
    """Cycle-level figures for many GEMMs on one accelerator (keys as ``analyze_gemms``).

    Identical shapes in one call are simulated once. With ``trace_dir`` the per-cycle SRAM traces
    and the DRAM transfer trace of every GEMM are streamed to CSV files there (one sub-folder per GEMM
    when there are several; see ``simulator.cycle.trace``).
    """
    from simulator.limits import check_cycle_work
    from simulator.memory import analyze_gemms

    p = memory_params(arch, a_bytes, b_bytes, out_bytes, timing)
    m, n, k = as_dims(m, n, k)
    # the kernel steps every cycle: estimate them in closed form first (also checks the int64 ranges)
    est = analyze_gemms(m, n, k, arch, a_bytes=a_bytes, b_bytes=b_bytes, out_bytes=out_bytes, timing=timing)
    check_cycle_work(np.asarray(est["total_cycles"], dtype=float)
                     + np.asarray(est["folds"], dtype=float) * float(arch.array.rows + arch.array.cols))
    res = evaluate_choosing_dataflow(simulate_params, m, n, k, p)
    if trace_dir is not None:
        from simulator.cycle.trace import write_traces

        root = Path(trace_dir)
        for g in range(m.size):
            sub = root if m.size == 1 else root / f"gemm_{g:04d}"
            write_traces(sub, int(m[g]), int(n[g]), int(k[g]), dict(p, df=int(res["dataflow"][g])))
    return res


def simulate_params(prm: np.ndarray) -> dict[str, np.ndarray]:
    """The cycle engine on a parameter matrix (``simulator.memory.params``: every row its own GEMM,
    array, dataflow, buffers and links); identical rows are simulated once."""
    prm = np.ascontiguousarray(prm, dtype=np.float64)
    uniq, inverse = np.unique(prm, axis=0, return_inverse=True)
    raw = R.new_matrix(uniq.shape[0])
    simulate_many(np.ascontiguousarray(uniq), raw)
    out = raw[inverse.reshape(-1)]
    m, n, k = (prm[:, c] for c in (P.M, P.N, P.K))
    R.finish(out, m, n, k, prm[:, P.H] * prm[:, P.W])
    return R.to_dict(out)


def functional_gemm(
    A: np.ndarray, B: np.ndarray, arch: ArchSpec, *, timing: str | None = None  # noqa: N803 - math names
) -> tuple[np.ndarray, dict[str, Any]]:
    """Compute ``A @ B`` by moving the operands through the simulated PEs of ``arch``'s array.

    Integer inputs accumulate in int64 (exact), floats in float64. ``stats`` holds the cycle-level
    figures of ``simulate_gemms`` for this shape (memory model with 1-byte elements), the SRAM reads and
    writes counted by the functional kernels (``functional_sram_*``), ``pe_updates`` and
    ``pe_updates_per_s``. Default timing with ``array.prefetch_stationary`` runs all folds pipelined on
    one array (double-buffered stationary registers); ``functional_hazards`` (port or register
    conflicts seen, 0 for a valid schedule) and ``functional_last_write_cycle`` (the cycle of the last
    output write, counted from the first fold's first access; -1 when not pipelined) come from it.
    """
    from simulator.cycle.functional import functional_product

    a = np.asarray(A)
    b = np.asarray(B)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise InputError(f"shapes {a.shape} and {b.shape} do not form a GEMM A(MxK) . B(KxN)", key="A, B")
    if a.size == 0 or b.size == 0:
        raise InputError("GEMM dimensions must be >= 1", key="A, B")
    if a.dtype.kind in "iub" and b.dtype.kind in "iub":
        dtype = np.int64
    elif a.dtype.kind in "iubf" and b.dtype.kind in "iubf":
        dtype = np.float64
    else:
        raise InputError(f"dtypes {a.dtype}, {b.dtype} are not allowed (allowed: integer or float)", key="A, B")
    p = memory_params(arch, 1.0, 1.0, 1.0, timing)
    if p["df"] < 0:  # array.dataflow: auto -> the dataflow the engines choose for this shape
        p["df"] = int(simulate_gemms(a.shape[0], b.shape[1], a.shape[1], arch, timing=timing)["dataflow"][0])
    h, w, df = p["h"], p["w"], p["df"]
    mdim, kdim = a.shape
    ndim = b.shape[1]
    t = streamed_dim(df, mdim, ndim, kdim)
    length = int(event_length(h, w, t, df, p["timing"]))
    a64 = np.ascontiguousarray(a, dtype=dtype)
    b64 = np.ascontiguousarray(b, dtype=dtype)
    t0 = time.perf_counter()
    # default timing with prefetch_stationary: folds pipelined max(T, H) apart (docs/timing.md)
    period = max(t, h) if p["timing"] == T_PREFETCH else 0
    out, counts, updates = functional_product(a64, b64, h, w, df, length, length, h, period)
    elapsed = time.perf_counter() - t0
    sim = simulate_gemms(mdim, ndim, kdim, arch, timing=timing)
    stats: dict[str, Any] = {key: v[0].item() for key, v in sim.items()}
    stats.update(
        functional_sram_ifmap_reads=int(counts[0]),
        functional_sram_filter_reads=int(counts[1]),
        functional_sram_ofmap_writes=int(counts[2]),
        functional_hazards=int(counts[3]),
        functional_last_write_cycle=int(counts[4]) - 1,
        pe_updates=int(updates),
        elapsed_s=elapsed,
        pe_updates_per_s=updates / elapsed if elapsed > 0 else float("inf"),
        scalesim_timing=p["timing"] == T_SCALESIM,
    )
    return out, stats
