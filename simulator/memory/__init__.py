"""Double-buffered memory hierarchy of a systolic array, in closed form (tile-level arithmetic).

The model (docs/memory.md has the worked example and the diagram):

* Folds run in a fixed order: OS row folds outer / column folds inner; WS and IS column folds outer and
  the K (row) folds inner, so one output tile is finished before the next starts.
* Per fold each input operand needs one tile (OS: A h x K, B K x w; WS: A M x h, B h x w;
  IS: A w x h, B h x N). Each operand buffer is in one of three modes, chosen from its capacity in
  BYTES (elements x bytes per element):
  0 ``resident``  -- the whole operand fits: every tile is fetched once, at first use, and reused;
  1 ``reuse``     -- a tile fits in half the buffer (the whole buffer if not double-buffered): a tile is
                     fetched when it differs from the previous fold's tile;
  2 ``stream``    -- a tile does not fit: it is streamed again for every fold.
* Outputs: OS writes each finished tile once. WS/IS accumulate over the inner K folds; if the
  output tile fits (half the ofmap buffer when double-buffered) it is written once after the last K
  fold, else every fold writes its partial sums and every later K fold reads them back (spill).
* Timing (double-buffered): the first fold's inputs are loaded before anything starts
  (``latency + bytes / bw``). While fold f computes (``c_f`` cycles), DRAM writes fold f-1's outputs and
  then loads the bytes for later folds (``prefetch_io``: the next fold's tiles, or a share of a tile
  reused over a whole inner loop). The DMA keeps requests in flight, so read latency hides behind
  earlier transfers: fold f occupies ``max(c_f, ceil(d_f))`` cycles, ``d_f = (st_{f-1} + pf_f) / bw``.
  The last fold's outputs drain at the end. Without double buffering nothing overlaps: fold f costs
  ``c_f + ceil(max(latency, st_f / bw) + ld_{f+1} / bw)`` (write back, then request and load the next).
* Across GEMMs (``simulator/schedule.py``): each GEMM also reports its prologue, the DRAM-idle cycles
  of its windows and its free buffer bytes (``cross_op_figures``), from which the workload level
  prefetches the next GEMM's first tiles (docs/memory.md section 4b).
* Unlimited bandwidth (``dram.bandwidth_gbps: .inf`` or unset) is an ideal memory: no latency, no stalls
  (SCALE-Sim's ``CALC`` mode); DRAM traffic is still counted.

Sums over folds are evaluated exactly by grouping folds into classes: along each fold loop only the
indices 0, 1, D-2, D-1 differ from the rest (first use, partial last tile, neighbours of those), so
5 x 5 representative folds with multiplicities give the exact sum for any number of folds. The
cycle-level engine (``simulator.cycle``) steps the same rules cycle by cycle over every fold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulator import results as R
from simulator.analytical import analyze_compute
from simulator.arch import ArchSpec
from simulator.dataflows import DATAFLOW_CODE, IS, OS, T_PREFETCH, T_SCALESIM, T_SERIAL, WS, psum_rereads
from simulator.limits import check_gemm_dims, check_int64
from simulator.memory import params as P
from simulator.memory.closed import best_loop, closed_form, closed_one
from simulator.memory.crossop import cross_op_figures
from simulator.memory.params import NAMES as PARAM_NAMES
from simulator.memory.params import param_matrix
from simulator.memory.tiles import buffer_modes, ceil_cycles, fold_io, peak_bytes
from simulator.results import RESULT_KEYS
from workloads.errors import InputError

__all__ = [
    "IS", "OS", "RESULT_KEYS", "analyze_params", "params_of", "T_PREFETCH", "T_SCALESIM", "T_SERIAL", "TIMINGS", "WS", "analyze_gemms", "as_dims",
    "best_loop", "buffer_modes", "ceil_cycles", "closed_form", "closed_one", "cross_op_figures", "fold_io",
    "memory_params", "peak_bytes", "timing_code",
]

TIMINGS = ("default", "scalesim")


# ---- Python API ---------------------------------------------------------------------------------


def timing_code(arch: ArchSpec, timing: str | None) -> int:
    timing = timing or arch.array.timing
    if timing not in TIMINGS:
        raise InputError(f"{timing!r} is not allowed (allowed: {', '.join(TIMINGS)})", key="--timing")
    if timing == "scalesim":
        return T_SCALESIM
    return T_PREFETCH if arch.array.prefetch_stationary else T_SERIAL


def memory_params(
    arch: ArchSpec, a_bytes: float, b_bytes: float, out_bytes: float, timing: str | None
) -> dict[str, Any]:
    """Scalar parameters of the memory model for one arch (shared by both engines): the inner buffers
    of the resolved hierarchy, every operand's link to DRAM (``arch.dram_bytes_per_cycle``) and the
    DRAM latency. ``df`` is -1 for ``array.dataflow: auto`` (``analyze_gemms`` then tries each)."""
    for name, v in (("a_bytes", a_bytes), ("b_bytes", b_bytes), ("out_bytes", out_bytes)):
        if not (v > 0 and math.isfinite(v)):
            raise InputError(f"{v!r} is not allowed (allowed: a positive number of bytes per element)", key=name)
    hier = arch.hierarchy
    cap_a, cap_b, cap_c = hier.inner_caps()
    bw = arch.dram_bytes_per_cycle
    inv = 0.0 if math.isinf(bw) else 1.0 / bw
    a = arch.array
    return {
        "h": int(a.rows),
        "w": int(a.cols),
        "df": DATAFLOW_CODE.get(a.dataflow, -1),
        "timing": timing_code(arch, timing),
        "db": bool(hier.double_buffered),
        "cap_a": float(cap_a),
        "cap_b": float(cap_b),
        "cap_c": float(cap_c),
        "ab": float(a_bytes),
        "bb": float(b_bytes),
        "ob": float(out_bytes),
        "inv_a": inv,
        "inv_b": inv,
        "inv_c": inv,
        "lat": 0.0 if math.isinf(bw) else float(arch.dram_latency_cycles),
    }


def evaluate_choosing_dataflow(
    engine: Any, m: np.ndarray, n: np.ndarray, k: np.ndarray, p: dict[str, Any]
) -> dict[str, np.ndarray]:
    """``engine(params_of(...))``; with ``df == -1`` (``array.dataflow: auto``) every dataflow is
    evaluated and each GEMM keeps the cheapest (``mapping.cheapest``: fewest cycles, then fewest bytes)."""
    if p["df"] >= 0:
        return engine(params_of(m, n, k, p))
    from simulator.dataflows import NAMES
    from simulator.mapping import cheapest, take

    cands = [engine(params_of(m, n, k, dict(p, df=code))) for code in range(len(NAMES))]
    return take(cands, cheapest(cands))


def params_of(m: np.ndarray, n: np.ndarray, k: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """The engines' parameter matrix (``simulator.memory.params``) for GEMMs ``m, n, k`` on one arch
    (``memory_params``)."""
    return param_matrix(m=m, n=n, k=k, **{name: p[name] for name in PARAM_NAMES[3:]})


def analyze_params(prm: np.ndarray) -> dict[str, np.ndarray]:
    """The closed form on a parameter matrix: every row its own GEMM, array, dataflow, buffers and links."""
    prm = np.ascontiguousarray(prm, dtype=np.float64)
    m, n, k = (prm[:, c].astype(np.int64) for c in (P.M, P.N, P.K))
    h, w, df, timing = (prm[:, c].astype(np.int64) for c in (P.H, P.W, P.DF, P.TIMING))
    r = analyze_compute(m, n, k, h, w, df, scalesim=timing == T_SCALESIM, prefetch=timing == T_PREFETCH)
    out = R.new_matrix(m.size)
    closed_form(prm, out)
    return assemble(r, out, timing, df, h * w, m, n, k)


def as_dims(m: Any, n: Any, k: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m, n, k = np.broadcast_arrays(
        np.atleast_1d(np.asarray(m, dtype=np.int64)),
        np.atleast_1d(np.asarray(n, dtype=np.int64)),
        np.atleast_1d(np.asarray(k, dtype=np.int64)),
    )
    if m.ndim != 1:
        raise InputError(f"GEMM dimensions must be scalars or 1-D arrays, got shape {m.shape}", key="m, n, k")
    if m.size and min(m.min(), n.min(), k.min()) < 1:
        raise InputError("GEMM dimensions must be >= 1", key="m, n, k")
    return np.ascontiguousarray(m), np.ascontiguousarray(n), np.ascontiguousarray(k)


def analyze_gemms(
    m: Any,
    n: Any,
    k: Any,
    arch: ArchSpec,
    *,
    a_bytes: float = 1.0,
    b_bytes: float = 1.0,
    out_bytes: float = 1.0,
    timing: str | None = None,
) -> dict[str, np.ndarray]:
    """Closed-form compute + memory figures for many GEMMs on one accelerator (vectorised).

    ``m``, ``n``, ``k``: scalars or 1-D arrays (broadcast). Bytes per element of A (ifmap), B (filter)
    and C (ofmap / partial sums) set DRAM traffic and what fits in the buffers. Returns 1-D arrays
    keyed by ``RESULT_KEYS`` (cycles int64, bytes float64, utilization 0..1 over total cycles).
    """
    p = memory_params(arch, a_bytes, b_bytes, out_bytes, timing)
    m, n, k = as_dims(m, n, k)
    check_gemm_dims(m, n, k, bytes_per_element=max(a_bytes, b_bytes, out_bytes))
    return evaluate_choosing_dataflow(analyze_params, m, n, k, p)


def assemble(
    r: dict[str, np.ndarray], out: np.ndarray, timing: np.ndarray, df: np.ndarray, pes: np.ndarray,
    m: np.ndarray, n: np.ndarray, k: np.ndarray,
) -> dict[str, np.ndarray]:
    """Result dict from compute figures ``r`` (``analyze_compute``) and the memory columns that
    ``closed_form`` filled in ``out`` (``simulator.results`` layout; its ``TOTAL_CYCLES`` column holds
    the stall-inclusive model cycles before SCALE-Sim's -1)."""
    check_int64("cycles", float(np.max(out[:, R.TOTAL_CYCLES], initial=0.0)),
                hint=" (DRAM bandwidth too low or latency too high for this workload)")
    compute = np.asarray(r["compute_cycles"], dtype=np.int64)
    sum_c = compute + (timing == T_SCALESIM)
    stall = np.maximum(out[:, R.TOTAL_CYCLES].astype(np.int64) - sum_c, 0)
    out[:, R.COMPUTE_CYCLES] = compute
    out[:, R.STALL_CYCLES] = stall
    out[:, R.TOTAL_CYCLES] = compute + stall
    out[:, R.FOLDS] = r["folds"]
    out[:, R.SRAM_IFMAP_READS] = r["sram_ifmap_reads"]
    out[:, R.SRAM_FILTER_READS] = r["sram_filter_reads"]
    out[:, R.SRAM_OFMAP_WRITES] = r["sram_ofmap_writes"]
    out[:, R.SRAM_OFMAP_READS] = psum_rereads(m, n, r["row_folds"], df)
    R.finish(out, m, n, k, pes.astype(np.float64))
    return R.to_dict(out)
