"""GEMM -> systolic array mapping: the ONE place that decides which GEMM dimension goes where.

For a GEMM  A(M x K) . B(K x N) = C(M x N)  on an H x W array (SCALE-Sim's conventions):

| dataflow | array rows <- | array cols <- | streamed T | stationary operand |
|----------|---------------|---------------|------------|--------------------|
| os       | M             | N             | K          | C (outputs)        |
| ws       | K             | N             | M          | B (weights)        |
| is       | K             | M             | N          | A (inputs)         |

A fold is one placement of the stationary tile; folds run strictly one after another and a partial
fold costs a full fold. All functions are numpy-vectorised: every argument may be a scalar or an
array, and they broadcast (many GEMMs x many arrays at once).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DATAFLOW_CODE: dict[str, int] = {"os": 0, "ws": 1, "is": 2}
OS, WS, IS = 0, 1, 2


def dataflow_code(dataflow: Any) -> np.ndarray:
    """'os'/'ws'/'is' (or an array of them, or codes 0/1/2) -> int64 codes."""
    arr = np.asarray(dataflow)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.ndim == 0:
        return np.asarray(DATAFLOW_CODE[str(arr.item()).lower()], dtype=np.int64)
    # one dictionary look-up per distinct name, then a vectorised gather
    names, inverse = np.unique(arr, return_inverse=True)
    codes = np.asarray([DATAFLOW_CODE[str(d).lower()] for d in names], dtype=np.int64)
    return codes[inverse].reshape(arr.shape)


def ceil_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def map_gemm(m: Any, n: Any, k: Any, rows: Any, cols: Any, dataflow: Any) -> dict[str, np.ndarray]:
    """Spatial/temporal mapping of GEMMs onto arrays (vectorised, broadcasting).

    Returns int64 arrays: ``spatial_rows`` (S_R), ``spatial_cols`` (S_C), ``streamed`` (T),
    ``row_folds`` = ceil(S_R/H), ``col_folds`` = ceil(S_C/W), ``folds`` = row_folds * col_folds.
    """
    m, n, k, h, w, df = np.broadcast_arrays(
        np.asarray(m, dtype=np.int64),
        np.asarray(n, dtype=np.int64),
        np.asarray(k, dtype=np.int64),
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        dataflow_code(dataflow),
    )
    is_os = df == OS
    is_ws = df == WS
    sr = np.where(is_os, m, k)
    sc = np.where(is_os | is_ws, n, m)
    t = np.where(is_os, k, np.where(is_ws, m, n))
    row_folds = ceil_div(sr, h)
    col_folds = ceil_div(sc, w)
    return {
        "spatial_rows": sr,
        "spatial_cols": sc,
        "streamed": t,
        "row_folds": row_folds,
        "col_folds": col_folds,
        "folds": row_folds * col_folds,
    }


def mapping_efficiency(mp: dict[str, np.ndarray], rows: Any, cols: Any) -> np.ndarray:
    """Average fraction of PEs holding a stationary element, over all folds (0..1)."""
    h = np.asarray(rows, dtype=np.float64)
    w = np.asarray(cols, dtype=np.float64)
    return (mp["spatial_rows"] * mp["spatial_cols"]) / (mp["folds"] * h * w)
