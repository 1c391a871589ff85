"""Closed-form GEMM timing and traffic on a systolic array, numpy-vectorised over many GEMMs.

Two timing models (see docs/timing.md):

* ``scalesim`` -- SCALE-Sim 3.0.0 exactly: per fold ``H + W + T - 2`` (OS) or ``2H + W + T - 2``
  (WS/IS); reported cycles ``F * per_fold - 1`` (SCALE-Sim reports the 0-based last cycle).
* ``default`` -- what a real array does: every dataflow pays the stationary tile's load or drain
  (``H`` cycles: OS drains outputs, WS/IS preload weights/inputs) plus the skewed stream
  ``H + W + T - 2``. Without ``array.prefetch_stationary`` folds run one after another:
  ``F * (2H + W + T - 2)``. With it (double-buffered stationary registers, as in TPUv1) consecutive
  folds are pipelined: fold f+1's first operand enters ``max(T, H)`` cycles after fold f's (T for the
  stream ports, H for the next tile to shift in / the previous outputs to shift out), and the skew
  fill/drain plus one load and one drain are paid once: ``(F - 1) * max(T, H) + 2H + W + T - 2``.

SRAM access counts follow SCALE-Sim's operand-demand matrices (element granularity): the streamed
operand is re-read once per fold of the other spatial dimension, the stationary one once
(``dataflows.sram_accesses``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.dataflows import dataflow_code, map_gemm, scalesim_fold_cycles_v, sram_accesses
from simulator.mapping import mapping_efficiency

__all__ = ["analyze_compute", "compute_cycles", "sram_accesses"]


def compute_cycles(
    mp: dict[str, np.ndarray], rows: Any, cols: Any, dataflow: Any, scalesim: Any, prefetch: Any
) -> np.ndarray:
    """Stall-free compute cycles of mapped GEMMs (int64, vectorised)."""
    h = np.asarray(rows, dtype=np.int64)
    w = np.asarray(cols, dtype=np.int64)
    df = dataflow_code(dataflow)
    t = mp["streamed"]
    f = mp["folds"]
    stream = h + w + t - 2
    scalesim_total = f * scalesim_fold_cycles_v(h, w, t, df) - 1
    # pipelined folds (docs/timing.md): fold f starts at f * max(T, H), the last one ends 2H + W + T - 2 later
    pipelined = np.maximum(f - 1, 0) * np.maximum(t, h) + stream + h
    default_total = np.where(np.asarray(prefetch, dtype=bool), pipelined, f * (stream + h))
    return np.where(np.asarray(scalesim, dtype=bool), scalesim_total, default_total).astype(np.int64)


def analyze_compute(
    m: Any,
    n: Any,
    k: Any,
    rows: Any,
    cols: Any,
    dataflow: Any,
    *,
    scalesim: Any = False,
    prefetch: Any = True,
) -> dict[str, np.ndarray]:
    """Compute-side figures for many GEMMs x arrays at once (no memory model).

    Returns arrays: mapping columns, ``macs``, ``compute_cycles``, ``utilization`` (0..1),
    ``mapping_efficiency`` (0..1), ``sram_ifmap_reads``, ``sram_filter_reads``, ``sram_ofmap_writes``.
    """
    mp = map_gemm(m, n, k, rows, cols, dataflow)
    cyc = compute_cycles(mp, rows, cols, dataflow, scalesim, prefetch)
    macs = np.asarray(m, dtype=np.int64) * np.asarray(n, dtype=np.int64) * np.asarray(k, dtype=np.int64)
    pes = np.asarray(rows, dtype=np.float64) * np.asarray(cols, dtype=np.float64)
    # SCALE-Sim divides by its reported (0-based) cycle count; keep that in the scalesim model.
    util = macs / (np.maximum(cyc, 1) * pes)
    ifm, fil, ofm = sram_accesses(m, n, k, mp, dataflow)
    out = dict(mp)
    out.update(
        macs=macs,
        compute_cycles=cyc,
        utilization=util,
        mapping_efficiency=mapping_efficiency(mp, rows, cols),
        sram_ifmap_reads=ifm,
        sram_filter_reads=fil,
        sram_ofmap_writes=ofm,
    )
    return out
